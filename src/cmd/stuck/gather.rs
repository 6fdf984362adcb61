//! Reading the facts for every watched run, both storage eras: `subagents/runs.json`, each
//! agent's `sessions.json` and/or `session_windows`, the transcript's last entries (from the
//! end of the JSONL file, or the newest `transcript_events` rows), the writer lock, and hints
//! from the gateway logs. Per-file problems are collected while the scan goes on.

use super::classify::{Facts, LockFacts, RunFacts, SessionFacts, TailEntry};
use crate::openclaw::agentdb;
use crate::openclaw::layout::{self, Agent};
use crate::openclaw::subagents::{self, RunRecord, StoreEntry};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One watched run (a `runs.json` record, or a running subagent session without one).
#[derive(Debug, Clone)]
pub struct Watched {
    /// The run id, or `session:<key>` for a session without a run record.
    pub run_key: String,
    pub agent: String,
    pub session_key: String,
    pub session_id: Option<String>,
    pub label: Option<String>,
    pub task: Option<String>,
    /// Where its transcript was read: `jsonl`, `sqlite` or `none`.
    pub source: &'static str,
    pub facts: Facts,
}

/// A session as the store or `session_windows` knows it.
#[derive(Debug, Clone, Default)]
struct Session {
    id: Option<String>,
    label: Option<String>,
    facts: SessionFacts,
    /// From `session_windows` (transcript in `transcript_events`).
    sqlite: bool,
}

/// What the readers need to know.
pub struct Opts {
    pub tail: usize,
    pub include_main: bool,
    pub log_dirs: Vec<PathBuf>,
    pub now: DateTime<Utc>,
    /// OpenClaw's config: the subagent timeout a run record does not carry comes from there.
    pub config: PathBuf,
}

/// `runTimeoutSeconds` from the config: `agents.defaults.subagents`, overridden per agent in
/// `agents.list[]` (to 2026.7.x) or `agents.entries.<id>` (later). A missing config is none.
pub fn config_timeouts(path: &Path) -> Result<(Option<u64>, HashMap<String, u64>)> {
    let text = match crate::safefs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, HashMap::new())),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    let root = crate::openclaw::config::parse_json5(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message))?;
    let merged = crate::openclaw::config::resolve_includes(root, path, &[]).merged;
    let t = |v: Option<&Value>| {
        v.and_then(|v| v.pointer("/subagents/runTimeoutSeconds"))
            .and_then(|x| x.as_u64())
    };
    let agents = merged.get("agents");
    let default = t(agents.and_then(|a| a.get("defaults")));
    let mut per = HashMap::new();
    if let Some(list) = agents
        .and_then(|a| a.get("list"))
        .and_then(|l| l.as_array())
    {
        for a in list {
            if let (Some(id), Some(secs)) = (a.get("id").and_then(|i| i.as_str()), t(Some(a))) {
                per.insert(id.to_string(), secs);
            }
        }
    }
    if let Some(entries) = agents
        .and_then(|a| a.get("entries"))
        .and_then(|e| e.as_object())
    {
        for (id, a) in entries {
            if let Some(secs) = t(Some(a)) {
                per.insert(id.clone(), secs);
            }
        }
    }
    Ok((default, per))
}

/// Every watched run, sorted by agent then run key, and the per-file problems.
pub fn gather(openclaw_dir: &Path, o: &Opts) -> Result<(Vec<Watched>, Vec<String>)> {
    let mut problems = Vec::new();
    let agents = layout::agents(openclaw_dir).with_context(|| {
        format!(
            "{}: cannot list agents",
            openclaw_dir.join("agents").display()
        )
    })?;
    let (runs, p) = subagents::read_all_runs(openclaw_dir);
    problems.extend(p);
    let sessions = read_sessions(&agents, &mut problems);
    let timeouts = match config_timeouts(&o.config) {
        Ok(x) => x,
        Err(e) => {
            problems.push(format!("{e:#}"));
            (None, HashMap::new())
        }
    };
    let boot = subagents::latest_gateway_boot(openclaw_dir);
    let mut out = watched(&runs, &sessions, &timeouts, boot, o.include_main);
    // Only live runs cost I/O: transcripts, locks, logs.
    read_live(&mut out, &agents, &sessions, o, &mut problems);
    Ok((out, problems))
}

