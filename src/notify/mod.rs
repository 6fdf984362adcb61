//! Alerts: how every job tells a person something. A job calls [`raise`] when a condition
//! holds and [`clear`] when it no longer does; this module records it in the ledger, dedupes
//! by job + key within the cooldown, sends one recovery message when a condition clears, and
//! delivers to every configured sink (Slack, Teams, Graph, Telegram, ntfy, webhook, command).
//!
//! Delivery never fails the job: a failed delivery is recorded (sink name, HTTP status and a
//! redacted reason only) and retried by [`retry_pending`] on later runs. No network call is
//! ever made inside a ledger transaction: the decision is committed first, then sent.

mod deliver;

use crate::ctx::Ctx;
use crate::ledger::Ledger;
use crate::settings::Sink;
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "critical" | "crit" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// Something a person must hear about.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The job raising it (`budget-check`, `tunnel`, ...).
    pub job: String,
    pub severity: Severity,
    /// Dedupe key, stable while the condition lasts (`agent:main`, `budget:daily`).
    pub key: String,
    /// One or a few lines for a human; redacted before it is recorded or sent.
    pub text: String,
}

/// What [`raise`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// Delivered to every sink (or recorded only, when no sink is configured).
    Sent,
    /// At least one sink failed; later runs retry it.
    Pending,
    /// The same job + key was sent within the cooldown: recorded, not sent.
    Suppressed,
    /// `--dry-run`: nothing recorded or sent.
    DryRun,
}

/// Record `alert` and deliver it unless the same job + key was sent within the cooldown (a
/// rise in severity, or a condition that had cleared, is sent at once). Call it outside any
/// ledger transaction. Delivery errors do not make this fail.
pub fn raise(ctx: &Ctx, ledger: &Ledger, alert: &Alert) -> Result<Raised> {
    let text = crate::redact::redact_text(&alert.text);
    if ctx.dry_run {
        ctx.out.note(&format!(
            "dry run: would alert {} {} [{}]: {text}",
            alert.severity.as_str(),
            alert.job,
            alert.key
        ));
        return Ok(Raised::DryRun);
    }
    let cfg = &ctx.settings.alerts;
    let now = ctx.now_str();
    let sinks = sink_names(ctx);
    let msg = immediate(&ledger.conn, |c| {
        let prev = read_state(c, &alert.job, &alert.key)?;
        let send = should_send(
            prev.as_ref(),
            alert.severity,
            ctx.now,
            Duration::seconds(cfg.cooldown_secs.min(i64::MAX as u64) as i64),
        );
        let (first_at, repeats, last_sent, severity) = match &prev {
            Some(p) if p.active => (
                p.first_at.clone(),
                if send { 0 } else { p.repeats + 1 },
                if send {
                    Some(now.clone())
                } else {
                    p.last_sent_at.clone()
                },
                if send { alert.severity } else { p.severity },
            ),
            _ => (now.clone(), 0, Some(now.clone()), alert.severity),
        };
        c.execute(
            "INSERT INTO alert_state (job, key, active, severity, text, first_at, last_seen_at,
                 last_sent_at, repeats, cleared_at)
             VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, NULL)
             ON CONFLICT (job, key) DO UPDATE SET active = 1, severity = ?3, text = ?4,
                 first_at = ?5, last_seen_at = ?6, last_sent_at = ?7, repeats = ?8,
                 cleared_at = NULL",
            params![
                alert.job,
                alert.key,
                severity.as_str(),
                text,
                first_at,
                now,
                last_sent,
                repeats
            ],
        )?;
        if !send {
            return Ok(None);
        }
        insert_message(
            c,
            &alert.job,
            &alert.key,
            Kind::Alert,
            alert.severity,
            &text,
            &now,
            &sinks,
        )
        .map(Some)
    })?;
    match msg {
        None => {
            ctx.out.note(&format!(
                "alert {} [{}] suppressed: sent within the last {} s",
                alert.job, alert.key, cfg.cooldown_secs
            ));
            Ok(Raised::Suppressed)
        }
        Some(m) => Ok(if deliver_all(ctx, ledger, &m, &sinks)? {
            Raised::Sent
        } else {
            Raised::Pending
        }),
    }
}

