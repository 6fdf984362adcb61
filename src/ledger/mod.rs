//! The ledger: one SQLite database (`<state>/ledger.db`) that every job writes and `status`
//! reads. WAL, `synchronous=NORMAL`, a busy timeout, and migrations by `user_version`.
//!
//! A database written by a newer claw is refused rather than half-understood.

use crate::exit::{fail, Code};
use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

pub mod budget_actions;
pub mod cursors;
pub mod findings;
mod migrations;
pub mod money;
mod retention;
pub use migrations::LATEST;
pub use retention::BATCH as PRUNE_BATCH;

/// The schema the migrations build, given to a new ledger in one step (see the file's head).
const SCHEMA: &str = include_str!("schema.sql");

/// An open ledger.
pub struct Ledger {
    conn: Connection,
}

/// One row of the `runs` table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRow {
    pub id: i64,
    pub job: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub exit_code: Option<i64>,
    pub summary: Option<String>,
}

impl Ledger {
    /// Open (creating if needed) and migrate the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger> {
        if let Some(dir) = path.parent() {
            crate::atomic::create_private_dir(dir)?;
        }
        if path.exists() {
            crate::safefs::check_regular(path)
                .with_context(|| format!("{}: cannot open ledger", path.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("{}: cannot open ledger", path.display()))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let ctx = || format!("{}: cannot set up ledger", path.display());
        // A new ledger gets 16 KiB pages: cost-track's first run writes tens of MB through the
        // WAL, one header and one page per frame, so 4x fewer frames is 4x fewer writes (about
        // 35k pwrite and 17k pread calls down to 7k and 3k on a 200 MB tree). No effect on a
        // ledger that exists (its page size stays).
        conn.pragma_update(None, "page_size", 16384)
            .with_context(ctx)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .with_context(ctx)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .with_context(ctx)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .with_context(ctx)?;
        crate::ledger::money::register(&conn).with_context(ctx)?;
        let mut ledger = Ledger { conn };
        ledger.migrate(path)?;
        Ok(ledger)
    }

    fn migrate(&mut self, path: &Path) -> Result<()> {
        let version: u32 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .with_context(|| format!("{}: not a readable SQLite database", path.display()))?;
        if version > LATEST {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{}: ledger schema version {version} is newer than this claw understands ({LATEST}); upgrade claw or point --state-dir elsewhere",
                    path.display()
                ),
            ));
        }
        if version == LATEST {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Re-read inside the write lock: a concurrent claw may have migrated meanwhile.
        let version: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let empty = tx.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })? == 0;
        if version == 0 && empty {
            tx.execute_batch(SCHEMA)
                .with_context(|| format!("{}: cannot create the schema", path.display()))?;
        } else {
            for (i, sql) in migrations::ALL.iter().enumerate().skip(version as usize) {
                tx.execute_batch(sql)
                    .with_context(|| format!("{}: migration {} failed", path.display(), i + 1))?;
            }
        }
        tx.pragma_update(None, "user_version", LATEST)?;
        tx.commit()
            .with_context(|| format!("{}: cannot commit migration", path.display()))?;
        Ok(())
    }

    /// Runs `f` inside one short IMMEDIATE transaction: committed when `f` returns `Ok`, rolled
    /// back when it returns an error or panics (the transaction rolls back when dropped), so a
    /// failed job never leaves a transaction open behind its run record. Make no network call
    /// or subprocess inside `f`.
    pub fn immediate<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.immediate_unless(false, f)
    }

    /// [`Ledger::immediate`] for a job whose dry run must see its own writes (to report what
    /// they would do): with `dry_run` the transaction is rolled back instead of committed.
    pub fn immediate_unless<T>(
        &self,
        dry_run: bool,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )
        .context("ledger: cannot begin a write transaction")?;
        let v = f(&tx)?;
        if dry_run {
            tx.rollback().context("ledger: cannot roll back")?;
        } else {
            tx.commit().context("ledger: cannot commit")?;
        }
        Ok(v)
    }

    /// Starts a long write done in steps (a first run counting millions of lines): one
    /// IMMEDIATE transaction per step, committed by [`Batched::commit_and_continue`] and
    /// [`Batched::finish`], the open step rolled back when the guard is dropped (an error
    /// mid-run). A dry run never commits: every step is rolled back at the end.
    pub fn batched(&self, dry_run: bool) -> Result<Batched<'_>> {
        // The writer itself copies the WAL back into the database only past 128 MiB (8192
        // pages of 16 KiB): a first run over gigabytes rewrites the same index pages and syncs
        // far less often (sys time and wall time about halved on a 2 GB home), still bounding
        // the WAL on disk. Below that, the checkpointer copies each committed step.
        // Its page cache is 512 KiB instead of SQLite's 2 MB: a long write adds rows mostly at
        // the right edge of its B-trees (a new session gets the next number) and works on one
        // session's few pages at a time, so a larger cache mostly keeps pages it is done with
        // (1.2 MB of a cold run's peak on the 200 MB bench tree, no slower there or on the
        // SQLite-era store).
        self.conn
            .execute_batch("PRAGMA wal_autocheckpoint = 8192; PRAGMA cache_size = -512")
            .context("ledger: cannot set up a long write")?;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .context("ledger: cannot begin a write transaction")?;
        let checkpointer = match (dry_run, self.conn.path()) {
            (false, Some(path)) if !path.is_empty() => Checkpointer::start(path.into()),
            _ => None,
        };
        Ok(Batched {
            conn: &self.conn,
            dry_run,
            checkpointer,
        })
    }

    /// Runs the reads in `f` on the ledger's connection. With [`Ledger::immediate`] for writes,
    /// this is how a job's `store.rs` reaches the database: the connection itself stays inside
    /// the ledger layer.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.conn)
    }

    /// Record the start of a job run; returns its id.
    pub fn begin_run(&self, job: &str, started_at: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO runs (job, started_at, pid) VALUES (?1, ?2, ?3)",
            params![job, started_at, std::process::id()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Record the end of a job run, in one transaction with its counters: the job's
    /// `claw_job_runs_total{result}` and the increments in `deltas` (from `Outcome::count`).
    /// `detail` must already be redacted.
    pub fn end_run(
        &self,
        id: i64,
        ended_at: &str,
        exit_code: u8,
        summary: &str,
        detail: &serde_json::Value,
        deltas: &[crate::output::Metric],
    ) -> Result<()> {
        self.immediate(|tx| {
            tx.execute(
                "UPDATE runs SET ended_at = ?2, exit_code = ?3, summary = ?4, detail = ?5 WHERE id = ?1",
                params![id, ended_at, exit_code, summary, detail.to_string()],
            )?;
            let job: String =
                tx.query_row("SELECT job FROM runs WHERE id = ?1", params![id], |r| {
                    r.get(0)
                })?;
            let result = match exit_code {
                0 => "ok",
                1 => "finding",
                _ => "error",
            };
            let add = |name: &str, labels: &[(String, String)], v: f64| {
                let labels = serde_json::to_string(labels).unwrap_or_default();
                tx.execute(
                    "INSERT INTO metric_counters (job, name, labels, value, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (job, name, labels) DO UPDATE SET value = value + excluded.value,
                         updated_at = excluded.updated_at",
                    params![job, name, labels, v, ended_at],
                )
            };
            add(
                "claw_job_runs_total",
                &[("result".into(), result.into())],
                1.0,
            )?;
            // A negative or NaN increment would break the counter for good.
            for m in deltas.iter().filter(|m| m.delta && m.value > 0.0) {
                add(&crate::metrics::metric_name(&m.name), &m.labels, m.value)?;
            }
            Ok(())
        })
    }

    /// Every counter `job` owns, with its total.
    pub fn counters(&self, job: &str) -> Result<Vec<crate::output::Metric>> {
        let mut st = self.conn.prepare(
            "SELECT name, labels, value FROM metric_counters WHERE job = ?1 ORDER BY name, labels",
        )?;
        let rows = st
            .query_map(params![job], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, f64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(|(name, labels, value)| crate::output::Metric {
                name,
                labels: serde_json::from_str(&labels).unwrap_or_default(),
                value,
                delta: false,
            })
            .collect())
    }

    /// The newest run of every job.
    pub fn last_runs(&self) -> Result<Vec<RunRow>> {
        let mut st = self.conn.prepare(
            "SELECT r.id, r.job, r.started_at, r.ended_at, r.exit_code, r.summary FROM runs r
             WHERE r.id = (SELECT max(id) FROM runs WHERE job = r.job) ORDER BY r.job",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    job: r.get(1)?,
                    started_at: r.get(2)?,
                    ended_at: r.get(3)?,
                    exit_code: r.get(4)?,
                    summary: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// When `job` last started, if it ever ran.
    pub fn last_started(&self, job: &str) -> Result<Option<String>> {
        Ok(self.conn.query_row(
            "SELECT max(started_at) FROM runs WHERE job = ?1",
            params![job],
            |r| r.get(0),
        )?)
    }

    /// The newest successful (exit 0 or 1) end time of `job`, if any.
    pub fn last_success(&self, job: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT ended_at FROM runs WHERE job = ?1 AND exit_code IN (0, 1) ORDER BY id DESC LIMIT 1",
                params![job],
                |r| r.get(0),
            )
            .optional()?)
    }
}

/// A long write in steps, see [`Ledger::batched`].
pub struct Batched<'l> {
    conn: &'l Connection,
    dry_run: bool,
    checkpointer: Option<Checkpointer>,
}

