/// Scoring of each benchmark proxy as REFERENCE §4 describes it.
enum BenchmarkScorer {
    static func score(_ set: BenchmarkSet, _ predictions: [String]) -> BenchmarkScore {
        var out = BenchmarkScore(benchmark: set.name, metrics: [:], perQuestion: [], parsed: [])
        let qs = set.questions
        switch set.name {
        case .gqa:
            out.parsed = predictions.map(AnswerParsing.normalizeExact)
            out.perQuestion = qs.indices.map { out.parsed[$0] == AnswerParsing.normalizeExact(qs[$0].qa.answer) ? 1 : 0 }
            accuracyMetrics(&out, qs)

        case .sqa:
            out.parsed = qs.indices.map { AnswerParsing.optionLetter(predictions[$0], optionCount: qs[$0].qa.options.count) ?? "FAILED" }
            out.perQuestion = qs.indices.map { out.parsed[$0] == qs[$0].qa.answer ? 1 : 0 }
            accuracyMetrics(&out, qs)
            out.metrics["parse_failures"] = 100 * mean(out.parsed.map { $0 == "FAILED" ? 1 : 0 })

        case .textvqa:
            out.parsed = predictions.map(AnswerParsing.normalizeVQA)
            out.perQuestion = qs.indices.map { VQAAccuracy.score(prediction: predictions[$0], references: qs[$0].answers) }
            out.metrics["accuracy"] = 100 * mean(out.perQuestion)
            out.metrics["exact"] = 100 * mean(qs.indices.map { out.parsed[$0] == AnswerParsing.normalizeVQA(qs[$0].qa.answer) ? 1 : 0 })
            // Uniform guessing over the 1000 possible numbers scores only on the numbers annotators gave.
            out.metrics["chance"] = 100 * mean(qs.map { q in
                // Sorted: a Set's order changes from process to process, and float sums must not (determinism).
                Set(q.answers).sorted().reduce(0) { $0 + VQAAccuracy.score(prediction: $1, references: q.answers) } / Double(q.qa.answerSpace)
            })

        case .pope:
            let saysYes = predictions.map(AnswerParsing.popeSaysYes)
            out.parsed = saysYes.map { $0 ? "yes" : "no" }
            out.perQuestion = qs.indices.map { out.parsed[$0] == qs[$0].qa.answer ? 1 : 0 }
            var sums: [String: Double] = [:]
            let splits = NegativeKind.allCases.map(\.rawValue).filter { s in qs.contains { $0.group == s } }
            for split in splits {
                let idx = qs.indices.filter { qs[$0].group == split }
                let m = BinaryMetrics(predictedYes: idx.map { saysYes[$0] }, actualYes: idx.map { qs[$0].qa.answer == "yes" })
                let values = ["accuracy": m.accuracy, "precision": m.precision, "recall": m.recall, "f1": m.f1, "yes_ratio": m.yesRatio]
                for (k, v) in values {
                    out.metrics["\(split).\(k)"] = 100 * v
                    sums[k, default: 0] += 100 * v / Double(splits.count)
                }
            }
            out.metrics.merge(sums) { $1 }
            out.metrics["chance"] = 50  // accuracy and F1 of answering yes or no at random on balanced splits

        case .mme:
            out.parsed = predictions.map(AnswerParsing.mmeLabel)
            out.perQuestion = qs.indices.map { out.parsed[$0] == qs[$0].qa.answer ? 1 : 0 }
            var total = 0.0, coarse = 0.0, fine = 0.0, subtasks = 0
            for subtask in MMESubtask.allCases {
                let idx = qs.indices.filter { qs[$0].group == subtask.rawValue }
                guard !idx.isEmpty else { continue }
                let r = MMEScore.subtask(idx.map { (qs[$0].imageIndex, out.perQuestion[$0] == 1) })
                out.metrics[subtask.rawValue] = r.score
                out.metrics["\(subtask.rawValue).acc"] = 100 * r.accuracy
                out.metrics["\(subtask.rawValue).acc_plus"] = 100 * r.accuracyPlus
                total += r.score
                if subtask.family.granularity == .coarse { coarse += r.score } else { fine += r.score }
                subtasks += 1
            }
            out.metrics["total"] = total
            // Our proxy has 5 subtasks (max 1000); the paper's MME 10 or 14 (max 2000 perception, 2800 in all): only
            // the share of the maximum compares across them.
            out.metrics["total_percent"] = subtasks > 0 ? 100 * total / (200 * Double(subtasks)) : 0
            out.metrics["coarse"] = coarse
            out.metrics["fine"] = fine
            out.metrics["chance"] = 75 * Double(subtasks)  // acc 1/2 and acc+ 1/4 per subtask

        case .mmbench:
            out.parsed = qs.indices.map { AnswerParsing.mmbenchLetter(predictions[$0], options: qs[$0].qa.options) ?? "FAILED" }
            out.perQuestion = qs.indices.map { out.parsed[$0] == qs[$0].qa.answer ? 1 : 0 }
            func circular(_ idx: [Int]) -> Double {
                100 * CircularEval.accuracy(idx.map { (qs[$0].group, out.perQuestion[$0] == 1) })
            }
            out.metrics["accuracy"] = circular(Array(qs.indices))
            for g in [Granularity.coarse, .fine] {
                let idx = qs.indices.filter { qs[$0].qa.granularity == g }
                if !idx.isEmpty { out.metrics["accuracy.\(g.rawValue)"] = circular(idx) }
            }
            let firsts = qs.indices.filter { qs[$0].id.hasSuffix("-r0") }
            out.metrics["accuracy.vanilla"] = 100 * mean(firsts.map { out.perQuestion[$0] })
            out.metrics["chance"] = 100 * mean(firsts.map { pow(qs[$0].qa.chance, qs[$0].qa.options.count) })
            out.metrics["chance.vanilla"] = 100 * mean(firsts.map { qs[$0].qa.chance })
        }
        out.metrics["questions"] = Double(qs.count)
        return out
    }

    /// accuracy, accuracy.coarse/.fine, family.<name>, chance (mean of 1/answer space).
    private static func accuracyMetrics(_ out: inout BenchmarkScore, _ qs: [BenchmarkQuestion]) {
        out.metrics["accuracy"] = 100 * mean(out.perQuestion)
        for g in [Granularity.coarse, .fine] {
            let idx = qs.indices.filter { qs[$0].qa.granularity == g }
            if !idx.isEmpty { out.metrics["accuracy.\(g.rawValue)"] = 100 * mean(idx.map { out.perQuestion[$0] }) }
        }
        for family in QuestionFamily.allCases {
            let idx = qs.indices.filter { qs[$0].qa.family == family }
            if !idx.isEmpty { out.metrics["family.\(family.rawValue)"] = 100 * mean(idx.map { out.perQuestion[$0] }) }
        }
        out.metrics["chance"] = 100 * mean(qs.map(\.qa.chance))
    }

    private static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
    private static func pow(_ x: Double, _ n: Int) -> Double { (0..<n).reduce(1) { acc, _ in acc * x } }
}

/// MME's subtasks in this proxy, each asked as a yes/no pair about one image.
public enum MMESubtask: String, CaseIterable, Sendable {
    case existence, count, position, colour, text

    /// existence: "Is there a circle …?"; count: "Is the number of objects 3?"; position: "Is the red
    /// circle at top left?"; colour: "Is there a red object …?"; text: "Is the number 47 written …?".
    public var family: QuestionFamily {
        switch self {
        case .existence: .existsShape
        case .count: .countCheck
        case .position: .positionCheck
        case .colour: .existsColour
        case .text: .readingCheck
        }
    }
}
