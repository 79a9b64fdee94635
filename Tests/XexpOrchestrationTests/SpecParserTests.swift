import Foundation
import Testing
@testable import XexpOrchestration

@Suite("Spec parsing and validation")
struct SpecParserTests {
    static let valid = """
        {
          "name": "lr-sweep.v2",
          "description": "a test",
          "base": {"epochs": 3, "opt": "adam"},
          "grid": {"lr": [0.001, 0.01], "wd": [0, 0.1]},
          "zip": {"model": ["s", "m"], "width": [64, 128]},
          "include": [{"lr": 1, "model": "l", "width": 256, "wd": 0}],
          "exclude": [{"lr": 0.01, "wd": 0.1}],
          "seeds": [1, 2],
          "stages": [
            {"name": "prep", "command": ["echo", "{model}"]},
            {"name": "train", "after": ["prep"], "command": ["train", "--lr", "{lr}", "--data", "{prep.dir}", "--out", "{job.dir}"],
             "env": {"WD": "{wd}", "N": 3}, "timeout": 2.5, "retries": 2, "cost": 30}
          ]
        }
        """

    @Test func parsesEveryKey() throws {
        let spec = try parseSpec(Self.valid)
        #expect(spec.name == "lr-sweep.v2")
        #expect(spec.description == "a test")
        #expect(spec.base.names == ["epochs", "opt"])
        #expect(spec.grid.map(\.name) == ["lr", "wd"])
        #expect(spec.grid[0].values == [.number(0.001), .number(0.01)])
        #expect(spec.zip.map(\.name) == ["model", "width"])
        #expect(spec.include.count == 1)
        #expect(spec.exclude.count == 1)
        #expect(spec.seeds == [1, 2])
        #expect(spec.stages.map(\.name) == ["prep", "train"])
        #expect(spec.stages[1].after == ["prep"])
        #expect(spec.stages[1].env.map(\.key) == ["WD", "N"])
        #expect(spec.stages[1].env.map(\.value) == ["{wd}", "3"])
        #expect(spec.stages[1].timeout == 2.5)
        #expect(spec.stages[1].retries == 2)
        #expect(spec.stages[1].cost?(Parameters()) == 30)
        #expect(spec.stages[0].cost == nil)
    }

