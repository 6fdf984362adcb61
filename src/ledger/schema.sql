-- The ledger's schema as every migration in migrations.rs leaves it (user_version = LATEST),
-- in creation order: what a new, empty ledger is given in one step (replaying the migrations'
-- table rebuilds costs about 20 ms of SQL parsing on every first run). The test
-- `a_new_ledger_gets_the_schema_the_migrations_build` compares the two and prints this file
-- anew when a migration is added.

CREATE TABLE runs (
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

CREATE INDEX config_backups_sha ON config_backups (set_sha256);

CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        job TEXT NOT NULL,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    , payload TEXT);

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
    );

CREATE TABLE cost_daily (
        day TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        lines INTEGER NOT NULL DEFAULT 0,
        input INTEGER NOT NULL DEFAULT 0,
        output INTEGER NOT NULL DEFAULT 0,
        cache_read INTEGER NOT NULL DEFAULT 0,
        cache_write INTEGER NOT NULL DEFAULT 0,
        logged_missing INTEGER NOT NULL DEFAULT 0,
        computed_missing INTEGER NOT NULL DEFAULT 0,
        auto_estimated INTEGER NOT NULL DEFAULT 0,
        auto_unpriced INTEGER NOT NULL DEFAULT 0, logged_usd TEXT NOT NULL DEFAULT '0.00', computed_usd TEXT NOT NULL DEFAULT '0.00', auto_usd TEXT NOT NULL DEFAULT '0.00',
        PRIMARY KEY (day, agent_id, session_id, provider, model)
    );

CREATE TABLE pricing_tables (
        version TEXT PRIMARY KEY,
        imported_at TEXT NOT NULL,
        source TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        models INTEGER NOT NULL
    );

CREATE TABLE pricing_entries (
        version TEXT NOT NULL REFERENCES pricing_tables (version) ON DELETE CASCADE,
        model TEXT NOT NULL,
        input REAL NOT NULL,
        output REAL NOT NULL,
        cache_read REAL NOT NULL,
        cache_write REAL NOT NULL,
        tier_threshold INTEGER,
        tier_input REAL,
        tier_output REAL,
        tier_cache_read REAL,
        tier_cache_write REAL,
        PRIMARY KEY (version, model)
    );

CREATE TABLE budget_alerts (
        scope TEXT NOT NULL,
        period_start TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        level TEXT NOT NULL,
        created_at TEXT NOT NULL, spent_usd TEXT NOT NULL DEFAULT '0.00', limit_usd TEXT NOT NULL DEFAULT '0.00',
        PRIMARY KEY (scope, period_start, threshold)
    );

CREATE TABLE budget_actions (
        scope TEXT NOT NULL,
        period_start TEXT NOT NULL,
        argv TEXT NOT NULL,
        exit_code INTEGER,
        ran_at TEXT NOT NULL,
        PRIMARY KEY (scope, period_start)
    );

CREATE TABLE cbackup_sources (
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

CREATE INDEX cbackup_snapshots_session ON cbackup_snapshots (agent, grp, created_at);

CREATE TABLE tunnel_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        managed INTEGER NOT NULL,
        mode TEXT NOT NULL,
        url TEXT,
        url_since TEXT,
        pid INTEGER,
        health TEXT NOT NULL DEFAULT 'unknown',
        health_detail TEXT,
        checked_at TEXT,
        updated_at TEXT NOT NULL
    );

CREATE TABLE tunnel_urls (
        url TEXT PRIMARY KEY,
        first_seen_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        replaced_at TEXT
    );

CREATE TABLE tunnel_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        url TEXT,
        pid INTEGER,
        detail TEXT
    );

CREATE INDEX tunnel_events_at ON tunnel_events (at, id);

CREATE TABLE tunnel_targets (
        target TEXT PRIMARY KEY,
        tunnel_url TEXT NOT NULL,
        webhook_url TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        ok INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        http_status INTEGER,
        error TEXT,
        updated_at TEXT NOT NULL,
        ok_webhook_url TEXT,
        ok_at TEXT
    );

