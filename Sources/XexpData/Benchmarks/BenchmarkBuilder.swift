/// Building the held-out question sets. Every scene comes from the `bench.<name>` seed stream and the
/// held-out content split; scenes that cannot support the wanted question are skipped (the stream
/// cursor moves on), so a set is a pure function of (data seed, benchmark, size).
extension SyntheticData {
    /// Families per benchmark, asked in turn (question i gets families[i % count]).
    static let gqaFamilies: [QuestionFamily] = [.colourOf, .shapeOf, .sizeOf, .relationalColour, .relationalShape,
                                                .relationLeft, .relationAbove, .row, .column]
    static let sqaFamilies: [QuestionFamily] = [.colourOf, .shapeOf, .sizeOf, .count, .row, .column, .whichPresent,
                                                .reading, .dominantColour, .position]
    static let mmbenchFamilies: [QuestionFamily] = [.whichPresent, .colourOf, .shapeOf, .dominantColour, .count,
                                                    .position, .row, .relationalColour, .reading, .countShape]

    /// The benchmark set `name` with `size` items (see ``BenchmarkName/sizeMeaning``).
    public func benchmark(_ name: BenchmarkName, size: Int) -> BenchmarkSet {
        var b = SetBuilder(data: self, name: name)
        switch name {
        case .gqa:
            for i in 0..<size {
                let family = SyntheticData.gqaFamilies[i % SyntheticData.gqaFamilies.count]
                let polarity = (i / SyntheticData.gqaFamilies.count) % 2 == 0
                b.addSingle(id: "gqa-\(i)", group: family.rawValue) { scene, rng in
                    factory.make(family, scene: scene, rng: &rng, polarity: polarity)
                }
            }
        case .sqa:
            for i in 0..<size {
                let family = SyntheticData.sqaFamilies[i % SyntheticData.sqaFamilies.count]
                let options = 2 + i % 3
                b.addSingle(id: "sqa-\(i)", group: family.rawValue, requirements: SceneRequirements(text: family == .reading ? true : nil)) { scene, rng in
                    factory.multipleChoice(family, scene: scene, rng: &rng, optionCount: options)
                }
            }
        case .textvqa:
            for i in 0..<size {
                b.addSingle(id: "textvqa-\(i)", group: "reading", requirements: SceneRequirements(text: true),
                            answers: { scene, qa, rng in SyntheticData.annotatorAnswers(qa.answer, scene: scene, factory: factory, rng: &rng) }) { scene, rng in
                    factory.make(.reading, scene: scene, rng: &rng)
                }
            }
        case .pope:
            b.addPOPE(images: size)
        case .mme:
            for i in 0..<size { b.addMMEPair(index: i, subtask: MMESubtask.allCases[i % MMESubtask.allCases.count]) }
        case .mmbench:
            for i in 0..<size {
                let family = SyntheticData.mmbenchFamilies[i % SyntheticData.mmbenchFamilies.count]
                b.addCircular(index: i, family: family)
            }
        }
        return BenchmarkSet(name: name, scenes: b.scenes, images: b.scenes.map(renderer.render), questions: b.questions)
    }

    /// Ten TextVQA-style annotator answers: mostly the true number; 0–3 annotators (35/30/20/15 %) misread
    /// it (a near-miss number, 3 in 4) or call it unanswerable. So the best possible score is 1 (≥ 7 agree).
    static func annotatorAnswers(_ truth: String, scene: Scene, factory: QuestionFactory, rng: inout SplitMix64) -> [String] {
        var answers = [String](repeating: truth, count: 10)
        let noisy = rng.weightedIndex([0.35, 0.30, 0.20, 0.15])
        for k in rng.shuffled(Array(0..<10)).prefix(noisy) {
            answers[k] = rng.bernoulli(0.75) ? factory.nearMiss(scene.text!, rng: &rng) : "unanswerable"
        }
        return answers
    }
}

private struct SetBuilder {
    let data: SyntheticData
    let name: BenchmarkName
    var scenes: [Scene] = []
    var questions: [BenchmarkQuestion] = []
    /// Next index of the `bench.<name>` stream.
    var cursor = 0

    init(data: SyntheticData, name: BenchmarkName) { self.data = data; self.name = name }

    /// Draws scenes from the stream until `make` succeeds; returns the scene's index in `scenes`.
    mutating func draw<T>(_ requirements: SceneRequirements, _ make: (Scene, inout SplitMix64) -> T?) -> (Int, T, SplitMix64) {
        while true {
            let index = cursor
            cursor += 1
            let scene = data.generator.scene(seed: SeedStream.seed(data.seed, "bench.\(name.rawValue)", index),
                                             split: .heldOut, requirements: requirements)
            var rng = SeedStream.generator(data.seed, "bench.\(name.rawValue).qa", index)
            if let made = make(scene, &rng) {
                scenes.append(scene)
                return (scenes.count - 1, made, rng)
            }
        }
    }

