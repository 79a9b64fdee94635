import XexpLearning

// MARK: - Configuration

/// A small CLIP-style ViT. HF `CLIPVisionConfig` keys; defaults are the proxy of FEASIBILITY.md
/// (48 × 48 images, 2 × 2 patches → a 24 × 24 grid of 576 tokens, width 64, 3 blocks, 4 heads).
public struct VisionConfig: Codable, Sendable, Equatable {
    public var imageSize = 48
    public var patchSize = 2
    public var numChannels = 3
    public var hiddenSize = 64
    public var intermediateSize = 256
    public var numHiddenLayers = 3
    public var numAttentionHeads = 4
    public var layerNormEps: Float = 1e-5
    /// `quick_gelu` (CLIP's `x·σ(1.702x)`) or `gelu` (exact).
    public var hiddenAct = "quick_gelu"
    /// Which hidden state the projector reads, Python-style: -2 = the second-to-last block's output
    /// (LLaVA's `mm_vision_select_layer`), 0 = the embeddings after the pre-norm.
    public var selectLayer = -2

    enum CodingKeys: String, CodingKey {
        case imageSize = "image_size", patchSize = "patch_size", numChannels = "num_channels", hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", layerNormEps = "layer_norm_eps", hiddenAct = "hidden_act"
        case selectLayer = "mm_vision_select_layer"
    }

    public init(imageSize: Int = 48, patchSize: Int = 2, numChannels: Int = 3, hiddenSize: Int = 64, intermediateSize: Int = 256,
                numHiddenLayers: Int = 3, numAttentionHeads: Int = 4, hiddenAct: String = "quick_gelu", selectLayer: Int = -2) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.numChannels = numChannels
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.hiddenAct = hiddenAct
        self.selectLayer = selectLayer
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = VisionConfig()
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? d.numChannels
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        selectLayer = try c.decodeIfPresent(Int.self, forKey: .selectLayer) ?? d.selectLayer
    }

    /// Side of the patch grid (24 for the defaults).
    public var grid: Int { imageSize / patchSize }
    /// Patch tokens per image (grid²).
    public var tokens: Int { grid * grid }
    /// Hidden-state index the features come from (0 = embeddings, L = last block).
    public var featureLayer: Int { selectLayer < 0 ? numHiddenLayers + 1 + selectLayer : selectLayer }

    public func validate() throws {
        func bad(_ s: String) -> ModelError { .invalidConfig("vision encoder: \(s)") }
        guard imageSize > 0, patchSize > 0, imageSize % patchSize == 0 else { throw bad("patch_size \(patchSize) must tile image_size \(imageSize)") }
        guard hiddenSize > 0, numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw bad("hidden_size \(hiddenSize) must be divisible by num_attention_heads \(numAttentionHeads)")
        }
        guard numChannels > 0, intermediateSize > 0, numHiddenLayers >= 0 else { throw bad("sizes must be positive") }
        guard (0...numHiddenLayers).contains(featureLayer) else {
            throw bad("mm_vision_select_layer \(selectLayer) is outside -\(numHiddenLayers + 1)…\(numHiddenLayers)")
        }
        guard hiddenAct == "quick_gelu" || hiddenAct == "gelu" else { throw bad("hidden_act must be quick_gelu or gelu, got \(hiddenAct)") }
    }

    /// Parameters under `vision_model.` (HF `CLIPVisionModel` names; the position table has no CLS row).
    public var parameterSpecs: [ParameterSpec] {
        let (d, i, c, p) = (hiddenSize, intermediateSize, numChannels, patchSize)
        var s = [
            ParameterSpec("embeddings.patch_embedding.weight", [d, c, p, p], .torchDefault(fanIn: c * p * p)),
            ParameterSpec("embeddings.position_embedding.weight", [tokens, d], .sincos2D(grid: grid)),
            ParameterSpec("pre_layrnorm.weight", [d], .ones), ParameterSpec("pre_layrnorm.bias", [d], .zeros),
        ]
        for l in 0..<numHiddenLayers {
            let pre = "encoder.layers.\(l)."
            for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] { s += linearSpecs(pre + "self_attn.\(proj).", d, d) }
            s += [ParameterSpec(pre + "layer_norm1.weight", [d], .ones), ParameterSpec(pre + "layer_norm1.bias", [d], .zeros)]
            s += linearSpecs(pre + "mlp.fc1.", d, i) + linearSpecs(pre + "mlp.fc2.", i, d)
            s += [ParameterSpec(pre + "layer_norm2.weight", [d], .ones), ParameterSpec(pre + "layer_norm2.bias", [d], .zeros)]
        }
        s += [ParameterSpec("post_layernorm.weight", [d], .ones), ParameterSpec("post_layernorm.bias", [d], .zeros)]
        return s.map { ParameterSpec("vision_model." + $0.name, $0.shape, $0.initializer) }
    }

    public var parameterCount: Int { parameterSpecs.reduce(0) { $0 + $1.count } }
}

