import Foundation
import XexpOrchestration
import XexpPipeline

/// Plans `text` as a spec file of the built-in pipeline (in a temporary directory removed afterwards).
func planBuiltin(_ text: String) throws -> SweepPlan {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xexp-pipe-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("spec.json")
    try text.write(to: file, atomically: true, encoding: .utf8)
    return try SweepPlan(specAt: file, displayPath: "spec.json", pipeline: XmodelPipeline())
}
