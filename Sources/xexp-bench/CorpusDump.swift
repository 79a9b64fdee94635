import Foundation
import XexpData
import XexpLearning
import XexpModels
import XexpPipeline

/// `xexp-bench dump-corpus`: LM-pretraining samples as JSON lines, so an external implementation (PyTorch,
/// `Benchmarks/lm_corpus_torch.py`) can train on exactly the text the built-in `lm` stage trains on.
///
/// Each line is `{"vocab": V, "tokens": [...], "answers": [...]}`: the vocabulary size, token ids and, parallel to
/// them, whether a token is an answer (or its `<eot>`); every token but `<bos>` is supervised in pretraining. With
/// `family`, every turn is a question of that family (a probe of whether the architecture can learn that one
/// skill); scenes that cannot support one are skipped, and their number is reported on stderr.
func dumpCorpus(count: Int, start: Int, family: QuestionFamily?, seed: UInt64 = 0) throws {
    let data = try SyntheticData(seed: seed)
    let factory = QuestionFactory(config: data.scenes)
    let template = ChatTemplate(tokenizer: data.tokenizer)
    var skipped = 0
    defer { if skipped > 0 { FileHandle.standardError.write(Data("xexp-bench: skipped \(skipped) scenes without a \(family!.rawValue) question\n".utf8)) } }
    for index in start..<(start + count) {
        let sample: Sample
        if let family {
            let scene = data.trainingScene(.corpus, index)
            var rng = SeedStream.generator(seed, "dump.\(family.rawValue)", index)
            var turns: [(String, String)] = []
            for _ in 0..<(4 + rng.int(below: 5)) {
                if let qa = factory.make(family, scene: scene, rng: &rng), !turns.contains(where: { $0.0 == qa.question }) {
                    turns.append((qa.question, qa.answer))
                }
            }
            if turns.isEmpty { skipped += 1; continue }
            let (tokens, answers) = template.chat(turns: turns, image: false, context: Captioner.caption(scene))
            sample = Sample(image: nil, tokens: tokens, supervised: answers, sceneFingerprint: scene.contentFingerprint)
        } else {
            sample = data.corpusSample(index, answersOnly: true)
        }
        let line = "{\"vocab\":\(data.tokenizer.vocabularySize),\"tokens\":[\(sample.tokens.map(String.init).joined(separator: ","))],\"answers\":[\(sample.supervised.map { $0 ? "1" : "0" }.joined(separator: ","))]}\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}

/// `xexp-bench train-lm-corpus`: the Swift side of `Benchmarks/lm_corpus_torch.py`: the same decoder, recipe and
/// dumped corpus, trained by this engine, with the same held-out answer accuracy printed every 100 steps.
func trainOnDumpedCorpus(train trainPath: String, eval evalPath: String, steps: Int, batch: Int, lr: Double, llm: String,
                         answerWeight: Float = 0, from checkpointPath: String? = nil) throws {
    struct Row: Decodable { var tokens: [Int32]; var answers: [Int] }
    func read(_ path: String) throws -> [Row] {
        let rows = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").enumerated().map { n, line in
            let row = try JSONDecoder().decode(Row.self, from: Data(line.utf8))
            guard row.tokens.count == row.answers.count, row.tokens.count >= 2 else {
                throw StageFailure("\(path):\(n + 1): needs at least 2 tokens and one answer flag per token (write it with xexp-bench dump-corpus)")
            }
            return row
        }
        guard !rows.isEmpty else { throw StageFailure("\(path) has no samples (write it with xexp-bench dump-corpus)") }
        return rows
    }
    let train = try read(trainPath), held = try read(evalPath)
    let config = try LanguageModelChoice.parse(llm, vocabSize: Tokenizer.standard.vocabularySize)
    var rng = Philox(seed: 0x4C4D)
    var model = try LanguageModel(config: config, rng: &rng)
    if let checkpointPath {  // evaluate (or go on training) a saved LM, e.g. an `lm` job's lm.safetensors
        let checkpoint = try Checkpoint.load(from: checkpointPath)
        model = try LanguageModel(config: try JSONDecoder().decode(LLMConfig.self, from: Data(checkpoint.config.utf8)), rng: &rng)
        try checkpoint.restore(into: model.weights.parameters)
    }
    let optimizer = AdamW(groups: [ParameterGroup(model.weights.parameters, learningRate: lr, weightDecay: 0)])
    let schedule = CosineWarmupSchedule(totalSteps: max(1, steps), warmupRatio: 0.03)
    /// Logits and next-token targets: every token but `<bos>`, and the answers with their `<eot>` (as
    /// `lm_answer_weight` weights them; accuracy skips the `<eot>`).
    func logits(_ rows: [Row]) -> (logits: Tensor, all: [Int32], answers: [Int32]) {
        let length = rows.map(\.tokens.count).max()!
        var ids = [Int32](repeating: Tokenizer.padID, count: rows.count * length)
        var valid = [Bool](repeating: false, count: rows.count * length)
        var all = [Int32](repeating: -100, count: rows.count * length)
        var answers = all
        for (b, row) in rows.enumerated() {
            for (t, id) in row.tokens.enumerated() {
                ids[b * length + t] = id
                valid[b * length + t] = true
                guard t + 1 < row.tokens.count else { continue }
                all[b * length + t] = row.tokens[t + 1]
                if row.answers[t + 1] == 1 { answers[b * length + t] = row.tokens[t + 1] }
            }
        }
        let out = model(model.embed(ids, shape: [rows.count, length]), keyPadding: valid)
        return (out.reshaped([rows.count * length, config.vocabSize]), all, answers)
    }
    func accuracy() -> Double {
        Autograd.noGrad {
            var (hit, total) = (0, 0)
            for k in stride(from: 0, to: held.count, by: 32) {
                let out = logits(Array(held[k..<min(held.count, k + 32)]))
                let hits = StageSupport.answerTokenHits(logits: out.logits, targets: out.answers)
                (hit, total) = (hit + hits.correct, total + hits.total)
            }
            return Double(hit) / Double(max(1, total))
        }
    }
    if steps == 0 { print("{\"step\": 0, \"answer_acc\": \(accuracy())}") }
    for step in 0..<steps {
        optimizer.zeroGrad()
        let rows = (0..<batch).map { train[(step * batch + $0) % train.count] }
        let out = logits(rows)
        let loss = crossEntropy(logits: out.logits, targets: out.all)
        let objective = answerWeight > 0 ? loss + answerWeight * crossEntropy(logits: out.logits, targets: out.answers) : loss
        objective.backward()
        _ = clipGradNorm(optimizer.parameters.map(\.tensor), maxNorm: 1)
        optimizer.step(lrScale: schedule.multiplier(step: step))
        if (step + 1) % 100 == 0 || step + 1 == steps {
            print("{\"step\": \(step + 1), \"loss\": \(loss.item), \"answer_acc\": \(accuracy())}")
        }
    }
}
