import Testing
@testable import XexpData

@Test("chat sample: exactly the answers and their <eot> are supervised")
func chatMask() {
    let template = ChatTemplate()
    let t = template.tokenizer
    let turns = [("What colour is the circle?", "red"), ("Where is the red circle?", "top centre-left"), ("What number is written in the image?", "47")]
    let (tokens, mask) = template.chat(turns: turns)
    let supervised = zip(tokens, mask).filter { $0.1 }.map { $0.0 }
    #expect(supervised == turns.flatMap { t.encode($0.1) + [Tokenizer.eotID] })
    #expect(tokens.filter { $0 == Tokenizer.imageID }.count == 1)
    #expect(tokens.filter { $0 == Tokenizer.eotID }.count == turns.count)
    #expect(t.decode(tokens) == "<bos>A chat about an image. The assistant answers briefly. USER: <image>\nWhat colour is the circle? ASSISTANT: red<eot>"
        + "USER: Where is the red circle? ASSISTANT: top centre-left<eot>USER: What number is written in the image? ASSISTANT: 47<eot>")
    // the prompt is the sequence up to the first answer
    let prompt = template.prompt(question: turns[0].0)
    #expect(Array(tokens.prefix(prompt.count)) == prompt)
    #expect(t.decode(Array(prompt.suffix(2))) == "ASSISTANT:")
}

@Test("generated instruction samples: every supervised run is an answer that follows ASSISTANT: and ends with <eot>", arguments: [UInt64(1), 99])
func instructionMasks(seed: UInt64) throws {
    let data = try SyntheticData(seed: seed)
    let colon = data.tokenizer.id(of: ":"), assistant = data.tokenizer.id(of: "ASSISTANT")
    for i in 0..<50 {
        let s = data.instructionSample(i)
        #expect(s.image != nil && s.tokens.count == s.supervised.count)
        #expect(s.tokens.filter { $0 == Tokenizer.imageID }.count == 1)
        var runs = 0
        for k in s.tokens.indices where s.supervised[k] && (k == 0 || !s.supervised[k - 1]) {
            runs += 1
            #expect(s.tokens[k - 2] == assistant && s.tokens[k - 1] == colon)
            let end = s.tokens[k...].indices.first { !s.supervised[$0] } ?? s.tokens.count
            #expect(s.tokens[end - 1] == Tokenizer.eotID)
            #expect(!s.tokens[k..<(end - 1)].contains(Tokenizer.eotID))
        }
        #expect(runs == s.tokens.filter { $0 == Tokenizer.eotID }.count)
        #expect(data.turnsPerImage.contains(runs) || runs >= 2)
    }
}

@Test("caption samples supervise the caption and <eot>; corpus samples are text only, all supervised but <bos>")
func captionAndCorpusMasks() throws {
    let data = try SyntheticData(seed: 4)
    for i in 0..<20 {
        let c = data.captionSample(i)
        #expect(Array(c.tokens.prefix(2)) == [Tokenizer.bosID, Tokenizer.imageID])
        #expect(c.supervised == [false, false] + Array(repeating: true, count: c.tokens.count - 2))
        #expect(c.tokens.last == Tokenizer.eotID)
        #expect(data.tokenizer.decode(Array(c.tokens.dropFirst(2).dropLast())) == Captioner.caption(data.trainingScene(.caption, i)))

        let t = data.corpusSample(i)
        #expect(t.image == nil && !t.tokens.contains(Tokenizer.imageID))
        #expect(t.supervised == [false] + Array(repeating: true, count: t.tokens.count - 1))
        #expect(data.tokenizer.decode(t.tokens).contains(Captioner.caption(data.trainingScene(.corpus, i)) + "\n"))
    }
}

@Test("captions name every object with its attributes and cell, and the number")
func captionContent() {
    let scene = Scene(objects: [SceneObject(.big, .red, .circle, row: 0, column: 0), SceneObject(.small, .orange, .cross, row: 2, column: 3)],
                      text: SceneText(digits: [4, 7], row: 3, column: 1))
    #expect(Captioner.caption(scene) == "2 objects: a big red circle at top left, a small orange cross at lower right and the number 47 at bottom centre-left.")
}

@Test("instruction data covers every question family the benchmarks use")
func familyCoverage() throws {
    let data = try SyntheticData(seed: 8)
    var seen = Set<QuestionFamily>()
    var multipleChoice = 0, yes = 0, no = 0
    for i in 0..<300 {
        var rng = SplitMix64(seed: UInt64(i))
        for qa in data.turns(for: data.trainingScene(.instruct, i), rng: &rng) {
            seen.insert(qa.family)
            if qa.isMultipleChoice { multipleChoice += 1 }
            if qa.answer == "yes" { yes += 1 }
            if qa.answer == "no" { no += 1 }
        }
    }
    #expect(seen == Set(QuestionFamily.allCases))
    #expect(multipleChoice > 100)
    #expect(abs(yes - no) < (yes + no) / 5)  // yes/no answers roughly balanced
}

