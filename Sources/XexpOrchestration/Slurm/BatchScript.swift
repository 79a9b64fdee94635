import Foundation

/// The files of a job directory that the Slurm backend reads and writes. Everything a worker needs is in the directory
/// and everything it produces lands there: a Slurm worker never opens the store (SQLite over a network filesystem is
/// unsafe), the watching `xexp` ingests what it finds.
struct JobDirectory {
    let url: URL
    var script: URL { url.appendingPathComponent("job.sbatch") }
    var manifest: URL { url.appendingPathComponent("job.json") }
    var metrics: URL { url.appendingPathComponent("metrics.jsonl") }
    var stdout: URL { url.appendingPathComponent("stdout.log") }
    var stderr: URL { url.appendingPathComponent("stderr.log") }
    /// Slurm's own output of the batch script (the job's output goes to stdout.log and stderr.log).
    var slurmLog: URL { url.appendingPathComponent("slurm.log") }
    /// Written last by the script, atomically: `slurm_job=ID exit=CODE [timeout=SECONDS]`.
    var exitStatus: URL { url.appendingPathComponent("exit-status") }

    init(runs: URL, job: JobID) { url = runs.appendingPathComponent(job) }
}

/// How the job's command ended, as its batch script recorded it.
struct ExitStatusFile: Equatable {
    var slurmID: String
    var exitCode: Int32
    /// Set when the stage's `timeout` stopped the command (coreutils `timeout` exits 124).
    var timedOutAfter: Double?

    /// The record in `directory` if it was written by Slurm job `slurmID` (an older attempt's file does not count).
    static func read(_ directory: JobDirectory, slurmID: String) -> ExitStatusFile? {
        guard let text = try? String(contentsOf: directory.exitStatus, encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for pair in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { fields[kv[0]] = kv[1] }
        }
        guard fields["slurm_job"] == slurmID, let code = fields["exit"].flatMap({ Int32($0) }) else { return nil }
        return ExitStatusFile(slurmID: slurmID, exitCode: code, timedOutAfter: fields["timeout"].flatMap(Double.init))
    }
}

