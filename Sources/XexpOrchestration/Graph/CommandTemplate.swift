/// A command argument or environment value with `{...}` placeholders.
///
/// A placeholder is `{NAME}` (a trial parameter, including `{seed}`), `{STAGE.dir}` (the directory of the upstream
/// job of that stage) or `{job.dir}` (the job's own directory). Anything else in braces is literal text, so shell
/// and awk snippets (`awk '{print $1}'`, `${HOME}`) pass through untouched; `{{` and `}}` write literal braces when
/// a literal would otherwise look like a placeholder.
public struct CommandTemplate: Sendable, Equatable {
    public enum Reference: Hashable, Sendable {
        case parameter(String)
        case stageDirectory(String)
        case jobDirectory
    }

    enum Piece: Equatable, Sendable {
        case literal(String)
        case reference(Reference)
    }

    public struct ParseError: Error { public var message: String }

    let pieces: [Piece]

    public init(_ text: String) throws(ParseError) {
        var pieces: [Piece] = []
        var literal = ""
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "{" && i + 1 < chars.count && chars[i + 1] == "{" { literal.append("{"); i += 2; continue }
            if c == "}" && i + 1 < chars.count && chars[i + 1] == "}" { literal.append("}"); i += 2; continue }
            // `${NAME}` is shell parameter expansion, never ours.
            if c == "{", i == 0 || chars[i - 1] != "$", let close = chars[(i + 1)...].firstIndex(of: "}") {
                let inner = String(chars[(i + 1)..<close])
                if let reference = CommandTemplate.reference(inner) {
                    if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                    pieces.append(.reference(reference))
                    i = close + 1
                    continue
                }
                if inner.hasSuffix(".dir"), !inner.contains(" ") {
                    throw ParseError(message: "placeholder {\(inner)} is malformed; write {STAGE.dir} with a stage name")
                }
            }
            literal.append(c)
            i += 1
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    private static func reference(_ inner: String) -> Reference? {
        if inner == "job.dir" { return .jobDirectory }
        if inner.hasSuffix(".dir") {
            let stage = String(inner.dropLast(4))
            return isIdentifier(stage, allowDash: true) ? .stageDirectory(stage) : nil
        }
        return isIdentifier(inner) ? .parameter(inner) : nil
    }

    /// The text when the template has no placeholder at all, else nil.
    public var literalText: String? {
        if pieces.isEmpty { return "" }
        if pieces.count == 1, case .literal(let text) = pieces[0] { return text }
        return nil
    }

    public var references: [Reference] {
        pieces.compactMap { if case .reference(let r) = $0 { return r } else { return nil } }
    }

    /// Substitutes every placeholder; `resolve` returns nil for a reference it cannot satisfy.
    public func render(_ resolve: (Reference) -> String?) -> Result<String, MissingReference> {
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let s): out += s
            case .reference(let r):
                guard let value = resolve(r) else { return .failure(MissingReference(reference: r)) }
                out += value
            }
        }
        return .success(out)
    }

    public struct MissingReference: Error { public var reference: Reference }
}
