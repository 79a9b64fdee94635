import XexpLearning

/// Size of the benchmark's decoder-only transformer (the proxy LLaMA of the issue: widths 128/256, 4 layers).
/// Field names are the HF LLaMA config keys so the checkpoint's `config` metadata reads naturally in Python.
struct BenchConfig: Codable {
    var vocab_size = 1024
    var hidden_size = 128
    var num_hidden_layers = 4
    var num_attention_heads = 4
    var num_key_value_heads = 2
    var intermediate_size = 352
    var rms_norm_eps: Float = 1e-5
    var rope_theta: Float = 10000

    /// Head dim 32, half as many kv heads as query heads, SwiGLU width ≈ 8/3·W rounded up to 32.
    static func proxy(width: Int) -> BenchConfig {
        var c = BenchConfig()
        c.hidden_size = width
        c.num_attention_heads = width / 32
        c.num_key_value_heads = max(1, width / 64)
        c.intermediate_size = (width * 8 / 3 + 31) / 32 * 32
        return c
    }
}

/// A LLaMA decoder built from XexpLearning ops, parameters named as in HF checkpoints.
final class BenchDecoder {
    let config: BenchConfig
    private(set) var parameters: [NamedParameter] = []
    private var byName: [String: Tensor] = [:]

    init(config: BenchConfig, rng: inout Philox) {
        self.config = config
        let (w, i, v) = (config.hidden_size, config.intermediate_size, config.vocab_size)
        let dh = w / config.num_attention_heads
        func add(_ name: String, _ shape: [Int], norm: Bool = false) {
            let t = norm ? Tensor.filled(shape, value: 1, requiresGrad: true) : Tensor.randn(shape, std: 0.02, rng: &rng, requiresGrad: true)
            parameters.append(NamedParameter(name, t))
            byName[name] = t
        }
        add("model.embed_tokens.weight", [v, w])
        for l in 0..<config.num_hidden_layers {
            let p = "model.layers.\(l)."
            add(p + "input_layernorm.weight", [w], norm: true)
            add(p + "self_attn.q_proj.weight", [config.num_attention_heads * dh, w])
            add(p + "self_attn.k_proj.weight", [config.num_key_value_heads * dh, w])
            add(p + "self_attn.v_proj.weight", [config.num_key_value_heads * dh, w])
            add(p + "self_attn.o_proj.weight", [w, config.num_attention_heads * dh])
            add(p + "post_attention_layernorm.weight", [w], norm: true)
            add(p + "mlp.gate_proj.weight", [i, w])
            add(p + "mlp.up_proj.weight", [i, w])
            add(p + "mlp.down_proj.weight", [w, i])
        }
        add("model.norm.weight", [w], norm: true)
        add("lm_head.weight", [v, w])
    }

    private func p(_ name: String) -> Tensor { byName[name]! }

    /// Mean next-token cross-entropy of `targets` given `ids` (both `batch × seq`, row-major).
    func loss(ids: [Int32], targets: [Int32], batch: Int, seq: Int) -> Tensor {
        let c = config
        var x = embedding(ids, table: p("model.embed_tokens.weight"), shape: [batch, seq])
        for l in 0..<c.num_hidden_layers {
            let pre = "model.layers.\(l)."
            let h = rmsNorm(x, weight: p(pre + "input_layernorm.weight"), eps: c.rms_norm_eps)
            let q = rope(linear(h, weight: p(pre + "self_attn.q_proj.weight")), heads: c.num_attention_heads, base: c.rope_theta)
            let k = rope(linear(h, weight: p(pre + "self_attn.k_proj.weight")), heads: c.num_key_value_heads, base: c.rope_theta)
            let v = linear(h, weight: p(pre + "self_attn.v_proj.weight"))
            let a = attention(q: q, k: k, v: v, heads: c.num_attention_heads, kvHeads: c.num_key_value_heads, mask: .causal)
            x = x + linear(a, weight: p(pre + "self_attn.o_proj.weight"))
            let h2 = rmsNorm(x, weight: p(pre + "post_attention_layernorm.weight"), eps: c.rms_norm_eps)
            let m = swiglu(gate: linear(h2, weight: p(pre + "mlp.gate_proj.weight")), up: linear(h2, weight: p(pre + "mlp.up_proj.weight")))
            x = x + linear(m, weight: p(pre + "mlp.down_proj.weight"))
        }
        let logits = linear(rmsNorm(x, weight: p("model.norm.weight"), eps: c.rms_norm_eps), weight: p("lm_head.weight"))
        return crossEntropy(logits: logits, targets: targets)
    }

    /// AdamW as nanoGPT sets it up: weight decay only on matrices (≥ 2-D), none on norms.
    func makeOptimizer(learningRate: Double = 1e-3, weightDecay: Double = 0.01) -> AdamW {
        AdamW(groups: [
            ParameterGroup(parameters.filter { $0.tensor.rank >= 2 }, learningRate: learningRate, weightDecay: weightDecay),
            ParameterGroup(parameters.filter { $0.tensor.rank < 2 }, learningRate: learningRate, weightDecay: 0),
        ])
    }
}

/// Random tokens for a step: inputs and next-token targets.
func randomBatch(vocab: Int, batch: Int, seq: Int, rng: inout Philox) -> (ids: [Int32], targets: [Int32]) {
    let stream = (0..<(batch * (seq + 1))).map { _ in Int32(rng.nextInt(below: vocab)) }
    var ids: [Int32] = [], targets: [Int32] = []
    for b in 0..<batch {
        let row = stream[(b * (seq + 1))..<((b + 1) * (seq + 1))]
        ids += row.dropLast()
        targets += row.dropFirst()
    }
    return (ids, targets)
}
