import Foundation

/// A spec expanded into trials and a job graph, validated end to end, before the store is touched.
public struct SweepPlan: Sendable {
    public var spec: ExperimentSpec
    public var trials: [Trial]
    public var graph: JobGraph

    /// The most trials a sweep may have unless `xexp sweep --max-trials N` raises it (README, Spec format).
    public static let defaultMaxTrials = 100_000

    /// Parses, validates and expands the spec at `url` (named `displayPath` in errors).
    /// - Parameters:
    ///   - pipeline: the built-in pipeline, used when the spec has no `stages`.
    ///   - maxTrials: a spec describing more trials is refused before they are expanded.
    /// `overrides` (`--set`, `--grid`) change the spec for this plan; errors about them name them.
    public init(specAt url: URL, displayPath: String, overrides: [SpecOverride] = [], pipeline: (any BuiltinPipeline)? = nil,
                maxTrials: Int = SweepPlan.defaultMaxTrials) throws(SpecError) {
        let spec = try SpecParser.load(contentsOf: url, displayPath: displayPath, overrides: overrides, pipeline: pipeline)
        do { try self.init(spec: spec, displayPath: displayPath, maxTrials: maxTrials) } catch {
            throw SpecOverride.attribute(error, to: overrides)
        }
    }

    /// Expands an already parsed spec (e.g. the text an invocation recorded).
    public init(spec parsed: ExperimentSpec, displayPath: String, maxTrials: Int = SweepPlan.defaultMaxTrials) throws(SpecError) {
        spec = parsed
        try spec.checkTrialCount(limit: maxTrials, file: displayPath)
        trials = spec.expandTrials()
        if trials.isEmpty {
            throw SpecError(file: displayPath, location: "/exclude", message: "every trial is excluded; loosen \"exclude\" so at least one trial remains")
        }
        if let builtin = spec.pipeline {
            let defaults = builtin.defaults
            trials = trials.map { trial in
                var p = trial.parameters
                p["seed"] = nil
                for name in defaults.names where p[name] == nil { p[name] = defaults[name] }
                p["seed"] = trial.parameters["seed"]
                return Trial(parameters: p)
            }
            // Every trial is checked before anything runs: an invalid combination fails now, not an hour in.
            for trial in trials {
                if let problem = builtin.validate(trial.parameters).first {
                    throw SpecError(file: displayPath, location: spec.location(of: problem.parameter, value: trial.parameters[problem.parameter]).description,
                                    message: problem.message)
                }
            }
            spec.stages = builtin.stages(for: trials)
        }
        graph = try JobGraph(stages: spec.stages, trials: trials, specFile: displayPath)
    }

    /// How many trials use each job (a job used by several is shared).
    public var usage: [JobID: Int] {
        var counts: [JobID: Int] = [:]
        for jobs in graph.trialJobs { for id in jobs.values { counts[id, default: 0] += 1 } }
        return counts
    }

    /// Jobs that must run: those not done, plus every job of the `rerun` stages and everything downstream of them.
    public func jobsToRun(statuses: [JobID: JobStatus], rerun: Set<String>) -> Set<JobID> {
        var result = Set(graph.jobs.filter { statuses[$0.id] != .done }.map(\.id))
        var frontier = graph.jobs.filter { rerun.contains($0.stage) }.map(\.id)
        let downstream = graph.downstream
        while let next = frontier.popLast() {
            if result.insert(next).inserted || rerun.contains(graph[next]!.stage) { frontier += downstream[next] ?? [] }
        }
        return result
    }

    /// `--dry-run`: the trials, then the jobs in run order with how many trials share each. `cached` maps the jobs a
    /// job cache would serve to that cache's directory.
    public func describe(statuses: [JobID: JobStatus], toRun: Set<JobID>, cached: [JobID: String] = [:]) -> String {
        var out = "sweep \(spec.name): \(trials.count) trial(s), \(graph.jobs.count) job(s), \(toRun.count) to run"
        out += cached.isEmpty ? "" : ", \(cached.count) cached"
        if let description = spec.description, !description.isEmpty { out += "\n" + description }
        out += "\n\ntrials:\n"
        for (i, trial) in trials.enumerated() {
            let jobs = graph.stageOrder.compactMap { stage in graph.trialJobs[i][stage].map { "\(stage)=\($0)" } }
            out += "  \(i + 1). \(trial.parameters.names.map { "\($0)=\(trial.parameters[$0]!)" }.joined(separator: " "))  [\(jobs.joined(separator: " "))]\n"
        }
        out += "\njobs:\n"
        let usage = self.usage
        for job in graph.jobs {
            let state = toRun.contains(job.id) ? "will run" : cached[job.id].map { "cached: \($0)" } ?? (statuses[job.id]?.rawValue ?? "new")
            let shared = (usage[job.id] ?? 0) > 1 ? "  shared by \(usage[job.id]!) trials" : ""
            let after = job.upstream.isEmpty ? "" : "  after \(job.upstream.joined(separator: ","))"
            out += "  \(job.id)  \(job.stage)  [\(state)]\(shared)\(after)\n      \(job.displayCommand.map(shellQuote).joined(separator: " "))\n"
        }
        return out
    }
}

func shellQuote(_ s: String) -> String {
    if !s.isEmpty, s.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || "0123456789-_./=:,+%@{}$".unicodeScalars.contains($0)) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
