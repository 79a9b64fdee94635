/// A trial parameter: a string, a number or a boolean, as the spec allows.
public enum ParameterValue: Hashable, Sendable, CustomStringConvertible {
    case string(String)
    /// `literal`: the spec's text for a number a double cannot stand for (``JSONValue/number(_:literal:)``). Part of
    /// the value: `1e16` and `10000000000000000` substitute differently, so they are different values.
    case number(Double, literal: String? = nil)
    case bool(Bool)

    /// The text substituted for `{name}` in a command: strings as they are (no quotes), numbers in their shortest
    /// round-trip form (`10`, never `10.0`) — or, for integers of 2^53 or more, as written in the spec —, booleans as
    /// `true`/`false`.
    public var description: String {
        switch self {
        case .string(let s): return s
        case .number(let d, let literal): return literal ?? JSONValue.formatNumber(d)
        case .bool(let b): return b ? "true" : "false"
        }
    }

    public var json: JSONValue {
        switch self {
        case .string(let s): return .string(s)
        case .number(let d, let literal): return .number(d, literal: literal)
        case .bool(let b): return .bool(b)
        }
    }

    public init?(json: JSONValue) {
        switch json {
        case .string(let s): self = .string(s)
        case .number(let d, let literal): self = .number(d, literal: literal)
        case .bool(let b): self = .bool(b)
        default: return nil
        }
    }

    public var numericValue: Double? {
        if case .number(let d, _) = self { return d }
        return nil
    }
}

/// One trial's parameters, in a stable order (the order in which the spec introduced them).
public struct Parameters: Hashable, Sendable {
    public private(set) var names: [String] = []
    public private(set) var values: [String: ParameterValue] = [:]

    public init() {}

    public subscript(name: String) -> ParameterValue? {
        get { values[name] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: name) == nil { names.append(name) }
            } else if values.removeValue(forKey: name) != nil {
                names.removeAll { $0 == name }
            }
        }
    }

    /// Overlays `other`'s values; new names go after the existing ones.
    public func merging(_ other: Parameters) -> Parameters {
        var merged = self
        for name in other.names { merged[name] = other.values[name] }
        return merged
    }

    public var json: JSONValue {
        .object(names.map { ($0, values[$0]!.json) })
    }

    public init(json: JSONValue) {
        if case .object(let members) = json {
            for member in members {
                if let value = ParameterValue(json: member.value) { self[member.key] = value }
            }
        }
    }

    public static func == (lhs: Parameters, rhs: Parameters) -> Bool { lhs.values == rhs.values }
    public func hash(into hasher: inout Hasher) { hasher.combine(values) }
}
