import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp diff A B`: compare two sweeps (or two runs of one) metric by metric.
struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two sweeps: for each shared row and metric, A, B and B − A.",
        discussion: "References are NAME (latest run), NAME@K (K-th run, from 1) or NAME@-K (K runs before the latest).")

    @Argument(help: ArgumentHelp("The baseline sweep reference.", valueName: "a"), completion: sweepNames)
    var a: String

    @Argument(help: ArgumentHelp("The sweep reference compared with it.", valueName: "b"), completion: sweepNames)
    var b: String

    @Option(help: "Output format: text, md, csv or json.")
    var format: ReportFormat = .text

    @Flag(help: "Show only metrics whose value differs.")
    var onlyChanged = false

    @Flag(help: "Compare sweeps that share no varying parameter by averaging each side into one row (refused otherwise).")
    var aggregate = false

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExisting()
        let left = try query { try store.results(of: SweepReference(parsing: a)) }
        let right = try query { try store.results(of: SweepReference(parsing: b)) }
        let diff = SweepDiff(a: left, b: right, onlyChanged: onlyChanged, aggregateUnmatched: aggregate)
        if let refusal = diff.refusal { throw fail(refusal, status: ExitStatus.usage) }
        print(diff.render(format), terminator: "")
    }
}
