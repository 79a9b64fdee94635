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
        public var invocation: Int64
        public var seq: Int
        /// Slurm jobs still queued or running when the run returned (detached, or interrupted and left running).
        public var leftOnSlurm = 0
        public var succeeded: Bool { summary.failed == 0 && summary.blocked == 0 && summary.interrupted == 0 && !summary.interruptedBySignal }
    }

    /// Runs the sweep to the end (or until `stop`). `started` is told how many jobs will run and how many are reused.
    public func run(invocationOptions: String, started: (_ toRun: Int, _ reused: Int) -> Void = { _, _ in },
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
        let statuses = try store.statuses(of: plan.graph.jobs.map(\.id))
        let toRun = plan.jobsToRun(statuses: statuses, rerun: rerun)
        try store.markPending(Array(toRun.subtracting(live.map(\.job))))
        started(toRun.count, plan.graph.jobs.count - toRun.count)
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
            var result = Result(summary: outcome.scheduler, totalJobs: plan.graph.jobs.count, reused: plan.graph.jobs.count - toRun.count,
                                invocation: invocation, seq: seq)
            result.leftOnSlurm = outcome.leftRunning
            let state = outcome.scheduler.interruptedBySignal ? "interrupted" : (!result.succeeded ? "failed" : (outcome.leftRunning > 0 ? "submitted" : "done"))
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
        let result = Result(summary: summary, totalJobs: plan.graph.jobs.count, reused: plan.graph.jobs.count - toRun.count,
                            invocation: invocation, seq: seq)
        try store.finishInvocation(invocation, outcome: summary.interruptedBySignal ? "interrupted" : (result.succeeded ? "done" : "failed"))
        return result
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
    static func gitCommit(of directory: URL) -> String? {
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
