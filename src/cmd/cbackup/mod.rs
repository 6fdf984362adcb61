//! `claw compaction-backup`: no transcript is lost to compaction, reset or pruning.
//!
//! Every run stats each agent's session files (live transcripts, `.reset`/`.deleted`
//! archives, checkpoint copies, `sessions.json`, the SQLite era's databases) against the stat
//! cache in the ledger and snapshots only what changed into the store (see `store`). A live
//! transcript is captured up to its last complete line; `*.lock` files and sidecars are
//! skipped; symlinks are recorded as links. Databases are copied with SQLite's online backup
//! API first. One ledger transaction at the end records the snapshots and the new stat cache.

pub mod retention;
mod store;

use crate::cli::{CbackupArgs, CbackupCmd};
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::ledger::Ledger;
use crate::openclaw::layout::{self, FileKind};
use crate::output::{Outcome, SCHEMA_VERSION};
use crate::sessionstore::{self, Cut, Manifest, Store};
use anyhow::{Context, Result};
use serde_json::json;
use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use store as ledger_store;
use store::{Fingerprint, SourceRow};

use crate::sessionstore::LOCK;
pub const JOB: &str = "compaction-backup";
/// Where OpenClaw moved JSONL files when it migrated a session to SQLite.
const IMPORT_ARCHIVE: &str = "session-sqlite-import-archive";

pub fn command_name(a: &CbackupArgs) -> &'static str {
    match a.cmd {
        None => "compaction-backup",
        Some(CbackupCmd::Verify) => "compaction-backup verify",
        Some(CbackupCmd::Prune) => "compaction-backup prune",
        Some(CbackupCmd::InstallHook) => "compaction-backup install-hook",
    }
}

pub fn run(ctx: &Ctx, a: &CbackupArgs) -> Result<Outcome> {
    match a.cmd {
        None => ctx.run_job(JOB, LOCK, |ctx, l| {
            writing(ctx, || backup(ctx, l, a.session.as_deref()))
        }),
        Some(CbackupCmd::Verify) => {
            ctx.run_job("compaction-backup-verify", LOCK, |ctx, _| verify(ctx))
        }
        Some(CbackupCmd::Prune) => ctx.run_job("compaction-backup-prune", LOCK, |ctx, l| {
            writing(ctx, || retention::prune(ctx, l, true))
        }),
        Some(CbackupCmd::InstallHook) => install_hook(ctx),
    }
}

use crate::sessionstore::{open as open_store, writing};

// ---------- what to look at ----------

/// One file that may need a snapshot.
#[derive(Debug, Clone)]
struct Source {
    /// Path relative to OpenClaw's state dir (the ledger and manifest key).
    rel: String,
    abs: PathBuf,
    agent: String,
    group: String,
    kind: &'static str,
    session_id: Option<String>,
    /// A live transcript: captured up to its last complete line.
    live: bool,
    sqlite: bool,
}

/// What `sessions.json` says about one session.
#[derive(Debug, Clone, Default)]
struct StoreEntry {
    key: String,
    compaction_count: Option<i64>,
}

/// sessionId -> (key, compactionCount) from one `sessions.json`. A store that does not parse
/// is reported and treated as empty.
fn read_store(path: &Path, warn: &mut Vec<String>) -> HashMap<String, StoreEntry> {
    let mut out = HashMap::new();
    let bytes = match crate::safefs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return out,
        Err(e) => {
            warn.push(format!("{}: cannot read: {e}", path.display()));
            return out;
        }
    };
    let v: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            warn.push(format!(
                "{}: not valid JSON ({e}); snapshotted as is",
                path.display()
            ));
            return out;
        }
    };
    if let Some(map) = v.as_object() {
        for (key, e) in map {
            if let Some(sid) = e.get("sessionId").and_then(|s| s.as_str()) {
                out.insert(
                    sid.to_string(),
                    StoreEntry {
                        key: key.clone(),
                        compaction_count: e.get("compactionCount").and_then(|c| c.as_i64()),
                    },
                );
            }
        }
    }
    out
}

fn kind_name(k: &FileKind) -> Option<&'static str> {
    Some(match k {
        FileKind::Live { .. } => "live",
        FileKind::Reset { .. } => "reset",
        FileKind::Deleted { .. } => "deleted",
        FileKind::Checkpoint { .. } => "checkpoint",
        FileKind::Store => "store",
        FileKind::Lock { .. } | FileKind::Sidecar => return None,
    })
}

