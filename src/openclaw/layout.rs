//! Where an OpenClaw state dir keeps sessions, in both storage eras, and what each file is.
//!
//! Every job that walks agents or transcripts asks this module, so "which files are
//! transcripts" has one answer: live `<sid>.jsonl`, archives `.jsonl.reset.<ts>` and
//! `.jsonl.deleted.<ts>[.zst]`, pre-compaction `<sid>.checkpoint.<uuid>.jsonl` copies, the
//! SQLite era's `openclaw-agent.sqlite`, and sidecars that are never transcripts.

use crate::incremental::Stat;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// What a file in a sessions directory is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// `<sid>.jsonl`: the live, append-only transcript.
    Live { session_id: String },
    /// `<sid>.jsonl.reset.<ts>` (after /new or /reset).
    Reset {
        session_id: String,
        ts: String,
        zst: bool,
    },
    /// `<sid>.jsonl.deleted.<ts>` (archived subagents), possibly `.zst`.
    Deleted {
        session_id: String,
        ts: String,
        zst: bool,
    },
    /// `<sid>.checkpoint.<uuid>.jsonl`: a pre-compaction copy repeating earlier lines.
    Checkpoint {
        session_id: String,
        checkpoint: String,
    },
    /// `sessions.json`: the session store.
    Store,
    /// `<sid>.jsonl.lock`: a writer's lock `{pid, createdAt}`.
    Lock { session_id: String },
    /// Trajectory traces, cost caches and other files that are not transcripts.
    Sidecar,
}

impl FileKind {
    /// A file whose lines are transcript entries (possibly compressed).
    pub fn is_transcript(&self) -> bool {
        matches!(
            self,
            FileKind::Live { .. }
                | FileKind::Reset { .. }
                | FileKind::Deleted { .. }
                | FileKind::Checkpoint { .. }
        )
    }

    pub fn session_id(&self) -> Option<&str> {
        match self {
            FileKind::Live { session_id }
            | FileKind::Reset { session_id, .. }
            | FileKind::Deleted { session_id, .. }
            | FileKind::Checkpoint { session_id, .. }
            | FileKind::Lock { session_id } => Some(session_id),
            _ => None,
        }
    }

    pub fn is_compressed(&self) -> bool {
        matches!(
            self,
            FileKind::Reset { zst: true, .. } | FileKind::Deleted { zst: true, .. }
        )
    }
}

/// `str::split_once` at the first `pat`, found with memchr's searcher: `split_once` builds a
/// two-way searcher on every call, a visible share of listing tens of thousands of names.
fn split_first<'a>(s: &'a str, pat: &str) -> Option<(&'a str, &'a str)> {
    let i = memchr::memmem::find(s.as_bytes(), pat.as_bytes())?;
    // `pat` is whole UTF-8, so both ends of the match are char boundaries.
    Some((&s[..i], &s[i + pat.len()..]))
}

/// Classify a file name found in `agents/<id>/sessions/`.
pub fn classify(name: &str) -> FileKind {
    if name == "sessions.json" {
        return FileKind::Store;
    }
    if name.ends_with(".trajectory.jsonl")
        || name.ends_with(".trajectory-path.json")
        || name.starts_with('.')
    {
        return FileKind::Sidecar;
    }
    if let Some(sid) = name.strip_suffix(".jsonl.lock") {
        return FileKind::Lock {
            session_id: sid.to_string(),
        };
    }
    if let Some(stem) = name.strip_suffix(".jsonl") {
        if let Some((sid, cp)) = split_first(stem, ".checkpoint.") {
            return FileKind::Checkpoint {
                session_id: sid.to_string(),
                checkpoint: cp.to_string(),
            };
        }
        if !stem.contains('.') {
            return FileKind::Live {
                session_id: stem.to_string(),
            };
        }
        return FileKind::Sidecar;
    }
    for (marker, deleted) in [(".jsonl.reset.", false), (".jsonl.deleted.", true)] {
        if let Some((sid, rest)) = split_first(name, marker) {
            let (ts, zst) = match rest.strip_suffix(".zst") {
                Some(t) => (t.to_string(), true),
                None => (rest.to_string(), false),
            };
            let session_id = sid.to_string();
            return if deleted {
                FileKind::Deleted {
                    session_id,
                    ts,
                    zst,
                }
            } else {
                FileKind::Reset {
                    session_id,
                    ts,
                    zst,
                }
            };
        }
    }
    FileKind::Sidecar
}

/// One agent's directories.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    /// `agents/<id>/`
    pub dir: PathBuf,
    /// `agents/<id>/sessions/` (may not exist in the SQLite era).
    pub sessions_dir: PathBuf,
    /// `agents/<id>/agent/openclaw-agent.sqlite`, when present.
    pub sqlite: Option<PathBuf>,
}

