/// Rasterising scenes into plain float images.

/// An RGB image as a plain buffer: channel-major (CHW), values in [0, 1].
public struct ImageBuffer: Hashable, Sendable {
    public let width: Int
    public let height: Int
    public static let channels = 3
    /// `pixels[(c * height + y) * width + x]`.
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(pixels.count == ImageBuffer.channels * width * height, "CHW buffer has the wrong size")
        self.width = width; self.height = height; self.pixels = pixels
    }

    public subscript(c: Int, y: Int, x: Int) -> Float { pixels[(c * height + y) * width + x] }

    /// FNV-1a over the bit patterns of the pixels: equal images have equal fingerprints.
    public var fingerprint: UInt64 { FNV1a.hash(floats: pixels) }

    /// Per-channel mean: what a single fully pooled token of raw pixels would see.
    public var channelMeans: [Float] {
        let n = width * height
        return (0..<ImageBuffer.channels).map { c in
            pixels[(c * n)..<((c + 1) * n)].reduce(0, +) / Float(n)
        }
    }
}

/// Draws scenes: a noisy dark background, objects as filled shapes, numbers in a 3×5 bitmap font.
public struct SceneRenderer: Sendable {
    public var config: SceneConfig
    private let masks: [[Bool]]  // index: size.rawValue * shapes + shape.rawValue; side×side row-major

    public init(config: SceneConfig = SceneConfig()) {
        self.config = config
        var masks: [[Bool]] = []
        for size in Size.allCases {
            for shape in Shape.allCases {
                masks.append(SceneRenderer.mask(shape, side: SceneRenderer.side(size, cell: config.cellSize)))
            }
        }
        self.masks = masks
    }

    /// Side of an object's bounding box: 5/6 of a cell when big (10 px in a 12-px cell), half when small.
    public static func side(_ size: Size, cell: Int) -> Int {
        size == .big ? (cell * 5) / 6 : cell / 2
    }

    /// Number of pixels a shape of that size covers (used for "main colour").
    public func area(_ shape: Shape, _ size: Size) -> Int {
        masks[size.rawValue * Shape.allCases.count + shape.rawValue].lazy.filter { $0 }.count
    }

    public func render(_ scene: Scene) -> ImageBuffer {
        let w = config.imageSize, plane = w * w
        var px = [Float](repeating: 0, count: 3 * plane)
        var rng = SplitMix64(seed: scene.renderSeed)
        let base: (Float, Float, Float) = (0.07, 0.08, 0.10)
        let amp = config.noise
        for i in 0..<plane {
            px[i] = base.0 + amp * rng.uniform()
            px[plane + i] = base.1 + amp * rng.uniform()
            px[2 * plane + i] = base.2 + amp * rng.uniform()
        }
        let cell = config.cellSize
        for object in scene.objects {
            let side = SceneRenderer.side(object.size, cell: cell)
            let mask = masks[object.size.rawValue * Shape.allCases.count + object.shape.rawValue]
            let maxOffset = cell - side
            let ox = object.column * cell + min(max((cell - side) / 2 + object.dx, 0), maxOffset)
            let oy = object.row * cell + min(max((cell - side) / 2 + object.dy, 0), maxOffset)
            let rgb = object.colour.rgb
            let t = amp * 0.66  // per-object tint, so colour classes are not single points
            let tint = (t * (rng.uniform() - 0.5), t * (rng.uniform() - 0.5), t * (rng.uniform() - 0.5))
            let colour = (rgb.0 + tint.0, rgb.1 + tint.1, rgb.2 + tint.2)
            for y in 0..<side {
                for x in 0..<side where mask[y * side + x] {
                    paint(&px, x: ox + x, y: oy + y, colour: colour, rng: &rng)
                }
            }
        }
        if let text = scene.text { draw(text, into: &px, rng: &rng) }
        return ImageBuffer(width: w, height: w, pixels: px)
    }

