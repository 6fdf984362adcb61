//! Read cursors: where every incremental reader stopped, in one table (`read_cursors`) keyed by
//! reader and source, behind one typed API. Every job that reads OpenClaw's files or databases
//! a little at a time (cost-track, rate-limit-detect) loads its cursors once per run with
//! [`Cursors::load`] and saves the new ones with [`save`] inside its own write transaction, so
//! a cursor never moves past data whose effect was not committed with it.
//!
//! A source key says what kind of position it holds:
//! - `file:<dev>:<ino>`: a file read by [`crate::incremental`] (follows the inode across renames);
//! - `sqlite:<db label>:<session id>`: the highest `seq` read of one session of an agent database;
//! - `sqlitedb:<db label>`: the database's stamp when last read (unchanged: not even opened);
//! - `sealed:<dir label>`: the directory's archives known complete (see
//!   [`crate::incremental::Sealed`]), in `data`, with the time of their last full check;
//! - anything else with a journal cursor: a systemd journal position (`journalctl --cursor`).

use crate::incremental::{Cursor, FileMap, FileSet, Sealed};
use anyhow::Result;
use rusqlite::{params, Connection};
use std::collections::HashMap;

/// The readers that keep cursors; each sees only its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    CostTrack,
    RateLimit,
}

impl Reader {
    /// The name stored in the `reader` column.
    pub fn name(self) -> &'static str {
        match self {
            Reader::CostTrack => "cost-track",
            Reader::RateLimit => "rate-limit-detect",
        }
    }
}

/// One position to store under a source key.
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    File(Cursor),
    /// The highest `seq` read of an agent-database session.
    Seq(i64),
    /// An agent database's stamp (see `openclaw::agentdb::stamp`).
    Stamp(String),
    /// A journal cursor.
    Journal(String),
    /// A directory's sealed archives.
    Sealed(Sealed),
}

/// The key of an agent-database session's cursor.
pub fn seq_key(db_label: &str, session_id: &str) -> String {
    format!("sqlite:{db_label}:{session_id}")
}

/// The key of an agent database's stamp.
pub fn stamp_key(db_label: &str) -> String {
    format!("sqlitedb:{db_label}")
}

/// The key of a directory's sealed archives.
pub fn sealed_key(dir_label: &str) -> String {
    format!("sealed:{dir_label}")
}

/// Every cursor of one reader, by kind.
#[derive(Debug, Default, Clone)]
pub struct Cursors {
    /// `file:<dev>:<ino>` (as `(dev, ino)`) -> where reading stopped.
    pub files: FileMap<Cursor>,
    /// `sqlite:<db>:<session>` and the last seq read, sorted by key: thousands on a home of
    /// the SQLite era, needed only for a database that changed (a sorted list is built without
    /// hashing, and one database's sessions are one range of it).
    pub seqs: Vec<(String, i64)>,
    /// `sqlitedb:<db>` -> stamp when last read.
    pub stamps: HashMap<String, String>,
    /// Source -> journal cursor.
    pub journal: HashMap<String, String>,
    /// Directory label (`sealed:` stripped) -> its sealed archives.
    pub sealed: HashMap<String, Sealed>,
}

