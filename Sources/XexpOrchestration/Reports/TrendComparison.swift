import Foundation

/// A reference table for `xexp compare`: CSV whose first column is the swept parameter (`tokens`, `projector`, …)
/// and whose other columns are metrics named as a sweep's table names them (`gqa.accuracy`, `pope.f1`, …).
/// An empty metric cell is a missing value; every other cell must be a number.
public struct ReferenceTable: Sendable {
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    public struct Row: Sendable {
        /// The first column's text (unquoted, surrounding spaces removed).
        public var key: String
        /// 1-based line of the row in the file.
        public var line: Int
        /// One value per metric column; `nil` where the cell is empty.
        public var values: [Double?]
    }

    /// The file as the user named it, for messages.
    public var file: String
    /// The first column's header: the swept parameter.
    public var x: String
    public var metrics: [String]
    public var rows: [Row]

    /// Parses `text`. `file` only labels error messages, which point at the line and say how to fix it.
    public init(text: String, file: String) throws(Failure) {
        self.file = file
        func failure(_ message: String) -> Failure { Failure(description: "\(file): \(message)") }
        let records: [(line: Int, fields: [String])]
        do { records = try CSV.records(text) } catch { throw failure(error.description) }
        let example = "e.g. tokens,gqa.accuracy,pope.f1"
        guard let header = records.first else {
            throw failure("the file is empty; its first line must name the swept parameter and then the metric columns, \(example)")
        }
        guard header.fields.count >= 2 else {
            throw failure("line \(header.line): the header needs the swept parameter and at least one metric column, \(example)")
        }
        for (i, name) in header.fields.enumerated() {
            if name.isEmpty { throw failure("line \(header.line): column \(i + 1) has no name; name every column, \(example)") }
            if header.fields[..<i].contains(name) { throw failure("line \(header.line): column \"\(name)\" appears twice; name each column once") }
        }
        x = header.fields[0]
        metrics = Array(header.fields.dropFirst())
        var rows: [Row] = []
        for record in records.dropFirst() {
            guard record.fields.count == header.fields.count else {
                throw failure("line \(record.line): \(record.fields.count) field(s), but the header has \(header.fields.count); give every row one value per column (leave a cell empty for a missing value)")
            }
            let key = record.fields[0]
            guard !key.isEmpty else { throw failure("line \(record.line): the \(x) value is empty; every row needs one") }
            if let earlier = rows.first(where: { Self.sameKey($0.key, key) }) {
                throw failure("line \(record.line): \(x)=\(key) appears twice (also line \(earlier.line)); give each value one row")
            }
            var values: [Double?] = []
            for (name, cell) in zip(metrics, record.fields.dropFirst()) {
                if cell.isEmpty { values.append(nil); continue }
                guard let value = Double(cell), value.isFinite else {
                    throw failure("line \(record.line), column \(name): \"\(cell)\" is not a number; write a number, or leave the cell empty for a missing value")
                }
                values.append(value)
            }
            rows.append(Row(key: key, line: record.line, values: values))
        }
        guard !rows.isEmpty else { throw failure("the header has no rows under it; add one row per \(x) value") }
        self.rows = rows
    }

    /// Reads and parses the file at `path`; a missing or unreadable file is a failure that names it.
    public init(contentsOf path: String) throws(Failure) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Failure(description: "\(path): no such file; pass --reference a CSV whose first column is the swept parameter (e.g. Results/reference/table8.csv)")
        }
        guard !isDirectory.boolValue else {
            throw Failure(description: "\(path) is a directory; pass --reference one of its CSV files")
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Failure(description: "\(path): cannot read it as UTF-8 text (\(error.localizedDescription)); check its permissions and encoding")
        }
        try self.init(text: text, file: path)
    }

    /// Whether a sweep's parameter value is this reference key: numbers compare numerically (`144` is `144.0`),
    /// strings and booleans as written.
    public static func matches(_ value: ParameterValue, _ key: String) -> Bool {
        switch value {
        case .number(let d, _): return Double(key) == d
        case .string(let s): return s == key
        case .bool(let b): return key == (b ? "true" : "false")
        }
    }

    static func sameKey(_ a: String, _ b: String) -> Bool {
        if let x = Double(a), let y = Double(b) { return x == y }
        return a == b
    }
}

extension CSV {
    public struct SyntaxError: Error, CustomStringConvertible { public var description: String }

