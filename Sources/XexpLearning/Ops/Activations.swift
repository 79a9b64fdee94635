import Foundation

/// Pointwise activations. Each is a function and its derivative (given input x and output y); a
/// generic driver specialises the loops per activation (GELU and SwiGLU have their own SIMD loops). Definitions match PyTorch's (`nn.GELU()` exact
/// erf form, `nn.Hardswish`, `nn.Hardsigmoid`, `nn.Mish`), including which side of a kink gets which
/// derivative.
protocol UnaryKernel {
    static func f(_ x: Float) -> Float
    static func df(_ x: Float, _ y: Float) -> Float
}

enum ReLUKernel: UnaryKernel {
    static func f(_ x: Float) -> Float { x > 0 ? x : 0 }
    static func df(_ x: Float, _ y: Float) -> Float { x > 0 ? 1 : 0 }
}
enum SiLUKernel: UnaryKernel {
    static func f(_ x: Float) -> Float { x / (1 + expf(-x)) }
    static func df(_ x: Float, _ y: Float) -> Float {
        let s = 1 / (1 + expf(-x))
        return s * (1 + x * (1 - s))
    }
}
enum MishKernel: UnaryKernel {
    // softplus with PyTorch's overflow guard: log1p(exp(x)) ≈ x for large x.
    @inline(__always) static func softplus(_ x: Float) -> Float { x > 20 ? x : log1pf(expf(x)) }
    static func f(_ x: Float) -> Float { x * tanhf(softplus(x)) }
    static func df(_ x: Float, _ y: Float) -> Float {
        let t = tanhf(softplus(x))
        let s = 1 / (1 + expf(-x))
        return t + x * s * (1 - t * t)
    }
}
enum HardswishKernel: UnaryKernel {
    static func f(_ x: Float) -> Float { x * min(max(x + 3, 0), 6) / 6 }
    static func df(_ x: Float, _ y: Float) -> Float { x < -3 ? 0 : (x <= 3 ? x / 3 + 0.5 : 1) }
}
enum HardsigmoidKernel: UnaryKernel {
    static func f(_ x: Float) -> Float { min(max(x + 3, 0), 6) / 6 }
    static func df(_ x: Float, _ y: Float) -> Float { x > -3 && x < 3 ? 1.0 / 6.0 : 0 }
}

func unary<K: UnaryKernel>(_ x: Tensor, _: K.Type) -> Tensor {
    let y = Tensor(shape: x.shape)
    let px = x.data, py = y.data
    for i in 0..<x.count { py[i] = K.f(px[i]) }
    let ys = y.storage
    return y.record([x]) { g in
        let gx = x.gradPointer(), pg = g.data, yv = ys.pointer
        for i in 0..<g.count { gx[i] += pg[i] * K.df(px[i], yv[i]) }
    }
}

extension Tensor {
    public func relu() -> Tensor { unary(self, ReLUKernel.self) }
    public func silu() -> Tensor { unary(self, SiLUKernel.self) }
    /// Exact GELU, `x·Φ(x) = 0.5·x·(1 + erf(x/√2))` (PyTorch's default, used by CLIP and `mlp2x_gelu`),
    /// eight lanes at a time; see ``geluAndDerivative8(_:)`` for the accuracy.
    public func gelu() -> Tensor { geluOp(self) }
    public func mish() -> Tensor { unary(self, MishKernel.self) }
    public func hardswish() -> Tensor { unary(self, HardswishKernel.self) }
    public func hardsigmoid() -> Tensor { unary(self, HardsigmoidKernel.self) }
}

