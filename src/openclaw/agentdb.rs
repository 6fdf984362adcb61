//! The SQLite era's per-agent database (`agents/<id>/agent/openclaw-agent.sqlite`): its
//! `transcript_events` read incrementally, one cursor (the highest `seq` read) per session.
//!
//! Opened read-only with a short busy timeout (the gateway owns it; claw never waits on it long
//! and never writes), inside one read transaction so every query sees one WAL snapshot. Events
//! of about 1 KiB or more are stored zstd-compressed in `event_zstd` with `event_json` NULL
//! (2026.9.6); both columns are read. Every job that reads transcripts in this era uses this
//! one reader with its own cursors.

use crate::exit::{fail, Code};
use anyhow::{Context, Result};
use rusqlite::{params, Connection, OpenFlags};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

mod sessions;
pub use sessions::{
    count_events, session_events, session_of_key, tail_events, windows, StoredEvent,
};

/// A cheap fingerprint of the database and its WAL (size and mtime of each). Take it before
/// reading: when the next run finds the same stamp, no row can have been added since, and the
/// database need not be opened at all.
pub fn stamp(db: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(db).ok()?;
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let (ws, wm) = std::fs::metadata(std::path::PathBuf::from(wal))
        .map(|w| (w.size(), w.mtime() * 1_000_000_000 + w.mtime_nsec()))
        .unwrap_or((0, 0));
    Some(format!(
        "{}:{}:{ws}:{wm}",
        m.size(),
        m.mtime() * 1_000_000_000 + m.mtime_nsec()
    ))
}

/// Opens one of OpenClaw's databases read-only, the way every claw reader does. A database in
/// WAL mode needs its `-shm` beside it; where that is missing and cannot be created (a unit
/// whose sandbox keeps the OpenClaw dir read-only, a copied home) and there is no `-wal` either,
/// the file alone holds every committed row, so it is opened immutable (no locks, no `-shm`),
/// which reads exactly the same rows. With a `-wal` present the error stands: reading without it
/// would miss committed rows.
pub fn open_ro(db: &Path, busy: Duration) -> Result<Connection> {
    let name = db.display();
    crate::safefs::check_regular(db).with_context(|| format!("{name}: cannot open"))?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(db, flags)
        .with_context(|| format!("{name}: cannot open read-only"))?;
    conn.busy_timeout(busy)?;
    // Opening is lazy: the first read is where a missing `-shm` shows.
    let probe = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    });
    let cant_open = matches!(
        &probe,
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen)
    );
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    if !cant_open || Path::new(&wal).exists() {
        return Ok(conn);
    }
    drop(conn);
    let uri = format!("file:{}?immutable=1", uri_path(db));
    let conn = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
        .with_context(|| format!("{name}: cannot open read-only (immutable)"))?;
    conn.busy_timeout(busy)?;
    Ok(conn)
}

/// A path for a `file:` URI: every byte but unreserved ones and `/` percent-encoded.
fn uri_path(p: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in p.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One event as stored: its JSONL line, or why it could not be read.
pub enum Event<'a> {
    Line(&'a [u8]),
    Unreadable(String),
    /// A compressed event whose stored navigation says it is no assistant message, left
    /// compressed (see [`Want::Assistant`]).
    Other,
}

/// Which events a reader needs as lines.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Every event.
    All,
    /// Assistant messages (usage sits only there; see `transcript::parse_call`). A compressed
    /// event whose `navigation_json` says it is something else (a tool result, a user message)
    /// is passed as [`Event::Other`] without being decompressed (long tool outputs are most of
    /// the compressed bytes of the generated bench store).
    Assistant,
}

/// OpenClaw's navigation of a compressed event (2026.9.6: `navigation_json`, version 1, written
/// with every `event_zstd` row from the event itself). Only what tells an event's role is read:
/// `navigation` keeps the event's top-level `message` as an object of its `role` (and a few
/// other keys), or leaves it out when the event has none.
#[derive(serde::Deserialize)]
struct Nav<'a> {
    version: u32,
    #[serde(borrow)]
    navigation: &'a serde_json::value::RawValue,
}

#[derive(serde::Deserialize)]
struct NavEntry<'a> {
    #[serde(default, borrow)]
    message: Option<&'a serde_json::value::RawValue>,
}

#[derive(serde::Deserialize)]
struct NavMessage<'a> {
    #[serde(default, borrow)]
    role: Option<std::borrow::Cow<'a, str>>,
}

