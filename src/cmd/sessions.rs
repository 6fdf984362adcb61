//! `claw sessions`: what the compaction-backup store holds, and getting a transcript back.
//!
//! `restore` writes a snapshot back byte for byte (a JSONL transcript, an archive, a link),
//! or, for the SQLite era, exports the session's `transcript_events` rows from a database
//! snapshot as JSONL (`event_json`, or `event_zstd` decoded). It never overwrites an existing
//! file without `--force`.

use crate::cli::{SessionRestoreArgs, SessionsCmd};
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::openclaw::agentdb;
use crate::output::{thousands, Align, Outcome, Table, SCHEMA_VERSION};
use crate::sessionstore::{open as open_store, Manifest, Store};
use anyhow::{Context, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub fn command_name(c: &SessionsCmd) -> &'static str {
    match c {
        SessionsCmd::List { .. } => "sessions list",
        SessionsCmd::Restore(_) => "sessions restore",
    }
}

pub fn run(ctx: &Ctx, c: &SessionsCmd) -> Result<Outcome> {
    match c {
        SessionsCmd::List { agent } => list(ctx, agent.as_deref()),
        SessionsCmd::Restore(a) => {
            ctx.run_job("sessions-restore", crate::sessionstore::LOCK, |ctx, _| {
                crate::sessionstore::writing(ctx, || restore(ctx, a))
            })
        }
    }
}

fn human(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < U.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

fn list(ctx: &Ctx, agent: Option<&str>) -> Result<Outcome> {
    let store = open_store(ctx);
    let (manifests, bad) = store.manifests(agent)?;
    for (p, e) in &bad {
        ctx.out.warn(&format!("{}: {e}", p.display()));
    }
    let mut groups: BTreeMap<(String, String), Vec<&Manifest>> = BTreeMap::new();
    for m in &manifests {
        groups
            .entry((m.agent.clone(), m.group.clone()))
            .or_default()
            .push(m);
    }
    let mut rows = Table::new(&[
        ("AGENT", Align::Left),
        ("SESSION", Align::Left),
        ("KEY", Align::Left),
        ("SNAPS", Align::Right),
        ("FIRST", Align::Left),
        ("NEWEST", Align::Left),
        ("SIZE", Align::Right),
        ("LINES", Align::Right),
        ("FILES", Align::Left),
    ])
    // Ids and keys stay recognisable; the first snapshot's time gives way before they do.
    .keep(0, 8)
    .keep(1, 13)
    .keep(2, 13)
    .keep(4, 16)
    .keep(5, 16)
    .optional(4);
    let zone = ctx.zone();
    // Minutes in the settings' zone: the seconds and offset are in --json.
    let when = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| {
                zone.wall(t.with_timezone(&chrono::Utc))
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|_| t.to_string())
    };
    let mut docs = Vec::new();
    for ((agent, group), mut ms) in groups {
        ms.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        let newest = ms[ms.len() - 1];
        let key = ms
            .iter()
            .rev()
            .find_map(|m| m.session_key.clone())
            .unwrap_or_default();
        let mut files: Vec<&str> = ms.iter().map(|m| m.kind.as_str()).collect();
        files.sort();
        files.dedup();
        let session = match group.as_str() {
            "_store" => "(sessions.json)".to_string(),
            "_db" => "(database)".to_string(),
            g => g.to_string(),
        };
        rows.row(vec![
            agent.clone(),
            session.clone(),
            key.clone(),
            thousands(ms.len() as i64),
            when(&ms[0].created_at),
            when(&newest.created_at),
            human(newest.size),
            thousands(newest.lines as i64),
            files.join(","),
        ]);
        docs.push(json!({
            "agent": agent,
            "session": group,
            "key": key,
            "snapshots": ms.iter().rev().map(|m| json!({
                "id": m.id, "created_at": m.created_at, "path": m.path, "kind": m.kind,
                "size": m.size, "lines": m.lines, "sha256": m.sha256,
                "compaction_count": m.compaction_count,
            })).collect::<Vec<_>>(),
        }));
    }
    let stored = dir_size(&store.chunks_dir());
    let mut text = if manifests.is_empty() {
        "the store holds no snapshots yet (run `claw compaction-backup`)\n".to_string()
    } else {
        rows.render()
    };
    text.push_str(&format!(
        "{} snapshots of {} sessions; store holds {} in chunks\n",
        manifests.len(),
        docs.len(),
        human(stored)
    ));
    let mut o = Outcome::ok(format!("{} snapshots", manifests.len())).with_text(text);
    o.json =
        Some(json!({"schema_version": SCHEMA_VERSION, "stored_bytes": stored, "sessions": docs}));
    Ok(o)
}

