//! The SQLite era for cost-track: `transcript_events` through the shared reader
//! ([`crate::openclaw::agentdb`]), with cost-track's own per-session cursors.

use super::{Counted, LedgerErr, Tracker};
use crate::openclaw::agentdb::{self, Event};
use anyhow::{Context, Result};
use rusqlite::params;
use std::collections::HashMap;
use std::path::Path;

pub(super) fn scan_db(
    tr: &mut Tracker,
    agent: &crate::openclaw::layout::Agent,
    db: &Path,
    base: &Path,
) -> Result<()> {
    let label = crate::paths::display_rel(db, base);
    // An unchanged database (and WAL) since the last run holds no new rows: not even opened.
    let stamp_key = format!("sqlitedb:{label}");
    let stamp = agentdb::stamp(db);
    let stored: Option<String> =
        tr.w.ledger
            .conn
            .query_row(
                "SELECT head_sha256 FROM cost_cursors WHERE source = ?1",
                params![stamp_key],
                |r| r.get(0),
            )
            .ok();
    if stamp.is_some() && stored == stamp {
        tr.stats.files_unchanged += 1;
        return Ok(());
    }
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
    let done = agentdb::scan_events(db, &cursors, |sid, seq, ev| {
        let at = || format!("{label}: session {sid} seq {seq}");
        match ev {
            Event::Line(b) => {
                let counted = Counted {
                    agent: &agent.id,
                    session_id: sid,
                    source: &label,
                };
                tr.line(b, &counted, &at).context(LedgerErr)
            }
            Event::Unreadable(why) => {
                tr.problem(format!("{}: {why}", at()));
                Ok(())
            }
        }
    })?;
    for (sid, last) in done {
        tr.w.save_seq_cursor(&format!("{prefix}{sid}"), &label, last)
            .context(LedgerErr)?;
    }
    if let Some(st) = stamp {
        tr.w.save_stamp(&stamp_key, &label, &st)
            .context(LedgerErr)?;
    }
    Ok(())
}
