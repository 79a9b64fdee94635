import Foundation

/// A training checkpoint in one safetensors file, loadable with `safetensors.torch.load_file`.
///
/// Tensor names:
/// - `<parameter name>` — float32 weights, e.g. `model.layers.0.self_attn.q_proj.weight`
/// - `optimizer.exp_avg.<parameter name>`, `optimizer.exp_avg_sq.<parameter name>` — AdamW moments (float32,
///   same shape as the parameter; present for parameters that have been updated)
/// - `optimizer.step` — int64 `[1]`, completed optimizer steps
/// - `rng.state` — int64 `[3]`: Philox key, counter (both as bit patterns of UInt64) and words used
///
/// `__metadata__` (all strings): `format` = `pt`, `xexp.format` = `1`, `step` (training step),
/// `config` (the model/run config as JSON text).
public struct Checkpoint {
    public var parameters: [String: Tensor]
    public var expAvg: [String: Tensor]
    public var expAvgSq: [String: Tensor]
    public var optimizerStep: Int
    public var rng: Philox.State?
    public var step: Int
    public var config: String

    public static let expAvgPrefix = "optimizer.exp_avg."
    public static let expAvgSqPrefix = "optimizer.exp_avg_sq."

    /// Writes weights, optimizer state, RNG state and metadata atomically to `path`.
    public static func save(
        to path: String, parameters: [NamedParameter], optimizer: AdamW? = nil,
        rng: Philox.State? = nil, step: Int, config: String = "{}"
    ) throws {
        var entries: [(String, SafeTensors.Entry)] = parameters.map { ($0.name, .init($0.tensor)) }
        if let optimizer {
            for p in optimizer.parameters {
                if let m = optimizer.expAvg[p.name] { entries.append((expAvgPrefix + p.name, .init(m))) }
                if let v = optimizer.expAvgSq[p.name] { entries.append((expAvgSqPrefix + p.name, .init(v))) }
            }
            entries.append(("optimizer.step", .init(int64: [Int64(optimizer.step)], shape: [1])))
        }
        if let rng {
            entries.append(("rng.state", .init(int64: [Int64(bitPattern: rng.key), Int64(bitPattern: rng.counter), Int64(rng.used)], shape: [3])))
        }
        try SafeTensors.write(entries, metadata: ["format": "pt", "xexp.format": "1", "step": String(step), "config": config], to: path)
    }

    /// Reads a checkpoint; throws ``SafeTensorsError`` or ``CheckpointError`` with the reason.
    public static func load(from path: String) throws -> Checkpoint {
        let file = try SafeTensors.read(path: path)
        guard let stepText = file.metadata["step"], let step = Int(stepText) else {
            throw CheckpointError.mismatch("\(path): __metadata__ has no integer \"step\" (not an xexp checkpoint?)")
        }
        var params: [String: Tensor] = [:], m: [String: Tensor] = [:], v: [String: Tensor] = [:]
        for name in file.entries.keys {
            if name == "optimizer.step" || name == "rng.state" { continue }
            if name.hasPrefix(expAvgSqPrefix) { v[String(name.dropFirst(expAvgSqPrefix.count))] = try file.tensor(name) }
            else if name.hasPrefix(expAvgPrefix) { m[String(name.dropFirst(expAvgPrefix.count))] = try file.tensor(name) }
            else { params[name] = try file.tensor(name) }
        }
        var rng: Philox.State?
        if file.entries["rng.state"] != nil {
            let s = try file.int64s("rng.state")
            guard s.count == 3, s[2] >= 0, s[2] <= 4 else { throw CheckpointError.mismatch("\(path): rng.state must hold 3 values (key, counter, used ≤ 4)") }
            rng = Philox.State(key: UInt64(bitPattern: s[0]), counter: UInt64(bitPattern: s[1]), used: UInt32(s[2]))
        }
        let optStep = file.entries["optimizer.step"] != nil ? Int(try file.int64s("optimizer.step").first ?? 0) : 0
        return Checkpoint(parameters: params, expAvg: m, expAvgSq: v, optimizerStep: optStep, rng: rng,
                          step: step, config: file.metadata["config"] ?? "{}")
    }

    /// Copies stored weights into `parameters` (matched by name, shapes checked); every parameter must be present.
    public func restore(into parameters: [NamedParameter]) throws {
        for p in parameters {
            guard let t = self.parameters[p.name] else { throw CheckpointError.mismatch("checkpoint has no weight \"\(p.name)\"") }
            guard t.shape == p.tensor.shape else {
                throw CheckpointError.mismatch("weight \"\(p.name)\" has shape \(t.shape) in the checkpoint but \(p.tensor.shape) in the model")
            }
            p.tensor.data.update(from: t.data, count: t.count)
        }
    }

    /// Restores the optimizer's step and moments.
    public func restore(into optimizer: AdamW) throws {
        try optimizer.restore(step: optimizerStep, expAvg: expAvg, expAvgSq: expAvgSq)
    }
}

/// A checkpoint that is valid safetensors but does not fit the model or optimizer.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case mismatch(String)
    public var description: String { switch self { case .mismatch(let s): "checkpoint mismatch: \(s)" } }
}