/// Every agent's sessions, by agent id then session key: `sessions.json`, then
/// `session_windows` (the SQLite era) over it.
fn read_sessions(agents: &[Agent], problems: &mut Vec<String>) -> Sessions {
    let session = |e: StoreEntry, sqlite: bool| Session {
        id: e.session_id,
        label: e.label,
        facts: SessionFacts {
            status: e.status,
            started_at: e.started_at,
            ended_at: e.ended_at,
            updated_at: e.updated_at,
        },
        sqlite,
    };
    let mut sessions = HashMap::new();
    for a in agents {
        let mut m = HashMap::new();
        match subagents::read_store(&a.store_path()) {
            Ok(store) => m.extend(store.into_iter().map(|(k, e)| (k, session(e, false)))),
            Err(e) => problems.push(format!("{e:#}")),
        }
        if let Some(db) = &a.sqlite {
            match open_ro(db).and_then(|c| agentdb::windows(&c, &db.display().to_string())) {
                Ok(w) => m.extend(w.into_iter().map(|(k, e)| (k, session(e, true)))),
                Err(e) => problems.push(format!("{e:#}")),
            }
        }
        sessions.insert(a.id.clone(), m);
    }
    sessions
}

/// Sessions by agent id, then session key.
type Sessions = HashMap<String, HashMap<String, Session>>;

/// The watched runs: every run record (with what its sessions and the gateway's boot tell of
/// it), and every running subagent session (or main session, with `include_main`) without one.
fn watched(
    runs: &[RunRecord],
    sessions: &Sessions,
    (default_timeout, agent_timeouts): &(Option<u64>, HashMap<String, u64>),
    boot: Option<i64>,
    include_main: bool,
) -> Vec<Watched> {
    let mut out = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for r in runs {
        let agent = agent_of(&r.child_session_key).unwrap_or_default();
        seen.insert((agent.clone(), r.child_session_key.clone()));
        let s = sessions
            .get(&agent)
            .and_then(|m| m.get(&r.child_session_key))
            .cloned();
        let mut w = watched_from(Some(r), agent, r.child_session_key.clone(), s);
        if let Some(rf) = w.facts.run.as_mut() {
            let born = rf.started_at.or(rf.created_at);
            rf.gateway_boot_after_start = boot.filter(|b| born.is_some_and(|t| t < *b));
            rf.requester_gone = r
                .requester_session_key
                .as_ref()
                // A main session is never gone (OpenClaw recreates it); a spawning subagent or
                // cron run that left every store is.
                .filter(|k| {
                    let owner = agent_of(k).unwrap_or_default();
                    !is_main(k)
                        && !sessions
                            .get(&owner)
                            .is_some_and(|m| m.contains_key(k.as_str()))
                })
                .cloned();
            if rf.run_timeout_secs.is_none() {
                rf.run_timeout_secs = agent_timeouts.get(&w.agent).copied().or(*default_timeout);
            }
        }
        out.push(w);
    }
    for (agent, m) in sessions {
        for (key, s) in m {
            let running =
                s.facts.status.as_deref() == Some("running") && s.facts.ended_at.is_none();
            let wanted = key.contains(":subagent:") || (include_main && is_main(key));
            if running && wanted && !seen.contains(&(agent.clone(), key.clone())) {
                out.push(watched_from(
                    None,
                    agent.clone(),
                    key.clone(),
                    Some(s.clone()),
                ));
            }
        }
    }
    out.sort_by(|a, b| (&a.agent, &a.run_key).cmp(&(&b.agent, &b.run_key)));
    out
}

/// The live runs' transcript tails (from `transcript_events` for a session the database
/// holds, else the JSONL file), writer locks and gateway log hints.
fn read_live(
    out: &mut [Watched],
    agents: &[Agent],
    sessions: &Sessions,
    o: &Opts,
    problems: &mut Vec<String>,
) {
    let hints = if out.iter().any(is_live) {
        log_hints(&o.log_dirs, o.now, problems)
    } else {
        HashMap::new()
    };
    let by_id: HashMap<&str, &Agent> = agents.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut dbs: HashMap<PathBuf, Option<Connection>> = HashMap::new();
    for w in out.iter_mut().filter(|w| is_live(w)) {
        let Some(a) = by_id.get(w.agent.as_str()) else {
            continue;
        };
        let sqlite = sessions
            .get(&w.agent)
            .and_then(|m| m.get(&w.session_key))
            .is_some_and(|s| s.sqlite);
        if let Some(sid) = w.session_id.clone() {
            if let Some(db) = a.sqlite.as_ref().filter(|_| sqlite) {
                let conn = dbs.entry(db.clone()).or_insert_with(|| open_ro(db).ok());
                if let Some(c) = conn {
                    match tail_events(c, &sid, o.tail) {
                        Ok(t) if !t.is_empty() => {
                            w.facts.transcript = true;
                            w.facts.tail = t;
                            w.source = "sqlite";
                        }
                        Ok(_) => {}
                        Err(e) => problems.push(format!("{}: {e:#}", db.display())),
                    }
                }
            }
            if w.source == "none" {
                read_jsonl(w, a, &sid, o.tail, problems);
            }
            let lock = a.sessions_dir.join(format!("{sid}.jsonl.lock"));
            match subagents::read_lock(&lock) {
                Ok(Some(l)) => {
                    w.facts.lock = Some(LockFacts {
                        pid: l.pid,
                        alive: subagents::pid_alive(l.pid),
                    })
                }
                Ok(None) => {}
                Err(e) => problems.push(format!("{e:#}")),
            }
        }
        // One line names both the session id and key: keep each hint once.
        for k in [w.session_id.clone(), Some(w.session_key.clone())]
            .into_iter()
            .flatten()
        {
            for h in hints.get(&k).into_iter().flatten() {
                if !w.facts.log_hints.contains(h) {
                    w.facts.log_hints.push(h.clone());
                }
            }
        }
    }
}

