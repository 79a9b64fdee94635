import Foundation

/// Every fixed string the generator can emit, in one place, so the lexicon (and hence the vocabulary)
/// can be derived from it rather than from a sample of generated text.
///
/// Slots are written `{name}`; ``fill(_:_:)`` substitutes them.
public enum Phrasebook {
    /// The system line of the "v1" chat template (shortened from LLaVA's, whose 30 tokens would be
    /// repeated in every sample of a proxy whose answers are one or two tokens).
    public static let system = "A chat about an image. The assistant answers briefly."
    public static let user = "USER:"
    public static let assistant = "ASSISTANT:"
    /// Appended to multiple-choice questions, as LLaVA's ScienceQA/MMBench prompts do.
    public static let letterInstruction = "Answer with the letter."
    public static let optionLetters = ["A", "B", "C", "D", "E"]
    public static let yes = "yes", no = "no"

    static let captionHeadSingular = "{n} object:"
    static let captionHeadPlural = "{n} objects:"
    static let captionNoObjects = "no objects."
    static let captionObject = "{a} {size} {colour} {shape} at {position}"
    static let captionText = "the number {number} at {position}"
    static let captionJoiners = [",", "and", "."]

    static func template(_ family: QuestionFamily) -> String {
        switch family {
        case .existsObject: "Is there {a} {category} in the image?"
        case .existsColour: "Is there {a} {colour} object in the image?"
        case .existsShape: "Is there {a} {shape} in the image?"
        case .textPresence: "Is there a number in the image?"
        case .dominantColour: "What is the main colour of the objects?"
        case .colourOf: "What colour is the {ref}?"
        case .shapeOf: "What shape is the {ref}?"
        case .sizeOf: "What size is the {ref}?"
        case .whichPresent: "Which of these objects is in the image?"
        case .count: "How many objects are there?"
        case .countColour: "How many {colour} objects are there?"
        case .countShape: "How many {plural} are there?"
        case .countCheck: "Is the number of objects {n}?"
        case .position: "Where is the {ref}?"
        case .row: "Which row is the {ref} in?"
        case .column: "Which column is the {ref} in?"
        case .positionCheck: "Is the {ref} at {position}?"
        case .relationLeft: "Is the {ref} to the left of the {ref2}?"
        case .relationAbove: "Is the {ref} above the {ref2}?"
        case .relationalColour: "What colour is the object to the left of the {ref}?"
        case .relationalShape: "What shape is the object above the {ref}?"
        case .reading: "What number is written in the image?"
        case .readingCheck: "Is the number {number} written in the image?"
        }
    }

    /// Words that fill slots or appear in answers.
    static var fillers: [String] {
        var words = Shape.allCases.map(\.word) + Shape.allCases.map(\.plural)
        words += Colour.allCases.map(\.word) + Size.allCases.map(\.word)
        words += Layout.rowWords + Layout.columnWords
        words += (0...9).map(String.init) + optionLetters
        words += [yes, no, "a", "an", "object", "\n"]
        return words
    }

    /// All fixed strings whose words belong to the lexicon.
    static var fixedStrings: [String] {
        [system, user, assistant, letterInstruction, captionHeadSingular, captionHeadPlural, captionNoObjects,
         captionObject, captionText] + captionJoiners + QuestionFamily.allCases.map(template)
    }

    /// Substitutes `{name}` slots; a slot without a value is left as written.
    public static func fill(_ template: String, _ slots: [String: String]) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out += rest[..<open]
            let key = String(rest[rest.index(after: open)..<close])
            out += slots[key] ?? "{\(key)}"
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}

/// The synthetic language's full word list, derived from ``Phrasebook`` (not from a sample of data).
public enum Lexicon {
    public static let words: [String] = {
        var set = Set(Phrasebook.fillers)
        for string in Phrasebook.fixedStrings {
            let withoutSlots = string.replacingOccurrences(of: #"\{[a-z0-9]+\}"#, with: " ", options: .regularExpression)
            set.formUnion(Tokenizer.pretokenize(withoutSlots))
        }
        return set.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
    }()
}
