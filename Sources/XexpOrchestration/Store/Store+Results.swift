import Foundation
import GRDB

/// A sweep reference as users type it: `NAME` (latest invocation) or `NAME@K` (K-th invocation, 1-based;
/// `NAME@-1` is the one before the latest, `NAME@-2` the one before that).
public struct SweepReference: Sendable, CustomStringConvertible {
    public var name: String
    public var index: Int?

    public init(parsing text: String) throws {
        guard let at = text.lastIndex(of: "@") else { name = text; index = nil; return }
        name = String(text[..<at])
        guard let k = Int(text[text.index(after: at)...]), k != 0 else {
            throw StoreError("\"\(text)\" is not a sweep reference; write NAME, NAME@K (K-th run, from 1) or NAME@-K (K runs before the latest)")
        }
        index = k
    }

    public var description: String { index.map { "\(name)@\($0)" } ?? name }
}

/// One trial's results within an invocation.
public struct TrialResult: Sendable {
    public var position: Int
    public var parameters: Parameters
    public var seed: Int
    /// `STAGE.METRIC` → the last value the job of that stage reported.
    public var metrics: [String: Double]
    /// Stage → job status, for trials whose jobs did not all finish.
    public var statuses: [String: JobStatus]
}

/// Everything the reports need about one invocation of a sweep.
public struct InvocationResults: Sendable {
    public var sweep: String
    public var seq: Int
    public var invocationID: Int64
    public var trials: [TrialResult]
    /// Stage names in spec order; metric columns follow it.
    public var stageOrder: [String]
    /// `STAGE.METRIC` names in display order.
    public var metricNames: [String]
    /// True when the spec had no `stages` (the built-in pipeline ran it).
    public var usesBuiltinPipeline: Bool = false
    /// The spec as this invocation ran it (overrides applied).
    public var specText: String = ""
}

/// A job that did not succeed, for `xexp status SWEEP`.
public struct JobProblem: Sendable {
    public var id: JobID
    public var stage: String
    public var status: JobStatus
    public var attempts: Int
    public var error: String?
    /// When its latest attempt started (running jobs: for the elapsed time).
    public var startedAt: Double? = nil
    /// The parameters of one trial of this invocation that uses it.
    public var parameters: Parameters? = nil
}

/// Job counts by state for one sweep.
public struct SweepOverview: Sendable {
    public var name: String
    public var invocations: Int
    public var lastStarted: Double
    public var lastEnded: Double?
    public var counts: [JobStatus: Int]
    /// Done jobs whose result was served from a job cache.
    public var cached = 0
    public var total: Int { counts.values.reduce(0, +) }
}

