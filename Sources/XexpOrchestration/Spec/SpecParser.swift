import Foundation

/// Reads a spec file and validates it completely before anything runs.
///
/// Validation is exhaustive on purpose: a sweep that fails after an hour because of a typo in its last stage is the
/// failure this tool exists to prevent. Every error names the file, the JSON pointer and the fix.
public enum SpecParser {
    /// `$schema` names the JSON Schema for editors (`xexp schema`); xexp ignores it.
    static let topLevelKeys = ["$schema", "name", "description", "base", "grid", "zip", "include", "exclude", "seeds", "stages", "cache"]
    static let stageKeys = ["name", "command", "after", "env", "timeout", "retries", "cost", "slurm", "cache", "outputs", "exclusive"]

    /// Loads and validates the spec at `url`. `displayPath` is how the file is named in errors (as the user typed it).
    public static func load(contentsOf url: URL, displayPath: String? = nil, pipeline: (any BuiltinPipeline)? = nil) throws(SpecError) -> ExperimentSpec {
        let shown = displayPath ?? url.path
        return try parse(text: readText(contentsOf: url, displayPath: shown), fileURL: url.standardizedFileURL, displayPath: shown, pipeline: pipeline)
    }

    /// The spec file's text, or an error that names the file and what to do.
    static func readText(contentsOf url: URL, displayPath shown: String) throws(SpecError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw SpecError(file: shown, location: "", message: "no such file; check the path (specs usually live in Experiments/)")
        }
        guard !isDirectory.boolValue else {
            throw SpecError(file: shown, location: "", message: "is a directory, not a spec file; name a .json file inside it")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw SpecError(file: shown, location: "", message: "cannot be read (\(error.localizedDescription)); check its permissions")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SpecError(file: shown, location: "", message: "is not UTF-8 text; save it as UTF-8 JSON")
        }
        return text
    }

    /// Validates spec `text` as if it had been read from `fileURL`.
    public static func parse(text: String, fileURL: URL, displayPath: String, pipeline: (any BuiltinPipeline)? = nil) throws(SpecError) -> ExperimentSpec {
        let root: JSONValue
        do { root = try JSONParser.parse(text) } catch {
            throw SpecError(file: displayPath, location: "line \(error.line), column \(error.column)",
                            message: "invalid JSON: \(error.message)")
        }
        var v = Validator(file: displayPath, pipeline: pipeline)
        return try v.spec(root, fileURL: fileURL, text: text)
    }
}

/// The validation walk; kept apart from the I/O so each rule reads as one small function.
struct Validator {
    let file: String
    var pipeline: (any BuiltinPipeline)? = nil

    func fail(_ pointer: JSONPointer, _ message: String) -> SpecError {
        SpecError(file: file, location: pointer.description, message: message)
    }

    func object(_ value: JSONValue, at pointer: JSONPointer, what: String) throws(SpecError) -> [(key: String, value: JSONValue)] {
        guard case .object(let members) = value else {
            throw fail(pointer, "expected \(what) (a JSON object), found \(value.kindName)")
        }
        return members
    }

    func array(_ value: JSONValue, at pointer: JSONPointer, what: String, nonEmpty: Bool = true) throws(SpecError) -> [JSONValue] {
        guard case .array(let items) = value else {
            throw fail(pointer, "expected \(what) (a JSON array), found \(value.kindName)")
        }
        if nonEmpty && items.isEmpty { throw fail(pointer, "\(what) must not be empty; list at least one value or remove the key") }
        return items
    }

    func string(_ value: JSONValue, at pointer: JSONPointer, what: String) throws(SpecError) -> String {
        guard case .string(let s) = value else { throw fail(pointer, "expected \(what) (a string), found \(value.kindName)") }
        return s
    }

    func parameterValue(_ value: JSONValue, at pointer: JSONPointer) throws(SpecError) -> ParameterValue {
        guard let p = ParameterValue(json: value) else {
            throw fail(pointer, "parameter values must be strings, numbers or booleans, found \(value.kindName)")
        }
        if case .string(let s) = p { try checkNoNUL(s, at: pointer) }
        return p
    }

    /// argv and environment strings are C strings: a NUL would cut the text a program receives, so two values that
    /// differ after it would run the same command under different job ids.
    func checkNoNUL(_ s: String, at pointer: JSONPointer) throws(SpecError) {
        if s.utf8.contains(0) {
            throw fail(pointer, "contains a NUL character (\\u0000), which cannot reach a program: argv and environment strings end at the first NUL; remove it")
        }
    }

