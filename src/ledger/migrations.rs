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
    // 3: cost-track (read cursors, counted usage lines, daily totals), imported price
    // tables, budget alerts.
    "CREATE TABLE cost_cursors (
        source TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        head_len INTEGER NOT NULL DEFAULT 0,
        head_sha256 TEXT NOT NULL DEFAULT '',
        offset INTEGER NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        mtime_ns INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE cost_lines (
        session_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        day TEXT NOT NULL,
        ts TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        input INTEGER NOT NULL,
        output INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        cache_write INTEGER NOT NULL,
        logged_micros INTEGER,
        computed_micros INTEGER,
        price_source TEXT NOT NULL,
        source TEXT NOT NULL,
        counted_at TEXT NOT NULL,
        PRIMARY KEY (session_id, entry_id)
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
        logged_micros INTEGER NOT NULL DEFAULT 0,
        logged_missing INTEGER NOT NULL DEFAULT 0,
        computed_micros INTEGER NOT NULL DEFAULT 0,
        computed_missing INTEGER NOT NULL DEFAULT 0,
        auto_micros INTEGER NOT NULL DEFAULT 0,
        auto_estimated INTEGER NOT NULL DEFAULT 0,
        auto_unpriced INTEGER NOT NULL DEFAULT 0,
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
        spent_micros INTEGER NOT NULL,
        limit_micros INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (scope, period_start, threshold)
    );",
    // 4: actions budget-check ran when a budget was exceeded (once per budget and period).
    "CREATE TABLE budget_actions (
        scope TEXT NOT NULL,
        period_start TEXT NOT NULL,
        argv TEXT NOT NULL,
        exit_code INTEGER,
        ran_at TEXT NOT NULL,
        PRIMARY KEY (scope, period_start)
    );",
    // 5: compaction-backup. `cbackup_sources` is the stat cache that makes an unchanged home
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
    // 6: tunnel: current state (one row), public URL history, lifecycle events (start,
    // restart, stop, died, unhealthy, down), each webhook target's latest update and every
    // update made.
    "CREATE TABLE tunnel_state (
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
    CREATE INDEX tunnel_updates_target ON tunnel_updates (target, id);",
    // 7: rate-limit-detect: its own read cursors, counted events, breakers, transitions,
    // recoveries, probes and actions.
    "CREATE TABLE rl_cursors (
        source TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        head_len INTEGER NOT NULL DEFAULT 0,
        head_sha256 TEXT NOT NULL DEFAULT '',
        offset INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0,
        mtime_ns INTEGER NOT NULL DEFAULT 0,
        journal_cursor TEXT,
        updated_at TEXT NOT NULL
    );
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
    );",
    // 8: stuck-agent: one row per (run, class) detected (first/last seen, evidence, when it
    // cleared), the actions taken per run (one per step: steer, extend, kill; inserted before
    // the command runs so a crash never repeats it), and triage answers with tokens and cost.
    "CREATE TABLE stuck_detections (
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
    );",
    // 9: Prometheus counters that must only go up: runs per job and result, and what jobs
    // count with `Outcome::count`. Never pruned (unlike `runs` may be), so `rate()` stays
    // right; seeded with the runs already recorded. `labels` is the JSON array of
    // [name, value] pairs as serde_json writes it.
    "CREATE TABLE metric_counters (
        job TEXT NOT NULL,
        name TEXT NOT NULL,
        labels TEXT NOT NULL,
        value REAL NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (job, name, labels)
    );
    INSERT INTO metric_counters (job, name, labels, value, updated_at)
        SELECT job, 'claw_job_runs_total',
               json_array(json_array('result', CASE exit_code WHEN 0 THEN 'ok' WHEN 1 THEN 'finding' ELSE 'error' END)),
               count(*), max(ended_at)
        FROM runs WHERE exit_code IS NOT NULL GROUP BY 1, 2, 3;",
    // 10: what each job last reported (one row per finding key), so a job prints a finding
    // when it first appears and a recovery when it goes, never the same finding every run.
    "CREATE TABLE job_findings (
        job TEXT NOT NULL,
        key TEXT NOT NULL,
        text TEXT NOT NULL,
        first_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        PRIMARY KEY (job, key)
    );",
    // 11: gateway check: the one-row state a run starts from (consecutive failed probes, the
    // gateway process seen last and its first RSS reading, the last `openclaw security audit`
    // and when it ran), and its events (probe failures, restarts recorded before the command
    // runs, their outcome, restart-loop holds) that bound restarts per hour.
    "CREATE TABLE gateway_state (
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
    CREATE INDEX gateway_events_by_event ON gateway_events (event, at);",
    // 12: token budgets' alert records (their amounts are tokens, not money), the digest
    // sent per period (claimed in the transaction that records its message, so a digest
    // goes out once per period however often and however concurrently the job runs), and
    // a message's structured payload (a digest's card and figures) for retried deliveries.
    "CREATE TABLE budget_token_alerts (
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
    ALTER TABLE alerts ADD COLUMN payload TEXT;",
    // 13: rate-limit degraded mode: every change claw makes to OpenClaw while a provider is
    // limited, recorded (with the value it replaced) BEFORE it is applied, so a later run
    // can undo it even after a crash. `status`: planned (recorded, being applied), applied,
    // restoring (recorded, being undone), restored, void (never took effect), operator (the
    // operator changed it meanwhile: left alone), failed (undo failed; retried). `current` is
    // what claw set last, `pending` what it is setting now. One row per outage and provider
    // with kind 'outage' marks that its plan was made. `rl_resumes`: the recovery record.
    "CREATE TABLE rl_changes (
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
    );",
    // 14: exact money. Amounts become decimal text (see `ledger::money`): a logged cost keeps
    // every digit it was written with, sums are exact. Micro-dollars already counted convert
    // exactly, so every total is what it was. A negative line value (possible only in a
    // ledger poisoned before claw bounded usage lines) keeps its sign and stays out of every
    // rebuilt total; a daily sum such a ledger drove below zero or past i64 (stored REAL)
    // reads as the old readers saw it, clamped to [0, i64::MAX] micro-dollars.
    "ALTER TABLE cost_lines ADD COLUMN logged_usd TEXT;
    ALTER TABLE cost_lines ADD COLUMN computed_usd TEXT;
    UPDATE cost_lines SET logged_usd = usd_from_micros(logged_micros),
        computed_usd = usd_from_micros(computed_micros);
    ALTER TABLE cost_lines DROP COLUMN logged_micros;
    ALTER TABLE cost_lines DROP COLUMN computed_micros;
    ALTER TABLE cost_daily ADD COLUMN logged_usd TEXT NOT NULL DEFAULT '0.00';
    ALTER TABLE cost_daily ADD COLUMN computed_usd TEXT NOT NULL DEFAULT '0.00';
    ALTER TABLE cost_daily ADD COLUMN auto_usd TEXT NOT NULL DEFAULT '0.00';
    UPDATE cost_daily SET logged_usd = usd_from_micros(max(logged_micros, 0)),
        computed_usd = usd_from_micros(max(computed_micros, 0)),
        auto_usd = usd_from_micros(max(auto_micros, 0));
    ALTER TABLE cost_daily DROP COLUMN logged_micros;
    ALTER TABLE cost_daily DROP COLUMN computed_micros;
    ALTER TABLE cost_daily DROP COLUMN auto_micros;
    ALTER TABLE budget_alerts ADD COLUMN spent_usd TEXT NOT NULL DEFAULT '0.00';
    ALTER TABLE budget_alerts ADD COLUMN limit_usd TEXT NOT NULL DEFAULT '0.00';
    UPDATE budget_alerts SET spent_usd = usd_from_micros(max(spent_micros, 0)),
        limit_usd = usd_from_micros(max(limit_micros, 0));
    ALTER TABLE budget_alerts DROP COLUMN spent_micros;
    ALTER TABLE budget_alerts DROP COLUMN limit_micros;",
    // 15: one table of read cursors for every incremental reader (see `ledger::cursors`),
    // replacing cost-track's and rate-limit-detect's twin tables; every cursor is kept.
    "CREATE TABLE read_cursors (
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
        PRIMARY KEY (reader, source)
    );
    INSERT INTO read_cursors (reader, source, path, head_len, head_sha256, offset, size,
        mtime_ns, journal_cursor, updated_at)
      SELECT 'cost-track', source, path, head_len, head_sha256, offset, size, mtime_ns, NULL,
        updated_at FROM cost_cursors;
    INSERT INTO read_cursors (reader, source, path, head_len, head_sha256, offset, size,
        mtime_ns, journal_cursor, updated_at)
      SELECT 'rate-limit-detect', source, path, head_len, head_sha256, offset, size, mtime_ns,
        journal_cursor, updated_at FROM rl_cursors;
    DROP TABLE cost_cursors;
    DROP TABLE rl_cursors;",
    // 16: a directory's sealed archives (`sealed:<dir>` cursors) keep their records here.
    "ALTER TABLE read_cursors ADD COLUMN data BLOB;",
    // 17: all-time totals per agent x provider x model (what the metrics show), kept by the
    // writes that keep `cost_daily` (cost-track's flush, reprice's rebuild), so a run that
    // counted nothing new does not sum every day again.
    "CREATE TABLE cost_totals (
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
    INSERT INTO cost_totals (agent_id, provider, model, input, output, cache_read, cache_write,
        logged_usd, computed_usd, auto_usd)
      SELECT agent_id, provider, model, sum(input), sum(output), sum(cache_read),
        sum(cache_write), usd_sum(logged_usd), usd_sum(computed_usd), usd_sum(auto_usd)
      FROM cost_daily GROUP BY agent_id, provider, model;",
    // 18: counted lines in a third of the bytes. A line keeps its (session, entry id) key and
    // every value, but the session id, the agent and the source path are written once in
    // their own tables, the count time as Unix seconds, and the table is keyed by
    // (session, entry id) itself (WITHOUT ROWID: one B-tree, no second index). Sessions are
    // numbered as first counted, so a run's new lines go at the end. The view `cost_lines`
    // shows every line as before, column for column (a count time that was no time, possible
    // only in a hand-edited ledger, shows as 1970-01-01).
    "CREATE TABLE cost_sessions (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL UNIQUE
    );
    CREATE TABLE cost_sources (
        id INTEGER PRIMARY KEY,
        agent_id TEXT NOT NULL,
        path TEXT NOT NULL,
        UNIQUE (agent_id, path)
    );
    CREATE TABLE cost_entries (
        session INTEGER NOT NULL,
        entry_id TEXT NOT NULL,
        day TEXT NOT NULL,
        ts TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        input INTEGER NOT NULL,
        output INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        cache_write INTEGER NOT NULL,
        price_source TEXT NOT NULL,
        source INTEGER NOT NULL,
        counted_at INTEGER NOT NULL,
        logged_usd TEXT,
        computed_usd TEXT,
        PRIMARY KEY (session, entry_id)
    ) WITHOUT ROWID;
    INSERT INTO cost_sessions (session_id)
      SELECT session_id FROM cost_lines GROUP BY session_id ORDER BY min(rowid);
    INSERT INTO cost_sources (agent_id, path)
      SELECT agent_id, source FROM cost_lines GROUP BY agent_id, source ORDER BY min(rowid);
    INSERT INTO cost_entries (session, entry_id, day, ts, provider, model, input, output,
        cache_read, cache_write, price_source, source, counted_at, logged_usd, computed_usd)
      SELECT s.id, l.entry_id, l.day, l.ts, l.provider, l.model, l.input, l.output,
        l.cache_read, l.cache_write, l.price_source, src.id, coalesce(unixepoch(l.counted_at), 0),
        l.logged_usd, l.computed_usd
      FROM cost_lines l JOIN cost_sessions s ON s.session_id = l.session_id
        JOIN cost_sources src ON src.agent_id = l.agent_id AND src.path = l.source
      ORDER BY s.id, l.entry_id;
    DROP TABLE cost_lines;
    CREATE VIEW cost_lines AS
      SELECT s.session_id, e.entry_id, src.agent_id, e.day, e.ts, e.provider, e.model, e.input,
        e.output, e.cache_read, e.cache_write, e.price_source, src.path AS source,
        strftime('%Y-%m-%dT%H:%M:%SZ', e.counted_at, 'unixepoch') AS counted_at,
        e.logged_usd, e.computed_usd
      FROM cost_entries e JOIN cost_sessions s ON s.id = e.session
        JOIN cost_sources src ON src.id = e.source;",
    // 19: read cursors stored in key order (WITHOUT ROWID): a reader's cursors are one range
    // of one B-tree, read in one pass, instead of an index walk and a table seek per cursor
    // (a warm run of a home of 12k files loads all of them). Every cursor is kept.
    "CREATE TABLE read_cursors_new (
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
    INSERT INTO read_cursors_new (reader, source, path, head_len, head_sha256, offset, size,
        mtime_ns, journal_cursor, updated_at, data)
      SELECT reader, source, path, head_len, head_sha256, offset, size, mtime_ns,
        journal_cursor, updated_at, data FROM read_cursors;
    DROP TABLE read_cursors;
    ALTER TABLE read_cursors_new RENAME TO read_cursors;",
    // 20: a counted line's day, provider, model and price source are one `cost_kinds` row:
    // a session's lines mostly share them, and each text column costs the insert (record,
    // affinity, NOT NULL check) on every counted line. About 15 % fewer instructions an
    // insert and a third smaller table (80k lines in a standalone rusqlite bench). The view
    // `cost_lines` shows every line as before, column for column.
    "CREATE TABLE cost_kinds (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        price_source TEXT NOT NULL,
        UNIQUE (day, provider, model, price_source)
    );
    INSERT INTO cost_kinds (day, provider, model, price_source)
      SELECT DISTINCT day, provider, model, price_source FROM cost_entries
      ORDER BY day, provider, model, price_source;
    CREATE TABLE cost_entries_new (
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
    INSERT INTO cost_entries_new (session, entry_id, kind, ts, input, output, cache_read,
        cache_write, source, counted_at, logged_usd, computed_usd)
      SELECT e.session, e.entry_id, k.id, e.ts, e.input, e.output, e.cache_read, e.cache_write,
        e.source, e.counted_at, e.logged_usd, e.computed_usd
      FROM cost_entries e JOIN cost_kinds k ON k.day = e.day AND k.provider = e.provider
        AND k.model = e.model AND k.price_source = e.price_source;
    DROP VIEW cost_lines;
    DROP TABLE cost_entries;
    ALTER TABLE cost_entries_new RENAME TO cost_entries;
    CREATE VIEW cost_lines AS
      SELECT s.session_id, e.entry_id, src.agent_id, k.day, e.ts, k.provider, k.model, e.input,
        e.output, e.cache_read, e.cache_write, k.price_source, src.path AS source,
        strftime('%Y-%m-%dT%H:%M:%SZ', e.counted_at, 'unixepoch') AS counted_at,
        e.logged_usd, e.computed_usd
      FROM cost_entries e JOIN cost_sessions s ON s.id = e.session
        JOIN cost_sources src ON src.id = e.source JOIN cost_kinds k ON k.id = e.kind;",
];

/// The schema version this claw writes.
pub const LATEST: u32 = ALL.len() as u32;
