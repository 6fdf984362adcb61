//! The one way to read a file claw does not own (OpenClaw's config, stores, logs, settings,
//! manifests, an import file): open without blocking, refuse anything but a regular file, and
//! bound nesting before a recursive parser sees the bytes.
//!
//! A FIFO where a file belongs would block `open(2)` and then `read(2)` forever while the job
//! holds its lock (every later run then exits 75); a device could be read forever. So the file
//! is opened with `O_NONBLOCK` (a FIFO without a writer opens at once), checked with `fstat` on
//! the descriptor itself (no race with a rename), and only then switched back to blocking.
//! JSON/JSON5 nested tens of thousands of levels deep overflows the stack of a recursive
//! parser (an abort, exit 134, that `config heal` could never get past): [`check_depth`] is a
//! flat scan that refuses it first.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Deepest nesting of objects/arrays claw parses (serde_json's own limit is the same).
pub const MAX_DEPTH: usize = 128;

/// The error payload for "something other than a regular file is where a file belongs"; exit
/// code 66 (no usable input).
#[derive(Debug)]
pub struct NotRegular {
    pub what: &'static str,
}

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "is {}, not a regular file", self.what)
    }
}

impl std::error::Error for NotRegular {}

/// Whether symlinks are followed. claw's own store never holds a symlink, so it opens with
/// [`Follow::No`]; OpenClaw's files may legitimately be links (a config kept in dotfiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    Yes,
    No,
}

fn kind_name(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_symlink() {
        "a symlink"
    } else {
        "a special file"
    }
}

/// Open `path` for reading: never blocks, and fails with a [`NotRegular`] error (kind
/// `InvalidInput`) unless it is a regular file. The returned file reads normally (blocking).
pub fn open(path: impl AsRef<Path>, follow: Follow) -> io::Result<File> {
    open_with_metadata(path, follow).map(|(f, _)| f)
}

/// [`open`], with the open file's metadata (taken to check it is regular: no second `stat`).
pub fn open_with_metadata(
    path: impl AsRef<Path>,
    follow: Follow,
) -> io::Result<(File, std::fs::Metadata)> {
    let path = path.as_ref();
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(open_flags(follow))
        .open(path);
    checked(f, path, follow)
}

/// [`open_with_metadata`] of `name` (one path component) in the open directory `dir`: the
/// kernel does not walk the directory's path again, a cost that counts over thousands of
/// files. `path` is where that is, for a message.
pub fn open_in_with_metadata(
    dir: &File,
    name: &std::ffi::OsStr,
    path: &Path,
    follow: Follow,
) -> io::Result<(File, std::fs::Metadata)> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::io::FromRawFd;
    let f = std::ffi::CString::new(name.as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
        .and_then(|c| {
            // SAFETY: a directory descriptor `dir` owns and a NUL-terminated name; a descriptor
            // returned is new, and owned by the `File` made of it.
            let fd = unsafe {
                libc::openat(
                    dir.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_RDONLY | open_flags(follow),
                )
            };
            match fd {
                -1 => Err(io::Error::last_os_error()),
                fd => Ok(unsafe { File::from_raw_fd(fd) }),
            }
        });
    checked(f, path, follow)
}

fn open_flags(follow: Follow) -> i32 {
    let flags = libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    match follow {
        Follow::Yes => flags,
        Follow::No => flags | libc::O_NOFOLLOW,
    }
}

/// The checks after the open: a regular file, reading normally (blocking).
fn checked(
    opened: io::Result<File>,
    path: &Path,
    follow: Follow,
) -> io::Result<(File, std::fs::Metadata)> {
    let f = match opened {
        Ok(f) => f,
        // O_NOFOLLOW on a symlink fails with ELOOP; say what it is rather than "too many links".
        Err(e) if follow == Follow::No && e.raw_os_error() == Some(libc::ELOOP) => {
            let is_link = std::fs::symlink_metadata(path)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            return Err(if is_link { not_regular("a symlink") } else { e });
        }
        Err(e) => return Err(e),
    };
    let md = f.metadata()?;
    if !md.file_type().is_file() {
        return Err(not_regular(kind_name(&md.file_type())));
    }
    // Back to blocking reads: a regular file never blocks, and callers expect full reads.
    // `open_flags` set no status flag F_SETFL changes but O_NONBLOCK, so clearing them all
    // clears just that, without asking for them first (a system call per file saved).
    // SAFETY: fcntl on a descriptor `f` owns; F_SETFL has no memory effects.
    if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFL, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((f, md))
}

fn not_regular(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, NotRegular { what })
}

/// Whether an I/O error is our "not a regular file" refusal.
pub fn is_not_regular(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<NotRegular>())
}

