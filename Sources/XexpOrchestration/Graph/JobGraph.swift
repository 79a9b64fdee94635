import Crypto
import Foundation

/// A job's identity: a hash of what it runs, so equal work is shared within and across sweeps.
public typealias JobID = String

/// One stage instantiated for one or more trials (all trials whose substitution gives the same command).
public struct Job: Sendable {
    public var id: JobID
    public var stage: String
    /// Command and environment templates, bound to this job's trial parameters and upstream jobs.
    public var command: [CommandTemplate]
    public var env: [(key: String, value: CommandTemplate)]
    /// Parameters of the first trial that produced this job; only those the templates use affect the output.
    public var parameters: Parameters
    /// Upstream job for each stage this job runs after (directly or transitively, for `{STAGE.dir}`).
    public var upstreamByStage: [String: JobID]
    /// Direct upstream jobs: the ones that must be done first.
    public var upstream: [JobID]
    public var timeout: Double?
    public var retries: Int
    /// Expected cost (``StageSpec/cost``); orders ready jobs only, never part of the identity.
    public var cost: Double = 1
    /// What a cache entry of this job holds (``StageSpec/outputs``), and whether it may come from a cache at all.
    public var outputs: [String]?
    public var cacheable = true
    /// Runs alone, and only on the host it is recorded for (``StageSpec/exclusive``).
    public var exclusive = false

    /// A built-in pipeline stage (it runs this xexp binary as a worker), whose bits depend on xexp's numerics.
    public var isBuiltin: Bool { command.first?.literalText == selfExecutablePlaceholder }

    /// The argv and environment with every placeholder resolved against a runs directory.
    public func resolved(runsDirectory: URL) -> (argv: [String], env: [(String, String)]) {
        let resolve: (CommandTemplate.Reference) -> String? = { reference in
            switch reference {
            case .parameter(let name): return parameters[name]?.description
            case .stageDirectory(let stage): return upstreamByStage[stage].map { runsDirectory.appendingPathComponent($0).path }
            case .jobDirectory: return runsDirectory.appendingPathComponent(id).path
            }
        }
        var argv = command.map { (try? $0.render(resolve).get()) ?? "" }
        if argv.first == selfExecutablePlaceholder { argv[0] = Job.selfExecutable }
        let env = self.env.map { ($0.key, (try? $0.value.render(resolve).get()) ?? "") }
        return (argv, env)
    }

    /// The running xexp binary (built-in stages run it in worker mode); `XEXP_EXECUTABLE` overrides it, which
    /// tests that drive the orchestrator in-process need.
    public static let selfExecutable: String = {
        if let path = ProcessInfo.processInfo.environment["XEXP_EXECUTABLE"], !path.isEmpty { return path }
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }()

    /// The command as the store records it: directories shown relative to the runs directory.
    public var displayCommand: [String] {
        resolved(runsDirectory: URL(fileURLWithPath: "/$RUNS")).argv.map { $0.replacingOccurrences(of: "/$RUNS/", with: "$RUNS/") }
    }
}

/// The jobs of a sweep, shared across trials, with each trial's job per stage.
public struct JobGraph: Sendable {
    /// Jobs in a topological order (every job after its upstream jobs).
    public private(set) var jobs: [Job] = []
    public private(set) var index: [JobID: Int] = [:]
    /// For each trial (same order as the input), its job per stage name.
    public private(set) var trialJobs: [[String: JobID]] = []
    public let stageOrder: [String]

    public subscript(id: JobID) -> Job? { index[id].map { jobs[$0] } }

