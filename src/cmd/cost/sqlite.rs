//! The SQLite era: `agents/<id>/agent/openclaw-agent.sqlite`, `transcript_events`.
//!
//! Opened read-only with a short busy timeout (the gateway owns it; we never wait on it long
//! and never write), inside one read transaction so every query sees one WAL snapshot. The
//! cursor is per session: the highest `seq` counted. Events of about 1 KiB or more are stored
//! zstd-compressed in `event_zstd` with `event_json` NULL; both columns are read.

use super::{Counted, LedgerErr, Tracker};
use anyhow::{Context, Result};
use rusqlite::{params, Connection, OpenFlags};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

pub(super) fn scan_db(
    tr: &mut Tracker,
    agent: &crate::openclaw::layout::Agent,
    db: &Path,
    base: &Path,
) -> Result<()> {
    let label = crate::paths::display_rel(db, base);
    let name = db.display().to_string();
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("{name}: cannot open read-only"))?;
    conn.busy_timeout(Duration::from_millis(250))?;
    let cols: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('transcript_events')")
        .and_then(|mut st| st.query_map([], |r| r.get::<_, String>(0))?.collect())
        .with_context(|| format!("{name}: not a readable SQLite database"))?;
    if cols.is_empty() {
        return Ok(());
    }
    let has_json = cols.iter().any(|c| c == "event_json");
    let has_zstd = cols.iter().any(|c| c == "event_zstd");
    if !has_json && !has_zstd {
        anyhow::bail!("{name}: transcript_events has neither event_json nor event_zstd");
    }
    conn.execute_batch("BEGIN")
        .with_context(|| format!("{name}: cannot start a read"))?;

    let prefix = format!("sqlite:{label}:");
    let mut cursors: HashMap<String, i64> = HashMap::new();
    {
        let mut st = tr
            .w
            .ledger
            .conn
            .prepare_cached(
                "SELECT source, offset FROM cost_cursors WHERE substr(source, 1, length(?1)) = ?1",
            )
            .context(LedgerErr)?;
        let rows = st
            .query_map(params![prefix], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .context(LedgerErr)?;
        for row in rows {
            let (k, v) = row.context(LedgerErr)?;
            cursors.insert(k[prefix.len()..].to_string(), v);
        }
    }

    let sessions: Vec<(String, i64)> = conn
        .prepare("SELECT session_id, max(seq) FROM transcript_events GROUP BY session_id")
        .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .with_context(|| format!("{name}: cannot read transcript_events"))?;

    let select = format!(
        "SELECT seq, {}, {} FROM transcript_events WHERE session_id = ?1 AND seq > ?2 ORDER BY seq",
        if has_json { "event_json" } else { "NULL" },
        if has_zstd { "event_zstd" } else { "NULL" }
    );
    let mut st = conn
        .prepare(&select)
        .with_context(|| format!("{name}: cannot read transcript_events"))?;
    for (sid, max_seq) in sessions {
        let mut after = cursors.get(&sid).copied().unwrap_or(-1);
        if max_seq == after {
            continue;
        }
        if max_seq < after {
            // The session was rewritten below our cursor: read it again (counting dedupes).
            after = -1;
        }
        let counted = Counted {
            agent: &agent.id,
            session_id: &sid,
            source: &label,
        };
        let mut rows = st
            .query(params![sid, after])
            .with_context(|| format!("{name}: cannot read session {sid}"))?;
        let mut last = after;
        while let Some(r) = rows
            .next()
            .with_context(|| format!("{name}: cannot read session {sid}"))?
        {
            let seq: i64 = r.get(0)?;
            let at = || format!("{label}: session {sid} seq {seq}");
            let text: Option<Vec<u8>> = match r.get_ref(1)? {
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                    Some(t.to_vec())
                }
                _ => None,
            };
            let bytes = match text {
                Some(t) => Some(t),
                None => match r.get_ref(2)? {
                    rusqlite::types::ValueRef::Blob(z) => match zstd::stream::decode_all(z) {
                        Ok(b) => Some(b),
                        Err(e) => {
                            tr.problem(format!("{}: event_zstd does not decompress: {e}", at()));
                            None
                        }
                    },
                    _ => None,
                },
            };
            if let Some(b) = bytes {
                tr.line(&b, &counted, &at).context(LedgerErr)?;
            }
            last = seq;
        }
        drop(rows);
        tr.w.save_seq_cursor(&format!("{prefix}{sid}"), &label, last)
            .context(LedgerErr)?;
    }
    drop(st);
    let _ = conn.execute_batch("COMMIT");
    Ok(())
}
