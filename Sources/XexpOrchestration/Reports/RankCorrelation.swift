import Foundation

/// Rank correlations between two equally long series: Spearman's rho (ties get averaged ranks) and Kendall's
/// tau-b (corrected for ties), as scipy's `spearmanr` and `kendalltau` compute them. A series with fewer than two
/// points, or a constant one, has no correlation: `nil` (scipy's `nan`).
public enum RankCorrelation {
    /// 1-based ranks; tied values share the mean of the ranks they span (`[5, 1, 5]` → `[2.5, 1, 2.5]`).
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count, values[order[end]] == values[order[start]] { end += 1 }
            // Positions start..<end (0-based) hold one value: each gets the mean of ranks start+1 … end.
            let rank = Double(start + 1 + end) / 2
            for k in start..<end { ranks[order[k]] = rank }
            start = end
        }
        return ranks
    }

    /// Spearman's rho: Pearson's correlation of the two series' average ranks.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "rank correlation of series of different lengths")
        guard x.count >= 2 else { return nil }
        let rx = averageRanks(x), ry = averageRanks(y)
        // Both rank series have the same mean, (n + 1) / 2.
        let mean = Double(x.count + 1) / 2
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(rx, ry) {
            sxy += (a - mean) * (b - mean)
            sxx += (a - mean) * (a - mean)
            syy += (b - mean) * (b - mean)
        }
        guard sxx > 0, syy > 0 else { return nil }
        return clamp(sxy / (sxx * syy).squareRoot())
    }

    /// Kendall's tau-b: (concordant − discordant) / √((pairs − ties in x)(pairs − ties in y)).
    public static func kendallTauB(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "rank correlation of series of different lengths")
        // Over all pairs: the sign products sum to concordant − discordant; a pair tied in x (or y) adds nothing to
        // the x (or y) count, which leaves pairs − ties. O(n²), and reference tables have a dozen rows.
        var score = 0, untiedX = 0, untiedY = 0
        for i in x.indices {
            for j in x.indices where j > i {
                let sx = sign(x[i] - x[j]), sy = sign(y[i] - y[j])
                score += sx * sy
                untiedX += sx * sx
                untiedY += sy * sy
            }
        }
        guard untiedX > 0, untiedY > 0 else { return nil }
        return clamp(Double(score) / (Double(untiedX) * Double(untiedY)).squareRoot())
    }

    private static func sign(_ d: Double) -> Int { d > 0 ? 1 : d < 0 ? -1 : 0 }

    /// Rounding can put a perfect correlation a hair outside [−1, 1].
    private static func clamp(_ r: Double) -> Double { min(1, max(-1, r)) }
}
