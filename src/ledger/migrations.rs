//! Ledger schema, one migration per `user_version` step. Append only: never edit a
//! migration that has shipped.

/// Every migration in order; `user_version` = how many have been applied.
pub const ALL: &[&str] = &[
    // 1: job runs and config backups.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        job TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        exit_code INTEGER,
        summary TEXT,
        detail TEXT,
        pid INTEGER
    );
    CREATE INDEX runs_job ON runs (job, id);
    CREATE TABLE config_backups (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        source TEXT NOT NULL,
        set_sha256 TEXT NOT NULL,
        config_sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        valid INTEGER NOT NULL,
        issues INTEGER NOT NULL,
        schema_version TEXT,
        deleted_at TEXT
    );
    CREATE INDEX config_backups_sha ON config_backups (set_sha256);",
];

/// The schema version this claw writes.
pub const LATEST: u32 = ALL.len() as u32;
