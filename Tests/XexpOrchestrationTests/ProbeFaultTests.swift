import Foundation
import Testing
@testable import XexpOrchestration

/// Inputs a reliability probe found that broke xexp: each test reproduces one fault.
@Suite("Reliability probe faults")
struct ProbeFaultTests {
    // MARK: CSV

    /// Swift's "\r\n" is one Character, equal neither to "\r" nor to "\n"; a combining mark after a comma or quote
    /// likewise makes one Character that is no comma or quote. RFC 4180 is about bytes: each must be quoted.
    @Test func csvQuotesLineBreaksAndSeparatorsHiddenInOneCharacter() {
        #expect(CSV.field("a\r\nb") == "\"a\r\nb\"")
        #expect(CSV.field("a,\u{301}b") == "\"a,\u{301}b\"")
        #expect(CSV.field("\"\u{301}") == "\"\"\"\u{301}\"")
        #expect(CSV.field(" \u{301}x") == "\" \u{301}x\"")
        #expect(CSV.field("plain") == "plain")
        let table = ReportTable(columns: ["note", "x"], rows: [[.text("line 1\r\nline 2"), .number(1)]], keyColumns: 1)
        #expect(table.render(.csv) == "note,x\r\n\"line 1\r\nline 2\",1\r\n")
    }
}

extension ProbeFaultTests {
    // MARK: NUL

    /// argv and environment strings end at the first NUL: "x\u0000y" would run as "x", under another job id than "x".
    static let nulSpecs: [(String, String)] = [
        (#"{"name": "n", "grid": {"a": ["x\u0000y", "x"]}, "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#, "/grid/a/0"),
        (#"{"name": "n", "base": {"a": "\u0000"}, "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#, "/base/a"),
        (#"{"name": "n", "zip": {"a": ["x", "y\u0000"]}, "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#, "/zip/a/1"),
        (#"{"name": "n", "base": {"a": "x"}, "include": [{"a": "x\u0000z"}], "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#, "/include/0/a"),
        (#"{"name": "n", "stages": [{"name": "s", "command": ["echo", "x\u0000y"]}]}"#, "/stages/0/command/1"),
        (#"{"name": "n", "stages": [{"name": "s", "command": ["echo\u0000"]}]}"#, "/stages/0/command/0"),
        (#"{"name": "n", "stages": [{"name": "s", "command": ["echo"], "env": {"V": "a\u0000b"}}]}"#, "/stages/0/env/V"),
    ]

    @Test(arguments: nulSpecs)
    func nulCharactersAreRefused(_ text: String, _ location: String) {
        do {
            _ = try parseSpec(text)
            Issue.record("accepted a NUL at \(location)")
        } catch {
            #expect(error.location == location, "\(error)")
            #expect(error.message == "contains a NUL character (\\u0000), which cannot reach a program: argv and environment strings end at the first NUL; remove it", "\(error)")
        }
    }
}
