//! `stuck-agent scan`'s ledger tables (migration 8): one detection row per (run, class), the
//! actions taken per run (one row per step, inserted before its command runs so a crash never
//! repeats it), and the triage answers with their tokens and cost.
//!
//! Every function takes the connection (`Ledger::read`) or the transaction
//! (`Ledger::immediate`, which derefs to a connection) its caller opened.

use super::policy::{Done, Step, Suggestion};
use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use std::collections::HashMap;

/// Three texts and an optional one: the row shape both reads below share.
type TextRow = (String, String, String, Option<String>);

fn text_rows(c: &Connection, sql: &str) -> Result<Vec<TextRow>> {
    let mut st = c.prepare(sql)?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The actions already recorded, per run key (rows with an unknown step or time are skipped).
pub fn history(c: &Connection) -> Result<HashMap<String, Vec<Done>>> {
    let rows = text_rows(c, "SELECT run_key, step, at, until FROM stuck_actions")?;
    let t = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let mut m: HashMap<String, Vec<Done>> = HashMap::new();
    for (k, step, at, until) in rows {
        if let (Some(step), Some(at)) = (Step::parse(&step), t(&at)) {
            m.entry(k).or_default().push(Done {
                step,
                at,
                until: until.as_deref().and_then(t),
            });
        }
    }
    Ok(m)
}

/// The triage answers that did not fail, per (run key, class).
pub fn known_triage(c: &Connection) -> Result<HashMap<(String, String), Suggestion>> {
    let rows = text_rows(
        c,
        "SELECT run_key, class, verdict, text FROM stuck_triage WHERE error IS NULL",
    )?;
    let mut m = HashMap::new();
    for (k, c, v, t) in rows {
        let s = match v.as_str() {
            "kill" => Suggestion::Kill,
            "steer" => Suggestion::Steer(t.unwrap_or_default()),
            _ => Suggestion::Wait,
        };
        m.insert((k, c), s);
    }
    Ok(m)
}

/// A stuck run seen this scan (`evidence`: a redacted JSON array).
pub struct Detection<'a> {
    pub run_key: &'a str,
    pub class: &'a str,
    pub agent: &'a str,
    pub session_key: &'a str,
    pub label: Option<&'a str>,
    pub evidence: String,
}

/// Record detections seen at `now`: a new (or cleared and back) one starts at 1 scan, an open
/// one counts one more.
pub fn detect(c: &Connection, now: &str, seen: &[Detection]) -> Result<()> {
    let mut up = c.prepare(
        "INSERT INTO stuck_detections (run_key, class, agent_id, session_key, label,
             first_at, last_at, scans, evidence, cleared_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1, ?7, NULL)
         ON CONFLICT (run_key, class) DO UPDATE SET last_at = ?6,
             scans = CASE WHEN cleared_at IS NULL THEN scans + 1 ELSE 1 END,
             first_at = CASE WHEN cleared_at IS NULL THEN first_at ELSE ?6 END,
             evidence = ?7, cleared_at = NULL",
    )?;
    for d in seen {
        up.execute(params![
            d.run_key,
            d.class,
            d.agent,
            d.session_key,
            d.label,
            now,
            d.evidence
        ])?;
    }
    Ok(())
}

/// The (run key, class) of every detection not cleared yet.
pub fn open_detections(c: &Connection) -> Result<Vec<(String, String)>> {
    let mut st =
        c.prepare("SELECT run_key, class FROM stuck_detections WHERE cleared_at IS NULL")?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn clear(c: &Connection, run_key: &str, class: &str, now: &str) -> Result<()> {
    c.execute(
        "UPDATE stuck_detections SET cleared_at = ?3 WHERE run_key = ?1 AND class = ?2",
        params![run_key, class, now],
    )?;
    Ok(())
}

/// One triage answer (or its error) to record; tokens and cost add up over retries.
pub struct Triage<'a> {
    pub run_key: &'a str,
    pub class: &'a str,
    pub api: &'a str,
    pub model: &'a str,
    /// `kill`, `steer`, `wait` or `error`.
    pub verdict: &'a str,
    pub text: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_micros: i64,
    pub error: Option<&'a str>,
}

