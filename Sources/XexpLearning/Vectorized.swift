/// Explicit 8-wide SIMD kernels for the hot non-GEMM loops (softmax, cross-entropy, SiLU).
///
/// Without fast-math the compiler must keep float reductions in source order, so a plain `sum +=` loop
/// runs one add per cycle chain; eight lanes break that chain. `exp` is Cephes' single-precision
/// polynomial (≈ 1 ulp on the range we use) computed lane-wise, instead of a libm call per element.
typealias F8 = SIMD8<Float>

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
@inline(__always) func store8(_ v: F8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self) }

/// e^x lane-wise; inputs below −87.3 give exactly 0 (so −∞ from a mask is 0), inputs above 88 saturate.
@inline(__always) func exp8(_ x: F8) -> F8 {
    let lo: Float = -87.33654
    let xc = x.replacing(with: lo, where: x .< lo).replacing(with: 88, where: x .> 88)
    // Round x·log2(e) to nearest with the 1.5·2²³ trick (exact for |v| < 2²², and pure arithmetic).
    let t = xc * 1.44269504088896341 + 12_582_912
    let fx = t - 12_582_912
    var r = xc - fx * 0.693359375
    r = r + fx * 2.12194440e-4
    var y = F8(repeating: 1.9875691500e-4)
    y = y * r + 1.3981999507e-3
    y = y * r + 8.3334519073e-3
    y = y * r + 4.1665795894e-2
    y = y * r + 1.6666665459e-1
    y = y * r + 5.0000001201e-1
    y = y * (r * r) + r + 1
    let n = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((n &+ 127) &<< 23, to: F8.self)
    return (y * scale).replacing(with: 0, where: x .< lo)
}

/// Scalar e^x with the same polynomial (for loop tails), so results do not depend on alignment.
@inline(__always) func fastExp(_ x: Float) -> Float { exp8(F8(repeating: x))[0] }

@inline(__always) func vmax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = F8(repeating: -.infinity)
    var j = 0
    while j + 8 <= n { let v = load8(p + j); acc.replace(with: v, where: v .> acc); j += 8 }
    var m = acc.max()
    while j < n { m = max(m, p[j]); j += 1 }
    return m
}

@inline(__always) func vdot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = F8()
    var j = 0
    while j + 8 <= n { acc += load8(a + j) * load8(b + j); j += 8 }
    var s = acc.sum()
    while j < n { s += a[j] * b[j]; j += 1 }
    return s
}

/// y[j] = e^(x[j] − shift); returns Σ y (x and y may alias).
@inline(__always) func expShifted(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
    var acc = F8()
    var j = 0
    let sh = F8(repeating: shift)
    while j + 8 <= n { let e = exp8(load8(x + j) - sh); store8(e, y + j); acc += e; j += 8 }
    var s = acc.sum()
    while j < n { let e = fastExp(x[j] - shift); y[j] = e; s += e; j += 1 }
    return s
}

@inline(__always) func vscale(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ s: Float) {
    var j = 0
    while j + 8 <= n { store8(load8(p + j) * s, p + j); j += 8 }
    while j < n { p[j] *= s; j += 1 }
}
