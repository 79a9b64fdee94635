import Foundation
import Testing
@testable import XexpOrchestration

@Suite("Reports: table, diff, export, plot")
struct ReportTests {
    /// acc = lr × factor, loss = seed: means and standard deviations are known in closed form.
    static func spec(name: String, factor: Double) -> String {
        """
        {"name": "\(name)", "base": {"note": "a, \\"quoted\\" note"}, "grid": {"lr": [0.1, 0.01], "opt": ["sgd", "adam"]}, "seeds": [0, 1],
         "stages": [{"name": "train", "command": ["sh", "-c", "awk 'BEGIN { printf \\"{\\\\\\"acc\\\\\\": %.17g, \\\\\\"loss\\\\\\": %d}\\\\n\\", {lr} * \(factor), {seed} }' >> $XEXP_METRICS"]}]}
        """
    }

    static func store() throws -> (TempDir, Store) {
        let dir = TempDir()
        let (a, store) = try runSweep(dir, spec(name: "base", factor: 1))
        #expect(a.succeeded)
        let (b, _) = try runSweep(dir, spec(name: "double", factor: 2))
        #expect(b.succeeded)
        return (dir, store)
    }

    /// `n` counts the seeds that have the values, not the seeds planned: a failed seed drops out of the mean and of
    /// `n`, a metric that fewer seeds report gets its own `METRIC_n`, and the row says `incomplete`.
    @Test func nCountsSeedsWithValuesAndStatusFlagsIncompleteTrials() throws {
        let dir = TempDir()
        let (result, store) = try runSweep(dir, """
            {"name": "f", "grid": {"x": [1, 2]}, "seeds": [0, 1, 2],
             "stages": [{"name": "s", "command": ["sh", "-c", "test {x}{seed} != 22 || exit 3; echo '{\\"v\\": {seed}}' >> $XEXP_METRICS; test {seed} = 0 && echo '{\\"w\\": 5}' >> $XEXP_METRICS; true"]}]}
            """)
        #expect(result.summary.failed == 1)
        let report = SweepTable(try store.results(of: SweepReference(parsing: "f"))).report
        #expect(report.render(.csv) == """
            x,s.v,s.v_std,s.w,s.w_std,s.w_n,n,status\r
            1,1,1,5,,1,3,complete\r
            2,0.5,0.7071067811865476,5,,1,2,incomplete\r

            """)
    }

    @Test func tableAggregatesSeeds() throws {
        let (_, store) = try Self.store()
        let report = SweepTable(try store.results(of: SweepReference(parsing: "base"))).report
        #expect(report.render(.csv) == """
            lr,opt,train.acc,train.acc_std,train.loss,train.loss_std,n,status\r
            0.1,sgd,0.1,0,0.5,0.7071067811865476,2,complete\r
            0.1,adam,0.1,0,0.5,0.7071067811865476,2,complete\r
            0.01,sgd,0.01,0,0.5,0.7071067811865476,2,complete\r
            0.01,adam,0.01,0,0.5,0.7071067811865476,2,complete\r

            """)
        #expect(report.render(.md) == """
            | lr | opt | train.acc | train.acc_std | train.loss | train.loss_std | n | status |
            |---|---|---:|---:|---:|---:|---:|---:|
            | 0.1 | sgd | 0.1 | 0 | 0.5 | 0.7071 | 2 | complete |
            | 0.1 | adam | 0.1 | 0 | 0.5 | 0.7071 | 2 | complete |
            | 0.01 | sgd | 0.01 | 0 | 0.5 | 0.7071 | 2 | complete |
            | 0.01 | adam | 0.01 | 0 | 0.5 | 0.7071 | 2 | complete |

            """)
        let text = report.render(.text).split(separator: "\n").map(String.init)
        #expect(text[0] == "lr    opt   train.acc  train.acc_std  train.loss  train.loss_std  n    status")
        #expect(text[2] == "0.1   sgd         0.1              0         0.5          0.7071  2  complete")
        let json = try JSONParser.parse(report.render(.json))
        guard case .array(let rows) = json else { Issue.record("not an array"); return }
        #expect(rows.count == 4)
        #expect(rows[3]["opt"] == .string("adam"))
        #expect(rows[3]["train.acc"] == .number(0.01))
    }

    @Test func singleSeedHasNoStdColumns() throws {
        let dir = TempDir()
        let (_, store) = try runSweep(dir, #"{"name": "one", "grid": {"x": [1, 2]}, "stages": [{"name": "s", "command": ["sh", "-c", "echo '{\"y\": {x}}' >> $XEXP_METRICS"]}]}"#)
        let report = SweepTable(try store.results(of: SweepReference(parsing: "one"))).report
        #expect(report.columns == ["x", "s.y", "n", "status"])
        #expect(report.render(.csv) == "x,s.y,n,status\r\n1,1,1,complete\r\n2,2,1,complete\r\n")
    }

    @Test func diffMatchesRowsOnSharedParameters() throws {
        let (_, store) = try Self.store()
        let a = try store.results(of: SweepReference(parsing: "base"))
        let b = try store.results(of: SweepReference(parsing: "double"))
        let diff = SweepDiff(a: a, b: b, onlyChanged: false)
        #expect(diff.keys == ["lr", "opt"])
        let csv = diff.report.render(.csv).split(separator: "\r\n").map(String.init)
        #expect(csv[0] == "lr,opt,metric,a,b,delta")
        #expect(csv[1] == "0.1,sgd,train.acc,0.1,0.2,0.1")
        #expect(csv[2] == "0.1,sgd,train.loss,0.5,0.5,0")
        #expect(csv.count == 1 + 8)
        let changed = SweepDiff(a: a, b: b, onlyChanged: true).report
        #expect(changed.rows.count == 4)
        #expect(changed.rows.allSatisfy { $0[2] == .text("train.acc") })
    }

    @Test func diffOfTwoRunsOfOneSweep() throws {
        let dir = TempDir()
        let spec = #"{"name": "r", "grid": {"x": [1, 2]}, "stages": [{"name": "s", "command": ["sh", "-c", "echo '{\"y\": {x}}' >> $XEXP_METRICS"]}]}"#
        let (_, store) = try runSweep(dir, spec)
        try runSweep(dir, spec.replacingOccurrences(of: "[1, 2]", with: "[2, 3]"))
        let first = try store.results(of: SweepReference(parsing: "r@1"))
        let previous = try store.results(of: SweepReference(parsing: "r@-1"))
        let latest = try store.results(of: SweepReference(parsing: "r"))
        #expect(first.seq == 1 && previous.seq == 1 && latest.seq == 2)
        let report = SweepDiff(a: first, b: latest, onlyChanged: false).report
        #expect(report.render(.csv) == "x,metric,a,b,delta\r\n1,s.y,1,,\r\n2,s.y,2,2,0\r\n3,s.y,,3,\r\n")
        #expect(throws: StoreError.self) { try store.resolve(SweepReference(parsing: "r@3")) }
        #expect(throws: StoreError.self) { try store.resolve(SweepReference(parsing: "r@-2")) }
        #expect { try store.resolve(SweepReference(parsing: "q")) } throws: { error in
            "\(error)".contains("did you mean 'r'?")
        }
    }

    @Test func exportLongHasOneRowPerTrialSeedAndMetric() throws {
        let (_, store) = try Self.store()
        let report = SweepTable.longReport(try store.results(of: SweepReference(parsing: "base")))
        let csv = report.render(.csv).split(separator: "\r\n").map(String.init)
        #expect(csv[0] == "lr,opt,seed,metric,value")
        #expect(csv[1] == "0.1,sgd,0,train.acc,0.1")
        #expect(csv[2] == "0.1,sgd,0,train.loss,0")
        #expect(csv[3] == "0.1,sgd,1,train.acc,0.1")
        #expect(csv.count == 1 + 4 * 2 * 2)
    }

    @Test func csvQuotesWhatNeedsIt() {
        #expect(CSV.document(header: ["a", "b"], rows: [["x,y", "say \"hi\""], ["line\nbreak", "plain"]])
                == "a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n\"line\nbreak\",plain\r\n")
    }

    @Test func plotSortsXAndSplitsSeries() throws {
        let (_, store) = try Self.store()
        let results = try store.results(of: SweepReference(parsing: "base"))
        let plot = try PlotData(results, x: "lr", y: ["train.acc"], by: "opt")
        #expect(plot.report.render(.csv) == """
            lr,train.acc[opt=sgd],train.acc[opt=sgd]_std,train.acc[opt=adam],train.acc[opt=adam]_std\r
            0.01,0.01,0,0.01,0\r
            0.1,0.1,0,0.1,0\r

            """)
        var titled = plot
        titled.title = "base@1"
        let script = titled.gnuplotScript(csvFile: "some/dir/out.csv", imageFile: "some/dir/out.png")
        #expect(script.contains("set datafile separator ','"))
        // Files by name (the script sits next to them), a title and axis labels, a tick at each x value.
        #expect(script.contains("\"out.csv\" using 1:2:3 with yerrorlines title \"train.acc[opt=sgd]\""))
        #expect(script.contains("set output \"out.png\"") && !script.contains("some/dir"))
        #expect(script.contains("set title \"base@1: train.acc\"") && script.contains("set ylabel \"train.acc\"") && script.contains("set xlabel \"lr\""))
        #expect(script.contains("set xtics (\"0.01\" 0.01, \"0.1\" 0.1)"))
        let filtered = try PlotData(results, x: "lr", y: ["train.acc", "train.loss"], by: nil, filters: [("opt", "sgd")])
        #expect(filtered.report.columns == ["lr", "train.acc", "train.acc_std", "train.loss", "train.loss_std"])
        #expect { try PlotData(results, x: "lr", y: ["train.acc"], by: nil) } throws: { error in
            "\(error)".contains("opt also vary") && "\(error)".contains("--by opt")
        }
        #expect { try PlotData(results, x: "lr", y: ["train.accc"], by: "opt") } throws: { error in
            "\(error)".contains("did you mean 'train.acc'?")
        }
    }
}
