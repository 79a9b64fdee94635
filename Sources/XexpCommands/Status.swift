import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp status [SWEEP]`: job counts per sweep, or one sweep's unfinished jobs with their errors.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show every sweep's job counts, or one sweep's failed jobs.")

    @Argument(help: ArgumentHelp("A sweep (NAME or NAME@K). Without it, every sweep is listed.", valueName: "sweep"), completion: sweepNames)
    var sweep: String?

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExisting()
        // Slurm jobs that ended since anyone last looked are recorded first (unless a watching sweep records them).
        if let live = try? store.liveSlurmJobs(), !live.isEmpty {
            // Recording them writes: only then is the store opened for writing (a read-only one is shown as it is).
            do { _ = try SlurmIngest.ingestFinished(store: try Store.open(at: store.url)) } catch {
                FileHandle.standardError.write(Data("xexp: cannot ask Slurm about \(live.count) queued or running job(s): \(error); showing what the store knows\n".utf8))
            }
        }
        let states: [JobStatus] = [.done, .running, .pending, .failed, .timeout, .blocked, .interrupted]
        guard let sweep else {
            let all = try query { try store.overview() }
            if all.isEmpty { print("no sweeps in \(store.url.path)"); return }
            var rows: [[ReportTable.Cell]] = []
            for o in all {
                rows.append([.text(o.name), .number(Double(o.invocations))] + states.map { .number(Double(o.counts[$0] ?? 0)) } + [.number(Double(o.total))])
            }
            print(ReportTable(columns: ["sweep", "runs"] + states.map(\.rawValue) + ["total"], rows: rows, keyColumns: 1).render(.text), terminator: "")
            return
        }
        let reference = try query { try SweepReference(parsing: sweep) }
        let (overview, problems) = try query { try store.problems(of: reference) }
        let counts = states.compactMap { s in overview.counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
        print("\(overview.name): \(overview.total) jobs — \(counts)" + (overview.cached > 0 ? " (\(overview.cached) cached)" : ""))
        let results = try? store.results(of: reference)
        if case .string(let description)? = results.flatMap({ try? JSONParser.parse($0.specText) })?["description"], !description.isEmpty {
            print(description)
        }
        let resources = try query { try store.resourcesByStage(of: reference) }
        if !resources.isEmpty {
            // What the jobs used (local attempts, wait4): sizes --jobs for a machine's memory; never part of results.
            print("\nresources (latest local attempt of each job):")
            let rows: [[ReportTable.Cell]] = resources.map { r in
                [.text(r.stage), .number(Double(r.jobs)), .text(JobProvenance.size(r.maxPeakRSSBytes)), .number((r.cpuSeconds * 10).rounded() / 10)]
            }
            print(ReportTable(columns: ["stage", "jobs", "max peak RSS", "CPU s"], rows: rows, keyColumns: 1).render(.text), terminator: "")
        }
        // Running jobs first, with the parameters that vary in the sweep, elapsed time and latest metrics (the sweep
        // records them as the job writes them).

        let varying = results.map { SweepTable.varyingParameters($0.trials.map(\.parameters)) } ?? []
        for job in problems where job.status == .running {
            let label = varying.compactMap { name in job.parameters?[name].map { "\(name)=\($0)" } }.joined(separator: " ")
            let elapsed = job.startedAt.map { " " + Progress.clock(Date().timeIntervalSince1970 - $0) + " elapsed," } ?? ""
            print("\nrunning  \(job.stage)  \(job.id)  \(label)  (\(elapsed.isEmpty ? "" : elapsed.dropFirst() + " ")attempt \(job.attempts))")
            let history = (try? store.metricHistory(job: job.id)) ?? []
            if let last = history.last {
                var latest: [(String, Double)] = []
                for p in history where p.step == nil || p.step == last.step { latest.removeAll { $0.0 == p.name }; latest.append((p.name, p.value)) }
                print("    " + (last.step.map { "step \($0): " } ?? "") + latest.suffix(6).map { "\($0.0) \(SVGPlot.label($0.1))" }.joined(separator: ", "))
            }
        }
        for job in problems where job.status != .pending && job.status != .running {
            print("\n\(job.status.rawValue)  \(job.stage)  \(job.id)  (attempts: \(job.attempts))  \(store.runsDirectory.appendingPathComponent(job.id).path)")
            if let error = job.error {
                print(error.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n"))
            }
        }
    }
}
