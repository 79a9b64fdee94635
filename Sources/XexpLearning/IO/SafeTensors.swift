import Foundation

/// Reading and writing the safetensors format (what `safetensors.torch.load_file` reads):
/// an 8-byte little-endian header length, a JSON header mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional `"__metadata__"` string map,
/// then the raw little-endian data. Readers validate everything before touching data, so a truncated or
/// garbled file throws a ``SafeTensorsError`` naming the file and the problem instead of crashing.
public enum SafeTensors {
    /// Element types we read and write.
    public enum DType: String, Sendable {
        case f32 = "F32", f64 = "F64", i64 = "I64", i32 = "I32", bool = "BOOL", u8 = "U8"
        public var size: Int { switch self { case .f32, .i32: 4; case .f64, .i64: 8; case .bool, .u8: 1 } }
    }

    /// One stored tensor: its type, shape and raw bytes.
    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        public let bytes: Data
        public init(dtype: DType, shape: [Int], bytes: Data) { self.dtype = dtype; self.shape = shape; self.bytes = bytes }
        public init(_ t: Tensor) {
            self.init(dtype: .f32, shape: t.shape, bytes: Data(bytes: t.data, count: t.count * 4))
        }
        public init(int64: [Int64], shape: [Int]) {
            self.init(dtype: .i64, shape: shape, bytes: int64.withUnsafeBytes { Data($0) })
        }
    }

    /// A parsed file: entries by name plus the `__metadata__` map.
    public struct File: Sendable {
        public let path: String
        public let entries: [String: Entry]
        public let metadata: [String: String]

        /// The named tensor as float32 (F32 as is; F64, I64, I32, BOOL and U8 converted).
        public func tensor(_ name: String) throws -> Tensor {
            guard let e = entries[name] else {
                throw SafeTensorsError(path: path, reason: "no tensor named \"\(name)\" (the file has \(entries.count): \(entries.keys.sorted().prefix(5).joined(separator: ", "))…)")
            }
            let t = Tensor(shape: e.shape)
            let n = t.count
            e.bytes.withUnsafeBytes { raw in
                switch e.dtype {
                case .f32: for i in 0..<n { t.data[i] = raw.loadUnaligned(fromByteOffset: i * 4, as: Float.self) }
                case .f64: for i in 0..<n { t.data[i] = Float(raw.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
                case .i64: for i in 0..<n { t.data[i] = Float(raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
                case .i32: for i in 0..<n { t.data[i] = Float(raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
                case .bool, .u8: for i in 0..<n { t.data[i] = Float(raw[i]) }
                }
            }
            return t
        }

        /// The named integer tensor (I64, I32, BOOL or U8) as Int64 values.
        public func int64s(_ name: String) throws -> [Int64] {
            guard let e = entries[name] else { throw SafeTensorsError(path: path, reason: "no tensor named \"\(name)\"") }
            let n = e.shape.reduce(1, *)
            return e.bytes.withUnsafeBytes { raw in
                switch e.dtype {
                case .i64: return (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
                case .i32: return (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
                case .bool, .u8: return (0..<n).map { Int64(raw[$0]) }
                case .f32: return (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self)) }
                case .f64: return (0..<n).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
                }
            }
        }
    }

    /// Upper bound on the JSON header, as the reference implementation (guards against garbage lengths).
    static let maxHeaderBytes = 100_000_000

    /// Reads and validates a file.
    public static func read(path: String) throws -> File {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw SafeTensorsError(path: path, reason: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(data, path: path)
    }

    /// Parses an in-memory file (`path` is only used in error messages).
    public static func parse(_ data: Data, path: String) throws -> File {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLen = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLen <= UInt64(maxHeaderBytes) else { throw fail("header length \(headerLen) is implausible (corrupt file?)") }
        let h = Int(headerLen)
        guard 8 + h <= data.count else { throw fail("truncated: header needs \(h) bytes but only \(data.count - 8) follow") }
        let headerData = data.subdata(in: data.startIndex + 8 ..< data.startIndex + 8 + h)
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
            throw fail("the \(h)-byte header is not a JSON object (corrupt file?)")
        }
        let body = data.count - 8 - h
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        var spans: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__[\"\(k)\"] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any],
                  let dtypeName = info["dtype"] as? String,
                  let shapeAny = info["shape"] as? [Any],
                  let offsAny = info["data_offsets"] as? [Any], offsAny.count == 2 else {
                throw fail("tensor \"\(name)\": entry needs dtype, shape and two data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else { throw fail("tensor \"\(name)\": unsupported dtype \(dtypeName)") }
            let shape = try shapeAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw fail("tensor \"\(name)\": bad shape \(shapeAny)") }
                return n
            }
            let offs = try offsAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw fail("tensor \"\(name)\": bad data_offsets \(offsAny)") }
                return n
            }
            let (begin, end) = (offs[0], offs[1])
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o)
            }
            guard !overflow, begin <= end, end - begin == count * dtype.size else {
                throw fail("tensor \"\(name)\": data_offsets \(offs) do not hold \(shape) \(dtypeName)")
            }
            guard end <= body else {
                throw fail("truncated: tensor \"\(name)\" ends at byte \(end) of the data but only \(body) bytes are present")
            }
            let start = data.startIndex + 8 + h
            entries[name] = Entry(dtype: dtype, shape: shape, bytes: data.subdata(in: start + begin ..< start + end))
            spans.append((begin, end, name))
        }
        spans.sort { $0.0 < $1.0 }
        var pos = 0
        for (b, e, name) in spans {
            guard b == pos else { throw fail("tensor \"\(name)\" starts at \(b), expected \(pos): overlapping or gapped data (corrupt file?)") }
            pos = e
        }
        guard pos == body else { throw fail("\(body - pos) trailing bytes after the last tensor (corrupt file?)") }
        return File(path: path, entries: entries, metadata: metadata)
    }

    /// Serialises entries (in the given order) and metadata.
    public static func serialize(_ entries: [(String, Entry)], metadata: [String: String] = [:]) throws -> Data {
        var out = try header(entries.map { ($0.0, $0.1.dtype, $0.1.shape) }, metadata: metadata)
        for (_, e) in entries { out.append(e.bytes) }
        return out
    }

    /// The 8-byte length and the JSON header of tensors laid out in the given order: everything before their data.
    static func header(_ tensors: [(name: String, dtype: DType, shape: [Int])], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, dtype, shape) in tensors {
            precondition(header[name] == nil, "safetensors: duplicate tensor name \(name)")
            let bytes = shape.reduce(1, *) * dtype.size
            header[name] = ["dtype": dtype.rawValue, "shape": shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        return out
    }

    /// Writes a file atomically (temporary file, then rename), so a crash never leaves half a checkpoint.
    public static func write(_ entries: [(String, Entry)], metadata: [String: String] = [:], to path: String) throws {
        let data = try serialize(entries, metadata: metadata)
        let url = URL(fileURLWithPath: path)
        do { try data.write(to: url, options: .atomic) } catch {
            throw SafeTensorsError(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}

/// A safetensors file that cannot be read, with the file and the reason.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): not a valid safetensors file: \(reason)" }
}
