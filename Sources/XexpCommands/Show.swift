import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp show JOB`: one job's provenance.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a job's provenance: command, env, upstream jobs, the sweeps using it, every attempt, metrics and files.")

    @Argument(help: ArgumentHelp("A job id, or a prefix of at least 6 hex digits that only one job has.", valueName: "job"))
    var job: String

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExisting()
        let id = try query { try store.resolveJob(job) }
        let provenance = try query { try store.provenance(of: id) }
        print(provenance.render(), terminator: "")
    }
}
