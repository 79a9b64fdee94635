import Foundation
import XexpData
import XexpLearning
import XexpModels

/// `align` (stage 1: the projector learns to map frozen encoder features into the frozen LM's space, on
/// captions) and `finetune` (stage 2: projector and LM learn to answer, on multi-turn instructions).
enum TuningStages {
    static func runAlign(_ context: StageContext, metrics: MetricsLog) throws {
        let s = context.settings
        // The encoder and LM configs come from the upstream checkpoints: align reads only what its identity holds.
        let encoder = try Checkpoint.load(from: try context.upstreamDirectory("vision").appendingPathComponent("encoder.safetensors").path)
        let lm = try Checkpoint.load(from: try context.upstreamDirectory("lm").appendingPathComponent("lm.safetensors").path)
        let config = VLMConfig(visionConfig: try JSONDecoder().decode(VisionConfig.self, from: Data(encoder.config.utf8)),
                               textConfig: try JSONDecoder().decode(LLMConfig.self, from: Data(lm.config.utf8)),
                               projectorType: try ProjectorKind.parse(try s.string("projector")),
                               visualTokens: try s.int("tokens", auto: 144), imageTokenIndex: Tokenizer.imageID)
        let model = try VLM(config: config, seed: s.seed)
        try model.restore(encoder.parameters, components: [.visionEncoder])
        try model.restore(lm.parameters, components: [.languageModel])
        model.prepare(for: .alignment)
        try train(model, context: context, metrics: metrics, set: .captions)
    }

    static func runFinetune(_ context: StageContext, metrics: MetricsLog) throws {
        let (model, _) = try VLM.load(from: try context.upstreamDirectory("align").appendingPathComponent("model.safetensors").path)
        model.prepare(for: .instruction)
        try train(model, context: context, metrics: metrics, set: .instructions)
    }

    /// The stage's epochs over `set` (less than one: a pass over its first `steps × batch` samples), AdamW on the
    /// trainable parts, cosine schedule with warm-up. The frozen encoder's features come from the upstream features
    /// job, computed once per sweep.
    static func train(_ model: VLM, context: StageContext, metrics: MetricsLog, set: FeatureStages.TuningSet) throws {
        let s = context.settings
        let stage = set.stage
        let lr = try s.double(stage + "_lr", auto: set.learningRate(s.preset))
        let data = try SyntheticData(seed: s.dataSeed)
        let batch = try s.int(set.batchParameter, auto: set.batch(s.preset))
        let (steps, used) = try set.used(s)
        let v = model.config.visionConfig
        let features = try FeatureStages.reader(context, stage: set.rawValue, shape: [used, v.tokens, v.hiddenSize])
        let sample = set.sample
        let optimizer = AdamW(groups: [ParameterGroup(model.trainableParameters, learningRate: lr,
                                                      weightDecay: try s.double("weight_decay", auto: 0))])
        let loop = TrainingLoop(name: stage, totalSteps: steps, optimizer: optimizer, warmupRatio: try s.double("warmup_ratio", auto: 0.03),
                                checkpointSeconds: s.preset.checkpointSeconds, checkpointURL: context.file("checkpoint.safetensors"))
        var order = EpochOrder(count: used, seed: s.seed &+ (stage == "align" ? 1 : 2))
        let final = try loop.run(metrics: metrics) { step in
            let indices = order.batch(step, size: batch)
            let samples = indices.map { sample(data, $0) }
            let out = model.forward(samples.map(StageSupport.example), visual: .features(try features.read(rows: indices)))
            out.loss.backward()
            return Double(out.loss.item)
        }
        let probe = ImageProbe.metrics(model, (0..<64).map { sample(data, 70_000_000 + $0) })
        metrics.emit([("loss", final), ("steps", Double(steps)),
                      ("trainable_parameters", Double(model.trainableParameters.reduce(0) { $0 + $1.tensor.count }))] + probe)
        try model.save(to: context.file("model.safetensors").path, step: steps)
        try? FileManager.default.removeItem(at: context.file("checkpoint.safetensors"))
    }
}
