/// The attribute vocabulary of the synthetic world: shapes, colours, sizes and the 4×4 layout's row and
/// column names. Every word here is part of the tokenizer's lexicon (see ``Lexicon``).

public enum Shape: Int, CaseIterable, Sendable, Codable, Comparable {
    case circle, square, triangle, cross

    public var word: String { ["circle", "square", "triangle", "cross"][rawValue] }
    public var plural: String { ["circles", "squares", "triangles", "crosses"][rawValue] }

    /// Prior frequency in generated scenes. Deliberately skewed so that POPE's "popular" negatives
    /// (frequent objects that are absent) mean something and a language prior exists to hallucinate from.
    public var prior: Double { [0.34, 0.28, 0.22, 0.16][rawValue] }

    public static func < (a: Shape, b: Shape) -> Bool { a.rawValue < b.rawValue }
}

public enum Colour: Int, CaseIterable, Sendable, Codable, Comparable {
    case red, green, blue, yellow, purple, orange

    public var word: String { ["red", "green", "blue", "yellow", "purple", "orange"][rawValue] }

    /// Nominal RGB in [0, 1]; the renderer adds a per-object tint and per-pixel noise.
    public var rgb: (Float, Float, Float) {
        switch self {
        case .red: (0.90, 0.12, 0.12)
        case .green: (0.15, 0.78, 0.20)
        case .blue: (0.18, 0.30, 0.95)
        case .yellow: (0.95, 0.90, 0.15)
        case .purple: (0.62, 0.20, 0.82)
        case .orange: (1.00, 0.55, 0.08)
        }
    }

    public var prior: Double { [0.24, 0.20, 0.18, 0.15, 0.12, 0.11][rawValue] }

    public static func < (a: Colour, b: Colour) -> Bool { a.rawValue < b.rawValue }
}

public enum Size: Int, CaseIterable, Sendable, Codable, Comparable {
    case small, big

    public var word: String { self == .small ? "small" : "big" }

    public static func < (a: Size, b: Size) -> Bool { a.rawValue < b.rawValue }
}

/// A colour–shape pair: the "object class" of POPE-style existence questions (24 classes).
public struct Category: Hashable, Sendable, Comparable {
    public var colour: Colour
    public var shape: Shape

    public init(_ colour: Colour, _ shape: Shape) { self.colour = colour; self.shape = shape }

    public static let all: [Category] = Colour.allCases.flatMap { c in Shape.allCases.map { Category(c, $0) } }

    public var phrase: String { "\(colour.word) \(shape.word)" }
    public var prior: Double { colour.prior * shape.prior }
    public var index: Int { colour.rawValue * Shape.allCases.count + shape.rawValue }

    public static func < (a: Category, b: Category) -> Bool { a.index < b.index }
}

/// Names of the 4×4 layout of cells. Rows top to bottom, columns left to right.
public enum Layout {
    public static let cells = 4
    public static let rowWords = ["top", "upper", "lower", "bottom"]
    public static let columnWords = ["left", "centre-left", "centre-right", "right"]

    /// "top centre-left": the answer to "Where is …?" (16 possible answers).
    public static func positionPhrase(row: Int, column: Int) -> String { "\(rowWords[row]) \(columnWords[column])" }
}

/// "a" or "an" for the word that follows.
func article(_ next: String) -> String {
    guard let first = next.first else { return "a" }
    return "aeiou".contains(first) ? "an" : "a"
}
