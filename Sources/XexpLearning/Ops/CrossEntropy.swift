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
    for (r, t) in targets.enumerated() where t != ignoreIndex {
        precondition(t >= 0 && Int(t) < v, "crossEntropy: target \(t) at row \(r) is outside 0..<\(v)")
    }
    let used = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    let lse = UnsafeMutablePointer<Float>.allocate(capacity: max(rows, 1))
    let workers = Parallel.workers(count: rows, elements: rows * v)
    // One partial sum per fixed block of rows, added in block order: the loss's bits do not depend on the
    // thread count (see Parallel.reductionBlocks). Each block has its own exp scratch row.
    let blocks = Parallel.blocks(rows)
    var partial = [Double](repeating: 0, count: blocks)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blocks * v)
    defer { scratch.deallocate() }
    partial.withUnsafeMutableBufferPointer { part in
        _ = Parallel.reductionChunks(rows, workers: workers) { range, b in
            var acc = 0.0
            for r in range where targets[r] != ignoreIndex {
                let xr = px + r * v
                let m = vmax(xr, v)
                let s = expShifted(xr, scratch + b * v, v, shift: m)
                lse[r] = m + logf(s)
                acc += Double(lse[r] - xr[Int(targets[r])])
            }
            part[b] = acc
        }
    }
    let total = partial.reduce(0, +)
    let y = Tensor(shape: [], values: [used > 0 ? Float(total / Double(used)) : 0])
    let lseKeep = LSEBuffer(lse)
    return y.record([logits]) { g in
        guard used > 0 else { return }
        let gx = logits.gradPointer()
        let scale = g.data[0] / Float(used)
        let lse = lseKeep.pointer
        Parallel.chunks(rows, workers: workers) { range, _ in
            for r in range where targets[r] != ignoreIndex {
                let xr = px + r * v, gr = gx + r * v, l = lse[r]
                var j = 0
                while j + 8 <= v { store8(load8(gr + j) + exp8(load8(xr + j) - l) * scale, gr + j); j += 8 }
                while j < v { gr[j] += fastExp(xr[j] - l) * scale; j += 1 }
                gr[Int(targets[r])] -= scale
            }
        }
    }
}

/// Owns the per-row log-sum-exp between forward and backward (freed with the tape node).
private final class LSEBuffer {
    let pointer: UnsafeMutablePointer<Float>
    init(_ p: UnsafeMutablePointer<Float>) { pointer = p }
    deinit { pointer.deallocate() }
}
