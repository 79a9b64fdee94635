/// The entry point: every dataset of a data seed, regenerated on demand and addressable by index.
///
/// Sample `i` of a dataset is a pure function of (seed, dataset, i), so a training loop can shuffle
/// indices, resume from any step and never store data. Seed streams (``SeedStream``):
/// `train.caption`, `train.instruct`, `train.corpus` for training, `bench.<name>` for benchmarks;
/// training scenes are drawn from the `train` content split and benchmark scenes from `heldOut`.
public struct SyntheticData: Sendable {
    public let seed: UInt64
    public let scenes: SceneConfig
    public let tokenizer: Tokenizer
    /// Question–answer turns per image in instruction samples (and per description in the corpus).
    public var turnsPerImage: ClosedRange<Int> = 4...8
    /// Probability that an instruction turn is asked in multiple-choice form.
    public var multipleChoiceRate: Double = 0.2

    let generator: SceneGenerator
    let renderer: SceneRenderer
    let factory: QuestionFactory
    let template: ChatTemplate

    public init(seed: UInt64, scenes: SceneConfig = SceneConfig(), tokenizer: Tokenizer = .standard) throws {
        try scenes.validate()
        self.seed = seed
        self.scenes = scenes
        self.tokenizer = tokenizer
        generator = SceneGenerator(config: scenes)
        renderer = SceneRenderer(config: scenes)
        factory = QuestionFactory(config: scenes)
        template = ChatTemplate(tokenizer: tokenizer)
    }

    /// The training scene behind sample `index` of `stream` (`caption`, `instruct` or `corpus`).
    public func trainingScene(_ stream: TrainingStream, _ index: Int) -> Scene {
        generator.scene(seed: SeedStream.seed(seed, "train.\(stream.rawValue)", index), split: .train)
    }

    public func render(_ scene: Scene) -> ImageBuffer { renderer.render(scene) }

    // MARK: Stage 1

    /// Stage-1 sample `index`: the plain template, image then caption.
    public func captionSample(_ index: Int) -> Sample {
        let scene = trainingScene(.caption, index)
        let (tokens, mask) = template.plain(caption: Captioner.caption(scene))
        return Sample(image: renderer.render(scene), tokens: tokens, supervised: mask, sceneFingerprint: scene.contentFingerprint)
    }

    // MARK: Stage 2

    /// Stage-2 sample `index`: a multi-turn "v1" chat about one image covering a mix of question families.
    public func instructionSample(_ index: Int) -> Sample {
        let scene = trainingScene(.instruct, index)
        var rng = SeedStream.generator(seed, "train.instruct.qa", index)
        let (tokens, mask) = template.chat(turns: turns(for: scene, rng: &rng).map { ($0.question, $0.answer) })
        return Sample(image: renderer.render(scene), tokens: tokens, supervised: mask, sceneFingerprint: scene.contentFingerprint)
    }

    /// The question–answer turns of an instruction or corpus sample. With `focus`, that share of the turns is drawn
    /// from its families instead (uniformly among them).
    public func turns(for scene: Scene, rng: inout SplitMix64, focus: CorpusFocus? = nil) -> [QA] {
        let target = rng.int(in: turnsPerImage)
        var chosen: [QA] = []
        var attempts = 0
        while chosen.count < target && attempts < 6 * target {
            attempts += 1
            var family = QuestionFamily.allCases[rng.weightedIndex(SyntheticData.familyWeights)]
            if let focus, rng.bernoulli(Float(focus.share)) { family = focus.families[rng.int(below: focus.families.count)] }
            let qa: QA?
            if family.isMultipleChoiceOnly || (!family.isYesNo && rng.bernoulli(Float(multipleChoiceRate))) {
                qa = factory.multipleChoice(family, scene: scene, rng: &rng, optionCount: rng.int(in: 2...4))
            } else {
                let kind = NegativeKind.allCases[rng.int(below: NegativeKind.allCases.count)]
                qa = factory.make(family, scene: scene, rng: &rng, negatives: kind)
            }
            if let qa, !chosen.contains(where: { $0.question == qa.question }) { chosen.append(qa) }
        }
        return chosen
    }

    /// Relative frequency of each family in instruction data, in `QuestionFamily.allCases` order.
    /// Fine-grained families get more weight: they are what the model finds hard (FEASIBILITY.md).
    static let familyWeights: [Double] = QuestionFamily.allCases.map { family in
        switch family {
        case .existsObject: 2.5
        case .existsColour, .existsShape, .sizeOf, .countColour, .countShape, .countCheck, .positionCheck,
             .relationLeft, .relationAbove, .relationalColour, .relationalShape, .readingCheck, .row, .column: 1
        case .textPresence, .dominantColour, .whichPresent: 0.7
        case .colourOf, .shapeOf, .reading: 2
        case .count, .position: 1.5
        }
    }

    // MARK: Language-model pretraining

    /// Text-only sample `index`: the scene's description in place of the image, then question–answer
    /// turns, in the chat template. Every token but `<bos>` is supervised (plain language modelling).
    ///
    /// With `answersOnly`, only the answers and their `<eot>` are supervised: the probe of whether the LM answers
    /// from the description in its context (the skill stage 2 must transfer to images). With `focus`, part of the
    /// turns come from the focus families (training only; probes and validation use the natural mix).
    public func corpusSample(_ index: Int, answersOnly: Bool = false, focus: CorpusFocus? = nil) -> Sample {
        let scene = trainingScene(.corpus, index)
        var rng = SeedStream.generator(seed, "train.corpus.qa", index)
        let turns = turns(for: scene, rng: &rng, focus: focus).map { ($0.question, $0.answer) }
        let (tokens, answers) = template.chat(turns: turns, image: false, context: Captioner.caption(scene))
        var mask = [Bool](repeating: true, count: tokens.count)
        mask[0] = false
        return Sample(image: nil, tokens: tokens, supervised: answersOnly ? answers : mask, sceneFingerprint: scene.contentFingerprint)
    }

    public func captionSamples(_ range: Range<Int>) -> [Sample] { range.map(captionSample) }
    public func instructionSamples(_ range: Range<Int>) -> [Sample] { range.map(instructionSample) }
    public func corpusSamples(_ range: Range<Int>) -> [Sample] { range.map { corpusSample($0) } }
}

/// A corpus mix that over-asks some question families: `share` of the turns are drawn uniformly from `families`.
/// Matching skills (existence, checks, option matching) form only after tens of thousands of answers each
/// (`Benchmarks/lm_corpus_results.md`); the natural mix spreads answers over every family.
public struct CorpusFocus: Sendable, Equatable {
    public var families: [QuestionFamily]
    public var share: Double

    public init(families: [QuestionFamily], share: Double) {
        precondition(!families.isEmpty && share > 0 && share < 1, "a focus needs families and a share in (0, 1)")
        self.families = families
        self.share = share
    }

    /// Parses `lm_focus`: comma-separated family names, or `none`. Nil for `none`; throws on an unknown name.
    public static func families(_ text: String) throws -> [QuestionFamily]? {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names.isEmpty || names == ["none"] { return nil }
        return try names.map { name in
            guard let family = QuestionFamily(rawValue: name) else {
                throw FocusError(description: "unknown question family \"\(name)\"; valid: none, or a comma-separated list of \(QuestionFamily.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return family
        }
    }

    public struct FocusError: Error, CustomStringConvertible { public var description: String }
}

public enum TrainingStream: String, CaseIterable, Sendable {
    case caption, instruct, corpus
}
