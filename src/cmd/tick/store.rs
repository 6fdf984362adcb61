//! The ledger's `schedule` table: when `tick` last started each job and how it ended.

use anyhow::Result;
use rusqlite::{params, Connection};

/// One job's row: its last start (RFC 3339) and exit code (`None` while running or killed).
pub struct ScheduleRow {
    pub job: String,
    pub last_started_at: String,
    pub last_exit: Option<i64>,
}

/// Every job tick has started.
pub fn all(c: &Connection) -> Result<Vec<ScheduleRow>> {
    let mut st = c.prepare("SELECT job, last_started_at, last_exit FROM schedule")?;
    let rows = st
        .query_map([], |r| {
            Ok(ScheduleRow {
                job: r.get(0)?,
                last_started_at: r.get(1)?,
                last_exit: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Jobs whose last scheduled run ended in failure: (job, exit code).
pub fn failures(c: &Connection) -> Result<Vec<(String, Option<i64>)>> {
    let mut st = c.prepare(
        "SELECT job, last_exit FROM schedule
         WHERE last_ended_at IS NOT NULL AND (last_exit IS NULL OR last_exit NOT IN (0, 1, 75))",
    )?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// `job` started at `at` (its previous end is cleared).
pub fn started(c: &Connection, job: &str, at: &str) -> Result<()> {
    c.execute(
        "INSERT INTO schedule (job, last_started_at, last_ended_at, last_exit)
         VALUES (?1, ?2, NULL, NULL)
         ON CONFLICT (job) DO UPDATE SET last_started_at = ?2, last_ended_at = NULL,
             last_exit = NULL",
        params![job, at],
    )?;
    Ok(())
}

/// `job` ended at `at` with `exit` (`None`: killed by a signal or never started).
pub fn ended(c: &Connection, job: &str, at: &str, exit: Option<i64>) -> Result<()> {
    c.execute(
        "UPDATE schedule SET last_ended_at = ?2, last_exit = ?3 WHERE job = ?1",
        params![job, at, exit],
    )?;
    Ok(())
}
