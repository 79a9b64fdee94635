import Foundation
import Testing
import XexpLearning
@testable import XexpPipeline

/// A training job killed and resumed must end with exactly the metrics of an uninterrupted run, including the loss
/// lines that average over a logging window (`logEvery` steps) the kill fell inside.
@Suite("Training loop resume")
struct TrainingLoopTests {
    struct Crash: Error {}

    /// Trains one scalar towards a moving target for `steps` steps; with `crashAt`, throws at that step (after the
    /// checkpoint of the step before, since it checkpoints every step) — as a SIGKILL would leave it.
    func train(_ dir: URL, steps: Int, crashAt: Int? = nil) throws -> [String] {
        let w = Tensor(shape: [1], values: [0.5])
        w.requiresGrad = true
        let optimizer = AdamW(groups: [ParameterGroup([NamedParameter("w", w)], learningRate: 0.05)])
        let loop = TrainingLoop(name: "toy", totalSteps: steps, optimizer: optimizer, warmupRatio: 0,
                                checkpointSeconds: 0, checkpointURL: dir.appendingPathComponent("checkpoint.safetensors"))
        let metrics = MetricsLog(jobDirectory: dir)
        try loop.run(metrics: metrics) { i in
            if i == crashAt { throw Crash() }
            let target = Tensor(shape: [1], values: [Float(i % 7) * 0.1])
            let d = w - target
            let loss = (d * d).sum()
            loss.backward()
            return Double(loss.values[0])
        }
        return metrics.lines
    }

    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xexp-loop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func resumedLossHistoryEqualsAnUninterruptedOne() throws {
        // 100 steps log every 4: a crash at step 26 falls inside the window of steps 25–28.
        let whole = try train(try scratch(), steps: 100)
        #expect(whole.count == 25)
        let dir = try scratch()
        #expect(throws: Crash.self) { _ = try train(dir, steps: 100, crashAt: 26) }
        try Data().write(to: dir.appendingPathComponent("metrics.jsonl"))  // the scheduler empties it per attempt
        let resumed = try train(dir, steps: 100)
        #expect(resumed == whole)
    }
}
