import Foundation
import XexpData
import XexpLearning
import XexpModels
import XexpPipeline

/// Where a tuning step's time goes: sample making (scene, rendering, tokens), the frozen encoder's features, the
/// forward and backward pass of projector and LM, clipping and the optimizer step. Run on the shipped backbones
/// (`Results/cache`), one thread, batch 16, at several token counts — the measurement behind "does sharing the
/// encoder's features pay?" (issue: a default that shows Table 8's trend).
func runStageProfile(vision: String, lm: String, tokens: [Int], steps: Int, batch: Int, stage: String) throws {
    let encoder = try Checkpoint.load(from: vision), language = try Checkpoint.load(from: lm)
    let data = try SyntheticData(seed: 0)
    func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
    print("stage \(stage), batch \(batch), \(steps) steps after 2 warm-up, threads 1, load \(loadAverage())")
    print("tokens  samples_s  encoder_s  model_fwd_bwd_s  optimizer_s  step_s  encoder_share")
    for t in tokens {
        let config = VLMConfig(visionConfig: try JSONDecoder().decode(VisionConfig.self, from: Data(encoder.config.utf8)),
                               textConfig: try JSONDecoder().decode(LLMConfig.self, from: Data(language.config.utf8)),
                               projectorType: .xdp, visualTokens: t, imageTokenIndex: Tokenizer.imageID)
        let model = try VLM(config: config, seed: 0)
        try model.restore(encoder.parameters, components: [.visionEncoder])
        try model.restore(language.parameters, components: [.languageModel])
        model.prepare(for: stage == "align" ? .alignment : .instruction)
        let optimizer = AdamW(groups: [ParameterGroup(model.trainableParameters, learningRate: 1e-4, weightDecay: 0)])
        var sums = [0.0, 0.0, 0.0, 0.0]
        for i in 0..<(steps + 2) {
            var marks = [now()]
            let samples = (0..<batch).map { k in stage == "align" ? data.captionSample(i * batch + k) : data.instructionSample(i * batch + k) }
            marks.append(now())
            let features = StageSupport.features(model, samples.map { $0.image! })
            marks.append(now())
            optimizer.zeroGrad()
            let out = model.forward(samples.map(StageSupport.example), visual: .features(features))
            out.loss.backward()
            marks.append(now())
            _ = clipGradNorm(optimizer.parameters.map(\.tensor), maxNorm: 1)
            optimizer.step()
            marks.append(now())
            if i >= 2 { for k in 0..<4 { sums[k] += marks[k + 1] - marks[k] } }
        }
        let per = sums.map { $0 / Double(steps) }, total = per.reduce(0, +)
        print(String(format: "%6d  %9.4f  %9.4f  %15.4f  %11.4f  %6.4f  %12.1f%%", t, per[0], per[1], per[2], per[3], total, 100 * per[1] / total))
    }
}
