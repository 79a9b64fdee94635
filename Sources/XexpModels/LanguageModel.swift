import XexpLearning

// MARK: - Configuration

/// A LLaMA-style decoder (HF `LlamaConfig` keys): RMSNorm, RoPE, grouped-query attention, SwiGLU MLP, no
/// biases, untied input and output embeddings. Named sizes live in ``LLMRegistry``; any other size can be given
/// inline as JSON with these keys.
public struct LLMConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var rmsNormEps: Float = 1e-5
    public var ropeTheta: Float = 10000
    /// Std of the normal init of every matrix (HF `initializer_range`).
    public var initializerRange: Float = 0.02

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
        case initializerRange = "initializer_range"
    }

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                numKeyValueHeads: Int, rmsNormEps: Float = 1e-5, ropeTheta: Float = 10000, initializerRange: Float = 0.02) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.initializerRange = initializerRange
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let heads = try c.decode(Int.self, forKey: .numAttentionHeads)
        self.init(vocabSize: try c.decode(Int.self, forKey: .vocabSize), hiddenSize: try c.decode(Int.self, forKey: .hiddenSize),
                  intermediateSize: try c.decode(Int.self, forKey: .intermediateSize),
                  numHiddenLayers: try c.decode(Int.self, forKey: .numHiddenLayers), numAttentionHeads: heads,
                  numKeyValueHeads: try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? heads,
                  rmsNormEps: try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-5,
                  ropeTheta: try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10000,
                  initializerRange: try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? 0.02)
    }

    public var headDim: Int { hiddenSize / numAttentionHeads }
    /// Width of the key and value projections (`num_key_value_heads · head_dim`).
    public var kvWidth: Int { numKeyValueHeads * headDim }

    public func validate() throws {
        func bad(_ s: String) -> ModelError { .invalidConfig("language model: \(s)") }
        guard vocabSize > 0, hiddenSize > 0, intermediateSize > 0, numHiddenLayers >= 0, numAttentionHeads > 0, numKeyValueHeads > 0 else {
            throw bad("sizes must be positive")
        }
        guard hiddenSize % numAttentionHeads == 0, headDim % 2 == 0 else {
            throw bad("hidden_size \(hiddenSize) must split into num_attention_heads \(numAttentionHeads) heads of even size (RoPE)")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw bad("num_attention_heads \(numAttentionHeads) must be a multiple of num_key_value_heads \(numKeyValueHeads)")
        }
    }

    /// HF LLaMA checkpoint names and shapes.
    public var parameterSpecs: [ParameterSpec] {
        let (w, i, v, kv) = (hiddenSize, intermediateSize, vocabSize, kvWidth)
        let n = Initializer.normal(std: initializerRange)
        var s = [ParameterSpec("model.embed_tokens.weight", [v, w], n)]
        for l in 0..<numHiddenLayers {
            let p = "model.layers.\(l)."
            s += [
                ParameterSpec(p + "input_layernorm.weight", [w], .ones),
                ParameterSpec(p + "self_attn.q_proj.weight", [w, w], n), ParameterSpec(p + "self_attn.k_proj.weight", [kv, w], n),
                ParameterSpec(p + "self_attn.v_proj.weight", [kv, w], n), ParameterSpec(p + "self_attn.o_proj.weight", [w, w], n),
                ParameterSpec(p + "post_attention_layernorm.weight", [w], .ones),
                ParameterSpec(p + "mlp.gate_proj.weight", [i, w], n), ParameterSpec(p + "mlp.up_proj.weight", [i, w], n),
                ParameterSpec(p + "mlp.down_proj.weight", [w, i], n),
            ]
        }
        return s + [ParameterSpec("model.norm.weight", [w], .ones), ParameterSpec("lm_head.weight", [v, w], n)]
    }

    /// `2·V·W + L·(2W² + 2·W·kv + 3·W·I + 2W) + W` — computed from the specs, nothing allocated.
    public var parameterCount: Int { parameterSpecs.reduce(0) { $0 + $1.count } }
}

// MARK: - Model

/// The decoder. Inputs are embeddings (so the VLM can splice visual tokens in); ``embed(_:shape:)`` looks ids up.
public final class LanguageModel {
    public let config: LLMConfig
    public let weights: ParameterSet
    private let layers: [Layer]

    /// One block's tensors, looked up once.
    private struct Layer {
        let inputNorm, q, k, v, o, postNorm, gate, up, down: Tensor
        var all: [Tensor] { [inputNorm, q, k, v, o, postNorm, gate, up, down] }
    }

