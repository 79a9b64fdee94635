import Foundation
import XexpData
import XexpLearning
import XexpModels

/// Runs one built-in stage in this process (`xexp worker STAGE …`): the entry point the job commands call.
public enum PipelineRunner {
    public static let stageNames = ["vision", "lm", "caption-features", "instruction-features", "benchmark-features", "align", "finetune"] + BenchmarkName.allCases.map(\.rawValue) + ["latency"]

    public static func run(_ context: StageContext) throws {
        BLAS.threadCount = context.threads
        ActivationMemory.policy = context.activations
        FileHandle.standardError.write(Data("\(context.stage): activations: \(ActivationMemory.describe(context.activations))\n".utf8))
        try FileManager.default.createDirectory(at: context.jobDirectory, withIntermediateDirectories: true)
        let metrics = MetricsLog(jobDirectory: context.jobDirectory)
        switch context.stage {
        case "vision": try PretrainStages.runVision(context, metrics: metrics)
        case "lm": try PretrainStages.runLM(context, metrics: metrics)
        case "caption-features": try FeatureStages.runTuningSet(.captions, context, metrics: metrics)
        case "instruction-features": try FeatureStages.runTuningSet(.instructions, context, metrics: metrics)
        case "benchmark-features": try FeatureStages.runBenchmarks(context, metrics: metrics)
        case "align": try TuningStages.runAlign(context, metrics: metrics)
        case "finetune": try TuningStages.runFinetune(context, metrics: metrics)
        case "latency": try EvaluationStages.runLatency(context, metrics: metrics)
        default:
            guard let benchmark = BenchmarkName(rawValue: context.stage) else {
                throw StageFailure("unknown stage \"\(context.stage)\"; stages: \(stageNames.joined(separator: ", "))")
            }
            try EvaluationStages.runBenchmark(benchmark, context, metrics: metrics)
        }
    }
}
