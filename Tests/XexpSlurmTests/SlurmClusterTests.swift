import Foundation
import Testing
@testable import XexpOrchestration

/// End to end on a real Slurm controller (scripts/slurm-cluster start), through the built binary. Skipped where
/// `sinfo` fails. Serialized: the single-node cluster has two CPUs.
@Suite("Slurm backend on a real cluster", .serialized, .enabled(if: clusterIsUp, "no Slurm controller answers (sinfo); run scripts/slurm-cluster start"))
struct SlurmClusterTests {
    @Test func exampleGivesTheSameResultsAsTheLocalBackend() throws {
        let spec = try String(contentsOf: repositoryRoot.appendingPathComponent("Experiments/example.json"), encoding: .utf8)
        let slurm = Sandbox(), local = Sandbox()
        slurm.write("Experiments/example.json", spec)
        local.write("Experiments/example.json", spec)

        let run = try slurm.run("sweep", "Experiments/example.json", "--backend", "slurm", "--time", "5", "--mem", "100M")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("12 jobs — 12 ran, 0 reused, 0 cached, 0 failed, 0 blocked, 0 interrupted"))
        #expect(try local.run("sweep", "Experiments/example.json").status == 0)

        // Full precision, every metric line's last value: the backends must agree to the bit.
        let a = try slurm.run("export", "example", "--long"), b = try local.run("export", "example", "--long")
        #expect(a.stdout == b.stdout)
        #expect(a.stdout.split(separator: "\r\n").count == 1 + 8 * 4)

        // Every job ran as one Slurm job, whose id and final state are in the store.
        let store = try slurm.store()
        let attempts = try store.slurmAttempts()
        #expect(attempts.count == 12 && attempts.values.allSatisfy { $0.count == 1 })
        let (id, jobs) = try #require(attempts.first)
        #expect(try store.slurmRecord(of: id) == (jobs[0], "COMPLETED"))

