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

/// What an attempt ran under: recorded per attempt (not in the job id, which would then change with every upgrade).
public struct AttemptProvenance: Sendable, Equatable {
    /// BLAS/OpenMP threads the job was given (provenance only: results do not depend on it).
    public var threads: Int?
    /// The numerics fingerprint of built-in stages (nil for command stages, whose numerics xexp cannot know).
    public var numerics: String?
    public var toolkitVersion: String?
    /// The git commit of the xexp source the binary was built from, `-dirty` when modified.
    public var build: String?
    public var host: String?
    public var endedAt: Double?

    public init(threads: Int? = nil, numerics: String? = nil, toolkitVersion: String? = nil, build: String? = nil) {
        self.threads = threads
        self.numerics = numerics
        self.toolkitVersion = toolkitVersion
        self.build = build
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

    /// The host each of `ids` last ran on (jobs never run are absent).
    public func hosts(of ids: [JobID]) throws -> [JobID: String] {
        try pool.read { db in
            var result: [JobID: String] = [:]
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                for row in try Row.fetchAll(db, sql: "SELECT id, host FROM jobs WHERE host IS NOT NULL AND id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))",
                                            arguments: StatementArguments(chunk)) {
                    result[row["id"]] = row["host"]
                }
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

    /// Inside a write that starts an attempt (local or Slurm): the new attempt's number. Earlier attempts keep their
    /// metrics (an earlier invocation's table still shows what it reported); the job's result is its latest attempt's.
    static func beginAttempt(_ db: Database, job id: JobID) throws -> Int {
        return try Int.fetchOne(db, sql: "SELECT IFNULL(MAX(attempt), 0) + 1 FROM attempts WHERE job_id = ?", arguments: [id])!
    }

    /// Starts a local attempt with the job's process id and what it runs under. Returns the attempt number.
    @discardableResult
    public func markRunning(_ id: JobID, pid: Int32, invocation: Int64?, provenance: AttemptProvenance = AttemptProvenance()) throws -> Int {
        try pool.write { db in
            let now = Store.now
            let attempt = try Store.beginAttempt(db, job: id)
            try db.execute(sql: """
                UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?, ended_at = NULL, exit_code = NULL,
                    signal = NULL, error = NULL, pid = ?, host = ?, invocation_id = ?, origin = NULL,
                    slurm_job_id = NULL, slurm_state = NULL WHERE id = ?
                """, arguments: [now, Int(pid), Store.hostName, invocation, id])
            try db.execute(sql: """
                INSERT INTO attempts (job_id, attempt, invocation_id, started_at, status, host, threads, numerics, toolkit_version, build)
                VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)
                """, arguments: [id, attempt, invocation, now, Store.hostName, provenance.threads, provenance.numerics,
                                 provenance.toolkitVersion, provenance.build])
            return attempt
        }
    }

    /// Records a job served from a job cache: a finished attempt whose origin is the cache (with the manifest's
    /// provenance), its metrics, and the job `done`, in one transaction.
    public func recordCached(_ id: JobID, metrics: [MetricPoint], origin: String, invocation: Int64?, manifest: CacheManifest) throws {
        try pool.write { db in
            let now = Store.now
            let attempt = try Store.beginAttempt(db, job: id)
            try Store.insert(db, metrics: metrics, job: id, attempt: attempt)
            try db.execute(sql: """
                INSERT INTO attempts (job_id, attempt, invocation_id, started_at, ended_at, status, origin, host, threads, numerics, toolkit_version)
                VALUES (?, ?, ?, ?, ?, 'done', ?, ?, ?, ?, ?)
                """, arguments: [id, attempt, invocation, now, now, origin, manifest.host, manifest.threads, manifest.numerics, manifest.xexpVersion])
            try db.execute(sql: """
                UPDATE jobs SET status = 'done', attempts = attempts + 1, started_at = ?, ended_at = ?, exit_code = 0, signal = NULL,
                    error = NULL, pid = NULL, host = ?, invocation_id = ?, origin = ?, slurm_job_id = NULL, slurm_state = NULL WHERE id = ?
                """, arguments: [now, now, manifest.host, invocation, origin, id])
        }
    }

    /// Where each done job's result came from: nil when it ran under a store (this one or the one it was copied from),
    /// else the cache it was served from.
    public func origins(of ids: [JobID]) throws -> [JobID: String] {
        try pool.read { db in
            var result: [JobID: String] = [:]
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                let rows = try Row.fetchAll(db, sql: "SELECT id, origin FROM jobs WHERE origin IS NOT NULL AND id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))",
                                            arguments: StatementArguments(chunk))
                for row in rows { result[row["id"]] = row["origin"] }
            }
            return result
        }
    }

    /// The latest attempt's provenance of a finished job (for `cache push`).
    public func latestAttempt(of id: JobID) throws -> AttemptProvenance? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT host, threads, numerics, toolkit_version, build, ended_at FROM attempts WHERE job_id = ? ORDER BY attempt DESC LIMIT 1
                """, arguments: [id]) else { return nil }
            var p = AttemptProvenance(threads: row["threads"], numerics: row["numerics"], toolkitVersion: row["toolkit_version"], build: row["build"])
            p.host = row["host"]
            p.endedAt = row["ended_at"]
            return p
        }
    }

    /// Ends the running attempt with its outcome and metrics, atomically.
    public func markFinished(_ id: JobID, outcome: JobOutcome) throws {
        try pool.write { db in
            let now = Store.now
            let attempt = try Int.fetchOne(db, sql: "SELECT MAX(attempt) FROM attempts WHERE job_id = ?", arguments: [id]) ?? 1
            try Store.insert(db, metrics: outcome.metrics, job: id, attempt: attempt)
            try db.execute(sql: """
                UPDATE jobs SET status = ?, ended_at = ?, exit_code = ?, signal = ?, error = ?, pid = NULL WHERE id = ?
                """, arguments: [outcome.status.rawValue, now, outcome.exitCode.map { Int($0) }, outcome.signal.map { Int($0) }, outcome.error, id])
            try db.execute(sql: """
                UPDATE attempts SET status = ?, ended_at = ?, exit_code = ?, signal = ?, error = ?, peak_rss_bytes = ?, cpu_seconds = ?
                WHERE job_id = ? AND attempt = (SELECT MAX(attempt) FROM attempts WHERE job_id = ?)
                """, arguments: [outcome.status.rawValue, now, outcome.exitCode.map { Int($0) }, outcome.signal.map { Int($0) }, outcome.error,
                                 outcome.resources?.peakRSSBytes, outcome.resources?.cpuSeconds, id, id])
        }
    }

    /// A running attempt's metric lines so far (the scheduler reads its growing metrics file): `status`, `table` and
    /// `report` show them before the job ends; its final metrics replace them line for line.
    public func recordLiveMetrics(_ id: JobID, attempt: Int, points: [MetricPoint]) throws {
        try pool.write { db in try Store.insert(db, metrics: points, job: id, attempt: attempt) }
    }

    /// Writes an attempt's metric lines. NaN is stored as NULL (SQLite's only NaN) and read back as NaN.
    static func insert(_ db: Database, metrics: [MetricPoint], job id: JobID, attempt: Int) throws {
        for point in metrics {
            try db.execute(sql: "INSERT OR REPLACE INTO metrics (job_id, attempt, seq, name, value, step) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [id, attempt, point.seq, point.name, point.value.isNaN ? nil : point.value, point.step])
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
