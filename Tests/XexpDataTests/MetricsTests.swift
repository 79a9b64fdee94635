import Testing
@testable import XexpData

// Hand-computed cases for every scoring rule.

@Test("VQA accuracy averages min(1, others agreeing / 3) over the 10 leave-one-out subsets", arguments: [
    // all ten agree
    (Array(repeating: "47", count: 10), "47", 1.0),
    // 2 agree: the 2 subsets without one of them see 1 → 1/3; the other 8 see 2 → 2/3; (2/3 + 16/3) / 10
    (["47", "47"] + Array(repeating: "41", count: 8), "47", 0.6),
    // 3 agree: 3 subsets see 2 → 2/3, 7 see 3 → 1; (2 + 7) / 10
    (["47", "47", "47", "41", "74", "4", "unanswerable", "471", "17", "44"], "47", 0.9),
    // 4 agree: every subset sees at least 3
    (["47", "47", "47", "47", "41", "41", "41", "41", "41", "41"], "47", 1.0),
    // 1 agrees: 9 subsets see 1 → 1/3, the one without it sees 0; 3 / 10
    (["47"] + Array(repeating: "41", count: 9), "47", 0.3),
    (Array(repeating: "41", count: 10), "47", 0.0),
    // normalisation: case, articles, trailing period, number words
    (Array(repeating: "47", count: 10), "The 47.", 1.0),
    (Array(repeating: "2", count: 10), "two", 1.0),
])
func vqaAccuracy(references: [String], prediction: String, expected: Double) {
    #expect(abs(VQAAccuracy.score(prediction: prediction, references: references) - expected) < 1e-12)
}

@Test("POPE's parser: first sentence, commas dropped, a word 'No'/'no'/'not' means no, anything else yes", arguments: [
    ("Yes", true), ("yes.", true), ("No", false), ("no.", false), ("No, there is not.", false),
    ("Yes, there is not a red circle.", false),  // "not" in the first sentence wins
    ("Yes. No.", true),                            // only the first sentence counts
    ("There is no red circle", false), ("I do not see one", false),
    ("Nope", true), ("NO", true),                  // the reference matches words exactly and case-sensitively
    ("", true), ("red", true),
    ("no,it is red", true),                        // commas are deleted, not spaced: "noit" is not "no"
])
func popeParsing(text: String, yes: Bool) {
    #expect(AnswerParsing.popeSaysYes(text) == yes)
}

@Test("MME's parser: exact yes/no, else yes/no within the first four characters, else other", arguments: [
    ("yes", "yes"), ("Yes", "yes"), (" No ", "no"), ("Yes, it is.", "yes"), ("No, it is not.", "no"),
    ("none", "no"), ("Maybe", "other"), ("red", "other"), ("I think yes", "other"),
])
func mmeParsing(text: String, label: String) {
    #expect(AnswerParsing.mmeLabel(text) == label)
}

@Test("LLaVA's option-letter parser", arguments: [
    ("B", 4, "B"), (" A \n", 4, "A"), ("B. blue", 4, "B"), ("The answer is C.", 4, "C"),
    ("C.", 4, nil),                 // needs ". " after the letter, as in the reference
    ("blue", 4, nil), ("E", 4, nil), ("D", 3, nil),
    ("The answer is A. The answer is B.", 4, nil),  // ambiguous
] as [(String, Int, String?)])
func optionLetters(text: String, count: Int, letter: String?) {
    #expect(AnswerParsing.optionLetter(text, optionCount: count) == letter)
}

@Test("MMBench falls back to the option whose text the answer repeats")
func mmbenchLetters() {
    #expect(AnswerParsing.mmbenchLetter("blue", options: ["red", "blue", "green"]) == "B")
    #expect(AnswerParsing.mmbenchLetter("Blue.", options: ["red", "blue", "green"]) == "B")
    #expect(AnswerParsing.mmbenchLetter("C", options: ["red", "blue", "green"]) == "C")
    #expect(AnswerParsing.mmbenchLetter("purple", options: ["red", "blue", "green"]) == nil)
}

@Test("exact-match normalisation strips trailing periods, case and extra spaces")
func exactNormalisation() {
    #expect(AnswerParsing.normalizeExact("Red.") == "red")
    #expect(AnswerParsing.normalizeExact("  top   Left.. ") == "top left")
    #expect(AnswerParsing.normalizeExact("red circle") != AnswerParsing.normalizeExact("red"))
}

@Test("binary metrics on a hand-computed confusion matrix")
func binaryMetrics() {
    // labels Y Y Y N N N, predictions Y Y N Y N N: TP 2, FN 1, FP 1, TN 2
    let m = BinaryMetrics(predictedYes: [true, true, false, true, false, false],
                          actualYes: [true, true, true, false, false, false])
    #expect((m.truePositives, m.falseNegatives, m.falsePositives, m.trueNegatives) == (2, 1, 1, 2))
    #expect(abs(m.accuracy - 4.0 / 6) < 1e-12)
    #expect(abs(m.precision - 2.0 / 3) < 1e-12)
    #expect(abs(m.recall - 2.0 / 3) < 1e-12)
    #expect(abs(m.f1 - 2.0 / 3) < 1e-12)
    #expect(abs(m.yesRatio - 0.5) < 1e-12)
    // TP 3, FP 1, FN 0: precision 3/4, recall 1, F1 = 2·(3/4)/(7/4) = 6/7
    let n = BinaryMetrics(predictedYes: [true, true, true, true], actualYes: [true, true, true, false])
    #expect(abs(n.f1 - 6.0 / 7) < 1e-12)
    // never saying yes: precision and F1 defined as 0
    let z = BinaryMetrics(predictedYes: [false, false], actualYes: [true, false])
    #expect(z.precision == 0 && z.recall == 0 && z.f1 == 0 && z.yesRatio == 0 && z.accuracy == 0.5)
}

@Test("MME: 100·acc + 100·acc+ with acc+ over images")
func mmeScore() {
    // image 0 both right, image 1 one right, image 2 none: acc 3/6, acc+ 1/3
    let r = MMEScore.subtask([(0, true), (0, true), (1, true), (1, false), (2, false), (2, false)])
    #expect(abs(r.accuracy - 0.5) < 1e-12)
    #expect(abs(r.accuracyPlus - 1.0 / 3) < 1e-12)
    #expect(abs(r.score - (50 + 100.0 / 3)) < 1e-9)
}

@Test("CircularEval: right only if every rotation is right")
func circularEval() {
    let answers: [(question: String, correct: Bool)] = [
        ("q1", true), ("q1", true), ("q1", true), ("q1", true),
        ("q2", true), ("q2", false), ("q2", true), ("q2", true),
        ("q3", true), ("q3", true),
    ]
    #expect(abs(CircularEval.accuracy(answers) - 2.0 / 3) < 1e-12)
}

@Test("rotating options moves the right letter with its option")
func rotation() {
    let qa = QA.multipleChoice(family: .colourOf, stem: "What colour is the circle?", options: ["red", "blue", "green", "yellow"], correct: 1)
    #expect(qa.answer == "B")
    #expect(qa.question == "What colour is the circle?\nA. red\nB. blue\nC. green\nD. yellow\nAnswer with the letter.")
    let r1 = qa.rotated(by: 1)
    #expect(r1.options == ["blue", "green", "yellow", "red"] && r1.answer == "A")
    let r3 = qa.rotated(by: 3)
    #expect(r3.options == ["yellow", "red", "blue", "green"] && r3.answer == "C")
}
