import Dispatch
import Foundation

/// What the scheduler reports as it goes; the command line renders these (progress line, log lines).
public enum SchedulerEvent: Sendable {
    case started(JobID, stage: String, attempt: Int)
    case finished(JobID, stage: String, outcome: JobOutcome, willRetry: Bool)
    case blocked([JobID], because: JobID)
    case stopping(reason: String)
}

/// Settings for one scheduler run.
public struct SchedulerOptions: Sendable {
    /// Jobs running at once.
    public var slots: Int
    /// Cores on this machine; each job gets `max(1, cores / slots)` BLAS/OpenMP threads so that concurrent jobs
    /// add up to the cores instead of multiplying.
    public var cores: Int
    /// Seconds between SIGTERM and SIGKILL when a job is stopped.
    public var killGrace: Double
    /// A ready result job (an evaluation: it reads an upstream job, nothing reads it) starts ahead of the
    /// highest-priority ready job when its cost is at most this share of that job's priority.
    public var cheapResultShare = 0.1
    /// The numerics fingerprint of built-in stages (``BuiltinPipeline/numericsFingerprint``) and the xexp build,
    /// recorded with every attempt.
    public var numerics: String?
    public var build: String?
    /// Seconds between reads of running jobs' growing `metrics.jsonl` into the store (so `status`, `table` and
    /// `report` show a running job's latest values). Each read takes only the bytes added since the last one.
    public var liveMetricsInterval: Double = 10

    public init(slots: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount, killGrace: Double = 5) {
        self.slots = max(1, slots)
        self.cores = max(1, cores)
        self.killGrace = killGrace
    }

    public var threadsPerJob: Int { max(1, cores / slots) }
}

/// Counts at the end of a scheduler run.
public struct SchedulerSummary: Sendable, Equatable {
    public var done = 0, failed = 0, blocked = 0, interrupted = 0
    public var interruptedBySignal = false
    /// Set when the store could not be written (a full disk): the sweep stopped because it could not record results,
    /// which is a failure (exit 1), not an interrupt.
    public var storeFailure: String?
}

/// Runs a job graph on this machine with a bounded number of concurrent processes.
///
/// All state lives on one serial queue (`queue`); process waits happen on their own threads and hop back onto it.
/// A job starts when its upstream jobs are done; among ready jobs, the one with the highest
/// ``JobGraph/priority(slots:)`` goes first (its costliest chain, or its downstream work over the slots if larger),
/// so long chains are not left for last and shared jobs that gate many trials start early. One exception: a ready
/// *result* job (one that reads an upstream job and that nothing in this run reads, such as an evaluation) goes
/// first when its cost is at most ``SchedulerOptions/cheapResultShare`` of that top priority, so it delays the longest
/// remaining work by little. By priority alone every evaluation would wait for the last training job: a sweep stopped
/// early would have trained models but evaluated none of them.
public final class LocalScheduler: @unchecked Sendable {
    private enum State { case idle, running, stopping, finished }

    private let graph: JobGraph
    private let store: Store
    private let invocation: Int64?
    private let workingDirectory: URL
    private let options: SchedulerOptions
    private let baseEnvironment: [String: String]
    private let observer: @Sendable (SchedulerEvent) -> Void

    private let queue = DispatchQueue(label: "xexp.scheduler")
    private let finished = DispatchSemaphore(value: 0)
    private var state = State.idle
    private var waitingOn: [JobID: Int] = [:]       // pending job → number of upstream jobs not yet done
    private var ready: [JobID] = []
    private var running: [JobID: RunningJob] = [:]
    private var attemptsThisRun: [JobID: Int] = [:]
    private var summary = SchedulerSummary()
    private var isLaunching = false
    private var stopBeforeRun: String?
    private var lingering: Set<pid_t> = []  // process groups of ended jobs still to be SIGKILLed (see reapGroup)
    private let priority: [JobID: Double]
    private let downstream: [JobID: [JobID]]
    private let results: Set<JobID>   // jobs that read an upstream job and that nothing in this run reads

