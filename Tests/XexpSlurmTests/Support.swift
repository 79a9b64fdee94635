import Foundation
import GRDB
import Testing
@_exported import XexpTestSupport
@testable import XexpOrchestration

/// Cluster tests run only where a Slurm controller answers (`sinfo`); `.ci/run` starts one with scripts/slurm-cluster.
let clusterIsUp = SlurmClient.isReachable

extension Sandbox {
    func store() throws -> Store { try Store.open(at: url.appendingPathComponent("Results/xexp.sqlite")) }
}

extension Store {
    /// Every attempt's Slurm job id, per job (for "nothing was submitted twice").
    func slurmAttempts() throws -> [JobID: [String]] {
        try pool.read { db in
            var result: [JobID: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT job_id, slurm_job_id FROM attempts WHERE slurm_job_id IS NOT NULL ORDER BY job_id, attempt") {
                result[row["job_id"], default: []].append(row["slurm_job_id"])
            }
            return result
        }
    }
}

/// Slurm's current state of each job id (squeue, then accounting).
func slurmStates(_ ids: [String]) throws -> [String: String] {
    try SlurmClient().states(of: ids).mapValues(\.state)
}
