import Foundation

/// `xexp diff A B`: for each row the two sweeps share and each metric, A, B and B − A.
///
/// Rows are matched on the parameters both sweeps have, leaving out those that are constant in both: a base
/// parameter changed between A and B is what is being compared, not a reason to match nothing.
public struct SweepDiff: Sendable {
    public var keys: [String]
    public var report: ReportTable
    /// Parameters whose values differ between the two sides (`name: a-values → b-values`; `-` where a side lacks it).
    public var parameterChanges: [(name: String, a: String, b: String)] = []
    /// Top-level spec keys whose values differ (`description`, `seeds`, `stages`, …; `base`/`grid` show as parameters).
    public var specKeyChanges: [String] = []

    /// Why two sweeps cannot be matched row by row: neither shares a varying parameter with the other, so every row
    /// would be averaged into one. Nil when they can (or when neither side varies anything).
    public var refusal: String?

    public init(a: InvocationResults, b: InvocationResults, onlyChanged: Bool, aggregateUnmatched: Bool = false) {
        let tableA = SweepTable(a), tableB = SweepTable(b)
        let namesA = Set(a.trials.flatMap(\.parameters.names)), namesB = Set(b.trials.flatMap(\.parameters.names))
        let variesA = Set(tableA.varying), variesB = Set(tableB.varying)
        var keys: [String] = []
        for n in tableA.varying + tableB.varying where !keys.contains(n) && namesA.contains(n) && namesB.contains(n) && (variesA.contains(n) || variesB.contains(n)) {
            keys.append(n)
        }
        self.keys = keys
        parameterChanges = SweepDiff.parameterChanges(a, b)
        specKeyChanges = SweepDiff.specKeyChanges(a.specText, b.specText)
        if keys.isEmpty && !(variesA.isEmpty && variesB.isEmpty) && !aggregateUnmatched {
            let describe = { (v: Set<String>) in v.isEmpty ? "nothing" : v.sorted().joined(separator: ", ") }
            refusal = "\(a.sweep)@\(a.seq) varies \(describe(variesA)) and \(b.sweep)@\(b.seq) varies \(describe(variesB)): no shared varying parameter to match rows on, so each side would be averaged into one row; pass --aggregate to compare those averages"
        }
        var metrics = tableA.metricNames
        for m in tableB.metricNames where !metrics.contains(m) { metrics.append(m) }

        // Re-aggregate both sides on the shared keys, so a parameter only one side varies is averaged out.
        func aggregate(_ results: InvocationResults) -> [[ParameterValue?]: (Parameters, [String: Double])] {
            var sums: [[ParameterValue?]: (Parameters, [String: [Double]])] = [:]
            for trial in results.trials {
                let key = keys.map { trial.parameters[$0] }
                var p = Parameters()
                for k in keys { p[k] = trial.parameters[k] }
                var entry = sums[key] ?? (p, [:])
                for (name, value) in trial.metrics { entry.1[name, default: []].append(value) }
                sums[key] = entry
            }
            return sums.mapValues { ($0.0, $0.1.mapValues { $0.reduce(0, +) / Double($0.count) }) }
        }
        let left = aggregate(a), right = aggregate(b)
        var order: [[ParameterValue?]] = []
        for t in a.trials + b.trials {
            let key = keys.map { t.parameters[$0] }
            if !order.contains(key) { order.append(key) }
        }
        var rows: [[ReportTable.Cell]] = []
        for key in order {
            let params = left[key]?.0 ?? right[key]!.0
            for metric in metrics {
                let va = left[key]?.1[metric], vb = right[key]?.1[metric]
                if va == nil && vb == nil { continue }
                if onlyChanged && va == vb { continue }
                let delta: ReportTable.Cell = (va != nil && vb != nil) ? .number(vb! - va!) : .empty
                rows.append(keys.map { ReportTable.Cell(params[$0]) } + [.text(metric), va.map { .number($0) } ?? .empty, vb.map { .number($0) } ?? .empty, delta])
            }
        }
        report = ReportTable(columns: keys + ["metric", "a", "b", "delta"], rows: rows, keyColumns: keys.count + 1)
    }

    /// Each parameter's distinct values per side, where they differ.
    static func parameterChanges(_ a: InvocationResults, _ b: InvocationResults) -> [(name: String, a: String, b: String)] {
        func values(_ r: InvocationResults) -> [String: [String]] {
            var out: [String: [String]] = [:]
            for t in r.trials {
                for name in t.parameters.names where name != "seed" {
                    let v = t.parameters[name].map { "\($0)" } ?? "-"
                    if !(out[name]?.contains(v) ?? false) { out[name, default: []].append(v) }
                }
            }
            return out
        }
        let va = values(a), vb = values(b)
        var names: [String] = []
        for t in a.trials + b.trials { for n in t.parameters.names where n != "seed" && !names.contains(n) { names.append(n) } }
        return names.compactMap { n in
            let x = va[n] ?? [], y = vb[n] ?? []
            guard Set(x) != Set(y) else { return nil }
            return (n, x.isEmpty ? "-" : x.joined(separator: ","), y.isEmpty ? "-" : y.joined(separator: ","))
        }
    }

    /// Top-level keys of the two specs whose JSON differs, other than those parameters already show.
    static func specKeyChanges(_ a: String, _ b: String) -> [String] {
        guard case .object(let x)? = try? JSONParser.parse(a), case .object(let y)? = try? JSONParser.parse(b) else { return [] }
        var keys: [String] = []
        for k in (x + y).map(\.key) where !keys.contains(k) && !["base", "grid", "zip", "include", "exclude"].contains(k) { keys.append(k) }
        return keys.filter { k in x.first { $0.key == k }?.value.jsonText != y.first { $0.key == k }?.value.jsonText }
    }

    /// The diff in `format`: text and Markdown open with what differs; JSON is `{"differences": …, "rows": […]}`;
    /// CSV is the rows alone (parameters, then metric, a, b, delta).
    public func render(_ format: ReportFormat) -> String {
        switch format {
        case .csv: return report.render(.csv)
        case .json:
            let params = JSONValue.object(parameterChanges.map { ($0.name, .object([("a", .string($0.a)), ("b", .string($0.b))])) })
            let differences = JSONValue.object([("parameters", params), ("spec_keys", .array(specKeyChanges.map { .string($0) }))])
            let rows = (try? JSONParser.parse(report.render(.json))) ?? .array([])
            return JSONValue.object([("differences", differences), ("matched_on", .array(keys.map { .string($0) })), ("rows", rows)]).jsonText + "\n"
        case .text, .md:
            var head = ""
            if parameterChanges.isEmpty && specKeyChanges.isEmpty { head += "same parameters and spec\n" }
            for c in parameterChanges { head += "parameter \(c.name): \(c.a) → \(c.b)\n" }
            if !specKeyChanges.isEmpty { head += "spec keys that differ: \(specKeyChanges.joined(separator: ", "))\n" }
            head += "rows matched on: \(keys.isEmpty ? "nothing (each side averaged)" : keys.joined(separator: ", "))\n\n"
            if format == .md { head = head.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "- " + $0 }.joined(separator: "\n") }
            return head + report.render(format)
        }
    }
}