    /// Parses RFC 4180 CSV (CRLF or LF line ends, fields quoted with `"` and quotes doubled inside them) into
    /// records with the line each starts on. Unquoted fields lose surrounding spaces and tabs; blank lines are
    /// skipped; a leading byte-order mark is ignored.
    public static func records(_ text: String) throws(SyntaxError) -> [(line: Int, fields: [String])] {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var quoted = false, wasQuoted = false
        var line = 1, recordLine = 1
        var i = 0
        func endField() {
            let text = String(field)
            fields.append(wasQuoted ? text : text.trimmingCharacters(in: CharacterSet(charactersIn: " \t")))
            field = String.UnicodeScalarView()
            wasQuoted = false
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields = []
        }
        while i < scalars.count {
            let c = scalars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < scalars.count, scalars[i + 1] == "\"" { field.append("\""); i += 2; continue }
                    quoted = false
                    // Only spaces may sit between a closing quote and the end of the field.
                    var j = i + 1
                    while j < scalars.count, scalars[j] == " " || scalars[j] == "\t" { j += 1 }
                    if j < scalars.count, scalars[j] != ",", scalars[j] != "\n", scalars[j] != "\r" {
                        throw SyntaxError(description: "line \(line): text after a closing quote; write a quote inside a quoted field as \"\"")
                    }
                    i = j
                    continue
                }
                if c == "\n" { line += 1 }
                field.append(c)
                i += 1
                continue
            }
            switch c {
            case "\"" where String(field).allSatisfy({ $0 == " " || $0 == "\t" }):
                field = String.UnicodeScalarView()
                quoted = true
                wasQuoted = true
            case ",":
                endField()
            case "\r", "\n":
                if c == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
                endRecord()
                line += 1
                recordLine = line
            default:
                field.append(c)
            }
            i += 1
        }
        if quoted { throw SyntaxError(description: "line \(recordLine): a quoted field is never closed; add the closing \"") }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { endRecord() }
        return records
    }
}

/// `xexp compare SWEEP --reference FILE`: does the sweep's table rank its rows as a reference table (the paper's)
/// does? For each metric both have, Spearman's rho and Kendall's tau-b over the rows both have (matched on the
/// swept parameter), and the mean rho over those metrics (a metric without a correlation counts as 0).
public struct TrendComparison: Sendable {
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    public struct Metric: Sendable, Equatable {
        public var name: String
        /// Rows where both the sweep and the reference have a value.
        public var n: Int
        public var spearman: Double?
        public var kendall: Double?
    }

    /// The sweep's parameter the rows are matched on.
    public var x: String
    public var metrics: [Metric]
    public var meanSpearman: Double
    /// Reference keys with a row in the sweep's table, and those without one, in the reference's order.
    public var matchedKeys: [String]
    public var unmatchedKeys: [String]
    /// Metric columns of the reference the sweep does not have, and the sweep's metrics the reference does not.
    public var onlyInReference: [String]
    public var onlyInSweep: [String]

