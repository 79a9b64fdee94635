import Foundation
import Testing

/// Results history: an invocation's table keeps what it reported after later reruns, and diverged (non-finite)
/// metrics are results, not failures.
@Suite("results history and non-finite metrics", .serialized)
struct HistoryTests {
    /// Each run of `count` reports how many times it has run (a file outside the job directory counts), so a
    /// rerun changes its metric: `diff NAME@1 NAME` must show that change, and `table NAME@1` the first value.
    static let counterSpec = """
        {"name": "hist", "grid": {"k": [1, 2]},
         "stages": [{"name": "count", "command": ["sh", "-c", "echo {k} >> counter.log; n=$(wc -l < counter.log); echo '{\\"runs\\": '$n', \\"k\\": {k}}' >> $XEXP_METRICS"]}]}
        """

    @Test func rerunKeepsTheEarlierInvocationsResults() throws {
        let box = Sandbox()
        box.write("hist.json", Self.counterSpec)
        #expect(try box.run("sweep", "hist.json").status == 0)
        let first = try box.run("table", "hist", "--format", "csv").stdout
        let rerun = try box.run("sweep", "hist.json", "--rerun", "count")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        // The first invocation still shows what it reported; the second shows the rerun's values.
        #expect(try box.run("table", "hist@1", "--format", "csv").stdout == first)
        let second = try box.run("table", "hist", "--format", "csv").stdout
        #expect(second != first, "the rerun's table equals the first: \(second)")
        let diff = try box.run("diff", "hist@1", "hist", "--only-changed", "--format", "csv")
        #expect(diff.status == 0, "\(diff.stderr)")
        let rows = diff.stdout.split(separator: "\r\n").map(String.init)
        #expect(rows.count == 3, "\(diff.stdout)")  // header and the two trials' count.runs
        #expect(rows.dropFirst().allSatisfy { $0.contains("count.runs") })
        // `k` reports the same value on both attempts: not a change.
        #expect(!diff.stdout.contains("count.k"))
    }

    @Test func nonFiniteMetricsAreRecordedAndShown() throws {
        let box = Sandbox()
        box.write("nan.json", """
            {"name": "nan", "stages": [{"name": "fit", "command": ["sh", "-c", "echo '{\\"loss\\": NaN, \\"up\\": Infinity, \\"down\\": -Infinity, \\"ok\\": 1.5}' >> $XEXP_METRICS"]}]}
            """)
        let run = try box.run("sweep", "nan.json")
        #expect(run.status == 0, "\(run.stderr)")
        let csv = try box.run("table", "nan", "--format", "csv").stdout.split(separator: "\r\n").map(String.init)
        #expect(csv.count == 2, "\(csv)")
        let header = csv[0].split(separator: ",").map(String.init), values = csv[1].split(separator: ",").map(String.init)
        let cell = Dictionary(uniqueKeysWithValues: zip(header, values))
        #expect(cell["fit.loss"] == "NaN" && cell["fit.up"] == "inf" && cell["fit.down"] == "-inf" && cell["fit.ok"] == "1.5", "\(csv)")
        #expect(cell["status"] == "complete")
        let text = try box.run("table", "nan").stdout
        #expect(text.contains("nan") && text.contains("inf"), "\(text)")
        // A spec still refuses a non-finite value: there it is always a mistake.
        box.write("bad.json", #"{"name": "b", "base": {"x": NaN}, "stages": [{"name": "s", "command": ["true"]}]}"#)
        #expect(try box.run("sweep", "bad.json").status == 2)
    }
}

/// A store that cannot be written (a full disk, simulated with a file-size limit: `ulimit -f`, SIGXFSZ ignored so
/// writes fail with EFBIG as on a full disk) stops the sweep as a failure: exit 1 with the reason, not an interrupt.
@Suite("store write failures", .serialized)
struct StoreWriteFailureTests {
    @Test func aFullDiskIsAFailureNotAnInterrupt() throws {
        let box = Sandbox()
        let grid = (1...40).map(String.init).joined(separator: ", ")
        box.write("many.json", """
            {"name": "many", "grid": {"i": [\(grid)]},
             "stages": [{"name": "w", "command": ["sh", "-c", "for k in $(seq 1 200); do echo '{\\"metric_with_a_long_name_'$k'\\": {i}.5}'; done >> $XEXP_METRICS"]}]}
            """)
        let r = try box.run(binary: URL(fileURLWithPath: "/bin/bash"),
                            ["-c", "trap '' XFSZ; ulimit -f 300; exec \"$0\" sweep many.json --jobs 2", xexpBinary.path])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("cannot write to the store") && r.stderr.contains("Is the disk full?"), "\(r.stderr)")
        #expect(!r.stdout.contains("resumes where this stopped"), "\(r.stdout)")
        // With room again, the same command finishes the sweep.
        let again = try box.run("sweep", "many.json", "--jobs", "2")
        #expect(again.status == 0, "\(again.stderr)")
    }
}

/// An interrupt while the spec is still being planned is kept, not dropped. The sweep is started as a script's
/// background job is (SIGINT inherited ignored), so until xexp traps the signal itself, a SIGINT is lost: xexp must
/// trap it before planning. 50 000 trials take seconds to plan; the interrupt comes 0.2 s in.
@Suite("early interrupts", .serialized)
struct EarlyInterruptTests {
    @Test func aSigintDuringPlanningStopsTheSweep() throws {
        let box = Sandbox()
        let a = (0..<250).map(String.init).joined(separator: ","), b = (0..<200).map(String.init).joined(separator: ",")
        box.write("big.json", #"{"name": "big", "grid": {"a": [\#(a)], "b": [\#(b)]}, "stages": [{"name": "s", "command": ["sh", "-c", "echo {a} >> ran.log"]}]}"#)
        let (process, _, _) = try box.start(["-c", "trap '' INT; exec \"$0\" sweep big.json", xexpBinary.path], binary: URL(fileURLWithPath: "/bin/sh"))
        Thread.sleep(forTimeInterval: 0.2)
        kill(process.processIdentifier, SIGINT)
        let ended = waitUntil(90) { !process.isRunning }
        if !ended { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(ended, "the sweep ignored the SIGINT and kept running its 50 000 jobs")
        #expect(process.terminationStatus == 130)
        #expect(box.read("ran.log").isEmpty, "jobs ran after the interrupt")
    }
}
