import ArgumentParser
import Foundation
import XexpModels

/// `xexp model`: a projector's or language model's layers, output token count and parameter count, and with
/// `--time` the forward time on this machine.
struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a projector or language model: layers, output tokens, parameters.",
        discussion: """
            xexp model --projector xdp --tokens 144 --vision-width 1024 --llm-width 2048
            xexp model --llm mini-xmodel-lm --vocab 66 --json
            xexp model --projector ldp --tokens 36 --vision-width 64 --llm mini-xmodel-lm --time
            Projectors: linear, mlp, ldp, ldpv2, xdp (reference names mlp2x_gelu, ldpnet, ldpnetv2, xdpnet accepted). \
            Language models: \(LLMRegistry.names.joined(separator: ", ")), or inline JSON with LLaMA config keys. \
            An invalid projector/token combination exits with status 2 and lists the valid token counts.
            """)

    @Option(help: ArgumentHelp("Projector type: linear, mlp, ldp, ldpv2 or xdp.", valueName: "type"))
    var projector: String?

    @Option(help: ArgumentHelp("Visual tokens N (default: the reference's, 576 for linear/mlp, 144 otherwise).", valueName: "n"))
    var tokens: Int?

    @Option(help: ArgumentHelp("Vision encoder width Dv (default 1024, CLIP ViT-L; the proxy encoder is 64).", valueName: "dv"))
    var visionWidth: Int = 1024

    @Option(help: ArgumentHelp("Language model width Dl (default 2048, or the width of --llm).", valueName: "dl"))
    var llmWidth: Int?

    @Option(help: ArgumentHelp("A language model: a registry name or inline JSON config.", valueName: "name"))
    var llm: String?

    @Option(help: ArgumentHelp("Vocabulary size for --llm (default: the registry's).", valueName: "v"))
    var vocab: Int?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Time the forward pass: the projector alone, or with --llm a full VLM prefill (proxy encoder of width --vision-width).")
    var time = false

    @Option(help: ArgumentHelp("Batch size for --time.", valueName: "b"))
    var batch: Int = 1

    @Option(help: ArgumentHelp("Timed runs for --time (the median is printed, after one warm-up run).", valueName: "r"))
    var repeats: Int = 5

    @Option(help: ArgumentHelp("Text tokens in the prompt for a --time prefill (besides the N visual tokens).", valueName: "t"))
    var promptTokens: Int = 54

    func run() throws {
        guard projector != nil || llm != nil else {
            throw fail("give --projector TYPE (with --tokens, --vision-width, --llm-width) or --llm NAME", status: ExitStatus.usage)
        }
        do {
            if time { try runTiming(); return }
            if let llm, projector == nil {
                let lm = try ModelReport.llm(llm, vocabSize: vocab)
                print(json ? lm.json : lm.text, terminator: json ? "\n" : "")
                return
            }
            let report = try projectorReport()
            if let llm {
                let lm = try ModelReport.llm(llm, vocabSize: vocab)
                if json { print("{\"projector\":\(report.json),\"llm\":\(lm.json),\"parameters\":\(report.parameters + lm.parameters)}") }
                else { print(report.text + "\n" + lm.text + "\nprojector + language model: \(report.parameters + lm.parameters) parameters") }
                return
            }
            print(json ? report.json : report.text, terminator: json ? "\n" : "")
        } catch let error as ModelError {
            throw fail(error.description, status: ExitStatus.usage)
        }
    }

    private func projectorReport() throws -> ModelReport {
        let kind = try ProjectorKind.parse(projector!)
        let dl = try llmWidth ?? llm.map { try ModelReport.resolveLLM($0, vocabSize: vocab).config.hiddenSize } ?? 2048
        let n = tokens ?? ProjectorKind.referenceFactor(projector!).map { 576 / max(1, $0) } ?? (kind == .linear || kind == .mlp ? 576 : 144)
        return try ModelReport.projector(projector!, tokens: n,
                                         visionWidth: visionWidth, llmWidth: dl)
    }

    private func runTiming() throws {
        guard projector != nil else { throw fail("--time needs --projector TYPE (and --llm NAME to time a full prefill)", status: ExitStatus.usage) }
        guard batch >= 1, repeats >= 1, promptTokens >= 2 else {
            throw fail("--batch and --repeats must be at least 1 and --prompt-tokens at least 2", status: ExitStatus.usage)
        }
        let report = try projectorReport()
        let kind = try ProjectorKind.parse(projector ?? "")
        let n = report.tokens!
        let config = try ProjectorConfig(kind: kind, tokens: n, visionWidth: report.visionWidth!, llmWidth: report.llmWidth!)
        let projectorMs = ModelTiming.projector(config, batch: batch, repeats: repeats)
        func ms(_ m: ModelTiming.Measurement) -> String { String(format: "%.3f ms (min %.3f)", m.median, m.minimum) }
        var line = "projector \(kind.rawValue) N=\(n) \(config.visionWidth)→\(config.llmWidth) batch \(batch): forward \(ms(projectorMs))"
        var fields = "\"projector\":\"\(kind.rawValue)\",\"tokens\":\(n),\"batch\":\(batch),\"parameters\":\(report.parameters),"
            + "\"projector_ms\":\(projectorMs.median),\"projector_min_ms\":\(projectorMs.minimum)"
        if let llm {
            var vision = VisionConfig()
            vision.hiddenSize = visionWidth
            vision.intermediateSize = 4 * visionWidth
            let (label, text) = try ModelReport.resolveLLM(llm, vocabSize: vocab)
            let vlm = VLMConfig(visionConfig: vision, textConfig: text, projectorType: kind, visualTokens: n)
            let prefillMs = try ModelTiming.prefill(vlm, batch: batch, promptTokens: promptTokens, repeats: repeats)
            line += "; VLM prefill (\(promptTokens) text + \(n) visual tokens, \(label)) \(ms(prefillMs))"
            fields += ",\"llm\":\"\(label)\",\"prompt_tokens\":\(promptTokens),\"prefill_ms\":\(prefillMs.median),\"prefill_min_ms\":\(prefillMs.minimum)"
        }
        print(json ? "{\(fields)}" : line)
    }
}
