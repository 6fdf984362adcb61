//! Readers for what a watchdog needs about subagent runs: `subagents/runs.json` (to 2026.7.x)
//! and `state/openclaw.sqlite` `subagent_runs`/`task_runs` (2026.9.x), the light
//! fields of `sessions.json`, transcript writer locks, and the LAST lines of a transcript
//! (read backwards from the end of the file, never the whole file).
//!
//! `sessions.json` entries carry a large `skillsSnapshot`; only the fields named here are
//! kept, the rest is skipped without building a tree.

use anyhow::{Context, Result};
use serde::Deserialize;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// One `runs.json` record. Times are epoch ms (ISO strings are accepted too).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRecord {
    pub run_id: String,
    pub child_session_key: String,
    pub requester_session_key: Option<String>,
    pub task: Option<String>,
    pub label: Option<String>,
    pub model: Option<String>,
    pub run_timeout_seconds: Option<u64>,
    pub created_at: Option<i64>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub outcome_status: Option<String>,
    pub ended_reason: Option<String>,
}

#[derive(Deserialize)]
struct RunsFile<'a> {
    /// Raw records, so one bad record is reported alone without building a tree of all.
    #[serde(default, borrow)]
    runs: Option<std::collections::BTreeMap<String, &'a serde_json::value::RawValue>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRun {
    run_id: Option<String>,
    child_session_key: Option<String>,
    requester_session_key: Option<String>,
    task: Option<String>,
    label: Option<String>,
    model: Option<serde_json::Value>,
    run_timeout_seconds: Option<Time>,
    created_at: Option<Time>,
    started_at: Option<Time>,
    ended_at: Option<Time>,
    outcome: Option<Outcome>,
    ended_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Outcome {
    Obj {
        status: Option<String>,
    },
    Str(String),
    #[allow(dead_code)]
    Other(serde::de::IgnoredAny),
}

/// A time as epoch ms, epoch seconds-as-float, or an ISO string; or a plain count.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum Time {
    N(f64),
    S(String),
    #[allow(dead_code)]
    Other(serde::de::IgnoredAny),
}

impl Time {
    fn ms(&self) -> Option<i64> {
        match self {
            Time::N(n) if n.is_finite() && *n > 0.0 => Some(*n as i64),
            Time::S(s) => chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.timestamp_millis())
                .or_else(|| s.trim().parse::<i64>().ok()),
            _ => None,
        }
    }
    fn count(&self) -> Option<u64> {
        match self {
            Time::N(n) if n.is_finite() && *n >= 0.0 => Some(*n as u64),
            Time::S(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Every run in `runs.json`; a missing file is no runs. Bad records are returned as problems
/// (one line each) while the others are read.
pub fn read_runs(path: &Path) -> Result<(Vec<RunRecord>, Vec<String>)> {
    let bytes = match crate::safefs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], vec![])),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    let file: RunsFile = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a runs file", path.display()))?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (id, v) in file.runs.unwrap_or_default() {
        let raw: RawRun = match serde_json::from_str(v.get()) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{}: run {id}: {e}", path.display()));
                continue;
            }
        };
        let Some(child) = raw.child_session_key.filter(|k| !k.is_empty()) else {
            problems.push(format!("{}: run {id}: no childSessionKey", path.display()));
            continue;
        };
        out.push(RunRecord {
            run_id: raw.run_id.filter(|r| !r.is_empty()).unwrap_or(id),
            child_session_key: child,
            requester_session_key: raw.requester_session_key,
            task: raw.task,
            label: raw.label,
            model: raw.model.and_then(|m| match m {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Object(o) => o
                    .get("primary")
                    .and_then(|p| p.as_str())
                    .map(str::to_string),
                _ => None,
            }),
            run_timeout_seconds: raw.run_timeout_seconds.and_then(|t| t.count()),
            created_at: raw.created_at.and_then(|t| t.ms()),
            started_at: raw.started_at.and_then(|t| t.ms()),
            ended_at: raw.ended_at.and_then(|t| t.ms()),
            outcome_status: raw.outcome.and_then(|o| match o {
                Outcome::Obj { status } => status,
                Outcome::Str(s) => Some(s),
                Outcome::Other(_) => None,
            }),
            ended_reason: raw.ended_reason,
        });
    }
    out.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    Ok((out, problems))
}

