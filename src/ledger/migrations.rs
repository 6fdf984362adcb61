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
    // 2: compaction-backup. `cbackup_sources` is the stat cache that makes an unchanged home
    // cost only stats: what each OpenClaw file (path relative to OpenClaw's state dir) looked
    // like when it was last read, and its newest snapshot. `cbackup_snapshots` has one row per
    // snapshot in `<state>/backups/sessions/` (the manifests there are the truth; these rows
    // are the record). `extra` holds the -wal file's size:mtime for SQLite databases.
    "CREATE TABLE cbackup_sources (
        path TEXT PRIMARY KEY,
        dev INTEGER NOT NULL,
        ino INTEGER NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        extra TEXT NOT NULL DEFAULT '',
        head_sha256 TEXT NOT NULL,
        snapshot_id TEXT,
        compaction_count INTEGER,
        checked_at TEXT NOT NULL
    );
    CREATE TABLE cbackup_snapshots (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        agent TEXT NOT NULL,
        grp TEXT NOT NULL,
        path TEXT NOT NULL,
        kind TEXT NOT NULL,
        session_id TEXT,
        session_key TEXT,
        compaction_count INTEGER,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        lines INTEGER NOT NULL,
        new_bytes INTEGER NOT NULL,
        removed_at TEXT
    );
    CREATE INDEX cbackup_snapshots_session ON cbackup_snapshots (agent, grp, created_at);",
];

/// The schema version this claw writes.
pub const LATEST: u32 = ALL.len() as u32;