/// `raw` as `T` when it is a JSON object (serde would also take an array, field by field).
fn object<'a, T: serde::Deserialize<'a>>(raw: &'a serde_json::value::RawValue) -> Option<T> {
    if !raw.get().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// True when `nav` says for certain that its event is no assistant message: version 1, and no
/// `message`, or one whose `role` is absent, null or another string. Anything else (not JSON,
/// another version, a duplicate key, a role that is no string) is not certain: the event is
/// decompressed and parsed like any other.
fn not_assistant(nav: &[u8]) -> bool {
    let Ok(n) = serde_json::from_slice::<Nav>(nav) else {
        return false;
    };
    if n.version != 1 {
        return false;
    }
    let Some(entry) = object::<NavEntry>(n.navigation) else {
        return false;
    };
    match entry.message {
        None => true,
        Some(m) if m.get() == "null" => true,
        Some(m) => object::<NavMessage>(m).is_some_and(|m| m.role.is_none_or(|r| r != "assistant")),
    }
}

/// Read every session's events after its cursor (`cursors`: session id -> last seq read),
/// calling `on_event(session_id, seq, event)`: each session in seq order, or, when there is no
/// cursor at all (a first read), every row in table order (see [`scan_all`]). Returns the new cursor of every
/// session that had new events. An `Err` from the callback stops the scan and is returned.
/// A session whose rows were rewritten below its cursor is read again from the start.
pub fn scan_events(
    db: &Path,
    cursors: &HashMap<String, i64>,
    want: Want,
    mut on_event: impl FnMut(&str, i64, Event) -> Result<()>,
) -> Result<Vec<(String, i64)>> {
    let name = db.display().to_string();
    let conn = open_ro(db, Duration::from_millis(250))?;
    // Each event is read once, in the table's or a session's order: a page cache of 256 KiB
    // instead of SQLite's 2 MB holds the B-tree paths being walked (the rest would only keep
    // pages already read).
    conn.execute_batch("PRAGMA cache_size = -256")
        .with_context(|| format!("{name}: cannot set up a read"))?;
    let busy = |e: rusqlite::Error| -> anyhow::Error {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                fail(Code::TempFail, format!("{name}: busy"))
            }
            _ => anyhow::Error::new(e).context(format!("{name}: cannot read transcript_events")),
        }
    };
    let cols: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('transcript_events')")
        .and_then(|mut st| st.query_map([], |r| r.get::<_, String>(0))?.collect())
        .map_err(busy)?;
    if cols.is_empty() {
        return Ok(Vec::new());
    }
    let has_json = cols.iter().any(|c| c == "event_json");
    let has_zstd = cols.iter().any(|c| c == "event_zstd");
    if !has_json && !has_zstd {
        anyhow::bail!("{name}: transcript_events has neither event_json nor event_zstd");
    }
    let has_nav = cols.iter().any(|c| c == "navigation_json");
    // One read transaction: every session is read from the same snapshot while OpenClaw writes.
    let tx = conn.unchecked_transaction().map_err(busy)?;
    let cols = format!(
        "{}, {}, {}",
        if has_json { "event_json" } else { "NULL" },
        if has_zstd { "event_zstd" } else { "NULL" },
        if has_nav && want == Want::Assistant {
            "navigation_json"
        } else {
            "NULL"
        }
    );
    let mut inflate = Inflater::new()?;
    let mut out: Vec<(String, i64)> = Vec::new();
    if cursors.is_empty() {
        let out = scan_all(&tx, &cols, &mut inflate, &mut on_event, busy, &name)?;
        let _ = tx.rollback();
        return Ok(out);
    }
    let sessions: Vec<(String, i64)> = tx
        .prepare("SELECT session_id, max(seq) FROM transcript_events GROUP BY session_id")
        .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(busy)?;
    let select = format!(
        "SELECT seq, {cols} FROM transcript_events WHERE session_id = ?1 AND seq > ?2 ORDER BY seq"
    );
    let mut st = tx.prepare(&select).map_err(busy)?;
    for (sid, max_seq) in sessions {
        let mut after = cursors.get(&sid).copied().unwrap_or(-1);
        if max_seq == after {
            continue;
        }
        if max_seq < after {
            after = -1;
        }
        let mut rows = st.query(params![sid, after]).map_err(busy)?;
        let mut last = after;
        while let Some(r) = rows.next().map_err(busy)? {
            let seq: i64 = r.get(0)?;
            deliver(r, 1, &sid, seq, &mut inflate, &mut on_event)?;
            last = seq;
        }
        out.push((sid, last));
    }
    drop(st);
    // Nothing was written: ending the read transaction cannot lose anything.
    let _ = tx.rollback();
    Ok(out)
}

