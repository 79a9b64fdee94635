import Foundation

/// Command-line changes to a spec for one invocation, as Hydra's `lr=0.1,0.3` and `dvc exp run -S` allow:
/// `--set PARAM=VALUE` fixes a parameter for every trial (replacing its value in `base`, its axis in `grid` or `zip`,
/// and its value in `include` entries); `--grid PARAM=a,b,c` makes it an axis (replacing it wherever it was).
///
/// Overrides edit the spec's JSON before validation, so the result is validated exactly like a file; an error about
/// an overridden parameter names the override (`--set tokens=7: …`) instead of a place in a file that does not
/// hold that value. The edited spec is what the invocation records.
public struct SpecOverride: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable { case set, grid }
    public var kind: Kind
    public var parameter: String
    public var values: [JSONValue]
    /// As typed, for errors and the invocation's options: `--set tokens=144`.
    public var description: String

    /// Parses `PARAM=VALUE` (`--set`) or `PARAM=a,b,c` (`--grid`). A value is JSON when it reads as a JSON number,
    /// boolean or string (`144`, `true`, `"a,b"`), else the text itself (`mlp`).
    public init(parsing text: String, kind: Kind) throws(SpecError) {
        let shown = "--\(kind.rawValue) \(text)"
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw SpecError(file: shown, location: "", message: "expected PARAM=VALUE\(kind == .grid ? ",VALUE…" : ""), e.g. \(kind == .grid ? "--grid tokens=144,576" : "--set tokens=144")")
        }
        let name = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
        let rest = String(text[text.index(after: eq)...])
        let pieces = kind == .grid ? SpecOverride.splitList(rest) : [rest]
        var values: [JSONValue] = []
        for piece in pieces {
            guard !piece.isEmpty else {
                throw SpecError(file: shown, location: "", message: "empty value for \(name); write \(kind == .grid ? "values separated by commas" : "a value after '='")")
            }
            guard !piece.utf8.contains(0) else {
                throw SpecError(file: shown, location: "", message: "a value contains a NUL character, which a command's arguments cannot carry")
            }
            if let json = try? JSONParser.parse(piece), json.isScalar { values.append(json) } else { values.append(.string(piece)) }
        }
        self.kind = kind
        parameter = name
        self.values = values
        description = shown
    }

    /// Splits `a,b,"c,d"` on the commas outside double quotes.
    static func splitList(_ text: String) -> [String] {
        var pieces: [String] = [], current = "", quoted = false, escaped = false
        for c in text {
            if escaped { current.append(c); escaped = false; continue }
            if c == "\\" && quoted { current.append(c); escaped = true; continue }
            if c == "\"" { quoted.toggle() }
            if c == "," && !quoted { pieces.append(current); current = ""; continue }
            current.append(c)
        }
        pieces.append(current)
        return pieces
    }

    /// The spec with this override applied.
    func apply(to root: JSONValue) -> JSONValue {
        guard case .object(var members) = root else { return root }
        let p = parameter
        func edit(_ key: String, _ change: (JSONValue?) -> JSONValue?) {
            let index = members.firstIndex { $0.key == key }
            let new = change(index.map { members[$0].value })
            switch (index, new) {
            case (let i?, let v?): members[i].value = v
            case (let i?, nil): members.remove(at: i)
            case (nil, let v?): members.append((key, v))
            case (nil, nil): break
            }
        }
        func removing(_ value: JSONValue?) -> JSONValue? {
            guard case .object(let axes)? = value else { return value }
            let kept = axes.filter { $0.key != p }
            return kept.isEmpty ? nil : .object(kept)
        }
        edit("grid") { grid in
            let rest = removing(grid)
            guard kind == .grid else { return rest }
            var axes: [(key: String, value: JSONValue)] = []
            if case .object(let kept)? = rest { axes = kept }
            return .object(axes + [(p, .array(values))])
        }
        edit("zip", removing)
        edit("base") { base in
            var fields: [(key: String, value: JSONValue)] = []
            if case .object(let kept)? = base { fields = kept.filter { $0.key != p } }
            if kind == .set { fields.append((p, values[0])) }
            return fields.isEmpty && base == nil ? nil : .object(fields)
        }
        // `include` entries add trials with their own values: a fixed parameter is fixed in them too.
        edit("include") { include in
            guard kind == .set, case .array(let entries)? = include else { return include }
            return .array(entries.map { entry in
                guard case .object(let fields) = entry, fields.contains(where: { $0.key == p }) else { return entry }
                return .object(fields.map { $0.key == p ? (p, values[0]) : $0 })
            })
        }
        return .object(members)
    }

    /// Whether a validation error at `location` is about this override's parameter.
    func concerns(_ location: String) -> Bool {
        ["/base/", "/grid/", "/zip/"].contains { location == $0 + parameter || location.hasPrefix($0 + parameter + "/") }
            || (location.hasPrefix("/include/") && location.hasSuffix("/" + parameter))
    }
}

extension SpecParser {
    /// Loads the spec at `url`, applies `overrides` in order, and validates the result like a file. Errors about an
    /// overridden parameter name the override.
    public static func load(contentsOf url: URL, displayPath: String, overrides: [SpecOverride],
                            pipeline: (any BuiltinPipeline)? = nil) throws(SpecError) -> ExperimentSpec {
        let original = try readText(contentsOf: url, displayPath: displayPath)
        guard !overrides.isEmpty else { return try parse(text: original, fileURL: url.standardizedFileURL, displayPath: displayPath, pipeline: pipeline) }
        var root: JSONValue
        do { root = try JSONParser.parse(original) } catch {
            throw SpecError(file: displayPath, location: "line \(error.line), column \(error.column)", message: "invalid JSON: \(error.message)")
        }
        guard case .object = root else { return try parse(text: original, fileURL: url.standardizedFileURL, displayPath: displayPath, pipeline: pipeline) }
        for o in overrides { root = o.apply(to: root) }
        do {
            return try parse(text: root.jsonText, fileURL: url.standardizedFileURL, displayPath: displayPath, pipeline: pipeline)
        } catch {
            throw SpecOverride.attribute(error, to: overrides)
        }
    }
}

extension SpecOverride {
    /// `error` as the user should read it: about the override when it concerns an overridden parameter.
    public static func attribute(_ error: SpecError, to overrides: [SpecOverride]) -> SpecError {
        guard let o = overrides.last(where: { $0.concerns(error.location) }) else { return error }
        return SpecError(file: error.file, location: o.description, message: error.message)
    }
}

extension JSONValue {
    var isScalar: Bool {
        switch self {
        case .number, .string, .bool: return true
        default: return false
        }
    }
}