@Test("question answers are right on a hand-made scene")
func factoryAnswers() {
    // red circle (big) at top left, blue square (small) at upper right, red triangle (big) at bottom centre-left
    let scene = Scene(objects: [SceneObject(.big, .red, .circle, row: 0, column: 0),
                                SceneObject(.small, .blue, .square, row: 1, column: 3),
                                SceneObject(.big, .red, .triangle, row: 3, column: 1)],
                      text: SceneText(digits: [5], row: 2, column: 2))
    let factory = QuestionFactory()
    // every question the factory asks about the scene (2000 draws cover all referring expressions)
    func all(_ family: QuestionFamily, polarity: Bool? = nil) -> [String: String] {
        var out: [String: String] = [:]
        for s in 0..<2000 {
            var rng = SplitMix64(seed: UInt64(s))
            if let qa = factory.make(family, scene: scene, rng: &rng, polarity: polarity) {
                #expect(out[qa.question] == nil || out[qa.question] == qa.answer, "one question, two answers")
                out[qa.question] = qa.answer
            }
        }
        return out
    }
    #expect(all(.colourOf)["What colour is the square?"] == "blue")
    #expect(all(.colourOf)["What colour is the circle?"] == "red")
    #expect(all(.shapeOf)["What shape is the blue object?"] == "square")
    #expect(all(.sizeOf)["What size is the blue square?"] == "small")
    #expect(all(.count)["How many objects are there?"] == "3")
    #expect(all(.countColour)["How many red objects are there?"] == "2")
    #expect(all(.countShape)["How many circles are there?"] == "1")
    #expect(all(.position)["Where is the triangle?"] == "bottom centre-left")
    #expect(all(.row)["Which row is the square in?"] == "upper")
    #expect(all(.column)["Which column is the square in?"] == "right")
    let left = all(.relationLeft)
    #expect(left["Is the circle to the left of the square?"] == "yes")
    #expect(left["Is the square to the left of the circle?"] == "no")
    #expect(all(.relationAbove)["Is the triangle above the circle?"] == "no")
    let colours = all(.relationalColour)
    #expect(colours["What colour is the object to the left of the triangle?"] == "red")
    #expect(!colours.keys.contains { $0.hasSuffix("left of the square?") })  // two objects are left of it
    #expect(all(.relationalShape)["What shape is the object above the square?"] == "circle")
    #expect(all(.reading)["What number is written in the image?"] == "5")
    #expect(all(.dominantColour)["What is the main colour of the objects?"] == "red")
    #expect(all(.existsShape)["Is there a cross in the image?"] == "no")
    #expect(all(.existsObject)["Is there a red circle in the image?"] == "yes")
    #expect(all(.positionCheck)["Is the circle at top left?"] == "yes")
    #expect(all(.countCheck)["Is the number of objects 3?"] == "yes")
    #expect(all(.readingCheck, polarity: false).keys.allSatisfy { !$0.contains("number 5 ") })
    // "red object" and "big object" fit two objects each, so they never refer
    #expect(!all(.position).keys.contains { $0.contains("the red object") || $0.contains("the big object") })
}

@Test("corpus focus: that share of turns comes from the focus families; without it the corpus is unchanged")
func corpusFocus() throws {
    let data = try SyntheticData(seed: 3)
    let focus = CorpusFocus(families: [.existsShape, .readingCheck], share: 0.5)
    var natural = 0, focused = 0, total = 0, focusedTotal = 0
    for i in 0..<300 {
        let scene = data.trainingScene(.corpus, i)
        var a = SeedStream.generator(3, "test", i), b = a
        let plain = data.turns(for: scene, rng: &a)
        let more = data.turns(for: scene, rng: &b, focus: focus)
        natural += plain.filter { focus.families.contains($0.family) }.count
        focused += more.filter { focus.families.contains($0.family) }.count
        total += plain.count
        focusedTotal += more.count
    }
    // Natural mix: 2 of 23 families at weight 1 of ~27.6 (≈ 7 %); focused: about half the turns plus that.
    let before = Double(natural) / Double(total), after = Double(focused) / Double(focusedTotal)
    #expect(before < 0.12 && after > 0.45 && after < 0.65, "\(before) → \(after)")
    #expect(data.corpusSample(7) == data.corpusSample(7, focus: nil))
    #expect(data.corpusSample(7, focus: focus) != data.corpusSample(7))
    #expect(try CorpusFocus.families("none") == nil)
    #expect(try CorpusFocus.families("existsShape, readingCheck") == [.existsShape, .readingCheck])
    #expect(throws: CorpusFocus.FocusError.self) { try CorpusFocus.families("existsShap") }
}
