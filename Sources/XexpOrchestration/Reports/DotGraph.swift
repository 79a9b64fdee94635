import Foundation

/// A job graph as Graphviz DOT (`xexp graph`): one node per job labelled with its stage, short id and the parameters
/// its command uses (when few), edges upstream → downstream, shared jobs with a double border, and, for a sweep in
/// the store, nodes filled by status.
public struct DotGraph: Sendable {
    /// A node's fill: what happened to the job.
    public enum Fill: String, Sendable {
        case done = "palegreen", failed = "lightcoral", running = "yellow", waiting = "lightgrey", cached = "lightblue"

        public init(status: JobStatus, cached: Bool) {
            switch status {
            case .done: self = cached ? .cached : .done
            case .failed, .timeout: self = .failed
            case .running: self = .running
            case .pending, .blocked, .interrupted: self = .waiting
            }
        }
    }

    public struct Node: Sendable {
        public var id: JobID
        public var stage: String
        public var parameters: [(name: String, value: String)]
        /// Used by more than one trial: drawn with a double border.
        public var shared: Bool
        public var fill: Fill?

        public init(id: JobID, stage: String, parameters: [(name: String, value: String)], shared: Bool, fill: Fill?) {
            self.id = id
            self.stage = stage
            self.parameters = parameters
            self.shared = shared
            self.fill = fill
        }
    }

    /// At most this many parameters are written into a label; more are summarised as a count.
    public static let maxLabelParameters = 4
    /// Longer parameter values are cut (with an ellipsis) in labels.
    public static let maxValueLength = 32

    public var name: String
    public var nodes: [Node] = []
    public var edges: [(from: JobID, to: JobID)] = []

    public init(name: String) { self.name = name }

    /// A DOT double-quoted string: backslashes and quotes escaped, line breaks written as DOT's `\n`.
    public static func quote(_ text: String) -> String {
        var out = "\""
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = scalars.next()
        while let scalar = pending {
            pending = scalars.next()
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\r":
                out += "\\n"
                if pending == "\n" { pending = scalars.next() }
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func nodeName(_ id: JobID) -> String { quote("j" + id) }

    func label(_ node: Node) -> String {
        var lines = [node.stage, String(node.id.prefix(8))]
        if node.parameters.count > Self.maxLabelParameters {
            lines.append("\(node.parameters.count) parameters")
        } else if !node.parameters.isEmpty {
            lines.append(node.parameters.map { p in
                let value = p.value.count > Self.maxValueLength ? String(p.value.prefix(Self.maxValueLength - 1)) + "…" : p.value
                return "\(p.name)=\(value)"
            }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    public func render() -> String {
        var out = "digraph \(Self.quote(name)) {\n"
        out += "  rankdir=LR;\n"
        out += "  node [shape=box, fontname=\"Helvetica\"];\n"
        for node in nodes {
            var attributes = ["label=\(Self.quote(label(node)))"]
            if node.shared { attributes.append("peripheries=2") }
            if let fill = node.fill { attributes += ["style=filled", "fillcolor=\(Self.quote(fill.rawValue))"] }
            out += "  \(Self.nodeName(node.id)) [\(attributes.joined(separator: ", "))];\n"
        }
        for edge in edges {
            out += "  \(Self.nodeName(edge.from)) -> \(Self.nodeName(edge.to));\n"
        }
        return out + "}\n"
    }
}

extension DotGraph {
    /// The graph of a planned sweep (a spec file): no status, sharing from the plan.
    public init(plan: SweepPlan) {
        self.init(name: plan.spec.name)
        let usage = plan.usage
        for job in plan.graph.jobs {
            let parameters = job.referencedParameters
            nodes.append(Node(id: job.id, stage: job.stage,
                              parameters: parameters.names.compactMap { n in parameters[n].map { (n, $0.description) } },
                              shared: (usage[job.id] ?? 0) > 1, fill: nil))
            edges += job.upstream.map { ($0, job.id) }
        }
    }
}
