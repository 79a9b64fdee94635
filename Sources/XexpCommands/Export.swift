import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp export SWEEP`: RFC 4180 CSV for pandas and spreadsheets.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a sweep's results as CSV (wide: the table's columns; --long: one row per trial × seed × metric).")

    @Argument(help: ArgumentHelp("NAME or NAME@K.", valueName: "sweep"), completion: sweepNames)
    var sweep: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Write to this file instead of stdout (`-`: stdout).", valueName: "file"))
    var output: String?

    @Flag(help: "Long format: the parameters, then seed,metric,value.")
    var long = false

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExisting()
        let results = try query { try store.results(of: SweepReference(parsing: sweep)) }
        let report = long ? SweepTable.longReport(results) : SweepTable(results).report
        try emit(report.render(.csv), to: output)
    }
}
