//! Rate-limit detection's rows in the ledger: events, breakers with their transitions,
//! recoveries and probes, and the actions taken on a trip or recovery. (The scan cursors,
//! `rl_cursors`, are read and written in `mod.rs`.)

use super::breaker::{self, Breaker, ProbeResult, State, Transition};
use super::signal::Candidate;
use super::{parse_ts, ts, ProbeRecord};
use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, HashMap};

/// Store the events not stored before (by origin); returns how many were new.
pub fn insert_events(c: &Connection, kept: &[Candidate], now: &str) -> Result<u64> {
    let mut n = 0;
    let mut ins = c.prepare_cached(
        "INSERT INTO rl_events (origin, at, provider, model, profile, kind, signal, status,
           retry_after_secs, source, excerpt, counted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (origin) DO NOTHING",
    )?;
    for e in kept {
        n += ins.execute(params![
            e.origin,
            ts(e.at),
            e.provider,
            e.model,
            e.profile,
            e.kind.as_str(),
            e.signal,
            e.status,
            e.retry_after_secs.map(|s| s as i64),
            e.source,
            e.excerpt,
            now
        ])? as u64;
    }
    Ok(n)
}

/// Every breaker as last recorded, by scope.
pub fn breakers(c: &Connection) -> Result<BTreeMap<String, Breaker>> {
    let mut st = c.prepare(
        "SELECT scope, state, since, until, opened_at, trips, reason, events FROM rl_breakers",
    )?;
    let rows = st.query_map([], |r| {
        let until: Option<String> = r.get(3)?;
        let opened: Option<String> = r.get(4)?;
        Ok((
            r.get::<_, String>(0)?,
            Breaker {
                state: State::parse(&r.get::<_, String>(1)?).unwrap_or(State::Closed),
                since: parse_ts(&r.get::<_, String>(2)?).unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
                until: until.as_deref().and_then(parse_ts),
                opened_at: opened.as_deref().and_then(parse_ts),
                trips: r.get::<_, i64>(5)?.max(0) as u32,
                reason: r.get(6)?,
                events: r.get::<_, i64>(7)?.max(0) as u32,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One counted event: its provider (`""`: none named), time and Retry-After.
pub struct EventRow {
    pub provider: String,
    pub at: String,
    pub retry_after_secs: Option<i64>,
}

/// Rate-limit events after `from` (and overloaded ones with `overloaded`).
pub fn events_after(c: &Connection, from: &str, overloaded: bool) -> Result<Vec<EventRow>> {
    let kinds = if overloaded {
        "('rate_limit','overloaded')"
    } else {
        "('rate_limit')"
    };
    let mut st = c.prepare(&format!(
        "SELECT provider, at, retry_after_secs FROM rl_events WHERE at > ?1 AND kind IN {kinds}"
    ))?;
    let rows = st.query_map(params![from], |r| {
        Ok(EventRow {
            provider: r.get(0)?,
            at: r.get(1)?,
            retry_after_secs: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Each provider's latest event (a time that does not parse is left out).
pub fn latest_events(c: &Connection) -> Result<HashMap<String, DateTime<Utc>>> {
    let mut st = c.prepare("SELECT provider, MAX(at) FROM rl_events GROUP BY provider")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = HashMap::new();
    for row in rows {
        let (p, at) = row?;
        if let Some(t) = parse_ts(&at) {
            out.insert(p, t);
        }
    }
    Ok(out)
}

/// Every breaker after a run, with what changed: its transitions, recoveries and probes.
pub fn record(
    c: &Connection,
    now: &str,
    after: &BTreeMap<String, Breaker>,
    transitions: &[(String, Transition)],
    recoveries: &[(String, breaker::Recovery)],
    probes: &[ProbeRecord],
) -> Result<()> {
    for (scope, b) in after {
        c.execute(
            "INSERT INTO rl_breakers (scope, state, since, until, opened_at, trips, reason, events, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (scope) DO UPDATE SET state = excluded.state, since = excluded.since,
               until = excluded.until, opened_at = excluded.opened_at, trips = excluded.trips,
               reason = excluded.reason, events = excluded.events, updated_at = excluded.updated_at",
            params![
                scope,
                b.state.as_str(),
                ts(b.since),
                b.until.map(ts),
                b.opened_at.map(ts),
                b.trips,
                b.reason,
                b.events,
                now
            ],
        )?;
    }
    for (scope, t) in transitions {
        c.execute(
            "INSERT INTO rl_transitions (scope, at, from_state, to_state, reason, events, trips, until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                scope,
                ts(t.at),
                t.from.as_str(),
                t.to.as_str(),
                t.reason,
                t.events,
                t.trips,
                t.until.map(ts)
            ],
        )?;
    }
    for (scope, r) in recoveries {
        c.execute(
            "INSERT INTO rl_recoveries (scope, opened_at, closed_at, duration_secs, trips)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope, opened_at) DO NOTHING",
            params![
                scope,
                ts(r.opened_at),
                ts(r.closed_at),
                r.duration_secs(),
                r.trips
            ],
        )?;
    }
    for p in probes {
        let (ok, detail) = match &p.result {
            ProbeResult::Ok(w) => (true, w.clone()),
            ProbeResult::Failed { why, .. } => (false, why.clone()),
        };
        c.execute(
            "INSERT INTO rl_probes (scope, at, kind, ok, status, retry_after_secs, input_tokens, output_tokens, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                p.scope,
                now,
                p.kind,
                ok,
                p.status,
                p.retry_after_secs.map(|s| s as i64),
                p.input_tokens as i64,
                p.output_tokens as i64,
                crate::redact::redact_text(&detail)
            ],
        )?;
    }
    Ok(())
}

/// An action taken on a trip or a recovery (target and detail already redacted).
pub struct ActionRow<'a> {
    pub at: &'a str,
    pub phase: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub ok: bool,
    pub detail: &'a str,
}

pub fn record_action(c: &Connection, a: &ActionRow<'_>) -> Result<()> {
    c.execute(
        "INSERT INTO rl_actions (at, phase, action, target, ok, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![a.at, a.phase, a.action, a.target, a.ok, a.detail],
    )?;
    Ok(())
}
