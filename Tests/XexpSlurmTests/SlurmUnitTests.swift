import Foundation
import Testing
@testable import XexpOrchestration

/// What needs no cluster: state mapping, per-stage resources, the batch script (run with sh) and outcome decisions.
@Suite("Slurm backend without a cluster")
struct SlurmUnitTests {
    @Test(arguments: [
        ("PENDING", SlurmPhase.active), ("RUNNING", .active), ("COMPLETING", .active), ("REQUEUED", .active),
        ("PREEMPTED", .active), ("SUSPENDED", .active), ("COMPLETED", .completed), ("FAILED", .failed),
        ("OUT_OF_MEMORY", .failed), ("NODE_FAIL", .failed), ("BOOT_FAIL", .failed), ("TIMEOUT", .timedOut),
        ("DEADLINE", .timedOut), ("CANCELLED", .cancelled),
    ])
    func statesMapOntoXexps(state: String, phase: SlurmPhase) {
        #expect(SlurmPhase(state: state, source: .queue) == phase)
    }

    @Test func aPreemptedJobGoneFromTheQueueFailed() {
        #expect(SlurmPhase(state: "PREEMPTED", source: .accounting) == .failed)
    }

    static func spec(_ slurm: String) -> String {
        #"{"name": "s", "stages": [{"name": "a", "command": ["true"]}, {"name": "b", "after": ["a"], "command": ["true"], "slurm": \#(slurm)}]}"#
    }

