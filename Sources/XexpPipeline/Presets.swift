import Foundation
import XexpModels
import XexpOrchestration

/// A preset: how much data and how many steps each stage gets. `smoke` checks the plumbing (CI), `small` is the
/// README's default (a whole tokens sweep in ≤ 20 minutes on 2 cores, real learning visible), `paper` is the
/// full-size reproduction (tokens.json in ≤ 3 hours).
///
/// Recipe shape follows REFERENCE §3 scaled to the proxy: stage 1 trains the projector at lr 1e-3, stage 2 the
/// projector and LM at a lower lr, AdamW (0.9, 0.999, 1e-8), weight decay 0, cosine with 3 % warm-up, one pass
/// each (epochs are parameters). The proxy LM learns from scratch-ish weights, so stage 2's lr is 4e-4 rather
/// than 4e-5 (FEASIBILITY.md).
public struct Preset: Sendable, Equatable {
    public var name: String
    /// Vision pretraining: steps × batch of scenes, per-patch classification of the cell's shape/colour/digit.
    public var visionSteps: Int, visionBatch: Int, visionLR: Double
    /// LM pretraining on the text corpus.
    public var lmSteps: Int, lmBatch: Int, lmLR: Double
    /// Stage 1 (captions) and stage 2 (multi-turn instructions) data sizes in images.
    public var captionImages: Int, alignBatch: Int, alignLR: Double
    public var instructImages: Int, finetuneBatch: Int, finetuneLR: Double
    /// Questions per benchmark (MME: images, two questions each; MMBench: questions, each under every rotation).
    public var evalSize: Int
    /// Latency: questions timed after warm-up.
    public var latencyQuestions: Int, latencyWarmup: Int
    /// Seconds between training checkpoints.
    public var checkpointSeconds: Double
    /// LM pretraining adds this times the mean loss over answer tokens (with their `<eot>`) to the plain
    /// language-modelling loss: answers are ~6 % of corpus tokens. On a one-family corpus a weight of 3 speeds up
    /// learning markedly; on the full corpus alone it adds only ~0.04 context accuracy (`Benchmarks/lm_corpus_results.md`).
    public var lmAnswerWeight: Double = 0
    /// The LM corpus mix (`lm_focus`, `lm_focus_share`): that share of the corpus turns is asked from these question
    /// families (comma-separated, or `none`). The matching skills (is X there? is the count N? which option is
    /// present?) form only after tens of thousands of weighted answers each, which the natural mix of 23 families
    /// never supplies.
    public var lmFocus: String = "none"
    public var lmFocusShare: Double = 0.5

    /// The question families whose answers need a comparison rather than a copy: `paper`'s LM focus.
    public static let matchingFamilies = "existsObject,existsColour,existsShape,countCheck,positionCheck,readingCheck,whichPresent"

    public static let smoke = Preset(name: "smoke", visionSteps: 8, visionBatch: 8, visionLR: 1e-3, lmSteps: 10, lmBatch: 8, lmLR: 1e-3,
                                     captionImages: 32, alignBatch: 8, alignLR: 1e-3, instructImages: 32, finetuneBatch: 8, finetuneLR: 4e-4,
                                     evalSize: 12, latencyQuestions: 3, latencyWarmup: 1, checkpointSeconds: 60)
    /// A whole tokens sweep in ≤ 20 minutes on 2 cores (17 min 44 s measured from an empty store): the pretrained
    /// parts are shared (the encoder trains while the LM does, on the other core), and the trials split the rest.
    /// Vision gets 600 steps because at 200 its patch accuracy was mostly the background class (colour 0.80 → 0.998
    /// at 600), and an encoder that does not separate objects leaves nothing to ground on. Stage 2 runs at a higher
    /// lr than the paper's to learn in few steps.
    public static let small = Preset(name: "small", visionSteps: 600, visionBatch: 16, visionLR: 1e-3, lmSteps: 1000, lmBatch: 16, lmLR: 1e-3,
                                     captionImages: 1920, alignBatch: 16, alignLR: 1e-3, instructImages: 3000, finetuneBatch: 16, finetuneLR: 1e-3,
                                     evalSize: 100, latencyQuestions: 20, latencyWarmup: 3, checkpointSeconds: 120)
    /// FEASIBILITY.md's budget at which a proxy grounded (~48k stage-2 image passes of one question; here 24k
    /// multi-turn passes of 4–8 questions), at its stage-2 lr and batch. Its LM learns the matching skills from a
    /// focused corpus: answer weight 3, half of the turns from the matching families, over 4000 steps so the
    /// natural half still gets as many turns as a 2000-step plain corpus. With the plain 2000-step LM, POPE, MME,
    /// MMBench and SQA sat at chance; with this one every benchmark was above chance at 144 tokens
    /// (`Benchmarks/lm_corpus_results.md`, `Experiments/lm-corpus-paper.json`).
    public static let paper = Preset(name: "paper", visionSteps: 1200, visionBatch: 32, visionLR: 1e-3, lmSteps: 4000, lmBatch: 32, lmLR: 1e-3,
                                     captionImages: 12000, alignBatch: 32, alignLR: 1e-3, instructImages: 24000, finetuneBatch: 32, finetuneLR: 4e-4,
                                     evalSize: 400, latencyQuestions: 50, latencyWarmup: 5, checkpointSeconds: 180,
                                     lmAnswerWeight: 3, lmFocus: matchingFamilies, lmFocusShare: 0.5)

