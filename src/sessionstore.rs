//! The transcript store: `<claw state>/backups/sessions/`, written by `compaction-backup`,
//! read by `sessions`.
//!
//! ```text
//! chunks/<aa>/<sha256>.zst                 one chunk, named by the sha256 of its plain bytes
//! snapshots/<agent>/<group>/<id>.json      one manifest per snapshot of one file
//! tmp/                                     SQLite online-backup copies being stored
//! ```
//! A snapshot is a manifest listing chunks; a file's content is their concatenation. Chunks
//! end at line ends (JSONL) or every 1 MiB (databases), so a transcript that only grew reuses
//! every chunk of its previous snapshot (each re-hashed before reuse) and stores just the tail;
//! identical content anywhere is stored once. Chunks, then the manifest, are written by
//! temp + rename: a crash leaves at most unreferenced chunks, never a manifest without them.
//! A manifest's id is derived from (path, content hash), so a re-run after a crash writes the
//! same snapshot again instead of a duplicate.

use crate::atomic;
use crate::ctx::Ctx;
use crate::digest::{hex, sha256_hex};
use crate::exit::{fail, Code};
use crate::output::Outcome;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock shared by every writer of the store (`compaction-backup`, `sessions restore`).
pub const LOCK: &str = "compaction-backup";

/// The store under this run's state dir, with the configured zstd level.
pub fn open(ctx: &Ctx) -> Store {
    Store::new(
        ctx.paths.backups().join("sessions"),
        ctx.settings.compaction_backup.zstd_level,
    )
}

/// Run `f`, which writes the store, between [`Store::begin_write`] and [`Store::end_write`]
/// (so what a killed run leaves is swept by the next). Call under the store's lock.
pub fn writing(ctx: &Ctx, f: impl FnOnce() -> Result<Outcome>) -> Result<Outcome> {
    if ctx.dry_run {
        return f();
    }
    let store = open(ctx);
    let swept = store.begin_write()?;
    if swept > 0 {
        ctx.out.note(&format!(
            "{}: removed {swept} temp files of an interrupted run",
            store.root.display()
        ));
    }
    let r = f();
    if r.is_ok() {
        store.end_write()?;
    }
    r
}

/// Largest chunk of a JSONL file (cut at the last line end before it when there is one).
pub const LINE_CHUNK: usize = 4 << 20;
/// Fixed chunk size for databases and other binary content.
pub const FIXED_CHUNK: usize = 1 << 20;
/// In the names of temp files (`.<name>.claw-tmp-<unique>`), swept after a killed run.
const TMP_MARK: &str = ".claw-tmp-";
/// Bump when the manifest layout changes incompatibly.
pub const FORMAT: u32 = 1;

/// One chunk reference in a manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChunkRef {
    pub sha256: String,
    pub size: u64,
}

/// One snapshot of one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub created_at: String,
    pub agent: String,
    /// Session id, or `_store` (sessions.json), `_db` (agent database), `_global`.
    pub group: String,
    /// Source path relative to OpenClaw's state dir.
    pub path: String,
    /// live, reset, deleted, checkpoint, store, sqlite, symlink.
    pub kind: String,
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub session_key: Option<String>,
    #[serde(default)]
    pub compaction_count: Option<i64>,
    pub size: u64,
    pub sha256: String,
    pub lines: u64,
    /// For symlinks: the link's target, stored as text and never followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    pub chunks: Vec<ChunkRef>,
}

impl Manifest {
    /// The file name the snapshot was taken from.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// A snapshot's id: the same file content at the same path is the same snapshot.
pub fn snapshot_id(path: &str, sha256: &str) -> String {
    sha256_hex(format!("{path}\0{sha256}").as_bytes())[..16].to_string()
}

/// A manifest that does not parse, and why.
pub type BadManifest = (PathBuf, String);

/// How the content of a file is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cut {
    /// JSONL: chunks end at line ends (at most [`LINE_CHUNK`] unless one line is longer).
    Lines,
    /// Binary: every [`FIXED_CHUNK`] bytes.
    Fixed,
}

/// What storing some content produced.
#[derive(Debug, Default)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
    pub lines: u64,
    pub chunks: Vec<ChunkRef>,
    /// Compressed bytes this content added to the store.
    pub new_bytes: u64,
    pub new_chunks: u64,
}

/// The store at `root`.
pub struct Store {
    pub root: PathBuf,
    pub level: i32,
}

impl Store {
    pub fn new(root: PathBuf, level: i32) -> Store {
        Store { root, level }
    }

