import Foundation
import Testing

/// `XEXP_ACTIVATIONS` chooses how a worker spends memory, never what it computes: the LM stage writes the same bytes
/// whether its decoder keeps or recomputes its blocks' activations, and an unknown value stops the job before it
/// writes anything, with the usage status.
@Suite("activation memory in the worker", .serialized)
struct ActivationsWorkerTests {
    func lm(_ box: Sandbox, _ dir: String, activations: String) throws -> (RunResult, Data?) {
        let jobDir = box.url.appendingPathComponent(dir)
        let r = try box.run(["worker", "lm", "--job-dir", jobDir.path, "--set", "llm=mini-xmodel-lm", "--set", "data_seed=0",
                             "--set", "preset=smoke", "--set", "lm_steps=3", "--set", "lm_batch=8", "--set", "lm_lr=auto",
                             "--set", "lm_answer_weight=auto", "--set", "lm_focus=auto", "--set", "lm_focus_share=auto"],
                            binary: releaseBinary, environment: ["XEXP_ACTIVATIONS": activations, "XEXP_METRICS": jobDir.appendingPathComponent("metrics.jsonl").path])
        return (r, try? Data(contentsOf: jobDir.appendingPathComponent("lm.safetensors")))
    }

    @Test func keepAndRecomputeWriteTheSameLM() throws {
        let box = Sandbox()
        let (kept, keptLM) = try lm(box, "keep", activations: "keep")
        let (recomputed, recomputedLM) = try lm(box, "recompute", activations: "recompute")
        #expect(kept.status == 0 && recomputed.status == 0, "\(kept.stderr)\(recomputed.stderr)")
        #expect(keptLM != nil && keptLM == recomputedLM)
        // Each really ran as told (a binary that ignored the variable would pass the comparison above).
        #expect(kept.stderr.contains("lm: activations: keep") && recomputed.stderr.contains("lm: activations: recompute"),
                "\(kept.stderr)\(recomputed.stderr)")
        let metrics = { (dir: String) in try? Data(contentsOf: box.url.appendingPathComponent(dir).appendingPathComponent("metrics.jsonl")) }
        #expect(metrics("keep") != nil && metrics("keep") == metrics("recompute"))
    }

    @Test func anUnknownValueIsAUsageErrorThatNamesIt() throws {
        let box = Sandbox()
        let (r, written) = try lm(box, "bad", activations: "fast")
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("XEXP_ACTIVATIONS=fast is not keep, recompute or auto"), "\(r.stderr)")
        #expect(written == nil)
        #expect(!FileManager.default.fileExists(atPath: box.url.appendingPathComponent("bad").path), "the job directory was created")
    }
}
