//! The alert tables in the ledger (`alerts`, `alert_deliveries`, `alert_state`): every query
//! [`super`] makes, on a connection or inside the caller's transaction.

use super::{Kind, Message, Severity};
use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};

/// The dedupe state of one job + key.
pub(crate) struct StateRow {
    pub active: bool,
    pub severity: Severity,
    pub first_at: String,
    pub last_sent_at: Option<String>,
    pub repeats: i64,
}

pub(crate) fn read_state(c: &Connection, job: &str, key: &str) -> Result<Option<StateRow>> {
    Ok(c.query_row(
        "SELECT active, severity, first_at, last_sent_at, repeats FROM alert_state
         WHERE job = ?1 AND key = ?2",
        params![job, key],
        |r| {
            Ok(StateRow {
                active: r.get::<_, i64>(0)? != 0,
                severity: Severity::parse(&r.get::<_, String>(1)?).unwrap_or(Severity::Info),
                first_at: r.get(2)?,
                last_sent_at: r.get(3)?,
                repeats: r.get(4)?,
            })
        },
    )
    .optional()?)
}

/// The condition behind job + key holds (again): `state` is what it now is, `text` its line.
pub(crate) fn hold(
    c: &Connection,
    job: &str,
    key: &str,
    state: &StateRow,
    text: &str,
    now: &str,
) -> Result<()> {
    c.execute(
        "INSERT INTO alert_state (job, key, active, severity, text, first_at, last_seen_at,
             last_sent_at, repeats, cleared_at)
         VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, NULL)
         ON CONFLICT (job, key) DO UPDATE SET active = 1, severity = ?3, text = ?4,
             first_at = ?5, last_seen_at = ?6, last_sent_at = ?7, repeats = ?8,
             cleared_at = NULL",
        params![
            job,
            key,
            state.severity.as_str(),
            text,
            state.first_at,
            now,
            state.last_sent_at,
            state.repeats
        ],
    )?;
    Ok(())
}

/// A one-off event leaves no active condition behind.
pub(crate) fn deactivate(c: &Connection, job: &str, key: &str, now: &str) -> Result<()> {
    c.execute(
        "UPDATE alert_state SET active = 0, cleared_at = ?3 WHERE job = ?1 AND key = ?2",
        params![job, key, now],
    )?;
    Ok(())
}

/// The condition behind job + key cleared (seen clear at `now`).
pub(crate) fn cleared(c: &Connection, job: &str, key: &str, now: &str) -> Result<()> {
    c.execute(
        "UPDATE alert_state SET active = 0, cleared_at = ?3, last_seen_at = ?3
         WHERE job = ?1 AND key = ?2",
        params![job, key, now],
    )?;
    Ok(())
}

/// A message to record, with the sinks it goes to.
pub(crate) struct NewMessage<'a> {
    pub job: &'a str,
    pub key: &'a str,
    pub kind: Kind,
    pub severity: Severity,
    pub text: &'a str,
    pub now: &'a str,
    pub sinks: &'a [String],
}

/// Record a message and one `sending` delivery per sink; returns the message's id.
pub(crate) fn insert_message(c: &Connection, m: &NewMessage<'_>) -> Result<i64> {
    c.execute(
        "INSERT INTO alerts (job, key, kind, severity, text, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            m.job,
            m.key,
            m.kind.as_str(),
            m.severity.as_str(),
            m.text,
            m.now
        ],
    )?;
    let id = c.last_insert_rowid();
    for s in m.sinks {
        c.execute(
            "INSERT INTO alert_deliveries (alert_id, sink, status, attempts, updated_at)
             VALUES (?1, ?2, 'sending', 0, ?3)",
            params![id, s, m.now],
        )?;
    }
    Ok(id)
}

pub(crate) fn set_payload(c: &Connection, id: i64, payload: &str) -> Result<()> {
    c.execute(
        "UPDATE alerts SET payload = ?2 WHERE id = ?1",
        params![id, payload],
    )?;
    Ok(())
}

/// Whether any delivery is still to be made.
pub(crate) fn has_undelivered(c: &Connection) -> Result<bool> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM alert_deliveries WHERE status IN ('pending', 'sending'))",
        [],
        |r| r.get(0),
    )?)
}

