import Testing
@testable import XexpData

@Test("no benchmark image or scene content occurs in training; no (content, question) instance is shared")
func trainTestSeparation() throws {
    let data = try SyntheticData(seed: 2024)
    var trainImages = Set<UInt64>(), trainContents = Set<UInt64>(), trainInstances = Set<String>()
    for i in 0..<400 {
        for stream in TrainingStream.allCases {
            let scene = data.trainingScene(stream, i)
            #expect(scene.split == .train)
            trainContents.insert(scene.contentFingerprint)
            if stream != .corpus { trainImages.insert(data.render(scene).fingerprint) }
        }
        var rng = SeedStream.generator(data.seed, "train.instruct.qa", i)
        let scene = data.trainingScene(.instruct, i)
        for qa in data.turns(for: scene, rng: &rng) { trainInstances.insert("\(scene.contentKey)|\(qa.question)") }
    }
    #expect(data.captionSample(3).image!.fingerprint == data.render(data.trainingScene(.caption, 3)).fingerprint)
    var benchImages = 0
    for name in BenchmarkName.allCases {
        let set = data.benchmark(name, size: 40)
        for (scene, image) in zip(set.scenes, set.images) {
            #expect(scene.split == .heldOut)
            #expect(!trainContents.contains(scene.contentFingerprint))
            #expect(!trainImages.contains(image.fingerprint))
            benchImages += 1
        }
        for q in set.questions {
            #expect(!trainInstances.contains("\(set.scenes[q.imageIndex].contentKey)|\(q.question)"))
        }
    }
    #expect(benchImages > 200)
}

@Test("the content split holds out about one content in eight, decided by the content alone")
func contentSplit() {
    let generator = SceneGenerator()
    var heldOut = 0
    for i in 0..<4000 {
        var rng = SplitMix64(seed: UInt64(i))
        let scene = generator.scene(seed: rng.next(), split: i % 2 == 0 ? .train : .heldOut)
        #expect(scene.split == (i % 2 == 0 ? .train : .heldOut))
        if ContentSplit.of(contentFingerprint: FNV1a.hash("probe-\(i)")) == .heldOut { heldOut += 1 }
    }
    #expect((400...600).contains(heldOut))
    // held-out scenes are an unbiased sample: every colour, shape and cell occurs, in similar proportions
    var cells = [Int](repeating: 0, count: 16), colours = [Int](repeating: 0, count: 6), objects = [0, 0]
    for i in 0..<1500 {
        for (split, k) in [(ContentSplit.heldOut, 0), (.train, 1)] {
            let scene = generator.scene(seed: UInt64(i), split: split)
            objects[k] += scene.objects.count
            if split == .heldOut {
                for o in scene.objects { cells[o.cell] += 1; colours[o.colour.rawValue] += 1 }
            }
        }
    }
    #expect(cells.allSatisfy { $0 > 200 })
    #expect(colours.allSatisfy { $0 > 300 })
    #expect(abs(Double(objects[0]) / Double(objects[1]) - 1) < 0.05)
    // the split ignores rendering details: moving an object by a pixel or re-seeding the noise keeps it
    let a = Scene(objects: [SceneObject(.big, .red, .circle, row: 0, column: 0, dx: 1)], renderSeed: 1)
    let b = Scene(objects: [SceneObject(.big, .red, .circle, row: 0, column: 0, dx: -1)], renderSeed: 2)
    #expect(a.contentFingerprint == b.contentFingerprint)
}