    func checkKeys(_ members: [(key: String, value: JSONValue)], allowed: [String], at pointer: JSONPointer, what: String) throws(SpecError) {
        for member in members where !allowed.contains(member.key) {
            var message = "unknown key \"\(member.key)\" in \(what)"
            if let guess = suggestion(for: member.key, among: allowed) { message += "; did you mean '\(guess)'?" }
            else { message += "; allowed keys: \(allowed.joined(separator: ", "))" }
            throw fail(pointer.appending(member.key), message)
        }
    }

    func checkParameterName(_ name: String, at pointer: JSONPointer) throws(SpecError) {
        guard isIdentifier(name) else {
            throw fail(pointer, "parameter name \"\(name)\" must start with a letter or '_' and contain only letters, digits and '_' (it is used as {\(name)} in commands)")
        }
        if name == "seed" {
            throw fail(pointer, "\"seed\" is set by the top-level \"seeds\" array; list seeds there instead")
        }
    }

    func parameters(_ value: JSONValue, at pointer: JSONPointer, what: String) throws(SpecError) -> Parameters {
        var params = Parameters()
        for member in try object(value, at: pointer, what: what) {
            let p = pointer.appending(member.key)
            try checkParameterName(member.key, at: p)
            params[member.key] = try parameterValue(member.value, at: p)
        }
        return params
    }

    func axes(_ value: JSONValue, at pointer: JSONPointer, what: String) throws(SpecError) -> [(name: String, values: [ParameterValue])] {
        var result: [(name: String, values: [ParameterValue])] = []
        for member in try object(value, at: pointer, what: what) {
            let p = pointer.appending(member.key)
            try checkParameterName(member.key, at: p)
            let items = try array(member.value, at: p, what: "the values of \"\(member.key)\"")
            var values: [ParameterValue] = []
            var seen = Set<ParameterValue>()
            for (i, item) in items.enumerated() {
                let v = try parameterValue(item, at: p.appending(i))
                if !seen.insert(v).inserted { throw fail(p.appending(i), "duplicate value \(item.jsonText); each value may appear once") }
                values.append(v)
            }
            result.append((member.key, values))
        }
        return result
    }

