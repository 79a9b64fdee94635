import Foundation

/// Normalisations over the last dimension: RMSNorm (LLaMA), LayerNorm (ViT), and LayerNorm over the
/// channels of a channels-last grid (MobileVLM's LDP), which in our `[B, H, W, C]` layout is the same
/// computation. Each keeps its per-row reciprocal standard deviation for the backward pass.

/// `x · rsqrt(mean(x²) + eps) · weight` over the last dimension (HF `LlamaRMSNorm`).
public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float = 1e-5) -> Tensor {
    let d = x.shape[x.rank - 1]
    precondition(weight.count == d, "rmsNorm: weight \(weight.shape) for last dimension \(d)")
    let rows = x.count / d
    let y = Tensor(shape: x.shape)
    let rstd = Tensor(shape: [rows])  // a tensor so the closure owns it and the pool recycles it
    let (px, pw, py, ps) = (x.data, weight.data, y.data, rstd.data)
    let workers = Parallel.workers(count: rows, elements: x.count)
    Parallel.chunks(rows, workers: workers) { range, _ in
        for r in range {
            let xr = px + r * d, yr = py + r * d
            let s = 1 / sqrtf(vdot(xr, xr, d) / Float(d) + eps)
            ps[r] = s
            for j in 0..<d { yr[j] = xr[j] * s * pw[j] }
        }
    }
    return y.record([x, weight]) { g in
        let pg = g.data, ps = rstd.data
        let gx = x.requiresGrad ? x.gradPointer() : nil
        // Weight gradients are summed over rows: one partial row per fixed block of rows (not per worker,
        // so the sum's order does not depend on the thread count), reduced in block order at the end.
        let blocks = Parallel.blocks(rows)
        let partial = weight.requiresGrad ? Tensor.zeros([blocks, d]) : nil
        Parallel.reductionChunks(rows, workers: workers) { range, w in
            let gw = partial.map { $0.data + w * d }
            for r in range {
                let xr = px + r * d, gr = pg + r * d, s = ps[r]
                if let gw { for j in 0..<d { gw[j] += gr[j] * xr[j] * s } }
                if let gx {
                    // dx = s·(g·w − x̂·mean(g·w·x̂)), x̂ = x·s
                    var dot: Float = 0
                    for j in 0..<d { dot += gr[j] * pw[j] * xr[j] }
                    let c = dot * s * s / Float(d)
                    let gxr = gx + r * d
                    for j in 0..<d { gxr[j] += s * (gr[j] * pw[j] - xr[j] * c) }
                }
            }
        }
        if let partial {
            let gw = weight.gradPointer()
            for w in 0..<blocks { for j in 0..<d { gw[j] += partial.data[w * d + j] } }
        }
    }
}

/// LayerNorm over the last dimension with affine weight and bias (biased variance, as PyTorch).
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float = 1e-5) -> Tensor {
    let d = x.shape[x.rank - 1]
    precondition(weight.count == d && bias.count == d, "layerNorm: weight \(weight.shape) / bias \(bias.shape) for last dimension \(d)")
    let rows = x.count / d
    let y = Tensor(shape: x.shape)
    let stats = Tensor(shape: [rows, 2])  // mean, rstd per row
    let (px, pw, pb, py, ps) = (x.data, weight.data, bias.data, y.data, stats.data)
    let workers = Parallel.workers(count: rows, elements: x.count)
    Parallel.chunks(rows, workers: workers) { range, _ in
        for r in range {
            let xr = px + r * d, yr = py + r * d
            var sum: Float = 0
            for j in 0..<d { sum += xr[j] }
            let mean = sum / Float(d)
            var sq: Float = 0
            for j in 0..<d { let c = xr[j] - mean; sq += c * c }
            let s = 1 / sqrtf(sq / Float(d) + eps)
            ps[2 * r] = mean
            ps[2 * r + 1] = s
            for j in 0..<d { yr[j] = (xr[j] - mean) * s * pw[j] + pb[j] }
        }
    }
    return y.record([x, weight, bias]) { g in
        let pg = g.data, ps = stats.data
        let gx = x.requiresGrad ? x.gradPointer() : nil
        // Weight and bias gradients are sums over rows: partial rows per fixed block of rows (independent of
        // the thread count, as in rmsNorm), reduced in block order at the end.
        let needParams = weight.requiresGrad || bias.requiresGrad
        let blocks = Parallel.blocks(rows)
        let partial = needParams ? Tensor.zeros([blocks, 2, d]) : nil
        Parallel.reductionChunks(rows, workers: workers) { range, w in
            let gw = partial.map { $0.data + w * 2 * d }, gb = gw.map { $0 + d }
            for r in range {
                let xr = px + r * d, gr = pg + r * d
                let mean = ps[2 * r], s = ps[2 * r + 1]
                if let gw, let gb { for j in 0..<d { gw[j] += gr[j] * (xr[j] - mean) * s; gb[j] += gr[j] } }
                if let gx {
                    // dx = s·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = g·w
                    var m1: Float = 0, m2: Float = 0
                    for j in 0..<d {
                        let gh = gr[j] * pw[j]
                        m1 += gh
                        m2 += gh * (xr[j] - mean) * s
                    }
                    m1 /= Float(d); m2 /= Float(d)
                    let gxr = gx + r * d
                    for j in 0..<d { gxr[j] += s * (gr[j] * pw[j] - m1 - (xr[j] - mean) * s * m2) }
                }
            }
        }
        if let partial {
            let pp = partial.data
            if weight.requiresGrad {
                let gw = weight.gradPointer()
                for w in 0..<blocks { for j in 0..<d { gw[j] += pp[w * 2 * d + j] } }
            }
            if bias.requiresGrad {
                let gb = bias.gradPointer()
                for w in 0..<blocks { for j in 0..<d { gb[j] += pp[w * 2 * d + d + j] } }
            }
        }
    }
}

/// LayerNorm over the channels of a channels-last grid `[B, H, W, C]` (MobileVLM's `LayerNormAct2d`,
/// which PyTorch code writes as permute → LayerNorm → permute on NCHW).
public func channelLayerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float = 1e-5) -> Tensor {
    precondition(x.rank == 4, "channelLayerNorm expects a channels-last grid [B, H, W, C], got \(x.shape)")
    return layerNorm(x, weight: weight, bias: bias, eps: eps)
}

/// Softmax over the last dimension.
public func softmax(_ x: Tensor) -> Tensor {
    let d = x.shape[x.rank - 1]
    let rows = x.count / max(d, 1)
    let y = Tensor(shape: x.shape)
    let (px, py) = (x.data, y.data)
    for r in 0..<rows { softmaxRow(px + r * d, py + r * d, d) }
    let ys = y.storage
    return y.record([x]) { g in
        let gx = x.gradPointer(), pg = g.data, pyv = ys.pointer
        for r in 0..<rows {
            let yr = pyv + r * d, gr = pg + r * d
            let dot = vdot(gr, yr, d)
            let gxr = gx + r * d
            for j in 0..<d { gxr[j] += yr[j] * (gr[j] - dot) }
        }
    }
}

/// Numerically stable softmax of one row; a row that is entirely -inf (fully masked) becomes zeros
/// rather than NaN, so padded queries contribute nothing.
@inline(__always)
func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let m = vmax(x, n)
    if m == -.infinity { y.update(repeating: 0, count: n); return }
    let sum = expShifted(x, y, n, shift: m)
    vscale(y, n, 1 / sum)
}
