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

extension ExperimentSpec {
    /// How many trials the spec describes, counted without expanding them: the grid's sizes × the zip length (when
    /// there is a grid or zip, or nothing else), plus the included trials, times the seeds — before `exclude` or
    /// duplicates drop any. Saturates at `Int.max`.
    public var trialCountBound: Int {
        func times(_ a: Int, _ b: Int) -> Int {
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? .max : product
        }
        var points = 0
        if !grid.isEmpty || !zip.isEmpty || include.isEmpty {
            points = grid.reduce(1) { times($0, $1.values.count) }
            if let length = zip.first?.values.count { points = times(points, length) }
        }
        let (sum, overflow) = points.addingReportingOverflow(include.count)
        return times(overflow ? .max : sum, seeds.count)
    }

    /// Refuses a spec of more than `limit` trials before anything is expanded: ten values on each of seven axes
    /// would otherwise allocate gigabytes and abort, and a million trials take minutes even in a dry run.
    public func checkTrialCount(limit: Int, file: String) throws(SpecError) {
        let count = trialCountBound
        guard count > limit else { return }
        var shape = [grid.isEmpty ? nil : "grid " + grid.map { String($0.values.count) }.joined(separator: " × "),
                     zip.first.map { "zip \($0.values.count)" }].compactMap { $0 }.joined(separator: " × ")
        if !include.isEmpty { shape += (shape.isEmpty ? "" : " + ") + "\(include.count) included" }
        if shape.isEmpty { shape = "base" }
        shape += ", × \(seeds.count) seed" + (seeds.count == 1 ? "" : "s") + (exclude.isEmpty ? "" : ", before \"exclude\"")
        let location = !grid.isEmpty ? "/grid" : !zip.isEmpty ? "/zip" : !include.isEmpty ? "/include" : "/seeds"
        throw SpecError(file: file, location: location,
                        message: "this spec describes \(count == .max ? "more than \(Int.max)" : String(count)) trials (\(shape)), more than the limit of \(limit); sweep fewer values or split the spec, or raise the limit with `xexp sweep --max-trials N`")
    }
}

extension Parameters {
    /// True when every key of `pattern` is present here with an equal value.
    public func matches(_ pattern: Parameters) -> Bool {
        pattern.names.allSatisfy { values[$0] == pattern.values[$0] }
    }
}