/// Check that `path` is a regular file without blocking, before handing the path to a library
/// that opens it itself (SQLite would block on a FIFO).
pub fn check_regular(path: impl AsRef<Path>) -> io::Result<()> {
    open(path, Follow::Yes).map(drop)
}

/// The whole content of a regular file (symlinks followed).
pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    read_with(path, Follow::Yes)
}

/// The whole content of a regular file, `follow` as asked.
pub fn read_with(path: impl AsRef<Path>, follow: Follow) -> io::Result<Vec<u8>> {
    let mut f = open(path, follow)?;
    let mut v = Vec::with_capacity(f.metadata().map(|m| m.len() as usize).unwrap_or(0));
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// The whole content of a regular UTF-8 file (symlinks followed); bad UTF-8 is `InvalidData`.
pub fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    String::from_utf8(read(path)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not valid UTF-8"))
}

/// Join `rel`, a path read from a manifest (outside input), onto `base` so the result can only
/// be inside `base`: `rel` must be a plain relative path (no `..`, no root, no NUL, not empty),
/// and no directory between `base` and the file may be a symlink (it could point anywhere).
/// The last component may be a link: restores replace it by rename, never write through it.
pub fn confined_join(base: &Path, rel: &str) -> Result<std::path::PathBuf, String> {
    use std::path::Component;
    let bad = |why: &str| Err(format!("path {rel:?} in a manifest {why}; refused"));
    if rel.is_empty() || rel.contains('\0') {
        return bad("is empty or holds NUL");
    }
    let p = Path::new(rel);
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => parts.push(n),
            Component::CurDir => {}
            Component::ParentDir => return bad("climbs out with `..`"),
            Component::RootDir | Component::Prefix(_) => return bad("is absolute"),
        }
    }
    let Some((_, dirs)) = parts.split_last() else {
        return bad("names no file");
    };
    let mut cur = base.to_path_buf();
    for d in dirs {
        cur.push(d);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "{}: a symlink inside the restore target (from path {rel:?} in a manifest); refused",
                    cur.display()
                ))
            }
            Ok(_) => {}
            // Not there yet: created by the restore itself, so nothing further can be a link.
            Err(_) => break,
        }
    }
    Ok(parts.iter().fold(base.to_path_buf(), |acc, c| acc.join(c)))
}

/// A suffix for temp names no other run can pick: the PID alone is reused (a temp left by a
/// killed run then makes the next one fail with "File exists").
pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{:x}-{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where nesting went too deep: 1-based line and column of the bracket past the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    pub line: usize,
    pub column: usize,
    pub max: usize,
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "nested deeper than {} levels at line {} column {}",
            self.max, self.line, self.column
        )
    }
}

impl std::error::Error for TooDeep {}

