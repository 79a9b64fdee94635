import Foundation
import XexpData
import XexpLearning
import XexpModels
import XexpOrchestration

/// The built-in ablation pipeline as the orchestrator sees it: which parameters a spec may set, their defaults,
/// how each is validated, and which stages run with which parameters.
///
/// Each stage's command lists exactly the parameters the stage reads, so its job identity is exactly "what it
/// reads" (plus its code version, ``salt(for:)``): every trial of a token sweep shares one `vision` and one `lm`
/// job, and the projector sweep reuses the token sweep's jobs where they coincide.
public struct XmodelPipeline: BuiltinPipeline {
    /// Each stage's code version. Bump a stage's number when a change to its code changes its results; the jobs
    /// downstream follow on their own, because a job's identity includes its upstream job ids. Bump every stage whose
    /// code path a change touches: the LM corpus → `lm`; scenes, renderer or tokenizer (`XexpData`) → all of them;
    /// the engine or model code (`XexpLearning`, `XexpModels`) → all of them.
    ///
    /// Versions are per stage so that, say, a new LM corpus reruns `lm` and everything after it but keeps the
    /// pretrained encoder (half an hour at the `paper` preset).
    ///
    /// align 4, finetune 4, eval 6: the frozen encoder's features come from the shared features jobs, and less than
    /// an epoch trains on the first images of the set rather than a random subset of it.
    static let stageVersions: [String: Int] = ["vision": 3, "lm": 3, "caption-features": 1, "instruction-features": 1, "benchmark-features": 1,
                                               "align": 4, "finetune": 4, "eval": 6, "latency": 2]

    /// The preset numbers each stage reads. A job names only its preset, not the numbers behind it, so they are
    /// part of its identity. A salt is per stage, not per preset, so it lists every preset's numbers: retuning
    /// `paper`'s stage 2 reruns the `finetune` jobs (of every preset) and what follows them, nothing upstream.
    /// `checkpointSeconds` is left out on purpose: resuming is exact, so it never changes results.
    static let presetFields: [String: @Sendable (Preset) -> String] = [
        "vision": { "vision \($0.visionSteps)x\($0.visionBatch) lr \($0.visionLR)" },
        "lm": { "lm \($0.lmSteps)x\($0.lmBatch) lr \($0.lmLR) answer weight \($0.lmAnswerWeight) focus \($0.lmFocus) share \($0.lmFocusShare)" },
        "caption-features": { "captions \($0.captionImages) batch \($0.alignBatch)" },
        "instruction-features": { "instructions \($0.instructImages) batch \($0.finetuneBatch)" },
        "benchmark-features": { "eval \($0.evalSize)" },
        "align": { "captions \($0.captionImages) batch \($0.alignBatch) lr \($0.alignLR)" },
        "finetune": { "instructions \($0.instructImages) batch \($0.finetuneBatch) lr \($0.finetuneLR)" },
        "eval": { "eval \($0.evalSize)" },
        "latency": { "latency \($0.latencyQuestions) after \($0.latencyWarmup)" },
    ]

    /// The identity salt of `stage` (a benchmark's name means the shared `eval` stage): its code version and, for
    /// every preset, the numbers the stage reads.
    public static func salt(for stage: String) -> String {
        let key = BenchmarkName(rawValue: stage) != nil ? "eval" : stage
        guard let version = stageVersions[key], let fields = presetFields[key] else { preconditionFailure("no stage \(stage)") }
        return "xmodel-pipeline/\(key)/\(version) " + Preset.all.map { "\($0.name): \(fields($0))" }.joined(separator: "; ")
    }

    public init() {}

