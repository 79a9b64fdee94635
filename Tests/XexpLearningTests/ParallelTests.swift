import Testing
@testable import XexpLearning

/// The parallel paths only engage above ~32 K elements, which the small parity fixtures never reach:
/// run sizes that do, with a thread budget of 1, 2 and 4, and require the same values and gradients bit for
/// bit — a job's result must not depend on the machine's core count or `--jobs` (reductions are split into
/// fixed blocks, never per worker). The products are large enough for OpenBLAS to use its threads too.
@Test("parallel kernels give the serial ones' bits at 1, 2 and 4 threads")
func parallelMatchesSerial() {
    func run(threads: Int) -> [[Float]] {
        let saved = BLAS.threadCount
        BLAS.threadCount = threads
        defer { BLAS.threadCount = saved }
        var rng = Philox(seed: 21)
        let x = nonZero([4, 64, 128], &rng)
        let w = nonZero([128], &rng)
        let gate = nonZero([4, 64, 160], &rng), up = nonZero([4, 64, 160], &rng)
        let q = nonZero([4, 64, 128], &rng), k = nonZero([4, 64, 64], &rng), v = nonZero([4, 64, 64], &rng)
        let head = nonZero([1024, 128], &rng, scale: 0.1)
        let wide = nonZero([384, 128], &rng, scale: 0.1)
        let lb = nonZero([128], &rng)
        let h = rmsNorm(x, weight: w) + layerNorm(x, weight: w, bias: lb)
        let a = attention(q: q, k: k, v: v, heads: 4, kvHeads: 2, mask: .causal)
        let logits = linear(matmul(linear(h + a, weight: wide).gelu(), wide) + h, weight: head)
        let targets = (0..<256).map { Int32(($0 * 37) % 1024) }
        let loss = crossEntropy(logits: logits, targets: targets) + swiglu(gate: gate, up: up).mean() + (gate - up).gelu().mean()
        loss.backward()
        return [loss.values] + [x, w, lb, gate, up, q, k, v, head, wide].map { $0.grad!.values }
    }
    let serial = run(threads: 1)
    for threads in [2, 4] {
        let parallel = run(threads: threads)
        for (i, (a, b)) in zip(serial, parallel).enumerated() {
            let firstDifference = a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
            #expect(firstDifference == nil, "result \(i) differs at \(threads) threads from element \(firstDifference ?? 0)")
        }
    }
}

/// Long sequences recompute attention probabilities in backward instead of keeping them (memory); short ones keep
/// them (speed). Both must give the same bits, or a job's result would depend on its sequence length's memory path.
@Test("attention's backward gives the same bits whether it keeps or recomputes the probabilities")
func attentionKeepsOrRecomputesTheSameBits() {
    func run(keptFloats: Int) -> [[Float]] {
        let saved = AttentionMemory.keptProbabilityFloats
        AttentionMemory.keptProbabilityFloats = keptFloats
        defer { AttentionMemory.keptProbabilityFloats = saved }
        var rng = Philox(seed: 5)
        let q = nonZero([3, 70, 64], &rng), k = nonZero([3, 70, 16], &rng), v = nonZero([3, 70, 16], &rng)
        let pad = (0..<(3 * 70)).map { $0 % 70 < 70 - ($0 / 70) * 9 }  // rows padded by 0, 9 and 18 keys
        let y = attention(q: q, k: k, v: v, heads: 8, kvHeads: 2, mask: AttentionMask(causal: true, keyPadding: pad))
        (y * y).mean().backward()
        return [y.values] + [q, k, v].map { $0.grad!.values }
    }
    let kept = run(keptFloats: .max), recomputed = run(keptFloats: 0)
    for (i, (a, b)) in zip(kept, recomputed).enumerated() {
        let firstDifference = a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
        #expect(a.count == b.count && firstDifference == nil, "output/gradient \(i) differs from element \(firstDifference ?? 0)")
    }
}