    /// - Parameters:
    ///   - x: the sweep's parameter to match rows on (default: the reference's first column header).
    ///   - metrics: the metrics to compare (default: every metric both have, in the reference's column order).
    public init(_ results: InvocationResults, reference: ReferenceTable, x: String? = nil, metrics: [String]? = nil) throws(Failure) {
        let table = SweepTable(results)
        let x = x ?? reference.x
        let sweep = results.sweep
        guard table.varying.contains(x) else {
            let all = Set(results.trials.flatMap(\.parameters.names)).subtracting(["seed"])
            var message: String
            if all.contains(x) {
                let values = Set(results.trials.compactMap { $0.parameters[x]?.description }).sorted()
                message = "parameter \"\(x)\" does not vary in sweep \(sweep) (it is \(values.joined(separator: ", ")) in every trial)"
            } else {
                message = "\"\(x)\" is not a parameter of sweep \(sweep)"
                if let guess = suggestion(for: x, among: all.sorted()) { message += "; did you mean '\(guess)'?" }
            }
            if table.varying.isEmpty {
                message += "; the sweep varies no parameter, so it has no trend to compare"
            } else {
                message += "; its varying parameters: \(table.varying.joined(separator: ", ")) (pass --x PARAM naming one, with a reference whose first column holds its values)"
            }
            throw Failure(description: message)
        }
        self.x = x

        // The sweep's table rows (seeds averaged), one per value of x.
        var rowOfValue: [(value: ParameterValue, row: SweepTable.Row)] = []
        for row in table.rows {
            guard let value = row.parameters[x] else { continue }
            if rowOfValue.contains(where: { $0.value == value }) {
                let others = table.varying.filter { $0 != x }
                throw Failure(description: "sweep \(sweep) has several rows with \(x)=\(value) (\(others.joined(separator: ", ")) also \(others.count == 1 ? "varies" : "vary")), so a reference row would match more than one; compare a sweep that varies only \(x)")
            }
            rowOfValue.append((value, row))
        }

        // Metrics: those named, each of which both sides must have, or every metric both have.
        let sweepMetrics = table.metricNames
        let chosen: [String]
        if let metrics {
            for name in metrics where !reference.metrics.contains(name) {
                var message = "\"\(name)\" is not a column of \(reference.file)"
                if let guess = suggestion(for: name, among: reference.metrics) { message += "; did you mean '\(guess)'?" }
                else { message += "; its metric columns: \(reference.metrics.joined(separator: ", "))" }
                throw Failure(description: message)
            }
            for name in metrics where !sweepMetrics.contains(name) {
                var message = "\"\(name)\" is not a metric of sweep \(sweep)"
                if let guess = suggestion(for: name, among: sweepMetrics) { message += "; did you mean '\(guess)'?" }
                else { message += "; see its metrics with `xexp table \(sweep) --all-metrics`" }
                throw Failure(description: message)
            }
            chosen = metrics
        } else {
            chosen = reference.metrics.filter(sweepMetrics.contains)
        }
        onlyInReference = reference.metrics.filter { !sweepMetrics.contains($0) }
        onlyInSweep = sweepMetrics.filter { !reference.metrics.contains($0) }
        guard !chosen.isEmpty else {
            var message = "\(reference.file) and sweep \(sweep) share no metric"
            let guesses = reference.metrics.compactMap { name in suggestion(for: name, among: sweepMetrics).map { "'\($0)' for column '\(name)'" } }
            if !guesses.isEmpty { message += "; did you mean \(guesses.joined(separator: ", "))?" }
            let shown = sweepMetrics.prefix(8).joined(separator: ", ") + (sweepMetrics.count > 8 ? ", …" : "")
            message += " (the reference's columns: \(reference.metrics.joined(separator: ", ")); the sweep's metrics: \(sweepMetrics.isEmpty ? "none yet" : shown)); name the reference's columns as `xexp table \(sweep) --all-metrics` names its metrics (STAGE.METRIC)"
            if results.trials.contains(where: { $0.statuses.values.contains { $0 != .done } }) {
                message += "; some of its jobs have not finished, and those report no metrics yet (`xexp status \(sweep)`)"
            }
            throw Failure(description: message)
        }

        // Rows: the reference's, in its order, that the sweep has.
        var matched: [(ReferenceTable.Row, SweepTable.Row)] = []
        var unmatched: [String] = []
        for refRow in reference.rows {
            if let hit = rowOfValue.first(where: { ReferenceTable.matches($0.value, refRow.key) }) { matched.append((refRow, hit.row)) }
            else { unmatched.append(refRow.key) }
        }
        guard !matched.isEmpty else {
            let ours = rowOfValue.map(\.value.description).joined(separator: ", ")
            throw Failure(description: "no row of \(reference.file) matches sweep \(sweep) on \(x): the reference has \(reference.rows.map(\.key).joined(separator: ", ")), the sweep has \(ours); check the first column's values (numbers match numerically, strings exactly) or pass --x PARAM")
        }
        matchedKeys = matched.map(\.0.key)
        unmatchedKeys = unmatched

        self.metrics = chosen.map { name in
            let column = reference.metrics.firstIndex(of: name)!
            var ours: [Double] = [], theirs: [Double] = []
            for (refRow, row) in matched {
                guard let a = row.mean[name], a.isFinite, let b = refRow.values[column] else { continue }
                ours.append(a)
                theirs.append(b)
            }
            return Metric(name: name, n: ours.count, spearman: RankCorrelation.spearman(ours, theirs),
                          kendall: RankCorrelation.kendallTauB(ours, theirs))
        }
        meanSpearman = self.metrics.reduce(0) { $0 + ($1.spearman ?? 0) } / Double(self.metrics.count)
    }

    /// `{"metrics": {NAME: {"spearman": r, "kendall": t, "n": k}}, "mean_spearman": m}`, metrics in order,
    /// `null` where a series is constant.
    public var json: JSONValue {
        func number(_ d: Double?) -> JSONValue { d.map { .number($0) } ?? .null }
        return .object([
            ("metrics", .object(metrics.map { ($0.name, .object([("spearman", number($0.spearman)), ("kendall", number($0.kendall)), ("n", .number(Double($0.n)))])) })),
            ("mean_spearman", .number(meanSpearman)),
        ])
    }

    /// metric / n / spearman / kendall; `—` where there is no correlation.
    public var report: ReportTable {
        func cell(_ d: Double?) -> ReportTable.Cell { d.map { .number($0) } ?? .text("—") }
        return ReportTable(columns: ["metric", "n", "spearman", "kendall"],
                           rows: metrics.map { [.text($0.name), .number(Double($0.n)), cell($0.spearman), cell($0.kendall)] },
                           keyColumns: 1)
    }
}