    @Test func seedsDefaultToZero() throws {
        let spec = try parseSpec(#"{"name": "a", "stages": [{"name": "s", "command": ["true"]}]}"#)
        #expect(spec.seeds == [0])
    }

    /// Each error class the user contract names: (spec text, expected location, a fragment of the message).
    static let errors: [(String, String, String)] = [
        ("{\"name\": \"a\",\n  \"grid\": {\"x\": [1,]}}", "line 2, column 20", "trailing comma"),
        ("{\"name\": \"a\" \"grid\": 1}", "line 1, column 14", "expected ',' or '}'"),
        ("[1, 2]", "/", "expected a spec (a JSON object), found an array"),
        (#"{"name": "a", "gird": {"x": [1]}, "stages": []}"#, "/gird", "did you mean 'grid'?"),
        (#"{"name": "a", "seeds": [0], "stagse": []}"#, "/stagse", "did you mean 'stages'?"),
        (#"{"grid": {"x": [1]}, "stages": [{"name": "s", "command": ["true"]}]}"#, "/", "missing required key \"name\""),
        (#"{"name": "Bad Name", "stages": [{"name": "s", "command": ["true"]}]}"#, "/name", "only lowercase letters"),
        (#"{"name": 3, "stages": [{"name": "s", "command": ["true"]}]}"#, "/name", "found a number"),
        (#"{"name": "a", "grid": {"x": 1}, "stages": [{"name": "s", "command": ["true"]}]}"#, "/grid/x", "expected the values of \"x\" (a JSON array), found a number"),
        (#"{"name": "a", "grid": {"x": []}, "stages": [{"name": "s", "command": ["true"]}]}"#, "/grid/x", "must not be empty"),
        (#"{"name": "a", "grid": {"x": [[1]]}, "stages": [{"name": "s", "command": ["true"]}]}"#, "/grid/x/0", "strings, numbers or booleans"),
        (#"{"name": "a", "zip": {"x": [1, 2], "y": [1]}, "stages": [{"name": "s", "command": ["true"]}]}"#, "/zip/y", "equal lengths"),
        (#"{"name": "a", "seeds": [], "stages": [{"name": "s", "command": ["true"]}]}"#, "/seeds", "must not be empty"),
        (#"{"name": "a", "seeds": [1.5], "stages": [{"name": "s", "command": ["true"]}]}"#, "/seeds/0", "integers"),
        (#"{"name": "a", "stages": []}"#, "/stages", "must not be empty"),
        (#"{"name": "a", "stages": [{"name": "s", "command": []}]}"#, "/stages/0/command", "must not be empty"),
        (#"{"name": "a", "stages": [{"name": "s", "command": "true"}]}"#, "/stages/0/command", "found a string"),
        (#"{"name": "a", "stages": [{"name": "s", "comand": ["true"]}]}"#, "/stages/0/comand", "did you mean 'command'?"),
        (#"{"name": "a", "stages": [{"name": "s", "command": ["true"], "timeout": -1}]}"#, "/stages/0/timeout", "positive number"),
        (#"{"name": "a", "stages": [{"name": "s", "command": ["true"], "cost": "long"}]}"#, "/stages/0/cost", "positive number"),
        (#"{"name": "a", "stages": [{"name": "s", "command": ["true"], "retries": 1.5}]}"#, "/stages/0/retries", "non-negative integer"),
        (#"{"name": "a", "base": {"lr": 1}, "stages": [{"name": "s", "command": ["x", "{lf}"]}]}"#, "/stages/0/command/1", "did you mean {lr}?"),
        (#"{"name": "a", "stages": [{"name": "s", "command": ["x"], "env": {"A": "{nope}"}}]}"#, "/stages/0/env/A", "placeholder {nope} names no parameter"),
        (#"{"name": "a", "stages": [{"name": "s", "command": ["x", "{t.dir}"]}]}"#, "/stages/0/command/1", "names no stage"),
        (#"{"name": "a", "stages": [{"name": "s", "command": ["x"]}, {"name": "t", "command": ["x", "{s.dir}"]}]}"#, "/stages/1/command/1", "add \"s\" to its \"after\""),
        (#"{"name": "a", "stages": [{"name": "s", "command": ["x"], "after": ["tarin"]}, {"name": "train", "command": ["x"]}]}"#, "/stages/0/after/0", "did you mean 'train'?"),
        (#"{"name": "a", "stages": [{"name": "s", "command": ["x"], "after": ["t"]}, {"name": "t", "command": ["x"], "after": ["s"]}]}"#, "/stages/0/after", "cycle"),
        (#"{"name": "a", "stages": [{"name": "s", "command": ["x"]}, {"name": "s", "command": ["y"]}]}"#, "/stages/1/name", "duplicate stage name"),
        (#"{"name": "a", "base": {"seed": 1}, "stages": [{"name": "s", "command": ["x"]}]}"#, "/base/seed", "\"seeds\""),
        (#"{"name": "a", "base": {"x": 1}, "grid": {"x": [1, 2]}, "stages": [{"name": "s", "command": ["x"]}]}"#, "/grid/x", "also defined in \"base\""),
        (#"{"name": "a", "grid": {"x": [1]}, "exclude": [{"y": 1}], "stages": [{"name": "s", "command": ["x"]}]}"#, "/exclude/0/y", "unknown parameter"),
    ]

    @Test(arguments: errors)
    func rejectsBadSpecs(_ text: String, _ location: String, _ fragment: String) {
        do {
            _ = try parseSpec(text)
            Issue.record("accepted a bad spec: \(text)")
        } catch {
            #expect(error.location == location, "\(error)")
            #expect(error.message.contains(fragment), "\(error)")
            #expect(error.description.hasPrefix("spec.json: \(location): "))
        }
    }

    @Test func missingFileIsAnError() {
        #expect(throws: SpecError.self) {
            try SpecParser.load(contentsOf: URL(fileURLWithPath: "/nonexistent/spec.json"), displayPath: "nonexistent/spec.json")
        }
        do { _ = try SpecParser.load(contentsOf: URL(fileURLWithPath: "/nonexistent/x.json"), displayPath: "x.json") } catch {
            #expect(error.description.hasPrefix("x.json: /: no such file"))
        }
    }

    @Test func placeholdersLeaveShellAndAwkAlone() throws {
        let t = try CommandTemplate("awk '{print $1}' ${HOME} {{lr}} {lr} {prep.dir} {job.dir}")
        #expect(t.references == [.parameter("lr"), .stageDirectory("prep"), .jobDirectory])
        let text = try t.render { ref in
            switch ref {
            case .parameter: return "0.1"
            case .stageDirectory: return "/p"
            case .jobDirectory: return "/j"
            }
        }.get()
        #expect(text == "awk '{print $1}' ${HOME} {lr} 0.1 /p /j")
    }

    @Test func numbersSubstituteInShortestForm() {
        #expect(ParameterValue.number(0.001).description == "0.001")
        #expect(ParameterValue.number(10).description == "10")
        #expect(ParameterValue.number(1e-5).description == "1e-05")
        #expect(ParameterValue.number(-3).description == "-3")
        #expect(ParameterValue.number(2.5).description == "2.5")
        #expect(ParameterValue.bool(true).description == "true")
        #expect(ParameterValue.string("a b").description == "a b")
    }

    @Test func jsonParserKeepsOrderAndReportsPositions() throws {
        let v = try JSONParser.parse(#"{"b": 1, "a": [true, null, "x\u00e9\n"], "c": -0.5e1}"#)
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a", "c"])
        #expect(v["c"] == .number(-5))
        #expect(v["a"] == .array([.bool(true), .null, .string("xé\n")]))
        #expect(throws: JSONSyntaxError(line: 3, column: 5, message: "duplicate key \"a\"")) {
            try JSONParser.parse("{\n\"a\": 1,\n    \"a\": 2}")
        }
    }
}
