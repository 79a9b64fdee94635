import ArgumentParser
import Foundation
import XexpLearning
import XexpOrchestration
import XexpPipeline

/// `xexp cache push|ls|verify`: share finished jobs between stores and machines through a job cache directory.
struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Share finished jobs through a job cache directory (push, list, verify).",
        discussion: """
            A job cache is a directory of finished jobs keyed by job id (DIR/<job id>/ with the job's result files and a \
            manifest of their sizes and SHA-256). Sweeps look jobs up in the caches a spec lists ("cache": [...]), in \
            --cache DIR and in $XEXP_CACHE before running them. A cache is trusted like the code you run: check one with \
            `xexp cache verify DIR --spec SPEC`, which reruns its jobs and compares every byte.
            """,
        subcommands: [Push.self, List.self, Verify.self])

    /// `xexp cache push SWEEP --to DIR [--stage S …]`.
    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "push",
            abstract: "Publish a sweep's finished jobs (of its latest run) to a job cache.")

        @Argument(help: ArgumentHelp("The sweep (NAME, NAME@K or NAME@-K).", valueName: "sweep"), completion: sweepNames)
        var sweep: String

        @Option(help: ArgumentHelp("The cache directory (created if missing).", valueName: "dir"))
        var to: String

        @Option(help: ArgumentHelp("Publish only this stage's jobs (repeatable; default: every finished, cacheable job).", valueName: "stage"))
        var stage: [String] = []

        @OptionGroup var store: StoreOptions

        func run() throws {
            let store = try self.store.openExisting()
            let reference = try query { try SweepReference(parsing: sweep) }
            let stored = try query { try store.jobs(of: reference) }
            let (text, path) = try query { try store.specOf(reference) }
            // The stage definitions (outputs, cacheable) come from the spec the invocation ran, parsed again.
            let plan: SweepPlan
            do {
                let spec = try SpecParser.parse(text: text, fileURL: URL(fileURLWithPath: path), displayPath: path, pipeline: XmodelPipeline())
                plan = try SweepPlan(spec: spec, displayPath: path)
            } catch {
                throw fail("cannot read the spec that \(sweep) ran (\(path)): \(error)", status: ExitStatus.failure)
            }
            let stages = Set(stored.map(\.stage))
            for name in stage where !stages.contains(name) {
                throw fail("--stage \(name): sweep \(reference.name) has no such stage; its stages: \(stages.sorted().joined(separator: ", "))", status: ExitStatus.usage)
            }
            let cache = JobCache(directory: URL(fileURLWithPath: to))
            var published = 0, present = 0, skipped: [String] = []
            for job in stored where job.status == .done && (stage.isEmpty || stage.contains(job.stage)) {
                guard let planned = plan.graph[job.id] else {
                    skipped.append("\(job.stage) \(job.id) (this xexp gives that job another id now)")
                    continue
                }
                guard planned.cacheable else { continue }
                let directory = store.runsDirectory.appendingPathComponent(job.id)
                do {
                    let manifest = try makeManifest(job, planned: planned, directory: directory, store: store)
                    if try cache.publish(manifest, from: directory) { published += 1 } else { present += 1 }
                } catch {
                    throw fail("cannot publish \(job.stage) \(job.id) to \(to): \(error)", status: ExitStatus.failure)
                }
            }
            print("pushed \(published) job(s) to \(to); \(present) already there" + (skipped.isEmpty ? "" : "; skipped \(skipped.count): \(skipped.joined(separator: ", "))"))
        }

        func makeManifest(_ job: StoredJob, planned: Job, directory: URL, store: Store) throws -> CacheManifest {
            let names = try JobCache.resultFiles(of: planned, in: directory)
            for name in names where !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
                throw StoreError("its result file \(name) is missing from \(directory.path)")
            }
            var metrics: [String: Double] = [:]
            for point in try store.metricHistory(job: job.id) { metrics[point.name] = point.value }
            let attempt = try store.latestAttempt(of: job.id)
            let date = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: attempt?.endedAt ?? Date().timeIntervalSince1970))
            return CacheManifest(format: CacheManifest.currentFormat, job: job.id, stage: job.stage, command: job.command, env: job.env,
                                 upstream: job.upstream, metrics: metrics,
                                 files: names.map { CacheFile(name: $0, size: 0, sha256: "") },  // sizes and digests are taken while copying
                                 xexpVersion: attempt?.toolkitVersion ?? toolkitVersion,
                                 numerics: planned.isBuiltin ? (attempt?.numerics ?? XmodelPipeline().numericsFingerprint) : nil,
                                 cpu: planned.isBuiltin ? Numerics.cpuModel : nil, threads: attempt?.threads,
                                 host: attempt?.host ?? Store.hostName, date: date)
        }
    }

    /// `xexp cache ls DIR`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a job cache's entries.")

        @Argument(help: ArgumentHelp("The cache directory.", valueName: "dir"), completion: .directory)
        var directory: String

        func run() throws {
            let cache = JobCache(directory: URL(fileURLWithPath: directory))
            guard FileManager.default.fileExists(atPath: cache.directory.path) else {
                throw fail("\(directory): no such directory; a cache is made by `xexp cache push SWEEP --to \(directory)`", status: ExitStatus.usage)
            }
            var rows: [[String]] = [["job", "stage", "files", "bytes", "made", "host", "numerics"]]
            for id in cache.entries() {
                guard let data = try? Data(contentsOf: cache.entryDirectory(id).appendingPathComponent(CacheManifest.fileName)),
                      let m = try? CacheManifest.decode(data) else {
                    rows.append([id, "?", "?", "?", "?", "?", "unreadable manifest"])
                    continue
                }
                rows.append([id, m.stage, String(m.files.count), String(m.files.reduce(0) { $0 + $1.size }), m.date, m.host, m.numerics ?? "-"])
            }
            let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
            for row in rows {
                print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
        }
    }
}
