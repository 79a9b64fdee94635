import Foundation

/// `table --where`, `--sort` and `--columns`: which trials, in which order, which columns. Filters apply to trials
/// before seeds are aggregated; sorting and column choice to the rendered table. Every mistake names the valid choices.
public struct TableSelection: Sendable {
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// `PARAM=VALUE` pairs; a trial is kept when every pair matches (values compared as the table prints them).
    public var filters: [(parameter: String, value: String)] = []
    /// A column name, ascending; `COLUMN:desc` for descending.
    public var sort: String?
    /// Columns to keep, in this order.
    public var columns: [String]?

    public init(filters: [String] = [], sort: String? = nil, columns: String? = nil) throws {
        for f in filters {
            guard let eq = f.firstIndex(of: "="), eq != f.startIndex else {
                throw Failure(description: "--where expects PARAM=VALUE, got \"\(f)\"")
            }
            self.filters.append((String(f[..<eq]), String(f[f.index(after: eq)...])))
        }
        self.sort = sort
        self.columns = columns.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let c = self.columns, c.isEmpty { throw Failure(description: "--columns is empty; name columns separated by commas") }
    }

    /// The trials that pass the filters.
    public func filter(_ results: InvocationResults) throws -> InvocationResults {
        var out = results
        for (name, value) in filters {
            let known = results.trials.flatMap(\.parameters.names).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            guard known.contains(name) else {
                throw Failure(description: "--where \(name)=\(value): no parameter \"\(name)\"\(hintText(name, known)); parameters: \(known.joined(separator: ", "))")
            }
            let values = results.trials.compactMap { $0.parameters[name]?.description }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            out.trials = out.trials.filter { $0.parameters[name]?.description == value || ($0.parameters[name]?.numericValue.map { Double(value) == $0 } ?? false) }
            if out.trials.isEmpty {
                throw Failure(description: "--where \(name)=\(value): no trial has that value; \(name) takes \(values.joined(separator: ", "))")
            }
        }
        return out
    }

    /// The table sorted and cut to the chosen columns.
    public func apply(to table: ReportTable) throws -> ReportTable {
        var t = table
        if let sort {
            let descending = sort.hasSuffix(":desc")
            let name = descending ? String(sort.dropLast(5)) : (sort.hasSuffix(":asc") ? String(sort.dropLast(4)) : sort)
            guard let i = t.columns.firstIndex(of: name) else {
                throw Failure(description: "--sort \(sort): no column \"\(name)\"\(hintText(name, t.columns)); columns: \(t.columns.joined(separator: ", "))")
            }
            // Stable: ties keep the table's order. Numbers before text before empty cells, whatever the direction.
            func rank(_ c: ReportTable.Cell) -> Int { if case .number(let d) = c, !d.isNaN { return 0 }; if case .text = c { return 1 }; return 2 }
            t.rows = t.rows.enumerated().sorted { x, y in
                let a = x.element[i], b = y.element[i]
                if rank(a) != rank(b) { return rank(a) < rank(b) }
                switch (a, b) {
                case (.number(let p), .number(let q)) where p != q: return descending ? p > q : p < q
                case (.text(let p), .text(let q)) where p != q: return descending ? p > q : p < q
                default: return x.offset < y.offset
                }
            }.map(\.element)
        }
        if let columns {
            let indices = try columns.map { name in
                guard let i = t.columns.firstIndex(of: name) else {
                    throw Failure(description: "--columns: no column \"\(name)\"\(hintText(name, t.columns)); columns: \(t.columns.joined(separator: ", "))")
                }
                return i
            }
            t = ReportTable(columns: indices.map { t.columns[$0] }, rows: t.rows.map { row in indices.map { row[$0] } },
                            keyColumns: indices.prefix { $0 < table.keyColumns }.count)
        }
        return t
    }
}

private func hintText(_ word: String, _ candidates: [String]) -> String {
    suggestion(for: word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
}
