import Foundation

/// Cosine decay with linear warmup, identical to transformers' `get_cosine_schedule_with_warmup`
/// (num_cycles 0.5) with the warmup length HF's Trainer derives from a ratio: `ceil(total · ratio)`.
///
/// ``multiplier(step:)`` is the factor for the optimizer step taken when the scheduler has been
/// stepped `step` times, i.e. the first update uses `multiplier(step: 0)` — which is 0 when there is any
/// warmup, exactly as in HF training.
public struct CosineWarmupSchedule: Sendable, Equatable {
    public let totalSteps: Int
    public let warmupSteps: Int

    public init(totalSteps: Int, warmupSteps: Int) {
        precondition(totalSteps >= 1 && warmupSteps >= 0, "schedule needs totalSteps ≥ 1 and warmupSteps ≥ 0")
        self.totalSteps = totalSteps; self.warmupSteps = warmupSteps
    }

    public init(totalSteps: Int, warmupRatio: Double) {
        self.init(totalSteps: totalSteps, warmupSteps: Int((Double(totalSteps) * warmupRatio).rounded(.up)))
    }

    public func multiplier(step: Int) -> Double {
        if step < warmupSteps { return Double(step) / Double(max(1, warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return max(0, 0.5 * (1 + cos(Double.pi * 0.5 * 2 * progress)))
    }
}
