import Foundation

/// Counts at the end of a Slurm run: the scheduler's, plus what was left on the cluster.
public struct SlurmSummary: Sendable, Equatable {
    public var scheduler = SchedulerSummary()
    /// Jobs still queued or running on Slurm when xexp returned (detached, or interrupted and left running).
    public var leftRunning = 0
    /// `sbatch` calls that succeeded in this run.
    public var submitted = 0
    /// Jobs found already on Slurm (from the store, or in the queue under their job name) and watched, not resubmitted.
    public var reattached = 0
}

/// Runs a job graph on Slurm: one `sbatch` per job, each submitted as soon as its upstream jobs are submitted, with
/// `--dependency=afterok:` on their Slurm ids, so the controller holds the whole graph (up to `maxQueued` jobs) and
/// starts each job the moment its inputs exist, whether or not xexp is watching.
///
/// One thread runs the loop: submit a bounded batch, poll squeue/sacct (with backoff; a new exit-status file in a job
/// directory triggers a poll at once), ingest what finished in graph order. A failed job is retried by resubmitting
/// it (its pending downstream jobs are cancelled and resubmitted against the new Slurm id) or its downstream jobs are
/// cancelled with `scancel` and marked blocked — `afterok` alone would leave them pending forever.
public final class SlurmScheduler: @unchecked Sendable {
    private let graph: JobGraph
    private let store: Store
    private let invocation: Int64?
    private let workingDirectory: URL
    private let options: SlurmOptions
    private let stageResources: [String: SlurmResources]
    private let environmentPath: String?
    private let client: SlurmClient
    private let observer: @Sendable (SchedulerEvent) -> Void

    private let toRun: Set<JobID>
    private let priority: [JobID: Double]
    private let downstream: [JobID: [JobID]]
    private var waiting: Set<JobID>
    private var tracked: [JobID: Tracked] = [:]
    private var done: Set<JobID> = []
    private var attemptsThisRun: [JobID: Int] = [:]
    private var summary = SlurmSummary()
    private var stopping = false
    private var submitPauseUntil = Date.distantPast

    private let stopRequest = Locked<(reason: String, cancel: Bool, bySignal: Bool)?>(nil)
    private let wake = DispatchSemaphore(value: 0)

    private struct Tracked {
        var slurmID: String
        var attempt: Int
        var stderrOffset: UInt64
        var state: String
        var announced = false
        /// When the job reached a state where its outcome waits on a file or on accounting (for lag tolerance).
        var waitingSince: Date?
    }

    /// - Parameters:
    ///   - toRun: the jobs to run; every other job of the graph must already be done.
    ///   - live: jobs of `toRun` already on Slurm (from the store): watched, never submitted again.
    public init(graph: JobGraph, toRun: Set<JobID>, live: [LiveSlurmJob], store: Store, invocation: Int64?,
                workingDirectory: URL, options: SlurmOptions, stageResources: [String: SlurmResources] = [:],
                environment: [String: String] = ProcessInfo.processInfo.environment, client: SlurmClient = SlurmClient(),
                observer: @escaping @Sendable (SchedulerEvent) -> Void = { _ in }) {
        self.graph = graph
        self.store = store
        self.invocation = invocation
        self.workingDirectory = workingDirectory
        self.options = options
        self.stageResources = stageResources
        self.environmentPath = environment["PATH"]
        self.client = client
        self.observer = observer
        self.toRun = toRun
        self.priority = graph.remainingCost
        self.downstream = graph.downstream
        waiting = toRun
        for job in live where toRun.contains(job.job) {
            waiting.remove(job.job)
            tracked[job.job] = Tracked(slurmID: job.slurmID, attempt: 0, stderrOffset: 0, state: job.state ?? "PENDING")
            summary.reattached += 1
        }
    }

