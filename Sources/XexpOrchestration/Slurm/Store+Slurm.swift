import Foundation
import GRDB

/// A job the store says is queued or running on Slurm.
public struct LiveSlurmJob: Sendable, Equatable {
    public var job: JobID
    public var stage: String
    public var slurmID: String
    public var state: String?
}

extension Store {
    /// Like `resetOrphanedJobs`, but leaves alone jobs that run on Slurm: they outlive the xexp process that
    /// submitted them, and a restart reattaches to them instead of running them again.
    @discardableResult
    public func resetOrphanedLocalJobs() throws -> Int {
        try pool.write { db in
            try db.execute(sql: """
                UPDATE attempts SET status = 'interrupted', ended_at = ?, error = 'the xexp process running it died'
                WHERE status = 'running' AND slurm_job_id IS NULL
                """, arguments: [Store.now])
            try db.execute(sql: """
                UPDATE jobs SET status = 'interrupted', pid = NULL, error = 'the xexp process running it died (pid ' || IFNULL(pid, '?') || ')'
                WHERE status = 'running' AND slurm_job_id IS NULL
                """)
            return db.changesCount
        }
    }

    /// Jobs marked running with a Slurm id: among `ids`, or of an invocation, or all of them.
    public func liveSlurmJobs(among ids: [JobID]? = nil, invocation: Int64? = nil) throws -> [LiveSlurmJob] {
        try pool.read { db in
            var sql = "SELECT id, stage, slurm_job_id, slurm_state FROM jobs WHERE status = 'running' AND slurm_job_id IS NOT NULL"
            var arguments = StatementArguments()
            if let invocation {
                sql += " AND id IN (SELECT tj.job_id FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE t.invocation_id = ?)"
                arguments += [invocation]
            }
            let wanted = ids.map(Set.init)
            return try Row.fetchAll(db, sql: sql + " ORDER BY id", arguments: arguments).compactMap { row in
                let live = LiveSlurmJob(job: row["id"], stage: row["stage"], slurmID: row["slurm_job_id"], state: row["slurm_state"])
                return wanted.map { $0.contains(live.job) } ?? true ? live : nil
            }
        }
    }

    /// Records a submission: a new attempt, owned by Slurm job `slurmID`. Returns the attempt number.
    @discardableResult
    public func markSubmitted(_ id: JobID, slurmID: String, invocation: Int64?) throws -> Int {
        try pool.write { db in
            let now = Store.now
            let attempt = try Store.beginAttempt(db, job: id)
            try db.execute(sql: """
                UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?, ended_at = NULL, exit_code = NULL,
                    signal = NULL, error = NULL, pid = NULL, host = NULL, invocation_id = ?, slurm_job_id = ?, slurm_state = 'PENDING'
                WHERE id = ?
                """, arguments: [now, invocation, slurmID, id])
            try db.execute(sql: """
                INSERT INTO attempts (job_id, attempt, invocation_id, started_at, status, slurm_job_id, slurm_state)
                VALUES (?, ?, ?, ?, 'running', ?, 'PENDING')
                """, arguments: [id, attempt, invocation, now, slurmID])
            return attempt
        }
    }

    /// Takes back a submission that never ran (its Slurm job was cancelled so it can be submitted again after its
    /// upstream job's retry): the attempt is forgotten and the job is pending again.
    public func unsubmit(_ id: JobID) throws {
        try pool.write { db in
            let attempt = try Int.fetchOne(db, sql: "SELECT MAX(attempt) FROM attempts WHERE job_id = ? AND status = 'running'", arguments: [id])
            if let attempt {
                try db.execute(sql: "DELETE FROM attempts WHERE job_id = ? AND attempt = ?", arguments: [id, attempt])
                try db.execute(sql: "UPDATE jobs SET attempts = MAX(0, attempts - 1) WHERE id = ?", arguments: [id])
            }
            try db.execute(sql: "UPDATE jobs SET status = 'pending', slurm_job_id = NULL, slurm_state = NULL, error = NULL WHERE id = ?", arguments: [id])
        }
    }

    /// What Slurm last said about a job's current attempt (and on which node it runs).
    public func recordSlurmState(_ id: JobID, slurmID: String, state: String, node: String?) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE jobs SET slurm_state = ?, host = IFNULL(?, host) WHERE id = ? AND slurm_job_id = ?",
                           arguments: [state, node, id, slurmID])
            try db.execute(sql: "UPDATE attempts SET slurm_state = ? WHERE job_id = ? AND slurm_job_id = ?", arguments: [state, id, slurmID])
        }
    }

    /// Marks jobs blocked by a failed upstream job, closing the attempts of those that were already submitted.
    public func markSlurmBlocked(_ ids: [JobID], because upstream: JobID) throws {
        try markBlocked(ids, because: upstream)
        try pool.write { db in
            for id in ids {
                try db.execute(sql: """
                    UPDATE attempts SET status = 'blocked', ended_at = ?, error = ? WHERE job_id = ? AND status = 'running'
                    """, arguments: [Store.now, "cancelled in Slurm: upstream job \(upstream) did not finish", id])
            }
        }
    }

    /// The jobs that run directly after `id`.
    func downstreamJobs(of id: JobID) throws -> [JobID] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT job_id FROM job_edges WHERE upstream_id = ? ORDER BY job_id", arguments: [id])
        }
    }

    func upstreamJobs(of id: JobID) throws -> [JobID] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT upstream_id FROM job_edges WHERE job_id = ?", arguments: [id])
        }
    }

    /// When each job's current attempt started (for a Slurm job: when it was submitted).
    func startTimes(of ids: [JobID]) throws -> [JobID: Double] {
        try pool.read { db in
            var result: [JobID: Double] = [:]
            for id in ids { result[id] = try Double.fetchOne(db, sql: "SELECT started_at FROM jobs WHERE id = ?", arguments: [id]) }
            return result
        }
    }

    /// Status and Slurm id of each of `ids`.
    func slurmJobInfo(_ ids: [JobID]) throws -> [JobID: (status: JobStatus, slurmID: String?)] {
        try pool.read { db in
            var result: [JobID: (status: JobStatus, slurmID: String?)] = [:]
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                let rows = try Row.fetchAll(db, sql: "SELECT id, status, slurm_job_id FROM jobs WHERE id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))",
                                            arguments: StatementArguments(chunk))
                for row in rows { result[row["id"]] = (JobStatus(rawValue: row["status"]) ?? .pending, row["slurm_job_id"]) }
            }
            return result
        }
    }

    /// The Slurm job id and state recorded for a job (its latest attempt).
    public func slurmRecord(of id: JobID) throws -> (slurmID: String?, state: String?) {
        try pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT slurm_job_id, slurm_state FROM jobs WHERE id = ?", arguments: [id])
            return (row?["slurm_job_id"], row?["slurm_state"])
        }
    }
}
