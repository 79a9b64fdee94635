import Foundation
import Testing

@Suite("xexp command line", .serialized)
struct CommandLineTests {
    @Test func badSpecExitsTwoAndWritesNothing() throws {
        let box = Sandbox()
        box.write("bad.json", #"{"name": "x", "gird": {"a": [1]}, "stages": [{"name": "s", "command": ["true"]}]}"#)
        let r = try box.run("sweep", "bad.json")
        #expect(r.status == 2)
        #expect(r.stderr == "xexp: bad.json: /gird: unknown key \"gird\" in the spec; did you mean 'grid'?\n")
        #expect(!box.exists("Results"))

        box.write("syntax.json", "{\n  \"name\": \"x\",\n  \"stages\": [\n}")
        let s = try box.run("sweep", "syntax.json")
        #expect(s.status == 2)
        #expect(s.stderr.hasPrefix("xexp: syntax.json: line 4, column 1: invalid JSON"))

        let missing = try box.run("sweep", "nope.json")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.json: /: no such file"))
        #expect(!box.exists("Results"))
    }

    /// Argument errors exit 2 as the README and --help say (ArgumentParser's own status is 64), and a mistyped
    /// subcommand gets the nearest one.
    @Test func argumentErrorsExitTwoWithASuggestion() throws {
        let box = Sandbox()
        let typo = try box.run("swep", "x.json")
        #expect(typo.status == 2)
        #expect(typo.stderr.hasPrefix("Error: unknown subcommand 'swep' (did you mean 'sweep'?)"), "\(typo.stderr)")
        let missing = try box.run("table")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("Missing expected argument"), "\(missing.stderr)")
        let option = try box.run("table", "x", "--bogus")
        #expect(option.status == 2)
        #expect(try box.run("--version").status == 0)
        #expect(try box.run("help", "sweep").status == 0)
        #expect(!box.exists("Results"))
    }

    /// `-o -` is standard output (not a file named "-"), and a failed write to standard output (a full disk) is an
    /// error, not exit 0 with the output lost.
    @Test func standardOutputAndWriteFailures() throws {
        let box = Sandbox()
        box.write("example.json", try String(contentsOf: repositoryRoot.appendingPathComponent("Experiments/example.json"), encoding: .utf8))
        #expect(try box.run("sweep", "example.json").status == 0)
        let dash = try box.run("export", "example", "-o", "-")
        #expect(dash.status == 0)
        #expect(dash.stdout.hasPrefix("samples,scale,"))
        #expect(!box.exists("-"))
        for args in [["table", "example"], ["export", "example"], ["status"], ["log"]] {
            let full = try box.run(binary: URL(fileURLWithPath: "/bin/sh"), ["-c", "\"$0\" \"$@\" > /dev/full", xexpBinary.path] + args)
            #expect(full.status == 1, "\(args): \(full.stderr)")
            #expect(full.stderr.contains("cannot write the output: No space left on device"), "\(args): \(full.stderr)")
        }
        #expect(try box.run("plot", "example", "--x", "samples", "--y", "score.mean", "-o", "-", "--gnuplot").status == 2)
    }

    /// The default store belongs to the project, not to the current directory: a sweep started from Experiments/
    /// reuses the store at the project's Results/, and the hints after a --db run name that store.
    @Test func defaultStoreIsTheProjects() throws {
        let box = Sandbox()
        let spec = try String(contentsOf: repositoryRoot.appendingPathComponent("Experiments/example.json"), encoding: .utf8)
        box.write("Experiments/example.json", spec)
        #expect(try box.run("sweep", "Experiments/example.json").status == 0)
        let inside = try box.run(binary: URL(fileURLWithPath: "/bin/sh"), ["-c", "cd Experiments && \"$0\" sweep example.json", xexpBinary.path])
        #expect(inside.status == 0, "\(inside.stderr)")
        #expect(inside.stdout.contains("0 ran, 12 reused"), "\(inside.stdout)")
        #expect(!box.exists("Experiments/Results"))
        let elsewhere = try box.run("sweep", "Experiments/example.json", "--db", "other/s.sqlite")
        #expect(elsewhere.stdout.contains("results: xexp table example --db other/s.sqlite"), "\(elsewhere.stdout)")
    }

