import Foundation
import GRDB

/// A job of an invocation as the store recorded it, for publishing to a job cache.
public struct StoredJob: Sendable {
    public var id: JobID
    public var stage: String
    public var status: JobStatus
    public var command: [String]
    public var env: [String: String]
    public var upstream: [JobID]
}

extension Store {
    /// The spec an invocation ran (its text and path as given then).
    public func specOf(_ reference: SweepReference) throws -> (text: String, path: String) {
        let (invocation, _) = try resolve(reference)
        return try pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT spec_text, spec_path FROM invocations WHERE id = ?", arguments: [invocation])!
            return (row["spec_text"], row["spec_path"])
        }
    }

    /// Every job of an invocation with its recorded command, environment and upstream jobs.
    public func jobs(of reference: SweepReference) throws -> [StoredJob] {
        let (invocation, _) = try resolve(reference)
        return try pool.read { db in
            var upstream: [JobID: [JobID]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT e.job_id, e.upstream_id FROM job_edges e WHERE e.job_id IN
                  (SELECT tj.job_id FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE t.invocation_id = ?)
                ORDER BY e.upstream_id
                """, arguments: [invocation]) {
                upstream[row["job_id"], default: []].append(row["upstream_id"])
            }
            return try Row.fetchAll(db, sql: """
                SELECT DISTINCT j.id, j.stage, j.status, j.command, j.env FROM jobs j WHERE j.id IN
                  (SELECT tj.job_id FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE t.invocation_id = ?)
                ORDER BY j.id
                """, arguments: [invocation]).map { row in
                var command: [String] = []
                if case .array(let items)? = try? JSONParser.parse(row["command"] as String) {
                    command = items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
                }
                var env: [String: String] = [:]
                if case .object(let members)? = try? JSONParser.parse(row["env"] as String) {
                    for member in members { if case .string(let s) = member.value { env[member.key] = s } }
                }
                let id: JobID = row["id"]
                return StoredJob(id: id, stage: row["stage"], status: JobStatus(rawValue: row["status"]) ?? .pending,
                                 command: command, env: env, upstream: upstream[id] ?? [])
            }
        }
    }
}
