import Foundation
import Testing
@testable import XexpOrchestration

@Suite("Reports: compare against a reference table")
struct TrendComparisonTests {
    static func reference(_ text: String) throws(ReferenceTable.Failure) -> ReferenceTable { try ReferenceTable(text: text, file: "ref.csv") }

    @Test func csvRecordsFollowRFC4180() throws {
        let records = try CSV.records("\u{FEFF}a, b ,\"c,\"\"d\"\"\"\r\n\r\n\"multi\nline\",2,3\n  \n4,,6")
        #expect(records.map(\.line) == [1, 3, 6])
        #expect(records.map(\.fields) == [["a", "b", "c,\"d\""], ["multi\nline", "2", "3"], ["4", "", "6"]])
        #expect { try CSV.records("a,\"b\n") } throws: { "\($0)" == "line 1: a quoted field is never closed; add the closing \"" }
        #expect { try CSV.records("a,\"b\"c\n") } throws: { "\($0)".hasPrefix("line 1: text after a closing quote") }
    }

    @Test func referenceTableChecksItsShape() throws {
        let table = try Self.reference("tokens,gqa.accuracy,pope.f1\n576,60.1,\n144.0,58.3,85.9\n")
        #expect(table.x == "tokens" && table.metrics == ["gqa.accuracy", "pope.f1"])
        #expect(table.rows.map(\.key) == ["576", "144.0"])
        #expect(table.rows[0].values == [60.1, nil])

        func failure(_ text: String) -> String {
            do { _ = try Self.reference(text); return "" } catch { return error.description }
        }
        #expect(failure("").hasPrefix("ref.csv: the file is empty"))
        #expect(failure("tokens\n1\n").hasPrefix("ref.csv: line 1: the header needs the swept parameter and at least one metric column"))
        #expect(failure("tokens,a,a\n1,2,3\n") == "ref.csv: line 1: column \"a\" appears twice; name each column once")
        #expect(failure("tokens,a\n") == "ref.csv: the header has no rows under it; add one row per tokens value")
        #expect(failure("tokens,a\n1,2,3\n").hasPrefix("ref.csv: line 2: 3 field(s), but the header has 2"))
        #expect(failure("tokens,a\n144,1\n144.0,2\n") == "ref.csv: line 3: tokens=144.0 appears twice (also line 2); give each value one row")
        #expect(failure("tokens,a\n,1\n") == "ref.csv: line 2: the tokens value is empty; every row needs one")
    }

    @Test func valuesMatchNumericallyOrExactly() {
        #expect(ReferenceTable.matches(.number(144), "144.0"))
        #expect(ReferenceTable.matches(.number(0.5), "5e-1"))
        #expect(!ReferenceTable.matches(.number(144), "144x"))
        #expect(ReferenceTable.matches(.string("xdp"), "xdp"))
        #expect(!ReferenceTable.matches(.string("xdp"), "XDP"))
        #expect(!ReferenceTable.matches(.string("144"), "144.0"))
        #expect(ReferenceTable.matches(.bool(true), "true"))
    }

    @Test func stringParameterRowsInReferenceOrder() throws {
        let dir = TempDir()
        let (_, store) = try runSweep(dir, #"""
            {"name": "proj", "grid": {"projector": ["xdp", "mlp", "ldp"]}, "stages": [{"name": "b", "command": ["sh", "-c",
             "case {projector} in xdp) v=3;; mlp) v=1;; *) v=2;; esac; echo \"{\\\"acc\\\": $v, \\\"loss\\\": $((5 - v))}\" >> $XEXP_METRICS"]}]}
            """#)
        let results = try store.results(of: SweepReference(parsing: "proj"))
        let reference = try Self.reference("projector,b.acc,b.loss\nlinear,5,1\nmlp,10,2\nldp,20,3\nxdp,30,4\n")
        let comparison = try TrendComparison(results, reference: reference)
        #expect(comparison.x == "projector")
        #expect(comparison.matchedKeys == ["mlp", "ldp", "xdp"])
        #expect(comparison.unmatchedKeys == ["linear"])
        #expect(comparison.metrics == [TrendComparison.Metric(name: "b.acc", n: 3, spearman: 1, kendall: 1),
                                       TrendComparison.Metric(name: "b.loss", n: 3, spearman: -1, kendall: -1)])
        #expect(comparison.meanSpearman == 0)
        #expect(comparison.json.jsonText == #"{"metrics":{"b.acc":{"spearman":1,"kendall":1,"n":3},"b.loss":{"spearman":-1,"kendall":-1,"n":3}},"mean_spearman":0}"#)
    }

    @Test func severalRowsPerValueAreRefused() throws {
        let dir = TempDir()
        let (_, store) = try runSweep(dir, #"{"name": "two", "grid": {"tokens": [1, 2], "opt": ["a", "b"]}, "stages": [{"name": "s", "command": ["sh", "-c", "echo '{\"y\": {tokens}}' >> $XEXP_METRICS"]}]}"#)
        let results = try store.results(of: SweepReference(parsing: "two"))
        #expect { try TrendComparison(results, reference: try Self.reference("tokens,s.y\n1,1\n2,2\n")) } throws: {
            "\($0)" == "sweep two has several rows with tokens=1 (opt also varies), so a reference row would match more than one; compare a sweep that varies only tokens"
        }
        // Matched on opt instead, the same problem the other way round.
        #expect { try TrendComparison(results, reference: try Self.reference("opt,s.y\na,1\nb,2\n")) } throws: {
            "\($0)".hasPrefix("sweep two has several rows with opt=a (tokens also varies)")
        }
    }
}
