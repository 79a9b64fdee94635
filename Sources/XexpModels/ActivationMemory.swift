import Foundation
import XexpLearning

/// Whether a training pass through the decoder keeps every block's activations for backward, or only each block's
/// input and recomputes the rest in backward (``Autograd/recomputing(_:parameters:_:)``).
///
/// Both give the same bits (tested, and byte-identical LM jobs at the `paper` batch), so the choice belongs to the
/// machine, never to a job's identity. Recomputing runs every block's forward pass twice, but measured it costs only
/// 7–9 % more CPU time (the forward is the cheap third of a step, and a smaller working set faults fewer pages) and
/// saves most of a step's memory, so that `--jobs` can grow with the cores. Set by the worker from `XEXP_ACTIVATIONS`
/// (``configure(environment:threads:)``).
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
    public static func keptBytes(batch: Int, length: Int, config c: LLMConfig) -> Int {
        let probabilities = batch * c.numAttentionHeads * length * length <= 16 << 20 ? c.numAttentionHeads * length : 0
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

    /// Past this estimate `auto` recomputes on any machine: measured at the `paper` batch, recomputing costs 7–9 % more
    /// CPU time on the LM pretraining jobs and takes their peak from 1.3–2.0 GB to 0.5–0.8 GB.
    public static let autoCeiling = 512 << 20

    /// The policy named by `XEXP_ACTIVATIONS`: `keep`, `recompute`, or `auto` (unset): recompute when a pass would
    /// keep more than ``autoCeiling`` or a quarter of this job's share of physical memory, whichever is less — the
    /// share being the machine's memory times `threads` over its cores, as the scheduler gives each job
    /// `cores / jobs` threads. Of the built-in stages at the shipped recipes, that recomputes the LM pretraining jobs
    /// and the 576-token stage-2 jobs. Nil for any other value.
    public static func configure(environment: [String: String], threads: Int) -> Policy? {
        switch environment["XEXP_ACTIVATIONS"] ?? "auto" {
        case "keep": return .keep
        case "recompute": return .recompute
        case "auto", "":
            let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
            let share = Double(ProcessInfo.processInfo.physicalMemory) * Double(min(max(1, threads), cores)) / Double(cores)
            return .budget(min(autoCeiling, Int(share / 4)))
        default:
            return nil
        }
    }
}
