import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp sweep`'s backend options: `--backend slurm` and what each job asks Slurm for.
struct SlurmArguments: ParsableArguments {
    enum Backend: String, ExpressibleByArgument, CaseIterable { case local, slurm }
    enum OnInterrupt: String, ExpressibleByArgument, CaseIterable { case ask, leave, cancel }

    @Option(help: ArgumentHelp("Where jobs run: local (child processes) or slurm (one sbatch job each).", valueName: "backend"))
    var backend: Backend = .local

    @Option(help: ArgumentHelp("Slurm partition for every job (a stage's \"slurm\" object overrides).", valueName: "name"))
    var partition: String?

    @Option(help: ArgumentHelp("Slurm account to charge.", valueName: "name"))
    var account: String?

    @Option(help: ArgumentHelp("Slurm time limit per job: MM, HH:MM:SS or D-HH:MM:SS.", valueName: "limit"))
    var time: String?

    @Option(help: ArgumentHelp("Memory per job: megabytes, or with K/M/G/T (16G).", valueName: "size"))
    var mem: String?

    @Option(help: ArgumentHelp("CPUs per Slurm job (its BLAS/OpenMP threads).", valueName: "n"))
    var cpusPerJob: Int?

    @Option(parsing: .unconditionalSingleValue,
            help: ArgumentHelp("An extra sbatch argument, e.g. --sbatch-arg --qos=high (repeatable).", valueName: "arg"))
    var sbatchArg: [String] = []

    @Flag(help: "Submit every job to Slurm and return; `xexp status` records results as they finish.")
    var detach = false

    @Option(help: ArgumentHelp("On Ctrl-C of a Slurm sweep: ask (on a terminal; otherwise leave), leave the jobs running, or cancel them.", valueName: "action"))
    var onInterrupt: OnInterrupt = .ask

    @Option(help: ArgumentHelp("At most this many of the sweep's jobs queued or running on Slurm at once (default 2000; not with --detach).", valueName: "n"))
    var maxQueued: Int?

    @Option(help: ArgumentHelp("sbatch calls in a row before xexp polls Slurm again (default 50).", valueName: "n"))
    var submitBatch: Int?

    var isSlurm: Bool { backend == .slurm }

    /// Bad Slurm options exit with 2 like every other usage error (README), naming the option and the fix.
    private func usageError(_ message: String) -> ExitCode { fail(message, status: ExitStatus.usage) }

    func validate() throws {
        if !isSlurm {
            let given = [("--partition", partition != nil), ("--account", account != nil), ("--time", time != nil), ("--mem", mem != nil),
                         ("--cpus-per-job", cpusPerJob != nil), ("--sbatch-arg", !sbatchArg.isEmpty), ("--detach", detach),
                         ("--max-queued", maxQueued != nil), ("--submit-batch", submitBatch != nil), ("--on-interrupt", onInterrupt != .ask)]
            if let option = given.first(where: \.1)?.0 { throw usageError("\(option) needs --backend slurm") }
            return
        }
        if let partition, let p = SlurmResources.problem(name: partition, what: "--partition") { throw usageError(p) }
        if let account, let p = SlurmResources.problem(name: account, what: "--account") { throw usageError(p) }
        if let time, let p = SlurmResources.problem(time: time) { throw usageError("--time: \(p)") }
        if let mem, let p = SlurmResources.problem(mem: mem) { throw usageError("--mem: \(p)") }
        if let cpusPerJob, cpusPerJob < 1 { throw usageError("--cpus-per-job must be at least 1, got \(cpusPerJob)") }
        if let maxQueued, maxQueued < 1 { throw usageError("--max-queued must be at least 1, got \(maxQueued)") }
        if let submitBatch, submitBatch < 1 { throw usageError("--submit-batch must be at least 1, got \(submitBatch)") }
        if let bad = sbatchArg.first(where: { ["--dependency", "-d", "--output", "-o", "--job-name", "-J", "--parsable"].contains(String($0.split(separator: "=")[0])) }) {
            throw usageError("--sbatch-arg \(bad): xexp sets that sbatch option itself (it tracks jobs by it); remove it")
        }
    }

    var backendChoice: SweepBackend {
        guard isSlurm else { return .local }
        let resources = SlurmResources(partition: partition, account: account, time: time, mem: mem, cpus: cpusPerJob)
        return .slurm(SlurmOptions(resources: resources, sbatchArguments: sbatchArg, detach: detach,
                                   submitBatch: submitBatch ?? 50, maxQueued: maxQueued ?? 2000))
    }

    /// How the sweep records these options with its invocation.
    var invocationOptions: String {
        guard isSlurm else { return "" }
        var parts = [" backend=slurm"]
        for (key, value) in [("partition", partition), ("account", account), ("time", time), ("mem", mem), ("cpus", cpusPerJob.map(String.init))] {
            if let value { parts.append(" \(key)=\(value)") }
        }
        parts += sbatchArg.map { " sbatch-arg=\($0)" }
        if detach { parts.append(" detach") }
        return parts.joined()
    }

    /// Ctrl-C on a Slurm sweep: cancel its jobs, or leave them running? Asks only when a person can answer.
    func cancelOnInterrupt() -> Bool {
        switch onInterrupt {
        case .cancel: return true
        case .leave: return false
        case .ask:
            guard !detach, isatty(STDIN_FILENO) == 1 else { return false }
            FileHandle.standardError.write(Data("\n\u{1B}[Kxexp: leave this sweep's Slurm jobs running? [Y/n] (n cancels them with scancel) ".utf8))
            let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            return answer == "n" || answer == "no"
        }
    }
}
