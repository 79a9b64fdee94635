import Foundation
import GRDB
import Testing
@testable import XexpOrchestration

/// The store queries and pure formatting behind `xexp log`, `xexp show` and `xexp graph`.
@Suite("Provenance: log, show, graph")
struct ProvenanceTests {
    static let spec = #"{"name": "s", "grid": {"a": [1, 2]}, "stages": [{"name": "one", "command": ["true"]}, {"name": "two", "after": ["one"], "command": ["echo", "{a}"]}]}"#

    @Test func dotEscapesQuotesBackslashesAndNewlines() {
        #expect(DotGraph.quote("plain") == #""plain""#)
        #expect(DotGraph.quote("a\"b\\c\nd\r\ne") == #""a\"b\\c\nd\ne""#)
    }

    @Test func dotRendersNodesEdgesSharingAndColours() {
        var graph = DotGraph(name: "x\"y")
        graph.nodes = [
            DotGraph.Node(id: "aaaaaaaaaaaaaaaa", stage: "one", parameters: [], shared: true, fill: nil),
            DotGraph.Node(id: "bbbbbbbbbbbbbbbb", stage: "two", parameters: [("a", "1")], shared: false, fill: .done),
        ]
        graph.edges = [("aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb")]
        let dot = graph.render()
        #expect(dot.hasPrefix("digraph \"x\\\"y\" {\n"))
        #expect(dot.contains("\"jaaaaaaaaaaaaaaaa\" [label=\"one\\naaaaaaaa\", peripheries=2];"), "\(dot)")
        #expect(dot.contains("\"jbbbbbbbbbbbbbbbb\" [label=\"two\\nbbbbbbbb\\na=1\", style=filled, fillcolor=\"palegreen\"];"), "\(dot)")
        #expect(dot.contains("\"jaaaaaaaaaaaaaaaa\" -> \"jbbbbbbbbbbbbbbbb\";"))
        #expect(dot.hasSuffix("}\n"))
    }

    @Test func fillFollowsStatusAndOrigin() {
        #expect(DotGraph.Fill(status: .done, cached: false) == .done)
        #expect(DotGraph.Fill(status: .done, cached: true) == .cached)
        #expect(DotGraph.Fill(status: .failed, cached: false) == .failed)
        #expect(DotGraph.Fill(status: .timeout, cached: false) == .failed)
        #expect(DotGraph.Fill(status: .running, cached: false) == .running)
        for status in [JobStatus.pending, .blocked, .interrupted] { #expect(DotGraph.Fill(status: status, cached: false) == .waiting) }
    }

    @Test func jobPrefixesResolveOnlyWhenUnique() throws {
        let dir = TempDir()
        let (_, store) = try runSweep(dir, Self.spec)
        try store.pool.write { db in
            for id in ["abcdef0000000001", "abcdef0000000002"] {
                try db.execute(sql: "INSERT INTO jobs (id, stage, command, env, status, created_at) VALUES (?, 'x', '[]', '{}', 'pending', 0)", arguments: [id])
            }
        }
        #expect(try store.resolveJob("abcdef0000000001") == "abcdef0000000001")
        #expect(try store.resolveJob("ABCDEF0000000002") == "abcdef0000000002")
        #expect { try store.resolveJob("abcdef") } throws: { error in
            let text = "\(error)"
            return text.contains("2 jobs") && text.contains("abcdef0000000001  x") && text.contains("abcdef0000000002  x")
        }
        #expect { try store.resolveJob("abcde") } throws: { "\($0)".contains("at least 6") }
        #expect { try store.resolveJob("abcdeg") } throws: { "\($0)".contains("hex") }
        #expect { try store.resolveJob("fedcba") } throws: { "\($0)".contains("no job fedcba") }
    }

    @Test func logOfAStoreAndARunningInvocation() throws {
        let dir = TempDir()
        let (_, store) = try runSweep(dir, Self.spec)
        try runSweep(dir, Self.spec)
        try store.pool.write { db in try db.execute(sql: "UPDATE invocations SET ended_at = NULL, outcome = NULL WHERE seq = 2") }
        let entries = try store.invocationLog(sweep: nil)
        #expect(entries.map(\.seq) == [1, 2])
        #expect(entries[0].outcome == "done" && entries[0].counts[.done] == 3 && entries[0].total == 3)
        #expect(entries[1].endedAt == nil && entries[1].outcome == nil)
        let text = InvocationLog.render(entries, format: .text, timeZone: TimeZone(identifier: "UTC")!)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[3].contains("running or died"), "\(text)")
        #expect(lines[2].contains("+00:00") || lines[2].contains("Z"), "\(text)")
        #expect { try store.invocationLog(sweep: SweepReference(parsing: "t")) } throws: { "\($0)".contains("no sweep named \"t\"") }
        #expect(try store.invocationLog(sweep: SweepReference(parsing: "s@1")).map(\.seq) == [1])

        let json = InvocationLog.render(entries, format: .json, timeZone: TimeZone(identifier: "UTC")!)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(rows[1]["outcome"] is NSNull && rows[1]["duration_seconds"] is NSNull)
    }

    @Test func provenanceOfAJob() throws {
        let dir = TempDir()
        let (_, store) = try runSweep(dir, Self.spec)
        let id = try #require(try store.pool.read { try String.fetchOne($0, sql: "SELECT id FROM jobs WHERE stage = 'two' ORDER BY id LIMIT 1") })
        let p = try store.provenance(of: id)
        #expect(p.stage == "two" && p.status == .done)
        #expect(p.upstream.map(\.stage) == ["one"])
        #expect(p.usedBy.map(\.run) == ["s@1"])
        #expect(p.attempts.count == 1 && p.attempts[0].run == "s@1" && p.attempts[0].exitCode == 0)
        #expect(p.files.contains { $0.path == "stdout.log" })
        let text = p.render(timeZone: TimeZone(identifier: "UTC")!)
        #expect(text.hasPrefix("job \(id)\n"))
        #expect(text.contains("stdout.log"))
    }

    /// A sweep run again lists its trials once per invocation; "used by" counts the trial once and says how many
    /// uses there were, so a job resumed twice does not read as shared by three trials.
    @Test func aTrialRerunByLaterInvocationsCountsOnce() throws {
        let dir = TempDir()
        try runSweep(dir, Self.spec)
        let (_, store) = try runSweep(dir, Self.spec)
        let id = try #require(try store.pool.read { try String.fetchOne($0, sql: "SELECT id FROM jobs WHERE stage = 'two' ORDER BY id LIMIT 1") })
        let p = try store.provenance(of: id)
        #expect(p.usedBy.map(\.run) == ["s@1", "s@2"])
        let text = p.render(timeZone: TimeZone(identifier: "UTC")!)
        #expect(text.contains("used by: 1 trial(s), 2 use(s) in s@1, s@2\n"), "\(text)")
    }
}