/// Task statuses after which a run no longer runs (`task_runs.status`, 2026.9.x).
const TASK_TERMINAL: &[&str] = &[
    "succeeded",
    "failed",
    "cancelled",
    "canceled",
    "timed_out",
    "timeout",
    "lost",
    "killed",
    "done",
    "error",
];

/// Every subagent run of the SQLite era: `subagent_runs` of `<state>/state/openclaw.sqlite`
/// (2026.9.x keeps no `runs.json`), with the task's status and end from `task_runs` (same
/// `run_id`). A missing database or table is no runs; a database that exists but cannot be
/// read is an error, because "no runs" would then be a silent lie to the caller.
pub fn read_runs_sqlite(db: &Path) -> Result<(Vec<RunRecord>, Vec<String>)> {
    if !db.is_file() {
        return Ok((vec![], vec![]));
    }
    let name = db.display();
    let c = super::agentdb::open_ro(db, std::time::Duration::from_millis(1000))?;
    let has = |t: &str| -> Result<bool> {
        c.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [t],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .with_context(|| format!("{name}: not a readable SQLite database"))
    };
    if !has("subagent_runs")? {
        return Ok((vec![], vec![]));
    }
    let tasks = has("task_runs")?;
    let sql = if tasks {
        "SELECT r.run_id, r.child_session_key, r.requester_session_key, r.created_at, \
         r.payload_json, t.status, t.ended_at, t.terminal_outcome \
         FROM subagent_runs r LEFT JOIN task_runs t ON t.run_id = r.run_id \
         ORDER BY r.run_id"
    } else {
        "SELECT run_id, child_session_key, requester_session_key, created_at, payload_json, \
         NULL, NULL, NULL FROM subagent_runs ORDER BY run_id"
    };
    let mut st = c
        .prepare(sql)
        .with_context(|| format!("{name}: cannot read subagent_runs"))?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })
        .with_context(|| format!("{name}: cannot read subagent_runs"))?;
    let mut out: Vec<RunRecord> = Vec::new();
    let mut problems = Vec::new();
    for row in rows {
        let (run_id, child, requester, created, payload, status, ended, outcome) =
            row.with_context(|| format!("{name}: cannot read subagent_runs"))?;
        // A run id joined to several tasks appears once.
        if out.last().is_some_and(|r| r.run_id == run_id) {
            continue;
        }
        let p: serde_json::Value = match payload.as_deref().map(serde_json::from_str) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                problems.push(format!("{name}: run {run_id}: payload_json: {e}"));
                serde_json::Value::Null
            }
            None => serde_json::Value::Null,
        };
        let ms = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_f64()).map(|f| f as i64);
        let exec = p.get("execution");
        let exec_status = exec
            .and_then(|e| e.get("status"))
            .and_then(|s| s.as_str())
            .map(str::to_string);
        let ended_at = ended
            .or_else(|| ms(exec.and_then(|e| e.get("endedAt"))))
            .or_else(|| ms(p.get("endedAt")));
        let terminal = status
            .as_deref()
            .filter(|s| TASK_TERMINAL.contains(s))
            .map(str::to_string);
        let outcome_status = terminal
            .or_else(|| ended_at.map(|_| exec_status.clone().unwrap_or_else(|| "ended".into())));
        let text = |k: &str| p.get(k).and_then(|v| v.as_str()).map(str::to_string);
        out.push(RunRecord {
            run_id,
            child_session_key: child,
            requester_session_key: requester,
            task: text("task"),
            label: text("label"),
            model: text("model"),
            run_timeout_seconds: p.get("runTimeoutSeconds").and_then(|v| v.as_u64()),
            created_at: created.or_else(|| ms(p.get("createdAt"))),
            started_at: ms(exec.and_then(|e| e.get("startedAt"))),
            ended_at,
            outcome_status,
            ended_reason: outcome.or_else(|| {
                exec.and_then(|e| e.get("interruptionReason"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            }),
        });
    }
    Ok((out, problems))
}

