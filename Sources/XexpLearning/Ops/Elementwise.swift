/// Elementwise arithmetic with broadcasting: `+ - * /` between tensors, and with scalars.

/// A binary function and its two partial derivatives; generic dispatch keeps the loops specialised.
protocol BinaryKernel {
    static func f(_ a: Float, _ b: Float) -> Float
    static func da(_ a: Float, _ b: Float) -> Float
    static func db(_ a: Float, _ b: Float) -> Float
}
enum AddKernel: BinaryKernel {
    static func f(_ a: Float, _ b: Float) -> Float { a + b }
    static func da(_ a: Float, _ b: Float) -> Float { 1 }
    static func db(_ a: Float, _ b: Float) -> Float { 1 }
}
enum SubKernel: BinaryKernel {
    static func f(_ a: Float, _ b: Float) -> Float { a - b }
    static func da(_ a: Float, _ b: Float) -> Float { 1 }
    static func db(_ a: Float, _ b: Float) -> Float { -1 }
}
enum MulKernel: BinaryKernel {
    static func f(_ a: Float, _ b: Float) -> Float { a * b }
    static func da(_ a: Float, _ b: Float) -> Float { b }
    static func db(_ a: Float, _ b: Float) -> Float { a }
}
enum DivKernel: BinaryKernel {
    static func f(_ a: Float, _ b: Float) -> Float { a / b }
    static func da(_ a: Float, _ b: Float) -> Float { 1 / b }
    static func db(_ a: Float, _ b: Float) -> Float { -a / (b * b) }
}

func binary<K: BinaryKernel>(_ a: Tensor, _ b: Tensor, _: K.Type) -> Tensor {
    if a.shape == b.shape {
        let y = Tensor(shape: a.shape)
        let pa = a.data, pb = b.data, py = y.data
        for i in 0..<y.count { py[i] = K.f(pa[i], pb[i]) }
        return y.record([a, b]) { g in
            let pg = g.data
            if a.requiresGrad { let ga = a.gradPointer(); for i in 0..<g.count { ga[i] += pg[i] * K.da(pa[i], pb[i]) } }
            if b.requiresGrad { let gb = b.gradPointer(); for i in 0..<g.count { gb[i] += pg[i] * K.db(pa[i], pb[i]) } }
        }
    }
    let plan = Broadcast(a.shape, b.shape)
    let y = Tensor(shape: plan.outShape)
    let pa = a.data, pb = b.data, py = y.data
    plan.forEachRow { o, ao, bo, n, sa, sb in
        for i in 0..<n { py[o + i] = K.f(pa[ao + i * sa], pb[bo + i * sb]) }
    }
    return y.record([a, b]) { g in
        let pg = g.data
        let ga = a.requiresGrad ? a.gradPointer() : nil
        let gb = b.requiresGrad ? b.gradPointer() : nil
        // Broadcast dimensions have stride 0, so accumulating through the same offsets sums them.
        plan.forEachRow { o, ao, bo, n, sa, sb in
            if let ga { for i in 0..<n { ga[ao + i * sa] += pg[o + i] * K.da(pa[ao + i * sa], pb[bo + i * sb]) } }
            if let gb { for i in 0..<n { gb[bo + i * sb] += pg[o + i] * K.db(pa[ao + i * sa], pb[bo + i * sb]) } }
        }
    }
}

extension Tensor {
    /// Elementwise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, AddKernel.self) }
    /// Elementwise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, SubKernel.self) }
    /// Elementwise product with broadcasting (e.g. squeeze-excitation scales `[B,H,W,C] * [B,1,1,C]`).
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, MulKernel.self) }
    /// Elementwise quotient with broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, DivKernel.self) }

    /// `a * s + t` elementwise (scalar affine map).
    public func affine(scale s: Float, shift t: Float = 0) -> Tensor {
        let x = self
        let y = Tensor(shape: shape)
        let px = data, py = y.data
        for i in 0..<count { py[i] = px[i] * s + t }
        return y.record([x]) { g in
            let gx = x.gradPointer(), pg = g.data
            for i in 0..<g.count { gx[i] += pg[i] * s }
        }
    }
    public static func * (a: Tensor, s: Float) -> Tensor { a.affine(scale: s) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.affine(scale: s) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.affine(scale: 1, shift: s) }

    /// Sum of all elements (a one-element tensor of shape []).
    public func sum() -> Tensor {
        let x = self
        var acc = 0.0
        for i in 0..<count { acc += Double(data[i]) }
        let y = Tensor(shape: [], values: [Float(acc)])
        return y.record([x]) { g in
            let gx = x.gradPointer(), gv = g.data[0]
            for i in 0..<x.count { gx[i] += gv }
        }
    }

    /// Mean of all elements (shape []).
    public func mean() -> Tensor { sum().affine(scale: 1 / Float(count)) }
}
