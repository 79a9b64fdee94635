import Foundation

/// What one job asks Slurm for: from the command line (`--partition`, `--time`, …) and, per stage, from the spec's
/// `slurm` object, which wins. Like `timeout` and `retries`, resources are not part of a job's identity.
public struct SlurmResources: Sendable, Equatable {
    public var partition: String?
    public var account: String?
    /// Slurm's time formats: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.
    public var time: String?
    /// Memory per node: a number of megabytes, or with a K, M, G or T suffix.
    public var mem: String?
    public var cpus: Int?
    /// `N` or `TYPE:N`.
    public var gpus: String?

    public init(partition: String? = nil, account: String? = nil, time: String? = nil, mem: String? = nil,
                cpus: Int? = nil, gpus: String? = nil) {
        self.partition = partition
        self.account = account
        self.time = time
        self.mem = mem
        self.cpus = cpus
        self.gpus = gpus
    }

    static let keys = ["partition", "account", "time", "mem", "cpus", "gpus"]

    /// These resources with every field that `override` sets replaced by its value.
    public func overridden(by override: SlurmResources?) -> SlurmResources {
        guard let o = override else { return self }
        return SlurmResources(partition: o.partition ?? partition, account: o.account ?? account, time: o.time ?? time,
                              mem: o.mem ?? mem, cpus: o.cpus ?? cpus, gpus: o.gpus ?? gpus)
    }

    /// The `#SBATCH` options these resources become.
    var sbatchOptions: [String] {
        var options: [String] = []
        if let partition { options.append("--partition=\(partition)") }
        if let account { options.append("--account=\(account)") }
        if let time { options.append("--time=\(time)") }
        if let mem { options.append("--mem=\(mem)") }
        if let cpus { options.append("--cpus-per-task=\(cpus)") }
        if let gpus { options.append("--gpus=\(gpus)") }
        return options
    }

    // MARK: - Validation (shared by the spec parser and the command line)

    /// nil when `text` is a time limit Slurm accepts, else what is wrong with it.
    public static func problem(time text: String) -> String? {
        let ok = "\"\(text)\" is not a Slurm time limit; write MM, HH:MM:SS or D-HH:MM:SS (e.g. \"02:00:00\" or \"1-12:00:00\")"
        var rest = Substring(text)
        if let dash = rest.firstIndex(of: "-") {
            guard Int(rest[..<dash]) != nil else { return ok }
            rest = rest[rest.index(after: dash)...]
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            return (1...3).contains(parts.count) && parts.allSatisfy({ Int($0).map { $0 >= 0 } ?? false }) ? nil : ok
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        return (1...3).contains(parts.count) && parts.allSatisfy({ Int($0).map { $0 >= 0 } ?? false }) && text != "0" ? nil : ok
    }

    public static func problem(mem text: String) -> String? {
        var digits = Substring(text)
        if let last = digits.last, "KMGTkmgt".contains(last) { digits = digits.dropLast() }
        guard let n = Int(digits), n > 0 else {
            return "\"\(text)\" is not a memory size; write megabytes (\"4000\") or a number with K, M, G or T (\"16G\")"
        }
        return nil
    }

    public static func problem(gpus text: String) -> String? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let n = Int(parts.last!), n > 0, parts.count == 1 || !parts[0].isEmpty else {
            return "\"\(text)\" is not a GPU request; write a count (\"1\") or TYPE:COUNT (\"a100:2\")"
        }
        return nil
    }

    public static func problem(name text: String, what: String) -> String? {
        guard !text.isEmpty, !text.contains(where: { $0.isWhitespace || $0 == "," }) else {
            return "\(what) \"\(text)\" must be one non-empty word (no spaces or commas)"
        }
        return nil
    }

