import Foundation
import Testing
@testable import XexpOrchestration

@Suite("Job graph and sharing")
struct JobGraphTests {
    static let spec = """
        {"name": "g", "grid": {"a": [1, 2], "b": ["x", "y", "z"]}, "seeds": [0, 1],
         "stages": [
           {"name": "data", "command": ["make-data", "{a}"]},
           {"name": "train", "after": ["data"], "command": ["train", "{data.dir}", "{b}", "{seed}", "{job.dir}"]},
           {"name": "eval", "after": ["train"], "command": ["eval", "{train.dir}", "{data.dir}"], "env": {"B": "{b}"}}
         ]}
        """

    @Test func stagesAreSharedByTheTrialsThatAgree() throws {
        let dir = TempDir()
        let p = try plan(dir, Self.spec)
        #expect(p.trials.count == 12)
        let byStage = Dictionary(grouping: p.graph.jobs, by: \.stage)
        #expect(byStage["data"]?.count == 2)      // depends only on a
        #expect(byStage["train"]?.count == 12)    // a (through data) × b × seed
        #expect(byStage["eval"]?.count == 12)
        // every trial with a = 1 uses the same data job
        let dataJobs = Set(zip(p.trials, p.graph.trialJobs).filter { $0.0.parameters["a"] == .number(1) }.map { $0.1["data"]! })
        #expect(dataJobs.count == 1)
        #expect(p.usage[dataJobs.first!] == 6)
    }

    @Test func jobsComeAfterTheirUpstream() throws {
        let p = try plan(TempDir(), Self.spec)
        var seen = Set<JobID>()
        for job in p.graph.jobs {
            #expect(job.upstream.allSatisfy(seen.contains))
            seen.insert(job.id)
        }
        let eval = p.graph.jobs.first { $0.stage == "eval" }!
        #expect(Set(eval.upstreamByStage.keys) == ["train", "data"])
        #expect(eval.upstream.count == 1)
    }

    @Test func identityIgnoresWhereTheStoreIsAndUnusedParameters() throws {
        let one = try plan(TempDir(), Self.spec)
        // A different sweep name, an extra unused parameter and other seeds: the same jobs where commands agree.
        let other = try plan(TempDir(), Self.spec.replacingOccurrences(of: "\"name\": \"g\"", with: "\"name\": \"h\", \"base\": {\"unused\": 5}")
            .replacingOccurrences(of: "\"seeds\": [0, 1]", with: "\"seeds\": [1, 2]"))
        let shared = Set(one.graph.jobs.map(\.id)).intersection(other.graph.jobs.map(\.id))
        #expect(shared.count == 2 + 6 + 6)  // data jobs, and train/eval of seed 1
        let job = one.graph.jobs.first { $0.stage == "train" }!
        let a = job.resolved(runsDirectory: URL(fileURLWithPath: "/r1")).argv
        let b = job.resolved(runsDirectory: URL(fileURLWithPath: "/r2")).argv
        #expect(a[1] == "/r1/\(job.upstreamByStage["data"]!)")
        #expect(a.last == "/r1/\(job.id)")
        #expect(b.last == "/r2/\(job.id)")
    }

    @Test func identityChangesWithCommandEnvAndUpstream() throws {
        let base = try plan(TempDir(), Self.spec)
        let changedEnv = try plan(TempDir(), Self.spec.replacingOccurrences(of: "\"B\": \"{b}\"", with: "\"B\": \"{b}-v2\""))
        let changedData = try plan(TempDir(), Self.spec.replacingOccurrences(of: "make-data", with: "make-data2"))
        func ids(_ p: SweepPlan, _ stage: String) -> Set<JobID> { Set(p.graph.jobs.filter { $0.stage == stage }.map(\.id)) }
        #expect(ids(base, "train") == ids(changedEnv, "train"))
        #expect(ids(base, "eval").isDisjoint(with: ids(changedEnv, "eval")))
        // a changed upstream command changes every job downstream of it
        #expect(ids(base, "train").isDisjoint(with: ids(changedData, "train")))
        #expect(ids(base, "eval").isDisjoint(with: ids(changedData, "eval")))
    }

