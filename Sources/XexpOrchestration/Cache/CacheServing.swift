import Foundation

/// Looks a plan's unfinished jobs up in job caches (the store first, then each cache in order) and serves the hits.
public struct CacheServing: Sendable {
    public var caches: [JobCache]
    /// This process's numerics fingerprint, compared with the entries of built-in stage jobs.
    public var numerics: String?

    public init(caches: [JobCache], numerics: String?) {
        self.caches = caches
        self.numerics = numerics
    }

    /// A usable entry for a job, and the cache holding it.
    public struct Hit: Sendable {
        public var cache: JobCache
        public var manifest: CacheManifest
    }

    /// For each candidate job that may come from a cache (cacheable, not forced to rerun), the first cache holding a
    /// usable entry. Unusable entries are reported through `notice` and skipped (the job then runs).
    public func find(_ jobs: [Job], notice: (String) -> Void) -> [JobID: Hit] {
        var hits: [JobID: Hit] = [:]
        guard !caches.isEmpty else { return hits }
        for job in jobs where job.cacheable {
            for cache in caches {
                switch cache.lookup(job.id, numerics: job.isBuiltin ? numerics : nil) {
                case .miss: continue
                case .unusable(let why):
                    notice("cache \(cache.directory.path): entry \(job.id) (\(job.stage)) is not used: \(why); the job runs instead")
                    continue
                case .hit(let manifest):
                    guard manifest.files.contains(where: { $0.name == "metrics.jsonl" }) else {
                        notice("cache \(cache.directory.path): entry \(job.id) (\(job.stage)) has no metrics.jsonl; the job runs instead")
                        continue
                    }
                    hits[job.id] = Hit(cache: cache, manifest: manifest)
                }
                break
            }
        }
        return hits
    }

    /// Copies each hit into the store's `runs/<id>/` and records it done with its origin. Returns the jobs served;
    /// a hit that fails on the way (an entry changed under us, a full disk) is reported and left to run.
    public func serve(_ hits: [JobID: Hit], store: Store, invocation: Int64?, notice: (String) -> Void) throws -> Set<JobID> {
        var served: Set<JobID> = []
        for (id, hit) in hits.sorted(by: { $0.key < $1.key }) {
            let directory = store.runsDirectory.appendingPathComponent(id)
            let metrics: [MetricPoint]
            do {
                try hit.cache.materialise(hit.manifest, into: directory)
                let text = try String(contentsOf: directory.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
                metrics = try MetricsFile.parse(text)
            } catch {
                notice("cache \(hit.cache.directory.path): entry \(id) (\(hit.manifest.stage)) could not be used: \(error); the job runs instead")
                continue
            }
            // Store errors are not the cache's fault: they end the sweep like any other store failure.
            try store.recordCached(id, metrics: metrics, origin: hit.cache.directory.path, invocation: invocation, manifest: hit.manifest)
            served.insert(id)
        }
        return served
    }
}
