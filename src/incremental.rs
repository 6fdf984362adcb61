//! Incremental line reading: remember per source where the last run stopped, read only what
//! is new, and never hand the same complete line out twice for one file identity.
//!
//! A file's identity is its device + inode plus a SHA-256 of its head (the first line, at most
//! 4 KiB). OpenClaw archives a live `X.jsonl` by renaming it to `X.jsonl.reset.<ts>`: the inode
//! stays, so a cursor keyed by inode follows the rename and only the lines appended since are
//! read. A shrunk file, or one whose head changed (inode reused, file replaced), is read again
//! from the start; callers make that safe with their own dedupe key (cost-track's ledger).
//!
//! Only complete lines (ending in `\n`) are handed out; a partial last line is left for the
//! next run. Memory is bounded by the longest line, whatever the file size.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

/// The head used for identity: the first line, capped at this many bytes.
pub const HEAD_MAX: usize = 4096;

/// A file's `(device, inode)`: what a cursor is looked up by.
pub type FileId = (u64, u64);

/// Hashes a [`FileId`] with one multiply per word (FxHash's): inode numbers come from the
/// local filesystem, not from an adversary, and SipHash was a tenth of a warm run over tens of
/// thousands of cursors.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type IdBuild = std::hash::BuildHasherDefault<IdHasher>;
/// Cursors by file identity.
pub type FileMap<V> = std::collections::HashMap<FileId, V, IdBuild>;
/// A set of file identities (the files a run saw).
pub type FileSet = std::collections::HashSet<FileId, IdBuild>;

/// Where reading of one file identity stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub dev: u64,
    pub ino: u64,
    /// Bytes hashed for identity (0 while the file was empty).
    pub head_len: u64,
    pub head_sha256: String,
    /// Offset just past the last complete line handed out (in the decompressed stream for
    /// `.zst` files).
    pub offset: u64,
    /// Size and mtime (ns) of the file when the cursor was taken: unchanged means nothing new.
    pub size: u64,
    pub mtime_ns: i64,
}

impl Cursor {
    /// Whether a file with this `(dev, ino, size, mtime_ns)` is exactly as the cursor left it
    /// (then there is nothing new to read).
    pub fn describes(&self, (dev, ino, size, mtime_ns): (u64, u64, u64, i64)) -> bool {
        self.dev == dev && self.ino == ino && self.size == size && self.mtime_ns == mtime_ns
    }

    /// A cursor read back from storage under its [`Cursor::key`]; `None` for another key.
    pub fn from_stored(
        key: &str,
        head_len: i64,
        head_sha256: String,
        offset: i64,
        size: i64,
        mtime_ns: i64,
    ) -> Option<Cursor> {
        let (dev, ino) = Cursor::id_of_key(key)?;
        Some(Cursor {
            dev,
            ino,
            head_len: head_len as u64,
            head_sha256,
            offset: offset as u64,
            size: size as u64,
            mtime_ns,
        })
    }

    /// The key a cursor is stored under: it follows the inode across renames.
    pub fn key(dev: u64, ino: u64) -> String {
        format!("file:{dev}:{ino}")
    }

    /// The file identity a stored [`Cursor::key`] names; `None` for another key.
    pub fn id_of_key(key: &str) -> Option<FileId> {
        let (dev, ino) = key.strip_prefix("file:")?.split_once(':')?;
        Some((dev.parse().ok()?, ino.parse().ok()?))
    }

    /// This cursor's file identity.
    pub fn id(&self) -> FileId {
        (self.dev, self.ino)
    }
}

/// One archive sealed in its directory: known complete, so later runs list it without a
/// `stat` (see [`Sealed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedFile {
    /// [`name_hash`] of the file name.
    pub name: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
}

/// The archives of one directory that were read to their last complete line and have not
/// changed since they settled: OpenClaw renames a transcript to `.reset.<ts>` or
/// `.deleted.<ts>` (or writes a checkpoint copy) and never writes it again, so a warm run
/// needs only the directory listing to know nothing is new in them. An entry is trusted while
/// the name and inode in the listing match; once `checked_at` is older than the caller's
/// interval every entry is `stat`ed again and one that changed is read anew (the ledger's
/// dedupe keeps that exact).
///
/// With the directory's own stamp and the names of its other transcript files, a run can
/// skip even the listing while the directory is unchanged (no file created, renamed or
/// removed since): see [`DirStamp`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sealed {
    /// Sorted by name hash.
    pub files: Vec<SealedFile>,
    /// When every entry was last compared with its `stat` (Unix seconds).
    pub checked_at: i64,
    /// The directory when it was last listed.
    pub dir: Option<DirStamp>,
    /// The directory's other transcript files at that listing (live, unsettled, unreadable).
    pub others: Vec<String>,
}

