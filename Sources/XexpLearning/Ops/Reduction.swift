/// Reductions along one axis, broadcasting to a shape, and argmax (for greedy decoding).

extension Tensor {
    /// Sum over `axis`; the axis is kept with extent 1 when `keepingDimension` (so it broadcasts back).
    public func sum(axis: Int, keepingDimension: Bool = false) -> Tensor {
        precondition(axis >= 0 && axis < rank, "sum(axis:) axis \(axis) out of range for shape \(shape)")
        let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var s = shape
        if keepingDimension { s[axis] = 1 } else { s.remove(at: axis) }
        let x = self
        let y = Tensor.zeros(s)
        let (px, py) = (data, y.data)
        for o in 0..<outer {
            for i in 0..<n {
                let src = px + (o * n + i) * inner, dst = py + o * inner
                for j in 0..<inner { dst[j] += src[j] }
            }
        }
        return y.record([x]) { g in
            let gx = x.gradPointer(), pg = g.data
            for o in 0..<outer {
                for i in 0..<n {
                    let dst = gx + (o * n + i) * inner, src = pg + o * inner
                    for j in 0..<inner { dst[j] += src[j] }
                }
            }
        }
    }

    /// Mean over `axis` (e.g. mean-pooling tokens `[B, N, D] → [B, D]` with axis 1).
    public func mean(axis: Int, keepingDimension: Bool = false) -> Tensor {
        sum(axis: axis, keepingDimension: keepingDimension).affine(scale: 1 / Float(shape[axis]))
    }

    /// This tensor repeated to `shape` by broadcasting rules (e.g. a learned `[1, 1, D]` CLS token to
    /// `[B, 1, D]` before ``concat(_:axis:)``); the gradient sums back over the repeats.
    public func broadcast(to newShape: [Int]) -> Tensor {
        precondition(Broadcast(shape, newShape).outShape == newShape, "cannot broadcast \(shape) to \(newShape)")
        return self + Tensor.zeros(newShape)
    }

    /// Index of the largest value along the last dimension, per row (ties: the first), e.g. greedy
    /// next-token choice from logits `[B, V]`.
    public func argmaxLastDimension() -> [Int32] {
        let d = shape[rank - 1], rows = count / max(d, 1)
        return (0..<rows).map { r in
            let row = data + r * d
            var best = 0
            for j in 1..<max(d, 1) where row[j] > row[best] { best = j }
            return Int32(best)
        }
    }
}
