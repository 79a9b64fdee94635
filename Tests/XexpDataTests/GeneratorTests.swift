import Foundation
import Testing
@testable import XexpData

@Test("SplitMix64 matches the reference implementation's first outputs for seed 0")
func splitMixKnownAnswers() {
    var rng = SplitMix64(seed: 0)
    #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
    #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
    #expect(rng.next() == 0x06C4_5D18_8009_454F)
}

@Test("bounded integers stay in range and cover it evenly")
func boundedIntegers() {
    var rng = SplitMix64(seed: 3)
    var counts = [Int](repeating: 0, count: 6)
    for _ in 0..<60_000 { counts[rng.int(below: 6)] += 1 }
    #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
}

@Test("the same seed gives bit-identical images and tokens", arguments: [UInt64(0), 1, 20_240_601])
func determinism(seed: UInt64) throws {
    let a = try SyntheticData(seed: seed), b = try SyntheticData(seed: seed)
    for i in [0, 1, 17] {
        #expect(a.captionSample(i) == b.captionSample(i))
        #expect(a.instructionSample(i) == b.instructionSample(i))
        #expect(a.corpusSample(i) == b.corpusSample(i))
    }
    for name in BenchmarkName.allCases {
        let x = a.benchmark(name, size: 6), y = b.benchmark(name, size: 6)
        #expect(x.questions == y.questions)
        #expect(x.images == y.images)
    }
}

@Test("different seeds give different images and tokens")
func seedsDiffer() throws {
    let a = try SyntheticData(seed: 1), b = try SyntheticData(seed: 2)
    #expect(a.captionSample(0).image != b.captionSample(0).image)
    #expect((0..<5).map { a.instructionSample($0).tokens } != (0..<5).map { b.instructionSample($0).tokens })
    #expect(a.benchmark(.gqa, size: 5).images != b.benchmark(.gqa, size: 5).images)
    // and different indices of one seed differ too
    #expect(a.captionSample(0).image != a.captionSample(1).image)
}