impl Agent {
    pub fn store_path(&self) -> PathBuf {
        self.sessions_dir.join("sessions.json")
    }
    pub fn auth_state(&self) -> PathBuf {
        self.dir.join("agent").join("auth-state.json")
    }
    pub fn models_json(&self) -> PathBuf {
        self.dir.join("agent").join("models.json")
    }
}

/// Every agent under `<state>/agents/`, sorted by id. A missing `agents/` dir is no agents.
pub fn agents(openclaw_dir: &Path) -> std::io::Result<Vec<Agent>> {
    let root = openclaw_dir.join("agents");
    let rd = match std::fs::read_dir(&root) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent?;
        if !ent.file_type()?.is_dir() {
            continue;
        }
        let id = ent.file_name().to_string_lossy().into_owned();
        let dir = ent.path();
        let sqlite = dir.join("agent").join("openclaw-agent.sqlite");
        out.push(Agent {
            sessions_dir: dir.join("sessions"),
            sqlite: sqlite.is_file().then_some(sqlite),
            id,
            dir,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The directories an agent's transcripts live in: `sessions/`, and the archive OpenClaw
/// moves them to once imported into the SQLite era.
pub fn transcript_dirs(agent: &Agent) -> [PathBuf; 2] {
    [
        agent.sessions_dir.clone(),
        agent.sessions_dir.join("session-sqlite-import-archive"),
    ]
}

/// One transcript file of a listing.
#[derive(Debug)]
pub struct Listed {
    pub path: PathBuf,
    pub kind: FileKind,
    /// The inode, from the directory entry (no `stat`).
    pub ino: u64,
    /// Which of [`transcript_dirs`] it is in.
    pub dir: usize,
    /// [`crate::incremental::name_hash`] of the file name.
    pub name_hash: u64,
    /// Its `stat`, when the caller asked for it.
    pub st: Option<Stat>,
}

impl Listed {
    /// A file OpenClaw does not write again: a reset or deleted archive, a checkpoint copy,
    /// or anything in the SQLite import archive.
    pub fn is_archive(&self) -> bool {
        self.in_import_archive() || !matches!(self.kind, FileKind::Live { .. })
    }

    /// In the SQLite import archive (the second of [`transcript_dirs`]), whose lines the
    /// agent's database repeats.
    pub fn in_import_archive(&self) -> bool {
        self.dir == 1
    }
}

/// Every transcript file of an agent (live, reset, deleted, checkpoint; compressed or not),
/// in a fixed order. A file is `stat`ed (relative to its directory) when `want_stat` says so;
/// the others cost only their directory entry. Symlinks and files that vanish between the
/// listing and their `stat` are left out.
pub fn transcript_listing(
    agent: &Agent,
    mut want_stat: impl FnMut(&Listed) -> bool,
) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    for (i, dir) in transcript_dirs(agent).iter().enumerate() {
        list_dir(dir, i, &mut want_stat, &mut out)?;
    }
    sort_listing(&mut out);
    Ok(out)
}

/// Byte order of the whole path: cheap, and the same on every run.
pub fn sort_listing(files: &mut [Listed]) {
    files.sort_unstable_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
}

/// The transcript files of directory `dir` (number `i` of [`transcript_dirs`]) onto `out`,
/// unsorted; see [`transcript_listing`]. A directory that does not exist has none.
pub fn list_dir(
    dir: &Path,
    i: usize,
    mut want_stat: impl FnMut(&Listed) -> bool,
    out: &mut Vec<Listed>,
) -> Result<()> {
    use std::os::unix::fs::DirEntryExt;
    let rd = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot list", dir.display())),
    };
    for ent in rd {
        let ent = ent.with_context(|| format!("{}: cannot list", dir.display()))?;
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        let kind = classify(name);
        // The entry's own type (no `stat` on the filesystems OpenClaw runs on).
        if !kind.is_transcript() || !ent.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let mut l = Listed {
            path: ent.path(),
            kind,
            ino: ent.ino(),
            dir: i,
            name_hash: crate::incremental::name_hash(name.as_bytes()),
            st: None,
        };
        if want_stat(&l) {
            match ent.metadata() {
                Ok(md) if md.is_file() => l.st = Some(crate::incremental::stat_of(&md)),
                _ => continue,
            }
        }
        out.push(l);
    }
    Ok(())
}

/// The named files of directory `dir` (number `i` of [`transcript_dirs`]) onto `out`, each
/// `stat`ed, without listing the directory: for a directory known unchanged since the names
/// were listed. A name that is not a regular transcript file (any more) is left out.
pub fn stat_named(dir: &Path, i: usize, names: &[String], out: &mut Vec<Listed>) {
    // Each name is `stat`ed relative to the open directory: the kernel does not walk the whole
    // path again for each of thousands of files. A directory gone has none.
    let Some(d) = open_dir(dir) else {
        return;
    };
    for name in names {
        let kind = classify(name);
        if !kind.is_transcript() {
            continue;
        }
        let Some(st) = stat_file_at(&d, name) else {
            continue;
        };
        out.push(Listed {
            path: dir.join(name),
            kind,
            ino: st.1,
            dir: i,
            name_hash: crate::incremental::name_hash(name.as_bytes()),
            st: Some(st),
        });
    }
}

/// `dir`, open to reach its files by name (`stat`, open) without the kernel walking its path
/// again for each. Opened as a path only (Linux), it needs what a path through it needs:
/// search permission, not read. `None` when it cannot be opened (gone).
pub fn open_dir(dir: &Path) -> Option<std::fs::File> {
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_PATH | libc::O_DIRECTORY);
    }
    open.open(dir).ok()
}

