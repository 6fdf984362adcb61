//! compaction-backup's ledger tables: `cbackup_sources` (the stat cache: what each source file
//! looked like when last checked, and its newest snapshot) and `cbackup_snapshots` (every
//! snapshot taken, and when retention removed it).

use crate::sessionstore::Manifest;
use anyhow::Result;
use rusqlite::{params, Connection};
use std::collections::HashMap;

/// What a source file looked like: a changed fingerprint means it needs a look.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub dev: i64,
    pub ino: i64,
    pub size: i64,
    pub mtime_ns: i64,
    pub extra: String,
}

/// One source file's row in the stat cache.
#[derive(Debug, Clone)]
pub struct SourceRow {
    pub fp: Fingerprint,
    pub head: String,
    pub snapshot_id: Option<String>,
    pub compaction_count: Option<i64>,
}

/// The whole stat cache, by source path.
pub fn sources(c: &Connection) -> Result<HashMap<String, SourceRow>> {
    let mut st = c.prepare(
        "SELECT path, dev, ino, size, mtime_ns, extra, head_sha256, snapshot_id, compaction_count FROM cbackup_sources",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            SourceRow {
                fp: Fingerprint {
                    dev: r.get(1)?,
                    ino: r.get(2)?,
                    size: r.get(3)?,
                    mtime_ns: r.get(4)?,
                    extra: r.get(5)?,
                },
                head: r.get(6)?,
                snapshot_id: r.get(7)?,
                compaction_count: r.get(8)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
}

/// One agent's kept (not removed) snapshots.
pub struct AgentKept {
    pub agent: String,
    /// The newest snapshot's `created_at` (RFC 3339).
    pub newest: String,
    /// Their bytes before deduplication and compression.
    pub bytes: i64,
}

/// Per agent, its kept snapshots, by agent name.
pub fn kept_by_agent(c: &Connection) -> Result<Vec<AgentKept>> {
    let mut st = c.prepare(
        "SELECT agent, max(created_at), sum(size) FROM cbackup_snapshots WHERE removed_at IS NULL
         GROUP BY agent ORDER BY agent",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(AgentKept {
                agent: r.get(0)?,
                newest: r.get(1)?,
                bytes: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Record a snapshot taken (`new_bytes`: what it added to the store). Taking the same
/// snapshot again revives it.
pub fn record_snapshot(c: &Connection, m: &Manifest, new_bytes: u64) -> Result<()> {
    c.execute(
        "INSERT INTO cbackup_snapshots (id, created_at, agent, grp, path, kind, session_id, session_key,
            compaction_count, size, sha256, lines, new_bytes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET created_at = excluded.created_at, removed_at = NULL",
        params![
            m.id,
            m.created_at,
            m.agent,
            m.group,
            m.path,
            m.kind,
            m.session_id,
            m.session_key,
            m.compaction_count,
            m.size as i64,
            m.sha256,
            m.lines as i64,
            new_bytes as i64
        ],
    )?;
    Ok(())
}

/// Store a source file's stat-cache row, checked at `now`.
pub fn record_source(c: &Connection, path: &str, r: &SourceRow, now: &str) -> Result<()> {
    c.execute(
        "INSERT INTO cbackup_sources (path, dev, ino, size, mtime_ns, extra, head_sha256, snapshot_id,
            compaction_count, checked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(path) DO UPDATE SET dev = ?2, ino = ?3, size = ?4, mtime_ns = ?5, extra = ?6,
            head_sha256 = ?7, snapshot_id = ?8, compaction_count = ?9, checked_at = ?10",
        params![
            path,
            r.fp.dev,
            r.fp.ino,
            r.fp.size,
            r.fp.mtime_ns,
            r.fp.extra,
            r.head,
            r.snapshot_id,
            r.compaction_count,
            now
        ],
    )?;
    Ok(())
}

/// Mark snapshot `id` removed by retention at `at`.
pub fn mark_removed(c: &Connection, id: &str, at: &str) -> Result<()> {
    c.execute(
        "UPDATE cbackup_snapshots SET removed_at = ?2 WHERE id = ?1",
        params![id, at],
    )?;
    Ok(())
}
