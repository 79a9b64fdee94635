import Foundation
import Testing

/// `xexp diff A B` says what differs between the two runs (parameters, spec keys) and refuses to average sweeps that
/// share no varying parameter unless asked.
@Suite("xexp diff: differences and refusals", .serialized)
struct DiffTests {
    static func spec(name: String, base: String, grid: String, description: String = "d", value: String = "{k} * 10 + {m}") -> String {
        """
        {"name": "\(name)", "description": "\(description)", "base": \(base), "grid": \(grid),
         "stages": [{"name": "s", "command": ["sh", "-c", "echo '{\\"v\\": '$(( \(value) ))'}' >> $XEXP_METRICS"]}]}
        """
    }

    @Test func listsTheParametersAndSpecKeysThatDiffer() throws {
        let box = Sandbox()
        box.write("a.json", Self.spec(name: "a", base: #"{"m": 1}"#, grid: #"{"k": [1, 2]}"#))
        box.write("b.json", Self.spec(name: "b", base: #"{"m": 2}"#, grid: #"{"k": [1, 2]}"#, description: "other"))
        #expect(try box.run("sweep", "a.json").status == 0)
        #expect(try box.run("sweep", "b.json").status == 0)
        let text = try box.run("diff", "a", "b")
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("parameter m: 1 → 2\nspec keys that differ: name, description\nrows matched on: k\n\n"), "\(text.stdout)")
        let json = try box.run("diff", "a", "b", "--format", "json").stdout
        #expect(json.hasPrefix(#"{"differences":{"parameters":{"m":{"a":"1","b":"2"}},"spec_keys":["name","description"]},"matched_on":["k"],"rows":[{"k":1,"metric":"s.v","a":11,"b":12,"delta":1}"#), "\(json)")
        let csv = try box.run("diff", "a", "b", "--format", "csv").stdout
        #expect(csv.hasPrefix("k,metric,a,b,delta\r\n1,s.v,11,12,1\r\n"), "\(csv)")
    }

    @Test func refusesSweepsWithNoSharedVaryingParameter() throws {
        let box = Sandbox()
        box.write("a.json", Self.spec(name: "a", base: #"{"m": 1}"#, grid: #"{"k": [1, 2]}"#))
        // c has no k at all, and a has no z: nothing to match rows on.
        box.write("c.json", Self.spec(name: "c", base: #"{"m": 1}"#, grid: #"{"z": [1, 2]}"#, value: "{z} + {m}"))
        #expect(try box.run("sweep", "a.json").status == 0)
        #expect(try box.run("sweep", "c.json").status == 0)
        let refused = try box.run("diff", "a", "c")
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("a@1 varies k and c@1 varies z: no shared varying parameter") && refused.stderr.contains("--aggregate"), "\(refused.stderr)")
        let asked = try box.run("diff", "a", "c", "--aggregate")
        #expect(asked.status == 0, "\(asked.stderr)")
        #expect(asked.stdout.contains("rows matched on: nothing (each side averaged)"), "\(asked.stdout)")
    }
}

/// `xexp table --where/--sort/--columns`.
@Suite("xexp table: filter, sort, columns", .serialized)
struct TableSelectionTests {
    @Test func filtersSortsAndPicksColumns() throws {
        let box = Sandbox()
        box.write("a.json", DiffTests.spec(name: "a", base: #"{"m": 1}"#, grid: #"{"k": [3, 1, 2], "z": ["x", "y"]}"#, value: "{k} * 10 + {m}"))
        #expect(try box.run("sweep", "a.json").status == 0)
        let sorted = try box.run("table", "a", "--where", "z=y", "--sort", "s.v:desc", "--columns", "k,s.v", "--format", "csv")
        #expect(sorted.status == 0, "\(sorted.stderr)")
        #expect(sorted.stdout == "k,s.v\r\n3,31\r\n2,21\r\n1,11\r\n", "\(sorted.stdout)")
        let ascending = try box.run("table", "a", "--where", "k=2", "--sort", "z", "--format", "csv")
        // k no longer varies among the kept trials, so it is not a column (as in any table).
        #expect(ascending.stdout == "z,s.v,n,status\r\nx,21,1,complete\r\ny,21,1,complete\r\n", "\(ascending.stdout)")
        for (args, message) in [(["--where", "q=1"], "no parameter \"q\""), (["--where", "k=9"], "no trial has that value; k takes 3, 1, 2"),
                                (["--sort", "s.w"], "no column \"s.w\" (did you mean 's.v'?)"), (["--columns", "k,nope"], "--columns: no column \"nope\"")] {
            let r = try box.run(["table", "a"] + args)
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }
}

/// `xexp rm` and `xexp gc`: a removed sweep's jobs that no other sweep uses lose their directories and records; shared
/// ones stay; the dry run lists and sizes without deleting.
@Suite("xexp rm and gc", .serialized)
struct HousekeepingTests {
    @Test func rmThenGcFreesOnlyWhatNoSweepUses() throws {
        let box = Sandbox()
        let spec = try String(contentsOf: repositoryRoot.appendingPathComponent("Experiments/example.json"), encoding: .utf8)
        box.write("example.json", spec)
        // example2 is example at 200 samples only: its 6 jobs are example's samples=200 jobs.
        box.write("example2.json", spec.replacingOccurrences(of: "\"name\": \"example\"", with: "\"name\": \"example2\"")
                                        .replacingOccurrences(of: "\"samples\": [200, 2000]", with: "\"samples\": [200]"))
        #expect(try box.run("sweep", "example.json").status == 0)
        #expect(try box.run("sweep", "example2.json").stdout.contains("0 ran, 6 reused"))
        let runs = { (try? FileManager.default.contentsOfDirectory(atPath: box.url.appendingPathComponent("Results/runs").path).count) ?? -1 }
        #expect(runs() == 12)
        #expect(try box.run("gc").stdout.hasPrefix("deleted 0 of 12"))

        let rm = try box.run("rm", "example")
        #expect(rm.status == 0, "\(rm.stderr)")
        #expect(try box.run("table", "example").status == 2)
        let dry = try box.run("gc", "--dry-run")
        #expect(dry.stdout.split(separator: "\n").count == 7, "\(dry.stdout)")  // six paths and the summary
        #expect(dry.stdout.contains("would delete 6 of 12 job directories unused by any sweep in 1 store(s)"), "\(dry.stdout)")
        #expect(runs() == 12)
        let gc = try box.run("gc")
        #expect(gc.status == 0 && gc.stdout.contains("deleted 6 of 12") && gc.stdout.contains("forgot 6 unused job record(s)"), "\(gc.stdout)\(gc.stderr)")
        #expect(runs() == 6)
        // What stays is example2's, intact; example runs again only where its directories went.
        #expect(try box.run("sweep", "example2.json").stdout.contains("0 ran, 6 reused"))
        #expect(try box.run("sweep", "example.json").stdout.contains("6 ran, 6 reused"))
    }
}
