import ArgumentParser
import Foundation
import XexpOrchestration

/// `--db`, shared by every command that reads or writes the store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The SQLite store (default: $XEXP_DB, else Results/xexp.sqlite). Job directories go in runs/ beside it.", valueName: "path"))
    var db: String?

    var url: URL {
        let path = db ?? ProcessInfo.processInfo.environment["XEXP_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "Results/xexp.sqlite"
        return URL(fileURLWithPath: path).standardizedFileURL
    }

    /// Opens an existing store for reading; a missing file is a usage error, not an empty store created by accident.
    func openExisting() throws -> Store {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw fail("no store at \(url.path); run `xexp sweep SPEC` first, or pass --db PATH", status: ExitStatus.usage)
        }
        return try openStore()
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