    /// Runs until every job has finished, failed or been blocked; with `detach`, until every job is submitted; or
    /// until `stop`. Blocks the caller.
    public func run() -> SlurmSummary {
        adoptQueuedJobs()
        var interval = options.pollInterval.lowerBound
        var nextPoll = Date()
        while true {
            if let request = stopRequest.get() {
                stopNow(reason: request.reason, cancel: request.cancel, bySignal: request.bySignal)
                break
            }
            if Date() >= nextPoll || exitFilesAppeared() {
                let changed = poll()
                interval = changed ? options.pollInterval.lowerBound : min(interval * 1.5, options.pollInterval.upperBound)
                nextPoll = Date().addingTimeInterval(interval)
            }
            let submitted = submitBatch()
            let candidates = !submittable().isEmpty
            if options.detach && !candidates { break }
            if tracked.isEmpty && !candidates { break }
            if submitted >= options.submitBatch { continue }  // more to submit: poll, then the next batch
            _ = wake.wait(timeout: .now() + min(0.25, max(0.01, nextPoll.timeIntervalSinceNow)))
        }
        if !stopping {
            // Left waiting with nothing tracked: an upstream job was cancelled outside xexp.
            summary.scheduler.interrupted += waiting.count
            try? store.markInterrupted(Array(waiting))
            summary.leftRunning = tracked.count
        }
        return summary
    }

    /// Stops submitting; with `cancelJobs`, `scancel`s the sweep's Slurm jobs, else leaves them running (a later
    /// `xexp sweep --backend slurm` or `xexp status` picks up their results). Thread-safe.
    public func stop(reason: String, cancelJobs: Bool) {
        stopRequest.set((reason, cancelJobs, true))
        wake.signal()
    }

    /// The store refused a write: stop as a failure (exit 1), not as an interrupt.
    private func storeFailed(_ error: Error, cancelJobs: Bool) {
        if summary.scheduler.storeFailure == nil { summary.scheduler.storeFailure = "\(error)" }
        stopRequest.set(("cannot write to the store: \(error)", cancelJobs, false))
        wake.signal()
    }

    // MARK: - Submitting

    /// Waiting jobs whose upstream jobs are all done or submitted, longest remaining chain first.
    private func submittable() -> [JobID] {
        waiting.filter { id in
            graph[id]!.upstream.allSatisfy { !toRun.contains($0) || done.contains($0) || tracked[$0] != nil }
        }.sorted { (priority[$0] ?? 0, $1) > (priority[$1] ?? 0, $0) }
    }

    private func submitBatch() -> Int {
        var count = 0
        while count < options.submitBatch, Date() >= submitPauseUntil {
            let candidates = submittable()
            if candidates.isEmpty { break }
            for id in candidates {
                guard count < options.submitBatch, options.detach || tracked.count < options.maxQueued, Date() >= submitPauseUntil,
                      stopRequest.get() == nil else { return count }
                submit(graph[id]!)
                count += 1
            }
        }
        return count
    }

    private func submit(_ job: Job) {
        let directory = JobDirectory(runs: store.runsDirectory, job: job.id)
        let resources = options.resources.overridden(by: stageResources[job.stage])
        let fm = FileManager.default
        var stderrOffset: UInt64 = 0
        let slurmID: String
        do {
            try fm.createDirectory(at: directory.url, withIntermediateDirectories: true)
            let (argv, env) = job.resolved(runsDirectory: store.runsDirectory)
            try job.manifest(argv: argv, env: env, workingDirectory: workingDirectory).write(to: directory.manifest, atomically: true, encoding: .utf8)
            try BatchScript.render(job: job, directory: directory, runsDirectory: store.runsDirectory, workingDirectory: workingDirectory,
                                   resources: resources, environmentPath: environmentPath).write(to: directory.script, atomically: true, encoding: .utf8)
            try Data().write(to: directory.metrics)
            try? fm.removeItem(at: directory.exitStatus)
            stderrOffset = (try? fm.attributesOfItem(atPath: directory.stderr.path)[.size] as? UInt64) ?? 0
            let dependencies = job.upstream.compactMap { tracked[$0]?.slurmID }
            slurmID = try client.submit(script: directory.script, dependencies: dependencies, extraArguments: options.sbatchArguments)
        } catch let error as SlurmError where error.isTransient {
            // A busy controller: keep the job waiting and give the controller a few seconds.
            submitPauseUntil = Date().addingTimeInterval(max(2, options.pollInterval.upperBound / 2))
            observer(.stopping(reason: "Slurm is busy (\(error.description)); submitting again in a few seconds"))
            return
        } catch {
            rejected(job, error: error)
            return
        }
        waiting.remove(job.id)
        attemptsThisRun[job.id, default: 0] += 1
        summary.submitted += 1
        let attempt: Int
        do { attempt = try store.markSubmitted(job.id, slurmID: slurmID, invocation: invocation) } catch {
            // A job whose results cannot be recorded must not run.
            try? client.cancel([slurmID])
            storeFailed(error, cancelJobs: true)
            return
        }
        tracked[job.id] = Tracked(slurmID: slurmID, attempt: attempt, stderrOffset: stderrOffset, state: "PENDING")
    }