    /// Reads and validates a stage's `slurm` object.
    init(json value: JSONValue, at pointer: JSONPointer, validator v: Validator) throws(SpecError) {
        let members = try v.object(value, at: pointer, what: "a stage's Slurm resources")
        try v.checkKeys(members, allowed: SlurmResources.keys, at: pointer, what: "\"slurm\"")
        self.init()
        for member in members {
            let p = pointer.appending(member.key)
            if member.key == "cpus" {
                guard case .number(let d, _) = member.value, d >= 1, d == d.rounded(), d < 100_000 else {
                    throw v.fail(p, "cpus must be a positive integer (CPUs per job), found \(member.value.jsonText)")
                }
                cpus = Int(d)
                continue
            }
            // Numbers are accepted where Slurm takes a bare number: minutes, megabytes, a GPU count.
            let text: String
            switch member.value {
            case .string(let s): text = s
            case .number(let d, let literal) where d == d.rounded() && d > 0 && member.key != "partition" && member.key != "account":
                text = literal ?? JSONValue.formatNumber(d)  // as substituted; never Int(d), which traps from 2^63 on
            default:
                throw v.fail(p, "expected a string for \"\(member.key)\", found \(member.value.jsonText)")
            }
            let problem: String?
            switch member.key {
            case "partition": problem = SlurmResources.problem(name: text, what: "partition"); partition = text
            case "account": problem = SlurmResources.problem(name: text, what: "account"); account = text
            case "time": problem = SlurmResources.problem(time: text); time = text
            case "mem": problem = SlurmResources.problem(mem: text); mem = text
            default: problem = SlurmResources.problem(gpus: text); gpus = text
            }
            if let problem { throw v.fail(p, problem) }
        }
    }
}

extension ExperimentSpec {
    /// Each stage's `slurm` object (validated when the spec was parsed), by stage name.
    public var slurmResources: [String: SlurmResources] {
        guard let root = try? JSONParser.parse(sourceText), case .array(let stages)? = root["stages"] else { return [:] }
        var result: [String: SlurmResources] = [:]
        let validator = Validator(file: fileURL.path)
        for (i, stage) in stages.enumerated() {
            guard case .string(let name)? = stage["name"], let slurm = stage["slurm"] else { continue }
            result[name] = try? SlurmResources(json: slurm, at: JSONPointer(["stages", String(i), "slurm"]), validator: validator)
        }
        return result
    }
}

/// How a sweep runs on Slurm.
public struct SlurmOptions: Sendable {
    /// Defaults for every job (a stage's `slurm` object overrides them).
    public var resources: SlurmResources
    /// Extra `sbatch` arguments, passed after the resources (so they win).
    public var sbatchArguments: [String]
    /// Submit everything and return; `xexp status` ingests results later.
    public var detach: Bool
    /// `sbatch` calls in a row before the scheduler polls again: a large sweep reaches the controller in bounded
    /// bursts, not thousands of RPCs at once.
    public var submitBatch: Int
    /// At most this many of the sweep's jobs submitted and unfinished at once (not applied with `detach`).
    public var maxQueued: Int
    /// Seconds between status polls: the lower bound after a change, growing ×1.5 while nothing changes.
    public var pollInterval: ClosedRange<Double>
    /// How long a job may be unknown to both squeue and sacct (accounting lags) before it counts as lost.
    public var lagTolerance: Double

    public init(resources: SlurmResources = SlurmResources(), sbatchArguments: [String] = [], detach: Bool = false,
                submitBatch: Int = 50, maxQueued: Int = 2000, pollInterval: ClosedRange<Double> = 0.25...10,
                lagTolerance: Double = 120) {
        self.resources = resources
        self.sbatchArguments = sbatchArguments
        self.detach = detach
        self.submitBatch = max(1, submitBatch)
        self.maxQueued = max(1, maxQueued)
        self.pollInterval = pollInterval
        self.lagTolerance = lagTolerance
    }
}

/// Where a sweep's jobs run.
public enum SweepBackend: Sendable {
    /// Child processes of xexp on this machine (`LocalScheduler`).
    case local
    /// One `sbatch` job per xexp job (`SlurmScheduler`).
    case slurm(SlurmOptions)
}
