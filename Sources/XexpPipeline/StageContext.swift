import Foundation
import XexpLearning
import XexpModels

/// Everything a worker stage gets from its command line: where to write, where its upstream jobs wrote, and the
/// parameters it reads (exactly those in its job identity).
public struct StageContext: Sendable {
    public var stage: String
    public var jobDirectory: URL
    public var upstream: [String: URL]
    public var settings: StageSettings
    /// BLAS threads for this process, as the scheduler set them (so concurrent jobs add up to the cores).
    public var threads: Int
    /// Whether training keeps the decoder's activations or recomputes them (`XEXP_ACTIVATIONS`; never changes bits).
    public var activations: ActivationMemory.Policy

    public init(stage: String, jobDirectory: URL, upstream: [String: URL], parameters: [String: String]) throws {
        self.stage = stage
        self.jobDirectory = jobDirectory
        self.upstream = upstream
        self.settings = try StageSettings(parameters)
        let env = ProcessInfo.processInfo.environment
        threads = max(1, Int(env["XEXP_THREADS"] ?? env["OPENBLAS_NUM_THREADS"] ?? "") ?? 1)
        // The LM's pretraining recomputes by default: short sequences make it cheap (ActivationMemory.configure).
        guard let activations = ActivationMemory.configure(environment: env, threads: threads, cheap: stage == "lm") else {
            throw StageFailure("XEXP_ACTIVATIONS=\(env["XEXP_ACTIVATIONS"] ?? "") is not keep, recompute or auto; unset it for auto")
        }
        self.activations = activations
    }

    public func upstreamDirectory(_ stage: String) throws -> URL {
        guard let url = upstream[stage] else { throw StageFailure("stage \(self.stage) needs --upstream \(stage)=DIR") }
        return url
    }

    public func file(_ name: String) -> URL { jobDirectory.appendingPathComponent(name) }
}

/// Appends metric lines to `$XEXP_METRICS` (or a file in the job directory when run by hand), keeping the lines it
/// wrote so a resumed training run can replay the history it had before its checkpoint.
public final class MetricsLog: @unchecked Sendable {
    public let url: URL
    public private(set) var lines: [String] = []

    public init(jobDirectory: URL) {
        let env = ProcessInfo.processInfo.environment["XEXP_METRICS"]
        url = env.map { URL(fileURLWithPath: $0) } ?? jobDirectory.appendingPathComponent("metrics.jsonl")
        if !FileManager.default.fileExists(atPath: url.path) { FileManager.default.createFile(atPath: url.path, contents: nil) }
    }

    /// Writes one line `{"name": value, …, "step": step}`; keys in the order given. JSON has no NaN or infinity,
    /// so a non-finite value (e.g. a rate over zero questions) is left out rather than written as a fake number.
    public func emit(_ values: [(String, Double)], step: Int? = nil) {
        var parts = values.filter { $0.1.isFinite }.map { "\"\($0.0)\":\(MetricsLog.format($0.1))" }
        if let step { parts.append("\"step\":\(step)") }
        append("{" + parts.joined(separator: ",") + "}")
    }

    /// Re-appends lines recorded before a checkpoint (the scheduler empties the metrics file for each attempt).
    public func replay(_ history: [String]) {
        for line in history { append(line) }
    }

    private func append(_ line: String) {
        lines.append(line)
        guard let handle = try? FileHandle(forWritingTo: url) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Shortest round-trip text of a finite value (integral values without ".0").
    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}
