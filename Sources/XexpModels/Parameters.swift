import Foundation
import XexpLearning

/// One parameter as a layout declares it: its checkpoint name (relative to the component), its shape and how
/// it is initialised. Layouts are pure values, so parameter counts and checkpoint tables can be computed for
/// models far too large to allocate (an XDP projector at N = 1 and 1024→2048 has 1.2 billion weights).
public struct ParameterSpec: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var initializer: Initializer

    public init(_ name: String, _ shape: [Int], _ initializer: Initializer) {
        self.name = name
        self.shape = shape
        self.initializer = initializer
    }

    public var count: Int { shape.reduce(1, *) }
}

/// How a parameter starts. The defaults follow the framework each part comes from: PyTorch's `nn.Linear` and
/// `nn.Conv2d` (uniform ±1/√fan_in) for projectors and the vision encoder, HF LLaMA's normal(0, 0.02) for the
/// language model, ones/zeros for norms.
public enum Initializer: Sendable, Equatable {
    case ones
    case zeros
    case normal(std: Float)
    /// Uniform in [-bound, bound).
    case uniform(bound: Float)
    /// A `[grid², D]` table of 2-D sine-cosine position codes (MAE): the first half of the channels encodes the
    /// row, the second half the column. Used to start the vision encoder's learned position embedding.
    case sincos2D(grid: Int)

    /// PyTorch's default for a layer with `fanIn` inputs per output (weights and biases alike).
    public static func torchDefault(fanIn: Int) -> Initializer { .uniform(bound: 1 / Float(fanIn).squareRoot()) }
}

/// The allocated parameters of one component, in layout order, addressable by relative name.
public final class ParameterSet {
    /// Relative names (e.g. `mlp.0.weight`) with their tensors, in layout order.
    public let parameters: [NamedParameter]
    private let byName: [String: Tensor]

    /// Allocates and initialises every spec, drawing from `rng` in order (so a seed fixes the model).
    public init(specs: [ParameterSpec], rng: inout Philox) {
        var list: [NamedParameter] = []
        var map: [String: Tensor] = [:]
        for spec in specs {
            precondition(map[spec.name] == nil, "duplicate parameter \(spec.name)")
            let t = ParameterSet.make(spec, rng: &rng)
            list.append(NamedParameter(spec.name, t))
            map[spec.name] = t
        }
        parameters = list
        byName = map
    }

    /// The tensor named `name`; a missing name is a programming error in a layout.
    public subscript(_ name: String) -> Tensor {
        guard let t = byName[name] else { preconditionFailure("no parameter named \(name)") }
        return t
    }

    /// Parameters under `prefix` (checkpoint names of the enclosing model).
    public func named(prefix: String) -> [NamedParameter] {
        parameters.map { NamedParameter(prefix + $0.name, $0.tensor) }
    }

    /// Number of scalars.
    public var count: Int { parameters.reduce(0) { $0 + $1.tensor.count } }

    /// Marks every tensor trainable or frozen; freezing also drops stale gradients.
    public func setTrainable(_ trainable: Bool) {
        for p in parameters {
            p.tensor.requiresGrad = trainable
            if !trainable { p.tensor.grad = nil }
        }
    }

    private static func make(_ spec: ParameterSpec, rng: inout Philox) -> Tensor {
        switch spec.initializer {
        case .ones: return Tensor.filled(spec.shape, value: 1, requiresGrad: true)
        case .zeros: return Tensor.zeros(spec.shape, requiresGrad: true)
        case .normal(let std): return Tensor.randn(spec.shape, std: std, rng: &rng, requiresGrad: true)
        case .uniform(let bound): return Tensor.uniform(spec.shape, low: -bound, high: bound, rng: &rng, requiresGrad: true)
        case .sincos2D(let grid):
            let t = Tensor(shape: spec.shape, requiresGrad: true)
            fillSinCos2D(t, grid: grid)
            return t
        }
    }

    /// MAE's `get_2d_sincos_pos_embed` (rows in the first half of the channels, columns in the second); widths
    /// not divisible by 4 leave the remainder channels at zero.
    static func fillSinCos2D(_ t: Tensor, grid: Int) {
        precondition(t.rank == 2 && t.shape[0] == grid * grid, "sincos2D table must be [\(grid * grid), D], got \(t.shape)")
        let d = t.shape[1], quarter = d / 4
        t.data.update(repeating: 0, count: t.count)
        for r in 0..<grid {
            for c in 0..<grid {
                let row = t.data + (r * grid + c) * d
                for i in 0..<quarter {
                    let omega = 1 / pow(10000, Double(i) / Double(max(quarter, 1)))
                    row[i] = Float(sin(Double(r) * omega))
                    row[quarter + i] = Float(cos(Double(r) * omega))
                    row[2 * quarter + i] = Float(sin(Double(c) * omega))
                    row[3 * quarter + i] = Float(cos(Double(c) * omega))
                }
            }
        }
    }
}

/// Errors a user can cause with a model or projector choice: each names the thing and lists what would work.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidTokens(projector: String, tokens: Int, rule: String, valid: [Int])
    case unknownProjector(String)
    case unknownModel(String, known: [String])
    case invalidConfig(String)
    case checkpoint(String)

    public var description: String {
        switch self {
        case .invalidTokens(let p, let n, let rule, let valid):
            return "\(n) is not a valid token count for projector \"\(p)\" (\(rule); valid: \(valid.map(String.init).joined(separator: ", ")))"
        case .unknownProjector(let name):
            let known = ProjectorKind.allCases.map(\.rawValue)
            let hint = didYouMean(name, known + ProjectorKind.aliases.keys.sorted()).map { ProjectorKind(name: $0)?.rawValue ?? $0 }
            return "unknown projector \"\(name)\"\(hint.map { " (did you mean \"\($0)\"?)" } ?? ""); known: \(known.joined(separator: ", "))"
        case .unknownModel(let name, let known):
            let hint = didYouMean(name, known)
            return "unknown language model \"\(name)\"\(hint.map { " (did you mean \"\($0)\"?)" } ?? ""); known: \(known.joined(separator: ", "))"
        case .invalidConfig(let s): return "invalid model configuration: \(s)"
        case .checkpoint(let s): return "checkpoint does not fit the model: \(s)"
        }
    }
}

/// The closest candidate by edit distance, if it is close enough to be a plausible typo.
func didYouMean(_ word: String, _ candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var prev = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var cur = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() { cur[j + 1] = min(prev[j + 1] + 1, cur[j] + 1, prev[j] + (ca == cb ? 0 : 1)) }
            prev = cur
        }
        return prev[b.count]
    }
    let w = Array(word.lowercased())
    let best = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(2, w.count / 3) else { return nil }
    return best.0
}
