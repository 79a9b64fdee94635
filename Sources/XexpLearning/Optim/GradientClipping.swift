/// Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_(params, maxNorm)` with the L2 norm:
/// the norm is over all gradients together; if it exceeds `maxNorm` every gradient is scaled by
/// `maxNorm / (norm + 1e-6)`. Returns the norm before clipping (for logging). The norm is summed in
/// double precision, which only differs from PyTorch's float32 reduction by rounding.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double) -> Double {
    var sq = 0.0
    for p in parameters {
        guard let g = p.grad else { continue }
        for i in 0..<g.count { let v = Double(g.data[i]); sq += v * v }
    }
    let norm = sq.squareRoot()
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        let c = Float(coef)
        for p in parameters { if let g = p.grad { for i in 0..<g.count { g.data[i] *= c } } }
    }
    return norm
}
