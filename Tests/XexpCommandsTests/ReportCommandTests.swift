import Foundation
import Testing

/// Where Debian's Chromium is, if installed (`apt-get install -y chromium`; CI installs it).
let chromiumExecutable: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// `xexp report SWEEP`: one self-contained HTML file, everything from the spec escaped, rendered by a real browser.
@Suite("xexp report", .serialized)
struct ReportCommandTests {
    /// A hostile description and parameter value: they must show as text, never become markup.
    static let spec = #"""
        {"name": "rep", "description": "<img src=x onerror=alert(1)> & <script>alert(2)</script>",
         "grid": {"n": [1, 2, 4, 8, 16, 32], "tag": ["<b>x</b>"]}, "seeds": [0, 1],
         "stages": [{"name": "fit", "command": ["sh", "-c", "echo '{\"acc\": '$(( {n} * 3 + {seed} ))', \"loss\": '$(( 100 - {n} ))'}' >> $XEXP_METRICS"]},
                    {"name": "bad", "after": ["fit"], "command": ["sh", "-c", "[ {n} -lt 32 ] || { echo 'it broke: <i>oops</i>' >&2; exit 3; }"]}]}
        """#

    func sweptBox() throws -> Sandbox {
        let box = Sandbox()
        box.write("rep.json", Self.spec)
        #expect(try box.run("sweep", "rep.json").status == 1)  // one `bad` job fails on purpose
        return box
    }

    @Test func writesOneSelfContainedEscapedFile() throws {
        let box = try sweptBox()
        let r = try box.run("report", "rep", "-o", "rep.html")
        #expect(r.status == 0, "\(r.stderr)")
        let html = box.read("rep.html")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &lt;script&gt;alert(2)&lt;/script&gt;"))
        #expect(!html.contains("<img") && !html.contains("<script") && !html.contains("<b>x</b>") && !html.contains("<i>oops"))
        #expect(html.contains("it broke: &lt;i&gt;oops&lt;/i&gt;"), "the failure and its stderr are reported")
        // No network: nothing fetched (the SVG namespace is a name, not a request).
        let urls = html.components(separatedBy: "http").dropFirst().map { "http" + $0.prefix(30) }
        #expect(urls.allSatisfy { $0.hasPrefix("http://www.w3.org/2000/svg") }, "\(urls)")
        // One plot per final metric, against the swept parameter, with the seeds' spread.
        #expect(html.components(separatedBy: "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\"").count - 1 == 2)
        #expect(html.contains("fit.acc: 6.5 ± 0.707"), "mean and std of seeds 0 and 1 at n = 2 (acc = 6 + seed)")
        #expect(html.contains(">n (log scale)<"))
        #expect(try box.run("report", "rep", "-o", "-").stdout == html)
    }

    @Test(.enabled(if: chromiumExecutable != nil, "Chromium is not installed (apt-get install -y chromium); the report is not rendered"))
    func rendersInHeadlessChromiumWithItsPlots() throws {
        let box = try sweptBox()
        #expect(try box.run("report", "rep", "-o", "rep.html").status == 0)
        // The page with only its plots section shown, and the same with the plots taken out: the first screenshot
        // must hold much more drawing than the second, which is all but white.
        let html = box.read("rep.html").replacingOccurrences(of: "</style>", with: "body > :not(.plots) { display: none; }\n</style>")
        box.write("plots.html", html)
        var noPlots = html
        while let start = noPlots.range(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\""),
              let end = noPlots.range(of: "</svg>", range: start.upperBound..<noPlots.endIndex) {
            noPlots.replaceSubrange(start.lowerBound..<end.upperBound, with: "<div style=\"width:520px;height:300px\"></div>")
        }
        box.write("empty.html", noPlots)
        func chromium(_ args: [String]) throws -> RunResult {
            try box.run(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                         "--user-data-dir=\(box.url.path)/profile", "--window-size=1200,1600"] + args,
                        binary: URL(fileURLWithPath: chromiumExecutable!))
        }
        let page = box.url.appendingPathComponent("rep.html").absoluteString
        let dom = try chromium(["--dump-dom", page])
        #expect(dom.status == 0, "\(dom.stderr.suffix(2000))")
        let consoleProblems = dom.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") || $0.contains("Refused") }
        #expect(consoleProblems.isEmpty, "\(consoleProblems)")
        #expect(dom.stdout.contains("class=\"plot\"") && dom.stdout.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(!dom.stdout.contains("<img"), "the description became an element")
        let shot = try chromium(["--screenshot=\(box.url.path)/rep.png", box.url.appendingPathComponent("plots.html").absoluteString])
        let blank = try chromium(["--screenshot=\(box.url.path)/empty.png", box.url.appendingPathComponent("empty.html").absoluteString])
        #expect(shot.status == 0 && blank.status == 0)
        let withPlots = (try? Data(contentsOf: box.url.appendingPathComponent("rep.png")).count) ?? 0
        let without = (try? Data(contentsOf: box.url.appendingPathComponent("empty.png")).count) ?? 0
        #expect(without > 0 && Double(withPlots) > 3 * Double(without), "screenshot bytes with plots \(withPlots), without \(without)")
    }
}