CREATE TABLE tunnel_updates (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        tunnel_url TEXT NOT NULL,
        webhook_url TEXT NOT NULL,
        ok INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        http_status INTEGER,
        error TEXT,
        at TEXT NOT NULL
    );

CREATE INDEX tunnel_updates_target ON tunnel_updates (target, id);

CREATE TABLE rl_events (
        origin TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        profile TEXT NOT NULL,
        kind TEXT NOT NULL,
        signal TEXT NOT NULL,
        status INTEGER,
        retry_after_secs INTEGER,
        source TEXT NOT NULL,
        excerpt TEXT NOT NULL,
        counted_at TEXT NOT NULL
    );

CREATE INDEX rl_events_at ON rl_events (at);

CREATE TABLE rl_breakers (
        scope TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        since TEXT NOT NULL,
        until TEXT,
        opened_at TEXT,
        trips INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        events INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );

CREATE TABLE rl_transitions (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        at TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        reason TEXT NOT NULL,
        events INTEGER NOT NULL,
        trips INTEGER NOT NULL,
        until TEXT
    );

CREATE TABLE rl_recoveries (
        scope TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        closed_at TEXT NOT NULL,
        duration_secs INTEGER NOT NULL,
        trips INTEGER NOT NULL,
        PRIMARY KEY (scope, opened_at)
    );

CREATE TABLE rl_probes (
        id INTEGER PRIMARY KEY,
        scope TEXT NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        ok INTEGER NOT NULL,
        status INTEGER,
        retry_after_secs INTEGER,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL
    );

CREATE TABLE rl_actions (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        phase TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        ok INTEGER NOT NULL,
        detail TEXT NOT NULL
    );

CREATE TABLE stuck_detections (
        run_key TEXT NOT NULL,
        class TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        session_key TEXT NOT NULL,
        label TEXT,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        scans INTEGER NOT NULL DEFAULT 1,
        evidence TEXT NOT NULL,
        cleared_at TEXT,
        PRIMARY KEY (run_key, class)
    );

CREATE INDEX stuck_detections_open ON stuck_detections (cleared_at);

CREATE TABLE stuck_actions (
        run_key TEXT NOT NULL,
        step TEXT NOT NULL,
        class TEXT NOT NULL,
        session_key TEXT NOT NULL,
        at TEXT NOT NULL,
        until TEXT,
        argv TEXT NOT NULL,
        status TEXT NOT NULL,
        exit_code INTEGER,
        error TEXT,
        PRIMARY KEY (run_key, step)
    );

CREATE TABLE stuck_triage (
        run_key TEXT NOT NULL,
        class TEXT NOT NULL,
        at TEXT NOT NULL,
        api TEXT NOT NULL,
        model TEXT NOT NULL,
        verdict TEXT NOT NULL,
        text TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost_micros INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        PRIMARY KEY (run_key, class)
    );

CREATE TABLE metric_counters (
        job TEXT NOT NULL,
        name TEXT NOT NULL,
        labels TEXT NOT NULL,
        value REAL NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (job, name, labels)
    );

CREATE TABLE job_findings (
        job TEXT NOT NULL,
        key TEXT NOT NULL,
        text TEXT NOT NULL,
        first_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        PRIMARY KEY (job, key)
    );

CREATE TABLE gateway_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        status TEXT NOT NULL,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_ok_at TEXT,
        last_failure_at TEXT,
        last_error TEXT,
        pid INTEGER,
        rss_baseline_bytes INTEGER,
        rss_bytes INTEGER,
        openclaw_version TEXT,
        audit_at TEXT,
        audit_json TEXT,
        findings TEXT NOT NULL DEFAULT '[]',
        checked_at TEXT NOT NULL
    );

CREATE TABLE gateway_events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT NOT NULL
    );

CREATE INDEX gateway_events_by_event ON gateway_events (event, at);

