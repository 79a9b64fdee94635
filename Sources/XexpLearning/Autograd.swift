import Foundation

/// Thread-local flag storage for `Autograd.isEnabled` (non-nil = disabled, so the default is enabled).
private let gradDisabledKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()

/// Reverse-mode automatic differentiation by a tape of nodes with backward closures.
///
/// Every op that has at least one input with `requiresGrad` (while ``Autograd/isEnabled``) attaches a
/// ``TapeNode`` to its output. The node holds its inputs and a closure that, given the output's gradient,
/// *accumulates* into the inputs' gradients — but only into those that require grad, which is how frozen
/// parameters cost no weight-gradient GEMM. ``Tensor/backward(gradient:)`` walks the graph in reverse
/// topological order. Inference paths run with no input requiring grad (or inside ``Autograd/noGrad(_:)``)
/// and record nothing.
public enum Autograd {
    /// Whether ops record the tape, per thread: a `noGrad` block on one thread (say, an evaluation task)
    /// must not silently stop recording in a training step running on another.
    public static var isEnabled: Bool {
        get { pthread_getspecific(gradDisabledKey) == nil }
        set { pthread_setspecific(gradDisabledKey, newValue ? nil : UnsafeRawPointer(bitPattern: 1)) }
    }

    /// Runs `body` without recording a tape (generation, evaluation).
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R {
        let saved = isEnabled
        isEnabled = false
        defer { isEnabled = saved }
        return try body()
    }

    /// Whether an op with these inputs must record itself.
    @inline(__always)
    static func needsGrad(_ inputs: Tensor...) -> Bool {
        guard isEnabled else { return false }
        for t in inputs where t.requiresGrad { return true }
        return false
    }
}

/// One recorded op: its inputs and how to push the output gradient into them.
final class TapeNode {
    let inputs: [Tensor]
    /// Receives the output gradient; must only accumulate into inputs whose `requiresGrad` is true.
    let backward: (Tensor) -> Void
    init(inputs: [Tensor], backward: @escaping (Tensor) -> Void) {
        self.inputs = inputs
        self.backward = backward
    }
}

extension Tensor {
    /// Records `backward` on the tape for this output if any input requires grad.
    /// The closure must not capture `self` (the output) strongly — capture `storage` instead — or the
    /// output would own itself through its node.
    @discardableResult
    func record(_ inputs: [Tensor], _ backward: @escaping (Tensor) -> Void) -> Tensor {
        guard Autograd.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return self }
        requiresGrad = true
        node = TapeNode(inputs: inputs, backward: backward)
        return self
    }

    /// Back-propagates from this tensor. With no `gradient`, the tensor must have one element and the
    /// seed is 1 (a loss). Gradients accumulate into `grad` of every leaf with `requiresGrad`; the tape
    /// is released afterwards so intermediates are freed.
    public func backward(gradient: Tensor? = nil) {
        precondition(requiresGrad, "backward() on a tensor that does not require grad (no trainable input, or computed under noGrad)")
        let seed: Tensor
        if let gradient {
            precondition(gradient.shape == shape, "backward gradient shape \(gradient.shape) ≠ tensor shape \(shape)")
            seed = gradient
        } else {
            precondition(count == 1, "backward() without a gradient needs a one-element tensor, shape is \(shape)")
            seed = Tensor.filled(shape, value: 1)
        }
        let g = gradPointer()
        for i in 0..<count { g[i] += seed.data[i] }
        propagate()
    }

    /// Runs the tape's backward closures from this tensor, whose `grad` is set: the walk of ``backward(gradient:)``.
    func propagate() {
        // Iterative DFS for a reverse topological order (recursion could overflow on deep graphs).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if !visited.insert(ObjectIdentifier(t)).inserted { continue }
            stack.append((t, true))
            if let node = t.node {
                for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }
        for t in order.reversed() {
            guard let node = t.node else { continue }
            if let g = t.grad { node.backward(g) }
            // Free the intermediate gradient and break the graph: this tape is used once.
            t.grad = nil
            t.node = nil
        }
    }
}

extension Autograd {
    /// `body(input)` with only `input` kept for the backward pass: the forward runs without a tape, and backward runs
    /// `body` again on the same input with the tape on and back-propagates through that. A training step then holds one
    /// block's activations at a time instead of every block's, for one more forward pass of `body`.
    ///
    /// The same bits as `body(input)` taped, under two conditions the decoder's blocks meet: `body` is a pure
    /// function of `input` and `parameters` (no randomness, no state), and no other consumer of `input` adds to its
    /// gradient while this node's backward runs (the taped pass could interleave their contributions). The replayed
    /// tape is the same ops in the same order, every tensor inside it gets its gradient contributions in the same
    /// order, and the output's gradient is handed over as is (not added to a zero buffer, which would turn -0 into +0).
    public static func recomputing(_ input: Tensor, parameters: [Tensor], _ body: @escaping (Tensor) -> Tensor) -> Tensor {
        let inputs = [input] + parameters
        guard isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return body(input) }
        let output = noGrad { body(input) }
        return output.record(inputs) { gradient in
            let x = Tensor(shape: input.shape, storage: input.storage, requiresGrad: input.requiresGrad)
            let saved = isEnabled
            isEnabled = true
            defer { isEnabled = saved }
            let replayed = body(x)
            precondition(replayed.requiresGrad, "recomputing: the replayed pass records no tape; requiresGrad changed between forward and backward")
            // The replay accumulates into the input's own gradient buffer (if it has one), in the order and with the
            // GEMM beta the taped pass would use, so even a gradient already there ends with the same bits.
            x.grad = input.grad
            replayed.grad = gradient
            replayed.propagate()
            input.grad = x.grad
        }
    }
}
