import Foundation

/// What Slurm says about one job.
public struct SlurmJobReport: Sendable, Equatable {
    public enum Source: Sendable { case queue, accounting }
    public var slurmID: String
    /// The state's name as Slurm prints it, without sacct's "by UID" suffix (`PENDING`, `COMPLETED`, `FAILED`, …).
    public var state: String
    /// squeue's reason (`Dependency`, `DependencyNeverSatisfied`, …) or sacct's exit code (`3:0`).
    public var detail: String?
    public var node: String?
    public var source: Source
}

/// How Slurm's job states map onto xexp's.
public enum SlurmPhase: Sendable, Equatable {
    /// Queued, running, or on its way back to the queue (PREEMPTED/REQUEUED): still xexp's `running`.
    case active
    case completed
    /// FAILED, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, …: a failure that `retries` may run again.
    case failed
    /// TIMEOUT, DEADLINE: Slurm's time limit (xexp's `timeout`, a failure too).
    case timedOut
    /// CANCELLED: xexp's `interrupted`.
    case cancelled

    public init(state: String, source: SlurmJobReport.Source) {
        switch state {
        case "COMPLETED": self = .completed
        case "CANCELLED": self = .cancelled
        case "TIMEOUT", "DEADLINE": self = .timedOut
        case "FAILED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "REVOKED", "SPECIAL_EXIT": self = .failed
        // A preempted job is requeued (and back in squeue) or, under PreemptMode=CANCEL, gone for good.
        case "PREEMPTED": self = source == .queue ? .active : .failed
        default: self = .active  // PENDING, RUNNING, COMPLETING, CONFIGURING, REQUEUED, SUSPENDED, RESIZING, …
        }
    }
}

/// An `sbatch`/`squeue`/`sacct`/`scancel` call that failed, with what Slurm said.
public struct SlurmError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// A busy or unreachable controller: try again later rather than fail the job.
    public var isTransient: Bool
}

/// The Slurm client commands, run as processes. Nothing here knows the store.
public struct SlurmClient: Sendable {
    public init() {}

