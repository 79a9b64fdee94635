import Testing
@testable import XexpLearning

/// End to end: a one-block LLaMA language model (embedding, decoder block, RMSNorm, untied head) learns
/// to continue a fixed token sequence with AdamW + cosine warmup + clipping. A wrong gradient anywhere
/// in the stack shows up as a loss that does not fall.
@Test("a tiny LLaMA memorises a sequence: loss falls below 10% of its start")
func tinyLanguageModelTrains() {
    var rng = Philox(seed: 17)
    let (vocab, width, heads, kvHeads, seq) = (12, 16, 2, 1, 10)
    let embed = Tensor.randn([vocab, width], std: 0.5, rng: &rng, requiresGrad: true)
    let block = DecoderBlockWeights.random(width: width, heads: heads, kvHeads: kvHeads, intermediate: 32, rng: &rng)
    let norm = Tensor.filled([width], value: 1, requiresGrad: true)
    let head = Tensor.randn([vocab, width], std: 0.3, rng: &rng, requiresGrad: true)
    let named = [NamedParameter("embed", embed), NamedParameter("norm", norm), NamedParameter("head", head)]
        + block.all.enumerated().map { NamedParameter("block.\($0.offset)", $0.element) }
    let opt = AdamW(groups: [
        ParameterGroup(named.filter { $0.tensor.rank >= 2 }, learningRate: 1e-2, weightDecay: 0.01),
        ParameterGroup(named.filter { $0.tensor.rank < 2 }, learningRate: 1e-2),
    ])
    let steps = 60
    let schedule = CosineWarmupSchedule(totalSteps: steps, warmupRatio: 0.1)
    let tokens: [Int32] = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    let ids = Array(tokens.prefix(seq)), targets = Array(tokens.dropFirst())
    func loss() -> Tensor {
        let x = embedding(ids, table: embed, shape: [1, seq])
        let h = rmsNorm(block.forward(x, heads: heads, kvHeads: kvHeads, keyPadding: nil), weight: norm)
        return crossEntropy(logits: linear(h, weight: head), targets: targets)
    }
    let first = Autograd.noGrad { loss().item }
    for step in 0..<steps {
        opt.zeroGrad()
        loss().backward()
        clipGradNorm(named.map(\.tensor), maxNorm: 1)
        opt.step(lrScale: schedule.multiplier(step: step))
    }
    let last = Autograd.noGrad { loss().item }
    #expect(last < 0.1 * first, "loss \(first) → \(last)")
}
