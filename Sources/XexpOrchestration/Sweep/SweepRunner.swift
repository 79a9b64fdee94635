import Foundation

/// The version recorded with every invocation.
public let toolkitVersion = "0.1.0"

/// Runs (or resumes) a planned sweep against a store: records the invocation, resets what a dead process left
/// running, runs what is not done, and records the outcome.
public final class SweepRunner: @unchecked Sendable {
    public let plan: SweepPlan
    public let store: Store
    public let options: SchedulerOptions
    public let rerun: Set<String>
    /// Where jobs run: this machine (default) or Slurm.
    public var backend = SweepBackend.local
    /// Job caches to serve unfinished jobs from (the spec's, `--cache`, `XEXP_CACHE`), and this process's numerics.
    public var cache = CacheServing(caches: [], numerics: nil)
    /// Where problems that do not stop the sweep are reported (an unusable cache entry).
    public var notice: @Sendable (String) -> Void = { _ in }
    /// Jobs that run even if done or cached, and, when set, the only jobs (with their unfinished upstream jobs) that
    /// run at all: `xexp cache verify` reruns a cache's jobs this way, with their inputs served from the cache.
    public var forceRun: Set<JobID> = []
    /// The jobs this run runs, known when `started` is called (a progress display's ETA sums their costs).
    public var plannedJobs: Set<JobID> {
        lock.lock(); defer { lock.unlock() }
        return jobsToRun
    }
    private var jobsToRun: Set<JobID> = []
    public var onlyJobs: Set<JobID>?
    private var scheduler: LocalScheduler?
    private var slurmScheduler: SlurmScheduler?
    private let lock = NSLock()
    private var stopRequested: String?
    private var cancelSlurmJobs = false

    public init(plan: SweepPlan, store: Store, options: SchedulerOptions, rerun: Set<String> = []) {
        self.plan = plan
        self.store = store
        self.options = options
        self.rerun = rerun
    }

    public struct Result: Sendable {
        public var summary: SchedulerSummary
        public var totalJobs: Int
        public var reused: Int
        /// Jobs served from a job cache in this run (counted in `reused` too).
        public var cached = 0
        public var invocation: Int64
        public var seq: Int
        /// Slurm jobs still queued or running when the run returned (detached, or interrupted and left running).
        public var leftOnSlurm = 0
        public var succeeded: Bool { summary.failed == 0 && summary.blocked == 0 && summary.interrupted == 0 && !summary.interruptedBySignal }
    }