pub fn triage(c: &Connection, now: &str, t: &Triage) -> Result<()> {
    c.execute(
        "INSERT INTO stuck_triage (run_key, class, at, api, model, verdict, text,
             input_tokens, output_tokens, cost_micros, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (run_key, class) DO UPDATE SET at = ?3, verdict = ?6, text = ?7,
             input_tokens = input_tokens + ?8, output_tokens = output_tokens + ?9,
             cost_micros = cost_micros + ?10, error = ?11",
        params![
            t.run_key,
            t.class,
            now,
            t.api,
            t.model,
            t.verdict,
            t.text,
            t.input_tokens,
            t.output_tokens,
            t.cost_micros,
            t.error
        ],
    )?;
    Ok(())
}

/// An action about to run (`argv`: a redacted JSON array of shell lines).
pub struct Planned<'a> {
    pub run_key: &'a str,
    pub step: Step,
    pub class: &'a str,
    pub session_key: &'a str,
    pub until: Option<String>,
    pub argv: String,
}

/// Record an action as pending before it runs. False when another scan recorded this step of
/// this run first (that scan owns the command).
pub fn plan(c: &Connection, now: &str, a: &Planned) -> Result<bool> {
    let n = c
        .prepare_cached(
            "INSERT INTO stuck_actions (run_key, step, class, session_key, at, until, argv, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending')
             ON CONFLICT (run_key, step) DO NOTHING",
        )?
        .execute(params![
            a.run_key,
            a.step.as_str(),
            a.class,
            a.session_key,
            now,
            a.until,
            a.argv
        ])?;
    Ok(n > 0)
}

/// How a recorded action went: `ok` or `failed` with the error.
pub fn action_result(
    c: &Connection,
    run_key: &str,
    step: Step,
    status: &str,
    error: Option<&str>,
) -> Result<()> {
    c.execute(
        "UPDATE stuck_actions SET status = ?3, error = ?4 WHERE run_key = ?1 AND step = ?2",
        params![run_key, step.as_str(), status, error],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> (tempfile::TempDir, crate::ledger::Ledger) {
        let d = tempfile::tempdir().unwrap();
        let l = crate::ledger::Ledger::open(&d.path().join("ledger.db")).unwrap();
        (d, l)
    }

    #[test]
    fn a_step_is_planned_once_and_read_back_as_history() {
        let (_d, l) = ledger();
        let a = Planned {
            run_key: "r1",
            step: Step::Extend,
            class: "idle",
            session_key: "agent:main:subagent:a",
            until: Some("2026-08-10T13:00:00Z".into()),
            argv: "[]".into(),
        };
        assert!(l
            .immediate(|tx| plan(tx, "2026-08-10T12:00:00Z", &a))
            .unwrap());
        assert!(!l
            .immediate(|tx| plan(tx, "2026-08-10T12:05:00Z", &a))
            .unwrap());
        l.immediate(|tx| action_result(tx, "r1", Step::Extend, "ok", None))
            .unwrap();
        let h = l.read(history).unwrap();
        assert_eq!(h["r1"].len(), 1);
        assert_eq!(h["r1"][0].step, Step::Extend);
        assert_eq!(h["r1"][0].at.to_rfc3339(), "2026-08-10T12:00:00+00:00");
        assert_eq!(
            h["r1"][0].until.map(|u| u.to_rfc3339()).as_deref(),
            Some("2026-08-10T13:00:00+00:00")
        );
    }

    #[test]
    fn detections_open_clear_and_triage_reads_only_answers() {
        let (_d, l) = ledger();
        let d = |k| Detection {
            run_key: k,
            class: "idle",
            agent: "main",
            session_key: "s",
            label: None,
            evidence: "[]".into(),
        };
        l.immediate(|tx| detect(tx, "t1", &[d("a"), d("b")]))
            .unwrap();
        l.immediate(|tx| clear(tx, "a", "idle", "t2")).unwrap();
        assert_eq!(
            l.read(open_detections).unwrap(),
            vec![("b".to_string(), "idle".to_string())]
        );
        let t = |k, verdict, error| Triage {
            run_key: k,
            class: "idle",
            api: "openai",
            model: "m",
            verdict,
            text: Some("go on".into()),
            input_tokens: 1,
            output_tokens: 1,
            cost_micros: 1,
            error,
        };
        l.immediate(|tx| {
            triage(tx, "t1", &t("a", "steer", None))?;
            triage(tx, "t1", &t("b", "error", Some("timeout")))
        })
        .unwrap();
        let k = l.read(known_triage).unwrap();
        assert_eq!(k.len(), 1);
        assert_eq!(
            k[&("a".to_string(), "idle".to_string())],
            Suggestion::Steer("go on".into())
        );
    }
}
