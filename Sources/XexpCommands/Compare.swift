import ArgumentParser
import Foundation
import XexpOrchestration
import XexpPipeline

/// `xexp compare SWEEP --reference FILE.csv`: does the sweep rank its rows as the reference (the paper) does?
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a sweep's trends against a reference table: Spearman and Kendall rank correlation per metric.",
        discussion: """
            The reference CSV's first column is the swept parameter (tokens, projector, llm, …), its other columns \
            metrics named as `xexp table SWEEP --all-metrics` names them (gqa.accuracy, pope.f1, …). Rows are \
            matched on the parameter's value (numbers numerically, strings exactly); with several seeds the \
            table's mean is used. Results/reference/ holds the paper's Tables 7, 8 and 9.
            """)

    @Argument(help: ArgumentHelp("NAME (latest run) or NAME@K (K-th run; NAME@-1 is the one before the latest).", valueName: "sweep"), completion: sweepNames)
    var sweep: String

    @Option(help: ArgumentHelp("The reference CSV: the swept parameter, then one column per metric.", valueName: "file.csv"))
    var reference: String

    @Option(help: ArgumentHelp("The sweep's parameter to match rows on (default: the reference's first column header).", valueName: "param"))
    var x: String?

    @Option(help: ArgumentHelp("Compare only these metrics, comma-separated (default: every metric both have).", valueName: "a,b,c"))
    var metrics: String?

    @Flag(help: "Print only {\"metrics\": {NAME: {\"spearman\": r, \"kendall\": t, \"n\": k}}, \"mean_spearman\": m}.")
    var json = false

    @OptionGroup var store: StoreOptions

    /// The names in `--metrics`, each once (a JSON object cannot hold a key twice).
    func metricList(_ text: String) -> [String] {
        var names: [String] = []
        for part in text.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            if !name.isEmpty && !names.contains(name) { names.append(name) }
        }
        return names
    }

    func run() throws {
        // Checked here rather than in validate(): the README promises status 2 for a bad option, ArgumentParser gives 64.
        if let metrics, metricList(metrics).isEmpty {
            throw fail("--metrics \"\(metrics)\" names no metric; write names separated by commas, e.g. gqa.accuracy,pope.f1", status: ExitStatus.usage)
        }
        let table: ReferenceTable
        do { table = try ReferenceTable(contentsOf: reference) } catch { throw fail(error.description, status: ExitStatus.usage) }
        let store = try self.store.openExisting()
        let results = try query { try store.results(of: SweepReference(parsing: sweep)) }
        let comparison: TrendComparison
        do { comparison = try TrendComparison(results, reference: table, x: x, metrics: metrics.map(metricList)) } catch {
            throw fail(error.description, status: ExitStatus.usage)
        }
        if json {
            print(comparison.json.jsonText)
            return
        }
        var lines = ["sweep \(sweep) vs \(reference), rows matched on \(comparison.x): \(comparison.matchedKeys.count) of \(table.rows.count)"
                     + (comparison.unmatchedKeys.isEmpty ? "" : " (not in the sweep: \(comparison.unmatchedKeys.joined(separator: ", ")))")]
        lines.append(comparison.report.render(.text).trimmingCharacters(in: .newlines))
        var mean = "mean spearman: " + String(format: "%.4g", comparison.meanSpearman) + " over \(comparison.metrics.count) metric(s)"
        if comparison.metrics.contains(where: { $0.spearman == nil }) { mean += " (—: no correlation, from a constant series or fewer than 2 rows; counted as 0)" }
        lines.append(mean)
        if metrics == nil {
            if !comparison.onlyInReference.isEmpty {
                lines.append("skipped, only in \(reference): \(comparison.onlyInReference.joined(separator: ", "))")
            }
            if !comparison.onlyInSweep.isEmpty {
                // A built-in pipeline sweep has dozens of metrics: name the headline ones `xexp table` shows, count the rest.
                var shown = comparison.onlyInSweep
                if results.usesBuiltinPipeline { shown = XmodelPipeline().headlineMetrics.filter(comparison.onlyInSweep.contains) }
                let rest = comparison.onlyInSweep.count - shown.count
                var line = "skipped, only in sweep \(sweep): \(shown.joined(separator: ", "))"
                if rest > 0 { line += (shown.isEmpty ? "" : " and ") + "\(rest) other metric(s) (xexp table \(sweep) --all-metrics)" }
                lines.append(line)
            }
        }
        print(lines.joined(separator: "\n"))
    }
}