/// Refuse JSON / JSON5 text whose `{`/`[` nesting exceeds `max`, without recursion. Brackets
/// inside strings (`"…"`, `'…'`, with `\` escapes) and comments (`//…`, `/*…*/`) do not count,
/// so the limit is exactly the parser's nesting.
pub fn check_depth(text: &[u8], max: usize) -> Result<(), TooDeep> {
    let (mut depth, mut line, mut col) = (0usize, 1usize, 0usize);
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        col += 1;
        match b {
            b'\n' => {
                line += 1;
                col = 0;
            }
            b'"' | b'\'' => {
                i += 1;
                while i < text.len() && text[i] != b {
                    if text[i] == b'\\' {
                        i += 1;
                    }
                    if text.get(i) == Some(&b'\n') {
                        line += 1;
                        col = 0;
                    }
                    i += 1;
                }
            }
            b'/' if text.get(i + 1) == Some(&b'/') => {
                while i < text.len() && text[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if text.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < text.len() && !(text[i] == b'*' && text.get(i + 1) == Some(&b'/')) {
                    if text[i] == b'\n' {
                        line += 1;
                        col = 0;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Err(TooDeep {
                        line,
                        column: col,
                        max,
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Parse JSON from bytes with the depth checked first (serde_json refuses past 128 levels on
/// its own; the check keeps the message and the limit the same for every reader).
pub fn json_from_slice<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> anyhow::Result<T> {
    check_depth(bytes, MAX_DEPTH)?;
    Ok(serde_json::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn fifo_is_refused_at_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("openclaw.json");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let t = Instant::now();
        let e = read(&p).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert!(is_not_regular(&e), "{e}");
        assert_eq!(e.to_string(), "is a FIFO, not a regular file");
    }

    #[test]
    fn directory_and_symlink_refused_file_read() {
        let d = tempfile::tempdir().unwrap();
        let e = read(d.path()).unwrap_err();
        assert_eq!(e.to_string(), "is a directory, not a regular file");
        let f = d.path().join("f");
        std::fs::write(&f, b"abc").unwrap();
        let l = d.path().join("l");
        std::os::unix::fs::symlink(&f, &l).unwrap();
        assert_eq!(read(&l).unwrap(), b"abc");
        let e = read_with(&l, Follow::No).unwrap_err();
        assert_eq!(e.to_string(), "is a symlink, not a regular file");
        assert_eq!(read_with(&f, Follow::No).unwrap(), b"abc");
        let e = read(Path::new("/dev/null")).unwrap_err();
        assert!(is_not_regular(&e));
    }

    #[test]
    fn a_file_opened_reads_blocking_with_its_flags_as_asked() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let dir = crate::openclaw::layout::open_dir(d.path()).unwrap();
        for f in [
            open(&p, Follow::No).unwrap(),
            open(&p, Follow::Yes).unwrap(),
            open_in_with_metadata(&dir, "f".as_ref(), &p, Follow::No)
                .unwrap()
                .0,
        ] {
            let fd = f.as_raw_fd();
            // SAFETY: fcntl on an open descriptor; no memory effects.
            let (fl, fd_fl) = unsafe {
                (
                    libc::fcntl(fd, libc::F_GETFL),
                    libc::fcntl(fd, libc::F_GETFD),
                )
            };
            assert_eq!(fl & libc::O_NONBLOCK, 0, "still non-blocking");
            assert_eq!(fl & libc::O_ACCMODE, libc::O_RDONLY);
            assert_ne!(fd_fl & libc::FD_CLOEXEC, 0, "not close-on-exec");
        }
    }

    #[test]
    fn a_file_opened_in_its_directory_is_checked_as_by_path() {
        let d = tempfile::tempdir().unwrap();
        let dir = crate::openclaw::layout::open_dir(d.path()).unwrap();
        let open = |name: &str, follow| {
            let p = d.path().join(name);
            open_in_with_metadata(&dir, name.as_ref(), &p, follow).map(|(mut f, md)| {
                let mut s = String::new();
                f.read_to_string(&mut s).unwrap();
                (s, md.len())
            })
        };
        std::fs::write(d.path().join("f"), b"abc").unwrap();
        assert_eq!(open("f", Follow::No).unwrap(), ("abc".into(), 3));
        std::os::unix::fs::symlink(d.path().join("f"), d.path().join("l")).unwrap();
        assert_eq!(open("l", Follow::Yes).unwrap(), ("abc".into(), 3));
        let e = open("l", Follow::No).unwrap_err();
        assert_eq!(e.to_string(), "is a symlink, not a regular file");
        std::fs::create_dir(d.path().join("sub")).unwrap();
        let e = open("sub", Follow::Yes).unwrap_err();
        assert_eq!(e.to_string(), "is a directory, not a regular file");
        let c = std::ffi::CString::new(d.path().join("p").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let t = Instant::now();
        let e = open("p", Follow::Yes).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2));
        assert_eq!(e.to_string(), "is a FIFO, not a regular file");
        let e = open("missing", Follow::Yes).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn confined_join_refuses_escapes() {
        let d = tempfile::tempdir().unwrap();
        let b = d.path();
        assert_eq!(confined_join(b, "a/b.json").unwrap(), b.join("a/b.json"));
        assert_eq!(confined_join(b, "./a.json").unwrap(), b.join("a.json"));
        for bad in [
            "../../x",
            "a/../../x",
            "/etc/passwd",
            "",
            ".",
            "a/..",
            "x\0y",
        ] {
            assert!(confined_join(b, bad).is_err(), "{bad:?} accepted");
        }
        std::os::unix::fs::symlink("/", b.join("out")).unwrap();
        let e = confined_join(b, "out/etc/x").unwrap_err();
        assert!(e.contains("symlink"), "{e}");
        // A link as the file itself is replaced by rename, never written through.
        assert!(confined_join(b, "out").is_ok());
        assert_ne!(unique_suffix(), unique_suffix());
    }

    #[test]
    fn depth_counts_brackets_outside_strings_and_comments() {
        assert!(check_depth(b"[[[]]]", 3).is_ok());
        let e = check_depth(b"{\n a: [[[1]]]}", 3).unwrap_err();
        assert_eq!((e.line, e.column), (2, 7));
        assert!(check_depth(b"{\"a\":\"[[[[[\", b: '{{{{'}", 1).is_ok());
        assert!(check_depth(b"{// [[[[\n/* {{{{ */ a: \"\\\"[[[[\"}", 1).is_ok());
        let deep = "[".repeat(100_000);
        assert!(check_depth(deep.as_bytes(), MAX_DEPTH).is_err());
    }
}