impl Cursors {
    /// Loads every cursor `reader` saved (one query). A file cursor's key is parsed in place,
    /// not copied. (Reading the table in storage order instead of through the primary key is
    /// faster only when nearly every row is the reader's; with rate-limit-detect's cursors
    /// beside cost-track's sealed-down set it was three times slower.)
    pub fn load(conn: &Connection, reader: Reader) -> Result<Cursors> {
        let mut st = conn.prepare(
            "SELECT source, head_len, head_sha256, offset, size, mtime_ns, journal_cursor, data
             FROM read_cursors WHERE reader = ?1",
        )?;
        let mut rows = st.query(params![reader.name()])?;
        let mut out = Cursors::default();
        while let Some(r) = rows.next()? {
            let key = r.get_ref(0)?.as_str()?;
            let (head_len, offset): (i64, i64) = (r.get(1)?, r.get(3)?);
            if let Some(j) = r.get::<_, Option<String>>(6)? {
                out.journal.insert(key.to_string(), j);
            } else if key.starts_with("sqlite:") {
                out.seqs.push((key.to_string(), offset));
            } else if key.starts_with("sqlitedb:") {
                out.stamps.insert(key.to_string(), r.get(2)?);
            } else if let Some(dir) = key.strip_prefix("sealed:") {
                // A damaged row is left out: its directory's files are all `stat`ed.
                let data = r.get_ref(7)?.as_blob_or_null().ok().flatten();
                let data = data.unwrap_or_default();
                if let Some(sealed) = Sealed::decode(data, offset) {
                    out.sealed.insert(dir.to_string(), sealed);
                }
            } else if let Some(c) =
                Cursor::from_stored(key, head_len, r.get(2)?, offset, r.get(4)?, r.get(5)?)
            {
                out.files.insert(c.id(), c);
            }
        }
        // In key order already (the table is stored by it); sorting a sorted list is one pass.
        out.seqs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The session cursors of one agent database: session id -> last seq read.
    pub fn sessions_of(&self, db_label: &str) -> HashMap<String, i64> {
        let prefix = seq_key(db_label, "");
        let from = self
            .seqs
            .partition_point(|(k, _)| k.as_str() < prefix.as_str());
        self.seqs[from..]
            .iter()
            .map_while(|(k, v)| k.strip_prefix(&prefix).map(|sid| (sid.to_string(), *v)))
            .collect()
    }
}

/// Saves (inserts or replaces) `reader`'s cursors, inside the caller's transaction: `(source
/// key, path or label it names, position)`.
pub fn save<'a>(
    conn: &Connection,
    reader: Reader,
    now: &str,
    cursors: impl IntoIterator<Item = (&'a str, &'a str, &'a Position)>,
) -> Result<()> {
    let mut up = conn.prepare_cached(
        "INSERT INTO read_cursors (reader, source, path, head_len, head_sha256, offset, size,
           mtime_ns, journal_cursor, updated_at, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (reader, source) DO UPDATE SET path = excluded.path,
           head_len = excluded.head_len, head_sha256 = excluded.head_sha256,
           offset = excluded.offset, size = excluded.size, mtime_ns = excluded.mtime_ns,
           journal_cursor = excluded.journal_cursor, updated_at = excluded.updated_at,
           data = excluded.data",
    )?;
    for (key, path, pos) in cursors {
        let mut data = None;
        let (head_len, head, offset, size, mtime_ns, journal) = match pos {
            Position::File(c) => (
                c.head_len as i64,
                c.head_sha256.as_str(),
                c.offset as i64,
                c.size as i64,
                c.mtime_ns,
                None,
            ),
            Position::Seq(s) => (0, "", *s, 0, 0, None),
            Position::Stamp(s) => (0, s.as_str(), 0, 0, 0, None),
            Position::Journal(j) => (0, "", 0, 0, 0, Some(j.as_str())),
            Position::Sealed(s) => {
                data = Some(s.encode());
                (0, "", s.checked_at, 0, 0, None)
            }
        };
        up.execute(params![
            reader.name(),
            key,
            path,
            head_len,
            head,
            offset,
            size,
            mtime_ns,
            journal,
            now,
            data
        ])?;
    }
    Ok(())
}

/// Forgets the given cursors of `reader` (a journal cursor that went stale).
pub fn forget<'a>(
    conn: &Connection,
    reader: Reader,
    keys: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let mut del =
        conn.prepare_cached("DELETE FROM read_cursors WHERE reader = ?1 AND source = ?2")?;
    for k in keys {
        del.execute(params![reader.name(), k])?;
    }
    Ok(())
}

