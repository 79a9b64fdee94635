import Foundation
import Testing
@testable import XexpOrchestration

@Suite("Trial expansion")
struct ExpansionTests {
    func rows(_ spec: ExperimentSpec) -> [String] {
        spec.expandTrials().map { t in t.parameters.names.map { "\($0)=\(t.parameters[$0]!)" }.joined(separator: " ") }
    }

    @Test func gridTimesZipTimesSeeds() throws {
        let spec = try parseSpec("""
            {"name": "e", "base": {"b": "x"}, "grid": {"lr": [1, 2], "wd": [0, 0.5]}, "zip": {"m": ["s", "l"], "w": [8, 16]},
             "seeds": [0, 7], "stages": [{"name": "s", "command": ["true"]}]}
            """)
        let trials = rows(spec)
        #expect(trials.count == 2 * 2 * 2 * 2)
        #expect(trials[0] == "b=x lr=1 wd=0 m=s w=8 seed=0")
        #expect(trials[1] == "b=x lr=1 wd=0 m=s w=8 seed=7")
        #expect(trials[2] == "b=x lr=1 wd=0 m=l w=16 seed=0")
        #expect(trials.last == "b=x lr=2 wd=0.5 m=l w=16 seed=7")
        // zip pairs never cross
        #expect(!trials.contains { $0.contains("m=s w=16") || $0.contains("m=l w=8") })
    }

    @Test func includeAndExclude() throws {
        let spec = try parseSpec("""
            {"name": "e", "base": {"b": 1}, "grid": {"x": [1, 2, 3]},
             "include": [{"x": 9, "extra": true}, {"x": 1}],
             "exclude": [{"x": 2}, {"x": 9, "seed": 1}],
             "seeds": [0, 1], "stages": [{"name": "s", "command": ["true"]}]}
            """)
        #expect(rows(spec) == [
            "b=1 x=1 seed=0", "b=1 x=1 seed=1",
            "b=1 x=3 seed=0", "b=1 x=3 seed=1",
            "b=1 x=9 extra=true seed=0",
        ])
    }

    @Test func includeOnlySpecsRunTheirIncludes() throws {
        let spec = try parseSpec(#"{"name": "e", "base": {"b": 1}, "include": [{"x": 1}, {"x": 2}], "stages": [{"name": "s", "command": ["true"]}]}"#)
        #expect(rows(spec) == ["b=1 x=1 seed=0", "b=1 x=2 seed=0"])
    }

    @Test func baseAloneIsOneTrial() throws {
        let spec = try parseSpec(#"{"name": "e", "base": {"b": 1}, "stages": [{"name": "s", "command": ["true"]}]}"#)
        #expect(rows(spec) == ["b=1 seed=0"])
    }
}
