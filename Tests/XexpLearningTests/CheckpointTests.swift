import Foundation
import Testing
@testable import XexpLearning

/// A tiny trainable model: two weights, a loss, an optimizer.
private struct TinyRun {
    let w1: Tensor, w2: Tensor, opt: AdamW
    var rng: Philox
    init(seed: UInt64) {
        var r = Philox(seed: seed)
        w1 = Tensor.randn([4, 3], std: 0.5, rng: &r, requiresGrad: true)
        w2 = Tensor.randn([2, 4], std: 0.5, rng: &r, requiresGrad: true)
        opt = AdamW(groups: [ParameterGroup([NamedParameter("model.w1", w1)], learningRate: 1e-2, weightDecay: 0.01),
                             ParameterGroup([NamedParameter("model.w2", w2)], learningRate: 5e-3)])
        rng = r
    }
    var params: [NamedParameter] { opt.parameters }
    /// One step on a batch drawn from the run's RNG (so resuming must restore the stream too).
    mutating func step() {
        let x = Tensor.randn([5, 3], rng: &rng)
        let targets = (0..<5).map { _ in Int32(rng.nextInt(below: 2)) }
        opt.zeroGrad()
        crossEntropy(logits: linear(linear(x, weight: w1).silu(), weight: w2), targets: targets).backward()
        opt.step()
    }
}

private func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xexp-learning-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

@Test("save → load → resume reproduces an uninterrupted run bit for bit")
func checkpointResume() throws {
    var straight = TinyRun(seed: 11)
    for _ in 0..<3 { straight.step() }
    let path = temporaryPath("ckpt.safetensors")
    try Checkpoint.save(to: path, parameters: straight.params, optimizer: straight.opt, rng: straight.rng.state,
                        step: 3, config: #"{"width":4}"#)
    for _ in 0..<2 { straight.step() }

    var resumed = TinyRun(seed: 999)  // different init: everything must come from the file
    let ckpt = try Checkpoint.load(from: path)
    #expect(ckpt.step == 3 && ckpt.optimizerStep == 3 && ckpt.config == #"{"width":4}"#)
    try ckpt.restore(into: resumed.params)
    try ckpt.restore(into: resumed.opt)
    resumed.rng = Philox(state: try #require(ckpt.rng))
    for _ in 0..<2 { resumed.step() }
    #expect(resumed.w1.values == straight.w1.values)
    #expect(resumed.w2.values == straight.w2.values)
}

@Test("checkpoint names follow the documented scheme")
func checkpointNames() throws {
    var run = TinyRun(seed: 1)
    run.step()
    let path = temporaryPath("names.safetensors")
    try Checkpoint.save(to: path, parameters: run.params, optimizer: run.opt, rng: run.rng.state, step: 1)
    let file = try SafeTensors.read(path: path)
    #expect(Set(file.entries.keys) == ["model.w1", "model.w2", "optimizer.exp_avg.model.w1", "optimizer.exp_avg.model.w2",
                                       "optimizer.exp_avg_sq.model.w1", "optimizer.exp_avg_sq.model.w2", "optimizer.step", "rng.state"])
    #expect(file.entries["optimizer.exp_avg_sq.model.w1"]?.shape == [4, 3])
    #expect(file.entries["rng.state"]?.dtype == .i64)
    #expect(file.metadata["format"] == "pt" && file.metadata["step"] == "1")
}

@Test("a shape mismatch on restore is a clear error")
func checkpointMismatch() throws {
    let run = TinyRun(seed: 1)
    let path = temporaryPath("m.safetensors")
    try Checkpoint.save(to: path, parameters: run.params, step: 0)
    let other = NamedParameter("model.w1", Tensor.zeros([3, 3]))
    #expect(throws: CheckpointError.self) { try Checkpoint.load(from: path).restore(into: [other]) }
}

/// Damage applied to a valid file; every one must throw SafeTensorsError, never crash.
enum Damage: CustomTestStringConvertible, Sendable {
    case truncate(Int)            // keep this many bytes (negative: drop that many from the end)
    case headerLength(UInt64)     // overwrite the 8-byte header length
    case overwrite(Int, UInt8)    // set one byte (offset from start of JSON header)
    case append(Int)              // trailing garbage bytes
    var testDescription: String {
        switch self {
        case .truncate(let n): "truncate to \(n)"
        case .headerLength(let n): "header length \(n)"
        case .overwrite(let o, let b): "byte \(o) of header = \(b)"
        case .append(let n): "append \(n) bytes"
        }
    }
    func apply(_ d: Data) -> Data {
        var d = d
        switch self {
        case .truncate(let n): return d.prefix(n >= 0 ? n : d.count + n)
        case .headerLength(let n): withUnsafeBytes(of: n.littleEndian) { d.replaceSubrange(0..<8, with: $0) }
        case .overwrite(let o, let b): d[8 + o] = b
        case .append(let n): d.append(contentsOf: [UInt8](repeating: 7, count: n))
        }
        return d
    }
}

@Test("truncated or garbled files fail with a SafeTensorsError",
      arguments: [Damage.truncate(0), .truncate(5), .truncate(8), .truncate(40), .truncate(-1), .truncate(-100),
                  .headerLength(0), .headerLength(1 << 40), .headerLength(3), .overwrite(0, 0x5b), .overwrite(1, 0x00),
                  .overwrite(10, 0xff), .append(4)])
func corruptFiles(_ damage: Damage) throws {
    let run = TinyRun(seed: 2)
    let path = temporaryPath("c.safetensors")
    try Checkpoint.save(to: path, parameters: run.params, optimizer: run.opt, rng: run.rng.state, step: 0)
    let good = try Data(contentsOf: URL(fileURLWithPath: path))
    let bad = damage.apply(good)
    #expect(bad != good)
    try bad.write(to: URL(fileURLWithPath: path))
    let error = #expect(throws: SafeTensorsError.self) { _ = try Checkpoint.load(from: path) }
    #expect(error?.description.contains(path) == true)
}

@Test("a missing file is a clear error")
func missingFile() {
    #expect(throws: SafeTensorsError.self) { try SafeTensors.read(path: "/nonexistent/dir/x.safetensors") }
}
