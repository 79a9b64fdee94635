import Foundation

/// A caching allocator for tensor buffers.
///
/// Every training step allocates and frees the same set of large activations. Returned to the system
/// allocator, buffers above glibc's mmap threshold are unmapped and their pages faulted in and zeroed
/// again on the next step — measurably slow (hundreds of MB per step at our sizes). The pool keeps freed
/// buffers by size class (powers of two split into eighths, so at most 12.5 % slack) and hands them back.
/// Small buffers (< 16 KB) go straight to the allocator.
///
/// Batches of varying length need different size classes each step: with only a cap (2 GB), a stage-2 job's pool
/// filled with classes no later step asked for, and its jobs peaked at 1.3–1.7 GB where a few steps need 0.7–1.0 GB.
/// So a training loop calls ``endStep()`` after each step, and a buffer idle through a whole step goes back to the
/// system: the pool holds one step's working set. ``capacityBytes`` still caps idle memory (longest idle freed first).
/// Measured on the default sweep's 144-token stage-2 job (two such jobs at once, `/usr/bin/time`): peak RSS 1.62 GB
/// without eviction, 1.21 GB with it (freed after 3 idle steps: 1.50 GB; 8: 1.60 GB), for 5 % more wall time
/// (223 → 235 s: system time faulting pages back in), the same CPU time in the job's own code, the same bits.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()

    /// Upper bound on idle cached memory; beyond it the longest-idle buffers go back to the system.
    public var capacityBytes: Int {
        get { lock.lock(); defer { lock.unlock() }; return capacity }
        set { lock.lock(); capacity = newValue; evict(toFit: 0); lock.unlock() }
    }

    private let lock = NSLock()
    /// Idle buffers per size class, oldest first, each with the step (``endStep()`` count) it was released in.
    private var free: [Int: [(pointer: UnsafeMutableRawPointer, step: Int)]] = [:]
    private var step = 0
    private var cached = 0
    private var capacity = 2 << 30  // more than one train step of our proxy models needs
    private static let minPooled = 16 << 10
    private static let alignment = 64  // AVX-friendly and enough for OpenBLAS

    /// Size class: round up to an eighth of the enclosing power of two.
    static func sizeClass(_ bytes: Int) -> Int {
        guard bytes >= minPooled else { return bytes }
        let top = Int.bitWidth - (bytes - 1).leadingZeroBitCount  // 2^top ≥ bytes
        let step = 1 << (top - 3)
        return (bytes + step - 1) / step * step
    }

    /// Returns a buffer of at least `byteCount` bytes and the size to pass back to ``release(_:byteCount:)``.
    func allocate(byteCount: Int) -> (UnsafeMutableRawPointer, Int) {
        let size = BufferPool.sizeClass(byteCount)
        if size >= BufferPool.minPooled {
            lock.lock()
            if let p = free[size]?.popLast() {
                cached -= size
                lock.unlock()
                return (p.pointer, size)
            }
            lock.unlock()
        }
        return (UnsafeMutableRawPointer.allocate(byteCount: size, alignment: BufferPool.alignment), size)
    }

    func release(_ p: UnsafeMutableRawPointer, byteCount size: Int) {
        if size >= BufferPool.minPooled {
            lock.lock()
            if size <= capacity {
                evict(toFit: size)
                free[size, default: []].append((p, step))
                cached += size
                lock.unlock()
                return
            }
            lock.unlock()
        }
        p.deallocate()
    }

    /// Frees the longest-idle buffers until `bytes` more fit under the cap (the lock is held).
    private func evict(toFit bytes: Int) {
        while cached + bytes > capacity {
            // Each class's list is oldest first: the oldest overall is one of the lists' first entries.
            var oldest = -1, oldestStep = Int.max
            for (size, list) in free where !list.isEmpty && list[0].step < oldestStep { (oldest, oldestStep) = (size, list[0].step) }
            guard oldest >= 0 else { return }
            free[oldest]!.removeFirst().pointer.deallocate()
            cached -= oldest
        }
    }

    /// Marks the end of a training step: buffers released before the step that just ended and not reused during it
    /// go back to the system. Never changes a result, only which memory holds it.
    public func endStep() {
        lock.lock()
        step += 1
        var stale: [UnsafeMutableRawPointer] = []
        for (size, list) in free {
            let keep = list.filter { $0.step >= step - 1 }
            if keep.count == list.count { continue }
            stale += list.filter { $0.step < step - 1 }.map(\.pointer)
            cached -= (list.count - keep.count) * size
            free[size] = keep
        }
        lock.unlock()
        stale.forEach { $0.deallocate() }
    }

    /// Idle bytes held (for tests and diagnostics).
    public var cachedBytes: Int { lock.lock(); defer { lock.unlock() }; return cached }

    /// Returns all idle buffers to the system (e.g. between a training and an evaluation phase).
    public func trim() {
        lock.lock()
        let all = free.values.flatMap { $0.map(\.pointer) }
        free = [:]
        cached = 0
        lock.unlock()
        all.forEach { $0.deallocate() }
    }
}
