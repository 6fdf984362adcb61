//! Extra meters: usage logs other than transcripts (the operators' voice stack: call minutes,
//! TTS characters), priced per unit and counted into the same daily totals, read with the same
//! incremental reader and counted exactly once like transcript lines.

use super::{Record, Tracker};
use crate::incremental::{self, Cursor, FileMap, FileSet};
use crate::money::Usd;
use crate::openclaw::transcript;
use crate::pricing::Tokens;
use crate::settings::Meter;
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The files a meter reads: its path, or every file matching a `*` in its file name.
pub fn files(m: &Meter) -> Result<Vec<PathBuf>> {
    let p = Path::new(&m.path);
    let Some(name) = p.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(Vec::new());
    };
    if !name.contains('*') {
        return Ok(if p.is_file() {
            vec![p.to_path_buf()]
        } else {
            Vec::new()
        });
    }
    let dir = p.parent().unwrap_or_else(|| Path::new("."));
    let rd = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot list", dir.display())),
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| glob_match(&name, &e.file_name().to_string_lossy()) && e.path().is_file())
        .map(|e| e.path())
        .collect();
    out.sort();
    Ok(out)
}

/// `*` matches any run of characters; everything else matches itself.
fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn field<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(v, |cur, k| cur.get(k))
}

/// Scan every meter's files; per-file problems are reported and the scan goes on.
pub(super) fn scan(
    tr: &mut Tracker,
    meters: &[Meter],
    cursors: &FileMap<Cursor>,
    seen: &mut FileSet,
) -> Result<()> {
    for m in meters {
        if m.name.is_empty() || m.path.is_empty() {
            return Err(crate::exit::fail(
                crate::exit::Code::Config,
                "[[cost.meters]]: every meter needs a name and a path",
            ));
        }
        for path in files(m)? {
            if let Err(e) = scan_file(tr, m, &path, cursors, seen) {
                if e.downcast_ref::<super::LedgerErr>().is_some() {
                    return Err(e);
                }
                tr.problem(format!("{e:#}"));
            }
            tr.sink.step()?;
        }
    }
    Ok(())
}

fn scan_file(
    tr: &mut Tracker,
    m: &Meter,
    path: &Path,
    cursors: &FileMap<Cursor>,
    seen: &mut FileSet,
) -> Result<()> {
    let (dev, ino, _, _) = incremental::stat(path)?;
    let label = path.display().to_string();
    let session_id = format!("meter:{}", m.name);
    let price_source = format!("meter:{}/{}", m.unit_price_usd, m.unit);
    let src = super::Src {
        path,
        stat: None,
        zst: false,
        dir: None,
    };
    let handle = |tr: &mut super::Tracker, line: &[u8], range: std::ops::Range<u64>| {
        let (ts, day, qty, id) = match parse(m, line, &tr.zone) {
            Ok(p) => p,
            Err(why) => {
                tr.problem(format!("{label}: byte {}: {why}", range.start));
                return Ok(());
            }
        };
        let id = id.unwrap_or_else(|| format!("f{dev}:{ino}:{}", range.start));
        // Exact: the quantity and the unit price as written, multiplied.
        let cost = Usd::from_f64(qty)
            .zip(Usd::from_f64(m.unit_price_usd))
            .and_then(|(q, p)| q.checked_mul(p))
            .filter(|c| *c <= transcript::MAX_LINE);
        let Some(cost) = cost else {
            tr.stats.absurd += 1;
            tr.problem(format!(
                "{label}: byte {}: absurd cost {qty} x ${} for one line (ceiling ${}); not counted",
                range.start,
                m.unit_price_usd,
                transcript::MAX_LINE_USD
            ));
            return Ok(());
        };
        tr.record(&Record {
            agent: &m.agent,
            session_id: &session_id,
            entry_id: &id,
            day: &day,
            ts,
            ts_text: None,
            provider: "meter",
            model: &m.name,
            tokens: &Tokens::default(),
            logged: Some(cost),
            computed: Some(cost),
            price_source: &price_source,
            source: &label,
        })
    };
    super::scan_tracked(tr, cursors, seen, src, &label, handle, |_| true)
}

type Parsed = (DateTime<Utc>, String, f64, Option<String>);

fn parse(m: &Meter, line: &[u8], zone: &crate::zone::Zone) -> std::result::Result<Parsed, String> {
    let t = line.trim_ascii();
    let v: Value = serde_json::from_slice(t).map_err(|e| format!("corrupt JSON: {e}"))?;
    let date = field(&v, &m.date_field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {} field", m.date_field))?;
    let (ts, day) = if let Ok(t) = DateTime::parse_from_rfc3339(date) {
        let t = t.with_timezone(&Utc);
        (t, zone.day_of(t))
    } else if let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        (zone.start_of(d), d)
    } else {
        return Err(format!("{}: not a time or a day: {date:?}", m.date_field));
    };
    let qty = field(&v, &m.quantity_field)
        .and_then(Value::as_f64)
        .filter(|q| q.is_finite() && *q >= 0.0)
        .ok_or_else(|| format!("{}: not a non-negative number", m.quantity_field))?;
    let id = (!m.id_field.is_empty())
        .then(|| field(&v, &m.id_field))
        .flatten()
        .map(|x| {
            x.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| x.to_string())
        });
    Ok((ts, day.format("%Y-%m-%d").to_string(), qty, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_take_rotated_parts() {
        assert!(glob_match("usage*.jsonl", "usage.jsonl"));
        assert!(glob_match("usage*.jsonl", "usage.1.jsonl"));
        assert!(!glob_match("usage*.jsonl", "usage.jsonl.gz"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "aXc"));
    }

    #[test]
    fn parses_days_times_nested_fields_and_ids() {
        let m = Meter {
            name: "voice".into(),
            date_field: "at".into(),
            quantity_field: "usage.minutes".into(),
            ..Meter::default()
        };
        let z = crate::zone::Zone::utc();
        let (_, day, q, id) = parse(
            &m,
            br#"{"at":"2026-03-10T23:30:00Z","usage":{"minutes":2.5},"id":7}"#,
            &z,
        )
        .unwrap();
        assert_eq!(
            (day.as_str(), q, id.as_deref()),
            ("2026-03-10", 2.5, Some("7"))
        );
        let (_, day, _, id) =
            parse(&m, br#"{"at":"2026-03-11","usage":{"minutes":1}}"#, &z).unwrap();
        assert_eq!((day.as_str(), id), ("2026-03-11", None));
        assert!(parse(&m, br#"{"at":"yesterday","usage":{"minutes":1}}"#, &z).is_err());
        assert!(parse(&m, br#"{"at":"2026-03-11","usage":{"minutes":-1}}"#, &z).is_err());
    }
}