extension Store {
    /// Resolves `NAME` / `NAME@K` to an invocation id and sequence number.
    public func resolve(_ reference: SweepReference) throws -> (id: Int64, seq: Int) {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, seq FROM invocations WHERE sweep = ? ORDER BY seq", arguments: [reference.name])
            guard !rows.isEmpty else {
                let names = try String.fetchAll(db, sql: "SELECT name FROM sweeps ORDER BY name")
                var message = "no sweep named \"\(reference.name)\" in \(url.path)"
                if let guess = suggestion(for: reference.name, among: names) { message += "; did you mean '\(guess)'?" }
                else if names.isEmpty { message += " (the store is empty; run `xexp sweep SPEC` first)" }
                else { message += "; sweeps: \(names.joined(separator: ", "))" }
                throw StoreError(message)
            }
            let position: Int
            switch reference.index {
            case nil: position = rows.count - 1
            case let k? where k > 0: position = k - 1
            case let k?: position = rows.count - 1 + k
            }
            guard rows.indices.contains(position) else {
                throw StoreError("sweep \"\(reference.name)\" has \(rows.count) run(s); \(reference) does not exist (use 1…\(rows.count), or -1…-\(rows.count - 1) to count back from the latest)")
            }
            return (rows[position]["id"], rows[position]["seq"])
        }
    }

    /// The trials of an invocation with their jobs' current results.
    public func results(of reference: SweepReference) throws -> InvocationResults {
        let (invocation, seq) = try resolve(reference)
        return try pool.read { db in
            let specText = try String.fetchOne(db, sql: "SELECT spec_text FROM invocations WHERE id = ?", arguments: [invocation]) ?? ""
            var stageOrder: [String] = []
            let spec = try? JSONParser.parse(specText)
            if case .array(let stages)? = spec?["stages"] {
                stageOrder = stages.compactMap { if case .string(let s)? = $0["name"] { return s } else { return nil } }
            }
            var trials: [Int64: TrialResult] = [:]
            var order: [Int64] = []
            for row in try Row.fetchAll(db, sql: "SELECT id, position, params, seed FROM trials WHERE invocation_id = ? ORDER BY position", arguments: [invocation]) {
                let params = Parameters(json: (try? JSONParser.parse(row["params"] as String)) ?? .object([]))
                trials[row["id"]] = TrialResult(position: row["position"], parameters: params, seed: row["seed"], metrics: [:], statuses: [:])
                order.append(row["id"])
            }
            var jobsOfTrial: [Int64: [(stage: String, job: String)]] = [:]
            var metricOrder: [String: [String]] = [:]  // stage → metric names in first-seen order
            var jobMetrics: [String: [String: Double]] = [:]
            // Each job as this invocation used it: its latest attempt started by this invocation or an earlier one (a
            // later `--rerun` adds attempts without changing what this invocation reported), with that attempt's status.
            var usedAttempt: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT tj.trial_id, tj.stage, tj.job_id, j.status, j.attempts,
                  (SELECT MAX(a.attempt) FROM attempts a WHERE a.job_id = tj.job_id AND COALESCE(a.invocation_id, 0) <= ?) AS used,
                  (SELECT a.status FROM attempts a WHERE a.job_id = tj.job_id AND COALESCE(a.invocation_id, 0) <= ?
                     ORDER BY a.attempt DESC LIMIT 1) AS used_status
                FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id JOIN jobs j ON j.id = tj.job_id WHERE t.invocation_id = ?
                """, arguments: [invocation, invocation, invocation]) {
                let trialID: Int64 = row["trial_id"]
                let stage: String = row["stage"], job: String = row["job_id"]
                jobsOfTrial[trialID, default: []].append((stage, job))
                let latest: Int = row["attempts"], used: Int? = row["used"]
                usedAttempt[job] = used ?? latest
                // An earlier attempt's own status; the latest attempt's is the job's (which also knows pending/blocked).
                let status: String = (used != nil && used! < latest) ? (row["used_status"] ?? row["status"]) : row["status"]
                trials[trialID]?.statuses[stage] = JobStatus(rawValue: status)
                if !stageOrder.contains(stage) { stageOrder.append(stage) }
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT m.job_id, m.attempt, j.stage, m.name, m.value FROM metrics m JOIN jobs j ON j.id = m.job_id
                WHERE m.job_id IN (SELECT tj.job_id FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE t.invocation_id = ?)
                ORDER BY m.job_id, m.attempt, m.seq
                """, arguments: [invocation]) {
                let job: String = row["job_id"], attempt: Int = row["attempt"]
                guard usedAttempt[job] == attempt else { continue }
                let stage: String = row["stage"], name: String = row["name"]
                jobMetrics[job, default: [:]][name] = (row["value"] as Double?) ?? .nan
                if !(metricOrder[stage]?.contains(name) ?? false) { metricOrder[stage, default: []].append(name) }
            }
            for (trialID, jobs) in jobsOfTrial {
                for (stage, job) in jobs {
                    for (name, value) in jobMetrics[job] ?? [:] { trials[trialID]?.metrics["\(stage).\(name)"] = value }
                }
            }
            let metricNames = stageOrder.flatMap { stage in (metricOrder[stage] ?? []).map { "\(stage).\($0)" } }
            return InvocationResults(sweep: reference.name, seq: seq, invocationID: invocation,
                                     trials: order.compactMap { trials[$0] }, stageOrder: stageOrder, metricNames: metricNames,
                                     usesBuiltinPipeline: spec != nil && spec?["stages"] == nil, specText: specText)
        }
    }

    /// Every sweep with its job counts by state (jobs of its latest invocation).
    public func overview() throws -> [SweepOverview] {
        try pool.read { db in
            var result: [SweepOverview] = []
            for row in try Row.fetchAll(db, sql: """
                SELECT i.sweep, i.id, COUNT(*) OVER (PARTITION BY i.sweep) AS n, i.started_at, i.ended_at
                FROM invocations i ORDER BY i.sweep, i.seq
                """) {
                let name: String = row["sweep"]
                let overview = SweepOverview(name: name, invocations: row["n"], lastStarted: row["started_at"], lastEnded: row["ended_at"],
                                             counts: try jobCounts(db, invocation: row["id"]))
                if let i = result.firstIndex(where: { $0.name == name }) { result[i] = overview } else { result.append(overview) }
            }
            return result
        }
    }

    func jobCounts(_ db: Database, invocation: Int64) throws -> [JobStatus: Int] {
        var counts: [JobStatus: Int] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT j.status, COUNT(*) AS n FROM jobs j WHERE j.id IN
              (SELECT tj.job_id FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE t.invocation_id = ?)
            GROUP BY j.status
            """, arguments: [invocation]) {
            if let status = JobStatus(rawValue: row["status"]) { counts[status] = row["n"] }
        }
        return counts
    }

    /// The jobs of a sweep's invocation that are not done, failures first.
    public func problems(of reference: SweepReference) throws -> (overview: SweepOverview, jobs: [JobProblem]) {
        let (invocation, _) = try resolve(reference)
        return try pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT started_at, ended_at, (SELECT COUNT(*) FROM invocations WHERE sweep = ?) AS n FROM invocations WHERE id = ?",
                                       arguments: [reference.name, invocation])!
            var overview = SweepOverview(name: reference.name, invocations: row["n"], lastStarted: row["started_at"], lastEnded: row["ended_at"],
                                         counts: try jobCounts(db, invocation: invocation))
            overview.cached = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM jobs j WHERE j.status = 'done' AND j.origin IS NOT NULL AND j.id IN
                  (SELECT tj.job_id FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE t.invocation_id = ?)
                """, arguments: [invocation]) ?? 0
            let jobs = try Row.fetchAll(db, sql: """
                SELECT id, stage, status, attempts, error, started_at,
                  (SELECT t.params FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE tj.job_id = jobs.id AND t.invocation_id = ?
                   ORDER BY t.position LIMIT 1) AS params
                FROM jobs WHERE status != 'done' AND id IN
                  (SELECT tj.job_id FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE t.invocation_id = ?)
                ORDER BY CASE status WHEN 'failed' THEN 0 WHEN 'timeout' THEN 1 WHEN 'interrupted' THEN 2 WHEN 'running' THEN 3
                  WHEN 'blocked' THEN 4 ELSE 5 END, stage, id
                """, arguments: [invocation, invocation]).map {
                JobProblem(id: $0["id"], stage: $0["stage"], status: JobStatus(rawValue: $0["status"]) ?? .pending, attempts: $0["attempts"], error: $0["error"],
                           startedAt: $0["started_at"],
                           parameters: ($0["params"] as String?).flatMap { try? JSONParser.parse($0) }.map { Parameters(json: $0) })
            }
            return (overview, jobs)
        }
    }

    /// Per stage of an invocation's jobs: how many have a measured local attempt, the largest peak RSS, and the CPU
    /// seconds they took (each job's latest attempt that recorded its resources).
    public func resourcesByStage(of reference: SweepReference) throws -> [StageResources] {
        let (invocation, _) = try resolve(reference)
        return try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT j.stage, COUNT(*) AS jobs, MAX(a.peak_rss_bytes) AS rss, SUM(a.cpu_seconds) AS cpu FROM jobs j
                JOIN attempts a ON a.job_id = j.id AND a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.job_id = j.id AND b.peak_rss_bytes IS NOT NULL)
                WHERE j.id IN (SELECT tj.job_id FROM trial_jobs tj JOIN trials t ON t.id = tj.trial_id WHERE t.invocation_id = ?)
                GROUP BY j.stage ORDER BY MIN(j.created_at), j.stage
                """, arguments: [invocation]).map {
                StageResources(stage: $0["stage"], jobs: $0["jobs"], maxPeakRSSBytes: $0["rss"], cpuSeconds: $0["cpu"])
            }
        }
    }

    /// Metric history of a job's latest attempt (every line, in order), for plots of training curves and cache entries.
    public func metricHistory(job: JobID) throws -> [MetricPoint] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT seq, name, value, step FROM metrics WHERE job_id = ? AND attempt = (SELECT MAX(attempt) FROM attempts WHERE job_id = ?)
                ORDER BY seq
                """, arguments: [job, job]).map {
                MetricPoint(seq: $0["seq"], name: $0["name"], value: ($0["value"] as Double?) ?? .nan, step: $0["step"])
            }
        }
    }
}

/// What one stage's jobs used, from their attempts' `wait4` figures.
public struct StageResources: Sendable, Equatable {
    public var stage: String
    public var jobs: Int
    public var maxPeakRSSBytes: Int64
    public var cpuSeconds: Double
}
