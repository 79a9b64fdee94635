import Crypto
import Foundation
import Testing

/// The built-in pipeline end to end at `smoke` size, with the release binary (the numerical code is too slow
/// unoptimised; `scripts/test` builds it).
@Suite("Built-in pipeline sweeps (smoke preset)", .serialized,
       .enabled(if: FileManager.default.isExecutableFile(atPath: releaseBinary.path), "build the release binary first: swift build -c release --product xexp"))
struct PipelineSweepTests {
    static let spec = """
        {"name": "tokens-smoke", "base": {"projector": "xdp", "preset": "smoke"}, "grid": {"tokens": [144, 4]}}
        """

    /// Every non-latency metric of the sweep, as `export --long` rows (latency is wall-clock time, not a result).
    func results(_ box: Sandbox, _ sweep: String = "tokens-smoke") throws -> [String] {
        let r = try box.run(binary: releaseBinary, ["export", sweep, "--long"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\r\n").map(String.init).filter { !$0.contains(",latency.") }
    }

    @Test func smokeSweepEndToEndIsDeterministicAndResumesExactly() throws {
        let first = Sandbox()
        first.write("tokens.json", Self.spec)
        let run = try first.run(binary: releaseBinary, ["sweep", "tokens.json", "--jobs", "2"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("23 jobs — 23 ran"))

        let table = try first.run(binary: releaseBinary, ["table", "tokens-smoke"])
        let header = table.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.hasPrefix("tokens  gqa.accuracy  sqa.accuracy  textvqa.accuracy  pope.f1  mme.total  mmbench.accuracy  latency.prefill_ms"), "\(table.stdout)")
        // Under the headline table, each benchmark's chance level (POPE's is 50 by construction); not in CSV.
        let lines = table.stdout.split(separator: "\n").map(String.init)
        let chance = lines.dropLast().last ?? ""
        #expect(chance.hasPrefix("chance (uniform guessing): gqa "), "\(table.stdout)")
        #expect(["sqa ", "textvqa ", "pope 50.0", "mme ", "mmbench "].allSatisfy(chance.contains), "\(chance)")
        // … and the blind baseline: the same finetuned model asked about another question's image.
        let blind = lines.last ?? ""
        #expect(blind.hasPrefix("blind (same model, wrong image): gqa "), "\(table.stdout)")
        #expect(["sqa ", "textvqa ", "pope ", "mme ", "mmbench "].allSatisfy(blind.contains), "\(blind)")
        #expect(try first.run(binary: releaseBinary, ["table", "tokens-smoke", "--format", "md"]).stdout.hasSuffix("\n\n" + chance + "\n\n" + blind + "\n"))
        let csv = try first.run(binary: releaseBinary, ["table", "tokens-smoke", "--format", "csv"]).stdout
        #expect(!csv.contains("chance") && !csv.contains("blind"))
        let all = try first.run(binary: releaseBinary, ["table", "tokens-smoke", "--all-metrics", "--format", "csv"])
        for metric in ["vision.shape_acc", "lm.val_loss", "lm.context_answer_acc", "lm.context_acc.reading", "align.loss", "align.shuffled_image_loss", "finetune.loss", "finetune.heldout_answer_acc", "finetune.shuffled_image_answer_acc", "pope.adversarial.f1", "pope.blind.f1", "gqa.blind.accuracy", "mme.existence", "latency.blas_threads", "latency.load_average"] {
            #expect(all.stdout.contains(metric), "missing \(metric)")
        }
        // Every prediction is kept for inspection.
        let predictions = try FileManager.default.subpathsOfDirectory(atPath: first.url.appendingPathComponent("Results/runs").path)
            .filter { $0.hasSuffix("predictions.jsonl") }
        #expect(predictions.count == 12)
        let expected = try results(first)
        #expect(expected.count > 40)

        try checkGolden(first)

        // From scratch again, one job at a time, so each job gets every core's thread instead of one (threads per job =
        // cores / --jobs): bit-identical metrics, because no result depends on the thread count.
        let second = Sandbox()
        second.write("tokens.json", Self.spec)
        #expect(try second.run(binary: releaseBinary, ["sweep", "tokens.json", "--jobs", "1"]).status == 0)
        #expect(try results(second) == expected)
        // … and byte-identical model files (weights and their config metadata), job by job.
        var compared = 0
        for job in try FileManager.default.contentsOfDirectory(atPath: first.url.appendingPathComponent("Results/runs").path) {
            for file in ["encoder.safetensors", "lm.safetensors", "model.safetensors", "features.safetensors"] where first.exists("Results/runs/\(job)/\(file)") {
                let a = try Data(contentsOf: first.url.appendingPathComponent("Results/runs/\(job)/\(file)"))
                let b = try Data(contentsOf: second.url.appendingPathComponent("Results/runs/\(job)/\(file)"))
                #expect(a == b, "\(job)/\(file) differs between two runs from scratch")
                compared += 1
            }
        }
        #expect(compared == 8, "expected encoder, lm, two align + two finetune models, caption and instruction features")

        // Killed during finetune (checkpointing every step), then resumed: the same metrics.
        let third = Sandbox()
        third.write("tokens.json", Self.spec)
        let (process, _, _) = try third.start(["sweep", "tokens.json", "--jobs", "2"], binary: releaseBinary,
                                              environment: ["XEXP_CHECKPOINT_SECONDS": "0"])
        let runs = third.url.appendingPathComponent("Results/runs")
        let deadline = Date().addingTimeInterval(120)
        var killedDuringFinetune = false
        while Date() < deadline && process.isRunning {
            let dirs = (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? []
            if dirs.contains(where: { third.read("Results/runs/\($0)/job.json").contains("\"stage\":\"finetune\"")
                                      && third.exists("Results/runs/\($0)/checkpoint.safetensors") }) {
                kill(process.processIdentifier, SIGKILL)
                killedDuringFinetune = true
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.waitUntilExit()
        #expect(killedDuringFinetune, "never saw a finetune checkpoint")
        let resumed = try third.run(binary: releaseBinary, ["sweep", "tokens.json", "--jobs", "2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("reused"))
        #expect(try results(third) == expected)
    }

    /// Golden results: every cacheable job of the smoke sweep, by job id, with the SHA-256 of each result file
    /// (`Tests/XexpCommandsTests/Fixtures/smoke-golden.json`). A job id carries its stage's version, so a change of
    /// results without a version bump fails here; a bump gives new ids, and the file must be recorded again
    /// (`XEXP_RECORD_GOLDEN=1 swift test --skip-build --filter smokeSweep`). Valid for the numerics it records.
    func checkGolden(_ box: Sandbox) throws {
        let cache = box.url.appendingPathComponent("golden-cache")
        let push = try box.run(binary: releaseBinary, ["cache", "push", "tokens-smoke", "--to", cache.path])
        #expect(push.status == 0, "\(push.stderr)")
        var jobs: [String: [String: String]] = [:]
        var numerics = ""
        for id in try FileManager.default.contentsOfDirectory(atPath: cache.path) where !id.hasPrefix(".") {
            let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: cache.appendingPathComponent("\(id)/manifest.json"))) as? [String: Any])
            numerics = manifest["numerics"] as? String ?? ""
            var files: [String: String] = ["stage": manifest["stage"] as? String ?? ""]
            for file in manifest["files"] as? [[String: Any]] ?? [] { files[file["name"] as? String ?? ""] = file["sha256"] as? String }
            jobs[id] = files
        }
        // The feature jobs are never cached (large, cheap to recompute): their files are hashed where they ran.
        let runs = box.url.appendingPathComponent("Results/runs")
        for id in try FileManager.default.contentsOfDirectory(atPath: runs.path) {
            let job = box.read("Results/runs/\(id)/job.json")
            guard let stage = ["caption-features", "instruction-features", "benchmark-features"].first(where: { job.contains("\"stage\":\"\($0)\"") }) else { continue }
            var files: [String: String] = ["stage": stage]
            for name in try FileManager.default.contentsOfDirectory(atPath: runs.appendingPathComponent(id).path) where name.hasSuffix(".safetensors") {
                files[name] = SHA256.hash(data: try Data(contentsOf: runs.appendingPathComponent("\(id)/\(name)"))).map { String(format: "%02x", $0) }.joined()
            }
            jobs[id] = files
        }
        let golden = repositoryRoot.appendingPathComponent("Tests/XexpCommandsTests/Fixtures/smoke-golden.json")
        if ProcessInfo.processInfo.environment["XEXP_RECORD_GOLDEN"] == "1" {
            let object: [String: Any] = ["numerics": numerics, "jobs": jobs]
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: golden)
            return
        }
        let recorded = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: golden)) as? [String: Any])
        guard recorded["numerics"] as? String == numerics else {
            // Other OpenBLAS builds or kernels give other bits: the golden file speaks for the numerics it names.
            Issue.record("golden results were recorded under \(recorded["numerics"] ?? "?"), this run computes under \(numerics): run the tests as scripts/test does (OPENBLAS_CORETYPE=Haswell), or record them again for this machine")
            return
        }
        let expected = try #require(recorded["jobs"] as? [String: [String: String]])
        #expect(jobs.count == 21, "smoke sweep: vision, lm, 3 feature jobs, 2 align, 2 finetune, 12 evaluations")
        for (id, files) in jobs.sorted(by: { $0.key < $1.key }) {
            guard let want = expected[id] else {
                Issue.record("job \(id) (\(files["stage"] ?? "?")) has no golden result: its id changed (a stage version bump?); record the file again with XEXP_RECORD_GOLDEN=1")
                continue
            }
            #expect(files == want, "job \(id) (\(files["stage"] ?? "?")): results changed without a bump of its stage's version")
        }
    }