fn rel_of(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// The session files of one sessions directory (and its SQLite import archive).
fn sources_in(oc: &Path, agent: &str, dir: &Path, out: &mut Vec<Source>, warn: &mut Vec<String>) {
    let rd = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            warn.push(format!("{}: cannot list: {e}", dir.display()));
            return;
        }
    };
    for ent in rd.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        let Ok(ft) = ent.file_type() else { continue };
        if ft.is_dir() {
            if name == IMPORT_ARCHIVE {
                sources_in(oc, agent, &ent.path(), out, warn);
            }
            continue;
        }
        let kind = layout::classify(&name);
        let Some(kname) = kind_name(&kind) else {
            continue;
        };
        let sid = kind.session_id().map(str::to_string);
        let in_archive = dir.file_name().is_some_and(|n| n == IMPORT_ARCHIVE);
        out.push(Source {
            rel: rel_of(&ent.path(), oc),
            abs: ent.path(),
            agent: agent.to_string(),
            group: sid.clone().unwrap_or_else(|| {
                if in_archive {
                    "_import_store".into()
                } else {
                    "_store".into()
                }
            }),
            kind: if ft.is_symlink() { "symlink" } else { kname },
            session_id: sid,
            live: matches!(kind, FileKind::Live { .. }) && !in_archive,
            sqlite: false,
        });
    }
}

// ---------- the stat cache ----------

fn fingerprint(m: &fs::Metadata, extra: String) -> Fingerprint {
    Fingerprint {
        dev: m.dev() as i64,
        ino: m.ino() as i64,
        size: m.size() as i64,
        mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        extra,
    }
}

// ---------- the backup run ----------

/// What one run did, for the ledger and the summary.
#[derive(Default)]
struct RunResult {
    snapshots: Vec<(Manifest, u64)>,
    rows: Vec<(String, SourceRow)>,
    new_bytes: u64,
    read_bytes: u64,
    checked: usize,
    errors: Vec<String>,
    would: Vec<String>,
}

/// The sessions to back up for `--session KEY` (a key or a session id): (agent, session ids).
fn resolve_session(
    oc: &Path,
    agents: &[layout::Agent],
    key: &str,
) -> Option<(String, Option<String>)> {
    let mut ignore = Vec::new();
    for a in agents {
        if let Some(rest) = key.strip_prefix("agent:") {
            if !rest.starts_with(&format!("{}:", a.id)) {
                continue;
            }
        }
        let st = read_store(&a.store_path(), &mut ignore);
        if let Some((sid, _)) = st
            .iter()
            .find(|(sid, e)| e.key == key || sid.as_str() == key)
        {
            return Some((a.id.clone(), Some(sid.clone())));
        }
        if a.sessions_dir.join(format!("{key}.jsonl")).exists() {
            return Some((a.id.clone(), Some(key.to_string())));
        }
        if a.sqlite.is_some() && key.starts_with(&format!("agent:{}:", a.id)) {
            return Some((a.id.clone(), None));
        }
    }
    let _ = oc;
    None
}

fn backup(ctx: &Ctx, ledger: &Ledger, only: Option<&str>) -> Result<Outcome> {
    let oc = ctx.paths.openclaw_dir.clone();
    let store = open_store(ctx);
    let agents = layout::agents(&oc)
        .with_context(|| format!("{}: cannot list agents", oc.join("agents").display()))?;
    let target = match only {
        Some(k) => Some(resolve_session(&oc, &agents, k).ok_or_else(|| {
            fail(
                Code::NoInput,
                format!(
                    "{}: no session {k} in any agent's sessions.json",
                    oc.join("agents").display()
                ),
            )
        })?),
        None => None,
    };
    let rows = ledger.read(ledger_store::sources)?;
    let mut res = RunResult::default();
    let mut warn = Vec::new();
    let mut progress = crate::progress::Progress::stderr("compaction-backup", ctx.out.quiet);
    for a in &agents {
        if let Some((ta, _)) = &target {
            if ta != &a.id {
                continue;
            }
        }
        let sources = agent_sources(&oc, a, target.as_ref(), &mut warn);
        let entries = read_store(&a.store_path(), &mut warn);
        for s in &sources {
            let (key, cc) = match s.session_id.as_ref().and_then(|sid| entries.get(sid)) {
                Some(e) => (Some(e.key.clone()), e.compaction_count),
                None => (None, None),
            };
            if let Err(e) = snapshot_one(ctx, &store, &rows, s, key, cc, &mut res) {
                res.errors.push(format!("{e:#}"));
            }
            progress.update(res.checked as u64, res.read_bytes);
        }
    }
    if target.is_none() {
        if let Some(db) = layout::global_sqlite(&oc) {
            let s = Source {
                rel: rel_of(&db, &oc),
                abs: db,
                agent: "_global".into(),
                group: "_db".into(),
                kind: "sqlite",
                session_id: None,
                live: false,
                sqlite: true,
            };
            if let Err(e) = snapshot_one(ctx, &store, &rows, &s, None, None, &mut res) {
                res.errors.push(format!("{e:#}"));
            }
        }
    }
    progress.finish();
    for w in &warn {
        ctx.out.warn(w);
    }
    if ctx.dry_run {
        let text: String = res
            .would
            .iter()
            .map(|w| format!("would snapshot {w}\n"))
            .collect();
        return Ok(
            Outcome::ok(format!("{} files would be snapshotted", res.would.len())).with_text(text),
        );
    }
    // Chunks are durable before any manifest names them, manifests before the ledger.
    store.sync()?;
    for (m, _) in &res.snapshots {
        store.put_manifest(m)?;
    }
    store.sync()?;
    record(ledger, ctx, &res)?;
    report(ctx, ledger, &res, target.is_none())
}

