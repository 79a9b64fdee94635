import ArgumentParser
import Foundation
import XexpOrchestration
import XexpPipeline

extension Cache {
    /// `xexp cache verify DIR --spec SPEC [--job ID …]`: checks every entry against its manifest, then reruns the
    /// spec's jobs that the cache holds in a scratch store and compares every result file byte for byte.
    ///
    /// Snakemake's between-workflow cache and DVC's run-cache can only trust an entry; because our jobs are
    /// deterministic (a job id names one result), we can check it. The commands come from the spec, never from the
    /// entry, and each rerun job's inputs are served from the cache (verified the same way).
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check a job cache: every file against its manifest, then rerun its jobs and compare every byte.",
            discussion: "Exit status: 0 when everything matches; 1 when anything differs or cannot be checked; 2 for bad arguments.")

        @Argument(help: ArgumentHelp("The cache directory.", valueName: "dir"), completion: .directory)
        var directory: String

        @Option(help: ArgumentHelp("The spec whose jobs the cache holds (their commands are taken from it).", valueName: "spec"))
        var spec: String?

        @Flag(help: "Only check every entry's files against its manifest (seconds); rerun nothing.")
        var manifestsOnly = false

        @Option(help: ArgumentHelp("Rerun only this job (repeatable; default: every job of the spec the cache holds).", valueName: "id"))
        var job: [String] = []

        @Option(help: ArgumentHelp("Jobs run at once while rerunning (default: the number of cores).", valueName: "n"))
        var jobs: Int?

        @Flag(help: "Keep the scratch store and job directories (printed) for inspection.")
        var keep = false

        func run() throws {
            let cache = JobCache(directory: URL(fileURLWithPath: directory))
            guard FileManager.default.fileExists(atPath: cache.directory.path) else {
                throw fail("\(directory): no such directory", status: ExitStatus.usage)
            }
            guard manifestsOnly || spec != nil else {
                throw fail("cache verify needs --spec SPEC (the spec whose jobs it reruns), or --manifests-only", status: ExitStatus.usage)
            }
            var failures = 0

            // 1. Every entry against its manifest (whatever spec it belongs to).
            let entries = cache.entries()
            for id in entries {
                switch cache.lookup(id, numerics: nil) {
                case .hit: break
                case .miss: print("\(id)  MISSING  manifest vanished while checking"); failures += 1
                case .unusable(let why): print("\(id)  CORRUPT  \(why)"); failures += 1
                }
            }
            print("\(entries.count) entr\(entries.count == 1 ? "y" : "ies") checked against their manifests, \(failures) bad")
            guard let spec, !manifestsOnly else {
                if failures > 0 { throw ExitCode(ExitStatus.failure) }
                return
            }
            let plan: SweepPlan
            do { plan = try SweepPlan(specAt: URL(fileURLWithPath: spec), displayPath: spec, pipeline: XmodelPipeline()) } catch {
                throw fail(error.description, status: ExitStatus.usage)
            }
            let numerics = plan.spec.pipeline?.numericsFingerprint

            // 2. The spec's jobs that the cache holds, rerun from the spec's commands.
            let held = Set(entries)
            for id in job where plan.graph[id] == nil || !held.contains(id) {
                throw fail("--job \(id): \(plan.graph[id] == nil ? "\(spec) plans no such job" : "\(directory) holds no entry for it")", status: ExitStatus.usage)
            }
            var targets = Set(plan.graph.jobs.filter { held.contains($0.id) && $0.cacheable }.map(\.id))
            if !job.isEmpty { targets.formIntersection(job) }
            guard !targets.isEmpty else {
                print("no job of \(spec) is in \(directory): nothing to rerun")
                throw ExitCode(failures == 0 ? 0 : ExitStatus.failure)
            }
            var comparable = Set<JobID>()
            for id in targets.sorted() {
                guard let manifest = manifest(cache, id) else { continue }  // reported above as corrupt
                if plan.graph[id]!.isBuiltin, let theirs = manifest.numerics, let numerics, theirs != numerics {
                    print("\(id)  SKIPPED  made under other numerics (\(theirs); here: \(numerics)): its bits cannot be compared here")
                    failures += 1
                    continue
                }
                comparable.insert(id)
            }

            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("xexp-verify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            defer { if !keep { try? FileManager.default.removeItem(at: scratch) } }
            let store: Store
            do {
                try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
                store = try Store.open(at: scratch.appendingPathComponent("verify.sqlite"))
            } catch {
                throw fail("cannot create a scratch store in \(scratch.path): \(error)", status: ExitStatus.failure)
            }
            let cores = ProcessInfo.processInfo.activeProcessorCount
            var options = SchedulerOptions(slots: jobs ?? cores, cores: cores)
            options.numerics = numerics
            options.build = BuildInfo.current
            let runner = SweepRunner(plan: plan, store: store, options: options)
            runner.cache = CacheServing(caches: [cache], numerics: numerics)
            runner.forceRun = comparable
            runner.onlyJobs = comparable
            runner.notice = { FileHandle.standardError.write(Data("xexp: \($0)\n".utf8)) }
            let progress = Progress(sweep: plan.spec.name, interactive: isatty(STDERR_FILENO) == 1, jobs: Progress.jobInfo(plan),
                                    runsDirectory: store.runsDirectory)
            let signals = Sweep.trapSignals { name in runner.stop(reason: "received \(name)") }
            defer { signals.forEach { $0.cancel() } }
            print("rerunning \(comparable.count) job(s) in \(scratch.path)")
            let result: SweepRunner.Result
            do {
                result = try runner.run(invocationOptions: "verify=\(directory)",
                                        started: { toRun, reused, cached in progress.begin(toRun: toRun, reused: reused, cached: cached, slots: options.slots) },
                                        observer: { progress.handle($0) })
            } catch {
                throw fail("\(error)", status: ExitStatus.failure)
            }
            progress.end()
            if result.summary.interruptedBySignal { throw ExitCode(ExitStatus.interrupted) }

            // 3. Byte for byte: the same file set, every file the same SHA-256 (metrics.jsonl among them).
            for id in comparable.sorted() {
                let job = plan.graph[id]!
                guard let manifest = manifest(cache, id) else { continue }
                let rerun = store.runsDirectory.appendingPathComponent(id)
                let statuses = (try? store.statuses(of: [id])) ?? [:]
                guard statuses[id] == .done else {
                    print("\(id)  FAILED   \(job.stage): the rerun did not finish (\(statuses[id]?.rawValue ?? "not run")); see \(rerun.path)/stderr.log")
                    failures += 1
                    continue
                }
                var problems: [String] = []
                let names = (try? JobCache.resultFiles(of: job, in: rerun)) ?? []
                let expected = Set(manifest.files.map(\.name))
                for extra in Set(names).subtracting(expected).sorted() { problems.append("\(extra) is new") }
                for file in manifest.files {
                    let url = rerun.appendingPathComponent(file.name)
                    guard let (size, digest) = try? FileDigest.hash(url) else { problems.append("\(file.name) was not written"); continue }
                    if size != file.size || digest != file.sha256 { problems.append("\(file.name) differs (\(size) bytes vs \(file.size))") }
                }
                if problems.isEmpty {
                    print("\(id)  OK       \(job.stage): \(manifest.files.count) file(s) byte-identical")
                } else {
                    print("\(id)  DIFFERS  \(job.stage): \(problems.joined(separator: "; "))")
                    failures += 1
                }
            }
            if keep { print("scratch kept: \(scratch.path)") }
            print(failures == 0 ? "verified: every entry matches its manifest and every rerun job is byte-identical" : "\(failures) problem(s)")
            if failures > 0 { throw ExitCode(ExitStatus.failure) }
        }

        func manifest(_ cache: JobCache, _ id: JobID) -> CacheManifest? {
            if case .hit(let manifest) = cache.lookup(id, numerics: nil) { return manifest }
            return nil
        }
    }
}