/// A directory's inode and mtime (ns) before it was listed, and when (ns, system clock). A
/// directory whose mtime is unchanged had no entry created, renamed or removed, provided the
/// mtime was at least [`DirStamp::QUIET_NS`] older than the listing: a filesystem clock
/// coarser than that could give a later change the same mtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirStamp {
    pub ino: u64,
    pub mtime_ns: i64,
    pub listed_ns: i64,
}

impl DirStamp {
    pub const QUIET_NS: i64 = 2_000_000_000;

    /// Whether a directory now at `(ino, mtime_ns)` lists as it did.
    pub fn unchanged(&self, (ino, mtime_ns): (u64, i64)) -> bool {
        self.ino == ino
            && self.mtime_ns == mtime_ns
            && self.mtime_ns < self.listed_ns.saturating_sub(Self::QUIET_NS)
    }
}

const SEALED_REC: usize = 32;
/// The layout of a seal row's bytes: this byte, the record count (u32), the records, the
/// directory stamp (3 x 8 bytes, all zero for none), then each other name and a NUL.
const SEALED_FORMAT: u8 = 1;

impl Sealed {
    /// The entry for a file name, if sealed.
    pub fn get(&self, name: u64) -> Option<&SealedFile> {
        let i = self.files.binary_search_by_key(&name, |f| f.name).ok()?;
        Some(&self.files[i])
    }

    /// Little-endian, records sorted (see `SEALED_FORMAT`).
    pub fn encode(&self) -> Vec<u8> {
        let names: usize = self.others.iter().map(|n| n.len() + 1).sum();
        let mut out = Vec::with_capacity(5 + self.files.len() * SEALED_REC + 24 + names);
        out.push(SEALED_FORMAT);
        out.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
        for f in &self.files {
            out.extend_from_slice(&f.name.to_le_bytes());
            out.extend_from_slice(&f.ino.to_le_bytes());
            out.extend_from_slice(&f.size.to_le_bytes());
            out.extend_from_slice(&f.mtime_ns.to_le_bytes());
        }
        let d = self.dir.unwrap_or_default();
        out.extend_from_slice(&d.ino.to_le_bytes());
        out.extend_from_slice(&d.mtime_ns.to_le_bytes());
        out.extend_from_slice(&d.listed_ns.to_le_bytes());
        for n in &self.others {
            out.extend_from_slice(n.as_bytes());
            out.push(0);
        }
        out
    }

    /// `None` for bytes that are not a whole seal of this format with sorted records (a
    /// damaged row: the caller then lists and `stat`s everything, as if nothing were sealed).
    pub fn decode(data: &[u8], checked_at: i64) -> Option<Sealed> {
        let (&format, rest) = data.split_first()?;
        if format != SEALED_FORMAT {
            return None;
        }
        let word = |c: &[u8], i: usize| u64::from_le_bytes(c[i * 8..i * 8 + 8].try_into().unwrap());
        let n = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let recs = rest.get(4..4 + n.checked_mul(SEALED_REC)?)?;
        let files: Vec<SealedFile> = recs
            .chunks_exact(SEALED_REC)
            .map(|c| SealedFile {
                name: word(c, 0),
                ino: word(c, 1),
                size: word(c, 2),
                mtime_ns: word(c, 3) as i64,
            })
            .collect();
        if !files.windows(2).all(|w| w[0].name < w[1].name) {
            return None;
        }
        let rest = &rest[4 + recs.len()..];
        let d = rest.get(..24)?;
        let dir = DirStamp {
            ino: word(d, 0),
            mtime_ns: word(d, 1) as i64,
            listed_ns: word(d, 2) as i64,
        };
        let names = &rest[24..];
        let others = match names.split_last() {
            None => Vec::new(),
            Some((0, body)) => (body.split(|b| *b == 0))
                .map(|n| String::from_utf8(n.to_vec()).ok())
                .collect::<Option<Vec<_>>>()?,
            Some(_) => return None,
        };
        Some(Sealed {
            files,
            checked_at,
            dir: (dir != DirStamp::default()).then_some(dir),
            others,
        })
    }
}

/// A file name's hash for [`Sealed`]: FNV-1a over little-endian 8-byte words (the last one
/// zero-padded), each step folded, then the length. Stable across builds and releases,
/// unlike std's hasher, and an eighth of the byte-wise loop on OpenClaw's long names.
pub fn name_hash(name: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let step = |h: u64, w: u64| {
        let h = (h ^ w).wrapping_mul(PRIME);
        h ^ (h >> 29)
    };
    let mut words = name.chunks_exact(8);
    let mut h = (&mut words).fold(0xcbf2_9ce4_8422_2325, |h, w| {
        step(h, u64::from_le_bytes(w.try_into().unwrap()))
    });
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = step(h, u64::from_le_bytes(last));
    }
    step(h, name.len() as u64)
}

