import Foundation

/// The JSON Schema (draft 2020-12) of an experiment spec, for editors: `xexp schema` prints it, and the committed
/// specs name it in `"$schema"` so an editor completes keys and flags bad values as you type. The parser stays the
/// authority (it also checks what a schema cannot: placeholders, stage references, token counts per projector);
/// the schema accepts every spec the parser accepts for the parts it describes.
///
/// With a built-in pipeline (a spec without `stages`), `base`, `grid`, `zip`, `include` and `exclude` may name only
/// its parameters, each with its valid values (``BuiltinPipeline/parameterSchemas``).
public enum SpecSchema {
    public static func schema(pipeline: (any BuiltinPipeline)?) -> JSONValue {
        let value = JSONValue.object([("type", .array([.string("string"), .string("number"), .string("boolean")]))])
        func object(_ properties: [(String, JSONValue)], required: [String] = [], additional: JSONValue = .bool(false), description: String? = nil) -> JSONValue {
            var members: [(key: String, value: JSONValue)] = []
            if let description { members.append(("description", .string(description))) }
            members += [("type", .string("object")), ("properties", .object(properties.map { ($0.0, $0.1) }))]
            if !required.isEmpty { members.append(("required", .array(required.map { .string($0) }))) }
            members.append(("additionalProperties", additional))
            return .object(members)
        }
        func array(_ items: JSONValue, minItems: Int = 1) -> JSONValue {
            .object([("type", .string("array")), ("items", items), ("minItems", .number(Double(minItems)))])
        }
        let anyParameters = JSONValue.object([("type", .string("object")), ("additionalProperties", value)])
        let anyAxes = JSONValue.object([("type", .string("object")), ("additionalProperties", array(value))])
        let stage = object([
            ("name", .object([("type", .string("string")), ("description", .string("the stage's name; jobs of this stage are STAGE in tables (STAGE.METRIC)"))])),
            ("command", .object([("description", .string("argv; {PARAM}, {seed}, {STAGE.dir} and {job.dir} are substituted")), ("type", .string("array")), ("items", .object([("type", .string("string"))])), ("minItems", .number(1))])),
            ("after", array(.object([("type", .string("string"))]), minItems: 0)),
            ("env", .object([("type", .string("object")), ("additionalProperties", .object([("type", .string("string"))]))])),
            ("timeout", .object([("type", .string("number")), ("exclusiveMinimum", .number(0))])),
            ("retries", .object([("type", .string("integer")), ("minimum", .number(0))])),
            ("cost", .object([("type", .string("number")), ("exclusiveMinimum", .number(0))])),
            ("slurm", .object([("type", .string("object"))])),
            ("cache", .object([("type", .string("boolean"))])),
            ("outputs", array(.object([("type", .string("string"))]), minItems: 0)),
            ("exclusive", .object([("type", .string("boolean"))])),
        ], required: ["name", "command"])

        let base = anyParameters, axes = anyAxes, patterns = anyParameters
        let top: [(String, JSONValue)] = [
            ("$schema", .object([("type", .string("string")), ("description", .string("this schema, for editors; ignored by xexp"))])),
            ("name", .object([("type", .string("string")), ("pattern", .string("^[a-z0-9._-]+$")), ("description", .string("the sweep's identity in the store"))])),
            ("description", .object([("type", .string("string"))])),
            ("base", base),
            ("grid", axes),
            ("zip", axes),
            ("include", array(patterns, minItems: 0)),
            ("exclude", array(patterns, minItems: 0)),
            ("seeds", array(.object([("type", .string("integer")), ("minimum", .number(0))]))),
            ("stages", array(stage)),
            ("cache", array(.object([("type", .string("string"))]), minItems: 0)),
        ]
        var root = object(top, required: ["name"], description: "An xexp experiment spec (xexp schema). Without \"stages\" it runs the built-in VLM pipeline.")
        guard case .object(var members) = root else { return root }
        // Without stages, the built-in pipeline's parameters only, each with its valid values.
        if let pipeline, !pipeline.parameterSchemas.isEmpty {
            let schemas = pipeline.parameterSchemas
            let builtin: [(String, JSONValue)] = [
                ("base", object(schemas.map { ($0.name, $0.schema) })),
                ("grid", object(schemas.map { ($0.name, array($0.schema)) })),
                ("zip", object(schemas.map { ($0.name, array($0.schema)) })),
                ("include", array(object(schemas.map { ($0.name, $0.schema) }), minItems: 0)),
                ("exclude", array(object(schemas.map { ($0.name, $0.schema) } + [("seed", .object([("type", .string("integer"))]))]), minItems: 0)),
            ]
            members.append(("if", .object([("required", .array([.string("stages")]))])))
            members.append(("else", .object([("properties", .object(builtin.map { ($0.0, $0.1) }))])))
        }
        members.insert(("$schema", .string("https://json-schema.org/draft/2020-12/schema")), at: 0)
        members.insert(("$id", .string("xexp-spec.schema.json")), at: 1)
        members.insert(("title", .string("xexp experiment spec")), at: 2)
        root = .object(members)
        return root
    }
}

extension BuiltinPipeline {
    /// No per-parameter schemas unless the pipeline says (then any parameter value passes the schema; the parser checks).
    public var parameterSchemas: [(name: String, schema: JSONValue)] { [] }
}
