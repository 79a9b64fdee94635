/// The benchmarks' scoring rules as small pure functions, each checked against hand-computed cases.

/// VQA accuracy: for each of the n leave-one-out subsets of the n reference answers,
/// min(1, matches among the other n-1 / 3); averaged. Answers are compared after
/// ``AnswerParsing/normalizeVQA(_:)``.
public enum VQAAccuracy {
    public static func score(prediction: String, references: [String]) -> Double {
        guard !references.isEmpty else { return 0 }
        let p = AnswerParsing.normalizeVQA(prediction)
        let refs = references.map(AnswerParsing.normalizeVQA)
        let matches = refs.filter { $0 == p }.count
        var total = 0.0
        for r in refs {
            let others = matches - (r == p ? 1 : 0)
            total += min(1, Double(others) / 3)
        }
        return total / Double(refs.count)
    }
}

/// Confusion-matrix metrics of a yes/no benchmark with "yes" as the positive class (POPE).
/// Fractions in [0, 1]; precision is 0 when nothing is predicted yes, F1 is 0 when precision + recall is 0.
public struct BinaryMetrics: Sendable, Equatable {
    public var truePositives = 0, falsePositives = 0, trueNegatives = 0, falseNegatives = 0

    public init(predictedYes: [Bool], actualYes: [Bool]) {
        precondition(predictedYes.count == actualYes.count, "one prediction per label")
        for (p, a) in zip(predictedYes, actualYes) {
            switch (p, a) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, false): trueNegatives += 1
            case (false, true): falseNegatives += 1
            }
        }
    }

    public var total: Int { truePositives + falsePositives + trueNegatives + falseNegatives }
    public var accuracy: Double { ratio(truePositives + trueNegatives, total) }
    public var precision: Double { ratio(truePositives, truePositives + falsePositives) }
    public var recall: Double { ratio(truePositives, truePositives + falseNegatives) }
    public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
    public var yesRatio: Double { ratio(truePositives + falsePositives, total) }

    private func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
}

/// MME's per-subtask score: 100·acc + 100·acc+, where acc is over questions and acc+ is the fraction of
/// images whose questions (two per image) are all right. Ranges over 0…200.
public enum MMEScore {
    public struct Result: Sendable, Equatable {
        public var accuracy: Double
        public var accuracyPlus: Double
        public var score: Double { 100 * accuracy + 100 * accuracyPlus }
    }

    /// `answers`: (image key, correct) per question.
    public static func subtask(_ answers: [(image: Int, correct: Bool)]) -> Result {
        guard !answers.isEmpty else { return Result(accuracy: 0, accuracyPlus: 0) }
        var perImage: [Int: Bool] = [:]
        for a in answers { perImage[a.image] = (perImage[a.image] ?? true) && a.correct }
        let acc = Double(answers.filter(\.correct).count) / Double(answers.count)
        let accPlus = Double(perImage.values.filter { $0 }.count) / Double(perImage.count)
        return Result(accuracy: acc, accuracyPlus: accPlus)
    }
}

/// MMBench's CircularEval: a question is right only if every rotation of its options is answered right.
public enum CircularEval {
    /// `answers`: (question key, correct) per rotated copy. Returns the fraction of question keys all right.
    public static func accuracy(_ answers: [(question: String, correct: Bool)]) -> Double {
        var perQuestion: [String: Bool] = [:]
        for a in answers { perQuestion[a.question] = (perQuestion[a.question] ?? true) && a.correct }
        guard !perQuestion.isEmpty else { return 0 }
        return Double(perQuestion.values.filter { $0 }.count) / Double(perQuestion.count)
    }
}