/// One agent's files to look at (only the target session's with `--session`), live
/// transcripts first so archives and checkpoints of the same session can reuse their chunks.
fn agent_sources(
    oc: &Path,
    a: &layout::Agent,
    target: Option<&(String, Option<String>)>,
    warn: &mut Vec<String>,
) -> Vec<Source> {
    let mut sources = Vec::new();
    match fs::symlink_metadata(&a.sessions_dir) {
        Ok(m) if m.file_type().is_symlink() => sources.push(Source {
            rel: rel_of(&a.sessions_dir, oc),
            abs: a.sessions_dir.clone(),
            agent: a.id.clone(),
            group: "_store".into(),
            kind: "symlink",
            session_id: None,
            live: false,
            sqlite: false,
        }),
        _ => sources_in(oc, &a.id, &a.sessions_dir, &mut sources, warn),
    }
    if let Some(db) = &a.sqlite {
        sources.push(Source {
            rel: rel_of(db, oc),
            abs: db.clone(),
            agent: a.id.clone(),
            group: "_db".into(),
            kind: "sqlite",
            session_id: None,
            live: false,
            sqlite: true,
        });
    }
    if let Some((_, Some(sid))) = target {
        sources.retain(|s| {
            s.session_id.as_deref() == Some(sid.as_str()) || s.kind == "store" || s.sqlite
        });
        sources.retain(|s| s.kind != "reset" && s.kind != "deleted");
    }
    // Live files first so archives and checkpoints of the same session can reuse them.
    sources.sort_by_key(|s| (!s.live, s.rel.clone()));
    sources
}

/// The run's outcome once recorded: the summary, the errors as a finding, retention after a
/// full run that added snapshots, and the per-agent figures.
fn report(ctx: &Ctx, ledger: &Ledger, res: &RunResult, full: bool) -> Result<Outcome> {
    let mut detail = json!({
        "checked": res.checked,
        "snapshots": res.snapshots.len(),
        "new_bytes": res.new_bytes,
        "read_bytes": res.read_bytes,
        "errors": res.errors,
    });
    // Retention reads every manifest: only worth it when this run added snapshots.
    if full && ctx.settings.compaction_backup.prune_after_backup && !res.snapshots.is_empty() {
        let p = retention::prune(ctx, ledger, false)?;
        detail["pruned"] = p.detail.clone();
    }
    let summary = format!(
        "{} files checked, {} snapshots, {} new bytes stored",
        res.checked,
        res.snapshots.len(),
        res.new_bytes
    );
    let mut o = Outcome::ok(summary).with_detail(detail);
    if !res.errors.is_empty() {
        let text: String = res
            .errors
            .iter()
            .map(|e| format!("claw compaction-backup: {e}\n"))
            .collect();
        o = o.with_text(text).finding();
    }
    let confirmed = (full && res.errors.is_empty()).then(|| ctx.now.timestamp());
    snapshot_figures(ledger, o, confirmed)
}