    public init(config: LLMConfig, rng: inout Philox) throws {
        try config.validate()
        self.config = config
        let w = ParameterSet(specs: config.parameterSpecs, rng: &rng)
        weights = w
        layers = (0..<config.numHiddenLayers).map { l in
            let p = "model.layers.\(l)."
            return Layer(inputNorm: w[p + "input_layernorm.weight"], q: w[p + "self_attn.q_proj.weight"], k: w[p + "self_attn.k_proj.weight"],
                         v: w[p + "self_attn.v_proj.weight"], o: w[p + "self_attn.o_proj.weight"],
                         postNorm: w[p + "post_attention_layernorm.weight"], gate: w[p + "mlp.gate_proj.weight"],
                         up: w[p + "mlp.up_proj.weight"], down: w[p + "mlp.down_proj.weight"])
        }
    }

    /// Token embeddings `shape + [W]` of row-major `ids`.
    public func embed(_ ids: [Int32], shape: [Int]) -> Tensor {
        embedding(ids, table: weights["model.embed_tokens.weight"], shape: shape)
    }

    /// One KV cache per layer for incremental decoding of `batch` sequences of up to `capacity` tokens.
    public func makeCache(batch: Int, capacity: Int) -> [KVCache] {
        (0..<config.numHiddenLayers).map { _ in KVCache(batch: batch, capacity: capacity, width: config.kvWidth) }
    }

    /// Final-normed hidden states `[B, T, W]` of input embeddings `[B, T, W]`.
    ///
    /// - `keyPadding`: `[B·T]` flags, false for padding (right padding keeps every real token's position).
    /// - `cache`: when given (inference only), the new tokens sit at positions `cache.length …` and their keys
    ///   and values are appended; attention reads everything cached so far.
    public func hiddenStates(_ x: Tensor, keyPadding: [Bool]? = nil, cache: [KVCache]? = nil) -> Tensor {
        let c = config
        precondition(x.rank == 3 && x.shape[2] == c.hiddenSize, "language model expects embeddings [B, T, \(c.hiddenSize)], got \(x.shape)")
        if let cache { precondition(cache.count == layers.count, "one KV cache per layer (\(layers.count)), got \(cache.count)") }
        let t = x.shape[1]
        let offset = cache?.first?.length ?? 0
        // Training without a cache may keep only each block's input and recompute the rest in backward: same bits,
        // a fraction of the memory (ActivationMemory).
        let recompute = cache == nil && Autograd.isEnabled && ActivationMemory.recomputesBlocks(batch: x.shape[0], length: t, config: c)
        var h = x
        for (l, layer) in layers.enumerated() {
            if recompute {
                h = Autograd.recomputing(h, parameters: layer.all) { [self] in block($0, layer, keyPadding: keyPadding, cache: nil, offset: 0) }
            } else {
                h = block(h, layer, keyPadding: keyPadding, cache: cache?[l], offset: offset)
            }
        }
        return rmsNorm(h, weight: weights["model.norm.weight"], eps: c.rmsNormEps)
    }

    /// One decoder block: pre-norm attention and SwiGLU MLP, each added to the residual stream.
    private func block(_ h: Tensor, _ layer: Layer, keyPadding: [Bool]?, cache kv: KVCache?, offset: Int) -> Tensor {
        let c = config
        let t = h.shape[1]
        let n = rmsNorm(h, weight: layer.inputNorm, eps: c.rmsNormEps)
        let q = rope(linear(n, weight: layer.q), heads: c.numAttentionHeads, positionOffset: offset, base: c.ropeTheta)
        let k = rope(linear(n, weight: layer.k), heads: c.numKeyValueHeads, positionOffset: offset, base: c.ropeTheta)
        let v = linear(n, weight: layer.v)
        let a: Tensor
        if let kv {
            kv.append(keys: k, values: v)
            a = attention(q: q, k: kv.keys, v: kv.values, heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads,
                          mask: AttentionMask(causal: true, keyPadding: keyPadding, queryOffset: kv.length - t), keyLength: kv.length)
        } else {
            a = attention(q: q, k: k, v: v, heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads,
                          mask: AttentionMask(causal: true, keyPadding: keyPadding))
        }
        let h = h + linear(a, weight: layer.o)
        let m = rmsNorm(h, weight: layer.postNorm, eps: c.rmsNormEps)
        return h + linear(swiglu(gate: linear(m, weight: layer.gate), up: linear(m, weight: layer.up)), weight: layer.down)
    }

    /// Vocabulary logits `[…, V]` of hidden states `[…, W]` (`lm_head`, untied).
    public func logits(_ hidden: Tensor) -> Tensor {
        linear(hidden, weight: weights["lm_head.weight"])
    }

    /// Logits `[B, T, V]` of input embeddings (see ``hiddenStates(_:keyPadding:cache:)``).
    public func callAsFunction(_ x: Tensor, keyPadding: [Bool]? = nil, cache: [KVCache]? = nil) -> Tensor {
        logits(hiddenStates(x, keyPadding: keyPadding, cache: cache))
    }
}