/// Copies committed steps of a long write from the WAL into the database on a thread of its
/// own (a PASSIVE checkpoint on a second connection, which never blocks the writer), so the
/// copy and its two `fsync`s overlap the rest of the run instead of all waiting for the
/// last connection's close (about 0.1 s of a 200 MB first run, nearly all of it I/O wait).
/// Best effort: a checkpoint that fails is left to that close, as before.
struct Checkpointer {
    wake: std::sync::mpsc::SyncSender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    /// `None` when no thread can be had (the close then copies everything, as before).
    fn start(path: std::path::PathBuf) -> Option<Checkpointer> {
        let (wake, steps) = std::sync::mpsc::sync_channel::<()>(1);
        let run = move || {
            // The ledger as it is: never created anew should it vanish meanwhile.
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let Ok(conn) = Connection::open_with_flags(&path, flags) else {
                return;
            };
            let _ = conn.busy_timeout(Duration::from_secs(1));
            while steps.recv().is_ok() {
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        };
        let thread = std::thread::Builder::new()
            .name("ledger-checkpoint".into())
            .spawn(run)
            .ok()?;
        Some(Checkpointer { wake, thread })
    }

    /// A step was committed: checkpoint it, unless a checkpoint is already waiting.
    fn step(&self) {
        let _ = self.wake.try_send(());
    }

    /// Waits for the checkpoint under way and closes the second connection, so that the
    /// writer's own close is the last and removes the WAL.
    fn stop(self) {
        drop(self.wake);
        let _ = self.thread.join();
    }
}

impl Batched<'_> {
    /// The open transaction, for a job's `store.rs`.
    pub fn db(&self) -> &Connection {
        self.conn
    }