/// Per agent, when its transcripts were last known backed up and the kept snapshots' bytes
/// (before deduplication and compression), for the textfile. A full run without errors
/// (`confirmed`) has every transcript either snapshotted or unchanged since its snapshot:
/// backed up as of now, however old the newest snapshot of an idle agent is. Otherwise the
/// newest snapshot's time.
fn snapshot_figures(ledger: &Ledger, mut o: Outcome, confirmed: Option<i64>) -> Result<Outcome> {
    let rows = ledger.read(ledger_store::kept_by_agent)?;
    for ledger_store::AgentKept {
        agent,
        newest,
        bytes,
    } in rows
    {
        let l = [("agent", agent.as_str())];
        let newest = chrono::DateTime::parse_from_rfc3339(&newest)
            .ok()
            .map(|t| t.timestamp());
        if let Some(t) = newest.max(confirmed) {
            o = o.metric("compaction_backup_last_timestamp_seconds", &l, t as f64);
        }
        o = o.metric("compaction_backup_bytes", &l, bytes as f64);
    }
    Ok(o)
}

/// Snapshot one source if it changed since the stat cache last saw it.
fn snapshot_one(
    ctx: &Ctx,
    store: &Store,
    rows: &HashMap<String, SourceRow>,
    s: &Source,
    key: Option<String>,
    cc: Option<i64>,
    res: &mut RunResult,
) -> Result<()> {
    res.checked += 1;
    let lmeta = match fs::symlink_metadata(&s.abs) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot stat", s.abs.display())),
    };
    let is_link = lmeta.file_type().is_symlink();
    if !is_link && !lmeta.is_file() {
        return Ok(());
    }
    let fp = fingerprint(&lmeta, wal_extra(s));
    let prev = rows.get(&s.rel);
    let compacted = s.live
        && matches!((cc, prev.and_then(|p| p.compaction_count)), (Some(n), Some(o)) if n > o);
    if let Some(p) = prev {
        if p.fp == fp && !compacted {
            return Ok(());
        }
    }
    if ctx.dry_run {
        res.would.push(s.rel.clone());
        return Ok(());
    }
    let base = base_manifest(store, rows, s, prev);
    let (stored, link_target, head, fp) = if is_link {
        let t = fs::read_link(&s.abs)
            .with_context(|| format!("{}: cannot read link", s.abs.display()))?;
        let t = t.to_string_lossy().into_owned();
        let st = sessionstore::Stored {
            sha256: crate::digest::sha256_hex(t.as_bytes()),
            ..Default::default()
        };
        (st, Some(t), String::new(), fp)
    } else if s.sqlite {
        let (st, head) = snapshot_sqlite(store, s, base.as_ref())?;
        (st, None, head, fp)
    } else {
        let (st, head, fp) = snapshot_file(store, s, base.as_ref(), res)?;
        (st, None, head, fp)
    };
    let unchanged = base.as_ref().is_some_and(|b| {
        b.path == s.rel && b.sha256 == stored.sha256 && b.link_target == link_target
    });
    let snapshot_id = if unchanged {
        base.as_ref().map(|b| b.id.clone())
    } else {
        let m = Manifest {
            format: sessionstore::FORMAT,
            id: sessionstore::snapshot_id(&s.rel, &stored.sha256),
            created_at: ctx.now_str(),
            agent: s.agent.clone(),
            group: s.group.clone(),
            path: s.rel.clone(),
            kind: s.kind.to_string(),
            session_id: s.session_id.clone(),
            session_key: key,
            compaction_count: cc,
            size: stored.size,
            sha256: stored.sha256.clone(),
            lines: if s.sqlite { 0 } else { stored.lines },
            link_target,
            chunks: stored.chunks,
        };
        res.new_bytes += stored.new_bytes;
        let id = m.id.clone();
        res.snapshots.push((m, stored.new_bytes));
        Some(id)
    };
    res.rows.push((
        s.rel.clone(),
        SourceRow {
            fp,
            head,
            snapshot_id,
            compaction_count: cc,
        },
    ));
    Ok(())
}

/// A database's fingerprint also covers its `-wal` file: a write lands there first.
fn wal_extra(s: &Source) -> String {
    if !s.sqlite {
        return String::new();
    }
    let wal = PathBuf::from(format!("{}-wal", s.abs.display()));
    match fs::metadata(&wal) {
        Ok(w) => format!("wal:{}:{}.{}", w.size(), w.mtime(), w.mtime_nsec()),
        Err(_) => String::new(),
    }
}

