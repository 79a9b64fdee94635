import Foundation

/// A line plot as inline SVG, for the HTML report: series of points with optional error bars (seeds' std), flat
/// baseline lines (chance, blind), and an optional series on a right-hand axis (a reference table such as the
/// paper's, whose scale differs from the proxy's). Every text is escaped; the SVG needs no script and no network.
public struct SVGPlot: Sendable {
    public struct Point: Sendable { public var x: Double; public var y: Double; public var error: Double? }
    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        /// Drawn dashed, without markers (a baseline such as the blind model's score per x).
        public var dashed = false
        public var color: String
        public init(name: String, points: [Point], dashed: Bool = false, color: String) {
            self.name = name; self.points = points; self.dashed = dashed; self.color = color
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Horizontal lines across the plot (uniform chance).
    public var levels: [(name: String, y: Double, color: String)] = []
    /// Plotted against its own axis on the right.
    public var rightSeries: Series?
    public var rightLabel = ""
    /// x tick labels for categorical x (projector names); nil for numeric x.
    public var categories: [String]?

    static let width = 520.0, height = 300.0
    static let left = 60.0, right = 60.0, top = 34.0, bottom = 74.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
    }

    /// Numeric x spanning 16× or more (token counts 1…576) is drawn on a log2 axis with a tick at each value.
    var logX: Bool {
        guard categories == nil else { return false }
        let xs = (series + [rightSeries].compactMap { $0 }).flatMap(\.points).map(\.x)
        guard let lo = xs.min(), let hi = xs.max(), lo > 0 else { return false }
        return hi / lo >= 16
    }