fn is_live(w: &Watched) -> bool {
    !w.facts
        .run
        .as_ref()
        .is_some_and(|r| r.ended_at.is_some() || r.outcome.is_some())
}

/// `agent:<id>:main`.
pub fn is_main(key: &str) -> bool {
    let mut p = key.split(':');
    matches!(
        (p.next(), p.next(), p.next(), p.next()),
        (Some("agent"), Some(_), Some("main"), None)
    )
}

/// The agent id in `agent:<id>:...`.
pub fn agent_of(key: &str) -> Option<String> {
    let rest = key.strip_prefix("agent:")?;
    let id = rest.split(':').next()?;
    (!id.is_empty()).then(|| id.to_string())
}

fn watched_from(r: Option<&RunRecord>, agent: String, key: String, s: Option<Session>) -> Watched {
    Watched {
        run_key: r
            .map(|r| r.run_id.clone())
            .unwrap_or_else(|| format!("session:{key}")),
        // Labels are free text written by whoever spawned the run: redacted once here, so
        // the ledger, alerts, --json and the table never hold a token typed into one.
        label: r
            .and_then(|r| r.label.clone())
            .or_else(|| s.as_ref().and_then(|s| s.label.clone()))
            .map(|l| crate::redact::redact_text(&l)),
        task: r.and_then(|r| r.task.clone()),
        session_id: s.as_ref().and_then(|s| s.id.clone()),
        agent,
        session_key: key,
        source: "none",
        facts: Facts {
            run: r.map(|r| RunFacts {
                run_id: r.run_id.clone(),
                created_at: r.created_at,
                started_at: r.started_at,
                ended_at: r.ended_at,
                outcome: r.outcome_status.clone(),
                run_timeout_secs: r.run_timeout_seconds,
                requester_gone: None,
                gateway_boot_after_start: None,
            }),
            session: s.map(|s| s.facts),
            ..Default::default()
        },
    }
}

fn read_jsonl(w: &mut Watched, a: &Agent, sid: &str, n: usize, problems: &mut Vec<String>) {
    let path = a.sessions_dir.join(format!("{sid}.jsonl"));
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            problems.push(format!("{}: {e}", path.display()));
            return;
        }
    };
    w.facts.transcript = true;
    w.source = "jsonl";
    w.facts.transcript_mtime = meta
        .modified()
        .ok()
        .map(|t| DateTime::<Utc>::from(t).timestamp_millis());
    match subagents::tail_lines(&path, n, 8 << 20) {
        Ok(lines) => {
            for (i, l) in lines.iter().enumerate() {
                match tail_entry(l, None) {
                    Some(e) => w.facts.tail.push(e),
                    None => problems.push(format!(
                        "{}: one of the last {} lines (#{}) is not a JSON object",
                        path.display(),
                        lines.len(),
                        i + 1
                    )),
                }
            }
        }
        Err(e) => problems.push(format!("{}: {e}", path.display())),
    }
}

/// One transcript line as the classifier sees it; None when it is not a JSON object.
pub fn tail_entry(line: &[u8], created_ms: Option<i64>) -> Option<TailEntry> {
    let v: Value = serde_json::from_slice(line).ok()?;
    let o = v.as_object()?;
    let msg = o.get("message").and_then(|m| m.as_object());
    let at = o
        .get("timestamp")
        .and_then(|t| t.as_str())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            msg.and_then(|m| m.get("timestamp"))
                .and_then(|t| t.as_i64())
                .and_then(DateTime::from_timestamp_millis)
        })
        .or_else(|| created_ms.and_then(DateTime::from_timestamp_millis));
    let s = |k: &str| {
        msg.and_then(|m| m.get(k))
            .and_then(|x| x.as_str())
            .map(str::to_string)
    };
    let mut text = String::new();
    match msg.and_then(|m| m.get("content")) {
        Some(Value::String(t)) => text.push_str(t),
        Some(Value::Array(parts)) => {
            for p in parts {
                if p.get("type").and_then(|t| t.as_str()) == Some("text") {
                    if let Some(t) = p.get("text").and_then(|t| t.as_str()) {
                        if !text.is_empty() {
                            text.push('\n');
                        }
                        text.push_str(t);
                    }
                }
            }
        }
        _ => {}
    }
    // Keep the end: that is where a question or a wait is.
    if text.chars().count() > 2000 {
        let skip = text.chars().count() - 2000;
        text = text.chars().skip(skip).collect();
    }
    Some(TailEntry {
        at,
        kind: o
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("")
            .to_string(),
        role: s("role"),
        stop_reason: s("stopReason"),
        error_message: s("errorMessage"),
        text,
    })
}

