import ArgumentParser
import Foundation
import XexpOrchestration
import XexpPipeline

/// `xexp report SWEEP`: a self-contained HTML page of a sweep run — spec, provenance, results, plots, graph, failures.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained HTML report of a sweep: spec, provenance, table, plots, job graph, failures.",
        discussion: "No script and no network: inline SVG only, so it opens from a file:// URL. Default output: SWEEP.html.")

    @Argument(help: ArgumentHelp("NAME (latest run) or NAME@K.", valueName: "sweep"), completion: sweepNames)
    var sweep: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The HTML file to write (`-`: stdout; default: NAME.html).", valueName: "file.html"))
    var output: String?

    @Option(help: ArgumentHelp("A reference table (as for `xexp compare`) drawn as a second series on a right-hand axis, e.g. Results/reference/table8.csv.", valueName: "file.csv"))
    var reference: String?

    @Flag(help: "Plot every metric (built-in pipeline sweeps plot their headline metrics by default).")
    var allMetrics = false

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExisting()
        let ref = try query { try SweepReference(parsing: sweep) }
        let results = try query { try store.results(of: ref) }
        var report = HTMLReport(results: results, log: try query { try store.invocationLog(sweep: ref) }.last,
                                metrics: results.usesBuiltinPipeline && !allMetrics
                                    ? XmodelPipeline().headlineMetrics.filter(results.metricNames.contains) : nil)
        report.problems = try query { try store.problems(of: ref) }.jobs
        report.jobs = try query { try store.jobs(of: ref) }
        if let reference {
            do { report.reference = try ReferenceTable(contentsOf: reference) } catch {
                throw fail(error.description, status: ExitStatus.usage)
            }
        }
        let path = output ?? "\(results.sweep).html"
        try emit(report.render(), to: path)
        if path != "-" { FileHandle.standardError.write(Data("wrote \(path)\n".utf8)) }
    }
}