/// What a scan did.
#[derive(Debug, Clone)]
pub struct Scan {
    pub cursor: Cursor,
    /// Complete lines handed to the callback.
    pub lines: u64,
    pub bytes: u64,
    /// The previous cursor did not match (shrunk or replaced): read from the start.
    pub restarted: bool,
    /// Nothing changed since the cursor: the file was not even opened.
    pub unchanged: bool,
    /// Bytes after the last complete line, left for the next run.
    pub partial_tail: u64,
}

/// `(dev, ino, size, mtime_ns)` of a file: what a cursor compares.
pub type Stat = (u64, u64, u64, i64);

/// `(dev, ino, size, mtime_ns)` of a file.
pub fn stat(path: &Path) -> Result<Stat> {
    let md = std::fs::metadata(path).with_context(|| format!("{}: cannot stat", path.display()))?;
    Ok(stat_of(&md))
}

/// `(dev, ino, size, mtime_ns)` from metadata already at hand (e.g. a directory listing's).
#[cfg(unix)]
pub fn stat_of(md: &std::fs::Metadata) -> (u64, u64, u64, i64) {
    use std::os::unix::fs::MetadataExt;
    (
        md.dev(),
        md.ino(),
        md.size(),
        md.mtime() * 1_000_000_000 + md.mtime_nsec(),
    )
}

#[cfg(not(unix))]
pub fn stat_of(md: &std::fs::Metadata) -> (u64, u64, u64, i64) {
    let mt = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    (0, 0, md.len(), mt)
}

/// Hash of the head of a stream: its first line, at most [`HEAD_MAX`] bytes, or exactly
/// `want` bytes when checking an earlier identity.
fn head_hash(r: &mut impl Read, want: Option<u64>) -> Result<(u64, String)> {
    let mut buf = Vec::with_capacity(HEAD_MAX);
    let limit = want.unwrap_or(HEAD_MAX as u64);
    r.take(limit).read_to_end(&mut buf)?;
    Ok(match want {
        Some(_) => (buf.len() as u64, crate::digest::sha256_hex(&buf)),
        None => head_identity(&buf),
    })
}

/// A new cursor's head: the first line of `head` (the stream's first [`HEAD_MAX`] bytes at
/// most), its length and hash.
fn head_identity(head: &[u8]) -> (u64, String) {
    let first = memchr::memchr(b'\n', head).map_or(head, |nl| &head[..nl + 1]);
    (first.len() as u64, crate::digest::sha256_hex(first))
}

/// Read the complete lines of `path` after `prev` (when it still describes this file),
/// calling `on_line(line_without_newline, byte_range_in_stream)` for each. `zst`: the file is a
/// zstd stream of lines; offsets are in the decompressed stream. An `Err` from the callback
/// stops the scan and is returned.
pub fn scan_file(
    path: &Path,
    zst: bool,
    prev: Option<&Cursor>,
    on_line: impl FnMut(&[u8], Range<u64>) -> Result<()>,
) -> Result<Scan> {
    scan_file_with(path, stat(path)?, zst, prev, on_line)
}

/// [`scan_file`] with the file's `(dev, ino, size, mtime_ns)` already taken by the caller: a
/// file unchanged since `prev` costs that one `stat` and is never opened.
pub fn scan_file_with(
    path: &Path,
    pre: (u64, u64, u64, i64),
    zst: bool,
    prev: Option<&Cursor>,
    on_line: impl FnMut(&[u8], Range<u64>) -> Result<()>,
) -> Result<Scan> {
    scan_file_in(None, path, pre, zst, prev, on_line)
}

/// [`scan_file_with`], the file opened by name in `dir` (its directory, open; see
/// [`crate::openclaw::layout::open_dir`]) when given.
pub fn scan_file_in(
    dir: Option<&File>,
    path: &Path,
    pre: (u64, u64, u64, i64),
    zst: bool,
    prev: Option<&Cursor>,
    mut on_line: impl FnMut(&[u8], Range<u64>) -> Result<()>,
) -> Result<Scan> {
    let unchanged = |st: (u64, u64, u64, i64)| {
        prev.filter(|p| p.describes(st)).map(|p| Scan {
            cursor: p.clone(),
            lines: 0,
            bytes: 0,
            restarted: false,
            unchanged: true,
            partial_tail: p.size.saturating_sub(p.offset),
        })
    };
    if let Some(same) = unchanged(pre) {
        return Ok(same);
    }
    let name = || path.display().to_string();
    let follow = crate::safefs::Follow::Yes;
    let (file, md) = match dir.zip(path.file_name()) {
        Some((d, n)) => crate::safefs::open_in_with_metadata(d, n, path, follow),
        None => crate::safefs::open_with_metadata(path, follow),
    }
    .with_context(|| format!("{}: cannot open", name()))?;
    // The open file's own stat decides from here (the path may have moved meanwhile).
    let (dev, ino, size, mtime_ns) = stat_of(&md);
    if let Some(same) = unchanged((dev, ino, size, mtime_ns)) {
        return Ok(same);
    }
    let st = (dev, ino, size, mtime_ns);
    if zst {
        scan_zst(file, st, prev, &mut on_line, &name)
    } else {
        scan_plain(file, st, prev, &mut on_line, &name)
    }
}

