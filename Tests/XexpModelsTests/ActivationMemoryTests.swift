import Foundation
import Testing
@testable import XexpLearning
@testable import XexpModels

/// Recomputing the decoder's blocks in backward is a memory choice made per machine (`XEXP_ACTIVATIONS`), outside
/// every job's identity, so it must not change a bit of a training step: the logits, the loss, and every gradient.
@Suite(.serialized)  // its tests set the process-wide policy
struct ActivationMemoryTests {
    /// One training step of a 3-block decoder on a right-padded batch; the logits, loss and gradients it produces, and
    /// how many tape nodes its loss hangs from (recomputation records one node per block instead of the block's ops).
    /// `frozen`: the decoder's weights take no gradient and the inputs do (stage 1: only the projector trains).
    func step(_ policy: ActivationMemory.Policy, frozen: Bool) throws -> (values: [[Float]], tapeNodes: Int) {
        let saved = ActivationMemory.policy
        ActivationMemory.policy = policy
        defer { ActivationMemory.policy = saved }
        let config = LLMConfig(vocabSize: 40, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 3, numAttentionHeads: 4,
                               numKeyValueHeads: 2, initializerRange: 0.2)
        var rng = Philox(seed: 11)
        let model = try LanguageModel(config: config, rng: &rng)
        if frozen { for p in model.weights.parameters { p.tensor.requiresGrad = false } }
        let (batch, length) = (3, 21)
        let ids = (0..<(batch * length)).map { Int32(($0 * 7 + $0 / length) % 40) }
        let valid = (0..<(batch * length)).map { $0 % length < length - ($0 / length) * 5 }  // padded by 0, 5 and 10
        let input = Tensor.randn([batch, length, 32], std: 0.5, rng: &rng, requiresGrad: true)
        let x = frozen ? input : model.embed(ids, shape: [batch, length]) + input
        let logits = model(x, keyPadding: valid)
        let targets = (0..<(batch * length)).map { valid[$0] ? Int32(($0 * 5) % 40) : -100 }
        let loss = crossEntropy(logits: logits.reshaped([batch * length, 40]), targets: targets)
        let nodes = tapeNodes(loss)
        loss.backward()
        let trained = frozen ? [] : model.weights.parameters.map { $0.tensor.grad!.values }
        return ([logits.values, [loss.item], input.grad!.values] + trained, nodes)
    }

    func tapeNodes(_ root: Tensor) -> Int {
        var seen = Set<ObjectIdentifier>(), stack = [root]
        while let t = stack.popLast() {
            guard let node = t.node, seen.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append(contentsOf: node.inputs)
        }
        return seen.count
    }