fn dir_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .sum()
}

/// Newest first.
fn newest_first(ms: &mut [&Manifest]) {
    ms.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
}

fn restore(ctx: &Ctx, a: &SessionRestoreArgs) -> Result<Outcome> {
    let store = open_store(ctx);
    let (manifests, bad) = store.manifests(None)?;
    for (p, e) in &bad {
        ctx.out.warn(&format!("{}: unreadable: {e}", p.display()));
    }
    let chosen: Option<&Manifest> = if let Some(prefix) = &a.snapshot {
        let hits: Vec<&Manifest> = manifests
            .iter()
            .filter(|m| m.id.starts_with(prefix.as_str()))
            .collect();
        match hits.len() {
            0 if !bad.is_empty() => {
                return Err(fail(
                    Code::DataErr,
                    format!(
                        "no readable snapshot {prefix}, and {} snapshot manifest(s) are unreadable (first: {})",
                        bad.len(),
                        bad[0].0.display()
                    ),
                ))
            }
            0 => {
                return Err(fail(
                    Code::NoInput,
                    format!("{}: no snapshot {prefix}", store.snapshots_dir().display()),
                ))
            }
            1 => Some(hits[0]),
            n => {
                return Err(fail(
                    Code::Usage,
                    format!("snapshot {prefix}: {n} snapshots match; give more of the id"),
                ))
            }
        }
    } else {
        let mut hits: Vec<&Manifest> = manifests
            .iter()
            .filter(|m| m.session_id.is_some())
            .filter(|m| {
                m.session_id.as_deref() == Some(a.session.as_str())
                    || m.session_key.as_deref() == Some(a.session.as_str())
            })
            .collect();
        newest_first(&mut hits);
        hits.first().copied()
    };
    if let Some(m) = chosen.filter(|m| m.kind != "sqlite") {
        return restore_file(ctx, &store, m, a);
    }
    // SQLite era: the session lives in an agent database snapshot.
    let mut dbs: Vec<&Manifest> = match chosen {
        Some(m) => vec![m],
        None => manifests.iter().filter(|m| m.kind == "sqlite").collect(),
    };
    newest_first(&mut dbs);
    let mut seen_agent = std::collections::HashSet::new();
    for db in dbs {
        // Only the newest database snapshot of each agent, unless one was named.
        if a.snapshot.is_none() && !seen_agent.insert(db.agent.clone()) {
            continue;
        }
        if let Some(done) = export_sqlite(ctx, &store, db, a)? {
            return Ok(done);
        }
    }
    if let Some((p, _)) = bad.first() {
        // The session may well be in a manifest that cannot be read: never say it is absent.
        return Err(fail(
            Code::DataErr,
            format!(
                "no readable snapshot holds session {}, and {} snapshot manifest(s) are unreadable (first: {})",
                a.session,
                bad.len(),
                p.display()
            ),
        ));
    }
    Err(fail(
        Code::NoInput,
        format!(
            "{}: no snapshot holds session {}",
            store.snapshots_dir().display(),
            a.session
        ),
    ))
}

