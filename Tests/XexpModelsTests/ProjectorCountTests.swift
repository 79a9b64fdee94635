import Testing
import XexpLearning
@testable import XexpModels

/// Parameter counts against REFERENCE.md §2 (checked there by building the reference code) and its formulas.
struct ProjectorCountTests {
    static let xdpTable: [(tokens: Int, parameters: Int)] = [
        (576, 6_295_552), (288, 8_392_704), (144, 12_587_008), (72, 20_975_616), (64, 23_072_768), (36, 37_752_832),
        (18, 71_307_264), (8, 155_193_344), (4, 306_188_288), (2, 608_178_176), (1, 1_212_157_952),
    ]

    func count(_ kind: ProjectorKind, _ tokens: Int, _ dv: Int, _ dl: Int) throws -> Int {
        try ProjectorConfig(kind: kind, tokens: tokens, visionWidth: dv, llmWidth: dl).parameterCount
    }

    @Test func tableAt1024to2048() throws {
        #expect(try count(.linear, 576, 1024, 2048) == 2_099_200)
        #expect(try count(.mlp, 576, 1024, 2048) == 6_295_552)
        #expect(try count(.ldp, 144, 1024, 2048) == 18_936_832)
        #expect(try count(.ldpv2, 144, 1024, 2048) == 6_316_032)
        #expect(try count(.xdp, 144, 1024, 2048) == 12_587_008)
    }

    @Test(arguments: xdpTable)
    func xdpTokenTable(_ row: (tokens: Int, parameters: Int)) throws {
        #expect(try count(.xdp, row.tokens, 1024, 2048) == row.parameters)
    }

    /// §2's formulas at other widths (Dl a multiple of 32 so LDP's squeeze width is exactly Dl/4), and for every
    /// valid token count (pooling adds no parameters; XDP's first layer grows with f).
    @Test(arguments: [(64, 128), (768, 4096), (8, 32)])
    func formulas(_ widths: (Int, Int)) throws {
        let (dv, dl) = widths
        for n in ProjectorKind.linear.validTokenCounts() { #expect(try count(.linear, n, dv, dl) == dv * dl + dl) }
        for n in ProjectorKind.mlp.validTokenCounts() { #expect(try count(.mlp, n, dv, dl) == dv * dl + dl * dl + 2 * dl) }
        for n in ProjectorKind.ldp.validTokenCounts() { #expect(try count(.ldp, n, dv, dl) * 2 == 2 * dv * dl + 8 * dl * dl + 61 * dl) }
        for n in ProjectorKind.ldpv2.validTokenCounts() { #expect(try count(.ldpv2, n, dv, dl) == dv * dl + dl * dl + 12 * dl) }
        for n in ProjectorKind.xdp.validTokenCounts() {
            #expect(try count(.xdp, n, dv, dl) == (576 / n) * dv * dl + dl * dl + 2 * dl)
        }
    }

    /// LDP's squeeze width is torchvision's `_make_divisible(Dl // 4, 8)`: Dl/4 for multiples of 32, rounded otherwise.
    @Test func ldpSqueezeWidth() {
        #expect(LDPProjector.squeezeWidth(2048) == 512)
        #expect(LDPProjector.squeezeWidth(128) == 32)
        #expect(LDPProjector.squeezeWidth(16) == 8)
        #expect(LDPProjector.squeezeWidth(48) == 16)
    }

    /// The printed layers add up to the count, and a built projector allocates exactly the layout.
    @Test(arguments: ProjectorKind.allCases)
    func layoutMatchesModel(_ kind: ProjectorKind) throws {
        for n in [kind.validTokenCounts().last!, 36, 1] {
            let c = try ProjectorConfig(kind: kind, tokens: n, visionWidth: 8, llmWidth: 32)
            #expect(c.layout.layers.reduce(0) { $0 + $1.parameters } == c.parameterCount)
            var rng = Philox(seed: 1)
            let p = makeProjector(c, rng: &rng)
            #expect(p.parameterCount == c.parameterCount)
            #expect(p.weights.parameters.map(\.tensor.shape) == c.layout.parameters.map(\.shape))
            let y = Autograd.noGrad { p(Tensor.filled([2, 576, 8], value: 0.5)) }
            #expect(y.shape == [2, n, 32])
        }
    }

    @Test func referenceTypeNames() throws {
        #expect(try ProjectorConfig(kind: .xdp, tokens: 144, visionWidth: 8, llmWidth: 32).referenceType == "xdpnetv10_4")
        #expect(try ProjectorConfig(kind: .mlp, tokens: 576, visionWidth: 8, llmWidth: 32).referenceType == "mlp2x_gelu")
        #expect(try ProjectorConfig(kind: .mlp, tokens: 144, visionWidth: 8, llmWidth: 32).referenceType == nil)
        #expect(try ProjectorConfig(kind: .ldp, tokens: 144, visionWidth: 8, llmWidth: 32).referenceType == "ldpnet")
    }
}
