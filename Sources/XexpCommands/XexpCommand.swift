import ArgumentParser
import CSpawn
import Foundation
import XexpOrchestration

/// The `xexp` command line: one subcommand per file in this library.
public struct XexpCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "xexp",
        abstract: "Run ablation sweeps, resume them, and compare their results.",
        discussion: """
            A sweep is a JSON spec (see Experiments/). `xexp sweep SPEC` runs it and is also how an interrupted sweep \
            resumes. Results live in an SQLite store (Results/xexp.sqlite by default; --db or XEXP_DB to change).
            """,
        version: toolkitVersion,
        subcommands: [Sweep.self, Status.self, Log.self, Show.self, Graph.self, Table.self, Diff.self, Compare.self, Export.self, Plot.self, Cache.self, Worker.self, Cancel.self, Model.self, Migrate.self, Report.self, Schema.self, Remove.self, GarbageCollect.self]
    )

    public init() {}

    /// ArgumentParser exits 64 (EX_USAGE) on a bad argument; the README and `--help` promise 2 for every input error.
    /// A mistyped subcommand also gets the nearest one ("did you mean 'sweep'?").
    public static func main(_ arguments: [String]? = nil) -> Never {
        let arguments = arguments ?? Array(CommandLine.arguments.dropFirst())
        #if XEXP_HASWELL_ENGINE
        // The engine was compiled for Haswell (Package.swift): on an older x86-64 CPU its first vector loop would die
        // with "Illegal instruction". Say so before anything runs.
        if xexp_cpu_runs_haswell_code() == 0 {
            FileHandle.standardError.write(Data("xexp: this build needs a CPU with AVX2 and FMA (Haswell or later); rebuild it for any x86-64 CPU with XEXP_PORTABLE=1 swift build -c release (and run without OPENBLAS_CORETYPE=Haswell)\n".utf8))
            Foundation.exit(ExitStatus.failure)
        }
        #endif
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            // Output goes through stdio; a failed write (a full disk, /dev/full, a closed pipe's EPIPE) only sets
            // the stream's error flag. Report it rather than exit 0 with the output lost.
            if xexp_stdout_failed() != 0 {
                let reason = String(cString: strerror(errno))
                FileHandle.standardError.write(Data("xexp: cannot write the output: \(reason); nothing is complete on standard output\n".utf8))
                Foundation.exit(ExitStatus.failure)
            }
            exit()
        } catch {
            guard exitCode(for: error).rawValue == ExitCode.validationFailure.rawValue else { exit(withError: error) }
            var message = fullMessage(for: error)
            let names = configuration.subcommands.map { $0._commandName }
            if let first = arguments.first, !first.hasPrefix("-"), !names.contains(first), first != "help" {
                let hint = suggestion(for: first, among: names).map { " (did you mean '\($0)'?)" } ?? ""
                message = "Error: unknown subcommand '\(first)'\(hint); valid: \(names.joined(separator: ", ")).\n  See 'xexp --help' for more information."
            }
            FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
            Foundation.exit(ExitStatus.usage)
        }
    }
}

/// Exit statuses, documented in the README.
enum ExitStatus {
    /// Some job failed, timed out or was blocked; or a store/report error.
    static let failure: Int32 = 1
    /// The user's input is wrong (spec, options, references): nothing was run or written.
    static let usage: Int32 = 2
    /// Interrupted by SIGINT/SIGTERM.
    static let interrupted: Int32 = 130
}

/// Prints `message` to stderr as `xexp: message` and exits with `status`.
func fail(_ message: String, status: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("xexp: \(message)\n".utf8))
    return ExitCode(status)
}

/// Writes report output to a file atomically (never half-written), or to stdout when `path` is nil or `-`.
func emit(_ text: String, to path: String?) throws {
    guard let path, path != "-" else {
        // Through stdio, like `print`: the end of `XexpCommand.main` checks the stream for write errors.
        xexp_stdout_write(text)
        return
    }
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw fail("cannot write \(path): \(error.localizedDescription); check that its directory exists and is writable", status: ExitStatus.failure)
    }
}
