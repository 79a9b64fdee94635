import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp plot SWEEP --x PARAM --y METRIC`: CSV shaped for plotting, and optionally a gnuplot script.
struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write plot-ready CSV: x sorted, one column per metric (per --by value), _std with several seeds.")

    @Argument(help: ArgumentHelp("NAME or NAME@K.", valueName: "sweep"), completion: sweepNames)
    var sweep: String

    @Option(help: ArgumentHelp("The parameter on the x axis.", valueName: "param"))
    var x: String

    @Option(help: ArgumentHelp("Metrics on the y axis, comma-separated (STAGE.METRIC).", valueName: "metric,..."))
    var y: String

    @Option(help: ArgumentHelp("A parameter whose values become separate series.", valueName: "param"))
    var by: String?

    @Option(name: .customLong("where"), help: ArgumentHelp("Keep only trials with PARAM=VALUE (repeatable).", valueName: "param=value"))
    var filters: [String] = []

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the CSV to this file instead of stdout.", valueName: "file"))
    var output: String?

    @Flag(help: "Also write FILE.gp, a gnuplot script drawing FILE.png (needs -o).")
    var gnuplot = false

    func validate() throws {
        if gnuplot && (output == nil || output == "-") { throw ValidationError("--gnuplot needs -o FILE (the script is written next to the CSV)") }
        for f in filters where !f.contains("=") { throw ValidationError("--where expects PARAM=VALUE, got \"\(f)\"") }
    }

    @OptionGroup var store: StoreOptions

    func run() throws {
        let store = try self.store.openExisting()
        let results = try query { try store.results(of: SweepReference(parsing: sweep)) }
        let metrics = y.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let pairs = filters.map { f -> (String, String) in
            let i = f.firstIndex(of: "=")!
            return (String(f[..<i]), String(f[f.index(after: i)...]))
        }
        var plot: PlotData
        do { plot = try PlotData(results, x: x, y: metrics, by: by, filters: pairs); plot.title = "\(results.sweep)@\(results.seq)" } catch {
            throw fail(error.description, status: ExitStatus.usage)
        }
        try emit(plot.report.render(.csv), to: output)
        if gnuplot, let output {
            let image = (output.hasSuffix(".csv") ? String(output.dropLast(4)) : output) + ".png"
            try emit(plot.gnuplotScript(csvFile: output, imageFile: image), to: output + ".gp")
            FileHandle.standardError.write(Data("wrote \(output) and \(output).gp (run: gnuplot \(output).gp → \(image))\n".utf8))
        }
    }
}
