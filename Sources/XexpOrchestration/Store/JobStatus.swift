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
