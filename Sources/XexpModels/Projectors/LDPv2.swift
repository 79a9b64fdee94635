import XexpLearning

/// MobileVLM v2's LDPv2 (`LDPNetV2Projector`): per-token `Linear(Dv→Dl) → GELU → Linear(Dl→Dl)`
/// (`mlp.mlp.*`), adaptive average pooling of the grid to k × k (`dwn`, 12 × 12 in the reference), then the
/// positional encoding generator: a depthwise 3 × 3 conv with bias added to its input (`peg.peg.0`).
public final class LDPv2Projector: VisionProjector {
    public let config: ProjectorConfig
    public let weights: ParameterSet

    init(config: ProjectorConfig, weights: ParameterSet) {
        precondition(config.kind == .ldpv2)
        self.config = config
        self.weights = weights
    }

    static func layout(_ c: ProjectorConfig) -> ProjectorLayout {
        let (dv, dl, k) = (c.visionWidth, c.llmWidth, c.kind.side(tokens: c.tokens)!)
        var layers: [ProjectorLayout.Layer] = [.init("Linear(\(dv)→\(dl))", dv * dl + dl), .init("GELU (exact, erf)"), .init("Linear(\(dl)→\(dl))", dl * dl + dl)]
        layers.append(poolLayer(from: c.grid, to: k, width: dl) ?? .init("(no pooling: \(c.grid)×\(c.grid) kept)"))
        layers.append(.init("PEG: x + DWConv3×3(\(dl), padding 1, bias) on the \(k)×\(k) grid", 9 * dl + dl))
        let conv = Initializer.torchDefault(fanIn: 9)
        return ProjectorLayout(
            layers: layers,
            parameters: linearSpecs("mlp.mlp.0.", dv, dl) + linearSpecs("mlp.mlp.2.", dl, dl)
                + [ParameterSpec("peg.peg.0.weight", [dl, 1, 3, 3], conv), ParameterSpec("peg.peg.0.bias", [dl], conv)])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        checkInput(x)
        let h = linear(x, weight: weights["mlp.mlp.0.weight"], bias: weights["mlp.mlp.0.bias"]).gelu()
        let y = linear(h, weight: weights["mlp.mlp.2.weight"], bias: weights["mlp.mlp.2.bias"])
        let k = config.kind.side(tokens: config.tokens)!
        let g = grid(poolTokens(y, from: config.grid, to: k), side: k)
        return tokens(g + depthwiseConv3x3(g, weight: weights["peg.peg.0.weight"], bias: weights["peg.peg.0.bias"]))
    }
}