    public static let all = [smoke, small, paper]
    public static var names: [String] { all.map(\.name) }
    public static func named(_ name: String) -> Preset? { all.first { $0.name == name } }
}

/// Training hyperparameters a spec may set; `"auto"` (the default) takes the preset's value.
public enum Hyperparameters {
    public static let names = ["vision_steps", "vision_batch", "vision_lr", "lm_steps", "lm_batch", "lm_lr", "lm_answer_weight", "lm_focus_share", "align_lr", "align_batch", "align_epochs",
                               "finetune_lr", "finetune_batch", "finetune_epochs", "warmup_ratio", "weight_decay"]

    static func check(_ name: String, _ value: ParameterValue?) -> String? {
        guard let value else { return nil }
        if case .string("auto") = value { return nil }
        guard case .number(let d, _) = value else { return "\(name) must be a number or \"auto\" (the preset's value), found \(value)" }
        switch name {
        case "vision_steps", "vision_batch", "lm_steps", "lm_batch", "align_batch", "finetune_batch":
            return d == d.rounded() && d >= 1 && d < 9_007_199_254_740_992 ? nil : "\(name) must be a positive integer, found \(value)"
        case "align_epochs", "finetune_epochs":
            return d > 0 ? nil : "\(name) must be positive, found \(value)"
        case "warmup_ratio":
            return d >= 0 && d < 1 ? nil : "warmup_ratio must be in [0, 1), found \(value)"
        case "lm_focus_share":
            return d > 0 && d < 1 ? nil : "lm_focus_share must be a number in (0, 1) (the share of corpus turns asked from lm_focus), found \(value)"
        case "weight_decay", "lm_answer_weight":
            return d >= 0 ? nil : "\(name) must be ≥ 0, found \(value)"
        default:
            return d > 0 && d < 1 ? nil : "\(name) must be a learning rate in (0, 1), found \(value)"
        }
    }
}

/// Named vision encoders. `vit-tiny` is FEASIBILITY.md's proxy (48 px, 2-px patches → 24×24 = 576 tokens,
/// width 64, 3 blocks); `vit-small` doubles the width.
public enum EncoderRegistry {
    public static let entries: [(name: String, config: VisionConfig)] = [
        ("vit-tiny", VisionConfig(imageSize: 48, patchSize: 2, hiddenSize: 64, intermediateSize: 256, numHiddenLayers: 3, numAttentionHeads: 4)),
        ("vit-small", VisionConfig(imageSize: 48, patchSize: 2, hiddenSize: 128, intermediateSize: 512, numHiddenLayers: 4, numAttentionHeads: 4)),
    ]
    public static var names: [String] { entries.map(\.name) }
    public static func config(named name: String) -> VisionConfig? { entries.first { $0.name == name }?.config }
}

