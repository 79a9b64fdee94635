import Foundation
import Testing
@testable import XexpData

@Test("special tokens have fixed ids and the vocabulary is the lexicon")
func specialTokens() throws {
    let t = Tokenizer.standard
    #expect(Array(t.tokens.prefix(5)) == ["<pad>", "<bos>", "<eot>", "<image>", "<unk>"])
    #expect([Tokenizer.padID, Tokenizer.bosID, Tokenizer.eotID, Tokenizer.imageID, Tokenizer.unkID] == [0, 1, 2, 3, 4])
    #expect(Array(t.tokens.dropFirst(5)) == Lexicon.words)
    #expect(t == (try Tokenizer(words: Lexicon.words)))
    #expect(t.vocabularySize == 5 + Lexicon.words.count)
}

@Test("digits are single tokens, option letters differ from articles, unknown words map to <unk>")
func splitting() {
    let t = Tokenizer.standard
    #expect(t.encode("47") == [t.id(of: "4"), t.id(of: "7")])
    #expect(t.id(of: "A") != t.id(of: "a"))
    #expect(t.encode("a zebra") == [t.id(of: "a"), Tokenizer.unkID])
    #expect(Tokenizer.pretokenize("USER: <image>\nWhere is the red circle?") ==
            ["USER", ":", "<image>", "\n", "Where", "is", "the", "red", "circle", "?"])
    #expect(Tokenizer.pretokenize("at top centre-left.") == ["at", "top", "centre-left", "."])
    #expect(Tokenizer.pretokenize("café,  déjà<eot>") == ["café", ",", "déjà", "<eot>"])
    #expect(Tokenizer.pretokenize("<imag> x") == ["<imag>", "x"])
    #expect(Phrasebook.fill("Is the {ref} at {position}? {other}", ["ref": "red circle", "position": "top left"])
            == "Is the red circle at top left? {other}")
}

@Test("decode inverts encode on generated text, and encode inverts decode on generated tokens", arguments: [UInt64(3), 11])
func roundTrip(seed: UInt64) throws {
    let data = try SyntheticData(seed: seed)
    let t = data.tokenizer
    for i in 0..<40 {
        let scene = data.trainingScene(.instruct, i)
        let caption = Captioner.caption(scene)
        #expect(t.decode(t.encode(caption)) == caption)
        var rng = SplitMix64(seed: UInt64(i))
        for qa in data.turns(for: scene, rng: &rng) {
            #expect(t.decode(t.encode(qa.question)) == qa.question)
            #expect(t.decode(t.encode(qa.answer)) == qa.answer)
        }
        for sample in [data.captionSample(i), data.instructionSample(i), data.corpusSample(i)] {
            #expect(t.encode(t.decode(sample.tokens)) == sample.tokens)
        }
    }
    #expect(t.decode(t.encode("ASSISTANT: 47<eot>USER: What colour is the circle?")) == "ASSISTANT: 47<eot>USER: What colour is the circle?")
    #expect(t.decode([t.id(of: "4"), t.id(of: "7"), Tokenizer.eotID, Tokenizer.padID], skipSpecial: true) == "47")
}

@Test("no generated text needs <unk>")
func lexiconCoversEverything() throws {
    let data = try SyntheticData(seed: 21)
    for i in 0..<150 {
        #expect(!data.captionSample(i).tokens.contains(Tokenizer.unkID))
        #expect(!data.instructionSample(i).tokens.contains(Tokenizer.unkID))
        #expect(!data.corpusSample(i).tokens.contains(Tokenizer.unkID))
    }
    for name in BenchmarkName.allCases {
        let set = data.benchmark(name, size: 20)
        for q in set.questions.indices { #expect(!set.prompt(q).contains(Tokenizer.unkID)) }
        for q in set.questions where name != .textvqa { #expect(!data.tokenizer.encode(q.qa.answer).contains(Tokenizer.unkID)) }
    }
}

@Test("JSON save and load give the same tokenizer; a bad file is refused")
func tokenizerJSON() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xexpdata-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("tokenizer.json")
    try Tokenizer.standard.save(to: url)
    let loaded = try Tokenizer.load(from: url)
    #expect(loaded == Tokenizer.standard)
    #expect(loaded.encode("Where is the red circle?") == Tokenizer.standard.encode("Where is the red circle?"))

    let bad = dir.appendingPathComponent("bad.json")
    try Data(#"{"kind": "word-level", "tokens": ["red", "blue"]}"#.utf8).write(to: bad)
    #expect(throws: DataError.self) { try Tokenizer.load(from: bad) }
    try Data(#"{"kind": "bpe", "tokens": []}"#.utf8).write(to: bad)
    #expect(throws: DataError.self) { try Tokenizer.load(from: bad) }
}
