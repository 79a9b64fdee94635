import Testing
@testable import XexpLearning

/// The pool keeps one training step's working set: a buffer idle through a whole step goes back to the system, so
/// batches of varying length do not pile up size classes no later step asks for (peak RSS), while the buffers every
/// step reuses stay (speed).
@Suite("Buffer pool")
struct BufferPoolTests {
    @Test func aBufferIdleForAWholeStepIsReturned() {
        let pool = BufferPool()
        let (a, sizeA) = pool.allocate(byteCount: 1 << 20)
        let (b, sizeB) = pool.allocate(byteCount: 3 << 20)
        pool.release(a, byteCount: sizeA)
        pool.release(b, byteCount: sizeB)
        #expect(pool.cachedBytes == sizeA + sizeB)
        pool.endStep()  // released during this step: kept for the next
        #expect(pool.cachedBytes == sizeA + sizeB)
        let (again, sizeAgain) = pool.allocate(byteCount: 1 << 20)  // the next step reuses a, not b
        #expect(again == a && sizeAgain == sizeA)
        pool.release(again, byteCount: sizeAgain)
        pool.endStep()  // b sat idle through that whole step: freed; a was used: kept
        #expect(pool.cachedBytes == sizeA)
        pool.endStep()
        #expect(pool.cachedBytes == 0)
    }

    @Test func theCapFreesTheLongestIdleFirst() {
        let pool = BufferPool()
        pool.capacityBytes = 5 << 20
        let (a, sizeA) = pool.allocate(byteCount: 2 << 20)
        let (b, sizeB) = pool.allocate(byteCount: 3 << 20)
        let (c, sizeC) = pool.allocate(byteCount: 2 << 20)
        pool.release(a, byteCount: sizeA)
        pool.endStep()
        pool.release(b, byteCount: sizeB)
        pool.release(c, byteCount: sizeC)  // 2 + 3 + 2 MB > 5 MB: a (idle longest) goes
        #expect(pool.cachedBytes == sizeB + sizeC)
        let (d, _) = pool.allocate(byteCount: 3 << 20)
        #expect(d == b)
    }
}