@Test("scenes respect the layout: one thing per cell, counts in range, pixels in [0, 1]", arguments: [24, 48, 64])
func sceneInvariants(imageSize: Int) throws {
    var config = SceneConfig()
    config.imageSize = imageSize
    let data = try SyntheticData(seed: 5, scenes: config)
    var withText = 0
    for i in 0..<300 {
        let scene = data.trainingScene(.caption, i)
        #expect(config.objectCount.contains(scene.objects.count))
        let cells = scene.objects.map(\.cell) + (scene.text?.cells ?? [])
        #expect(Set(cells).count == cells.count)
        #expect(scene.objects.map(\.cell) == scene.objects.map(\.cell).sorted())
        if let text = scene.text {
            withText += 1
            #expect((1...3).contains(text.digits.count) && (text.digits.count == 1 || text.digits[0] != 0))
            #expect(text.column + text.span <= Layout.cells)
        }
        if i < 20 {
            let image = data.render(scene)
            #expect(image.width == imageSize && image.pixels.count == 3 * imageSize * imageSize)
            #expect(image.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }
    #expect((180...270).contains(withText))  // textProbability 0.75
}

@Test("an invalid image size is refused with the fix")
func invalidConfig() {
    var config = SceneConfig()
    config.imageSize = 50
    #expect(throws: DataError.self) { try SyntheticData(seed: 0, scenes: config) }
}

@Test("objects and digits are drawn where the scene says")
func renderingPlacesThings() {
    var config = SceneConfig()
    config.noise = 0
    let renderer = SceneRenderer(config: config)
    let scene = Scene(objects: [SceneObject(.big, .red, .square, row: 1, column: 2)], text: SceneText(digits: [8], row: 3, column: 0))
    let image = renderer.render(scene)
    // centre of cell (1, 2) is red; centre of cell (0, 0) is background
    #expect(image[0, 18, 30] > 0.8 && image[1, 18, 30] < 0.2)
    #expect(image[0, 6, 6] < 0.2)
    // the 8's top bar (2× scale, glyph at x 3…8, y 37…46) is white
    #expect(image[1, 37, 4] > 0.9 && image[2, 37, 7] > 0.9)
    #expect(renderer.area(.square, .big) == 100 && renderer.area(.square, .small) == 36)
    #expect(renderer.area(.circle, .big) < 100 && renderer.area(.triangle, .big) < renderer.area(.circle, .big))
}

@Test("generation is fast: hundreds of scenes rendered well within a second even in a debug build")
func generationSpeed() throws {
    let data = try SyntheticData(seed: 9)
    let start = Date()
    var checksum: Float = 0
    for i in 0..<500 { checksum += data.render(data.trainingScene(.caption, i)).pixels[0] }
    #expect(checksum > 0)
    #expect(Date().timeIntervalSince(start) < 3)
}

// MARK: Fine-grained versus coarse

/// Noise-free, jitter-free scenes so that pixel statistics are exactly comparable.
private func exactRenderer() -> SceneRenderer {
    var config = SceneConfig()
    config.noise = 0
    config.jitter = false
    return SceneRenderer(config: config)
}

/// Every (question, answer) the factory produces for `family` on `scene` over many draws.
private func answers(_ family: QuestionFamily, _ scene: Scene) -> [String: String] {
    let factory = QuestionFactory()
    var out: [String: String] = [:]
    for s in 0..<200 {
        var rng = SplitMix64(seed: UInt64(s))
        if let qa = factory.make(family, scene: scene, rng: &rng) { out[qa.question] = qa.answer }
    }
    return out
}

@Test("same pooled colour and object multiset, different positions: position answers differ, coarse answers do not")
func positionNeedsSpatialDetail() {
    let a = Scene(objects: [SceneObject(.big, .red, .circle, row: 0, column: 0), SceneObject(.small, .blue, .square, row: 3, column: 2)])
    let b = Scene(objects: [SceneObject(.big, .red, .circle, row: 2, column: 3), SceneObject(.small, .blue, .square, row: 1, column: 0)])
    let renderer = exactRenderer()
    let (ia, ib) = (renderer.render(a), renderer.render(b))
    #expect(ia != ib)
    for (x, y) in zip(ia.channelMeans, ib.channelMeans) { #expect(abs(x - y) < 1e-5) }  // float summation order only
    #expect(a.objects.map(\.category).sorted() == b.objects.map(\.category).sorted())

    for family in [QuestionFamily.position, .row, .column, .relationLeft, .relationAbove] {
        let (qa, qb) = (answers(family, a), answers(family, b))
        let shared = Set(qa.keys).intersection(qb.keys)
        #expect(!shared.isEmpty, "\(family) asked nothing in common")
        #expect(shared.contains { qa[$0] != qb[$0] }, "\(family) answers do not depend on positions")
    }
    for family in [QuestionFamily.existsObject, .existsColour, .colourOf, .shapeOf, .dominantColour] {
        let (qa, qb) = (answers(family, a), answers(family, b))
        for q in Set(qa.keys).intersection(qb.keys) { #expect(qa[q] == qb[q], "\(family): \(q)") }
    }
}

@Test("reading needs the order of the strokes: 47 and 74 pool to the same colour")
func readingNeedsSpatialDetail() {
    let object = SceneObject(.big, .green, .triangle, row: 0, column: 0)
    let a = Scene(objects: [object], text: SceneText(digits: [4, 7], row: 2, column: 1))
    let b = Scene(objects: [object], text: SceneText(digits: [7, 4], row: 2, column: 1))
    let renderer = exactRenderer()
    for (x, y) in zip(renderer.render(a).channelMeans, renderer.render(b).channelMeans) { #expect(abs(x - y) < 1e-5) }  // float summation order only
    #expect(answers(.reading, a).values.first == "47" && answers(.reading, b).values.first == "74")
}

@Test("counts are not a function of colour area: one big square covers more than two small ones")
func countingIsNotArea() {
    let renderer = exactRenderer()
    let one = Scene(objects: [SceneObject(.big, .blue, .square, row: 1, column: 1)])
    let two = Scene(objects: [SceneObject(.small, .blue, .square, row: 1, column: 1), SceneObject(.small, .blue, .square, row: 2, column: 2)])
    #expect(renderer.area(.square, .big) > 2 * renderer.area(.square, .small))
    #expect(renderer.render(one).channelMeans[2] > renderer.render(two).channelMeans[2])  // more blue with fewer objects
    #expect(answers(.count, one).values.first == "1" && answers(.count, two).values.first == "2")
}
