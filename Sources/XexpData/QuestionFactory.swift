/// Turns a scene into questions with their answers. One factory serves training and benchmarks, so a
/// family means the same thing everywhere.
public struct QuestionFactory: Sendable {
    public let config: SceneConfig
    private let areas: [[Int]]  // [size][shape], pixels covered

    public init(config: SceneConfig = SceneConfig()) {
        self.config = config
        let renderer = SceneRenderer(config: config)
        areas = Size.allCases.map { size in Shape.allCases.map { renderer.area($0, size) } }
    }

    // MARK: Scene facts

    /// The colour covering the most object pixels, if it leads the runner-up by at least 30 %
    /// (otherwise the question is not asked: its answer would hinge on a few pixels).
    public func dominantColour(_ scene: Scene) -> Colour? {
        var area = [Int](repeating: 0, count: Colour.allCases.count)
        for o in scene.objects { area[o.colour.rawValue] += areas[o.size.rawValue][o.shape.rawValue] }
        let ranked = area.enumerated().sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
        guard ranked[0].element > 0 else { return nil }
        guard Double(ranked[0].element) >= 1.3 * Double(ranked[1].element) else { return nil }
        return Colour(rawValue: ranked[0].offset)
    }

    /// A number that looks like the scene's but is not: one digit changed, two digits swapped, or a digit
    /// dropped or added.
    public func nearMiss(_ text: SceneText, rng: inout SplitMix64) -> String {
        let truth = text.string
        while true {
            var d = text.digits
            switch rng.int(below: 4) {
            case 0: let i = rng.int(below: d.count); d[i] = rng.int(below: 10)
            case 1: if d.count > 1 { d.swapAt(0, d.count - 1) }
            case 2: if d.count > 1 { d.removeLast() } else { d.append(rng.int(below: 10)) }
            default: if d.count < 3 { d.insert(rng.int(below: 10), at: rng.int(below: d.count + 1)) } else { d.removeFirst() }
            }
            if d.count > 1 && d[0] == 0 { d[0] = 1 + rng.int(below: 9) }
            let candidate = d.map(String.init).joined()
            if candidate != truth { return candidate }
        }
    }

    // MARK: Referring expressions

    struct Attributes: OptionSet, Hashable {
        let rawValue: Int
        static let size = Attributes(rawValue: 1), colour = Attributes(rawValue: 2), shape = Attributes(rawValue: 4)
        static let combinations: [Attributes] = [[.shape], [.colour], [.colour, .shape], [.size, .shape],
                                                 [.size, .colour], [.size, .colour, .shape], [.size]]
    }

    static func phrase(_ o: SceneObject, _ a: Attributes) -> String {
        var words: [String] = []
        if a.contains(.size) { words.append(o.size.word) }
        if a.contains(.colour) { words.append(o.colour.word) }
        words.append(a.contains(.shape) ? o.shape.word : "object")
        return words.joined(separator: " ")
    }

    /// All phrases that pick out object `index` alone, not using `excluded` attributes
    /// ("What colour is the red circle?" would give the answer away).
    func references(_ index: Int, in scene: Scene, excluding excluded: Attributes = []) -> [String] {
        let target = scene.objects[index]
        return Attributes.combinations.filter { $0.isDisjoint(with: excluded) }.compactMap { a in
            let matching = scene.objects.filter { o in
                (!a.contains(.size) || o.size == target.size) && (!a.contains(.colour) || o.colour == target.colour)
                    && (!a.contains(.shape) || o.shape == target.shape)
            }
            return matching.count == 1 ? QuestionFactory.phrase(target, a) : nil
        }
    }

    /// A random object that can be referred to uniquely, with a random unique phrase for it.
    private func referable(_ scene: Scene, excluding: Attributes = [], rng: inout SplitMix64) -> (Int, String)? {
        for i in rng.shuffled(Array(scene.objects.indices)) {
            let refs = references(i, in: scene, excluding: excluding)
            if !refs.isEmpty { return (i, rng.element(of: refs)) }
        }
        return nil
    }

    // MARK: Negatives

    /// An absent category chosen as `kind` says (prior frequency stands in for "popular").
    public func negativeCategory(_ scene: Scene, kind: NegativeKind, rng: inout SplitMix64) -> Category? {
        let present = scene.categories
        let absent = Category.all.filter { !present.contains($0) }
        guard !absent.isEmpty else { return nil }
        switch kind {
        case .random:
            return rng.element(of: absent)
        case .popular:
            return absent[rng.weightedIndex(absent.map { $0.prior * $0.prior })]
        case .adversarial:
            let near = absent.filter { c in present.contains { $0.colour == c.colour || $0.shape == c.shape } }
            return rng.element(of: near.isEmpty ? absent : near)
        }
    }

