//! OpenClaw's gateway logs: where the files are and what one line says, in both shapes.
//!
//! Files: `openclaw-YYYY-MM-DD.log` (profile `p`: `openclaw-p-YYYY-MM-DD.log`), rotated parts
//! `openclaw-YYYY-MM-DD.N.log`, in `/tmp/openclaw`, `/tmp/openclaw-<uid>` or beside the
//! config's `logging.file`. A long-running gateway keeps writing to the day it started, so
//! every file that matches is a source, not only today's.
//!
//! Lines: tslog objects with numbered keys (`"0"` the subsystem binding, then message strings
//! and meta objects) and `_meta {logLevelName, date, name}`, or flat `{time, level,
//! subsystem, message, ...}`. journald carries the console form `<ISO time> [subsystem]
//! message` in `MESSAGE`.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One gateway log line, whatever its shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogLine {
    pub time: Option<DateTime<Utc>>,
    pub level: Option<String>,
    pub subsystem: Option<String>,
    /// The message strings joined by spaces.
    pub message: String,
    /// Meta objects (tslog numbered keys holding objects; the whole flat object).
    pub meta: Vec<Map<String, Value>>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::<FixedOffset>::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `{"subsystem":"x"}` (a tslog binding, as an object or a JSON string) -> `x`.
fn binding_subsystem(v: &Value) -> Option<String> {
    let obj = match v {
        Value::String(s) if s.starts_with('{') => serde_json::from_str::<Value>(s).ok()?,
        Value::Object(_) => v.clone(),
        _ => return None,
    };
    let m = obj.as_object()?;
    if m.len() == 1 {
        m.get("subsystem")?.as_str().map(str::to_string)
    } else {
        None
    }
}

/// Parse one log line (a JSON object). The error is serde's message.
pub fn parse_line(raw: &[u8]) -> Result<LogLine, String> {
    let obj: Map<String, Value> = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    Ok(from_object(obj))
}

fn from_object(mut obj: Map<String, Value>) -> LogLine {
    let mut out = LogLine::default();
    let numbered: Vec<(usize, Value)> = {
        let mut v: Vec<(usize, Value)> = obj
            .iter()
            .filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, v.clone())))
            .collect();
        v.sort_by_key(|(i, _)| *i);
        v
    };
    if !numbered.is_empty() || obj.contains_key("_meta") {
        // tslog
        let meta = obj.get("_meta").and_then(Value::as_object);
        out.level = meta
            .and_then(|m| m.get("logLevelName"))
            .and_then(Value::as_str)
            .map(str::to_string);
        out.time = obj
            .get("time")
            .and_then(Value::as_str)
            .and_then(parse_time)
            .or_else(|| {
                meta.and_then(|m| m.get("date"))
                    .and_then(Value::as_str)
                    .and_then(parse_time)
            });
        out.subsystem = meta.and_then(|m| m.get("name")).and_then(binding_subsystem);
        let mut parts: Vec<String> = Vec::new();
        for (i, v) in numbered {
            if i == 0 {
                if let Some(s) = binding_subsystem(&v) {
                    out.subsystem.get_or_insert(s);
                    continue;
                }
            }
            match v {
                Value::String(s) => parts.push(s),
                Value::Object(m) => out.meta.push(m),
                Value::Null => {}
                other => parts.push(other.to_string()),
            }
        }
        out.message = parts.join(" ");
        if out.message.is_empty() {
            if let Some(Value::String(m)) = obj.get("message") {
                out.message = m.clone();
            }
        }
    } else {
        // flat
        let take = |o: &mut Map<String, Value>, k: &str| match o.remove(k) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        out.time = take(&mut obj, "time")
            .or_else(|| take(&mut obj, "timestamp"))
            .as_deref()
            .and_then(parse_time);
        out.level = take(&mut obj, "level");
        out.subsystem = take(&mut obj, "subsystem");
        out.message = take(&mut obj, "message")
            .or_else(|| take(&mut obj, "msg"))
            .unwrap_or_default();
        out.meta.push(obj);
    }
    out
}

