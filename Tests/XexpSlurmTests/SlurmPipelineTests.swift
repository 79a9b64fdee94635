import Foundation
import Testing
@testable import XexpOrchestration

@Suite("Built-in pipeline on Slurm", .serialized,
       .enabled(if: clusterIsUp && FileManager.default.isExecutableFile(atPath: releaseBinary.path),
                "needs a Slurm controller (scripts/slurm-cluster start) and the release binary (swift build -c release --product xexp)"))
struct SlurmPipelineTests {
    @Test func smokeTokensSweepGivesTheSameMetricsAsLocally() throws {
        let spec = #"{"name": "tokens-smoke", "base": {"projector": "xdp", "preset": "smoke"}, "grid": {"tokens": [144, 4]}}"#
        let slurm = Sandbox(), local = Sandbox()
        slurm.write("tokens.json", spec)
        local.write("tokens.json", spec)
        let run = try slurm.run(["sweep", "tokens.json", "--backend", "slurm", "--time", "10", "--cpus-per-job", "1"], binary: releaseBinary)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("23 jobs — 23 ran"), "\(run.stdout)")
        // Locally with one BLAS thread per job, as each Slurm job (one CPU) gets.
        #expect(try local.run(["sweep", "tokens.json", "--jobs", "2"], binary: releaseBinary).status == 0)
        func metrics(_ box: Sandbox) throws -> [String] {
            try box.run(["export", "tokens-smoke", "--long"], binary: releaseBinary).stdout
                .split(separator: "\r\n").map(String.init).filter { !$0.contains(",latency.") }
        }
        let onSlurm = try metrics(slurm)
        #expect(onSlurm.count > 40)
        #expect(onSlurm == (try metrics(local)))
    }
}
