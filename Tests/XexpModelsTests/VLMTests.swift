import Foundation
import Testing
import XexpLearning
@testable import XexpModels

struct VLMTests {
    /// A tiny VLM with large random weights, so logits are far from ties and greedy paths are long and varied.
    func randomVLM(_ kind: ProjectorKind = .xdp, tokens: Int = 9, seed: UInt64 = 3) throws -> VLM {
        var config = tinyVLMConfig(projector: kind, tokens: tokens)
        config.textConfig.initializerRange = 0.3
        return try VLM(config: config, seed: seed)
    }

    func images(_ b: Int, seed: UInt64 = 5) -> Tensor {
        var rng = Philox(seed: seed)
        return Tensor.randn([b, 12, 12, 3], rng: &rng)
    }

    @Test(arguments: [(ProjectorKind.xdp, 9), (.mlp, 36), (.ldp, 4), (.ldpv2, 1), (.linear, 9)])
    func cachedGenerationMatchesUncached(_ kind: ProjectorKind, _ tokens: Int) throws {
        let vlm = try randomVLM(kind, tokens: tokens)
        var varied = false
        for (i, prompt) in [[1, 3, 7, 8], [1, 5, 6, 3, 9, 10, 11], [1, 12, 13]].enumerated() {
            let image = images(1, seed: UInt64(i))
            let cached = vlm.generate(prompt: prompt.map(Int32.init), visual: .images(image), maxNewTokens: 16, stopTokens: [])
            let plain = vlm.generate(prompt: prompt.map(Int32.init), visual: .images(image), maxNewTokens: 16, stopTokens: [], useCache: false)
            #expect(cached == plain)
            #expect(cached.tokens.count == 16 && cached.stopToken == nil)
            varied = varied || Set(cached.tokens).count > 2
            // Stopping at end-of-turn: pick a token the free run produces and stop on it.
            let stop = cached.tokens[5]
            let first = cached.tokens.firstIndex(of: stop)!
            let stopped = vlm.generate(prompt: prompt.map(Int32.init), visual: .images(image), maxNewTokens: 16, stopTokens: [stop])
            #expect(stopped == GenerationResult(tokens: Array(cached.tokens[..<first]), stopToken: stop))
            #expect(vlm.generate(prompt: prompt.map(Int32.init), visual: .images(image), maxNewTokens: 16, stopTokens: [stop], useCache: false) == stopped)
        }
        #expect(varied, "only degenerate greedy paths: they would not test the cache")
    }

