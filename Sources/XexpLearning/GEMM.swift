import COpenBLAS
import Foundation

/// The one place that calls `cblas_sgemm`. Every matrix product in xexp — linear layers, attention,
/// batched products — goes through ``GEMM/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``,
/// so the benchmark can measure GEMM time and FLOPs in one spot (llama2.c's single `matmul`).
public enum GEMM {
    /// When true, every call adds its wall time and FLOPs to ``profile``. Off by default (one branch).
    nonisolated(unsafe) public static var isProfiling = false
    /// Accumulated GEMM statistics while ``isProfiling``.
    nonisolated(unsafe) public static var profile = Profile()
    private static let profileLock = NSLock()

    /// Time and work spent in `cblas_sgemm`.
    public struct Profile: Sendable {
        public var seconds: Double = 0
        public var flops: Double = 0
        public var calls: Int = 0
        public init() {}
        public var gflops: Double { seconds > 0 ? flops / seconds / 1e9 : 0 }
    }

    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, row-major, where op transposes when asked.
    /// `lda`, `ldb`, `ldc` are row strides, which lets callers address one head inside a `[T, H·D]` matrix
    /// without copying.
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            // BLAS would scale C by beta; keep that meaning without calling it on empty inner dims.
            // (beta 0 assigns, as BLAS does, so uninitialised C never turns into NaN.)
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : c[i * ldc + j] * beta } }
            return
        }
        let start = isProfiling ? DispatchTime.now().uptimeNanoseconds : 0
        // OpenBLAS always runs single-threaded: its threaded GEMM gives other bits than its serial one (measured on
        // 0.3.21, Haswell kernels), so a job's result would depend on the machine's cores. Large products are split
        // instead into row blocks fixed by the shape alone, each one serial OpenBLAS call, spread over our workers:
        // the same bits at any thread count.
        _ = BLAS.singleThreaded
        let blocks = rowBlocks(m: m, n: n, k: k)
        if blocks == 1 {
            call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        } else {
            let size = (m + blocks - 1) / blocks
            let body: (Int) -> Void = { block in
                let lo = block * size, hi = min(m, lo + size)
                guard lo < hi else { return }
                // Row block [lo, hi) of C reads rows lo..<hi of op(A): rows of A, or columns when A is transposed.
                call(transA, transB, hi - lo, n, k, alpha, a + (transA ? lo : lo * lda), lda, b, ldb, beta, c + lo * ldc, ldc)
            }
            if BLAS.inParallelRegion || BLAS.threadCount == 1 {
                for block in 0..<blocks { body(block) }
            } else {
                Parallel.forEach(blocks, workers: Parallel.workers(for: blocks)) { block, _ in body(block) }
            }
        }
        if isProfiling {
            // Inside a parallel region each worker's time is divided by the worker count, so the total
            // approximates wall time spent in GEMM (exact when the workers are balanced).
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 / Double(Parallel.activeWorkers)
            profileLock.lock()
            profile.seconds += seconds
            profile.flops += 2 * Double(m) * Double(n) * Double(k)
            profile.calls += 1
            profileLock.unlock()
        }
    }
}

extension GEMM {
    /// Products below this many multiply-adds run as one call: splitting them costs more than it saves.
    static let splitThreshold = 1 << 21

    /// Row blocks of a product, from its shape alone (never from the thread count): one for small products, else
    /// up to 8 blocks of at least 32 rows.
    @inline(__always)
    static func rowBlocks(m: Int, n: Int, k: Int) -> Int {
        guard m >= 64, m * n * k >= splitThreshold else { return 1 }
        return min(8, m / 32)
    }

    @inline(__always)
    static func call(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                     _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                     _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// The per-process thread knob; the scheduler chooses per job (set it once at process start). It bounds xexp's own
/// parallel loops — row blocks of large products, attention heads, reductions (see `Parallel`) — and never changes
/// a result: OpenBLAS itself always runs on one thread (see ``GEMM/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``).
public enum BLAS {
    /// Threads this process may use (default: OpenBLAS's own default, usually the core count).
    public static var threadCount: Int {
        get { state.withLock { $0.budget } }
        set {
            precondition(newValue >= 1, "BLAS thread count must be ≥ 1, got \(newValue)")
            state.withLock { $0.budget = newValue }
        }
    }

    struct State {
        var budget = max(1, Int(openblas_get_num_threads()))
        /// Parallel regions currently running; inside one, products run serially on the worker's thread.
        var regions = 0
    }
    static let state = Locked(State())

    /// Pins OpenBLAS to one thread, once, before the first product (after reading its default as our budget).
    static let singleThreaded: Bool = {
        _ = state
        openblas_set_num_threads(1)
        return true
    }()

    static var inParallelRegion: Bool { state.withLock { $0.regions > 0 } }

    static func enterParallelRegion() { state.withLock { $0.regions += 1 } }

    static func leaveParallelRegion() { state.withLock { $0.regions -= 1 } }
}

/// A value behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