    private struct RunningJob {
        var pid: pid_t
        var attempt: Int
        var stderrOffset: UInt64
        var timedOut = false
        var stopped = false
        /// How far its metrics file has been read live: bytes, and complete lines (a metric's `seq` is its line).
        var metricsOffset: UInt64 = 0
        var metricsLines = 0
        var metricsURL: URL?
        var exclusive = false
    }
    private var liveTimer: DispatchSourceTimer?

    /// - Parameters:
    ///   - toRun: the jobs to run; every other job of the graph must already be done.
    ///   - workingDirectory: the spec file's directory, where commands run.
    public init(graph: JobGraph, toRun: Set<JobID>, store: Store, invocation: Int64?, workingDirectory: URL,
                options: SchedulerOptions, environment: [String: String] = ProcessInfo.processInfo.environment,
                observer: @escaping @Sendable (SchedulerEvent) -> Void = { _ in }) {
        self.graph = graph
        self.store = store
        self.invocation = invocation
        self.workingDirectory = workingDirectory
        self.options = options
        self.baseEnvironment = environment
        self.observer = observer
        self.priority = graph.priority(slots: options.slots)
        self.downstream = graph.downstream
        let downstream = self.downstream
        self.results = Set(graph.jobs.filter { job in
            toRun.contains(job.id) && !job.upstream.isEmpty && !(downstream[job.id] ?? []).contains(where: toRun.contains)
        }.map(\.id))
        for job in graph.jobs where toRun.contains(job.id) {
            waitingOn[job.id] = job.upstream.filter { toRun.contains($0) }.count
        }
        ready = graph.jobs.map(\.id).filter { waitingOn[$0] == 0 }
        for id in ready { waitingOn[id] = nil }
    }

    /// Runs until every job has finished, failed or been blocked, or until `stop` is called. Blocks the caller.
    public func run() -> SchedulerSummary {
        queue.async {
            self.state = .running
            if let reason = self.stopBeforeRun {
                self.stopNow(reason: reason)  // asked to stop before there was anything to stop: run nothing
                return
            }
            self.launchReady()
            self.startLiveMetrics()
            self.finishIfIdle()
        }
        finished.wait()
        queue.sync { liveTimer?.cancel(); liveTimer = nil }
        return queue.sync { summary }
    }

    /// Stops launching and terminates running jobs (SIGTERM, then SIGKILL after the grace period). Thread-safe.
    public func stop(reason: String) {
        queue.async {
            // A stop before `run` (a SIGINT while the sweep records its invocation) is kept for `run`, not dropped.
            if self.state == .idle { self.stopBeforeRun = reason; return }
            self.stopNow(reason: reason)
        }
    }

    private func stopNow(reason: String, bySignal: Bool = true) {
        guard state == .running else { return }
        state = .stopping
        summary.interruptedBySignal = bySignal
        observer(.stopping(reason: reason))
        for (id, job) in running {
            running[id]?.stopped = true
            terminate(pid: job.pid)
        }
        finishIfIdle()
    }

