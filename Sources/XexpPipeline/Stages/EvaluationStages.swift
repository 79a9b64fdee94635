import Foundation
import XexpData
import XexpLearning
import XexpModels

/// One job per benchmark, and the latency job: both read the finetuned model.
enum EvaluationStages {
    /// Answers are short (a word, a letter, a number): a few tokens past that is a wrong answer anyway.
    static let maxNewTokens = 8

    static func loadFinetuned(_ context: StageContext) throws -> VLM {
        let (model, _) = try VLM.load(from: try context.upstreamDirectory("finetune").appendingPathComponent("model.safetensors").path)
        model.setTrainable(projector: false, languageModel: false)
        return model
    }

    /// Greedy answers stop at end of turn or a newline, as the reference's evaluation does (REFERENCE §4).
    static let stopTokens: Set<Int32> = {
        var stops: Set<Int32> = [Tokenizer.eotID]
        let newline = Tokenizer.standard.id(of: "\n")
        if newline != Tokenizer.unkID { stops.insert(newline) }
        return stops
    }()

    static func runBenchmark(_ name: BenchmarkName, _ context: StageContext, metrics: MetricsLog) throws {
        let s = context.settings
        let model = try loadFinetuned(context)
        let data = try SyntheticData(seed: s.dataSeed)
        let set = data.benchmark(name, size: s.preset.evalSize)
        let v = model.config.visionConfig
        let features = try FeatureStages.reader(context, stage: "benchmark-features", file: "\(name.rawValue).safetensors",
                                                shape: [set.images.count, v.tokens, v.hiddenSize])
        // The blind baseline: the same model, every question asked about another question's image (the image set
        // rotated by half). What it scores comes from priors and the question alone; a benchmark "uses the image"
        // only as far as the real score beats it. Uniform chance and always-"yes" flatter a model; this does not.
        let count = set.images.count
        let blindImage = { (image: Int) in count > 1 ? (image + count / 2) % count : image }
        let answers = try answerAll(model, set, features: { try features.read(rows: [$0]) }, asks: set.questions.indices.flatMap { i in
            [(i, set.questions[i].imageIndex), (i, blindImage(set.questions[i].imageIndex))]
        })
        let score = try set.writePredictions(set.questions.indices.map { answers[Ask(image: set.questions[$0].imageIndex, prompt: set.prompt($0))]! },
                                             to: context.file("predictions.jsonl"))
        let blind = try set.score(set.questions.indices.map { answers[Ask(image: blindImage(set.questions[$0].imageIndex), prompt: set.prompt($0))]! })
        metrics.emit(score.metrics.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                     + blind.metrics.filter { $0.key != "chance" }.sorted { $0.key < $1.key }.map { ("blind.\($0.key)", $0.value) })
    }

    struct Ask: Hashable { var image: Int; var prompt: [Int32] }

    /// Greedy answers to `asks` (question index, image index), each distinct (image, prompt) once: greedy is
    /// deterministic. Grouped by image, so each image's features and prompt prefix (up to its visual tokens, most
    /// of the prompt) are computed once for all its questions (POPE asks 18 per image, MMBench one per option
    /// rotation, the blind pass asks every image again) and dropped before the next image: memory holds one prefix.
    /// `features(image)` gives the frozen encoder's `[1, grid², width]` features of an image of the set.
    static func answerAll(_ model: VLM, _ set: BenchmarkSet, features imageFeatures: (Int) throws -> Tensor,
                          asks: [(question: Int, image: Int)]) throws -> [Ask: String] {
        var byImage: [Int: [Int]] = [:]
        for ask in asks { byImage[ask.image, default: []].append(ask.question) }
        var answers: [Ask: String] = [:]
        for image in byImage.keys.sorted() {
            var prefixes: [[Int32]: VLM.PrefilledPrefix] = [:]
            let features = try imageFeatures(image)
            for i in byImage[image]! {
                let prompt = set.prompt(i)
                let key = Ask(image: image, prompt: prompt)
                if answers[key] != nil { continue }
                let result: GenerationResult
                if let split = prompt.firstIndex(of: Tokenizer.imageID), split + 1 < prompt.count {
                    let head = Array(prompt[...split])
                    let prefix = prefixes[head] ?? model.prefill(head, visual: .features(features))
                    prefixes[head] = prefix
                    result = model.generate(after: prefix, suffix: Array(prompt[(split + 1)...]), maxNewTokens: maxNewTokens, stopTokens: stopTokens)
                } else {
                    result = model.generate(prompt: prompt, visual: .features(features), maxNewTokens: maxNewTokens, stopTokens: stopTokens)
                }
                answers[key] = Tokenizer.standard.decode(result.tokens, skipSpecial: true)
            }
        }
        return answers
    }

