import Foundation
import XexpData
import XexpLearning
import XexpModels

/// Small pieces every stage shares.
enum StageSupport {
    /// Channels-last `[B, H, W, C]` images from the data library's CHW buffers.
    static func imageTensor(_ images: [ImageBuffer]) -> Tensor {
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
    static func features(_ model: VLM, _ images: [ImageBuffer]) -> Tensor {
        Autograd.noGrad { model.visionEncoder.features(imageTensor(images)) }
    }

    static func example(_ sample: Sample) -> VLMExample { VLMExample(ids: sample.tokens, supervised: sample.supervised) }
}
