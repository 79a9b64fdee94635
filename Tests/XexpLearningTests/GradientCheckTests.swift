import Testing
@testable import XexpLearning

/// Every op against central finite differences (h = 1e-2, float32 forward, double-accumulated probe).
/// Tolerance: max|numeric − analytic| ≤ 5e-3 · max(1, max|analytic|) unless a case states otherwise.
/// Inputs are random and never zero; activation inputs avoid the kinks at 0 and ±3.
struct GradientCase: CustomTestStringConvertible, Sendable {
    let name: String
    let shapes: [[Int]]
    var tol: Double = 5e-3
    let f: @Sendable ([Tensor]) -> Tensor
    var testDescription: String { name }
}

let gradientCases: [GradientCase] = [
    .init(name: "matmul", shapes: [[2, 3, 4], [2, 4, 5]]) { matmul($0[0], $0[1]) },
    .init(name: "matmul transposeA", shapes: [[2, 4, 3], [2, 4, 5]]) { matmul($0[0], $0[1], transposeA: true) },
    .init(name: "matmul transposeB", shapes: [[2, 3, 4], [2, 5, 4]]) { matmul($0[0], $0[1], transposeB: true) },
    .init(name: "matmul both transposed", shapes: [[2, 4, 3], [2, 5, 4]]) { matmul($0[0], $0[1], transposeA: true, transposeB: true) },
    .init(name: "matmul shared b", shapes: [[2, 3, 4], [4, 5]]) { matmul($0[0], $0[1]) },
    .init(name: "matmul shared bᵀ", shapes: [[2, 3, 4], [5, 4]]) { matmul($0[0], $0[1], transposeB: true) },
    .init(name: "linear", shapes: [[2, 3, 5], [4, 5], [4]]) { linear($0[0], weight: $0[1], bias: $0[2]) },
    .init(name: "conv1x1", shapes: [[1, 2, 3, 4], [3, 4, 1, 1], [3]]) { conv1x1($0[0], weight: $0[1], bias: $0[2]) },
    .init(name: "add broadcast", shapes: [[2, 3, 4], [4]]) { $0[0] + $0[1] },
    .init(name: "sub broadcast both", shapes: [[2, 1, 4], [3, 1]]) { $0[0] - $0[1] },
    .init(name: "mul channel scale", shapes: [[2, 3, 3, 4], [2, 1, 1, 4]]) { $0[0] * $0[1] },
    .init(name: "div", shapes: [[2, 3], [2, 3]]) { $0[0] / $0[1] },
    .init(name: "scalar affine, sum, mean", shapes: [[3, 4]]) { ($0[0] * 1.5 + 0.25).mean() },
    .init(name: "relu", shapes: [[4, 6]]) { $0[0].relu() },
    .init(name: "silu", shapes: [[4, 6]]) { $0[0].silu() },
    .init(name: "gelu", shapes: [[4, 6]]) { $0[0].gelu() },
    .init(name: "mish", shapes: [[4, 6]]) { $0[0].mish() },
    .init(name: "hardswish", shapes: [[4, 6]]) { ($0[0] * 3).hardswish() },
    .init(name: "hardsigmoid", shapes: [[4, 6]]) { ($0[0] * 3).hardsigmoid() },
    .init(name: "swiglu", shapes: [[3, 8], [3, 8]]) { swiglu(gate: $0[0], up: $0[1]) },
    .init(name: "softmax", shapes: [[3, 7]]) { softmax($0[0]) },
    .init(name: "rmsNorm", shapes: [[2, 3, 8], [8]]) { rmsNorm($0[0], weight: $0[1]) },
    .init(name: "layerNorm", shapes: [[2, 3, 8], [8], [8]]) { layerNorm($0[0], weight: $0[1], bias: $0[2]) },
    .init(name: "channelLayerNorm", shapes: [[1, 2, 2, 6], [6], [6]]) { channelLayerNorm($0[0], weight: $0[1], bias: $0[2]) },
    .init(name: "embedding", shapes: [[7, 4]]) { embedding([1, 4, 4, 0, 6, 2], table: $0[0], shape: [2, 3]) },
    .init(name: "crossEntropy with ignore", shapes: [[6, 10]]) { crossEntropy(logits: $0[0], targets: [3, -100, 0, 9, -100, 5]) },
    .init(name: "rope", shapes: [[2, 5, 16]]) { rope($0[0], heads: 2, positionOffset: 3) },
    .init(name: "attention GQA causal padded", shapes: [[2, 5, 16], [2, 5, 8], [2, 5, 8]]) {
        attention(q: $0[0], k: $0[1], v: $0[2], heads: 4, kvHeads: 2,
                  mask: AttentionMask(causal: true, keyPadding: [true, true, true, true, true, true, true, true, false, false]))
    },
    .init(name: "attention MHA cross-length", shapes: [[2, 3, 8], [2, 5, 8], [2, 5, 8]]) {
        attention(q: $0[0], k: $0[1], v: $0[2], heads: 2, kvHeads: 2)
    },
    .init(name: "depthwise 3×3 stride 1 bias", shapes: [[2, 5, 5, 3], [3, 1, 3, 3], [3]]) {
        depthwiseConv3x3($0[0], weight: $0[1], bias: $0[2], stride: 1)
    },
    .init(name: "depthwise 3×3 stride 2", shapes: [[1, 6, 6, 3], [3, 1, 3, 3]]) { depthwiseConv3x3($0[0], weight: $0[1], stride: 2) },
    .init(name: "adaptiveAvgPool uneven", shapes: [[1, 5, 5, 2]]) { adaptiveAvgPool($0[0], outputSize: 3) },
    .init(name: "globalAvgPool", shapes: [[2, 3, 3, 2]]) { globalAvgPool($0[0]) },
    .init(name: "patchify", shapes: [[1, 4, 6, 2]]) { patchify($0[0], patch: 2) },
    .init(name: "regroupTokens", shapes: [[2, 8, 3]]) { $0[0].regroupTokens(factor: 4).affine(scale: 2) },
    .init(name: "concat", shapes: [[2, 3, 4], [2, 2, 4]]) { concat([$0[0], $0[1]], axis: 1) },
    .init(name: "slice", shapes: [[2, 6, 4]]) { $0[0].slice(axis: 1, 1..<4) },
    .init(name: "mean(axis:)", shapes: [[2, 5, 3]]) { $0[0].mean(axis: 1) },
    .init(name: "broadcast(to:) + concat", shapes: [[1, 1, 4], [2, 3, 4]]) { concat([$0[0].broadcast(to: [2, 1, 4]), $0[1]], axis: 1) },
]

@Test("finite-difference gradient", arguments: gradientCases)
func finiteDifference(_ c: GradientCase) {
    var rng = Philox(seed: 42)
    let inputs = c.shapes.map { nonZero($0, &rng) }
    gradientCheck(inputs, tol: c.tol, c.f)
}

@Test("LLaMA decoder block composes to correct gradients")
func decoderBlockFiniteDifference() {
    var rng = Philox(seed: 5)
    let x = nonZero([1, 4, 16], &rng)
    let p = DecoderBlockWeights.random(width: 16, heads: 2, kvHeads: 1, intermediate: 24, rng: &rng)
    gradientCheck([x] + p.all, tol: 1e-2) { t in
        DecoderBlockWeights(list: Array(t.dropFirst())).forward(t[0], heads: 2, kvHeads: 1, keyPadding: nil)
    }
}
