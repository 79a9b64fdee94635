/// The states a job moves through. `done` is the only one a resume skips.
public enum JobStatus: String, Sendable, CaseIterable, Codable {
    case pending, running, done, failed, timeout, blocked, interrupted

    /// States that count as a failure of the job itself (its downstream becomes blocked).
    public var isFailure: Bool { self == .failed || self == .timeout }
}

/// How a finished attempt ended, as the scheduler observed it.
public struct JobOutcome: Sendable, Equatable {
    public var status: JobStatus
    public var exitCode: Int32?
    public var signal: Int32?
    /// For failures: why, with the tail of stderr.
    public var error: String?
    public var metrics: [MetricPoint]
    /// What the process used (local runs: `wait4`'s rusage of the job's process and the descendants it waited for).
    /// Kept per attempt, never in metrics: metrics are results and must be bit-identical between runs.
    public var resources: ResourceUsage?

    public init(status: JobStatus, exitCode: Int32? = nil, signal: Int32? = nil, error: String? = nil, metrics: [MetricPoint] = []) {
        self.status = status
        self.exitCode = exitCode
        self.signal = signal
        self.error = error
        self.metrics = metrics
    }
}

/// One metric value from one line of a job's metrics file.
public struct MetricPoint: Sendable, Equatable {
    public var seq: Int
    public var name: String
    public var value: Double
    public var step: Int?

    public init(seq: Int, name: String, value: Double, step: Int? = nil) {
        self.seq = seq
        self.name = name
        self.value = value
        self.step = step
    }
}

/// A finished process's resource use.
public struct ResourceUsage: Sendable, Equatable {
    /// Peak resident set size in bytes (Linux reports it in KiB).
    public var peakRSSBytes: Int64
    /// User + system CPU time in seconds.
    public var cpuSeconds: Double

    public init(peakRSSBytes: Int64, cpuSeconds: Double) {
        self.peakRSSBytes = peakRSSBytes
        self.cpuSeconds = cpuSeconds
    }
}
