/// Shape manipulation: reshape (a view), token regrouping, concatenation and slicing.

extension Tensor {
    /// The same elements under a new shape (shares storage; one dimension may be -1).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            s[i] = count / known
        }
        precondition(s.reduce(1, *) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let x = self
        let y = Tensor(shape: s, storage: storage, requiresGrad: false)
        return y.record([x]) { g in
            let gx = x.gradPointer(), pg = g.data
            for i in 0..<g.count { gx[i] += pg[i] }
        }
    }

    /// XDP's token regrouping `[B, N, D] → [B, N/f, f·D]`: each new token concatenates f consecutive
    /// tokens. In row-major storage that is exactly a reshape, so it costs nothing.
    public func regroupTokens(factor f: Int) -> Tensor {
        precondition(rank == 3, "regroupTokens expects [B, N, D], got \(shape)")
        precondition(f >= 1 && shape[1] % f == 0, "regroupTokens: factor \(f) does not divide \(shape[1]) tokens")
        return reshaped([shape[0], shape[1] / f, f * shape[2]])
    }

    /// Elements `range` along `axis` (a copy).
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        precondition(axis >= 0 && axis < rank && range.lowerBound >= 0 && range.upperBound <= shape[axis],
                     "slice \(range) on axis \(axis) out of bounds for shape \(shape)")
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let n = range.count * inner, src = shape[axis] * inner, start = range.lowerBound * inner
        var s = shape
        s[axis] = range.count
        let x = self
        let y = Tensor(shape: s)
        for o in 0..<outer { (y.data + o * n).update(from: data + o * src + start, count: n) }
        return y.record([x]) { g in
            let gx = x.gradPointer(), pg = g.data
            for o in 0..<outer { let d = gx + o * src + start, sp = pg + o * n; for i in 0..<n { d[i] += sp[i] } }
        }
    }
}

/// Concatenates tensors along `axis`; all other dimensions must agree.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concat of no tensors")
    let first = tensors[0].shape
    precondition(axis >= 0 && axis < first.count, "concat axis \(axis) out of range for rank \(first.count)")
    for t in tensors {
        precondition(t.rank == first.count && (0..<first.count).allSatisfy { $0 == axis || t.shape[$0] == first[$0] },
                     "concat: shape \(t.shape) does not match \(first) outside axis \(axis)")
    }
    let outer = first[..<axis].reduce(1, *), inner = first[(axis + 1)...].reduce(1, *)
    var s = first
    s[axis] = tensors.map { $0.shape[axis] }.reduce(0, +)
    let rowOut = s[axis] * inner
    let y = Tensor(shape: s)
    var offsets: [Int] = []
    var off = 0
    for t in tensors {
        offsets.append(off)
        let n = t.shape[axis] * inner
        for o in 0..<outer { (y.data + o * rowOut + off).update(from: t.data + o * n, count: n) }
        off += n
    }
    return y.record(tensors) { g in
        for (t, start) in zip(tensors, offsets) where t.requiresGrad {
            let gt = t.gradPointer(), n = t.shape[axis] * inner
            for o in 0..<outer { let src = g.data + o * rowOut + start, d = gt + o * n; for i in 0..<n { d[i] += src[i] } }
        }
    }
}
