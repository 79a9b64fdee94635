import XexpLearning

/// MobileVLM v1's LDP (`LDPNetProjector`): per-token `Linear(Dv→Dl) → GELU → Linear(Dl→Dl)`
/// (`model.mlp.1`, `model.mlp.3`), then two torchvision `InvertedResidual` blocks on the Dl-channel grid with
/// no expansion conv (`model.mb_block.1`, stride 1 with residual; `model.mb_block.2`, stride 2, none):
/// depthwise 3 × 3 conv → channel LayerNorm → Hardswish → squeeze-excitation (1 × 1 convs Dl→s→Dl with bias,
/// ReLU, Hardsigmoid) → 1 × 1 conv → channel LayerNorm.
///
/// Generalised to N = k² (k ≤ grid/2) by adaptive average pooling of the Dl grid to 2k × 2k before the blocks;
/// at k = grid/2 (144 tokens) that pooling is the identity and the projector is the reference's.
/// The squeeze width s is torchvision's `_make_divisible(Dl // 4, 8)`, which is Dl/4 whenever Dl is a multiple
/// of 32 (the §2 formula assumes that).
public final class LDPProjector: VisionProjector {
    public let config: ProjectorConfig
    public let weights: ParameterSet

    init(config: ProjectorConfig, weights: ParameterSet) {
        precondition(config.kind == .ldp)
        self.config = config
        self.weights = weights
    }

    /// torchvision's `_make_divisible(v, 8)`: nearest multiple of 8, at least 8, never more than 10 % below v.
    static func squeezeWidth(_ dl: Int) -> Int {
        let v = dl / 4
        var n = max(8, (v + 4) / 8 * 8)
        if Double(n) < 0.9 * Double(v) { n += 8 }
        return n
    }

    static func layout(_ c: ProjectorConfig) -> ProjectorLayout {
        let (dv, dl, k) = (c.visionWidth, c.llmWidth, c.kind.side(tokens: c.tokens)!)
        let s = squeezeWidth(dl)
        var layers: [ProjectorLayout.Layer] = [.init("Linear(\(dv)→\(dl))", dv * dl + dl), .init("GELU (exact, erf)"), .init("Linear(\(dl)→\(dl))", dl * dl + dl)]
        if let pool = poolLayer(from: c.grid, to: 2 * k, width: dl) { layers.append(pool) }
        let blockParams = 9 * dl + 2 * dl + (dl * s + s) + (s * dl + dl) + dl * dl + 2 * dl
        layers.append(.init("InvertedResidual stride 1: DWConv3×3 → LN → Hardswish → SE(\(dl)→\(s)→\(dl), ReLU, Hardsigmoid) → Conv1×1 → LN, + input (\(2 * k)×\(2 * k))", blockParams))
        layers.append(.init("InvertedResidual stride 2: same, no residual (\(2 * k)×\(2 * k) → \(k)×\(k))", blockParams))
        var specs = linearSpecs("model.mlp.1.", dv, dl) + linearSpecs("model.mlp.3.", dl, dl)
        for b in 1...2 {
            let p = "model.mb_block.\(b).block."
            specs += [
                ParameterSpec(p + "0.0.weight", [dl, 1, 3, 3], .torchDefault(fanIn: 9)),
                ParameterSpec(p + "0.1.weight", [dl], .ones), ParameterSpec(p + "0.1.bias", [dl], .zeros),
                ParameterSpec(p + "1.fc1.weight", [s, dl, 1, 1], .torchDefault(fanIn: dl)), ParameterSpec(p + "1.fc1.bias", [s], .torchDefault(fanIn: dl)),
                ParameterSpec(p + "1.fc2.weight", [dl, s, 1, 1], .torchDefault(fanIn: s)), ParameterSpec(p + "1.fc2.bias", [dl], .torchDefault(fanIn: s)),
                ParameterSpec(p + "2.0.weight", [dl, dl, 1, 1], .torchDefault(fanIn: dl)),
                ParameterSpec(p + "2.1.weight", [dl], .ones), ParameterSpec(p + "2.1.bias", [dl], .zeros),
            ]
        }
        return ProjectorLayout(layers: layers, parameters: specs)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        checkInput(x)
        let h = linear(x, weight: weights["model.mlp.1.weight"], bias: weights["model.mlp.1.bias"]).gelu()
        let y = linear(h, weight: weights["model.mlp.3.weight"], bias: weights["model.mlp.3.bias"])
        let k = config.kind.side(tokens: config.tokens)!
        let g = grid(poolTokens(y, from: config.grid, to: 2 * k), side: 2 * k)
        return tokens(block(block(g, 1, stride: 1), 2, stride: 2))
    }

    /// One `InvertedResidual` on a channels-last grid.
    private func block(_ x: Tensor, _ index: Int, stride: Int) -> Tensor {
        let p = "model.mb_block.\(index).block."
        var h = depthwiseConv3x3(x, weight: weights[p + "0.0.weight"], stride: stride)
        h = channelLayerNorm(h, weight: weights[p + "0.1.weight"], bias: weights[p + "0.1.bias"], eps: 1e-5).hardswish()
        let squeeze = conv1x1(globalAvgPool(h), weight: weights[p + "1.fc1.weight"], bias: weights[p + "1.fc1.bias"]).relu()
        let scale = conv1x1(squeeze, weight: weights[p + "1.fc2.weight"], bias: weights[p + "1.fc2.bias"]).hardsigmoid()
        h = conv1x1(h * scale, weight: weights[p + "2.0.weight"])
        h = channelLayerNorm(h, weight: weights[p + "2.1.weight"], bias: weights[p + "2.1.bias"], eps: 1e-5)
        return stride == 1 ? h + x : h
    }
}
