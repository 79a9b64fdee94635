import Foundation

/// The six benchmark proxies.
public enum BenchmarkName: String, CaseIterable, Sendable, Codable {
    case gqa, sqa, textvqa, pope, mme, mmbench

    /// The metric a results table shows for this benchmark.
    public var headline: String {
        switch self {
        case .pope: "f1"
        case .mme: "total"
        default: "accuracy"
        }
    }

    /// What the `size` argument of ``SyntheticData/benchmark(_:size:)`` counts.
    public var sizeMeaning: String {
        switch self {
        case .gqa, .sqa, .textvqa: "questions (one image each)"
        case .pope: "images (6 questions each in each of 3 splits: 18 per image)"
        case .mme: "images (2 questions each; subtasks in turn)"
        case .mmbench: "questions (each asked once per rotation of its options)"
        }
    }
}

/// One question of a benchmark.
public struct BenchmarkQuestion: Sendable, Hashable {
    /// Unique within the set, e.g. `pope-adversarial-12-3`.
    public var id: String
    /// Index into ``BenchmarkSet/images``; several questions may share an image (POPE, MME).
    public var imageIndex: Int
    public var qa: QA
    /// Reference answers: one, or ten annotators' for TextVQA.
    public var answers: [String]
    /// POPE: the split; MME: the subtask; MMBench: the base question's id; otherwise the family.
    public var group: String

    public var question: String { qa.question }
}

/// A held-out benchmark: its images, its questions and its scorer.
///
/// Greedy decoding is deterministic, so a caller may answer identical (image, question) pairs once —
/// POPE's positive questions recur in all three splits.
public struct BenchmarkSet: Sendable {
    public let name: BenchmarkName
    public let scenes: [Scene]
    public let images: [ImageBuffer]
    public let questions: [BenchmarkQuestion]

    /// The evaluation prompt of question `index` (see ``ChatTemplate/prompt(question:image:)``).
    public func prompt(_ index: Int, tokenizer: Tokenizer = .standard) -> [Int32] {
        ChatTemplate(tokenizer: tokenizer).prompt(question: questions[index].question)
    }

    /// Scores one prediction per question (in order). Accuracy-like metrics are percentages, as in the
    /// paper's tables; MME's are its points (0–200 per subtask). `chance` is the headline metric's value
    /// for uniform random guessing.
    public func score(_ predictions: [String]) throws -> BenchmarkScore {
        guard predictions.count == questions.count else {
            throw DataError("\(name.rawValue): \(predictions.count) predictions for \(questions.count) questions; pass one prediction per question, in order")
        }
        return BenchmarkScorer.score(self, predictions)
    }

    /// Scores the predictions and writes one JSON object per question to `url` (JSON lines): `id`,
    /// `question`, `prediction`, `parsed`, `answers`, `correct`, `score`, `family`, `group`.
    @discardableResult
    public func writePredictions(_ predictions: [String], to url: URL) throws -> BenchmarkScore {
        let result = try score(predictions)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for (i, q) in questions.enumerated() {
            let record = PredictionRecord(id: q.id, question: q.question, prediction: predictions[i],
                                          parsed: result.parsed[i], answers: q.answers,
                                          correct: result.perQuestion[i] >= 1, score: result.perQuestion[i],
                                          family: q.qa.family.rawValue, group: q.group)
            data.append(try encoder.encode(record))
            data.append(0x0A)
        }
        try data.write(to: url, options: .atomic)
        return result
    }

    private struct PredictionRecord: Encodable {
        var id, question, prediction, parsed: String
        var answers: [String]
        var correct: Bool
        var score: Double
        var family, group: String
    }
}

/// Named metrics of one benchmark run.
public struct BenchmarkScore: Sendable {
    public var benchmark: BenchmarkName
    public var metrics: [String: Double]
    /// Per question: 1 or 0, or the VQA accuracy for TextVQA.
    public var perQuestion: [Double]
    /// Per question: what the parser made of the prediction (a letter, yes/no, a normalised string).
    public var parsed: [String]

    public var headline: Double { metrics[benchmark.headline] ?? .nan }
    public var chance: Double { metrics["chance"] ?? .nan }
}
