import Foundation
import Testing
@testable import XexpLearning

@Test("frozen weights get no gradient; gradients still flow to trainable layers before them")
func frozenParameters() {
    var rng = Philox(seed: 3)
    let x = nonZero([4, 6], &rng, requiresGrad: false)
    let w1 = nonZero([5, 6], &rng), w2 = nonZero([3, 5], &rng)
    func loss() -> Tensor { linear(linear(x, weight: w1).gelu(), weight: w2).sum() }
    loss().backward()
    let reference = w1.grad!.values
    w1.grad = nil; w2.grad = nil
    w2.requiresGrad = false  // stage 1: a frozen LLM after a trainable projector
    loss().backward()
    #expect(w2.grad == nil)
    #expect(w1.grad?.values == reference)
}

@Test("no tape is recorded without trainable inputs or under noGrad")
func inferenceRecordsNothing() {
    var rng = Philox(seed: 4)
    let w = nonZero([3, 3], &rng)
    let y = Autograd.noGrad { linear(nonZero([2, 3], &rng, requiresGrad: false), weight: w).silu() }
    #expect(!y.requiresGrad && y.node == nil)
    #expect(Autograd.isEnabled)
    let z = linear(nonZero([2, 3], &rng, requiresGrad: false), weight: w.detached())
    #expect(!z.requiresGrad && z.node == nil)
}

@Test("a tensor used twice accumulates both gradient paths")
func sharedUse() {
    let x = Tensor(shape: [3], values: [1, 2, 3], requiresGrad: true)
    (x * x + x).sum().backward()
    #expect(x.grad?.values == [3, 5, 7])
}

@Test("KV-cache decoding with keyLength/queryOffset equals full causal attention", arguments: [1, 2])
func kvCacheAttention(kvHeads: Int) {
    var rng = Philox(seed: 9)
    let (b, t, heads, dh, cap) = (2, 6, 2, 4, 8)
    let q = nonZero([b, t, heads * dh], &rng, requiresGrad: false)
    let k = nonZero([b, t, kvHeads * dh], &rng, requiresGrad: false)
    let v = nonZero([b, t, kvHeads * dh], &rng, requiresGrad: false)
    let full = attention(q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, mask: .causal)
    let cache = KVCache(batch: b, capacity: cap, width: kvHeads * dh)
    for step in 0..<t {
        cache.append(keys: k.slice(axis: 1, step..<(step + 1)), values: v.slice(axis: 1, step..<(step + 1)))
        let qs = q.slice(axis: 1, step..<(step + 1))
        let out = attention(q: qs, k: cache.keys, v: cache.values, heads: heads, kvHeads: kvHeads,
                            mask: AttentionMask(causal: true, queryOffset: cache.length - 1), keyLength: cache.length)
        #expect(relativeError(out, full.slice(axis: 1, step..<(step + 1))) < 1e-6)
    }
}

@Test("a query with every key padded outputs zeros, not NaN")
func fullyMaskedQuery() {
    var rng = Philox(seed: 10)
    let q = nonZero([1, 2, 4], &rng), k = nonZero([1, 2, 4], &rng), v = nonZero([1, 2, 4], &rng)
    let y = attention(q: q, k: k, v: v, heads: 1, kvHeads: 1, mask: AttentionMask(causal: true, keyPadding: [false, true]))
    #expect(Array(y.values[0..<4]) == [0, 0, 0, 0])
    y.sum().backward()
    #expect(q.grad!.values.allSatisfy { $0.isFinite })
}

@Test("cross-entropy with every target ignored is 0 with zero gradient")
func allIgnored() {
    let logits = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6], requiresGrad: true)
    let loss = crossEntropy(logits: logits, targets: [-100, -100])
    #expect(loss.item == 0)
    loss.backward()
    #expect(logits.grad == nil || logits.grad!.values.allSatisfy { $0 == 0 })
}

@Test("BLAS thread knob round-trips")
func blasThreads() {
    let saved = BLAS.threadCount
    BLAS.threadCount = 1
    #expect(BLAS.threadCount == 1)
    BLAS.threadCount = saved
}

@Test("vectorised exp is within 2 ulp-ish (3e-7 relative) of libm and exactly 0 for −∞")
func fastExpAccuracy() {
    var worst = 0.0
    var x: Float = -87
    while x < 88 {
        let ref = Foundation.exp(Double(x))
        worst = max(worst, abs(Double(fastExp(x)) - ref) / ref)
        x += 0.0137
    }
    #expect(worst < 3e-7, "worst relative error \(worst)")
    #expect(fastExp(-.infinity) == 0)
    #expect(exp8(F8(repeating: -1000)) == F8())
}

@Test("argmax picks the first maximum per row")
func argmax() {
    let t = Tensor(shape: [3, 4], values: [0, 3, 1, 3, -1, -2, -3, -4, 2, 2, 5, 4])
    #expect(t.argmaxLastDimension() == [1, 0, 2])
}