/// Forgets `reader`'s file cursors whose file is not in `seen`: the files are gone (pruned
/// archives, rotated logs), and their cursors would only pin reused inodes.
pub fn forget_files_except(conn: &Connection, reader: Reader, seen: &FileSet) -> Result<()> {
    let stale: Vec<String> = conn
        .prepare("SELECT source FROM read_cursors WHERE reader = ?1 AND source LIKE 'file:%'")?
        .query_map(params![reader.name()], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|k| Cursor::id_of_key(k).is_none_or(|id| !seen.contains(&id)))
        .collect();
    forget(conn, reader, stale.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;

    fn file_cursor(ino: u64, offset: u64) -> Cursor {
        Cursor {
            dev: 1,
            ino,
            head_len: 10,
            head_sha256: "ab".repeat(32),
            offset,
            size: offset + 3,
            mtime_ns: 1_700_000_000_000_000_000,
        }
    }

    #[test]
    fn every_kind_round_trips_and_readers_do_not_share() {
        let d = tempfile::tempdir().unwrap();
        let l = Ledger::open(&d.path().join("ledger.db")).unwrap();
        let f = Position::File(file_cursor(7, 100));
        let s = Position::Seq(42);
        let st = Position::Stamp("1:2:3:4".into());
        let j = Position::Journal("s=abc;i=1".into());
        let k = Cursor::key(1, 7);
        let (sk, dk) = (seq_key("agents/a/db", "sess-1"), stamp_key("agents/a/db"));
        l.immediate(|tx| {
            save(
                tx,
                Reader::RateLimit,
                "t",
                [
                    (k.as_str(), "a.jsonl", &f),
                    (sk.as_str(), "agents/a/db", &s),
                    (dk.as_str(), "agents/a/db", &st),
                    ("journal:gw", "gw.service", &j),
                ],
            )
        })
        .unwrap();
        let c = l.read(|c| Cursors::load(c, Reader::RateLimit)).unwrap();
        assert_eq!(c.files.get(&(1, 7)), Some(&file_cursor(7, 100)));
        assert_eq!(c.seqs, [(sk.clone(), 42)]);
        assert_eq!(c.stamps.get(&dk).map(String::as_str), Some("1:2:3:4"));
        assert_eq!(
            c.journal.get("journal:gw").map(String::as_str),
            Some("s=abc;i=1")
        );
        assert_eq!(
            c.sessions_of("agents/a/db"),
            HashMap::from([("sess-1".to_string(), 42)])
        );
        assert!(c.sessions_of("agents/a").is_empty());
        // Another reader sees none of them.
        let other = l.read(|c| Cursors::load(c, Reader::CostTrack)).unwrap();
        assert!(other.files.is_empty() && other.seqs.is_empty() && other.journal.is_empty());
        // An update replaces; stale files are forgotten, the rest stays.
        let f2 = Position::File(file_cursor(7, 200));
        let k8 = Cursor::key(1, 8);
        let f8 = Position::File(file_cursor(8, 5));
        l.immediate(|tx| {
            save(
                tx,
                Reader::RateLimit,
                "t2",
                [(k.as_str(), "a.jsonl", &f2), (k8.as_str(), "b.jsonl", &f8)],
            )?;
            forget_files_except(tx, Reader::RateLimit, &FileSet::from_iter([(1, 8)]))
        })
        .unwrap();
        let c = l.read(|c| Cursors::load(c, Reader::RateLimit)).unwrap();
        assert_eq!(c.files.len(), 1);
        assert_eq!(c.files.get(&(1, 8)), Some(&file_cursor(8, 5)));
        assert_eq!(c.seqs.len(), 1);
        assert_eq!(c.journal.len(), 1);
    }

    #[test]
    fn seals_round_trip_and_a_damaged_seal_row_is_left_out() {
        use crate::incremental::{DirStamp, SealedFile};
        let d = tempfile::tempdir().unwrap();
        let l = Ledger::open(&d.path().join("ledger.db")).unwrap();
        let sealed = Sealed {
            files: vec![SealedFile {
                name: 3,
                ino: 4,
                size: 5,
                mtime_ns: 6,
            }],
            checked_at: 1_800_000_000,
            dir: Some(DirStamp {
                ino: 7,
                mtime_ns: 8,
                listed_ns: 9_000_000_000,
            }),
            others: vec!["x.jsonl".into()],
        };
        let pos = Position::Sealed(sealed.clone());
        let key = sealed_key("agents/a/sessions");
        l.immediate(|tx| {
            save(
                tx,
                Reader::CostTrack,
                "t",
                [(key.as_str(), "agents/a/sessions", &pos)],
            )
        })
        .unwrap();
        let c = l.read(|c| Cursors::load(c, Reader::CostTrack)).unwrap();
        assert_eq!(c.sealed.get("agents/a/sessions"), Some(&sealed));
        // Damaged by hand: text where the bytes were, or bytes cut short. The row is left out
        // (its directory is then listed and `stat`ed in full); the load does not fail.
        for bad in [
            "UPDATE read_cursors SET data = 'text'",
            "UPDATE read_cursors SET data = x'0102'",
        ] {
            l.immediate(|tx| Ok(tx.execute_batch(bad)?)).unwrap();
            let c = l.read(|c| Cursors::load(c, Reader::CostTrack)).unwrap();
            assert!(c.sealed.is_empty(), "{bad}");
        }
    }
}
