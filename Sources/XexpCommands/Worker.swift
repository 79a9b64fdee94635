import ArgumentParser
import Foundation
import XexpPipeline

/// `xexp worker STAGE …`: runs one stage of the built-in pipeline in this process. Job commands call it; users
/// normally never do (it is hidden from help), but it is how a single stage is re-run or debugged by hand.
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one stage of the built-in VLM pipeline (what the pipeline's jobs execute).",
        shouldDisplay: false)

    @Argument(help: ArgumentHelp("The stage: \(PipelineRunner.stageNames.joined(separator: ", ")).", valueName: "stage"))
    var stage: String

    @Option(help: ArgumentHelp("Where the job writes (its job directory).", valueName: "dir"))
    var jobDir: String

    @Option(help: ArgumentHelp("An upstream job's directory, as STAGE=DIR (repeatable).", valueName: "stage=dir"))
    var upstream: [String] = []

    @Option(name: .customLong("set"), help: ArgumentHelp("A parameter the stage reads, as NAME=VALUE (repeatable).", valueName: "name=value"))
    var settings: [String] = []

    func run() throws {
        func pairs(_ list: [String], _ flag: String) throws -> [String: String] {
            var result: [String: String] = [:]
            for item in list {
                guard let i = item.firstIndex(of: "=") else { throw ValidationError("--\(flag) expects KEY=VALUE, got \"\(item)\"") }
                result[String(item[..<i])] = String(item[item.index(after: i)...])
            }
            return result
        }
        guard PipelineRunner.stageNames.contains(stage) else {
            throw fail("unknown stage \"\(stage)\"; stages: \(PipelineRunner.stageNames.joined(separator: ", "))", status: ExitStatus.usage)
        }
        let context: StageContext
        do {
            context = try StageContext(stage: stage, jobDirectory: URL(fileURLWithPath: jobDir),
                                       upstream: try pairs(upstream, "upstream").mapValues { URL(fileURLWithPath: $0) },
                                       parameters: try pairs(settings, "set"))
        } catch let error as StageFailure {
            throw fail("\(stage): \(error)", status: ExitStatus.usage)
        }
        do { try PipelineRunner.run(context) } catch {
            throw fail("\(stage): \(error)", status: ExitStatus.failure)
        }
    }
}
