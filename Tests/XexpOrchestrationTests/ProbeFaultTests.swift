import Foundation
import Testing
@testable import XexpOrchestration

/// Inputs a reliability probe found that broke xexp: each test reproduces one fault.
@Suite("Reliability probe faults")
struct ProbeFaultTests {
    // MARK: CSV

    /// Swift's "\r\n" is one Character, equal neither to "\r" nor to "\n"; a combining mark after a comma or quote
    /// likewise makes one Character that is no comma or quote. RFC 4180 is about bytes: each must be quoted.
    @Test func csvQuotesLineBreaksAndSeparatorsHiddenInOneCharacter() {
        #expect(CSV.field("a\r\nb") == "\"a\r\nb\"")
        #expect(CSV.field("a,\u{301}b") == "\"a,\u{301}b\"")
        #expect(CSV.field("\"\u{301}") == "\"\"\"\u{301}\"")
        #expect(CSV.field(" \u{301}x") == "\" \u{301}x\"")
        #expect(CSV.field("plain") == "plain")
        let table = ReportTable(columns: ["note", "x"], rows: [[.text("line 1\r\nline 2"), .number(1)]], keyColumns: 1)
        #expect(table.render(.csv) == "note,x\r\n\"line 1\r\nline 2\",1\r\n")
    }
}

extension ProbeFaultTests {
    // MARK: NUL