/// The console form journald keeps: `<ISO time> [subsystem] message` (either part may be
/// missing; ANSI colour codes are dropped). A `MESSAGE` that is itself a JSON log line is
/// parsed as one.
pub fn parse_console(text: &str) -> LogLine {
    let clean = strip_ansi(text);
    let t = clean.trim();
    if t.starts_with('{') {
        if let Ok(l) = parse_line(t.as_bytes()) {
            return l;
        }
    }
    let mut out = LogLine::default();
    let mut rest = t;
    if let Some((first, after)) = rest.split_once(' ') {
        if let Some(time) = parse_time(first) {
            out.time = Some(time);
            rest = after.trim_start();
        }
    }
    if let Some(after) = rest.strip_prefix('[') {
        if let Some((sub, msg)) = after.split_once(']') {
            if !sub.contains(' ') {
                out.subsystem = Some(sub.to_string());
                rest = msg.trim_start();
            }
        }
    }
    out.message = rest.to_string();
    out
}

fn strip_ansi(s: &str) -> String {
    if !s.contains('\u{1b}') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' && it.peek() == Some(&'[') {
            it.next();
            for d in it.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `name` is a gateway log file of `profile` (None: the default gateway):
/// `openclaw[-<profile>]-YYYY-MM-DD[.N].log`.
pub fn is_log_name(name: &str, profile: Option<&str>) -> bool {
    let Some(stem) = name.strip_suffix(".log") else {
        return false;
    };
    let Some(rest) = stem.strip_prefix("openclaw-") else {
        return false;
    };
    let rest = match profile {
        Some(p) => match rest.strip_prefix(p).and_then(|r| r.strip_prefix('-')) {
            Some(r) => r,
            None => return false,
        },
        None => rest,
    };
    // Bytes, not str slices: a name in world-writable /tmp/openclaw may hold any character.
    let (Some(date), Some(tail)) = (rest.as_bytes().get(..10), rest.as_bytes().get(10..)) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    tail.is_empty()
        || tail
            .strip_prefix(b".")
            .is_some_and(|n| !n.is_empty() && n.iter().all(|b| b.is_ascii_digit()))
}

fn is_date(b: &[u8]) -> bool {
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Rotated parts of a configured `logging.file`: `x.log` -> `x.1.log`, `x.2.log`, ...
pub fn is_rotated_part(name: &str, base: &str) -> bool {
    if name == base {
        return true;
    }
    let (stem, ext) = match base.rsplit_once('.') {
        Some((s, e)) => (s, format!(".{e}")),
        None => (base, String::new()),
    };
    name.strip_prefix(stem)
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_suffix(ext.as_str()))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The default log directories: `/tmp/openclaw`, `/tmp/openclaw-<uid>`.
pub fn default_dirs() -> Vec<PathBuf> {
    let mut out = vec![PathBuf::from("/tmp/openclaw")];
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Our own uid without libc: the owner of a directory we just made is us; HOME is
        // usually ours too and cheaper.
        if let Some(uid) = std::env::var_os("HOME")
            .and_then(|h| std::fs::metadata(h).ok())
            .map(|m| m.uid())
        {
            out.push(PathBuf::from(format!("/tmp/openclaw-{uid}")));
        }
    }
    out
}

/// Every log file in `dirs` (plus `logging.file` and its parts), sorted, deduplicated.
pub fn find_files(
    dirs: &[PathBuf],
    logging_file: Option<&Path>,
    profile: Option<&str>,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut scan = |dir: &Path, pred: &dyn Fn(&str) -> bool| {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for ent in rd.flatten() {
            let name = ent.file_name();
            let Some(name) = name.to_str() else { continue };
            if pred(name) && ent.file_type().map(|t| t.is_file()).unwrap_or(false) {
                out.push(ent.path());
            }
        }
    };
    for d in dirs {
        scan(d, &|n| is_log_name(n, profile));
    }
    if let Some(f) = logging_file {
        if let (Some(dir), Some(base)) = (f.parent(), f.file_name().and_then(|n| n.to_str())) {
            let base = base.to_string();
            scan(dir, &|n| {
                is_rotated_part(n, &base) || is_log_name(n, profile)
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tslog_line_with_meta_object() {
        let l = r#"{"0":"{\"subsystem\":\"agent/embedded\"}","1":{"event":"embedded_run_agent_end","isError":true,"failoverReason":"rate_limit","provider":"anthropic","model":"claude-sonnet-4-5"},"2":"embedded run agent end","_meta":{"logLevelName":"WARN","date":"2026-05-04T15:48:04.402Z","name":"{\"subsystem\":\"agent/embedded\"}"},"time":"2026-05-04T17:48:04.402+02:00"}"#;
        let p = parse_line(l.as_bytes()).unwrap();
        assert_eq!(p.subsystem.as_deref(), Some("agent/embedded"));
        assert_eq!(p.level.as_deref(), Some("WARN"));
        assert_eq!(p.message, "embedded run agent end");
        assert_eq!(p.meta.len(), 1);
        assert_eq!(p.meta[0]["failoverReason"], "rate_limit");
        assert_eq!(
            p.time.unwrap().to_rfc3339(),
            "2026-05-04T15:48:04.402+00:00"
        );
    }

    #[test]
    fn flat_and_console_lines() {
        let l = r#"{"time":"2026-05-04T17:48:04.402+02:00","level":"info","subsystem":"provider-transport-fetch","message":"[model-fetch] response provider=anthropic api=anthropic-messages model=claude-sonnet-4-5 status=429 elapsedMs=312","hostname":"h"}"#;
        let p = parse_line(l.as_bytes()).unwrap();
        assert_eq!(p.subsystem.as_deref(), Some("provider-transport-fetch"));
        assert!(p.message.starts_with("[model-fetch] response"));
        assert_eq!(p.meta[0]["hostname"], "h");
        let c = parse_console(
            "2026-05-04T17:48:04.402+02:00 [agent/embedded] embedded run failover decision: reason=rate_limit",
        );
        assert_eq!(c.subsystem.as_deref(), Some("agent/embedded"));
        assert_eq!(
            c.message,
            "embedded run failover decision: reason=rate_limit"
        );
        assert!(c.time.is_some());
        let c = parse_console("\u{1b}[33m[model-fetch] response status=429\u{1b}[0m");
        assert_eq!(c.subsystem.as_deref(), Some("model-fetch"));
    }

    #[test]
    fn file_names() {
        assert!(is_log_name("openclaw-2026-05-04.log", None));
        assert!(is_log_name("openclaw-2026-05-04.1.log", None));
        assert!(!is_log_name("openclaw-work-2026-05-04.log", None));
        assert!(is_log_name("openclaw-work-2026-05-04.2.log", Some("work")));
        assert!(!is_log_name("openclaw-2026-05-04.log", Some("work")));
        assert!(!is_log_name("openclaw-2026-05-04.log.bak", None));
        assert!(!is_log_name("openclaw-2026-5-04.log", None));
        // A multi-byte character across the date's end once panicked (byte slicing of a str).
        assert!(!is_log_name("openclaw-2026-05-0\u{e9}.log", None));
        assert!(!is_log_name("openclaw-2026-05-04\u{e9}.log", None));
        assert!(!is_log_name(
            "openclaw-\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}.log",
            None
        ));
        assert!(is_rotated_part("gw.log", "gw.log"));
        assert!(is_rotated_part("gw.3.log", "gw.log"));
        assert!(!is_rotated_part("gw.x.log", "gw.log"));
    }
}
