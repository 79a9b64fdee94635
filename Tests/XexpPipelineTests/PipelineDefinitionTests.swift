import Foundation
import Testing
import XexpData
import XexpOrchestration
@testable import XexpPipeline

@Suite("Built-in pipeline definition")
struct PipelineDefinitionTests {
    func plan(_ text: String) throws -> SweepPlan { try planBuiltin(text) }

    func repositorySpec(_ name: String) throws -> SweepPlan {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try SweepPlan(specAt: root.appendingPathComponent("Experiments/\(name)"), displayPath: name, pipeline: XmodelPipeline())
    }

    static let invalid: [(String, String, String)] = [
        (#"{"name": "x", "base": {"projector": "ldp"}, "grid": {"tokens": [144, 576]}}"#, "/grid/tokens/1",
         "576 is not a valid token count for projector \"ldp\""),
        (#"{"name": "x", "base": {"projector": "ldpv2"}, "grid": {"tokens": [144, 100, 99]}}"#, "/grid/tokens/2",
         "99 is not a valid token count for projector \"ldpv2\""),
        (#"{"name": "x", "grid": {"tokens": [144, 100]}}"#, "/grid/tokens/1", "576 must be divisible by it; valid: 1, 2, 3, 4, 6, 8, 9, 12"),
        (#"{"name": "x", "base": {"llm": "gpt-5"}}"#, "/base/llm", "unknown language model \"gpt-5\""),
        (#"{"name": "x", "base": {"benchmarks": "gqa,pop"}}"#, "/base/benchmarks", "unknown benchmark \"pop\" (did you mean 'pope'?)"),
        (#"{"name": "x", "base": {"preset": "smal"}}"#, "/base/preset", "unknown preset \"smal\" (did you mean 'small'?); valid: smoke, small, paper"),
        (#"{"name": "x", "base": {"projector": "xdpnet_4"}}"#, "/base/projector", "unknown projector \"xdpnet_4\""),
        (#"{"name": "x", "base": {"tokns": 4}}"#, "/base/tokns", "did you mean 'tokens'?"),
        (#"{"name": "x", "grid": {"align_lr": [0.001, 2]}}"#, "/grid/align_lr/1", "learning rate in (0, 1)"),
        (#"{"name": "x", "base": {"lm_answer_weight": -1}}"#, "/base/lm_answer_weight", "lm_answer_weight must be ≥ 0"),
        (#"{"name": "x", "base": {"lm_focus": "existsObject,existsShap"}}"#, "/base/lm_focus", "unknown question family \"existsShap\""),
        (#"{"name": "x", "base": {"lm_focus_share": 1}}"#, "/base/lm_focus_share", "must be a number in (0, 1)"),
        (#"{"name": "x", "grid": {"lm_batch": [32, 0.5]}}"#, "/grid/lm_batch/1", "lm_batch must be a positive integer, found 0.5"),
        (#"{"name": "x", "base": {"vision_batch": 0}}"#, "/base/vision_batch", "vision_batch must be a positive integer"),
    ]

    @Test(arguments: invalid)
    func invalidCombinationsFailBeforeAnythingRuns(_ text: String, _ location: String, _ fragment: String) {
        do {
            _ = try plan(text)
            Issue.record("accepted \(text)")
        } catch let error as SpecError {
            #expect(error.location == location, "\(error)")
            #expect(error.message.contains(fragment), "\(error)")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func tokenSweepSharesOneVisionAndOneLMJob() throws {
        let p = try repositorySpec("tokens.json")
        #expect(p.trials.count == 11)
        let byStage = Dictionary(grouping: p.graph.jobs, by: \.stage).mapValues(\.count)
        #expect(byStage["vision"] == 1 && byStage["lm"] == 1)
        #expect(byStage["align"] == 11 && byStage["finetune"] == 11 && byStage["latency"] == 11)
        for b in BenchmarkName.allCases { #expect(byStage[b.rawValue] == 11) }
        #expect(p.graph.jobs.count == 5 + 11 * 9)
    }

    /// The frozen encoder's features are computed once per sweep, not once per trial: one job per image set, read
    /// by every trial's align, finetune and benchmark jobs.
    @Test func encoderFeaturesAreComputedOncePerSweep() throws {
        let p = try repositorySpec("tokens.json")
        let jobs = Dictionary(grouping: p.graph.jobs, by: \.stage)
        for stage in ["caption-features", "instruction-features", "benchmark-features"] {
            #expect(jobs[stage]?.count == 1, "\(stage)")
            #expect(jobs[stage]?.first?.cacheable == false, "\(stage) files are large and cheap to recompute")
        }
        let (captions, instructions, benchmarks) = (jobs["caption-features"]![0].id, jobs["instruction-features"]![0].id, jobs["benchmark-features"]![0].id)
        for job in jobs["align"]! { #expect(job.upstream.contains(captions)) }
        for job in jobs["finetune"]! { #expect(job.upstream.contains(instructions)) }
        for b in BenchmarkName.allCases { for job in jobs[b.rawValue]! { #expect(job.upstream.contains(benchmarks)) } }
        // A trial with another stage-2 budget reads another subset of images: its own features job.
        let other = try plan(#"{"name": "x", "base": {"preset": "paper", "finetune_epochs": 0.5}, "grid": {"tokens": [144]}}"#)
        #expect(other.graph.jobs.first { $0.stage == "instruction-features" }!.id != instructions)
        #expect(other.graph.jobs.first { $0.stage == "caption-features" }!.id != captions)  // align_epochs auto (1) here
    }

    /// The benchmark features hold every benchmark, so a spec's `benchmarks` list decides which evaluation jobs
    /// exist, never their ids: adding MME to a sweep keeps its POPE results.
    @Test func theBenchmarkListLeavesEvaluationIDsAlone() throws {
        let all = try plan(#"{"name": "x", "base": {"preset": "paper"}}"#)
        let some = try plan(#"{"name": "x", "base": {"preset": "paper", "benchmarks": "mme, pope"}}"#)
        for stage in ["pope", "mme", "benchmark-features"] {
            #expect(all.graph.trialJobs[0][stage] == some.graph.trialJobs[0][stage], "\(stage)")
        }
        #expect(some.graph.trialJobs[0]["gqa"] == nil)
    }

    @Test func lessThanAnEpochReadsTheFirstImagesOfTheSet() {
        #expect(FeatureStages.imagesUsed(images: 24000, epochs: 0.25, batch: 16) == (375, 6000))
        #expect(FeatureStages.imagesUsed(images: 12000, epochs: 0.16, batch: 16) == (120, 1920))
        #expect(FeatureStages.imagesUsed(images: 100, epochs: 0.99, batch: 16) == (7, 100))  // 7 × 16 > 100: the whole set
        #expect(FeatureStages.imagesUsed(images: 100, epochs: 2, batch: 16) == (13, 100))
    }

    @Test func projectorSweepReusesTheTokenSweepsJobs() throws {
        let tokens = try repositorySpec("tokens.json"), projectors = try repositorySpec("projectors.json")
        let llms = try repositorySpec("llms.json")
        let shared = Set(tokens.graph.jobs.map(\.id)).intersection(projectors.graph.jobs.map(\.id))
        // vision, lm, the three feature jobs, and the whole XDP-at-144 chain: align, finetune, six benchmarks, latency
        #expect(shared.count == 5 + 9)
        let llmIDs: Set<JobID> = Set(llms.graph.jobs.map(\.id))
        let sharedWithLLMs = llmIDs.intersection(tokens.graph.jobs.map(\.id)).count
        #expect(sharedWithLLMs == 1 + 1 + 3 + 9)  // vision, the mini-xmodel-lm lm job, the features, its XDP-at-144 chain
    }

    /// The LM-corpus comparison's last row is the `paper` preset's own LM: `tokens-paper`'s 144-token trial, the same
    /// encoder, LM and chain.
    @Test func lmCorpusSweepReusesThePaperPresetTrial() throws {
        let corpus = try repositorySpec("lm-corpus-paper.json"), tokens = try repositorySpec("tokens-paper.json")
        let byStage = Dictionary(grouping: corpus.graph.jobs, by: \.stage).mapValues(\.count)
        #expect(byStage["vision"] == 1 && byStage["lm"] == 4 && byStage["finetune"] == 4)
        let shared = Set(corpus.graph.jobs.map(\.id)).intersection(tokens.graph.jobs.map(\.id))
        #expect(shared.count == 2 + 3 + 9)  // vision, the preset's lm job, the features, its XDP-at-144 chain
        // On two slots the encoder (every trial waits on it) starts before the 2000-step LMs (one trial
        // each); the 4000-step LM's chain is longer still, so it starts first.
        let priority = corpus.graph.priority(slots: 2)
        let vision = corpus.graph.jobs.first { $0.stage == "vision" }!.id
        let lms = corpus.graph.jobs.filter { $0.stage == "lm" }
        let long = lms.filter { $0.parameters["lm_steps"] == .string("auto") }  // the preset's 4000 steps
        #expect(long.count == 1)
        for lm in lms where lm.id != long[0].id { #expect(priority[vision]! > priority[lm.id]!) }
        #expect(priority[long[0].id]! > priority[vision]!)
    }

    /// Pretraining batch sizes are spec parameters: one reaches its own stage (and what follows), not the other's.
    @Test func pretrainingBatchesAreParametersOfTheirOwnStage() throws {
        let base = try plan(#"{"name": "x"}"#)
        let lmBatch = try plan(#"{"name": "x", "base": {"lm_batch": 32}}"#)
        let visionBatch = try plan(#"{"name": "x", "base": {"vision_batch": 32}}"#)
        func id(_ p: SweepPlan, _ stage: String) -> JobID { p.graph.trialJobs[0][stage]! }
        #expect(id(lmBatch, "vision") == id(base, "vision") && id(lmBatch, "lm") != id(base, "lm") && id(lmBatch, "align") != id(base, "align"))
        #expect(id(visionBatch, "lm") == id(base, "lm") && id(visionBatch, "vision") != id(base, "vision"))
        let lm = lmBatch.graph.jobs.first { $0.stage == "lm" }!
        #expect(lm.displayCommand.contains("lm_batch=32"))
        #expect(XmodelPipeline.cost("lm", lm.parameters) == 2 * XmodelPipeline.cost("lm", base.graph.jobs.first { $0.stage == "lm" }!.parameters))
    }

    /// `small-lm.json`: its first row is the `small` preset's 576-token trial (what `tokens.json` ran before it moved
    /// to the pretrained backbones); the two rows with the `paper` LM recipe share that LM and stage 1 and differ from
    /// stage 2 on.
    @Test func smallLMSweepSharesTheTokenTrialAndOneLargeLM() throws {
        let small = try repositorySpec("small-lm.json")
        let tokens = try plan(#"{"name": "x", "base": {"projector": "xdp", "llm": "mini-xmodel-lm", "preset": "small"}, "grid": {"tokens": [576, 144]}}"#)
        #expect(small.trials.count == 4)
        let jobs = small.graph.trialJobs
        let tokens576 = tokens.graph.trialJobs[0]  // the grid's first value
        #expect(jobs[0] == tokens576)
        #expect(jobs[2]["lm"] == jobs[3]["lm"] && jobs[2]["align"] == jobs[3]["align"] && jobs[2]["finetune"] != jobs[3]["finetune"])
        #expect(Set(jobs.map { $0["lm"]! }).count == 3 && Set(jobs.map { $0["vision"]! }).count == 1)
        let lm = small.graph.jobs.first { $0.id == jobs[2]["lm"]! }!
        #expect(XmodelPipeline.cost("lm", lm.parameters) == 8 * XmodelPipeline.cost("lm", small.graph.jobs.first { $0.id == jobs[0]["lm"]! }!.parameters))
    }

    /// A new LM (its code version or preset numbers) reruns `lm` and everything after it, never the encoder.
    @Test func aStagesVersionReachesOnlyItAndItsDownstreamJobs() throws {
        let p = try repositorySpec("tokens.json")
        let stages = XmodelPipeline().stages(for: p.trials)
        for stage in stages { #expect(stage.identitySalt == XmodelPipeline.salt(for: stage.name)) }
        var bumped = stages
        let lm = bumped.firstIndex { $0.name == "lm" }!
        bumped[lm].identitySalt += " bumped"
        let before = try JobGraph(stages: stages, trials: p.trials, specFile: "tokens.json")
        let after = try JobGraph(stages: bumped, trials: p.trials, specFile: "tokens.json")
        for (old, new) in zip(before.jobs, after.jobs) {
            #expect(old.stage == new.stage)
            if old.stage == "vision" || old.stage.hasSuffix("-features") { #expect(old.id == new.id, "\(old.stage) does not read the LM") } else {
                #expect(old.id != new.id, "\(old.stage) kept its id")
            }
        }
    }

    /// Ready jobs start costliest-path first: the 576-token chain before the 1-token one, and the pretraining jobs
    /// (everything waits on them) before all.
    @Test func costliestTrialsStartFirst() throws {
        let p = try repositorySpec("tokens-paper.json")
        let path = p.graph.remainingCost
        func job(_ stage: String, tokens: Double) -> JobID {
            p.graph.jobs.first { $0.stage == stage && $0.parameters["tokens"] == .number(tokens) }!.id
        }
        for stage in ["align", "finetune", "gqa"] { #expect(path[job(stage, tokens: 576)]! > path[job(stage, tokens: 1)]!) }
        #expect(path[job("finetune", tokens: 576)]! > path[job("align", tokens: 1)]!)
        let pretraining = p.graph.jobs.filter { $0.upstream.isEmpty }.map { path[$0.id]! }
        #expect(pretraining.count == 2 && pretraining.allSatisfy { $0 > path[job("align", tokens: 576)]! })
    }

    /// Every preset number that changes results reaches the salt of the stage that reads it (so a retuned preset
    /// never reuses stale jobs); a new `Preset` field fails here until it is assigned to a stage.
    @Test func everyPresetNumberIsInItsStagesSalt() {
        let ints: [(WritableKeyPath<Preset, Int>, String)] = [
            (\.visionSteps, "vision"), (\.visionBatch, "vision"), (\.lmSteps, "lm"), (\.lmBatch, "lm"),
            (\.captionImages, "align caption-features"), (\.alignBatch, "align caption-features"),
            (\.instructImages, "finetune instruction-features"), (\.finetuneBatch, "finetune instruction-features"),
            (\.evalSize, "eval benchmark-features"), (\.latencyQuestions, "latency"), (\.latencyWarmup, "latency"),
        ]
        let doubles: [(WritableKeyPath<Preset, Double>, String)] = [
            (\.visionLR, "vision"), (\.lmLR, "lm"), (\.lmAnswerWeight, "lm"), (\.lmFocusShare, "lm"), (\.alignLR, "align"),
            (\.finetuneLR, "finetune"),
        ]
        let base = Preset.paper
        /// `stages`: the space-separated stages whose salt must change (the features jobs read the image counts).
        func changes(_ modified: Preset, only stages: String) -> Bool {
            let names = stages.split(separator: " ").map(String.init)
            return XmodelPipeline.presetFields.allSatisfy { name, fields in (fields(modified) != fields(base)) == names.contains(name) }
        }
        for (path, stage) in ints { var p = base; p[keyPath: path] += 1; #expect(changes(p, only: stage), "\(path)") }
        for (path, stage) in doubles { var p = base; p[keyPath: path] += 0.5; #expect(changes(p, only: stage), "\(path)") }
        var focus = base
        focus.lmFocus = "existsShape"
        #expect(changes(focus, only: "lm"), "lmFocus")
        let covered = ints.count + doubles.count + 1 + 2  // + lmFocus; + name, checkpointSeconds (never changes results)
        #expect(Mirror(reflecting: base).children.count == covered, "a Preset field is in no stage's salt")
    }

    /// `"auto"` skips the spec check, so every preset's own corpus mix must be valid.
    @Test func everyPresetsLMFocusIsValid() throws {
        for preset in Preset.all {
            _ = try CorpusFocus.families(preset.lmFocus)
            #expect(preset.lmFocusShare > 0 && preset.lmFocusShare < 1, "\(preset.name)")
        }
        #expect(try CorpusFocus.families(Preset.paper.lmFocus)?.count == 7)
    }

    @Test func saltsNameOnlyTheirOwnPresetNumbers() {
        let vision = XmodelPipeline.salt(for: "vision"), finetune = XmodelPipeline.salt(for: "finetune")
        #expect(vision.hasPrefix("xmodel-pipeline/vision/") && vision.contains("paper: vision 1200x32 lr 0.001"))
        #expect(!vision.contains("instructions") && !vision.contains("lm "))
        #expect(finetune.contains("paper: instructions 24000 batch 32 lr 0.0004") && !finetune.contains("vision"))
        // Every benchmark is one `eval` stage: same code, same salt.
        #expect(Set(BenchmarkName.allCases.map { XmodelPipeline.salt(for: $0.rawValue) }) == [XmodelPipeline.salt(for: "eval")])
    }

    @Test func benchmarksListSelectsEvaluationJobs() throws {
        let p = try plan(#"{"name": "x", "base": {"benchmarks": "pope, mme"}}"#)
        #expect(p.graph.stageOrder.contains("gqa"))
        #expect(Set(p.graph.trialJobs[0].keys) == ["vision", "lm", "caption-features", "instruction-features", "benchmark-features",
                                                    "align", "finetune", "pope", "mme", "latency"])
    }

    @Test func inlineLanguageModels() throws {
        let c = try LanguageModelChoice.parse("width=64,layers=2,heads=4,kv_heads=1,intermediate=176", vocabSize: 92)
        #expect(c.hiddenSize == 64 && c.numHiddenLayers == 2 && c.numKeyValueHeads == 1 && c.vocabSize == 92)
        #expect(throws: (any Error).self) { try LanguageModelChoice.parse("width=64,layers=2") }
        _ = try plan(#"{"name": "x", "base": {"llm": "width=64,layers=2,heads=4,kv_heads=1,intermediate=176"}}"#)
    }

    @Test func patchLabelsFollowTheScene() {
        let scene = Scene(objects: [SceneObject(.big, .red, .circle, row: 0, column: 0)],
                          text: SceneText(digits: [4, 7], row: 3, column: 2))
        let labels = PretrainStages.patchLabels(scene, grid: 24)
        let red = Int32(Colour.red.rawValue), none = Int32(Colour.allCases.count)
        let colour: [Int32] = labels.colour, digit: [Int32] = labels.digit
        #expect(colour[0] == red)
        #expect(colour[5 * 24 + 5] == red)
        #expect(colour[6] == none)  // next cell: nothing
        #expect(digit[23 * 24 + 12] == 4)
        #expect(digit[23 * 24 + 23] == 7)
        #expect(digit[0] == 10)
    }

    @Test func epochOrderIsAPermutationPerEpoch() {
        var order = EpochOrder(count: 10, seed: 3)
        let first = (0..<5).flatMap { order.batch($0, size: 2) }
        #expect(Set(first) == Set(0..<10))
        var again = EpochOrder(count: 10, seed: 3)
        #expect((0..<5).flatMap { again.batch($0, size: 2) } == first)
        let second = (5..<10).flatMap { order.batch($0, size: 2) }
        #expect(Set(second) == Set(0..<10) && second != first)
    }
}

/// Only the LM's pretraining recomputes its activations unless told otherwise: there it costs 7–9 % and saves most of
/// the memory; in stages 1–2 at long sequences it would cost a third more (ActivationMemory.configure).
@Test("by default the lm stage recomputes activations and the tuning stages keep them while memory allows",
      .enabled(if: ProcessInfo.processInfo.environment["XEXP_ACTIVATIONS"] == nil, "XEXP_ACTIVATIONS chooses for every stage"))
func defaultActivationPolicyPerStage() throws {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory())
    let lm = try StageContext(stage: "lm", jobDirectory: dir, upstream: [:], parameters: [:])
    let finetune = try StageContext(stage: "finetune", jobDirectory: dir, upstream: [:], parameters: [:])
    #expect(lm.activations == .recompute)
    if case .budget = finetune.activations {} else { Issue.record("finetune: \(finetune.activations), expected a memory budget") }
}
