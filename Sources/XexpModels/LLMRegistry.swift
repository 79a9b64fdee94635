/// Named language-model sizes, scaled the way the paper's LLM axis is (its Table 9: Xmodel-LM 1.1B,
/// Phi-3-mini 3.8B, LLaMA-3 8B), plus the full-size shapes for reference counts.
///
/// The `mini-*` models keep each namesake's shape at CPU scale: head dim 16 throughout, the namesake's
/// query:key/value head ratio (8:1, 1:1, 4:1), its intermediate/width ratio (2.75, 8/3, 3.5), its RoPE base,
/// and widths 128 : 192 : 256 with 4 : 5 : 5 layers (the paper's 2048 : 3072 : 4096 and 24 : 32 : 32).
/// `mini-xmodel-lm` is FEASIBILITY.md's proxy (width 128, 4 layers, 8 heads, 1 KV head, SwiGLU 352).
/// The vocabulary is the caller's tokenizer's; the registry's default (256) only fixes printed counts.
public enum LLMRegistry {
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
        public let config: LLMConfig
    }

    public static let defaultVocabSize = 256

    public static let entries: [Entry] = [
        Entry(name: "mini-xmodel-lm", summary: "Xmodel-LM 1.1B shape at width 128 (8:1 GQA, SwiGLU 2.75×)",
              config: LLMConfig(vocabSize: defaultVocabSize, hiddenSize: 128, intermediateSize: 352, numHiddenLayers: 4,
                                numAttentionHeads: 8, numKeyValueHeads: 1)),
        Entry(name: "mini-phi3", summary: "Phi-3-mini shape at width 192 (multi-head, SwiGLU 8/3×)",
              config: LLMConfig(vocabSize: defaultVocabSize, hiddenSize: 192, intermediateSize: 512, numHiddenLayers: 5,
                                numAttentionHeads: 12, numKeyValueHeads: 12)),
        Entry(name: "mini-llama3", summary: "LLaMA-3 8B shape at width 256 (4:1 GQA, SwiGLU 3.5×, RoPE 500000)",
              config: LLMConfig(vocabSize: defaultVocabSize, hiddenSize: 256, intermediateSize: 896, numHiddenLayers: 5,
                                numAttentionHeads: 16, numKeyValueHeads: 4, ropeTheta: 500_000)),
        Entry(name: "xmodel-lm-1.1b", summary: "Xmodel-LM 1.1B as in the paper (reference counts; too large to train here)",
              config: LLMConfig(vocabSize: 32000, hiddenSize: 2048, intermediateSize: 5632, numHiddenLayers: 24,
                                numAttentionHeads: 32, numKeyValueHeads: 4)),
        Entry(name: "phi-3-mini", summary: "Phi-3-mini 3.8B, LLaMA-style naming (reference counts)",
              config: LLMConfig(vocabSize: 32064, hiddenSize: 3072, intermediateSize: 8192, numHiddenLayers: 32,
                                numAttentionHeads: 32, numKeyValueHeads: 32)),
        Entry(name: "llama-3-8b", summary: "LLaMA-3 8B (reference counts)",
              config: LLMConfig(vocabSize: 128_256, hiddenSize: 4096, intermediateSize: 14336, numHiddenLayers: 32,
                                numAttentionHeads: 32, numKeyValueHeads: 8, ropeTheta: 500_000)),
    ]

    public static var names: [String] { entries.map(\.name) }

    /// The named configuration, with the vocabulary replaced when `vocabSize` is given.
    public static func config(named name: String, vocabSize: Int? = nil) throws -> LLMConfig {
        guard let entry = entries.first(where: { $0.name == name.lowercased() }) else {
            throw ModelError.unknownModel(name, known: names)
        }
        var c = entry.config
        if let vocabSize { c.vocabSize = vocabSize }
        return c
    }
}
