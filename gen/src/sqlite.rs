//! The SQLite era's per-agent store `agents/<id>/agent/openclaw-agent.sqlite`, with the
//! columns 2026.9.6 really has: events of 1 KiB or more are zstd-compressed into
//! `event_zstd` with `event_json` NULL.

use super::transcript::Session;
use anyhow::{Context, Result};
use rusqlite::{params, Connection};
use std::path::Path;

/// Events this long or longer are stored compressed.
pub const ZSTD_MIN_BYTES: usize = 1024;

const DDL: &str = "
CREATE TABLE session_windows (
  session_id TEXT NOT NULL PRIMARY KEY,
  session_key TEXT NOT NULL,
  previous_session_id TEXT,
  reason TEXT CHECK (reason IS NULL OR reason IN ('initial', 'reset', 'rollover', 'fork', 'rewind', 'switch', 'recovery', 'compaction')),
  session_scope TEXT NOT NULL DEFAULT 'conversation' CHECK (session_scope IN ('conversation', 'shared-main', 'group', 'channel')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  transcript_updated_at INTEGER DEFAULT NULL,
  transcript_observed_at INTEGER DEFAULT NULL,
  session_entry_provenance INTEGER NOT NULL DEFAULT 0 CHECK (session_entry_provenance IN (0, 1)),
  acp_owned INTEGER NOT NULL DEFAULT 0 CHECK (acp_owned IN (0, 1)),
  plugin_owner_id TEXT,
  hook_external_content_source TEXT CHECK (hook_external_content_source IS NULL OR hook_external_content_source IN ('gmail', 'webhook')),
  started_at INTEGER,
  ended_at INTEGER,
  status TEXT CHECK (status IS NULL OR status IN ('running', 'done', 'failed', 'killed', 'timeout')),
  chat_type TEXT CHECK (chat_type IS NULL OR chat_type IN ('direct', 'group', 'channel')),
  channel TEXT,
  account_id TEXT,
  primary_conversation_id TEXT,
  model_provider TEXT,
  model TEXT,
  agent_harness_id TEXT,
  parent_session_key TEXT,
  spawned_by TEXT,
  display_name TEXT
) STRICT;
CREATE INDEX session_windows_key ON session_windows(session_key);
CREATE TABLE transcript_events (
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_json TEXT,
  created_at INTEGER NOT NULL,
  event_zstd BLOB,
  event_utf8_bytes INTEGER,
  navigation_json TEXT,
  PRIMARY KEY (session_id, seq),
  FOREIGN KEY (session_id) REFERENCES \"session_windows\"(session_id) ON DELETE CASCADE
) STRICT;
";

/// One row of `session_windows`.
pub struct Window<'a> {
    pub session_id: &'a str,
    pub session_key: &'a str,
    pub previous_session_id: Option<&'a str>,
    pub reason: &'a str,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub status: &'a str,
    pub chat_type: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub model_provider: &'a str,
    pub model: &'a str,
    pub spawned_by: Option<&'a str>,
    pub display_name: Option<&'a str>,
}

pub struct AgentDb {
    conn: Connection,
}

impl AgentDb {
    pub fn create(path: &Path) -> Result<AgentDb> {
        let conn =
            Connection::open(path).with_context(|| format!("{}: cannot create", path.display()))?;
        // Bulk load: no journal while writing; WAL (as OpenClaw runs it) once done.
        conn.execute_batch(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA foreign_keys=ON;",
        )?;
        conn.execute_batch(DDL)?;
        conn.execute_batch("BEGIN")?;
        Ok(AgentDb { conn })
    }