/// A one-off event (a restart that worked): sent like [`raise`] but it leaves no active
/// condition behind, so no recovery message follows and the next event is sent again.
pub fn notice(ctx: &Ctx, ledger: &Ledger, alert: &Alert) -> Result<Raised> {
    let r = raise(ctx, ledger, alert)?;
    if r != Raised::DryRun {
        ledger.conn.execute(
            "UPDATE alert_state SET active = 0, cleared_at = ?3 WHERE job = ?1 AND key = ?2",
            params![alert.job, alert.key, ctx.now_str()],
        )?;
    }
    Ok(r)
}

/// The condition behind job + `key` cleared: send one recovery message (with `text`) if an
/// alert for it was active. Returns whether it was.
pub fn clear(ctx: &Ctx, ledger: &Ledger, job: &str, key: &str, text: &str) -> Result<bool> {
    let text = crate::redact::redact_text(text);
    if ctx.dry_run {
        let active = read_state(&ledger.conn, job, key)?
            .map(|s| s.active)
            .unwrap_or(false);
        if active {
            ctx.out.note(&format!(
                "dry run: would send recovery {job} [{key}]: {text}"
            ));
        }
        return Ok(active);
    }
    let now = ctx.now_str();
    let sinks = sink_names(ctx);
    let msg = immediate(&ledger.conn, |c| {
        match read_state(c, job, key)? {
            Some(s) if s.active => {}
            _ => return Ok(None),
        }
        c.execute(
            "UPDATE alert_state SET active = 0, cleared_at = ?3, last_seen_at = ?3
             WHERE job = ?1 AND key = ?2",
            params![job, key, now],
        )?;
        insert_message(
            c,
            job,
            key,
            Kind::Recovery,
            Severity::Info,
            &text,
            &now,
            &sinks,
        )
        .map(Some)
    })?;
    match msg {
        None => Ok(false),
        Some(m) => {
            deliver_all(ctx, ledger, &m, &sinks)?;
            Ok(true)
        }
    }
}

/// Record and deliver a digest to `sinks` once: `claim` runs in the same transaction that
/// records the message and says whether this digest is new (it was not claimed before).
/// `None` when it was not new; else whether every sink took it (a failed one is retried on
/// later runs like any alert). `payload` is the card chat sinks render (see `deliver`).
pub fn send_digest(
    ctx: &Ctx,
    ledger: &Ledger,
    key: &str,
    text: &str,
    payload: &Value,
    sinks: &[String],
    claim: impl FnOnce(&Connection) -> Result<bool>,
) -> Result<Option<bool>> {
    let text = crate::redact::redact_text(text);
    let now = ctx.now_str();
    let payload_s = crate::redact::redact_text(&payload.to_string());
    let msg = immediate(&ledger.conn, |c| {
        if !claim(c)? {
            return Ok(None);
        }
        let mut m = insert_message(
            c,
            "cost-digest",
            key,
            Kind::Digest,
            Severity::Info,
            &text,
            &now,
            sinks,
        )?;
        c.execute(
            "UPDATE alerts SET payload = ?2 WHERE id = ?1",
            params![m.id, payload_s],
        )?;
        m.payload = serde_json::from_str(&payload_s).ok();
        Ok(Some(m))
    })?;
    match msg {
        None => Ok(None),
        Some(m) => Ok(Some(deliver_all(ctx, ledger, &m, sinks)?)),
    }
}

