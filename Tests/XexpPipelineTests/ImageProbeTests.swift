import Foundation
import Testing
import XexpData
import XexpModels
@testable import XexpPipeline

/// The probe behind `finetune.heldout_*` and `finetune.shuffled_image_*`: it must change only which image each
/// sample sees, and count only real answer tokens.
@Suite("Image probe")
struct ImageProbeTests {
    /// A randomly initialised VLM at the pipeline's image size and vocabulary, small enough to run in a test.
    func model() throws -> VLM {
        let config = VLMConfig(visionConfig: VisionConfig(imageSize: 48, patchSize: 2, hiddenSize: 16, intermediateSize: 32,
                                                          numHiddenLayers: 2, numAttentionHeads: 2),
                               textConfig: LLMConfig(vocabSize: Tokenizer.standard.vocabularySize, hiddenSize: 32, intermediateSize: 64,
                                                     numHiddenLayers: 1, numAttentionHeads: 4, numKeyValueHeads: 2),
                               projectorType: .xdp, visualTokens: 36, imageTokenIndex: Tokenizer.imageID)
        return try VLM(config: config, seed: 3)
    }

    @Test func shufflingChangesOnlyTheImages() throws {
        let vlm = try model()
        let data = try SyntheticData(seed: 0)
        let samples = (0..<6).map { data.instructionSample($0) }
        // Every sample with the same image: rotating images inside the batch is then no change at all.
        let sameImage = samples.map { Sample(image: samples[0].image, tokens: $0.tokens, supervised: $0.supervised, sceneFingerprint: 0) }
        let a = ImageProbe.evaluate(vlm, sameImage, shuffled: false), b = ImageProbe.evaluate(vlm, sameImage, shuffled: true)
        #expect(a.loss == b.loss && a.accuracy == b.accuracy)
        // With their own images the answers are asked about different scenes, and the loss moves.
        let real = ImageProbe.evaluate(vlm, samples, shuffled: false), wrong = ImageProbe.evaluate(vlm, samples, shuffled: true)
        #expect(real.loss != wrong.loss)
        // A one-sample batch has nothing to rotate with.
        let single = [samples[0]]
        #expect(ImageProbe.evaluate(vlm, single, shuffled: true).loss == ImageProbe.evaluate(vlm, single, shuffled: false).loss)
    }

    @Test func accuracyCountsAnswerTokensButNotEndOfTurn() throws {
        let vlm = try model()
        let data = try SyntheticData(seed: 0)
        let samples = (0..<4).map { data.instructionSample($0) }
        let result = ImageProbe.evaluate(vlm, samples, shuffled: false)
        // Recount by hand from the model's own logits: supervised targets that are not <eot>.
        let out = vlm.forward(samples.map(StageSupport.example), visual: .features(StageSupport.features(vlm, samples.map { $0.image! })))
        let predicted = argmaxRows(out.logits.reshaped([out.targets.count, out.logits.shape[2]]))
        let counted = zip(predicted, out.targets).filter { $0.1 != -100 && $0.1 != Tokenizer.eotID }
        #expect(!counted.isEmpty)
        #expect(counted.count < out.supervisedCount)  // the <eot> of every turn is left out
        #expect(result.accuracy == Double(counted.filter { $0.0 == $0.1 }.count) / Double(counted.count))
    }
}
