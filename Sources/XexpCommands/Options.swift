import ArgumentParser
import Foundation
import XexpOrchestration

/// `--db`, shared by every command that reads or writes the store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite store (default: $XEXP_DB, else Results/xexp.sqlite in the project: the nearest directory up from here holding .git or Experiments/). Job directories go in runs/ beside it.", valueName: "path"))
    var db: String?

    var url: URL { StoreOptions.url(db: db) }

    static func url(db: String?) -> URL {
        if let path = db ?? ProcessInfo.processInfo.environment["XEXP_DB"].flatMap({ $0.isEmpty ? nil : $0 }) {
            return URL(fileURLWithPath: path).standardizedFileURL
        }
        return StoreOptions.projectRoot(from: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .appendingPathComponent("Results/xexp.sqlite").standardizedFileURL
    }

    /// The project a command runs in: the nearest directory from `start` up that holds `.git` or `Experiments/`,
    /// else `start`. So `cd Experiments && xexp sweep tokens.json` uses the project's store, not a new one there.
    static func projectRoot(from start: URL) -> URL {
        var dir = start.standardizedFileURL
        while true {
            for marker in [".git", "Experiments"] where FileManager.default.fileExists(atPath: dir.appendingPathComponent(marker).path) {
                return dir
            }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { return start.standardizedFileURL }
            dir = parent
        }
    }

    /// What to add to a printed command so it reads the same store: ` --db PATH` when --db chose it.
    var hint: String { db.map { " --db \(shellQuoted($0))" } ?? "" }

    /// Opens an existing store for reading only (never created, migrated or changed); a missing file is a usage
    /// error, not an empty store created by accident.
    func openExisting() throws -> Store {
        try requireStore()
        do { return try Store.openForReading(at: url) } catch let error as StoreError {
            throw fail(error.description, status: ExitStatus.failure)
        }
    }

    /// Opens an existing store to change it (`cancel`, `migrate`, `status` recording finished Slurm jobs).
    func openExistingForWriting() throws -> Store {
        try requireStore()
        return try openStore()
    }

    /// A missing store is a usage error, never an empty store created by accident.
    func requireStore() throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw fail("no store at \(url.path); run `xexp sweep SPEC` first, or pass --db PATH", status: ExitStatus.usage)
        }
    }

    func openStore() throws -> Store {
        do { return try Store.open(at: url) } catch let error as StoreError {
            throw fail(error.description, status: ExitStatus.failure)
        } catch {
            throw fail("cannot open the store \(url.path): \(error)", status: ExitStatus.failure)
        }
    }
}

extension ReportFormat: ExpressibleByArgument {}

/// Runs a store query, turning store errors (unknown sweep, bad reference) into clear usage errors.
func query<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as StoreError {
        throw fail(error.description, status: ExitStatus.usage)
    }
}

/// `text` as one shell word (single-quoted when it needs to be).
func shellQuoted(_ text: String) -> String {
    let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:@%+,".contains($0) }
    return plain && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Shell completion (`xexp --generate-completion-script bash`) of sweep names: those in the store the command line
/// names with --db, else the default store; read-only, and nothing when there is no store.
let sweepNames = CompletionKind.custom { words, _, prefix in
    var db: String?
    if let i = words.firstIndex(of: "--db"), i + 1 < words.count { db = words[i + 1] }
    guard let store = try? Store.openForReading(at: StoreOptions.url(db: db)), let sweeps = try? store.overview() else { return [] }
    return sweeps.map(\.name).filter { $0.hasPrefix(prefix) }
}

/// `xexp graph SPEC|SWEEP`: spec files and sweep names.
let specsAndSweepNames = CompletionKind.custom { words, index, prefix in
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ".")) ?? [])
        .map { prefix.contains("/") ? String(prefix[...prefix.lastIndex(of: "/")!]) + $0 : $0 }
        .filter { $0.hasSuffix(".json") && $0.hasPrefix(prefix) }
    let names: [String]
    var db: String?
    if let i = words.firstIndex(of: "--db"), i + 1 < words.count { db = words[i + 1] }
    if let store = try? Store.openForReading(at: StoreOptions.url(db: db)), let sweeps = try? store.overview() {
        names = sweeps.map(\.name).filter { $0.hasPrefix(prefix) }
    } else { names = [] }
    return files.sorted() + names
}
