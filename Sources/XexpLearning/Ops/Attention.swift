/// Fused scaled-dot-product attention, forward and backward, for multi-head and grouped-query heads.
///
/// Layout is the one linear layers produce: `q` is `[B, T, Hq·Dh]`, `k` and `v` are `[B, S, Hkv·Dh]`,
/// the output is `[B, T, Hq·Dh]`. Heads are addressed in place through GEMM row strides, so there are no
/// transposes or head copies. Query head `h` reads key/value head `h / (Hq / Hkv)` (HF `repeat_kv`).
/// One op, one tape node: scores, masking, softmax and the value product are fused, and the backward
/// pass reuses the saved probabilities.

/// Which keys each query may see.
public struct AttentionMask: Sendable {
    /// Query `i` sees keys `j ≤ queryOffset + i`.
    public var causal: Bool
    /// Optional `[B, S]` (row-major) flags: `true` = the key is a real token, `false` = padding.
    public var keyPadding: [Bool]?
    /// Absolute position of the first query (the KV-cache length during generation).
    public var queryOffset: Int

    public init(causal: Bool, keyPadding: [Bool]? = nil, queryOffset: Int = 0) {
        self.causal = causal
        self.keyPadding = keyPadding
        self.queryOffset = queryOffset
    }
    public static let none = AttentionMask(causal: false)
    public static let causal = AttentionMask(causal: true)
}

