import Foundation

/// The repository checkout these tests run in.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The debug `xexp` binary beside the test bundle (`swift build` builds it).
public let xexpBinary: URL = {
    let candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("xexp"),
                      repositoryRoot.appendingPathComponent(".build/debug/xexp")]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
}()

/// The optimised binary, for tests that train real models (`swift build -c release --product xexp`).
public let releaseBinary = repositoryRoot.appendingPathComponent(".build/release/xexp")

public struct RunResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// A temporary working directory to run `xexp` in as a user would (default store `./Results/xexp.sqlite`),
/// removed at the end.
public final class Sandbox {
    public let url: URL

    public init(prefix: String = "xexp-cli") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    public func write(_ name: String, _ text: String) -> URL {
        let file = url.appendingPathComponent(name)
        try! FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    public func read(_ name: String) -> String { (try? String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)) ?? "" }
    public func lines(_ name: String) -> [String] { read(name).split(separator: "\n").map(String.init) }
    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) }

    /// Starts xexp here with no stdin; `XEXP_DB` is cleared so the default store is used.
    public func start(_ args: [String], binary: URL = xexpBinary, environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: binary.path + " (build it first: swift build)"])
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = args
        process.currentDirectoryURL = url
        var env = ProcessInfo.processInfo.environment
        env["XEXP_DB"] = nil
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    public func run(_ args: String...) throws -> RunResult { try run(args) }
    public func run(binary: URL, _ args: [String]) throws -> RunResult { try run(args, binary: binary) }

    /// Runs xexp to the end, draining both pipes concurrently so a chatty child cannot block on a full pipe.
    public func run(_ args: [String], binary: URL = xexpBinary, environment: [String: String] = [:]) throws -> RunResult {
        let (process, out, err) = try start(args, binary: binary, environment: environment)
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return RunResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// True if `pid` exists and is not a zombie (a container's init may be slow to reap orphans).
public func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held.
@discardableResult
public func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}
