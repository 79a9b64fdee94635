import ArgumentParser
import Foundation
import XexpOrchestration
import XexpPipeline

/// `xexp schema`: the JSON Schema of experiment specs, for editors (the committed specs point at
/// `Experiments/spec.schema.json`, which is this output).
struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the JSON Schema of experiment specs (editors complete and check specs that name it in \"$schema\").")

    func run() throws {
        print(SpecSchema.schema(pipeline: XmodelPipeline()).prettyText, terminator: "")
    }
}