/// Retry deliveries that failed on earlier runs; gives up on those older than
/// `alerts.retry_for_secs`. Returns how many were delivered now. Runs at most once at a time
/// (a second caller returns 0 at once).
pub fn retry_pending(ctx: &Ctx, ledger: &Ledger) -> Result<usize> {
    if ctx.dry_run {
        return Ok(0);
    }
    let has_work: bool = ledger.conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM alert_deliveries WHERE status IN ('pending', 'sending'))",
        [],
        |r| r.get(0),
    )?;
    if !has_work {
        return Ok(0);
    }
    let Ok(_lock) = crate::lock::acquire(
        &ctx.paths.locks(),
        "notify-retry",
        std::time::Duration::ZERO,
        &ctx.now_str(),
    ) else {
        return Ok(0);
    };
    let cfg = &ctx.settings.alerts;
    let now = ctx.now_str();
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let give_up = fmt(ctx.now - Duration::seconds(cfg.retry_for_secs.min(1 << 40) as i64));
    // A delivery left `sending` by a run that died is taken over after a while.
    let stale = fmt(ctx.now - Duration::minutes(15));
    ledger.conn.execute(
        "UPDATE alert_deliveries SET status = 'expired', updated_at = ?1
         WHERE status IN ('pending', 'sending')
           AND alert_id IN (SELECT id FROM alerts WHERE created_at < ?2)",
        params![now, give_up],
    )?;
    let mut st = ledger.conn.prepare(
        "SELECT d.alert_id, d.sink, a.job, a.key, a.kind, a.severity, a.text, a.created_at, a.payload
         FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
         WHERE d.status = 'pending' OR (d.status = 'sending' AND d.updated_at < ?1)
         ORDER BY d.alert_id",
    )?;
    let rows = st
        .query_map(params![stale], |r| {
            Ok((
                r.get::<_, String>(1)?,
                Message {
                    id: r.get(0)?,
                    job: r.get(2)?,
                    key: r.get(3)?,
                    kind: Kind::parse(&r.get::<_, String>(4)?),
                    severity: Severity::parse(&r.get::<_, String>(5)?).unwrap_or(Severity::Info),
                    text: r.get(6)?,
                    at: r.get(7)?,
                    host: host(),
                    payload: r
                        .get::<_, Option<String>>(8)?
                        .and_then(|p| serde_json::from_str(&p).ok()),
                },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    drop(st);
    let mut delivered = 0;
    for (sink_name, msg) in rows {
        match cfg.sinks.iter().find(|s| s.name == sink_name) {
            None => record(
                ledger,
                msg.id,
                &sink_name,
                "failed",
                0,
                None,
                Some("sink no longer configured"),
                &now,
            )?,
            Some(sink) => {
                if deliver_one(ctx, ledger, &msg, sink)? {
                    delivered += 1;
                }
            }
        }
    }
    Ok(delivered)
}

/// Send a test message to every sink, or to the one named. Returns (sink, ok, reason).
pub fn test(ctx: &Ctx, ledger: &Ledger, only: Option<&str>) -> Result<Vec<(String, bool, String)>> {
    let sinks: Vec<String> = ctx
        .settings
        .alerts
        .sinks
        .iter()
        .filter(|s| only.map(|n| n == s.name).unwrap_or(true))
        .map(|s| s.name.clone())
        .collect();
    let now = ctx.now_str();
    let text = format!("test message from claw {}", env!("CARGO_PKG_VERSION"));
    let msg = immediate(&ledger.conn, |c| {
        insert_message(
            c,
            "alert-test",
            "test",
            Kind::Test,
            Severity::Info,
            &text,
            &now,
            &sinks,
        )
    })?;
    let mut out = Vec::new();
    for name in &sinks {
        let sink = ctx
            .settings
            .alerts
            .sinks
            .iter()
            .find(|s| &s.name == name)
            .expect("sink from the same list");
        let d = deliver::send(ctx, sink, &msg);
        // A test is not retried later: its answer is for the person who ran it.
        let status = if d.ok { "sent" } else { "failed" };
        record(
            ledger,
            msg.id,
            name,
            status,
            d.attempts,
            d.http_status,
            d.error.as_deref(),
            &now,
        )?;
        let reason = match (&d.error, d.http_status) {
            (Some(e), _) => e.clone(),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => "ok".into(),
        };
        out.push((name.clone(), d.ok, reason));
    }
    Ok(out)
}

/// Whether `sink` is usable: required keys present and its secrets readable. The reason
/// never contains a secret.
pub fn check_sink(ctx: &Ctx, sink: &Sink) -> std::result::Result<(), String> {
    let dups = ctx
        .settings
        .alerts
        .sinks
        .iter()
        .filter(|s| s.name == sink.name)
        .count();
    if dups > 1 {
        return Err(format!("sink name {} is used {dups} times", sink.name));
    }
    deliver::check(ctx, sink)
}

/// One recorded message with how its deliveries went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub created_at: String,
    pub job: String,
    pub key: String,
    pub kind: String,
    pub severity: String,
    pub text: String,
    /// `sink: status` per sink.
    pub deliveries: Vec<Value>,
}

/// The newest `limit` messages, newest first.
pub fn recent(ledger: &Ledger, limit: usize) -> Result<Vec<AlertRow>> {
    let mut st = ledger.conn.prepare(
        "SELECT id, created_at, job, key, kind, severity, text FROM alerts
         ORDER BY id DESC LIMIT ?1",
    )?;
    let mut rows = st
        .query_map(params![limit as i64], |r| {
            Ok(AlertRow {
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
    let mut ds = ledger.conn.prepare(
        "SELECT sink, status, attempts, http_status, error FROM alert_deliveries
         WHERE alert_id = ?1 ORDER BY sink",
    )?;
    for row in &mut rows {
        row.deliveries = ds
            .query_map(params![row.id], |r| {
                Ok(json!({
                    "sink": r.get::<_, String>(0)?,
                    "status": r.get::<_, String>(1)?,
                    "attempts": r.get::<_, i64>(2)?,
                    "http_status": r.get::<_, Option<i64>>(3)?,
                    "error": r.get::<_, Option<String>>(4)?,
                }))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
    }
    Ok(rows)
}

/// A condition still holding.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActiveAlert {
    pub job: String,
    pub key: String,
    pub severity: String,
    pub since: String,
    pub text: String,
}

/// Alerts whose condition still holds, oldest first.
pub fn active(ledger: &Ledger) -> Result<Vec<ActiveAlert>> {
    let mut st = ledger.conn.prepare(
        "SELECT job, key, severity, first_at, text FROM alert_state WHERE active = 1
         ORDER BY first_at, job, key",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(ActiveAlert {
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

// ---------- internals ----------

/// What a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Alert,
    Recovery,
    Test,
    /// A scheduled summary (`claw cost digest`), with a card in its payload.
    Digest,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Alert => "alert",
            Kind::Recovery => "recovery",
            Kind::Test => "test",
            Kind::Digest => "digest",
        }
    }
    fn parse(s: &str) -> Kind {
        match s {
            "recovery" => Kind::Recovery,
            "test" => Kind::Test,
            "digest" => Kind::Digest,
            _ => Kind::Alert,
        }
    }
}

/// A recorded message on its way to the sinks.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub id: i64,
    pub job: String,
    pub key: String,
    pub kind: Kind,
    pub severity: Severity,
    pub text: String,
    pub at: String,
    pub host: String,
    /// Structured content for sinks that render more than a line (a digest's card).
    pub payload: Option<Value>,
}

impl Message {
    /// The one line chat sinks show.
    pub fn line(&self) -> String {
        match self.kind {
            Kind::Alert => format!(
                "{} {} on {}: {}",
                self.severity.as_str().to_uppercase(),
                self.job,
                self.host,
                self.text
            ),
            Kind::Recovery => format!("RESOLVED {} on {}: {}", self.job, self.host, self.text),
            Kind::Test => format!("TEST claw on {}: {}", self.host, self.text),
            Kind::Digest => format!(
                "DIGEST claw on {}: {}",
                self.host,
                self.text.lines().next().unwrap_or_default()
            ),
        }
    }

    /// The document webhooks and commands receive.
    pub fn doc(&self) -> Value {
        json!({
            "schema_version": crate::output::SCHEMA_VERSION,
            "source": "claw",
            "id": self.id,
            "host": self.host,
            "job": self.job,
            "kind": self.kind.as_str(),
            "severity": self.severity.as_str(),
            "key": self.key,
            "text": self.text,
            "at": self.at,
            "payload": self.payload,
        })
    }
}

struct StateRow {
    active: bool,
    severity: Severity,
    first_at: String,
    last_sent_at: Option<String>,
    repeats: i64,
}

fn read_state(c: &Connection, job: &str, key: &str) -> Result<Option<StateRow>> {
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

/// Whether a raise goes out: a new or re-opened condition, a rise in severity, or the
/// cooldown since the last send has passed.
fn should_send(
    prev: Option<&StateRow>,
    severity: Severity,
    now: DateTime<Utc>,
    cooldown: Duration,
) -> bool {
    let Some(p) = prev else { return true };
    if !p.active || severity > p.severity {
        return true;
    }
    match p
        .last_sent_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    {
        Some(t) => now - t.with_timezone(&Utc) >= cooldown,
        None => true,
    }
}

#[allow(clippy::too_many_arguments)]
fn insert_message(
    c: &Connection,
    job: &str,
    key: &str,
    kind: Kind,
    severity: Severity,
    text: &str,
    now: &str,
    sinks: &[String],
) -> Result<Message> {
    c.execute(
        "INSERT INTO alerts (job, key, kind, severity, text, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![job, key, kind.as_str(), severity.as_str(), text, now],
    )?;
    let id = c.last_insert_rowid();
    for s in sinks {
        c.execute(
            "INSERT INTO alert_deliveries (alert_id, sink, status, attempts, updated_at)
             VALUES (?1, ?2, 'sending', 0, ?3)",
            params![id, s, now],
        )?;
    }
    Ok(Message {
        id,
        job: job.into(),
        key: key.into(),
        kind,
        severity,
        text: text.into(),
        at: now.into(),
        host: host(),
        payload: None,
    })
}

/// Deliver `msg` to the named sinks; true when every one took it.
fn deliver_all(ctx: &Ctx, ledger: &Ledger, msg: &Message, sinks: &[String]) -> Result<bool> {
    let mut all = true;
    for name in sinks {
        if let Some(sink) = ctx.settings.alerts.sinks.iter().find(|s| &s.name == name) {
            all &= deliver_one(ctx, ledger, msg, sink)?;
        }
    }
    Ok(all)
}

/// Deliver to one sink and record how it went. Only recording can fail.
fn deliver_one(ctx: &Ctx, ledger: &Ledger, msg: &Message, sink: &Sink) -> Result<bool> {
    let d = deliver::send(ctx, sink, msg);
    let status = if d.ok {
        "sent"
    } else if d.retry {
        "pending"
    } else {
        "failed"
    };
    if !d.ok {
        let why = d
            .error
            .clone()
            .or(d.http_status.map(|s| format!("HTTP {s}")))
            .unwrap_or_default();
        let then = if d.retry {
            "retried on a later run"
        } else {
            "not retried"
        };
        ctx.out.warn(&format!(
            "alert {} [{}] to sink {}: {why}; {then}",
            msg.job, msg.key, sink.name
        ));
    }
    record(
        ledger,
        msg.id,
        &sink.name,
        status,
        d.attempts,
        d.http_status,
        d.error.as_deref(),
        &ctx.now_str(),
    )?;
    Ok(d.ok)
}

#[allow(clippy::too_many_arguments)]
fn record(
    ledger: &Ledger,
    id: i64,
    sink: &str,
    status: &str,
    attempts: u32,
    http_status: Option<u16>,
    error: Option<&str>,
    now: &str,
) -> Result<()> {
    ledger.conn.execute(
        "INSERT INTO alert_deliveries (alert_id, sink, status, attempts, http_status, error, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (alert_id, sink) DO UPDATE SET status = ?3, attempts = attempts + ?4,
             http_status = ?5, error = ?6, updated_at = ?7",
        params![id, sink, status, attempts, http_status, error, now],
    )?;
    Ok(())
}

fn sink_names(ctx: &Ctx) -> Vec<String> {
    ctx.settings
        .alerts
        .sinks
        .iter()
        .map(|s| s.name.clone())
        .collect()
}

/// Run `f` in one short IMMEDIATE transaction (no network inside).
fn immediate<T>(c: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    anyhow::ensure!(
        c.is_autocommit(),
        "notify: called inside a ledger transaction; raise alerts after committing"
    );
    c.execute_batch("BEGIN IMMEDIATE")
        .context("ledger: cannot start the alert transaction")?;
    match f(c) {
        Ok(v) => {
            c.execute_batch("COMMIT")
                .context("ledger: cannot commit the alert")?;
            Ok(v)
        }
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// This host's name, as people know it in messages.
pub(crate) fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(active: bool, sev: Severity, last_sent: &str) -> StateRow {
        StateRow {
            active,
            severity: sev,
            first_at: last_sent.into(),
            last_sent_at: Some(last_sent.into()),
            repeats: 0,
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn cooldown_dedupes_but_escalation_and_reopening_send() {
        let hour = Duration::hours(1);
        let s = state(true, Severity::Warning, "2026-01-01T00:00:00Z");
        assert!(!should_send(
            Some(&s),
            Severity::Warning,
            t("2026-01-01T00:59:59Z"),
            hour
        ));
        assert!(!should_send(
            Some(&s),
            Severity::Info,
            t("2026-01-01T00:30:00Z"),
            hour
        ));
        assert!(should_send(
            Some(&s),
            Severity::Warning,
            t("2026-01-01T01:00:00Z"),
            hour
        ));
        assert!(should_send(
            Some(&s),
            Severity::Critical,
            t("2026-01-01T00:10:00Z"),
            hour
        ));
        let cleared = state(false, Severity::Warning, "2026-01-01T00:00:00Z");
        assert!(should_send(
            Some(&cleared),
            Severity::Warning,
            t("2026-01-01T00:10:00Z"),
            hour
        ));
        assert!(should_send(
            None,
            Severity::Info,
            t("2026-01-01T00:10:00Z"),
            hour
        ));
    }

    #[test]
    fn severity_parses_and_orders() {
        assert_eq!(Severity::parse("CRITICAL"), Some(Severity::Critical));
        assert_eq!(Severity::parse("nope"), None);
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
    }
}
