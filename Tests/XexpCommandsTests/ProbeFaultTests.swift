import Foundation
import Testing

/// Inputs a reliability probe found that broke `xexp sweep`, run as a user would.
@Suite("xexp command line: reliability probe faults", .serialized)
struct CommandLineProbeFaultTests {
    @Test func nulInAParameterExitsTwo() throws {
        let box = Sandbox()
        box.write("nul.json", #"{"name": "nul", "grid": {"a": ["x\u0000y", "x"]}, "stages": [{"name": "s", "command": ["echo", "{a}"]}]}"#)
        let r = try box.run("sweep", "nul.json", "--dry-run")
        #expect(r.status == 2)
        #expect(r.stderr == "xexp: nul.json: /grid/a/0: contains a NUL character (\\u0000), which cannot reach a program: argv and environment strings end at the first NUL; remove it\n")
    }
}
