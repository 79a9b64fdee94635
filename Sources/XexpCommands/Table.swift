import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp table SWEEP`: one row per trial, seeds aggregated.
struct Table: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a sweep's results: one row per trial, seeds aggregated (mean, _std, n).")

    @Argument(help: ArgumentHelp("NAME (latest run) or NAME@K (K-th run; NAME@-1 is the one before the latest).", valueName: "sweep"))
    var sweep: String

    @Option(help: "Output format: text, md, csv or json.")
    var format: ReportFormat = .text

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExisting()
        let results = try query { try store.results(of: SweepReference(parsing: sweep)) }
        print(SweepTable(results).report.render(format), terminator: "")
    }
}