    @Test func exampleSweepEndToEnd() throws {
        let box = Sandbox()
        let spec = try String(contentsOf: repositoryRoot.appendingPathComponent("Experiments/example.json"), encoding: .utf8)
        box.write("Experiments/example.json", spec)

        let dry = try box.run("sweep", "Experiments/example.json", "--dry-run")
        #expect(dry.status == 0)
        #expect(dry.stdout.hasPrefix("sweep example: 8 trial(s), 12 job(s), 12 to run"))
        #expect(dry.stdout.contains("shared by 2 trials"))
        #expect(dry.stdout.contains("\nCommand-stage example: a data stage"), "the spec's description is shown")
        #expect(!box.exists("Results"))

        let run = try box.run("sweep", "Experiments/example.json")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("12 jobs — 12 ran, 0 reused, 0 cached, 0 failed"))
        #expect(box.exists("Results/xexp.sqlite"))

        let again = try box.run("sweep", "Experiments/example.json")
        #expect(again.status == 0)
        #expect(again.stdout.contains("12 jobs — 0 ran, 12 reused"))

        let table = try box.run("table", "example", "--format", "csv")
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\r\n").map(String.init)
        #expect(lines[0] == "samples,scale,score.running_mean,score.running_mean_std,score.mean,score.mean_std,score.score,score.score_std,score.var,score.var_std,n,status")
        #expect(lines.count == 5)

        let export = try box.run("export", "example", "--long", "-o", "long.csv")
        #expect(export.status == 0)
        #expect(box.read("long.csv").hasPrefix("samples,scale,seed,metric,value\r\n"))

        let plot = try box.run("plot", "example", "--x", "samples", "--y", "score.mean", "--by", "scale", "-o", "plot.csv", "--gnuplot")
        #expect(plot.status == 0, "\(plot.stderr)")
        #expect(box.read("plot.csv").hasPrefix("samples,score.mean[scale=1],score.mean[scale=1]_std,score.mean[scale=2.5]"))
        #expect(box.exists("plot.csv.gp"))

        let status = try box.run("status")
        #expect(status.stdout.contains("example"))
        #expect(try box.run("status", "example").stdout.contains("\nCommand-stage example: a data stage"))
        let diff = try box.run("diff", "example@1", "example", "--only-changed")
        #expect(diff.status == 0)
        #expect(diff.stdout.hasPrefix("same parameters and spec\nrows matched on: samples, scale\n\n"), "\(diff.stdout)")
        #expect(diff.stdout.split(separator: "\n").count == 4)  // the two lines above, the table's header and rule: nothing changed