/// [`scan_events`] of a database read for the first time: every row in table order, one pass
/// without a seek from the primary key index to each row. A session's cursor is the highest seq
/// seen.
fn scan_all(
    tx: &rusqlite::Transaction,
    cols: &str,
    inflate: &mut Inflater,
    on_event: &mut impl FnMut(&str, i64, Event) -> Result<()>,
    busy: impl Fn(rusqlite::Error) -> anyhow::Error,
    name: &str,
) -> Result<Vec<(String, i64)>> {
    let mut out: Vec<(String, i64)> = Vec::new();
    let mut st = tx
        .prepare(&format!(
            "SELECT session_id, seq, {cols} FROM transcript_events"
        ))
        .map_err(&busy)?;
    let mut rows = st.query([]).map_err(&busy)?;
    let mut at: HashMap<String, usize> = HashMap::new();
    while let Some(r) = rows.next().map_err(&busy)? {
        let sid = match r.get_ref(0)? {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t)
                .with_context(|| format!("{name}: a session id is not UTF-8"))?,
            _ => anyhow::bail!("{name}: a session id is not text"),
        };
        let seq: i64 = r.get(1)?;
        deliver(r, 2, sid, seq, inflate, on_event)?;
        match at.get(sid) {
            Some(&i) => out[i].1 = out[i].1.max(seq),
            None => {
                at.insert(sid.to_string(), out.len());
                out.push((sid.to_string(), seq));
            }
        }
    }
    Ok(out)
}

/// Hands one row's event to `on_event`: its text, inflated from `event_zstd`, or
/// [`Event::Other`] when its navigation (read only for [`Want::Assistant`]) says so. The row's
/// columns from `first` on are event_json, event_zstd and navigation_json (each may be NULL).
fn deliver(
    r: &rusqlite::Row,
    first: usize,
    sid: &str,
    seq: i64,
    inflate: &mut Inflater,
    on_event: &mut impl FnMut(&str, i64, Event) -> Result<()>,
) -> Result<()> {
    use rusqlite::types::ValueRef;
    if let ValueRef::Text(t) | ValueRef::Blob(t) = r.get_ref(first)? {
        return on_event(sid, seq, Event::Line(t));
    }
    if let ValueRef::Text(n) = r.get_ref(first + 2)? {
        if not_assistant(n) {
            return on_event(sid, seq, Event::Other);
        }
    }
    let ValueRef::Blob(z) = r.get_ref(first + 1)? else {
        return Ok(());
    };
    match inflate.event(z) {
        Ok(b) => on_event(sid, seq, Event::Line(b)),
        Err(e) => on_event(
            sid,
            seq,
            Event::Unreadable(format!("event_zstd does not decompress: {e}")),
        ),
    }
}

/// The most one event may decompress to: far above any transcript line, and a bound on what
/// a forged frame can make us allocate.
const MAX_EVENT: u64 = 64 << 20;

/// Decompresses `event_zstd` blobs with one zstd context and one output buffer for a whole
/// scan (a context per event cost more than the decompression itself).
struct Inflater {
    dctx: zstd::zstd_safe::DCtx<'static>,
    out: Vec<u8>,
}

impl Inflater {
    fn new() -> Result<Inflater> {
        let dctx = zstd::zstd_safe::DCtx::try_create()
            .ok_or_else(|| anyhow::anyhow!("cannot create a zstd context"))?;
        Ok(Inflater {
            dctx,
            out: Vec::new(),
        })
    }

    /// One blob's text (every frame in it, as `zstd::decode_all` reads them).
    fn event(&mut self, z: &[u8]) -> std::io::Result<&[u8]> {
        use std::io::Read;
        let io = |code| std::io::Error::other(zstd::zstd_safe::get_error_name(code));
        // A context left mid-frame by a bad blob must not spoil the next one.
        self.dctx
            .reset(zstd::zstd_safe::ResetDirective::SessionOnly)
            .map_err(io)?;
        self.out.clear();
        // The frames record their size (OpenClaw compresses each event in one call): one call
        // into a buffer of that size. Otherwise, or when it is implausible, a bounded stream.
        match zstd::bulk::Decompressor::upper_bound(z) {
            Some(n) if (n as u64) <= MAX_EVENT => {
                self.out.reserve(n);
                self.dctx.decompress(&mut self.out, z).map_err(io)?;
            }
            _ => {
                let d = zstd::stream::read::Decoder::with_context(z, &mut self.dctx);
                d.take(MAX_EVENT + 1).read_to_end(&mut self.out)?;
                if self.out.len() as u64 > MAX_EVENT {
                    return Err(std::io::Error::other(format!(
                        "decompresses to more than {} MiB",
                        MAX_EVENT >> 20
                    )));
                }
            }
        }
        Ok(&self.out)
    }
}

