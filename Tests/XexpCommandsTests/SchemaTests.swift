import Foundation
import Testing
import XexpOrchestration

/// `xexp schema` and `Experiments/spec.schema.json`: the committed file is the command's output, every committed spec
/// names it and is valid against it, and it rejects what the parser rejects for the values it describes.
@Suite("spec JSON Schema")
struct SchemaTests {
    static let experiments = repositoryRoot.appendingPathComponent("Experiments")

    func committedSchema() throws -> JSONValue {
        try JSONParser.parse(String(contentsOf: Self.experiments.appendingPathComponent("spec.schema.json"), encoding: .utf8))
    }

    @Test func theCommittedSchemaIsTheCommandsOutput() throws {
        let out = try Sandbox().run("schema")
        #expect(out.status == 0)
        #expect(out.stdout == (try String(contentsOf: Self.experiments.appendingPathComponent("spec.schema.json"), encoding: .utf8)),
                "Experiments/spec.schema.json is stale: regenerate it with `xexp schema > Experiments/spec.schema.json`")
    }

    @Test func everyCommittedSpecNamesTheSchemaAndIsValid() throws {
        let schema = try committedSchema()
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.experiments.path).filter { $0.hasSuffix(".json") && $0 != "spec.schema.json" }
        #expect(files.count >= 8)
        for file in files {
            let spec = try JSONParser.parse(String(contentsOf: Self.experiments.appendingPathComponent(file), encoding: .utf8))
            #expect(spec["$schema"] == .string("spec.schema.json"), "\(file) does not name the schema")
            let errors = SchemaValidator.errors(spec, schema)
            #expect(errors.isEmpty, "\(file): \(errors)")
        }
    }

    @Test func rejectsBadValuesAsTheParserDoes() throws {
        let schema = try committedSchema()
        let bad: [(String, String)] = [
            (#"{"name": "x", "base": {"projector": "mpl"}}"#, "/base/projector"),
            (#"{"name": "x", "grid": {"tokens": [144, 0]}}"#, "/grid/tokens/1"),
            (#"{"name": "x", "base": {"finetune_lr": "fast"}}"#, "/base/finetune_lr"),
            (#"{"name": "x", "base": {"benchmarks": "gqa,foo"}}"#, "/base/benchmarks"),
            (#"{"name": "x", "base": {"projecter": "mlp"}}"#, "/base/projecter"),
            (#"{"name": "X y"}"#, "/name"),
            (#"{"name": "x", "stages": [{"name": "s"}]}"#, "/stages/0"),
            (#"{"name": "x", "gird": {}}"#, "/gird"),
        ]
        for (text, pointer) in bad {
            let errors = SchemaValidator.errors(try JSONParser.parse(text), schema)
            #expect(errors.contains { $0.hasPrefix(pointer + ":") }, "\(text): \(errors)")
        }
        // Command stages may use any parameter: the pipeline's restrictions apply only without stages.
        #expect(SchemaValidator.errors(try JSONParser.parse(#"{"name": "x", "base": {"anything": 1}, "stages": [{"name": "s", "command": ["true"]}]}"#), schema).isEmpty)
    }
}

/// The part of JSON Schema 2020-12 that the spec schema uses: type, enum, const, properties, additionalProperties,
/// required, items, minItems, minimum, maximum, exclusiveMinimum, pattern, anyOf, if/then/else. Annotations
/// ($schema, $id, title, description) are ignored.
enum SchemaValidator {
    static func errors(_ v: JSONValue, _ s: JSONValue, at path: String = "") -> [String] {
        guard case .object = s else { return [] }
        var out: [String] = []
        func fail(_ m: String) { out.append("\(path.isEmpty ? "/" : path): \(m)") }
        if let t = s["type"] {
            let types: [String] = { if case .array(let a) = t { return a.compactMap { if case .string(let x) = $0 { return x }; return nil } }; if case .string(let x) = t { return [x] }; return [] }()
            if !types.contains(where: { matches(v, $0) }) { fail("not of type \(types)") }
        }
        if case .array(let options)? = s["enum"], !options.contains(v) { fail("not one of \(options.map(\.jsonText))") }
        if let c = s["const"], c != v { fail("not \(c.jsonText)") }
        if case .number(let d, _) = v {
            if case .number(let m, _)? = s["minimum"], d < m { fail("below \(m)") }
            if case .number(let m, _)? = s["maximum"], d > m { fail("above \(m)") }
            if case .number(let m, _)? = s["exclusiveMinimum"], d <= m { fail("not above \(m)") }
        }
        if case .string(let text) = v, case .string(let p)? = s["pattern"], text.range(of: p, options: .regularExpression) == nil { fail("does not match \(p)") }
        if case .object(let members) = v {
            var properties: [String: JSONValue] = [:]
            if case .object(let ps)? = s["properties"] { for p in ps { properties[p.key] = p.value } }
            for m in members {
                let sub = path + "/" + m.key
                if let ps = properties[m.key] { out += errors(m.value, ps, at: sub) }
                else if let extra = s["additionalProperties"] {
                    if extra == .bool(false) { out.append("\(sub): not allowed") } else { out += errors(m.value, extra, at: sub) }
                }
            }
            if case .array(let required)? = s["required"] {
                for case .string(let r) in required where !members.contains(where: { $0.key == r }) { fail("lacks \(r)") }
            }
        }
        if case .array(let items) = v {
            if case .number(let n, _)? = s["minItems"], Double(items.count) < n { fail("fewer than \(Int(n)) items") }
            if let itemSchema = s["items"] { for (i, item) in items.enumerated() { out += errors(item, itemSchema, at: path + "/\(i)") } }
        }
        if case .array(let options)? = s["anyOf"], !options.contains(where: { errors(v, $0, at: path).isEmpty }) { fail("matches none of anyOf") }
        if let condition = s["if"] {
            if errors(v, condition, at: path).isEmpty { if let then = s["then"] { out += errors(v, then, at: path) } }
            else if let otherwise = s["else"] { out += errors(v, otherwise, at: path) }
        }
        return out
    }

    static func matches(_ v: JSONValue, _ type: String) -> Bool {
        switch (type, v) {
        case ("string", .string), ("boolean", .bool), ("object", .object), ("array", .array), ("null", .null), ("number", .number): return true
        case ("integer", .number(let d, _)): return d == d.rounded()
        default: return false
        }
    }
}