    // MARK: Questions

    /// A question of `family` about `scene`, or nil when the scene cannot support one (no unique referent,
    /// no text, …). `polarity` forces the answer of a yes/no family (nil: either, with equal odds).
    public func make(_ family: QuestionFamily, scene: Scene, rng: inout SplitMix64,
                     polarity: Bool? = nil, negatives: NegativeKind = .random) -> QA? {
        let template = Phrasebook.template(family)
        func yesNo(_ slots: [String: String], _ yes: Bool) -> QA {
            QA(family: family, question: Phrasebook.fill(template, slots), answer: yes ? Phrasebook.yes : Phrasebook.no, answerSpace: 2)
        }
        func open(_ slots: [String: String], _ answer: String, _ space: Int) -> QA {
            QA(family: family, question: Phrasebook.fill(template, slots), answer: answer, answerSpace: space)
        }
        let yes = polarity ?? rng.bernoulli(0.5)
        let objects = scene.objects
        let countSpace = config.objectCount.upperBound + 1  // 0…max

        switch family {
        case .existsObject:
            let category: Category
            if yes {
                guard !objects.isEmpty else { return nil }
                category = rng.element(of: scene.categories.sorted())
            } else {
                guard let c = negativeCategory(scene, kind: negatives, rng: &rng) else { return nil }
                category = c
            }
            return yesNo(["a": article(category.colour.word), "category": category.phrase], yes)

        case .existsColour:
            let present = Set(objects.map(\.colour))
            let pool = yes ? present.sorted() : Colour.allCases.filter { !present.contains($0) }
            guard !pool.isEmpty else { return nil }
            let colour = negatives == .popular && !yes ? pool[rng.weightedIndex(pool.map(\.prior))] : rng.element(of: pool)
            return yesNo(["a": article(colour.word), "colour": colour.word], yes)

        case .existsShape:
            let present = Set(objects.map(\.shape))
            let pool = yes ? present.sorted() : Shape.allCases.filter { !present.contains($0) }
            guard !pool.isEmpty else { return nil }
            let shape = negatives == .popular && !yes ? pool[rng.weightedIndex(pool.map(\.prior))] : rng.element(of: pool)
            return yesNo(["a": article(shape.word), "shape": shape.word], yes)

        case .textPresence:
            if let polarity, polarity != (scene.text != nil) { return nil }
            return yesNo([:], scene.text != nil)

        case .dominantColour:
            guard let colour = dominantColour(scene) else { return nil }
            return open([:], colour.word, Colour.allCases.count)

        case .colourOf:
            guard let (i, ref) = referable(scene, excluding: .colour, rng: &rng) else { return nil }
            return open(["ref": ref], objects[i].colour.word, Colour.allCases.count)

        case .shapeOf:
            guard let (i, ref) = referable(scene, excluding: .shape, rng: &rng) else { return nil }
            return open(["ref": ref], objects[i].shape.word, Shape.allCases.count)

        case .sizeOf:
            guard let (i, ref) = referable(scene, excluding: .size, rng: &rng) else { return nil }
            return open(["ref": ref], objects[i].size.word, Size.allCases.count)

        case .whichPresent:
            return multipleChoice(.whichPresent, scene: scene, rng: &rng, optionCount: 4)

        case .count:
            return open([:], String(objects.count), config.objectCount.count)

        case .countColour:
            let present = objects.map(\.colour)
            let colour = !present.isEmpty && rng.bernoulli(0.7) ? rng.element(of: present) : rng.element(of: Colour.allCases)
            return open(["colour": colour.word], String(objects.filter { $0.colour == colour }.count), countSpace)

        case .countShape:
            let present = objects.map(\.shape)
            let shape = !present.isEmpty && rng.bernoulli(0.7) ? rng.element(of: present) : rng.element(of: Shape.allCases)
            return open(["plural": shape.plural], String(objects.filter { $0.shape == shape }.count), countSpace)

        case .countCheck:
            let truth = objects.count
            var n = truth
            if !yes {
                let near = [truth - 1, truth + 1].filter { config.objectCount.contains($0) }
                let far = config.objectCount.filter { $0 != truth }
                guard !far.isEmpty else { return nil }
                n = near.isEmpty ? rng.element(of: far) : rng.element(of: near)
            }
            return yesNo(["n": String(n)], yes)

        case .position, .row, .column:
            guard let (i, ref) = referable(scene, rng: &rng) else { return nil }
            let o = objects[i]
            switch family {
            case .position: return open(["ref": ref], o.positionPhrase, Layout.cells * Layout.cells)
            case .row: return open(["ref": ref], Layout.rowWords[o.row], Layout.cells)
            default: return open(["ref": ref], Layout.columnWords[o.column], Layout.cells)
            }

        case .positionCheck:
            guard let (i, ref) = referable(scene, rng: &rng) else { return nil }
            let o = objects[i]
            var (row, column) = (o.row, o.column)
            if !yes {
                // A near miss: right row and wrong column, or the other way round.
                if rng.bernoulli(0.5) {
                    column = rng.element(of: (0..<Layout.cells).filter { $0 != o.column })
                } else {
                    row = rng.element(of: (0..<Layout.cells).filter { $0 != o.row })
                }
            }
            return yesNo(["ref": ref, "position": Layout.positionPhrase(row: row, column: column)], yes)

        case .relationLeft, .relationAbove:
            let horizontal = family == .relationLeft
            var pairs: [(Int, Int)] = []
            for i in objects.indices {
                for j in objects.indices where i != j {
                    let (a, b) = (objects[i], objects[j])
                    let before = horizontal ? a.column < b.column : a.row < b.row
                    let differ = horizontal ? a.column != b.column : a.row != b.row
                    if differ && before == yes { pairs.append((i, j)) }
                }
            }
            for (i, j) in rng.shuffled(pairs) {
                let ri = references(i, in: scene), rj = references(j, in: scene)
                if !ri.isEmpty && !rj.isEmpty {
                    return yesNo(["ref": rng.element(of: ri), "ref2": rng.element(of: rj)], yes)
                }
            }
            return nil

        case .relationalColour, .relationalShape:
            let horizontal = family == .relationalColour
            for i in rng.shuffled(Array(objects.indices)) {
                let anchor = objects[i]
                let related = objects.filter { horizontal ? $0.column < anchor.column : $0.row < anchor.row }
                let refs = references(i, in: scene)
                guard related.count == 1, !refs.isEmpty else { continue }
                let answer = horizontal ? related[0].colour.word : related[0].shape.word
                return open(["ref": rng.element(of: refs)], answer, horizontal ? Colour.allCases.count : Shape.allCases.count)
            }
            return nil

        case .reading:
            guard let text = scene.text else { return nil }
            return open([:], text.string, 1000)  // 1- to 3-digit numbers without a leading zero

        case .readingCheck:
            guard let text = scene.text else { return nil }
            return yesNo(["number": yes ? text.string : nearMiss(text, rng: &rng)], yes)
        }
    }

