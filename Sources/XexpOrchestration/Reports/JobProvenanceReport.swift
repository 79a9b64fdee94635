import Foundation

extension JobProvenance {
    /// At most this many trials are listed under "used by"; the rest are counted.
    public static let maxUsesShown = 20

    /// A word as a POSIX shell would need it quoted to mean itself.
    static func shellQuoted(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_$")
        if !word.isEmpty && word.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func firstLine(_ text: String?) -> String? {
        guard let line = text?.split(separator: "\n", omittingEmptySubsequences: true).first else { return nil }
        return String(line)
    }

    /// `xexp show JOB`: the job's provenance as indented sections.
    public func render(timeZone: TimeZone = .current) -> String {
        func time(_ t: Double?) -> String { t.map { InvocationLog.timestamp($0, timeZone: timeZone) } ?? "-" }
        var out = "job \(id)\n"
        out += "stage: \(stage)\n"
        out += "status: \(status.rawValue)\n"
        if let origin { out += "origin: \(origin) (served from this job cache)\n" }
        if status != .done, let line = Self.firstLine(error) { out += "error: \(line)\n" }
        out += "command: \(command.map(Self.shellQuoted).joined(separator: " "))\n"
        if !env.isEmpty {
            out += "env:\n" + env.map { "  \($0.key)=\($0.value.replacingOccurrences(of: "\n", with: "\\n"))\n" }.joined()
        }
        out += "upstream:" + (upstream.isEmpty ? " none\n" : "\n" + upstream.map { "  \($0.id)  \($0.stage)\n" }.joined())
        out += "downstream:" + (downstream.isEmpty ? " none\n" : "\n" + downstream.map { "  \($0.id)  \($0.stage)\n" }.joined())
        let runs = usedBy.reduce(into: [String]()) { if !$0.contains($1.run) { $0.append($1.run) } }
        // Each invocation records its own trials, so a sweep resumed twice lists one trial three times: count the
        // distinct trials (sweep and parameters) and say how many uses there were when that differs.
        let trials = Set(usedBy.map { [$0.sweep, $0.parameters] }).count
        let uses = trials == usedBy.count ? "" : ", \(usedBy.count) use(s)"
        out += "used by: \(trials) trial(s)\(uses) in \(runs.isEmpty ? "no sweep" : runs.joined(separator: ", "))\n"
        for use in usedBy.prefix(Self.maxUsesShown) { out += "  \(use.run) trial \(use.position)  \(use.parameters)\n" }
        if usedBy.count > Self.maxUsesShown { out += "  … and \(usedBy.count - Self.maxUsesShown) more\n" }
        out += "attempts:" + (attempts.isEmpty ? " none\n" : "\n")
        for a in attempts {
            var parts = ["  #\(a.number)", a.run ?? "-", time(a.startedAt), "→ " + time(a.endedAt), a.status]
            if let code = a.exitCode { parts.append("exit \(code)") }
            if let signal = a.signal { parts.append("signal \(signal)") }
            if let origin = a.origin { parts.append("from cache \(origin)") }
            parts.append("host \(a.host ?? "-")")
            parts.append("threads \(a.threads.map(String.init) ?? "-")")
            parts.append("numerics \(a.numerics ?? "-")")
            parts.append("xexp \(a.toolkitVersion ?? "-")")
            parts.append("build \(a.build ?? "-")")
            if let rss = a.peakRSSBytes { parts.append("peak RSS \(Self.size(rss))") }
            if let cpu = a.cpuSeconds { parts.append("CPU \(String(format: "%.1f", cpu)) s") }
            if let slurm = a.slurmJobID { parts.append("slurm \(slurm)") }
            if let line = Self.firstLine(a.error) { parts.append("error: \(line)") }
            out += parts.joined(separator: "  ") + "\n"
        }
        out += "metrics:" + (metrics.isEmpty ? " none\n" : "\n" + metrics.map { "  \($0.name) = \(JSONValue.formatNumber($0.value))\n" }.joined())
        out += "files (\(directory.path)):" + (files.isEmpty ? " none\n" : "\n")
        let width = files.map { Self.size($0.size).count }.max() ?? 0
        for file in files {
            let size = Self.size(file.size)
            out += "  " + String(repeating: " ", count: width - size.count) + size + "  " + file.path + "\n"
        }
        return out
    }
}
