import Foundation
import Testing
@testable import XexpOrchestration

/// Collects scheduler events from any thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [SchedulerEvent] = []
    func append(_ e: SchedulerEvent) { lock.lock(); events.append(e); lock.unlock() }
    var all: [SchedulerEvent] { lock.lock(); defer { lock.unlock() }; return events }
    var startedStages: [String] { all.compactMap { if case let .started(_, stage, _) = $0 { return stage } else { return nil } } }
}

func statuses(_ store: Store, _ result: SweepRunner.Result) throws -> [String: Int] {
    let results = try store.results(of: SweepReference(parsing: "t"))
    var counts: [String: Int] = [:]
    for t in results.trials { for (stage, status) in t.statuses { counts["\(stage):\(status.rawValue)", default: 0] += 1 } }
    return counts
}

@Suite("Local scheduler")
struct SchedulerTests {
    @Test func neverRunsMoreThanItsSlots() throws {
        let dir = TempDir()
        let log = dir.url.appendingPathComponent("log").path
        let (result, _) = try runSweep(dir, """
            {"name": "t", "grid": {"i": [1, 2, 3, 4, 5, 6]},
             "stages": [{"name": "s", "command": ["sh", "-c", "echo S >> \(log); sleep 0.2; echo E >> \(log)", "{i}"]}]}
            """, slots: 2)
        #expect(result.summary.done == 6)
        var running = 0, peak = 0
        for line in dir.read("log").split(separator: "\n") {
            running += line == "S" ? 1 : -1
            peak = max(peak, running)
        }
        #expect(peak == 2)
    }

