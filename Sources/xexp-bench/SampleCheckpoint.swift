import Foundation
import XexpLearning

/// Trains the width-128 proxy decoder for one step (batch 2, 16 tokens) and writes a checkpoint with
/// weights, AdamW moments, RNG state and config, for `Tests/check_checkpoint.py` to verify from Python.
func writeSampleCheckpoint(to path: String) throws {
    var rng = Philox(seed: 1)
    var config = BenchConfig.proxy(width: 128)
    config.vocab_size = 256
    let model = BenchDecoder(config: config, rng: &rng)
    let opt = model.makeOptimizer()
    let batch = randomBatch(vocab: config.vocab_size, batch: 2, seq: 16, rng: &rng)
    model.loss(ids: batch.ids, targets: batch.targets, batch: 2, seq: 16).backward()
    clipGradNorm(model.parameters.map(\.tensor), maxNorm: 1)
    opt.step()
    let json = String(data: try JSONEncoder().encode(config), encoding: .utf8)!
    try Checkpoint.save(to: path, parameters: model.parameters, optimizer: opt, rng: rng.state, step: 1, config: json)
    print("wrote \(path): \(model.parameters.count) weights, optimizer step \(opt.step)")
}