// MARK: - Model

/// CLIP-style vision transformer: patch embedding (a conv without bias, done as patchify + one GEMM), a learned
/// position table over the grid (started from 2-D sine-cosine codes), `pre_layrnorm`, pre-norm blocks
/// (LayerNorm → MHA with biases → residual; LayerNorm → fc1 → act → fc2 → residual). No CLS token.
///
/// ``features(_:)`` stops at the selected block (the projector's input; blocks after it are not run);
/// ``lastHiddenState(_:)`` runs every block and `post_layernorm` (for a pretraining head).
public final class VisionEncoder {
    public let config: VisionConfig
    public let weights: ParameterSet

    public init(config: VisionConfig, rng: inout Philox) throws {
        try config.validate()
        self.config = config
        self.weights = ParameterSet(specs: config.parameterSpecs, rng: &rng)
    }

    /// Patch features `[B, grid², D]` from hidden state ``VisionConfig/featureLayer`` of channels-last
    /// images `[B, H, W, C]`. Images are data: no gradient flows back to them.
    public func features(_ images: Tensor) -> Tensor {
        run(images, layers: config.featureLayer)
    }

    /// Output of the last block after `post_layernorm`, `[B, grid², D]`.
    public func lastHiddenState(_ images: Tensor) -> Tensor {
        let w = weights
        let x = run(images, layers: config.numHiddenLayers)
        return layerNorm(x, weight: w["vision_model.post_layernorm.weight"], bias: w["vision_model.post_layernorm.bias"], eps: config.layerNormEps)
    }

    private func run(_ images: Tensor, layers: Int) -> Tensor {
        let c = config
        precondition(images.rank == 4 && images.shape[1] == c.imageSize && images.shape[2] == c.imageSize && images.shape[3] == c.numChannels,
                     "vision encoder expects channels-last images [B, \(c.imageSize), \(c.imageSize), \(c.numChannels)], got \(images.shape)")
        let w = weights
        let patchWeight = w["vision_model.embeddings.patch_embedding.weight"]
        let patches = patchify(images.detached(), patch: c.patchSize)
        var x = linear(patches, weight: patchWeight.reshaped([c.hiddenSize, -1]))
        x = x + w["vision_model.embeddings.position_embedding.weight"]
        x = layerNorm(x, weight: w["vision_model.pre_layrnorm.weight"], bias: w["vision_model.pre_layrnorm.bias"], eps: c.layerNormEps)
        for l in 0..<layers { x = block(x, l) }
        return x
    }

    private func block(_ x: Tensor, _ l: Int) -> Tensor {
        let (c, w, p) = (config, weights, "vision_model.encoder.layers.\(l).")
        func proj(_ h: Tensor, _ name: String) -> Tensor { linear(h, weight: w[p + name + ".weight"], bias: w[p + name + ".bias"]) }
        let h = layerNorm(x, weight: w[p + "layer_norm1.weight"], bias: w[p + "layer_norm1.bias"], eps: c.layerNormEps)
        let a = attention(q: proj(h, "self_attn.q_proj"), k: proj(h, "self_attn.k_proj"), v: proj(h, "self_attn.v_proj"),
                          heads: c.numAttentionHeads, kvHeads: c.numAttentionHeads)
        let x1 = x + proj(a, "self_attn.out_proj")
        let h2 = layerNorm(x1, weight: w[p + "layer_norm2.weight"], bias: w[p + "layer_norm2.bias"], eps: c.layerNormEps)
        let m = proj(h2, "mlp.fc1")
        return x1 + proj(c.hiddenAct == "gelu" ? m.gelu() : quickGELU(m), "mlp.fc2")
    }
}

/// CLIP's `quick_gelu`, `x·σ(1.702·x)`, composed from the engine's SiLU: `silu(1.702·x) / 1.702`
/// (two recorded ops, so its gradient comes from theirs; checked by finite differences in the tests).
public func quickGELU(_ x: Tensor) -> Tensor {
    x.affine(scale: 1.702).silu().affine(scale: 1 / 1.702)
}
