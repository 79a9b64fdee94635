import Foundation

/// `xexp plot`: a CSV shaped for an external plotting tool — the x column, then one column per y metric (per value
/// of `--by`), with `_std` columns when there are several seeds — and optionally a gnuplot script for it.
public struct PlotData: Sendable {
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    public var report: ReportTable
    /// Data columns (after x), and for each its std column index if any.
    public var series: [(title: String, column: Int, stdColumn: Int?)]
    public var x: String

    /// - Parameters:
    ///   - filters: `PARAM=VALUE` constraints applied before plotting (values compared as they print).
    public init(_ results: InvocationResults, x: String, y: [String], by: String?, filters: [(String, String)] = []) throws(Failure) {
        let trials = results.trials.filter { t in filters.allSatisfy { t.parameters[$0.0]?.description == $0.1 } }
        guard !trials.isEmpty else { throw Failure(description: "no trial matches the --where filters") }
        let all = Set(results.trials.flatMap(\.parameters.names))
        for name in [x] + (by.map { [$0] } ?? []) + filters.map(\.0) where !all.contains(name) {
            var message = "\"\(name)\" is not a parameter of sweep \(results.sweep)"
            if let guess = suggestion(for: name, among: all.sorted()) { message += "; did you mean '\(guess)'?" }
            else { message += "; parameters: \(all.sorted().joined(separator: ", "))" }
            throw Failure(description: message)
        }
        for metric in y where !results.metricNames.contains(metric) {
            var message = "\"\(metric)\" is not a metric of sweep \(results.sweep)"
            if let guess = suggestion(for: metric, among: results.metricNames) { message += "; did you mean '\(guess)'?" }
            else { message += "; metrics: \(results.metricNames.joined(separator: ", "))" }
            throw Failure(description: message)
        }
        let varying = SweepTable.varyingParameters(trials.map(\.parameters))
        let others = varying.filter { $0 != x && $0 != by }
        if !others.isEmpty {
            throw Failure(description: "parameter(s) \(others.joined(separator: ", ")) also vary, so a point would mix settings; pass --by \(others[0]) or --where \(others[0])=VALUE")
        }
        self.x = x
        let byValues: [ParameterValue?] = by.map { b in
            var seen: [ParameterValue?] = []
            for t in trials where !seen.contains(t.parameters[b]) { seen.append(t.parameters[b]) }
            return seen
        } ?? [nil]

        // Group trials by (x, by) and aggregate seeds.
        var xs: [ParameterValue] = []
        for t in trials { if let v = t.parameters[x], !xs.contains(v) { xs.append(v) } }
        if xs.allSatisfy({ $0.numericValue != nil }) { xs.sort { $0.numericValue! < $1.numericValue! } }
        let severalSeeds = Dictionary(grouping: trials) { (t: TrialResult) -> [ParameterValue?] in
            [t.parameters[x], by.flatMap { t.parameters[$0] }]
        }.values.contains { $0.count > 1 }

        var columns = [x]
        var series: [(String, Int, Int?)] = []
        for metric in y {
            for b in byValues {
                let title = b.map { "\(metric)[\(by!)=\($0)]" } ?? metric
                columns.append(title)
                let column = columns.count - 1
                var std: Int?
                if severalSeeds { columns.append(title + "_std"); std = columns.count - 1 }
                series.append((title, column, std))
            }
        }
        var rows: [[ReportTable.Cell]] = []
        for xv in xs {
            var row: [ReportTable.Cell] = [ReportTable.Cell(xv)]
            for metric in y {
                for b in byValues {
                    let values = trials.filter { $0.parameters[x] == xv && (by == nil || $0.parameters[by!] == b) }.compactMap { $0.metrics[metric] }
                    let mean = values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
                    row.append(mean.map { .number($0) } ?? .empty)
                    if severalSeeds {
                        if let mean, values.count > 1 {
                            row.append(.number((values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()))
                        } else { row.append(.empty) }
                    }
                }
            }
            rows.append(row)
        }
        report = ReportTable(columns: columns, rows: rows, keyColumns: 1)
        self.series = series
    }

    /// A gnuplot script that draws `csvFile` into `<csv stem>.png` (error bars when std columns exist).
    /// The sweep run plotted (`tokens@2`), for the plot's title.
    public var title = ""

    /// A gnuplot script drawing `csvFile` into `imageFile`. Both are named by their file names only, as the script
    /// is written next to the CSV: run it in that directory (`cd DIR && gnuplot FILE.gp`), wherever xexp ran.
    /// Numeric x gets a tick at each value (a log axis when the values span 50× or more, e.g. lr 0.001–0.3 or
    /// tokens 1–576, whose automatic ticks would be missing or overlap); series with no value are left out.
    public func gnuplotScript(csvFile: String, imageFile: String) -> String {
        func quote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        let csvName = URL(fileURLWithPath: csvFile).lastPathComponent, imageName = URL(fileURLWithPath: imageFile).lastPathComponent
        let numericX = report.rows.allSatisfy { if case .number = $0[0] { return true } else { return false } }
        let drawn = series.filter { s in report.rows.contains { if case .number = $0[s.column] { return true } else { return false } } }
        let metrics = drawn.map { String($0.title.prefix { $0 != "[" }) }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var lines = [
            "# Generated by xexp plot. Run it in this directory (it reads \(csvName) and writes \(imageName) here):",
            "#   gnuplot \(csvName).gp",
            "set datafile separator ','",
            "set terminal pngcairo size 900,600",
            "set output \(quote(imageName))",
            "set title \(quote(title.isEmpty ? metrics.joined(separator: ", ") : "\(title): \(metrics.joined(separator: ", "))"))",
            "set xlabel \(quote(x))",
            "set ylabel \(quote(metrics.count == 1 ? metrics[0] : "value"))",
            "set key outside right",
            "set grid",
        ]
        let values = report.rows.compactMap { if case .number(let d) = $0[0] { return d } else { return nil } }
        if numericX, let lo = values.min(), let hi = values.max() {
            if lo > 0, hi / lo >= 50 { lines.append("set logscale x") }
            if values.count <= 24 {
                lines.append("set xtics (" + values.map { "\(quote(JSONValue.formatNumber($0))) \(JSONValue.formatNumber($0))" }.joined(separator: ", ") + ")")
                if values.count > 8 { lines.append("set xtics rotate by -45") }
            }
        }
        let xColumn = numericX ? "1" : "0:xtic(1)"
        let plots = drawn.map { s -> String in
            if let std = s.stdColumn {
                return "\(quote(csvName)) using \(xColumn == "1" ? "1" : "0"):\(s.column + 1):\(std + 1)\(numericX ? "" : ":xtic(1)") with yerrorlines title \(quote(s.title))"
            }
            return "\(quote(csvName)) using \(xColumn):\(s.column + 1) with linespoints title \(quote(s.title))"
        }
        if plots.isEmpty { lines.append("# no series has a value to plot") } else { lines.append("plot " + plots.joined(separator: ", \\\n     ")) }
        return lines.joined(separator: "\n") + "\n"
    }
}
