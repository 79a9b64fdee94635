import Foundation

/// `xexp diff A B`: for each row the two sweeps share and each metric, A, B and B − A.
///
/// Rows are matched on the parameters both sweeps have, leaving out those that are constant in both: a base
/// parameter changed between A and B is what is being compared, not a reason to match nothing.
public struct SweepDiff: Sendable {
    public var keys: [String]
    public var report: ReportTable

    public init(a: InvocationResults, b: InvocationResults, onlyChanged: Bool) {
        let tableA = SweepTable(a), tableB = SweepTable(b)
        let namesA = Set(a.trials.flatMap(\.parameters.names)), namesB = Set(b.trials.flatMap(\.parameters.names))
        let variesA = Set(tableA.varying), variesB = Set(tableB.varying)
        var keys: [String] = []
        for n in tableA.varying + tableB.varying where !keys.contains(n) && namesA.contains(n) && namesB.contains(n) && (variesA.contains(n) || variesB.contains(n)) {
            keys.append(n)
        }
        self.keys = keys
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
}