    @Test func stageResourcesAreReadBack() throws {
        let spec = try SpecParser.parse(text: Self.spec(#"{"partition": "gpu", "time": "1-02:00:00", "mem": "16G", "cpus": 4, "gpus": "a100:2"}"#),
                                        fileURL: URL(fileURLWithPath: "/tmp/s.json"), displayPath: "s.json")
        #expect(spec.slurmResources == ["b": SlurmResources(partition: "gpu", time: "1-02:00:00", mem: "16G", cpus: 4, gpus: "a100:2")])
        let merged = SlurmResources(partition: "cpu", account: "lab", mem: "2G").overridden(by: spec.slurmResources["b"])
        #expect(merged.sbatchOptions == ["--partition=gpu", "--account=lab", "--time=1-02:00:00", "--mem=16G", "--cpus-per-task=4", "--gpus=a100:2"])
    }

    @Test(arguments: [
        (#"{"partiton": "gpu"}"#, "s.json: /stages/1/slurm/partiton: unknown key \"partiton\" in \"slurm\"; did you mean 'partition'?"),
        (#"{"time": "2h"}"#, "s.json: /stages/1/slurm/time: \"2h\" is not a Slurm time limit; write MM, HH:MM:SS or D-HH:MM:SS (e.g. \"02:00:00\" or \"1-12:00:00\")"),
        (#"{"mem": "lots"}"#, "s.json: /stages/1/slurm/mem: \"lots\" is not a memory size; write megabytes (\"4000\") or a number with K, M, G or T (\"16G\")"),
        (#"{"cpus": 0}"#, "s.json: /stages/1/slurm/cpus: cpus must be a positive integer (CPUs per job), found 0"),
        (#"{"gpus": "a100:"}"#, "s.json: /stages/1/slurm/gpus: \"a100:\" is not a GPU request; write a count (\"1\") or TYPE:COUNT (\"a100:2\")"),
        (#"["gpu"]"#, "s.json: /stages/1/slurm: expected a stage's Slurm resources (a JSON object), found an array"),
    ])
    func badStageResourcesNameThePlaceAndTheFix(slurm: String, message: String) {
        let error = #expect(throws: SpecError.self) {
            try SpecParser.parse(text: Self.spec(slurm), fileURL: URL(fileURLWithPath: "/tmp/s.json"), displayPath: "s.json")
        }
        #expect(error?.description == message)
    }

    @Test func badSlurmOptionsExitTwoAndRunNothing() throws {
        let box = Sandbox()
        box.write("s.json", #"{"name": "s", "stages": [{"name": "a", "command": ["true"]}]}"#)
        let local = try box.run("sweep", "s.json", "--partition", "gpu")
        #expect(local.status == 2)
        #expect(local.stderr.contains("--partition needs --backend slurm"))
        let time = try box.run("sweep", "s.json", "--backend", "slurm", "--time", "2h")
        #expect(time.status == 2)
        #expect(time.stderr.contains("--time: \"2h\" is not a Slurm time limit"))
        let owned = try box.run("sweep", "s.json", "--backend", "slurm", "--sbatch-arg", "--dependency=afterany:1")
        #expect(owned.status == 2)
        #expect(owned.stderr.contains("xexp sets that sbatch option itself"))
        #expect(!FileManager.default.fileExists(atPath: box.url.appendingPathComponent("Results").path))
    }

    @Test(arguments: ["30", "90:00", "02:00:00", "1-00", "1-12:30", "2-00:00:00"])
    func slurmTimeFormatsAreAccepted(time: String) {
        #expect(SlurmResources.problem(time: time) == nil)
    }

    /// The batch script runs the job from its directory alone, with the local scheduler's environment.
    @Test func theBatchScriptRunsTheJobAndRecordsItsExit() throws {
        let dir = Sandbox()
        let specURL = dir.write("spec.json", """
            {"name": "t", "base": {"lr": 0.001, "tag": "a b"}, "stages": [{"name": "a", "env": {"MY": "{tag}"}, "command": ["sh", "-c",
              "pwd > {job.dir}/env.txt; echo $XEXP_JOB_ID $XEXP_THREADS \\"$MY\\" {lr} $XEXP_PARAMS >> {job.dir}/env.txt; echo '{\\"x\\": 1.5}' >> $XEXP_METRICS; echo out; echo err >&2; exit 3"]}]}
            """)
        let plan = try SweepPlan(specAt: specURL, displayPath: "spec.json")
        let job = plan.graph.jobs[0]
        let runs = dir.url.appendingPathComponent("runs")
        let directory = JobDirectory(runs: runs, job: job.id)
        try FileManager.default.createDirectory(at: directory.url, withIntermediateDirectories: true)
        let script = BatchScript.render(job: job, directory: directory, runsDirectory: runs, workingDirectory: dir.url,
                                        resources: SlurmResources(mem: "1G", cpus: 2), environmentPath: ProcessInfo.processInfo.environment["PATH"])
        #expect(script.contains("#SBATCH --mem=1G\n#SBATCH --cpus-per-task=2\n"))
        #expect(script.contains("#SBATCH --job-name=xexp-\(job.id)\n"))
        try script.write(to: directory.script, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [directory.script.path]
        process.environment = ["PATH": "/usr/bin:/bin", "SLURM_JOB_ID": "42", "SLURM_CPUS_PER_TASK": "2"]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 3)

        let env = dir.read("runs/\(job.id)/env.txt").split(separator: "\n").map(String.init)
        #expect(env == [dir.url.path, #"\#(job.id) 2 a b 0.001 {"lr":0.001,"tag":"a b"}"#])
        #expect(dir.read("runs/\(job.id)/stdout.log") == "out\n")
        #expect(ExitStatusFile.read(directory, slurmID: "42") == ExitStatusFile(slurmID: "42", exitCode: 3))
        #expect(ExitStatusFile.read(directory, slurmID: "41") == nil, "an older attempt's exit file must not count")

        let failed = SlurmJobReport(slurmID: "42", state: "FAILED", detail: "3:0", node: "n1", source: .queue)
        let outcome = try #require(SlurmOutcome.decide(directory: directory, slurmID: "42", report: failed, waited: 0, lagTolerance: 60, stderrOffset: 0))
        #expect(outcome.status == .failed)
        #expect(outcome.exitCode == 3)
        #expect(outcome.error == "exited with status 3 (Slurm job 42: FAILED); stderr ends with:\nerr")
    }

    @Test func outcomesFollowSlurmWhenTheScriptLeftNoRecord() throws {
        let dir = Sandbox()
        let directory = JobDirectory(runs: dir.url, job: "j")
        func decide(_ state: String?, waited: Double = 0) -> JobOutcome? {
            SlurmOutcome.decide(directory: directory, slurmID: "7", report: state.map { SlurmJobReport(slurmID: "7", state: $0, detail: "0:9", node: nil, source: .accounting) },
                                waited: waited, lagTolerance: 30, stderrOffset: 0)
        }
        #expect(decide("RUNNING") == nil)
        #expect(decide("TIMEOUT")?.status == .timeout)
        #expect(decide("OUT_OF_MEMORY")?.error?.contains("ran out of memory; raise --mem") == true)
        #expect(decide("NODE_FAIL")?.status == .failed)
        #expect(decide("CANCELLED")?.status == .interrupted)
        // Accounting lags and network filesystems are slow to show files: wait, then give up with a reason.
        #expect(decide(nil, waited: 29) == nil)
        #expect(decide(nil, waited: 31)?.error?.contains("neither squeue nor sacct knows Slurm job 7") == true)
        #expect(decide("COMPLETED", waited: 1) == nil)
        #expect(decide("COMPLETED", waited: 31)?.error?.contains("must be on a filesystem shared with the compute nodes") == true)
        dir.write("j/exit-status", "slurm_job=7 exit=0\n")
        dir.write("j/metrics.jsonl", "{\"loss\": 0.5, \"step\": 2}\n")
        #expect(decide("COMPLETED") == JobOutcome(status: .done, exitCode: 0, metrics: [MetricPoint(seq: 1, name: "loss", value: 0.5, step: 2)]))
    }
}
