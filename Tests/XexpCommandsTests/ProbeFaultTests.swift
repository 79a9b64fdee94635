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
