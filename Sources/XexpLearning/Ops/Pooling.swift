/// Average pooling on channels-last grids `[B, H, W, C]`.

/// Adaptive average pooling to `k×k` with PyTorch's bins: cell i covers rows
/// `floor(i·H/k) ..< ceil((i+1)·H/k)` (for 24 → 12 this is exact 2×2 mean pooling, as LDPv2 uses).
public func adaptiveAvgPool(_ x: Tensor, outputSize k: Int) -> Tensor {
    precondition(x.rank == 4, "adaptiveAvgPool expects a channels-last grid [B, H, W, C], got \(x.shape)")
    let (bsz, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(k >= 1 && k <= h && k <= w, "adaptiveAvgPool: output \(k)×\(k) from a \(h)×\(w) grid")
    func bins(_ n: Int) -> [(Int, Int)] { (0..<k).map { ($0 * n / k, (($0 + 1) * n + k - 1) / k) } }
    let rowsB = bins(h), colsB = bins(w)
    let y = Tensor.zeros([bsz, k, k, c])
    let (px, py) = (x.data, y.data)
    for b in 0..<bsz {
        for (oy, (y0, y1)) in rowsB.enumerated() {
            for (ox, (x0, x1)) in colsB.enumerated() {
                let out = py + ((b * k + oy) * k + ox) * c
                let inv = 1 / Float((y1 - y0) * (x1 - x0))
                for iy in y0..<y1 { for ix in x0..<x1 {
                    let inp = px + ((b * h + iy) * w + ix) * c
                    for ch in 0..<c { out[ch] += inp[ch] }
                } }
                for ch in 0..<c { out[ch] *= inv }
            }
        }
    }
    return y.record([x]) { g in
        let gx = x.gradPointer(), pg = g.data
        for b in 0..<bsz {
            for (oy, (y0, y1)) in rowsB.enumerated() {
                for (ox, (x0, x1)) in colsB.enumerated() {
                    let go = pg + ((b * k + oy) * k + ox) * c
                    let inv = 1 / Float((y1 - y0) * (x1 - x0))
                    for iy in y0..<y1 { for ix in x0..<x1 {
                        let gi = gx + ((b * h + iy) * w + ix) * c
                        for ch in 0..<c { gi[ch] += go[ch] * inv }
                    } }
                }
            }
        }
    }
}

/// Global average pooling `[B, H, W, C] → [B, 1, 1, C]` (kept 4-D so it broadcasts back over the grid,
/// as squeeze-excitation needs).
public func globalAvgPool(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "globalAvgPool expects a channels-last grid [B, H, W, C], got \(x.shape)")
    let (bsz, hw, c) = (x.shape[0], x.shape[1] * x.shape[2], x.shape[3])
    let y = Tensor.zeros([bsz, 1, 1, c])
    let (px, py) = (x.data, y.data)
    let inv = 1 / Float(hw)
    for b in 0..<bsz {
        let out = py + b * c
        for p in 0..<hw { let inp = px + (b * hw + p) * c; for ch in 0..<c { out[ch] += inp[ch] } }
        for ch in 0..<c { out[ch] *= inv }
    }
    return y.record([x]) { g in
        let gx = x.gradPointer(), pg = g.data
        for b in 0..<bsz {
            let go = pg + b * c
            for p in 0..<hw { let gi = gx + (b * hw + p) * c; for ch in 0..<c { gi[ch] += go[ch] * inv } }
        }
    }
}