    /// Instantiates `stages` for every trial. Fails (with a spec error) only if a trial lacks a parameter a stage
    /// uses, which validation cannot see when parameters come from `include` entries of differing shapes.
    public init(stages: [StageSpec], trials: [Trial], specFile: String) throws(SpecError) {
        let ordered = JobGraph.topologicalOrder(stages)
        stageOrder = ordered.map(\.name)
        let stagePosition = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($1.name, $0) })
        let ancestors = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, Validator.ancestors(of: $0.name, in: stages)) })
        // Each stage's templates are parsed once, not once per trial.
        var parsed: [String: (command: [CommandTemplate], env: [(key: String, value: CommandTemplate)])] = [:]
        for stage in ordered {
            let pointer = JSONPointer(["stages", String(stagePosition[stage.name]!)])
            var templates: [CommandTemplate] = []
            for arg in stage.command { templates.append(try JobGraph.template(arg, file: specFile, pointer: pointer)) }
            var env: [(key: String, value: CommandTemplate)] = []
            for entry in stage.env { env.append((entry.key, try JobGraph.template(entry.value, file: specFile, pointer: pointer))) }
            parsed[stage.name] = (templates, env)
        }

        for trial in trials {
            var mine: [String: JobID] = [:]
            for stage in ordered where stage.appliesTo?(trial.parameters) ?? true {
                let pointer = JSONPointer(["stages", String(stagePosition[stage.name]!)])
                let (templates, env) = parsed[stage.name]!
                let upstreamByStage = Dictionary(uniqueKeysWithValues: ancestors[stage.name]!.compactMap { s in mine[s].map { (s, $0) } })
                var job = Job(id: "", stage: stage.name, command: templates, env: env, parameters: trial.parameters,
                              upstreamByStage: upstreamByStage, upstream: stage.after.compactMap { mine[$0] }.sorted(),
                              timeout: stage.timeout, retries: stage.retries)
                job.cost = stage.cost?(trial.parameters) ?? 1
                job.outputs = stage.outputs
                job.cacheable = stage.cacheable
                job.exclusive = stage.exclusive
                for case .parameter(let name) in (templates + env.map(\.value)).flatMap(\.references)
                where trial.parameters[name] == nil {
                    throw SpecError(file: specFile, location: pointer.description,
                                    message: "stage \"\(stage.name)\" uses {\(name)}, but the trial \(trial.parameters.json.jsonText) has no parameter \"\(name)\"; set it in \"base\" or in that included trial")
                }
                job.id = JobGraph.identity(of: job, salt: stage.identitySalt)
                mine[stage.name] = job.id
                if index[job.id] == nil {
                    index[job.id] = jobs.count
                    jobs.append(job)
                }
            }
            trialJobs.append(mine)
        }
    }

    static func template(_ text: String, file: String, pointer: JSONPointer) throws(SpecError) -> CommandTemplate {
        do { return try CommandTemplate(text) } catch { throw SpecError(file: file, location: pointer.description, message: error.message) }
    }

    /// SHA-256 over the stage name, the substituted command and environment (directories written as job ids, so
    /// identity does not depend on where the store lives), the upstream job ids and the stage's salt.
    static func identity(of job: Job, salt: String) -> JobID {
        let resolve: (CommandTemplate.Reference) -> String? = { reference in
            switch reference {
            case .parameter(let name): return job.parameters[name]?.description
            case .stageDirectory(let stage): return "{dir:" + (job.upstreamByStage[stage] ?? "") + "}"
            case .jobDirectory: return "{job.dir}"
            }
        }
        let canonical: JSONValue = .array([
            .string("xexp-job/1"),
            .string(job.stage),
            .array(job.command.map { .string((try? $0.render(resolve).get()) ?? "") }),
            .array(job.env.map { .array([.string($0.key), .string((try? $0.value.render(resolve).get()) ?? "")]) }),
            .array(job.upstream.map { .string($0) }),
            .string(salt),
        ])
        let digest = SHA256.hash(data: Data(canonical.jsonText.utf8))
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    static func topologicalOrder(_ stages: [StageSpec]) -> [StageSpec] {
        var placed = Set<String>()
        var result: [StageSpec] = []
        while result.count < stages.count {
            // Validation has rejected cycles, so each pass places at least one stage; spec order breaks ties.
            for stage in stages where !placed.contains(stage.name) && stage.after.allSatisfy(placed.contains) {
                placed.insert(stage.name)
                result.append(stage)
            }
        }
        return result
    }

    /// `ids` and every job upstream of them, transitively.
    public func closure(upstreamOf ids: Set<JobID>) -> Set<JobID> {
        var result = Set<JobID>()
        var frontier = Array(ids)
        while let next = frontier.popLast() {
            guard result.insert(next).inserted else { continue }
            frontier += self[next]?.upstream ?? []
        }
        return result
    }

    /// Jobs that depend directly on each job.
    public var downstream: [JobID: [JobID]] {
        var result: [JobID: [JobID]] = [:]
        for job in jobs { for up in job.upstream { result[up, default: []].append(job.id) } }
        return result
    }

    /// Cost of the costliest chain of jobs from each job to the end of the graph (itself included; a job costs
    /// ``Job/cost``, 1 unless its stage says otherwise). The Slurm scheduler submits in this order, so a sweep does
    /// not end with one long job running alone; the local one refines it with ``priority(slots:)``.
    public var remainingCost: [JobID: Double] {
        var length: [JobID: Double] = [:]
        let down = downstream
        for job in jobs.reversed() {
            length[job.id] = job.cost + ((down[job.id] ?? []).compactMap { length[$0] }.max() ?? 0)
        }
        return length
    }

    /// The order the local scheduler starts ready jobs in (cheap result jobs aside, see ``LocalScheduler``), with
    /// `slots` jobs at a time: the larger of a job's
    /// costliest remaining chain and the total cost of it and everything downstream of it shared over the slots.
    /// Both are lower bounds on the time from the job's start to the end of the sweep. The chain alone misjudges a
    /// job that gates many trials: the one encoder every trial waits on would start after an LM only one trial
    /// needs, leaving every trial waiting on the encoder at the end.
    public func priority(slots: Int) -> [JobID: Double] {
        let chain = remainingCost
        let down = downstream
        let cost = Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, $0.cost) })
        var below: [JobID: Set<JobID>] = [:]  // each job's transitive downstream jobs (shared ones counted once)
        var priority: [JobID: Double] = [:]
        for job in jobs.reversed() {
            var set: Set<JobID> = []
            for next in down[job.id] ?? [] { set.insert(next); set.formUnion(below[next] ?? []) }
            below[job.id] = set
            let work = job.cost + set.reduce(0) { $0 + (cost[$1] ?? 0) }
            priority[job.id] = max(chain[job.id] ?? job.cost, work / Double(max(1, slots)))
        }
        return priority
    }
}