/// What [`scan_since`] read: the stamp to keep and the sessions whose cursor moved (session
/// id, last seq read). `None`: the database is unchanged since `prev.stamp`, not even opened.
pub type Progress = Option<(Option<String>, Vec<(String, i64)>)>;

/// [`scan_events`] after a reader's [`Position`], skipping a database whose stamp has not
/// changed: the one way every job reads an agent database incrementally.
/// `prev_stamp` is the stamp when the reader last read the database; `sessions` gives the
/// last seq it read of each session, asked for only when the database changed.
pub fn scan_since(
    db: &Path,
    prev_stamp: Option<&str>,
    sessions: impl FnOnce() -> HashMap<String, i64>,
    want: Want,
    on_event: impl FnMut(&str, i64, Event) -> Result<()>,
) -> Result<Progress> {
    // Taken before reading: rows added while we read change it, so they are read next time.
    let stamp = stamp(db);
    if stamp.is_some() && prev_stamp == stamp.as_deref() {
        return Ok(None);
    }
    let done = scan_events(db, &sessions(), want, on_event)?;
    Ok(Some((stamp, done)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_certain_navigation_spares_an_event_its_decompression() {
        let nav = |navigation: &str| {
            format!(r#"{{"version":1,"report":{{}},"navigation":{navigation},"model":{{}}}}"#)
        };
        for certain in [
            r#"{"type":"message","message":{"role":"toolResult"}}"#,
            r#"{"type":"message","message":{"role":"user"}}"#,
            r#"{"type":"message","message":{"role":null}}"#,
            r#"{"type":"message","message":{}}"#,
            r#"{"type":"message","message":null}"#,
            r#"{"type":"compaction","id":"a"}"#,
            r#"{"message":{"role":"to\u006fl"}}"#,
        ] {
            assert!(not_assistant(nav(certain).as_bytes()), "{certain}");
        }
        for unsure in [
            nav(r#"{"type":"message","message":{"role":"assistant"}}"#),
            nav(r#"{"message":{"role":"assist\u0061nt"}}"#),
            nav(r#"{"message":{"role":7}}"#),
            nav(r#"{"message":"assistant"}"#),
            nav(r#"{"message":{"role":"user","role":"assistant"}}"#),
            nav(r#"{"message":{"role":"user"},"message":{"role":"assistant"}}"#),
            nav("[]"),
            nav(r#"{"message":["user"]}"#),
            nav(r#"[{"role":"user"}]"#),
            r#"{"version":2,"navigation":{"message":{"role":"user"}}}"#.to_string(),
            r#"{"navigation":{"message":{"role":"user"}}}"#.to_string(),
            r#"{"version":1}"#.to_string(),
            "not json".to_string(),
            String::new(),
        ] {
            assert!(!not_assistant(unsure.as_bytes()), "{unsure}");
        }
    }

    #[test]
    fn one_context_inflates_every_kind_of_blob_and_survives_a_bad_one() {
        let line = br#"{"type":"message","message":{"role":"assistant","content":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}"#;
        let sized = zstd::bulk::compress(line, 3).unwrap();
        let streamed = zstd::stream::encode_all(&line[..], 3).unwrap();
        let two = [&sized[..], &streamed[..]].concat();
        let mut inf = Inflater::new().unwrap();
        assert_eq!(inf.event(&sized).unwrap(), line);
        assert_eq!(inf.event(&streamed).unwrap(), line);
        assert_eq!(inf.event(&two).unwrap(), [&line[..], &line[..]].concat());
        // Garbage, and a frame cut short, are errors; the next blob still inflates.
        assert!(inf.event(b"not zstd at all").is_err());
        assert!(inf.event(&sized[..sized.len() - 3]).is_err());
        assert!(inf.event(&streamed[..streamed.len() - 3]).is_err());
        assert_eq!(inf.event(&sized).unwrap(), line);
        // A frame that says it holds 1 TiB is not believed (nothing that size is reserved).
        let mut forged = zstd::bulk::compress(line, 3).unwrap();
        let huge = zstd::bulk::Compressor::new(3)
            .unwrap()
            .compress(&vec![0u8; 1 << 20])
            .unwrap();
        assert!(Inflater::new().unwrap().event(&huge).unwrap().len() == 1 << 20);
        forged.truncate(4);
        forged.extend_from_slice(&[0xE4, 0, 0, 0, 0, 0, 0x01, 0, 0]);
        assert!(inf.event(&forged).is_err());
        assert_eq!(inf.event(&streamed).unwrap(), line);
    }
}
