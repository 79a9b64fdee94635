import Foundation

/// Records Slurm jobs that ended while no `xexp sweep` was watching them (after `--detach`, or after Ctrl-C left them
/// running), for `xexp status` and `xexp cancel`. Results go through the same `SlurmOutcome.decide` and
/// `Store.markFinished` as in a watched sweep, so tables and diffs do not depend on who ingested them. Retries are
/// not run here: `xexp sweep SPEC --backend slurm` runs failed jobs again.
public enum SlurmIngest {
    public struct Report: Sendable, Equatable {
        public var recorded = 0
        public var blocked = 0
        /// Jobs still queued or running afterwards.
        public var live = 0
    }

    /// Ingests every finished Slurm job of the store (or of one invocation). Returns nil when another xexp process
    /// holds the store's sweep lock: that process is watching, and records them itself.
    public static func ingestFinished(store: Store, invocation: Int64? = nil, client: SlurmClient = SlurmClient(),
                                      lagTolerance: Double = 120) throws -> Report? {
        guard !(try store.liveSlurmJobs(invocation: invocation)).isEmpty else { return Report() }
        guard let lock = try? SweepLock(store: store, purpose: "recording finished Slurm jobs") else { return nil }
        defer { _ = lock }
        return try ingest(store: store, invocation: invocation, client: client, lagTolerance: lagTolerance)
    }

    /// `xexp cancel`: scancels the live Slurm jobs of an invocation and, unless a watching xexp records them itself,
    /// records them as interrupted. Returns how many were cancelled, and whether this process recorded them.
    public static func cancel(store: Store, invocation: Int64, client: SlurmClient = SlurmClient()) throws -> (cancelled: Int, recorded: Bool) {
        let live = try store.liveSlurmJobs(invocation: invocation)
        guard !live.isEmpty else { return (0, true) }
        try client.cancel(live.map(\.slurmID))
        guard let lock = try? SweepLock(store: store, purpose: "cancelling Slurm jobs") else { return (live.count, false) }
        defer { _ = lock }
        // Let Slurm settle so a job that completed just before the scancel is recorded done, not interrupted.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let states = (try? client.states(of: live.map(\.slurmID))) ?? [:]
            if live.allSatisfy({ states[$0.slurmID].map { SlurmPhase(state: $0.state, source: $0.source) != .active } ?? true }) { break }
            Thread.sleep(forTimeInterval: 0.3)
        }
        _ = try ingest(store: store, invocation: invocation, client: client, lagTolerance: 0)
        for job in try store.liveSlurmJobs(invocation: invocation) {
            try store.markFinished(job.job, outcome: JobOutcome(status: .interrupted, error: "cancelled with xexp cancel (Slurm job \(job.slurmID))"))
        }
        return (live.count, true)
    }

    /// The caller holds the sweep lock.
    static func ingest(store: Store, invocation: Int64?, client: SlurmClient, lagTolerance: Double) throws -> Report {
        var live = try store.liveSlurmJobs(invocation: invocation)
        let reports = try client.states(of: live.map(\.slurmID))
        let submittedAt = try store.startTimes(of: live.map(\.job))
        var report = Report()
        let now = Date().timeIntervalSince1970
        // Upstream before downstream: a job waits while an upstream job is still live (its failure blocks it).
        var progress = true
        while progress {
            progress = false
            let liveIDs = Set(live.map(\.job))
            for job in live {
                let upstream = try store.upstreamJobs(of: job.job)
                if upstream.contains(where: liveIDs.contains) { continue }
                let slurm = reports[job.slurmID]
                if let slurm, slurm.state != job.state {
                    try store.recordSlurmState(job.job, slurmID: job.slurmID, state: slurm.state, node: slurm.node)
                }
                let waited = slurm == nil ? now - (submittedAt[job.job] ?? now) : lagTolerance
                guard let outcome = SlurmOutcome.decide(directory: JobDirectory(runs: store.runsDirectory, job: job.job), slurmID: job.slurmID,
                                                        report: slurm, waited: waited, lagTolerance: lagTolerance, stderrOffset: 0) else { continue }
                try store.markFinished(job.job, outcome: outcome)
                report.recorded += 1
                if outcome.status.isFailure { report.blocked += try block(downstreamOf: job.job, store: store, client: client) }
                progress = true
            }
            live = try store.liveSlurmJobs(invocation: invocation)
        }
        report.live = live.count
        return report
    }

    /// Cancels and blocks every job downstream of a failed one that is not done.
    static func block(downstreamOf failed: JobID, store: Store, client: SlurmClient) throws -> Int {
        var seen = Set<JobID>()
        var frontier = try store.downstreamJobs(of: failed)
        while let next = frontier.popLast() {
            guard seen.insert(next).inserted else { continue }
            frontier += try store.downstreamJobs(of: next)
        }
        let info = try store.slurmJobInfo(Array(seen))
        let blocked = seen.filter { info[$0].map { $0.status != .done && $0.status != .blocked } ?? false }.sorted()
        try client.cancel(blocked.compactMap { info[$0]?.status == .running ? info[$0]?.slurmID : nil })
        try store.markSlurmBlocked(blocked, because: failed)
        return blocked.count
    }
}