    private func paint(_ px: inout [Float], x: Int, y: Int, colour: (Float, Float, Float), rng: inout SplitMix64) {
        let w = config.imageSize, plane = w * w, i = y * w + x
        let a = config.noise * 0.5
        px[i] = clamp(colour.0 + a * (rng.uniform() - 0.5))
        px[plane + i] = clamp(colour.1 + a * (rng.uniform() - 0.5))
        px[2 * plane + i] = clamp(colour.2 + a * (rng.uniform() - 0.5))
    }

    /// Digits at scale max(1, cell/6) (2× in a 12-px cell: 6×10 px glyphs), gap of one scaled pixel,
    /// centred in the text's cells.
    private func draw(_ text: SceneText, into px: inout [Float], rng: inout SplitMix64) {
        let cell = config.cellSize
        let scale = max(1, cell / 6)
        let glyphW = 3 * scale, glyphH = 5 * scale, gap = scale
        let totalW = text.digits.count * glyphW + (text.digits.count - 1) * gap
        let boxW = text.span * cell
        let x0 = text.column * cell + max(0, (boxW - totalW) / 2)
        let y0 = text.row * cell + max(0, (cell - glyphH) / 2)
        let white: (Float, Float, Float) = (0.95, 0.95, 0.95)
        for (k, digit) in text.digits.enumerated() {
            let gx = x0 + k * (glyphW + gap)
            let rows = DigitFont.glyphs[digit]
            for gy in 0..<5 {
                for gxBit in 0..<3 where rows[gy] & (4 >> gxBit) != 0 {
                    for sy in 0..<scale {
                        for sx in 0..<scale {
                            let x = gx + gxBit * scale + sx, y = y0 + gy * scale + sy
                            if x < config.imageSize && y < config.imageSize {
                                paint(&px, x: x, y: y, colour: white, rng: &rng)
                            }
                        }
                    }
                }
            }
        }
    }

    static func mask(_ shape: Shape, side s: Int) -> [Bool] {
        let half = Float(s) / 2
        let bar = max(2, 2 * Int((Float(s) / 6).rounded()))  // even arm width: 2 at 6 px, 4 at 10 px
        let barLo = (s - bar) / 2, barHi = barLo + bar
        var m = [Bool](repeating: false, count: s * s)
        for y in 0..<s {
            for x in 0..<s {
                let cx = Float(x) + 0.5 - half, cy = Float(y) + 0.5 - half
                let inside: Bool
                switch shape {
                case .square: inside = true
                case .circle: inside = cx * cx + cy * cy <= half * half
                case .triangle: inside = abs(cx) <= Float(y + 1) / 2
                case .cross: inside = (x >= barLo && x < barHi) || (y >= barLo && y < barHi)
                }
                m[y * s + x] = inside
            }
        }
        return m
    }
}

@inline(__always) private func clamp(_ v: Float) -> Float { min(max(v, 0), 1) }

/// A 3×5 bitmap font for the digits 0–9; each row is 3 bits, most significant bit on the left.
enum DigitFont {
    static let glyphs: [[UInt8]] = [
        [0b111, 0b101, 0b101, 0b101, 0b111],  // 0
        [0b010, 0b110, 0b010, 0b010, 0b111],  // 1
        [0b111, 0b001, 0b111, 0b100, 0b111],  // 2
        [0b111, 0b001, 0b111, 0b001, 0b111],  // 3
        [0b101, 0b101, 0b111, 0b001, 0b001],  // 4
        [0b111, 0b100, 0b111, 0b001, 0b111],  // 5
        [0b111, 0b100, 0b111, 0b101, 0b111],  // 6
        [0b111, 0b001, 0b001, 0b001, 0b001],  // 7
        [0b111, 0b101, 0b111, 0b101, 0b111],  // 8
        [0b111, 0b101, 0b111, 0b001, 0b111],  // 9
    ]
}
