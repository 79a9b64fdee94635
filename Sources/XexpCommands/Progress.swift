import Foundation
import XexpOrchestration

/// Renders scheduler events: a live status line on a terminal, plain log lines otherwise (CI, files, pipes).
final class Progress: @unchecked Sendable {
    private let sweep: String
    private let interactive: Bool
    private let lock = NSLock()
    private let start = Date()
    private var total = 0, done = 0, failed = 0, blocked = 0, running = 0, reused = 0
    private var startedAt: [JobID: Date] = [:]
    private var lastDraw = Date.distantPast

    init(sweep: String, interactive: Bool) {
        self.sweep = sweep
        self.interactive = interactive
    }

    var elapsed: TimeInterval { Date().timeIntervalSince(start) }

    func begin(toRun: Int, reused: Int, cached: Int, slots: Int) {
        lock.lock(); defer { lock.unlock() }
        total = toRun
        self.reused = reused
        write("sweep \(sweep): \(toRun) job(s) to run, \(reused - cached) reused, \(cached) cached, \(slots) at a time\n")
    }

    func handle(_ event: SchedulerEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case let .started(id, stage, attempt):
            running += 1
            startedAt[id] = Date()
            if !interactive { write("start   \(stage) \(id)\(attempt > 1 ? " (attempt \(attempt))" : "")\n") }
        case let .finished(id, stage, outcome, willRetry):
            running -= 1
            let seconds = startedAt.removeValue(forKey: id).map { Date().timeIntervalSince($0) } ?? 0
            if outcome.status == .done { done += 1 } else if !willRetry && outcome.status != .interrupted { failed += 1 }
            let verb = outcome.status == .done ? "done   " : (willRetry ? "retry  " : outcome.status.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))
            let firstLine = outcome.error.map { " — " + ($0.split(separator: "\n").first.map(String.init) ?? "") } ?? ""
            if !interactive || outcome.status != .done {
                clearLine()
                write("\(verb) \(stage) \(id) (\(String(format: "%.1f", seconds)) s)\(outcome.status == .done ? "" : firstLine)\n")
            }
        case let .blocked(ids, because):
            blocked += ids.count
            clearLine()
            write("blocked \(ids.count) job(s) after \(because) failed\n")
        case let .stopping(reason):
            clearLine()
            write("stopping: \(reason); terminating \(running) running job(s)\n")
        }
        draw()
    }

    func end() {
        lock.lock(); defer { lock.unlock() }
        clearLine()
    }

    private func draw() {
        guard interactive, Date().timeIntervalSince(lastDraw) > 0.1 || done + failed + blocked == total else { return }
        lastDraw = Date()
        let finished = done + failed + blocked
        var eta = "—"
        if done > 0, finished < total {
            eta = Progress.clock(elapsed / Double(finished) * Double(total - finished))
        }
        write("\r\u{1B}[K[\(sweep)] \(done) done / \(running) running / \(failed) failed / \(blocked) blocked / \(total) total  elapsed \(Progress.clock(elapsed))  ETA \(eta)")
    }

    private func clearLine() {
        if interactive { write("\r\u{1B}[K") }
    }

    private func write(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }

    static func clock(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return String(format: "%.1f s", seconds) }
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
