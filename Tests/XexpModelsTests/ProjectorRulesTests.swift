import Testing
@testable import XexpModels

struct ProjectorRulesTests {
    @Test func validCounts() {
        #expect(ProjectorKind.xdp.validTokenCounts() == [1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 64, 72, 96, 144, 192, 288, 576])
        #expect(ProjectorKind.ldpv2.validTokenCounts() == (1...24).map { $0 * $0 })
        #expect(ProjectorKind.mlp.validTokenCounts() == (1...24).map { $0 * $0 })
        #expect(ProjectorKind.linear.validTokenCounts().last == 576)
        #expect(ProjectorKind.ldp.validTokenCounts() == (1...12).map { $0 * $0 })
        #expect(ProjectorKind.xdp.validTokenCounts(grid: 6) == [1, 2, 3, 4, 6, 9, 12, 18, 36])
    }

    @Test func messages() {
        #expect(validate(projector: "xdp", tokens: 144) == nil)
        #expect(validate(projector: "xdpnet", tokens: 576) == nil)
        let xdp = validate(projector: "xdp", tokens: 100)
        #expect(xdp?.hasPrefix("100 is not a valid token count for projector \"xdp\" (576 must be divisible by it; valid: 1, 2, 3, 4, 6, 8, 9, 12, ") == true)
        #expect(xdp?.hasSuffix("288, 576)") == true)
        #expect(validate(projector: "ldpv2", tokens: 100) == nil)
        let ldp = validate(projector: "ldp", tokens: 576)
        #expect(ldp?.contains("576 is not a valid token count for projector \"ldp\"") == true)
        #expect(ldp?.hasSuffix("valid: 1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144)") == true)
        #expect(validate(projector: "mlp", tokens: 50)?.contains("valid: 1, 4, 9") == true)
        #expect(validate(projector: "mlp", tokens: 0) != nil)
        #expect(validate(projector: "xdp", tokens: -4) != nil)
        #expect(validate(projector: "xpd", tokens: 144) == "unknown projector \"xpd\" (did you mean \"xdp\"?); known: linear, mlp, ldp, ldpv2, xdp")
    }

    @Test func aliasesAndConfigErrors() throws {
        #expect(ProjectorKind(name: "mlp2x_gelu") == .mlp)
        #expect(ProjectorKind(name: "LDPNetV2") == .ldpv2)
        #expect(ProjectorKind(name: "xdpnet_4") == nil)
        #expect(ProjectorKind(name: "xdpnetv10_16") == .xdp && ProjectorKind.referenceFactor("xdpnetv10_16") == 16)
        #expect(validate(projector: "xdpnetv10_16", tokens: 36) == nil)
        #expect(validate(projector: "xdpnetv10_4", tokens: 36) == "36 is not a valid token count for projector \"xdpnetv10_4\" (the name fixes f = 4; use \"xdp\" and the token count instead; valid: 144)")
        #expect(throws: ModelError.self) { try ProjectorConfig(kind: .xdp, tokens: 100, visionWidth: 8, llmWidth: 32) }
        #expect(throws: ModelError.self) { try ProjectorConfig(kind: .xdp, tokens: 144, visionWidth: 0, llmWidth: 32) }
    }
}
