import Foundation
import XexpLearning

/// What `xexp model` prints: layers, output tokens and parameter counts of a projector or language model,
/// computed from layouts (nothing is allocated, so paper-sized models can be described too).
public struct ModelReport: Codable, Sendable, Equatable {
    public struct Layer: Codable, Sendable, Equatable {
        public var layer: String
        public var parameters: Int
    }

    public var projector: String?
    public var tokens: Int?
    public var inputTokens: Int?
    public var visionWidth: Int?
    public var llmWidth: Int?
    public var referenceType: String?
    public var llm: String?
    public var config: LLMConfig?
    public var parameters: Int
    public var layers: [Layer]

    enum CodingKeys: String, CodingKey {
        case projector, tokens, inputTokens = "input_tokens", visionWidth = "vision_width", llmWidth = "llm_width"
        case referenceType = "reference_type", llm, config, parameters, layers
    }

    /// A projector's report (throws ``ModelError`` for an invalid combination).
    public static func projector(_ name: String, tokens: Int, visionWidth: Int, llmWidth: Int, grid: Int = 24) throws -> ModelReport {
        let c = try ProjectorConfig(kind: try ProjectorKind.parse(name, tokens: tokens, grid: grid), tokens: tokens, visionWidth: visionWidth, llmWidth: llmWidth, grid: grid)
        return ModelReport(projector: c.kind.rawValue, tokens: c.tokens, inputTokens: c.inputTokens, visionWidth: visionWidth,
                           llmWidth: llmWidth, referenceType: c.referenceType, llm: nil, config: nil, parameters: c.parameterCount,
                           layers: c.layout.layers.map { Layer(layer: $0.description, parameters: $0.parameters) })
    }

    /// A language model's report: `name` is a registry name or an inline JSON ``LLMConfig``.
    public static func llm(_ name: String, vocabSize: Int? = nil) throws -> ModelReport {
        let (label, c) = try resolveLLM(name, vocabSize: vocabSize)
        let (w, i, kv, l) = (c.hiddenSize, c.intermediateSize, c.kvWidth, c.numHiddenLayers)
        let block = 2 * w * w + 2 * w * kv + 3 * w * i + 2 * w
        let layers = [
            Layer(layer: "Embedding(\(c.vocabSize), \(w))", parameters: c.vocabSize * w),
            Layer(layer: "\(l) × decoder block: RMSNorm → attention (\(c.numAttentionHeads) query / \(c.numKeyValueHeads) key-value heads of \(c.headDim), RoPE θ \(Int(c.ropeTheta))) → RMSNorm → SwiGLU(\(w)→\(i)→\(w))",
                  parameters: l * block),
            Layer(layer: "RMSNorm(\(w))", parameters: w),
            Layer(layer: "lm_head Linear(\(w)→\(c.vocabSize)), untied", parameters: c.vocabSize * w),
        ]
        return ModelReport(projector: nil, tokens: nil, inputTokens: nil, visionWidth: nil, llmWidth: nil, referenceType: nil,
                           llm: label, config: c, parameters: c.parameterCount, layers: layers)
    }

    /// A registry name, or `{...}` JSON with ``LLMConfig``'s keys.
    public static func resolveLLM(_ name: String, vocabSize: Int? = nil) throws -> (name: String, config: LLMConfig) {
        guard name.trimmingCharacters(in: .whitespaces).hasPrefix("{") else {
            return (name.lowercased(), try LLMRegistry.config(named: name, vocabSize: vocabSize))
        }
        var c: LLMConfig
        do { c = try JSONDecoder().decode(LLMConfig.self, from: Data(name.utf8)) } catch {
            throw ModelError.invalidConfig("inline language-model config is not valid JSON with vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads (\(error))")
        }
        if let vocabSize { c.vocabSize = vocabSize }
        try c.validate()
        return ("custom", c)
    }

    /// Human-readable text.
    public var text: String {
        var out = ""
        if let projector, let tokens, let inputTokens, let visionWidth, let llmWidth {
            out += "projector \(projector): \(inputTokens) × \(visionWidth) → \(tokens) × \(llmWidth)"
            out += referenceType.map { " (reference mm_projector_type \"\($0)\")" } ?? " (xexp generalisation; see Sources/XexpModels/README.md)"
            out += "\n"
        }
        if let llm, let config {
            out += "language model \(llm): width \(config.hiddenSize), \(config.numHiddenLayers) layers, vocabulary \(config.vocabSize)\n"
        }
        let width = max(10, String(parameters.formatted()).count)
        for l in layers {
            let n = l.parameters == 0 ? "" : l.parameters.formatted()
            out += "  " + String(repeating: " ", count: max(0, width - n.count)) + n + "  " + l.layer + "\n"
        }
        if let tokens { out += "output tokens: \(tokens)\n" }
        out += "parameters: \(parameters.formatted()) (\(parameters))\n"
        return out
    }

    /// One-line JSON (sorted keys).
    public var json: String { try! sortedJSON() }
}

extension Int {
    /// Thousands separated with commas, locale-independent (`18,936,832`).
    func formatted() -> String {
        let digits = String(abs(self))
        var groups: [String] = []
        var end = digits.endIndex
        while end > digits.startIndex {
            let start = digits.index(end, offsetBy: -3, limitedBy: digits.startIndex) ?? digits.startIndex
            groups.insert(String(digits[start..<end]), at: 0)
            end = start
        }
        return (self < 0 ? "-" : "") + groups.joined(separator: ",")
    }
}

// MARK: - Timing

/// Forward-pass timings for the report's table (a bench mode of `xexp model --time`, not a test).
public enum ModelTiming {
    /// Wall times in milliseconds over several runs: the median, and the minimum (the better estimate of the
    /// work itself when other processes share the cores).
    public struct Measurement: Sendable, Equatable {
        public var median: Double
        public var minimum: Double
    }

    /// Times `body` over `repeats` runs after one warm-up run.
    public static func measure(repeats: Int, _ body: () -> Void) -> Measurement {
        body()
        var times: [Double] = []
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        return Measurement(median: times[times.count / 2], minimum: times[0])
    }

    /// Projector forward (no tape) on random `[batch, grid², Dv]` features.
    public static func projector(_ config: ProjectorConfig, batch: Int, repeats: Int = 5) -> Measurement {
        var rng = Philox(seed: 1)
        let p = makeProjector(config, rng: &rng)
        let x = Tensor.randn([batch, config.inputTokens, config.visionWidth], rng: &rng)
        return measure(repeats: repeats) { _ = Autograd.noGrad { p(x) } }
    }

    /// Full VLM prefill (encoder + projector + LM over `promptTokens` text tokens plus the N visual tokens, no
    /// tape) for `batch` images: the first step of generation.
    public static func prefill(_ config: VLMConfig, batch: Int, promptTokens: Int, repeats: Int = 5) throws -> Measurement {
        let vlm = try VLM(config: config, seed: 1)
        var rng = Philox(seed: 2)
        let v = config.visionConfig
        let images = Tensor.randn([batch, v.imageSize, v.imageSize, v.numChannels], rng: &rng)
        let vocab = config.textConfig.vocabSize
        let ids: [Int32] = [1, config.imageTokenIndex] + (0..<max(0, promptTokens - 2)).map { Int32(5 + $0 % max(1, vocab - 5)) }
        let examples = Array(repeating: VLMExample(prompt: ids), count: batch)
        return measure(repeats: repeats) { _ = vlm.lastTokenLogits(examples, visual: .images(images)) }
    }
}
