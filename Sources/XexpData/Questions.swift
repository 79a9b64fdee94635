/// Question families shared by the instruction data and the benchmarks.
///
/// Templates (the phrasing of a family) are shared between training and benchmarks by design — a
/// word-level proxy model cannot answer phrasings it never saw, as LLaVA's training mix also contains
/// the VQA-style phrasings its benchmarks use. What is never shared is a template *instance*: a filled
/// question asked about a scene content. Benchmark scenes come from a disjoint seed stream *and* from
/// the held-out content split (``ContentSplit``); every answer is a function of the content, so no
/// (content, question) pair of a benchmark occurs in training.

/// Whether a question can be answered from a single pooled summary of the image.
public enum Granularity: String, Sendable, Codable {
    /// *What* is in the image (colours, shapes, which objects exist, main colour, whether there is text):
    /// answers do not change when objects move between cells, so a pooled bag of patch features holds them.
    case coarse
    /// *Where* things are, *how many* there are and *what the text says*: answers change when objects
    /// move or digits are reordered, which a mean-pooled token cannot see.
    case fine
}

public enum QuestionFamily: String, CaseIterable, Sendable, Codable {
    case existsObject, existsColour, existsShape, textPresence, dominantColour
    case colourOf, shapeOf, sizeOf, whichPresent
    case count, countColour, countShape, countCheck
    case position, row, column, positionCheck
    case relationLeft, relationAbove, relationalColour, relationalShape
    case reading, readingCheck

    public var granularity: Granularity {
        switch self {
        case .existsObject, .existsColour, .existsShape, .textPresence, .dominantColour,
             .colourOf, .shapeOf, .sizeOf, .whichPresent: .coarse
        default: .fine
        }
    }

    public var isYesNo: Bool {
        switch self {
        case .existsObject, .existsColour, .existsShape, .textPresence, .countCheck, .positionCheck,
             .relationLeft, .relationAbove, .readingCheck: true
        default: false
        }
    }

    /// Families whose answer is always produced in multiple-choice form.
    public var isMultipleChoiceOnly: Bool { self == .whichPresent }
}

/// How a false "Is there …?" question picks its absent object (POPE's three negative-sampling schemes).
public enum NegativeKind: String, CaseIterable, Sendable, Codable {
    /// Uniformly among absent ones.
    case random
    /// Frequent ones first (by prior frequency in the training factory; by frequency in the set in POPE).
    case popular
    /// Near misses: absent ones sharing a colour or a shape with something present.
    case adversarial
}

/// One question with its answer.
public struct QA: Sendable, Hashable {
    public var family: QuestionFamily
    /// The user's text, options included for multiple choice.
    public var question: String
    /// The reference answer: a word or phrase, "yes"/"no", a number, or an option letter.
    public var answer: String
    /// For multiple choice: the question without options, the options in display order and the
    /// index of the right one. Empty / nil otherwise.
    public var stem: String
    public var options: [String] = []
    public var correctOption: Int?
    /// Number of possible answers of the family (2 for yes/no, 6 for colours, …; options count for
    /// multiple choice): chance accuracy is its reciprocal.
    public var answerSpace: Int

    public var granularity: Granularity { family.granularity }
    public var isMultipleChoice: Bool { correctOption != nil }
    public var chance: Double { 1 / Double(answerSpace) }

    public init(family: QuestionFamily, question: String, answer: String, answerSpace: Int) {
        self.family = family; self.question = question; self.answer = answer
        self.stem = question; self.answerSpace = answerSpace
    }

    /// The multiple-choice form: the stem, one option per line as `A. red`, then the letter instruction.
    public static func multipleChoice(family: QuestionFamily, stem: String, options: [String], correct: Int) -> QA {
        var lines = [stem]
        for (i, option) in options.enumerated() { lines.append("\(Phrasebook.optionLetters[i]). \(option)") }
        lines.append(Phrasebook.letterInstruction)
        var qa = QA(family: family, question: lines.joined(separator: "\n"),
                    answer: Phrasebook.optionLetters[correct], answerSpace: options.count)
        qa.stem = stem
        qa.options = options
        qa.correctOption = correct
        return qa
    }

    /// The same multiple-choice question with its options rotated left by `r` (CircularEval).
    public func rotated(by r: Int) -> QA {
        guard let correct = correctOption else { return self }
        let k = options.count
        let shifted = (0..<k).map { options[($0 + r) % k] }
        return QA.multipleChoice(family: family, stem: stem, options: shifted, correct: ((correct - r) % k + k) % k)
    }
}
