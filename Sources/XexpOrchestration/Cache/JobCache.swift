import Foundation

/// A directory of finished jobs keyed by job id, shared between stores, machines and people (a lab's NFS folder,
/// a CI cache, `Results/cache/` in this repository).
///
/// A job id names exactly one result (its stage, substituted command and environment, upstream ids and stage salt;
/// outputs that do not depend on thread counts), so a finished job can be served to any store that plans the same
/// id. Entries are input from outside the store and are checked before use: every file against the manifest's size
/// and SHA-256, every name confined to the entry, no symlinks, and nothing in an entry is ever executed. A hit is
/// copied into the store's `runs/<id>/` (a reflink where the filesystem offers one, never a hard link, so nothing a
/// job or a rerun writes can reach the cache).
public struct JobCache: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory.standardizedFileURL }

    /// Files a job leaves that are not its results: logs and xexp's own bookkeeping, never cached.
    public static let bookkeeping: Set<String> = ["stdout.log", "stderr.log", "job.json", "job.sbatch", "slurm.log",
                                                  "exit-status", "checkpoint.safetensors", CacheManifest.fileName]

    public func entryDirectory(_ id: JobID) -> URL { directory.appendingPathComponent(id, isDirectory: true) }

    /// The ids of every entry (folders named like a job id that hold a manifest).
    public func entries() -> [JobID] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { JobCache.looksLikeJobID($0) && FileManager.default.fileExists(atPath: entryDirectory($0).appendingPathComponent(CacheManifest.fileName).path) }
            .sorted()
    }

    static func looksLikeJobID(_ name: String) -> Bool {
        name.count == 16 && name.unicodeScalars.allSatisfy { "0123456789abcdef".unicodeScalars.contains($0) }
    }

    public enum Lookup: Sendable {
        /// No entry for this id.
        case miss
        /// An entry whose manifest names this job and every file matches it.
        case hit(CacheManifest)
        /// An entry that cannot be used (corrupt, mismatching, other numerics); the job runs.
        case unusable(String)
    }

    /// Reads and checks the entry of `id`: the manifest names the job, its numerics match `numerics` (when both have
    /// one), its file names stay inside the entry, and each file has the manifest's size and SHA-256.
    public func lookup(_ id: JobID, numerics: String?) -> Lookup {
        let entry = entryDirectory(id)
        let manifestURL = entry.appendingPathComponent(CacheManifest.fileName)
        guard FileManager.default.fileExists(atPath: manifestURL.path) else { return .miss }
        let manifest: CacheManifest
        do { manifest = try readManifest(manifestURL) } catch { return .unusable("\(error)") }
        if let problem = check(manifest, id: id, numerics: numerics) { return .unusable(problem) }
        for file in manifest.files {
            if let problem = checkFile(file, in: entry) { return .unusable(problem) }
        }
        return .hit(manifest)
    }

    /// Why the manifest cannot serve job `id` under `numerics`, or nil.
    func check(_ manifest: CacheManifest, id: JobID, numerics: String?) -> String? {
        guard manifest.format == CacheManifest.currentFormat else {
            return "format \"\(manifest.format)\" is not \(CacheManifest.currentFormat) (made by another xexp version)"
        }
        guard manifest.job == id else { return "its manifest names job \(manifest.job)" }
        if let bad = manifest.files.first(where: { !CacheFile.isSafeName($0.name) || $0.size < 0 }) {
            return "file name \"\(bad.name)\" leaves the entry or is not allowed"
        }
        if let numerics, let theirs = manifest.numerics, theirs != numerics {
            return "computed under other numerics (\(theirs); this machine: \(numerics))"
        }
        return nil
    }

    /// Why `file` of the entry at `entry` does not match the manifest, or nil. Symlinks are refused outright: a link
    /// could point anywhere, and an entry is made of plain files.
    func checkFile(_ file: CacheFile, in entry: URL) -> String? {
        if let problem = JobCache.plainFileProblem(file.name, in: entry) { return problem }
        do {
            let (size, digest) = try FileDigest.hash(entry.appendingPathComponent(file.name), limit: file.size)
            if size != file.size { return "\(file.name) has \(size > file.size ? "more than " : "")\(size) bytes, the manifest says \(file.size)" }
            if digest != file.sha256 { return "\(file.name) does not match its SHA-256 in the manifest" }
        } catch {
            return "cannot read \(file.name): \(error.localizedDescription)"
        }
        return nil
    }

    /// Every component of `name` under `entry` must exist and be a directory (all but the last) or a regular file
    /// (the last); a symlink anywhere is refused.
    static func plainFileProblem(_ name: String, in entry: URL) -> String? {
        var path = entry.path
        let parts = name.split(separator: "/")
        for (i, part) in parts.enumerated() {
            path += "/" + part
            var info = stat()
            guard lstat(path, &info) == 0 else { return "\(name) is missing" }
            let type = info.st_mode & S_IFMT
            if type == S_IFLNK { return "\(name) is or passes through a symbolic link" }
            if i == parts.count - 1 ? type != S_IFREG : type != S_IFDIR { return "\(name) is not a plain file" }
        }
        return nil
    }

    func readManifest(_ url: URL) throws -> CacheManifest {
        var info = stat()
        guard lstat(url.path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw StoreError("manifest.json is not a plain file") }
        guard info.st_size <= 16 << 20 else { throw StoreError("manifest.json is larger than 16 MiB") }
        do { return try CacheManifest.decode(Data(contentsOf: url)) } catch {
            throw StoreError("manifest.json cannot be read: \(error)")
        }
    }

    /// Copies a checked entry into `destination` (which must not exist yet), verifying every byte again as it is
    /// copied: the entry could change between the check and the copy. Aside-then-rename, so a kill leaves either
    /// nothing or the whole job directory.
    public func materialise(_ manifest: CacheManifest, into destination: URL) throws {
        let parent = destination.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        let scratch = parent.appendingPathComponent(".\(manifest.job).cache-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: false)
        do {
            let entry = entryDirectory(manifest.job)
            for file in manifest.files {
                if let problem = JobCache.plainFileProblem(file.name, in: entry) { throw StoreError(problem) }
                let target = scratch.appendingPathComponent(file.name)
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                let (size, digest) = try JobCache.copyVerified(entry.appendingPathComponent(file.name), to: target, limit: file.size)
                guard size == file.size, digest == file.sha256 else {
                    throw StoreError("\(file.name) changed while it was copied (size \(size), manifest \(file.size))")
                }
            }
            try? FileManager.default.removeItem(at: destination)
            guard rename(scratch.path, destination.path) == 0 else {
                throw StoreError("cannot move the copied entry into \(destination.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
    }

    /// A reflink clone (`FICLONE`) where the filesystem has one, then the copy is hashed; else a streamed copy that
    /// hashes as it goes.
    static func copyVerified(_ source: URL, to target: URL, limit: Int64) throws -> (size: Int64, sha256: String) {
        let src = open(source.path, O_RDONLY | O_NOFOLLOW)
        if src >= 0 {
            defer { close(src) }
            let dst = open(target.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if dst >= 0 {
                let cloned = ioctl(dst, JobCache.ficlone, src) == 0
                close(dst)
                if cloned { return try FileDigest.hash(target, limit: limit) }
                unlink(target.path)
            }
        }
        return try FileDigest.copy(from: source, to: target, limit: limit)
    }

    /// `_IOW(0x94, 9, int)`: Linux's clone-a-file ioctl (btrfs, XFS, bcachefs; others refuse it and we copy).
    static let ficlone: UInt = 0x4004_9409

    /// Publishes a finished job from `jobDirectory` as `DIR/<id>/`: the files are copied aside into a temporary
    /// folder, the manifest written last, and the folder renamed into place. An entry that already exists is kept
    /// (the same id names the same result). Returns false when it already existed.
    @discardableResult
    public func publish(_ manifest: CacheManifest, from jobDirectory: URL) throws -> Bool {
        let target = entryDirectory(manifest.job)
        if FileManager.default.fileExists(atPath: target.path) { return false }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let scratch = directory.appendingPathComponent(".\(manifest.job).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: false)
        do {
            var final = manifest
            final.files = []
            for file in manifest.files {
                let target = scratch.appendingPathComponent(file.name)
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                let (size, digest) = try FileDigest.copy(from: jobDirectory.appendingPathComponent(file.name), to: target, limit: .max - 1)
                final.files.append(CacheFile(name: file.name, size: size, sha256: digest))
            }
            try final.encoded().write(to: scratch.appendingPathComponent(CacheManifest.fileName))
            if rename(scratch.path, target.path) != 0 {
                // Another writer published the same job first (ENOTEMPTY/EEXIST): theirs stands.
                let code = errno
                try? FileManager.default.removeItem(at: scratch)
                if code == ENOTEMPTY || code == EEXIST { return false }
                throw StoreError("cannot publish \(target.path): \(String(cString: strerror(code)))")
            }
            return true
        } catch {
            try? FileManager.default.removeItem(at: scratch)
            throw error
        }
    }

    /// The result files of a finished job in `jobDirectory`: the stage's `outputs` (plus `metrics.jsonl`), or every
    /// regular file it left, logs and bookkeeping aside. Names are relative, sorted.
    public static func resultFiles(of job: Job, in jobDirectory: URL) throws -> [String] {
        if let outputs = job.outputs {
            return Array(Set(outputs + ["metrics.jsonl"])).sorted()
        }
        var result: [String] = []
        guard let walker = FileManager.default.enumerator(at: jobDirectory, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey]) else {
            throw StoreError("cannot list \(jobDirectory.path)")
        }
        let base = jobDirectory.standardizedFileURL.path + "/"
        for case let url as URL in walker {
            let values = try url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
            guard values.isRegularFile == true, values.isSymbolicLink != true else { continue }
            let name = String(url.standardizedFileURL.path.dropFirst(base.count))
            if !bookkeeping.contains(name) { result.append(name) }
        }
        return result.sorted()
    }
}
