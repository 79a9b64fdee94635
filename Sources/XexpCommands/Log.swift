import ArgumentParser
import Foundation
import XexpOrchestration

extension InvocationLog.Format: ExpressibleByArgument {}

/// `xexp log [SWEEP]`: every run of one sweep, or of all sweeps, oldest first.
struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every sweep run, oldest first: when, how long, how it ended, its jobs, spec hash, commit, host, options.")

    @Argument(help: ArgumentHelp("A sweep (NAME, or NAME@K for one run). Without it, the runs of every sweep.", valueName: "sweep"), completion: sweepNames)
    var sweep: String?

    @Option(help: "Output format: text (an aligned table) or json (an array of objects).")
    var format: InvocationLog.Format = .text

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExisting()
        let reference = try sweep.map { text in try query { try SweepReference(parsing: text) } }
        let entries = try query { try store.invocationLog(sweep: reference) }
        if entries.isEmpty && format == .text {
            print("no sweeps in \(store.url.path)")
            return
        }
        print(InvocationLog.render(entries, format: format), terminator: "")
    }
}
