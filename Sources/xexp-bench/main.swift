import Foundation
import XexpData
import XexpLearning
import XexpModels
import XexpPipeline

/// xexp-bench: performance figures for the learning engine, and a probe of pretrained LMs.
///
///     xexp-bench train-step [--threads 1,2] [--widths 128,256] [--seqs 64,128,256,512,640] [--steps N] [--no-torch]
///     xexp-bench write-checkpoint <path>      one training step of the width-128 model, then a checkpoint
///                                             (read it with: python3 Tests/check_checkpoint.py <path>)
///     xexp-bench probe-lm <lm.safetensors> [--transcript]   per-family answers of an LM from a description (ContextProbe)
///     xexp-bench stage-profile <encoder.safetensors> <lm.safetensors> [--tokens 1,144,576] [--steps N] [--batch B] [--align]
///                                             where a tuning step's time goes (encoder features vs the rest)
///     xexp-bench dump-corpus <count> [--start N] [--family F]  LM-pretraining samples as JSON lines
///     xexp-bench train-lm-corpus <train.jsonl> <eval.jsonl> [--steps N] [--batch B] [--llm CONFIG] [--answer-weight W]
///                                             this engine's side of Benchmarks/lm_corpus_torch.py
let usage = """
usage: xexp-bench train-step [--threads 1,2] [--widths 128,256] [--seqs 64,128,256,512,640] [--steps N] [--batch B] [--no-torch] [--torch-script PATH]
       xexp-bench write-checkpoint <path>
       xexp-bench probe-lm <lm.safetensors> [--transcript]
       xexp-bench stage-profile <encoder.safetensors> <lm.safetensors> [--tokens 1,144,576] [--steps N] [--batch B] [--align]
       xexp-bench dump-corpus <count> [--start N] [--family F]
       xexp-bench train-lm-corpus <train.jsonl> <eval.jsonl> [--steps N] [--batch B] [--llm CONFIG] [--answer-weight W] [--from lm.safetensors]
"""

func listOption(_ args: [String], _ name: String, default value: [Int]) -> [Int] {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return value }
    let parsed = args[i + 1].split(separator: ",").compactMap { Int($0) }
    guard !parsed.isEmpty, parsed.allSatisfy({ $0 > 0 }) else {
        FileHandle.standardError.write("xexp-bench: \(name) expects positive integers separated by commas, got \"\(args[i + 1])\"\n".data(using: .utf8)!)
        exit(2)
    }
    return parsed
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "train-step":
    let options = TrainStepOptions(
        threads: listOption(args, "--threads", default: [1, 2]),
        widths: listOption(args, "--widths", default: [128, 256]),
        seqs: listOption(args, "--seqs", default: [64, 128, 256, 512, 640]),
        batch: listOption(args, "--batch", default: [8])[0],
        steps: listOption(args, "--steps", default: [0])[0],
        runTorch: !args.contains("--no-torch"),
        torchScript: args.firstIndex(of: "--torch-script").map { args[$0 + 1] } ?? "Benchmarks/train_step_torch.py")
    runTrainStepBenchmark(options)
case "probe-lm":
    // What a pretrained LM answers from a description in its context, per question family (see ContextProbe).
    guard args.count == 2 || (args.count == 3 && args[2] == "--transcript") else { print(usage); exit(2) }
    do {
        let checkpoint = try Checkpoint.load(from: args[1])
        let config = try JSONDecoder().decode(LLMConfig.self, from: Data(checkpoint.config.utf8))
        var rng = Philox(seed: 0)
        let model = try LanguageModel(config: config, rng: &rng)
        try checkpoint.restore(into: model.weights.parameters)
        for (name, value) in ContextProbe.metrics(model, data: try SyntheticData(seed: 0), scenes: 512, transcript: args.count == 3) { print(name, value) }
    } catch {
        FileHandle.standardError.write("xexp-bench: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
case "stage-profile":
    guard args.count >= 3 else { print(usage); exit(2) }
    do {
        try runStageProfile(vision: args[1], lm: args[2], tokens: listOption(args, "--tokens", default: [1, 144, 576]),
                            steps: listOption(args, "--steps", default: [10])[0], batch: listOption(args, "--batch", default: [16])[0],
                            stage: args.contains("--align") ? "align" : "finetune")
    } catch {
        FileHandle.standardError.write("xexp-bench: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
case "dump-corpus":
    guard args.count >= 2, let count = Int(args[1]), count > 0 else { print(usage); exit(2) }
    var start = 0  // sample index of the first line (listOption takes only positive numbers, and 0 is the default)
    if let i = args.firstIndex(of: "--start") {
        guard i + 1 < args.count, let n = Int(args[i + 1]), n >= 0 else {
            FileHandle.standardError.write("xexp-bench: --start expects a sample index ≥ 0\n".data(using: .utf8)!)
            exit(2)
        }
        start = n
    }
    var family: QuestionFamily?
    if let i = args.firstIndex(of: "--family") {
        guard i + 1 < args.count, let f = QuestionFamily(rawValue: args[i + 1]) else {
            FileHandle.standardError.write("xexp-bench: --family expects one of \(QuestionFamily.allCases.map(\.rawValue).joined(separator: ", "))\n".data(using: .utf8)!)
            exit(2)
        }
        family = f
    }
    do { try dumpCorpus(count: count, start: start, family: family) } catch {
        FileHandle.standardError.write("xexp-bench: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
case "train-lm-corpus":
    guard args.count >= 3 else { print(usage); exit(2) }
    var llm = "mini-xmodel-lm"
    if let i = args.firstIndex(of: "--llm") {
        guard i + 1 < args.count else { print(usage); exit(2) }
        llm = args[i + 1]
    }
    do {
        let steps = args.firstIndex(of: "--steps").flatMap { i in i + 1 < args.count ? Int(args[i + 1]) : nil } ?? 600
        guard steps >= 0 else { print(usage); exit(2) }
        try trainOnDumpedCorpus(train: args[1], eval: args[2], steps: steps,
                                batch: listOption(args, "--batch", default: [16])[0], lr: 1e-3, llm: llm,
                                answerWeight: Float(args.firstIndex(of: "--answer-weight").flatMap { i in i + 1 < args.count ? Double(args[i + 1]) : nil } ?? 0),
                                from: args.firstIndex(of: "--from").flatMap { i in i + 1 < args.count ? args[i + 1] : nil })
    } catch {
        FileHandle.standardError.write("xexp-bench: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
case "write-checkpoint":
    guard args.count == 2 else { print(usage); exit(2) }
    do { try writeSampleCheckpoint(to: args[1]) } catch {
        FileHandle.standardError.write("xexp-bench: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
default:
    print(usage)
    exit(args.isEmpty ? 0 : 2)
}
