import ArgumentParser
import Foundation
import XexpOrchestration
import XexpPipeline

/// `xexp table SWEEP`: one row per trial, seeds aggregated.
struct Table: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a sweep's results: one row per trial, seeds aggregated (mean, _std, n).")

    @Argument(help: ArgumentHelp("NAME (latest run) or NAME@K (K-th run; NAME@-1 is the one before the latest).", valueName: "sweep"), completion: sweepNames)
    var sweep: String

    @Option(help: "Output format: text, md, csv or json.")
    var format: ReportFormat = .text

    @Flag(help: "Show every metric (built-in pipeline sweeps show one headline metric per benchmark by default).")
    var allMetrics = false

    @Option(name: .customLong("where"), help: ArgumentHelp("Keep only trials with this parameter value (repeatable).", valueName: "param=value"))
    var filters: [String] = []

    @Option(help: ArgumentHelp("Sort rows by this column (COLUMN:desc for descending).", valueName: "column"))
    var sort: String?

    @Option(help: ArgumentHelp("Show only these columns, in this order (comma-separated; see the table's header).", valueName: "a,b,…"))
    var columns: String?

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExisting()
        let selection: TableSelection
        do { selection = try TableSelection(filters: filters, sort: sort, columns: columns) } catch {
            throw fail("\(error)", status: ExitStatus.usage)
        }
        let all = try query { try store.results(of: SweepReference(parsing: sweep)) }
        let results: InvocationResults
        do { results = try selection.filter(all) } catch { throw fail("\(error)", status: ExitStatus.usage) }
        var metrics: [String]?
        if results.usesBuiltinPipeline && !allMetrics {
            // The paper's column order: GQA, SQA, VQA^T, POPE, MME, MMB, then latency.
            metrics = XmodelPipeline().headlineMetrics.filter(results.metricNames.contains)
        }
        let table: ReportTable
        do { table = try selection.apply(to: SweepTable(results, metrics: metrics).report) } catch { throw fail("\(error)", status: ExitStatus.usage) }
        print(table.render(format), terminator: "")
        if let metrics, format == .text || format == .md {
            // The built-in pipeline's `seed` reaches stages 1 and 2 only: every seed shares the pretrained backbones.
            let seeds = Set(results.trials.compactMap { $0.parameters["seed"] }).count
            let backboneSeeds = Set(results.trials.compactMap { $0.parameters["backbone_seed"] }).count
            let spread = seeds > 1 ? "_std and n are over \(seeds) seeds of stage 1, stage 2 and evaluation; the pretrained encoder and LM are shared by every seed (their variance is not in _std; vary backbone_seed for it)" : nil
            let backbones = backboneSeeds > 1 ? "backbone_seed varies: each value is its own row (its own pretrained encoder and LM)" : nil
            for line in [SweepTable.chanceLine(results, headline: metrics), SweepTable.blindLine(results, headline: metrics), spread, backbones].compactMap({ $0 }) {
                print(format == .md ? "\n" + line : line)
            }
        }
    }
}