/// When the gateway last started (epoch ms): the newest `gateway_boot_lifecycle` row of
/// `<state>/state/openclaw.sqlite` (2026.7.1 and later). None when unknown.
pub fn latest_gateway_boot(openclaw_dir: &Path) -> Option<i64> {
    let db = openclaw_dir.join("state").join("openclaw.sqlite");
    if !db.is_file() {
        return None;
    }
    let c = super::agentdb::open_ro(&db, std::time::Duration::from_millis(1000)).ok()?;
    c.query_row(
        "SELECT max(started_at_ms) FROM gateway_boot_lifecycle",
        [],
        |r| r.get::<_, Option<i64>>(0),
    )
    .ok()
    .flatten()
}

/// Every subagent run of an OpenClaw home, both eras: `state/openclaw.sqlite` (2026.9.x) and
/// `subagents/runs.json` (before; both are read when both exist, the database winning for a
/// run id in both). Unreadable sources are problems, the other source is still read.
pub fn read_all_runs(openclaw_dir: &Path) -> (Vec<RunRecord>, Vec<String>) {
    let mut problems = Vec::new();
    let db = openclaw_dir.join("state").join("openclaw.sqlite");
    let (mut runs, p) = read_runs_sqlite(&db).unwrap_or_else(|e| (vec![], vec![format!("{e:#}")]));
    problems.extend(p);
    let json = openclaw_dir.join("subagents").join("runs.json");
    let (old, p) = read_runs(&json).unwrap_or_else(|e| (vec![], vec![format!("{e:#}")]));
    problems.extend(p);
    let seen: std::collections::HashSet<String> = runs.iter().map(|r| r.run_id.clone()).collect();
    runs.extend(old.into_iter().filter(|r| !seen.contains(&r.run_id)));
    runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    (runs, problems)
}

/// The fields of a `sessions.json` entry a watchdog reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoreEntry {
    pub session_id: Option<String>,
    #[serde(deserialize_with = "de_ms")]
    pub updated_at: Option<i64>,
    pub session_file: Option<String>,
    pub spawned_by: Option<String>,
    pub label: Option<String>,
    pub status: Option<String>,
    #[serde(deserialize_with = "de_ms")]
    pub started_at: Option<i64>,
    #[serde(deserialize_with = "de_ms")]
    pub ended_at: Option<i64>,
    pub model: Option<String>,
}

fn de_ms<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Time>::deserialize(d)?.and_then(|t| t.ms()))
}