/// The [`Stat`] of `name` in the open directory `dir`, when it is a regular file (not
/// followed if a symlink, as `symlink_metadata`).
fn stat_file_at(dir: &std::fs::File, name: &str) -> Option<Stat> {
    use std::os::fd::AsRawFd;
    let c = std::ffi::CString::new(name).ok()?;
    let mut s = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid directory descriptor, a NUL-terminated name, and room for the result.
    let r = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            s.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return None;
    }
    // SAFETY: fstatat filled it.
    let s = unsafe { s.assume_init() };
    if s.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    Some((
        s.st_dev,
        s.st_ino,
        s.st_size as u64,
        s.st_mtime * 1_000_000_000 + s.st_mtime_nsec,
    ))
}

/// Every transcript file of an agent with its `stat` (see [`transcript_listing`]).
pub fn transcript_files(agent: &Agent) -> Result<Vec<(PathBuf, FileKind, Stat)>> {
    Ok(transcript_listing(agent, |_| true)?
        .into_iter()
        .filter_map(|l| Some((l.path, l.kind, l.st?)))
        .collect())
}

/// The global SQLite database of the SQLite era, when present.
pub fn global_sqlite(openclaw_dir: &Path) -> Option<PathBuf> {
    let p = openclaw_dir.join("state").join("openclaw.sqlite");
    p.is_file().then_some(p)
}

/// `subagents/runs.json`.
pub fn runs_json(openclaw_dir: &Path) -> PathBuf {
    openclaw_dir.join("subagents").join("runs.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_first_splits_where_split_once_does() {
        for s in [
            "",
            "a.b",
            ".jsonl.reset.",
            "x.jsonl.reset.y.jsonl.reset.z",
            "é.jsonl.resetü",
            "no marker",
        ] {
            for pat in [".jsonl.reset.", ".", "é", "ü"] {
                assert_eq!(split_first(s, pat), s.split_once(pat), "{s:?} {pat:?}");
            }
        }
    }

    #[test]
    fn classifies_every_kind() {
        let sid = "8555a0a4-0b79-459d-939c-e17cdbbf4fe2";
        assert_eq!(
            classify(&format!("{sid}.jsonl")),
            FileKind::Live {
                session_id: sid.into()
            }
        );
        assert_eq!(
            classify(&format!("{sid}.jsonl.reset.2026-03-08T13-04-04.928Z")),
            FileKind::Reset {
                session_id: sid.into(),
                ts: "2026-03-08T13-04-04.928Z".into(),
                zst: false
            }
        );
        assert_eq!(
            classify(&format!("{sid}.jsonl.deleted.2026-03-08T13-04-04Z.zst")),
            FileKind::Deleted {
                session_id: sid.into(),
                ts: "2026-03-08T13-04-04Z".into(),
                zst: true
            }
        );
        assert_eq!(
            classify(&format!(
                "{sid}.checkpoint.11111111-2222-4333-8444-555555555555.jsonl"
            )),
            FileKind::Checkpoint {
                session_id: sid.into(),
                checkpoint: "11111111-2222-4333-8444-555555555555".into()
            }
        );
        assert_eq!(
            classify(&format!("{sid}.jsonl.lock")),
            FileKind::Lock {
                session_id: sid.into()
            }
        );
        for side in [
            format!("{sid}.trajectory.jsonl"),
            format!("{sid}.trajectory-path.json"),
            ".usage-cost-cache.json".into(),
        ] {
            assert_eq!(classify(&side), FileKind::Sidecar, "{side}");
            assert!(!classify(&side).is_transcript());
        }
        assert_eq!(classify("sessions.json"), FileKind::Store);
    }
}
