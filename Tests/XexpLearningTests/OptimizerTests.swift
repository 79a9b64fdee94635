import Testing
@testable import XexpLearning

/// AdamW (two groups, own lr and weight decay) + HF cosine-warmup + clip_grad_norm_ over 8 steps against
/// torch.optim.AdamW in float32. Tolerances: learning rate within 1e-9 (absolute, double); each step's
/// parameter update (θₜ − θₜ₋₁) within 1e-4 norm-wise relative error of PyTorch's; final moments ≤ 1e-5.
@Test("AdamW with cosine warmup and clipping matches torch.optim.AdamW")
func adamWParity() throws {
    let f = try fixture("adamw")
    let p0 = try f.tensor("init.p0"), p1 = try f.tensor("init.p1")
    p0.requiresGrad = true; p1.requiresGrad = true
    let opt = AdamW(groups: [
        ParameterGroup([NamedParameter("p0", p0)], learningRate: 1e-2, weightDecay: 0.1),
        ParameterGroup([NamedParameter("p1", p1)], learningRate: 3e-3, weightDecay: 0),
    ])
    let steps = Int(f.metadata["steps"]!)!
    let schedule = CosineWarmupSchedule(totalSteps: steps, warmupRatio: Double(f.metadata["warmup_ratio"]!)!)
    #expect(schedule.warmupSteps == 2)
    let lrs = try f.tensor("lr_group0")
    for step in 0..<steps {
        let before = [p0.copy(), p1.copy()]
        p0.grad = try f.tensor("grad.\(step).p0")
        p1.grad = try f.tensor("grad.\(step).p1")
        clipGradNorm([p0, p1], maxNorm: 1.0)
        let scale = schedule.multiplier(step: step)
        #expect(abs(1e-2 * scale - Double(lrs.data[step])) <= 1e-9, "lr at step \(step)")
        opt.step(lrScale: scale)
        for (i, (p, old)) in zip([p0, p1], before).enumerated() {
            let expected = try f.tensor("param.\(step).p\(i)")
            let delta = p - old, refDelta = expected - old
            if refDelta.values.allSatisfy({ $0 == 0 }) {
                #expect(delta.values.allSatisfy { $0 == 0 }, "step \(step) p\(i): torch made no update (lr 0)")
            } else {
                let err = relativeError(delta, refDelta)
                #expect(err <= 1e-4, "step \(step) p\(i): update relative error \(err)")
            }
        }
    }
    #expect(opt.step == steps)
    #expect(relativeError(try #require(opt.expAvg["p0"]), try f.tensor("final.exp_avg.p0")) <= 1e-5)
    #expect(relativeError(try #require(opt.expAvgSq["p1"]), try f.tensor("final.exp_avg_sq.p1")) <= 1e-5)
}

@Test("cosine schedule: warmup is linear from 0, decay ends at 0", arguments: [(10, 0.03), (100, 0.03), (7, 0.0), (20, 0.5)])
func cosineSchedule(total: Int, ratio: Double) {
    let s = CosineWarmupSchedule(totalSteps: total, warmupRatio: ratio)
    #expect(s.warmupSteps == Int((Double(total) * ratio).rounded(.up)))
    if s.warmupSteps > 0 {
        #expect(s.multiplier(step: 0) == 0)
        #expect(abs(s.multiplier(step: s.warmupSteps - 1) - Double(s.warmupSteps - 1) / Double(s.warmupSteps)) < 1e-15)
    }
    #expect(abs(s.multiplier(step: s.warmupSteps) - 1) < 1e-15)
    #expect(abs(s.multiplier(step: total)) < 1e-15)
    let mid = s.warmupSteps + (total - s.warmupSteps) / 2
    if (total - s.warmupSteps) % 2 == 0 { #expect(abs(s.multiplier(step: mid) - 0.5) < 1e-12) }
}

@Test("clipGradNorm scales to the max norm and leaves small gradients alone")
func gradientClipping() {
    let a = Tensor(shape: [2], values: [3, 0]), b = Tensor(shape: [1], values: [4])
    a.grad = Tensor(shape: [2], values: [3, 1e-3]); b.grad = Tensor(shape: [1], values: [4])
    let norm = clipGradNorm([a, b], maxNorm: 1)
    #expect(abs(norm - (25 + 1e-6).squareRoot()) < 1e-6)
    #expect(abs(Double(a.grad!.data[0]) - 3 / (norm + 1e-6)) < 1e-7)
    let c = Tensor(shape: [1], values: [1]); c.grad = Tensor(shape: [1], values: [0.5])
    #expect(clipGradNorm([c], maxNorm: 1) == 0.5)
    #expect(c.grad!.data[0] == 0.5)
}