    /// Benchmarks prefill each image's prefix once and continue it with every question about that image: the tokens
    /// must be the whole-prompt path's, for every suffix in turn (the shared prefix must come back unchanged).
    @Test(arguments: [(ProjectorKind.xdp, 9), (.mlp, 36), (.ldpv2, 1)])
    func generationAfterSharedPrefixMatchesWholePrompt(_ kind: ProjectorKind, _ tokens: Int) throws {
        let vlm = try randomVLM(kind, tokens: tokens)
        let suffixes: [[Int32]] = [[7, 8], [5, 6, 9, 10, 11], [12], [7, 8]]
        for (i, prefix) in [[1, 4, 3], [1, 3]].map({ $0.map(Int32.init) }).enumerated() {
            let features = Autograd.noGrad { vlm.visionEncoder.features(images(1, seed: UInt64(10 + i))) }
            let shared = vlm.prefill(prefix, visual: .features(features))
            for suffix in suffixes {
                let whole = vlm.generate(prompt: prefix + suffix, visual: .features(features), maxNewTokens: 12, stopTokens: [])
                let continued = vlm.generate(after: shared, suffix: suffix, maxNewTokens: 12, stopTokens: [])
                #expect(continued == whole, "prefix \(prefix) + suffix \(suffix)")
                let stop = whole.tokens[4]
                #expect(vlm.generate(after: shared, suffix: suffix, maxNewTokens: 12, stopTokens: [stop])
                        == vlm.generate(prompt: prefix + suffix, visual: .features(features), maxNewTokens: 12, stopTokens: [stop]))
            }
        }
    }

    @Test func generationFromCachedFeaturesAndTextOnly() throws {
        let vlm = try randomVLM()
        let image = images(1)
        let features = Autograd.noGrad { vlm.visionEncoder.features(image) }
        let a = vlm.generate(prompt: [1, 3, 4], visual: .images(image), maxNewTokens: 6, stopTokens: [2])
        #expect(vlm.generate(prompt: [1, 3, 4], visual: .features(features), maxNewTokens: 6, stopTokens: [2]) == a)
        let text = vlm.generate(prompt: [1, 4, 5], visual: nil, maxNewTokens: 6, stopTokens: [2])
        #expect(text == vlm.generate(prompt: [1, 4, 5], visual: nil, maxNewTokens: 6, stopTokens: [2], useCache: false))
    }

    /// §1: visual positions, prompt tokens and padding are ignored; answers and their end-of-turn are targets.
    @Test func labelMasking() throws {
        let vlm = try randomVLM()  // N = 9, image id 3
        let a = VLMExample(ids: [1, 5, 3, 6, 7, 2], supervised: [false, false, false, false, true, true])
        let b = VLMExample(ids: [1, 3, 8, 2], supervised: [false, false, true, true])
        let t = vlm.targets([a, b], length: 14)
        // a expands to [1, 5, v×9, 6, 7, 2] (14 positions): position 11 (token 6) predicts 7, 12 predicts 2.
        var expectA = [Int32](repeating: -100, count: 14)
        expectA[11] = 7
        expectA[12] = 2
        // b expands to [1, v×9, 8, 2] (12) + 2 padding: the last visual position (9) predicts 8, then 8 → 2.
        var expectB = [Int32](repeating: -100, count: 14)
        expectB[9] = 8
        expectB[10] = 2
        #expect(t == expectA + expectB)
        #expect(vlm.expandedLength(a.ids) == 14 && vlm.expandedLength(b.ids) == 12)
    }

    /// Right padding changes nothing for the real tokens: an example's logits alone equal its rows in a batch.
    @Test func paddingInvariance() throws {
        let vlm = try randomVLM()
        let short = VLMExample(ids: [1, 3, 4, 5, 2], supervised: [false, false, true, true, true])
        let long = VLMExample(ids: [1, 6, 7, 3, 8, 9, 10, 11, 2], supervised: [false, false, false, false, false, true, true, true, true])
        let imgs = images(2)
        let both = Autograd.noGrad { vlm.forward([short, long], visual: .images(imgs)) }
        let alone = Autograd.noGrad { vlm.forward([short], visual: .images(imgs.slice(axis: 0, 0..<1))) }
        let n = both.lengths[0]
        #expect(n == 13 && both.logits.shape[1] == 17)
        let rows = both.logits.slice(axis: 0, 0..<1).slice(axis: 1, 0..<n)
        #expect(relativeError(rows, alone.logits) < 1e-5)
        // The batched last-token logits are the generation step's logits.
        let last = vlm.lastTokenLogits([short, long], visual: .images(imgs))
        #expect(last.shape == [2, 20])
        #expect(relativeError(last.slice(axis: 0, 0..<1).reshaped([20]), alone.logits.slice(axis: 1, (n - 1)..<n).reshaped([20])) < 1e-5)
    }

    /// Stage 1 trains the projector alone and the loss goes down; the LM does not move.
    @Test func alignmentTrainingLowersLoss() throws {
        let vlm = try randomVLM()
        vlm.prepare(for: .alignment)
        let lmBefore = vlm.parameters(of: .languageModel).map { $0.tensor.values }
        let opt = AdamW(groups: [ParameterGroup(vlm.trainableParameters, learningRate: 3e-3)])
        let batch = [VLMExample(ids: [1, 3, 4, 5, 2], supervised: [false, false, true, true, true]),
                     VLMExample(ids: [1, 3, 6, 2], supervised: [false, false, true, true])]
        let imgs = images(2)
        var losses: [Float] = []
        for _ in 0..<15 {
            opt.zeroGrad()
            let out = vlm.forward(batch, visual: .images(imgs))
            losses.append(out.loss.item)
            out.loss.backward()
            opt.step()
        }
        #expect(losses.last! < losses.first! * 0.8, "losses \(losses)")
        #expect(vlm.parameters(of: .languageModel).map { $0.tensor.values } == lmBefore)
    }

    @Test func checkpointRoundTrip() throws {
        let vlm = try randomVLM(.ldpv2, tokens: 4, seed: 8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xexp-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("vlm.safetensors").path
        try vlm.save(to: path, step: 7)
        let (loaded, checkpoint) = try VLM.load(from: path)
        #expect(checkpoint.step == 7 && loaded.config == vlm.config)
        #expect(loaded.parameters.map(\.name) == vlm.parameters.map(\.name))
        for (a, b) in zip(loaded.parameters, vlm.parameters) { #expect(a.tensor.values == b.tensor.values, "\(a.name)") }
        #expect(checkpoint.parameters["model.mm_projector.peg.peg.0.weight"]?.shape == [16, 1, 3, 3])
        #expect(checkpoint.parameters["model.vision_tower.vision_tower.vision_model.embeddings.patch_embedding.weight"]?.shape == [8, 3, 2, 2])
        // A text-only LM checkpoint (HF names) loads into the LM part alone.
        let fresh = try randomVLM(.ldpv2, tokens: 4, seed: 9)
        let lmOnly = Dictionary(uniqueKeysWithValues: vlm.languageModel.weights.parameters.map { ($0.name, $0.tensor) })
        try fresh.restore(lmOnly, components: [.languageModel])
        #expect(fresh.languageModel.weights["lm_head.weight"].values == vlm.languageModel.weights["lm_head.weight"].values)
        #expect(throws: ModelError.self) { try fresh.restore(lmOnly, components: [.projector]) }
    }

    @Test func configCoding() throws {
        let json = """
            {"text_config": "mini-xmodel-lm", "vocab_size": 66, "mm_projector_type": "xdpnet", "num_visual_tokens": 144,
             "vision_config": {"hidden_size": 64, "num_hidden_layers": 3}}
            """
        let c = try JSONDecoder().decode(VLMConfig.self, from: Data(json.utf8))
        #expect(c.textConfig.vocabSize == 66 && c.textConfig.hiddenSize == 128 && c.projectorType == .xdp)
        #expect(c.visionConfig.grid == 24 && c.visionConfig.featureLayer == 2 && c.imageTokenIndex == 3)
        let text = c.json()
        #expect(text.contains("\"num_key_value_heads\":1") && text.contains("\"mm_vision_select_layer\":-2"))
        #expect(try JSONDecoder().decode(VLMConfig.self, from: Data(text.utf8)) == c)
        let bad = json.replacingOccurrences(of: "144", with: "100")
        #expect(throws: ModelError.self) { _ = try VLM(config: try JSONDecoder().decode(VLMConfig.self, from: Data(bad.utf8))) }
    }

    @Test func registry() throws {
        for entry in LLMRegistry.entries {
            let c = entry.config
            try c.validate()
            let (v, w, i, l, kv) = (c.vocabSize, c.hiddenSize, c.intermediateSize, c.numHiddenLayers, c.kvWidth)
            #expect(c.parameterCount == 2 * v * w + l * (2 * w * w + 2 * w * kv + 3 * w * i + 2 * w) + w)
        }
        let mini = try LLMRegistry.config(named: "mini-xmodel-lm", vocabSize: 66)
        #expect(mini.headDim == 16 && mini.numAttentionHeads / mini.numKeyValueHeads == 8 && mini.vocabSize == 66)
        let xlm = try LLMRegistry.config(named: "xmodel-lm-1.1b")
        #expect(xlm.headDim == 64 && xlm.numAttentionHeads / xlm.numKeyValueHeads == 8)
        #expect(Double(mini.intermediateSize) / Double(mini.hiddenSize) == Double(xlm.intermediateSize) / Double(xlm.hiddenSize))
        #expect(xlm.parameterCount > 1_000_000_000 && xlm.parameterCount < 1_250_000_000)
        let sizes = try ["mini-xmodel-lm", "mini-phi3", "mini-llama3"].map { try LLMRegistry.config(named: $0).parameterCount }
        #expect(sizes == sizes.sorted() && Set(sizes).count == 3)
        #expect(throws: ModelError.self) { try LLMRegistry.config(named: "mini-xmodel") }
        #expect(ModelError.unknownModel("mini-phi", known: LLMRegistry.names).description.contains("did you mean \"mini-phi3\""))
    }

    @Test func visionEncoderShapesAndQuickGELU() throws {
        var rng = Philox(seed: 2)
        let encoder = try VisionEncoder(config: VisionConfig(), rng: &rng)
        let x = Tensor.randn([1, 48, 48, 3], rng: &rng)
        #expect(Autograd.noGrad { encoder.features(x) }.shape == [1, 576, 64])
        #expect(Autograd.noGrad { encoder.lastHiddenState(x) }.shape == [1, 576, 64])
        #expect(throws: ModelError.self) { _ = try VisionEncoder(config: VisionConfig(selectLayer: -5), rng: &rng) }
        let v = nonZero([3, 7], &rng, requiresGrad: true)
        gradientCheck([v]) { quickGELU($0[0]) }
        let y = Autograd.noGrad { quickGELU(v) }
        for i in 0..<v.count {
            let xv = Double(v.data[i])
            #expect(abs(Double(y.data[i]) - xv / (1 + exp(-1.702 * xv))) < 1e-5)
        }
    }
}
