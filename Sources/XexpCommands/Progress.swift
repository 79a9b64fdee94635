import Foundation
import XexpOrchestration

/// What a sweep shows while it runs.
///
/// On a terminal (stderr a TTY and `TERM` not `dumb`): a block redrawn every second that fits the terminal's width
/// (read at each redraw, so a resize is followed): counts with reused and cached jobs apart, elapsed time and an ETA
/// from the scheduler's cost model, then one line per running job — stage, the trial's varying parameters, attempt,
/// elapsed, and the last step and loss from its `metrics.jsonl`. Finished-job lines scroll above it only for
/// failures. Elsewhere (CI, files, pipes, `TERM=dumb`): one timestamped line per event with N/M, stage, parameters,
/// duration, and a failure's last stderr lines; no escape codes.
final class Progress: @unchecked Sendable {
    /// What the display needs to know about a job beforehand.
    struct JobInfo {
        var stage: String
        /// The varying parameters it reads: `tokens=144 seed=1`.
        var label: String
        var cost: Double
    }

    private let sweep: String
    private let interactive: Bool
    private let jobs: [JobID: JobInfo]
    private let runsDirectory: URL?
    private let lock = NSLock()
    private let start = Date()
    private var total = 0, done = 0, failed = 0, blocked = 0, reused = 0, cached = 0, slots = 1
    private var running: [JobID: (since: Date, attempt: Int)] = [:]
    private var finishedCost = 0.0, finishedSeconds = 0.0, startedCost = 0.0
    private var drawnLines = 0
    private var timer: DispatchSourceTimer?

    init(sweep: String, interactive: Bool, jobs: [JobID: JobInfo] = [:], runsDirectory: URL? = nil) {
        self.sweep = sweep
        self.interactive = interactive && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        self.jobs = jobs
        self.runsDirectory = runsDirectory
    }

    /// The display's facts about a plan's jobs: stage, varying parameters, cost.
    static func jobInfo(_ plan: SweepPlan) -> [JobID: JobInfo] {
        var varying = Set(SweepTable.varyingParameters(plan.trials.map(\.parameters)))
        if Set(plan.trials.compactMap { $0.parameters["seed"] }).count > 1 { varying.insert("seed") }
        // A job's label: the varying parameters on which every trial using it agrees (a finetune job is one token
        // count's even though only its upstream align job reads `tokens`; a shared encoder job has none).
        var common: [JobID: [String: String]] = [:]
        for (trial, jobs) in zip(plan.trials, plan.graph.trialJobs) {
            let values = Dictionary(uniqueKeysWithValues: varying.compactMap { n in trial.parameters[n].map { (n, $0.description) } })
            for id in jobs.values {
                if let known = common[id] { common[id] = known.filter { values[$0.key] == $0.value } } else { common[id] = values }
            }
        }
        let order = plan.trials.first?.parameters.names ?? []
        var out: [JobID: JobInfo] = [:]
        for job in plan.graph.jobs {
            let values = common[job.id] ?? [:]
            let label = order.filter { values[$0] != nil }.map { "\($0)=\(values[$0]!)" }.joined(separator: " ")
            out[job.id] = JobInfo(stage: job.stage, label: label, cost: job.cost)
        }
        return out
    }

    var elapsed: TimeInterval { Date().timeIntervalSince(start) }

