/// A synthetic scene: up to five objects and an optional number laid on a 4×4 layout of cells.
///
/// A ``Scene`` holds *content* (the facts questions can ask about) plus rendering details (jitter inside a
/// cell, the noise seed) that no question depends on. ``contentKey`` covers exactly the content; it decides
/// which split a scene belongs to (``ContentSplit``), which is how training and benchmark data are kept
/// apart even if two seeds happened to produce the same layout.

/// Parameters of scene generation and rendering.
public struct SceneConfig: Sendable, Hashable, Codable {
    /// Side of the square image in pixels; must be a multiple of 4 (the layout) and at least 24.
    /// The default 48 cut into 2×2 patches gives the paper's 24×24 grid of 576 patch tokens.
    public var imageSize: Int = 48
    public var objectCount: ClosedRange<Int> = 1...5
    /// Probability that a scene carries a number (1–3 digits).
    public var textProbability: Double = 0.75
    /// Relative weights of 1-, 2- and 3-digit numbers.
    public var digitCountWeights: [Double] = [0.4, 0.4, 0.2]
    /// Amplitude of uniform per-pixel noise on the background (objects and text get half of it).
    public var noise: Float = 0.12
    /// Whether objects are shifted by up to a pixel inside their cell.
    public var jitter: Bool = true

    public init() {}

    public var cellSize: Int { imageSize / Layout.cells }

    public func validate() throws {
        guard imageSize >= 24, imageSize % Layout.cells == 0 else {
            throw DataError("scene imageSize \(imageSize) is invalid: it must be a multiple of \(Layout.cells) and at least 24 (default 48)")
        }
        guard objectCount.lowerBound >= 1, objectCount.upperBound <= 10 else {
            throw DataError("scene objectCount \(objectCount) is invalid: it must lie within 1...10 (default 1...5)")
        }
    }
}

public struct SceneObject: Hashable, Sendable {
    public var shape: Shape
    public var colour: Colour
    public var size: Size
    public var row: Int
    public var column: Int
    /// Rendering only: pixel offset of the object inside its cell (-1...1).
    public var dx: Int = 0
    public var dy: Int = 0

    public init(_ size: Size, _ colour: Colour, _ shape: Shape, row: Int, column: Int, dx: Int = 0, dy: Int = 0) {
        self.shape = shape; self.colour = colour; self.size = size
        self.row = row; self.column = column; self.dx = dx; self.dy = dy
    }

    public var category: Category { Category(colour, shape) }
    public var cell: Int { row * Layout.cells + column }
    public var positionPhrase: String { Layout.positionPhrase(row: row, column: column) }
}

/// A number drawn in one cell (one digit) or across two horizontally adjacent cells (two or three digits).
public struct SceneText: Hashable, Sendable {
    public var digits: [Int]
    public var row: Int
    /// The first (leftmost) cell the number occupies.
    public var column: Int

    public init(digits: [Int], row: Int, column: Int) {
        self.digits = digits; self.row = row; self.column = column
    }

    public var span: Int { digits.count == 1 ? 1 : 2 }
    public var string: String { digits.map(String.init).joined() }
    public var cells: [Int] { (0..<span).map { row * Layout.cells + column + $0 } }
}

public struct Scene: Hashable, Sendable {
    /// Objects in raster order of their cells (one object per cell).
    public var objects: [SceneObject]
    public var text: SceneText?
    /// Seed of the rendering noise; not part of the content.
    public var renderSeed: UInt64

    public init(objects: [SceneObject], text: SceneText? = nil, renderSeed: UInt64 = 0) {
        self.objects = objects.sorted { $0.cell < $1.cell }
        self.text = text
        self.renderSeed = renderSeed
    }

    /// Canonical text of the content: every object's size, colour, shape and cell, and the number and its cell.
    public var contentKey: String {
        var key = objects.map { "\($0.cell):\($0.size.rawValue)\($0.colour.rawValue)\($0.shape.rawValue)" }.joined(separator: ";")
        if let text { key += "|t\(text.row * Layout.cells + text.column):\(text.string)" }
        return key
    }

    public var contentFingerprint: UInt64 { FNV1a.hash(contentKey) }
    public var split: ContentSplit { ContentSplit.of(contentFingerprint: contentFingerprint) }