    pub fn window(&self, w: &Window) -> Result<()> {
        let mut st = self.conn.prepare_cached(
            "INSERT INTO session_windows (session_id, session_key, previous_session_id, reason, session_scope, created_at, updated_at,
               transcript_updated_at, session_entry_provenance, started_at, ended_at, status, chat_type, channel,
               model_provider, model, parent_session_key, spawned_by, display_name)
             VALUES (?1, ?2, ?3, ?4, 'conversation', ?5, ?6, ?6, 1, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15)",
        )?;
        st.execute(params![
            w.session_id,
            w.session_key,
            w.previous_session_id,
            w.reason,
            w.created_at,
            w.updated_at,
            w.started_at,
            w.ended_at,
            w.status,
            w.chat_type,
            w.channel,
            w.model_provider,
            w.model,
            w.spawned_by,
            w.display_name
        ])?;
        Ok(())
    }

    pub fn events(&self, sid: &str, s: &Session) -> Result<()> {
        let mut st = self.conn.prepare_cached(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes, navigation_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (i, meta) in s.lines.iter().enumerate() {
            let line = s.line(i);
            let text = std::str::from_utf8(line).context("generated line is not UTF-8")?;
            let (json, z, nav) = match compressed(text)? {
                Some((z, nav)) => (None, Some(z), Some(nav)),
                None => (Some(text), None, None),
            };
            st.execute(params![
                sid,
                i as i64,
                json,
                meta.ts_ms,
                z,
                line.len() as i64,
                nav
            ])?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        self.conn
            .execute_batch("COMMIT; PRAGMA journal_mode=WAL;")?;
        self.conn.close().map_err(|(_, e)| e)?;
        Ok(())
    }
}

/// How 2026.9.6 stores a long event: zstd-compressed, with the navigation it computes from the
/// event beside it (`navigation_json`, version 1: the event's tree facts and its message's role,
/// so readers need not decompress it). Like OpenClaw: short events, session headers, events
/// with a `\u` escape, and events the compression does not shrink by a tenth are stored as
/// text (`None`).
fn compressed(text: &str) -> Result<Option<(Vec<u8>, String)>> {
    use serde_json::{json, Map, Value};
    if text.len() < ZSTD_MIN_BYTES || text.contains("\\u") {
        return Ok(None);
    }
    let ev: Value = serde_json::from_str(text).context("generated line is not JSON")?;
    let Some(root) = ev.as_object() else {
        return Ok(None);
    };
    if root.get("type").and_then(Value::as_str) == Some("session") {
        return Ok(None);
    }
    let pick = |keys: &[&str]| -> Map<String, Value> {
        keys.iter()
            .filter_map(|k| root.get(*k).map(|v| (k.to_string(), v.clone())))
            .collect()
    };
    let tree = ["type", "id", "parentId", "timestamp"];
    let message = root.get("message").and_then(Value::as_object);
    let role = |extra: &[&str]| -> Value {
        let m = message.expect("called only with a message");
        let keys = [&["role"][..], extra].concat();
        Value::Object(
            keys.iter()
                .filter_map(|k| m.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect(),
        )
    };
    let mut navigation = pick(&tree);
    let mut reset = pick(&tree);
    let mut model = pick(&tree);
    if message.is_some() {
        navigation.insert("message".into(), role(&[]));
        reset.insert("message".into(), role(&[]));
        model.insert(
            "message".into(),
            role(&["provider", "model", "timestamp", "stopReason"]),
        );
    }
    let mut entry = pick(&tree);
    entry.retain(|_, v| !v.is_null());
    let nav = json!({
        "version": 1,
        "report": {"kind": "canonical", "hasParentId": root.contains_key("parentId"), "entry": entry},
        "navigation": navigation,
        "reset": reset,
        "model": model,
        "modelBytes": text.len(),
        "modelWithoutCheckpointBytes": text.len(),
        "withoutCustomDataBytes": text.len(),
    })
    .to_string();
    let z = zstd::bulk::compress(text.as_bytes(), 1).context("zstd")?;
    let room = text.len() - (text.len() / 10).max(64);
    Ok((z.len() + nav.len() <= room).then_some((z, nav)))
}
