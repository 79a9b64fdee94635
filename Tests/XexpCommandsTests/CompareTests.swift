import Foundation
import Testing
import XexpOrchestration

@Suite("xexp compare", .serialized)
struct CompareTests {
    /// Four token counts × two seeds. Per row (seeds averaged): `up` rises with tokens, `down` falls, `flat` is
    /// constant, `wiggle` ranks the rows 2, 1, 4, 3, and `extra` (the seed) is the sweep's alone. `mode` is constant.
    static let spec = #"""
        {"name": "trend", "base": {"mode": "fast"}, "grid": {"tokens": [1, 4, 16, 64]}, "seeds": [0, 1],
         "stages": [{"name": "eval", "command": ["sh", "-c", "t={tokens}; s={seed}; case $t in 1) w=2;; 4) w=1;; 16) w=4;; *) w=3;; esac; echo \"{\\\"up\\\": $((t * 2 + s)), \\\"down\\\": $((1000 - t)), \\\"flat\\\": 3, \\\"wiggle\\\": $w, \\\"extra\\\": $s}\" >> $XEXP_METRICS"]}]}
        """#

    /// Rows matched numerically (`1.0` is tokens 1); 256 is not in the sweep; `eval.down` misses its 16 row;
    /// `eval.missing` is the reference's alone.
    static let reference = """
        tokens,eval.up,eval.down,eval.flat,eval.wiggle,eval.missing
        1.0,10,1,5,1,7
        4,20,2,6,2,7
        16,30,,7,3,7
        64,40,4,8,4,7
        256,50,5,9,5,7

        """

    static func sweptBox() throws -> Sandbox {
        let box = Sandbox()
        box.write("trend.json", spec)
        let run = try box.run("sweep", "trend.json")
        #expect(run.status == 0, "\(run.stderr)")
        box.write("ref.csv", reference)
        return box
    }

    @Test func jsonAndTextReports() throws {
        let box = try Self.sweptBox()
        // up: same order (1, 1); down: reversed over its 3 rows (-1, -1); flat: constant in the sweep (null);
        // wiggle: ranks 2,1,4,3 against 1,2,3,4 → rho 1 − 6·4/(4·15) = 0.6, tau (4 − 2)/6; mean (1 − 1 + 0 + 0.6)/4.
        let json = try box.run("compare", "trend", "--reference", "ref.csv", "--json")
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout == #"{"metrics":{"eval.up":{"spearman":1,"kendall":1,"n":4},"eval.down":{"spearman":-1,"kendall":-1,"n":3},"eval.flat":{"spearman":null,"kendall":null,"n":4},"eval.wiggle":{"spearman":0.6,"kendall":0.3333333333333333,"n":4}},"mean_spearman":0.15}"# + "\n")
        #expect(json.stderr.isEmpty)

        let chosen = try box.run("compare", "trend", "--reference", "ref.csv", "--json", "--metrics", "eval.wiggle, eval.up,eval.wiggle", "--x", "tokens")
        #expect(chosen.stdout == #"{"metrics":{"eval.wiggle":{"spearman":0.6,"kendall":0.3333333333333333,"n":4},"eval.up":{"spearman":1,"kendall":1,"n":4}},"mean_spearman":0.8}"# + "\n")

        let text = try box.run("compare", "trend", "--reference", "ref.csv")
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout == """
            sweep trend vs ref.csv, rows matched on tokens: 4 of 5 (not in the sweep: 256)
            metric       n  spearman  kendall
            -----------  -  --------  -------
            eval.up      4         1        1
            eval.down    3        -1       -1
            eval.flat    4         —        —
            eval.wiggle  4       0.6   0.3333
            mean spearman: 0.15 over 4 metric(s) (—: no correlation, from a constant series or fewer than 2 rows; counted as 0)
            skipped, only in ref.csv: eval.missing
            skipped, only in sweep trend: eval.extra

