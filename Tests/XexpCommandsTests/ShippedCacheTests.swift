import Foundation
import Testing

/// The backbones committed under `Results/cache/` (Results/README.md): each entry matches its manifest, and the ids
/// the code computes for the shipped experiments still name them — a change that alters a backbone's id (a stage
/// version, a preset number, a parameter it reads) fails here until the entries are rebuilt and committed again.
@Suite("Shipped job cache")
struct ShippedCacheTests {
    let cache = repositoryRoot.appendingPathComponent("Results/cache")

    @Test func committedEntriesMatchTheirManifests() throws {
        let r = try Sandbox().run("cache", "verify", cache.path, "--manifests-only")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("4 entries checked against their manifests, 0 bad"), "\(r.stdout)")
    }

    @Test(arguments: ["tokens", "projectors", "tokens-paper", "llms"])
    func shippedExperimentsStartFromTheCachedBackbones(_ name: String) throws {
        let box = Sandbox()
        let spec = repositoryRoot.appendingPathComponent("Experiments/\(name).json").path
        let r = try box.run("sweep", spec, "--dry-run", "--db", box.url.appendingPathComponent("fresh.sqlite").path)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        for stage in ["vision", "lm"] {
            // Every job of the stage (llms.json has three LMs), not just the first.
            let lines = r.stdout.split(separator: "\n").filter { $0.contains("  \(stage)  [") }
            #expect(!lines.isEmpty, "\(name): no \(stage) job in\n\(r.stdout)")
            for line in lines { #expect(line.contains("[cached: \(cache.path)]"), "\(name): \(line)") }
        }
        #expect(!box.exists("fresh.sqlite"))
    }
}
