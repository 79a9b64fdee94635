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