        let unknown = try box.run("table", "exampel")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("did you mean 'example'?"))
    }

    /// The spec for the kill tests: 10 jobs of ~0.4 s, each logging its start to runs.log and reporting i × 2.
    static let slowSpec = """
        {"name": "slow", "grid": {"i": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]},
         "stages": [{"name": "work", "command": ["sh", "-c", "echo {i} >> runs.log; echo $$ >> pids.log; sleep 0.4; echo '{\\"double\\": '$(( {i} * 2 ))'}' >> $XEXP_METRICS"]}]}
        """

    @Test func sigkillMidSweepThenResumeLosesNothing() throws {
        let box = Sandbox()
        box.write("slow.json", Self.slowSpec)
        let (process, _, _) = try box.start(["sweep", "slow.json", "--jobs", "2"])
        // Wait until a few jobs are done, then kill xexp outright.
        let deadline = Date().addingTimeInterval(20)
        while box.read("runs.log").split(separator: "\n").count < 5 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        // No job process outlives xexp.
        Thread.sleep(forTimeInterval: 0.5)
        let pids = box.read("pids.log").split(separator: "\n").compactMap { Int32($0) }
        #expect(!pids.isEmpty)
        #expect(pids.allSatisfy { !isAlive($0) }, "job processes survived SIGKILL of xexp")

        // What the store says was done before the kill.
        let status = try box.run("status", "slow")
        let doneBefore = try box.run("export", "slow", "--long")
        let doneValues = Set(doneBefore.stdout.split(separator: "\r\n").dropFirst().compactMap { $0.split(separator: ",").first.map(String.init) })
        #expect(!doneValues.isEmpty, "\(status.stdout)")
        let startsBefore = box.read("runs.log").split(separator: "\n").map(String.init)

        let resumed = try box.run("sweep", "slow.json", "--jobs", "2")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let startsAfter = box.read("runs.log").split(separator: "\n").map(String.init).dropFirst(startsBefore.count)
        for i in doneValues { #expect(!startsAfter.contains(i), "job \(i) was done before the kill but ran again") }
        #expect(Set(startsBefore).union(startsAfter) == Set((1...10).map(String.init)))

        let table = try box.run("table", "slow", "--format", "csv")
        let fresh = Sandbox()
        fresh.write("slow.json", Self.slowSpec)
        #expect(try fresh.run("sweep", "slow.json").status == 0)
        #expect(try fresh.run("table", "slow", "--format", "csv").stdout == table.stdout)
        #expect(table.stdout.contains("10,20,1"))
    }

    @Test func sigintStopsCleanlyAndResumes() throws {
        let box = Sandbox()
        box.write("slow.json", Self.slowSpec)
        let (process, out, _) = try box.start(["sweep", "slow.json", "--jobs", "2"])
        let deadline = Date().addingTimeInterval(20)
        while box.read("runs.log").split(separator: "\n").count < 3 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let summary = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(summary.contains("interrupted"))
        let status = try box.run("status", "slow")
        #expect(status.stdout.contains("interrupted"))
        let resumed = try box.run("sweep", "slow.json")
        #expect(resumed.status == 0)
        #expect(try box.run("status", "slow").stdout.hasPrefix("slow: 10 jobs — 10 done"))
    }

    /// `--rerun` starts a job from scratch: state an earlier run left in its directory (here a "checkpoint" the
    /// command would resume from) is gone, while its logs stay.
    @Test func rerunStartsFromAnEmptyJobDirectory() throws {
        let box = Sandbox()
        box.write("r.json", #"""
            {"name": "r", "stages": [{"name": "s", "command": ["sh", "-c", "if [ -e {job.dir}/checkpoint ]; then echo '{\"resumed\": 1}'; else echo '{\"resumed\": 0}'; fi >> $XEXP_METRICS; echo state > {job.dir}/checkpoint; echo ran"]}]}
            """#)
        #expect(try box.run("sweep", "r.json").status == 0)
        #expect(try box.run("sweep", "r.json", "--rerun", "s").status == 0)
        let rows = try box.run("table", "r", "--format", "csv").stdout.split(separator: "\r\n")
        #expect(rows.first == "s.resumed,n,status" && rows.dropFirst().first?.hasPrefix("0,") == true, "the rerun resumed from the old state: \(rows)")
        let logs = try FileManager.default.subpathsOfDirectory(atPath: box.url.appendingPathComponent("Results/runs").path)
            .filter { $0.hasSuffix("stdout.log") }
        #expect(logs.count == 1)
        #expect(box.read("Results/runs/\(logs[0])") == "ran\nran\n", "logs keep every attempt")
    }

    @Test func secondSweepOnTheSameStoreIsRefused() throws {
        let box = Sandbox()
        box.write("slow.json", Self.slowSpec)
        let (process, _, _) = try box.start(["sweep", "slow.json", "--jobs", "1"])
        let deadline = Date().addingTimeInterval(20)
        while box.read("runs.log").isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let second = try box.run("sweep", "slow.json")
        #expect(second.status == 1)
        #expect(second.stderr.contains("another xexp process is using the store"))
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
    }

    @Test func failingJobsExitOneAndStatusShowsTheirErrors() throws {
        let box = Sandbox()
        box.write("f.json", #"{"name": "f", "grid": {"x": [1, 2]}, "stages": [{"name": "a", "command": ["sh", "-c", "test {x} = 1 || { echo broken input {x} >&2; exit 4; }"]}, {"name": "b", "after": ["a"], "command": ["true", "{x}"]}]}"#)
        let r = try box.run("sweep", "f.json")
        #expect(r.status == 1)
        let status = try box.run("status", "f")
        #expect(status.stdout.contains("failed  a"))
        #expect(status.stdout.contains("exited with status 4"))
        #expect(status.stdout.contains("broken input 2"))
        #expect(status.stdout.contains("blocked  b"))
    }
}
