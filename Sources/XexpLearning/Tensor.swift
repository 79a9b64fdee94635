import Foundation

/// A dense float32 tensor: a shape and contiguous row-major storage, plus the autodiff bookkeeping.
///
/// Tensors are reference types so the tape can point at them and optimisers can update parameters in
/// place. Storage is a raw, owned buffer (not a Swift array) so hot loops and `cblas_sgemm` get a stable
/// pointer without copy-on-write checks. Reshapes share storage.
///
/// ## Topics
/// - Creating: ``init(shape:)``, ``init(shape:values:)``, ``zeros(_:)``, ``filled(_:value:)``, ``randn(_:std:rng:)``
/// - Autodiff: ``requiresGrad``, ``grad``, ``backward(gradient:)``, ``Autograd``
/// - Ops: see the `Ops/` folder; every op is a free function or method taking and returning `Tensor`.
public final class Tensor {
    /// Extent of each dimension, outermost first.
    public let shape: [Int]
    /// Number of elements (product of `shape`; 1 for a scalar with `shape == []`).
    public let count: Int
    /// The shared, owned buffer (several tensors may view it after ``reshaped(_:)``).
    public let storage: Storage
    /// First element; `count` contiguous floats follow.
    public var data: UnsafeMutablePointer<Float> { storage.pointer }

    /// True for trainable parameters and for every tensor computed from one while ``Autograd/isEnabled``.
    /// A frozen parameter is simply a tensor with `requiresGrad == false`: it gets no gradient and ops skip
    /// its weight-gradient work, while gradients still flow to trainable tensors before it.
    public var requiresGrad: Bool
    /// Accumulated gradient (same shape), created on first accumulation. Kept for leaves after `backward`.
    public var grad: Tensor?
    /// The tape entry that produced this tensor; nil for leaves and for tensors computed without grad.
    var node: TapeNode?

    /// Creates an uninitialised tensor (contents undefined: every op writes all of it).
    public init(shape: [Int], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = Storage(count: count)
        self.requiresGrad = requiresGrad
    }

    /// Creates a tensor that views existing storage (used by reshape).
    init(shape: [Int], storage: Storage, requiresGrad: Bool) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        precondition(count <= storage.count)
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// Creates a tensor from row-major values.
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) {
        self.init(shape: shape, requiresGrad: requiresGrad)
        precondition(values.count == count, "\(values.count) values for shape \(shape) (\(count) elements)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        filled(shape, value: 0, requiresGrad: requiresGrad)
    }

    /// A tensor with every element equal to `value`.
    public static func filled(_ shape: [Int], value: Float, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(shape: shape, requiresGrad: requiresGrad)
        t.data.update(repeating: value, count: t.count)
        return t
    }

    /// Normal(0, std²) samples from `rng` (the init used for weights).
    public static func randn(_ shape: [Int], std: Float = 1, rng: inout Philox, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(shape: shape, requiresGrad: requiresGrad)
        rng.fillNormal(t.data, count: t.count, mean: 0, std: std)
        return t
    }

    /// Uniform samples in [low, high) from `rng`.
    public static func uniform(_ shape: [Int], low: Float, high: Float, rng: inout Philox, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(shape: shape, requiresGrad: requiresGrad)
        rng.fillUniform(t.data, count: t.count, low: low, high: high)
        return t
    }

    /// The elements as a Swift array (a copy).
    public var values: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item() needs a one-element tensor, shape is \(shape)")
        return data[0]
    }

    /// Rank (number of dimensions).
    public var rank: Int { shape.count }

    /// A new tensor with the same values, detached from the tape.
    public func copy(requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(shape: shape, requiresGrad: requiresGrad)
        t.data.update(from: data, count: count)
        return t
    }

    /// This tensor's values without its history (shares storage; no gradient flows back).
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage, requiresGrad: false) }

    /// Pointer to the gradient buffer, creating a zeroed one on first use. Ops accumulate (`+=`) into it,
    /// which lets `cblas_sgemm` write weight gradients with beta = 1 and no temporary.
    /// For ops whose first write covers the whole gradient (a GEMM): the gradient buffer and the `beta`
    /// to use — 1 to accumulate into an existing gradient, 0 for a fresh uninitialised one (saves a memset).
    func gradForOverwrite() -> (UnsafeMutablePointer<Float>, Float) {
        if let g = grad { return (g.data, 1) }
        let g = Tensor(shape: shape)
        grad = g
        return (g.data, 0)
    }

    func gradPointer() -> UnsafeMutablePointer<Float> {
        if let g = grad { return g.data }
        let g = Tensor.zeros(shape)
        grad = g
        return g.data
    }
}

/// An owned float buffer. A class so several tensor views can share it and it is freed exactly once.
/// Buffers come from ``BufferPool`` so a training step reuses the previous step's memory.
public final class Storage {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    private let byteCount: Int
    init(count: Int) {
        self.count = count
        let (raw, bytes) = BufferPool.shared.allocate(byteCount: max(count, 1) * 4)
        self.byteCount = bytes
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }
    deinit { BufferPool.shared.release(UnsafeMutableRawPointer(pointer), byteCount: byteCount) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")]\(requiresGrad ? ", requiresGrad" : ""))"
    }
}

