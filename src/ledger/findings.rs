//! The `job_findings` table: the findings each job reported on its last run, so that
//! `crate::findings` prints a finding once when it appears and once when it recovers.

use anyhow::Result;
use rusqlite::{params, Connection};
use std::collections::BTreeMap;

/// The findings `job` reported last time: key -> line.
pub fn previous(c: &Connection, job: &str) -> Result<BTreeMap<String, String>> {
    let mut st = c.prepare("SELECT key, text FROM job_findings WHERE job = ?1")?;
    let rows = st
        .query_map(params![job], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Forget a finding that has recovered.
pub fn forget(c: &Connection, job: &str, key: &str) -> Result<()> {
    c.execute(
        "DELETE FROM job_findings WHERE job = ?1 AND key = ?2",
        params![job, key],
    )?;
    Ok(())
}

/// Remember a finding seen at `stamp` (its first sighting is kept). `text` must already be
/// redacted.
pub fn remember(c: &Connection, job: &str, key: &str, text: &str, stamp: &str) -> Result<()> {
    c.execute(
        "INSERT INTO job_findings (job, key, text, first_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (job, key) DO UPDATE SET text = ?3, last_seen_at = ?4",
        params![job, key, text, stamp],
    )?;
    Ok(())
}
