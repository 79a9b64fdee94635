import Foundation
import Testing

/// `xexp sweep SPEC --set P=V --grid P=a,b`: the spec changed for one invocation, validated like the file, errors
/// naming the override, the change recorded in the invocation.
@Suite("command-line overrides", .serialized)
struct OverrideTests {
    func exampleBox() throws -> Sandbox {
        let box = Sandbox()
        box.write("example.json", try String(contentsOf: repositoryRoot.appendingPathComponent("Experiments/example.json"), encoding: .utf8))
        return box
    }

    @Test func setReplacesAnAxisAndGridMakesOne() throws {
        let box = try exampleBox()
        // example: samples × scale (2 × 2) × 2 seeds = 8 trials.
        let set = try box.run("sweep", "example.json", "--dry-run", "--set", "scale=3")
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.hasPrefix("sweep example: 4 trial(s)"), "\(set.stdout)")
        #expect(set.stdout.contains("scale=3") && !set.stdout.contains("scale=2.5"))
        let grid = try box.run("sweep", "example.json", "--dry-run", "--grid", "scale=1,2,3", "--grid", "noise=0,0.5")
        #expect(grid.stdout.hasPrefix("sweep example: 24 trial(s)"), "\(grid.stdout)")
        // Setting a base parameter changes the jobs that read it, nothing else: the shared generate jobs stay.
        let base = try box.run("sweep", "example.json", "--dry-run", "--set", "noise=0.2")
        #expect(base.stdout.hasPrefix("sweep example: 8 trial(s), 12 job(s)"), "\(base.stdout)")
    }

    @Test func anOverrideIsRecordedAndItsRunIsItsOwn() throws {
        let box = try exampleBox()
        let run = try box.run("sweep", "example.json", "--set", "scale=3")
        #expect(run.status == 0, "\(run.stderr)")
        let table = try box.run("table", "example", "--format", "csv").stdout.split(separator: "\r\n")
        #expect(table.count == 3, "\(table)")  // header and samples 200, 2000 at scale 3
        // scale no longer varies, so the table keys rows on samples alone; the mean of 3 × U(0, 1) is about 1.5 (2.5 gave 1.25).
        #expect(table[0].hasPrefix("samples,score.running_mean"), "\(table)")
        let means = table.dropFirst().compactMap { Double($0.split(separator: ",")[3]) }
        #expect(means.count == 2 && means.allSatisfy { $0 > 1.4 && $0 < 1.6 }, "\(table)")
        let log = try box.run("log", "example")
        #expect(log.stdout.contains("set=scale=3"), "\(log.stdout)")
        // The file is untouched: the next plain run is the spec as written.
        let plain = try box.run("sweep", "example.json", "--dry-run")
        #expect(plain.stdout.hasPrefix("sweep example: 8 trial(s)"))
    }

    @Test func errorsNameTheOverrideAndWriteNothing() throws {
        let box = Sandbox()
        box.write("t.json", #"{"name": "t", "base": {"preset": "smoke"}, "grid": {"tokens": [144]}}"#)
        let bad = try box.run("sweep", "t.json", "--set", "tokens=7")
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("xexp: t.json: --set tokens=7: 7 is not a valid token count"), "\(bad.stderr)")
        let typo = try box.run("sweep", "t.json", "--set", "projecter=mlp")
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("--set projecter=mlp: \"projecter\" is not a parameter") && typo.stderr.contains("did you mean 'projector'"), "\(typo.stderr)")
        let grid = try box.run("sweep", "t.json", "--grid", "tokens=144,,576")
        #expect(grid.status == 2)
        #expect(grid.stderr.contains("--grid tokens=144,,576: empty value"), "\(grid.stderr)")
        let shape = try box.run("sweep", "t.json", "--set", "tokens")
        #expect(shape.status == 2)
        #expect(shape.stderr == "xexp: --set tokens: expected PARAM=VALUE, e.g. --set tokens=144\n", "\(shape.stderr)")
        #expect(!box.exists("Results"))
    }
}

/// Bash completion: sweep names from the store (the one --db names, else the project's), spec files for `sweep`.
@Suite("shell completion", .serialized)
struct CompletionTests {
    @Test func completesSweepNamesFromTheStoreAndSpecFiles() throws {
        let box = Sandbox()
        box.write("example.json", try String(contentsOf: repositoryRoot.appendingPathComponent("Experiments/example.json"), encoding: .utf8))
        #expect(try box.run("sweep", "example.json").status == 0)
        #expect(try box.run("sweep", "example.json", "--db", "other/s.sqlite", "--set", "noise=0.3").status == 0)
        let script = try box.run("--generate-completion-script", "bash")
        #expect(script.status == 0)
        box.write("xexp.bash", script.stdout)
        func complete(_ line: [String]) throws -> [String] {
            let words = line.map { "'\($0)'" }.joined(separator: " ")
            let shell = """
                source ./xexp.bash
                COMP_WORDS=(\(words)); COMP_CWORD=\(line.count - 1); COMP_LINE="\(line.joined(separator: " "))"; COMP_POINT=${#COMP_LINE}
                _xexp; printf '%s\\n' "${COMPREPLY[@]}"
                """
            let r = try box.run(binary: URL(fileURLWithPath: "/bin/bash"), ["-c", "PATH=\"$0:$PATH\"; " + shell, xexpBinary.deletingLastPathComponent().path])
            return r.stdout.split(separator: "\n").map(String.init)
        }
        #expect(try complete(["xexp", "table", "ex"]) == ["example"])
        #expect(try complete(["xexp", "diff", "example", "e"]) == ["example"])
        #expect(try complete(["xexp", "table", "--db", "nowhere.sqlite", "ex"]).isEmpty)
        #expect(script.stdout.contains("json"), "sweep completes .json files")
    }
}
