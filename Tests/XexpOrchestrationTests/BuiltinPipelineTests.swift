import Foundation
import Testing
@testable import XexpOrchestration

/// A stand-in pipeline: `train` reads `size`, `eval-a`/`eval-b` run only for trials whose `evals` lists them.
struct FakePipeline: BuiltinPipeline {
    var parameterNames: [String] { ["size", "evals"] }
    var defaults: Parameters { Parameters.of(["evals": .string("a,b")]) }
    var headlineMetrics: [String] { ["eval-a.score"] }

    func validate(_ p: Parameters) -> [(parameter: String, message: String)] {
        if case .number(let d, _)? = p["size"], d > 10 { return [("size", "size \(JSONValue.formatNumber(d)) is too large; valid: 1…10")] }
        return []
    }

    func stages(for trials: [Trial]) -> [StageSpec] {
        [StageSpec(name: "train", command: [selfExecutablePlaceholder, "train", "{size}"], identitySalt: "fake/1")]
            + ["a", "b"].map { e in
                StageSpec(name: "eval-\(e)", command: [selfExecutablePlaceholder, "eval", e, "{train.dir}"], after: ["train"], identitySalt: "fake/1",
                          appliesTo: { ($0["evals"]?.description ?? "a,b").split(separator: ",").contains(Substring(e)) })
            }
    }
}

@Suite("Built-in pipeline hook")
struct BuiltinPipelineTests {
    func plan(_ text: String) throws -> SweepPlan {
        let dir = TempDir()
        let url = dir.write("p.json", text)
        return try withExtendedLifetime(dir) { try SweepPlan(specAt: url, displayPath: "p.json", pipeline: FakePipeline()) }
    }

    @Test func stagesComeFromThePipelineAndApplyPerTrial() throws {
        let p = try plan(#"{"name": "p", "grid": {"size": [1, 2]}, "include": [{"size": 3, "evals": "b"}]}"#)
        #expect(p.graph.stageOrder == ["train", "eval-a", "eval-b"])
        #expect(p.graph.trialJobs.map { $0.keys.sorted() } == [["eval-a", "eval-b", "train"], ["eval-a", "eval-b", "train"], ["eval-b", "train"]])
        let train = p.graph.jobs[0]
        #expect(train.displayCommand[0] == Job.selfExecutable)
        #expect(train.displayCommand[1...] == ["train", "1"])
        #expect(p.trials[0].parameters.names == ["size", "evals", "seed"])
        #expect(p.trials[2].parameters["evals"] == .string("b"))
    }

    @Test func invalidValuesPointAtTheSpec() {
        #expect { try plan(#"{"name": "p", "grid": {"size": [1, 2, 30]}}"#) } throws: { error in
            "\(error)" == "p.json: /grid/size/2: size 30 is too large; valid: 1…10"
        }
        #expect { try plan(#"{"name": "p", "base": {"sise": 1}}"#) } throws: { error in
            "\(error)" == "p.json: /base/sise: \"sise\" is not a parameter of the built-in pipeline; did you mean 'size'?"
        }
    }

    @Test func withoutAPipelineStagesAreRequired() {
        let dir = TempDir()
        let url = dir.write("p.json", #"{"name": "p"}"#)
        #expect { try SweepPlan(specAt: url, displayPath: "p.json") } throws: { error in
            "\(error)".contains("missing key \"stages\"")
        }
    }
}
