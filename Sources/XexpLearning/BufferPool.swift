import Foundation

/// A caching allocator for tensor buffers.
///
/// Every training step allocates and frees the same set of large activations. Returned to the system
/// allocator, buffers above glibc's mmap threshold are unmapped and their pages faulted in and zeroed
/// again on the next step — measurably slow (hundreds of MB per step at our sizes). The pool keeps freed
/// buffers by size class (powers of two split into eighths, so at most 12.5 % slack) and hands them back.
/// Small buffers (< 16 KB) go straight to the allocator. Cached bytes are capped by ``capacityBytes``.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()

    /// Upper bound on idle cached memory; beyond it freed buffers go back to the system.
    public var capacityBytes: Int {
        get { lock.lock(); defer { lock.unlock() }; return capacity }
        set { lock.lock(); capacity = newValue; lock.unlock(); if newValue == 0 { trim() } }
    }

    private let lock = NSLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
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
            if var list = free[size], let p = list.popLast() {
                free[size] = list
                cached -= size
                lock.unlock()
                return (p, size)
            }
            lock.unlock()
        }
        return (UnsafeMutableRawPointer.allocate(byteCount: size, alignment: BufferPool.alignment), size)
    }

    func release(_ p: UnsafeMutableRawPointer, byteCount size: Int) {
        if size >= BufferPool.minPooled {
            lock.lock()
            if cached + size <= capacity {
                free[size, default: []].append(p)
                cached += size
                lock.unlock()
                return
            }
            lock.unlock()
        }
        p.deallocate()
    }

    /// Returns all idle buffers to the system (e.g. between a training and an evaluation phase).
    public func trim() {
        lock.lock()
        let all = free.values.flatMap { $0 }
        free = [:]
        cached = 0
        lock.unlock()
        all.forEach { $0.deallocate() }
    }
}