    /// argv and environment strings end at the first NUL: "x\u0000y" would run as "x", under another job id than "x".
    static let nulSpecs: [(String, String)] = [
        (#"{"name": "n", "grid": {"a": ["x\u0000y", "x"]}, "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#, "/grid/a/0"),
        (#"{"name": "n", "base": {"a": "\u0000"}, "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#, "/base/a"),
        (#"{"name": "n", "zip": {"a": ["x", "y\u0000"]}, "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#, "/zip/a/1"),
        (#"{"name": "n", "base": {"a": "x"}, "include": [{"a": "x\u0000z"}], "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#, "/include/0/a"),
        (#"{"name": "n", "stages": [{"name": "s", "command": ["echo", "x\u0000y"]}]}"#, "/stages/0/command/1"),
        (#"{"name": "n", "stages": [{"name": "s", "command": ["echo\u0000"]}]}"#, "/stages/0/command/0"),
        (#"{"name": "n", "stages": [{"name": "s", "command": ["echo"], "env": {"V": "a\u0000b"}}]}"#, "/stages/0/env/V"),
    ]

    @Test(arguments: nulSpecs)
    func nulCharactersAreRefused(_ text: String, _ location: String) {
        do {
            _ = try parseSpec(text)
            Issue.record("accepted a NUL at \(location)")
        } catch {
            #expect(error.location == location, "\(error)")
            #expect(error.message == "contains a NUL character (\\u0000), which cannot reach a program: argv and environment strings end at the first NUL; remove it", "\(error)")
        }
    }
}

/// What a thread computed, handed to the thread that waits for it (after a semaphore, so no race).
final class ResultBox<T>: @unchecked Sendable { var value: T? }

extension ProbeFaultTests {
    // MARK: Linear placeholder scanning

    /// Runs `body` on its own thread and waits at most `seconds` for it. Nil when it did not finish in time: the
    /// thread is left to finish (or not) on its own, so a quadratic regression fails the test after `seconds` instead
    /// of holding the run for as long as it takes (the time-limit trait cannot stop a synchronous body).
    func finishes<T>(within seconds: Double, _ body: @escaping @Sendable () -> T) -> T? {
        let box = ResultBox<T>(), done = DispatchSemaphore(value: 0)
        let thread = Thread { box.value = body(); done.signal() }
        thread.stackSize = 8 << 20
        thread.start()
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return box.value
    }

    /// Every '{' used to search the rest of the argument for '}' (and copy what lay between): `{a{a{a…` took
    /// minutes. Sizes are chosen so that the quadratic scan takes minutes; the linear one takes milliseconds.
    @Test(.timeLimit(.minutes(1)))
    func placeholderScanningIsLinear() throws {
        let open = String(repeating: "{a", count: 30_000)
        let closed = String(repeating: "{a", count: 30_000) + "}"
        let dir = TempDir()
        let url = dir.write("spec.json", #"{"name": "q", "base": {"a": 1}, "stages": [{"name": "s", "command": ["echo", "\#(open)", "\#(closed)", "{a}"]}]}"#)
        let command = finishes(within: 50) { () -> [String]? in
            guard let p = try? SweepPlan(specAt: url, displayPath: "spec.json"), p.graph.jobs.count == 1 else { return nil }
            return p.graph.jobs[0].displayCommand
        }
        guard let command else { Issue.record("validating a 60 KiB argument took more than 50 s"); return }
        // The last "{a}" of `closed` is a placeholder; every other brace is literal.
        #expect(command == ["echo", open, String(repeating: "{a", count: 29_999) + "1", "1"])
    }

    /// "did you mean" compared a long unknown name with every parameter by edit distance: quadratic in their lengths.
    @Test(.timeLimit(.minutes(1)))
    func didYouMeanIsBoundedForLongNames() {
        let known = String(repeating: "x", count: 40_000)
        let typo = String(repeating: "x", count: 39_999) + "y"
        let outcome = finishes(within: 50) { () -> SpecError? in
            do {
                _ = try parseSpec(#"{"name": "q", "base": {"\#(known)": 1}, "stages": [{"name": "s", "command": ["echo", "{\#(typo)}"]}]}"#)
                return nil
            } catch { return error as? SpecError }
        }
        guard let outcome else { Issue.record("validating a 40 000-character placeholder took more than 50 s"); return }
        guard let error = outcome else { Issue.record("accepted an unknown placeholder"); return }
        #expect(error.location == "/stages/0/command/1")
        #expect(error.message.hasPrefix("placeholder {\(typo)} names no parameter"))
        #expect(suggestion(for: "lf", among: ["lr", known]) == "lr")
    }

    /// Duplicate values and seeds were found by comparing each with every earlier one: 100 000 values took minutes.
    @Test(.timeLimit(.minutes(1)))
    func duplicateChecksAreLinear() {
        let values = (0..<100_000).map(String.init).joined(separator: ",")
        let outcome = finishes(within: 50) { () -> [String] in
            var lines: [String] = []
            do {
                let spec = try parseSpec(#"{"name": "d", "grid": {"a": [\#(values)]}, "seeds": [\#(values)], "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#)
                lines.append("\(spec.grid[0].values.count) values, \(spec.seeds.count) seeds")
            } catch { lines.append("\(error)") }
            for text in [#"{"name": "d", "grid": {"a": [\#(values),99999.0]}, "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#,
                         #"{"name": "d", "seeds": [\#(values),0], "stages": [{"name": "s", "command": ["echo"]}]}"#] {
                do { _ = try parseSpec(text); lines.append("accepted") } catch { lines.append("\(error)") }
            }
            return lines
        }
        guard let outcome else { Issue.record("validating 100 000 values took more than 50 s"); return }
        #expect(outcome == ["100000 values, 100000 seeds",
                            "spec.json: /grid/a/100000: duplicate value 99999; each value may appear once",
                            "spec.json: /seeds/100000: duplicate seed 0"])
    }
}

extension ProbeFaultTests {
    // MARK: Numbers as written

    /// A double cannot hold every integer of 2^53 or more: such numbers used to substitute as "9007199254740992.0"
    /// or "1e+16", and 9007199254740993 as 9007199254740992 (so it was a "duplicate" of it).
    @Test func largeIntegersSubstituteAsWritten() throws {
        let dir = TempDir()
        let p = try plan(dir, #"""
            {"name": "n", "grid": {"a": [9007199254740992, 9007199254740993, 1e16, 1E16, -12345678901234567890, 1.7976931348623157e308]},
             "stages": [{"name": "s", "command": ["echo", "{a}"], "env": {"BIG": 1e300, "A": "{a}"}}]}
            """#)
        #expect(p.graph.jobs.map { $0.displayCommand[1] } == ["9007199254740992", "9007199254740993", "1e16", "1E16", "-12345678901234567890", "1.7976931348623157e308"])
        let env = p.graph.jobs[1].resolved(runsDirectory: dir.url).env
        #expect(env.map(\.0) == ["BIG", "A"] && env.map(\.1) == ["1e300", "9007199254740993"])
        // XEXP_PARAMS and the stored trial parameters carry the same text as the command.
        #expect(p.graph.jobs[1].referencedParameters.json.jsonText == #"{"a":9007199254740993}"#)
        #expect(p.trials[2].parameters.json.jsonText == #"{"a":1e16,"seed":0}"#)
    }

    /// Every form that already substituted exactly keeps its text, so existing job ids do not change. The id is the
    /// one the toolkit computed for this spec before numbers kept their literals.
    @Test func ordinaryNumbersSubstituteAsBefore() throws {
        let dir = TempDir()
        let p = try plan(dir, #"""
            {"name": "n", "base": {"n1": 0.001, "n2": 1e-3, "n3": 10, "n4": 10.0, "n5": 2.5, "n6": 1e2, "n7": -0, "n8": 1e-7, "n9": 9007199254740991, "n10": 1.5e3}, "stages": [{"name": "s", "command": ["echo", "{n1}", "{n2}", "{n3}", "{n4}", "{n5}", "{n6}", "{n7}", "{n8}", "{n9}", "{n10}"], "env": {"E": 1e-3}}]}
            """#)
        #expect(p.graph.jobs[0].displayCommand == ["echo", "0.001", "0.001", "10", "10", "2.5", "100", "0", "1e-07", "9007199254740991", "1500"])
        #expect(p.graph.jobs[0].id == "df250f40836a16ba")
    }
}

extension ProbeFaultTests {
    // MARK: Metrics that do not fit an Int

    /// `Int(1e20)` trapped the scheduler (and with it the whole sweep); now the job fails naming the line.
    @Test func anOutOfRangeStepFailsTheJobNotTheSweep() throws {
        let dir = TempDir()
        let (result, store) = try runSweep(dir, #"{"name": "t", "grid": {"i": [1, 2]}, "stages": [{"name": "a", "command": ["sh", "-c", "echo '{\"loss\": 1, \"step\": 1}' >> $XEXP_METRICS; test {i} = 1 || echo '{\"loss\": 2, \"step\": 1e20}' >> $XEXP_METRICS"]}]}"#)
        #expect(result.summary.done == 1 && result.summary.failed == 1)
        let error = try store.problems(of: SweepReference(parsing: "t")).jobs.first?.error ?? ""
        #expect(error.hasPrefix("metrics line 2: \"step\" must be an integer"), "\(error)")
        #expect(error.contains("1e20"), "\(error)")
        #expect(throws: MetricsFile.FormatError.self) { try MetricsFile.parse("{\"step\": -1e19}\n") }
        #expect(try MetricsFile.parse("{\"x\": 1e300, \"step\": -5}\n").map(\.step) == [-5])
    }

    /// A Slurm resource given as a number went through `Int(d)` too: `"time": 1e20` trapped spec validation.
    @Test func slurmNumbersNoIntHoldsAreRefused() {
        #expect { try parseSpec(#"{"name": "a", "stages": [{"name": "s", "command": ["true"], "slurm": {"time": 1e20}}]}"#) } throws: { error in
            (error as? SpecError)?.location == "/stages/0/slurm/time"
        }
    }
}

extension ProbeFaultTests {
    // MARK: Trial count

    /// Seven axes of ten values aborted with "failed to allocate"; 10^6 trials took 1.5 GB in a dry run. The count is
    /// now bounded before anything is expanded.
    @Test func tooManyTrialsAreRefusedBeforeExpansion() throws {
        let dir = TempDir()
        let a = (0..<500).map(String.init).joined(separator: ", "), b = (0..<400).map(String.init).joined(separator: ", ")
        let error = try #require(throws: SpecError.self) {
            try plan(dir, #"{"name": "big", "grid": {"a": [\#(a)], "b": [\#(b)]}, "stages": [{"name": "s", "command": ["echo", "{a}", "{b}"]}]}"#)
        }
        #expect(error.location == "/grid")
        #expect(error.message.contains("200000 trials"), "\(error)")
        #expect(error.message.contains("limit of 100000"), "\(error)")
        #expect(error.message.contains("--max-trials"), "\(error)")

        // Counted, never expanded: 10^7 trials are refused at once, and 10^20 does not overflow the count.
        func axes(_ n: Int) -> String { (0..<n).map { #""p\#($0)": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"# }.joined(separator: ", ") }
        for (n, count) in [(7, "10000000"), (20, "more than 9223372036854775807")] {
            #expect { try plan(dir, #"{"name": "big", "grid": {\#(axes(n))}, "stages": [{"name": "s", "command": ["echo", "{p0}"]}]}"#) } throws: { error in
                "\(error)".hasPrefix("spec.json: /grid: this spec describes \(count) trials (grid 10 × 10 × ")
            }
        }
        // Includes and seeds count too; the limit is a parameter (`xexp sweep --max-trials N`).
        let url = dir.write("twelve.json", #"{"name": "t", "grid": {"a": [1, 2, 3, 4, 5]}, "include": [{"a": 9}], "seeds": [0, 1], "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#)
        #expect { try SweepPlan(specAt: url, displayPath: "twelve.json", maxTrials: 11) } throws: { error in
            "\(error)" == "twelve.json: /grid: this spec describes 12 trials (grid 5 + 1 included, × 2 seeds), more than the limit of 11; sweep fewer values or split the spec, or raise the limit with `xexp sweep --max-trials N`"
        }
        #expect(try SweepPlan(specAt: url, displayPath: "twelve.json", maxTrials: 12).trials.count == 12)
    }
}
