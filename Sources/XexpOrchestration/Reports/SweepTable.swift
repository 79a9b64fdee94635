import Foundation

/// Turns an invocation's trials into `xexp table`'s rows: one per distinct setting of the varying parameters,
/// seeds aggregated into a mean (and a sample standard deviation when there are several seeds).
public struct SweepTable: Sendable {
    public struct Row: Sendable {
        public var parameters: Parameters
        public var trials: [TrialResult]
        public var mean: [String: Double]
        public var std: [String: Double]
        /// Seeds with a value, per metric (a failed seed has none).
        public var count: [String: Int] = [:]
        /// Seeds with results: the most any metric has (`n`).
        public var n: Int { count.values.max() ?? 0 }
        /// False when a trial of the row has a job that is not done (failed, blocked, missing, still running).
        public var complete: Bool { trials.allSatisfy { $0.statuses.values.allSatisfy { $0 == .done } } }
    }

    /// Parameters (other than `seed`) whose value differs between trials, in spec order.
    public var varying: [String]
    public var metricNames: [String]
    public var rows: [Row]
    public var hasSeveralSeeds: Bool

    public init(_ results: InvocationResults, metrics: [String]? = nil) {
        varying = SweepTable.varyingParameters(results.trials.map(\.parameters))
        metricNames = metrics ?? results.metricNames
        var groups: [[ParameterValue?]: Int] = [:]
        var rows: [Row] = []
        for trial in results.trials {
            let key = varying.map { trial.parameters[$0] }
            if let i = groups[key] { rows[i].trials.append(trial); continue }
            groups[key] = rows.count
            var p = Parameters()
            for name in varying { p[name] = trial.parameters[name] }
            rows.append(Row(parameters: p, trials: [trial], mean: [:], std: [:]))
        }
        for i in rows.indices {
            for name in metricNames {
                let values = rows[i].trials.compactMap { $0.metrics[name] }
                guard !values.isEmpty else { continue }
                rows[i].count[name] = values.count
                let mean = values.reduce(0, +) / Double(values.count)
                rows[i].mean[name] = mean
                if values.count > 1 {
                    let ss = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
                    rows[i].std[name] = (ss / Double(values.count - 1)).squareRoot()
                }
            }
        }
        self.rows = rows
        hasSeveralSeeds = rows.contains { $0.trials.count > 1 }
    }

    public static func varyingParameters(_ all: [Parameters]) -> [String] {
        var names: [String] = []
        for p in all { for n in p.names where n != "seed" && !names.contains(n) { names.append(n) } }
        return names.filter { n in Set(all.map { $0[n] }).count > 1 }
    }

    /// Metrics that fewer seeds report than their row's `n` in some row: they get a `METRIC_n` column.
    public var unevenMetrics: Set<String> {
        Set(metricNames.filter { name in rows.contains { row in row.count[name].map { $0 != row.n } ?? false } })
    }

    /// The report: parameters, then `STAGE.METRIC` (mean), `STAGE.METRIC_std` when several seeds, `STAGE.METRIC_n`
    /// where a metric has fewer values than its row's other metrics, then `n` (seeds with results, not seeds planned:
    /// a failed seed drops out of the mean and of `n`) and `status` (`incomplete` when a trial has a job that is not
    /// done, else `complete`).
    public var report: ReportTable {
        let uneven = unevenMetrics
        var columns = varying
        for name in metricNames {
            columns.append(name)
            if hasSeveralSeeds { columns.append(name + "_std") }
            if uneven.contains(name) { columns.append(name + "_n") }
        }
        columns += ["n", "status"]
        let cells: [[ReportTable.Cell]] = rows.map { row in
            var line = varying.map { ReportTable.Cell(row.parameters[$0]) }
            for name in metricNames {
                line.append(row.mean[name].map { .number($0) } ?? .empty)
                if hasSeveralSeeds { line.append(row.std[name].map { .number($0) } ?? .empty) }
                if uneven.contains(name) { line.append(.number(Double(row.count[name] ?? 0))) }
            }
            line.append(.number(Double(row.n)))
            line.append(.text(row.complete ? "complete" : "incomplete"))
            return line
        }
        return ReportTable(columns: columns, rows: cells, keyColumns: varying.count)
    }

    /// `xexp export --long`: one row per trial × seed × metric, unaggregated.
    public static func longReport(_ results: InvocationResults) -> ReportTable {
        let varying = varyingParameters(results.trials.map(\.parameters))
        var rows: [[ReportTable.Cell]] = []
        for trial in results.trials {
            for name in results.metricNames {
                guard let value = trial.metrics[name] else { continue }
                rows.append(varying.map { ReportTable.Cell(trial.parameters[$0]) } + [.number(Double(trial.seed)), .text(name), .number(value)])
            }
        }
        return ReportTable(columns: varying + ["seed", "metric", "value"], rows: rows, keyColumns: varying.count + 2)
    }
}

/// The lines `table` prints under a built-in pipeline sweep's headline table, and the HTML report under its table.
extension SweepTable {
    /// Each headline benchmark's blind baseline (`BENCH.blind.METRIC`: the same finetuned model answering about
    /// another question's image), over the trials: a score counts as using the image only above this line.
    public static func blindLine(_ results: InvocationResults, headline: [String]) -> String? {
        let parts: [String] = headline.compactMap { name in
            guard let dot = name.firstIndex(of: ".") else { return nil }
            let benchmark = name[..<dot], metric = name[name.index(after: dot)...]
            let values = results.trials.compactMap { $0.metrics["\(benchmark).blind.\(metric)"] }
            guard let low = values.min(), let high = values.max() else { return nil }
            func show(_ v: Double) -> String { String(format: high < 1 ? "%.2f" : "%.1f", v) }
            return "\(benchmark) \(low == high ? show(low) : show(low) + "–" + show(high))"
        }
        return parts.isEmpty ? nil : "blind (same model, wrong image): " + parts.joined(separator: ", ")
    }

    /// Under the headline table, each benchmark's chance level (its `chance` metric: uniform guessing), so that
    /// "above chance" can be read off the table; a range where trials differ (another `data_seed` or `preset`).
    /// Columns without a `chance` metric (latency) are skipped.
    public static func chanceLine(_ results: InvocationResults, headline: [String]) -> String? {
        let parts: [String] = headline.map { String($0.prefix { $0 != "." }) }.compactMap { benchmark in
            let values = results.trials.compactMap { $0.metrics["\(benchmark).chance"] }
            guard let low = values.min(), let high = values.max() else { return nil }
            func show(_ v: Double) -> String { String(format: high < 1 ? "%.2f" : "%.1f", v) }
            return "\(benchmark) \(low == high ? show(low) : show(low) + "–" + show(high))"
        }
        return parts.isEmpty ? nil : "chance (uniform guessing): " + parts.joined(separator: ", ")
    }
}
