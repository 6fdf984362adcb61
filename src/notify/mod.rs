//! Alerts: how every job tells a person something. A job calls [`raise`] when a condition
//! holds and [`clear`] when it no longer does; this module records it in the ledger, dedupes
//! by job + key within the cooldown, sends one recovery message when a condition clears, and
//! delivers to every configured sink (Slack, Teams, Graph, Telegram, ntfy, webhook, command).
//!
//! Delivery never fails the job: a failed delivery is recorded (sink name, HTTP status and a
//! redacted reason only) and retried by [`retry_pending`] on later runs. No network call is
//! ever made inside a ledger transaction: the decision is committed first, then sent.

mod deliver;
mod store;

use crate::ctx::Ctx;
use crate::ledger::Ledger;
use crate::settings::Sink;
use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use serde_json::{json, Value};
use store::StateRow;

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
    let msg = immediate(ledger, |c| {
        let prev = store::read_state(c, &alert.job, &alert.key)?;
        let send = should_send(
            prev.as_ref(),
            alert.severity,
            ctx.now,
            Duration::seconds(cfg.cooldown_secs.min(i64::MAX as u64) as i64),
        );
        let state = match &prev {
            Some(p) if p.active => StateRow {
                active: true,
                first_at: p.first_at.clone(),
                repeats: if send { 0 } else { p.repeats + 1 },
                last_sent_at: if send {
                    Some(now.clone())
                } else {
                    p.last_sent_at.clone()
                },
                severity: if send { alert.severity } else { p.severity },
            },
            _ => StateRow {
                active: true,
                first_at: now.clone(),
                repeats: 0,
                last_sent_at: Some(now.clone()),
                severity: alert.severity,
            },
        };
        store::hold(c, &alert.job, &alert.key, &state, &text, &now)?;
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
        ledger.immediate(|c| store::deactivate(c, &alert.job, &alert.key, &ctx.now_str()))?;
    }
    Ok(r)
}

/// The condition behind job + `key` cleared: send one recovery message (with `text`) if an
/// alert for it was active. Returns whether it was.
pub fn clear(ctx: &Ctx, ledger: &Ledger, job: &str, key: &str, text: &str) -> Result<bool> {
    let text = crate::redact::redact_text(text);
    if ctx.dry_run {
        let active = ledger
            .read(|c| store::read_state(c, job, key))?
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
    let msg = immediate(ledger, |c| {
        match store::read_state(c, job, key)? {
            Some(s) if s.active => {}
            _ => return Ok(None),
        }
        store::cleared(c, job, key, &now)?;
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
    let msg = immediate(ledger, |c| {
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
        store::set_payload(c, m.id, &payload_s)?;
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
    if !ledger.read(store::has_undelivered)? {
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
    ledger.immediate(|c| store::expire(c, &now, &give_up))?;
    let due = ledger.read(|c| store::due(c, &stale))?;
    let mut delivered = 0;
    for store::Due {
        sink: sink_name,
        msg,
    } in due
    {
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
    let msg = immediate(ledger, |c| {
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
    /// How it went at each sink.
    pub deliveries: Vec<DeliveryRow>,
}

/// One message's delivery to one sink.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryRow {
    pub sink: String,
    pub status: String,
    pub attempts: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
}

/// The newest `limit` messages, newest first.
pub fn recent(ledger: &Ledger, limit: usize) -> Result<Vec<AlertRow>> {
    ledger.read(|c| store::recent(c, limit))
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
    ledger.read(store::active)
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
    let id = store::insert_message(
        c,
        &store::NewMessage {
            job,
            key,
            kind,
            severity,
            text,
            now,
            sinks,
        },
    )?;
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
    let a = store::Attempt {
        id,
        sink,
        status,
        attempts,
        http_status,
        error,
        now,
    };
    ledger.immediate(|c| store::record(c, &a))
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
fn immediate<T>(ledger: &Ledger, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    anyhow::ensure!(
        ledger.read(|c| Ok(c.is_autocommit()))?,
        "notify: called inside a ledger transaction; raise alerts after committing"
    );
    ledger.immediate(|tx| f(tx))
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
