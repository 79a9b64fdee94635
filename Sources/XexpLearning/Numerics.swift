import COpenBLAS
import Foundation

/// What decides a computation's bits once the thread count does not (reductions run in fixed blocks, see
/// `Parallel.reductionBlocks`): the OpenBLAS build, the kernel set it runs (its core type — xexp's scripts set
/// `OPENBLAS_CORETYPE=Haswell`; a binary run without it picks the CPU's own), and this engine's numerics version.
/// Jobs record it per attempt and cache entries carry it, so a result computed under other numerics is never
/// served as this machine's.
public enum Numerics {
    /// Bump when a change to the engine alters any float result (a kernel, a reduction order, an approximation).
    /// Stages carry their own versions in their identity as well; this one names the engine as a whole.
    public static let engineVersion = 2

    /// `xexp-engine/2 openblas/0.3.21 core/Haswell`: compact, stable across thread counts and hosts with the same
    /// library and kernels.
    public static var fingerprint: String {
        "xexp-engine/\(engineVersion) openblas/\(openBLASVersion) core/\(coreName)"
    }

    /// OpenBLAS's version from its build configuration (`OpenBLAS 0.3.21 DYNAMIC_ARCH …`), or the whole string.
    public static var openBLASVersion: String {
        let config = openBLASConfig
        let words = config.split(separator: " ")
        if words.count >= 2, words[0] == "OpenBLAS" { return String(words[1]) }
        return config.replacingOccurrences(of: " ", with: "_")
    }

    /// OpenBLAS's whole build configuration string.
    public static var openBLASConfig: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config)
    }

    /// The kernel set OpenBLAS chose (or was told to use through `OPENBLAS_CORETYPE`).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The CPU model from `/proc/cpuinfo`, for provenance only (the kernel set is what decides the bits).
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }
}
