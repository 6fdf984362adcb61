//! The one atomic write: temp file in the same directory, write, fsync, rename, fsync the
//! directory. Readers see the old file or the new one, never a half-written one.
//!
//! `CLAW_FAULT=atomic-before-rename` aborts the process after the temp file is written and
//! before the rename, so tests can prove an interrupted write leaves the old file whole;
//! `atomic-before-rename:<file name>` does so only for files of that name.

use anyhow::{Context, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Options for [`write`]: file mode (default 0600) and whether to keep the mode/owner of a file
/// being replaced.
#[derive(Debug, Clone, Copy)]
pub struct Opts {
    pub mode: u32,
    pub keep_existing_mode_and_owner: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            mode: 0o600,
            keep_existing_mode_and_owner: false,
        }
    }
}

fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    dir.join(format!(
        "{}{}",
        temp_prefix(&name),
        crate::safefs::unique_suffix()
    ))
}

fn temp_prefix(name: &str) -> String {
    format!(".{name}.claw-tmp-")
}

/// Remove the temp files killed runs of [`write`] left beside `path` (`.<name>.claw-tmp-*`),
/// returning how many. Call only under the lock of the job that writes `path`, so no live
/// writer's temp file is taken.
pub fn sweep_temps(path: &Path) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return 0;
    };
    let prefix = temp_prefix(&name.to_string_lossy());
    let mut n = 0;
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix)
            && e.file_type().is_ok_and(|t| t.is_file())
            && fs::remove_file(e.path()).is_ok()
        {
            n += 1;
        }
    }
    n
}

/// Atomically replace `path` with `data`.
pub fn write(path: &Path, data: &[u8], opts: Opts) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let tmp = temp_name(path);
    let existing = if opts.keep_existing_mode_and_owner {
        fs::metadata(path).ok()
    } else {
        None
    };
    let result = (|| -> Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(opts.mode)
            .open(&tmp)
            .with_context(|| format!("{}: cannot create temp file", tmp.display()))?;
        f.write_all(data)
            .with_context(|| format!("{}: write failed", tmp.display()))?;
        if let Some(meta) = &existing {
            use std::os::unix::fs::MetadataExt;
            f.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))
                .with_context(|| format!("{}: cannot set mode", tmp.display()))?;
            // Only root can give a file away; keeping the owner is best effort otherwise.
            let _ = std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()));
        } else {
            f.set_permissions(fs::Permissions::from_mode(opts.mode))
                .with_context(|| format!("{}: cannot set mode", tmp.display()))?;
        }
        f.sync_all()
            .with_context(|| format!("{}: fsync failed", tmp.display()))?;
        drop(f);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if fault_point("atomic-before-rename")
            || fault_point(&format!("atomic-before-rename:{name}"))
        {
            std::process::abort();
        }
        fs::rename(&tmp, path).with_context(|| format!("{}: rename failed", path.display()))?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// fsync a directory so a rename inside it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).with_context(|| format!("{}: cannot open directory", dir.display()))?;
    d.sync_all()
        .with_context(|| format!("{}: fsync of directory failed", dir.display()))
}

/// Whether the test-only fault named `point` is armed through `CLAW_FAULT`.
pub fn fault_point(point: &str) -> bool {
    std::env::var("CLAW_FAULT")
        .map(|v| v.split(',').any(|p| p.trim() == point))
        .unwrap_or(false)
}

/// Create a directory (and parents) with mode 0700 for the parts claw creates.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("{}: cannot create directory", dir.display()))
}

use std::os::unix::fs::DirBuilderExt;

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn replaces_whole_file_with_private_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.json");
        fs::write(&p, "old").unwrap();
        write(&p, b"new", Opts::default()).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1, "no temp left");
    }

    #[test]
    fn keeps_existing_mode_when_asked() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.json");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let opts = Opts {
            keep_existing_mode_and_owner: true,
            ..Opts::default()
        };
        write(&p, b"new", opts).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o640);
    }

    #[test]
    fn temp_names_are_unique_and_swept() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.json");
        assert_ne!(temp_name(&p), temp_name(&p));
        // A temp left by a killed run with this very PID must not block the next write.
        let left = d
            .path()
            .join(format!(".x.json.claw-tmp-{}", std::process::id()));
        fs::write(&left, "half").unwrap();
        write(&p, b"new", Opts::default()).unwrap();
        fs::write(d.path().join("other"), "keep").unwrap();
        assert_eq!(sweep_temps(&p), 1);
        let mut names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["other", "x.json"]);
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nope/x.json");
        let e = write(&p, b"x", Opts::default()).unwrap_err();
        assert!(format!("{e:#}").contains("nope"), "{e:#}");
    }
}