    /// sbatch refused the job (bad partition, account, limits…). If nothing was ever accepted, every job would be
    /// refused the same way: stop with that one message rather than hundreds.
    private func rejected(_ job: Job, error: Error) {
        waiting.remove(job.id)
        let message = "\(error); check --partition, --account, --time, --mem, --cpus-per-job, --sbatch-arg and the stage's \"slurm\" object"
        let attempt = (try? store.markRunning(job.id, pid: 0, invocation: invocation)) ?? 1
        observer(.started(job.id, stage: job.stage, attempt: attempt))
        let outcome = JobOutcome(status: .failed, error: message)
        try? store.markFinished(job.id, outcome: outcome)
        observer(.finished(job.id, stage: job.stage, outcome: outcome, willRetry: false))
        summary.scheduler.failed += 1
        block(downstreamOf: job.id)
        if summary.submitted == 0 && tracked.isEmpty {
            stopRequest.set(("sbatch rejected the first job; nothing else is submitted", false, false))
        }
    }

    /// Jobs of an earlier run that were submitted but not recorded (xexp died between sbatch and the store write):
    /// found in the queue by job name and script path, and watched instead of submitted twice.
    private func adoptQueuedJobs() {
        guard !waiting.isEmpty, let queued = try? client.queuedJobs(namePrefix: "xexp-") else { return }
        for entry in queued.sorted(by: { (Int($0.id) ?? 0) > (Int($1.id) ?? 0) }) {
            let id = String(entry.name.dropFirst("xexp-".count))
            guard waiting.contains(id), entry.script == JobDirectory(runs: store.runsDirectory, job: id).script.path,
                  // Only live jobs: a finished one may be from an earlier sweep whose files are gone (squeue keeps
                  // finished jobs for MinJobAge); running the job again is safer than trusting it.
                  SlurmPhase(state: entry.state, source: .queue) == .active,
                  let attempt = try? store.markSubmitted(id, slurmID: entry.id, invocation: invocation) else { continue }
            waiting.remove(id)
            attemptsThisRun[id, default: 0] += 1
            tracked[id] = Tracked(slurmID: entry.id, attempt: attempt, stderrOffset: 0, state: entry.state)
            summary.reattached += 1
        }
    }

    // MARK: - Watching

    /// A job that can be running (no tracked upstream) whose exit-status file appeared: poll now rather than later.
    private func exitFilesAppeared() -> Bool {
        for (id, t) in tracked where t.waitingSince == nil && !graph[id]!.upstream.contains(where: { tracked[$0] != nil }) {
            if ExitStatusFile.read(JobDirectory(runs: store.runsDirectory, job: id), slurmID: t.slurmID) != nil { return true }
        }
        return false
    }

    /// Asks Slurm about every tracked job and ingests those that ended, upstream before downstream. Returns whether
    /// anything changed.
    @discardableResult
    private func poll() -> Bool {
        guard !tracked.isEmpty else { return false }
        let reports: [String: SlurmJobReport]
        do { reports = try client.states(of: tracked.values.map(\.slurmID)) } catch {
            return false  // the controller is busy or restarting: ask again later
        }
        var changed = false
        let now = Date()
        for job in graph.jobs {
            guard var t = tracked[job.id] else { continue }
            let report = reports[t.slurmID]
            if let report, report.state != t.state {
                t.state = report.state
                try? store.recordSlurmState(job.id, slurmID: t.slurmID, state: report.state, node: report.node)
                changed = true
            }
            if report?.state == "RUNNING" && !t.announced {
                t.announced = true
                observer(.started(job.id, stage: job.stage, attempt: t.attempt))
            }
            let phase = report.map { SlurmPhase(state: $0.state, source: $0.source) }
            t.waitingSince = phase == .active ? nil : (t.waitingSince ?? now)
            tracked[job.id] = t
            // A job cancelled because its upstream failed is settled by that upstream's retry or failure first.
            if job.upstream.contains(where: { tracked[$0] != nil }) { continue }
            guard let outcome = SlurmOutcome.decide(directory: JobDirectory(runs: store.runsDirectory, job: job.id), slurmID: t.slurmID,
                                                    report: report, waited: now.timeIntervalSince(t.waitingSince ?? now),
                                                    lagTolerance: options.lagTolerance, stderrOffset: t.stderrOffset) else { continue }
            finish(job, outcome: outcome)
            changed = true
        }
        return changed
    }