            """)
    }

    @Test func userErrorsExitTwoAndSayWhatToFix() throws {
        let box = try Self.sweptBox()

        let missing = try box.run("compare", "trend", "--reference", "nope.csv")
        #expect(missing.status == 2)
        #expect(missing.stderr == "xexp: nope.csv: no such file; pass --reference a CSV whose first column is the swept parameter (e.g. Results/reference/table8.csv)\n")

        box.write("other.csv", "tokens,eval.upp,train.loss\n1,1,2\n4,2,1\n")
        let noMetric = try box.run("compare", "trend", "--reference", "other.csv")
        #expect(noMetric.status == 2)
        #expect(noMetric.stderr.hasPrefix("xexp: other.csv and sweep trend share no metric; did you mean 'eval.up' for column 'eval.upp'?"))
        #expect(noMetric.stderr.contains("the sweep's metrics: eval.down, eval.extra, eval.flat, eval.up, eval.wiggle"))
        #expect(noMetric.stdout.isEmpty)

        let constant = try box.run("compare", "trend", "--reference", "ref.csv", "--x", "mode")
        #expect(constant.status == 2)
        #expect(constant.stderr == "xexp: parameter \"mode\" does not vary in sweep trend (it is fast in every trial); its varying parameters: tokens (pass --x PARAM naming one, with a reference whose first column holds its values)\n")

        box.write("llm.csv", "llm,eval.up\nmini-phi3,1\nmini-llama3,2\n")
        let notAParameter = try box.run("compare", "trend", "--reference", "llm.csv")
        #expect(notAParameter.status == 2)
        #expect(notAParameter.stderr.hasPrefix("xexp: \"llm\" is not a parameter of sweep trend; its varying parameters: tokens"))

        box.write("rows.csv", "tokens,eval.up\n2,1\n3,2\n")
        let noRows = try box.run("compare", "trend", "--reference", "rows.csv")
        #expect(noRows.status == 2)
        #expect(noRows.stderr.hasPrefix("xexp: no row of rows.csv matches sweep trend on tokens: the reference has 2, 3, the sweep has 1, 4, 16, 64"))

        box.write("bad.csv", "tokens,eval.up\n1,1\n4,high\n")
        let bad = try box.run("compare", "trend", "--reference", "bad.csv")
        #expect(bad.status == 2)
        #expect(bad.stderr == "xexp: bad.csv: line 3, column eval.up: \"high\" is not a number; write a number, or leave the cell empty for a missing value\n")

        let unknownMetric = try box.run("compare", "trend", "--reference", "ref.csv", "--metrics", "eval.wigle")
        #expect(unknownMetric.status == 2)
        #expect(unknownMetric.stderr.contains("\"eval.wigle\" is not a column of ref.csv; did you mean 'eval.wiggle'?"))

        let emptyList = try box.run("compare", "trend", "--reference", "ref.csv", "--metrics", " , ")
        #expect(emptyList.status == 2)
        #expect(emptyList.stderr.hasPrefix("xexp: --metrics \" , \" names no metric"))

        let unknownSweep = try box.run("compare", "trnd", "--reference", "ref.csv")
        #expect(unknownSweep.status == 2)
        #expect(unknownSweep.stderr.contains("no sweep named \"trnd\"") && unknownSweep.stderr.contains("did you mean 'trend'?"))

        let noStore = try Sandbox().run("compare", "trend", "--reference", repositoryRoot.appendingPathComponent("Results/reference/table8.csv").path)
        #expect(noStore.status == 2)
        #expect(noStore.stderr.contains("no store at"))
    }

    @Test func paperReferenceTablesParse() throws {
        let directory = repositoryRoot.appendingPathComponent("Results/reference")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".csv") }.sorted()
        #expect(files == ["table7.csv", "table8.csv", "table9.csv"])
        let expected: [String: (x: String, keys: [String])] = [
            "table7.csv": ("projector", ["linear", "mlp", "ldp", "ldpv2", "xdp"]),
            "table8.csv": ("tokens", ["576", "288", "144", "72", "64", "36", "18", "8", "4", "2", "1"]),
            "table9.csv": ("llm", ["mini-llama3", "mini-phi3", "mini-xmodel-lm"]),
        ]
        for file in files {
            let table = try ReferenceTable(contentsOf: directory.appendingPathComponent(file).path)
            #expect(table.x == expected[file]?.x, "\(file)")
            #expect(table.rows.map(\.key) == expected[file]?.keys, "\(file)")
            #expect(table.metrics == ["gqa.accuracy", "sqa.accuracy", "textvqa.accuracy", "pope.f1", "mme.total", "mmbench.accuracy"], "\(file)")
            #expect(table.rows.allSatisfy { $0.values.allSatisfy { $0 != nil } }, "\(file) has an empty cell")
        }
        // Spot checks against the paper: Table 7's Linear SQA, Table 8's last row, Table 9's Phi-3 MME.
        #expect(try ReferenceTable(contentsOf: directory.appendingPathComponent("table7.csv").path).rows[0].values[1] == 31.6)
        #expect(try ReferenceTable(contentsOf: directory.appendingPathComponent("table8.csv").path).rows[10].values == [49.4, 44.7, 27.5, 79.2, 1070.6, 32.1])
        #expect(try ReferenceTable(contentsOf: directory.appendingPathComponent("table9.csv").path).rows[1].values[4] == 1388.7)
    }
}
