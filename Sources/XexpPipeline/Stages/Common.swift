import Foundation
import XexpData
import XexpLearning
import XexpModels

/// Small pieces every stage shares.
public enum StageSupport {
    /// Channels-last `[B, H, W, C]` images from the data library's CHW buffers.
    public static func imageTensor(_ images: [ImageBuffer]) -> Tensor {
        let (h, w, c) = (images[0].height, images[0].width, ImageBuffer.channels)
        let t = Tensor(shape: [images.count, h, w, c])
        for (b, image) in images.enumerated() {
            image.pixels.withUnsafeBufferPointer { src in
                let base = t.data + b * h * w * c
                for ch in 0..<c { for y in 0..<h { for x in 0..<w { base[(y * w + x) * c + ch] = src[(ch * h + y) * w + x] } } }
            }
        }
        return t
    }

    /// Frozen-encoder features for a batch of images, computed without a tape.
    public static func features(_ model: VLM, _ images: [ImageBuffer]) -> Tensor {
        Autograd.noGrad { model.visionEncoder.features(imageTensor(images)) }
    }

    public static func example(_ sample: Sample) -> VLMExample { VLMExample(ids: sample.tokens, supervised: sample.supervised) }

    /// Teacher-forced answer tokens: of the supervised targets other than `<eot>` (which is trivially predicted),
    /// how many the row-wise argmax of `[rows, vocab]` logits gets right.
    public static func answerTokenHits(logits: Tensor, targets: [Int32]) -> (correct: Int, total: Int) {
        var correct = 0, total = 0
        for (p, t) in zip(argmaxRows(logits), targets) where t != -100 && t != Tokenizer.eotID {
            total += 1
            if p == t { correct += 1 }
        }
        return (correct, total)
    }
}

/// Held-out probes that say whether a model uses its image: teacher-forced answer accuracy and loss with each
/// sample's own image, and with the images rotated by one inside the batch (so every answer is asked about a
/// different scene). Equal numbers mean the model answers from priors alone.
enum ImageProbe {
    struct Result { var accuracy: Double; var loss: Double }

    /// Accuracy over supervised targets other than `<eot>` (which is trivially predicted), and the mean loss.
    static func evaluate(_ model: VLM, _ samples: [Sample], shuffled: Bool, batch: Int = 16) -> Result {
        var correct = 0, total = 0, lossSum = 0.0, batches = 0
        Autograd.noGrad {
            for start in stride(from: 0, to: samples.count, by: batch) {
                let chunk = Array(samples[start..<min(samples.count, start + batch)])
                var images = chunk.map { $0.image! }
                if shuffled && images.count > 1 { images = Array(images[1...]) + [images[0]] }
                let out = model.forward(chunk.map(StageSupport.example), visual: .features(StageSupport.features(model, images)))
                let hits = StageSupport.answerTokenHits(logits: out.logits.reshaped([out.targets.count, out.logits.shape[2]]), targets: out.targets)
                correct += hits.correct
                total += hits.total
                lossSum += Double(out.loss.item)
                batches += 1
            }
        }
        return Result(accuracy: Double(correct) / Double(max(1, total)), loss: lossSum / Double(max(1, batches)))
    }

    /// Metrics `heldout_<what>` and `shuffled_image_<what>` for accuracy and loss.
    static func metrics(_ model: VLM, _ samples: [Sample]) -> [(String, Double)] {
        let real = evaluate(model, samples, shuffled: false), wrong = evaluate(model, samples, shuffled: true)
        return [("heldout_answer_acc", real.accuracy), ("heldout_loss", real.loss),
                ("shuffled_image_answer_acc", wrong.accuracy), ("shuffled_image_loss", wrong.loss)]
    }
}