    /// Commits the step and opens the next (a dry run keeps its one transaction open).
    pub fn commit_and_continue(&self) -> Result<()> {
        if !self.dry_run {
            self.conn
                .execute_batch("COMMIT; BEGIN IMMEDIATE")
                .context("ledger: cannot commit")?;
            if let Some(c) = &self.checkpointer {
                c.step();
            }
        }
        Ok(())
    }

    /// Commits the last step (rolls everything back in a dry run).
    pub fn finish(mut self) -> Result<()> {
        let sql = if self.dry_run { "ROLLBACK" } else { "COMMIT" };
        self.conn
            .execute_batch(sql)
            .context("ledger: cannot commit")?;
        if let Some(c) = self.checkpointer.take() {
            c.stop();
        }
        Ok(())
    }
}

/// A run that fails mid-step rolls its open transaction back here; left open, the run's end
/// record and its job-failed alert would be written into it and lost.
impl Drop for Batched<'_> {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        if let Some(c) = self.checkpointer.take() {
            c.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_and_records_runs() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/ledger.db");
        let l = Ledger::open(&p).unwrap();
        let id = l
            .begin_run("config-backup", "2026-01-01T00:00:00Z")
            .unwrap();
        l.end_run(
            id,
            "2026-01-01T00:00:01Z",
            0,
            "ok",
            &serde_json::json!({"a": 1}),
            &[],
        )
        .unwrap();
        drop(l);
        let l = Ledger::open(&p).unwrap();
        let runs = l.last_runs().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].exit_code, Some(0));
        let jm: String = l
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(jm, "wal");
    }

    #[test]
    fn immediate_commits_on_ok_and_rolls_back_on_error() {
        let d = tempfile::tempdir().unwrap();
        let l = Ledger::open(&d.path().join("ledger.db")).unwrap();
        let count = |l: &Ledger| -> i64 {
            l.conn
                .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
                .unwrap()
        };
        l.immediate(|tx| {
            tx.execute("INSERT INTO runs (job, started_at) VALUES ('a', 't')", [])?;
            Ok(())
        })
        .unwrap();
        let r: Result<()> = l.immediate(|tx| {
            tx.execute("INSERT INTO runs (job, started_at) VALUES ('b', 't')", [])?;
            anyhow::bail!("fails after writing")
        });
        assert!(r.is_err());
        assert_eq!(count(&l), 1);
        // The connection is usable again: no transaction was left open.
        l.begin_run("c", "t").unwrap();
        assert_eq!(count(&l), 2);
        // A dry run sees its own write, then leaves nothing behind.
        let seen = l
            .immediate_unless(true, |tx| {
                tx.execute("INSERT INTO runs (job, started_at) VALUES ('d', 't')", [])?;
                Ok(tx.query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0))?)
            })
            .unwrap();
        assert_eq!((seen, count(&l)), (3, 2));
    }

    #[test]
    fn run_counters_only_grow_and_outlive_pruned_runs() {
        let d = tempfile::tempdir().unwrap();
        let l = Ledger::open(&d.path().join("ledger.db")).unwrap();
        let delta = |v: f64| crate::output::Metric {
            name: "tunnel_restarts_total".into(),
            labels: vec![],
            value: v,
            delta: true,
        };
        for (code, d) in [(0, 2.0), (1, 0.0), (74, -5.0), (0, 1.0)] {
            let id = l.begin_run("tunnel", "t").unwrap();
            l.end_run(id, "t", code, "", &serde_json::Value::Null, &[delta(d)])
                .unwrap();
        }
        // Pruning the run history must not lower a counter.
        l.conn.execute("DELETE FROM runs", []).unwrap();
        let c = l.counters("tunnel").unwrap();
        let get = |name: &str, labels: &[(&str, &str)]| {
            c.iter()
                .find(|m| {
                    m.name == name
                        && m.labels
                            == labels
                                .iter()
                                .map(|(a, b)| (a.to_string(), b.to_string()))
                                .collect::<Vec<_>>()
                })
                .map(|m| m.value)
        };
        assert_eq!(get("claw_job_runs_total", &[("result", "ok")]), Some(2.0));
        assert_eq!(
            get("claw_job_runs_total", &[("result", "finding")]),
            Some(1.0)
        );
        assert_eq!(
            get("claw_job_runs_total", &[("result", "error")]),
            Some(1.0)
        );
        // A negative increment is ignored, never subtracted.
        assert_eq!(get("claw_tunnel_restarts_total", &[]), Some(3.0));
        assert!(l.counters("other").unwrap().is_empty());
    }

    /// A ledger file at an older schema: the first `version` migrations applied.
    fn open_at(path: &Path, version: usize) -> Connection {
        let c = Connection::open(path).unwrap();
        money::register(&c).unwrap();
        for sql in &migrations::ALL[..version] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", version as u32)
            .unwrap();
        c
    }

    #[test]
    fn the_exact_money_migration_keeps_every_total() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ledger.db");
        let before = migrations::ALL
            .iter()
            .position(|m| m.contains("ALTER TABLE cost_lines ADD COLUMN logged_usd"))
            .unwrap();
        let c = open_at(&p, before);
        c.execute_batch(
            "INSERT INTO cost_lines (session_id, entry_id, agent_id, day, ts, provider, model, input, output,
               cache_read, cache_write, logged_micros, computed_micros, price_source, source, counted_at)
             VALUES ('s', 'a', 'main', '2026-03-08', 't', 'p', 'm', 1, 1, 0, 0, 7557, 7560, 'logged', 'x', 't'),
                    ('s', 'b', 'main', '2026-03-08', 't', 'p', 'm', 1, 1, 0, 0, NULL, 12000001, 'config', 'x', 't'),
                    ('s', 'c', 'main', '2026-03-08', 't', 'p', 'm', 1, 1, 0, 0, -5000000, NULL, 'logged', 'x', 't');
             INSERT INTO cost_daily (day, agent_id, session_id, provider, model, lines, logged_micros,
               logged_missing, computed_micros, computed_missing, auto_micros, auto_estimated, auto_unpriced)
             VALUES ('2026-03-08', 'main', 's', 'p', 'm', 2, 7557, 1, 12007561, 0, 12007558, 1, 0),
                    ('2026-03-09', 'main', 's', 'p', 'm', 1, 1.5e19, 0, -3, 0, 1.5e19, 0, 0);
             INSERT INTO budget_alerts (scope, period_start, threshold, level, spent_micros, limit_micros, created_at)
             VALUES ('daily all', '2026-03-08', 80, 'warning', 8500000, 10000000, 't');",
        )
        .unwrap();
        drop(c);
        let l = Ledger::open(&p).unwrap();
        let q = |sql: &str| -> Vec<String> {
            let mut st = l.conn.prepare(sql).unwrap();
            let rows = st.query_map([], |r| r.get::<_, Option<String>>(0)).unwrap();
            rows.map(|r| r.unwrap().unwrap_or_else(|| "NULL".into()))
                .collect()
        };
        assert_eq!(
            q("SELECT logged_usd || ' ' || coalesce(computed_usd, 'NULL') FROM cost_lines ORDER BY entry_id"),
            ["0.007557 0.00756", "NULL", "-5.00 NULL"].map(String::from)
        );
        assert_eq!(
            q("SELECT logged_usd || ' ' || computed_usd || ' ' || auto_usd FROM cost_daily ORDER BY day"),
            ["0.007557 12.007561 12.007558", "9223372036854.775807 0.00 9223372036854.775807"].map(String::from)
        );
        assert_eq!(
            q("SELECT spent_usd || ' ' || limit_usd FROM budget_alerts"),
            ["8.50 10.00"]
        );
        // The negative line is outside the per-line bounds: never in a rebuilt total.
        assert_eq!(
            q("SELECT usd_sum(logged_usd) FROM cost_lines WHERE usd_sane(logged_usd)"),
            ["0.007557"]
        );
    }

    #[test]
    fn the_narrow_lines_migration_keeps_every_line_as_it_was() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ledger.db");
        let before = migrations::ALL
            .iter()
            .position(|m| m.contains("CREATE TABLE cost_entries"))
            .unwrap();
        let c = open_at(&p, before);
        // Two sessions; one read from two sources (a checkpoint, then its live file), one
        // session id under two agents; amounts and a NULL as they were written.
        c.execute_batch(
            "INSERT INTO cost_lines (session_id, entry_id, agent_id, day, ts, provider, model, input,
               output, cache_read, cache_write, price_source, source, counted_at, logged_usd, computed_usd)
             VALUES ('s2', 'b', 'main', '2026-03-08', '2026-03-08T10:00:00.000Z', 'p', 'm', 1, 2, 3, 4,
                       'logged', 'agents/main/sessions/s2.checkpoint.x.jsonl', '2026-03-09T01:00:00Z', '0.5', NULL),
                    ('s2', 'a', 'main', '2026-03-08', '2026-03-08T10:00:01.000Z', 'p', 'm', 5, 6, 7, 8,
                       'config', 'agents/main/sessions/s2.jsonl', '2026-03-09T01:00:00Z', NULL, '0.0123'),
                    ('s1', 'c', 'main', '2026-03-07', '2026-03-07T23:59:59.999Z', 'q', 'n', 0, 9, 0, 0,
                       'logged', 'agents/main/sessions/s1.jsonl', '2026-03-10T02:30:00Z', '1.00', '0.99'),
                    ('s1', 'd', 'ops', '2026-03-07', '2026-03-07T23:59:59.999Z', 'q', 'n', 0, 9, 0, 0,
                       'logged', 'agents/ops/sessions/s1.jsonl', '2026-03-10T02:30:00Z', '1.00', '0.99');",
        )
        .unwrap();
        let rows = |c: &Connection| -> Vec<String> {
            let mut st = c
                .prepare("SELECT * FROM cost_lines ORDER BY session_id, entry_id")
                .unwrap();
            let n = st.column_count();
            let rows = st.query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            });
            rows.unwrap().map(Result::unwrap).collect()
        };
        let was = rows(&c);
        drop(c);
        let l = Ledger::open(&p).unwrap();
        assert_eq!(rows(&l.conn), was);
        let n = |sql: &str| -> i64 { l.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(n("SELECT count(*) FROM cost_sessions"), 2);
        assert_eq!(n("SELECT count(*) FROM cost_sources"), 4);
        // Day, provider, model and price source: three kinds among the four lines.
        assert_eq!(n("SELECT count(*) FROM cost_kinds"), 3);
        // Still one line per (session, entry id).
        let again = l
            .conn
            .execute(
                "INSERT INTO cost_entries (session, entry_id, kind, ts, input, output,
                   cache_read, cache_write, source, counted_at)
                 SELECT session, entry_id, kind, ts, 0, 0, 0, 0, source, 0
                 FROM cost_entries WHERE true ON CONFLICT (session, entry_id) DO NOTHING",
                [],
            )
            .unwrap();
        assert_eq!(again, 0);
    }
    #[test]
    fn the_counter_migration_starts_from_the_recorded_runs() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ledger.db");
        // A ledger at the schema before the counters, with runs recorded.
        let before = migrations::ALL
            .iter()
            .position(|m| m.contains("CREATE TABLE metric_counters"))
            .unwrap();
        let l = open_at(&p, before);
        for code in [Some(0), Some(0), Some(1), Some(66), None] {
            // None: still running, not counted.
            l.execute(
                "INSERT INTO runs (job, started_at, ended_at, exit_code) VALUES ('config-backup', 't', 't', ?1)",
                params![code],
            )
            .unwrap();
        }
        drop(l);
        let l = Ledger::open(&p).unwrap();
        let c = l.counters("config-backup").unwrap();
        let vals: Vec<(String, f64)> = c.iter().map(|m| (m.labels[0].1.clone(), m.value)).collect();
        assert_eq!(
            vals,
            [
                ("error".into(), 1.0),
                ("finding".into(), 1.0),
                ("ok".into(), 2.0)
            ]
        );
        // The seeded labels match what end_run writes: the next run adds to the same row.
        let id = l.begin_run("config-backup", "t").unwrap();
        l.end_run(id, "t", 0, "", &serde_json::Value::Null, &[])
            .unwrap();
        let c = l.counters("config-backup").unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[2].value, 3.0);
    }

    #[test]
    fn the_cursor_migration_keeps_every_cursor() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ledger.db");
        let before = migrations::ALL
            .iter()
            .position(|m| m.contains("CREATE TABLE read_cursors"))
            .unwrap();
        let c = open_at(&p, before);
        c.execute_batch(
            "INSERT INTO cost_cursors (source, path, head_len, head_sha256, offset, size, mtime_ns, updated_at)
             VALUES ('file:1:7', 'a.jsonl', 10, 'h', 100, 103, 5, 't'),
                    ('sqlite:agents/a/db:s1', 'agents/a/db', 0, '', 42, 0, 0, 't'),
                    ('sqlitedb:agents/a/db', 'agents/a/db', 0, '1:2:3:4', 0, 0, 0, 't');
             INSERT INTO rl_cursors (source, path, head_len, head_sha256, offset, size, mtime_ns, journal_cursor, updated_at)
             VALUES ('file:1:7', 'gw.log', 3, 'g', 9, 9, 6, NULL, 't'),
                    ('journal:gw', 'gw.service', 0, '', 0, 0, 0, 's=abc', 't');",
        )
        .unwrap();
        drop(c);
        let l = Ledger::open(&p).unwrap();
        use cursors::{Cursors, Reader};
        let cost = l.read(|c| Cursors::load(c, Reader::CostTrack)).unwrap();
        let f = &cost.files[&(1, 7)];
        assert_eq!(
            (f.ino, f.head_len, f.offset, f.size, f.mtime_ns),
            (7, 10, 100, 103, 5)
        );
        assert_eq!(cost.sessions_of("agents/a/db")["s1"], 42);
        assert_eq!(cost.stamps["sqlitedb:agents/a/db"], "1:2:3:4");
        let rl = l.read(|c| Cursors::load(c, Reader::RateLimit)).unwrap();
        assert_eq!(rl.files[&(1, 7)].offset, 9);
        assert_eq!(rl.journal["journal:gw"], "s=abc");
        assert!(rl.seqs.is_empty() && cost.journal.is_empty());
    }

    #[test]
    fn a_batched_write_commits_in_steps_and_rolls_back_the_open_step() {
        let d = tempfile::tempdir().unwrap();
        let l = Ledger::open(&d.path().join("ledger.db")).unwrap();
        let count = |l: &Ledger| -> i64 {
            l.conn
                .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
                .unwrap()
        };
        {
            let b = l.batched(false).unwrap();
            b.db()
                .execute("INSERT INTO runs (job, started_at) VALUES ('a', 't')", [])
                .unwrap();
            b.commit_and_continue().unwrap();
            b.db()
                .execute("INSERT INTO runs (job, started_at) VALUES ('b', 't')", [])
                .unwrap();
            // Dropped without finish: the open step rolls back.
        }
        assert_eq!(count(&l), 1);
        let b = l.batched(true).unwrap();
        let cache: i64 = (b.db())
            .query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(cache, -512, "a long write's page cache, in KiB");
        b.db()
            .execute("INSERT INTO runs (job, started_at) VALUES ('c', 't')", [])
            .unwrap();
        b.commit_and_continue().unwrap();
        b.finish().unwrap();
        // A dry run keeps nothing, even past a step.
        assert_eq!(count(&l), 1);
        let b = l.batched(false).unwrap();
        b.db()
            .execute("INSERT INTO runs (job, started_at) VALUES ('d', 't')", [])
            .unwrap();
        b.finish().unwrap();
        assert_eq!(count(&l), 2);
    }

    #[test]
    fn committed_steps_reach_the_database_file_while_the_write_goes_on() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ledger.db");
        let l = Ledger::open(&p).unwrap();
        let before = std::fs::metadata(&p).unwrap().len();
        let b = l.batched(false).unwrap();
        let mut insert = b
            .db()
            .prepare("INSERT INTO runs (job, started_at) VALUES (?1, 't')")
            .unwrap();
        for i in 0..20_000 {
            insert.execute([format!("job {i}")]).unwrap();
        }
        b.commit_and_continue().unwrap();
        // Far below the writer's own checkpoint threshold: only the checkpointer copies it.
        let grown = (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            std::fs::metadata(&p).unwrap().len() > before
        });
        assert!(grown, "the committed step stayed in the WAL");
        insert.execute(["last".to_string()]).unwrap();
        drop(insert);
        b.finish().unwrap();
        drop(l);
        assert!(!d.path().join("ledger.db-wal").exists());
        let c = Connection::open(&p).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 20_001);
    }

    /// `sqlite_master` as `schema.sql` writes it: every statement, in creation order.
    fn schema_of(c: &Connection) -> String {
        let mut q = c
            .prepare(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL
                 AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
            )
            .unwrap();
        let rows = q.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.map(|r| r.unwrap() + ";\n")
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_new_ledger_gets_the_schema_the_migrations_build() {
        let d = tempfile::tempdir().unwrap();
        let migrated = Connection::open(d.path().join("migrated.db")).unwrap();
        money::register(&migrated).unwrap();
        for sql in migrations::ALL {
            migrated.execute_batch(sql).unwrap();
        }
        drop(Ledger::open(&d.path().join("ledger.db")).unwrap());
        let fresh = Connection::open(d.path().join("ledger.db")).unwrap();
        let want = schema_of(&migrated);
        let version: u32 = fresh
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
        // On a new migration, paste the schema printed here after schema.sql's head comment.
        assert!(
            schema_of(&fresh) == want && SCHEMA.ends_with(&want),
            "src/ledger/schema.sql is not what the migrations build:\n{want}"
        );
        // Same objects, sqlite's own included (autoindexes, sqlite_sequence).
        let all = |c: &Connection| -> Vec<(String, String, String)> {
            let mut q = c
                .prepare("SELECT type, name, tbl_name FROM sqlite_master ORDER BY 1, 2")
                .unwrap();
            let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
            rows.unwrap().map(Result::unwrap).collect()
        };
        assert_eq!(all(&fresh), all(&migrated));
    }

    #[test]
    fn newer_schema_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ledger.db");
        drop(Ledger::open(&p).unwrap());
        let c = Connection::open(&p).unwrap();
        c.pragma_update(None, "user_version", LATEST + 1).unwrap();
        drop(c);
        let err = Ledger::open(&p).err().unwrap();
        assert_eq!(crate::exit::code_of(&err), Code::DataErr);
        assert!(format!("{err:#}").contains("newer"));
    }
}