/// Every entry of a session store, in key order; a missing file is an empty store.
pub fn read_store(path: &Path) -> Result<Vec<(String, StoreEntry)>> {
    let bytes = match crate::safefs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    let map: std::collections::BTreeMap<String, Lenient> = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a session store", path.display()))?;
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// An entry that does not fit the shape becomes an empty entry rather than failing the store.
struct Lenient(StoreEntry);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than an untagged enum: untagged would buffer every entry (with its
        // large skillsSnapshot) before trying the shape.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a session entry")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Lenient, A::Error> {
                StoreEntry::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Lenient)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Lenient, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Lenient(StoreEntry::default()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Lenient, E> {
                Ok(Lenient(StoreEntry::default()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Lenient, E> {
                Ok(Lenient(StoreEntry::default()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Lenient, E> {
                Ok(Lenient(StoreEntry::default()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Lenient, E> {
                Ok(Lenient(StoreEntry::default()))
            }
            fn visit_str<E>(self, _: &str) -> Result<Lenient, E> {
                Ok(Lenient(StoreEntry::default()))
            }
            fn visit_unit<E>(self) -> Result<Lenient, E> {
                Ok(Lenient(StoreEntry::default()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A transcript writer lock `<sid>.jsonl.lock`: `{pid, createdAt}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lock {
    pub pid: i64,
    pub created_at: Option<i64>,
}

/// Read a lock file; None when absent. An unreadable or odd lock is an error naming it.
pub fn read_lock(path: &Path) -> Result<Option<Lock>> {
    let bytes = match crate::safefs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        pid: Option<Time>,
        created_at: Option<Time>,
    }
    let raw: Raw = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a lock file {{pid, createdAt}}", path.display()))?;
    let pid = raw
        .pid
        .and_then(|p| p.count())
        .filter(|p| *p > 0)
        .with_context(|| format!("{}: lock without a pid", path.display()))?;
    Ok(Some(Lock {
        pid: pid.min(i64::MAX as u64) as i64,
        created_at: raw.created_at.and_then(|t| t.ms()),
    }))
}

/// Whether a process with this pid exists on this host (`/proc/<pid>`).
pub fn pid_alive(pid: i64) -> bool {
    pid > 0 && Path::new("/proc").join(pid.to_string()).exists()
}

/// The last `n` complete lines of a file, oldest first, read backwards in blocks from the
/// end; at most `max_bytes` are read (a huge last line is then cut off, not loaded). A last
/// line without its newline (being written) is skipped.
pub fn tail_lines(path: &Path, n: usize, max_bytes: u64) -> std::io::Result<Vec<Vec<u8>>> {
    let mut f = crate::safefs::open(path, crate::safefs::Follow::Yes)?;
    let len = f.metadata()?.len();
    if n == 0 || len == 0 {
        return Ok(vec![]);
    }
    const BLOCK: u64 = 64 * 1024;
    let mut buf: Vec<u8> = Vec::new();
    let mut pos = len;
    let floor = len.saturating_sub(max_bytes);
    loop {
        let start = pos.saturating_sub(BLOCK).max(floor);
        let mut chunk = vec![0u8; (pos - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        pos = start;
        // n complete lines need n newlines plus the one before the first (or the file start).
        if memchr::memchr_iter(b'\n', &buf).count() > n || pos == floor {
            break;
        }
    }
    // Drop the unfinished last line, and the partial first one unless it starts the file.
    let end = match buf.last() {
        Some(b'\n') => buf.len() - 1,
        _ => match memchr::memrchr(b'\n', &buf) {
            Some(i) => i,
            None => return Ok(vec![]),
        },
    };
    let body = &buf[..end];
    let mut lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    if pos > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    let lines: Vec<Vec<u8>> = lines
        .into_iter()
        .filter(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect();
    let skip = lines.len().saturating_sub(n);
    Ok(lines.into_iter().skip(skip).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2026.9.6 tables as the real gateway creates them (columns trimmed to those read).
    #[test]
    fn sqlite_era_runs_with_their_task_status() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("state")).unwrap();
        let c = rusqlite::Connection::open(d.path().join("state/openclaw.sqlite")).unwrap();
        c.execute_batch(
            r#"CREATE TABLE subagent_runs (run_id TEXT NOT NULL PRIMARY KEY,
                 child_session_key TEXT NOT NULL, controller_session_key TEXT,
                 requester_session_key TEXT NOT NULL, created_at INTEGER NOT NULL,
                 payload_json TEXT NOT NULL DEFAULT '{}') STRICT;
               CREATE TABLE task_runs (task_id TEXT NOT NULL PRIMARY KEY, run_id TEXT,
                 child_session_key TEXT, status TEXT NOT NULL, ended_at INTEGER,
                 terminal_outcome TEXT) STRICT;
               INSERT INTO subagent_runs VALUES ('r1', 'agent:main:subagent:a', NULL,
                 'agent:main:main', 1000, '{"task":"hang","label":"l1","model":"fake/m1",
                 "runTimeoutSeconds":0,"execution":{"status":"running","startedAt":1100}}');
               INSERT INTO task_runs VALUES ('t1', 'r1', 'agent:main:subagent:a', 'running',
                 NULL, NULL);
               INSERT INTO subagent_runs VALUES ('r2', 'agent:main:subagent:b', NULL,
                 'agent:main:main', 2000, '{"execution":{"status":"terminal","endedAt":2500}}');
               INSERT INTO task_runs VALUES ('t2', 'r2', 'agent:main:subagent:b', 'cancelled',
                 2500, 'killed');"#,
        )
        .unwrap();
        drop(c);
        let (runs, problems) = read_all_runs(d.path());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].run_id, "r1");
        assert_eq!(runs[0].child_session_key, "agent:main:subagent:a");
        assert_eq!(runs[0].label.as_deref(), Some("l1"));
        assert_eq!(runs[0].started_at, Some(1100));
        assert_eq!(
            (runs[0].ended_at, runs[0].outcome_status.as_deref()),
            (None, None)
        );
        assert_eq!(runs[1].ended_at, Some(2500));
        assert_eq!(runs[1].outcome_status.as_deref(), Some("cancelled"));
        assert_eq!(runs[1].ended_reason.as_deref(), Some("killed"));

        // A database that exists but is not one is an error, never "no runs".
        std::fs::write(
            d.path().join("state/openclaw.sqlite"),
            b"not a database at all, sorry",
        )
        .unwrap();
        let (runs, problems) = read_all_runs(d.path());
        assert!(runs.is_empty());
        assert!(problems[0].contains("openclaw.sqlite"), "{problems:?}");
    }

    #[test]
    fn tail_reads_the_last_complete_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.jsonl");
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!(
                "{{\"i\":{i},\"pad\":\"{}\"}}\n",
                "x".repeat(i % 97)
            ));
        }
        text.push_str("{\"partial\":");
        std::fs::write(&p, &text).unwrap();
        let got = tail_lines(&p, 3, 1 << 20).unwrap();
        let got: Vec<String> = got
            .iter()
            .map(|l| String::from_utf8(l.clone()).unwrap())
            .collect();
        assert_eq!(got.len(), 3);
        assert!(got[0].starts_with("{\"i\":4997,"), "{got:?}");
        assert!(got[2].starts_with("{\"i\":4999,"), "{got:?}");
        // Fewer lines than asked, and a file starting at a line.
        std::fs::write(&p, "a\nb\n").unwrap();
        assert_eq!(
            tail_lines(&p, 5, 1 << 20).unwrap(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        // The byte cap cuts a giant line rather than loading it.
        std::fs::write(&p, format!("{}\nlast\n", "y".repeat(300_000))).unwrap();
        assert_eq!(tail_lines(&p, 2, 1000).unwrap(), vec![b"last".to_vec()]);
        std::fs::write(&p, "").unwrap();
        assert!(tail_lines(&p, 2, 1000).unwrap().is_empty());
    }

    #[test]
    fn runs_and_store_and_locks() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("runs.json");
        std::fs::write(
            &p,
            r#"{"version":2,"runs":{
              "r1":{"runId":"r1","childSessionKey":"agent:main:subagent:u1","requesterSessionKey":"agent:main:main",
                    "task":"t","label":"L","model":"anthropic/claude","runTimeoutSeconds":300,
                    "createdAt":1786000000000,"startedAt":1786000001000},
              "r2":{"runId":"r2","childSessionKey":"agent:main:subagent:u2","createdAt":"2026-08-06T00:00:00Z",
                    "endedAt":1786000100000,"outcome":{"status":"ok"},"endedReason":"complete"},
              "r3":{"runId":"r3"},
              "r4":[1,2]}}"#,
        )
        .unwrap();
        let (runs, problems) = read_runs(&p).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(runs[0].run_timeout_seconds, Some(300));
        assert_eq!(runs[0].started_at, Some(1786000001000));
        assert_eq!(runs[1].outcome_status.as_deref(), Some("ok"));
        assert_eq!(runs[1].created_at, Some(1785974400000)); // 2026-08-06T00:00:00Z
        assert!(read_runs(&d.path().join("none.json")).unwrap().0.is_empty());
        std::fs::write(&p, "{not json").unwrap();
        assert!(format!("{:#}", read_runs(&p).unwrap_err()).contains("runs.json"));

        let s = d.path().join("sessions.json");
        std::fs::write(
            &s,
            r#"{"agent:main:main":{"sessionId":"a","updatedAt":1786000000000,"skillsSnapshot":{"x":[1,2,{"y":3}]}},
                "agent:main:subagent:u1":{"sessionId":"b","status":"running","label":"L","startedAt":1786000001000},
                "weird":42}"#,
        )
        .unwrap();
        let store = read_store(&s).unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store[0].1.session_id.as_deref(), Some("a"));
        assert_eq!(store[1].1.status.as_deref(), Some("running"));
        assert_eq!(store[2].1, StoreEntry::default());

        let l = d.path().join("b.jsonl.lock");
        assert_eq!(read_lock(&l).unwrap(), None);
        std::fs::write(
            &l,
            r#"{"pid":123456789,"createdAt":"2026-08-06T00:00:00Z"}"#,
        )
        .unwrap();
        let lock = read_lock(&l).unwrap().unwrap();
        assert_eq!(lock.pid, 123456789);
        assert!(!pid_alive(lock.pid));
        assert!(pid_alive(std::process::id() as i64));
        std::fs::write(&l, "{}").unwrap();
        assert!(read_lock(&l).is_err());
    }
}
