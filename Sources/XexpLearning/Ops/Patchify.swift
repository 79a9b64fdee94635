/// Cuts a channels-last image batch `[B, H, W, C]` into non-overlapping `p×p` patches,
/// `[B, (H/p)·(W/p), C·p·p]`, patches in raster order and each patch's values in `(c, ky, kx)` order —
/// the flattening of a PyTorch conv weight `[D, C, p, p]`. So a ViT patch embedding
/// (`Conv2d(C, D, kernel p, stride p)`) is `linear(patchify(image, patch: p), weight: convWeight, bias:)`,
/// one GEMM, with the checkpoint's weight as is.
public func patchify(_ x: Tensor, patch p: Int) -> Tensor {
    precondition(x.rank == 4, "patchify expects a channels-last image batch [B, H, W, C], got \(x.shape)")
    let (bsz, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(p >= 1 && h % p == 0 && w % p == 0, "patchify: patch \(p) does not tile a \(h)×\(w) image")
    let (gh, gw) = (h / p, w / p)
    let d = c * p * p
    let y = Tensor(shape: [bsz, gh * gw, d])
    // Visits every (source, destination) pair once; `body(src, dst)`.
    func walk(_ body: (Int, Int) -> Void) {
        for b in 0..<bsz { for py in 0..<gh { for px in 0..<gw {
            let dst = (b * gh * gw + py * gw + px) * d
            for ky in 0..<p { for kx in 0..<p {
                let src = ((b * h + py * p + ky) * w + px * p + kx) * c
                for ch in 0..<c { body(src + ch, dst + (ch * p + ky) * p + kx) }
            } }
        } } }
    }
    let (px, py) = (x.data, y.data)
    walk { s, t in py[t] = px[s] }
    return y.record([x]) { g in
        let gx = x.gradPointer(), pg = g.data
        walk { s, t in gx[s] += pg[t] }
    }
}
