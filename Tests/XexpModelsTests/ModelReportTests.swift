import Foundation
import Testing
@testable import XexpModels

/// What `xexp model` prints (the command is a thin shell over ``ModelReport``).
struct ModelReportTests {
    @Test func projectorReport() throws {
        let r = try ModelReport.projector("xdpnet", tokens: 36, visionWidth: 1024, llmWidth: 2048)
        #expect(r.parameters == 37_752_832 && r.tokens == 36 && r.referenceType == "xdpnetv10_16")
        let json = try JSONSerialization.jsonObject(with: Data(r.json.utf8)) as? [String: Any]
        #expect(json?["projector"] as? String == "xdp" && json?["tokens"] as? Int == 36 && json?["parameters"] as? Int == 37_752_832)
        #expect(r.text.contains("parameters: 37,752,832 (37752832)") && r.text.contains("output tokens: 36"))
        let pooled = try ModelReport.projector("mlp", tokens: 144, visionWidth: 64, llmWidth: 128)
        #expect(pooled.referenceType == nil && pooled.layers.last?.layer.hasPrefix("AdaptiveAvgPool2d 24×24 → 12×12") == true)
        #expect(throws: ModelError.invalidTokens(projector: "xdp", tokens: 100, rule: "576 must be divisible by it",
                                                 valid: ProjectorKind.xdp.validTokenCounts())) {
            try ModelReport.projector("xdp", tokens: 100, visionWidth: 1024, llmWidth: 2048)
        }
    }

    @Test func llmReport() throws {
        let r = try ModelReport.llm("mini-xmodel-lm", vocabSize: 66)
        #expect(r.llm == "mini-xmodel-lm" && r.parameters == r.config?.parameterCount && r.parameters == 706_176)
        #expect(r.layers.reduce(0) { $0 + $1.parameters } == r.parameters)
        let custom = try ModelReport.llm(#"{"vocab_size": 10, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}"#)
        #expect(custom.llm == "custom" && custom.config?.numKeyValueHeads == 2)
        #expect(throws: ModelError.self) { try ModelReport.llm(#"{"hidden_size": 32}"#) }
        #expect(throws: ModelError.self) { try ModelReport.llm("llama") }
    }
}
