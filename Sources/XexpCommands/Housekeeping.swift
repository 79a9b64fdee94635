import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp rm SWEEP`: forget a sweep (or one run of it). Its job directories stay until `xexp gc`.
struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove a sweep's runs from the store (NAME: every run; NAME@K: that run). `xexp gc` then frees their job directories.")

    @Argument(help: ArgumentHelp("NAME or NAME@K.", valueName: "sweep"), completion: sweepNames)
    var sweep: String

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExistingForWriting()
        let reference = try query { try SweepReference(parsing: sweep) }
        let lock: SweepLock
        do { lock = try SweepLock(store: store, purpose: "rm \(sweep)") } catch let error as StoreError {
            throw fail(error.description, status: ExitStatus.failure)
        }
        _ = lock
        let removed = try query { try store.removeSweep(reference, allRuns: !sweep.contains("@")) }
        print("removed \(removed) run(s) of \(reference.name); `xexp gc\(self.store.hint)` frees the job directories no other sweep uses")
    }
}

/// `xexp gc`: delete the job directories in `runs/` that no invocation of any store beside it references.
struct GarbageCollect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete job directories in runs/ that no sweep of any store beside runs/ uses (--dry-run: only list them and the bytes).")

    @Flag(help: "List what would be deleted and how many bytes it holds; delete nothing.")
    var dryRun = false

    @OptionGroup var store: StoreOptions

    func run() throws {
        try store.requireStore()
        let primary = store.url
        // Every store in the directory shares its runs/: a job any of them uses is kept.
        let directory = primary.deletingLastPathComponent()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var stores: [Store] = []
        var locks: [SweepLock] = []
        for name in names.sorted() where name.hasSuffix(".sqlite") {
            let url = directory.appendingPathComponent(name)
            do {
                let s = dryRun ? try Store.openForReading(at: url) : try Store.open(at: url)
                if !dryRun { locks.append(try SweepLock(store: s, purpose: "gc")) }
                stores.append(s)
            } catch let error as StoreError {
                throw fail("\(error.description) (gc reads every store beside runs/ so that it never deletes a job one of them uses; move that file away or fix it)", status: ExitStatus.failure)
            }
        }
        _ = locks
        var referenced = Set<JobID>()
        for s in stores { referenced.formUnion(try query { try s.referencedJobs() }) }
        let runs = directory.appendingPathComponent("runs")
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? []).sorted()
        let doomed = entries.filter { !referenced.contains($0) && !$0.hasPrefix(".") }
        var bytes: Int64 = 0
        for id in doomed { bytes += Self.size(of: runs.appendingPathComponent(id)) }
        let summary = "\(doomed.count) of \(entries.count) job director\(entries.count == 1 ? "y" : "ies") unused by any sweep in \(stores.count) store(s), \(JobProvenance.size(bytes))"
        if dryRun {
            for id in doomed { print(runs.appendingPathComponent(id).path) }
            print("would delete " + summary)
            return
        }
        for id in doomed {
            do { try FileManager.default.removeItem(at: runs.appendingPathComponent(id)) } catch {
                throw fail("cannot delete \(runs.appendingPathComponent(id).path): \(error.localizedDescription)", status: ExitStatus.failure)
            }
        }
        var forgotten = 0
        for s in stores { forgotten += try query { try s.deleteUnreferencedJobs(keeping: referenced) } }
        print("deleted " + summary + "; forgot \(forgotten) unused job record(s)")
    }

    static func size(of url: URL) -> Int64 {
        guard let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey]) else { return 0 }
        var total: Int64 = 0
        for case let file as URL in walker { total += Int64((try? file.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) }
        return total
    }
}
