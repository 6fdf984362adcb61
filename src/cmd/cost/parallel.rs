//! cost-track's reading pipeline: reader threads read, split and pre-parse transcript files
//! (the CPU-heavy part), the calling thread is the one ledger writer.
//!
//! Files are claimed in listing order and their results are counted in that same order (each
//! file has its own small bounded queue, and the writer drains file `i` before `i + 1`), so a
//! run counts exactly the rows a one-thread run counts, with the same `source` for every line
//! seen twice. A reader blocked on a full queue waits for the writer; a file the writer is
//! waiting for is always being read. Memory: per reader, a few batches plus the longest line.

use super::{prepare, Counted, LedgerErr, Prep, Tracker};
use crate::incremental::{self, Cursor, Scan};
use anyhow::{Context, Result};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

/// One unit of work, in the order a one-thread run does them.
pub(super) enum Job {
    File {
        agent: usize,
        sid: String,
        path: PathBuf,
        label: String,
        zst: bool,
    },
    /// An agent's SQLite database: scanned by the writer itself, at its place in the order.
    Db { agent: usize, path: PathBuf },
}

/// Lines kept for the writer, with what the reader made of them.
#[derive(Default)]
struct Batch {
    /// Every complete line the reader went through (skipped ones included).
    lines: u64,
    buf: Vec<u8>,
    items: Vec<(u64, Range<usize>, Prep)>,
}

const BATCH_BYTES: usize = 256 * 1024;
const BATCH_ITEMS: usize = 1024;
/// Batches a reader may run ahead of the writer, per file.
const QUEUE: usize = 2;

enum Msg {
    Lines(Batch),
    /// The file's identity key and the scan's outcome; `Err` when it could not be stat'ed.
    Done(Result<(String, Result<Scan>)>),
}

/// Reader threads for this run: `CLAW_COST_THREADS`, else one per core (at most 8).
pub(super) fn threads() -> usize {
    std::env::var("CLAW_COST_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .clamp(1, 8)
}

/// Read every job's file on `threads` readers and count it here, in job order. `on_db` scans
/// a database job (on this thread); `after_job` runs after each job (commits, progress).
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    tr: &mut Tracker,
    jobs: &[Job],
    agents: &[crate::openclaw::layout::Agent],
    cursors: &HashMap<String, Cursor>,
    seen: &mut HashSet<String>,
    threads: usize,
    mut on_db: impl FnMut(&mut Tracker, usize, &std::path::Path) -> Result<()>,
    mut after_job: impl FnMut(&mut Tracker, &Job) -> Result<()>,
) -> Result<()> {
    let (txs, rxs): (Vec<_>, Vec<_>) = jobs.iter().map(|_| sync_channel::<Msg>(QUEUE)).unzip();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let txs: Vec<Mutex<Option<SyncSender<Msg>>>> =
        txs.into_iter().map(|t| Mutex::new(Some(t))).collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| reader(jobs, cursors, &txs, &next, &stop));
        }
        let r = write_all(tr, jobs, agents, rxs, seen, &mut on_db, &mut after_job);
        // Stop the readers (a ledger error ends the run): their queues are gone with `rxs`.
        stop.store(true, Ordering::Relaxed);
        r
    })
}

fn reader(
    jobs: &[Job],
    cursors: &HashMap<String, Cursor>,
    txs: &[Mutex<Option<SyncSender<Msg>>>],
    next: &AtomicUsize,
    stop: &AtomicBool,
) {
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= jobs.len() || stop.load(Ordering::Relaxed) {
            return;
        }
        let Some(tx) = txs[i].lock().ok().and_then(|mut t| t.take()) else {
            continue;
        };
        if let Job::File { path, zst, .. } = &jobs[i] {
            if read_file(path, *zst, cursors, &tx).is_err() {
                // The writer is gone: the run is over.
                return;
            }
        }
    }
}

/// `Err` only when the writer stopped listening.
fn read_file(
    path: &std::path::Path,
    zst: bool,
    cursors: &HashMap<String, Cursor>,
    tx: &SyncSender<Msg>,
) -> std::result::Result<(), ()> {
    let st = match incremental::stat(path) {
        Ok(st) => st,
        Err(e) => return tx.send(Msg::Done(Err(e))).map_err(|_| ()),
    };
    let key = Cursor::key(st.0, st.1);
    let mut b = Batch::default();
    let mut gone = false;
    let scan = incremental::scan_file_with(path, st, zst, cursors.get(&key), |line, range| {
        b.lines += 1;
        match prepare(line) {
            Prep::Skip => {}
            p => {
                let t = line.trim_ascii();
                let at = b.buf.len();
                b.buf.extend_from_slice(t);
                b.items.push((range.start, at..at + t.len(), p));
            }
        }
        let full = b.buf.len() >= BATCH_BYTES || b.items.len() >= BATCH_ITEMS;
        if full && tx.send(Msg::Lines(std::mem::take(&mut b))).is_err() {
            gone = true;
            anyhow::bail!("cost-track: writer stopped");
        }
        Ok(())
    });
    if gone {
        return Err(());
    }
    // Lines read before a failure are counted, as a one-thread run counts them.
    if b.lines > 0 {
        tx.send(Msg::Lines(b)).map_err(|_| ())?;
    }
    tx.send(Msg::Done(Ok((key, scan)))).map_err(|_| ())
}

fn write_all(
    tr: &mut Tracker,
    jobs: &[Job],
    agents: &[crate::openclaw::layout::Agent],
    rxs: Vec<Receiver<Msg>>,
    seen: &mut HashSet<String>,
    on_db: &mut impl FnMut(&mut Tracker, usize, &std::path::Path) -> Result<()>,
    after_job: &mut impl FnMut(&mut Tracker, &Job) -> Result<()>,
) -> Result<()> {
    for (job, rx) in jobs.iter().zip(rxs) {
        match job {
            Job::Db { agent, path } => on_db(tr, *agent, path)?,
            Job::File {
                agent, sid, label, ..
            } => {
                let counted = Counted {
                    agent: &agents[*agent].id,
                    session_id: sid,
                    source: label,
                };
                loop {
                    let msg = rx
                        .recv()
                        .map_err(|_| anyhow::anyhow!("{label}: a reader thread failed"))?;
                    match msg {
                        Msg::Lines(b) => {
                            tr.stats.lines_read += b.lines;
                            for (start, raw, p) in b.items {
                                let at = || format!("{label}: byte {start}");
                                tr.prepared(p, &b.buf[raw], &counted, &at)
                                    .context(LedgerErr)?;
                            }
                        }
                        Msg::Done(done) => {
                            let scanned = done.and_then(|(key, scan)| {
                                seen.insert(key.clone());
                                Ok((key, scan?))
                            });
                            match scanned {
                                Ok((key, scan)) => {
                                    tr.stats.files += 1;
                                    tr.stats.files_unchanged += scan.unchanged as u64;
                                    tr.stats.files_restarted += scan.restarted as u64;
                                    tr.stats.bytes_read += scan.bytes;
                                    if !scan.unchanged {
                                        tr.w.save_cursor(&key, label, &scan.cursor)
                                            .context(LedgerErr)?;
                                    }
                                }
                                // A per-file problem is reported and the scan goes on.
                                Err(e) => tr.problem(format!("{e:#}")),
                            }
                            break;
                        }
                    }
                }
            }
        }
        after_job(tr, job)?;
    }
    Ok(())
}