fn open_ro(db: &Path) -> Result<Connection> {
    agentdb::open_ro(db, Duration::from_millis(250))
}

/// The newest `n` events of a session as the classifier reads them, oldest first.
fn tail_events(c: &Connection, sid: &str, n: usize) -> Result<Vec<TailEntry>> {
    let mut out = Vec::new();
    for e in agentdb::tail_events(c, sid, n)? {
        match e.line {
            Some(Ok(line)) => out.extend(tail_entry(&line, e.created_at)),
            Some(Err(why)) => anyhow::bail!("session {sid}: {why}"),
            None => {}
        }
    }
    Ok(out)
}

/// `stuck session: sessionId=.. sessionKey=.. age=..s` and `lane wait exceeded: ..` lines in
/// the recent gateway logs (last 4 MiB of each file changed in the last 24 h), by session id
/// and key. A hint only: neither 2026.7.1 nor 2026.9.6 logs them at the default level.
fn log_hints(
    dirs: &[PathBuf],
    now: DateTime<Utc>,
    problems: &mut Vec<String>,
) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let re = regex::Regex::new(r"(stuck session:[^\x22\\]*|lane wait exceeded:[^\x22\\]*)")
        .expect("static regex");
    let field =
        regex::Regex::new(r"(sessionId|sessionKey|lane)=([^\s,\x22\\]+)").expect("static regex");
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
        for ent in rd.flatten() {
            let name = ent.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("openclaw") && name.ends_with(".log")) {
                continue;
            }
            let recent = ent
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| now - DateTime::<Utc>::from(t) < chrono::Duration::hours(24))
                .unwrap_or(false);
            if recent {
                files.insert(name, ent.path());
            }
        }
        for path in files.values() {
            let lines = match subagents::tail_lines(path, 20_000, 4 << 20) {
                Ok(l) => l,
                Err(e) => {
                    problems.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            for l in lines {
                if memchr::memmem::find(&l, b"stuck session:").is_none()
                    && memchr::memmem::find(&l, b"lane wait exceeded:").is_none()
                {
                    continue;
                }
                let text = String::from_utf8_lossy(&l);
                let Some(m) = re.find(&text) else { continue };
                let hint = format!(
                    "gateway log: {}",
                    crate::redact::redact_text(m.as_str().trim())
                );
                for c in field.captures_iter(m.as_str()) {
                    let v = c[2].to_string();
                    let list = out.entry(v).or_default();
                    if !list.contains(&hint) && list.len() < 3 {
                        list.push(hint.clone());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_entries() {
        assert!(is_main("agent:main:main"));
        assert!(is_main("agent:ops:main"));
        assert!(!is_main("agent:main:subagent:1"));
        assert!(!is_main("agent:main:main:x"));
        assert_eq!(
            agent_of("agent:ops:subagent:u:subagent:v").as_deref(),
            Some("ops")
        );
        assert_eq!(agent_of("hook:1"), None);
        let e = tail_entry(
            br#"{"type":"message","id":"a","timestamp":"2026-08-10T11:58:00Z","message":{"role":"assistant","content":[{"type":"thinking","thinking":"hm"},{"type":"text","text":"Shall I?"}],"stopReason":"stop"}}"#,
            None,
        )
        .unwrap();
        assert_eq!(e.text, "Shall I?");
        assert_eq!(e.role.as_deref(), Some("assistant"));
        assert_eq!(e.at.unwrap().to_rfc3339(), "2026-08-10T11:58:00+00:00");
        let e = tail_entry(
            br#"{"type":"custom","customType":"x"}"#,
            Some(1786000000000),
        )
        .unwrap();
        assert_eq!(e.at.unwrap().timestamp_millis(), 1786000000000);
        assert!(tail_entry(b"[1]", None).is_none());
        assert!(tail_entry(b"{trunc", None).is_none());
    }
}