    private func finish(_ job: Job, outcome: JobOutcome) {
        guard let t = tracked.removeValue(forKey: job.id) else { return }
        if !t.announced { observer(.started(job.id, stage: job.stage, attempt: t.attempt)) }
        let retry = outcome.status.isFailure && !stopping && attemptsThisRun[job.id, default: 1] <= job.retries
        do { try store.markFinished(job.id, outcome: outcome) } catch {
            storeFailed(error, cancelJobs: false)
        }
        observer(.finished(job.id, stage: job.stage, outcome: outcome, willRetry: retry))
        switch outcome.status {
        case .done:
            done.insert(job.id)
            summary.scheduler.done += 1
        case .interrupted:
            summary.scheduler.interrupted += 1
        default:
            if retry {
                resubmitLater(job.id)
            } else {
                summary.scheduler.failed += 1
                block(downstreamOf: job.id)
            }
        }
    }

    /// Every job downstream of `id` (transitively) that this run still owns, in graph order.
    private func descendants(of id: JobID) -> [JobID] {
        var seen = Set<JobID>()
        var frontier = downstream[id] ?? []
        while let next = frontier.popLast() {
            guard seen.insert(next).inserted else { continue }
            frontier += downstream[next] ?? []
        }
        return graph.jobs.map(\.id).filter { seen.contains($0) && (waiting.contains($0) || tracked[$0] != nil) }
    }

    /// A retry: the job waits to be submitted again, and so do its submitted downstream jobs, whose `afterok` names
    /// the failed Slurm job (they are cancelled and their submissions forgotten).
    private func resubmitLater(_ id: JobID) {
        let submitted = descendants(of: id).filter { tracked[$0] != nil }
        try? client.cancel(submitted.compactMap { tracked[$0]?.slurmID })
        for d in submitted {
            tracked[d] = nil
            try? store.unsubmit(d)
            attemptsThisRun[d, default: 1] -= 1
            waiting.insert(d)
        }
        waiting.insert(id)
    }

    private func block(downstreamOf failed: JobID) {
        let blocked = descendants(of: failed)
        guard !blocked.isEmpty else { return }
        try? client.cancel(blocked.compactMap { tracked[$0]?.slurmID })
        for id in blocked {
            tracked[id] = nil
            waiting.remove(id)
        }
        summary.scheduler.blocked += blocked.count
        try? store.markSlurmBlocked(blocked, because: failed)
        observer(.blocked(blocked, because: failed))
    }

    private func stopNow(reason: String, cancel: Bool, bySignal: Bool) {
        stopping = true
        summary.scheduler.interruptedBySignal = bySignal
        observer(.stopping(reason: reason))
        if cancel && !tracked.isEmpty {
            try? client.cancel(tracked.values.map(\.slurmID))
            // Ingest what Slurm settles (a job that completed just before the scancel stays done).
            let deadline = Date().addingTimeInterval(15)
            while !tracked.isEmpty && Date() < deadline {
                poll()
                if !tracked.isEmpty { Thread.sleep(forTimeInterval: 0.3) }
            }
            for job in graph.jobs where tracked[job.id] != nil {
                finish(job, outcome: JobOutcome(status: .interrupted, error: "cancelled with scancel when the sweep was interrupted"))
            }
        }
        summary.leftRunning = tracked.count
        summary.scheduler.interrupted += waiting.count
        try? store.markInterrupted(Array(waiting))
        waiting.removeAll()
    }
}
