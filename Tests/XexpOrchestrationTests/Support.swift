import Foundation
import Testing
@testable import XexpOrchestration

/// A fresh temporary directory per test, removed at the end.
final class TempDir {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("xexp-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ name: String, _ text: String) -> URL {
        let file = url.appendingPathComponent(name)
        try! text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func read(_ name: String) -> String { (try? String(contentsOf: url.appendingPathComponent(name), encoding: .utf8)) ?? "" }
}

func parseSpec(_ text: String, file: String = "spec.json") throws(SpecError) -> ExperimentSpec {
    try SpecParser.parse(text: text, fileURL: URL(fileURLWithPath: "/tmp/\(file)"), displayPath: file)
}

func plan(_ dir: TempDir, _ text: String) throws -> SweepPlan {
    let url = dir.write("spec.json", text)
    return try SweepPlan(specAt: url, displayPath: "spec.json")
}

/// Runs a sweep to the end on a store in `dir`; returns the result and the store.
@discardableResult
func runSweep(_ dir: TempDir, _ text: String, slots: Int = 2, rerun: Set<String> = [],
              observer: @escaping @Sendable (SchedulerEvent) -> Void = { _ in }) throws -> (SweepRunner.Result, Store) {
    let p = try plan(dir, text)
    let store = try Store.open(at: dir.url.appendingPathComponent("store/x.sqlite"))
    let runner = SweepRunner(plan: p, store: store, options: SchedulerOptions(slots: slots, cores: 2, killGrace: 1), rerun: rerun)
    return (try runner.run(invocationOptions: "test", observer: observer), store)
}

extension Parameters {
    static func of(_ pairs: KeyValuePairs<String, ParameterValue>) -> Parameters {
        var p = Parameters()
        for (k, v) in pairs { p[k] = v }
        return p
    }
}
