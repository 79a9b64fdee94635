import Foundation

/// A parsed, validated experiment spec: what the user asked for, before expansion into trials.
///
/// The JSON format is the user contract (see README "Spec format"); `SpecParser` builds this from a file and reports
/// every problem as a `SpecError` that names the file, the JSON pointer and the fix.
public struct ExperimentSpec: Sendable {
    public var name: String
    public var description: String?
    public var base: Parameters
    /// Grid axes in source order; the cartesian product of their values.
    public var grid: [(name: String, values: [ParameterValue])]
    /// Zipped parameters: element-wise, one axis crossed with the grid.
    public var zip: [(name: String, values: [ParameterValue])]
    public var include: [Parameters]
    public var exclude: [Parameters]
    public var seeds: [Int]
    public var stages: [StageSpec]
    /// Where the spec came from (used as the jobs' working directory and in error messages).
    public var fileURL: URL
    /// The exact bytes of the spec file, recorded with each invocation.
    public var sourceText: String
    /// Set when the spec has no `stages`: the built-in pipeline provides them per trial.
    public var pipeline: (any BuiltinPipeline)? = nil
    /// Job caches the spec lists (`"cache": ["../Results/cache"]`), resolved against the spec's directory.
    public var caches: [URL] = []

    public var directory: URL { fileURL.deletingLastPathComponent() }
}

/// One command stage: a command template instantiated once per distinct substitution.
public struct StageSpec: Sendable {
    public var name: String
    /// argv template; `{PARAM}`, `{STAGE.dir}` and `{job.dir}` are substituted per trial.
    public var command: [String]
    public var after: [String]
    public var env: [(key: String, value: String)]
    /// Seconds; nil means no limit.
    public var timeout: Double?
    public var retries: Int
    /// Extra identity for stages whose behaviour is not fully visible in the command (e.g. a built-in
    /// pipeline's code version). Empty for user command stages.
    public var identitySalt: String
    /// Built-in stages may apply to some trials only (e.g. a benchmark the trial does not list). Nil: every trial.
    public var appliesTo: (@Sendable (Parameters) -> Bool)?
    /// A job's expected cost in any unit shared by all stages (built-in stages: estimated core-seconds; command
    /// stages: the spec's `cost`). Used only to order ready jobs: longest remaining work first, cheap result jobs
    /// ahead of it (``LocalScheduler``). Nil: 1 (a command stage without `cost`).
    public var cost: (@Sendable (Parameters) -> Double)?
    /// The files of a finished job that a cache entry holds (besides `metrics.jsonl`), relative to its directory.
    /// Nil: every file the job left, logs and xexp's own bookkeeping aside (``JobCache``).
    public var outputs: [String]?
    /// False for stages whose results must never come from a cache (wall-clock measurements such as latency).
    public var cacheable = true
    /// A measurement of the machine (latency): its jobs run alone — the local scheduler starts one only when no other
    /// job runs and none is waiting to start, and starts nothing beside it — and a result recorded on another host
    /// is not reused: the job runs again here. Not part of the job's identity.
    public var exclusive = false

    public init(name: String, command: [String], after: [String] = [], env: [(key: String, value: String)] = [],
                timeout: Double? = nil, retries: Int = 0, identitySalt: String = "", appliesTo: (@Sendable (Parameters) -> Bool)? = nil,
                cost: (@Sendable (Parameters) -> Double)? = nil) {
        self.appliesTo = appliesTo
        self.cost = cost
        self.name = name
        self.command = command
        self.after = after
        self.env = env
        self.timeout = timeout
        self.retries = retries
        self.identitySalt = identitySalt
    }
}
