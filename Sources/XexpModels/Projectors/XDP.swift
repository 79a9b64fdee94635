import XexpLearning

/// Xmodel-VLM's XDP projector (`XDPNetProjector`): regroup `[B, 576, Dv]` to `[B, 576/f, f·Dv]` (each token
/// concatenates f *consecutive* raster-order patches, the reference's `view`), then
/// `Linear(f·Dv→Dl) → Mish → Linear(Dl→Dl)`. No norm, no conv, no position code. f = 576 / N.
public final class XDPProjector: VisionProjector {
    public let config: ProjectorConfig
    public let weights: ParameterSet

    init(config: ProjectorConfig, weights: ParameterSet) {
        precondition(config.kind == .xdp)
        self.config = config
        self.weights = weights
    }

    /// Patches concatenated per output token.
    public var factor: Int { config.inputTokens / config.tokens }

    static func layout(_ c: ProjectorConfig) -> ProjectorLayout {
        let (dv, dl, f) = (c.visionWidth, c.llmWidth, c.inputTokens / c.tokens)
        return ProjectorLayout(
            layers: [
                .init("regroup \(c.inputTokens)×\(dv) → \(c.tokens)×\(f * dv) (f = \(f) consecutive raster-order tokens)"),
                .init("Linear(\(f * dv)→\(dl))", f * dv * dl + dl), .init("Mish"), .init("Linear(\(dl)→\(dl))", dl * dl + dl),
            ],
            parameters: linearSpecs("mlp.0.", f * dv, dl) + linearSpecs("mlp.2.", dl, dl))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        checkInput(x)
        let h = linear(x.regroupTokens(factor: factor), weight: weights["mlp.0.weight"], bias: weights["mlp.0.bias"]).mish()
        return linear(h, weight: weights["mlp.2.weight"], bias: weights["mlp.2.bias"])
    }
}
