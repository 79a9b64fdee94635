import Foundation
import Testing

/// Where Graphviz's `dot` is, if it is installed (`apt-get install -y graphviz`).
let dotExecutable: String? = ["/usr/bin/dot", "/usr/local/bin/dot"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// `xexp log`, `xexp show` and `xexp graph`: the read-only provenance commands, on a command-stage sweep of milliseconds.
@Suite("xexp log, show, graph", .serialized)
struct ProvenanceCommandTests {
    /// Four trials; `gen` uses only `n`, so each of its two jobs is shared by two trials; `score` uses `m` through its
    /// environment (one value full of DOT's special characters) and fails for m = "b". 6 jobs, 4 edges.
    static let spec = #"""
        {"name": "p", "grid": {"n": [1, 2], "m": ["b", "q\"u\\o\nte"]},
         "stages": [
           {"name": "gen", "command": ["sh", "-c", "echo {n} > {job.dir}/data.txt; echo '{\"v\": {n}}' >> $XEXP_METRICS"]},
           {"name": "score", "after": ["gen"], "env": {"M": "{m}"},
            "command": ["sh", "-c", "echo '{\"s\": 1}' >> $XEXP_METRICS; echo '{\"s\": 2}' >> $XEXP_METRICS; echo oops >&2; test \"$M\" != b"]}
         ]}
        """#

    /// A sandbox holding the spec, swept twice (both runs fail on the two m = "b" jobs).
    static func sweptTwice() throws -> Sandbox {
        let box = Sandbox()
        box.write("p.json", spec)
        #expect(try box.run("sweep", "p.json").status == 1)
        #expect(try box.run("sweep", "p.json").status == 1)
        return box
    }

    static func jobIDs(_ box: Sandbox, stage: String? = nil) throws -> [String] {
        let runs = box.url.appendingPathComponent("Results/runs")
        return try FileManager.default.contentsOfDirectory(atPath: runs.path).sorted().filter { id in
            guard let stage else { return true }
            let manifest = try? JSONSerialization.jsonObject(with: Data(box.read("Results/runs/\(id)/job.json").utf8)) as? [String: Any]
            return manifest?["stage"] as? String == stage
        }
    }

    // MARK: log

    @Test func logListsEveryInvocationOldestFirst() throws {
        let box = try Self.sweptTwice()
        let text = try box.run("log")
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(text.stdout)")  // header, rule, two runs
        #expect(lines[0].hasPrefix("run "))
        #expect(lines[2].hasPrefix("p@1 ") && lines[3].hasPrefix("p@2 "))
        #expect(lines[2].contains("failed"))
        // Aligned: every column starts where its header does.
        let header = Array(lines[0])
        let started = try #require((0..<header.count).first { String(header[$0..<min($0 + 7, header.count)]) == "started" })
        #expect(Array(lines[2])[started].isNumber && Array(lines[3])[started].isNumber, "\(text.stdout)")

        let json = try box.run("log", "p", "--format", "json")
        #expect(json.status == 0, "\(json.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 2)
        #expect(Set(rows[0].keys) == ["sweep", "seq", "run", "started", "ended", "duration_seconds", "outcome", "jobs", "total",
                                      "cached", "spec_hash", "git_commit", "host", "toolkit_version", "options"])
        #expect(rows.map { $0["run"] as? String } == ["p@1", "p@2"])
        #expect(rows[0]["outcome"] as? String == "failed")
        let jobs = try #require(rows[1]["jobs"] as? [String: Int])
        #expect(jobs["done"] == 4 && jobs["failed"] == 2 && jobs["pending"] == 0, "\(jobs)")
        #expect(rows[1]["total"] as? Int == 6 && rows[1]["cached"] as? Int == 0)
        let hash = try #require(rows[0]["spec_hash"] as? String)
        #expect(hash.count == 12 && hash.allSatisfy(\.isHexDigit))
        #expect((rows[0]["options"] as? String)?.contains("jobs=") == true)
        #expect((rows[0]["started"] as? String)?.contains("T") == true)
    }

    /// Each local attempt records what its process used (wait4): `status SWEEP` sums it per stage and `show` lists it
    /// per attempt. An 80 MB `sort` peaks near 80 MiB; `true` uses a few MiB.
    @Test func attemptsRecordPeakMemoryAndCPU() throws {
        let box = Sandbox()
        box.write("mem.json", #"""
            {"name": "mem", "stages": [{"name": "big", "command": ["sh", "-c", "head -c 80000000 /dev/zero | sort > /dev/null"]},
                                       {"name": "small", "command": ["true"]}]}
            """#)
        #expect(try box.run("sweep", "mem.json").status == 0)
        let status = try box.run("status", "mem").stdout
        func mebibytes(_ stage: String) -> Double? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(stage + " ") }) else { return nil }
            let fields = line.split(separator: " ").map(String.init)
            guard let i = fields.firstIndex(where: { $0 == "MiB" || $0 == "KiB" }), let v = Double(fields[i - 1]) else { return nil }
            return fields[i] == "MiB" ? v : v / 1024
        }
        #expect(status.contains("resources (latest local attempt of each job):"), "\(status)")
        #expect((mebibytes("big") ?? 0) > 70, "\(status)")
        #expect((mebibytes("small") ?? 1000) < 20, "\(status)")
    }

    @Test func logErrors() throws {
        let empty = Sandbox()
        let none = try empty.run("log")
        #expect(none.status == 2)
        #expect(none.stderr.contains("no store at"), "\(none.stderr)")
        #expect(!empty.exists("Results"), "a reader created a store")

        let box = try Self.sweptTwice()
        let unknown = try box.run("log", "q")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no sweep named \"q\""), "\(unknown.stderr)")
        #expect(try box.run("log", "p", "--format", "yaml").status != 0)
    }

    // MARK: show

    @Test func showPrintsAJobsProvenance() throws {
        let box = try Self.sweptTwice()
        let scores = try Self.jobIDs(box, stage: "score")
        #expect(scores.count == 4)
        let failed = try #require(scores.first { id in
            let manifest = try? JSONSerialization.jsonObject(with: Data(box.read("Results/runs/\(id)/job.json").utf8)) as? [String: Any]
            return (manifest?["params"] as? [String: Any])?["m"] as? String == "b"
        })
        let r = try box.run("show", String(failed.prefix(6)))
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout
        #expect(out.hasPrefix("job \(failed)\n"), "\(out)")
        #expect(out.contains("stage: score"))
        #expect(out.contains("status: failed"))
        #expect(out.contains("M=b"), "\(out)")
        #expect(out.contains("test \"$M\" != b") || out.contains("test \\\"$M\\\" != b") || out.contains("test \"$M\""), "\(out)")
        let gens = try Self.jobIDs(box, stage: "gen")
        #expect(gens.contains { out.contains("\($0)  gen") }, "\(out)")
        #expect(out.contains("p@1") && out.contains("p@2"))
        // Two attempts, one per invocation, both exit 1, with the error's first line.
        let attemptLines = out.split(separator: "\n").filter { $0.hasPrefix("  #") }
        #expect(attemptLines.count == 2, "\(out)")
        #expect(attemptLines.allSatisfy { $0.contains("failed") && $0.contains("exit 1") }, "\(attemptLines)")
        #expect(attemptLines[0].contains("p@1") && attemptLines[1].contains("p@2"))
        #expect(out.contains("metrics: none"), "\(out)")  // a failed attempt's metrics are not results
        // A done job's metrics: the last value of each, not the first.
        let done = try #require(scores.first { $0 != failed && (try? box.run("show", $0).stdout.contains("status: done")) == true })
        let doneOut = try box.run("show", done).stdout
        #expect(doneOut.contains("metrics:\n  s = 2\n"), "\(doneOut)")
        #expect(out.contains("stderr.log"))
        #expect(out.contains("job.json"))

        let full = try box.run("show", failed)
        #expect(full.status == 0 && full.stdout == out)
    }

    @Test func showErrors() throws {
        let empty = Sandbox()
        let none = try empty.run("show", "abcdef")
        #expect(none.status == 2)
        #expect(none.stderr.contains("no store at"))
        #expect(!empty.exists("Results"))

        let box = try Self.sweptTwice()
        let short = try box.run("show", "abc")
        #expect(short.status == 2)
        #expect(short.stderr.contains("at least 6"), "\(short.stderr)")
        let ids = try Self.jobIDs(box)
        let missing = (0..<4096).map { String(format: "%06x", $0 * 4093 % 16_777_216) }.first { p in !ids.contains { $0.hasPrefix(p) } }!
        let unknown = try box.run("show", missing)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no job \(missing)"), "\(unknown.stderr)")
    }

    // MARK: graph

    static func count(_ text: String, _ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func graphOfASpecNeedsNoStore() throws {
        let box = Sandbox()
        box.write("p.json", Self.spec)
        let r = try box.run("graph", "p.json")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!box.exists("Results"), "graph of a spec created a store")
        let dot = r.stdout
        #expect(dot.hasPrefix("digraph "))
        let lines = dot.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.filter { $0.hasPrefix("\"j") && !$0.contains("->") }.count == 6, "\(dot)")
        #expect(lines.filter { $0.contains(" -> ") }.count == 4, "\(dot)")
        #expect(Self.count(dot, "peripheries=2") == 2, "\(dot)")
        #expect(!dot.contains("fillcolor"))
        // The label of a score job shows its parameter, escaped for DOT.
        #expect(dot.contains(#"m=q\"u\\o\nte"#), "\(dot)")
    }

    @Test func graphOfASweepIsColouredByStatus() throws {
        let box = try Self.sweptTwice()
        let r = try box.run("graph", "p")
        #expect(r.status == 0, "\(r.stderr)")
        let dot = r.stdout
        let lines = dot.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.filter { $0.hasPrefix("\"j") && !$0.contains("->") }.count == 6)
        #expect(lines.filter { $0.contains(" -> ") }.count == 4)
        #expect(Self.count(dot, "fillcolor=\"palegreen\"") == 4, "\(dot)")
        #expect(Self.count(dot, "fillcolor=\"lightcoral\"") == 2, "\(dot)")
        #expect(Self.count(dot, "peripheries=2") == 2)

        let unknown = try box.run("graph", "nope")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("nope"), "\(unknown.stderr)")
        let empty = Sandbox()
        let none = try empty.run("graph", "p")
        #expect(none.status == 2)
        #expect(!empty.exists("Results"))
    }

    @Test(.enabled(if: dotExecutable != nil, "Graphviz's dot is not installed (apt-get install -y graphviz); the DOT output is not parsed"))
    func graphParsesWithGraphviz() throws {
        let box = try Self.sweptTwice()
        for target in ["p.json", "p"] {
            let r = try box.run("graph", target)
            #expect(r.status == 0)
            box.write("g.dot", r.stdout)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: dotExecutable!)
            process.arguments = ["-Tsvg", "-o", box.url.appendingPathComponent("g.svg").path, box.url.appendingPathComponent("g.dot").path]
            let err = Pipe()
            process.standardError = err
            try process.run()
            process.waitUntilExit()
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 0 && message.isEmpty, "dot -Tsvg rejected the graph of \(target): \(message)")
            #expect(box.read("g.svg").contains("<svg"))
        }
    }
}