CREATE TABLE budget_token_alerts (
        scope TEXT NOT NULL,
        period_start TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        level TEXT NOT NULL,
        spent_tokens INTEGER NOT NULL,
        limit_tokens INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (scope, period_start, threshold)
    );

CREATE TABLE digests (
        period TEXT NOT NULL,
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        delivered_to TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (period, period_start)
    );

CREATE TABLE rl_changes (
        id INTEGER PRIMARY KEY,
        provider TEXT NOT NULL,
        outage TEXT NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        label TEXT NOT NULL,
        before TEXT,
        parent_existed INTEGER NOT NULL DEFAULT 1,
        normal TEXT NOT NULL DEFAULT '',
        current TEXT NOT NULL DEFAULT '',
        pending TEXT,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );

CREATE UNIQUE INDEX rl_changes_once ON rl_changes (provider, outage, kind, target);

CREATE INDEX rl_changes_status ON rl_changes (status);

CREATE TABLE rl_resumes (
        provider TEXT NOT NULL,
        outage TEXT NOT NULL,
        resumed_at TEXT NOT NULL,
        limited_secs INTEGER NOT NULL,
        paused TEXT NOT NULL,
        restored TEXT NOT NULL,
        left_alone TEXT NOT NULL,
        PRIMARY KEY (provider, outage)
    );

CREATE TABLE cost_totals (
        agent_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        input INTEGER NOT NULL DEFAULT 0,
        output INTEGER NOT NULL DEFAULT 0,
        cache_read INTEGER NOT NULL DEFAULT 0,
        cache_write INTEGER NOT NULL DEFAULT 0,
        logged_usd TEXT NOT NULL DEFAULT '0.00',
        computed_usd TEXT NOT NULL DEFAULT '0.00',
        auto_usd TEXT NOT NULL DEFAULT '0.00',
        PRIMARY KEY (agent_id, provider, model)
    );

CREATE TABLE cost_sessions (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL UNIQUE
    );

CREATE TABLE cost_sources (
        id INTEGER PRIMARY KEY,
        agent_id TEXT NOT NULL,
        path TEXT NOT NULL,
        UNIQUE (agent_id, path)
    );

CREATE TABLE "read_cursors" (
        reader TEXT NOT NULL,
        source TEXT NOT NULL,
        path TEXT NOT NULL,
        head_len INTEGER NOT NULL DEFAULT 0,
        head_sha256 TEXT NOT NULL DEFAULT '',
        offset INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0,
        mtime_ns INTEGER NOT NULL DEFAULT 0,
        journal_cursor TEXT,
        updated_at TEXT NOT NULL,
        data BLOB,
        PRIMARY KEY (reader, source)
    ) WITHOUT ROWID;

CREATE TABLE cost_kinds (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        price_source TEXT NOT NULL,
        UNIQUE (day, provider, model, price_source)
    );

CREATE TABLE "cost_entries" (
        session INTEGER NOT NULL,
        entry_id TEXT NOT NULL,
        kind INTEGER NOT NULL,
        ts TEXT NOT NULL,
        input INTEGER NOT NULL,
        output INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        cache_write INTEGER NOT NULL,
        source INTEGER NOT NULL,
        counted_at INTEGER NOT NULL,
        logged_usd TEXT,
        computed_usd TEXT,
        PRIMARY KEY (session, entry_id)
    ) WITHOUT ROWID;

CREATE VIEW cost_lines AS
      SELECT s.session_id, e.entry_id, src.agent_id, k.day, e.ts, k.provider, k.model, e.input,
        e.output, e.cache_read, e.cache_write, k.price_source, src.path AS source,
        strftime('%Y-%m-%dT%H:%M:%SZ', e.counted_at, 'unixepoch') AS counted_at,
        e.logged_usd, e.computed_usd
      FROM cost_entries e JOIN cost_sessions s ON s.id = e.session
        JOIN cost_sources src ON src.id = e.source JOIN cost_kinds k ON k.id = e.kind;