    /// A stop that arrives before the scheduler has started (a SIGINT while the store records the invocation) is
    /// kept: nothing runs, and the run reports an interruption. It used to be dropped, and every job ran.
    @Test func aStopBeforeTheRunIsKept() throws {
        let dir = TempDir()
        let p = try plan(dir, #"{"name": "t", "grid": {"i": [1, 2]}, "stages": [{"name": "s", "command": ["sh", "-c", "echo {i} >> ../ran"]}]}"#)
        let store = try Store.open(at: dir.url.appendingPathComponent("store/x.sqlite"))
        let invocation = try store.recordInvocation(InvocationInfo(sweep: "t", specPath: "spec.json", specText: "{}", toolkitVersion: "test",
                                                                   gitCommit: nil, host: "h", options: ""), trials: p.trials, graph: p.graph)
        let work = dir.url.appendingPathComponent("w")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let scheduler = LocalScheduler(graph: p.graph, toRun: Set(p.graph.jobs.map(\.id)), store: store, invocation: invocation,
                                       workingDirectory: work, options: SchedulerOptions(slots: 2, cores: 2))
        scheduler.stop(reason: "received SIGINT")
        let summary = scheduler.run()
        #expect(summary.interruptedBySignal, "\(summary)")
        #expect(summary.done == 0 && summary.interrupted == 2, "\(summary)")
        #expect(!FileManager.default.fileExists(atPath: dir.url.appendingPathComponent("ran").path))
    }

    /// Background processes that ignore SIGTERM do not outlive their job: after the grace period the whole process
    /// group is killed, whether the job timed out or ended normally, and the sweep returns only after that.
    @Test func grandchildrenIgnoringSIGTERMDoNotOutliveTheirJob() throws {
        let dir = TempDir()
        let marker = Int.random(in: 100_000...999_999)
        let (result, _) = try runSweep(dir, """
            {"name": "t", "stages": [
              {"name": "slow", "timeout": 1, "command": ["sh", "-c", "(trap '' TERM; exec sleep \(marker)1) & sleep 1000"]},
              {"name": "quick", "command": ["sh", "-c", "(trap '' TERM; exec sleep \(marker)2) & echo started"]}
            ]}
            """)
        #expect(result.summary.done == 1 && result.summary.failed == 1)
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        pgrep.arguments = ["-f", "sleep \(marker)"]
        let pipe = Pipe()
        pgrep.standardOutput = pipe
        try pgrep.run()
        let survivors = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        pgrep.waitUntilExit()
        #expect(survivors.isEmpty, "still running: \(survivors)")
        _ = try? Process.run(URL(fileURLWithPath: "/usr/bin/pkill"), arguments: ["-9", "-f", "sleep \(marker)"])
    }

    @Test func longestRemainingPathStartsFirst() throws {
        let dir = TempDir()
        let events = EventLog()
        try runSweep(dir, """
            {"name": "t", "grid": {"i": [1, 2]},
             "stages": [
               {"name": "short", "command": ["true", "{i}"]},
               {"name": "head", "command": ["true", "head", "{i}"]},
               {"name": "tail", "after": ["head"], "cost": 2, "command": ["true", "tail", "{i}"]}
             ]}
            """, slots: 1, observer: events.append)
        // Remaining work: head 3, tail 2, short 1. No ties, so the order is fixed: the shortest work runs last.
        #expect(events.startedStages.first == "head")
        #expect(Array(events.startedStages.prefix(2)) == ["head", "head"])
        #expect(Array(events.startedStages.suffix(2)) == ["short", "short"])
        #expect(events.startedStages.count == 6)
    }

    /// On 2 slots, a job all 8 trials wait on (`enc`: chain 2, downstream work 9 / 2 = 4.5) starts before the
    /// per-trial chains (chain 3), though their chains are longer: by chain alone it would start last. The `train`
    /// result jobs (cost 1, over a tenth of the top priority) do not jump ahead of it.
    @Test func aJobEveryTrialWaitsOnStartsFirstOnFewSlots() throws {
        let dir = TempDir()
        let events = EventLog()
        try runSweep(dir, """
            {"name": "t", "grid": {"i": [1, 2, 3, 4, 5, 6, 7, 8]},
             "stages": [
               {"name": "enc", "command": ["true"]},
               {"name": "lm1", "command": ["true", "{i}"]},
               {"name": "lm2", "after": ["lm1"], "command": ["true", "{i}"]},
               {"name": "train", "after": ["enc", "lm2"], "command": ["true", "{i}"]}
             ]}
            """, slots: 2, observer: events.append)
        #expect(events.startedStages.first == "enc")
        #expect(events.startedStages.count == 1 + 8 * 3)
    }

    /// A cheap result job (it reads an upstream job, nothing reads it) runs as soon as its upstream is done, before
    /// longer work still waiting: by priority alone both `eval`s (cost 1) would wait for both `train`s (cost 100).
    /// An expensive one (cost 50, over a tenth of the 101 still ahead) waits its turn.
    @Test(arguments: [(1, ["pretrain", "pretrain", "train", "eval", "train", "eval"]),
                      (50, ["pretrain", "pretrain", "train", "train", "eval", "eval"])])
    func cheapResultsRunAsSoonAsTheirModelExists(evalCost: Int, expected: [String]) throws {
        let dir = TempDir()
        let events = EventLog()
        let log = dir.url.appendingPathComponent("log").path
        try runSweep(dir, """
            {"name": "t", "grid": {"i": [1, 2]},
             "stages": [
               {"name": "pretrain", "cost": 1, "command": ["true", "{i}"]},
               {"name": "train", "after": ["pretrain"], "cost": 100, "command": ["sh", "-c", "echo train-{i} >> \(log)"]},
               {"name": "eval", "after": ["train"], "cost": \(evalCost), "command": ["sh", "-c", "echo eval-{i} >> \(log)"]}
             ]}
            """, slots: 1, observer: events.append)
        #expect(events.startedStages == expected)
        let order = dir.read("log").split(separator: "\n").map(String.init)
        if evalCost == 1 { #expect(order.count == 4 && order[0].dropFirst(6) == order[1].dropFirst(5)) }  // the model just trained
    }

    @Test func failureBlocksDownstreamOnlyAndKeepsTheErrorTail() throws {
        let dir = TempDir()
        let (result, store) = try runSweep(dir, """
            {"name": "t", "grid": {"ok": [0, 1]},
             "stages": [
               {"name": "a", "command": ["sh", "-c", "echo going; echo boom-{ok} >&2; test {ok} = 1 || exit 3"]},
               {"name": "b", "after": ["a"], "command": ["true", "{ok}"]}
             ]}
            """)
        #expect(result.summary.done == 2)
        #expect(result.summary.failed == 1)
        #expect(result.summary.blocked == 1)
        #expect(!result.succeeded)
        #expect(try statuses(store, result) == ["a:failed": 1, "b:blocked": 1, "a:done": 1, "b:done": 1])
        let problems = try store.problems(of: SweepReference(parsing: "t")).jobs
        let failed = problems.first { $0.status == .failed }!
        #expect(failed.error?.contains("exited with status 3") == true)
        #expect(failed.error?.contains("boom-0") == true)
        let logs = try String(contentsOf: store.runsDirectory.appendingPathComponent(failed.id).appendingPathComponent("stdout.log"), encoding: .utf8)
        #expect(logs == "going\n")
    }

    @Test func aSignalIsRecordedAsSuch() throws {
        let dir = TempDir()
        let (result, store) = try runSweep(dir, #"{"name": "t", "stages": [{"name": "a", "command": ["sh", "-c", "kill -KILL $$"]}]}"#)
        #expect(result.summary.failed == 1)
        let job = try store.problems(of: SweepReference(parsing: "t")).jobs[0]
        #expect(job.error?.hasPrefix("killed by signal 9 (SIGKILL)") == true)
    }

    @Test func timeoutKillsTheWholeProcessGroup() throws {
        let dir = TempDir()
        let pidFile = dir.url.appendingPathComponent("child.pid").path
        let start = Date()
        let (result, store) = try runSweep(dir, """
            {"name": "t", "stages": [{"name": "a", "timeout": 0.5, "command": ["sh", "-c", "sleep 30 & echo $! > \(pidFile); wait"]}]}
            """)
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(result.summary.failed == 1)
        let job = try store.problems(of: SweepReference(parsing: "t")).jobs[0]
        #expect(job.status == .timeout)
        #expect(job.error?.contains("timed out after 0.5 s") == true)
        let child = Int32(dir.read("child.pid").trimmingCharacters(in: .whitespacesAndNewlines))!
        Thread.sleep(forTimeInterval: 0.2)
        #expect(!isAlive(child), "the job's background child outlived the timeout")
    }

    @Test func retriesRunAFailedJobAgain() throws {
        let dir = TempDir()
        let events = EventLog()
        let (result, store) = try runSweep(dir, """
            {"name": "t", "stages": [{"name": "a", "retries": 2,
              "command": ["sh", "-c", "if [ -f {job.dir}/once ]; then echo '{\\"x\\": 1}' >> $XEXP_METRICS; else touch {job.dir}/once; exit 1; fi"]}]}
            """, observer: events.append)
        #expect(result.summary.done == 1)
        #expect(result.succeeded)
        #expect(events.startedStages == ["a", "a"])
        let results = try store.results(of: SweepReference(parsing: "t"))
        #expect(results.trials[0].metrics["a.x"] == 1)
    }

    @Test func stopTerminatesRunningJobsAndRecordsThemInterrupted() throws {
        let dir = TempDir()
        let p = try plan(dir, """
            {"name": "t", "grid": {"i": [1, 2, 3, 4]}, "stages": [{"name": "a", "command": ["sleep", "30", "{i}"]}, {"name": "b", "after": ["a"], "command": ["true", "{i}"]}]}
            """)
        let store = try Store.open(at: dir.url.appendingPathComponent("x.sqlite"))
        let runner = SweepRunner(plan: p, store: store, options: SchedulerOptions(slots: 2, cores: 2, killGrace: 1))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { runner.stop(reason: "test") }
        let start = Date()
        let result = try runner.run(invocationOptions: "test", observer: { _ in })
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(result.summary.interruptedBySignal)
        #expect(result.summary.interrupted == 8)
        #expect(try store.statuses(of: p.graph.jobs.map(\.id)).values.allSatisfy { $0 == .interrupted })
    }

    @Test func jobsGetTheirEnvironmentAndWorkingDirectory() throws {
        let dir = TempDir()
        let (_, store) = try runSweep(dir, """
            {"name": "t", "base": {"lr": 0.001, "tag": "a b"}, "stages": [{"name": "a", "env": {"MY": "{tag}"}, "command": ["sh", "-c",
              "pwd > $XEXP_JOB_DIR/env.txt; echo $XEXP_JOB_ID $OPENBLAS_NUM_THREADS \\"$MY\\" {lr} >> $XEXP_JOB_DIR/env.txt; echo $XEXP_PARAMS >> $XEXP_JOB_DIR/env.txt"]}]}
            """, slots: 2)
        let job = try store.results(of: SweepReference(parsing: "t"))
        #expect(job.trials.count == 1)
        let id = try plan(dir, dir.read("spec.json")).graph.jobs[0].id
        let lines = try String(contentsOf: store.runsDirectory.appendingPathComponent(id).appendingPathComponent("env.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(lines[0] == dir.url.resolvingSymlinksInPath().path || lines[0] == dir.url.path)
        #expect(lines[1] == "\(id) 1 a b 0.001")
        #expect(lines[2] == #"{"lr":0.001,"tag":"a b"}"#)
        #expect(FileManager.default.fileExists(atPath: store.runsDirectory.appendingPathComponent(id).appendingPathComponent("job.json").path))
    }

    @Test func metricsKeepHistoryAndTheLastValueWins() throws {
        let dir = TempDir()
        let (result, store) = try runSweep(dir, """
            {"name": "t", "stages": [{"name": "train", "command": ["sh", "-c",
              "printf '{\\"loss\\": 3, \\"step\\": 1}\\n{\\"loss\\": 2, \\"step\\": 2}\\n\\n{\\"loss\\": 1.5, \\"acc\\": 0.25, \\"step\\": 3}\\n' >> $XEXP_METRICS"]}]}
            """)
        #expect(result.succeeded)
        let trial = try store.results(of: SweepReference(parsing: "t")).trials[0]
        #expect(trial.metrics == ["train.loss": 1.5, "train.acc": 0.25])
        let id = try plan(dir, dir.read("spec.json")).graph.jobs[0].id
        let history = try store.metricHistory(job: id).filter { $0.name == "loss" }
        #expect(history.map(\.value) == [3, 2, 1.5])
        #expect(history.map(\.step) == [1, 2, 3])
    }

    @Test func malformedMetricsFailTheJob() throws {
        let dir = TempDir()
        let (result, store) = try runSweep(dir, #"{"name": "t", "stages": [{"name": "a", "command": ["sh", "-c", "echo '{\"loss\": \"high\"}' >> $XEXP_METRICS"]}]}"#)
        #expect(result.summary.failed == 1)
        let error = try store.problems(of: SweepReference(parsing: "t")).jobs[0].error ?? ""
        #expect(error.contains("metrics line 1: metric \"loss\" must be a number"))
    }

    @Test func missingProgramFailsClearly() throws {
        let dir = TempDir()
        let (result, store) = try runSweep(dir, #"{"name": "t", "stages": [{"name": "a", "command": ["no-such-program-xexp"]}]}"#)
        #expect(result.summary.failed == 1)
        #expect(try store.problems(of: SweepReference(parsing: "t")).jobs[0].error?.contains("command not found: no-such-program-xexp") == true)
    }
}

/// True if `pid` exists and is not a zombie (a container's init may be slow to reap orphans).
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// `"exclusive": true` (the built-in `latency` stage): each such job runs alone, and a result recorded on another host
/// is measured again.
@Suite("exclusive stages")
struct ExclusiveStageTests {
    /// Six 0.4 s jobs and, after each pair, a 0.3 s "measure" job; two slots. Each job logs its start and end.
    static let spec = #"""
        {"name": "ex", "grid": {"i": [1, 2, 3, 4, 5, 6]},
         "stages": [{"name": "work", "command": ["sh", "-c", "echo \"work {i} $(date +%s.%N) start\" >> log; sleep 0.4; echo \"work {i} $(date +%s.%N) end\" >> log"]},
                    {"name": "measure", "after": ["work"], "exclusive": true,
                     "command": ["sh", "-c", "echo \"measure {i} $(date +%s.%N) start\" >> log; sleep 0.3; echo \"measure {i} $(date +%s.%N) end\" >> log"]}]}
        """#

    @Test func exclusiveJobsRunAloneAndNotFromAnotherHost() throws {
        let dir = TempDir()
        let (result, store) = try runSweep(dir, Self.spec, slots: 2)
        #expect(result.succeeded)
        // Intervals per job from the log (commands run in the spec's directory).
        let text = dir.read("log")
        var start: [String: Double] = [:], end: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 4, let t = Double(f[2]) else { continue }
            if f[3] == "start" { start["\(f[0]) \(f[1])"] = t } else { end["\(f[0]) \(f[1])"] = t }
        }
        #expect(start.count == 12 && end.count == 12, "\(text)")
        for (job, s) in start where job.hasPrefix("measure") {
            let e = end[job] ?? s
            let overlapping = start.filter { other, os in other != job && os < e && (end[other] ?? os) > s }
            #expect(overlapping.isEmpty, "\(job) ran beside \(overlapping.keys.sorted())")
        }
        // Recorded on another host: measured again; on this host: reused.
        let measures = try store.pool.read { try String.fetchAll($0, sql: "SELECT id FROM jobs WHERE stage = 'measure' ORDER BY id") }
        try store.pool.write { try $0.execute(sql: "UPDATE jobs SET host = 'elsewhere' WHERE id = ?", arguments: [measures[0]]) }
        let (again, _) = try runSweep(dir, Self.spec, slots: 2)
        #expect(again.summary.done == 1 && again.reused == 11, "\(again.summary)")
    }
}
