//! The config backup store: `<state>/backups/config/<id>/` holds the config, its `$include`
//! files under `includes/`, and a `manifest.json` with sha256 of each file and the verdict.
//!
//! A backup directory is built under a temp name and renamed into place, then read back and
//! verified, so a crash never leaves a half backup that looks whole. Never named like
//! OpenClaw's own `openclaw.json.bak.*` ring, which OpenClaw deletes.

use crate::atomic;
use crate::exit::{fail, Code};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";

/// One file inside a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    /// Path inside the backup dir (`config` or `includes/<relative path>`).
    pub path: String,
    /// For includes: where the file lives relative to the config's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_to: Option<String>,
    pub sha256: String,
    pub size: u64,
}

/// A backup's manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// Order of writing in this store: breaks ties between backups of the same second.
    #[serde(default)]
    pub seq: u64,
    /// `backup`, `pre-restore`, `accepted`, or `adopted:<OpenClaw's file name>`.
    pub source: String,
    /// The config's file name where it was taken.
    pub config_name: String,
    pub files: Vec<FileEntry>,
    /// sha256 over every file's path and hash: equal sets mean equal content.
    pub set_sha256: String,
    pub valid: bool,
    /// OpenClaw's clobber signs were present when taken (never used as good).
    #[serde(default)]
    pub clobbered: bool,
    /// Accepted by an operator despite clobber signs (`backup --accept`).
    #[serde(default)]
    pub accepted: bool,
    pub issues: usize,
    /// Which rules judged it: `schema <version>` or `structural`.
    pub rules: String,
}

impl Manifest {
    /// Usable as a restore target by `--latest-valid` and `heal`.
    pub fn good(&self) -> bool {
        self.valid && (!self.clobbered || self.accepted)
    }
    /// A candidate for automatic restores (`--latest-valid`, `heal`, the clobber reference):
    /// good, and not a pre-restore copy of a config someone chose to move away from.
    pub fn auto_candidate(&self) -> bool {
        self.good() && self.source != "pre-restore"
    }
    pub fn config_size(&self) -> u64 {
        self.files.first().map(|f| f.size).unwrap_or(0)
    }
    /// The config's sha256 ([`Manifest::check`] guarantees there is one).
    pub fn config_sha256(&self) -> &str {
        self.files.first().map(|f| f.sha256.as_str()).unwrap_or("")
    }

    /// A manifest is outside input (anyone with write access to the store can edit it): check
    /// its shape before anything indexes, slices or joins what it says.
    pub fn check(&self, dir_name: &str) -> std::result::Result<(), String> {
        if self.id != dir_name {
            return Err(format!("id {:?} is not its directory's name", self.id));
        }
        match self.files.first() {
            Some(f) if f.path == "config" && f.restore_to.is_none() => {}
            Some(_) => return Err("first file is not the config".into()),
            None => return Err("lists no files".into()),
        }
        for f in &self.files {
            if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("{}: sha256 is not 64 hex digits", f.path));
            }
            let base = Path::new("/");
            crate::safefs::confined_join(base, &f.path)?;
            if let Some(r) = &f.restore_to {
                crate::safefs::confined_join(base, r)?;
            }
        }
        for f in self.files.iter().skip(1) {
            if f.restore_to.is_none() || !f.path.starts_with("includes/") {
                return Err(format!("{}: an include without its place", f.path));
            }
        }
        Ok(())
    }
}

use crate::digest::sha256_hex;

fn set_hash(files: &[FileEntry]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.restore_to.as_deref().unwrap_or(&f.path).as_bytes());
        h.update([0]);
        h.update(f.sha256.as_bytes());
        h.update([0]);
    }
    crate::digest::hex(&h.finalize())
}

/// The content to back up: the config bytes and each include (relative path, bytes).
pub struct Content {
    pub config: Vec<u8>,
    pub includes: Vec<(String, Vec<u8>)>,
}