    mutating func addSingle(id: String, group: String, requirements: SceneRequirements = SceneRequirements(),
                            answers: ((Scene, QA, inout SplitMix64) -> [String])? = nil,
                            _ make: (Scene, inout SplitMix64) -> QA?) {
        var (imageIndex, qa, rng) = draw(requirements, make)
        let refs = answers?(scenes[imageIndex], qa, &rng) ?? [qa.answer]
        questions.append(BenchmarkQuestion(id: id, imageIndex: imageIndex, qa: qa, answers: refs, group: group))
    }

    /// MMBench: one question asked once per rotation of its options (CircularEval).
    mutating func addCircular(index: Int, family: QuestionFamily) {
        let req = SceneRequirements(text: family == .reading ? true : nil)
        let factory = data.factory
        let (imageIndex, qa, _) = draw(req) { scene, rng in factory.multipleChoice(family, scene: scene, rng: &rng, optionCount: 4) }
        for r in 0..<qa.options.count {
            let rotated = qa.rotated(by: r)
            questions.append(BenchmarkQuestion(id: "mmbench-\(index)-r\(r)", imageIndex: imageIndex, qa: rotated,
                                               answers: [rotated.answer], group: "mmbench-\(index)"))
        }
    }

    /// MME: one image, one true and one false question of the subtask's family.
    mutating func addMMEPair(index: Int, subtask: MMESubtask) {
        let req = SceneRequirements(text: subtask == .text ? true : nil)
        let factory = data.factory
        let (imageIndex, pair, _) = draw(req) { scene, rng -> (QA, QA)? in
            guard let yes = factory.make(subtask.family, scene: scene, rng: &rng, polarity: true),
                  let no = factory.make(subtask.family, scene: scene, rng: &rng, polarity: false) else { return nil }
            return (yes, no)
        }
        for (qa, tag) in [(pair.0, "yes"), (pair.1, "no")] {
            questions.append(BenchmarkQuestion(id: "mme-\(subtask.rawValue)-\(index)-\(tag)", imageIndex: imageIndex, qa: qa,
                                               answers: [qa.answer], group: subtask.rawValue))
        }
    }

    /// POPE: `images` scenes with at least three object classes; per image three present classes and, in
    /// each split, three absent ones chosen as POPE does — random; popular (most frequent classes in this
    /// set's images); adversarial (classes sharing a colour or shape with the most present objects, the
    /// synthetic world's analogue of co-occurrence), ties broken by frequency.
    mutating func addPOPE(images: Int) {
        let req = SceneRequirements(minObjects: 3, minCategories: 3)
        var positives: [[Category]] = []
        var rngs: [SplitMix64] = []
        for _ in 0..<images {
            let (_, picked, rng) = draw(req) { scene, rng -> [Category]? in
                Array(rng.shuffled(scene.categories.sorted()).prefix(3))
            }
            positives.append(picked)
            rngs.append(rng)
        }
        var frequency = [Int](repeating: 0, count: Category.all.count)
        for scene in scenes { for c in scene.categories { frequency[c.index] += 1 } }

        for kind in NegativeKind.allCases {
            for (i, scene) in scenes.enumerated() {
                var rng = rngs[i]
                let present = scene.categories
                let absent = Category.all.filter { !present.contains($0) }
                let negatives: [Category]
                switch kind {
                case .random:
                    negatives = Array(rng.shuffled(absent).prefix(3))
                case .popular:
                    negatives = Array(absent.sorted { (frequency[$0.index], -$0.index) > (frequency[$1.index], -$1.index) }.prefix(3))
                case .adversarial:
                    func closeness(_ c: Category) -> Int {
                        scene.objects.filter { $0.colour == c.colour || $0.shape == c.shape }.count
                    }
                    negatives = Array(absent.sorted {
                        (closeness($0), frequency[$0.index], -$0.index) > (closeness($1), frequency[$1.index], -$1.index)
                    }.prefix(3))
                }
                let items = rng.shuffled(positives[i].map { ($0, true) } + negatives.map { ($0, false) })
                for (k, (category, yes)) in items.enumerated() {
                    let q = Phrasebook.fill(Phrasebook.template(.existsObject), ["a": article(category.colour.word), "category": category.phrase])
                    let qa = QA(family: .existsObject, question: q, answer: yes ? Phrasebook.yes : Phrasebook.no, answerSpace: 2)
                    questions.append(BenchmarkQuestion(id: "pope-\(kind.rawValue)-\(i)-\(k)", imageIndex: i, qa: qa,
                                                       answers: [qa.answer], group: kind.rawValue))
                }
            }
        }
    }
}
