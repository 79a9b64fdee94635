import Foundation
import GRDB

/// `xexp rm` and `xexp gc`: forgetting sweeps, and freeing the job directories nothing references any more.
extension Store {
    /// Removes a sweep's invocations (all of them, or the one `NAME@K` names) with their trials. Jobs stay, with
    /// their results, until `gc` finds that no invocation of any store sharing `runs/` references them.
    @discardableResult
    public func removeSweep(_ reference: SweepReference, allRuns: Bool) throws -> Int {
        let (invocation, _) = try resolve(reference)
        return try pool.write { db in
            let removed: Int
            if allRuns {
                removed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invocations WHERE sweep = ?", arguments: [reference.name]) ?? 0
                try db.execute(sql: "DELETE FROM trial_jobs WHERE trial_id IN (SELECT t.id FROM trials t JOIN invocations i ON i.id = t.invocation_id WHERE i.sweep = ?)", arguments: [reference.name])
                try db.execute(sql: "DELETE FROM sweeps WHERE name = ?", arguments: [reference.name])  // cascades to invocations and trials
            } else {
                removed = 1
                try db.execute(sql: "DELETE FROM trial_jobs WHERE trial_id IN (SELECT id FROM trials WHERE invocation_id = ?)", arguments: [invocation])
                try db.execute(sql: "DELETE FROM invocations WHERE id = ?", arguments: [invocation])
                if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invocations WHERE sweep = ?", arguments: [reference.name]) == 0 {
                    try db.execute(sql: "DELETE FROM sweeps WHERE name = ?", arguments: [reference.name])
                }
            }
            return removed
        }
    }

    /// Every job some invocation's trials use.
    public func referencedJobs() throws -> Set<JobID> {
        try pool.read { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT job_id FROM trial_jobs")) }
    }

    /// Deletes the records of jobs no trial uses (their attempts, metrics and edges go with them), so a later sweep
    /// never counts as done a job whose directory `gc` removed. Returns how many.
    @discardableResult
    public func deleteUnreferencedJobs(keeping referenced: Set<JobID>) throws -> Int {
        try pool.write { db in
            let all = try String.fetchAll(db, sql: "SELECT id FROM jobs WHERE id NOT IN (SELECT job_id FROM trial_jobs)")
            let doomed = all.filter { !referenced.contains($0) }
            for chunk in stride(from: 0, to: doomed.count, by: 500).map({ Array(doomed[$0..<min($0 + 500, doomed.count)]) }) {
                try db.execute(sql: "DELETE FROM jobs WHERE id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))", arguments: StatementArguments(chunk))
            }
            return doomed.count
        }
    }
}
