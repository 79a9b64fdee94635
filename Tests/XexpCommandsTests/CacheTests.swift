import Foundation
import Testing

/// The job cache end to end with command stages (seconds): push from one store, serve into another, refuse what does
/// not match its manifest, never serve a stage marked `"cache": false`, and verify by rerunning.
@Suite("xexp cache", .serialized)
struct CacheTests {
    /// A data stage, a score stage after it that also writes a file, and a wall-clock stage that must not be cached.
    static func spec(cache: String? = nil) -> String {
        let list = cache.map { #""cache": ["\#($0)"],"# } ?? ""
        return """
            {"name": "c", \(list) "grid": {"n": [3, 5]},
             "stages": [
               {"name": "gen", "command": ["sh", "-c", "seq {n} > {job.dir}/data.txt; echo '{\\"count\\": {n}}' >> $XEXP_METRICS"]},
               {"name": "score", "after": ["gen"], "outputs": ["sum.txt"],
                "command": ["sh", "-c", "awk '{s+=$1} END {print s}' {gen.dir}/data.txt > {job.dir}/sum.txt; echo scratch > {job.dir}/scratch.txt; echo \\"{\\\\\\"sum\\\\\\": $(cat {job.dir}/sum.txt)}\\" >> $XEXP_METRICS"]},
               {"name": "clock", "after": ["score"], "cache": false, "command": ["sh", "-c", "echo '{\\"t\\": 1}' >> $XEXP_METRICS"]}
             ]}
            """
    }

    func table(_ box: Sandbox) throws -> String {
        let r = try box.run("table", "c", "--format", "csv")
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout
    }

    @Test func pushServeAndRefuse() throws {
        let origin = Sandbox()
        origin.write("c.json", Self.spec())
        #expect(try origin.run("sweep", "c.json").status == 0)
        let cacheDir = origin.url.appendingPathComponent("shared").path
        let push = try origin.run("cache", "push", "c", "--to", cacheDir)
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.hasPrefix("pushed 4 job(s)"), "\(push.stdout)")  // 2 gen + 2 score; clock is never cached
        let entries = try FileManager.default.contentsOfDirectory(atPath: cacheDir).filter { !$0.hasPrefix(".") }
        #expect(entries.count == 4)
        // A score entry holds exactly its declared output and its metrics; a gen entry every file it left, logs aside.
        let ls = try origin.run("cache", "ls", cacheDir)
        #expect(ls.stdout.split(separator: "\n").count == 5, "\(ls.stdout)")
        let score = try #require(entries.first { origin.read("shared/\($0)/manifest.json").contains("\"stage\" : \"score\"") })
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: "\(cacheDir)/\(score)")) == ["manifest.json", "metrics.jsonl", "sum.txt"])
        let gen = try #require(entries.first { origin.read("shared/\($0)/manifest.json").contains("\"stage\" : \"gen\"") })
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: "\(cacheDir)/\(gen)")) == ["manifest.json", "metrics.jsonl", "data.txt"])
        #expect(try origin.run("cache", "push", "c", "--to", cacheDir).stdout.hasPrefix("pushed 0 job(s) to \(cacheDir); 4 already there"))

        // A fresh store with the cache in its spec: the dry run says what is cached, the sweep runs only `clock`.
        let user = Sandbox()
        user.write("c.json", Self.spec(cache: cacheDir))
        let dry = try user.run("sweep", "c.json", "--dry-run")
        #expect(dry.stdout.hasPrefix("sweep c: 2 trial(s), 6 job(s), 2 to run, 4 cached"), "\(dry.stdout)")
        #expect(dry.stdout.contains("  \(score)  score  [cached: \(cacheDir)]"), "\(dry.stdout)")
        let run = try user.run("sweep", "c.json")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("6 jobs — 2 ran, 0 reused, 4 cached, 0 failed"), "\(run.stdout)")
        #expect(try table(user) == table(origin))
        #expect(try user.run("status", "c").stdout.contains("(4 cached)"))
        // Copies, never links: a job directory written later cannot reach the cache.
        var info = stat()
        #expect(stat(user.url.appendingPathComponent("Results/runs/\(gen)/data.txt").path, &info) == 0 && info.st_nlink == 1)

        // `--rerun` bypasses the caches for what it reruns.
        let rerun = try user.run("sweep", "c.json", "--rerun", "score")
        #expect(rerun.stdout.contains("6 jobs — 4 ran, 2 reused, 0 cached"), "\(rerun.stdout)")

        // A file that no longer matches its manifest: reported, not used, the job runs, the sweep succeeds.
        FileManager.default.createFile(atPath: "\(cacheDir)/\(gen)/data.txt", contents: Data("1\n2\n3\n4\n".utf8))
        let third = Sandbox()
        third.write("c.json", Self.spec(cache: cacheDir))
        let served = try third.run("sweep", "c.json")
        #expect(served.status == 0, "\(served.stderr)")
        #expect(served.stderr.contains("entry \(gen) (gen) is not used: data.txt"), "\(served.stderr)")
        #expect(try table(third) == table(origin))

        // An entry naming a file outside itself is refused, whatever its hashes say.
        let manifestPath = "\(cacheDir)/\(score)/manifest.json"
        let original = origin.read("shared/\(score)/manifest.json")
        try original.replacingOccurrences(of: "\"sum.txt\"", with: "\"../\(gen)/data.txt\"").write(toFile: manifestPath, atomically: true, encoding: .utf8)
        let fourth = Sandbox()
        fourth.write("c.json", Self.spec(cache: cacheDir))
        let escaped = try fourth.run("sweep", "c.json", "--dry-run")
        #expect(escaped.stderr.contains("entry \(score) (score) is not used: file name \"../\(gen)/data.txt\" leaves the entry"), "\(escaped.stderr)")
        try original.write(toFile: manifestPath, atomically: true, encoding: .utf8)
    }

    /// `cache verify` reruns the spec's jobs that a cache holds and compares bytes: an honest entry passes, an entry
    /// whose files and manifest agree with each other but not with what the job computes fails.
    @Test func verifyRerunsAndCompares() throws {
        let box = Sandbox()
        box.write("c.json", Self.spec())
        #expect(try box.run("sweep", "c.json").status == 0)
        let cacheDir = box.url.appendingPathComponent("shared").path
        #expect(try box.run("cache", "push", "c", "--to", cacheDir).status == 0)
        let ok = try box.run("cache", "verify", cacheDir, "--spec", "c.json")
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("4 entries checked against their manifests, 0 bad"))
        #expect(ok.stdout.components(separatedBy: "  OK  ").count - 1 == 4, "\(ok.stdout)")

        // Forge a score entry: a different sum, with the manifest updated to match (so only a rerun can tell).
        let entries = try FileManager.default.contentsOfDirectory(atPath: cacheDir).filter { !$0.hasPrefix(".") }
        let score = try #require(entries.first { box.read("shared/\($0)/manifest.json").contains("\"stage\" : \"score\"") })
        let forged = "999\n"
        FileManager.default.createFile(atPath: "\(cacheDir)/\(score)/sum.txt", contents: Data(forged.utf8))
        let realSize = box.read("shared/\(score)/manifest.json")
        let digest = try #require(shell("sha256sum \(cacheDir)/\(score)/sum.txt").split(separator: " ").first.map(String.init))
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(realSize.utf8)) as? [String: Any])
        var files = try #require(manifest["files"] as? [[String: Any]])
        for i in files.indices where files[i]["name"] as? String == "sum.txt" { files[i]["size"] = forged.utf8.count; files[i]["sha256"] = digest }
        manifest["files"] = files
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: "\(cacheDir)/\(score)/manifest.json"))
        let bad = try box.run("cache", "verify", cacheDir, "--spec", "c.json")
        #expect(bad.status == 1, "\(bad.stdout)")
        #expect(bad.stdout.contains("0 bad"))  // consistent with its own manifest …
        #expect(bad.stdout.contains("\(score)  DIFFERS  score: sum.txt differs"), "\(bad.stdout)")  // … but not with the job
        #expect(try box.run("cache", "verify", cacheDir, "--spec", "c.json", "--job", "0123456789abcdef").status == 2)
    }

    func shell(_ command: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