    public func render() -> String {
        let W = Self.width, H = Self.height, L = Self.left, R = Self.right, T = Self.top, B = Self.bottom
        let plotW = W - L - R, plotH = H - T - B
        let all = series + [rightSeries].compactMap { $0 }
        let xs = all.flatMap(\.points).map(\.x)
        let tx: (Double) -> Double = logX ? { log2($0) } : { $0 }
        var (x0, x1) = (xs.map(tx).min() ?? 0, xs.map(tx).max() ?? 1)
        if x0 == x1 { x0 -= 1; x1 += 1 }
        let pad = (x1 - x0) * 0.04
        x0 -= pad; x1 += pad
        func sx(_ x: Double) -> Double { L + (tx(x) - x0) / (x1 - x0) * plotW }

        func range(_ values: [Double]) -> (Double, Double) {
            let finite = values.filter(\.isFinite)
            var (lo, hi) = (finite.min() ?? 0, finite.max() ?? 1)
            if lo == hi { lo -= 1; hi += 1 }
            let m = (hi - lo) * 0.08
            return (lo - m, hi + m)
        }
        let leftValues = series.flatMap { $0.points.flatMap { p in [p.y - (p.error ?? 0), p.y + (p.error ?? 0)] } } + levels.map(\.y)
        let (y0, y1) = range(leftValues)
        func sy(_ y: Double) -> Double { T + (1 - (y - y0) / (y1 - y0)) * plotH }
        let (r0, r1) = range(rightSeries?.points.map(\.y) ?? [])
        func sr(_ y: Double) -> Double { T + (1 - (y - r0) / (r1 - r0)) * plotH }

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"\(Int(W))\" height=\"\(Int(H))\" viewBox=\"0 0 \(Int(W)) \(Int(H))\" role=\"img\" aria-label=\"\(HTML.escape(title))\">"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(W))\" height=\"\(Int(H))\" fill=\"#fff\"/>"
        svg += text(W / 2, 20, title, anchor: "middle", size: 14, weight: "bold")
        svg += "<rect x=\"\(f(L))\" y=\"\(f(T))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#999\"/>"
        // y ticks (left), and the right axis's when there is one.
        for v in Self.ticks(y0, y1) {
            svg += "<line x1=\"\(f(L - 4))\" y1=\"\(f(sy(v)))\" x2=\"\(f(L + plotW))\" y2=\"\(f(sy(v)))\" stroke=\"#eee\"/>"
            svg += text(L - 6, sy(v) + 4, Self.label(v), anchor: "end", size: 11)
        }
        if rightSeries != nil {
            for v in Self.ticks(r0, r1) { svg += text(L + plotW + 6, sr(v) + 4, Self.label(v), anchor: "start", size: 11, color: "#7a5") }
            svg += text(W - 12, T + plotH / 2, rightLabel, anchor: "middle", size: 11, color: "#7a5", rotate: true)
        }
        // x ticks: at each category, or at each x value (log axis), else nice numbers.
        let xTicks: [(Double, String)]
        if let categories { xTicks = categories.enumerated().map { (Double($0.offset), $0.element) } }
        else if logX { xTicks = Array(Set(xs)).sorted().map { ($0, Self.label($0)) } }
        else { xTicks = Self.ticks(x0, x1).map { ($0, Self.label($0)) } }
        var lastLabelX = -Double.infinity
        for (v, label) in xTicks {
            let x = sx(v)
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(T + plotH))\" x2=\"\(f(x))\" y2=\"\(f(T + plotH + 4))\" stroke=\"#999\"/>"
            // Labels closer than 22 px would overlap (1, 2, 4 on a log axis): the later one is skipped.
            if x - lastLabelX >= 22 { svg += text(x, T + plotH + 17, label, anchor: "middle", size: 11); lastLabelX = x }
        }
        svg += text(L + plotW / 2, T + plotH + 36, xLabel + (logX ? " (log scale)" : ""), anchor: "middle", size: 12)
        svg += text(14, T + plotH / 2, yLabel, anchor: "middle", size: 12, rotate: true)
        for level in levels {
            svg += "<line x1=\"\(f(L))\" y1=\"\(f(sy(level.y)))\" x2=\"\(f(L + plotW))\" y2=\"\(f(sy(level.y)))\" stroke=\"\(level.color)\" stroke-dasharray=\"2 3\"/>"
        }
        func draw(_ s: Series, _ sy: (Double) -> Double) -> String {
            let pts = s.points.filter { $0.y.isFinite }.sorted { $0.x < $1.x }
            var out = ""
            if pts.count > 1 {
                let path = pts.map { "\(f(sx($0.x))),\(f(sy($0.y)))" }.joined(separator: " ")
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\"\(s.dashed ? " stroke-dasharray=\"5 4\"" : "")/>"
            }
            for p in pts where !s.dashed {
                if let e = p.error, e > 0 {
                    out += "<line x1=\"\(f(sx(p.x)))\" y1=\"\(f(sy(p.y - e)))\" x2=\"\(f(sx(p.x)))\" y2=\"\(f(sy(p.y + e)))\" stroke=\"\(s.color)\"/>"
                }
                out += "<circle cx=\"\(f(sx(p.x)))\" cy=\"\(f(sy(p.y)))\" r=\"3\" fill=\"\(s.color)\"><title>\(HTML.escape(s.name)): \(Self.label(p.y))\(p.error.map { " ± " + Self.label($0) } ?? "")</title></circle>"
            }
            return out
        }
        for s in series { svg += draw(s, sy) }
        if let r = rightSeries { svg += draw(r, sr) }
        // Legend below the axis label.
        var lx = L, ly = H - 12
        let entries = series.map { ($0.name, $0.color, $0.dashed) } + levels.map { ($0.name, $0.color, true) }
            + [rightSeries].compactMap { $0 }.map { ($0.name + " (right axis)", $0.color, false) }
        for (name, color, dashed) in entries {
            let w = 26 + Double(name.count) * 6.2
            if lx + w > W - 8 { lx = L; ly -= 0 }
            svg += "<line x1=\"\(f(lx))\" y1=\"\(f(ly - 4))\" x2=\"\(f(lx + 18))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"4 3\"" : "")/>"
            svg += text(lx + 22, ly, name, anchor: "start", size: 10)
            lx += w
        }
        return svg + "</svg>"
    }

    func text(_ x: Double, _ y: Double, _ s: String, anchor: String, size: Int, weight: String = "normal", color: String = "#222", rotate: Bool = false) -> String {
        let transform = rotate ? " transform=\"rotate(-90 \(f(x)) \(f(y)))\"" : ""
        return "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\" font-size=\"\(size)\" font-weight=\"\(weight)\" fill=\"\(color)\" font-family=\"sans-serif\"\(transform)>\(HTML.escape(s))</text>"
    }

    func f(_ v: Double) -> String { String(format: "%.1f", v) }

    /// About five round tick values over [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [] }
        let raw = (hi - lo) / 5, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var v = ceil(lo / step) * step, out: [Double] = []
        while v <= hi + step * 1e-9 && out.count < 12 { out.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        return out
    }

    public static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e7 { return String(Int(v)) }
        return String(format: abs(v) >= 100 ? "%.0f" : (abs(v) >= 1 ? "%.1f" : "%.3g"), v)
    }
}

/// HTML escaping for text and attribute values: everything from a spec, a parameter, a metric name or a log.
public enum HTML {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
