import Testing
import XexpLearning
@testable import XexpModels

/// Golden parity with PyTorch (fixtures from `make_fixtures.py`: reference modules, float64 from float32 values).
/// Tolerance: norm-wise relative error (see `relativeError`) ≤ 1e-4 for every output and every gradient.
struct ParityTests {
    static let tolerance = 1e-4
    static let cases: [(ProjectorKind, Int)] = [
        (.linear, 576), (.linear, 144), (.mlp, 576), (.mlp, 36), (.ldp, 144), (.ldp, 36), (.ldp, 1),
        (.ldpv2, 144), (.ldpv2, 25), (.xdp, 576), (.xdp, 144), (.xdp, 36), (.xdp, 8),
    ]

    /// Output, input gradient and every weight gradient of each projector, weights loaded by reference name.
    @Test(arguments: cases)
    func projector(_ kind: ProjectorKind, _ tokens: Int) throws {
        let file = try fixture("projectors")
        let c = "\(kind.rawValue)_\(tokens)."
        var rng = Philox(seed: 0)
        let p = makeProjector(try ProjectorConfig(kind: kind, tokens: tokens, visionWidth: 8, llmWidth: 32), rng: &rng)
        let stored = file.entries.keys.filter { $0.hasPrefix(c + "param.") }.map { String($0.dropFirst((c + "param.").count)) }
        #expect(Set(stored) == Set(p.weights.parameters.map(\.name)), "parameter names differ from the reference's")
        for w in p.weights.parameters {
            let t = try file.tensor(c + "param." + w.name)
            try #require(t.shape == w.tensor.shape, "\(w.name): \(t.shape) vs \(w.tensor.shape)")
            w.tensor.data.update(from: t.data, count: t.count)
        }
        let x = try file.tensor("input")
        x.requiresGrad = true
        let y = p(x)
        #expect(relativeError(y, try file.tensor(c + "output")) <= Self.tolerance, "output")
        y.backward(gradient: try file.tensor(c + "grad_output"))
        #expect(relativeError(try #require(x.grad), try file.tensor(c + "grad.input")) <= Self.tolerance, "input gradient")
        for w in p.weights.parameters {
            let e = relativeError(try #require(w.tensor.grad), try file.tensor(c + "grad.param." + w.name))
            #expect(e <= Self.tolerance, "gradient of \(w.name): \(e)")
        }
    }

    func loadVLM() throws -> (VLM, SafeTensors.File, [VLMExample], Tensor) {
        let file = try fixture("vlm")
        let vlm = try VLM(config: tinyVLMConfig(), seed: 99)
        var weights: [String: Tensor] = [:]
        for name in file.entries.keys where name.hasPrefix("param.") { weights[String(name.dropFirst(6))] = try file.tensor(name) }
        #expect(Set(weights.keys) == Set(vlm.parameters.map(\.name)), "VLM parameter names differ from the fixture's")
        try vlm.restore(weights)
        let examples = try (0..<2).map { b in
            VLMExample(ids: try file.int64s("ids.\(b)").map { Int32($0) }, supervised: try file.int64s("supervised.\(b)").map { $0 != 0 })
        }
        return (vlm, file, examples, try file.tensor("images"))
    }

    /// A tiny full VLM: encoder features, spliced right-padded batch, logits, masked loss and the gradient of every
    /// projector and LM weight (stage 2).
    @Test func tinyVLMForward() throws {
        let (vlm, file, examples, images) = try loadVLM()
        vlm.prepare(for: .instruction)
        #expect(relativeError(Autograd.noGrad { vlm.visionEncoder.features(images) }, try file.tensor("features")) <= Self.tolerance)
        let out = vlm.forward(examples, visual: .images(images))
        #expect(out.logits.shape == [2, 19, 20])
        #expect(relativeError(out.logits, try file.tensor("logits")) <= Self.tolerance, "logits")
        #expect(relativeError(out.loss, try file.tensor("loss")) <= Self.tolerance, "loss")
        out.loss.backward()
        for component in [VLMComponent.projector, .languageModel] {
            for p in vlm.parameters(of: component) {
                let e = relativeError(try #require(p.tensor.grad, "\(p.name) has no gradient"), try file.tensor("grad." + p.name))
                #expect(e <= Self.tolerance, "gradient of \(p.name): \(e)")
            }
        }
        #expect(vlm.parameters(of: .visionEncoder).allSatisfy { $0.tensor.grad == nil })
    }

    /// Stage 1 freezes the LM: it gets no gradients, and the projector's gradients are unchanged (they flow
    /// through the frozen LM).
    @Test func alignmentStageGradients() throws {
        let (vlm, file, examples, images) = try loadVLM()
        vlm.prepare(for: .alignment)
        #expect(Set(vlm.trainableParameters.map(\.name)) == Set(vlm.parameters(of: .projector).map(\.name)))
        let out = vlm.forward(examples, visual: .images(images))
        out.loss.backward()
        for p in vlm.parameters(of: .projector) {
            #expect(relativeError(try #require(p.tensor.grad), try file.tensor("grad." + p.name)) <= Self.tolerance)
        }
        #expect(vlm.parameters(of: .languageModel).allSatisfy { $0.tensor.grad == nil })
    }
}
