//! `gateway check`'s ledger tables (migration 9): the one-row state a run starts from and the
//! events that bound restarts per hour. A restart is inserted in its own transaction before
//! its command runs, so a run killed mid-restart still counts it.
//!
//! Every function takes the connection (`Ledger::read`) or the transaction
//! (`Ledger::immediate`, which derefs to a connection) its caller opened.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};

/// `gateway_state`: what the previous run saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// `up`, `down` or `unknown`.
    pub status: String,
    pub consecutive_failures: u32,
    pub last_ok_at: Option<String>,
    pub last_failure_at: Option<String>,
    pub last_error: Option<String>,
    pub pid: Option<i64>,
    /// RSS of `pid` when claw first saw it: growth is measured from here.
    pub rss_baseline_bytes: Option<i64>,
    pub rss_bytes: Option<i64>,
    pub openclaw_version: Option<String>,
    /// When `openclaw security audit` last ran, and its findings (JSON array).
    pub audit_at: Option<String>,
    pub audit_json: Option<String>,
    /// Ids of the findings this run reported (a finding new since then is printed).
    pub findings: Vec<String>,
}

pub fn load(c: &Connection) -> Result<Option<State>> {
    Ok(c.query_row(
        "SELECT status, consecutive_failures, last_ok_at, last_failure_at, last_error, pid,
                    rss_baseline_bytes, rss_bytes, openclaw_version, audit_at, audit_json, findings
             FROM gateway_state WHERE id = 1",
        [],
        |r| {
            Ok(State {
                status: r.get(0)?,
                consecutive_failures: r.get(1)?,
                last_ok_at: r.get(2)?,
                last_failure_at: r.get(3)?,
                last_error: r.get(4)?,
                pid: r.get(5)?,
                rss_baseline_bytes: r.get(6)?,
                rss_bytes: r.get(7)?,
                openclaw_version: r.get(8)?,
                audit_at: r.get(9)?,
                audit_json: r.get(10)?,
                findings: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
            })
        },
    )
    .optional()?)
}

/// Restarts recorded at or after `since` (RFC 3339, same format as `at`).
pub fn restarts_since(c: &Connection, since: &str) -> Result<u32> {
    Ok(c.query_row(
        "SELECT count(*) FROM gateway_events WHERE event = 'restart' AND at >= ?1",
        params![since],
        |r| r.get(0),
    )?)
}

/// The newest restart's time.
pub fn last_restart(c: &Connection) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT max(at) FROM gateway_events WHERE event = 'restart'",
        [],
        |r| r.get(0),
    )
    .optional()?
    .flatten())
}

/// Record one event (a restart, before its command runs, in a transaction of its own).
pub fn event(c: &Connection, at: &str, event: &str, detail: &str) -> Result<()> {
    c.execute(
        "INSERT INTO gateway_events (at, event, detail) VALUES (?1, ?2, ?3)",
        params![at, event, detail],
    )?;
    Ok(())
}

/// Write the run's state and its other events (one transaction: the caller's).
pub fn commit(c: &Connection, at: &str, s: &State, events: &[(String, String)]) -> Result<()> {
    c.execute(
        "INSERT INTO gateway_state (id, status, consecutive_failures, last_ok_at,
                 last_failure_at, last_error, pid, rss_baseline_bytes, rss_bytes,
                 openclaw_version, audit_at, audit_json, findings, checked_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?13, ?12)
             ON CONFLICT (id) DO UPDATE SET status = ?1, consecutive_failures = ?2,
                 last_ok_at = ?3, last_failure_at = ?4, last_error = ?5, pid = ?6,
                 rss_baseline_bytes = ?7, rss_bytes = ?8, openclaw_version = ?9,
                 audit_at = ?10, audit_json = ?11, findings = ?13, checked_at = ?12",
        params![
            s.status,
            s.consecutive_failures,
            s.last_ok_at,
            s.last_failure_at,
            s.last_error,
            s.pid,
            s.rss_baseline_bytes,
            s.rss_bytes,
            s.openclaw_version,
            s.audit_at,
            s.audit_json,
            at,
            serde_json::to_string(&s.findings)?
        ],
    )?;
    for (e, detail) in events {
        event(c, at, e, detail)?;
    }
    Ok(())
}
