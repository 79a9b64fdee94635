import Foundation

/// Token-level cross-entropy, fused with log-softmax.
///
/// `logits` is `[..., V]`, `targets` holds one class per row (`Int32`, row-major over the leading
/// dimensions). Rows whose target equals `ignoreIndex` (-100, as PyTorch and HF label masking) are
/// skipped; the loss is the mean over the remaining rows. If every row is ignored the loss is 0 with a
/// zero gradient (PyTorch would return NaN, which would poison a training run).
public func crossEntropy(logits: Tensor, targets: [Int32], ignoreIndex: Int32 = -100) -> Tensor {
    let v = logits.shape[logits.rank - 1]
    let rows = logits.count / v
    precondition(targets.count == rows, "crossEntropy: \(targets.count) targets for \(rows) rows of logits \(logits.shape)")
    let px = logits.data
    var lse = [Float](repeating: 0, count: rows)
    var total = 0.0
    var used = 0
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: v)
    defer { scratch.deallocate() }
    for r in 0..<rows {
        let t = targets[r]
        if t == ignoreIndex { continue }
        precondition(t >= 0 && Int(t) < v, "crossEntropy: target \(t) at row \(r) is outside 0..<\(v)")
        let xr = px + r * v
        let m = vmax(xr, v)
        let s = expShifted(xr, scratch, v, shift: m)
        lse[r] = m + logf(s)
        total += Double(lse[r] - xr[Int(t)])
        used += 1
    }
    let y = Tensor(shape: [], values: [used > 0 ? Float(total / Double(used)) : 0])
    return y.record([logits]) { g in
        guard used > 0 else { return }
        let gx = logits.gradPointer()
        let scale = g.data[0] / Float(used)
        for r in 0..<rows {
            let t = targets[r]
            if t == ignoreIndex { continue }
            let xr = px + r * v, gr = gx + r * v, l = lse[r]
            var j = 0
            while j + 8 <= v { store8(load8(gr + j) + exp8(load8(xr + j) - l) * scale, gr + j); j += 8 }
            while j < v { gr[j] += fastExp(xr[j] - l) * scale; j += 1 }
            gr[Int(t)] -= scale
        }
    }
}
