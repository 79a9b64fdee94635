import Foundation
import XexpOrchestration

/// Where job caches come from, in lookup order: `--cache DIR` flags, then `$XEXP_CACHE` (colon-separated, like
/// `PATH`), then the spec's `"cache"` list (relative to the spec file). Duplicates are looked up once.
enum CacheOptions {
    static func caches(flags: [String], spec: ExperimentSpec?) -> [JobCache] {
        let fromEnvironment = (ProcessInfo.processInfo.environment["XEXP_CACHE"] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
        var seen = Set<String>()
        var result: [JobCache] = []
        for url in (flags + fromEnvironment).map({ URL(fileURLWithPath: $0).standardizedFileURL }) + (spec?.caches ?? []) {
            if seen.insert(url.path).inserted { result.append(JobCache(directory: url)) }
        }
        return result
    }

    /// A cache directory as the user would type it from here: relative to the current directory when inside it.
    static func display(_ url: URL) -> String {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path + "/"
        return url.path.hasPrefix(cwd) ? String(url.path.dropFirst(cwd.count)) : url.path
    }
}

/// The xexp build: the git commit of the source tree the running binary was built in (`<repo>/.build/<config>/xexp`),
/// with `-dirty` when that tree has uncommitted changes. Nil for a binary installed away from its source.
enum BuildInfo {
    static let current: String? = {
        let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        var dir = exe.deletingLastPathComponent()
        // .build/<triple>/<config>/xexp or .build/<config>/xexp: the package root holds Package.swift and .build.
        for _ in 0..<4 {
            dir = dir.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                return SweepRunner.gitCommit(of: dir)
            }
        }
        return nil
    }()
}
