import Foundation
import XexpLearning

// MARK: - Configuration

/// The whole model: encoder, projector choice and language model (LLaVA-style keys). `text_config` may be a
/// ``LLMRegistry`` name (with an optional top-level `vocab_size`) or an inline ``LLMConfig``; encoding always
/// writes the full object, so a checkpoint's config is self-contained.
public struct VLMConfig: Codable, Sendable, Equatable {
    public var visionConfig: VisionConfig
    public var textConfig: LLMConfig
    public var projectorType: ProjectorKind
    public var visualTokens: Int
    /// The `<image>` placeholder id in prompts.
    public var imageTokenIndex: Int32

    enum CodingKeys: String, CodingKey {
        case visionConfig = "vision_config", textConfig = "text_config", projectorType = "mm_projector_type"
        case visualTokens = "num_visual_tokens", imageTokenIndex = "image_token_index", vocabSize = "vocab_size"
    }

    public init(visionConfig: VisionConfig = VisionConfig(), textConfig: LLMConfig, projectorType: ProjectorKind,
                visualTokens: Int, imageTokenIndex: Int32 = 3) {
        self.visionConfig = visionConfig
        self.textConfig = textConfig
        self.projectorType = projectorType
        self.visualTokens = visualTokens
        self.imageTokenIndex = imageTokenIndex
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        visionConfig = try c.decodeIfPresent(VisionConfig.self, forKey: .visionConfig) ?? VisionConfig()
        if let name = try? c.decode(String.self, forKey: .textConfig) {
            textConfig = try LLMRegistry.config(named: name, vocabSize: try c.decodeIfPresent(Int.self, forKey: .vocabSize))
        } else {
            textConfig = try c.decode(LLMConfig.self, forKey: .textConfig)
        }
        visualTokens = try c.decode(Int.self, forKey: .visualTokens)
        projectorType = try ProjectorKind.parse(try c.decode(String.self, forKey: .projectorType), tokens: visualTokens,
                                                grid: visionConfig.grid)
        imageTokenIndex = try c.decodeIfPresent(Int32.self, forKey: .imageTokenIndex) ?? 3
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(visionConfig, forKey: .visionConfig)
        try c.encode(textConfig, forKey: .textConfig)
        try c.encode(projectorType, forKey: .projectorType)
        try c.encode(visualTokens, forKey: .visualTokens)
        try c.encode(imageTokenIndex, forKey: .imageTokenIndex)
    }

    /// The projector between the two widths (validates the token count).
    public func projectorConfig() throws -> ProjectorConfig {
        try ProjectorConfig(kind: projectorType, tokens: visualTokens, visionWidth: visionConfig.hiddenSize,
                            llmWidth: textConfig.hiddenSize, grid: visionConfig.grid)
    }

    /// The config as compact JSON (stored in checkpoints).
    public func json() -> String { try! sortedJSON() }
}

/// Which parts train: stage 1 (feature alignment) trains the projector through the frozen LM; stage 2
/// (instruction tuning) trains projector and LM. The encoder is frozen in both.
public enum TrainingStage: String, Codable, Sendable, CaseIterable {
    case alignment, instruction
}

/// The three parts, for freezing and partial loading.
public enum VLMComponent: String, Sendable, CaseIterable {
    case visionEncoder, projector, languageModel

    /// Checkpoint name prefix inside the VLM (LLaVA's module paths).
    public var prefix: String {
        switch self {
        case .visionEncoder: "model.vision_tower.vision_tower."
        case .projector: "model.mm_projector."
        case .languageModel: ""
        }
    }
}

// MARK: - Inputs and outputs

/// One training or prompt sequence: token ids with at most one `<image>` placeholder, and which tokens are
/// supervised (true for answer tokens and their end-of-turn; the caller's template knows which those are).
public struct VLMExample: Sendable, Equatable {
    public var ids: [Int32]
    public var supervised: [Bool]

    public init(ids: [Int32], supervised: [Bool]) {
        precondition(ids.count == supervised.count, "VLMExample: \(ids.count) ids but \(supervised.count) supervision flags")
        self.ids = ids
        self.supervised = supervised
    }

    /// A prompt (nothing supervised).
    public init(prompt: [Int32]) { self.init(ids: prompt, supervised: Array(repeating: false, count: prompt.count)) }
}

/// What the projector reads: channels-last images `[B, H, W, C]` (run through the encoder), or encoder
/// features `[B, grid², Dv]` computed earlier (the encoder is frozen, so they can be cached per image).
/// Row b belongs to example b.
public enum VisualInput {
    case images(Tensor)
    case features(Tensor)
}

