/// Row lookup into an embedding table `[V, D]`. `ids` are row-major over `shape` (default `[ids.count]`);
/// the output is `shape + [D]`. Backward scatter-adds into the table's gradient (repeated ids sum).
public func embedding(_ ids: [Int32], table: Tensor, shape: [Int]? = nil) -> Tensor {
    precondition(table.rank == 2, "embedding table must be [V, D], got \(table.shape)")
    let (vocab, d) = (table.shape[0], table.shape[1])
    let outShape = (shape ?? [ids.count]) + [d]
    precondition(outShape.dropLast().reduce(1, *) == ids.count, "embedding: \(ids.count) ids for shape \(shape ?? [])")
    let y = Tensor(shape: outShape)
    let (pt, py) = (table.data, y.data)
    for (r, id) in ids.enumerated() {
        precondition(id >= 0 && Int(id) < vocab, "embedding: id \(id) at position \(r) is outside the table's 0..<\(vocab)")
        (py + r * d).update(from: pt + Int(id) * d, count: d)
    }
    return y.record([table]) { g in
        let gt = table.gradPointer(), pg = g.data
        for (r, id) in ids.enumerated() {
            let dst = gt + Int(id) * d, src = pg + r * d
            for j in 0..<d { dst[j] += src[j] }
        }
    }
}
