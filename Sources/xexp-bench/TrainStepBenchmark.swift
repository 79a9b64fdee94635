import Foundation
import XexpLearning

struct TrainStepOptions {
    var threads: [Int]
    var widths: [Int]
    var seqs: [Int]
    var batch: Int
    /// Timed steps per configuration; 0 = automatic (at least 5 and about 3 s).
    var steps: Int
    var runTorch: Bool
    var torchScript: String
}

struct SwiftTiming {
    var msPerStep: Double
    /// Process CPU time of the cheapest step (all threads, including any spinning).
    var cpuMsPerStep: Double
    var gemmShare: Double
    var gemmGflops: Double
}

private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// CPU time of this process (all threads): unlike wall time it barely moves when other processes
/// compete for the cores, so at one thread it is the robust measure on a busy machine.
private func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Forward + backward + AdamW for one configuration; best step time, GEMM share of it and GEMM rate.
func timeSwiftStep(width: Int, seq: Int, batch: Int, steps: Int) -> SwiftTiming {
    var rng = Philox(seed: 42)
    let config = BenchConfig.proxy(width: width)
    let model = BenchDecoder(config: config, rng: &rng)
    let opt = model.makeOptimizer()
    let data = randomBatch(vocab: config.vocab_size, batch: batch, seq: seq, rng: &rng)
    func step() {
        opt.zeroGrad()
        model.loss(ids: data.ids, targets: data.targets, batch: batch, seq: seq).backward()
        opt.step()
    }
    step()  // warm-up: first-touch page faults, OpenBLAS buffers
    var times: [Double] = [], cpu: [Double] = []
    GEMM.profile = .init()
    GEMM.isProfiling = true
    let started = now()
    while times.count < (steps > 0 ? steps : 15) {
        let (t0, c0) = (now(), cpuNow())
        step()
        times.append(now() - t0)
        cpu.append(cpuNow() - c0)
        if steps == 0 && times.count >= 5 && now() - started > 3 { break }
    }
    GEMM.isProfiling = false
    let total = times.reduce(0, +)
    // Best step, not median: on a shared machine the fastest step is the one least disturbed by others.
    return SwiftTiming(msPerStep: times.min()! * 1e3, cpuMsPerStep: cpu.min()! * 1e3, gemmShare: GEMM.profile.seconds / total, gemmGflops: GEMM.profile.gflops)
}

/// cblas_sgemm's rate on this step's largest product shapes (tokens × W → 8/3·W, and tokens × W → W,
/// as a linear layer runs them); the best of the two is reported as the attainable peak.
func sgemmPeak(width: Int, seq: Int, batch: Int) -> Double {
    let c = BenchConfig.proxy(width: width)
    var best = 0.0
    for n in [c.intermediate_size, width] {
        let m = batch * seq, k = width
        let a = Tensor.filled([m, k], value: 0.5), b = Tensor.filled([n, k], value: 0.25), out = Tensor.zeros([m, n])
        var reps = 0
        GEMM.sgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a.data, lda: k, b: b.data, ldb: k, beta: 0, c: out.data, ldc: n)
        let t0 = now()
        while now() - t0 < 0.3 || reps < 3 {
            GEMM.sgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a.data, lda: k, b: b.data, ldb: k, beta: 0, c: out.data, ldc: n)
            reps += 1
        }
        best = max(best, 2 * Double(m * n * k) * Double(reps) / (now() - t0) / 1e9)
    }
    return best
}

/// Runs the PyTorch peer script for one thread count; returns ms per step keyed by "width×seq".
func timeTorch(script: String, threads: Int, widths: [Int], seqs: [Int], batch: Int, steps: Int) -> [String: (wall: Double, cpu: Double)] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script, "--threads", String(threads), "--widths", widths.map(String.init).joined(separator: ","),
                   "--seqs", seqs.map(String.init).joined(separator: ","), "--batch", String(batch), "--steps", String(steps)]
    var env = ProcessInfo.processInfo.environment
    env["OMP_NUM_THREADS"] = String(threads)
    env["MKL_NUM_THREADS"] = String(threads)
    p.environment = env
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch {
        print("PyTorch peer could not start (\(error)); skipping it")
        return [:]
    }
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        print("PyTorch peer exited with status \(p.terminationStatus) (is torch installed? pip install torch); skipping it")
        return [:]
    }
    var result: [String: (wall: Double, cpu: Double)] = [:]
    for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let w = obj["width"] as? Int, let s = obj["seq"] as? Int,
              let ms = obj["min_ms"] as? Double, let cpu = obj["min_cpu_ms"] as? Double else { continue }
        result["\(w)×\(s)"] = (ms, cpu)
    }
    return result
}

/// The 1-minute load average, printed with the table: the machine is shared, and other processes on
/// its 2 cores distort both sides (PyTorch's spinning OpenMP threads suffer most at 2 threads).
func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
}

func runTrainStepBenchmark(_ o: TrainStepOptions) {
    print("train-step: decoder-only LLaMA, 4 layers, batch \(o.batch), vocab 1024, head dim 32, kv heads = heads/2, fwd+bwd+AdamW")
    print("OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)"); load average at start \(loadAverage())\n")
    let header = "threads  width  seq | xexp ms  torch ms  speedup | CPU-time speedup | GEMM share  GEMM GFLOP/s  sgemm peak GFLOP/s  load"
    var rows: [String] = []
    for threads in o.threads {
        BLAS.threadCount = threads
        for w in o.widths {
            for s in o.seqs {
                // Each configuration runs xexp then PyTorch back to back, so both see the same machine.
                let t = timeSwiftStep(width: w, seq: s, batch: o.batch, steps: o.steps)
                let peak = sgemmPeak(width: w, seq: s, batch: o.batch)
                let torch = o.runTorch
                    ? timeTorch(script: o.torchScript, threads: threads, widths: [w], seqs: [s], batch: o.batch, steps: o.steps)["\(w)×\(s)"]
                    : nil
                let row = String(format: "%7d  %5d  %3d | %7.1f  %@  %@ | %16@ | %9.0f%%  %12.1f  %18.1f  %@",
                                 threads, w, s, t.msPerStep,
                                 torch.map { String(format: "%8.1f", $0.wall) } ?? "       –",
                                 torch.map { String(format: "%6.2f×", $0.wall / t.msPerStep) } ?? "      –",
                                 torch.map { String(format: "%6.2f×", $0.cpu / t.cpuMsPerStep) } ?? "–",
                                 t.gemmShare * 100, t.gemmGflops, peak, loadAverage())
                FileHandle.standardError.write((row + "\n").data(using: .utf8)!)
                rows.append(row)
            }
        }
    }
    print(header)
    print(String(repeating: "-", count: header.count))
    rows.forEach { print($0) }
    print("\nms = best wall time of ≥ 5 steps after a warm-up step (both sides). speedup = torch ms / xexp ms (> 1: xexp faster).")
    print("CPU-time speedup = the same ratio of process CPU time per step (all threads; robust to other load at 1 thread).")
    print("GEMM share = time inside cblas_sgemm / step time.")
    print("sgemm peak = best cblas_sgemm rate at this step's linear-layer shapes (tokens × W · Wᵀ → 8/3·W and → W).")
}