/// A batch's forward pass.
public struct VLMOutput {
    /// `[B, L, V]`, L = the longest expanded sequence (text + N visual tokens − the placeholder).
    public let logits: Tensor
    /// Mean next-token cross-entropy over supervised targets (0 if there are none).
    public let loss: Tensor
    /// `[B·L]` next-token targets: the token at t + 1 where it is supervised, else -100.
    public let targets: [Int32]
    /// Expanded length of each example (the rest of its row is right padding).
    public let lengths: [Int]
    public var supervisedCount: Int { targets.filter { $0 != -100 }.count }
}

// MARK: - Model

/// Vision encoder → projector → language model, with the N visual tokens spliced in at the placeholder.
///
/// Parameter names are LLaVA's state-dict names (`model.vision_tower.vision_tower.vision_model.…`,
/// `model.mm_projector.…`, `model.layers.…`, `lm_head.weight`); see `Sources/XexpModels/README.md`.
public final class VLM {
    public let config: VLMConfig
    public let visionEncoder: VisionEncoder
    public let projector: any VisionProjector
    public let languageModel: LanguageModel

    /// Builds and initialises every part. Each part draws from its own stream of `seed`, so changing the
    /// projector leaves the encoder's and LM's initial weights unchanged. Starts in ``TrainingStage/instruction``.
    public init(config: VLMConfig, seed: UInt64 = 0) throws {
        self.config = config
        var r0 = Philox(seed: seed), r1 = Philox(seed: seed &+ 0x9E37_79B9), r2 = Philox(seed: seed &+ 0x7F4A_7C15)
        visionEncoder = try VisionEncoder(config: config.visionConfig, rng: &r0)
        projector = makeProjector(try config.projectorConfig(), rng: &r1)
        languageModel = try LanguageModel(config: config.textConfig, rng: &r2)
        prepare(for: .instruction)
    }

    /// Every parameter under its checkpoint name: encoder, projector, language model.
    public var parameters: [NamedParameter] {
        VLMComponent.allCases.flatMap { parameters(of: $0) }
    }

    public func parameters(of component: VLMComponent) -> [NamedParameter] {
        weights(of: component).named(prefix: component.prefix)
    }

    /// Parameters that currently require gradients (what the optimiser should get).
    public var trainableParameters: [NamedParameter] { parameters.filter { $0.tensor.requiresGrad } }

    func weights(of component: VLMComponent) -> ParameterSet {
        switch component {
        case .visionEncoder: visionEncoder.weights
        case .projector: projector.weights
        case .languageModel: languageModel.weights
        }
    }

    /// Freezes or unfreezes each part (a frozen tensor gets no gradient and costs no weight-gradient GEMM;
    /// gradients still flow through a frozen LM to the projector).
    public func setTrainable(visionEncoder: Bool = false, projector: Bool, languageModel: Bool) {
        weights(of: .visionEncoder).setTrainable(visionEncoder)
        weights(of: .projector).setTrainable(projector)
        weights(of: .languageModel).setTrainable(languageModel)
    }

    /// Stage 1: projector only; stage 2: projector + LM. The encoder stays frozen.
    public func prepare(for stage: TrainingStage) {
        setTrainable(projector: true, languageModel: stage == .instruction)
    }

    // MARK: Forward

    /// Projected visual tokens `[B, N, Dl]`. The encoder runs without a tape unless it is trainable.
    public func visualTokens(_ input: VisualInput) -> Tensor {
        switch input {
        case .features(let f): return projector(f)
        case .images(let images):
            let trainable = visionEncoder.weights.parameters.contains { $0.tensor.requiresGrad }
            let f = trainable ? visionEncoder.features(images) : Autograd.noGrad { visionEncoder.features(images) }
            return projector(f)
        }
    }

    /// Expanded length of `ids` (the placeholder replaced by N tokens).
    public func expandedLength(_ ids: [Int32]) -> Int {
        let images = ids.filter { $0 == config.imageTokenIndex }.count
        precondition(images <= 1, "a sequence may hold at most one image placeholder (id \(config.imageTokenIndex)); found \(images)")
        return ids.count + images * (config.visualTokens - 1)
    }

