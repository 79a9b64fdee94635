import Foundation
import Testing

/// The live view on a terminal (a pseudo-terminal from util-linux's `script`) and the plain lines elsewhere.
@Suite("sweep progress display", .serialized)
struct ProgressTests {
    /// Four jobs of ~2.5 s, each logging a step and loss every 0.5 s; one fails with a message on stderr.
    static let spec = #"""
        {"name": "live", "grid": {"i": [1, 2, 3, 4]},
         "stages": [{"name": "train", "command": ["sh", "-c", "for s in 1 2 3 4 5; do echo '{\"loss\": 0.'$s'{i}, \"step\": '$s'}' >> $XEXP_METRICS; sleep 0.5; done; [ {i} -ne 3 ] || { echo 'first words' >&2; echo 'the real reason' >&2; exit 4; }"]}]}
        """#

    /// Runs `xexp ARGS` under a pseudo-terminal of `columns` columns; returns everything written to it.
    func underTerminal(_ box: Sandbox, columns: Int, _ args: String, term: String = "xterm") throws -> String {
        let command = "stty cols \(columns) rows 30; TERM=\(term) '\(xexpBinary.path)' \(args)"
        let r = try box.run(["-qec", command, "/dev/null"], binary: URL(fileURLWithPath: "/usr/bin/script"))
        return r.stdout
    }

    static func strippingEscapes(_ s: String) -> String {
        s.replacingOccurrences(of: "\u{1B}\\[[0-9;]*[A-Za-z]", with: "", options: .regularExpression)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "util-linux's script is not installed"))
    func terminalViewFitsRedrawsOnATimerAndShowsRunningJobs() throws {
        let box = Sandbox()
        box.write("live.json", Self.spec)
        func liveLines(_ out: String) -> [String] {
            Self.strippingEscapes(out).components(separatedBy: CharacterSet(charactersIn: "\r\n")).filter { $0.hasPrefix("[live]") || $0.hasPrefix("  train") }
        }
        // Nothing drawn is wider than a narrow terminal (one column is kept free so nothing wraps).
        let narrow = liveLines(try underTerminal(box, columns: 40, "sweep live.json --jobs 2"))
        #expect(!narrow.isEmpty && narrow.allSatisfy { $0.count <= 39 }, "\(narrow.filter { $0.count > 39 })")
        let out = try underTerminal(box, columns: 120, "sweep live.json --jobs 2 --rerun train")
        #expect(out.contains("\u{1B}[J"), "no redraws")
        let live = liveLines(out)
        // Redrawn on a timer during a job (not only when one starts or ends): several elapsed times per job.
        let elapsed = Set(live.filter { $0.hasPrefix("[live]") }.compactMap { line in line.range(of: "elapsed [0-9.:]+", options: .regularExpression).map { String(line[$0]) } })
        #expect(elapsed.count >= 4, "\(elapsed)")
        #expect(live.contains { $0.contains("2 running") }, "both slots are shown running")
        #expect(live.contains { $0.hasPrefix("  train i=") && $0.contains("step") && $0.contains("loss") }, "running jobs show their last step and loss")
        #expect(live.contains { $0.range(of: "ETA [0-9]", options: .regularExpression) != nil }, "an ETA once a job is done")
        #expect(Self.strippingEscapes(out).contains("the real reason"), "the failure's stderr tail is shown")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "util-linux's script is not installed"))
    func dumbTerminalAndPipesGetTimestampedLines() throws {
        let box = Sandbox()
        box.write("live.json", Self.spec)
        let dumb = try underTerminal(box, columns: 50, "sweep live.json --jobs 2", term: "dumb")
        #expect(!dumb.contains("\u{1B}"), "escape codes on TERM=dumb")
        let piped = try box.run("sweep", "live.json", "--jobs", "2", "--rerun", "train")
        for text in [dumb, piped.stderr] {
            let lines = text.components(separatedBy: CharacterSet(charactersIn: "\r\n")).filter { !$0.isEmpty }
            #expect(lines.contains { $0.range(of: #"^\[\d\d:\d\d:\d\d\] done    [1-4]/4 train i=[1-4] [0-9a-f]{8} \("#, options: .regularExpression) != nil }, "\(lines)")
            #expect(lines.contains { $0.range(of: #"^\[\d\d:\d\d:\d\d\] failed  [1-4]/4 train i=3 [0-9a-f]{8} \(.*\): exited with status 4"#, options: .regularExpression) != nil }, "\(lines)")
            #expect(lines.contains { $0.hasSuffix("    the real reason") }, "\(lines)")
        }
    }
}

/// Running jobs' metrics reach the store while they run: `table` and `status` show them before the job ends.
@Suite("live metrics", .serialized)
struct LiveMetricsTests {
    @Test func aRunningJobsMetricsAreReadableBeforeItEnds() throws {
        let box = Sandbox()
        box.write("live.json", #"""
            {"name": "live", "grid": {"k": [1, 2]},
             "stages": [{"name": "train", "command": ["sh", "-c", "echo '{\"loss\": 0.5, \"step\": 1}' >> $XEXP_METRICS; sleep {k}; sleep 8; echo '{\"loss\": 0.25, \"step\": 2}' >> $XEXP_METRICS"]}]}
            """#)
        let (process, _, _) = try box.start(["sweep", "live.json"], environment: ["XEXP_LIVE_METRICS_SECONDS": "0.3"])
        defer { process.waitUntilExit() }
        var table = ""
        let seen = try waitUntil(7) {
            table = try box.run("table", "live", "--format", "csv").stdout
            return table.contains(",0.5,")
        }
        #expect(seen, "no live value within 7 s of a 9 s job: \(table)")
        #expect(table.contains("incomplete"), "\(table)")
        let status = try box.run("status", "live").stdout
        #expect(status.contains("running  train") && status.contains("k=1") && status.contains("step 1: loss 0.5"), "\(status)")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try box.run("table", "live", "--format", "csv").stdout == "k,train.loss,n,status\r\n1,0.25,1,complete\r\n2,0.25,1,complete\r\n")
    }
}

/// Progress labels: the varying parameters every trial using a job agrees on, also for a job whose own command does
/// not read them (a finetune job belongs to one token count through its align job); none for a job all trials share.
@Suite("progress labels")
struct ProgressLabelTests {
    @Test func labelsFollowTheTrialsNotOnlyTheCommand() throws {
        let box = Sandbox()
        box.write("lab.json", #"""
            {"name": "lab", "grid": {"k": [1, 2]}, "base": {"m": 5},
             "stages": [{"name": "a", "command": ["sh", "-c", "echo {m}"]}, {"name": "b", "after": ["a"], "command": ["sh", "-c", "echo {k}"]},
                        {"name": "c", "after": ["b"], "command": ["true"]}]}
            """#)
        let lines = try box.run("sweep", "lab.json", "--jobs", "1").stderr.split(separator: "\n").filter { $0.contains("] done ") }
        #expect(lines.contains { $0.range(of: #"done    \d/5 a [0-9a-f]{8} "#, options: .regularExpression) != nil }, "\(lines)")
        for k in [1, 2] {
            #expect(lines.contains { $0.range(of: "done    \\d/5 c k=\(k) [0-9a-f]{8} ", options: .regularExpression) != nil }, "\(lines)")
        }
    }
}
