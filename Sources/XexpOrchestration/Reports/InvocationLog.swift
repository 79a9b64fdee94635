import Foundation

/// `xexp log`: every invocation as an aligned table or as JSON objects with stable keys.
public enum InvocationLog {
    public enum Format: String, CaseIterable, Sendable { case text, json }

    /// Job states in the order the table shows them.
    public static let states: [JobStatus] = [.done, .running, .pending, .failed, .timeout, .blocked, .interrupted]

    /// Local ISO 8601 with the offset (`2024-05-01T14:03:07+02:00`).
    public static func timestamp(_ seconds: Double, timeZone: TimeZone) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = timeZone
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// `42.1s`, `3m07s`, `2h05m`.
    public static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs", max(0, seconds)) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }

    public static func render(_ entries: [InvocationLogEntry], format: Format, timeZone: TimeZone = .current) -> String {
        switch format {
        case .text: return text(entries, timeZone: timeZone)
        case .json: return json(entries, timeZone: timeZone)
        }
    }

    static func text(_ entries: [InvocationLogEntry], timeZone: TimeZone) -> String {
        let columns = ["run", "started", "duration", "outcome"] + states.map(\.rawValue) + ["cached", "total", "spec", "commit", "host", "options"]
        let rightAligned = Set(4..<(4 + states.count + 2))
        let rows: [[String]] = entries.map { e in
            let duration: String = e.endedAt.map { Self.duration($0 - e.startedAt) } ?? "-"
            let outcome: String = e.outcome ?? (e.endedAt == nil ? "running or died" : "-")
            var row: [String] = [e.run, timestamp(e.startedAt, timeZone: timeZone), duration, outcome]
            for state in states { row.append(String(e.counts[state] ?? 0)) }
            row.append(String(e.cached))
            row.append(String(e.total))
            row.append(e.specHash)
            row.append(e.gitCommit ?? "-")
            row.append(e.host)
            row.append(e.options ?? "")
            return row
        }
        var widths = columns.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return rightAligned.contains(i) ? pad + cell : cell + pad
            }
            var text = padded.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        var out = [line(columns), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n") + "\n"
    }

    static func json(_ entries: [InvocationLogEntry], timeZone: TimeZone) -> String {
        func optional(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        let objects: [JSONValue] = entries.map { e in
            .object([
                ("sweep", .string(e.sweep)),
                ("seq", .number(Double(e.seq))),
                ("run", .string(e.run)),
                ("started", .string(timestamp(e.startedAt, timeZone: timeZone))),
                ("ended", e.endedAt.map { .string(timestamp($0, timeZone: timeZone)) } ?? .null),
                ("duration_seconds", e.endedAt.map { .number(max(0, $0 - e.startedAt)) } ?? .null),
                ("outcome", optional(e.outcome)),
                ("jobs", .object(states.map { ($0.rawValue, .number(Double(e.counts[$0] ?? 0))) })),
                ("total", .number(Double(e.total))),
                ("cached", .number(Double(e.cached))),
                ("spec_hash", .string(e.specHash)),
                ("git_commit", optional(e.gitCommit)),
                ("host", .string(e.host)),
                ("toolkit_version", .string(e.toolkitVersion)),
                ("options", optional(e.options)),
            ])
        }
        return JSONValue.array(objects).jsonText + "\n"
    }
}