        let again = try slurm.run("sweep", "Experiments/example.json", "--backend", "slurm")
        #expect(again.stdout.contains("12 jobs — 0 ran, 12 reused"))
    }

    @Test func aFailedJobKeepsItsSlurmStateAndItsDownstreamIsCancelledAndBlocked() throws {
        let box = Sandbox()
        box.write("f.json", """
            {"name": "f", "grid": {"x": [1, 2]}, "stages": [
              {"name": "a", "command": ["sh", "-c", "test {x} = 1 || { echo broken input {x} >&2; exit 4; }"]},
              {"name": "b", "after": ["a"], "command": ["true", "{x}"]},
              {"name": "c", "after": ["b"], "command": ["true", "{x}"]}]}
            """)
        let r = try box.run("sweep", "f.json", "--backend", "slurm")
        #expect(r.status == 1)
        #expect(r.stdout.contains("5 ran") == false)
        #expect(r.stdout.contains("6 jobs — 3 ran, 0 reused, 0 cached, 1 failed, 2 blocked, 0 interrupted"), "\(r.stdout)")

        let status = try box.run("status", "f")
        #expect(status.stdout.contains("failed  a"))
        #expect(status.stdout.contains("exited with status 4 (Slurm job "))
        #expect(status.stdout.contains(": FAILED)"))
        #expect(status.stdout.contains("broken input 2"))
        #expect(status.stdout.contains("blocked  b") && status.stdout.contains("blocked  c"))

        let store = try box.store()
        let problems = try store.problems(of: SweepReference(parsing: "f")).jobs
        let failed = try #require(problems.first { $0.status == .failed })
        #expect(try store.slurmRecord(of: failed.id).state == "FAILED")
        // The blocked jobs had been queued with afterok; they must not stay pending in Slurm.
        let blockedIDs = problems.filter { $0.status == .blocked }.compactMap { try? store.slurmRecord(of: $0.id).slurmID }
        #expect(blockedIDs.count == 2)
        #expect(try slurmStates(blockedIDs).values.allSatisfy { $0 == "CANCELLED" })
    }

    static let slowSpec = """
        {"name": "slow", "grid": {"i": [1, 2, 3, 4, 5, 6]},
         "stages": [{"name": "work", "command": ["sh", "-c", "echo {i} >> runs.log; sleep 1.5; echo '{\\"double\\": '$(( {i} * 2 ))'}' >> $XEXP_METRICS"]},
                    {"name": "sum", "after": ["work"], "command": ["sh", "-c", "echo s{i} >> runs.log; echo '{\\"i\\": {i}}' >> $XEXP_METRICS"]}]}
        """

    @Test func killingXexpThenRerunningReattachesAndSubmitsNothingTwice() throws {
        let box = Sandbox()
        box.write("slow.json", Self.slowSpec)
        let (process, _, _) = try box.start(["sweep", "slow.json", "--backend", "slurm"])
        // Two jobs run at once on this cluster: kill xexp while most of the graph is queued.
        #expect(waitUntil(30) { box.lines("runs.log").count >= 2 })
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // Killed while jobs are queued, maybe even between an sbatch and its store write (that job is found in the
        // queue by its name and script path on the rerun).
        #expect(try box.store().liveSlurmJobs().count >= 4)

        let resumed = try box.run("sweep", "slow.json", "--backend", "slurm")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("12 jobs — "))
        let runs = box.lines("runs.log")
        #expect(runs.sorted() == ["1", "2", "3", "4", "5", "6", "s1", "s2", "s3", "s4", "s5", "s6"], "each job must run exactly once: \(runs)")
        let attempts = try box.store().slurmAttempts()
        #expect(attempts.count == 12)
        #expect(attempts.values.allSatisfy { $0.count == 1 }, "a job was submitted twice: \(attempts)")
        let table = try box.run("table", "slow", "--format", "csv")
        #expect(table.stdout.contains("6,12,6,1"), "\(table.stdout)")
    }

    @Test func submissionIsBoundedSoTheControllerIsNotFlooded() throws {
        let box = Sandbox()
        box.write("many.json", """
            {"name": "many", "grid": {"i": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}, "stages": [{"name": "a", "command": ["sh", "-c", "sleep 0.3; echo {i}"]}]}
            """)
        let plan = try SweepPlan(specAt: box.url.appendingPathComponent("many.json"), displayPath: "many.json")
        let store = try box.store()
        let runner = SweepRunner(plan: plan, store: store, options: SchedulerOptions(slots: 1))
        runner.backend = .slurm(SlurmOptions(submitBatch: 2, maxQueued: 3))
        // Watch the queue from outside while the sweep runs.
        let names = Set(plan.graph.jobs.map { "xexp-\($0.id)" })
        let peak = Locked(0), finished = Locked(false)
        let watcher = Thread {
            while !finished.get() {
                let queued = (try? SlurmClient().queuedJobs(namePrefix: "xexp-")) ?? []
                let active = queued.filter { names.contains($0.name) && SlurmPhase(state: $0.state, source: .queue) == .active }.count
                if active > peak.get() { peak.set(active) }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        watcher.start()
        let result = try runner.run(invocationOptions: "test", observer: { _ in })
        finished.set(true)
        #expect(result.summary.done == 10)
        #expect(peak.get() >= 2 && peak.get() <= 3, "at most 3 jobs may be queued at once, saw \(peak.get())")
    }

    @Test func retriesResubmitTheJobAndItsQueuedDownstream() throws {
        let box = Sandbox()
        box.write("r.json", """
            {"name": "r", "stages": [
              {"name": "a", "retries": 1, "command": ["sh", "-c", "if [ -f {job.dir}/once ]; then echo '{\\"x\\": 1}' >> $XEXP_METRICS; else touch {job.dir}/once; exit 1; fi"]},
              {"name": "b", "after": ["a"], "command": ["sh", "-c", "echo '{\\"y\\": 2}' >> $XEXP_METRICS", "{a.dir}"]}]}
            """)
        let r = try box.run("sweep", "r.json", "--backend", "slurm")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(try box.run("table", "r", "--format", "csv").stdout.contains("1,2,1"))
        let attempts = try box.store().slurmAttempts()
        #expect(attempts.values.map(\.count).sorted() == [1, 2], "a ran twice, b once: \(attempts)")
    }

    @Test func interruptingLeavesJobsRunningOrCancelsThem() throws {
        let box = Sandbox()
        box.write("sleepy.json", #"{"name": "sleepy", "grid": {"i": [1, 2, 3]}, "stages": [{"name": "a", "command": ["sleep", "60", "{i}"]}]}"#)

        // Without a terminal there is nobody to ask: the jobs are left running, and xexp says so.
        var (process, out, _) = try box.start(["sweep", "sleepy.json", "--backend", "slurm"])
        #expect(try waitUntil(20) { try box.store().liveSlurmJobs().count == 3 })
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("3 job(s) left queued or running on Slurm"))
        let left = try box.store().liveSlurmJobs().map(\.slurmID)
        #expect(try slurmStates(left).values.allSatisfy { $0 == "RUNNING" || $0 == "PENDING" })

        let cancel = try box.run("cancel", "sleepy")
        #expect(cancel.status == 0)
        #expect(cancel.stdout.contains("cancelled 3 Slurm job(s) of sweep sleepy; recorded as interrupted"))
        #expect(try slurmStates(left).values.allSatisfy { $0 == "CANCELLED" })
        #expect(try box.run("status", "sleepy").stdout.hasPrefix("sleepy: 3 jobs — 3 interrupted"))

        // --on-interrupt cancel: scancel on Ctrl-C.
        (process, out, _) = try box.start(["sweep", "sleepy.json", "--backend", "slurm", "--on-interrupt", "cancel"])
        #expect(try waitUntil(20) { try box.store().liveSlurmJobs().count == 3 })
        let submitted = try box.store().liveSlurmJobs().map(\.slurmID)
        #expect(Set(submitted).isDisjoint(with: left))
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(try slurmStates(submitted).values.allSatisfy { $0 == "CANCELLED" })
        #expect(try box.store().liveSlurmJobs().isEmpty)
        #expect(try box.run("status", "sleepy").stdout.hasPrefix("sleepy: 3 jobs — 3 interrupted"))
    }

    @Test func detachReturnsAtOnceAndStatusRecordsTheResults() throws {
        let box = Sandbox()
        box.write("slow.json", Self.slowSpec)
        let r = try box.run("sweep", "slow.json", "--backend", "slurm", "--detach")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("12 job(s) left queued or running on Slurm"))
        #expect(try waitUntil(60) { (try box.run("status", "slow")).stdout.hasPrefix("slow: 12 jobs — 12 done") })
        #expect(try box.run("table", "slow", "--format", "csv").stdout.contains("6,12,6,1"))
        // A sweep run again reuses everything the detached run produced.
        #expect(try box.run("sweep", "slow.json", "--backend", "slurm").stdout.contains("12 jobs — 0 ran, 12 reused"))
    }

    @Test func aRejectedSubmissionStopsWithOneClearError() throws {
        let box = Sandbox()
        box.write("p.json", #"{"name": "p", "grid": {"i": [1, 2, 3]}, "stages": [{"name": "a", "command": ["true", "{i}"]}]}"#)
        let r = try box.run("sweep", "p.json", "--backend", "slurm", "--partition", "no-such-partition")
        #expect(r.status == 1)
        let status = try box.run("status", "p")
        #expect(status.stdout.contains("sbatch failed: sbatch: error: invalid partition specified: no-such-partition"), "\(status.stdout)")
        #expect(status.stdout.hasPrefix("p: 3 jobs — 1 failed, 2 interrupted"), "\(status.stdout)")
    }
}