fn check_target(path: &Path, force: bool) -> Result<()> {
    if fs::symlink_metadata(path).is_ok() && !force {
        return Err(fail(
            Code::Usage,
            format!(
                "{}: exists (a live file?); pass --force to overwrite or --to DIR",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Write through a temp file in the target directory, then rename over the target.
fn write_atomically(target: &Path, fill: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let prefix = format!(
        ".{}.claw-restore-",
        target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    // A restore of this file killed earlier left its temp copy here (in OpenClaw's own
    // directory): remove it now, under the same lock, so it never piles up.
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = fs::remove_file(e.path());
        }
    }
    let tmp = dir.join(format!("{prefix}{}", crate::safefs::unique_suffix()));
    let result = (|| -> Result<()> {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("{}: cannot create", tmp.display()))?;
        let mut w = BufWriter::new(f);
        fill(&mut w)?;
        let f = w
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("{}: write failed", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("{}: fsync failed", tmp.display()))?;
        fs::rename(&tmp, target).with_context(|| format!("{}: rename failed", target.display()))?;
        crate::atomic::sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn target_dir(ctx: &Ctx, a: &SessionRestoreArgs, original: Option<&Path>) -> Result<PathBuf> {
    match (&a.to, original) {
        (Some(d), _) => {
            crate::atomic::create_private_dir(d)?;
            Ok(d.clone())
        }
        (None, Some(o)) => {
            let d = o
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| ctx.paths.openclaw_dir.clone());
            crate::atomic::create_private_dir(&d)?;
            Ok(d)
        }
        (None, None) => Err(fail(
            Code::Usage,
            "a SQLite-era session has no JSONL file to go back to; pass --to DIR",
        )),
    }
}

fn restore_file(ctx: &Ctx, store: &Store, m: &Manifest, a: &SessionRestoreArgs) -> Result<Outcome> {
    // The path comes from a manifest: confined to OpenClaw's state dir (checked for `..` and
    // absolute paths when read, here for symlinked directories on the way).
    let original = crate::safefs::confined_join(&ctx.paths.openclaw_dir, &m.path)
        .map_err(|e| fail(Code::DataErr, format!("snapshot {}: {e}", m.id)))?;
    let dir = target_dir(ctx, a, Some(&original))?;
    let target = dir.join(m.file_name());
    check_target(&target, a.force)?;
    if let Some(t) = &m.link_target {
        if a.force {
            let _ = fs::remove_file(&target);
        }
        std::os::unix::fs::symlink(t, &target)
            .with_context(|| format!("{}: cannot create link", target.display()))?;
    } else {
        write_atomically(&target, |w| store.write_content(m, w))?;
    }
    let text = format!(
        "restored snapshot {} ({} lines, {} bytes, taken {}) to {}\n",
        m.id,
        m.lines,
        m.size,
        m.created_at,
        target.display()
    );
    Ok(
        Outcome::ok(format!("restored {} to {}", m.id, target.display()))
            .with_text(text)
            .with_detail(json!({"snapshot": m.id, "path": target, "lines": m.lines})),
    )
}

/// Export one session from a database snapshot as JSONL; `None` when it is not in there.
fn export_sqlite(
    ctx: &Ctx,
    store: &Store,
    db: &Manifest,
    a: &SessionRestoreArgs,
) -> Result<Option<Outcome>> {
    crate::atomic::create_private_dir(&store.tmp_dir())?;
    let tmp = store.tmp_dir().join(format!(
        "restore-{}-{}.sqlite",
        db.id,
        crate::safefs::unique_suffix()
    ));
    let result = (|| -> Result<Option<Outcome>> {
        {
            let f =
                File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
            let mut w = BufWriter::new(f);
            store.write_content(db, &mut w)?;
            w.flush()?;
        }
        let conn = rusqlite::Connection::open(&tmp)
            .with_context(|| format!("{}: cannot open database snapshot", tmp.display()))?;
        let sid = agentdb::session_of_key(&conn, &a.session).unwrap_or_else(|| a.session.clone());
        if agentdb::count_events(&conn, &sid)? == 0 {
            return Ok(None);
        }
        let dir = target_dir(ctx, a, None)?;
        let target = dir.join(format!("{sid}.jsonl"));
        check_target(&target, a.force)?;
        let mut lines = 0u64;
        write_atomically(&target, |w| {
            agentdb::session_events(&conn, &sid, |e| {
                let bad = |why: String| {
                    fail(
                        Code::DataErr,
                        format!("snapshot {}: event {} of {sid}{why}", db.id, e.seq),
                    )
                };
                let line = match e.line {
                    Some(Ok(l)) => l,
                    Some(Err(why)) => return Err(bad(format!(": {why}"))),
                    None => return Err(bad(" has no content".into())),
                };
                w.write_all(line.strip_suffix(b"\n").unwrap_or(&line))?;
                w.write_all(b"\n")?;
                lines += 1;
                Ok(())
            })
        })?;
        let text = format!(
            "exported session {sid} ({lines} lines) from database snapshot {} (taken {}) to {}\n",
            db.id,
            db.created_at,
            target.display()
        );
        Ok(Some(
            Outcome::ok(format!("exported {sid} from {}", db.id))
                .with_text(text)
                .with_detail(json!({"snapshot": db.id, "path": target, "lines": lines})),
        ))
    })();
    let _ = fs::remove_file(&tmp);
    for ext in ["-wal", "-shm", "-journal"] {
        let _ = fs::remove_file(format!("{}{ext}", tmp.display()));
    }
    result
}
