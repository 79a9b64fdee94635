/// One point of the sweep: a full set of parameter values, `seed` included.
public struct Trial: Hashable, Sendable {
    public var parameters: Parameters
    public var seed: Int { if case .number(let d, _)? = parameters["seed"] { return Int(d) } else { return 0 } }
}

extension ExperimentSpec {
    /// The trials this spec describes, in a stable order: grid (first axis outermost) × zip, then the included
    /// trials, each merged over `base`; excluded ones dropped; duplicates dropped; every survivor once per seed.
    ///
    /// When the spec has neither `grid` nor `zip`, `base` alone is one trial — unless `include` lists trials, in
    /// which case those are the trials (as in a CI matrix made only of includes).
    public func expandTrials() -> [Trial] {
        var points: [Parameters] = []
        if !grid.isEmpty || !zip.isEmpty || include.isEmpty {
            var product: [Parameters] = [base]
            for axis in grid {
                product = product.flatMap { partial in
                    axis.values.map { value in var p = partial; p[axis.name] = value; return p }
                }
            }
            if let length = zip.first?.values.count {
                product = product.flatMap { partial in
                    (0..<length).map { i in
                        var p = partial
                        for axis in zip { p[axis.name] = axis.values[i] }
                        return p
                    }
                }
            }
            points = product
        }
        points += include.map { base.merging($0) }

        var seen = Set<Parameters>()
        var trials: [Trial] = []
        for point in points {
            if exclude.contains(where: { point.matches($0) }) { continue }
            guard seen.insert(point).inserted else { continue }
            for seed in seeds {
                var p = point
                p["seed"] = .number(Double(seed))
                if exclude.contains(where: { p.matches($0) }) { continue }
                trials.append(Trial(parameters: p))
            }
        }
        return trials
    }
}

extension Parameters {
    /// True when every key of `pattern` is present here with an equal value.
    public func matches(_ pattern: Parameters) -> Bool {
        pattern.names.allSatisfy { values[$0] == pattern.values[$0] }
    }
}