/// `llm`: a registry name, or an inline config `width=…,layers=…,heads=…,kv_heads=…,intermediate=…` (all five
/// keys; `rope_theta=` optional).
public enum LanguageModelChoice {
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    public static func parse(_ text: String, vocabSize: Int = LLMRegistry.defaultVocabSize) throws -> LLMConfig {
        if !text.contains("=") { return try LLMRegistry.config(named: text, vocabSize: vocabSize) }
        var fields: [String: Double] = [:]
        for pair in text.split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let v = Double(kv[1]) else { throw Failure(description: "cannot read \"\(pair)\" in llm \"\(text)\"") }
            fields[kv[0]] = v
        }
        let required = ["width", "layers", "heads", "kv_heads", "intermediate"]
        for key in required where fields[key] == nil { throw Failure(description: "inline llm \"\(text)\" lacks \(key)=") }
        for key in fields.keys where !(required + ["rope_theta"]).contains(key) { throw Failure(description: "inline llm \"\(text)\": unknown key \(key)") }
        // Int(exactly:), not Int(_:): "width=1e20" or "width=nan" must be an error, not a trap.
        func integer(_ key: String) throws -> Int {
            guard let n = Int(exactly: fields[key]!) else { throw Failure(description: "inline llm \"\(text)\": \(key) must be an integer") }
            return n
        }
        var config = LLMConfig(vocabSize: vocabSize, hiddenSize: try integer("width"), intermediateSize: try integer("intermediate"),
                               numHiddenLayers: try integer("layers"), numAttentionHeads: try integer("heads"),
                               numKeyValueHeads: try integer("kv_heads"))
        if let theta = fields["rope_theta"] { config.ropeTheta = Float(theta) }
        try config.validate()
        return config
    }
}

/// A stage's resolved settings: the spec's parameters with `"auto"` replaced by the preset's values.
public struct StageSettings: Sendable {
    public var raw: [String: String]
    public var preset: Preset

    public init(_ raw: [String: String]) throws {
        self.raw = raw
        guard let preset = Preset.named(raw["preset"] ?? "small") else { throw StageFailure("unknown preset \(raw["preset"] ?? "")") }
        self.preset = preset
        // A worker run by hand gets its seeds from `--set`, past the spec's validation: "-1" trapped in UInt64(_:),
        // and "0.5" or "1e20" silently became 0.
        if let text = raw["backbone_seed"], text != "shared", UInt64(text) == nil {
            throw StageFailure("backbone_seed=\(text) is not \"shared\" or a non-negative integer")
        }
        for name in ["seed", "data_seed"] {
            if let text = raw[name], UInt64(text) == nil {
                throw StageFailure("\(name)=\(text) is not a non-negative integer (the built-in pipeline's seeds are 0, 1, 2, …)")
            }
        }
    }

    public func string(_ name: String) throws -> String {
        guard let v = raw[name] else { throw StageFailure("missing --set \(name)=…") }
        return v
    }

    /// A worker run by hand gets its values from `--set`, past the spec's validation: a hyperparameter is checked
    /// here by the same rule (`Hyperparameters.check`), so `lm_batch=0` fails with the spec's message, not a crash.
    public func int(_ name: String, auto: Int) throws -> Int {
        let d = try double(name, auto: Double(auto))
        guard let n = Int(exactly: d) else { throw StageFailure("\(name)=\(d) is not an integer") }
        return n
    }

    public func double(_ name: String, auto: Double) throws -> Double {
        let v = try string(name)
        if v == "auto" { return auto }
        guard let d = Double(v) else { throw StageFailure("\(name)=\(v) is not a number") }
        if Hyperparameters.names.contains(name), let problem = Hyperparameters.check(name, .number(d)) { throw StageFailure(problem) }
        return d
    }

    /// Checked when the settings are made; 0 when absent.
    public var seed: UInt64 { raw["seed"].flatMap { UInt64($0) } ?? 0 }
    /// What `backbone_seed` adds to the backbones' initialisation seeds: 0 when it is absent or `shared` (the
    /// shipped backbones' bits), else a distinct offset per seed.
    public var backboneSeedOffset: UInt64 {
        guard let text = raw["backbone_seed"], let n = UInt64(text) else { return 0 }
        return (n &+ 1) &* 0x9E37_79B9_7F4A_7C15
    }
    public var dataSeed: UInt64 { raw["data_seed"].flatMap { UInt64($0) } ?? 0 }
}

/// An error inside a worker stage; printed to stderr, the job fails with it.
public struct StageFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
