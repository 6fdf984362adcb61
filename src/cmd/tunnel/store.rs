//! The tunnel's ledger tables (migration 4): the one-row current state, URL history,
//! lifecycle events, and per-target update results. Everything a run learned is written in
//! one IMMEDIATE transaction at its end (`Ledger::immediate`), before any alert is sent.

use super::targets;
use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// `tunnel_state`: what `status` shows and `check` starts from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct State {
    /// Started with `claw tunnel start` (or named mode) and not stopped since.
    pub managed: bool,
    pub mode: String,
    pub url: Option<String>,
    pub url_since: Option<String>,
    pub pid: Option<i64>,
    /// `ok`, `unhealthy`, `origin-down`, `down`, `stopped` or `unknown`.
    pub health: String,
    pub health_detail: Option<String>,
    pub checked_at: Option<String>,
}

impl State {
    pub fn new(mode: &str) -> State {
        State {
            managed: false,
            mode: mode.to_string(),
            url: None,
            url_since: None,
            pid: None,
            health: "unknown".into(),
            health_detail: None,
            checked_at: None,
        }
    }
}

/// `tunnel_targets`: a target's latest update.
#[derive(Debug, Clone, Serialize)]
pub struct TargetRow {
    pub target: String,
    pub tunnel_url: String,
    pub webhook_url: String,
    #[serde(skip)]
    pub fingerprint: String,
    pub ok: bool,
    pub attempts: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub updated_at: String,
    /// The last value this target was set to successfully.
    pub ok_webhook_url: Option<String>,
    pub ok_at: Option<String>,
}

pub fn load_state(c: &Connection) -> Result<Option<State>> {
    Ok(c.query_row(
        "SELECT managed, mode, url, url_since, pid, health, health_detail, checked_at
         FROM tunnel_state WHERE id = 1",
        [],
        |r| {
            Ok(State {
                managed: r.get::<_, i64>(0)? != 0,
                mode: r.get(1)?,
                url: r.get(2)?,
                url_since: r.get(3)?,
                pid: r.get(4)?,
                health: r.get(5)?,
                health_detail: r.get(6)?,
                checked_at: r.get(7)?,
            })
        },
    )
    .optional()?)
}

pub fn load_targets(c: &Connection) -> Result<Vec<TargetRow>> {
    let mut st = c.prepare(
        "SELECT target, tunnel_url, webhook_url, fingerprint, ok, attempts, http_status, error,
                updated_at, ok_webhook_url, ok_at
         FROM tunnel_targets ORDER BY target",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(TargetRow {
                target: r.get(0)?,
                tunnel_url: r.get(1)?,
                webhook_url: r.get(2)?,
                fingerprint: r.get(3)?,
                ok: r.get::<_, i64>(4)? != 0,
                attempts: r.get(5)?,
                http_status: r.get(6)?,
                error: r.get(7)?,
                updated_at: r.get(8)?,
                ok_webhook_url: r.get(9)?,
                ok_at: r.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Count of `event` rows (restarts for status).
pub fn count_events(c: &Connection, event: &str) -> Result<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM tunnel_events WHERE event = ?1",
        params![event],
        |r| r.get(0),
    )?)
}

/// The newest URLs, newest first.
pub fn url_history(c: &Connection, limit: i64) -> Result<Vec<(String, String, Option<String>)>> {
    let mut st = c.prepare(
        "SELECT url, first_seen_at, replaced_at FROM tunnel_urls
         ORDER BY first_seen_at DESC, rowid DESC LIMIT ?1",
    )?;
    let rows = st
        .query_map(params![limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// One lifecycle event.
#[derive(Debug, Clone)]
pub struct Event {
    pub event: &'static str,
    pub url: Option<String>,
    pub pid: Option<i64>,
    pub detail: String,
}

/// One update made this run.
#[derive(Debug, Clone)]
pub struct Update {
    pub target: String,
    pub tunnel_url: String,
    pub webhook_url: String,
    pub fingerprint: String,
    pub result: targets::Result,
}

/// Everything one run writes.
#[derive(Debug, Default)]
pub struct Record {
    pub state: Option<State>,
    pub events: Vec<Event>,
    pub updates: Vec<Update>,
}

/// Write everything one run learned (inside the caller's transaction).
pub fn commit(tx: &Connection, now: &str, rec: &Record) -> Result<()> {
    if let Some(s) = &rec.state {
        tx.execute(
            "INSERT INTO tunnel_state (id, managed, mode, url, url_since, pid, health,
                 health_detail, checked_at, updated_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET managed = ?1, mode = ?2, url = ?3, url_since = ?4,
                 pid = ?5, health = ?6, health_detail = ?7, checked_at = ?8, updated_at = ?9",
            params![
                s.managed as i64,
                s.mode,
                s.url,
                s.url_since,
                s.pid,
                s.health,
                s.health_detail,
                s.checked_at,
                now
            ],
        )?;
        if let Some(u) = &s.url {
            tx.execute(
                "UPDATE tunnel_urls SET replaced_at = ?2 WHERE url <> ?1 AND replaced_at IS NULL",
                params![u, now],
            )?;
            tx.execute(
                "INSERT INTO tunnel_urls (url, first_seen_at, last_seen_at) VALUES (?1, ?2, ?2)
                 ON CONFLICT (url) DO UPDATE SET last_seen_at = ?2, replaced_at = NULL",
                params![u, now],
            )?;
        }
    }
    for e in &rec.events {
        tx.execute(
            "INSERT INTO tunnel_events (at, event, url, pid, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now,
                e.event,
                e.url,
                e.pid,
                crate::redact::redact_text(&e.detail)
            ],
        )?;
    }
    for u in &rec.updates {
        let r = &u.result;
        let err = r.error.as_deref().map(crate::redact::redact_text);
        tx.execute(
            "INSERT INTO tunnel_updates (target, tunnel_url, webhook_url, ok, attempts,
                 http_status, error, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                u.target,
                u.tunnel_url,
                u.webhook_url,
                r.ok as i64,
                r.attempts,
                r.http_status,
                err,
                now
            ],
        )?;
        tx.execute(
            "INSERT INTO tunnel_targets (target, tunnel_url, webhook_url, fingerprint, ok,
                 attempts, http_status, error, updated_at, ok_webhook_url, ok_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                 CASE WHEN ?5 = 1 THEN ?3 END, CASE WHEN ?5 = 1 THEN ?9 END)
             ON CONFLICT (target) DO UPDATE SET tunnel_url = ?2, webhook_url = ?3,
                 fingerprint = ?4, ok = ?5, attempts = ?6, http_status = ?7, error = ?8,
                 updated_at = ?9,
                 ok_webhook_url = CASE WHEN ?5 = 1 THEN ?3 ELSE ok_webhook_url END,
                 ok_at = CASE WHEN ?5 = 1 THEN ?9 ELSE ok_at END",
            params![
                u.target,
                u.tunnel_url,
                u.webhook_url,
                u.fingerprint,
                r.ok as i64,
                r.attempts,
                r.http_status,
                err,
                now
            ],
        )?;
    }
    Ok(())
}
