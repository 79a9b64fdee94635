import Foundation

/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a counter-based
/// generator. Output block n is a pure function of (key, n), so the whole state is two 64-bit numbers
/// plus a position inside the current 4-word block; saving and restoring ``State`` resumes the exact
/// stream, which is what a resumed training run needs.
///
/// Sampling: ``nextUniform()`` is in [0, 1) with 24 random bits; ``nextNormal()`` uses Box–Muller on two
/// uniforms (no cached spare, so the state stays just the counter). ``shuffle(_:)`` is Fisher–Yates with
/// unbiased bounded integers (Lemire's method).
public struct Philox: Sendable {
    /// Everything needed to continue the stream. Stored in checkpoints as the `rng.state` tensor.
    public struct State: Equatable, Sendable, Codable {
        public var key: UInt64
        public var counter: UInt64
        /// How many of the 4 words of block `counter - 1` were already used (4 = none left).
        public var used: UInt32
        public init(key: UInt64, counter: UInt64, used: UInt32) {
            self.key = key; self.counter = counter; self.used = used
        }
    }

    private var key: UInt64
    private var counter: UInt64
    private var block: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
    private var used: UInt32 = 4

    /// A generator for `seed`; different seeds give independent streams.
    public init(seed: UInt64) {
        key = seed
        counter = 0
    }

    /// Restores a generator saved with ``state``.
    public init(state: State) {
        key = state.key
        counter = state.counter
        used = state.used
        if used < 4 && counter > 0 { block = Philox.philox(counter: counter - 1, key: key) }
    }

    /// The current state (see ``init(state:)``).
    public var state: State { State(key: key, counter: counter, used: used) }

    static func philox(counter: UInt64, key: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        philox4x32(counter: (UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32), 0, 0),
                   key: (UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32)))
    }

    /// The bare Philox4x32-10 bijection (Random123's `philox4x32_R(10, ctr, key)`), exposed for known-answer tests.
    static func philox4x32(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n1 = UInt32(truncatingIfNeeded: p1)
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            let n3 = UInt32(truncatingIfNeeded: p0)
            (c0, c1, c2, c3) = (n0, n1, n2, n3)
        }
        return (c0, c1, c2, c3)
    }

    /// The next 32 random bits.
    public mutating func next32() -> UInt32 {
        if used == 4 {
            block = Philox.philox(counter: counter, key: key)
            counter &+= 1
            used = 0
        }
        defer { used += 1 }
        switch used {
        case 0: return block.0
        case 1: return block.1
        case 2: return block.2
        default: return block.3
        }
    }

    /// The next 64 random bits.
    public mutating func next64() -> UInt64 { UInt64(next32()) << 32 | UInt64(next32()) }

    /// Uniform in [0, 1).
    public mutating func nextUniform() -> Float { Float(next32() >> 8) * (1.0 / 16_777_216.0) }

    /// Standard normal (Box–Muller, in double precision).
    public mutating func nextNormal() -> Float {
        let u1 = (Double(next32()) + 1) / 4_294_967_297.0  // (0, 1): log is finite
        let u2 = Double(next32()) / 4_294_967_296.0
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Uniform integer in 0..<bound without modulo bias.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound, got \(bound)")
        let b = UInt64(bound)
        var m = next64().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = next64().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Shuffles in place (Fisher–Yates), e.g. the sample order of an epoch.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, nextInt(below: i + 1))
        }
    }

    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int, mean: Float, std: Float) {
        for i in 0..<count { p[i] = mean + std * nextNormal() }
    }

    public mutating func fillUniform(_ p: UnsafeMutablePointer<Float>, count: Int, low: Float, high: Float) {
        for i in 0..<count { p[i] = low + (high - low) * nextUniform() }
    }
}