    /// Right-padded input embeddings `[B, L, Dl]` with the visual tokens of row b spliced in at example b's
    /// placeholder, the `[B·L]` real-token flags and each example's expanded length.
    public func inputEmbeddings(_ examples: [VLMExample], visualTokens: Tensor?) -> (embeddings: Tensor, keyPadding: [Bool], lengths: [Int]) {
        precondition(!examples.isEmpty, "empty batch")
        let lengths = examples.map { expandedLength($0.ids) }
        let width = config.textConfig.hiddenSize
        let longest = lengths.max()!
        if let v = visualTokens {
            precondition(v.rank == 3 && v.shape[0] >= examples.count && v.shape[1] == config.visualTokens && v.shape[2] == width,
                         "visual tokens \(v.shape) do not fit \(examples.count) examples × \(config.visualTokens) tokens × \(width)")
        }
        var rows: [Tensor] = []
        for (b, example) in examples.enumerated() {
            var pieces: [Tensor] = []
            func text(_ ids: ArraySlice<Int32>) { if !ids.isEmpty { pieces.append(languageModel.embed(Array(ids), shape: [1, ids.count])) } }
            if let p = example.ids.firstIndex(of: config.imageTokenIndex) {
                guard let v = visualTokens else { preconditionFailure("example \(b) has an image placeholder but no visual input was given") }
                text(example.ids[..<p])
                pieces.append(v.shape[0] == 1 ? v : v.slice(axis: 0, b..<(b + 1)))
                text(example.ids[(p + 1)...])
            } else {
                text(example.ids[...])
            }
            if lengths[b] < longest { pieces.append(Tensor.zeros([1, longest - lengths[b], width])) }
            rows.append(pieces.count == 1 ? pieces[0] : concat(pieces, axis: 1))
        }
        var padding = [Bool](repeating: false, count: examples.count * longest)
        for (b, n) in lengths.enumerated() { for t in 0..<n { padding[b * longest + t] = true } }
        return (rows.count == 1 ? rows[0] : concat(rows, axis: 0), padding, lengths)
    }

    /// Next-token targets `[B·L]`: position t predicts the token at t + 1 if that token is supervised; visual
    /// positions, prompt tokens and padding are -100 (§1's label masking).
    public func targets(_ examples: [VLMExample], length: Int) -> [Int32] {
        var out = [Int32](repeating: -100, count: examples.count * length)
        for (b, example) in examples.enumerated() {
            var pos = 0
            for (i, id) in example.ids.enumerated() {
                if id == config.imageTokenIndex { pos += config.visualTokens; continue }
                if example.supervised[i] && pos > 0 { out[b * length + pos - 1] = id }
                pos += 1
            }
        }
        return out
    }

    /// Training forward: logits and the masked next-token loss of a right-padded batch.
    /// `visual` supplies one image (or feature map) per example; it may be nil for a text-only batch.
    public func forward(_ examples: [VLMExample], visual: VisualInput?) -> VLMOutput {
        let v = visual.map { visualTokens($0) }
        let (x, padding, lengths) = inputEmbeddings(examples, visualTokens: v)
        let logits = languageModel(x, keyPadding: padding)
        let t = targets(examples, length: x.shape[1])
        return VLMOutput(logits: logits, loss: crossEntropy(logits: logits, targets: t), targets: t, lengths: lengths)
    }

    // MARK: Checkpoints

    /// Saves every parameter (and optionally the optimiser and RNG) with the config as metadata.
    public func save(to path: String, optimizer: AdamW? = nil, rng: Philox.State? = nil, step: Int = 0) throws {
        try Checkpoint.save(to: path, parameters: parameters, optimizer: optimizer, rng: rng, step: step, config: config.json())
    }

    /// Builds the model a checkpoint's config describes and loads all its weights.
    public static func load(from path: String) throws -> (model: VLM, checkpoint: Checkpoint) {
        let checkpoint = try Checkpoint.load(from: path)
        let config: VLMConfig
        do { config = try JSONDecoder().decode(VLMConfig.self, from: Data(checkpoint.config.utf8)) } catch {
            throw ModelError.checkpoint("\(path): its config metadata is not a VLM config (\(error))")
        }
        let model = try VLM(config: config)
        try model.restore(checkpoint.parameters)
        return (model, checkpoint)
    }

    /// Copies weights into the chosen parts. A weight is looked up under its VLM name first and then under the
    /// part's own name (`vision_model.…` from an encoder pretraining run, `model.layers.…` from a text-only LM,
    /// `0.weight` from a bare projector), so checkpoints of each part load as saved. Shapes are checked.
    public func restore(_ weights: [String: Tensor], components: Set<VLMComponent> = Set(VLMComponent.allCases)) throws {
        for component in VLMComponent.allCases where components.contains(component) {
            for p in self.weights(of: component).parameters {
                let full = component.prefix + p.name
                guard let t = weights[full] ?? weights[p.name] ?? weights["mm_projector." + p.name] else {
                    throw ModelError.checkpoint("no weight \"\(full)\" for the \(component.rawValue)")
                }
                guard t.shape == p.tensor.shape else {
                    throw ModelError.checkpoint("\"\(full)\" has shape \(t.shape) in the checkpoint but \(p.tensor.shape) in the model")
                }
                p.tensor.data.update(from: t.data, count: t.count)
            }
        }
    }
}
