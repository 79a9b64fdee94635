import Foundation
import XexpData
import XexpLearning
import XexpModels

/// `vision` and `lm`: the parts that are pretrained once and shared by every trial that agrees on them.
enum PretrainStages {
    // MARK: - Vision

    /// Per-patch targets: the shape, colour, size and digit of what covers the patch's cell ("none" = last class).
    /// The encoder must separate them patch by patch, which is what fine-grained questions later need.
    static func patchLabels(_ scene: Scene, grid: Int) -> (shape: [Int32], colour: [Int32], size: [Int32], digit: [Int32]) {
        let perCell = grid / Layout.cells
        var shape = [Int32](repeating: Int32(Shape.allCases.count), count: grid * grid)
        var colour = [Int32](repeating: Int32(Colour.allCases.count), count: grid * grid)
        var size = [Int32](repeating: Int32(Size.allCases.count), count: grid * grid)
        var digit = [Int32](repeating: 10, count: grid * grid)
        for y in 0..<grid {
            for x in 0..<grid {
                let (row, column) = (y / perCell, x / perCell)
                let p = y * grid + x
                if let o = scene.objects.first(where: { $0.row == row && $0.column == column }) {
                    shape[p] = Int32(o.shape.rawValue); colour[p] = Int32(o.colour.rawValue); size[p] = Int32(o.size.rawValue)
                }
                if let t = scene.text, t.row == row, column >= t.column, column < t.column + t.span {
                    // Digits share the number's cells equally from left to right.
                    let offset = Double((column - t.column) * perCell + x % perCell) + 0.5
                    let k = min(t.digits.count - 1, Int(offset / Double(t.span * perCell) * Double(t.digits.count)))
                    digit[p] = Int32(t.digits[k])
                }
            }
        }
        return (shape, colour, size, digit)
    }

    static func runVision(_ context: StageContext, metrics: MetricsLog) throws {
        let s = context.settings
        guard let config = EncoderRegistry.config(named: try s.string("encoder")) else { throw StageFailure("unknown encoder") }
        let steps = try s.int("vision_steps", auto: s.preset.visionSteps)
        let lr = try s.double("vision_lr", auto: s.preset.visionLR)
        let batch = try s.int("vision_batch", auto: s.preset.visionBatch)
        var rng = Philox(seed: s.dataSeed &+ 0x5649_5349_4F4E &+ s.backboneSeedOffset)  // "VISION"
        let encoder = try VisionEncoder(config: config, rng: &rng)
        let d = config.hiddenSize
        let classes = [Shape.allCases.count + 1, Colour.allCases.count + 1, Size.allCases.count + 1, 11]
        let heads = ["shape", "colour", "size", "digit"].enumerated().map { i, name in
            (NamedParameter("head.\(name).weight", Tensor.randn([classes[i], d], std: 0.02, rng: &rng, requiresGrad: true)),
             NamedParameter("head.\(name).bias", Tensor.zeros([classes[i]], requiresGrad: true)))
        }
        let data = try SyntheticData(seed: s.dataSeed)
        let grid = config.grid
        // Scenes from the training split, far past the captions the alignment stage uses.
        func batchScenes(_ step: Int) -> [Scene] { (0..<batch).map { data.trainingScene(.corpus, 50_000_000 + step * batch + $0) } }

        let trainable = encoder.weights.parameters + heads.flatMap { [$0.0, $0.1] }
        let optimizer = AdamW(groups: [ParameterGroup(trainable, learningRate: lr, weightDecay: 0)])
        let loop = TrainingLoop(name: "vision", totalSteps: steps, optimizer: optimizer, warmupRatio: 0.03,
                                checkpointSeconds: s.preset.checkpointSeconds, checkpointURL: context.file("checkpoint.safetensors"))
        func logits(_ scenes: [Scene]) -> [Tensor] {
            let h = encoder.lastHiddenState(StageSupport.imageTensor(scenes.map(data.render))).reshaped([scenes.count * grid * grid, d])
            return heads.map { linear(h, weight: $0.0.tensor, bias: $0.1.tensor) }
        }
        let loss = try loop.run(metrics: metrics) { step in
            let scenes = batchScenes(step)
            let labels = scenes.map { patchLabels($0, grid: grid) }
            let targets = [labels.flatMap(\.shape), labels.flatMap(\.colour), labels.flatMap(\.size), labels.flatMap(\.digit)]
            let out = logits(scenes)
            var total = crossEntropy(logits: out[0], targets: targets[0])
            for i in 1..<4 { total = total + crossEntropy(logits: out[i], targets: targets[i]) }
            total.backward()
            return Double(total.item)
        }
        // Held-out patch accuracy: what the projector will have to work with.
        var correct = [Int](repeating: 0, count: 4), counted = 0
        try Autograd.noGrad {
            for k in 0..<4 {
                let scenes = (0..<16).map { data.trainingScene(.corpus, 90_000_000 + k * 16 + $0) }
                let labels = scenes.map { patchLabels($0, grid: grid) }
                let targets = [labels.flatMap(\.shape), labels.flatMap(\.colour), labels.flatMap(\.size), labels.flatMap(\.digit)]
                for (i, l) in logits(scenes).enumerated() { correct[i] += zip(argmaxRows(l), targets[i]).filter { $0 == $1 }.count }
                counted += targets[0].count
            }
            if counted == 0 { throw StageFailure("no validation patches") }
        }
        metrics.emit([("loss", loss)] + ["shape", "colour", "size", "digit"].enumerated().map { ("\($1)_acc", Double(correct[$0]) / Double(counted)) })
        try Checkpoint.save(to: context.file("encoder.safetensors").path, parameters: encoder.weights.parameters, step: steps,
                            config: try config.sortedJSON())
        // Done: the resume state must not outlive the job (a later attempt would continue it instead of starting over).
        try? FileManager.default.removeItem(at: context.file("checkpoint.safetensors"))
    }