    static func loadAverage() -> Double {
        var load = [Double](repeating: 0, count: 1)
        return getloadavg(&load, 1) == 1 ? load[0] : .nan  // non-finite values are left out of the metrics
    }

    /// The paper's Table 6 done properly: warm-up first, then prefill time at this token count, decode speed,
    /// and total time over a fixed question set, with the thread count recorded.
    static func runLatency(_ context: StageContext, metrics: MetricsLog) throws {
        let s = context.settings
        let model = try loadFinetuned(context)
        // A fixed question set, independent of the sweep's data seed, so latencies compare across sweeps.
        let set = try SyntheticData(seed: 0).benchmark(.sqa, size: s.preset.latencyQuestions + s.preset.latencyWarmup)
        let encoder = model.visionEncoder
        func run(_ i: Int) -> (prefill: Double, decode: Double, tokens: Int, total: Double) {
            let start = DispatchTime.now().uptimeNanoseconds
            let prompt = set.prompt(i)
            return Autograd.noGrad {
                let features = encoder.features(StageSupport.imageTensor([set.images[set.questions[i].imageIndex]]))
                let visual = model.visualTokens(.features(features))
                let cache = model.languageModel.makeCache(batch: 1, capacity: model.expandedLength(prompt) + maxNewTokens + 1)
                let (embeddings, _, _) = model.inputEmbeddings([VLMExample(prompt: prompt)], visualTokens: visual)
                var next = model.languageModel(embeddings, cache: cache).argmaxLastDimension().last!
                let prefilled = DispatchTime.now().uptimeNanoseconds
                var produced = 0
                while produced < maxNewTokens && next != Tokenizer.eotID {
                    next = model.languageModel(model.languageModel.embed([next], shape: [1, 1]), cache: cache).argmaxLastDimension().last!
                    produced += 1
                }
                let end = DispatchTime.now().uptimeNanoseconds
                return (Double(prefilled - start) / 1e6, Double(end - prefilled) / 1e9, produced, Double(end - start) / 1e9)
            }
        }
        for i in 0..<s.preset.latencyWarmup { _ = run(i) }
        var prefill: [Double] = [], decodeSeconds = 0.0, decodeTokens = 0, total = 0.0
        for i in s.preset.latencyWarmup..<(s.preset.latencyWarmup + s.preset.latencyQuestions) {
            let r = run(i)
            prefill.append(r.prefill); decodeSeconds += r.decode; decodeTokens += r.tokens; total += r.total
        }
        prefill.sort()
        metrics.emit([
            ("prefill_ms", prefill.reduce(0, +) / Double(prefill.count)),
            ("prefill_ms_median", prefill[prefill.count / 2]),
            ("decode_tokens_per_s", decodeSeconds > 0 ? Double(decodeTokens) / decodeSeconds : 0),
            ("total_s", total),
            ("questions", Double(prefill.count)),
            ("visual_tokens", Double(model.config.visualTokens)),
            ("blas_threads", Double(context.threads)),
            // Latency is only comparable between runs on an equally idle machine: the 1-minute load average at the
            // end says whether other work shared the cores (e.g. a second sweep).
            ("load_average", loadAverage()),
        ])
    }
}