    @Test("a decoder training step gives the same bits whether its blocks keep or recompute their activations",
          arguments: [false, true])
    func sameBits(frozen: Bool) throws {
        let kept = try step(.keep, frozen: frozen), recomputed = try step(.recompute, frozen: frozen)
        // The recomputing step really recorded less: one node per block, not the block's dozen ops.
        #expect(recomputed.tapeNodes + 3 * 10 <= kept.tapeNodes, "tape nodes: kept \(kept.tapeNodes), recomputed \(recomputed.tapeNodes)")
        #expect(kept.values.count == recomputed.values.count)
        for (i, (a, b)) in zip(kept.values, recomputed.values).enumerated() {
            let firstDifference = a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
            #expect(a.count == b.count && firstDifference == nil,
                    "output/gradient \(i) differs from element \(firstDifference ?? 0): \(firstDifference.map { "\(a[$0]) vs \(b[$0])" } ?? "")")
        }
    }

    @Test("a budget recomputes exactly when the blocks' estimated activations exceed it")
    func budget() throws {
        let config = try LLMRegistry.config(named: "mini-llama3")
        let bytes = ActivationMemory.keptBytes(batch: 32, length: 250, config: config)
        let saved = ActivationMemory.policy
        defer { ActivationMemory.policy = saved }
        ActivationMemory.policy = .budget(bytes)
        #expect(!ActivationMemory.recomputesBlocks(batch: 32, length: 250, config: config))
        #expect(ActivationMemory.recomputesBlocks(batch: 33, length: 250, config: config))
    }

    @Test("XEXP_ACTIVATIONS names keep, recompute or auto (recompute where cheap, else a quarter of the job's memory share)")
    func environment() throws {
        for cheap in [false, true] {
            #expect(ActivationMemory.configure(environment: ["XEXP_ACTIVATIONS": "keep"], threads: 1, cheap: cheap) == .keep)
            #expect(ActivationMemory.configure(environment: ["XEXP_ACTIVATIONS": "recompute"], threads: 1, cheap: cheap) == .recompute)
            #expect(ActivationMemory.configure(environment: ["XEXP_ACTIVATIONS": "fast"], threads: 1, cheap: cheap) == nil)
        }
        let memory = Double(ProcessInfo.processInfo.physicalMemory), cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        #expect(ActivationMemory.configure(environment: [:], threads: 1, cheap: false) == .budget(Int(memory / cores / 4)))
        #expect(ActivationMemory.configure(environment: ["XEXP_ACTIVATIONS": "auto"], threads: Int(cores), cheap: false) == .budget(Int(memory / 4)))
        #expect(ActivationMemory.configure(environment: [:], threads: 1, cheap: true) == .recompute)
    }

    @Test("the memory auto divides is the smallest of physical memory, the cgroup's limit and the Slurm allocation")
    func memoryLimit() throws {
        let physical = ProcessInfo.processInfo.physicalMemory
        let none = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-cgroup-\(UUID())").path
        #expect(ActivationMemory.memoryLimit(environment: [:], cgroupFile: none) == physical)
        let cgroup = FileManager.default.temporaryDirectory.appendingPathComponent("memory.max-\(UUID())")
        try "max\n".write(to: cgroup, atomically: true, encoding: .utf8)
        #expect(ActivationMemory.memoryLimit(environment: [:], cgroupFile: cgroup.path) == physical)
        try "1073741824\n".write(to: cgroup, atomically: true, encoding: .utf8)
        #expect(ActivationMemory.memoryLimit(environment: [:], cgroupFile: cgroup.path) == min(physical, 1 << 30))
        #expect(ActivationMemory.memoryLimit(environment: ["SLURM_MEM_PER_NODE": "512"], cgroupFile: cgroup.path) == min(physical, 512 << 20))
        #expect(ActivationMemory.memoryLimit(environment: ["SLURM_MEM_PER_CPU": "100", "SLURM_CPUS_PER_TASK": "3"], cgroupFile: none) == min(physical, 300 << 20))
        try? FileManager.default.removeItem(at: cgroup)
    }

    /// A gradient already on the input (a stale one, or a consumer that ran first) must end with the same bits too:
    /// the replay accumulates into that buffer as the taped pass does.
    @Test("recomputing gives the same bits when the input already holds a gradient")
    func existingGradient() throws {
        func run(_ recompute: Bool) -> [Float] {
            var rng = Philox(seed: 4)
            let w = Tensor.randn([24, 16], std: 0.3, rng: &rng, requiresGrad: true)
            let x = Tensor.randn([2, 5, 16], std: 1, rng: &rng, requiresGrad: true)
            x.grad = Tensor.randn([2, 5, 16], std: 1e-3, rng: &rng)  // stale, small: rounding shows in the sum
            let body = { (h: Tensor) in linear(linear(h, weight: w).silu(), weight: w.reshaped([16, 24])) + h }
            let y = recompute ? Autograd.recomputing(x, parameters: [w], body) : body(x)
            (y * y).mean().backward()
            return x.grad!.values + w.grad!.values
        }
        let taped = run(false), recomputed = run(true)
        let firstDifference = taped.indices.first { taped[$0].bitPattern != recomputed[$0].bitPattern }
        #expect(firstDifference == nil, "differs from element \(firstDifference ?? 0)")
    }
}