    // MARK: - Language model

    static func runLM(_ context: StageContext, metrics: MetricsLog) throws {
        let s = context.settings
        let config = try LanguageModelChoice.parse(try s.string("llm"), vocabSize: Tokenizer.standard.vocabularySize)
        let steps = try s.int("lm_steps", auto: s.preset.lmSteps)
        let lr = try s.double("lm_lr", auto: s.preset.lmLR)
        let answerWeight = Float(try s.double("lm_answer_weight", auto: s.preset.lmAnswerWeight))
        let focusFamilies: [QuestionFamily]?
        let focusText = try s.string("lm_focus")
        do { focusFamilies = try CorpusFocus.families(focusText == "auto" ? s.preset.lmFocus : focusText) } catch { throw StageFailure("lm_focus: \(error)") }
        let share = try s.double("lm_focus_share", auto: s.preset.lmFocusShare)
        let focus = focusFamilies.map { CorpusFocus(families: $0, share: share) }
        let batch = try s.int("lm_batch", auto: s.preset.lmBatch)
        var rng = Philox(seed: s.dataSeed &+ 0x4C4D &+ s.backboneSeedOffset)  // "LM"
        let model = try LanguageModel(config: config, rng: &rng)
        let data = try SyntheticData(seed: s.dataSeed)
        let optimizer = AdamW(groups: [ParameterGroup(model.weights.parameters, learningRate: lr, weightDecay: 0)])
        let loop = TrainingLoop(name: "lm", totalSteps: steps, optimizer: optimizer, warmupRatio: 0.03,
                                checkpointSeconds: s.preset.checkpointSeconds, checkpointURL: context.file("checkpoint.safetensors"))
        /// Next-token targets of right-padded `samples` (`length` tokens each): a token where `supervised` marks the
        /// next one, -100 elsewhere.
        func targets(_ samples: [Sample], length: Int) -> [Int32] {
            var targets = [Int32](repeating: -100, count: samples.count * length)
            for (b, sample) in samples.enumerated() {
                for t in 0..<(sample.tokens.count - 1) where sample.supervised[t + 1] { targets[b * length + t] = sample.tokens[t + 1] }
            }
            return targets
        }
        func logitsAndTargets(_ samples: [Sample]) -> (Tensor, [Int32]) {
            let length = samples.map(\.tokens.count).max()!
            var ids = [Int32](repeating: Tokenizer.padID, count: samples.count * length)
            var valid = [Bool](repeating: false, count: samples.count * length)  // keyPadding: true = a real token
            for (b, sample) in samples.enumerated() {
                for (t, id) in sample.tokens.enumerated() {
                    ids[b * length + t] = id
                    valid[b * length + t] = true
                }
            }
            let logits = model(model.embed(ids, shape: [samples.count, length]), keyPadding: valid)
            return (logits.reshaped([samples.count * length, config.vocabSize]), targets(samples, length: length))
        }
        /// Language modelling over every token, plus `answerWeight` times the mean loss over the answers alone
        /// (`answers`: the same samples with answers-only supervision). The objective to minimise, and the plain
        /// language-modelling loss that is reported (comparable across answer weights).
        func loss(_ samples: [Sample], answers: [Sample] = []) -> (objective: Tensor, reported: Double) {
            let (logits, all) = logitsAndTargets(samples)
            let plain = crossEntropy(logits: logits, targets: all)
            guard answerWeight > 0, !answers.isEmpty else { return (plain, Double(plain.item)) }
            let answerTargets = targets(answers, length: logits.shape[0] / samples.count)
            return (plain + answerWeight * crossEntropy(logits: logits, targets: answerTargets), Double(plain.item))
        }
        let final = try loop.run(metrics: metrics) { step in
            // Each sample generated once: the answers-only form, and from it the plain form (every token but `<bos>`).
            let answers = (0..<batch).map { data.corpusSample(step * batch + $0, answersOnly: true, focus: focus) }
            let plain = answers.map { sample in
                var all = sample
                all.supervised = [false] + Array(repeating: true, count: sample.tokens.count - 1)
                return all
            }
            let (objective, reported) = loss(plain, answers: answerWeight > 0 ? answers : [])
            objective.backward()
            return reported
        }
        let validation = Autograd.noGrad { loss((0..<32).map { data.corpusSample(80_000_000 + $0) }).reported }
        // Answer tokens (not `<eot>`) predicted right from the description in context: the ceiling for what the
        // VLM can answer once the projector makes image tokens as readable as the description.
        let (correct, total) = Autograd.noGrad {
            (0..<4).reduce(into: (0, 0)) { sum, k in
                let (logits, targets) = logitsAndTargets((0..<16).map { data.corpusSample(80_000_000 + k * 16 + $0, answersOnly: true) })
                let hits = StageSupport.answerTokenHits(logits: logits, targets: targets)
                sum = (sum.0 + hits.correct, sum.1 + hits.total)
            }
        }
        metrics.emit([("loss", final), ("val_loss", validation), ("context_answer_acc", Double(correct) / Double(max(1, total))),
                      ("parameters", Double(config.parameterCount))] + ContextProbe.metrics(model, data: data))
        try Checkpoint.save(to: context.file("lm.safetensors").path, parameters: model.weights.parameters, step: steps,
                            config: try config.sortedJSON())
        try? FileManager.default.removeItem(at: context.file("checkpoint.safetensors"))
    }
}

/// Row-wise argmax of a `[rows, classes]` tensor.
func argmaxRows(_ t: Tensor) -> [Int32] {
    let (rows, classes) = (t.shape[0], t.shape[1])
    return (0..<rows).map { r in
        var best = 0
        for c in 1..<classes where t.data[r * classes + c] > t.data[r * classes + best] { best = c }
        return Int32(best)
    }
}
