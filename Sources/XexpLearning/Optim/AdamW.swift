import Foundation

/// A named parameter: the name is its checkpoint key (HF style, e.g. `model.layers.0.mlp.up_proj.weight`).
public struct NamedParameter {
    public let name: String
    public let tensor: Tensor
    public init(_ name: String, _ tensor: Tensor) { self.name = name; self.tensor = tensor }
}

/// Parameters sharing a learning rate and weight decay (as a PyTorch param group).
public struct ParameterGroup {
    public var parameters: [NamedParameter]
    /// Base learning rate; the schedule multiplies it each step.
    public var learningRate: Double
    public var weightDecay: Double
    public init(_ parameters: [NamedParameter], learningRate: Double, weightDecay: Double = 0) {
        self.parameters = parameters; self.learningRate = learningRate; self.weightDecay = weightDecay
    }
}

/// AdamW exactly as `torch.optim.AdamW` (single-tensor path, `amsgrad=False`, `maximize=False`):
///
///     θ ← θ·(1 − lr·λ)                         decoupled weight decay
///     m ← m + (1 − β1)·(g − m)                 (torch's lerp)
///     v ← β2·v + (1 − β2)·g²
///     θ ← θ − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// Scalar factors are formed in double precision, as Python floats are in PyTorch; tensor math is float32.
/// Parameters without a gradient this step are skipped (as PyTorch skips `grad is None`). Moments are
/// created lazily, zero, on a parameter's first update.
public final class AdamW {
    public var groups: [ParameterGroup]
    public let beta1: Double, beta2: Double, eps: Double
    /// Number of completed steps (PyTorch's per-parameter `state['step']`; all parameters step together).
    public private(set) var step: Int = 0
    /// First and second moments by parameter name.
    public internal(set) var expAvg: [String: Tensor] = [:]
    public internal(set) var expAvgSq: [String: Tensor] = [:]

    public init(groups: [ParameterGroup], beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8) {
        self.groups = groups; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        var seen = Set<String>()
        for p in groups.flatMap(\.parameters) {
            precondition(seen.insert(p.name).inserted, "AdamW: parameter name \(p.name) appears twice")
        }
    }

    /// Every parameter of every group, in order.
    public var parameters: [NamedParameter] { groups.flatMap(\.parameters) }

    /// Drops all gradients (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() { for p in parameters { p.tensor.grad = nil } }

    /// One update with each group's learning rate times `lrScale` (the schedule's multiplier).
    public func step(lrScale: Double = 1) {
        step += 1
        let t = Double(step)
        let bc1 = 1 - pow(beta1, t)
        let bc2Sqrt = (1 - pow(beta2, t)).squareRoot()
        let b2 = Float(beta2), oneMinusB1 = Float(1 - beta1), oneMinusB2 = Float(1 - beta2)
        let epsF = Float(eps)
        for group in groups {
            let lr = group.learningRate * lrScale
            let decay = Float(1 - lr * group.weightDecay)
            let stepSize = Float(lr / bc1)
            let bc2 = Float(bc2Sqrt)
            for p in group.parameters {
                guard let g = p.tensor.grad else { continue }
                let m = moment(&expAvg, p), v = moment(&expAvgSq, p)
                let (pp, pg, pm, pv) = (p.tensor.data, g.data, m.data, v.data)
                let n = p.tensor.count
                let decays = group.weightDecay != 0
                // torch's lerp(self, end, w) is self + w·(end − self) when |w| < 0.5 (always, for β1 > 0.5).
                precondition(oneMinusB1 < 0.5, "AdamW: β1 ≤ 0.5 is not supported (torch's lerp takes its other branch)")
                Parallel.chunks(n, workers: Parallel.workers(count: n, elements: 4 * n)) { range, _ in
                    var i = range.lowerBound
                    let (w8, b2v, c2, bc2v, e8, ss) = (F8(repeating: oneMinusB1), F8(repeating: b2), F8(repeating: oneMinusB2),
                                                       F8(repeating: bc2), F8(repeating: epsF), F8(repeating: -stepSize))
                    while i + 8 <= range.upperBound {
                        var pv8 = load8(pp + i)
                        if decays { pv8 = pv8 * decay }
                        let g = load8(pg + i)
                        var m = load8(pm + i), v = load8(pv + i)
                        m = m + w8 * (g - m)
                        v = v * b2v + c2 * g * g
                        let denom = v.squareRoot() / bc2v + e8
                        store8(pv8 + ss * (m / denom), pp + i)
                        store8(m, pm + i)
                        store8(v, pv + i)
                        i += 8
                    }
                    while i < range.upperBound {
                        if decays { pp[i] *= decay }
                        let gi = pg[i]
                        pm[i] = pm[i] + oneMinusB1 * (gi - pm[i])
                        pv[i] = pv[i] * b2 + oneMinusB2 * gi * gi
                        let denom = pv[i].squareRoot() / bc2 + epsF
                        pp[i] += -stepSize * (pm[i] / denom)
                        i += 1
                    }
                }
            }
        }
    }

    private func moment(_ table: inout [String: Tensor], _ p: NamedParameter) -> Tensor {
        if let m = table[p.name] { return m }
        let m = Tensor.zeros(p.tensor.shape)
        table[p.name] = m
        return m
    }

    /// Restores step and moments (from a checkpoint). Shapes must match the parameters.
    public func restore(step: Int, expAvg: [String: Tensor], expAvgSq: [String: Tensor]) throws {
        let byName = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.tensor) })
        for (name, t) in expAvg.merging(expAvgSq, uniquingKeysWith: { a, _ in a }) {
            guard let p = byName[name] else { throw CheckpointError.mismatch("optimizer state for unknown parameter \(name)") }
            guard p.shape == t.shape else { throw CheckpointError.mismatch("optimizer state for \(name) has shape \(t.shape), parameter has \(p.shape)") }
        }
        self.step = step
        self.expAvg = expAvg
        self.expAvgSq = expAvgSq
    }
}
