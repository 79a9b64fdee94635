import Foundation

/// A **word-level** tokenizer for the synthetic language.
///
/// Splitting rules (``pretokenize(_:)``): whitespace separates words; each of `, . ? : ; ! ( )` and the
/// newline is a token of its own; every digit is a token of its own, so reading "47" is producing the
/// tokens `4` `7`; the special tokens are recognised literally in text. Hyphenated words
/// (`centre-left`) stay whole. Matching is case-sensitive: the option letter `A` and the article `a`
/// are different tokens.
///
/// The vocabulary is the five special tokens (fixed ids 0–4) followed by ``Lexicon/words`` in code-point
/// order, so it is the same on every machine and never depends on a data sample.
///
/// ``decode(_:skipSpecial:)`` inverts ``encode(_:)`` on text the generator writes: no space before
/// `, . ? : ; ! )`, `<eot>` or a newline, none after `( `, a newline, `<bos>` or `<eot>`, and none
/// between two digits.
public struct Tokenizer: Sendable, Equatable {
    public static let specialTokens = ["<pad>", "<bos>", "<eot>", "<image>", "<unk>"]
    public static let padID: Int32 = 0
    public static let bosID: Int32 = 1
    /// End of turn: closes every assistant answer and every caption; generation stops here.
    public static let eotID: Int32 = 2
    /// The image placeholder; the model splices the projected visual tokens in its place.
    public static let imageID: Int32 = 3
    public static let unkID: Int32 = 4

    public let tokens: [String]
    private let ids: [String: Int32]

    /// The vocabulary of the synthetic language: specials + ``Lexicon/words``.
    public static let standard: Tokenizer = try! Tokenizer(words: Lexicon.words)

    /// Specials first (ids 0–4), then `words` in the order given.
    public init(words: [String]) throws {
        try self.init(tokens: Tokenizer.specialTokens + words)
    }

    private init(tokens: [String]) throws {
        guard Array(tokens.prefix(Tokenizer.specialTokens.count)) == Tokenizer.specialTokens else {
            throw DataError("vocabulary must start with the special tokens \(Tokenizer.specialTokens)")
        }
        var ids: [String: Int32] = [:]
        for (i, t) in tokens.enumerated() {
            guard ids[t] == nil else { throw DataError("vocabulary lists the token \"\(t)\" twice (ids \(ids[t]!) and \(i))") }
            ids[t] = Int32(i)
        }
        self.tokens = tokens
        self.ids = ids
    }

    public var vocabularySize: Int { tokens.count }

    public func id(of token: String) -> Int32 { ids[token] ?? Tokenizer.unkID }

    public func encode(_ text: String) -> [Int32] { Tokenizer.pretokenize(text).map(id(of:)) }

    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        var out = ""
        var previous: String?
        for id in ids {
            guard id >= 0, Int(id) < tokens.count else { continue }
            if id == Tokenizer.padID || (skipSpecial && id < Int32(Tokenizer.specialTokens.count)) { continue }
            let token = tokens[Int(id)]
            if let previous, Tokenizer.needsSpace(after: previous, before: token) { out += " " }
            out += token
            previous = token
        }
        return out
    }

    static func needsSpace(after previous: String, before token: String) -> Bool {
        if [",", ".", "?", ":", ";", "!", ")", "<eot>", "\n"].contains(token) { return false }
        if ["(", "\n", "<bos>", "<eot>"].contains(previous) { return false }
        if isDigit(previous) && isDigit(token) { return false }
        return true
    }

    private static func isDigit(_ s: String) -> Bool { s.count == 1 && s.first!.isASCII && s.first!.isNumber }

    /// Splits text into the tokenizer's words (see the type's documentation). Works on UTF-8 bytes: the
    /// separators are all ASCII, and any other byte belongs to the word it is in.
    public static func pretokenize(_ text: String) -> [String] {
        var words: [String] = []
        let bytes = Array(text.utf8)
        var start = -1  // first byte of the current word, or -1
        func flush(_ end: Int) {
            if start >= 0 { words.append(String(decoding: bytes[start..<end], as: UTF8.self)); start = -1 }
        }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "<"), let special = specialBytes.firstIndex(where: { matches($0, bytes, at: i) }) {
                flush(i)
                words.append(specialTokens[special])
                i += specialBytes[special].count
                continue
            }
            switch b {
            case UInt8(ascii: "\n"):
                flush(i); words.append("\n")
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                flush(i)
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: ","), UInt8(ascii: "."), UInt8(ascii: "?"),
                 UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "!"), UInt8(ascii: "("), UInt8(ascii: ")"):
                flush(i); words.append(String(UnicodeScalar(b)))
            default:
                if start < 0 { start = i }
            }
            i += 1
        }
        flush(bytes.count)
        return words
    }

    private static let specialBytes = specialTokens.map { Array($0.utf8) }

    private static func matches(_ special: [UInt8], _ bytes: [UInt8], at i: Int) -> Bool {
        i + special.count <= bytes.count && bytes[i..<(i + special.count)].elementsEqual(special)
    }

    // MARK: JSON

    private struct File: Codable {
        var kind: String
        var tokens: [String]
    }

    /// Writes `{"kind": "word-level", "tokens": [...]}`; a token's id is its index.
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(File(kind: "word-level", tokens: tokens)).write(to: url, options: .atomic)
    }

    public static func load(from url: URL) throws -> Tokenizer {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)) }
        catch { throw DataError("\(url.path): not a tokenizer file (\(error)); write one with Tokenizer.save(to:)") }
        guard file.kind == "word-level" else {
            throw DataError("\(url.path): tokenizer kind \"\(file.kind)\" is not supported (expected \"word-level\")")
        }
        return try Tokenizer(tokens: file.tokens)
    }

    public static func == (a: Tokenizer, b: Tokenizer) -> Bool { a.tokens == b.tokens }
}
