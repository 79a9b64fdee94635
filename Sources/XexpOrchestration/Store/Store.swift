import Foundation
import GRDB

/// The SQLite store: sweeps, invocations, trials, jobs, attempts and metrics.
///
/// One file (`Results/xexp.sqlite` by default) in WAL mode, so readers (`xexp table`, `xexp status`) never wait for
/// a running sweep. Job directories live beside it in `runs/<job id>/`. Every state change is its own transaction:
/// a SIGKILL at any instant loses at most the job that was running, never one recorded as done.
///
/// ## Topics
/// - ``open(at:)``
/// - ``SweepLock``
public final class Store: Sendable {
    public let url: URL
    /// A pool (WAL: readers never wait for a sweep) when opened for writing; a read-only queue for the read-only
    /// commands, which must never change the file (`openForReading`).
    let pool: any DatabaseWriter

    /// Where job directories live: `runs/` next to the database file.
    public var runsDirectory: URL { url.deletingLastPathComponent().appendingPathComponent("runs") }

    /// Opens (creating if needed) the store at `url` and brings its schema up to date.
    public static func open(at url: URL) throws -> Store {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            // WAL with synchronous=NORMAL: a commit survives a process crash (what we guard against); only a power
            // loss can undo the last commits, and those jobs would simply run again.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Checkpoint the WAL every 10,000 pages (~40 MB) rather than SQLite's 1,000: each checkpoint syncs, and a sweep
            // commits two small transactions per job.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        // Opening sets WAL mode, which SQLite refuses ("database is locked") while another process opening the same
        // new file holds a lock, busy timeout or not: open and migrate under one exclusive lock.
        return try withMigrationLock(url) {
            let pool: DatabasePool
            do {
                pool = try DatabasePool(path: url.path, configuration: config)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
                throw StoreError("\(url.path) is not an xexp store (not an SQLite database); pass another --db path")
            }
            let store = Store(url: url, pool: pool)
            do { try Store.migrator.migrate(pool) } catch {
                throw StoreError("cannot bring the store \(url.path) up to date: \(error)")
            }
            return store
        }
    }

    /// Opens an existing store for reading only (`status`, `table`, `diff`, `export`, …): no file is created, no
    /// migration runs, the journal mode is left alone, and a store on a read-only filesystem can still be read.
    /// A file that is not an xexp store, or one written by a newer xexp, is refused with what to do; one of an older
    /// schema is refused with the command that upgrades it (this xexp's queries need the current schema).
    public static func openForReading(at url: URL) throws -> Store {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(30)
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: url.path, configuration: config)
            _ = try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master") }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw StoreError("\(url.path) is not an xexp store (not an SQLite database); pass another --db path")
        } catch {
            throw StoreError("cannot open the store \(url.path) for reading: \(error)")
        }
        let applied: [String]? = try queue.read { db in
            try db.tableExists("grdb_migrations") ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : nil
        }
        let known = Store.migrator.migrations
        guard let applied, applied.contains(known[0]) else {
            throw StoreError("\(url.path) is not an xexp store (an SQLite database without xexp's tables); pass another --db path")
        }
        let newer = applied.filter { !known.contains($0) }
        if !newer.isEmpty {
            throw StoreError("\(url.path) was written by a newer xexp (schema \(newer.joined(separator: ", "))); read it with that version")
        }
        let missing = known.filter { !applied.contains($0) }
        if !missing.isEmpty {
            throw StoreError("\(url.path) has an older schema (without \(missing.joined(separator: ", "))); upgrade it with `xexp migrate --db \(url.path)` (any `xexp sweep` on it does too)")
        }
        return Store(url: url, pool: queue)
    }

    init(url: URL, pool: any DatabaseWriter) {
        self.url = url
        self.pool = pool
    }

    /// Runs `body` under an exclusive `flock` on `<store>.migrate.lock`: two processes opening a new store at once
    /// would otherwise race on setting WAL mode and on migrations ("table sweeps already exists"). Not the sweep lock
    /// (`<store>.lock`), which a running sweep holds for hours while readers still open the store.
    static func withMigrationLock<T>(_ url: URL, _ body: () throws -> T) throws -> T {
        let lockPath = url.path + ".migrate.lock"
        let fd = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError("cannot open \(lockPath): \(String(cString: strerror(errno))); check that the store's directory is writable") }
        defer { close(fd) }  // closing releases the flock
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StoreError("cannot lock \(lockPath): \(String(cString: strerror(errno)))") }
        }
        return try body()
    }

    /// Whether `error` came from SQLite (a refused write, a full disk), for callers that do not import GRDB.
    public static func isDatabaseError(_ error: Error) -> Bool { error is DatabaseError }

    public var appliedMigrations: [String] {
        get throws { try pool.read { try Store.migrator.appliedIdentifiers($0) }.sorted() }
    }
}

/// An error about the store itself (not a job's failure), with what to do about it.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// An exclusive lock on a store for one running sweep, so two `xexp sweep` processes never run the same job twice.
///
/// It is an advisory `flock` on `<store>.lock`: the kernel releases it when the process dies, however it dies, so
/// holding it also proves that any job still marked `running` belongs to a dead process.
public final class SweepLock: @unchecked Sendable {
    private let fd: Int32
    public let url: URL

    public init(store: Store, purpose: String) throws {
        url = URL(fileURLWithPath: store.url.path + ".lock")
        fd = Glibc.open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError("cannot open lock file \(url.path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            Glibc.close(fd)
            throw StoreError("another xexp process is using the store \(store.url.path)\(holder.isEmpty ? "" : " (\(holder))"); wait for it to finish, or pass another --db")
        }
        ftruncate(fd, 0)
        let note = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName), \(purpose), since \(ISO8601DateFormatter().string(from: Date()))\n"
        _ = note.withCString { Glibc.write(fd, $0, strlen($0)) }
    }

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        Glibc.close(fd)
    }
}
