import Foundation
import GRDB

/// One `xexp sweep` run, for `xexp log`.
public struct InvocationLogEntry: Sendable {
    public var sweep: String
    public var seq: Int
    public var startedAt: Double
    /// Nil (with `outcome`) while the sweep runs, or when its process died without recording an end.
    public var endedAt: Double?
    public var outcome: String?
    /// Current states of the invocation's jobs (a job shared with a later run shows its latest state).
    public var counts: [JobStatus: Int]
    /// Done jobs whose result was served from a job cache.
    public var cached: Int
    public var specHash: String
    public var gitCommit: String?
    public var host: String
    public var toolkitVersion: String
    public var options: String?

    public var run: String { "\(sweep)@\(seq)" }
    public var total: Int { counts.values.reduce(0, +) }
}

/// Everything the store knows about one job, for `xexp show`.
public struct JobProvenance: Sendable {
    public struct Neighbour: Sendable, Equatable {
        public var id: JobID
        public var stage: String
    }
    /// A trial that uses the job: its sweep, the invocation (`run`, "sweep@seq"), position and parameters.
    public struct Use: Sendable {
        public var sweep: String
        public var run: String
        public var position: Int
        public var parameters: String
    }
    public struct Attempt: Sendable {
        public var number: Int
        /// `sweep@seq` of the invocation that ran it, nil when unknown.
        public var run: String?
        public var startedAt: Double
        public var endedAt: Double?
        public var status: String
        public var exitCode: Int?
        public var signal: Int?
        public var host: String?
        public var threads: Int?
        public var numerics: String?
        public var toolkitVersion: String?
        public var build: String?
        public var origin: String?
        public var error: String?
        public var slurmJobID: String?
        /// Local attempts: peak RSS (bytes) and CPU seconds of the job's process.
        public var peakRSSBytes: Int64? = nil
        public var cpuSeconds: Double? = nil
    }
    public struct File: Sendable, Equatable {
        public var path: String
        public var size: Int64
    }

    public var id: JobID
    public var stage: String
    public var status: JobStatus
    public var command: [String]
    public var env: [(key: String, value: String)]
    public var error: String?
    public var origin: String?
    public var upstream: [Neighbour]
    public var downstream: [Neighbour]
    public var usedBy: [Use]
    public var attempts: [Attempt]
    /// The last value of each metric, in the order the job first reported them.
    public var metrics: [(name: String, value: Double)]
    public var directory: URL
    /// Files under the job's directory (relative paths, sorted), empty when it has none.
    public var files: [File]
}