/// Give up on the deliveries of messages created before `give_up`.
pub(crate) fn expire(c: &Connection, now: &str, give_up: &str) -> Result<()> {
    c.execute(
        "UPDATE alert_deliveries SET status = 'expired', updated_at = ?1
         WHERE status IN ('pending', 'sending')
           AND alert_id IN (SELECT id FROM alerts WHERE created_at < ?2)",
        params![now, give_up],
    )?;
    Ok(())
}

/// A delivery to retry: the sink's name and the message as recorded.
pub(crate) struct Due {
    pub sink: String,
    pub msg: Message,
}

/// Pending deliveries, and those left `sending` since before `stale`, oldest message first.
pub(crate) fn due(c: &Connection, stale: &str) -> Result<Vec<Due>> {
    let mut st = c.prepare(
        "SELECT d.alert_id, d.sink, a.job, a.key, a.kind, a.severity, a.text, a.created_at, a.payload
         FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
         WHERE d.status = 'pending' OR (d.status = 'sending' AND d.updated_at < ?1)
         ORDER BY d.alert_id",
    )?;
    let rows = st
        .query_map(params![stale], |r| {
            Ok(Due {
                sink: r.get(1)?,
                msg: Message {
                    id: r.get(0)?,
                    job: r.get(2)?,
                    key: r.get(3)?,
                    kind: Kind::parse(&r.get::<_, String>(4)?),
                    severity: Severity::parse(&r.get::<_, String>(5)?).unwrap_or(Severity::Info),
                    text: r.get(6)?,
                    at: r.get(7)?,
                    host: super::host(),
                    payload: r
                        .get::<_, Option<String>>(8)?
                        .and_then(|p| serde_json::from_str(&p).ok()),
                },
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// How one delivery attempt went.
pub(crate) struct Attempt<'a> {
    pub id: i64,
    pub sink: &'a str,
    pub status: &'a str,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub error: Option<&'a str>,
    pub now: &'a str,
}

pub(crate) fn record(c: &Connection, a: &Attempt<'_>) -> Result<()> {
    c.execute(
        "INSERT INTO alert_deliveries (alert_id, sink, status, attempts, http_status, error, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (alert_id, sink) DO UPDATE SET status = ?3, attempts = attempts + ?4,
             http_status = ?5, error = ?6, updated_at = ?7",
        params![
            a.id,
            a.sink,
            a.status,
            a.attempts,
            a.http_status,
            a.error,
            a.now
        ],
    )?;
    Ok(())
}

/// The newest `limit` messages, newest first, each with its deliveries.
pub(crate) fn recent(c: &Connection, limit: usize) -> Result<Vec<super::AlertRow>> {
    let mut st = c.prepare(
        "SELECT id, created_at, job, key, kind, severity, text FROM alerts
         ORDER BY id DESC LIMIT ?1",
    )?;
    let mut rows = st
        .query_map(params![limit as i64], |r| {
            Ok(super::AlertRow {
                id: r.get(0)?,
                created_at: r.get(1)?,
                job: r.get(2)?,
                key: r.get(3)?,
                kind: r.get(4)?,
                severity: r.get(5)?,
                text: r.get(6)?,
                deliveries: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut ds = c.prepare(
        "SELECT sink, status, attempts, http_status, error FROM alert_deliveries
         WHERE alert_id = ?1 ORDER BY sink",
    )?;
    for row in &mut rows {
        row.deliveries = ds
            .query_map(params![row.id], |r| {
                Ok(super::DeliveryRow {
                    sink: r.get(0)?,
                    status: r.get(1)?,
                    attempts: r.get(2)?,
                    http_status: r.get(3)?,
                    error: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
    }
    Ok(rows)
}

/// Alerts whose condition still holds, oldest first.
pub(crate) fn active(c: &Connection) -> Result<Vec<super::ActiveAlert>> {
    let mut st = c.prepare(
        "SELECT job, key, severity, first_at, text FROM alert_state WHERE active = 1
         ORDER BY first_at, job, key",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(super::ActiveAlert {
                job: r.get(0)?,
                key: r.get(1)?,
                severity: r.get(2)?,
                since: r.get(3)?,
                text: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
