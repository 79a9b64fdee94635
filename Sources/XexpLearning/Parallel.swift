import Foundation

/// Splits independent work items (attention heads) across the process's thread budget,
/// ``BLAS/threadCount``. Inside the region OpenBLAS runs single-threaded, so each worker's small
/// products do not fight the other worker for cores — at head-sized products (K = head dim) that is
/// faster than one thread issuing 2-thread GEMMs.
enum Parallel {
    /// Number of workers in the region currently running (1 outside), for GEMM profiling.
    nonisolated(unsafe) static var activeWorkers = 1

    /// Runs `body(unit, worker)` for every unit on `workers` threads (worker < `workers`). Callers size
    /// per-worker scratch with the same `workers` they pass here — read the budget once, since another
    /// thread may change ``BLAS/threadCount`` meanwhile.
    static func forEach(_ units: Int, workers requested: Int, _ body: (_ unit: Int, _ worker: Int) -> Void) {
        let workers = max(1, min(units, requested))
        if workers <= 1 {
            for u in 0..<units { body(u, 0) }
            return
        }
        BLAS.enterParallelRegion()
        activeWorkers = workers
        defer {
            activeWorkers = 1
            BLAS.leaveParallelRegion()
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var u = w
                while u < units { box.value(u, w); u += workers }
            }
        }
    }

    /// Workers worth using for a loop of `count` items touching `elements` floats in total: one below
    /// ~32 K elements (waking a second thread costs more than it saves), else the thread budget.
    static func workers(count: Int, elements: Int) -> Int {
        elements >= 32_768 ? max(1, min(count, BLAS.threadCount)) : 1
    }

    /// Splits `0..<count` into `workers` contiguous chunks and calls `body(range, worker)` for each.
    static func chunks(_ count: Int, workers: Int, _ body: (_ range: Range<Int>, _ worker: Int) -> Void) {
        if workers <= 1 { body(0..<count, 0); return }
        let size = (count + workers - 1) / workers
        forEach(workers, workers: workers) { w, _ in
            let lo = w * size, hi = min(count, lo + size)
            if lo < hi { body(lo..<hi, w) }
        }
    }

    /// Workers to use for `units` independent items: the thread budget, at most one per item.
    static func workers(for units: Int) -> Int { max(1, min(units, BLAS.threadCount)) }

    /// Partial sums per block for reductions. A sum over rows is split into this many contiguous blocks
    /// (fewer when there are fewer rows), whatever the thread budget, and the block partials are added in
    /// block order: the float result is then the same at 1, 2 or 64 threads, so a job's bits do not depend
    /// on the machine's core count or `--jobs` (a job id must name one result).
    static let reductionBlocks = 16

    /// Calls `body(range, block)` for the fixed blocks of `0..<count` (see ``reductionBlocks``), spread over
    /// `workers` threads. Returns the number of blocks, which callers size their partials with.
    @discardableResult
    static func reductionChunks(_ count: Int, workers: Int, _ body: (_ range: Range<Int>, _ block: Int) -> Void) -> Int {
        let blocks = self.blocks(count)
        let size = (count + blocks - 1) / max(blocks, 1)
        forEach(blocks, workers: workers) { b, _ in
            let lo = b * size, hi = min(count, lo + size)
            if lo < hi { body(lo..<hi, b) }
        }
        return blocks
    }

    /// The number of reduction blocks for `count` rows: ``reductionBlocks``, at most one per row.
    static func blocks(_ count: Int) -> Int { max(1, min(count, reductionBlocks)) }
}

/// Lets a non-Sendable closure cross into `concurrentPerform`; callers guarantee the work items touch
/// disjoint memory.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
