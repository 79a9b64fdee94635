import Foundation
import Testing
import XexpOrchestration
@testable import XexpPipeline

/// Seeds the built-in pipeline cannot use: they used to trap its worker (`UInt64(-1)`) or silently become 0.
@Suite("Reliability probe faults: built-in pipeline seeds")
struct PipelineProbeFaultTests {
    func plan(_ text: String) throws -> SweepPlan { try planBuiltin(text) }

    @Test func negativeSeedsAreRefusedAtTheirValue() {
        do {
            _ = try plan(#"{"name": "x", "base": {"preset": "smoke"}, "seeds": [0, 3, -1]}"#)
            Issue.record("accepted a negative seed")
        } catch {
            #expect("\(error)" == "spec.json: /seeds/2: seed -1 is negative; the built-in pipeline's seeds must be non-negative integers (command stages may use any integer)")
        }
    }

    /// A data_seed of 2^53 or more cannot be passed on as an exact integer (it used to become 0 in the worker).
    @Test func hugeDataSeedsAreRefused() {
        do {
            _ = try plan(#"{"name": "x", "grid": {"data_seed": [0, 1e16]}}"#)
            Issue.record("accepted data_seed 1e16")
        } catch let error as SpecError {
            #expect(error.location == "/grid/data_seed/1", "\(error)")
            #expect(error.message.hasPrefix("data_seed must be a non-negative integer below 2^53"), "\(error)")
        } catch { Issue.record("unexpected \(error)") }
    }

    /// A worker run by hand gets its seeds from `--set`: a bad one fails with a message instead of trapping or
    /// becoming 0.
    @Test(arguments: ["-1", "0.5", "1e20", "18446744073709551616", "x"])
    func workerRefusesSeedsItCannotUse(_ seed: String) {
        for name in ["seed", "data_seed"] {
            #expect(throws: StageFailure.self, "\(name)=\(seed)") { try StageSettings([name: seed]) }
        }
    }

    @Test func workerReadsValidSeeds() throws {
        let s = try StageSettings(["seed": "7", "data_seed": "9007199254740991"])
        #expect(s.seed == 7 && s.dataSeed == 9_007_199_254_740_991)
        let defaults = try StageSettings([:])
        #expect(defaults.seed == 0 && defaults.dataSeed == 0)
    }

    /// `Int(d)` trapped on numbers no Int holds, in validation (tokens, an inline llm) and in a worker run by hand
    /// (an integer hyperparameter); they are refused instead.
    static let noInt: [(String, String, String)] = [
        (#"{"name": "x", "base": {"tokens": 1e20}}"#, "/base/tokens", "tokens must be a positive integer (1–576), found 1e20"),
        (#"{"name": "x", "base": {"llm": "width=1e20,layers=2,heads=2,kv_heads=2,intermediate=64"}}"#, "/base/llm", "unknown language model"),
        (#"{"name": "x", "base": {"llm": "width=nan,layers=2,heads=2,kv_heads=2,intermediate=64"}}"#, "/base/llm", "unknown language model"),
        (#"{"name": "x", "base": {"lm_steps": 1e20}}"#, "/base/lm_steps", "lm_steps must be a positive integer, found 1e20"),
    ]

    @Test(arguments: noInt)
    func numbersNoIntHoldsAreRefused(_ text: String, _ location: String, _ fragment: String) {
        do {
            _ = try plan(text)
            Issue.record("accepted \(text)")
        } catch let error as SpecError {
            #expect(error.location == location, "\(error)")
            #expect(error.message.contains(fragment), "\(error)")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func workerRefusesIntegersNoIntHolds() {
        #expect(throws: StageFailure.self) { try StageSettings(["lm_steps": "1e20"]).int("lm_steps", auto: 1) }
        #expect(throws: (any Error).self) { try LanguageModelChoice.parse("width=1e20,layers=2,heads=2,kv_heads=2,intermediate=64") }
    }
}
