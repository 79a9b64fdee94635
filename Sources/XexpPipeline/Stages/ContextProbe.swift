import Foundation
import XexpData
import XexpLearning
import XexpModels

/// What the pretrained LM answers when the scene's description stands where the image will: greedy answers to the
/// first question about held-out descriptions, per question family. It is the ceiling of stage 2 (perfect
/// perception), so a family the LM cannot answer from text will not be answered from pixels either.
public enum ContextProbe {
    /// `context_acc` over `scenes` held-out corpus scenes and `context_acc.<family>` for every family asked.
    /// With `transcript`, every question, reference answer and greedy answer is written to standard error.
    public static func metrics(_ model: LanguageModel, data: SyntheticData, scenes: Int = 256, transcript: Bool = false) -> [(String, Double)] {
        var right: [QuestionFamily: Int] = [:], asked: [QuestionFamily: Int] = [:]
        let template = ChatTemplate(tokenizer: data.tokenizer)
        Autograd.noGrad {
            for i in 0..<scenes {
                let scene = data.trainingScene(.corpus, 85_000_000 + i)
                var rng = SeedStream.generator(data.seed, "probe.context", i)
                guard let qa = data.turns(for: scene, rng: &rng).first else { continue }
                let caption = Captioner.caption(scene)
                let (tokens, supervised) = template.chat(turns: [(qa.question, qa.answer)], image: false, context: caption)
                var ids = Array(tokens[..<(supervised.firstIndex(of: true) ?? tokens.count)])
                var produced: [Int32] = []
                for _ in 0..<EvaluationStages.maxNewTokens {
                    let logits = model(model.embed(ids, shape: [1, ids.count]))
                    let next = logits.argmaxLastDimension().last!
                    if EvaluationStages.stopTokens.contains(next) { break }  // as the benchmarks stop
                    produced.append(next)
                    ids.append(next)
                }
                let answer = data.tokenizer.decode(produced, skipSpecial: true)
                if transcript {
                    FileHandle.standardError.write(Data("\(qa.family.rawValue)\t\(caption)\t\(qa.question)\t\(qa.answer)\t\(answer)\n".utf8))
                }
                asked[qa.family, default: 0] += 1
                if AnswerParsing.normalizeExact(answer) == AnswerParsing.normalizeExact(qa.answer) { right[qa.family, default: 0] += 1 }
            }
        }
        let total = asked.values.reduce(0, +)
        var out = [("context_acc", Double(right.values.reduce(0, +)) / Double(max(1, total)))]
        for family in QuestionFamily.allCases { if let n = asked[family] { out.append(("context_acc.\(family.rawValue)", Double(right[family] ?? 0) / Double(n))) } }
        return out
    }
}
