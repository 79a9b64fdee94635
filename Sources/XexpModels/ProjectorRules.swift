/// Which visual-token counts each projector can produce, as pure functions: a spec can be rejected with a
/// message listing the valid counts before anything is built.
///
/// The encoder's patch grid is `grid × grid` (24 × 24 = 576 tokens, the paper's CLIP ViT-L/14-336 count):
///
/// | projector | valid N | how |
/// |---|---|---|
/// | `xdp` | divisors of grid² | f = grid²/N consecutive raster-order tokens concatenated (the reference's `view`) |
/// | `ldpv2` | k², 1 ≤ k ≤ grid | adaptive average pooling to k × k (the reference hard-codes 12 × 12) |
/// | `ldp` | k², 1 ≤ k ≤ grid/2 | adaptive average pooling of the Dl grid to 2k × 2k after the MLP, then the stride-2 block halves it; at k = grid/2 the pooling is the identity and this *is* the reference (144 at grid 24) |
/// | `linear`, `mlp` | k², 1 ≤ k ≤ grid | the reference layer(s) on all grid² tokens, then adaptive average pooling to k × k; at k = grid there is no pooling (the reference) |
///
/// Pooling after the layers (not before) makes `mlp` at N exactly LDPv2 without its PEG, so the projector
/// ablation at 144 tokens compares one change at a time; for `linear` the order makes no difference.
public enum ProjectorKind: String, CaseIterable, Codable, Sendable {
    case linear, mlp, ldp, ldpv2, xdp

    /// Names the reference code uses for `mm_projector_type`, accepted as aliases (`xdpnet` is XDP; the
    /// factor comes from the token count, never silently from a misspelled suffix).
    public static let aliases: [String: ProjectorKind] = [
        "mlp2x_gelu": .mlp, "ldpnet": .ldp, "ldpnetv2": .ldpv2, "xdpnet": .xdp,
    ]

    /// Parses a canonical name or a reference alias (case-insensitive), including the reference's
    /// `xdpnetv10_<f>` (whose factor ``referenceFactor(_:)`` reads; `xdpnet_<f>`, the spelling the reference
    /// silently runs as f = 4, is rejected).
    public init?(name: String) {
        let n = name.lowercased()
        if ProjectorKind.referenceFactor(n) != nil { self = .xdp; return }
        guard let kind = ProjectorKind(rawValue: n) ?? ProjectorKind.aliases[n] else { return nil }
        self = kind
    }

    /// The f of a reference `xdpnetv10_<f>` name, else nil.
    public static func referenceFactor(_ name: String) -> Int? {
        let prefix = "xdpnetv10_"
        let n = name.lowercased()
        guard n.hasPrefix(prefix), let f = Int(n.dropFirst(prefix.count)), f >= 1 else { return nil }
        return f
    }

    /// Parses a name or throws ``ModelError/unknownProjector(_:)`` (with a "did you mean").
    public static func parse(_ name: String) throws -> ProjectorKind {
        guard let kind = ProjectorKind(name: name) else { throw ModelError.unknownProjector(name) }
        return kind
    }

    /// Every valid visual-token count for a `grid × grid` patch grid, ascending.
    public func validTokenCounts(grid: Int = 24) -> [Int] {
        let all = grid * grid
        switch self {
        case .xdp: return (1...all).filter { all % $0 == 0 }
        case .ldp: return grid >= 2 ? (1...(grid / 2)).map { $0 * $0 } : []
        case .linear, .mlp, .ldpv2: return (1...grid).map { $0 * $0 }
        }
    }

    /// The rule behind ``validTokenCounts(grid:)`` in words, for error messages.
    public func rule(grid: Int = 24) -> String {
        switch self {
        case .xdp: "\(grid * grid) must be divisible by it"
        case .ldp: "it must be k² with k ≤ \(grid / 2): pooling to 2k×2k, then the stride-2 block"
        case .ldpv2: "it must be k² with k ≤ \(grid): adaptive pooling of the \(grid)×\(grid) grid to k×k"
        case .linear, .mlp: "it must be k² with k ≤ \(grid): \(grid * grid) without pooling, else adaptive pooling to k×k"
        }
    }

    /// Parses `name` and checks `tokens` against the kind's rule and, for `xdpnetv10_<f>`, against its f.
    public static func parse(_ name: String, tokens: Int, grid: Int = 24) throws -> ProjectorKind {
        let kind = try parse(name)
        let all = grid * grid
        if let f = referenceFactor(name), f * tokens != all {
            throw all % f == 0
                ? ModelError.invalidTokens(projector: name, tokens: tokens, rule: "the name fixes f = \(f); use \"xdp\" and the token count instead", valid: [all / f])
                : ModelError.invalidTokens(projector: name, tokens: tokens, rule: "the name's f = \(f) does not divide \(all); use \"xdp\" with a token count", valid: ProjectorKind.xdp.validTokenCounts(grid: grid))
        }
        try kind.validate(tokens: tokens, grid: grid)
        return kind
    }

    /// Throws ``ModelError/invalidTokens(projector:tokens:rule:valid:)`` unless `tokens` is valid.
    public func validate(tokens: Int, grid: Int = 24) throws {
        let valid = validTokenCounts(grid: grid)
        guard valid.contains(tokens) else {
            throw ModelError.invalidTokens(projector: rawValue, tokens: tokens, rule: rule(grid: grid), valid: valid)
        }
    }

