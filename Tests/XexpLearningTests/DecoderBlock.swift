import XexpLearning

/// A LLaMA decoder block assembled from the library's ops, as the model zoo will (test-only copy).
struct DecoderBlockWeights {
    static let names = ["attn_norm", "q_proj", "k_proj", "v_proj", "o_proj", "mlp_norm", "gate_proj", "up_proj", "down_proj"]
    var all: [Tensor]
    init(list: [Tensor]) { all = list }

    static func random(width w: Int, heads: Int, kvHeads: Int, intermediate i: Int, rng: inout Philox) -> Self {
        let dh = w / heads
        let shapes = [[w], [heads * dh, w], [kvHeads * dh, w], [kvHeads * dh, w], [w, heads * dh], [w], [i, w], [i, w], [w, i]]
        return Self(list: shapes.map { nonZero($0, &rng, scale: $0.count == 1 ? 1 : 0.3) })
    }

    func forward(_ x: Tensor, heads: Int, kvHeads: Int, keyPadding: [Bool]?) -> Tensor {
        let (attnNorm, q, k, v, o, mlpNorm, gate, up, down) = (all[0], all[1], all[2], all[3], all[4], all[5], all[6], all[7], all[8])
        let h = rmsNorm(x, weight: attnNorm, eps: 1e-5)
        let qs = rope(linear(h, weight: q), heads: heads)
        let ks = rope(linear(h, weight: k), heads: kvHeads)
        let vs = linear(h, weight: v)
        let a = attention(q: qs, k: ks, v: vs, heads: heads, kvHeads: kvHeads,
                          mask: AttentionMask(causal: true, keyPadding: keyPadding))
        let x1 = x + linear(a, weight: o)
        let h2 = rmsNorm(x1, weight: mlpNorm, eps: 1e-5)
        return x1 + linear(swiglu(gate: linear(h2, weight: gate), up: linear(h2, weight: up)), weight: down)
    }
}
