import Foundation
import GRDB

/// What an invocation records about itself (provenance).
public struct InvocationInfo: Sendable {
    public var sweep: String
    public var specPath: String
    public var specText: String
    public var toolkitVersion: String
    public var gitCommit: String?
    public var host: String
    public var options: String

    public init(sweep: String, specPath: String, specText: String, toolkitVersion: String, gitCommit: String?, host: String, options: String) {
        self.sweep = sweep
        self.specPath = specPath
        self.specText = specText
        self.toolkitVersion = toolkitVersion
        self.gitCommit = gitCommit
        self.host = host
        self.options = options
    }
}

extension Store {
    static var now: Double { Date().timeIntervalSince1970 }

    /// This machine's name, looked up once: Foundation's `hostName` reads resolver files on every call.
    public static let hostName: String = ProcessInfo.processInfo.hostName

    /// Jobs left `running` by a process that died: the caller holds the sweep lock, so no live process owns them.
    /// They become `interrupted` and run again.
    @discardableResult
    public func resetOrphanedJobs() throws -> Int {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE attempts SET status = 'interrupted', ended_at = ?, error = 'the xexp process running it died'
                WHERE status = 'running'
                """, arguments: [Store.now])
            try db.execute(sql: """
                UPDATE jobs SET status = 'interrupted', pid = NULL, error = 'the xexp process running it died (pid ' || IFNULL(pid, '?') || ')'
                WHERE status = 'running'
                """)
            return db.changesCount
        }
    }

    /// Records a new invocation of a sweep with its trials and jobs, in one transaction. Returns the invocation id.
    public func recordInvocation(_ info: InvocationInfo, trials: [Trial], graph: JobGraph) throws -> Int64 {
        let specHash = sha256Hex(info.specText)
        return try pool.write { db in
            let now = Store.now
            try db.execute(sql: "INSERT OR IGNORE INTO sweeps (name, created_at) VALUES (?, ?)", arguments: [info.sweep, now])
            let seq = try Int.fetchOne(db, sql: "SELECT IFNULL(MAX(seq), 0) + 1 FROM invocations WHERE sweep = ?", arguments: [info.sweep])!
            try db.execute(sql: """
                INSERT INTO invocations (sweep, seq, spec_path, spec_text, spec_hash, started_at, toolkit_version, git_commit, host, pid, options)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [info.sweep, seq, info.specPath, info.specText, specHash, now, info.toolkitVersion,
                                 info.gitCommit, info.host, Int(getpid()), info.options])
            let invocation = db.lastInsertedRowID
            for job in graph.jobs {
                let env = JSONValue.object(job.resolved(runsDirectory: URL(fileURLWithPath: "/$RUNS")).env.map { ($0.0, .string($0.1.replacingOccurrences(of: "/$RUNS/", with: "$RUNS/"))) })
                try db.execute(sql: """
                    INSERT INTO jobs (id, stage, command, env, status, created_at) VALUES (?, ?, ?, ?, 'pending', ?)
                    ON CONFLICT(id) DO NOTHING
                    """, arguments: [job.id, job.stage, JSONValue.array(job.displayCommand.map { .string($0) }).jsonText, env.jsonText, now])
                for up in job.upstream {
                    try db.execute(sql: "INSERT OR IGNORE INTO job_edges (job_id, upstream_id) VALUES (?, ?)", arguments: [job.id, up])
                }
            }
            for (position, trial) in trials.enumerated() {
                try db.execute(sql: "INSERT INTO trials (invocation_id, position, params, seed) VALUES (?, ?, ?, ?)",
                               arguments: [invocation, position, trial.parameters.json.jsonText, trial.seed])
                let trialID = db.lastInsertedRowID
                for (stage, jobID) in graph.trialJobs[position] {
                    try db.execute(sql: "INSERT INTO trial_jobs (trial_id, stage, job_id) VALUES (?, ?, ?)", arguments: [trialID, stage, jobID])
                }
            }
            return invocation
        }
    }

    public func finishInvocation(_ id: Int64, outcome: String) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE invocations SET ended_at = ?, outcome = ? WHERE id = ?", arguments: [Store.now, outcome, id])
        }
    }

    /// Current status of each of `ids` (jobs not in the store are absent).
    public func statuses(of ids: [JobID]) throws -> [JobID: JobStatus] {
        try pool.read { db in
            var result: [JobID: JobStatus] = [:]
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                let rows = try Row.fetchAll(db, sql: "SELECT id, status FROM jobs WHERE id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))",
                                            arguments: StatementArguments(chunk))
                for row in rows { result[row["id"]] = JobStatus(rawValue: row["status"]) }
            }
            return result
        }
    }

    /// Marks jobs as waiting to run in this invocation (their previous failure stays in `attempts`).
    public func markPending(_ ids: [JobID]) throws {
        try pool.write { db in
            for id in ids {
                try db.execute(sql: "UPDATE jobs SET status = 'pending', error = NULL, exit_code = NULL, signal = NULL, pid = NULL WHERE id = ?", arguments: [id])
            }
        }
    }

    /// Inside a write that starts an attempt (local or Slurm): drops the job's previous metrics, so its results are
    /// only ever the latest run's, and returns the new attempt's number.
    static func beginAttempt(_ db: Database, job id: JobID) throws -> Int {
        try db.execute(sql: "DELETE FROM metrics WHERE job_id = ?", arguments: [id])
        return try Int.fetchOne(db, sql: "SELECT IFNULL(MAX(attempt), 0) + 1 FROM attempts WHERE job_id = ?", arguments: [id])!
    }

    /// Starts a local attempt with the job's process id. Returns the attempt number.
    @discardableResult
    public func markRunning(_ id: JobID, pid: Int32, invocation: Int64?) throws -> Int {
        try pool.write { db in
            let now = Store.now
            let attempt = try Store.beginAttempt(db, job: id)
            try db.execute(sql: """
                UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?, ended_at = NULL, exit_code = NULL,
                    signal = NULL, error = NULL, pid = ?, host = ?, invocation_id = ? WHERE id = ?
                """, arguments: [now, Int(pid), Store.hostName, invocation, id])
            try db.execute(sql: "INSERT INTO attempts (job_id, attempt, invocation_id, started_at, status) VALUES (?, ?, ?, ?, 'running')",
                           arguments: [id, attempt, invocation, now])
            return attempt
        }
    }

    /// Ends the running attempt with its outcome and metrics, atomically.
    public func markFinished(_ id: JobID, outcome: JobOutcome) throws {
        try pool.write { db in
            let now = Store.now
            for point in outcome.metrics {
                try db.execute(sql: "INSERT OR REPLACE INTO metrics (job_id, seq, name, value, step) VALUES (?, ?, ?, ?, ?)",
                               arguments: [id, point.seq, point.name, point.value, point.step])
            }
            try db.execute(sql: """
                UPDATE jobs SET status = ?, ended_at = ?, exit_code = ?, signal = ?, error = ?, pid = NULL WHERE id = ?
                """, arguments: [outcome.status.rawValue, now, outcome.exitCode.map { Int($0) }, outcome.signal.map { Int($0) }, outcome.error, id])
            try db.execute(sql: """
                UPDATE attempts SET status = ?, ended_at = ?, exit_code = ?, signal = ?, error = ?
                WHERE job_id = ? AND attempt = (SELECT MAX(attempt) FROM attempts WHERE job_id = ?)
                """, arguments: [outcome.status.rawValue, now, outcome.exitCode.map { Int($0) }, outcome.signal.map { Int($0) }, outcome.error, id, id])
        }
    }

    /// Marks jobs that cannot run because an upstream job failed.
    public func markBlocked(_ ids: [JobID], because upstream: JobID) throws {
        try pool.write { db in
            for id in ids {
                try db.execute(sql: "UPDATE jobs SET status = 'blocked', error = ? WHERE id = ? AND status != 'done'",
                               arguments: ["upstream job \(upstream) did not finish", id])
            }
        }
    }

    /// Marks pending jobs that never started because the sweep was interrupted.
    public func markInterrupted(_ ids: [JobID]) throws {
        try pool.write { db in
            for id in ids {
                try db.execute(sql: "UPDATE jobs SET status = 'interrupted', error = 'the sweep was interrupted before it started' WHERE id = ? AND status = 'pending'", arguments: [id])
            }
        }
    }
}

func sha256Hex(_ text: String) -> String {
    SHA256Hex.hash(text)
}
