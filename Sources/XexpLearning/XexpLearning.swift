/// # XexpLearning
///
/// The numerical foundation of xexp: float32 tensors on OpenBLAS, reverse-mode autodiff, the ops the
/// ViT / projector / LLaMA models need, AdamW with a cosine-warmup schedule, a counter-based RNG and
/// safetensors checkpoints. It knows nothing of SQLite, scheduling or the command line.
///
/// ## Where things are
/// - `Tensor.swift`, `Autograd.swift` — the tensor and the tape (``Tensor/backward(gradient:)``, ``Autograd/noGrad(_:)``,
///   ``Autograd/recomputing(_:parameters:_:)`` for activations recomputed in backward with the same bits)
/// - `GEMM.swift` — the single `cblas_sgemm` call site, its profiler, and the process thread knob ``BLAS/threadCount``
/// - `Ops/` — one file per family: `Linear` (matmul, linear, conv1x1), `Attention`, `RoPE`, `Normalization`
///   (RMSNorm, LayerNorm, channel LayerNorm, softmax), `Activations` (ReLU, SiLU, GELU, Mish, Hardswish,
///   Hardsigmoid, SwiGLU), `Convolution` (depthwise 3×3), `Pooling`, `Embedding`, `CrossEntropy`, `Shape`
///   (reshape, token regrouping, concat, slice), `Patchify`, `Elementwise` (+ − × ÷ with broadcasting), `KVCache`
/// - `Optim/` — ``AdamW``, ``CosineWarmupSchedule``, ``clipGradNorm(_:maxNorm:)``
/// - `RNG/Philox.swift` — ``Philox``; `IO/` — ``SafeTensors``, ``Checkpoint``
/// - `Parallel.swift`, `BufferPool.swift`, `Vectorized.swift` — the machinery that makes it fast
///
/// ## Conventions
/// - Row-major, contiguous. Weights use PyTorch's layouts (`linear` weight `[out, in]`, conv weights
///   `[out, in/groups, kh, kw]`) so HF/PyTorch checkpoints map name for name.
/// - Token sequences are `[B, T, D]`; attention takes q `[B, T, Hq·Dh]` and k/v `[B, S, Hkv·Dh]`
///   straight from the projections (no head transposes).
/// - 2-D grids are **channels-last** `[B, H, W, C]`: a projector's `[B, N, D]` tokens *are* a grid after
///   `reshaped([B, √N, √N, D])`, channel LayerNorm is LayerNorm over the last dimension, and a 1×1 conv
///   is a linear layer.
/// - A tensor with `requiresGrad == false` is constant: freezing a module is setting that on its weights.
///   Gradients accumulate into `grad` across `backward` calls (gradient accumulation) until
///   ``AdamW/zeroGrad()``.
/// - Inference (`Autograd.noGrad { … }`, or no trainable inputs) records no tape and keeps no
///   activations for backward.
/// - Programmer errors (shape mismatches) stop with a precondition naming the shapes; data errors
///   (corrupt files) throw.
public enum XexpLearning {
    /// Version of the checkpoint layout written by ``Checkpoint`` (`xexp.format` in the metadata).
    public static let checkpointFormat = "1"
}
