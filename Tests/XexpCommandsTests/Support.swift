import Foundation
import Testing

/// The built `xexp` binary (tests run it as a user would; `swift build` must have run first).
let xexpBinary: URL = {
    var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("xexp")]
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    candidates.append(root.appendingPathComponent(".build/debug/xexp"))
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
}()

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

final class Sandbox {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("xexp-cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ text: String) -> URL {
        let file = url.appendingPathComponent(name)
        try! FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func read(_ name: String) -> String { (try? String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)) ?? "" }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) }

    /// Starts xexp in this directory (so the default store is ./Results/xexp.sqlite).
    func start(_ args: [String], binary: URL = xexpBinary, environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        #expect(FileManager.default.isExecutableFile(atPath: binary.path), "build xexp first: swift build")
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
        try process.run()
        return (process, out, err)
    }

    func run(_ args: String...) throws -> RunResult { try run(args) }

    func run(binary: URL, _ args: [String]) throws -> RunResult { try run(args, binary: binary) }

    func run(_ args: [String], binary: URL = xexpBinary) throws -> RunResult {
        let (process, out, err) = try start(args, binary: binary)
        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return RunResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}

func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}