    /// On the queue: every `liveMetricsInterval` seconds, the running jobs' new metric lines go into the store.
    private func startLiveMetrics() {
        guard options.liveMetricsInterval > 0 else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + options.liveMetricsInterval, repeating: options.liveMetricsInterval)
        timer.setEventHandler { [weak self] in self?.ingestLiveMetrics() }
        timer.resume()
        liveTimer = timer
    }

    /// Reads what each running job appended to its metrics file since the last read, up to its last complete line.
    /// A line that does not parse is skipped here; the job's final read (when it ends) reports it as the failure.
    private func ingestLiveMetrics() {
        for (id, run) in running where !run.stopped {
            guard let url = run.metricsURL, let handle = FileHandle(forReadingAtPath: url.path) else { continue }
            defer { try? handle.close() }
            guard (try? handle.seek(toOffset: run.metricsOffset)) != nil,
                  let data = try? handle.read(upToCount: 1 << 20), let end = data.lastIndex(of: UInt8(ascii: "\n")) else { continue }
            let complete = data[data.startIndex...end]
            var points: [MetricPoint] = []
            var line = run.metricsLines
            for raw in complete.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
                line += 1
                guard let text = String(data: Data(raw), encoding: .utf8), let parsed = try? MetricsFile.parse(text) else { continue }
                points += parsed.map { MetricPoint(seq: line, name: $0.name, value: $0.value, step: $0.step) }
            }
            running[id]?.metricsOffset = run.metricsOffset + UInt64(complete.count)
            running[id]?.metricsLines = line
            if points.isEmpty { continue }
            do { try store.recordLiveMetrics(id, attempt: run.attempt, points: points) } catch { storeFailed(error) }
        }
    }

    /// On the queue: the store refused a write. Nothing more can be recorded, so the sweep stops as a failure.
    private func storeFailed(_ error: Error) {
        if summary.storeFailure == nil { summary.storeFailure = "\(error)" }
        if state == .running { stopNow(reason: "cannot write to the store: \(error)", bySignal: false) }
    }

    // MARK: - On the queue

    private func launchReady() {
        // A launch that fails at once completes synchronously and would re-enter here; the outer loop goes on.
        guard !isLaunching else { return }
        isLaunching = true
        defer { isLaunching = false }
        while state == .running, running.count < options.slots, !ready.isEmpty {
            // An exclusive job (a timing measurement) runs alone: nothing starts beside it, and it starts only when
            // nothing runs and no other job is ready (so it never holds the other slots idle while work waits).
            if running.values.contains(where: { $0.exclusive }) { return }
            let shared = ready.indices.filter { graph[ready[$0]]?.exclusive != true }
            if shared.isEmpty {
                guard running.isEmpty else { return }
                launch(graph[ready.remove(at: 0)]!)
                continue
            }
            func rank(_ id: JobID) -> Double { priority[id] ?? 0 }
            var best = shared[0]
            for i in shared where rank(ready[i]) > rank(ready[best]) { best = i }
            let limit = options.cheapResultShare * rank(ready[best])
            var result: Int?
            for (i, id) in ready.enumerated() where results.contains(id) && graph[id]?.exclusive != true && (graph[id]?.cost ?? 1) <= limit {
                if result == nil || rank(id) > rank(ready[result!]) { result = i }
            }
            if let result { best = result }
            let id = ready.remove(at: best)
            launch(graph[id]!)
        }
    }

    private func launch(_ job: Job) {
        let directory = store.runsDirectory.appendingPathComponent(job.id)
        let metricsURL = directory.appendingPathComponent("metrics.jsonl")
        let stdoutURL = directory.appendingPathComponent("stdout.log")
        let stderrURL = directory.appendingPathComponent("stderr.log")
        let (argv, stageEnv) = job.resolved(runsDirectory: store.runsDirectory)
        attemptsThisRun[job.id, default: 0] += 1

        var env = baseEnvironment
        let threads = String(options.threadsPerJob)
        env["OPENBLAS_NUM_THREADS"] = threads
        env["OMP_NUM_THREADS"] = threads
        env["XEXP_THREADS"] = threads
        for (key, value) in stageEnv { env[key] = value }
        env["XEXP_JOB_DIR"] = directory.path
        env["XEXP_METRICS"] = metricsURL.path
        env["XEXP_JOB_ID"] = job.id
        env["XEXP_PARAMS"] = job.referencedParameters.json.jsonText

        let pid: pid_t
        var stderrOffset: UInt64 = 0
        do {
            if mkdir(directory.path, 0o755) != 0 && errno != EEXIST {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            }
            // A new attempt starts with an empty metrics file; logs keep every attempt.
            try ProcessLauncher.writeFile(metricsURL, "")
            var info = stat()
            stderrOffset = stat(stderrURL.path, &info) == 0 ? UInt64(info.st_size) : 0
            // Not atomic on purpose: job.json is rewritten at every attempt and only read by people and workers, and an
            // atomic write costs an fsync per job on the scheduler's queue.
            try ProcessLauncher.writeFile(directory.appendingPathComponent("job.json"),
                                          job.manifest(argv: argv, env: stageEnv, workingDirectory: workingDirectory))
            pid = try ProcessLauncher.launch(argv: argv, environment: env, cwd: workingDirectory, stdout: stdoutURL, stderr: stderrURL)
        } catch {
            let attempt = (try? store.markRunning(job.id, pid: 0, invocation: invocation)) ?? 1
            observer(.started(job.id, stage: job.stage, attempt: attempt))
            complete(job, outcome: JobOutcome(status: .failed, error: "\(error)"), allowRetry: false)
            return
        }
        let attempt: Int
        let provenance = AttemptProvenance(threads: options.threadsPerJob, numerics: job.isBuiltin ? options.numerics : nil,
                                           toolkitVersion: toolkitVersion, build: options.build)
        do { attempt = try store.markRunning(job.id, pid: pid, invocation: invocation, provenance: provenance) } catch {
            // The store is unusable: stop everything rather than run jobs whose results cannot be recorded.
            kill(-pid, SIGKILL)
            running[job.id] = RunningJob(pid: pid, attempt: 0, stderrOffset: 0, stopped: true)
            storeFailed(error)
            waitInBackground(job, pid: pid, metricsURL: metricsURL, stderrURL: stderrURL)
            return
        }
        running[job.id] = RunningJob(pid: pid, attempt: attempt, stderrOffset: stderrOffset, metricsURL: metricsURL, exclusive: job.exclusive)
        observer(.started(job.id, stage: job.stage, attempt: attempt))
        if let timeout = job.timeout {
            queue.asyncAfter(deadline: .now() + timeout) { [weak self] in
                guard let self, let current = self.running[job.id], current.attempt == attempt else { return }
                self.running[job.id]?.timedOut = true
                self.terminate(pid: current.pid)
            }
        }
        waitInBackground(job, pid: pid, metricsURL: metricsURL, stderrURL: stderrURL)
    }

    private func waitInBackground(_ job: Job, pid: pid_t, metricsURL: URL, stderrURL: URL) {
        let thread = Thread { [self] in
            let (code, signal, resources) = ProcessLauncher.wait(pid)
            queue.async { self.processEnded(job, code: code, signal: signal, resources: resources, metricsURL: metricsURL, stderrURL: stderrURL) }
        }
        thread.stackSize = 256 * 1024
        thread.start()
    }

    private func processEnded(_ job: Job, code: Int32?, signal: Int32?, resources: ResourceUsage?, metricsURL: URL, stderrURL: URL) {
        guard let run = running.removeValue(forKey: job.id) else { return }
        reapGroup(run.pid)
        let tail = LocalScheduler.tail(of: stderrURL, from: run.stderrOffset)
        var outcome: JobOutcome
        if run.timedOut {
            outcome = JobOutcome(status: .timeout, exitCode: code, signal: signal,
                                 error: "timed out after \(JSONValue.formatNumber(job.timeout ?? 0)) s; raise the stage's \"timeout\"" + tail)
        } else if code == 0 {
            let text = (try? String(contentsOf: metricsURL, encoding: .utf8)) ?? ""
            do { outcome = JobOutcome(status: .done, exitCode: 0, metrics: try MetricsFile.parse(text)) } catch {
                outcome = JobOutcome(status: .failed, exitCode: 0, error: "\(error) (in \(metricsURL.path))")
            }
        } else if run.stopped {
            outcome = JobOutcome(status: .interrupted, exitCode: code, signal: signal, error: "stopped when the sweep was interrupted")
        } else if let signal {
            outcome = JobOutcome(status: .failed, signal: signal, error: "killed by signal \(signal) (\(LocalScheduler.signalName(signal)))" + tail)
        } else {
            outcome = JobOutcome(status: .failed, exitCode: code, error: "exited with status \(code ?? -1)" + tail)
        }
        outcome.resources = resources
        complete(job, outcome: outcome, allowRetry: !run.stopped)
    }

    private func complete(_ job: Job, outcome: JobOutcome, allowRetry: Bool) {
        let retry = outcome.status.isFailure && allowRetry && state == .running && attemptsThisRun[job.id, default: 1] <= job.retries
        do { try store.markFinished(job.id, outcome: outcome) } catch {
            storeFailed(error)
        }
        observer(.finished(job.id, stage: job.stage, outcome: outcome, willRetry: retry))
        switch outcome.status {
        case .done:
            summary.done += 1
            for next in downstream[job.id] ?? [] {
                guard let count = waitingOn[next] else { continue }
                if count <= 1 { waitingOn[next] = nil; ready.append(next) } else { waitingOn[next] = count - 1 }
            }
        case .interrupted:
            summary.interrupted += 1
        default:
            if retry {
                ready.append(job.id)
            } else {
                summary.failed += 1
                block(downstreamOf: job.id)
            }
        }
        launchReady()
        finishIfIdle()
    }

    private func block(downstreamOf failed: JobID) {
        var blocked: [JobID] = []
        var frontier = downstream[failed] ?? []
        while let next = frontier.popLast() {
            guard waitingOn.removeValue(forKey: next) != nil else { continue }
            blocked.append(next)
            frontier += downstream[next] ?? []
        }
        guard !blocked.isEmpty else { return }
        summary.blocked += blocked.count
        try? store.markBlocked(blocked, because: failed)
        observer(.blocked(blocked, because: failed))
    }

    private func finishIfIdle() {
        guard state == .running || state == .stopping, running.isEmpty, lingering.isEmpty else { return }
        guard state == .stopping || ready.isEmpty else { return }
        if state == .stopping {
            let never = ready + Array(waitingOn.keys)
            summary.interrupted += never.count
            try? store.markInterrupted(never)
            ready.removeAll()
            waitingOn.removeAll()
        }
        // Anything still waiting here had an upstream job that can never finish (already counted as blocked).
        state = .finished
        finished.signal()
    }

    private func terminate(pid: pid_t) {
        kill(-pid, SIGTERM)
        queue.asyncAfter(deadline: .now() + options.killGrace) { [weak self] in
            guard let self, self.running.values.contains(where: { $0.pid == pid }) else { return }
            kill(-pid, SIGKILL)
        }
    }

    /// After a job's shepherd has ended (it SIGTERMs the job's group as it goes), whatever is left in the group —
    /// background processes that ignore SIGTERM — is SIGKILLed after the grace period, however the job ended. The
    /// group id stays reserved while any member lives, so the kill cannot reach an unrelated process. The run does
    /// not return before this.
    private func reapGroup(_ pid: pid_t) {
        guard kill(-pid, 0) == 0 else { return }  // nothing left
        lingering.insert(pid)
        queue.asyncAfter(deadline: .now() + options.killGrace) { [weak self] in
            kill(-pid, SIGKILL)
            guard let self else { return }
            self.lingering.remove(pid)
            self.finishIfIdle()
        }
    }

    static func tail(of url: URL, from offset: UInt64, maxBytes: UInt64 = 2000) -> String {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return "" }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        let start = max(offset, end > maxBytes ? end - maxBytes : 0)
        guard end > start, (try? handle.seek(toOffset: start)) != nil, let data = try? handle.readToEnd() else { return "" }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "" : "; stderr ends with:\n" + text
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGBUS: return "SIGBUS"
        case SIGFPE: return "SIGFPE"
        case SIGILL: return "SIGILL"
        case SIGHUP: return "SIGHUP"
        case SIGPIPE: return "SIGPIPE"
        default: return "signal \(signal)"
        }
    }
}

extension Job {
    /// The parameters this job's command and environment actually use. Only these are passed in `XEXP_PARAMS`:
    /// a shared job serves every trial that agrees on them, so it must not see the others.
    public var referencedParameters: Parameters {
        var used = Parameters()
        for case .parameter(let name) in (command + env.map(\.value)).flatMap(\.references) {
            used[name] = parameters[name]
        }
        return used
    }

    /// `job.json`: everything the job runs with, written into its directory for inspection and for backends whose
    /// workers cannot open the store.
    func manifest(argv: [String], env: [(String, String)], workingDirectory: URL) -> String {
        let value: JSONValue = .object([
            ("id", .string(id)),
            ("stage", .string(stage)),
            ("command", .array(argv.map { .string($0) })),
            ("env", .object(env.map { ($0.0, .string($0.1)) })),
            ("params", referencedParameters.json),
            ("upstream", .array(upstream.map { .string($0) })),
            ("cwd", .string(workingDirectory.path)),
        ])
        return value.jsonText + "\n"
    }
}
