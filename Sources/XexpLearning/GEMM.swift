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
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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

/// The per-process thread knob. OpenBLAS at 2 threads is slower than at 1 on small products, so the
/// scheduler chooses per job; set it once at process start. It bounds both OpenBLAS's threads and
/// xexp's own parallel loops over attention heads (see `Parallel`).
public enum BLAS {
    /// Threads this process may use (default: OpenBLAS's own default, usually the core count).
    public static var threadCount: Int {
        get { state.withLock { $0.budget } }
        set {
            precondition(newValue >= 1, "BLAS thread count must be ≥ 1, got \(newValue)")
            state.withLock { s in
                s.budget = newValue
                if s.regions == 0 { openblas_set_num_threads(Int32(newValue)) }
            }
        }
    }

    struct State {
        var budget = Int(openblas_get_num_threads())
        /// Parallel regions currently running; while > 0 OpenBLAS is held at one thread.
        var regions = 0
    }
    static let state = Locked(State())

    static func enterParallelRegion() {
        state.withLock { s in
            if s.regions == 0 { openblas_set_num_threads(1) }
            s.regions += 1
        }
    }

    static func leaveParallelRegion() {
        state.withLock { s in
            s.regions -= 1
            if s.regions == 0 { openblas_set_num_threads(Int32(s.budget)) }
        }
    }
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
