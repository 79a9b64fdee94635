/// Preallocated keys and values of one attention layer for incremental (greedy) decoding.
///
/// `keys` and `values` are `[B, capacity, Hkv·Dh]`; ``append(keys:values:)`` copies new rows in place,
/// and attention reads only the first ``length`` rows through its `keyLength` argument, so a decode step
/// allocates nothing and records no tape:
///
///     cache.append(keys: k, values: v)                 // k, v: [B, T, Hkv·Dh] for the new tokens
///     attention(q: q, k: cache.keys, v: cache.values, heads: h, kvHeads: kvh,
///               mask: AttentionMask(causal: true, queryOffset: cache.length - T), keyLength: cache.length)
public final class KVCache {
    public let keys: Tensor
    public let values: Tensor
    /// Rows filled so far (the position of the next token).
    public private(set) var length = 0
    public var capacity: Int { keys.shape[1] }

    public init(batch: Int, capacity: Int, width: Int) {
        keys = Tensor.zeros([batch, capacity, width])
        values = Tensor.zeros([batch, capacity, width])
    }

    /// A copy of `other`'s filled rows in a cache of `capacity` rows: a shared prompt prefix, prefilled once,
    /// continued by several prompts without being recomputed.
    public init(copying other: KVCache, capacity: Int) {
        let (b, w) = (other.keys.shape[0], other.keys.shape[2])
        precondition(capacity >= other.length, "KVCache(copying:): capacity \(capacity) is below the \(other.length) rows to copy")
        keys = Tensor.zeros([b, capacity, w])
        values = Tensor.zeros([b, capacity, w])
        for bi in 0..<b {
            (keys.data + bi * capacity * w).update(from: other.keys.data + bi * other.capacity * w, count: other.length * w)
            (values.data + bi * capacity * w).update(from: other.values.data + bi * other.capacity * w, count: other.length * w)
        }
        length = other.length
    }

    /// Appends `[B, T, width]` keys and values (their values only; the cache is never on the tape).
    public func append(keys k: Tensor, values v: Tensor) {
        let (b, w) = (keys.shape[0], keys.shape[2])
        precondition(k.shape == v.shape && k.rank == 3 && k.shape[0] == b && k.shape[2] == w,
                     "KVCache.append: keys \(k.shape) / values \(v.shape) do not fit a cache of [\(b), \(capacity), \(w)]")
        let t = k.shape[1]
        precondition(length + t <= capacity, "KVCache.append: \(length) + \(t) tokens exceed the capacity \(capacity)")
        for bi in 0..<b {
            (keys.data + (bi * capacity + length) * w).update(from: k.data + bi * t * w, count: t * w)
            (values.data + (bi * capacity + length) * w).update(from: v.data + bi * t * w, count: t * w)
        }
        length += t
    }

    /// Forgets all rows (start a new sequence).
    public func reset() { length = 0 }
}
