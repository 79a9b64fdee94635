/// A pipeline of stages that xexp provides itself, used when a spec has no `stages`.
///
/// The orchestration library only knows this protocol; the learning side implements it (its stages are ordinary
/// argv commands that run the `xexp` binary in worker mode), and the command line passes it in. So the
/// orchestrator still knows jobs, never tensors.
public protocol BuiltinPipeline: Sendable {
    /// Every parameter the pipeline reads; any other parameter in a spec is reported as unknown.
    var parameterNames: [String] { get }

    /// Values for parameters a spec leaves out; added to every trial (so they are recorded with it).
    var defaults: Parameters { get }

    /// The metrics `xexp table` shows by default for sweeps of this pipeline, in column order (`STAGE.METRIC`).
    var headlineMetrics: [String] { get }

    /// Checks one trial's parameters (after defaults are applied). Each problem names the parameter at fault, so
    /// the error can point at the value in the spec, and says what the valid values are.
    func validate(_ parameters: Parameters) -> [(parameter: String, message: String)]

    /// The stages for these trials. A stage's `appliesTo` may leave it out of some trials (e.g. a benchmark a
    /// trial does not list). Stage identity should carry a version of the pipeline's code in `identitySalt`.
    func stages(for trials: [Trial]) -> [StageSpec]

    /// What decides the stages' bits besides their inputs (library versions, kernels, engine version): recorded per
    /// attempt and in cache manifests; a cache entry made under another fingerprint is not served.
    var numericsFingerprint: String? { get }

    /// Each parameter's JSON Schema (its valid values), for `xexp schema` and editors.
    var parameterSchemas: [(name: String, schema: JSONValue)] { get }
}

/// argv[0] of built-in stages: replaced at launch by the path of the running `xexp` binary, and left as is in job
/// identity, so a job's id does not depend on where xexp is installed.
public let selfExecutablePlaceholder = "@xexp"

extension ExperimentSpec {
    /// The JSON pointer of the place in the spec that gave `name` the value `value` (for error messages).
    public func location(of name: String, value: ParameterValue?) -> JSONPointer {
        if name == "seed" {
            if case .number(let d, _)? = value, let i = seeds.firstIndex(where: { Double($0) == d }) { return JSONPointer(["seeds", String(i)]) }
            return JSONPointer(["seeds"])
        }
        if let axis = grid.first(where: { $0.name == name }) {
            return JSONPointer(["grid", name] + (value.flatMap { axis.values.firstIndex(of: $0) }.map { [String($0)] } ?? []))
        }
        if let axis = zip.first(where: { $0.name == name }) {
            return JSONPointer(["zip", name] + (value.flatMap { axis.values.firstIndex(of: $0) }.map { [String($0)] } ?? []))
        }
        if let i = include.firstIndex(where: { $0[name] != nil && (value == nil || $0[name] == value) }) {
            return JSONPointer(["include", String(i), name])
        }
        if base[name] != nil { return JSONPointer(["base", name]) }
        return JSONPointer(["base"])
    }
}

extension BuiltinPipeline {
    public var numericsFingerprint: String? { nil }
}