    /// Parameters each stage reads, beyond its upstream jobs.
    static let reads: [(stage: String, parameters: [String])] = [
        ("vision", ["encoder", "data_seed", "preset", "vision_steps", "vision_batch", "vision_lr"]),
        ("lm", ["llm", "data_seed", "preset", "lm_steps", "lm_batch", "lm_lr", "lm_answer_weight", "lm_focus", "lm_focus_share"]),
        ("caption-features", ["data_seed", "preset", "align_batch", "align_epochs"]),
        ("instruction-features", ["data_seed", "preset", "finetune_batch", "finetune_epochs"]),
        // Every benchmark's images, whatever `benchmarks` lists: a job's id includes its upstream ids, so reading the
        // list here would give every evaluation job a new id whenever the list changed.
        ("benchmark-features", ["data_seed", "preset"]),
        ("align", ["projector", "tokens", "seed", "data_seed", "preset", "align_lr", "align_batch", "align_epochs", "warmup_ratio", "weight_decay"]),
        ("finetune", ["seed", "data_seed", "preset", "finetune_lr", "finetune_batch", "finetune_epochs", "warmup_ratio", "weight_decay"]),
        ("eval", ["data_seed", "preset"]),
        ("latency", ["preset"]),
    ]

    /// Expected core-seconds of a stage's job, to start the costliest work first (a 576-token `finetune` takes ~3×
    /// a 1-token one). Rough fits to this machine's measurements: only the order they induce matters.
    static func cost(_ stage: String, _ p: Parameters) -> Double {
        let preset = Preset.named(p["preset"]?.description ?? "small") ?? .small
        func number(_ name: String, _ auto: Double) -> Double {
            if case .number(let d, _)? = p[name] { return d }
            return auto
        }
        let tokens = number("tokens", 144)
        switch stage {
        case "vision": return 0.04 * number("vision_steps", Double(preset.visionSteps)) * number("vision_batch", Double(preset.visionBatch))
        case "lm": return 0.025 * number("lm_steps", Double(preset.lmSteps)) * number("lm_batch", Double(preset.lmBatch))
        case "align": return (0.022 + 1.25e-4 * tokens) * Double(preset.captionImages) * number("align_epochs", 1)
        case "finetune": return (0.03 + 1.3e-4 * tokens) * Double(preset.instructImages) * number("finetune_epochs", 1)
        case "caption-features", "instruction-features":
            let set = FeatureStages.TuningSet(rawValue: stage)!
            return 0.0125 * Double(FeatureStages.imagesUsed(images: set.images(preset), epochs: number(set.epochsParameter, 1),
                                                             batch: Int(number(set.batchParameter, Double(set.batch(preset))))).used)
        case "benchmark-features": return 0.0125 * 6 * Double(preset.evalSize)
        case "latency": return (0.01 + 2e-5 * tokens) * Double(preset.latencyQuestions)
        default: return (0.01 + 2e-5 * tokens) * Double(preset.evalSize)  // one benchmark
        }
    }

    public var parameterNames: [String] {
        var names: [String] = []
        for (_, list) in Self.reads { for n in list where n != "seed" && !names.contains(n) { names.append(n) } }
        return names + ["benchmarks", "upto", "backbone_seed"]
    }

    /// Hyperparameters default to `"auto"`: the preset's value (so `preset` alone sets a consistent recipe).
    public var defaults: Parameters {
        var p = Parameters()
        p["projector"] = .string("xdp")
        p["tokens"] = .number(144)
        p["llm"] = .string("mini-xmodel-lm")
        p["encoder"] = .string("vit-tiny")
        p["preset"] = .string("small")
        p["benchmarks"] = .string(BenchmarkName.allCases.map(\.rawValue).joined(separator: ","))
        p["data_seed"] = .number(0)
        p["upto"] = .string("all")
        p["backbone_seed"] = .string("shared")
        p["lm_focus"] = .string("auto")
        for name in Hyperparameters.names { p[name] = .string("auto") }
        return p
    }

    public var headlineMetrics: [String] {
        BenchmarkName.allCases.map { "\($0.rawValue).\($0.headline)" } + ["latency.prefill_ms", "latency.decode_tokens_per_s"]
    }