    /// True when the client commands are installed and a controller answers.
    public static var isReachable: Bool {
        (try? SlurmClient.run(["sinfo", "-h", "-o", "%P"]))?.status == 0
    }

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a Slurm command; throws only if it cannot be started. posix_spawn rather than Foundation's Process,
    /// which costs ~45 ms per launch here (the Slurm client itself takes ~10): it was most of the submission time.
    static func run(_ argv: [String]) throws -> Output {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0 else { throw SlurmError(description: "cannot run \(argv[0]): no pipe (\(String(cString: strerror(errno))))", isTransient: true) }
        guard pipe(&errPipe) == 0 else {
            close(outPipe[0]); close(outPipe[1])
            throw SlurmError(description: "cannot run \(argv[0]): no pipe (\(String(cString: strerror(errno))))", isTransient: true)
        }
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var cArgs = argv.map { strdup($0) }
        cArgs.append(nil)
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
        posix_spawn_file_actions_destroy(&actions)
        cArgs.forEach { free($0) }
        close(outPipe[1])
        close(errPipe[1])
        guard rc == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            throw SlurmError(description: "\(argv[0]) not found on PATH; the Slurm backend needs Slurm's client commands (for a local test cluster: scripts/slurm-cluster start)", isTransient: false)
        }
        // Drain both pipes together so a chatty command cannot block on a full one.
        var out = [UInt8](), err = [UInt8]()
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var open = 2
        while open > 0 {
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue } else { break } }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n > 0 {
                    if i == 0 { out += buffer[0..<n] } else { err += buffer[0..<n] }
                } else if n == 0 || errno != EINTR {
                    close(fds[i].fd)
                    fds[i].fd = -1
                    open -= 1
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Output(status: code, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func isTransient(_ message: String) -> Bool {
        let m = message.lowercased()
        return ["temporarily unavailable", "socket timed out", "unable to contact", "connection refused", "try again",
                "communication connection failure", "slurmctld: not responding"].contains { m.contains($0) }
    }

    /// Submits a batch script; returns the Slurm job id.
    public func submit(script: URL, dependencies: [String], extraArguments: [String]) throws -> String {
        var argv = ["sbatch", "--parsable"]
        if !dependencies.isEmpty {
            // Without kill-on-invalid-dep a job whose upstream failed would stay pending forever on some clusters.
            argv += ["--dependency=afterok:" + dependencies.joined(separator: ":"), "--kill-on-invalid-dep=yes"]
        }
        argv += extraArguments + [script.path]
        let out = try SlurmClient.run(argv)
        let id = out.stdout.split(separator: "\n").last.map { String($0.split(separator: ";")[0]).trimmingCharacters(in: .whitespaces) } ?? ""
        guard out.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            let message = out.stderr.isEmpty ? out.stdout : out.stderr
            throw SlurmError(description: "sbatch failed: \(message)", isTransient: SlurmClient.isTransient(message))
        }
        return id
    }

    /// The state of each of `ids` Slurm still knows: squeue first (it holds finished jobs for MinJobAge, 300 s by
    /// default), then accounting for the rest. A job neither knows is absent (accounting may lag; callers wait).
    public func states(of ids: [String]) throws -> [String: SlurmJobReport] {
        var reports: [String: SlurmJobReport] = [:]
        for chunk in SlurmClient.chunks(ids) {
            let out = try SlurmClient.run(["squeue", "-h", "-t", "all", "-j", chunk.joined(separator: ","), "-o", "%i|%T|%r|%N"])
            if out.status != 0 && !out.stderr.contains("Invalid job id") {
                throw SlurmError(description: "squeue failed: \(out.stderr)", isTransient: true)
            }
            for line in out.stdout.split(separator: "\n") {
                let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                guard f.count >= 4 else { continue }
                reports[f[0]] = SlurmJobReport(slurmID: f[0], state: f[1], detail: f[2], node: f[3].isEmpty ? nil : f[3], source: .queue)
            }
        }
        let missing = ids.filter { reports[$0] == nil }
        if !missing.isEmpty {
            for (id, report) in try accounting(missing) where reports[id] == nil { reports[id] = report }
        }
        return reports
    }

    /// Without slurmdbd, `sacct` refuses ("accounting storage is disabled"); `sacct -c` reads the job completion
    /// file of `JobCompType=jobcomp/filetxt` instead. Which one works is found out once per process.
    private static let accountingMode = Locked<[String]?>(nil)

    func accounting(_ ids: [String]) throws -> [String: SlurmJobReport] {
        var reports: [String: SlurmJobReport] = [:]
        for chunk in SlurmClient.chunks(ids) {
            let fields = ["-X", "-n", "-P", "-j", chunk.joined(separator: ","), "-o", "JobIDRaw,State,ExitCode,NodeList"]
            var out: Output
            if let mode = SlurmClient.accountingMode.get() {
                out = try SlurmClient.run(["sacct"] + mode + fields)
            } else {
                out = try SlurmClient.run(["sacct"] + fields)
                if out.status != 0 && out.stderr.contains("accounting storage is disabled") {
                    out = try SlurmClient.run(["sacct", "-c"] + fields)
                    if out.status == 0 { SlurmClient.accountingMode.set(["-c"]) }
                } else if out.status == 0 {
                    SlurmClient.accountingMode.set([])
                }
            }
            // No accounting at all: squeue alone decides, and lost jobs time out after the lag tolerance.
            guard out.status == 0 else { return reports }
            for line in out.stdout.split(separator: "\n") {
                let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                guard f.count >= 3, chunk.contains(f[0]) else { continue }
                let state = String(f[1].split(separator: " ").first ?? "")
                reports[f[0]] = SlurmJobReport(slurmID: f[0], state: state, detail: f[2],
                                               node: f.count > 3 && !f[3].isEmpty && f[3] != "None assigned" ? f[3] : nil, source: .accounting)
            }
        }
        return reports
    }

    /// The user's jobs in the queue whose name starts with `prefix`: id, name, state and batch script path.
    public func queuedJobs(namePrefix prefix: String) throws -> [(id: String, name: String, state: String, script: String)] {
        let user = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? String(cString: getpwuid(getuid()).pointee.pw_name)
        let out = try SlurmClient.run(["squeue", "-h", "-t", "all", "-u", user, "-o", "%i|%j|%T|%o"])
        guard out.status == 0 else { throw SlurmError(description: "squeue failed: \(out.stderr)", isTransient: true) }
        return out.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4, f[1].hasPrefix(prefix) else { return nil }
            return (f[0], f[1], f[2], f[3])
        }
    }

    /// Cancels jobs (already finished ones are ignored by Slurm).
    public func cancel(_ ids: [String]) throws {
        for chunk in SlurmClient.chunks(ids) {
            let out = try SlurmClient.run(["scancel"] + chunk)
            if out.status != 0 && !out.stderr.contains("Invalid job id") && !out.stderr.contains("already completing or completed") {
                throw SlurmError(description: "scancel failed: \(out.stderr)", isTransient: SlurmClient.isTransient(out.stderr))
            }
        }
    }

    static func chunks(_ ids: [String], size: Int = 200) -> [[String]] {
        stride(from: 0, to: ids.count, by: size).map { Array(ids[$0..<min($0 + size, ids.count)]) }
    }
}

/// A value shared between threads behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ newValue: Value) { lock.lock(); value = newValue; lock.unlock() }
}
