import Foundation
import XexpLearning

/// Whether a training pass through the decoder keeps every block's activations for backward, or only each block's
/// input and recomputes the rest in backward (``Autograd/recomputing(_:parameters:_:)``).
///
/// Both give the same bits (tested, and byte-identical LM jobs at the `paper` batch), so the choice belongs to the
/// machine, never to a job's identity. Recomputing runs every block's forward pass twice: cheap where the forward is
/// cheap (short sequences), dear where attention dominates (long ones); see ``configure(environment:threads:cheap:)``.
/// It lets `--jobs` grow with the cores without running out of memory. Set by the worker from `XEXP_ACTIVATIONS`.
public enum ActivationMemory {
    public enum Policy: Equatable, Sendable {
        /// Keep every block's activations (fastest).
        case keep
        /// Recompute every block's activations in backward.
        case recompute
        /// Recompute when the blocks' activations of one pass would exceed this many bytes (``keptBytes(batch:length:config:)``).
        case budget(Int)
    }

    nonisolated(unsafe) public static var policy: Policy = .keep

    /// Bytes a taped pass of `batch` sequences of `length` tokens keeps in the decoder's blocks for backward: a rough
    /// estimate from the tensors each block records per token (the normed inputs, q, k, v and their RoPE'd copies,
    /// the attention output, two residual sums, the MLP's gate, up and product; the attention probabilities, which
    /// attention keeps up to 64 MB per call), doubled for the buffer pool, which holds one step's buffers while the
    /// next step's batch length asks for other sizes. Measured, 20 steps at the `paper` batch of 32 on one thread:
    /// recomputing saves 0.77 GB on `mini-xmodel-lm` and 1.15 GB on `mini-llama3` (README, Memory).
    static func keptBytes(batch: Int, length: Int, config c: LLMConfig) -> Int {
        let kept = batch * c.numAttentionHeads * length * length <= AttentionMemory.keptProbabilityFloats
        let probabilities = kept ? c.numAttentionHeads * length : 0
        let perTokenPerBlock = 8 * c.hiddenSize + 4 * c.kvWidth + 3 * c.intermediateSize + probabilities
        return 2 * 4 * batch * length * c.numHiddenLayers * perTokenPerBlock
    }

    static func recomputesBlocks(batch: Int, length: Int, config: LLMConfig) -> Bool {
        switch policy {
        case .keep: return false
        case .recompute: return true
        case .budget(let bytes): return keptBytes(batch: batch, length: length, config: config) > bytes
        }
    }

    /// The policy named by `XEXP_ACTIVATIONS`: `keep`, `recompute`, or `auto` (unset). `auto` recomputes where it is
    /// cheap (`cheap`: the caller's measured judgement), and elsewhere only when a pass would keep more than a quarter
    /// of this job's share of physical memory — the machine's memory times `threads` over its cores, as the scheduler
    /// gives each job `cores / jobs` threads (3 GiB for two jobs on a 2-core, 24 GiB machine; 512 MiB for 64 jobs on
    /// 64 cores and 128 GiB). Measured on this repository's machine, one thread, byte-identical results either way:
    /// - LM pretraining at the `paper` batch (32 sequences of a few hundred tokens, whose attention probabilities are
    ///   kept): 7–9 % more CPU time, peak RSS 1.97 → 0.82 GB (`mini-llama3`), 1.29 → 0.52 GB (`mini-xmodel-lm`). Cheap.
    /// - Stage 1 at 576 visual tokens (16 sequences of ~600 tokens, whose attention probabilities are recomputed in
    ///   backward anyway, so recomputing the block repeats the costliest part): 36 % more CPU time (193 → 263 s),
    ///   557 → 315 MB. Not cheap.
    /// Nil for any other value.
    public static func configure(environment: [String: String], threads: Int, cheap: Bool) -> Policy? {
        switch environment["XEXP_ACTIVATIONS"] ?? "auto" {
        case "keep": return .keep
        case "recompute": return .recompute
        case "auto", "":
            if cheap { return .recompute }
            let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
            let share = Double(memoryLimit(environment: environment)) * Double(min(max(1, threads), cores)) / Double(cores)
            return .budget(Int(share / 4))
        default:
            return nil
        }
    }

    /// The memory this process's jobs may use: physical memory, or less where a container's cgroup (v2
    /// `memory.max`) or a Slurm allocation (`SLURM_MEM_PER_NODE`, or `SLURM_MEM_PER_CPU` × `SLURM_CPUS_PER_TASK`, in
    /// MB) says so — a Slurm job sees the whole node's memory but is killed past its `--mem`.
    static func memoryLimit(environment: [String: String], cgroupFile: String = "/sys/fs/cgroup/memory.max") -> UInt64 {
        var limit = ProcessInfo.processInfo.physicalMemory
        if let text = try? String(contentsOfFile: cgroupFile, encoding: .utf8),
           let bytes = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) { limit = min(limit, bytes) }
        let mb: UInt64 = 1 << 20
        if let perNode = environment["SLURM_MEM_PER_NODE"].flatMap(UInt64.init), perNode > 0 { limit = min(limit, perNode * mb) }
        if let perCPU = environment["SLURM_MEM_PER_CPU"].flatMap(UInt64.init), perCPU > 0 {
            let cpus = environment["SLURM_CPUS_PER_TASK"].flatMap(UInt64.init) ?? 1
            limit = min(limit, perCPU * max(1, cpus) * mb)
        }
        return limit
    }

    /// What the worker says on stderr about its choice (the job's `stderr.log` keeps it with the attempt).
    public static func describe(_ policy: Policy) -> String {
        switch policy {
        case .keep: return "keep"
        case .recompute: return "recompute"
        case .budget(let bytes): return "recompute past \(bytes >> 20) MiB of block activations per pass"
        }
    }
}