    /// A worker trains with the batch it is given (`lm_batch`), and one run by hand with a bad value fails with the
    /// spec check's message instead of crashing.
    @Test func workersHonourAndCheckTheLMBatch() throws {
        let box = Sandbox()
        func lm(batch: String) throws -> (RunResult, String) {
            let dir = "lm-\(batch)"
            let r = try box.run(binary: releaseBinary, ["worker", "lm", "--job-dir", box.url.appendingPathComponent(dir).path,
                                                        "--set", "llm=mini-xmodel-lm", "--set", "data_seed=0", "--set", "preset=smoke",
                                                        "--set", "lm_steps=4", "--set", "lm_batch=\(batch)", "--set", "lm_lr=auto",
                                                        "--set", "lm_answer_weight=auto", "--set", "lm_focus=auto", "--set", "lm_focus_share=auto"])
            return (r, box.read("\(dir)/metrics.jsonl"))
        }
        let (auto, autoMetrics) = try lm(batch: "auto")  // smoke's 8
        let (eight, eightMetrics) = try lm(batch: "8")
        let (three, threeMetrics) = try lm(batch: "3")
        #expect(auto.status == 0 && eight.status == 0 && three.status == 0, "\(auto.stderr)\(eight.stderr)\(three.stderr)")
        #expect(eightMetrics == autoMetrics && !autoMetrics.isEmpty)
        #expect(threeMetrics != autoMetrics)
        let (zero, _) = try lm(batch: "0")
        #expect(zero.status != 0)
        #expect(zero.stderr.contains("lm_batch must be a positive integer, found 0"), "\(zero.stderr)")
    }

    @Test func invalidPipelineSpecsExitTwo() throws {
        let box = Sandbox()
        box.write("bad.json", #"{"name": "bad", "base": {"projector": "ldp", "preset": "smoke"}, "grid": {"tokens": [144, 576]}}"#)
        let r = try box.run(binary: releaseBinary, ["sweep", "bad.json"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("bad.json: /grid/tokens/1: 576 is not a valid token count for projector \"ldp\""), "\(r.stderr)")
        #expect(!box.exists("Results"))
    }
}
