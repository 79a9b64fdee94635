import GRDB

extension Store {
    /// The schema, as named migrations applied in order. Never edit a shipped migration: add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-sweeps-jobs-metrics") { db in
            try db.create(table: "sweeps") { t in
                t.primaryKey("name", .text)
                t.column("created_at", .double).notNull()
            }
            // One row per `xexp sweep` run: what was asked, by which toolkit, from which repository state.
            try db.create(table: "invocations") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("sweep", .text).notNull().references("sweeps", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("spec_path", .text).notNull()
                t.column("spec_text", .text).notNull()
                t.column("spec_hash", .text).notNull()
                t.column("started_at", .double).notNull()
                t.column("ended_at", .double)
                t.column("outcome", .text)
                t.column("toolkit_version", .text).notNull()
                t.column("git_commit", .text)
                t.column("host", .text).notNull()
                t.column("pid", .integer).notNull()
                t.column("options", .text)
                t.uniqueKey(["sweep", "seq"])
            }
            try db.create(table: "trials") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("invocation_id", .integer).notNull().indexed().references("invocations", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("params", .text).notNull()
                t.column("seed", .integer).notNull()
            }
            // A job is shared by every trial (and every sweep) that instantiates the same stage the same way.
            try db.create(table: "jobs") { t in
                t.primaryKey("id", .text)
                t.column("stage", .text).notNull()
                t.column("command", .text).notNull()
                t.column("env", .text).notNull()
                t.column("status", .text).notNull().indexed()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("created_at", .double).notNull()
                t.column("started_at", .double)
                t.column("ended_at", .double)
                t.column("exit_code", .integer)
                t.column("signal", .integer)
                t.column("error", .text)
                t.column("pid", .integer)
                t.column("host", .text)
                t.column("invocation_id", .integer)
            }
            try db.create(table: "job_edges") { t in
                t.column("job_id", .text).notNull().references("jobs", onDelete: .cascade)
                t.column("upstream_id", .text).notNull().indexed().references("jobs", onDelete: .cascade)
                t.primaryKey(["job_id", "upstream_id"])
            }
            try db.create(table: "trial_jobs") { t in
                t.column("trial_id", .integer).notNull().references("trials", onDelete: .cascade)
                t.column("stage", .text).notNull()
                t.column("job_id", .text).notNull().indexed().references("jobs")
                t.primaryKey(["trial_id", "stage"])
            }
            // Every run of a job, kept for provenance (a job's row holds only its latest state).
            try db.create(table: "attempts") { t in
                t.column("job_id", .text).notNull().references("jobs", onDelete: .cascade)
                t.column("attempt", .integer).notNull()
                t.column("invocation_id", .integer)
                t.column("started_at", .double).notNull()
                t.column("ended_at", .double)
                t.column("status", .text).notNull()
                t.column("exit_code", .integer)
                t.column("signal", .integer)
                t.column("error", .text)
                t.primaryKey(["job_id", "attempt"])
            }
            // Every line a job appended to $XEXP_METRICS; its result is the last value of each name.
            try db.create(table: "metrics") { t in
                t.column("job_id", .text).notNull().references("jobs", onDelete: .cascade)
                t.column("seq", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("value", .double).notNull()
                t.column("step", .integer)
                t.primaryKey(["job_id", "seq", "name"])
            }
        }
        // The Slurm backend: which Slurm job runs each job (and ran each attempt), and what Slurm last said about it.
        // A running job with a Slurm id belongs to the cluster, not to a process: a restart reattaches to it.
        migrator.registerMigration("v2-slurm") { db in
            try db.alter(table: "jobs") { t in
                t.add(column: "slurm_job_id", .text)
                t.add(column: "slurm_state", .text)
            }
            try db.alter(table: "attempts") { t in
                t.add(column: "slurm_job_id", .text)
                t.add(column: "slurm_state", .text)
            }
            try db.create(index: "jobs_on_slurm_job_id", on: "jobs", columns: ["slurm_job_id"])
        }
        // Provenance per attempt (what ran it, under which numerics), and where a result came from: a job served from a
        // job cache has an attempt with `origin` = the cache directory instead of a process.
        migrator.registerMigration("v3-provenance-cache") { db in
            try db.alter(table: "attempts") { t in
                t.add(column: "origin", .text)
                t.add(column: "host", .text)
                t.add(column: "threads", .integer)
                t.add(column: "numerics", .text)
                t.add(column: "toolkit_version", .text)
                t.add(column: "build", .text)
            }
            try db.alter(table: "jobs") { t in
                t.add(column: "origin", .text)
            }
        }
        // Metrics per attempt: a rerun no longer erases what earlier invocations reported, so `diff NAME@1 NAME` shows
        // the change. `value` may be NULL: SQLite stores NaN as NULL, and a diverged metric is a result (±Infinity
        // are stored as themselves). Existing rows belong to their job's latest attempt.
        migrator.registerMigration("v4-metrics-per-attempt") { db in
            try db.create(table: "metrics_v4") { t in
                t.column("job_id", .text).notNull().references("jobs", onDelete: .cascade)
                t.column("attempt", .integer).notNull()
                t.column("seq", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("value", .double)
                t.column("step", .integer)
                t.primaryKey(["job_id", "attempt", "seq", "name"])
            }
            try db.execute(sql: """
                INSERT INTO metrics_v4 (job_id, attempt, seq, name, value, step)
                SELECT m.job_id, COALESCE((SELECT MAX(a.attempt) FROM attempts a WHERE a.job_id = m.job_id), 1), m.seq, m.name, m.value, m.step
                FROM metrics m
                """)
            try db.drop(table: "metrics")
            try db.rename(table: "metrics_v4", to: "metrics")
        }
        // What each local attempt used (wait4): peak RSS and CPU time. Provenance, not results: never in metrics.
        migrator.registerMigration("v5-attempt-resources") { db in
            try db.alter(table: "attempts") { t in
                t.add(column: "peak_rss_bytes", .integer)
                t.add(column: "cpu_seconds", .double)
            }
        }
        return migrator
    }
}
