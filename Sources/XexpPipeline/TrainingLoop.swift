import Foundation
import XexpLearning
import XexpModels

/// A resumable training loop: AdamW with a cosine-warmup schedule and gradient clipping, loss history as metrics,
/// and a checkpoint (trainable weights, optimizer moments and step, RNG state, metric history) every few minutes.
///
/// Resuming is exact: data order is a pure function of (seed, epoch), and everything else that evolves is in the
/// checkpoint, so a run killed and resumed ends with bit-identical weights and metrics.
public struct TrainingLoop {
    public var name: String
    public var totalSteps: Int
    public var optimizer: AdamW
    public var schedule: CosineWarmupSchedule
    public var clipNorm: Double = 1.0
    /// Steps between `loss` metric lines.
    public var logEvery: Int
    public var checkpointSeconds: Double
    public var checkpointURL: URL

    public init(name: String, totalSteps: Int, optimizer: AdamW, warmupRatio: Double, checkpointSeconds: Double,
                checkpointURL: URL) {
        self.name = name
        self.totalSteps = max(1, totalSteps)
        self.optimizer = optimizer
        self.schedule = CosineWarmupSchedule(totalSteps: max(1, totalSteps), warmupRatio: warmupRatio)
        self.logEvery = max(1, totalSteps / 25)
        // XEXP_CHECKPOINT_SECONDS overrides the preset's interval (tests kill jobs mid-training); it never changes
        // results, only how much work a kill can lose, so it is not part of any job's identity.
        self.checkpointSeconds = ProcessInfo.processInfo.environment["XEXP_CHECKPOINT_SECONDS"].flatMap(Double.init) ?? checkpointSeconds
        self.checkpointURL = checkpointURL
    }

    /// Runs steps `start..<totalSteps`. `step(i)` computes the loss of batch `i` with gradients on the trainable
    /// parameters and returns it. Returns the mean loss of the last tenth of the steps.
    @discardableResult
    public func run(metrics: MetricsLog, step: (Int) throws -> Double) throws -> Double {
        var start = 0
        var recent: [Double] = []
        var window: [Double] = []  // losses since the last `loss` line: resumed too, or a kill inside it would change the line
        if FileManager.default.fileExists(atPath: checkpointURL.path) {
            let checkpoint = try Checkpoint.load(from: checkpointURL.path)
            try checkpoint.restore(into: optimizer.parameters)
            try checkpoint.restore(into: optimizer)
            start = checkpoint.step
            let state = try JSONDecoder().decode(ResumeState.self, from: Data(checkpoint.config.utf8))
            metrics.replay(state.history)
            recent = state.recent
            window = state.window ?? []
            FileHandle.standardError.write(Data("\(name): resumed from step \(start) of \(totalSteps)\n".utf8))
        }
        var lastSave = Date()
        let tail = max(1, totalSteps / 10)
        for i in start..<totalSteps {
            optimizer.zeroGrad()
            let loss = try step(i)
            guard loss.isFinite else { throw StageFailure("\(name): loss became \(loss) at step \(i + 1); lower the learning rate") }
            _ = clipGradNorm(optimizer.parameters.map(\.tensor), maxNorm: clipNorm)
            optimizer.step(lrScale: schedule.multiplier(step: i))
            BufferPool.shared.endStep()  // keep one step's buffers, not every batch length's
            window.append(loss)
            if i >= totalSteps - tail { recent.append(loss) }
            if (i + 1) % logEvery == 0 || i + 1 == totalSteps {
                metrics.emit([("loss", window.reduce(0, +) / Double(window.count))], step: i + 1)
                window.removeAll()
            }
            if Date().timeIntervalSince(lastSave) >= checkpointSeconds && i + 1 < totalSteps {
                try save(step: i + 1, metrics: metrics, recent: recent, window: window)
                lastSave = Date()
            }
        }
        return recent.reduce(0, +) / Double(max(1, recent.count))
    }

    /// Writes the checkpoint atomically (`Checkpoint.save` renames into place), so a kill mid-write leaves the
    /// previous one intact. Its metadata `config` holds the resume state: metric history and recent losses.
    func save(step: Int, metrics: MetricsLog, recent: [Double], window: [Double]) throws {
        let state = ResumeState(history: metrics.lines, recent: recent, window: window)
        let json = try state.sortedJSON()
        try Checkpoint.save(to: checkpointURL.path, parameters: optimizer.parameters, optimizer: optimizer, step: step, config: json)
    }

    struct ResumeState: Codable {
        var history: [String]
        var recent: [Double]
        /// Losses since the last `loss` line (absent in checkpoints written before it was kept).
        var window: [Double]?
    }
}

/// Deterministic data order: epoch `e` of `count` items is a Philox shuffle keyed by (seed, e).
public struct EpochOrder {
    public let count: Int
    public let seed: UInt64
    private var cache: (epoch: Int, order: [Int])?

    public init(count: Int, seed: UInt64) {
        self.count = count
        self.seed = seed
    }

    /// Indices of batch `step` (of `batch` items), wrapping through epochs.
    public mutating func batch(_ step: Int, size batch: Int) -> [Int] {
        (0..<batch).map { k in
            let flat = step * batch + k
            let epoch = flat / count
            if cache?.epoch != epoch {
                var rng = Philox(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch))
                var order = Array(0..<count)
                rng.shuffle(&order)
                cache = (epoch, order)
            }
            return cache!.order[flat % count]
        }
    }
}
