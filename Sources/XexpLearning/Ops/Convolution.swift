/// Depthwise 3×3 convolution (padding 1, stride 1 or 2) on channels-last grids `[B, H, W, C]`.
///
/// The weight keeps PyTorch's layout `[C, 1, 3, 3]` so checkpoints map one to one; it is transposed to
/// `[9, C]` per call so the inner loop runs over contiguous channels of both input and weight.
public func depthwiseConv3x3(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1) -> Tensor {
    precondition(x.rank == 4, "depthwiseConv3x3 expects a channels-last grid [B, H, W, C], got \(x.shape)")
    precondition(stride == 1 || stride == 2, "depthwiseConv3x3 supports stride 1 or 2, got \(stride)")
    let (bsz, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(weight.count == c * 9, "depthwiseConv3x3: weight \(weight.shape) for \(c) channels (expected [\(c), 1, 3, 3])")
    if let bias { precondition(bias.count == c, "depthwiseConv3x3: bias \(bias.shape) for \(c) channels") }
    let ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1
    var wt = [Float](repeating: 0, count: 9 * c)
    for ch in 0..<c { for k in 0..<9 { wt[k * c + ch] = weight.data[ch * 9 + k] } }
    let y = Tensor(shape: [bsz, ho, wo, c])
    let (px, py) = (x.data, y.data)
    wt.withUnsafeBufferPointer { pw in
        for b in 0..<bsz {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    let out = py + ((b * ho + oy) * wo + ox) * c
                    if let pb = bias?.data { out.update(from: pb, count: c) } else { out.update(repeating: 0, count: c) }
                    for ky in 0..<3 {
                        let iy = oy * stride - 1 + ky
                        guard iy >= 0 && iy < h else { continue }
                        for kx in 0..<3 {
                            let ix = ox * stride - 1 + kx
                            guard ix >= 0 && ix < w else { continue }
                            let inp = px + ((b * h + iy) * w + ix) * c
                            let wk = pw.baseAddress! + (ky * 3 + kx) * c
                            for ch in 0..<c { out[ch] += inp[ch] * wk[ch] }
                        }
                    }
                }
            }
        }
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return y.record(inputs) { g in
        let pg = g.data
        let gx = x.requiresGrad ? x.gradPointer() : nil
        var gwt = [Float](repeating: 0, count: weight.requiresGrad ? 9 * c : 0)
        let gb = bias?.requiresGrad == true ? bias!.gradPointer() : nil
        wt.withUnsafeBufferPointer { pw in
            gwt.withUnsafeMutableBufferPointer { gw in
                for b in 0..<bsz {
                    for oy in 0..<ho {
                        for ox in 0..<wo {
                            let go = pg + ((b * ho + oy) * wo + ox) * c
                            if let gb { for ch in 0..<c { gb[ch] += go[ch] } }
                            for ky in 0..<3 {
                                let iy = oy * stride - 1 + ky
                                guard iy >= 0 && iy < h else { continue }
                                for kx in 0..<3 {
                                    let ix = ox * stride - 1 + kx
                                    guard ix >= 0 && ix < w else { continue }
                                    let off = ((b * h + iy) * w + ix) * c
                                    let k = (ky * 3 + kx) * c
                                    if let gx {
                                        let gi = gx + off, wk = pw.baseAddress! + k
                                        for ch in 0..<c { gi[ch] += go[ch] * wk[ch] }
                                    }
                                    if let gwp = gw.baseAddress {
                                        let inp = px + off, gk = gwp + k
                                        for ch in 0..<c { gk[ch] += go[ch] * inp[ch] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if weight.requiresGrad {
            let gw = weight.gradPointer()
            for ch in 0..<c { for k in 0..<9 { gw[ch * 9 + k] += gwt[k * c + ch] } }
        }
    }
}
