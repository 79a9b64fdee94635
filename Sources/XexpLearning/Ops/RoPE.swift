import Foundation

/// Rotary position embedding, HF LLaMA convention (`rotate_half`: dimension i pairs with i + Dh/2).
///
/// `x` is `[B, T, H·Dh]` (a q or k projection, heads side by side). Positions are `positionOffset + t`
/// unless `positions` gives them explicitly (T values shared by the batch, or B·T values). The angle
/// table is computed in float32 exactly as HF does (`inv_freq = 1 / base^(2i/Dh)`, `freqs = pos·inv_freq`)
/// so results match PyTorch to rounding.
public func rope(_ x: Tensor, heads: Int, positionOffset: Int = 0, positions: [Int32]? = nil, base: Float = 10000) -> Tensor {
    precondition(x.rank == 3, "rope expects [B, T, H·Dh], got \(x.shape)")
    let (bsz, t, w) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(w % heads == 0 && (w / heads) % 2 == 0, "rope: width \(w) with \(heads) heads needs an even head dimension")
    let dh = w / heads, half = dh / 2
    if let positions { precondition(positions.count == t || positions.count == bsz * t, "rope: \(positions.count) positions for B=\(bsz), T=\(t)") }
    let perBatch = (positions?.count ?? 0) == bsz * t && bsz > 1
    let tableRows = perBatch ? bsz * t : t
    var invFreq = [Float](repeating: 0, count: half)
    for i in 0..<half { invFreq[i] = 1 / powf(base, Float(2 * i) / Float(dh)) }
    var cosT = [Float](repeating: 0, count: tableRows * half)
    var sinT = [Float](repeating: 0, count: tableRows * half)
    for r in 0..<tableRows {
        let pos = Float(positions.map { Int($0[r]) } ?? (positionOffset + r))
        for i in 0..<half {
            let a = pos * invFreq[i]
            cosT[r * half + i] = cosf(a)
            sinT[r * half + i] = sinf(a)
        }
    }
    let y = Tensor(shape: x.shape)
    let (px, py) = (x.data, y.data)
    // direction +1 rotates forward; -1 applies the transpose (inverse) rotation for backward.
    func rotate(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ direction: Float, accumulate: Bool) {
        cosT.withUnsafeBufferPointer { cb in
            sinT.withUnsafeBufferPointer { sb in
                for b in 0..<bsz {
                    for ti in 0..<t {
                        let row = (b * t + ti)
                        let tr = (perBatch ? row : ti) * half
                        for h in 0..<heads {
                            let o = row * w + h * dh
                            for i in 0..<half {
                                let c = cb[tr + i], sn = sb[tr + i] * direction
                                let x1 = src[o + i], x2 = src[o + i + half]
                                let y1 = x1 * c - x2 * sn, y2 = x2 * c + x1 * sn
                                if accumulate { dst[o + i] += y1; dst[o + i + half] += y2 } else { dst[o + i] = y1; dst[o + i + half] = y2 }
                            }
                        }
                    }
                }
            }
        }
    }
    rotate(px, py, 1, accumulate: false)
    return y.record([x]) { g in rotate(g.data, x.gradPointer(), -1, accumulate: true) }
}