/// The snapshot whose chunks this one can reuse: the source's own previous snapshot, else
/// (for an archive or checkpoint) its live transcript's.
fn base_manifest(
    store: &Store,
    rows: &HashMap<String, SourceRow>,
    s: &Source,
    prev: Option<&SourceRow>,
) -> Option<Manifest> {
    prev.and_then(|p| p.snapshot_id.as_ref())
        .map(|id| store.manifest_path(&s.agent, &s.group, id))
        .or_else(|| {
            // An archive or checkpoint starts as a copy of its live transcript: reuse its chunks.
            let sid = s.session_id.as_ref()?;
            let live_rel = Path::new(&s.rel).with_file_name(format!("{sid}.jsonl"));
            let row = rows.get(live_rel.to_str()?)?;
            Some(store.manifest_path(&s.agent, &s.group, row.snapshot_id.as_ref()?))
        })
        .and_then(|p| store.read_manifest(&p).ok())
}

/// Store a regular file (a live transcript up to its last complete line): what was stored,
/// its head checksum and the fingerprint of what was actually read.
fn snapshot_file(
    store: &Store,
    s: &Source,
    base: Option<&Manifest>,
    res: &mut RunResult,
) -> Result<(sessionstore::Stored, String, Fingerprint)> {
    let mut f = crate::safefs::open(&s.abs, crate::safefs::Follow::Yes)
        .with_context(|| format!("{}: cannot open", s.abs.display()))?;
    // Describe what was actually read (the file may have been replaced since lstat).
    let meta = f
        .metadata()
        .with_context(|| format!("{}: cannot stat", s.abs.display()))?;
    let fp = fingerprint(&meta, String::new());
    let len = if s.live {
        sessionstore::complete_lines_len(&mut f, meta.size())
            .with_context(|| format!("{}: cannot read", s.abs.display()))?
    } else {
        meta.size()
    };
    let head = sessionstore::head_sha(&mut f)
        .with_context(|| format!("{}: cannot read", s.abs.display()))?;
    let chunks = base.map(|b| b.chunks.as_slice()).unwrap_or(&[]);
    let mut reader = std::io::BufReader::with_capacity(1 << 20, &mut f);
    let mut st = store
        .put_stream(&mut reader, len, Cut::Lines, chunks)
        .with_context(|| format!("{}: cannot snapshot", s.abs.display()))?;
    if matches!(s.kind, "reset" | "deleted") && s.rel.ends_with(".zst") {
        st.lines = zst_lines(&s.abs).unwrap_or(0);
    }
    res.read_bytes += len;
    Ok((st, head, fp))
}

