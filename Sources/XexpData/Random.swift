/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA'14).
///
/// XexpData keeps its own generator rather than borrowing XexpLearning's Philox so that the data library
/// depends on Foundation alone. Every draw goes through the helpers below (never `Int.random(in:using:)`,
/// whose algorithm the standard library does not promise to keep), so a seed gives the same data on every
/// Swift version and platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser: a bijection on 64-bit words with good avalanche.
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in 0..<n, unbiased (Lemire's multiply-and-reject).
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0, "int(below:) needs a positive bound")
        let bound = UInt64(n)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return Int(product.high)
    }

    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.count)
    }

    public mutating func bernoulli(_ p: Float) -> Bool { uniform() < p }

    public mutating func element<T>(of items: [T]) -> T { items[int(below: items.count)] }

    /// An index drawn with probability proportional to `weights`.
    public mutating func weightedIndex(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var r = Double(next() >> 11) * 0x1p-53 * total
        for (i, w) in weights.enumerated() {
            if r < w { return i }
            r -= w
        }
        return weights.count - 1
    }

    /// Fisher–Yates.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, int(below: i + 1))
        }
    }

    public mutating func shuffled<T>(_ items: [T]) -> [T] {
        var copy = items
        shuffle(&copy)
        return copy
    }
}

/// Named, indexed seed streams: item `index` of stream `name` under a data seed gets its own generator.
///
/// Because ``SplitMix64/mix(_:)`` is a bijection, different indices of one stream never share a seed, and
/// the stream name (hashed) keeps the training and benchmark streams apart.
public enum SeedStream {
    public static func seed(_ dataSeed: UInt64, _ stream: String, _ index: Int) -> UInt64 {
        let base = SplitMix64.mix(dataSeed ^ FNV1a.hash(stream))
        return SplitMix64.mix(base &+ UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15)
    }

    public static func generator(_ dataSeed: UInt64, _ stream: String, _ index: Int) -> SplitMix64 {
        SplitMix64(seed: seed(dataSeed, stream, index))
    }
}

/// 64-bit FNV-1a, used for content fingerprints and image hashes (stable across runs, unlike `Hasher`).
public enum FNV1a {
    public static let offset: UInt64 = 0xCBF2_9CE4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    public static func hash(_ string: String) -> UInt64 { hash(bytes: Array(string.utf8)) }

    public static func hash(bytes: [UInt8], start: UInt64 = offset) -> UInt64 {
        var h = start
        for b in bytes { h = (h ^ UInt64(b)) &* prime }
        return h
    }

    public static func hash(floats: [Float]) -> UInt64 {
        var h = offset
        for f in floats {
            var bits = f.bitPattern
            for _ in 0..<4 {
                h = (h ^ UInt64(bits & 0xFF)) &* prime
                bits >>= 8
            }
        }
        return h
    }
}