/// The cursor and counters of a scan that read `start..pos` (see [`read_lines`]).
fn scanned(
    (dev, ino, size, mtime_ns): (u64, u64, u64, i64),
    (head_len, head_sha256): (u64, String),
    (start, restarted): (u64, bool),
    (pos, lines, tail): (u64, u64, u64),
) -> Scan {
    Scan {
        cursor: Cursor {
            dev,
            ino,
            head_len,
            head_sha256,
            offset: pos,
            size,
            mtime_ns,
        },
        lines,
        bytes: pos - start,
        restarted,
        unchanged: false,
        partial_tail: tail,
    }
}

/// [`scan_file_with`] for a zstd stream of lines, opened: offsets are in the decompressed
/// stream, so the prefix already read is decompressed again and skipped.
fn scan_zst(
    file: File,
    st: (u64, u64, u64, i64),
    prev: Option<&Cursor>,
    on_line: &mut impl FnMut(&[u8], Range<u64>) -> Result<()>,
    name: &dyn Fn() -> String,
) -> Result<Scan> {
    let scan = |dctx: &mut Dctx| scan_zst_with(dctx, file, st, prev, on_line, name);
    DCTX.with(|cell| match cell.try_borrow_mut() {
        Ok(mut kept) => match &mut *kept {
            Some(d) => scan(d),
            none => scan(none.insert(new_dctx()?)),
        },
        // Only if a line's handler scanned an archive itself: a context of its own.
        Err(_) => scan(&mut new_dctx()?),
    })
}

type Dctx = zstd::zstd_safe::DCtx<'static>;

thread_local! {
    /// [`scan_zst`]'s decompression context, kept for the thread's next archive (its tables
    /// and window are allocated once, not for each of hundreds of small files).
    static DCTX: std::cell::RefCell<Option<Dctx>> = const { std::cell::RefCell::new(None) };
}

fn new_dctx() -> Result<Dctx> {
    Dctx::try_create().context("cannot allocate a zstd decompression context")
}

fn scan_zst_with(
    dctx: &mut Dctx,
    mut file: File,
    st: (u64, u64, u64, i64),
    prev: Option<&Cursor>,
    on_line: &mut impl FnMut(&[u8], Range<u64>) -> Result<()>,
    name: &dyn Fn() -> String,
) -> Result<Scan> {
    let (dev, ino, _, _) = st;
    // Identity check against the previous cursor, then the new head for the new cursor.
    let mut start = 0u64;
    let mut restarted = false;
    if let Some(p) = prev.filter(|p| p.dev == dev && p.ino == ino) {
        let same_head = {
            let mut r = open_stream(&mut file, dctx);
            let (n, h) = head_hash(&mut r, Some(p.head_len))?;
            n == p.head_len && h == p.head_sha256
        };
        if same_head {
            start = p.offset;
        } else {
            restarted = true;
        }
        file.seek(SeekFrom::Start(0))?;
    }
    if start == 0 {
        // Read from the start: one decompression serves the head and the lines, into the
        // thread's reused buffer (most archives are a few KB: a buffer of their own, zeroed
        // and mapped for each of hundreds, cost more than their lines), and on through a
        // reader only past that.
        let read = |buf: &mut Vec<u8>| -> Result<_> {
            let mut r = open_stream(&mut file, dctx);
            if buf.len() < CHUNK {
                buf.resize(CHUNK, 0);
            }
            let got = read_full(&mut r, &mut buf[..CHUNK])
                .with_context(|| format!("{}: read failed", name()))?;
            let hash = head_identity(&buf[..got.min(HEAD_MAX)]);
            let read = if got < CHUNK {
                read_lines(&mut &buf[..got], 0, on_line, name)?
            } else {
                let rest = std::io::Cursor::new(&buf[..got]).chain(r);
                read_lines(&mut BufReader::with_capacity(CHUNK, rest), 0, on_line, name)?
            };
            Ok(scanned(st, hash, (0, restarted), read))
        };
        return with_chunk_buf(read);
    }
    let head = {
        let mut r = open_stream(&mut file, dctx);
        head_hash(&mut r, None)?
    };
    file.seek(SeekFrom::Start(0))?;
    let mut r = open_stream(&mut file, dctx);
    // Skip the decompressed prefix already read.
    let skipped = std::io::copy(&mut (&mut r).take(start), &mut std::io::sink())?;
    let mut reader = if skipped < start {
        // The stream is shorter than the cursor: not the same content after all.
        restarted = true;
        start = 0;
        drop(r);
        file.seek(SeekFrom::Start(0))?;
        BufReader::with_capacity(256 * 1024, open_stream(&mut file, dctx))
    } else {
        BufReader::with_capacity(256 * 1024, r)
    };
    let read = read_lines(&mut reader, start, on_line, name)?;
    Ok(scanned(st, head, (start, restarted), read))
}

