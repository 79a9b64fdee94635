import Foundation

/// A rectangular report: what `table`, `diff`, `export` and `plot` produce before rendering.
public struct ReportTable: Sendable, Equatable {
    public enum Cell: Sendable, Equatable {
        case text(String)
        case number(Double)
        case empty
    }

    public var columns: [String]
    public var rows: [[Cell]]
    /// How many leading columns are parameters (left-aligned in text, not numbers to compare).
    public var keyColumns: Int

    public init(columns: [String], rows: [[Cell]], keyColumns: Int) {
        self.columns = columns
        self.rows = rows
        self.keyColumns = keyColumns
    }
}

/// The output formats every report command accepts.
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, md, csv, json
}

extension ReportTable.Cell {
    init(_ value: ParameterValue?) {
        switch value {
        case .number(let d, _)?: self = .number(d)
        case .string(let s)?: self = .text(s)
        case .bool(let b)?: self = .text(b ? "true" : "false")
        case nil: self = .empty
        }
    }

    /// Full precision: what CSV and JSON carry, so nothing is lost on the way to pandas.
    var exact: String {
        switch self {
        case .text(let s): return s
        case .number(let d): return d.isNaN ? "NaN" : JSONValue.formatNumber(d)  // NaN, inf, -inf: what pandas reads as floats
        case .empty: return ""
        }
    }

    /// Four significant digits for reading in a terminal or a paper table.
    var rounded: String {
        switch self {
        case .text(let s): return s
        case .empty: return ""
        case .number(let d):
            if d.isNaN { return "nan" }
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            if abs(d) >= 1000 { return String(format: "%.1f", d) }
            return String(format: "%.4g", d)
        }
    }

    var json: JSONValue {
        switch self {
        case .text(let s): return .string(s)
        case .number(let d): return d.isFinite ? .number(d) : .null
        case .empty: return .null
        }
    }
}

extension ReportTable {
    public func render(_ format: ReportFormat) -> String {
        switch format {
        case .text: return renderText()
        case .md: return renderMarkdown()
        case .csv: return renderCSV()
        case .json: return renderJSON()
        }
    }

    func renderText() -> String {
        let cells = rows.map { $0.map(\.rounded) }
        var widths = columns.map(\.count)
        for row in cells { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ values: [String], numeric: [Bool]) -> String {
            values.enumerated().map { i, v in
                let pad = String(repeating: " ", count: widths[i] - v.count)
                return numeric[i] ? pad + v : v + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        let numeric = columns.indices.map { $0 >= keyColumns }
        var out = [line(columns, numeric: numeric), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        for row in cells { out.append(line(row, numeric: numeric)) }
        return out.joined(separator: "\n") + "\n"
    }

    func renderMarkdown() -> String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var out = "| " + columns.map(escape).joined(separator: " | ") + " |\n"
        out += "|" + columns.indices.map { $0 < keyColumns ? "---|" : "---:|" }.joined() + "\n"
        for row in rows { out += "| " + row.map { escape($0.rounded) }.joined(separator: " | ") + " |\n" }
        return out
    }

    func renderCSV() -> String {
        CSV.document(header: columns, rows: rows.map { $0.map(\.exact) })
    }

    func renderJSON() -> String {
        let objects = rows.map { row in JSONValue.object(zip(columns, row).map { ($0, $1.json) }) }
        return JSONValue.array(objects).jsonText + "\n"
    }
}

/// RFC 4180 CSV: CRLF line ends, fields quoted when they hold a comma, quote, CR or LF, quotes doubled.
public enum CSV {
    /// The one quoting rule of every CSV xexp writes (table, diff, export, plot). It looks at Unicode scalars, not
    /// Characters: "\r\n" is a single Character equal to neither "\r" nor "\n", and a combining mark after a comma
    /// or quote makes one Character that is neither, yet a CSV reader sees the comma, the quote or the line break.
    public static func field(_ s: String) -> String {
        let scalars = s.unicodeScalars
        let special = scalars.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
        guard special || scalars.first == " " || scalars.last == " " else { return s }
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        for scalar in scalars {
            if scalar == "\"" { quoted.append("\"") }
            quoted.append(scalar)
        }
        quoted.append("\"")
        return String(quoted)
    }

    public static func document(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }
}