impl Content {
    pub fn files(&self) -> Vec<FileEntry> {
        let mut v = vec![FileEntry {
            path: "config".into(),
            restore_to: None,
            sha256: sha256_hex(&self.config),
            size: self.config.len() as u64,
        }];
        for (rel, bytes) in &self.includes {
            v.push(FileEntry {
                path: format!("includes/{rel}"),
                restore_to: Some(rel.clone()),
                sha256: sha256_hex(bytes),
                size: bytes.len() as u64,
            });
        }
        v
    }
    pub fn set_sha256(&self) -> String {
        set_hash(&self.files())
    }
}

/// The verdict recorded with a backup.
pub struct Verdict {
    pub valid: bool,
    pub clobbered: bool,
    pub issues: usize,
    pub rules: String,
}

/// The store rooted at `<state>/backups/config`.
pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    pub fn new(state: &Path) -> Store {
        Store {
            dir: state.join("backups").join("config"),
        }
    }

    /// Every backup, newest first. Half-built temp dirs and the trash are skipped (their names
    /// start with a dot); a damaged manifest is reported by name and skipped.
    pub fn list(&self) -> Result<(Vec<Manifest>, Vec<String>)> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        let rd = match fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((out, problems)),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("{}: cannot list backups", self.dir.display()))
            }
        };
        for ent in rd {
            let ent =
                ent.with_context(|| format!("{}: cannot list backups", self.dir.display()))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !ent.path().is_dir() {
                continue;
            }
            let mp = ent.path().join(MANIFEST);
            match crate::safefs::read_with(&mp, crate::safefs::Follow::No)
                .map_err(anyhow::Error::from)
                .and_then(|b| crate::safefs::json_from_slice::<Manifest>(&b))
                .and_then(|m| match m.check(&name) {
                    Ok(()) => Ok(m),
                    Err(e) => Err(anyhow::anyhow!(e)),
                }) {
                Ok(m) => out.push(m),
                Err(e) => problems.push(format!("{}: damaged manifest: {e:#}", mp.display())),
            }
        }
        sort_newest_first(&mut out);
        Ok((out, problems))
    }

    fn next_seq(&self) -> Result<u64> {
        Ok(self.list()?.0.iter().map(|m| m.seq).max().unwrap_or(0) + 1)
    }

    pub fn path_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Find a backup by id or unique id prefix.
    pub fn find<'a>(&self, all: &'a [Manifest], key: &str) -> Result<&'a Manifest> {
        // A whole id is itself even when it prefixes another (`<id>-pre-restore`).
        if let Some(m) = all.iter().find(|m| m.id == key) {
            return Ok(m);
        }
        let hits: Vec<&Manifest> = all.iter().filter(|m| m.id.starts_with(key)).collect();
        match hits.as_slice() {
            [one] => Ok(one),
            [] => Err(fail(
                Code::NoInput,
                format!("{}: no backup with id {key}", self.dir.display()),
            )),
            many => Err(fail(
                Code::Usage,
                format!("backup id {key} is ambiguous: {} backups match", many.len()),
            )),
        }
    }

    /// Write a new backup; returns its manifest. The caller dedupes beforehand.
    // `record` writes the ledger row before the backup is published; the rest is the
    // manifest's content.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &self,
        content: &Content,
        created_at: DateTime<Utc>,
        source: &str,
        config_name: &str,
        verdict: &Verdict,
        accepted: bool,
        record: &dyn Fn(&Manifest) -> Result<()>,
    ) -> Result<Manifest> {
        atomic::create_private_dir(&self.dir)?;
        let files = content.files();
        let set = set_hash(&files);
        let mut id = format!("{}-{}", created_at.format("%Y%m%dT%H%M%SZ"), &set[..12]);
        if self.path_of(&id).exists() {
            // Same content in the same second from another source: keep both, distinctly.
            id = format!("{id}-{}", source.replace([':', '/', '.'], "-"));
        }
        let manifest = Manifest {
            id: id.clone(),
            created_at,
            seq: self.next_seq()?,
            source: source.to_string(),
            config_name: config_name.to_string(),
            files: files.clone(),
            set_sha256: set,
            valid: verdict.valid,
            clobbered: verdict.clobbered,
            accepted,
            issues: verdict.issues,
            rules: verdict.rules.clone(),
        };
        let tmp = self
            .dir
            .join(format!(".tmp-{id}-{}", crate::safefs::unique_suffix()));
        let build = || -> Result<()> {
            atomic::create_private_dir(&tmp)?;
            write_new(&tmp.join("config"), &content.config)?;
            for (rel, bytes) in &content.includes {
                let p = tmp.join("includes").join(rel);
                if let Some(parent) = p.parent() {
                    atomic::create_private_dir(parent)?;
                }
                write_new(&p, bytes)?;
            }
            let mjson = serde_json::to_vec_pretty(&manifest)?;
            write_new(&tmp.join(MANIFEST), &mjson)?;
            atomic::sync_dir(&tmp)?;
            // The ledger row first: a backup is never in place without the row the tamper
            // check compares against (a crash here leaves a row for no backup: harmless).
            record(&manifest)?;
            if atomic::fault_point("config-backup-before-publish") {
                std::process::abort();
            }
            let dest = self.path_of(&id);
            fs::rename(&tmp, &dest)
                .with_context(|| format!("{}: cannot move backup into place", dest.display()))?;
            atomic::sync_dir(&self.dir)
        };
        if let Err(e) = build() {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        self.verify(&manifest).with_context(|| {
            format!(
                "{}: backup failed read-back verification",
                self.path_of(&id).display()
            )
        })?;
        Ok(manifest)
    }

    /// Re-hash every file of a backup against its manifest.
    pub fn verify(&self, m: &Manifest) -> Result<()> {
        let base = self.path_of(&m.id);
        for f in &m.files {
            let p = self.file_path(m, &f.path)?;
            let bytes = crate::safefs::read_with(&p, crate::safefs::Follow::No)
                .with_context(|| format!("{}: cannot read", p.display()))?;
            if sha256_hex(&bytes) != f.sha256 || bytes.len() as u64 != f.size {
                return Err(fail(
                    Code::DataErr,
                    format!(
                        "{}: checksum mismatch (backup damaged or tampered with)",
                        p.display()
                    ),
                ));
            }
        }
        if set_hash(&m.files) != m.set_sha256 {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{}: manifest does not add up (tampered with)",
                    base.join(MANIFEST).display()
                ),
            ));
        }
        Ok(())
    }

    /// Read a backup's content (verified first).
    pub fn read(&self, m: &Manifest) -> Result<Content> {
        self.verify(m)?;
        let base = self.path_of(&m.id);
        let config = crate::safefs::read_with(base.join("config"), crate::safefs::Follow::No)
            .with_context(|| format!("{}: cannot read", base.display()))?;
        let mut includes = Vec::new();
        for f in m.files.iter().skip(1) {
            let p = self.file_path(m, &f.path)?;
            let rel = f.restore_to.clone().unwrap_or_default();
            includes.push((
                rel,
                crate::safefs::read_with(&p, crate::safefs::Follow::No)
                    .with_context(|| format!("{}: cannot read", p.display()))?,
            ));
        }
        Ok(Content { config, includes })
    }

    /// A file of backup `m`, confined to its directory.
    fn file_path(&self, m: &Manifest, rel: &str) -> Result<PathBuf> {
        let base = self.path_of(&m.id);
        crate::safefs::confined_join(&base, rel).map_err(|e| {
            fail(
                Code::DataErr,
                format!("{}: {e}", base.join(MANIFEST).display()),
            )
        })
    }

    fn trash(&self) -> PathBuf {
        self.dir.join(".trash")
    }

    /// Remove a backup: renamed into the trash first (one atomic step, so a killed prune
    /// never leaves a half-deleted backup that still lists as whole), then deleted.
    pub fn remove(&self, id: &str) -> Result<()> {
        let p = self.path_of(id);
        let trash = self.trash();
        atomic::create_private_dir(&trash)?;
        let t = trash.join(format!("{id}-{}", crate::safefs::unique_suffix()));
        fs::rename(&p, &t).with_context(|| format!("{}: cannot remove backup", p.display()))?;
        atomic::sync_dir(&self.dir)?;
        if atomic::fault_point("config-prune-in-trash") {
            std::process::abort();
        }
        fs::remove_dir_all(&t).with_context(|| format!("{}: cannot remove", t.display()))?;
        // Only when empty: another removal's entry may still be in there.
        let _ = fs::remove_dir(&trash);
        Ok(())
    }

    /// Delete what killed runs left: the trash and half-built `.tmp-*` backups. Call under
    /// the config lock only (a running backup's temp dir is not garbage).
    pub fn sweep(&self) -> Result<usize> {
        let mut n = 0;
        for e in fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == ".trash" || name.starts_with(".tmp-") {
                let p = e.path();
                let r = if e.file_type().is_ok_and(|t| t.is_dir()) {
                    fs::remove_dir_all(&p)
                } else {
                    fs::remove_file(&p)
                };
                r.with_context(|| format!("{}: cannot remove leftover", p.display()))?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Newest first: by creation time, then by the order they were written.
pub fn sort_newest_first(v: &mut [Manifest]) {
    v.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then(b.seq.cmp(&a.seq))
            .then(b.id.cmp(&a.id))
    });
}