/// [`scan_file_with`] for a plain file, opened, `st` its own stat: its first [`CHUNK`] bytes
/// are read at once and serve both the identity check and the first lines (no seek back), and
/// reading stops at the size `st` gives, which the cursor records (what is appended meanwhile
/// is read next run). A file that fits (most transcripts do) is read with one `read` into the
/// thread's reused buffer and its lines handed out from there: no allocation, no second copy.
fn scan_plain(
    mut file: File,
    st: (u64, u64, u64, i64),
    prev: Option<&Cursor>,
    on_line: &mut impl FnMut(&[u8], Range<u64>) -> Result<()>,
    name: &dyn Fn() -> String,
) -> Result<Scan> {
    with_chunk_buf(|buf| scan_plain_in(buf, &mut file, st, prev, on_line, name))
}

/// `f` given the thread's [`CHUNK_BUF`].
fn with_chunk_buf<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    CHUNK_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => f(&mut buf),
        // Only if a line's handler scanned a file itself: a buffer of its own.
        Err(_) => f(&mut Vec::new()),
    })
}

/// What a plain file's first read takes at most.
const CHUNK: usize = 256 << 10;

thread_local! {
    /// The buffer a file's first [`CHUNK`] bytes are read into (decompressed, for an archive),
    /// kept for the thread's next file (its bytes are zeroed once).
    static CHUNK_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn scan_plain_in(
    buf: &mut Vec<u8>,
    file: &mut File,
    st: (u64, u64, u64, i64),
    prev: Option<&Cursor>,
    on_line: &mut impl FnMut(&[u8], Range<u64>) -> Result<()>,
    name: &dyn Fn() -> String,
) -> Result<Scan> {
    let (dev, ino, size, _) = st;
    // Resuming where a cursor stopped needs only the head before it: the rest is skipped.
    let resuming = prev.is_some_and(|p| p.dev == dev && p.ino == ino && p.offset > 0);
    let want = size.min(if resuming { HEAD_MAX } else { CHUNK } as u64) as usize;
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let got = read_full(file, &mut buf[..want])
        .with_context(|| format!("{}: read failed at byte 0", name()))?;
    let chunk = &buf[..got];
    let head = &chunk[..got.min(HEAD_MAX)];
    let mut start = 0u64;
    let mut restarted = false;
    if let Some(p) = prev.filter(|p| p.dev == dev && p.ino == ino) {
        let same_head = head.len() as u64 >= p.head_len
            && crate::digest::sha256_hex(&head[..p.head_len as usize]) == p.head_sha256;
        if same_head && size >= p.offset {
            start = p.offset;
        } else {
            restarted = true;
        }
    }
    let new_head = head_identity(head);
    // What is left to read sizes the buffer of a larger or resumed file (often a few KB).
    let cap = (size.saturating_sub(start) as usize).clamp(8 << 10, CHUNK);
    let read = if got < want || got as u64 == size {
        // The whole file (as far as `st`, or to where it ends now) is in the chunk.
        match chunk.get(start as usize..) {
            Some(rest) => read_lines(&mut &rest[..], start, on_line, name)?,
            // It ends before the cursor now: nothing to read.
            None => (start, 0, 0),
        }
    } else if start < got as u64 {
        let rest = (&*file).take(size - got as u64);
        let r = std::io::Cursor::new(&chunk[start as usize..]).chain(rest);
        read_lines(&mut BufReader::with_capacity(cap, r), start, on_line, name)?
    } else {
        file.seek(SeekFrom::Start(start))?;
        let rest = (&*file).take(size - start);
        read_lines(
            &mut BufReader::with_capacity(cap, rest),
            start,
            on_line,
            name,
        )?
    };
    Ok(scanned(st, new_head, (start, restarted), read))
}

/// Reads until `buf` is full or the file ends; the bytes read.
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Hands every complete line of `reader` (positioned at `start`) to `on_line`; returns the
/// offset past the last complete line, the lines handed out and the partial tail's length.
fn read_lines(
    reader: &mut impl BufRead,
    start: u64,
    on_line: &mut impl FnMut(&[u8], Range<u64>) -> Result<()>,
    name: &dyn Fn() -> String,
) -> Result<(u64, u64, u64)> {
    let mut pos = start;
    let mut lines = 0u64;
    // Lines are handed out straight from the reader's buffer; only a line that straddles two
    // reads is copied, into `carry`.
    let mut carry: Vec<u8> = Vec::new();
    let tail;
    loop {
        let avail = reader
            .fill_buf()
            .with_context(|| format!("{}: read failed at byte {pos}", name()))?;
        if avail.is_empty() {
            tail = carry.len() as u64;
            break;
        }
        let Some(i) = memchr::memchr(b'\n', avail) else {
            let k = avail.len();
            carry.extend_from_slice(avail);
            reader.consume(k);
            continue;
        };
        let n = if carry.is_empty() {
            on_line(strip_cr(&avail[..i]), pos..pos + i as u64 + 1)?;
            reader.consume(i + 1);
            i + 1
        } else {
            carry.extend_from_slice(&avail[..i]);
            reader.consume(i + 1);
            let n = carry.len() + 1;
            on_line(strip_cr(&carry), pos..pos + n as u64)?;
            carry.clear();
            // A single huge line must not pin its buffer for the rest of the file.
            if carry.capacity() > 4 << 20 {
                carry = Vec::new();
            }
            n
        };
        pos += n as u64;
        lines += 1;
    }
    Ok((pos, lines, tail))
}

/// A line without its `\r` (CRLF files).
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A zstd stream of `file` from where it stands, decompressed with `dctx` (reset first).
fn open_stream<'a>(
    file: &'a mut File,
    dctx: &'a mut Dctx,
) -> zstd::stream::read::Decoder<'a, BufReader<&'a mut File>> {
    let input = BufReader::with_capacity(Dctx::in_size(), file);
    zstd::stream::read::Decoder::with_context(input, dctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn seals_round_trip_and_damaged_ones_are_refused() {
        let f = |name, ino| SealedFile {
            name,
            ino,
            size: 10 * ino,
            mtime_ns: -(ino as i64),
        };
        let s = Sealed {
            files: vec![f(1, 5), f(7, 6), f(u64::MAX, 7)],
            checked_at: 1_700_000_000,
            dir: Some(DirStamp {
                ino: 9,
                mtime_ns: 1,
                listed_ns: 2,
            }),
            others: vec!["a.jsonl".into(), "b é.jsonl".into()],
        };
        let bytes = s.encode();
        assert_eq!(bytes.len(), 5 + 3 * 32 + 24 + 8 + 11);
        assert_eq!(Sealed::decode(&bytes, s.checked_at), Some(s.clone()));
        assert_eq!(s.get(7), Some(&f(7, 6)));
        assert_eq!(s.get(8), None);
        let bare = Sealed {
            others: vec![],
            dir: None,
            ..s.clone()
        };
        assert_eq!(Sealed::decode(&bare.encode(), s.checked_at), Some(bare));
        // Cut anywhere, another format, records out of order, a name without its NUL or not
        // UTF-8: refused (the directory is then listed and `stat`ed in full).
        for cut in [0, 1, 4, 5, 100, 101, 124, bytes.len() - 1] {
            assert_eq!(Sealed::decode(&bytes[..cut], 0), None, "cut at {cut}");
        }
        let mut other = bytes.clone();
        other[0] = 2;
        assert_eq!(Sealed::decode(&other, 0), None);
        let mut swapped = bytes.clone();
        swapped[5..37].copy_from_slice(&bytes[37..69]);
        swapped[37..69].copy_from_slice(&bytes[5..37]);
        assert_eq!(Sealed::decode(&swapped, 0), None);
        let mut bad_name = bytes.clone();
        let at = bad_name.len() - 3;
        bad_name[at] = 0xff;
        assert_eq!(Sealed::decode(&bad_name, 0), None);
        // A directory stamp is trusted only when it was quiet before the listing.
        let d = DirStamp {
            ino: 3,
            mtime_ns: 10_000_000_000,
            listed_ns: 13_000_000_000,
        };
        assert!(d.unchanged((3, 10_000_000_000)));
        assert!(!d.unchanged((4, 10_000_000_000)) && !d.unchanged((3, 10_000_000_001)));
        let busy = DirStamp {
            listed_ns: 11_000_000_000,
            ..d
        };
        assert!(!busy.unchanged((3, 10_000_000_000)));
        // The name hash tells apart names that share a prefix, a padding or a length, and is
        // pinned: seals written by one release are read by the next.
        let names: [&[u8]; 6] = [b"", b"a", b"a\0", b"abcdefgh", b"abcdefgh\0", b"abcdefgi"];
        let hashes: std::collections::HashSet<u64> = names.iter().map(|n| name_hash(n)).collect();
        assert_eq!(hashes.len(), names.len());
        // (The value from an independent implementation of the same steps.)
        assert_eq!(
            name_hash(b"x.jsonl.reset.2026-03-09T11-00-00.000Z"),
            0xf982_1c0f_a278_0085
        );
    }

    #[test]
    fn a_stored_key_names_its_file_and_nothing_else() {
        for id in [(0, 0), (65024, 6111536), (u64::MAX, u64::MAX)] {
            assert_eq!(Cursor::id_of_key(&Cursor::key(id.0, id.1)), Some(id));
        }
        for k in [
            "file:1:2:3",
            "file:1",
            "file::2",
            "sqlite:a:b",
            "sqlitedb:1:2",
            "file:-1:2",
        ] {
            assert_eq!(Cursor::id_of_key(k), None, "{k}");
        }
        let set: FileSet = (0..1000).map(|i| (1, i)).collect();
        assert!((0..1000).all(|i| set.contains(&(1, i))) && !set.contains(&(2, 0)));
    }

    fn collect(path: &Path, zst: bool, prev: Option<&Cursor>) -> (Vec<String>, Scan) {
        let mut got = Vec::new();
        let s = scan_file(path, zst, prev, |l, r| {
            got.push(format!("{}@{}", String::from_utf8_lossy(l), r.start));
            Ok(())
        })
        .unwrap();
        (got, s)
    }

    #[test]
    fn partial_line_waits_and_appends_are_read_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "one\ntwo\nthr").unwrap();
        let (got, s) = collect(&p, false, None);
        assert_eq!(got, vec!["one@0", "two@4"]);
        assert_eq!(s.cursor.offset, 8);
        assert_eq!(s.partial_tail, 3);
        let (got, s2) = collect(&p, false, Some(&s.cursor));
        assert!(got.is_empty() && s2.unchanged);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"ee\nfour\n")
            .unwrap();
        let (got, s3) = collect(&p, false, Some(&s.cursor));
        assert_eq!(got, vec!["three@8", "four@14"]);
        assert!(!s3.restarted);
        // Renamed (same inode): nothing new.
        let q = d.path().join("a.jsonl.reset.2026-01-01T00-00-00Z");
        std::fs::rename(&p, &q).unwrap();
        let (got, _) = collect(&q, false, Some(&s3.cursor));
        assert!(got.is_empty());
    }

    #[test]
    fn lines_across_reads_and_longer_than_the_buffer_come_out_whole() {
        let d = tempfile::tempdir().unwrap();
        for zst in [false, true] {
            let p = d.path().join(format!("big-{zst}.jsonl"));
            let mut text = String::new();
            let mut want = Vec::new();
            for i in 0..3000usize {
                // Lengths that cross every read boundary, one line past the buffer size, CRLF.
                let len = if i == 1500 { 300_000 } else { (i * 37) % 700 };
                let body = format!("{i}:{}", "x".repeat(len));
                text.push_str(&body);
                text.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
                want.push(body);
            }
            text.push_str("partial");
            let bytes = if zst {
                zstd::encode_all(text.as_bytes(), 3).unwrap()
            } else {
                text.clone().into_bytes()
            };
            std::fs::write(&p, bytes).unwrap();
            let mut got = Vec::new();
            let mut ends = 0;
            let s = scan_file(&p, zst, None, |l, r| {
                got.push(String::from_utf8(l.to_vec()).unwrap());
                assert_eq!(r.start, ends);
                ends = r.end;
                Ok(())
            })
            .unwrap();
            assert!(got == want, "zst {zst}");
            assert_eq!(s.cursor.offset, text.len() as u64 - 7);
            assert_eq!(s.partial_tail, 7);
        }
    }

    #[test]
    fn resuming_past_the_head_reads_only_what_was_appended() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        let long: String = (0..200)
            .map(|i| format!("{i}:{}\n", "y".repeat(60)))
            .collect();
        std::fs::write(&p, &long).unwrap();
        let (got, s) = collect(&p, false, None);
        assert_eq!(got.len(), 200);
        assert!(s.cursor.offset > HEAD_MAX as u64);
        // The head is the first line only, whatever the file's length.
        assert_eq!(s.cursor.head_len, long.find('\n').unwrap() as u64 + 1);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"tail one\ntail two\npart")
            .unwrap();
        let (got, s2) = collect(&p, false, Some(&s.cursor));
        assert!(!s2.restarted);
        assert_eq!(
            got,
            vec![
                format!("tail one@{}", long.len()),
                format!("tail two@{}", long.len() + 9)
            ]
        );
        assert_eq!(s2.partial_tail, 4);
        // A different first line at the same inode is another file: read from the start.
        let mut changed = long.clone().into_bytes();
        changed[0] = b'9';
        std::fs::write(&p, &changed).unwrap();
        let (got, s3) = collect(&p, false, Some(&s2.cursor));
        assert!(s3.restarted);
        assert_eq!(got.len(), 200);
    }

    #[test]
    fn resuming_inside_the_head_reads_on_past_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "first\nsecond\n").unwrap();
        let (_, s) = collect(&p, false, None);
        // Lines that cross the head's end (what a resumed scan reads first) and the chunk's.
        let more: Vec<String> = (0..600).map(|i| format!("{i}:{}", "z".repeat(i))).collect();
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        for l in &more {
            writeln!(f, "{l}").unwrap();
        }
        drop(f);
        let (got, s2) = collect(&p, false, Some(&s.cursor));
        assert!(!s2.restarted);
        let mut at = 13;
        let want: Vec<String> = more
            .iter()
            .map(|l| {
                let w = format!("{l}@{at}");
                at += l.len() + 1;
                w
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(s2.cursor.offset, std::fs::metadata(&p).unwrap().len());
    }

    #[test]
    fn truncation_and_replacement_restart() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "head\nline2\nline3\n").unwrap();
        let (_, s) = collect(&p, false, None);
        std::fs::write(&p, "head\nx\n").unwrap(); // same inode, shorter
        let (got, s2) = collect(&p, false, Some(&s.cursor));
        assert!(s2.restarted);
        assert_eq!(got, vec!["head@0", "x@5"]);
        std::fs::write(&p, "other head\nline2\nline3 and more\n").unwrap(); // longer, new head
        let (got, s3) = collect(&p, false, Some(&s2.cursor));
        assert!(s3.restarted);
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn archives_around_the_chunk_and_after_a_damaged_one_are_read_whole() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl.deleted.x.zst");
        // Decompressed sizes on both sides of the first read's buffer, the last line whole or
        // not; between them damaged archives, so the reused context must recover from them.
        for size in [CHUNK - 1, CHUNK, CHUNK + 1, CHUNK + 5000, 10] {
            let mut text = String::new();
            let mut want = Vec::new();
            while text.len() + 100 < size {
                let body = format!("{}:{}", want.len(), "y".repeat(want.len() % 90));
                want.push(format!("{body}@{}", text.len()));
                text.push_str(&body);
                text.push('\n');
            }
            let fill = size - text.len();
            let last = "z".repeat(fill - 1);
            want.push(format!("{last}@{}", text.len()));
            text.push_str(&last);
            text.push('\n');
            assert_eq!(text.len(), size);
            let z = zstd::encode_all(text.as_bytes(), 3).unwrap();
            std::fs::write(&p, &z).unwrap();
            let (got, s) = collect(&p, true, None);
            assert!(
                got == want,
                "size {size}: {} lines of {}",
                got.len(),
                want.len()
            );
            assert_eq!((s.cursor.offset, s.partial_tail), (size as u64, 0));
            // Cut short, then not zstd at all: one error naming the file, nothing handed out.
            for bad in [&z[..z.len() / 2], &b"not zstd at all\n"[..]] {
                std::fs::write(&p, bad).unwrap();
                let mut n = 0;
                let e = scan_file(&p, true, None, |_, _| {
                    n += 1;
                    Ok(())
                })
                .unwrap_err();
                let msg = format!("{e:#}");
                assert!(
                    msg.starts_with(&format!("{}: read failed", p.display())),
                    "{msg}"
                );
                assert!(!msg.contains('\n'), "{msg}");
                assert!(n == 0 || size > CHUNK, "size {size}: {n} lines");
            }
        }
    }

    #[test]
    fn zst_stream_resumes_in_decompressed_offsets() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.jsonl.deleted.x.zst");
        let z = zstd::encode_all(&b"l1\nl2\n"[..], 3).unwrap();
        std::fs::write(&p, z).unwrap();
        let (got, s) = collect(&p, true, None);
        assert_eq!(got, vec!["l1@0", "l2@3"]);
        let z = zstd::encode_all(&b"l1\nl2\nl3\n"[..], 3).unwrap();
        std::fs::write(&p, z).unwrap();
        let (got, _) = collect(&p, true, Some(&s.cursor));
        assert_eq!(got, vec!["l3@6"]);
        // A first line longer than the head: the head a first read takes from its one stream
        // is the one a later read checks.
        let long = format!("{}\nl2\n", "x".repeat(HEAD_MAX + 10));
        std::fs::write(&p, zstd::encode_all(long.as_bytes(), 3).unwrap()).unwrap();
        let (_, s) = collect(&p, true, None);
        assert_eq!(s.cursor.head_len, HEAD_MAX as u64);
        let more = format!("{long}l3\n");
        std::fs::write(&p, zstd::encode_all(more.as_bytes(), 3).unwrap()).unwrap();
        let (got, again) = collect(&p, true, Some(&s.cursor));
        assert!(!again.restarted);
        assert_eq!(got, vec![format!("l3@{}", long.len())]);
    }
}