    func begin(toRun: Int, reused: Int, cached: Int, slots: Int) {
        lock.lock(); defer { lock.unlock() }
        total = toRun
        self.reused = reused - cached
        self.cached = cached
        self.slots = max(1, slots)
        line("sweep \(sweep): \(toRun) job(s) to run, \(reused - cached) reused, \(cached) cached, \(slots) at a time")
        guard interactive else { return }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            self.lock.lock(); defer { self.lock.unlock() }
            self.draw()
        }
        timer.resume()
        self.timer = timer
        draw()
    }

    func handle(_ event: SchedulerEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case let .started(id, stage, attempt):
            running[id] = (Date(), attempt)
            startedCost += jobs[id]?.cost ?? 0
            if !interactive { line("start   \(describe(id, stage))\(attempt > 1 ? " (attempt \(attempt))" : "")") }
        case let .finished(id, stage, outcome, willRetry):
            let began = running.removeValue(forKey: id)
            let seconds = began.map { Date().timeIntervalSince($0.since) } ?? 0
            let cost = jobs[id]?.cost ?? 0
            startedCost -= cost
            if outcome.status == .done {
                done += 1
                finishedCost += cost
                finishedSeconds += seconds
            } else if !willRetry {
                if outcome.status != .interrupted { failed += 1 }
                failedCost += cost  // it will not run again in this sweep
            }
            let verb = outcome.status == .done ? "done" : (willRetry ? "retry" : outcome.status.rawValue)
            let head = "\(verb.padding(toLength: 7, withPad: " ", startingAt: 0)) \(done + failed + blocked)/\(total) \(describe(id, stage)) (\(Progress.clock(seconds)))"
            if outcome.status == .done {
                if !interactive { line(head) }
            } else {
                // The failure with its last stderr lines (the error holds "… stderr ends with:" and the tail).
                let error = (outcome.error ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                line(head + (error.first.map { ": " + $0 } ?? ""))
                for extra in error.dropFirst().suffix(8) where !extra.isEmpty { line("    " + extra) }
            }
        case let .blocked(ids, because):
            blocked += ids.count
            failedCost += ids.reduce(0) { $0 + (jobs[$1]?.cost ?? 0) }
            line("blocked \(ids.count) job(s) after \(jobs[because]?.stage ?? "") \(because) failed")
        case let .stopping(reason):
            line("stopping: \(reason); terminating \(running.count) running job(s)")
        }
        if interactive { draw() }
    }

    func end() {
        lock.lock(); defer { lock.unlock() }
        timer?.cancel()
        timer = nil
        clearBlock()
    }

    // MARK: - Rendering (under `lock`)

    private func describe(_ id: JobID, _ stage: String) -> String {
        let label = jobs[id]?.label ?? ""
        return "\(stage)\(label.isEmpty ? "" : " " + label) \(id.prefix(8))"
    }

    /// A log line: timestamped off a terminal; above the live block on one.
    private func line(_ text: String) {
        if interactive {
            clearBlock()
            write(text + "\n")
            draw()
        } else {
            write("[\(Progress.timestamp())] \(text)\n")
        }
    }

    /// Seconds per unit of the cost model, from the jobs finished so far; nil before the first.
    private var secondsPerCost: Double? { finishedCost > 0 && finishedSeconds > 0 ? finishedSeconds / finishedCost : nil }

    /// Remaining work over the slots: the jobs not started at their expected cost, running ones at what is left of it.
    private var eta: String {
        guard let rate = secondsPerCost else { return "—" }
        let notStarted = jobs.isEmpty ? 0 : max(0, plannedCost - finishedCost - startedCost - failedCost)
        var left = notStarted * rate
        for (id, run) in running { left += max(0, (jobs[id]?.cost ?? 0) * rate - Date().timeIntervalSince(run.since)) }
        return Progress.clock(left / Double(slots))
    }
    /// Cost of the jobs this run runs (``plan(toRun:)``), and of those that will not run after all.
    private var plannedCost = 0.0
    private var failedCost = 0.0

    /// Sets the cost of the jobs this run will run (those not reused), for the ETA.
    func plan(toRun ids: Set<JobID>) {
        lock.lock(); defer { lock.unlock() }
        plannedCost = ids.reduce(0) { $0 + (jobs[$1]?.cost ?? 0) }
    }

    private func draw() {
        guard interactive, timer != nil || drawnLines > 0 else { return }
        let width = max(20, Int(terminalWidth()) - 1)
        // Most useful first: a narrow terminal cuts the end of the line.
        var head = ["[\(sweep)] \(done + failed + blocked)/\(total) finished", "ETA \(eta)", "elapsed \(Progress.clock(elapsed))", "\(running.count) running"]
        if failed > 0 { head.append("\(failed) failed") }
        if blocked > 0 { head.append("\(blocked) blocked") }
        if reused + cached > 0 { head.append("\(reused) reused, \(cached) cached") }
        var lines = [head.joined(separator: " · ")]
        for (id, run) in running.sorted(by: { $0.value.since < $1.value.since }) {
            let info = jobs[id]
            var text = "  \(info?.stage ?? "?")\(info.map { $0.label.isEmpty ? "" : " " + $0.label } ?? "") #\(run.attempt) \(Progress.clock(Date().timeIntervalSince(run.since)))"
            if let last = lastMetrics(id) { text += " · " + last }
            lines.append(text)
        }
        clearBlock()
        write(lines.map { String($0.prefix(width)) }.joined(separator: "\n"))
        drawnLines = lines.count
    }

    /// Moves to the block's first line and clears to the end of the screen.
    private func clearBlock() {
        guard interactive, drawnLines > 0 else { return }
        write("\r" + (drawnLines > 1 ? "\u{1B}[\(drawnLines - 1)A" : "") + "\u{1B}[J")
        drawnLines = 0
    }

    /// `step 120 · loss 1.234`: the last line of the job's metrics file that has a step (its last 4 KiB only).
    private func lastMetrics(_ id: JobID) -> String? {
        guard let runsDirectory, let handle = FileHandle(forReadingAtPath: runsDirectory.appendingPathComponent(id).appendingPathComponent("metrics.jsonl").path) else { return nil }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 4096 ? size - 4096 : 0)
        guard let data = try? handle.readToEnd(), let text = String(data: data, encoding: .utf8) else { return nil }
        for raw in text.split(separator: "\n").reversed() {
            guard let points = try? MetricsFile.parse(String(raw)), let step = points.first?.step else { continue }
            let values = points.prefix(2).map { "\($0.name) \(SVGPlot.label($0.value))" }
            return (["step \(step)"] + values).joined(separator: " · ")
        }
        return nil
    }

    private func terminalWidth() -> UInt16 {
        var size = winsize()
        return ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? size.ws_col : 80
    }

    private func write(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }

    private static let clockFormat: DateFormatter = {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss"
        return f
    }()

    /// Called under `lock`, so the shared formatter is never used from two threads at once.
    static func timestamp() -> String { clockFormat.string(from: Date()) }

    static func clock(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return String(format: "%.1f s", seconds) }
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
