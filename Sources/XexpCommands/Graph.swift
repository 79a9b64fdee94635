import ArgumentParser
import Foundation
import XexpOrchestration
import XexpPipeline

/// `xexp graph SPEC|SWEEP`: the job graph as Graphviz DOT.
struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the job graph as Graphviz DOT (xexp graph SPEC | dot -Tsvg > graph.svg).",
        discussion: """
            For a spec file the planned graph, nothing read or written; for a sweep in the store its latest (or K-th) run, \
            nodes filled by status: done green, failed red, running yellow, pending/blocked/interrupted grey, cached light \
            blue. Jobs used by several trials have a double border.
            """)

    @Argument(help: ArgumentHelp("A spec file (JSON), or a sweep in the store (NAME or NAME@K).", valueName: "spec|sweep"), completion: specsAndSweepNames)
    var target: String

    @OptionGroup var store: StoreOptions

    func run() throws {
        var isDirectory: ObjCBool = false
        let isFile = FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) && !isDirectory.boolValue
        if isFile || target.hasSuffix(".json") || target.contains("/") {
            let plan: SweepPlan
            do { plan = try SweepPlan(specAt: URL(fileURLWithPath: target), displayPath: target, pipeline: XmodelPipeline()) } catch {
                throw fail(error.description, status: ExitStatus.usage)
            }
            print(DotGraph(plan: plan).render(), terminator: "")
            return
        }
        let store = try self.store.openExisting()
        let reference = try query { try SweepReference(parsing: target) }
        let jobs: [StoredJob]
        do { jobs = try store.jobs(of: reference) } catch let error as StoreError {
            throw fail(error.description + " (`xexp graph` takes a spec file or a sweep name; no file \(target) exists)", status: ExitStatus.usage)
        }
        let usage = try query { try store.usage(of: reference) }
        let origins = try query { try store.origins(of: jobs.map(\.id)) }
        // The parameters each job's command uses come from planning the spec the run recorded (same ids unless xexp's
        // stages changed since); without them the labels show stage and id only.
        var planned: [JobID: (position: Int, parameters: [(name: String, value: String)])] = [:]
        if let (text, path) = try? store.specOf(reference),
           let spec = try? SpecParser.parse(text: text, fileURL: URL(fileURLWithPath: path), displayPath: path, pipeline: XmodelPipeline()),
           let plan = try? SweepPlan(spec: spec, displayPath: path) {
            for (position, job) in plan.graph.jobs.enumerated() {
                let p = job.referencedParameters
                planned[job.id] = (position, p.names.compactMap { n in p[n].map { (n, $0.description) } })
            }
        }
        let ordered = jobs.sorted { a, b in
            let pa = planned[a.id]?.position ?? Int.max, pb = planned[b.id]?.position ?? Int.max
            return pa != pb ? pa < pb : (a.stage, a.id) < (b.stage, b.id)
        }
        var graph = DotGraph(name: reference.name)
        let ids = Set(jobs.map(\.id))
        for job in ordered {
            graph.nodes.append(DotGraph.Node(id: job.id, stage: job.stage, parameters: planned[job.id]?.parameters ?? [],
                                             shared: (usage[job.id] ?? 0) > 1,
                                             fill: DotGraph.Fill(status: job.status, cached: origins[job.id] != nil)))
            graph.edges += job.upstream.filter(ids.contains).map { ($0, job.id) }
        }
        print(graph.render(), terminator: "")
    }
}
