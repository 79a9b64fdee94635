import Foundation
import GRDB
import Testing
@testable import XexpOrchestration

final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.lock(); items.append(item); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

@Suite("Store: migrations, locking, resume")
struct StoreTests {
    @Test func migrationsCreateTheSchema() throws {
        let dir = TempDir()
        let store = try Store.open(at: dir.url.appendingPathComponent("s.sqlite"))
        #expect(try store.appliedMigrations == ["v1-sweeps-jobs-metrics", "v2-slurm", "v3-provenance-cache", "v4-metrics-per-attempt", "v5-attempt-resources"])
        let tables = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb%' AND name NOT LIKE 'sqlite%' ORDER BY name")
        }
        #expect(tables == ["attempts", "invocations", "job_edges", "jobs", "metrics", "sweeps", "trial_jobs", "trials"])
        let mode = try store.pool.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        // Opening again is a no-op migration.
        #expect(try Store.open(at: store.url).appliedMigrations == ["v1-sweeps-jobs-metrics", "v2-slurm", "v3-provenance-cache", "v4-metrics-per-attempt", "v5-attempt-resources"])
    }

    /// A store written before metrics were kept per attempt: its metrics become its jobs' latest attempts', so the
    /// results read the same after the upgrade (NULL values, SQLite's NaN, survive as NaN).
    @Test func metricsOfAnOlderStoreBelongToEachJobsLatestAttempt() throws {
        let dir = TempDir()
        let url = dir.url.appendingPathComponent("v3.sqlite")
        let queue = try DatabaseQueue(path: url.path)
        try Store.migrator.migrate(queue, upTo: "v3-provenance-cache")
        try queue.write { db in
            try db.execute(sql: "INSERT INTO jobs (id, stage, command, env, status, attempts, created_at) VALUES ('j', 's', '[]', '{}', 'done', 2, 0)")
            try db.execute(sql: "INSERT INTO attempts (job_id, attempt, started_at, status) VALUES ('j', 1, 0, 'failed'), ('j', 2, 1, 'done')")
            try db.execute(sql: "INSERT INTO metrics (job_id, seq, name, value, step) VALUES ('j', 1, 'loss', 0.5, 10), ('j', 2, 'acc', 0.9, NULL)")
        }
        try queue.close()
        let store = try Store.open(at: url)
        #expect(try store.metricHistory(job: "j") == [MetricPoint(seq: 1, name: "loss", value: 0.5, step: 10), MetricPoint(seq: 2, name: "acc", value: 0.9)])
        #expect(try store.pool.read { try Int.fetchOne($0, sql: "SELECT MIN(attempt) FROM metrics") } == 2)
    }

    /// Readers open read-only and never migrate: a foreign SQLite file is refused and left byte-for-byte as it was
    /// (it used to be turned to WAL and given xexp's tables); an older schema is refused with the upgrade command; a
    /// newer one is refused; a current store reads.
    @Test func readersNeverChangeTheFileAndRefuseWhatTheyCannotRead() throws {
        let dir = TempDir()
        let foreign = dir.url.appendingPathComponent("foreign.sqlite")
        let q = try DatabaseQueue(path: foreign.path)
        try q.write { try $0.execute(sql: "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine')") }
        try q.close()
        let before = try Data(contentsOf: foreign)
        #expect { try Store.openForReading(at: foreign) } throws: { "\($0)".contains("is not an xexp store (an SQLite database without xexp's tables)") }
        #expect(try Data(contentsOf: foreign) == before)
        #expect(!FileManager.default.fileExists(atPath: foreign.path + "-wal"))

        let old = dir.url.appendingPathComponent("v3.sqlite")
        let oq = try DatabaseQueue(path: old.path)
        try Store.migrator.migrate(oq, upTo: "v3-provenance-cache")
        try oq.close()
        #expect { try Store.openForReading(at: old) } throws: { "\($0)".contains("has an older schema (without v4-metrics-per-attempt") && "\($0)".contains("xexp migrate --db") }
        _ = try Store.open(at: old)  // what `xexp migrate` does
        #expect(try Store.openForReading(at: old).overview().isEmpty)

        let newer = dir.url.appendingPathComponent("newer.sqlite")
        _ = try Store.open(at: newer)
        let nq = try DatabaseQueue(path: newer.path)
        try nq.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-future')") }
        try nq.close()
        #expect { try Store.openForReading(at: newer) } throws: { "\($0)".contains("written by a newer xexp (schema v99-future)") }
    }

    /// A job that once ran on Slurm and then runs locally drops its Slurm id: a local run killed with the sweep is then
    /// an orphan that the next local sweep resets, instead of a "Slurm job" that blocks every local sweep forever.
    @Test func aLocalRunForgetsTheSlurmJob() throws {
        let dir = TempDir()
        let (_, store) = try runSweep(dir, #"{"name": "s", "stages": [{"name": "a", "command": ["true"]}]}"#)
        let id = try #require(try store.pool.read { try String.fetchOne($0, sql: "SELECT id FROM jobs") })
        _ = try store.markSubmitted(id, slurmID: "4242", invocation: nil)
        try store.markFinished(id, outcome: JobOutcome(status: .failed, error: "node died"))
        try store.markRunning(id, pid: 999_999, invocation: nil)  // then the local xexp running it is killed
        #expect(try store.resetOrphanedLocalJobs() == 1)
        #expect(try store.statuses(of: [id])[id] == .interrupted)
        #expect(try store.liveSlurmJobs(among: [id]).isEmpty)
    }

    /// Several processes (here threads, each with its own connection pool) opening one new store at once: the
    /// migrations run once, under a lock, instead of racing ("table sweeps already exists").
    @Test func concurrentOpensOfANewStoreMigrateOnce() throws {
        for _ in 0..<5 {
            let dir = TempDir()
            let url = dir.url.appendingPathComponent("new.sqlite")
            let errors = ErrorList()
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                do { _ = try Store.open(at: url) } catch { errors.add("\(error)") }
            }
            #expect(errors.all.isEmpty, "\(errors.all)")
            #expect(try Store.open(at: url).appliedMigrations == ["v1-sweeps-jobs-metrics", "v2-slurm", "v3-provenance-cache", "v4-metrics-per-attempt", "v5-attempt-resources"])
        }
    }

    @Test func notAStoreIsAClearError() throws {
        let dir = TempDir()
        let file = dir.write("junk.sqlite", String(repeating: "not a database ", count: 100))
        #expect { try Store.open(at: file) } throws: { error in
            (error as? StoreError)?.description.contains("is not an xexp store") == true
        }
    }

    @Test func oneSweepAtATimePerStore() throws {
        let dir = TempDir()
        let store = try Store.open(at: dir.url.appendingPathComponent("s.sqlite"))
        let first = try SweepLock(store: store, purpose: "first")
        #expect { try SweepLock(store: store, purpose: "second") } throws: { error in
            (error as? StoreError)?.description.contains("another xexp process is using the store") == true
        }
        _ = first
    }

    static let spec = """
        {"name": "t", "grid": {"i": [1, 2, 3]},
         "stages": [
           {"name": "a", "command": ["sh", "-c", "echo a{i} >> ../ran.log; test -f ../ok-{i} || test {i} != 2"]},
           {"name": "b", "after": ["a"], "command": ["sh", "-c", "echo b{i} >> ../ran.log; echo '{\\"v\\": {i}}' >> $XEXP_METRICS"]}
         ]}
        """

    @Test func resumeRunsOnlyWhatIsNotDone() throws {
        let dir = TempDir()
        let work = dir.url.appendingPathComponent("w")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let specURL = work.appendingPathComponent("spec.json")
        try Self.spec.write(to: specURL, atomically: true, encoding: .utf8)
        let store = try Store.open(at: dir.url.appendingPathComponent("s.sqlite"))
        func run() throws -> SweepRunner.Result {
            let p = try SweepPlan(specAt: specURL, displayPath: "spec.json")
            return try SweepRunner(plan: p, store: store, options: SchedulerOptions(slots: 1, cores: 2)).run(invocationOptions: "", observer: { _ in })
        }
        let first = try run()
        #expect(first.summary.failed == 1 && first.summary.blocked == 1 && first.summary.done == 4)
        #expect(Set(dir.read("ran.log").split(separator: "\n")) == ["a1", "a2", "a3", "b1", "b3"])

        try "".write(to: dir.url.appendingPathComponent("ok-2"), atomically: true, encoding: .utf8)
        try "".write(to: dir.url.appendingPathComponent("ran.log"), atomically: true, encoding: .utf8)
        let second = try run()
        #expect(second.succeeded)
        #expect(second.reused == 4)
        #expect(dir.read("ran.log") == "a2\nb2\n")
        let results = try store.results(of: SweepReference(parsing: "t"))
        #expect(results.seq == 2)
        #expect(results.trials.map { $0.metrics["b.v"] } == [1, 2, 3])

        // --rerun forces a stage and what follows it.
        try "".write(to: dir.url.appendingPathComponent("ran.log"), atomically: true, encoding: .utf8)
        let p = try SweepPlan(specAt: specURL, displayPath: "spec.json")
        let third = try SweepRunner(plan: p, store: store, options: SchedulerOptions(slots: 1, cores: 2), rerun: ["a"]).run(invocationOptions: "", observer: { _ in })
        #expect(third.summary.done == 6)
        #expect(dir.read("ran.log").split(separator: "\n").count == 6)
    }

    @Test func jobsLeftRunningByADeadProcessRunAgain() throws {
        let dir = TempDir()
        let (first, store) = try runSweep(dir, #"{"name": "t", "grid": {"i": [1, 2]}, "stages": [{"name": "a", "command": ["true", "{i}"]}]}"#)
        #expect(first.succeeded)
        // Simulate a crash: a job marked running by a process that no longer exists.
        let p = try plan(dir, dir.read("spec.json"))
        let victim = p.graph.jobs[0].id
        try store.markRunning(victim, pid: 999_999, invocation: nil)
        #expect(try store.statuses(of: [victim])[victim] == .running)
        let (second, _) = try runSweep(dir, dir.read("spec.json"))
        #expect(second.succeeded)
        #expect(second.summary.done == 1)
        #expect(second.reused == 1)
        let attempts = try store.pool.read { try Row.fetchAll($0, sql: "SELECT status FROM attempts WHERE job_id = ? ORDER BY attempt", arguments: [victim]) }
        #expect(attempts.map { $0["status"] as String } == ["done", "interrupted", "done"])
    }

    @Test func editingTheSpecKeepsUnchangedResults() throws {
        let dir = TempDir()
        let spec = #"{"name": "t", "grid": {"i": [1, 2]}, "stages": [{"name": "a", "command": ["sh", "-c", "echo {i} >> ran.log"]}]}"#
        try runSweep(dir, spec)
        let (second, store) = try runSweep(dir, spec.replacingOccurrences(of: "[1, 2]", with: "[1, 2, 3]"))
        #expect(second.summary.done == 1 && second.reused == 2)
        let (third, _) = try runSweep(dir, spec.replacingOccurrences(of: "[1, 2]", with: "[2]"))
        #expect(third.summary.done == 0 && third.reused == 1)
        #expect(try store.results(of: SweepReference(parsing: "t@2")).trials.count == 3)
        #expect(try store.results(of: SweepReference(parsing: "t")).trials.count == 1)
    }
}

import GRDB