    public var categories: Set<Category> { Set(objects.map(\.category)) }
}

/// Which data a scene content may appear in. One content in eight (by fingerprint) is reserved for the
/// benchmarks; training generators reject those contents and benchmark generators accept only them.
/// So no benchmark scene — not even its noise-free layout — occurs in training, and since every answer
/// is a function of the content, no (scene, question) instance is shared either.
public enum ContentSplit: String, Sendable {
    case train, heldOut

    public static func of(contentFingerprint h: UInt64) -> ContentSplit {
        // FNV-1a's high bits mix poorly for keys that differ near the end; the finaliser fixes that, so
        // the held-out eighth is an unbiased sample of contents rather than, say, one first object.
        SplitMix64.mix(h) % 8 == 0 ? .heldOut : .train
    }
}

/// What a generated scene must satisfy beyond its split (benchmarks ask for some).
public struct SceneRequirements: Sendable, Hashable {
    public var text: Bool? = nil
    public var minObjects: Int = 0
    public var minCategories: Int = 0
    public init(text: Bool? = nil, minObjects: Int = 0, minCategories: Int = 0) {
        self.text = text; self.minObjects = minObjects; self.minCategories = minCategories
    }
}

/// Samples scene contents. Deterministic: the same seed gives the same scene.
public struct SceneGenerator: Sendable {
    public var config: SceneConfig

    public init(config: SceneConfig = SceneConfig()) { self.config = config }

    /// The scene for `seed` in `split`, redrawing (from the same seed's stream) until the content belongs
    /// to the split and meets the requirements. About 8 draws per held-out scene; drawing is cheap.
    public func scene(seed: UInt64, split: ContentSplit, requirements: SceneRequirements = SceneRequirements()) -> Scene {
        var rng = SplitMix64(seed: seed)
        while true {
            let scene = draw(&rng, requirements: requirements)
            if scene.split == split && meets(scene, requirements) { return scene }
        }
    }

    private func meets(_ scene: Scene, _ req: SceneRequirements) -> Bool {
        if let wantText = req.text, (scene.text != nil) != wantText { return false }
        return scene.objects.count >= req.minObjects && scene.categories.count >= req.minCategories
    }

    private func draw(_ rng: inout SplitMix64, requirements: SceneRequirements) -> Scene {
        var free = Array(0..<(Layout.cells * Layout.cells))
        var text: SceneText?
        let wantsText = requirements.text ?? rng.bernoulli(Float(config.textProbability))
        if wantsText {
            let length = rng.weightedIndex(config.digitCountWeights) + 1
            var digits = (0..<length).map { _ in rng.int(below: 10) }
            if length > 1 && digits[0] == 0 { digits[0] = 1 + rng.int(below: 9) }  // no leading zero
            let span = length == 1 ? 1 : 2
            let row = rng.int(below: Layout.cells)
            let column = rng.int(below: Layout.cells - span + 1)
            let t = SceneText(digits: digits, row: row, column: column)
            free.removeAll { t.cells.contains($0) }
            text = t
        }
        let lower = max(config.objectCount.lowerBound, requirements.minObjects)
        let count = min(rng.int(in: lower...max(lower, config.objectCount.upperBound)), free.count)
        rng.shuffle(&free)
        var objects: [SceneObject] = []
        let shapePriors = Shape.allCases.map(\.prior), colourPriors = Colour.allCases.map(\.prior)
        for cell in free.prefix(count) {
            let shape = Shape.allCases[rng.weightedIndex(shapePriors)]
            let colour = Colour.allCases[rng.weightedIndex(colourPriors)]
            let size: Size = rng.bernoulli(0.5) ? .big : .small
            let dx = config.jitter ? rng.int(in: -1...1) : 0
            let dy = config.jitter ? rng.int(in: -1...1) : 0
            objects.append(SceneObject(size, colour, shape, row: cell / Layout.cells, column: cell % Layout.cells, dx: dx, dy: dy))
        }
        return Scene(objects: objects, text: text, renderSeed: rng.next())
    }
}

/// An error a caller can act on: it names the thing and the fix.
public struct DataError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