    public func validate(_ p: Parameters) -> [(parameter: String, message: String)] {
        var problems: [(String, String)] = []
        let preset = p["preset"]?.description ?? "small"
        if Preset.named(preset) == nil {
            problems.append(("preset", "unknown preset \"\(preset)\"\(hint(preset, Preset.names)); valid: \(Preset.names.joined(separator: ", "))"))
        }
        let projector = p["projector"]?.description ?? ""
        if ProjectorKind(name: projector) == nil {
            problems.append(("projector", "unknown projector \"\(projector)\"\(hint(projector, ProjectorKind.allCases.map(\.rawValue))); valid: \(ProjectorKind.allCases.map(\.rawValue).joined(separator: ", "))"))
        } else if case .number(let d, _)? = p["tokens"], d >= 1, let tokens = Int(exactly: d) {
            if let message = XexpModels.validate(projector: projector, tokens: tokens) { problems.append(("tokens", message)) }
        } else {
            problems.append(("tokens", "tokens must be a positive integer (1–576), found \(p["tokens"]?.description ?? "nothing")"))
        }
        let llm = p["llm"]?.description ?? ""
        if (try? LanguageModelChoice.parse(llm)) == nil {
            let names = LLMRegistry.names
            problems.append(("llm", "unknown language model \"\(llm)\"\(hint(llm, names)); valid: \(names.joined(separator: ", ")), or an inline config such as \"width=160,layers=4,heads=10,kv_heads=2,intermediate=432\""))
        }
        let encoder = p["encoder"]?.description ?? ""
        if EncoderRegistry.config(named: encoder) == nil {
            problems.append(("encoder", "unknown encoder \"\(encoder)\"\(hint(encoder, EncoderRegistry.names)); valid: \(EncoderRegistry.names.joined(separator: ", "))"))
        }
        let benchmarks = (p["benchmarks"]?.description ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let known = BenchmarkName.allCases.map(\.rawValue)
        if benchmarks.isEmpty { problems.append(("benchmarks", "benchmarks is empty; list some of: \(known.joined(separator: ", "))")) }
        for b in benchmarks where !known.contains(b) {
            problems.append(("benchmarks", "unknown benchmark \"\(b)\"\(hint(b, known)); valid (comma-separated): \(known.joined(separator: ", "))"))
        }
        switch p["backbone_seed"] {
        case .string("shared")?, nil: break
        case .number(let d, _)? where d == d.rounded() && d >= 0 && d < 9_007_199_254_740_992: break
        default:
            problems.append(("backbone_seed", "backbone_seed must be \"shared\" (the shipped backbones, one per encoder and LM) or a non-negative integer (a backbone trained per value), found \(p["backbone_seed"]!)"))
        }
        let upto = p["upto"]?.description ?? "all"
        if !["all", "backbones"].contains(upto) {
            problems.append(("upto", "upto must be \"all\" (every stage) or \"backbones\" (only the vision and lm stages, as Experiments/backbones.json), found \"\(upto)\""))
        }
        // Seeds reach the worker as text and become UInt64: below 2^53 that text is the plain integer.
        if case .number(let d, _)? = p["data_seed"], d == d.rounded(), d >= 0, d < 9_007_199_254_740_992 {} else {
            problems.append(("data_seed", "data_seed must be a non-negative integer below 2^53, found \(p["data_seed"]?.description ?? "nothing")"))
        }
        if let seed = p["seed"] {
            if case .number(let d, _) = seed, d < 0 {
                problems.append(("seed", "seed \(seed) is negative; the built-in pipeline's seeds must be non-negative integers (command stages may use any integer)"))
            } else if case .number(let d, _) = seed, d == d.rounded(), d < 9_007_199_254_740_992 {} else {
                problems.append(("seed", "the built-in pipeline's seeds must be non-negative integers below 2^53, found \(seed)"))
            }
        }
        for name in Hyperparameters.names {
            if let message = Hyperparameters.check(name, p[name]) { problems.append((name, message)) }
        }
        if p["lm_focus"] != .string("auto") {
            do { _ = try CorpusFocus.families(p["lm_focus"]?.description ?? "none") } catch {
                problems.append(("lm_focus", "\(error), or \"auto\" (the preset's)"))
            }
        }
        return problems
    }

    public func stages(for trials: [Trial]) -> [StageSpec] {
        // `backbone_seed` reaches the backbones' commands only in a sweep that sets it: a spec that never names it
        // keeps the shared backbones' job ids (and the shipped job cache); one that does trains a backbone per value.
        let seeded = trials.contains { ($0.parameters["backbone_seed"] ?? .string("shared")) != .string("shared") }
        func command(_ stage: String, upstream: [String], extra: [String] = []) -> [String] {
            var argv = [selfExecutablePlaceholder, "worker", stage, "--job-dir", "{job.dir}"]
            for u in upstream { argv += ["--upstream", "\(u)={\(u).dir}"] }
            var reads = Self.reads.first { $0.stage == (BenchmarkName(rawValue: stage) != nil ? "eval" : stage) }!.parameters
            if seeded && (stage == "vision" || stage == "lm") { reads.append("backbone_seed") }
            for name in reads { argv += ["--set", "\(name)={\(name)}"] }
            return argv + extra
        }
        let salt = Self.salt(for:)
        var stages = [
            StageSpec(name: "vision", command: command("vision", upstream: []), identitySalt: salt("vision"), cost: { Self.cost("vision", $0) }),
            StageSpec(name: "lm", command: command("lm", upstream: []), identitySalt: salt("lm"), cost: { Self.cost("lm", $0) }),
        ]
        // The frozen encoder's features, once per sweep rather than once per trial (FeatureStages).
        for name in ["caption-features", "instruction-features", "benchmark-features"] {
            var features = StageSpec(name: name, command: command(name, upstream: ["vision"]), after: ["vision"], identitySalt: salt(name),
                                     cost: { Self.cost(name, $0) })
            // ~150 KB per image and a minute or two to recompute: not worth a cache's disk or network.
            features.cacheable = false
            stages.append(features)
        }
        stages += [
            StageSpec(name: "align", command: command("align", upstream: ["vision", "lm", "caption-features"]), after: ["vision", "lm", "caption-features"],
                      identitySalt: salt("align"), cost: { Self.cost("align", $0) }),
            StageSpec(name: "finetune", command: command("finetune", upstream: ["align", "instruction-features"]), after: ["align", "instruction-features"],
                      identitySalt: salt("finetune"), cost: { Self.cost("finetune", $0) }),
        ]
        for benchmark in BenchmarkName.allCases {
            let name = benchmark.rawValue
            stages.append(StageSpec(name: name, command: command(name, upstream: ["finetune", "benchmark-features"]), after: ["finetune", "benchmark-features"],
                                    identitySalt: salt(name),
                                    appliesTo: { p in (p["benchmarks"]?.description ?? "").split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == name } },
                                    cost: { Self.cost(name, $0) }))
        }
        var latency = StageSpec(name: "latency", command: command("latency", upstream: ["finetune"]), after: ["finetune"], identitySalt: salt("latency"),
                                cost: { Self.cost("latency", $0) })
        // A wall-clock measurement belongs to the machine and the moment: never served from a job cache.
        latency.cacheable = false
        // …and it measures this machine: it runs alone, and a result from another host is measured again here.
        latency.exclusive = true
        stages.append(latency)
        // What a cache entry holds: the files downstream stages read (weights, not optimizer moments) and the
        // predictions behind a score.
        for i in stages.indices { stages[i].outputs = Self.outputs[stages[i].name] ?? ["predictions.jsonl"] }
        // `upto: backbones` keeps only the pretraining stages (a spec that trains the backbones a job cache ships).
        // Not part of any job's identity: it decides which jobs exist, never what they compute.
        for i in stages.indices where !["vision", "lm"].contains(stages[i].name) {
            let applies = stages[i].appliesTo
            stages[i].appliesTo = { p in p["upto"]?.description != "backbones" && (applies?(p) ?? true) }
        }
        return stages
    }

