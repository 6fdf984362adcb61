//! One session at a time from an agent database the caller opened: its window in
//! `session_windows` (the SQLite era's session store), its newest events (`stuck-agent scan`)
//! and all of them in order (`sessions restore` from a database snapshot). Columns a version
//! does not have read as NULL, so older and newer layouts both read.

use crate::openclaw::subagents::StoreEntry;
use anyhow::{Context, Result};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};
use std::collections::{HashMap, HashSet};

/// The columns of `table`; empty when there is no such table.
fn columns(c: &Connection, table: &str) -> Result<HashSet<String>> {
    let mut st = c.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let cols = st
        .query_map(params![table], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(cols)
}

/// `name` when the table has that column, else `NULL`.
fn col(cols: &HashSet<String>, name: &str) -> String {
    if cols.contains(name) {
        name.to_string()
    } else {
        "NULL".into()
    }
}

/// `session_windows` as a session store: the newest window per session key (resets keep the
/// older ones), in the shape `sessions.json` entries are read in (`display_name` as the
/// label; `updated_at` the later of the window's and its transcript's). No table: no sessions.
pub fn windows(c: &Connection, name: &str) -> Result<HashMap<String, StoreEntry>> {
    let cols = columns(c, "session_windows")
        .with_context(|| format!("{name}: not a readable SQLite database"))?;
    if cols.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT session_id, session_key, {}, {}, {}, {}, {}, {} FROM session_windows",
        col(&cols, "status"),
        col(&cols, "started_at"),
        col(&cols, "ended_at"),
        col(&cols, "updated_at"),
        col(&cols, "transcript_updated_at"),
        col(&cols, "display_name"),
    );
    let cant = || format!("{name}: cannot read session_windows");
    let mut st = c.prepare(&sql).with_context(cant)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })
        .with_context(cant)?;
    let mut out: HashMap<String, StoreEntry> = HashMap::new();
    for row in rows {
        let (sid, key, status, started, ended, updated, t_updated, display) =
            row.with_context(cant)?;
        let updated_at = [updated, t_updated].into_iter().flatten().max();
        let newer = out
            .get(&key)
            .is_none_or(|o| o.updated_at.unwrap_or(0) <= updated_at.unwrap_or(0));
        if newer {
            let e = StoreEntry {
                session_id: Some(sid),
                updated_at,
                label: display,
                status,
                started_at: started,
                ended_at: ended,
                ..Default::default()
            };
            out.insert(key, e);
        }
    }
    Ok(out)
}

/// The session id of the newest window (by start) with this session key, if any.
pub fn session_of_key(c: &Connection, key: &str) -> Option<String> {
    if !columns(c, "session_windows").ok()?.contains("session_key") {
        return None;
    }
    c.query_row(
        "SELECT session_id FROM session_windows WHERE session_key = ?1 ORDER BY started_at DESC LIMIT 1",
        [key],
        |r| r.get::<_, String>(0),
    )
    .ok()
}

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    /// `created_at` (epoch ms), where the version has it.
    pub created_at: Option<i64>,
    /// The event's JSONL line (`event_json`, or `event_zstd` decoded); `None` when the row has
    /// neither; `Err` when `event_zstd` does not decompress.
    pub line: Option<std::result::Result<Vec<u8>, String>>,
}

/// How many events a session has (0 where the database holds no transcripts).
pub fn count_events(c: &Connection, sid: &str) -> Result<i64> {
    if !columns(c, "transcript_events")?.contains("session_id") {
        return Ok(0);
    }
    Ok(c.query_row(
        "SELECT count(*) FROM transcript_events WHERE session_id = ?1",
        [sid],
        |r| r.get(0),
    )?)
}

/// Calls `each` with a session's events in `seq` order, newest first when `newest_first`, at
/// most `limit`. An `Err` from `each` stops the read and is returned.
fn events(
    c: &Connection,
    sid: &str,
    newest_first: bool,
    limit: Option<usize>,
    mut each: impl FnMut(StoredEvent) -> Result<()>,
) -> Result<()> {
    let cols = columns(c, "transcript_events")?;
    if !cols.contains("session_id") {
        return Ok(());
    }
    let sql = format!(
        "SELECT seq, {}, {}, {} FROM transcript_events WHERE session_id = ?1 ORDER BY seq {} LIMIT ?2",
        col(&cols, "event_json"),
        col(&cols, "event_zstd"),
        col(&cols, "created_at"),
        if newest_first { "DESC" } else { "ASC" },
    );
    let mut st = c.prepare_cached(&sql)?;
    let limit = limit.map_or(-1, |n| n.min(i64::MAX as usize) as i64);
    let mut rows = st.query(params![sid, limit])?;
    let mut inflate = super::Inflater::new()?;
    while let Some(r) = rows.next()? {
        let line = match (r.get_ref(1)?, r.get_ref(2)?) {
            (ValueRef::Text(t) | ValueRef::Blob(t), _) => Some(Ok(t.to_vec())),
            (_, ValueRef::Blob(z)) => Some(
                inflate
                    .event(z)
                    .map(<[u8]>::to_vec)
                    .map_err(|e| format!("event_zstd does not decompress: {e}")),
            ),
            _ => None,
        };
        each(StoredEvent {
            seq: r.get(0)?,
            created_at: r.get(3).ok().flatten(),
            line,
        })?;
    }
    Ok(())
}