    pub fn chunks_dir(&self) -> PathBuf {
        self.root.join("chunks")
    }
    pub fn snapshots_dir(&self) -> PathBuf {
        self.root.join("snapshots")
    }
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn in_progress(&self) -> PathBuf {
        self.root.join(".in-progress")
    }

    /// Start a run that writes the store (under the compaction-backup lock). When the last
    /// such run did not finish (killed, or failed), first remove what it left: SQLite copies
    /// in `tmp/`, and temp files of chunks and manifests. Returns how many were removed.
    pub fn begin_write(&self) -> Result<usize> {
        atomic::create_private_dir(&self.root)?;
        let marker = self.in_progress();
        // Temp files of the marker itself, from releases that wrote it through a rename.
        let mut n = atomic::sweep_temps(&marker);
        if marker.exists() {
            n += self.sweep()?;
        }
        // An empty file needs no temp-and-rename: it exists or it does not, so a kill here
        // leaves nothing behind.
        {
            use std::os::unix::fs::OpenOptionsExt;
            fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&marker)
                .with_context(|| format!("{}: cannot create", marker.display()))?;
        }
        Ok(n)
    }

    /// The run started by [`Store::begin_write`] finished cleanly.
    pub fn end_write(&self) -> Result<()> {
        let m = self.in_progress();
        fs::remove_file(&m).with_context(|| format!("{}: cannot remove", m.display()))
    }

    fn sweep(&self) -> Result<usize> {
        let mut n = 0;
        for e in fs::read_dir(self.tmp_dir()).into_iter().flatten().flatten() {
            if fs::remove_file(e.path()).is_ok() {
                n += 1;
            }
        }
        for dir in [self.chunks_dir(), self.snapshots_dir()] {
            for e in walkdir::WalkDir::new(&dir)
                .follow_links(false)
                .into_iter()
                .flatten()
            {
                let name = e.file_name().to_string_lossy();
                if e.file_type().is_file()
                    && name.starts_with('.')
                    && name.contains(TMP_MARK)
                    && fs::remove_file(e.path()).is_ok()
                {
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    pub fn chunk_path(&self, sha: &str) -> PathBuf {
        self.chunks_dir().join(&sha[..2]).join(format!("{sha}.zst"))
    }

    pub fn manifest_path(&self, agent: &str, group: &str, id: &str) -> PathBuf {
        self.snapshots_dir()
            .join(agent)
            .join(group)
            .join(format!("{id}.json"))
    }

    /// Store one chunk unless the store already has it; returns the compressed bytes written.
    fn put_chunk(&self, data: &[u8]) -> Result<(ChunkRef, u64)> {
        let sha = sha256_hex(data);
        let path = self.chunk_path(&sha);
        let r = ChunkRef {
            sha256: sha,
            size: data.len() as u64,
        };
        // A chunk cut short by a power loss before the run's sync is no zstd frame (>= 9
        // bytes) and is written again; anything subtler is what `verify` is for.
        if fs::metadata(&path).is_ok_and(|m| m.len() >= 9) {
            return Ok((r, 0));
        }
        let packed = zstd::bulk::compress(data, self.level)
            .with_context(|| format!("{}: zstd compression failed", path.display()))?;
        if let Some(dir) = path.parent() {
            atomic::create_private_dir(dir)?;
        }
        write_unsynced(&path, &packed)?;
        Ok((r, packed.len() as u64))
    }

    /// Store the first `len` bytes read from `src`, reusing `base` chunks while the content
    /// matches them (each one re-hashed), then cutting new chunks as `cut` says.
    pub fn put_stream(
        &self,
        src: &mut dyn Read,
        len: u64,
        cut: Cut,
        base: &[ChunkRef],
    ) -> Result<Stored> {
        let mut whole = Sha256::new();
        let mut out = Stored {
            size: len,
            ..Stored::default()
        };
        let mut remaining = len;
        let mut pending: Vec<u8> = Vec::new();
        let mut last_byte = b'\n';
        let mut lines = 0u64;
        let mut count = |buf: &[u8], whole: &mut Sha256| {
            whole.update(buf);
            lines += memchr_count(buf);
            if let Some(b) = buf.last() {
                last_byte = *b;
            }
        };
        // Reuse the base's chunks while the content still matches them.
        for c in base {
            if c.size > remaining || c.size == 0 {
                break;
            }
            let mut buf = vec![0u8; c.size as usize];
            src.read_exact(&mut buf)
                .context("source shrank while reading")?;
            remaining -= c.size;
            count(&buf, &mut whole);
            if sha256_hex(&buf) == c.sha256 && self.chunk_path(&c.sha256).exists() {
                out.chunks.push(c.clone());
            } else {
                pending = buf;
                break;
            }
        }
        let target = match cut {
            Cut::Lines => LINE_CHUNK,
            Cut::Fixed => FIXED_CHUNK,
        };
        let mut fault_armed = atomic::fault_point("cbackup-mid-snapshot");
        let mut emit = |data: &[u8], out: &mut Stored| -> Result<()> {
            let (r, n) = self.put_chunk(data)?;
            if n > 0 {
                out.new_chunks += 1;
                out.new_bytes += n;
                // A crash after a chunk of a snapshot is stored and before its manifest.
                if fault_armed {
                    fault_armed = false;
                    eprintln!("claw: fault injected: cbackup-mid-snapshot");
                    std::process::abort();
                }
            }
            out.chunks.push(r);
            Ok(())
        };
        let mut buf = vec![0u8; 1 << 20];
        loop {
            while pending.len() >= target {
                let at = match cut {
                    Cut::Lines => pending[..target]
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map(|p| p + 1)
                        .unwrap_or(target),
                    Cut::Fixed => target,
                };
                emit(&pending[..at], &mut out)?;
                pending.drain(..at);
            }
            if remaining == 0 {
                break;
            }
            let want = buf.len().min(remaining as usize);
            src.read_exact(&mut buf[..want])
                .context("source shrank while reading")?;
            remaining -= want as u64;
            count(&buf[..want], &mut whole);
            pending.extend_from_slice(&buf[..want]);
        }
        if !pending.is_empty() {
            emit(&pending, &mut out)?;
        }
        out.lines = lines + u64::from(len > 0 && last_byte != b'\n');
        out.sha256 = hex(&whole.finalize());
        Ok(out)
    }

    /// Make everything written so far durable: one `syncfs` for the whole store instead of
    /// an fsync per file. Chunks are synced before the manifests that name them are written,
    /// and manifests before the ledger records them.
    pub fn sync(&self) -> Result<()> {
        use std::os::unix::io::AsRawFd;
        atomic::create_private_dir(&self.root)?;
        let d = File::open(&self.root)
            .with_context(|| format!("{}: cannot open", self.root.display()))?;
        // SAFETY: syncfs only reads the descriptor, which `d` keeps open for the call.
        if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("{}: syncfs failed", self.root.display()));
        }
        Ok(())
    }

    /// Write a manifest (durable after the next [`Store::sync`]). The same content seen again
    /// at the same path has the same id: the manifest is replaced with the newer time (a
    /// re-run after a crash lands here too).
    pub fn put_manifest(&self, m: &Manifest) -> Result<()> {
        let path = self.manifest_path(&m.agent, &m.group, &m.id);
        if let Some(dir) = path.parent() {
            atomic::create_private_dir(dir)?;
        }
        let mut text = serde_json::to_vec_pretty(m)?;
        text.push(b'\n');
        write_unsynced(&path, &text)
    }

    /// Read a manifest (never through a symlink, never blocking on a FIFO) and check it.
    pub fn read_manifest(&self, path: &Path) -> Result<Manifest> {
        let b = crate::safefs::read_with(path, crate::safefs::Follow::No)
            .with_context(|| format!("{}: cannot read manifest", path.display()))?;
        let m: Manifest = crate::safefs::json_from_slice(&b).map_err(|e| {
            fail(
                Code::DataErr,
                format!("{}: bad manifest: {e}", path.display()),
            )
        })?;
        self.check(&m, path).map_err(|e| {
            fail(
                Code::DataErr,
                format!("{}: bad manifest: {e}", path.display()),
            )
        })?;
        Ok(m)
    }

    /// A manifest is outside input: before anything slices, joins or deletes by what it says,
    /// its id must be the one its content gives (so an edited path or hash is caught), it must
    /// sit where its agent/group/id put it, and every hash must be a hash.
    fn check(&self, m: &Manifest, found_at: &Path) -> std::result::Result<(), String> {
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex64(&m.sha256) || m.chunks.iter().any(|c| !hex64(&c.sha256)) {
            return Err("a sha256 is not 64 hex digits".into());
        }
        crate::safefs::confined_join(Path::new("/"), &m.path)?;
        for part in [&m.agent, &m.group] {
            if part.is_empty() || part.contains('/') || part == "." || part == ".." {
                return Err(format!("agent/group {part:?} is not a plain name"));
            }
        }
        if m.id != snapshot_id(&m.path, &m.sha256) {
            return Err(format!(
                "id {} does not match its path and content (edited?)",
                m.id
            ));
        }
        if self.manifest_path(&m.agent, &m.group, &m.id) != found_at {
            return Err("not where its agent, group and id place it".into());
        }
        if m.chunks.iter().map(|c| c.size).sum::<u64>() != m.size && m.link_target.is_none() {
            return Err("chunk sizes do not add up to the file size".into());
        }
        Ok(())
    }

    /// Every manifest path under `snapshots/` (optionally one agent's), sorted, and the
    /// entries named like a manifest that are not a regular file (a directory, FIFO, symlink):
    /// those are unreadable manifests, never silently absent ones.
    pub fn manifest_paths(&self, agent: Option<&str>) -> Result<(Vec<PathBuf>, Vec<BadManifest>)> {
        let root = match agent {
            Some(a) => self.snapshots_dir().join(a),
            None => self.snapshots_dir(),
        };
        let mut out = Vec::new();
        let mut bad = Vec::new();
        if !root.is_dir() {
            return Ok((out, bad));
        }
        for e in walkdir::WalkDir::new(&root).follow_links(false) {
            let e = e.with_context(|| format!("{}: cannot list snapshots", root.display()))?;
            let name = e.file_name().to_string_lossy();
            if !name.ends_with(".json") || name.starts_with('.') {
                continue;
            }
            if e.file_type().is_file() {
                out.push(e.into_path());
            } else {
                let what = if e.file_type().is_dir() {
                    "a directory"
                } else if e.file_type().is_symlink() {
                    "a symlink"
                } else {
                    "a special file"
                };
                bad.push((
                    e.path().to_path_buf(),
                    format!("{}: is {what}, not a manifest file", e.path().display()),
                ));
            }
        }
        out.sort();
        Ok((out, bad))
    }

    /// Every manifest that reads and checks, with the paths of those that do not.
    pub fn manifests(&self, agent: Option<&str>) -> Result<(Vec<Manifest>, Vec<BadManifest>)> {
        let mut good = Vec::new();
        let (paths, mut bad) = self.manifest_paths(agent)?;
        for p in paths {
            match self.read_manifest(&p) {
                Ok(m) => good.push(m),
                Err(e) => bad.push((p, format!("{e:#}"))),
            }
        }
        Ok((good, bad))
    }

    /// One chunk's plain bytes, checked against its name.
    pub fn read_chunk(&self, c: &ChunkRef) -> Result<Vec<u8>> {
        let path = self.chunk_path(&c.sha256);
        let packed = crate::safefs::read(&path)
            .with_context(|| format!("{}: cannot read chunk", path.display()))?;
        let data = zstd::stream::decode_all(&packed[..]).map_err(|e| {
            fail(
                Code::DataErr,
                format!("{}: damaged chunk: {e}", path.display()),
            )
        })?;
        if data.len() as u64 != c.size || sha256_hex(&data) != c.sha256 {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{}: damaged chunk: content does not match its hash",
                    path.display()
                ),
            ));
        }
        Ok(data)
    }

    /// Write a snapshot's content to `w`, checking every chunk and the whole hash.
    pub fn write_content(&self, m: &Manifest, w: &mut dyn Write) -> Result<()> {
        let mut whole = Sha256::new();
        for c in &m.chunks {
            let data = self.read_chunk(c)?;
            whole.update(&data);
            w.write_all(&data)
                .context("cannot write restored content")?;
        }
        if hex(&whole.finalize()) != m.sha256 {
            return Err(fail(
                Code::DataErr,
                format!("snapshot {}: content does not match its sha256", m.id),
            ));
        }
        Ok(())
    }
}

