import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp cancel SWEEP`: scancel a Slurm sweep's queued and running jobs.
struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel a Slurm sweep's queued and running jobs (scancel) and record them as interrupted.",
        discussion: "`xexp sweep SPEC --backend slurm` runs the cancelled jobs again. Local sweeps stop with Ctrl-C.")

    @Argument(help: ArgumentHelp("NAME (latest run) or NAME@K.", valueName: "sweep"), completion: sweepNames)
    var sweep: String

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExistingForWriting()
        let reference = try query { try SweepReference(parsing: sweep) }
        let (invocation, _) = try query { try store.resolve(reference) }
        let outcome: (cancelled: Int, recorded: Bool)
        do { outcome = try SlurmIngest.cancel(store: store, invocation: invocation) } catch let error as SlurmError {
            throw fail("\(error.description); nothing was recorded, run `xexp cancel \(sweep)` again once Slurm answers", status: ExitStatus.failure)
        }
        guard outcome.cancelled > 0 else {
            print("sweep \(reference.name) has no jobs queued or running on Slurm; nothing to cancel")
            return
        }
        print("cancelled \(outcome.cancelled) Slurm job(s) of sweep \(reference.name); "
              + (outcome.recorded ? "recorded as interrupted (`xexp sweep SPEC --backend slurm` runs them again)"
                                  : "the xexp process watching the sweep records them"))
    }
}
