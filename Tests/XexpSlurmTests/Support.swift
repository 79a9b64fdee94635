import Foundation
import GRDB
import Testing
@testable import XexpOrchestration

/// Cluster tests run only where a Slurm controller answers (`sinfo`); `.ci/run` starts one with scripts/slurm-cluster.
let clusterIsUp = SlurmClient.isReachable

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The built `xexp` binary, beside the test bundle (`swift build` builds it).
let xexpBinary: URL = {
    let candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("xexp"),
                      repositoryRoot.appendingPathComponent(".build/debug/xexp")]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
}()

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A temporary directory to run xexp in (default store ./Results/xexp.sqlite), removed at the end. Slurm jobs read
/// and write it directly: on this single-node cluster /tmp is "shared".
final class Sandbox {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("xexp-slurm-\(UUID().uuidString)")
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
    func lines(_ name: String) -> [String] { read(name).split(separator: "\n").map(String.init) }

    func start(_ args: [String]) throws -> (Process, Pipe, Pipe) {
        #expect(FileManager.default.isExecutableFile(atPath: xexpBinary.path), "build xexp first: swift build")
        let process = Process()
        process.executableURL = xexpBinary
        process.arguments = args
        process.currentDirectoryURL = url
        var env = ProcessInfo.processInfo.environment
        env["XEXP_DB"] = nil
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    func run(_ args: String...) throws -> RunResult {
        let (process, out, err) = try start(args)
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return RunResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }

    func store() throws -> Store { try Store.open(at: url.appendingPathComponent("Results/xexp.sqlite")) }
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held.
@discardableResult
func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

extension Store {
    /// Every attempt's Slurm job id, per job (for "nothing was submitted twice").
    func slurmAttempts() throws -> [JobID: [String]] {
        try pool.read { db in
            var result: [JobID: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT job_id, slurm_job_id FROM attempts WHERE slurm_job_id IS NOT NULL ORDER BY job_id, attempt") {
                result[row["job_id"], default: []].append(row["slurm_job_id"])
            }
            return result
        }
    }
}

/// Slurm's current state of each job id (squeue, then accounting).
func slurmStates(_ ids: [String]) throws -> [String: String] {
    try SlurmClient().states(of: ids).mapValues(\.state)
}
