import Foundation
import Testing

/// `backbone_seed`: a spec may vary the pretrained backbones' seed; one that does not keeps the shared backbones' ids.
@Suite("backbone seeds", .serialized)
struct BackboneSeedTests {
    func visionIDs(_ box: Sandbox, _ spec: String) throws -> [String] {
        box.write("s.json", spec)
        let dry = try box.run("sweep", "s.json", "--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        return dry.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            return f.count >= 2 && f[1] == "vision" ? String(f[0]) : nil
        }
    }

    @Test func onlySpecsThatSetItChangeTheBackbones() throws {
        let box = Sandbox()
        let plain = try visionIDs(box, #"{"name": "s", "base": {"preset": "smoke"}}"#)
        let shared = try visionIDs(box, #"{"name": "s", "base": {"preset": "smoke", "backbone_seed": "shared"}}"#)
        let seeded = try visionIDs(box, #"{"name": "s", "base": {"preset": "smoke"}, "grid": {"backbone_seed": [0, 1]}}"#)
        #expect(plain.count == 1 && shared == plain, "naming the default keeps the id")
        #expect(seeded.count == 2 && Set(seeded).count == 2 && !seeded.contains(plain[0]), "\(seeded) vs \(plain)")
        let bad = try box.run(["sweep", "s.json", "--dry-run", "--set", "backbone_seed=-1"])
        #expect(bad.status == 2 && bad.stderr.contains("backbone_seed must be \"shared\""), "\(bad.stderr)")
    }

    @Test func aSeedChangesTheEncodersWeightsAndSharedDoesNot() throws {
        let box = Sandbox()
        func encoder(_ extra: [String]) throws -> Data {
            let dir = "enc-\(extra.joined().replacingOccurrences(of: "=", with: "-"))"
            let r = try box.run(binary: releaseBinary, ["worker", "vision", "--job-dir", box.url.appendingPathComponent(dir).path, "--set", "encoder=vit-tiny",
                                                         "--set", "data_seed=0", "--set", "preset=smoke", "--set", "vision_steps=2", "--set", "vision_batch=auto",
                                                         "--set", "vision_lr=auto"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return (try? Data(contentsOf: box.url.appendingPathComponent(dir).appendingPathComponent("encoder.safetensors"))) ?? Data()
        }
        let none = try encoder([]), shared = try encoder(["--set", "backbone_seed=shared"])
        let zero = try encoder(["--set", "backbone_seed=0"]), one = try encoder(["--set", "backbone_seed=1"])
        #expect(!none.isEmpty && none == shared)
        #expect(zero != none && one != none && zero != one)
    }
}