    /// Runs the sweep to the end (or until `stop`). `started` is told how many jobs will run and how many are reused.
    public func run(invocationOptions: String, started: (_ toRun: Int, _ reused: Int, _ cached: Int) -> Void = { _, _, _ in },
                    observer: @escaping @Sendable (SchedulerEvent) -> Void) throws -> Result {
        let sweepLock = try SweepLock(store: store, purpose: "sweep \(plan.spec.name)")
        _ = sweepLock
        // Jobs running on Slurm outlive xexp: they are reattached, never reset.
        try store.resetOrphanedLocalJobs()
        let live = try store.liveSlurmJobs(among: plan.graph.jobs.map(\.id))
        if case .local = backend, let first = live.first {
            throw StoreError("\(live.count) job(s) of sweep \(plan.spec.name) are queued or running on Slurm (e.g. \(first.stage) \(first.job) as Slurm job \(first.slurmID)); run `xexp sweep SPEC --backend slurm` to reattach to them, or `xexp cancel \(plan.spec.name)` first")
        }
        let info = InvocationInfo(sweep: plan.spec.name, specPath: plan.spec.fileURL.path, specText: plan.spec.sourceText,
                                  toolkitVersion: toolkitVersion, gitCommit: SweepRunner.gitCommit(of: plan.spec.directory),
                                  host: ProcessInfo.processInfo.hostName, options: invocationOptions)
        let invocation = try store.recordInvocation(info, trials: plan.trials, graph: plan.graph)
        let seq = try store.resolve(SweepReference(parsing: plan.spec.name)).seq
        var statuses = try store.statuses(of: plan.graph.jobs.map(\.id))
        // A measurement of the machine (an exclusive stage: latency) recorded on another host is measured again here.
        for (id, host) in try store.hosts(of: plan.graph.jobs.filter(\.exclusive).map(\.id))
        where statuses[id] == .done && host != Store.hostName {
            statuses[id] = nil
        }
        // The store first, then the caches: a job that is not done here, not forced by --rerun and not on Slurm
        // is served from the first cache holding a verified entry.
        let forced = plan.jobsToRun(statuses: Dictionary(uniqueKeysWithValues: plan.graph.jobs.map { ($0.id, .done) }), rerun: rerun)
        let liveIDs = Set(live.map(\.job))
        let needed = onlyJobs.map { plan.graph.closure(upstreamOf: $0) }
        let candidates = plan.graph.jobs.filter {
            statuses[$0.id] != .done && !forced.contains($0.id) && !forceRun.contains($0.id) && !liveIDs.contains($0.id)
                && (needed?.contains($0.id) ?? true)
        }
        let notice = self.notice
        let served = try cache.serve(cache.find(candidates, notice: notice), store: store, invocation: invocation, notice: notice)
        for id in served { statuses[id] = .done }
        for id in forceRun { statuses[id] = nil }
        var toRun = plan.jobsToRun(statuses: statuses, rerun: rerun)
        if let needed { toRun.formIntersection(needed) }
        // A rerun starts from scratch: whatever an earlier run left in the job's directory (a checkpoint to resume
        // from, partial outputs) is removed, logs aside. A job that merely did not finish keeps its directory, so it
        // resumes.
        for id in forced.union(forceRun).intersection(toRun) { try clearJobDirectory(id) }
        // Jobs this run needs (all, unless restricted to some jobs and their inputs), and of those the ones reused.
        let total = needed?.count ?? plan.graph.jobs.count
        let reused = total - toRun.count
        try store.markPending(Array(toRun.subtracting(live.map(\.job))))
        lock.lock()
        jobsToRun = toRun
        lock.unlock()
        started(toRun.count, reused, served.count)
        if case .slurm(let slurmOptions) = backend {
            let slurm = SlurmScheduler(graph: plan.graph, toRun: toRun, live: live, store: store, invocation: invocation,
                                       workingDirectory: plan.spec.directory, options: slurmOptions,
                                       stageResources: plan.spec.slurmResources, observer: observer)
            lock.lock()
            slurmScheduler = slurm
            let pendingStop = stopRequested.map { ($0, cancelSlurmJobs) }
            lock.unlock()
            if let pendingStop { slurm.stop(reason: pendingStop.0, cancelJobs: pendingStop.1) }
            let outcome = slurm.run()
            var result = Result(summary: outcome.scheduler, totalJobs: total, reused: reused,
                                invocation: invocation, seq: seq)
            result.cached = served.count
            result.leftOnSlurm = outcome.leftRunning
            let state = outcome.scheduler.interruptedBySignal ? "interrupted" : (!result.succeeded ? "failed" : (outcome.leftRunning > 0 ? "submitted" : "done"))
            if let failure = outcome.scheduler.storeFailure { throw storeFailure(failure, invocation: invocation) }
            try store.finishInvocation(invocation, outcome: state)
            return result
        }

        let scheduler = LocalScheduler(graph: plan.graph, toRun: toRun, store: store, invocation: invocation,
                                       workingDirectory: plan.spec.directory, options: options, observer: observer)
        lock.lock()
        self.scheduler = scheduler
        let pendingStop = stopRequested
        lock.unlock()
        if let pendingStop { scheduler.stop(reason: pendingStop) }
        let summary = scheduler.run()
        var result = Result(summary: summary, totalJobs: total, reused: reused,
                            invocation: invocation, seq: seq)
        result.cached = served.count
        if let failure = summary.storeFailure { throw storeFailure(failure, invocation: invocation) }
        try store.finishInvocation(invocation, outcome: summary.interruptedBySignal ? "interrupted" : (result.succeeded ? "done" : "failed"))
        return result
    }

    /// The sweep stopped because the store refused a write (a full disk, a failing filesystem): a failure to report
    /// as such, with what was kept and what to do.
    func storeFailure(_ failure: String, invocation: Int64) -> StoreError {
        try? store.finishInvocation(invocation, outcome: "failed")
        return StoreError("cannot write to the store \(store.url.path) (\(failure)); the sweep stopped because it could not record results. Is the disk full? Free space and run the same `xexp sweep` again: jobs recorded as done are kept, the rest run again")
    }

    /// Empties `runs/<id>/` but for its logs (which keep every attempt).
    func clearJobDirectory(_ id: JobID) throws {
        let directory = store.runsDirectory.appendingPathComponent(id)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name != "stdout.log" && name != "stderr.log" {
            do { try FileManager.default.removeItem(at: directory.appendingPathComponent(name)) } catch {
                throw StoreError("cannot clear \(directory.path) for the rerun: \(error.localizedDescription)")
            }
        }
    }

    /// Asks a running sweep to stop (from a signal handler's queue). Safe to call before `run` has started.
    /// With `cancelSlurmJobs`, a Slurm sweep's queued and running jobs are cancelled; otherwise they are left running.
    public func stop(reason: String, cancelSlurmJobs: Bool = false) {
        lock.lock()
        stopRequested = reason
        self.cancelSlurmJobs = cancelSlurmJobs
        let scheduler = self.scheduler
        let slurmScheduler = self.slurmScheduler
        lock.unlock()
        scheduler?.stop(reason: reason)
        slurmScheduler?.stop(reason: reason, cancelJobs: cancelSlurmJobs)
    }

    /// The commit of the git repository holding the spec, if any (with "-dirty" when it has local changes).
    public static func gitCommit(of directory: URL) -> String? {
        func git(_ args: [String]) -> String? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-C", directory.path] + args
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { return nil }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { return nil }
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let head = git(["rev-parse", "HEAD"]), !head.isEmpty else { return nil }
        let dirty = git(["status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
        return dirty ? head + "-dirty" : head
    }
}
