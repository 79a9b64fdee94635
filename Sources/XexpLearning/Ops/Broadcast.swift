/// NumPy/PyTorch broadcasting between two shapes, walked one output row (last dimension) at a time so
/// inner loops stay simple strided loops the compiler can vectorise.
struct Broadcast {
    let outShape: [Int]
    /// Element strides of each operand per output dimension; 0 where the operand is broadcast.
    let aStrides: [Int]
    let bStrides: [Int]

    init(_ a: [Int], _ b: [Int]) {
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        var out = [Int](repeating: 1, count: rank)
        for d in 0..<rank {
            precondition(pa[d] == pb[d] || pa[d] == 1 || pb[d] == 1,
                         "shapes \(a) and \(b) do not broadcast (dimension \(d): \(pa[d]) vs \(pb[d]))")
            out[d] = max(pa[d], pb[d])
        }
        func strides(_ s: [Int]) -> [Int] {
            var st = [Int](repeating: 0, count: rank)
            var acc = 1
            for d in stride(from: rank - 1, through: 0, by: -1) {
                st[d] = s[d] == 1 && out[d] != 1 ? 0 : acc
                acc *= s[d]
            }
            return st
        }
        outShape = out
        aStrides = strides(pa)
        bStrides = strides(pb)
    }

    /// Calls `body(outOffset, aOffset, bOffset, rowLength, aStep, bStep)` for every output row.
    func forEachRow(_ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let rank = outShape.count
        if rank == 0 { body(0, 0, 0, 1, 0, 0); return }
        let n = outShape[rank - 1]
        let rows = outShape.dropLast().reduce(1, *)
        var index = [Int](repeating: 0, count: max(rank - 1, 0))
        var aOff = 0, bOff = 0
        for r in 0..<rows {
            body(r * n, aOff, bOff, n, aStrides[rank - 1], bStrides[rank - 1])
            // Odometer increment over the outer dimensions, updating offsets incrementally.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                aOff += aStrides[d]
                bOff += bStrides[d]
                if index[d] < outShape[d] { break }
                aOff -= aStrides[d] * outShape[d]
                bOff -= bStrides[d] * outShape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}