/// Temp file + rename without an fsync of its own: [`Store::sync`] makes a batch durable.
/// Readers still see the old file or the new one, never half of one.
fn write_unsynced(path: &Path, data: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(
        ".{name}{TMP_MARK}{}",
        crate::safefs::unique_suffix()
    ));
    let r = (|| -> Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("{}: cannot create", tmp.display()))?;
        f.write_all(data)
            .with_context(|| format!("{}: write failed", tmp.display()))?;
        drop(f);
        fs::rename(&tmp, path).with_context(|| format!("{}: rename failed", path.display()))
    })();
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r
}

fn memchr_count(buf: &[u8]) -> u64 {
    buf.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The length of `f` up to and including its last line end (0 when it has none).
pub fn complete_lines_len(f: &mut File, size: u64) -> Result<u64> {
    let mut end = size;
    let mut buf = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf[..n])?;
        if let Some(p) = buf[..n].iter().rposition(|&b| b == b'\n') {
            f.seek(SeekFrom::Start(0))?;
            return Ok(start + p as u64 + 1);
        }
        end = start;
    }
    f.seek(SeekFrom::Start(0))?;
    Ok(0)
}

/// sha256 of the first 64 KiB (a cheap rewrite detector kept in the stat cache).
pub fn head_sha(f: &mut File) -> Result<String> {
    let mut buf = Vec::with_capacity(64 << 10);
    f.seek(SeekFrom::Start(0))?;
    Read::by_ref(f).take(64 << 10).read_to_end(&mut buf)?;
    f.seek(SeekFrom::Start(0))?;
    Ok(sha256_hex(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path().join("s"), 3);
        (d, s)
    }

    fn put(s: &Store, data: &[u8], cut: Cut, base: &[ChunkRef]) -> Stored {
        s.put_stream(&mut &data[..], data.len() as u64, cut, base)
            .unwrap()
    }

    #[test]
    fn growth_reuses_prefix_chunks_and_stores_only_the_tail() {
        let (_d, s) = store();
        let mut text = String::new();
        for i in 0..200_000 {
            text.push_str(&format!("{{\"type\":\"message\",\"id\":\"{i:08x}\"}}\n"));
        }
        let a = put(&s, text.as_bytes(), Cut::Lines, &[]);
        assert!(a.chunks.len() >= 2, "{} chunks", a.chunks.len());
        assert!(a.chunks.iter().all(|c| c.size <= LINE_CHUNK as u64));
        assert_eq!(a.lines, 200_000);
        let tail = "{\"type\":\"message\",\"id\":\"tail\"}\n";
        text.push_str(tail);
        let b = put(&s, text.as_bytes(), Cut::Lines, &a.chunks);
        assert_eq!(&b.chunks[..a.chunks.len()], &a.chunks[..]);
        assert_eq!(b.new_chunks, 1);
        assert_eq!(b.chunks.last().unwrap().size, tail.len() as u64);
        // Unchanged: nothing new.
        let c = put(&s, text.as_bytes(), Cut::Lines, &b.chunks);
        assert_eq!((c.new_chunks, c.new_bytes), (0, 0));
        assert_eq!(c.sha256, sha256_hex(text.as_bytes()));
    }

    #[test]
    fn a_run_killed_while_marking_itself_leaves_nothing_after_the_next() {
        let (_d, s) = store();
        atomic::create_private_dir(&s.root).unwrap();
        // What an older release, killed between the marker's temp file and its rename, left.
        let stale = s.root.join("..in-progress.claw-tmp-999-0123456789abcdef-0");
        fs::write(&stale, b"").unwrap();
        assert_eq!(s.begin_write().unwrap(), 1);
        assert!(!stale.exists());
        assert!(s.in_progress().exists());
        s.end_write().unwrap();
        let names: Vec<_> = fs::read_dir(&s.root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn rewritten_prefix_is_not_reused() {
        let (_d, s) = store();
        let a = put(&s, b"one\ntwo\n", Cut::Lines, &[]);
        let b = put(&s, b"ONE\ntwo\nthree\n", Cut::Lines, &a.chunks);
        assert_ne!(b.chunks[0], a.chunks[0]);
        let m = Manifest {
            format: FORMAT,
            id: "x".into(),
            created_at: String::new(),
            agent: "a".into(),
            group: "g".into(),
            path: "p".into(),
            kind: "live".into(),
            session_id: None,
            session_key: None,
            compaction_count: None,
            size: b.size,
            sha256: b.sha256.clone(),
            lines: b.lines,
            link_target: None,
            chunks: b.chunks,
        };
        let mut out = Vec::new();
        s.write_content(&m, &mut out).unwrap();
        assert_eq!(out, b"ONE\ntwo\nthree\n");
        assert_eq!(m.lines, 3);
    }

    #[test]
    fn complete_lines_len_drops_a_partial_line() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        fs::write(&p, b"a\nbb\npart").unwrap();
        let mut f = File::open(&p).unwrap();
        assert_eq!(complete_lines_len(&mut f, 9).unwrap(), 5);
        fs::write(&p, b"partial").unwrap();
        let mut f = File::open(&p).unwrap();
        assert_eq!(complete_lines_len(&mut f, 7).unwrap(), 0);
    }
}