    @Test func longestRemainingPath() throws {
        let p = try plan(TempDir(), Self.spec)
        let lengths = p.graph.remainingCost
        for job in p.graph.jobs {
            #expect(lengths[job.id] == ["data": 3, "train": 2, "eval": 1][job.stage])
        }
    }

    /// Stages with a cost (built-in ones) weight the path, so of two equally long chains the costlier starts first.
    @Test func remainingPathWeighsJobCosts() throws {
        let trials = [1.0, 8.0].map { n in
            var p = Parameters()
            p["n"] = .number(n)
            return Trial(parameters: p)
        }
        let stages = [
            StageSpec(name: "train", command: ["true", "{n}"], cost: { p in if case .number(let n, _)? = p["n"] { return 10 * n } else { return 0 } }),
            StageSpec(name: "eval", command: ["true", "{n}"], after: ["train"]),
        ]
        let graph = try JobGraph(stages: stages, trials: trials, specFile: "t.json")
        let path = graph.remainingCost
        let cost = Dictionary(uniqueKeysWithValues: graph.jobs.map { ("\($0.stage) \($0.parameters["n"]!)", path[$0.id]!) })
        #expect(cost == ["train 1": 11, "train 8": 81, "eval 1": 1, "eval 8": 1])
    }

    /// A shared job that gates every trial outranks a slightly longer per-trial chain when the slots are few (its
    /// downstream work dominates), and not when there are slots for everything (the longest chain does).
    @Test func priorityWeighsSharedWorkAgainstTheSlots() throws {
        let trials = [1.0, 2.0, 3.0, 4.0].map { n in
            var p = Parameters()
            p["n"] = .number(n)
            return Trial(parameters: p)
        }
        let stages = [
            StageSpec(name: "encoder", command: ["true"], cost: { _ in 10 }),
            StageSpec(name: "lm", command: ["true", "{n}"], cost: { _ in 11 }),
            StageSpec(name: "train", command: ["true", "{n}"], after: ["encoder", "lm"], cost: { _ in 10 }),
        ]
        let graph = try JobGraph(stages: stages, trials: trials, specFile: "t.json")
        let encoder = graph.jobs.first { $0.stage == "encoder" }!.id
        let lm = graph.jobs.first { $0.stage == "lm" }!.id
        let train = graph.jobs.first { $0.stage == "train" }!.id
        #expect(graph.remainingCost[encoder] == 20 && graph.remainingCost[lm] == 21)
        let two = graph.priority(slots: 2)
        #expect(two[encoder] == 25 && two[lm] == 21 && two[train] == 10)  // (10 + 4 × 10) / 2; chains
        let many = graph.priority(slots: 8)
        #expect(many[encoder] == 20 && many[lm] == 21)
    }

    /// A job reached by two paths (a diamond) counts once in the downstream work.
    @Test func priorityCountsSharedDescendantsOnce() throws {
        let stages = [
            StageSpec(name: "a", command: ["true"], cost: { _ in 1 }),
            StageSpec(name: "b", command: ["true"], after: ["a"], cost: { _ in 2 }),
            StageSpec(name: "c", command: ["true"], after: ["a"], cost: { _ in 3 }),
            StageSpec(name: "d", command: ["true"], after: ["b", "c"], cost: { _ in 100 }),
        ]
        let graph = try JobGraph(stages: stages, trials: [Trial(parameters: Parameters())], specFile: "t.json")
        let a = graph.jobs.first { $0.stage == "a" }!.id
        #expect(graph.priority(slots: 1)[a] == 106)  // 1 + 2 + 3 + 100, not 206
        #expect(graph.priority(slots: 2)[a] == 104)  // the chain a → c → d beats 106 / 2
    }

    @Test func missingParameterInAnIncludedTrialIsASpecError() throws {
        let text = #"{"name": "m", "grid": {"a": [1]}, "include": [{"b": 2}], "stages": [{"name": "s", "command": ["x", "{a}"]}]}"#
        #expect(throws: SpecError.self) { try plan(TempDir(), text) }
    }
}
