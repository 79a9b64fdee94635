import XexpLearning

/// A vision-language projector: `[B, grid², Dv]` patch features in, `[B, N, Dl]` visual tokens out.
///
/// Each kind lives in its own file with a static `layout(_:)` (its parameters and layers as data, the
/// source of parameter counts and checkpoint names) and a forward pass over the allocated ``ParameterSet``.
/// Parameter names are relative to the projector, as in the reference's `mm_projector` module
/// (`0.weight`, `mlp.0.weight`, `model.mb_block.1.block.0.0.weight`, …).
public protocol VisionProjector: AnyObject {
    var config: ProjectorConfig { get }
    var weights: ParameterSet { get }
    /// Projects patch features `[B, grid², Dv]` to visual tokens `[B, N, Dl]`.
    func callAsFunction(_ features: Tensor) -> Tensor
}

/// Builds the projector `config` describes, initialised from `rng` as PyTorch would (uniform ±1/√fan_in).
public func makeProjector(_ config: ProjectorConfig, rng: inout Philox) -> any VisionProjector {
    let weights = ParameterSet(specs: config.layout.parameters, rng: &rng)
    switch config.kind {
    case .linear, .mlp: return LinearProjector(config: config, weights: weights)
    case .ldp: return LDPProjector(config: config, weights: weights)
    case .ldpv2: return LDPv2Projector(config: config, weights: weights)
    case .xdp: return XDPProjector(config: config, weights: weights)
    }
}

extension VisionProjector {
    /// Number of scalars.
    public var parameterCount: Int { weights.count }

    func checkInput(_ x: Tensor) {
        precondition(x.rank == 3 && x.shape[1] == config.inputTokens && x.shape[2] == config.visionWidth,
                     "\(config.kind.rawValue) projector expects [B, \(config.inputTokens), \(config.visionWidth)], got \(x.shape)")
    }
}

/// Token sequence `[B, g·g, D]` ↔ channels-last grid `[B, g, g, D]`: raster order makes both plain reshapes.
func grid(_ x: Tensor, side: Int) -> Tensor { x.reshaped([x.shape[0], side, side, x.shape[2]]) }
func tokens(_ g: Tensor) -> Tensor { g.reshaped([g.shape[0], g.shape[1] * g.shape[2], g.shape[3]]) }

/// Adaptive average pooling of a token grid to `side × side` (PyTorch bins); the identity is skipped.
func poolTokens(_ x: Tensor, from g: Int, to side: Int) -> Tensor {
    side == g ? x : tokens(adaptiveAvgPool(grid(x, side: g), outputSize: side))
}

/// The layer line for an adaptive pooling step (nil when it is the identity).
func poolLayer(from g: Int, to side: Int, width: Int) -> ProjectorLayout.Layer? {
    side == g ? nil : .init("AdaptiveAvgPool2d \(g)×\(g) → \(side)×\(side) over \(width) channels")
}
