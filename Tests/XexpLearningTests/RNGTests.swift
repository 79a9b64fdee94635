import Testing
@testable import XexpLearning

@Test("Philox4x32-10 matches Random123's known-answer vectors")
func philoxKnownAnswers() {
    let a = Philox.philox4x32(counter: (0, 0, 0, 0), key: (0, 0))
    #expect([a.0, a.1, a.2, a.3] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
    let b = Philox.philox4x32(counter: (0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), key: (0xffff_ffff, 0xffff_ffff))
    #expect([b.0, b.1, b.2, b.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
    let c = Philox.philox4x32(counter: (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), key: (0xa409_3822, 0x299f_31d0))
    #expect([c.0, c.1, c.2, c.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
}

@Test("saving and restoring the state continues the same stream", arguments: [0, 1, 3, 4, 5, 11])
func philoxResume(draws: Int) {
    var rng = Philox(seed: 2024)
    for _ in 0..<draws { _ = rng.next32() }
    let saved = rng.state
    let expected = (0..<9).map { _ in rng.next32() }
    var resumed = Philox(state: saved)
    #expect((0..<9).map { _ in resumed.next32() } == expected)
}

@Test("seeds are deterministic and distinct; uniform and normal have the right moments")
func philoxDistributions() {
    var a = Philox(seed: 1), b = Philox(seed: 1), c = Philox(seed: 2)
    let xa = (0..<4).map { _ in a.next64() }
    #expect(xa == (0..<4).map { _ in b.next64() })
    #expect(xa != (0..<4).map { _ in c.next64() })
    var rng = Philox(seed: 77)
    let n = 200_000
    var su = 0.0, sn = 0.0, sn2 = 0.0, minU: Float = 1, maxU: Float = 0
    for _ in 0..<n {
        let u = rng.nextUniform(); su += Double(u); minU = min(minU, u); maxU = max(maxU, u)
        let z = Double(rng.nextNormal()); sn += z; sn2 += z * z
    }
    #expect(minU >= 0 && maxU < 1)
    #expect(abs(su / Double(n) - 0.5) < 0.005)
    #expect(abs(sn / Double(n)) < 0.01)
    #expect(abs(sn2 / Double(n) - 1) < 0.015)
}

@Test("shuffle is a deterministic permutation")
func philoxShuffle() {
    var r1 = Philox(seed: 5), r2 = Philox(seed: 5)
    var a = Array(0..<100), b = Array(0..<100)
    r1.shuffle(&a); r2.shuffle(&b)
    #expect(a == b && a != Array(0..<100) && a.sorted() == Array(0..<100))
    var counts = [Int](repeating: 0, count: 3)
    var r = Philox(seed: 6)
    for _ in 0..<30_000 { counts[r.nextInt(below: 3)] += 1 }
    #expect(counts.allSatisfy { abs($0 - 10_000) < 400 })
}
