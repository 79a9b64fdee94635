import CSpawn
import Foundation

/// Starts job processes (through the C shepherd in `CSpawn`) and waits for them.
enum ProcessLauncher {
    struct LaunchError: Error, CustomStringConvertible { var description: String }

    /// Resolves `program` the way a shell would: a path containing '/' is taken relative to `cwd`; a bare name is
    /// looked up in the job's PATH. Done here rather than with execvp, which is not safe to call after fork.
    static func resolveExecutable(_ program: String, cwd: URL, path: String?) -> String? {
        let fm = FileManager.default
        if program.contains("/") {
            let full = program.hasPrefix("/") ? program : cwd.appendingPathComponent(program).path
            return fm.isExecutableFile(atPath: full) ? full : nil
        }
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = (dir.hasPrefix("/") ? String(dir) : cwd.appendingPathComponent(String(dir)).path) + "/" + program
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue, fm.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    /// Resolved executables by (program, cwd, PATH): a sweep runs the same few programs thousands of times.
    nonisolated(unsafe) private static var resolved: [String: String] = [:]
    private static let resolvedLock = NSLock()

    static func cachedExecutable(_ program: String, cwd: URL, path: String?) -> String? {
        let key = program + "\u{0}" + cwd.path + "\u{0}" + (path ?? "")
        resolvedLock.lock()
        if let hit = resolved[key] { resolvedLock.unlock(); return hit }
        resolvedLock.unlock()
        guard let found = resolveExecutable(program, cwd: cwd, path: path) else { return nil }
        resolvedLock.lock()
        resolved[key] = found
        resolvedLock.unlock()
        return found
    }

    /// Creates or empties a small file without Foundation's temporary-file-and-fsync dance (one per job adds up).
    static func writeFile(_ url: URL, _ text: String) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LaunchError(description: "cannot write \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard n > 0 else { throw LaunchError(description: "cannot write \(url.path): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Starts the command; returns the pid of its shepherd, which leads the job's process group.
    static func launch(argv: [String], environment: [String: String], cwd: URL, stdout: URL, stderr: URL) throws -> pid_t {
        guard let executable = cachedExecutable(argv[0], cwd: cwd, path: environment["PATH"]) else {
            throw LaunchError(description: "command not found: \(argv[0]) (looked in \(argv[0].contains("/") ? cwd.path : "PATH")); check the stage's \"command\"")
        }
        var cArgs = argv.map { strdup($0) }
        cArgs.append(nil)
        var cEnv = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
        cEnv.append(nil)
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = xexp_spawn(executable, cArgs, cEnv, cwd.path, stdout.path, stderr.path, &pid)
        guard rc == 0 else { throw LaunchError(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Blocks until `pid` ends; returns its exit code or the signal that killed it, and what it used (`wait4`:
    /// peak RSS of the process and the descendants it waited for, user + system CPU).
    static func wait(_ pid: pid_t) -> (exitCode: Int32?, signal: Int32?, resources: ResourceUsage?) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            if errno != EINTR { return (nil, nil, nil) }
        }
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let resources = ResourceUsage(peakRSSBytes: Int64(usage.ru_maxrss) * 1024, cpuSeconds: cpu)
        // WIFEXITED / WTERMSIG are macros Swift cannot import.
        let termination = status & 0x7f
        if termination == 0 { return ((status >> 8) & 0xff, nil, resources) }
        return (nil, termination, resources)
    }
}

/// Reads the JSON lines a job appended to `$XEXP_METRICS`.
public enum MetricsFile {
    public struct FormatError: Error, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "metrics line \(line): \(message)" }
    }

    /// Each non-empty line must be a JSON object of metric names to numbers, optionally with an integer "step".
    /// `NaN`, `Infinity` and `-Infinity` are numbers here (Python's `json.dumps` writes them for a diverged run):
    /// a diverged loss is a result, recorded and shown as such.
    public static func parse(_ text: String) throws(FormatError) -> [MetricPoint] {
        var points: [MetricPoint] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let value: JSONValue
            do { value = try JSONParser.parse(trimmed, allowingNonFiniteNumbers: true) } catch {
                throw FormatError(line: i + 1, message: "not valid JSON (\(error.message) at column \(error.column)): \(trimmed.prefix(120))")
            }
            guard case .object(let members) = value else {
                throw FormatError(line: i + 1, message: "expected a JSON object such as {\"loss\": 0.5, \"step\": 10}, found \(value.kindName)")
            }
            var step: Int?
            if let s = value["step"] {
                // Int(exactly:): a step such as 1e20 is no Int, and converting it would trap the scheduler.
                guard case .number(let d, _) = s, let n = Int(exactly: d) else {
                    throw FormatError(line: i + 1, message: "\"step\" must be an integer of magnitude below 2^63, found \(s.jsonText)")
                }
                step = n
            }
            for member in members where member.key != "step" {
                guard case .number(let d, _) = member.value else {
                    throw FormatError(line: i + 1, message: "metric \"\(member.key)\" must be a number, found \(member.value.kindName)")
                }
                points.append(MetricPoint(seq: i + 1, name: member.key, value: d, step: step))
            }
        }
        return points
    }
}