    /// The pooled/regrouped grid side for perfect-square kinds (`nil` for XDP).
    func side(tokens: Int) -> Int? {
        self == .xdp ? nil : Int(Double(tokens).squareRoot().rounded())
    }
}

/// The rule check as one call for spec validation: `nil` if `projector` (a name or alias) can produce
/// `tokens` visual tokens from a `grid × grid` patch grid, else the message to show, e.g.
/// `100 is not a valid token count for projector "xdp" (576 must be divisible by it; valid: 1, 2, 3, …)`.
public func validate(projector: String, tokens: Int, grid: Int = 24) -> String? {
    do {
        _ = try ProjectorKind.parse(projector, tokens: tokens, grid: grid)
        return nil
    } catch let error as ModelError {
        return error.description
    } catch {
        return "\(error)"
    }
}

/// Everything that fixes a projector's architecture: its kind, output token count and the two widths.
public struct ProjectorConfig: Codable, Sendable, Equatable {
    public var kind: ProjectorKind
    public var tokens: Int
    public var visionWidth: Int
    public var llmWidth: Int
    /// Side of the encoder's patch grid (input tokens = grid²).
    public var grid: Int

    enum CodingKeys: String, CodingKey {
        case kind = "mm_projector_type", tokens = "num_visual_tokens", visionWidth = "mm_hidden_size"
        case llmWidth = "hidden_size", grid = "grid_size"
    }

    /// Validates the combination; throws ``ModelError`` with the valid values when it cannot be built.
    public init(kind: ProjectorKind, tokens: Int, visionWidth: Int, llmWidth: Int, grid: Int = 24) throws {
        guard visionWidth >= 1, llmWidth >= 1, grid >= 1 else {
            throw ModelError.invalidConfig("projector widths and grid must be positive (Dv \(visionWidth), Dl \(llmWidth), grid \(grid))")
        }
        try kind.validate(tokens: tokens, grid: grid)
        if kind == .ldp && llmWidth % 8 != 0 {
            // torchvision's InvertedResidualConfig rounds channels to multiples of 8, so the reference LDP
            // cannot be built at other widths.
            throw ModelError.invalidConfig("LDP needs a language-model width divisible by 8 (torchvision rounds its channels), got \(llmWidth)")
        }
        self.kind = kind
        self.tokens = tokens
        self.visionWidth = visionWidth
        self.llmWidth = llmWidth
        self.grid = grid
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let (name, tokens) = (try c.decode(String.self, forKey: .kind), try c.decode(Int.self, forKey: .tokens))
        let grid = try c.decodeIfPresent(Int.self, forKey: .grid) ?? 24
        try self.init(kind: try ProjectorKind.parse(name, tokens: tokens, grid: grid), tokens: tokens,
                      visionWidth: try c.decode(Int.self, forKey: .visionWidth), llmWidth: try c.decode(Int.self, forKey: .llmWidth), grid: grid)
    }

    /// Input tokens (grid²).
    public var inputTokens: Int { grid * grid }

    /// The architecture as data: parameters (names relative to `mm_projector.`) and readable layers.
    public var layout: ProjectorLayout {
        switch kind {
        case .linear, .mlp: LinearProjector.layout(self)
        case .ldp: LDPProjector.layout(self)
        case .ldpv2: LDPv2Projector.layout(self)
        case .xdp: XDPProjector.layout(self)
        }
    }

    /// Number of trainable scalars (from the layout; nothing is allocated).
    public var parameterCount: Int { layout.parameters.reduce(0) { $0 + $1.count } }

    /// The `mm_projector_type` string the reference code would need for this projector, where one exists.
    public var referenceType: String? {
        switch kind {
        case .linear: tokens == inputTokens ? "linear" : nil
        case .mlp: tokens == inputTokens ? "mlp2x_gelu" : nil
        case .ldp: tokens * 4 == inputTokens ? "ldpnet" : nil
        case .ldpv2: tokens * 4 == inputTokens ? "ldpnetv2" : nil
        case .xdp: "xdpnetv10_\(inputTokens / tokens)"
        }
    }
}

/// A projector's architecture as data.
public struct ProjectorLayout: Sendable, Equatable {
    /// One step of the forward pass, with the parameters it owns.
    public struct Layer: Sendable, Equatable, Codable {
        public var description: String
        public var parameters: Int
        public init(_ description: String, _ parameters: Int = 0) {
            self.description = description
            self.parameters = parameters
        }
    }
    public var layers: [Layer]
    public var parameters: [ParameterSpec]
}

/// `Linear(in→out)` with a PyTorch-initialised weight and bias, as specs named `<prefix>weight`/`<prefix>bias`.
func linearSpecs(_ prefix: String, _ inputs: Int, _ outputs: Int, bias: Bool = true) -> [ParameterSpec] {
    let initial = Initializer.torchDefault(fanIn: inputs)
    return [ParameterSpec(prefix + "weight", [outputs, inputs], initial)] + (bias ? [ParameterSpec(prefix + "bias", [outputs], initial)] : [])
}