/// Writes `job.sbatch`: a POSIX shell script that runs one job from its directory with the same environment as the
/// local scheduler gives it, so the same command produces the same metrics on either backend.
enum BatchScript {
    static func render(job: Job, directory: JobDirectory, runsDirectory: URL, workingDirectory: URL,
                       resources: SlurmResources, environmentPath: String?) -> String {
        let (argv, stageEnv) = job.resolved(runsDirectory: runsDirectory)
        var command = argv
        // Resolve the program where xexp runs (as the local scheduler does); on a shared filesystem the node sees the
        // same path. A name not found here is left to the node's PATH.
        if let resolved = ProcessLauncher.resolveExecutable(argv[0], cwd: workingDirectory, path: environmentPath) {
            command[0] = resolved
        }
        let q = shellQuote
        let dir = directory.url.path
        var lines = [
            "#!/bin/sh",
            "# xexp job \(job.id) (stage \(job.stage)), written by xexp \(toolkitVersion). It needs only this directory and the",
            "# working directory below, both on a filesystem the compute nodes share. Resubmit by hand with: sbatch \(q(directory.script.path))",
            "#SBATCH --job-name=xexp-\(job.id)",
            "#SBATCH --output=\(directory.slurmLog.path)",
            "#SBATCH --chdir=\(workingDirectory.path)",
        ]
        lines += resources.sbatchOptions.map { "#SBATCH \($0)" }
        lines += [
            "dir=\(q(dir))",
            "cd \(q(workingDirectory.path)) || { echo \"xexp: cannot enter \(workingDirectory.path) on $(hostname); it must be on a filesystem shared with the compute nodes\" >&2; exit 125; }",
            // Concurrent jobs must not multiply BLAS threads: one per CPU Slurm gave the job (a stage's env may override).
            "threads=${SLURM_CPUS_PER_TASK:-1}",
            "export OPENBLAS_NUM_THREADS=\"$threads\" OMP_NUM_THREADS=\"$threads\" XEXP_THREADS=\"$threads\"",
        ]
        lines += stageEnv.map { "export \($0.0)=\(q($0.1))" }
        lines += [
            "export XEXP_JOB_DIR=\"$dir\" XEXP_METRICS=\"$dir/metrics.jsonl\" XEXP_JOB_ID=\(job.id)",
            "export XEXP_PARAMS=\(q(job.referencedParameters.json.jsonText))",
            "rm -f \"$dir/exit-status\"",
            ": > \"$dir/metrics.jsonl\"",
        ]
        var run = command.map(q).joined(separator: " ")
        if let timeout = job.timeout {
            // coreutils timeout leads its own process group and signals all of it, like the local shepherd.
            run = "timeout -k 5 \(JSONValue.formatNumber(timeout)) \(run)"
        }
        lines += [
            "\(run) >> \"$dir/stdout.log\" 2>> \"$dir/stderr.log\" < /dev/null",
            "code=$?",
            "extra=",
            job.timeout.map { "[ \"$code\" -eq 124 ] && extra=\" timeout=\(JSONValue.formatNumber($0))\"" } ?? ":",
            "printf 'slurm_job=%s exit=%d%s\\n' \"${SLURM_JOB_ID:-}\" \"$code\" \"$extra\" > \"$dir/exit-status.tmp\" && mv -f \"$dir/exit-status.tmp\" \"$dir/exit-status\"",
            "exit \"$code\"",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Turns what Slurm and the job directory say into the job's outcome, the same way for the watching scheduler,
/// `xexp status` and `xexp cancel`: metrics through `MetricsFile.parse`, as on the local backend.
enum SlurmOutcome {
    /// The outcome once it can be decided; nil while the job is still active or its files are not visible yet.
    /// - Parameters:
    ///   - report: what squeue/sacct said (nil: neither knows the job).
    ///   - waited: seconds since the job reached a state with no exit-status file, or since Slurm lost track of it.
    static func decide(directory: JobDirectory, slurmID: String, report: SlurmJobReport?, waited: Double,
                       lagTolerance: Double, stderrOffset: UInt64) -> JobOutcome? {
        let exit = ExitStatusFile.read(directory, slurmID: slurmID)
        let state = report?.state ?? "UNKNOWN"
        let label = "Slurm job \(slurmID): \(state)"
        guard let report else {
            guard waited >= lagTolerance else { return nil }
            if let exit { return outcome(exit, directory: directory, label: label, stderrOffset: stderrOffset) }
            return JobOutcome(status: .failed, error: "neither squeue nor sacct knows Slurm job \(slurmID) after \(Int(waited)) s and it left no exit-status file in \(directory.url.path); it was lost (purged without accounting?)")
        }
        switch SlurmPhase(state: report.state, source: report.source) {
        case .active:
            return nil
        case .completed:
            if let exit { return outcome(exit, directory: directory, label: label, stderrOffset: stderrOffset) }
            // The script writes the file before it exits; on a network filesystem it may show up a little later.
            guard waited >= lagTolerance else { return nil }
            return JobOutcome(status: .failed, exitCode: 0, error: "\(label), but it left no exit-status file in \(directory.url.path) after \(Int(waited)) s; runs/ must be on a filesystem shared with the compute nodes")
        case .cancelled:
            if let exit, exit.exitCode == 0 { return outcome(exit, directory: directory, label: label, stderrOffset: stderrOffset) }
            let why = report.detail == "DependencyNeverSatisfied" ? "an upstream job did not finish" : "cancelled in Slurm (scancel)"
            return JobOutcome(status: .interrupted, error: "\(why) (\(label))")
        case .timedOut:
            return JobOutcome(status: .timeout, error: "Slurm stopped it at its time limit (\(label)); raise --time or the stage's \"slurm\": {\"time\": …}" + tail(directory, stderrOffset))
        case .failed:
            if let exit { return outcome(exit, directory: directory, label: label, stderrOffset: stderrOffset) }
            let hint: String
            switch report.state {
            case "OUT_OF_MEMORY": hint = "it ran out of memory; raise --mem or the stage's \"slurm\": {\"mem\": …}"
            case "NODE_FAIL", "BOOT_FAIL": hint = "its node failed; run the sweep again to retry it"
            default: hint = "the batch script ended before the command finished; see \(directory.slurmLog.path)"
            }
            return JobOutcome(status: .failed, error: "\(label) (exit code \(report.detail ?? "?")): \(hint)" + tail(directory, stderrOffset)
                              + slurmLogTail(directory))
        }
    }

    static func outcome(_ exit: ExitStatusFile, directory: JobDirectory, label: String, stderrOffset: UInt64) -> JobOutcome {
        if let after = exit.timedOutAfter {
            return JobOutcome(status: .timeout, exitCode: exit.exitCode,
                              error: "timed out after \(JSONValue.formatNumber(after)) s; raise the stage's \"timeout\" (\(label))" + tail(directory, stderrOffset))
        }
        if exit.exitCode == 0 {
            let text = (try? String(contentsOf: directory.metrics, encoding: .utf8)) ?? ""
            do { return JobOutcome(status: .done, exitCode: 0, metrics: try MetricsFile.parse(text)) } catch {
                return JobOutcome(status: .failed, exitCode: 0, error: "\(error) (in \(directory.metrics.path))")
            }
        }
        // The shell reports death by signal N as 128 + N.
        if exit.exitCode > 128 && exit.exitCode <= 128 + 64 {
            let signal = exit.exitCode - 128
            return JobOutcome(status: .failed, signal: signal,
                              error: "killed by signal \(signal) (\(LocalScheduler.signalName(signal))) (\(label))" + tail(directory, stderrOffset))
        }
        let notFound = exit.exitCode == 127 ? "; if stderr says \"not found\", the command is not on the compute node's PATH" : ""
        return JobOutcome(status: .failed, exitCode: exit.exitCode,
                          error: "exited with status \(exit.exitCode) (\(label))\(notFound)" + tail(directory, stderrOffset))
    }

    static func tail(_ directory: JobDirectory, _ offset: UInt64) -> String {
        LocalScheduler.tail(of: directory.stderr, from: offset)
    }

    static func slurmLogTail(_ directory: JobDirectory) -> String {
        let text = LocalScheduler.tail(of: directory.slurmLog, from: 0, maxBytes: 1000)
        return text.isEmpty ? "" : text.replacingOccurrences(of: "; stderr ends with:", with: "; slurm.log ends with:")
    }
}
