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
    // 2: alerts (messages sent, per-key state for dedupe and recovery, per-sink deliveries)
    // and the `claw tick` schedule. Deliveries keep the sink name and HTTP status only.
    "CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        job TEXT NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX alerts_key ON alerts (job, key, id);
    CREATE TABLE alert_state (
        job TEXT NOT NULL,
        key TEXT NOT NULL,
        active INTEGER NOT NULL,
        severity TEXT NOT NULL,
        text TEXT NOT NULL,
        first_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        last_sent_at TEXT,
        repeats INTEGER NOT NULL DEFAULT 0,
        cleared_at TEXT,
        PRIMARY KEY (job, key)
    );
    CREATE TABLE alert_deliveries (
        alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
        sink TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        http_status INTEGER,
        error TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (alert_id, sink)
    );
    CREATE INDEX alert_deliveries_status ON alert_deliveries (status);
    CREATE TABLE schedule (
        job TEXT PRIMARY KEY,
        last_started_at TEXT NOT NULL,
        last_ended_at TEXT,
        last_exit INTEGER
    );",
];

/// The schema version this claw writes.
pub const LATEST: u32 = ALL.len() as u32;