extension Store {
    /// Every invocation, oldest first: of one sweep (`NAME`, or `NAME@K` for one run), or of every sweep.
    public func invocationLog(sweep reference: SweepReference?) throws -> [InvocationLogEntry] {
        var only: Int64?
        if let reference {
            let resolved = try resolve(reference)
            if reference.index != nil { only = resolved.id }
        }
        return try pool.read { db in
            var sql = """
                SELECT id, sweep, seq, started_at, ended_at, outcome, spec_hash, git_commit, host, toolkit_version, options
                FROM invocations
                """
            var arguments: StatementArguments = []
            if let only { sql += " WHERE id = ?"; arguments = [only] }
            else if let reference { sql += " WHERE sweep = ?"; arguments = [reference.name] }
            sql += " ORDER BY started_at, id"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let id: Int64 = row["id"]
                let cached = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM jobs j WHERE j.status = 'done' AND j.origin IS NOT NULL AND j.id IN
                      (SELECT tj.job_id FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE t.invocation_id = ?)
                    """, arguments: [id]) ?? 0
                return InvocationLogEntry(sweep: row["sweep"], seq: row["seq"], startedAt: row["started_at"], endedAt: row["ended_at"],
                                          outcome: row["outcome"], counts: try jobCounts(db, invocation: id), cached: cached,
                                          specHash: String((row["spec_hash"] as String).prefix(12)), gitCommit: row["git_commit"],
                                          host: row["host"], toolkitVersion: row["toolkit_version"], options: row["options"])
            }
        }
    }

    /// The one job whose id starts with `text` (at least 6 hex digits, any case); otherwise an error naming the
    /// candidates.
    public func resolveJob(_ text: String) throws -> JobID {
        let prefix = text.lowercased()
        guard prefix.count >= 6 else {
            throw StoreError("job id \"\(text)\" is too short; give at least 6 of its hex digits (`xexp status SWEEP` and `xexp graph SWEEP` show job ids)")
        }
        guard prefix.allSatisfy(\.isHexDigit) else {
            throw StoreError("\"\(text)\" is not a job id: job ids are hex digits (`xexp status SWEEP` and `xexp graph SWEEP` show them)")
        }
        return try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, stage FROM jobs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 21",
                                        arguments: [prefix.count, prefix])
            switch rows.count {
            case 1: return rows[0]["id"]
            case 0: throw StoreError("no job \(prefix) in \(url.path); check the id (`xexp status SWEEP` lists a sweep's unfinished jobs, `xexp graph SWEEP` all of them), or pass --db")
            default:
                let list = rows.prefix(20).map { "  \($0["id"] as String)  \($0["stage"] as String)" }.joined(separator: "\n")
                throw StoreError("\(rows.count > 20 ? "more than 20" : String(rows.count)) jobs start with \(prefix); give more digits:\n\(list)")
            }
        }
    }

    /// A job's provenance: what it runs, what it depends on, who uses it, every attempt, its results and files.
    public func provenance(of id: JobID) throws -> JobProvenance {
        let directory = runsDirectory.appendingPathComponent(id)
        var provenance: JobProvenance = try pool.read { db in
            guard let job = try Row.fetchOne(db, sql: "SELECT stage, status, command, env, error, origin FROM jobs WHERE id = ?", arguments: [id]) else {
                throw StoreError("no job \(id) in \(url.path)")
            }
            var command: [String] = []
            if case .array(let items)? = try? JSONParser.parse(job["command"] as String) {
                command = items.map { if case .string(let s) = $0 { return s } else { return $0.jsonText } }
            }
            var env: [(key: String, value: String)] = []
            if case .object(let members)? = try? JSONParser.parse(job["env"] as String) {
                env = members.map { ($0.key, { if case .string(let s) = $0 { return s } else { return $0.jsonText } }($0.value)) }
            }
            let neighbour = { (row: Row) in JobProvenance.Neighbour(id: row["id"], stage: row["stage"]) }
            let upstream = try Row.fetchAll(db, sql: """
                SELECT j.id, j.stage FROM job_edges e JOIN jobs j ON j.id = e.upstream_id WHERE e.job_id = ? ORDER BY j.stage, j.id
                """, arguments: [id]).map(neighbour)
            let downstream = try Row.fetchAll(db, sql: """
                SELECT j.id, j.stage FROM job_edges e JOIN jobs j ON j.id = e.job_id WHERE e.upstream_id = ? ORDER BY j.stage, j.id
                """, arguments: [id]).map(neighbour)
            let usedBy = try Row.fetchAll(db, sql: """
                SELECT i.sweep, i.seq, t.position, t.params FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id
                JOIN invocations i ON i.id = t.invocation_id WHERE tj.job_id = ? ORDER BY i.started_at, i.id, t.position
                """, arguments: [id]).map {
                let sweep: String = $0["sweep"]
                return JobProvenance.Use(sweep: sweep, run: "\(sweep)@\($0["seq"] as Int)", position: $0["position"], parameters: $0["params"])
            }
            let attempts = try Row.fetchAll(db, sql: """
                SELECT a.*, i.sweep AS inv_sweep, i.seq AS inv_seq FROM attempts a LEFT JOIN invocations i ON i.id = a.invocation_id
                WHERE a.job_id = ? ORDER BY a.attempt
                """, arguments: [id]).map { row in
                let sweep: String? = row["inv_sweep"], seq: Int? = row["inv_seq"]
                return JobProvenance.Attempt(number: row["attempt"], run: sweep.flatMap { s in seq.map { "\(s)@\($0)" } },
                                             startedAt: row["started_at"], endedAt: row["ended_at"], status: row["status"],
                                             exitCode: row["exit_code"], signal: row["signal"], host: row["host"], threads: row["threads"],
                                             numerics: row["numerics"], toolkitVersion: row["toolkit_version"], build: row["build"],
                                             origin: row["origin"], error: row["error"], slurmJobID: row["slurm_job_id"],
                                             peakRSSBytes: row["peak_rss_bytes"], cpuSeconds: row["cpu_seconds"])
            }
            var metrics: [(name: String, value: Double)] = []
            var position: [String: Int] = [:]
            // The job's result: its latest attempt's metrics (earlier attempts keep theirs, for the invocations that used them).
            for row in try Row.fetchAll(db, sql: """
                SELECT name, value FROM metrics WHERE job_id = ? AND attempt = (SELECT MAX(attempt) FROM attempts WHERE job_id = ?) ORDER BY seq
                """, arguments: [id, id]) {
                let name: String = row["name"], value = (row["value"] as Double?) ?? .nan
                if let i = position[name] { metrics[i].value = value } else { position[name] = metrics.count; metrics.append((name, value)) }
            }
            return JobProvenance(id: id, stage: job["stage"], status: JobStatus(rawValue: job["status"]) ?? .pending, command: command, env: env,
                                 error: job["error"], origin: job["origin"], upstream: upstream, downstream: downstream, usedBy: usedBy,
                                 attempts: attempts, metrics: metrics, directory: directory, files: [])
        }
        provenance.files = Store.files(under: directory)
        return provenance
    }

    /// Regular files under `directory`, recursively, with their sizes (symbolic links are listed, not followed).
    static func files(under directory: URL) -> [JobProvenance.File] {
        let base = directory.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey, .isDirectoryKey]) else { return [] }
        var files: [JobProvenance.File] = []
        for case let url as URL in walker {
            let values = try? url.resourceValues(forKeys: [.fileSizeKey, .isDirectoryKey])
            if values?.isDirectory == true { continue }
            var path = url.standardizedFileURL.path
            if path.hasPrefix(base + "/") { path.removeFirst(base.count + 1) }
            files.append(JobProvenance.File(path: path, size: Int64(values?.fileSize ?? 0)))
        }
        return files.sorted { $0.path < $1.path }
    }

    /// How many trials of an invocation use each of its jobs (a job used by several is shared).
    public func usage(of reference: SweepReference) throws -> [JobID: Int] {
        let (invocation, _) = try resolve(reference)
        return try pool.read { db in
            var result: [JobID: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT tj.job_id, COUNT(DISTINCT tj.trial_id) AS n FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id
                WHERE t.invocation_id = ? GROUP BY tj.job_id
                """, arguments: [invocation]) {
                result[row["job_id"]] = row["n"]
            }
            return result
        }
    }
}
