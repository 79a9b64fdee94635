import XexpLearning

/// LLaVA's `linear` and `mlp2x_gelu` projectors (`nn.Linear(Dv, Dl)`, or
/// `nn.Sequential(Linear(Dv, Dl), GELU(), Linear(Dl, Dl))`), keeping the reference's 576 tokens.
///
/// Below 576 tokens (N = k²) the projected grid is average-pooled to k × k *after* the layers. The paper fixes
/// 144 tokens for its projector table without saying how Linear and MLP got there; pooling after makes MLP at
/// N identical to LDPv2 minus its positional conv, and for Linear the order does not matter.
public final class LinearProjector: VisionProjector {
    public let config: ProjectorConfig
    public let weights: ParameterSet

    init(config: ProjectorConfig, weights: ParameterSet) {
        precondition(config.kind == .linear || config.kind == .mlp)
        self.config = config
        self.weights = weights
    }

    static func layout(_ c: ProjectorConfig) -> ProjectorLayout {
        let (dv, dl) = (c.visionWidth, c.llmWidth)
        let side = c.kind.side(tokens: c.tokens)!
        var layers: [ProjectorLayout.Layer]
        let specs: [ParameterSpec]
        if c.kind == .linear {
            specs = linearSpecs("", dv, dl)
            layers = [.init("Linear(\(dv)→\(dl))", dv * dl + dl)]
        } else {
            specs = linearSpecs("0.", dv, dl) + linearSpecs("2.", dl, dl)
            layers = [.init("Linear(\(dv)→\(dl))", dv * dl + dl), .init("GELU (exact, erf)"), .init("Linear(\(dl)→\(dl))", dl * dl + dl)]
        }
        if let pool = poolLayer(from: c.grid, to: side, width: dl) { layers.append(pool) }
        return ProjectorLayout(layers: layers, parameters: specs)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        checkInput(x)
        let y: Tensor
        if config.kind == .linear {
            y = linear(x, weight: weights["weight"], bias: weights["bias"])
        } else {
            let h = linear(x, weight: weights["0.weight"], bias: weights["0.bias"]).gelu()
            y = linear(h, weight: weights["2.weight"], bias: weights["2.bias"])
        }
        return poolTokens(y, from: config.grid, to: config.kind.side(tokens: config.tokens)!)
    }
}