    /// The multiple-choice form of a family with `optionCount` options (fewer when the family has fewer
    /// possible answers); nil for yes/no families or when no question can be asked.
    public func multipleChoice(_ family: QuestionFamily, scene: Scene, rng: inout SplitMix64, optionCount: Int) -> QA? {
        precondition((2...Phrasebook.optionLetters.count).contains(optionCount), "2 to 5 options")
        if family == .whichPresent {
            guard !scene.objects.isEmpty else { return nil }
            let answer = rng.element(of: scene.categories.sorted())
            var distractors: [Category] = []
            while distractors.count < optionCount - 1 {
                guard let c = negativeCategory(scene, kind: rng.bernoulli(0.5) ? .adversarial : .random, rng: &rng) else { return nil }
                if !distractors.contains(c) { distractors.append(c) }
            }
            let options = rng.shuffled([answer] + distractors)
            return QA.multipleChoice(family: family, stem: Phrasebook.template(family),
                                     options: options.map(\.phrase), correct: options.firstIndex(of: answer)!)
        }
        guard !family.isYesNo, let open = make(family, scene: scene, rng: &rng) else { return nil }
        let pool: [String]
        switch family {
        case .colourOf, .relationalColour, .dominantColour: pool = Colour.allCases.map(\.word)
        case .shapeOf, .relationalShape: pool = Shape.allCases.map(\.word)
        case .sizeOf: pool = Size.allCases.map(\.word)
        case .count: pool = config.objectCount.map(String.init)
        case .countColour, .countShape: pool = (0...config.objectCount.upperBound).map(String.init)
        case .position:
            pool = (0..<Layout.cells).flatMap { r in (0..<Layout.cells).map { Layout.positionPhrase(row: r, column: $0) } }
        case .row: pool = Layout.rowWords
        case .column: pool = Layout.columnWords
        case .reading:
            var misses: [String] = []
            for _ in 0..<50 where misses.count < optionCount - 1 {
                let m = nearMiss(scene.text!, rng: &rng)
                if !misses.contains(m) { misses.append(m) }
            }
            pool = [open.answer] + misses
        default: return nil
        }
        let distractors = rng.shuffled(pool.filter { $0 != open.answer })
        let k = min(optionCount, distractors.count + 1)
        guard k >= 2 else { return nil }
        let options = rng.shuffled([open.answer] + distractors.prefix(k - 1))
        return QA.multipleChoice(family: family, stem: open.question, options: options,
                                 correct: options.firstIndex(of: open.answer)!)
    }
}
