/// Matrix products: batched `matmul` with transposes, `linear` (PyTorch weight layout `[out, in]`),
/// and 1×1 convolution on channels-last grids. All go through ``GEMM``.

/// `op(a) · op(b)` over the last two dimensions, where op transposes when asked. Leading (batch)
/// dimensions must match, or `b` may be 2-D and is then shared by every batch entry.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank ≥ 2, got \(a.shape) and \(b.shape)")
    let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    let m = transposeA ? ac : ar, k = transposeA ? ar : ac
    let kb = transposeB ? bc : br, n = transposeB ? br : bc
    precondition(k == kb, "matmul inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
    let batchShape = Array(a.shape.dropLast(2))
    let sharedB = b.rank == 2
    precondition(sharedB || Array(b.shape.dropLast(2)) == batchShape,
                 "matmul batch dimensions differ: \(a.shape) vs \(b.shape)")
    let batch = batchShape.reduce(1, *)
    let y = Tensor(shape: batchShape + [m, n])
    let (pa, pb, py) = (a.data, b.data, y.data)
    let (sa, sb, sy) = (ar * ac, sharedB ? 0 : br * bc, m * n)
    if sharedB && !transposeA {
        // Fold the batch into the rows: one large product instead of many small ones.
        GEMM.sgemm(transA: false, transB: transposeB, m: batch * m, n: n, k: k, alpha: 1,
                   a: pa, lda: ac, b: pb, ldb: bc, beta: 0, c: py, ldc: n)
    } else {
        for i in 0..<batch {
            GEMM.sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: 1,
                       a: pa + i * sa, lda: ac, b: pb + i * sb, ldb: bc, beta: 0, c: py + i * sy, ldc: n)
        }
    }
    return y.record([a, b]) { g in
        let pg = g.data
        if a.requiresGrad {
            let ga = a.gradPointer()
            for i in 0..<batch {
                if transposeA {  // dA[k×m] = op(B) · dCᵀ
                    GEMM.sgemm(transA: transposeB, transB: true, m: k, n: m, k: n, alpha: 1,
                               a: pb + i * sb, lda: bc, b: pg + i * sy, ldb: n, beta: 1, c: ga + i * sa, ldc: ac)
                } else {  // dA[m×k] = dC · op(B)ᵀ
                    GEMM.sgemm(transA: false, transB: !transposeB, m: m, n: k, k: n, alpha: 1,
                               a: pg + i * sy, lda: n, b: pb + i * sb, ldb: bc, beta: 1, c: ga + i * sa, ldc: ac)
                }
            }
        }
        if b.requiresGrad {
            let gb = b.gradPointer()
            if sharedB && !transposeA {
                let rows = batch * m
                if transposeB {
                    GEMM.sgemm(transA: true, transB: false, m: n, n: k, k: rows, alpha: 1,
                               a: pg, lda: n, b: pa, ldb: ac, beta: 1, c: gb, ldc: bc)
                } else {
                    GEMM.sgemm(transA: true, transB: false, m: k, n: n, k: rows, alpha: 1,
                               a: pa, lda: ac, b: pg, ldb: n, beta: 1, c: gb, ldc: bc)
                }
                return
            }
            for i in 0..<batch {
                if transposeB {  // dB[n×k] = dCᵀ · op(A)
                    GEMM.sgemm(transA: true, transB: transposeA, m: n, n: k, k: m, alpha: 1,
                               a: pg + i * sy, lda: n, b: pa + i * sa, ldb: ac, beta: 1, c: gb + i * sb, ldc: bc)
                } else {  // dB[k×n] = op(A)ᵀ · dC
                    GEMM.sgemm(transA: !transposeA, transB: false, m: k, n: n, k: m, alpha: 1,
                               a: pa + i * sa, lda: ac, b: pg + i * sy, ldb: n, beta: 1, c: gb + i * sb, ldc: bc)
                }
            }
        }
    }
}

/// `x · Wᵀ + bias` over the last dimension, with PyTorch's weight layout `[out, in]`
/// (any trailing singleton dims, as in a conv weight `[out, in, 1, 1]`, are accepted).
/// A frozen `weight` (requiresGrad false) skips the weight-gradient product but still passes dx back.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let inF = x.shape[x.rank - 1]
    let outF = weight.shape[0]
    precondition(weight.count == outF * inF,
                 "linear: weight \(weight.shape) does not map \(inF) inputs (input shape \(x.shape))")
    if let bias { precondition(bias.count == outF, "linear: bias \(bias.shape) for \(outF) outputs") }
    let rows = x.count / max(inF, 1)
    let y = Tensor(shape: Array(x.shape.dropLast()) + [outF])
    let (px, pw, py) = (x.data, weight.data, y.data)
    var beta: Float = 0
    if let pbias = bias?.data {
        for r in 0..<rows { (py + r * outF).update(from: pbias, count: outF) }
        beta = 1
    }
    GEMM.sgemm(transA: false, transB: true, m: rows, n: outF, k: inF, alpha: 1,
               a: px, lda: inF, b: pw, ldb: inF, beta: beta, c: py, ldc: outF)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return y.record(inputs) { g in
        let pg = g.data
        if x.requiresGrad {
            let (gx, beta) = x.gradForOverwrite()
            GEMM.sgemm(transA: false, transB: false, m: rows, n: inF, k: outF, alpha: 1,
                       a: pg, lda: outF, b: pw, ldb: inF, beta: beta, c: gx, ldc: inF)
        }
        if weight.requiresGrad {
            let (gw, beta) = weight.gradForOverwrite()
            GEMM.sgemm(transA: true, transB: false, m: outF, n: inF, k: rows, alpha: 1,
                       a: pg, lda: outF, b: px, ldb: inF, beta: beta, c: gw, ldc: inF)
        }
        if let bias, bias.requiresGrad {
            let gb = bias.gradPointer()
            for r in 0..<rows { let row = pg + r * outF; for j in 0..<outF { gb[j] += row[j] } }
        }
    }
}

/// 1×1 convolution on a channels-last grid `[B, H, W, Cin]` with a PyTorch conv weight
/// `[Cout, Cin, 1, 1]`: per pixel it is a linear map, so it is exactly ``linear(_:weight:bias:)``.
public func conv1x1(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    precondition(x.rank == 4, "conv1x1 expects a channels-last grid [B, H, W, C], got \(x.shape)")
    return linear(x, weight: weight, bias: bias)
}
