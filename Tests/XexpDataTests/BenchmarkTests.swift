import Foundation
import Testing
@testable import XexpData

private let data = try! SyntheticData(seed: 31)

@Test("perfect predictions reach each benchmark's maximum; chance lies well below", arguments: BenchmarkName.allCases)
func perfectScores(name: BenchmarkName) throws {
    let set = data.benchmark(name, size: 30)
    let perfect = try set.score(set.questions.map { $0.qa.answer })
    #expect(perfect.headline == (name == .mme ? 1000 : 100))
    #expect(perfect.chance > 0 && perfect.chance <= perfect.headline / 2)
    #expect(perfect.metrics["questions"] == Double(set.questions.count))
    #expect(throws: DataError.self) { try set.score(["yes"]) }
}

@Test("sizes: how many questions and images each set has", arguments: BenchmarkName.allCases)
func sizes(name: BenchmarkName) {
    let set = data.benchmark(name, size: 10)
    switch name {
    case .gqa, .sqa, .textvqa:
        #expect(set.questions.count == 10 && set.images.count == 10)
    case .pope:
        #expect(set.questions.count == 180 && set.images.count == 10)
    case .mme:
        #expect(set.questions.count == 20 && set.images.count == 10)
    case .mmbench:
        #expect(set.images.count == 10)
        #expect(set.questions.count == Set(set.questions.map(\.group)).map { g in set.questions.first { $0.group == g }!.qa.options.count }.reduce(0, +))
    }
    #expect(Set(set.questions.map(\.id)).count == set.questions.count)
    #expect(set.questions.allSatisfy { set.images.indices.contains($0.imageIndex) })
}

@Test("GQA: exact match after normalisation, chance = mean 1/answer space, fine and coarse reported")
func gqaScoring() throws {
    let set = data.benchmark(.gqa, size: 36)
    let qs = set.questions
    #expect(Set(qs.map(\.qa.family)) == Set(SyntheticData.gqaFamilies))
    // "Red." matches "red"; every third answer made wrong
    let predictions = qs.indices.map { i in i % 3 == 0 ? "wrong" : qs[i].qa.answer.capitalized + "." }
    let s = try set.score(predictions)
    #expect(abs(s.metrics["accuracy"]! - 100 * 24 / 36) < 1e-9)
    let chance = qs.map { 1 / Double($0.qa.answerSpace) }.reduce(0, +) / 36
    #expect(abs(s.chance - 100 * chance) < 1e-9)
    #expect(s.metrics["accuracy.fine"] != nil && s.metrics["accuracy.coarse"] != nil)
    // yes/no questions are balanced
    let yesNo = qs.filter { $0.qa.family.isYesNo }
    #expect(yesNo.filter { $0.qa.answer == "yes" }.count * 2 == yesNo.count)
}

@Test("SQA: option letters parsed as LLaVA does; chance = mean 1/options")
func sqaScoring() throws {
    let set = data.benchmark(.sqa, size: 30)
    let qs = set.questions
    #expect(qs.allSatisfy { $0.qa.isMultipleChoice && (2...4).contains($0.qa.options.count) })
    let predictions = qs.indices.map { i -> String in
        switch i % 3 {
        case 0: qs[i].qa.answer                                   // "B"
        case 1: "\(qs[i].qa.answer). \(qs[i].qa.options[qs[i].qa.correctOption!])"  // "B. blue"
        default: qs[i].qa.options[qs[i].qa.correctOption!]        // "blue": FAILED in the reference
        }
    }
    let s = try set.score(predictions)
    #expect(abs(s.metrics["accuracy"]! - 100 * 20 / 30) < 1e-9)
    #expect(abs(s.metrics["parse_failures"]! - 100 * 10 / 30) < 1e-9)
    #expect(abs(s.chance - 100 * qs.map { 1 / Double($0.qa.options.count) }.reduce(0, +) / 30) < 1e-9)
}

@Test("TextVQA: ten deterministic annotator answers, mostly right; VQA accuracy per question")
func textvqaScoring() throws {
    let set = data.benchmark(.textvqa, size: 40)
    for q in set.questions {
        #expect(q.answers.count == 10)
        #expect(q.answers.filter { $0 == q.qa.answer }.count >= 7)
        #expect(set.scenes[q.imageIndex].text?.string == q.qa.answer)
    }
    #expect(set.questions.contains { Set($0.answers).count > 1 })  // some annotator noise exists
    let noisy = set.questions.firstIndex { q in q.answers.contains { $0 != q.qa.answer } }!
    var predictions = set.questions.map { $0.qa.answer }
    let wrong = set.questions[noisy].answers.first { $0 != set.questions[noisy].qa.answer }!
    predictions[noisy] = wrong
    let s = try set.score(predictions)
    let expected = VQAAccuracy.score(prediction: wrong, references: set.questions[noisy].answers)
    #expect(expected > 0 && expected < 1)
    #expect(abs(s.metrics["accuracy"]! - 100 * (39 + expected) / 40) < 1e-9)
    #expect(s.chance < 1)
}

