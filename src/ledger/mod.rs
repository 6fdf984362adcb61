//! The ledger: one SQLite database (`<state>/ledger.db`) that every job writes and `status`
//! reads. WAL, `synchronous=NORMAL`, a busy timeout, and migrations by `user_version`.
//!
//! A database written by a newer claw is refused rather than half-understood.

use crate::exit::{fail, Code};
use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

mod migrations;
pub use migrations::LATEST;

/// An open ledger.
pub struct Ledger {
    pub conn: Connection,
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
        let conn = Connection::open(path)
            .with_context(|| format!("{}: cannot open ledger", path.display()))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let ctx = || format!("{}: cannot set up ledger", path.display());
        conn.pragma_update(None, "journal_mode", "WAL")
            .with_context(ctx)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .with_context(ctx)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .with_context(ctx)?;
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
        for (i, sql) in migrations::ALL.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)
                .with_context(|| format!("{}: migration {} failed", path.display(), i + 1))?;
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
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )
        .context("ledger: cannot begin a write transaction")?;
        let v = f(&tx)?;
        tx.commit().context("ledger: cannot commit")?;
        Ok(v)
    }

    /// Record the start of a job run; returns its id.
    pub fn begin_run(&self, job: &str, started_at: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO runs (job, started_at, pid) VALUES (?1, ?2, ?3)",
            params![job, started_at, std::process::id()],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Record the end of a job run. `detail` must already be redacted.
    pub fn end_run(
        &self,
        id: i64,
        ended_at: &str,
        exit_code: u8,
        summary: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE runs SET ended_at = ?2, exit_code = ?3, summary = ?4, detail = ?5 WHERE id = ?1",
            params![id, ended_at, exit_code, summary, detail.to_string()],
        )?;
        Ok(())
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
