import ArgumentParser
import Dispatch
import Foundation
import XexpOrchestration
import XexpPipeline

/// `xexp sweep SPEC`: run a sweep, or resume it (running it again is the resume).
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run or resume a sweep: done jobs are reused, everything else runs.",
        discussion: """
            Exit status: 0 when every job is done; 1 when a job failed, timed out or was blocked; 2 for a bad spec or \
            option (nothing is run or written); 130 when interrupted (SIGINT/SIGTERM; running jobs are recorded as \
            interrupted and run again on the next `xexp sweep`).
            """)

    @Argument(help: ArgumentHelp("The experiment spec (JSON).", valueName: "spec"), completion: .file(extensions: ["json"]))
    var spec: String

    @Option(help: ArgumentHelp("Jobs run at once (default: the number of cores). BLAS threads per job = cores / jobs.", valueName: "n"))
    var jobs: Int?

    @Flag(help: "List the trials and jobs (shared jobs visible) and run nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Run this stage's jobs again even if done, and everything after them (repeatable).", valueName: "stage"))
    var rerun: [String] = []

    @Option(help: ArgumentHelp("A job cache directory to serve finished jobs from, before the spec's own (repeatable; also $XEXP_CACHE, colon-separated).", valueName: "dir"))
    var cache: [String] = []

    @Option(help: ArgumentHelp("Refuse a spec of more trials than this, counted before anything is expanded.", valueName: "n"))
    var maxTrials: Int = SweepPlan.defaultMaxTrials

    @Option(name: .customLong("set"), help: ArgumentHelp("Set a parameter for every trial, replacing its value or axis in the spec (repeatable; e.g. --set finetune_epochs=0.5).", valueName: "param=value"))
    var sets: [String] = []

    @Option(name: .customLong("grid"), help: ArgumentHelp("Make a parameter an axis with these values, replacing it in the spec (repeatable; e.g. --grid tokens=144,576).", valueName: "param=a,b,…"))
    var grids: [String] = []

    @OptionGroup var store: StoreOptions

    @OptionGroup(title: "Slurm") var slurm: SlurmArguments

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        if maxTrials < 1 { throw ValidationError("--max-trials must be at least 1, got \(maxTrials)") }
    }

    func run() throws {
        // SIGINT/SIGTERM are trapped first thing (not once the run starts), so a stop that arrives while the spec is
        // planned or the store opened is kept and honoured when the run begins, never dropped. (A process started in
        // the background by a script inherits SIGINT ignored: until this point such a signal is lost.)
        let relay = SignalRelay()
        let signals = dryRun ? [] : Sweep.trapSignals { relay.deliver($0) }
        defer { signals.forEach { $0.cancel() } }
        let plan: SweepPlan
        do {
            let overrides = try sets.map { text throws(SpecError) in try SpecOverride(parsing: text, kind: .set) }
                + grids.map { text throws(SpecError) in try SpecOverride(parsing: text, kind: .grid) }
            plan = try SweepPlan(specAt: URL(fileURLWithPath: spec), displayPath: spec, overrides: overrides, pipeline: XmodelPipeline(), maxTrials: maxTrials)
        } catch {
            throw fail(error.description, status: ExitStatus.usage)
        }
        for stage in rerun where !plan.graph.stageOrder.contains(stage) {
            throw fail("--rerun \(stage): no such stage in \(spec); stages: \(plan.graph.stageOrder.joined(separator: ", "))", status: ExitStatus.usage)
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var options = SchedulerOptions(slots: jobs ?? cores, cores: cores)
        let numerics = plan.spec.pipeline?.numericsFingerprint
        options.numerics = numerics
        options.build = BuildInfo.current
        // How often running jobs' metrics are read into the store (default 10 s; tests shorten it).
        if let seconds = ProcessInfo.processInfo.environment["XEXP_LIVE_METRICS_SECONDS"].flatMap(Double.init), seconds > 0 {
            options.liveMetricsInterval = seconds
        }
        let serving = CacheServing(caches: CacheOptions.caches(flags: cache, spec: plan.spec), numerics: numerics)
        let notice: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("xexp: \($0)\n".utf8)) }

        if dryRun {
            // A dry run reads the store if there is one, to show what would be reused; it never creates one.
            var statuses: [JobID: JobStatus] = [:]
            if FileManager.default.fileExists(atPath: store.url.path) {
                statuses = (try? Store.openForReading(at: store.url).statuses(of: plan.graph.jobs.map(\.id))) ?? [:]
            }
            let forced = plan.jobsToRun(statuses: Dictionary(uniqueKeysWithValues: plan.graph.jobs.map { ($0.id, .done) }), rerun: Set(rerun))
            let hits = serving.find(plan.graph.jobs.filter { statuses[$0.id] != .done && !forced.contains($0.id) }, notice: notice)
            let cached = hits.mapValues { CacheOptions.display($0.cache.directory) }
            for id in cached.keys { statuses[id] = .done }
            print(plan.describe(statuses: statuses, toRun: plan.jobsToRun(statuses: statuses, rerun: Set(rerun)), cached: cached), terminator: "")
            return
        }

        if slurm.isSlurm && !SlurmClient.isReachable {
            throw fail("--backend slurm: no Slurm controller answers (`sinfo` failed); check that Slurm's client commands are on PATH and the cluster is up (a local test cluster: scripts/slurm-cluster start)", status: ExitStatus.failure)
        }
        let store = try self.store.openStore()
        let runner = SweepRunner(plan: plan, store: store, options: options, rerun: Set(rerun))
        runner.backend = slurm.backendChoice
        runner.cache = serving
        runner.notice = notice
        let progress = Progress(sweep: plan.spec.name, interactive: isatty(STDERR_FILENO) == 1, jobs: Progress.jobInfo(plan),
                                runsDirectory: store.runsDirectory)
        let slurm = self.slurm
        relay.attach { name in
            runner.stop(reason: "received \(name)", cancelSlurmJobs: slurm.isSlurm && slurm.cancelOnInterrupt())
        }

        let result: SweepRunner.Result
        do {
            result = try runner.run(invocationOptions: "jobs=\(options.slots)" + sets.map { " set=\($0)" }.joined() + grids.map { " grid=\($0)" }.joined() + rerun.map { " rerun=\($0)" }.joined() + cache.map { " cache=\($0)" }.joined()
                                        + slurm.invocationOptions,
                                    started: { toRun, reused, cached in
                                        progress.plan(toRun: runner.plannedJobs)
                                        progress.begin(toRun: toRun, reused: reused, cached: cached, slots: slurm.isSlurm ? toRun : options.slots) },
                                    observer: { progress.handle($0) })
        } catch let error as StoreError {
            progress.end()
            throw fail(error.description, status: ExitStatus.failure)
        } catch let error where Store.isDatabaseError(error) {
            // The store refused a write before or after the jobs (recording the invocation, a full disk): exit 1.
            progress.end()
            throw fail("cannot write to the store \(self.store.url.path) (\(error)); is the disk full? Free space and run the same `xexp sweep` again", status: ExitStatus.failure)
        }
        progress.end()
        let s = result.summary
        let db = self.store.hint  // hints name the store they were run against
        print("sweep \(plan.spec.name) (run \(result.seq)): \(result.totalJobs) jobs — \(s.done) ran, \(result.reused - result.cached) reused, \(result.cached) cached, "
              + "\(s.failed) failed, \(s.blocked) blocked, \(s.interrupted) interrupted; \(Progress.clock(progress.elapsed))")
        if result.leftOnSlurm > 0 {
            print("\(result.leftOnSlurm) job(s) left queued or running on Slurm: `xexp status \(plan.spec.name)\(db)` records them as they finish, "
                  + "`xexp sweep \(spec) --backend slurm\(db)` reattaches, `xexp cancel \(plan.spec.name)\(db)` cancels them")
        }
        if !result.succeeded && !s.interruptedBySignal {
            print("see `xexp status \(plan.spec.name)\(db)` for the errors; `xexp sweep \(spec)\(slurm.isSlurm ? " --backend slurm" : "")\(db)` again retries what did not finish")
        }
        if s.interruptedBySignal {
            print("interrupted; `xexp sweep \(spec)\(slurm.isSlurm ? " --backend slurm" : "")\(db)` resumes where this stopped")
            throw ExitCode(ExitStatus.interrupted)
        }
        if !result.succeeded { throw ExitCode(ExitStatus.failure) }
        print("results: xexp table \(plan.spec.name)\(db)")
    }

    /// Hands signals to a handler attached later; one received before that is delivered when it is attached.
    final class SignalRelay: @unchecked Sendable {
        private let lock = NSLock()
        private var handler: (@Sendable (String) -> Void)?
        private var pending: String?

        func deliver(_ name: String) {
            lock.lock()
            guard let handler else { pending = pending ?? name; lock.unlock(); return }
            lock.unlock()
            handler(name)
        }

        func attach(_ handler: @escaping @Sendable (String) -> Void) {
            lock.lock()
            self.handler = handler
            let early = pending
            pending = nil
            lock.unlock()
            if let early { handler(early) }
        }
    }

    /// SIGINT and SIGTERM stop the sweep cleanly instead of killing xexp (whose jobs would then die unrecorded).
    static func trapSignals(_ handler: @escaping @Sendable (String) -> Void) -> [DispatchSourceSignal] {
        [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")].map { (number, name) in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(name) }
            source.resume()
            return source
        }
    }
}