/// The newest `n` events of a session, oldest first.
pub fn tail_events(c: &Connection, sid: &str, n: usize) -> Result<Vec<StoredEvent>> {
    let mut out = Vec::new();
    events(c, sid, true, Some(n), |e| {
        out.push(e);
        Ok(())
    })?;
    out.reverse();
    Ok(out)
}

/// Every event of a session, oldest first, to `each`.
pub fn session_events(
    c: &Connection,
    sid: &str,
    each: impl FnMut(StoredEvent) -> Result<()>,
) -> Result<()> {
    events(c, sid, false, None, each)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2026.9.6 layout (columns trimmed to those read), and one without the newer columns.
    #[test]
    fn windows_and_events_of_both_layouts() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE session_windows (session_id TEXT, session_key TEXT, status TEXT,
               started_at INTEGER, ended_at INTEGER, updated_at INTEGER,
               transcript_updated_at INTEGER, display_name TEXT);
             INSERT INTO session_windows VALUES ('old', 'agent:main:subagent:a', 'done', 1, 2, 2, NULL, NULL);
             INSERT INTO session_windows VALUES ('new', 'agent:main:subagent:a', 'running', 3, NULL, 4, 9, 'L');
             CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL,
               event_json TEXT, event_zstd BLOB, created_at INTEGER);",
        )
        .unwrap();
        let z = zstd::stream::encode_all(&b"{\"z\":1}"[..], 3).unwrap();
        for (seq, json, zstd) in [
            (1, Some("{\"a\":1}"), None),
            (2, None, Some(z)),
            (3, None, None),
            (4, None, Some(b"not zstd".to_vec())),
        ] {
            c.execute(
                "INSERT INTO transcript_events VALUES ('new', ?1, ?2, ?3, 100)",
                params![seq, json, zstd],
            )
            .unwrap();
        }
        let w = windows(&c, "db").unwrap();
        let e = &w["agent:main:subagent:a"];
        assert_eq!(e.session_id.as_deref(), Some("new"));
        assert_eq!((e.updated_at, e.label.as_deref()), (Some(9), Some("L")));
        assert_eq!(
            session_of_key(&c, "agent:main:subagent:a").as_deref(),
            Some("new")
        );
        assert_eq!(count_events(&c, "new").unwrap(), 4);
        let tail = tail_events(&c, "new", 3).unwrap();
        assert_eq!(tail.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(tail[0].line, Some(Ok(b"{\"z\":1}".to_vec())));
        assert_eq!(tail[0].created_at, Some(100));
        assert_eq!(tail[1].line, None);
        assert!(matches!(&tail[2].line, Some(Err(e)) if e.contains("event_zstd")));
        let mut all = Vec::new();
        session_events(&c, "new", |e| {
            all.push(e.seq);
            Ok(())
        })
        .unwrap();
        assert_eq!(all, [1, 2, 3, 4]);

        // An older layout: no created_at, no event_zstd, no display_name; no such session.
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE session_windows (session_id TEXT, session_key TEXT);
             INSERT INTO session_windows VALUES ('s', 'k');
             CREATE TABLE transcript_events (session_id TEXT, seq INTEGER, event_json TEXT);
             INSERT INTO transcript_events VALUES ('s', 1, '{}');",
        )
        .unwrap();
        assert_eq!(windows(&c, "db").unwrap()["k"].status, None);
        let tail = tail_events(&c, "s", 5).unwrap();
        assert_eq!((tail.len(), tail[0].created_at), (1, None));
        assert!(tail_events(&c, "other", 5).unwrap().is_empty());
        // No tables at all: nothing, not an error.
        let c = Connection::open_in_memory().unwrap();
        assert!(windows(&c, "db").unwrap().is_empty());
        assert_eq!(count_events(&c, "s").unwrap(), 0);
        assert_eq!(session_of_key(&c, "k"), None);
    }
}