/// SwiGLU gate, fused: `silu(gate) * up` (LLaMA MLP), one pass and one tape node instead of three,
/// eight lanes at a time.
public func swiglu(gate: Tensor, up: Tensor) -> Tensor {
    precondition(gate.shape == up.shape, "swiglu: gate \(gate.shape) and up \(up.shape) differ")
    let y = Tensor(shape: gate.shape)
    let pg = gate.data, pu = up.data, py = y.data
    let n = y.count
    let workers = Parallel.workers(count: n / 8 + 1, elements: 3 * n)
    Parallel.chunks(n / 8 + 1, workers: workers) { range, _ in
        // Chunks are counted in 8-lane groups so every chunk but the last is whole vectors.
        var i = range.lowerBound * 8
        let end = min(n, range.upperBound * 8)
        while i + 8 <= end {
            let g = load8(pg + i)
            store8(g / (1 + exp8(-g)) * load8(pu + i), py + i)
            i += 8
        }
        while i < end { py[i] = pg[i] / (1 + fastExp(-pg[i])) * pu[i]; i += 1 }
    }
    return y.record([gate, up]) { g in
        let gy = g.data
        let gg = gate.requiresGrad ? gate.gradPointer() : nil
        let gu = up.requiresGrad ? up.gradPointer() : nil
        Parallel.chunks(n / 8 + 1, workers: workers) { range, _ in
            var i = range.lowerBound * 8
            let end = min(n, range.upperBound * 8)
            while i + 8 <= end {
                let x = load8(pg + i), u = load8(pu + i), d = load8(gy + i)
                let s = 1 / (1 + exp8(-x))
                if let gu { store8(load8(gu + i) + d * x * s, gu + i) }
                if let gg { store8(load8(gg + i) + d * u * s * (1 + x * (1 - s)), gg + i) }
                i += 8
            }
            while i < end {
                let s = 1 / (1 + fastExp(-pg[i]))
                gu?[i] += gy[i] * pg[i] * s
                gg?[i] += gy[i] * pu[i] * s * (1 + pg[i] * (1 - s))
                i += 1
            }
        }
    }
}

/// Φ(x) and GELU′(x) = Φ(x) + x·φ(x) for eight lanes. Φ comes from erfc by Abramowitz & Stegun 7.1.26
/// (|error| ≤ 1.5e-7, evaluated on |x| so there is no cancellation in the negative tail), φ from the
/// same exponential. Matches PyTorch's erf-based GELU to ~1e-7 relative to the output's scale.
@inline(__always) func geluAndDerivative8(_ x: F8) -> (cdf: F8, derivative: F8) {
    let z = x.replacing(with: -x, where: x .< 0) * 0.70710678118654752
    let t = 1 / (1 + 0.3275911 * z)
    var poly = F8(repeating: 1.061405429)
    poly = poly * t - 1.453152027
    poly = poly * t + 1.421413741
    poly = poly * t - 0.284496736
    poly = poly * t + 0.254829592
    let e = exp8(-(z * z))          // e^(−x²/2)
    let half = 0.5 * poly * t * e   // 0.5·erfc(|x|/√2) = Φ(−|x|)
    let cdf = half.replacing(with: 1 - half, where: x .>= 0)
    return (cdf, cdf + x * e * 0.39894228040143268)
}

func geluOp(_ x: Tensor) -> Tensor {
    let y = Tensor(shape: x.shape)
    let (px, py, n) = (x.data, y.data, x.count)
    let groups = (n + 7) / 8
    let workers = Parallel.workers(count: groups, elements: 2 * n)
    // Lane groups; the last partial group goes through a padded copy so every element uses one formula.
    func lanes(_ range: Range<Int>, _ body: (Int, F8, Int) -> Void) {
        for gi in range {
            let i = gi * 8
            if i + 8 <= n { body(i, load8(px + i), 8) } else {
                var v = F8(repeating: 1)
                for j in 0..<(n - i) { v[j] = px[i + j] }
                body(i, v, n - i)
            }
        }
    }
    Parallel.chunks(groups, workers: workers) { range, _ in
        lanes(range) { i, v, k in
            let out = v * geluAndDerivative8(v).cdf
            if k == 8 { store8(out, py + i) } else { for j in 0..<k { py[i + j] = out[j] } }
        }
    }
    return y.record([x]) { g in
        let gx = x.gradPointer(), pg = g.data
        Parallel.chunks(groups, workers: workers) { range, _ in
            lanes(range) { i, v, k in
                let d = geluAndDerivative8(v).derivative
                if k == 8 { store8(load8(gx + i) + load8(pg + i) * d, gx + i) } else {
                    for j in 0..<k { gx[i + j] += pg[i + j] * d[j] }
                }
            }
        }
    }
}
