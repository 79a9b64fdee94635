import Foundation
import XexpData
import XexpLearning
import XexpModels

/// The frozen encoder's features of an image set, computed once per sweep and read by every trial.
///
/// The encoder is frozen in both tuning stages and in evaluation, so each image's features are the same for every
/// trial that shares the encoder: a token sweep of eleven trials computed them eleven times (a fifth of a 144-token
/// stage-2 step, a third of a 1-token one; `xexp-bench stage-profile`). Three stages compute them once:
/// - `caption-features`: the stage-1 captions a trial's `align` reads (the first `used` of the preset's set),
/// - `instruction-features`: the same for stage 2,
/// - `benchmark-features`: every image of each of the six benchmarks, one file per benchmark (whichever a spec
///   lists: the evaluation jobs' ids must not depend on the list).
///
/// Each writes `features.safetensors` (or `<benchmark>.safetensors`): one F32 tensor `[images, grid², width]`,
/// streamed row by row and read back a batch at a time (`SafeTensors.RowWriter` / `RowReader`), so neither side
/// holds the set in memory. The files are large (~150 KB per image) and quick to recompute, so these stages are
/// not served from or pushed to a job cache.
enum FeatureStages {
    /// Images per encoder pass (the batch size only changes speed: each image's features are its own rows).
    static let batch = 16

    /// How many images of a set of `images` a tuning stage reads: a pass of `epochs` at `batch` reads
    /// `steps × batch` of them when that is less than the set, the whole set otherwise. Less than one epoch
    /// trains on the first `used` images of the set (in a seeded order), so every trial of a sweep reads the
    /// same images, whose features one job computes.
    static func imagesUsed(images: Int, epochs: Double, batch: Int) -> (steps: Int, used: Int) {
        // In floating point first: the spec check puts no upper bound on epochs, and `cost` runs this at planning time.
        let exact = (Double(images) * epochs / Double(batch)).rounded(.up)
        let steps = exact >= 1e15 ? Int(1e15) : max(1, Int(exact))
        return (steps, steps >= (images + batch - 1) / batch ? images : steps * batch)
    }

    static func loadEncoder(_ context: StageContext) throws -> VisionEncoder {
        let checkpoint = try Checkpoint.load(from: try context.upstreamDirectory("vision").appendingPathComponent("encoder.safetensors").path)
        let config = try JSONDecoder().decode(VisionConfig.self, from: Data(checkpoint.config.utf8))
        var rng = Philox(seed: 0)  // every weight is overwritten below
        let encoder = try VisionEncoder(config: config, rng: &rng)
        for p in encoder.weights.parameters {
            guard let t = checkpoint.parameters[p.name], t.shape == p.tensor.shape else {
                throw StageFailure("\(checkpoint.parameters[p.name] == nil ? "no" : "a misshapen") weight \(p.name) in the vision job's encoder.safetensors")
            }
            p.tensor.data.update(from: t.data, count: t.count)
            p.tensor.requiresGrad = false
        }
        return encoder
    }

    /// Features of `count` images (`image(i)` for i in 0..<count) into `url`; the count is metric `metric`.
    static func write(_ encoder: VisionEncoder, count: Int, image: (Int) -> ImageBuffer, to url: URL, metrics: MetricsLog, metric: String = "images") throws {
        let c = encoder.config
        let writer = try SafeTensors.RowWriter(path: url.path, tensor: "features", shape: [count, c.tokens, c.hiddenSize],
                                               metadata: ["layer": "\(c.featureLayer)"])
        for first in stride(from: 0, to: count, by: batch) {
            let images = (first..<min(count, first + batch)).map(image)
            try writer.append(Autograd.noGrad { encoder.features(StageSupport.imageTensor(images)) })
        }
        try writer.finish()
        // Results only: how long it took is in the job's attempt record, not in its metrics.
        metrics.emit([(metric, Double(count))])
    }

    /// Stage 1's captions or stage 2's instructions: the image set a tuning stage reads, and the parameters that say
    /// how much of it (its features job reads exactly these).
    enum TuningSet: String {
        case captions = "caption-features", instructions = "instruction-features"

        /// The tuning stage that reads the set; its parameters are named after it (`align_epochs`, `finetune_batch`, …).
        var stage: String { self == .captions ? "align" : "finetune" }
        var epochsParameter: String { stage + "_epochs" }
        var batchParameter: String { stage + "_batch" }
        func images(_ p: Preset) -> Int { self == .captions ? p.captionImages : p.instructImages }
        func batch(_ p: Preset) -> Int { self == .captions ? p.alignBatch : p.finetuneBatch }
        func learningRate(_ p: Preset) -> Double { self == .captions ? p.alignLR : p.finetuneLR }
        func sample(_ data: SyntheticData, _ i: Int) -> Sample { self == .captions ? data.captionSample(i) : data.instructionSample(i) }

        /// Steps and images used under `settings` (a worker's `--set` values, `auto` → the preset's).
        func used(_ s: StageSettings) throws -> (steps: Int, used: Int) {
            imagesUsed(images: images(s.preset), epochs: try s.double(epochsParameter, auto: 1), batch: try s.int(batchParameter, auto: batch(s.preset)))
        }
    }

    static func runTuningSet(_ set: TuningSet, _ context: StageContext, metrics: MetricsLog) throws {
        let s = context.settings
        let data = try SyntheticData(seed: s.dataSeed)
        try write(try loadEncoder(context), count: try set.used(s).used, image: { set.sample(data, $0).image! },
                  to: context.file("features.safetensors"), metrics: metrics)
    }

    static func runBenchmarks(_ context: StageContext, metrics: MetricsLog) throws {
        let s = context.settings
        let encoder = try loadEncoder(context)
        let data = try SyntheticData(seed: s.dataSeed)
        for name in BenchmarkName.allCases {
            let set = data.benchmark(name, size: s.preset.evalSize)
            try write(encoder, count: set.images.count, image: { set.images[$0] }, to: context.file("\(name.rawValue).safetensors"),
                      metrics: metrics, metric: "\(name.rawValue)_images")
        }
    }

    /// The features file a tuning or evaluation job reads from its upstream features job, checked to hold `shape`.
    static func reader(_ context: StageContext, stage: String, file: String = "features.safetensors", shape: [Int]) throws -> SafeTensors.RowReader {
        let path = try context.upstreamDirectory(stage).appendingPathComponent(file).path
        let reader: SafeTensors.RowReader
        do { reader = try SafeTensors.RowReader(path: path, tensor: "features") } catch {
            throw StageFailure("cannot read the \(stage) job's features: \(error)")
        }
        guard reader.shape == shape else {
            throw StageFailure("\(path) holds features \(reader.shape), but \(context.stage) needs \(shape)")
        }
        return reader
    }
}
