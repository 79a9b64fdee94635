import Foundation

/// `xexp report SWEEP`: one self-contained HTML page (no script, no network, inline SVG; it works from a file://
/// URL and in a mail attachment) with the spec and its description, provenance, the results table, one plot per
/// headline metric against the swept parameter, the stage graph and the failures.
///
/// Everything that comes from a spec, a parameter, a metric name or a log goes through ``HTML/escape(_:)``.
public struct HTMLReport: Sendable {
    public var results: InvocationResults
    public var log: InvocationLogEntry?
    /// Metrics to plot and tabulate (the built-in pipeline's headline columns; nil: every final metric).
    public var metrics: [String]?
    public var problems: [JobProblem] = []
    public var jobs: [StoredJob] = []
    public var reference: ReferenceTable?

    public init(results: InvocationResults, log: InvocationLogEntry?, metrics: [String]?) {
        self.results = results
        self.log = log
        self.metrics = metrics
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]

    public func render() -> String {
        let table = SweepTable(results, metrics: metrics)
        let spec = try? JSONParser.parse(results.specText)
        var description = ""
        if case .string(let d)? = spec?["description"] { description = d }
        let name = "\(results.sweep)@\(results.seq)"
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>xexp report: \(HTML.escape(name))</title>
            <style>
            body { font-family: sans-serif; margin: 2em auto; max-width: 1120px; color: #222; line-height: 1.4; }
            h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
            table { border-collapse: collapse; font-size: 0.85em; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; } th { text-align: left; background: #f5f5f5; }
            .plots { display: flex; flex-wrap: wrap; gap: 12px; } pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 0.8em; }
            .failed { color: #b00; } .muted { color: #777; }
            </style></head><body>
            <h1>xexp report: \(HTML.escape(name))</h1>

            """
        html += "<p class=\"description\">\(description.isEmpty ? "<span class=\"muted\">(the spec has no description)</span>" : HTML.escape(description))</p>\n"
        html += provenance()
        html += "<h2>Results</h2>\n" + tableHTML(table.report) + baselines(table)
        html += "<h2>Plots</h2>\n" + plots(table)
        html += "<h2>Job graph</h2>\n" + graph()
        html += "<h2>Failures</h2>\n" + failures()
        html += "<h2>Spec</h2>\n<pre>\(HTML.escape(spec?.prettyText ?? results.specText))</pre>\n"
        html += "<p class=\"muted\">Written by xexp \(HTML.escape(toolkitVersion)).</p>\n</body></html>\n"
        return html
    }

    func provenance() -> String {
        guard let log else { return "" }
        func time(_ t: Double) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t)) }
        var rows: [(String, String)] = [("started", time(log.startedAt))]
        if let end = log.endedAt { rows.append(("duration", String(format: "%.0f s", end - log.startedAt))) }
        rows += [("outcome", log.outcome ?? "running or died"),
                 ("jobs", JobStatus.allCases.compactMap { s in log.counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ") + (log.cached > 0 ? " (\(log.cached) cached)" : "")),
                 ("spec hash", log.specHash), ("git commit", log.gitCommit ?? "-"), ("host", log.host), ("xexp", log.toolkitVersion),
                 ("options", log.options ?? "-")]
        return "<h2>Provenance</h2>\n<table class=\"provenance\">" + rows.map { "<tr><th>\(HTML.escape($0.0))</th><td>\(HTML.escape($0.1))</td></tr>" }.joined() + "</table>\n"
    }

    func tableHTML(_ t: ReportTable) -> String {
        var out = "<table class=\"results\"><tr>" + t.columns.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr>\n"
        for row in t.rows {
            out += "<tr>" + row.enumerated().map { i, c in
                i >= t.keyColumns && { if case .number = c { return true } else { return false } }() ? "<td class=\"num\">\(HTML.escape(c.rounded))</td>" : "<td>\(HTML.escape(c.rounded))</td>"
            }.joined() + "</tr>\n"
        }
        return out + "</table>\n"
    }

    /// The chance and blind lines under the table, as `table` prints them.
    func baselines(_ table: SweepTable) -> String {
        [SweepTable.chanceLine(results, headline: table.metricNames), SweepTable.blindLine(results, headline: table.metricNames)]
            .compactMap { $0 }.map { "<p class=\"baseline\">\(HTML.escape($0))</p>\n" }.joined()
    }

    func plots(_ table: SweepTable) -> String {
        guard let x = table.varying.first else { return "<p class=\"muted\">No parameter varies: nothing to plot against.</p>\n" }
        let numeric = results.trials.allSatisfy { $0.parameters[x]?.numericValue != nil }
        var categories: [String] = []
        for t in results.trials { if let v = t.parameters[x]?.description, !categories.contains(v) { categories.append(v) } }
        func xValue(_ p: Parameters) -> Double? {
            numeric ? p[x]?.numericValue : p[x].flatMap { v in categories.firstIndex(of: v.description).map(Double.init) }
        }
        // Further varying parameters split the rows into series.
        let others = Array(table.varying.dropFirst())
        func seriesKey(_ p: Parameters) -> String { others.map { "\($0)=\(p[$0]?.description ?? "-")" }.joined(separator: " ") }
        var out = "<div class=\"plots\">\n"
        for metric in table.metricNames {
            var bySeries: [String: [SVGPlot.Point]] = [:], order: [String] = []
            var blind: [SVGPlot.Point] = []
            for row in table.rows {
                guard let xv = xValue(row.parameters), let y = row.mean[metric] else { continue }
                let key = seriesKey(row.parameters)
                if bySeries[key] == nil { order.append(key) }
                bySeries[key, default: []].append(SVGPlot.Point(x: xv, y: y, error: row.std[metric]))
                // The blind score is not a table column (the table shows headline metrics): averaged from the trials.
                if let dot = metric.firstIndex(of: ".") {
                    let values = row.trials.compactMap { $0.metrics["\(metric[..<dot]).blind.\(metric[metric.index(after: dot)...])"] }
                    if !values.isEmpty { blind.append(SVGPlot.Point(x: xv, y: values.reduce(0, +) / Double(values.count), error: nil)) }
                }
            }
            if order.isEmpty { continue }
            var series = order.enumerated().map { i, key in
                SVGPlot.Series(name: key.isEmpty ? metric : key, points: bySeries[key]!, color: Self.palette[i % Self.palette.count])
            }
            if !blind.isEmpty && others.isEmpty { series.append(SVGPlot.Series(name: "blind model", points: blind, dashed: true, color: "#888")) }
            var plot = SVGPlot(title: metric, xLabel: x, yLabel: metric, series: series)
            if !numeric { plot.categories = categories }
            if let dot = metric.firstIndex(of: ".") {
                let chance = results.trials.compactMap { $0.metrics["\(metric[..<dot]).chance"] }
                if let c = chance.first, chance.allSatisfy({ $0 == c }), metric.hasSuffix("accuracy") || metric.hasSuffix("f1") || metric.hasSuffix("total") {
                    plot.levels.append(("chance", c, "#c90"))
                }
            }
            if let reference, let column = reference.metrics.firstIndex(of: metric), reference.x == x {
                let points: [SVGPlot.Point] = reference.rows.compactMap { row in
                    guard let v = row.values[column] else { return nil }
                    let xv = numeric ? Double(row.key) : categories.firstIndex(of: row.key).map(Double.init)
                    return xv.map { SVGPlot.Point(x: $0, y: v, error: nil) }
                }
                if !points.isEmpty {
                    plot.rightSeries = SVGPlot.Series(name: "reference", points: points, color: "#7a5")
                    plot.rightLabel = "reference (\(URL(fileURLWithPath: reference.file).lastPathComponent))"
                }
            }
            out += plot.render() + "\n"
        }
        return out + "</div>\n"
    }

    /// The stage graph: each stage with its jobs' states, and which stages feed which (jobs are too many to draw).
    func graph() -> String {
        guard !jobs.isEmpty else { return "<p class=\"muted\">No jobs.</p>\n" }
        var stages: [String] = [], counts: [String: [JobStatus: Int]] = [:], edges: [String: Set<String>] = [:]
        let stageOf = Dictionary(jobs.map { ($0.id, $0.stage) }, uniquingKeysWith: { a, _ in a })
        for j in jobs {
            if !stages.contains(j.stage) { stages.append(j.stage) }
            counts[j.stage, default: [:]][j.status, default: 0] += 1
            for u in j.upstream { if let s = stageOf[u] { edges[j.stage, default: []].insert(s) } }
        }
        var depth: [String: Int] = [:]
        func level(_ s: String, _ seen: Set<String> = []) -> Int {
            if let d = depth[s] { return d }
            let d = (edges[s] ?? []).filter { !seen.contains($0) }.map { level($0, seen.union([s])) + 1 }.max() ?? 0
            depth[s] = d
            return d
        }
        for s in stages { _ = level(s) }
        let columns = (depth.values.max() ?? 0) + 1
        var rowsInColumn = [Int](repeating: 0, count: columns)
        var position: [String: (Double, Double)] = [:]
        for s in stages {
            let c = depth[s] ?? 0
            position[s] = (20 + Double(c) * 190, 20 + Double(rowsInColumn[c]) * 70)
            rowsInColumn[c] += 1
        }
        let width = 20 + Double(columns) * 190, height = 20 + Double(rowsInColumn.max() ?? 1) * 70
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" width=\"\(Int(width))\" height=\"\(Int(height))\">"
        for (s, ups) in edges { for u in ups.sorted() {
            guard let a = position[u], let b = position[s] else { continue }
            svg += "<line x1=\"\(a.0 + 160)\" y1=\"\(a.1 + 24)\" x2=\"\(b.0)\" y2=\"\(b.1 + 24)\" stroke=\"#999\"/>"
        } }
        for s in stages {
            let (x, y) = position[s]!, c = counts[s] ?? [:]
            let failed = (c[.failed] ?? 0) + (c[.timeout] ?? 0) + (c[.blocked] ?? 0)
            let fill = failed > 0 ? "#f4c7c3" : ((c[.done] ?? 0) == c.values.reduce(0, +) ? "#cdeccd" : "#eee")
            let summary = JobStatus.allCases.compactMap { st in c[st].map { "\($0) \(st.rawValue)" } }.joined(separator: ", ")
            svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"160\" height=\"48\" rx=\"6\" fill=\"\(fill)\" stroke=\"#777\"/>"
            svg += "<text x=\"\(x + 80)\" y=\"\(y + 20)\" text-anchor=\"middle\" font-size=\"13\" font-family=\"sans-serif\">\(HTML.escape(s))</text>"
            svg += "<text x=\"\(x + 80)\" y=\"\(y + 37)\" text-anchor=\"middle\" font-size=\"10\" font-family=\"sans-serif\" fill=\"#444\">\(HTML.escape(summary))</text>"
        }
        return svg + "</svg>\n<p class=\"muted\">Per job: <code>xexp graph \(HTML.escape(results.sweep)) | dot -Tsvg</code>.</p>\n"
    }

    func failures() -> String {
        let shown = problems.filter { $0.status != .pending }
        guard !shown.isEmpty else { return "<p>None.</p>\n" }
        return "<table class=\"failures\"><tr><th>status</th><th>stage</th><th>job</th><th>error</th></tr>" + shown.map { p in
            "<tr class=\"failed\"><td>\(HTML.escape(p.status.rawValue))</td><td>\(HTML.escape(p.stage))</td><td>\(HTML.escape(p.id))</td><td><pre>\(HTML.escape(p.error ?? ""))</pre></td></tr>"
        }.joined() + "</table>\n"
    }
}