fn write_new(p: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(p)
        .with_context(|| format!("{}: cannot create", p.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("{}: write failed", p.display()))?;
    f.sync_all()
        .with_context(|| format!("{}: fsync failed", p.display()))
}

// ---------- the ledger's record of backups (`config_backups`) ----------

/// Record a backup taken (or adopted); a backup already recorded keeps its row.
pub fn record_backup(c: &rusqlite::Connection, m: &Manifest) -> Result<()> {
    c.execute(
        "INSERT INTO config_backups (id, created_at, source, set_sha256, config_sha256, size, valid, issues, schema_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO NOTHING",
        rusqlite::params![
            m.id,
            m.created_at.to_rfc3339(),
            m.source,
            m.set_sha256,
            m.config_sha256(),
            m.config_size() as i64,
            m.good() as i64,
            m.issues as i64,
            m.rules
        ],
    )?;
    Ok(())
}

/// Mark the backup `id` deleted by retention at `at`.
pub fn mark_deleted(c: &rusqlite::Connection, id: &str, at: &str) -> Result<()> {
    c.execute(
        "UPDATE config_backups SET deleted_at = ?2 WHERE id = ?1",
        rusqlite::params![id, at],
    )?;
    Ok(())
}

/// The config checksum the ledger recorded for backup `id`, if it has one: a second witness
/// beside the manifest.
pub fn recorded_config_sha256(c: &rusqlite::Connection, id: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(c.query_row(
        "SELECT config_sha256 FROM config_backups WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn verdict() -> Verdict {
        Verdict {
            valid: true,
            clobbered: false,
            issues: 0,
            rules: "structural".into(),
        }
    }

    #[test]
    fn write_read_verify_and_detect_tampering() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path());
        let c = Content {
            config: b"{\"a\":1}".to_vec(),
            includes: vec![("sub/x.json5".into(), b"{}".to_vec())],
        };
        let m = s
            .write(
                &c,
                Utc::now(),
                "backup",
                "openclaw.json",
                &verdict(),
                false,
                &|_| Ok(()),
            )
            .unwrap();
        let back = s.read(&m).unwrap();
        assert_eq!(back.config, c.config);
        assert_eq!(back.includes, c.includes);
        let cfg = s.path_of(&m.id).join("config");
        assert_eq!(fs::metadata(&cfg).unwrap().mode() & 0o777, 0o600);
        assert_eq!(
            fs::metadata(s.path_of(&m.id)).unwrap().mode() & 0o777,
            0o700
        );
        fs::write(&cfg, b"{\"a\":2}").unwrap();
        let e = s.verify(&m).unwrap_err();
        assert_eq!(crate::exit::code_of(&e), Code::DataErr);
        let (all, problems) = s.list().unwrap();
        assert_eq!(all.len(), 1);
        assert!(problems.is_empty());
    }
}