@Test("POPE: balanced splits; negatives absent, positives present; adversarial ones are near misses")
func popeConstruction() {
    let set = data.benchmark(.pope, size: 20)
    for split in NegativeKind.allCases {
        let qs = set.questions.filter { $0.group == split.rawValue }
        #expect(qs.count == 120 && qs.filter { $0.qa.answer == "yes" }.count == 60)
        for q in qs {
            let scene = set.scenes[q.imageIndex]
            let category = Category.all.first { q.question == "Is there \(article($0.colour.word)) \($0.phrase) in the image?" }!
            #expect(scene.categories.contains(category) == (q.qa.answer == "yes"))
            if split == .adversarial && q.qa.answer == "no" {
                #expect(scene.objects.contains { $0.colour == category.colour || $0.shape == category.shape })
            }
        }
    }
}

@Test("POPE: per-split accuracy, precision, recall, F1 and yes-ratio, and their average")
func popeScoring() throws {
    let set = data.benchmark(.pope, size: 8)
    // random split answered perfectly, popular always "Yes.", adversarial always "No, there is not."
    let predictions = set.questions.map { q -> String in
        switch q.group {
        case "random": q.qa.answer == "yes" ? "Yes, there is." : "No."
        case "popular": "Yes."
        default: "No, there is not."
        }
    }
    let m = try set.score(predictions).metrics
    #expect(m["random.accuracy"] == 100 && m["random.f1"] == 100 && m["random.yes_ratio"] == 50)
    #expect(m["popular.accuracy"] == 50 && m["popular.precision"] == 50 && m["popular.recall"] == 100 && m["popular.yes_ratio"] == 100)
    #expect(abs(m["popular.f1"]! - 200.0 / 3) < 1e-9)
    #expect(m["adversarial.accuracy"] == 50 && m["adversarial.precision"] == 0 && m["adversarial.recall"] == 0 && m["adversarial.f1"] == 0)
    #expect(abs(m["accuracy"]! - 200.0 / 3) < 1e-9)
    #expect(abs(m["f1"]! - (100 + 200.0 / 3) / 3) < 1e-9)
    #expect(abs(m["yes_ratio"]! - 50) < 1e-9)
    #expect(m["chance"] == 50)
}

@Test("MME: a true and a false question per image; always yes scores 50 per subtask (acc 50, acc+ 0)")
func mmeScoring() throws {
    let set = data.benchmark(.mme, size: 25)
    for image in set.images.indices {
        let qs = set.questions.filter { $0.imageIndex == image }
        #expect(qs.map(\.qa.answer).sorted() == ["no", "yes"] && qs[0].group == qs[1].group)
    }
    let m = try set.score(set.questions.map { _ in "Yes" }).metrics
    for subtask in MMESubtask.allCases {
        #expect(m[subtask.rawValue] == 50 && m["\(subtask.rawValue).acc_plus"] == 0)
    }
    #expect(m["total"] == 250 && m["chance"] == 375 && m["total_percent"] == 25)  // 250 of 5 × 200
    // one subtask's "no" questions answered right too: that subtask becomes 200
    let fixed = set.questions.map { $0.group == "count" ? $0.qa.answer : "Yes" }
    let f = try set.score(fixed).metrics
    #expect(f["count"] == 200 && f["total"] == 400 && f["fine"] == 300 && f["coarse"] == 100 && f["total_percent"] == 40)
}

@Test("MMBench: a question counts only if every rotation is right (CircularEval)")
func mmbenchScoring() throws {
    let set = data.benchmark(.mmbench, size: 20)
    for group in Set(set.questions.map(\.group)) {
        let rotations = set.questions.filter { $0.group == group }
        // every option sits in every position once across the rotations
        #expect(Set(rotations.map { $0.qa.options[$0.qa.correctOption!] }).count == 1)
        #expect(Set(rotations.map(\.qa.answer)).count == rotations.count)
    }
    var predictions = set.questions.map { $0.qa.answer }
    let spoiled = set.questions.firstIndex { $0.id == "mmbench-0-r1" }!
    predictions[spoiled] = predictions[spoiled] == "A" ? "B" : "A"
    let m = try set.score(predictions).metrics
    #expect(abs(m["accuracy"]! - 95) < 1e-9)
    #expect(m["accuracy.vanilla"] == 100)
    #expect(m["chance"]! < 1 && abs(m["chance.vanilla"]! - 25) < 1e-9)
}

@Test("predictions are written as JSON lines with the answers and whether each was right")
func predictionFile() throws {
    let set = data.benchmark(.textvqa, size: 5)
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("xexpdata-\(UUID().uuidString).jsonl")
    defer { try? FileManager.default.removeItem(at: url) }
    var predictions = set.questions.map { $0.qa.answer }
    predictions[2] = "nothing"
    try set.writePredictions(predictions, to: url)
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 5)
    let records = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    #expect(records.map { $0["id"] as! String } == set.questions.map(\.id))
    #expect(records.map { $0["correct"] as! Bool } == [true, true, false, true, true])
    #expect((records[2]["answers"] as! [String]) == set.questions[2].answers)
    #expect(records[2]["prediction"] as! String == "nothing" && records[0]["question"] as! String == set.questions[0].question)
}
