/// The two prompt templates of REFERENCE §3 as token sequences with their supervision masks.

/// One training sequence: an optional image, token ids, and which positions are supervised.
///
/// The model code turns unsupervised positions into label -100 and replaces the single
/// ``Tokenizer/imageID`` with the projected visual tokens.
public struct Sample: Sendable, Hashable {
    public var image: ImageBuffer?
    public var tokens: [Int32]
    /// Parallel to `tokens`: true on assistant answers and their `<eot>` (captions in stage 1; every
    /// token but `<bos>` in the text corpus).
    public var supervised: [Bool]
    /// The content fingerprint of the scene behind the sample.
    public var sceneFingerprint: UInt64

    public init(image: ImageBuffer?, tokens: [Int32], supervised: [Bool], sceneFingerprint: UInt64) {
        precondition(tokens.count == supervised.count, "tokens and supervision mask differ in length")
        self.image = image; self.tokens = tokens; self.supervised = supervised; self.sceneFingerprint = sceneFingerprint
    }
}

/// Builds token sequences for the "plain" and "v1" templates.
public struct ChatTemplate: Sendable {
    public let tokenizer: Tokenizer

    public init(tokenizer: Tokenizer = .standard) { self.tokenizer = tokenizer }

    /// Stage 1, "plain": `<bos> <image> caption <eot>`, caption and `<eot>` supervised.
    public func plain(caption: String) -> (tokens: [Int32], supervised: [Bool]) {
        var b = Builder(tokenizer)
        b.add([Tokenizer.bosID, Tokenizer.imageID], supervised: false)
        b.add(caption, supervised: true)
        b.add([Tokenizer.eotID], supervised: true)
        return (b.tokens, b.mask)
    }

    /// Stage 2, "v1": `<bos>` system line, then per turn `USER: <image>\n{question} ASSISTANT: {answer}<eot>`
    /// (the image only in the first turn). Only the answers and their `<eot>` are supervised.
    ///
    /// With `context` instead of an image (the text corpus), the context text stands where `<image>` would.
    public func chat(turns: [(question: String, answer: String)], image: Bool = true, context: String? = nil)
        -> (tokens: [Int32], supervised: [Bool]) {
        var b = Builder(tokenizer)
        b.add([Tokenizer.bosID], supervised: false)
        b.add(Phrasebook.system, supervised: false)
        for (t, turn) in turns.enumerated() {
            b.add(Phrasebook.user, supervised: false)
            if t == 0 {
                if image { b.add([Tokenizer.imageID], supervised: false) }
                if let context { b.add(context, supervised: false) }
                if image || context != nil { b.add("\n", supervised: false) }
            }
            b.add(turn.question, supervised: false)
            b.add(Phrasebook.assistant, supervised: false)
            b.add(turn.answer, supervised: true)
            b.add([Tokenizer.eotID], supervised: true)
        }
        return (b.tokens, b.mask)
    }

    /// The evaluation prompt: a one-turn chat up to and including `ASSISTANT:`; the model continues
    /// greedily and stops at `<eot>` or a newline.
    public func prompt(question: String, image: Bool = true) -> [Int32] {
        var b = Builder(tokenizer)
        b.add([Tokenizer.bosID], supervised: false)
        b.add(Phrasebook.system, supervised: false)
        b.add(Phrasebook.user, supervised: false)
        if image { b.add([Tokenizer.imageID, tokenizer.id(of: "\n")], supervised: false) }
        b.add(question, supervised: false)
        b.add(Phrasebook.assistant, supervised: false)
        return b.tokens
    }

    private struct Builder {
        let tokenizer: Tokenizer
        var tokens: [Int32] = []
        var mask: [Bool] = []
        init(_ tokenizer: Tokenizer) { self.tokenizer = tokenizer }
        mutating func add(_ ids: [Int32], supervised: Bool) {
            tokens += ids
            mask += Array(repeating: supervised, count: ids.count)
        }
        mutating func add(_ text: String, supervised: Bool) { add(tokenizer.encode(text), supervised: supervised) }
    }
}

/// Scene descriptions: "3 objects: a big red circle at top left, a small blue square at lower right and
/// the number 47 at bottom centre-left."
public enum Captioner {
    public static func caption(_ scene: Scene) -> String {
        var items = scene.objects.map { o in
            Phrasebook.fill(Phrasebook.captionObject, ["a": article(o.size.word), "size": o.size.word,
                                                      "colour": o.colour.word, "shape": o.shape.word,
                                                      "position": o.positionPhrase])
        }
        if let text = scene.text {
            items.append(Phrasebook.fill(Phrasebook.captionText, ["number": text.string,
                                                                 "position": Layout.positionPhrase(row: text.row, column: text.column)]))
        }
        guard !items.isEmpty else { return Phrasebook.captionNoObjects }
        let n = scene.objects.count
        let head = Phrasebook.fill(n == 1 ? Phrasebook.captionHeadSingular : Phrasebook.captionHeadPlural, ["n": String(n)])
        let list = items.count == 1 ? items[0] : items.dropLast().joined(separator: ", ") + " and " + items.last!
        return "\(head) \(list)."
    }
}
