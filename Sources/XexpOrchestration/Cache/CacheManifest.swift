import Crypto
import Foundation

/// `manifest.json` of a cache entry: which job it is, how it was made, and every file it holds with its size and
/// SHA-256. An entry is a folder `DIR/<job id>/` with these files as plain files under their own names, beside the
/// manifest; the manifest is written last and the folder is renamed into place, so a reader sees all of it or none.
public struct CacheManifest: Codable, Sendable, Equatable {
    public static let currentFormat = "xexp-cache/1"
    public static let fileName = "manifest.json"

    public var format: String
    public var job: JobID
    public var stage: String
    /// The command and environment as the store records them (directories as `$RUNS/<job id>`).
    public var command: [String]
    public var env: [String: String]
    public var upstream: [JobID]
    /// The job's results: the last value of each metric (the whole history is `metrics.jsonl`, one of the files).
    public var metrics: [String: Double]
    public var files: [CacheFile]
    public var xexpVersion: String
    /// What decides the bits besides the job's inputs (OpenBLAS build, kernel set, engine version); nil for
    /// command stages, whose numerics xexp cannot know.
    public var numerics: String?
    /// Provenance only: where and how the job ran.
    public var cpu: String?
    public var threads: Int?
    public var host: String
    public var date: String

    public init(format: String = CacheManifest.currentFormat, job: JobID, stage: String, command: [String], env: [String: String],
                upstream: [JobID], metrics: [String: Double], files: [CacheFile], xexpVersion: String, numerics: String?,
                cpu: String?, threads: Int?, host: String, date: String) {
        self.format = format
        self.job = job
        self.stage = stage
        self.command = command
        self.env = env
        self.upstream = upstream
        self.metrics = metrics
        self.files = files
        self.xexpVersion = xexpVersion
        self.numerics = numerics
        self.cpu = cpu
        self.threads = threads
        self.host = host
        self.date = date
    }

    enum CodingKeys: String, CodingKey {
        case format, job, stage, command, env, upstream, metrics, files, numerics, cpu, threads, host, date
        case xexpVersion = "xexp_version"
    }

    /// The manifest as written to disk: sorted keys, non-finite metrics as `"NaN"`, `"inf"`, `"-inf"`.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "NaN")
        return try encoder.encode(self) + Data("\n".utf8)
    }

    public static func decode(_ data: Data) throws -> CacheManifest {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "NaN")
        return try decoder.decode(CacheManifest.self, from: data)
    }
}

/// One file of a cache entry.
public struct CacheFile: Codable, Sendable, Equatable {
    /// Relative to the entry: no absolute path, no `..`, no empty or `.` component (``CacheFile/isSafeName(_:)``).
    public var name: String
    public var size: Int64
    public var sha256: String

    public init(name: String, size: Int64, sha256: String) {
        self.name = name
        self.size = size
        self.sha256 = sha256
    }

    /// A cache is input from outside the store: a name must stay inside its entry. Components are checked one by
    /// one; a NUL or a backslash is refused too (it would name a different file to the C library or to Windows).
    public static func isSafeName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\0"), !name.contains("\\"), name.utf8.count <= 1024 else { return false }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        return parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." } && name != CacheManifest.fileName
    }
}

/// Streams files through SHA-256 in bounded memory.
public enum FileDigest {
    static let chunk = 1 << 20

    /// Copies `source` to `destination` (a new file) while hashing it, reading at most `limit + 1` bytes: a file
    /// larger than its manifest says is caught without reading all of it. Returns the size read and the digest.
    static func copy(from source: URL, to destination: URL, limit: Int64) throws -> (size: Int64, sha256: String) {
        let input = try FileHandle(forReadingFrom: source)
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: destination.path, contents: nil) else {
            throw StoreError("cannot create \(destination.path)")
        }
        let output = try FileHandle(forWritingTo: destination)
        defer { try? output.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while size <= limit, let data = try input.read(upToCount: chunk), !data.isEmpty {
            hasher.update(data: data)
            try output.write(contentsOf: data)
            size += Int64(data.count)
        }
        return (size, hex(hasher.finalize()))
    }

    /// Hashes a file (at most `limit + 1` bytes of it when a limit is given).
    public static func hash(_ url: URL, limit: Int64 = .max) throws -> (size: Int64, sha256: String) {
        let input = try FileHandle(forReadingFrom: url)
        defer { try? input.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while size <= limit, let data = try input.read(upToCount: chunk), !data.isEmpty {
            hasher.update(data: data)
            size += Int64(data.count)
        }
        return (size, hex(hasher.finalize()))
    }

    static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