/// softmax(q·kᵀ·scale + mask)·v. `keyLength` uses only the first rows of `k`/`v` (a preallocated KV
/// cache of capacity `k.shape[1]`). `scale` defaults to 1/√Dh. Queries with no visible key output zeros.
public func attention(
    q: Tensor, k: Tensor, v: Tensor, heads: Int, kvHeads: Int,
    mask: AttentionMask = .none, keyLength: Int? = nil, scale: Float? = nil
) -> Tensor {
    precondition(q.rank == 3 && k.rank == 3 && v.rank == 3, "attention expects [B, T, H·Dh] tensors, got \(q.shape), \(k.shape), \(v.shape)")
    precondition(heads % kvHeads == 0, "attention: \(heads) query heads are not a multiple of \(kvHeads) key/value heads")
    let (bsz, t, dq) = (q.shape[0], q.shape[1], q.shape[2])
    precondition(dq % heads == 0, "attention: width \(dq) is not divisible by \(heads) heads")
    let dh = dq / heads
    let ldq = dq, ldk = kvHeads * dh
    precondition(k.shape == v.shape && k.shape[0] == bsz && k.shape[2] == ldk,
                 "attention: k \(k.shape) / v \(v.shape) do not fit q \(q.shape) with \(kvHeads) kv heads")
    let sMax = k.shape[1]
    let s = keyLength ?? sMax
    precondition(s <= sMax, "attention: keyLength \(s) exceeds k rows \(sMax)")
    let padStride = mask.keyPadding.map { $0.count / bsz } ?? 0
    if let pad = mask.keyPadding { precondition(pad.count == bsz * padStride && padStride >= s, "attention: keyPadding has \(pad.count) flags, need B·S = \(bsz)·\(s)") }
    let group = heads / kvHeads
    let alpha = scale ?? 1 / Float(dh).squareRoot()
    let record = Autograd.needsGrad(q, k, v)

    let y = Tensor(shape: [bsz, t, dq])
    // Long sequences: probabilities live in a T×S scratch per worker, also when recording, and backward recomputes
    // each (batch, head)'s probabilities with this same code (same GEMM shapes, same softmax), so they come out
    // bit-identical and a training step holds no B·H·T·S tensor (1.1 GB over the 4 layers of a 576-token step at
    // batch 16). Short ones keep them for backward (≤ 64 MB per call): the same bits without the recomputation.
    let workers = Parallel.workers(for: bsz * heads)
    let keep = record && bsz * heads * t * s <= AttentionMemory.keptProbabilityFloats
    let probs = Tensor(shape: [keep ? bsz * heads : workers, t, s])
    // Causal attention runs in query blocks, each against only the keys it can see, which skips about
    // half of the score products and softmax work at long sequence lengths.
    let blocks = queryBlocks(t: t, s: s, mask: mask)
    let (pq, pk, pv, py) = (q.data, k.data, v.data, y.data)
    /// Softmax(α·Q·Kᵀ) of one (batch, head) into `p` (T×S, row stride S); with `output`, also P·V into y.
    func probabilities(_ b: Int, _ h: Int, into p: UnsafeMutablePointer<Float>, output: Bool) {
        let qh = pq + b * t * ldq + h * dh
        let kvOff = b * sMax * ldk + (h / group) * dh
        for (i0, i1, kl) in blocks {
            let pb = p + i0 * s
            GEMM.sgemm(transA: false, transB: true, m: i1 - i0, n: kl, k: dh, alpha: alpha,
                       a: qh + i0 * ldq, lda: ldq, b: pk + kvOff, ldb: ldk, beta: 0, c: pb, ldc: s)
            for i in i0..<i1 {
                let row = p + i * s
                let limit = mask.causal ? max(0, min(s, mask.queryOffset + i + 1)) : s
                if let pad = mask.keyPadding {
                    for j in 0..<limit where !pad[b * padStride + j] { row[j] = -.infinity }
                }
                softmaxRow(row, row, limit)
                // Zero the unseen keys up to this block's width; columns past it are never read.
                if limit < kl { (row + limit).update(repeating: 0, count: kl - limit) }
            }
            if output {
                GEMM.sgemm(transA: false, transB: false, m: i1 - i0, n: dh, k: kl, alpha: 1,
                           a: pb, lda: s, b: pv + kvOff, ldb: ldk, beta: 0, c: py + b * t * ldq + h * dh + i0 * ldq, ldc: ldq)
            }
        }
    }
    let pp = probs.data
    Parallel.forEach(bsz * heads, workers: workers) { unit, worker in
        probabilities(unit / heads, unit % heads, into: pp + (keep ? unit : worker) * t * s, output: true)
    }
    guard record else { return y }
    let keptProbs: Tensor? = keep ? probs : nil  // lives as long as the tape entry; the forward's scratch does not
    return y.record([q, k, v]) { g in
        let pg = g.data
        let kept = keptProbs?.data
        let gq = q.requiresGrad ? q.gradPointer() : nil
        let gk = k.requiresGrad ? k.gradPointer() : nil
        let gv = v.requiresGrad ? v.gradPointer() : nil
        // One unit per (batch, kv head) so the heads sharing a kv head accumulate dK/dV on one worker.
        let workers = Parallel.workers(for: bsz * kvHeads)
        let perWorker = (kept == nil ? 2 : 1) * t * s  // dS, and the recomputed P when none was kept
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { scratch.deallocate() }
        Parallel.forEach(bsz * kvHeads, workers: workers) { unit, worker in
            let ds = scratch + worker * perWorker, recomputed = ds + t * s
            let (b, kvh) = (unit / kvHeads, unit % kvHeads)
            for h in (kvh * group)..<((kvh + 1) * group) {
                // The forward's probabilities: kept, or recomputed bit for bit.
                let p = kept.map { $0 + (b * heads + h) * t * s } ?? recomputed
                if kept == nil { probabilities(b, h, into: p, output: false) }
                let qOff = b * t * ldq + h * dh
                let kvOff = b * sMax * ldk + kvh * dh
                for (i0, i1, kl) in blocks {
                    let m = i1 - i0
                    let pb = p + i0 * s, go = pg + qOff + i0 * ldq, db = ds + i0 * s
                    if let gv {  // dV += Pᵀ·dO (heads of a group accumulate into the same kv head)
                        GEMM.sgemm(transA: true, transB: false, m: kl, n: dh, k: m, alpha: 1,
                                   a: pb, lda: s, b: go, ldb: ldq, beta: 1, c: gv + kvOff, ldc: ldk)
                    }
                    guard gq != nil || gk != nil else { continue }
                    // dP = dO·Vᵀ, then dS = P ∘ (dP − rowsum(dP ∘ P)); masked entries have P = 0.
                    GEMM.sgemm(transA: false, transB: true, m: m, n: kl, k: dh, alpha: 1,
                               a: go, lda: ldq, b: pv + kvOff, ldb: ldk, beta: 0, c: db, ldc: s)
                    for i in 0..<m {
                        let pr = pb + i * s, dr = db + i * s
                        let dot = vdot(pr, dr, kl)
                        var j = 0
                        let d8 = F8(repeating: dot)
                        while j + 8 <= kl { store8(load8(pr + j) * (load8(dr + j) - d8), dr + j); j += 8 }
                        while j < kl { dr[j] = pr[j] * (dr[j] - dot); j += 1 }
                    }
                    if let gq {
                        GEMM.sgemm(transA: false, transB: false, m: m, n: dh, k: kl, alpha: alpha,
                                   a: db, lda: s, b: pk + kvOff, ldb: ldk, beta: 1, c: gq + qOff + i0 * ldq, ldc: ldq)
                    }
                    if let gk {
                        GEMM.sgemm(transA: true, transB: false, m: kl, n: dh, k: m, alpha: alpha,
                                   a: db, lda: s, b: pq + qOff + i0 * ldq, ldb: ldq, beta: 1, c: gk + kvOff, ldc: ldk)
                    }
                }
            }
        }
    }
}

/// Up to this many probabilities (B·H·T·S floats, 64 MB) a recorded attention keeps for its backward pass; past it,
/// backward recomputes them. Either way gives the same bits; tests set 0 to check that.
public enum AttentionMemory {
    nonisolated(unsafe) public static var keptProbabilityFloats = 16 << 20
}

/// Query blocks `(first, end, visibleKeys)`: one block without a causal mask; 64-row blocks with one.
private func queryBlocks(t: Int, s: Int, mask: AttentionMask) -> [(Int, Int, Int)] {
    guard mask.causal else { return [(0, t, s)] }
    let size = 64
    return stride(from: 0, to: t, by: size).map { i0 in
        let i1 = min(t, i0 + size)
        return (i0, i1, max(0, min(s, mask.queryOffset + i1)))
    }
}