    /// The result files of each stage (benchmarks: `predictions.jsonl`).
    static let outputs: [String: [String]] = [
        "vision": ["encoder.safetensors"], "lm": ["lm.safetensors"], "align": ["model.safetensors"], "finetune": ["model.safetensors"],
        "caption-features": ["features.safetensors"], "instruction-features": ["features.safetensors"],
        "benchmark-features": BenchmarkName.allCases.map { "\($0.rawValue).safetensors" },
        "latency": [],
    ]

    /// Each parameter's valid values as JSON Schema (`xexp schema`): what `validate` checks that a schema can say.
    public var parameterSchemas: [(name: String, schema: JSONValue)] {
        func s(_ members: [(String, JSONValue)]) -> JSONValue { .object(members.map { ($0.0, $0.1) }) }
        func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
        func text(_ d: String) -> JSONValue { .string(d) }
        let benchmarks = BenchmarkName.allCases.map(\.rawValue).joined(separator: "|")
        var out: [(String, JSONValue)] = [
            ("projector", s([("enum", strings(ProjectorKind.allCases.map(\.rawValue))), ("description", text("the projector (Table 7)"))])),
            ("tokens", s([("type", text("integer")), ("minimum", .number(1)), ("maximum", .number(576)), ("description", text("visual tokens (Table 8); the projector decides which counts are valid"))])),
            ("llm", s([("type", text("string")), ("anyOf", .array([s([("enum", strings(LLMRegistry.names))]), s([("pattern", text("width="))])])),
                       ("description", text("a registry name, or an inline config width=…,layers=…,heads=…,kv_heads=…,intermediate=…"))])),
            ("encoder", s([("enum", strings(EncoderRegistry.names))])),
            ("preset", s([("enum", strings(Preset.names)), ("description", text("data and step budgets: smoke (CI), small, paper"))])),
            ("benchmarks", s([("type", text("string")), ("pattern", text("^\\s*(\(benchmarks))\\s*(,\\s*(\(benchmarks))\\s*)*$")), ("description", text("comma-separated"))])),
            ("data_seed", s([("type", text("integer")), ("minimum", .number(0))])),
            ("upto", s([("enum", strings(["all", "backbones"]))])),
            ("lm_focus", s([("type", text("string")), ("description", text("question families over-asked in the LM corpus, comma-separated; none; or auto"))])),
            ("backbone_seed", s([("anyOf", .array([s([("const", text("shared"))]), s([("type", text("integer")), ("minimum", .number(0))])])),
                                 ("description", text("\"shared\": the shipped backbones; an integer: a backbone (encoder and LM) trained per value"))])),
        ]
        for name in Hyperparameters.names {
            let integer = ["vision_steps", "vision_batch", "lm_steps", "lm_batch", "align_batch", "finetune_batch"].contains(name)
            let zeroAllowed = ["warmup_ratio", "weight_decay", "lm_answer_weight"].contains(name)
            let number: JSONValue = integer ? s([("type", text("integer")), ("minimum", .number(1))])
                : s([("type", text("number")), (zeroAllowed ? "minimum" : "exclusiveMinimum", .number(0))])
            out.append((name, s([("anyOf", .array([s([("const", text("auto"))]), number])), ("description", text("\"auto\": the preset's value"))])))
        }
        return out
    }

    /// The engine's numerics fingerprint (`Numerics.fingerprint`): what decides the stages' bits besides their inputs.
    public var numericsFingerprint: String? { Numerics.fingerprint }
}

func hint(_ word: String, _ candidates: [String]) -> String {
    suggestion(for: word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
}
