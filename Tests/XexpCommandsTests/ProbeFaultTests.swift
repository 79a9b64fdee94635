import Foundation
import Testing

/// Inputs a reliability probe found that broke `xexp sweep`, run as a user would.
@Suite("xexp command line: reliability probe faults", .serialized)
struct CommandLineProbeFaultTests {
    @Test func nulInAParameterExitsTwo() throws {
        let box = Sandbox()
        box.write("nul.json", #"{"name": "nul", "grid": {"a": ["x\u0000y", "x"]}, "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#)
        let r = try box.run("sweep", "nul.json", "--dry-run")
        #expect(r.status == 2)
        #expect(r.stderr == "xexp: nul.json: /grid/a/0: contains a NUL character (\\u0000), which cannot reach a program: argv and environment strings end at the first NUL; remove it\n")
    }

    /// 200 000 trials: refused at once with the count and the way to raise the limit, before anything is expanded.
    @Test func tooManyTrialsExitTwoNamingTheCountAndTheLimit() throws {
        let box = Sandbox()
        let a = (0..<500).map(String.init).joined(separator: ","), b = (0..<400).map(String.init).joined(separator: ",")
        box.write("big.json", #"{"name": "big", "grid": {"a": [\#(a)], "b": [\#(b)]}, "stages": [{"name": "s", "command": ["echo", "{a}", "{b}"]}]}"#)
        let started = Date()
        let r = try box.run("sweep", "big.json", "--dry-run")
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("xexp: big.json: /grid: this spec describes 200000 trials"), "\(r.stderr)")
        #expect(r.stderr.contains("--max-trials"))
        #expect(r.stdout.isEmpty)
        #expect(Date().timeIntervalSince(started) < 30)

        // The limit is an option of `sweep`.
        box.write("twelve.json", #"{"name": "twelve", "grid": {"a": [1, 2, 3, 4, 5, 6]}, "seeds": [0, 1], "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#)
        let refused = try box.run("sweep", "twelve.json", "--dry-run", "--max-trials", "11")
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("12 trials"), "\(refused.stderr)")
        #expect(refused.stderr.contains("limit of 11"), "\(refused.stderr)")
        let allowed = try box.run("sweep", "twelve.json", "--dry-run", "--max-trials", "12")
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.hasPrefix("sweep twelve: 12 trial(s)"))
        let bad = try box.run("sweep", "twelve.json", "--dry-run", "--max-trials", "0")
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--max-trials must be at least 1"), "\(bad.stderr)")
    }

    /// The probe's 1 MiB argument `{a{a{a…` took far longer than a minute to validate; the process is killed after
    /// one (a linear scan needs well under a second).
    @Test func aOneMebibyteArgumentValidatesPromptly() throws {
        let box = Sandbox()
        let argument = String(repeating: "{a", count: 524_288)
        box.write("long.json", #"{"name": "long", "base": {"a": 1}, "stages": [{"name": "s", "command": ["echo", "\#(argument)", "{a}"]}]}"#)
        let (process, out, _) = try box.start(["sweep", "long.json", "--dry-run"])
        nonisolated(unsafe) var output = Data()
        let reader = Thread { output = out.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let finished = waitUntil(60) { !process.isRunning }
        if !finished { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        #expect(finished, "validation of a 1 MiB argument took more than a minute")
        #expect(process.terminationStatus == 0)
        #expect(String(decoding: output, as: UTF8.self).contains("echo \(argument) 1\n"))
    }
}