fn zst_lines(path: &Path) -> Result<u64> {
    let f = crate::safefs::open(path, crate::safefs::Follow::Yes)?;
    let mut d = zstd::stream::read::Decoder::new(f)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = std::io::Read::read(&mut d, &mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// Copy a live database with SQLite's online backup API, then store the consistent copy.
fn snapshot_sqlite(
    store: &Store,
    s: &Source,
    base: Option<&Manifest>,
) -> Result<(sessionstore::Stored, String)> {
    crate::atomic::create_private_dir(&store.tmp_dir())?;
    let tmp = store.tmp_dir().join(format!(
        "{}-{}.sqlite",
        s.agent,
        crate::safefs::unique_suffix()
    ));
    let result = (|| -> Result<(sessionstore::Stored, String)> {
        crate::safefs::check_regular(&s.abs)
            .with_context(|| format!("{}: cannot open database", s.abs.display()))?;
        let src = rusqlite::Connection::open_with_flags(
            &s.abs,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("{}: cannot open database", s.abs.display()))?;
        src.busy_timeout(std::time::Duration::from_secs(10))?;
        src.backup("main", &tmp, None::<fn(rusqlite::backup::Progress)>)
            .with_context(|| format!("{}: online backup failed", s.abs.display()))?;
        drop(src);
        let mut f = File::open(&tmp).with_context(|| format!("{}: cannot open", tmp.display()))?;
        let len = f.metadata()?.size();
        let head = sessionstore::head_sha(&mut f)?;
        let chunks = base.map(|b| b.chunks.as_slice()).unwrap_or(&[]);
        let mut reader = std::io::BufReader::with_capacity(1 << 20, &mut f);
        let st = store
            .put_stream(&mut reader, len, Cut::Fixed, chunks)
            .with_context(|| format!("{}: cannot snapshot", s.abs.display()))?;
        Ok((st, head))
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// One IMMEDIATE transaction: the snapshots taken and the new stat cache.
fn record(ledger: &Ledger, ctx: &Ctx, res: &RunResult) -> Result<()> {
    if res.rows.is_empty() {
        return Ok(());
    }
    let now = ctx.now_str();
    ledger
        .immediate(|tx| {
            for (m, new_bytes) in &res.snapshots {
                ledger_store::record_snapshot(tx, m, *new_bytes)?;
            }
            for (path, r) in &res.rows {
                ledger_store::record_source(tx, path, r, &now)?;
            }
            Ok(())
        })
        .context("ledger: cannot record compaction-backup")
}

// ---------- verify ----------

fn verify(ctx: &Ctx) -> Result<Outcome> {
    let store = open_store(ctx);
    let mut damaged_chunks: Vec<String> = Vec::new();
    let mut good_chunks: HashMap<String, u64> = HashMap::new();
    let chunks_dir = store.chunks_dir();
    let mut n_chunks = 0usize;
    if chunks_dir.is_dir() {
        for e in walkdir::WalkDir::new(&chunks_dir).follow_links(false) {
            let e = e.with_context(|| format!("{}: cannot list chunks", chunks_dir.display()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if !e.file_type().is_file() || name.starts_with('.') {
                continue;
            }
            n_chunks += 1;
            let Some(sha) = name.strip_suffix(".zst") else {
                damaged_chunks.push(format!("{}: not a chunk name", e.path().display()));
                continue;
            };
            let ok = crate::safefs::read(e.path())
                .ok()
                .and_then(|p| zstd::stream::decode_all(&p[..]).ok())
                .filter(|d| crate::digest::sha256_hex(d) == sha)
                .map(|d| d.len() as u64);
            match ok {
                Some(n) => {
                    good_chunks.insert(sha.to_string(), n);
                }
                None => damaged_chunks.push(format!(
                    "{}: content does not match its name",
                    e.path().display()
                )),
            }
        }
    }
    let (manifests, bad) = store.manifests(None)?;
    let mut damaged_snaps: Vec<String> = bad.iter().map(|(_, e)| e.clone()).collect();
    for m in &manifests {
        let where_ = format!("snapshot {} ({})", m.id, m.path);
        if sessionstore::snapshot_id(&m.path, &m.sha256) != m.id {
            damaged_snaps.push(format!("{where_}: manifest does not match its id"));
            continue;
        }
        let mut size = 0u64;
        let mut problem = None;
        for c in &m.chunks {
            match good_chunks.get(&c.sha256) {
                Some(&n) if n == c.size => size += n,
                Some(_) => problem = Some(format!("chunk {} has another size", c.sha256)),
                None => problem = Some(format!("chunk {} is missing or damaged", c.sha256)),
            }
        }
        if problem.is_none() && size != m.size {
            problem = Some(format!(
                "chunks hold {size} bytes, manifest says {}",
                m.size
            ));
        }
        if problem.is_none() && m.link_target.is_none() {
            if let Err(e) = store.write_content(m, &mut std::io::sink()) {
                problem = Some(format!("{e:#}"));
            }
        }
        if let Some(p) = problem {
            damaged_snaps.push(format!("{where_}: {p}"));
        }
    }
    let detail = json!({
        "chunks": n_chunks,
        "snapshots": manifests.len() + bad.len(),
        "damaged_chunks": damaged_chunks,
        "damaged_snapshots": damaged_snaps,
    });
    let summary = format!(
        "{n_chunks} chunks, {} snapshots; {} damaged chunks, {} damaged snapshots",
        manifests.len() + bad.len(),
        damaged_chunks.len(),
        damaged_snaps.len()
    );
    let mut o = Outcome::ok(summary.clone()).with_detail(detail.clone());
    o.json = Some(
        json!({"schema_version": SCHEMA_VERSION, "ok": damaged_chunks.is_empty() && damaged_snaps.is_empty(), "verify": detail}),
    );
    if !damaged_chunks.is_empty() || !damaged_snaps.is_empty() {
        let mut text = String::new();
        for c in &damaged_chunks {
            text.push_str(&format!("damaged chunk: {c}\n"));
        }
        for s in &damaged_snaps {
            text.push_str(&format!("damaged snapshot: {s}\n"));
        }
        text.push_str(&format!("{summary}\n"));
        o = o.with_text(text).finding();
    }
    Ok(o)
}

// ---------- install-hook ----------

const HOOK_NAME: &str = "claw-compaction-backup";

fn install_hook(ctx: &Ctx) -> Result<Outcome> {
    let dir = ctx.paths.openclaw_dir.join("hooks").join(HOOK_NAME);
    let claw = std::env::current_exe()
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "claw".into());
    let hook_md = format!(
        "---\nname: {HOOK_NAME}\ndescription: Snapshot a session's transcript with claw before OpenClaw compacts it\n\
         metadata: {{\"openclaw\":{{\"events\":[\"session:compact:before\"]}}}}\n---\n\n\
         # {HOOK_NAME}\n\nRuns `claw compaction-backup --session <key>` before compaction so no line is lost\n\
         when compaction rewrites or truncates the transcript. Never blocks the gateway: claw runs as\n\
         a detached child and compaction waits for it at most 50 s. Installed by\n\
         `claw compaction-backup install-hook`.\n"
    );
    // The hook's claw must use the state dir and settings of the scheduled jobs, not whatever
    // the gateway's environment says: they are fixed here, at install time.
    let mut env = serde_json::json!({
        "CLAW_STATE_DIR": ctx.paths.state,
        "OPENCLAW_STATE_DIR": ctx.paths.openclaw_dir,
        "OPENCLAW_CONFIG_PATH": ctx.paths.config,
    });
    // Named only when it exists: a named settings file that is missing is an error.
    if ctx.paths.settings.is_file() {
        env["CLAW_SETTINGS"] = json!(ctx.paths.settings);
    }
    let handler = format!(
        "// Installed by `claw compaction-backup install-hook`.\n\
         // The handler runs inside the gateway's event loop: a synchronous child process\n\
         // would freeze every request of the gateway while claw runs. claw is started detached\n\
         // (own process group) and awaited asynchronously for at most WAIT_MS, so compaction\n\
         // normally starts after the snapshot, and never waits longer. It never throws.\n\
         const {{ spawn }} = require(\"node:child_process\");\n\
         const CLAW = {claw};\n\
         const ENV = {env};\n\
         const WAIT_MS = 50000;\n\n\
         module.exports = async function handler(event) {{\n  \
           const key = (event && (event.sessionKey || (event.session && event.session.key) || (event.context && event.context.sessionKey))) || \"\";\n  \
           if (!key) return;\n  \
           try {{\n    \
             const child = spawn(CLAW, [\"--wait\", \"45\", \"compaction-backup\", \"--session\", String(key)], {{\n      \
               detached: true,\n      \
               stdio: \"ignore\",\n      \
               env: Object.assign({{}}, process.env, ENV),\n    \
             }});\n    \
             child.on(\"error\", (e) => console.error(`claw compaction-backup: ${{e}}`));\n    \
             child.unref();\n    \
             await new Promise((resolve) => {{\n      \
               const t = setTimeout(resolve, WAIT_MS);\n      \
               t.unref();\n      \
               child.on(\"exit\", (code) => {{\n        \
                 clearTimeout(t);\n        \
                 if (code !== 0) console.error(`claw compaction-backup --session ${{key}}: exit ${{code}}`);\n        \
                 resolve();\n      \
               }});\n      \
               child.on(\"error\", () => {{ clearTimeout(t); resolve(); }});\n    \
             }});\n  \
           }} catch (e) {{\n    \
             console.error(`claw compaction-backup: ${{e}}`);\n  \
           }}\n\
         }};\nmodule.exports.default = module.exports;\n",
        claw = serde_json::to_string(&claw)?,
        env = serde_json::to_string(&env)?
    );
    let agents = hook_agents(ctx);
    if ctx.dry_run {
        return Ok(Outcome::ok("hook not written (dry run)").with_text(format!(
            "would write {}/HOOK.md and handler.js\nwould run: {}\n",
            dir.display(),
            enable_plan(ctx, &agents)
                .iter()
                .map(|a| crate::proc::shell_line(a))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    crate::atomic::create_private_dir(&dir)?;
    let opts = crate::atomic::Opts {
        mode: 0o644,
        ..Default::default()
    };
    crate::atomic::write(&dir.join("HOOK.md"), hook_md.as_bytes(), opts)?;
    crate::atomic::write(&dir.join("handler.js"), handler.as_bytes(), opts)?;
    let enabled = enable_hook(ctx, &agents)?;
    let text = format!(
        "wrote {}/HOOK.md and handler.js\nenabled and verified with `openclaw hooks list --json` for: {}\n\
         OpenClaw 2026.9 loads it at once; older gateways (2026.7.x) load it at their next restart.\n",
        dir.display(),
        enabled.join(", ")
    );
    Ok(Outcome::ok(format!("hook written to {} and enabled", dir.display())).with_text(text))
}

/// Agent ids from OpenClaw's config (`agents.list[].id` to 2026.7.x, `agents.entries` keys
/// later), else the agent directories; empty when there is only the implicit `main`.
fn hook_agents(ctx: &Ctx) -> Vec<String> {
    let mut ids = std::collections::BTreeSet::new();
    if let Ok(text) = std::fs::read_to_string(&ctx.paths.config) {
        if let Ok(v) = crate::openclaw::config::parse_json5(&text) {
            let agents = v.get("agents");
            for a in agents
                .and_then(|a| a.get("list"))
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(id) = a.get("id").and_then(|i| i.as_str()) {
                    ids.insert(id.to_string());
                }
            }
            if let Some(e) = agents
                .and_then(|a| a.get("entries"))
                .and_then(|e| e.as_object())
            {
                ids.extend(e.keys().cloned());
            }
        }
    }
    ids.into_iter().collect()
}

/// The enable commands: one `openclaw hooks --agent <id> enable` per configured agent (2026.9.6
/// refuses a plain `hooks enable` when several agents exist), or the plain form without agents.
fn enable_plan(ctx: &Ctx, agents: &[String]) -> Vec<Vec<String>> {
    let bin = ctx.settings.general.openclaw_bin.clone();
    if agents.len() < 2 {
        return vec![vec![bin, "hooks".into(), "enable".into(), HOOK_NAME.into()]];
    }
    agents
        .iter()
        .map(|a| {
            vec![
                bin.clone(),
                "hooks".into(),
                "--agent".into(),
                a.clone(),
                "enable".into(),
                HOOK_NAME.into(),
            ]
        })
        .collect()
}

/// Enable the hook and check with `openclaw hooks list --json` that OpenClaw sees it enabled
/// and eligible, per agent. The hook is not done until OpenClaw says so.
fn enable_hook(ctx: &Ctx, agents: &[String]) -> Result<Vec<String>> {
    let timeout = std::time::Duration::from_secs(120);
    let run = |argv: &[String]| -> Result<crate::proc::Finished> {
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env("OPENCLAW_STATE_DIR", &ctx.paths.openclaw_dir)
            .env("OPENCLAW_CONFIG_PATH", &ctx.paths.config);
        crate::proc::run(cmd, &crate::proc::Opts::new(timeout).capture(16 << 20))
            .with_context(|| format!("cannot start {}", argv[0]))
    };
    for argv in enable_plan(ctx, agents) {
        let f = run(&argv)?;
        if !f.success() {
            anyhow::bail!(
                "{}: {} ({})",
                crate::proc::shell_line(&argv),
                f.describe(),
                f.last_stderr_line()
            );
        }
    }
    let bin = ctx.settings.general.openclaw_bin.clone();
    let checks: Vec<(String, Vec<String>)> = if agents.len() < 2 {
        vec![(
            "all agents".into(),
            vec![bin, "hooks".into(), "list".into(), "--json".into()],
        )]
    } else {
        agents
            .iter()
            .map(|a| {
                (
                    a.clone(),
                    vec![
                        bin.clone(),
                        "hooks".into(),
                        "--agent".into(),
                        a.clone(),
                        "list".into(),
                        "--json".into(),
                    ],
                )
            })
            .collect()
    };
    let mut done = Vec::new();
    for (who, argv) in checks {
        let f = run(&argv)?;
        let line = crate::proc::shell_line(&argv);
        if !f.success() {
            anyhow::bail!("{line}: {} ({})", f.describe(), f.last_stderr_line());
        }
        let v: serde_json::Value =
            serde_json::from_slice(&f.stdout).with_context(|| format!("{line}: not JSON"))?;
        let hook = v.get("hooks").and_then(|h| h.as_array()).and_then(|h| {
            h.iter()
                .find(|h| h.get("name").and_then(|n| n.as_str()) == Some(HOOK_NAME))
        });
        let Some(hook) = hook else {
            anyhow::bail!("{line}: OpenClaw does not list {HOOK_NAME} after enabling it");
        };
        let yes = |k: &str| hook.get(k).and_then(|b| b.as_bool());
        if yes("disabled") == Some(true) || yes("eligible") == Some(false) {
            anyhow::bail!("{line}: OpenClaw lists {HOOK_NAME} as not enabled: {hook}");
        }
        done.push(who);
    }
    Ok(done)
}
