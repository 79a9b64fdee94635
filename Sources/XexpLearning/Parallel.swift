import Foundation

/// Splits independent work items (attention heads) across the process's thread budget,
/// ``BLAS/threadCount``. Inside the region OpenBLAS runs single-threaded, so each worker's small
/// products do not fight the other worker for cores — at head-sized products (K = head dim) that is
/// faster than one thread issuing 2-thread GEMMs.
enum Parallel {
    /// Number of workers in the region currently running (1 outside), for GEMM profiling.
    nonisolated(unsafe) static var activeWorkers = 1

    static func forEach(_ units: Int, _ body: (_ unit: Int, _ worker: Int) -> Void) {
        let workers = min(units, BLAS.threadCount)
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

    /// The number of workers ``forEach(_:_:)`` will use for `units` items (for per-worker scratch).
    static func workers(for units: Int) -> Int { max(1, min(units, BLAS.threadCount)) }
}

/// Lets a non-Sendable closure cross into `concurrentPerform`; callers guarantee the work items touch
/// disjoint memory.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