    mutating func spec(_ root: JSONValue, fileURL: URL, text: String) throws(SpecError) -> ExperimentSpec {
        let top = JSONPointer()
        let members = try object(root, at: top, what: "a spec")
        try checkKeys(members, allowed: SpecParser.topLevelKeys, at: top, what: "the spec")

        guard let nameValue = root["name"] else {
            throw fail(top, "missing required key \"name\"; add e.g. \"name\": \"my-sweep\" (lowercase letters, digits, '.', '_', '-')")
        }
        let name = try string(nameValue, at: top.appending("name"), what: "the sweep name")
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ "abcdefghijklmnopqrstuvwxyz0123456789._-".unicodeScalars.contains($0) }) else {
            throw fail(top.appending("name"), "sweep name \"\(name)\" may contain only lowercase letters, digits, '.', '_' and '-'")
        }
        var description: String?
        if let d = root["description"] { description = try string(d, at: top.appending("description"), what: "a description") }
        if let s = root["$schema"] { _ = try string(s, at: top.appending("$schema"), what: "the schema's path or URL (xexp schema > spec.schema.json)") }

        let base = try root["base"].map { (v) throws(SpecError) in try parameters(v, at: top.appending("base"), what: "\"base\"") } ?? Parameters()
        let grid = try root["grid"].map { (v) throws(SpecError) in try axes(v, at: top.appending("grid"), what: "\"grid\"") } ?? []
        let zip = try root["zip"].map { (v) throws(SpecError) in try axes(v, at: top.appending("zip"), what: "\"zip\"") } ?? []
        if root["grid"] != nil && grid.isEmpty { throw fail(top.appending("grid"), "\"grid\" is empty; add a parameter with its values or remove the key") }
        if root["zip"] != nil && zip.isEmpty { throw fail(top.appending("zip"), "\"zip\" is empty; add parameters with their values or remove the key") }
        if let first = zip.first {
            for axis in zip.dropFirst() where axis.values.count != first.values.count {
                throw fail(top.appending("zip").appending(axis.name),
                           "zip lists must have equal lengths: \"\(axis.name)\" has \(axis.values.count) values but \"\(first.name)\" has \(first.values.count)")
            }
        }
        // A parameter defined twice would make the trial set depend on which definition wins: reject it.
        var definedAt: [String: String] = [:]
        for n in base.names { definedAt[n] = "base" }
        for (section, list) in [("grid", grid.map(\.name)), ("zip", zip.map(\.name))] {
            for n in list {
                if let other = definedAt[n] {
                    throw fail(top.appending(section).appending(n), "parameter \"\(n)\" is also defined in \"\(other)\"; define it in one place")
                }
                definedAt[n] = section
            }
        }

        var include: [Parameters] = []
        if let inc = root["include"] {
            for (i, item) in try array(inc, at: top.appending("include"), what: "\"include\"").enumerated() {
                let p = try parameters(item, at: top.appending("include").appending(i), what: "an included trial")
                if p.names.isEmpty { throw fail(top.appending("include").appending(i), "an included trial must set at least one parameter") }
                include.append(p)
            }
        }
        var known = Set(definedAt.keys)
        for p in include { known.formUnion(p.names) }
        known.insert("seed")

        var exclude: [Parameters] = []
        if let exc = root["exclude"] {
            for (i, item) in try array(exc, at: top.appending("exclude"), what: "\"exclude\"").enumerated() {
                let ptr = top.appending("exclude").appending(i)
                guard case .object(let pairs) = item else { throw fail(ptr, "expected an object of parameter values, found \(item.kindName)") }
                if pairs.isEmpty { throw fail(ptr, "an empty exclude pattern would drop every trial; give at least one parameter") }
                var pattern = Parameters()
                for pair in pairs {
                    guard known.contains(pair.key) else {
                        var message = "exclude names unknown parameter \"\(pair.key)\""
                        if let guess = suggestion(for: pair.key, among: Array(known).sorted()) { message += "; did you mean '\(guess)'?" }
                        throw fail(ptr.appending(pair.key), message)
                    }
                    pattern[pair.key] = try parameterValue(pair.value, at: ptr.appending(pair.key))
                }
                exclude.append(pattern)
            }
        }

        var seeds = [0]
        if let s = root["seeds"] {
            seeds = []
            var seen = Set<Int>()
            for (i, item) in try array(s, at: top.appending("seeds"), what: "\"seeds\"").enumerated() {
                guard case .number(let d, _) = item, d == d.rounded(), abs(d) < 9e15 else {
                    throw fail(top.appending("seeds").appending(i), "seeds must be integers below 9e15 in magnitude, found \(item.jsonText)")
                }
                if !seen.insert(Int(d)).inserted { throw fail(top.appending("seeds").appending(i), "duplicate seed \(Int(d))") }
                seeds.append(Int(d))
            }
        }

        // Job caches, relative to the spec's directory (like every path a spec holds).
        var caches: [URL] = []
        if let c = root["cache"] {
            for (i, item) in try array(c, at: top.appending("cache"), what: "\"cache\" (a list of job cache directories)", nonEmpty: false).enumerated() {
                let path = try string(item, at: top.appending("cache").appending(i), what: "a cache directory")
                guard !path.isEmpty, !path.contains("\0") else { throw fail(top.appending("cache").appending(i), "a cache directory must be a non-empty path") }
                caches.append(URL(fileURLWithPath: path, relativeTo: fileURL.deletingLastPathComponent()).standardizedFileURL)
            }
        }

        guard let stagesValue = root["stages"] else {
            guard let pipeline else {
                throw fail(top, "missing key \"stages\"; add an array of command stages, e.g. [{\"name\": \"train\", \"command\": [\"./train.sh\", \"{lr}\"]}]")
            }
            // The built-in pipeline: every parameter must be one it reads (a typo would otherwise be silently ignored).
            let names = pipeline.parameterNames
            for n in known where n != "seed" && !names.contains(n) {
                var message = "\"\(n)\" is not a parameter of the built-in pipeline"
                if let guess = suggestion(for: n, among: names) { message += "; did you mean '\(guess)'?" }
                else { message += "; it reads: \(names.joined(separator: ", ")) (or give the spec \"stages\" of your own)" }
                let partial = ExperimentSpec(name: name, description: nil, base: base, grid: grid, zip: zip, include: include, exclude: [],
                                             seeds: seeds, stages: [], fileURL: fileURL, sourceText: text)
                throw fail(partial.location(of: n, value: nil), message)
            }
            var spec = ExperimentSpec(name: name, description: description, base: base, grid: grid, zip: zip, include: include,
                                      exclude: exclude, seeds: seeds, stages: [], fileURL: fileURL, sourceText: text, pipeline: pipeline)
            spec.caches = caches
            return spec
        }
        let stages = try self.stages(stagesValue, at: top.appending("stages"), knownParameters: known)

        var spec = ExperimentSpec(name: name, description: description, base: base, grid: grid, zip: zip, include: include,
                                  exclude: exclude, seeds: seeds, stages: stages, fileURL: fileURL, sourceText: text)
        spec.caches = caches
        return spec
    }

    func stages(_ value: JSONValue, at pointer: JSONPointer, knownParameters: Set<String>) throws(SpecError) -> [StageSpec] {
        var stages: [StageSpec] = []
        for (i, item) in try array(value, at: pointer, what: "\"stages\"").enumerated() {
            let p = pointer.appending(i)
            let members = try object(item, at: p, what: "a stage")
            try checkKeys(members, allowed: SpecParser.stageKeys, at: p, what: "a stage")
            guard let nameValue = item["name"] else { throw fail(p, "stage is missing \"name\"") }
            let name = try string(nameValue, at: p.appending("name"), what: "the stage name")
            guard isIdentifier(name, allowDash: true), name != "job" else {
                throw fail(p.appending("name"), "stage name \"\(name)\" must be letters, digits, '_' or '-' (and not \"job\", which is reserved for {job.dir})")
            }
            if stages.contains(where: { $0.name == name }) { throw fail(p.appending("name"), "duplicate stage name \"\(name)\"; stage names must be unique") }
            guard let commandValue = item["command"] else {
                throw fail(p, "stage \"\(name)\" is missing \"command\" (an argv array such as [\"python\", \"train.py\", \"--lr\", \"{lr}\"])")
            }
            var command: [String] = []
            for (j, arg) in try array(commandValue, at: p.appending("command"), what: "the command").enumerated() {
                let text = try string(arg, at: p.appending("command").appending(j), what: "a command argument")
                try checkNoNUL(text, at: p.appending("command").appending(j))
                command.append(text)
            }
            if command[0].isEmpty { throw fail(p.appending("command").appending(0), "the program name is empty") }
            var after: [String] = []
            if let a = item["after"] {
                for (j, dep) in try array(a, at: p.appending("after"), what: "\"after\"", nonEmpty: false).enumerated() {
                    after.append(try string(dep, at: p.appending("after").appending(j), what: "a stage name"))
                }
            }
            var env: [(key: String, value: String)] = []
            if let e = item["env"] {
                for member in try object(e, at: p.appending("env"), what: "\"env\"") {
                    guard isIdentifier(member.key) else {
                        throw fail(p.appending("env").appending(member.key), "environment variable name \"\(member.key)\" is not valid")
                    }
                    guard let v = ParameterValue(json: member.value) else {
                        throw fail(p.appending("env").appending(member.key), "environment values must be strings, numbers or booleans, found \(member.value.kindName)")
                    }
                    if case .string(let text) = v { try checkNoNUL(text, at: p.appending("env").appending(member.key)) }
                    env.append((member.key, v.description))
                }
            }
            var timeout: Double?
            if let t = item["timeout"] {
                guard case .number(let d, _) = t, d > 0 else { throw fail(p.appending("timeout"), "timeout must be a positive number of seconds, found \(t.jsonText)") }
                timeout = d
            }
            var retries = 0
            if let r = item["retries"] {
                guard case .number(let d, _) = r, d >= 0, d == d.rounded(), d < 1000 else {
                    throw fail(p.appending("retries"), "retries must be a non-negative integer, found \(r.jsonText)")
                }
                retries = Int(d)
            }
            var cost: (@Sendable (Parameters) -> Double)?
            if let c = item["cost"] {
                guard case .number(let d, _) = c, d > 0, d.isFinite else {
                    throw fail(p.appending("cost"), "cost must be a positive number (the job's expected run time in any unit shared by the stages, e.g. minutes), found \(c.jsonText)")
                }
                cost = { _ in d }
            }
            // Slurm resources are read again by the Slurm backend (`ExperimentSpec.slurmResources`); here they are checked.
            if let r = item["slurm"] { _ = try SlurmResources(json: r, at: p.appending("slurm"), validator: self) }
            var stage = StageSpec(name: name, command: command, after: after, env: env, timeout: timeout, retries: retries, cost: cost)
            if let c = item["cache"] {
                guard case .bool(let b) = c else {
                    throw fail(p.appending("cache"), "\"cache\" on a stage must be true or false (false: its results are never taken from or pushed to a job cache, e.g. wall-clock measurements), found \(c.jsonText)")
                }
                stage.cacheable = b
            }
            if let e = item["exclusive"] {
                guard case .bool(let b) = e else {
                    throw fail(p.appending("exclusive"), "\"exclusive\" must be true or false (true: each job runs alone and its result is not reused from another host, e.g. a timing measurement), found \(e.jsonText)")
                }
                stage.exclusive = b
            }
            if let o = item["outputs"] {
                var outputs: [String] = []
                for (j, entry) in try array(o, at: p.appending("outputs"), what: "\"outputs\"", nonEmpty: false).enumerated() {
                    let file = try string(entry, at: p.appending("outputs").appending(j), what: "an output file name")
                    guard CacheFile.isSafeName(file), !file.contains("{") else {
                        throw fail(p.appending("outputs").appending(j), "output \"\(file)\" must be a file name relative to the job directory (no leading '/', no '..', no placeholders)")
                    }
                    outputs.append(file)
                }
                stage.outputs = outputs
            }
            stages.append(stage)
        }
        try checkDependencies(stages, at: pointer)
        for (i, stage) in stages.enumerated() {
            try checkPlaceholders(stage, stages: stages, at: pointer.appending(i), knownParameters: knownParameters)
        }
        return stages
    }

    func checkDependencies(_ stages: [StageSpec], at pointer: JSONPointer) throws(SpecError) {
        let names = stages.map(\.name)
        for (i, stage) in stages.enumerated() {
            for (j, dep) in stage.after.enumerated() where !names.contains(dep) {
                var message = "\"after\" names unknown stage \"\(dep)\""
                if let guess = suggestion(for: dep, among: names) { message += "; did you mean '\(guess)'?" }
                else { message += "; stages are: \(names.joined(separator: ", "))" }
                throw fail(pointer.appending(i).appending("after").appending(j), message)
            }
            if stage.after.contains(stage.name) {
                throw fail(pointer.appending(i).appending("after"), "stage \"\(stage.name)\" cannot run after itself")
            }
        }
        // Depth-first search for a cycle; report it as a path so the user sees which edge to cut.
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        let byName = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($1.name, $0) })
        func visit(_ name: String, path: [String]) -> [String]? {
            if state[name] == 2 { return nil }
            if state[name] == 1 { return path + [name] }
            state[name] = 1
            for dep in stages[byName[name]!].after {
                if let cycle = visit(dep, path: path + [name]) { return cycle }
            }
            state[name] = 2
            return nil
        }
        for stage in stages {
            if let cycle = visit(stage.name, path: []) {
                let start = cycle.firstIndex(of: cycle.last!)!
                let loop = cycle[start...].joined(separator: " → ")
                throw fail(pointer.appending(byName[cycle[start]]!).appending("after"),
                           "stages form a cycle (\(loop)); remove one of these \"after\" entries")
            }
        }
    }

    func checkPlaceholders(_ stage: StageSpec, stages: [StageSpec], at pointer: JSONPointer, knownParameters: Set<String>) throws(SpecError) {
        let ancestors = Validator.ancestors(of: stage.name, in: stages)
        func check(_ text: String, _ ptr: JSONPointer) throws(SpecError) {
            let template: CommandTemplate
            do { template = try CommandTemplate(text) } catch { throw fail(ptr, error.message) }
            for reference in template.references {
                switch reference {
                case .parameter(let name):
                    if !knownParameters.contains(name) {
                        var message = "placeholder {\(name)} names no parameter"
                        if let guess = suggestion(for: name, among: Array(knownParameters).sorted()) { message += "; did you mean {\(guess)}?" }
                        else { message += "; parameters are: \(knownParameters.sorted().joined(separator: ", "))" }
                        message += " (write {{ and }} for literal braces)"
                        throw fail(ptr, message)
                    }
                case .stageDirectory(let name):
                    if !stages.contains(where: { $0.name == name }) {
                        var message = "placeholder {\(name).dir} names no stage"
                        if let guess = suggestion(for: name, among: stages.map(\.name)) { message += "; did you mean {\(guess).dir}?" }
                        throw fail(ptr, message)
                    }
                    if !ancestors.contains(name) {
                        throw fail(ptr, "placeholder {\(name).dir} names stage \"\(name)\", which \"\(stage.name)\" does not run after; add \"\(name)\" to its \"after\"")
                    }
                case .jobDirectory:
                    break
                }
            }
        }
        for (j, arg) in stage.command.enumerated() { try check(arg, pointer.appending("command").appending(j)) }
        for entry in stage.env { try check(entry.value, pointer.appending("env").appending(entry.key)) }
    }

    static func ancestors(of name: String, in stages: [StageSpec]) -> Set<String> {
        var result = Set<String>()
        var frontier = stages.first { $0.name == name }?.after ?? []
        while let next = frontier.popLast() {
            if result.insert(next).inserted { frontier += stages.first { $0.name == next }?.after ?? [] }
        }
        return result
    }
}

func isIdentifier(_ s: String, allowDash: Bool = false) -> Bool {
    guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
    return s.unicodeScalars.allSatisfy { $0 == "_" || ($0 == "-" && allowDash) || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
}
