import XexpLearning

/// Greedy (temperature 0) decoding, as every benchmark of §4 is answered.
public struct GenerationResult: Sendable, Equatable {
    /// New tokens, without the stop token.
    public var tokens: [Int32]
    /// The stop token that ended generation, or nil if the length limit did.
    public var stopToken: Int32?
}

extension VLM {
    /// Greedily continues `prompt` (ids with at most one `<image>` placeholder; `visual` holds one image or
    /// feature map) until a token in `stopTokens` (end of turn) or `maxNewTokens` new tokens.
    ///
    /// With `useCache` the prompt is prefilled once and each new token runs alone against the per-layer KV
    /// cache; without it every step re-runs the whole sequence. Both give the same tokens (tested).
    public func generate(prompt: [Int32], visual: VisualInput?, maxNewTokens: Int, stopTokens: Set<Int32>,
                         useCache: Bool = true) -> GenerationResult {
        precondition(!prompt.isEmpty, "generation needs a non-empty prompt")
        return Autograd.noGrad {
            let v = visual.map { visualTokens($0) }
            if let v { precondition(v.shape[0] == 1, "generate takes one image, got a batch of \(v.shape[0])") }
            var out: [Int32] = []
            let cache = useCache ? languageModel.makeCache(batch: 1, capacity: expandedLength(prompt) + maxNewTokens) : nil
            var next = nextToken(prompt, generated: [], visualTokens: v, cache: cache)
            while out.count < maxNewTokens {
                if stopTokens.contains(next) { return GenerationResult(tokens: out, stopToken: next) }
                out.append(next)
                if out.count == maxNewTokens { break }
                if let cache {
                    let x = languageModel.embed([next], shape: [1, 1])
                    next = argmax(languageModel(x, cache: cache))
                } else {
                    next = nextToken(prompt, generated: out, visualTokens: v, cache: nil)
                }
            }
            return GenerationResult(tokens: out, stopToken: nil)
        }
    }

    /// A prompt's beginning, run once: the KV cache after `prefix` (text up to and including the `<image>`
    /// placeholder). Benchmarks ask several questions about one image (POPE 18, MMBench one per option rotation,
    /// and the blind baseline asks every image again), and the visual tokens are most of each prompt: continuing
    /// a prefilled prefix skips recomputing them.
    public struct PrefilledPrefix {
        public let cache: [KVCache]
    }

    /// Prefills `prefix` (ids with at most one placeholder; `visual` one image or feature map).
    public func prefill(_ prefix: [Int32], visual: VisualInput?) -> PrefilledPrefix {
        precondition(!prefix.isEmpty, "prefill needs a non-empty prefix")
        return Autograd.noGrad {
            let v = visual.map { visualTokens($0) }
            if let v { precondition(v.shape[0] == 1, "prefill takes one image, got a batch of \(v.shape[0])") }
            let cache = languageModel.makeCache(batch: 1, capacity: expandedLength(prefix))
            let (x, _, _) = inputEmbeddings([VLMExample(prompt: prefix)], visualTokens: v)
            _ = languageModel.hiddenStates(x, cache: cache)
            return PrefilledPrefix(cache: cache)
        }
    }

    /// Greedily continues `prefix` + `suffix` (`suffix` is text: no placeholder), as ``generate(prompt:visual:maxNewTokens:stopTokens:useCache:)``
    /// would continue the whole prompt; `prefix` is left as it was, for the next suffix. The tokens match the
    /// whole-prompt path's (tested); the floating-point sums differ in order, so ties could break differently.
    public func generate(after prefix: PrefilledPrefix, suffix: [Int32], maxNewTokens: Int, stopTokens: Set<Int32>) -> GenerationResult {
        precondition(!suffix.isEmpty, "generation after a prefix needs a non-empty suffix")
        precondition(!suffix.contains(config.imageTokenIndex), "the suffix after a prefilled prefix is text; the image belongs in the prefix")
        return Autograd.noGrad {
            let start = prefix.cache[0].length
            let cache = prefix.cache.map { KVCache(copying: $0, capacity: start + suffix.count + maxNewTokens) }
            let h = languageModel.hiddenStates(languageModel.embed(suffix, shape: [1, suffix.count]), cache: cache)
            var next = argmax(languageModel.logits(h.slice(axis: 1, (h.shape[1] - 1)..<h.shape[1])))
            var out: [Int32] = []
            while out.count < maxNewTokens {
                if stopTokens.contains(next) { return GenerationResult(tokens: out, stopToken: next) }
                out.append(next)
                if out.count == maxNewTokens { break }
                next = argmax(languageModel(languageModel.embed([next], shape: [1, 1]), cache: cache))
            }
            return GenerationResult(tokens: out, stopToken: nil)
        }
    }

    /// The greedy next token after the prompt and the tokens generated so far (filling `cache` when given).
    /// Generated tokens are text even if one happens to be the placeholder id, as they are on the cached path.
    private func nextToken(_ prompt: [Int32], generated: [Int32], visualTokens v: Tensor?, cache: [KVCache]?) -> Int32 {
        var (x, _, _) = inputEmbeddings([VLMExample(prompt: prompt)], visualTokens: v)
        if !generated.isEmpty { x = concat([x, languageModel.embed(generated, shape: [1, generated.count])], axis: 1) }
        let h = languageModel.hiddenStates(x, cache: cache)
        return argmax(languageModel.logits(h.slice(axis: 1, (h.shape[1] - 1)..<h.shape[1])))
    }

    /// Next-token logits `[B, V]` at each example's last real position, in one batched (right-padded) prefill:
    /// a single-token answer for a whole batch of questions without a decoding loop.
    public func lastTokenLogits(_ examples: [VLMExample], visual: VisualInput?) -> Tensor {
        Autograd.noGrad {
            let v = visual.map { visualTokens($0) }
            let (x, padding, lengths) = inputEmbeddings(examples, visualTokens: v)
            let h = languageModel.hiddenStates(x, keyPadding: padding)
            let rows = lengths.enumerated().map { b, n in h.slice(axis: 0, b..<(b + 1)).slice(axis: 1, (n - 1)..<n) }
            let last = rows.count == 1 ? rows[0] : concat(rows, axis: 0)
            return languageModel.logits(last).reshaped([examples.count, config.textConfig.vocabSize])
        }
    }
}

/// Index of the largest of the last row of `logits` (the first on ties, as `torch.argmax`).
func argmax(_ logits: Tensor) -> Int32 {
    let v = logits.shape.last!
    let row = logits.data + (logits.count - v)
    var best = 0
    for i in 1..<v where row[i] > row[best] { best = i }
    return Int32(best)
}
