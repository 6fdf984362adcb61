//! cost-track in three stages on their own threads: one reads (files, agent databases, meters,
//! in the order a single pass would) and keeps the lines that may carry usage, one parses and
//! prices them, and the calling thread writes the ledger. Stages meet in bounded queues of small
//! batches, so memory stays bounded whatever the tree's size, and the order the ledger sees is
//! the reading order: which copy of a line counts first (and so its `source`) is the same as on
//! one core. Problems travel in the same queues, so they are reported in reading order too.
//!
//! The writer decides what is new (the `cost_lines` insert says so) and keeps those counters;
//! the other stages keep the rest. A ledger error ends the writer, which drops its end of the
//! queue: the stage before fails its next send and stops, and so on up.

use super::store::track::{Record, Texts, Writer};
use super::{Counted, LedgerErr};
use crate::ledger::cursors::Position;
use crate::money::Usd;
use crate::pricing::{auto_cost, Tokens};
use anyhow::Result;
use chrono::{DateTime, Utc};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Messages per batch: large enough that the queue costs nothing per line.
const BATCH: usize = 512;
/// Bytes of text per batch: a batch of long lines is sent before it has `BATCH` of them.
const BATCH_BYTES: usize = 128 << 10;
/// Batches of priced lines in flight: the pricing stage runs at most this far ahead of the
/// writer. Deep enough that a stretch of files with few lines (the reader busy alone) or of many
/// short ones (the writer busy alone) does not stop the other stages: at 4 here and before the
/// pricing stage, each stage slept about a third of a cold run on the 200 MB bench tree, which
/// took 7-10 % longer. A batch of priced lines fills up to about 130 KB: 512 lines of 168
/// bytes, their 32-byte messages and their text.
pub(super) const DEPTH: usize = 12;
/// Batches of raw lines in flight, before the pricing stage: a raw line takes about 900 bytes
/// of a batch (the bench tree's average), a priced one about 260, so the deep queue is the one
/// after it. At 4 instead of 12, a cold run on the 200 MB bench tree peaks 1.5 MB lower and
/// takes as long (+0.0 ± 7.8 ms over 40 alternating rounds).
pub(super) const RAW_DEPTH: usize = 4;

/// A piece of a batch's text.
type Span = (u32, u32);

/// A [`Msg::Origin`]'s agent, session id, source, and whether it is in the import archive.
type Origin = (Span, Span, Span, bool);

/// One priced line, its text in its batch's (its day, provider, model and price source in the
/// batch's last [`Msg::Kind`]).
struct Line {
    entry_id: Span,
    ts: DateTime<Utc>,
    ts_text: Span,
    logged_text: Option<Span>,
    computed_text: Option<Span>,
    tokens: Tokens,
    logged: Option<Usd>,
    computed: Option<Usd>,
}

/// Where in its source a line is, for a problem's message.
#[derive(Clone, Copy)]
pub(super) enum At {
    /// A file's byte offset.
    Byte(u64),
    /// An agent database's event, in its session.
    Seq(i64),
}

impl At {
    pub fn describe(self, c: &Counted) -> String {
        match self {
            At::Byte(n) => format!("{}: byte {n}", c.source),
            At::Seq(n) => format!("{}: session {} seq {n}", c.source, c.session_id),
        }
    }
}

/// 32 bytes: a priced line is kept apart (in the batch's `lines`), so a batch of raw lines
/// does not hold a priced line's room for each.
enum Msg {
    /// Where the following lines come from: agent, session id, source, whether it is in the
    /// import archive (sent when it changes).
    Origin(Span, Span, Span, bool),
    /// A line that may carry usage, not parsed yet (its bytes in the batch's `bytes`).
    Raw(Span, At),
    /// The day, provider, model and price source of the following priced lines (sent when they
    /// change, as an origin is): four texts back to back in the batch's, each from its offset
    /// to the next. Most lines of a session share them: about 75 bytes a line not sent.
    Kind([u32; 5]),
    /// The batch's next priced line, in its `lines`.
    Line,
    /// A problem to report, in reading order.
    Problem(String),
    /// A cursor, saved in the step that counts the lines it covers (one a file or session).
    Cursor(Box<(String, String, Position)>),
    /// The end of one source: the writer may commit its step here.
    Step,
}

/// Messages and what they point into: a few allocations per batch, none per line (a line's
/// strings would each be freed by the other thread, which the allocator makes costly). Raw
/// bytes and priced lines get their room when a batch first holds one: a batch of the reader's
/// holds raw lines, one of the pricing stage's priced lines.
struct Batch {
    text: String,
    bytes: Vec<u8>,
    lines: Vec<Line>,
    msgs: Vec<Msg>,
}

impl Batch {
    fn put(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        (start, self.text.len() as u32)
    }

    /// What `write` appends, as a span.
    fn put_with(&mut self, write: impl FnOnce(&mut String)) -> Span {
        let start = self.text.len() as u32;
        write(&mut self.text);
        (start, self.text.len() as u32)
    }

    fn usd(&mut self, v: Option<Usd>) -> Option<Span> {
        v.map(|v| self.put_with(|t| v.push_to(t)))
    }

    fn get(&self, (a, b): Span) -> &str {
        &self.text[a as usize..b as usize]
    }

    /// A [`Msg::Kind`]'s four texts.
    fn kind(&self, k: [u32; 5]) -> [&str; 4] {
        std::array::from_fn(|i| self.get((k[i], k[i + 1])))
    }

    fn new() -> Batch {
        Batch {
            // Origins only, in a batch of raw lines; about 60 bytes a line and its kinds in one
            // of priced lines (grown to that once, the batch being reused).
            text: String::new(),
            bytes: Vec::new(),
            lines: Vec::new(),
            msgs: Vec::with_capacity(BATCH),
        }
    }

    /// Emptied for its next use, unless a long line grew it past its size (it is freed:
    /// memory stays bounded by the longest line, not by it times the batches in flight).
    fn recycled(mut self) -> Option<Batch> {
        if self.bytes.capacity() > BATCH_BYTES
            || self.text.capacity() > 2 * 128 * BATCH
            || self.msgs.capacity() > 2 * BATCH
            || self.lines.capacity() > BATCH
        {
            return None;
        }
        self.text.clear();
        self.bytes.clear();
        self.lines.clear();
        self.msgs.clear();
        Some(self)
    }
}

/// The reader's end: batches messages and hands them over.
pub(super) struct Sink {
    tx: SyncSender<Batch>,
    /// Batches the other end is done with, to fill again: a batch's buffers are allocated
    /// once, not for each use (and freed by the thread that allocated them).
    spent: Receiver<Batch>,
    buf: Batch,
    /// The origin last put in the current batch (a new batch starts without one).
    origin: Option<(String, String, String, bool)>,
    /// The kind last put in the current batch, in its text.
    kind: Option<[u32; 5]>,
}

/// The writer's end.
pub(super) struct Drain {
    rx: Receiver<Batch>,
    spent: SyncSender<Batch>,
}

/// A queue of `depth` batches ([`RAW_DEPTH`] or [`DEPTH`]).
pub(super) fn queue(depth: usize) -> (Sink, Drain) {
    let (tx, rx) = sync_channel(depth);
    // Room for every batch there can be: handing one back never waits.
    let (spent_tx, spent_rx) = sync_channel(depth + 2);
    (
        Sink {
            tx,
            spent: spent_rx,
            buf: Batch::new(),
            origin: None,
            kind: None,
        },
        Drain {
            rx,
            spent: spent_tx,
        },
    )
}

impl Sink {
    /// Hands the pending batch over; fails when the writer has stopped (its error is the
    /// run's).
    fn send(&mut self) -> Result<()> {
        if self.buf.msgs.is_empty() {
            return Ok(());
        }
        let next = self.spent.try_recv().unwrap_or_else(|_| Batch::new());
        let full = std::mem::replace(&mut self.buf, next);
        self.origin = None;
        self.kind = None;
        self.tx
            .send(full)
            .map_err(|_| anyhow::Error::new(LedgerErr))
    }

    /// Makes room for `room` more messages and the origin, which may go in first, and says where
    /// the next lines come from: a batch that took a 513th message would be grown, its messages
    /// copied to a buffer twice the size, and kept at that size.
    fn origin(&mut self, c: &Counted, room: usize) -> Result<()> {
        let b = &self.buf;
        if b.msgs.len() + 1 + room > BATCH || b.bytes.len() + b.text.len() >= BATCH_BYTES {
            self.send()?;
        }
        let same = self.origin.as_ref().is_some_and(|(a, s, src, ar)| {
            a == c.agent && s == c.session_id && src == c.source && *ar == c.archive
        });
        if !same {
            let o = (
                c.agent.into(),
                c.session_id.into(),
                c.source.into(),
                c.archive,
            );
            self.origin = Some(o);
            let b = &mut self.buf;
            let (a, s) = (b.put(c.agent), b.put(c.session_id));
            let o = Msg::Origin(a, s, b.put(c.source), c.archive);
            b.msgs.push(o);
        }
        Ok(())
    }

    /// A line that may carry usage, to be parsed and priced by the next stage.
    pub fn raw(&mut self, line: &[u8], c: &Counted, at: At) -> Result<()> {
        // A line that would grow the bytes past their size goes in the next batch.
        let b = &self.buf.bytes;
        if !b.is_empty() && b.len() + line.len() > BATCH_BYTES {
            self.send()?;
        }
        self.origin(c, 1)?;
        let b = &mut self.buf;
        if b.bytes.capacity() == 0 {
            // Filled to BATCH_BYTES at most: grown by doubling, it would be copied five times.
            b.bytes.reserve_exact(BATCH_BYTES.max(line.len()));
        }
        let start = b.bytes.len() as u32;
        b.bytes.extend_from_slice(line);
        b.msgs.push(Msg::Raw((start, b.bytes.len() as u32), at));
        Ok(())
    }

    /// A problem, reported in reading order (never fails: the next line or step sends it).
    pub fn problem(&mut self, msg: String) {
        self.buf.msgs.push(Msg::Problem(msg));
    }

    /// One line to count. Its cost in the auto mode is the writer's to pick (see
    /// [`auto_cost`]): a line in flight is 40 bytes smaller without it.
    pub fn line(&mut self, r: &Record) -> Result<()> {
        let c = Counted {
            agent: r.agent,
            session_id: r.session_id,
            source: r.source,
            archive: false,
        };
        // Room for the kind and the line.
        self.origin(&c, 2)?;
        let b = &mut self.buf;
        let kind = [r.day, r.provider, r.model, r.price_source];
        if self.kind.is_none_or(|k| b.kind(k) != kind) {
            let mut k = [b.text.len() as u32; 5];
            for (i, part) in kind.into_iter().enumerate() {
                b.text.push_str(part);
                k[i + 1] = b.text.len() as u32;
            }
            b.msgs.push(Msg::Kind(k));
            self.kind = Some(k);
        }
        let line = Line {
            entry_id: b.put(r.entry_id),
            ts: r.ts,
            ts_text: match r.ts_text {
                Some(t) => b.put(t),
                None => b.put_with(|t| super::push_ts(t, r.ts)),
            },
            logged_text: b.usd(r.logged),
            computed_text: b.usd(r.computed),
            tokens: *r.tokens,
            logged: r.logged,
            computed: r.computed,
        };
        if b.lines.capacity() == 0 {
            // One a message at most.
            b.lines.reserve_exact(BATCH);
        }
        b.lines.push(line);
        b.msgs.push(Msg::Line);
        Ok(())
    }

    /// Sends the batch first when it has no room for one more message: an agent database
    /// saves one cursor a session, thousands in a row, and a run of small files as many steps.
    fn room_for_one(&mut self) -> Result<()> {
        if self.buf.msgs.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }

    pub fn cursor(&mut self, key: String, label: &str, pos: Position) -> Result<()> {
        self.room_for_one()?;
        let c = Box::new((key, label.to_string(), pos));
        self.buf.msgs.push(Msg::Cursor(c));
        Ok(())
    }

    /// The end of a file or database.
    pub fn step(&mut self) -> Result<()> {
        self.room_for_one()?;
        self.buf.msgs.push(Msg::Step);
        Ok(())
    }

    /// Hands over what is pending; the writer ends when the sink is dropped.
    pub fn finish(mut self) -> Result<()> {
        self.send()
    }
}

/// What the writer counted.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub counted: u64,
    pub duplicates: u64,
    pub unpriced: u64,
    /// Exact, in the auto cost mode.
    pub counted_usd: Usd,
}

/// The middle stage's work: what becomes of a raw line and of a problem.
pub(super) trait Refiner {
    /// Parses and prices one raw line, handing what is to be counted to `out`.
    fn raw(&mut self, out: &mut Sink, line: &[u8], c: &Counted, at: At) -> Result<()>;
    fn problem(&mut self, msg: String);
}

impl Drain {
    /// The middle stage: refines raw lines into priced ones and passes everything else on, in
    /// order, until the reader is done. An error is the writer's having stopped.
    pub fn refine(self, r: &mut impl Refiner, mut out: Sink) -> Result<()> {
        for mut b in &self.rx {
            let (mut origin, mut kind) = (None, None);
            let mut msgs = std::mem::take(&mut b.msgs);
            let mut lines = b.lines.iter();
            for m in msgs.drain(..) {
                match m {
                    Msg::Origin(a, s, src, ar) => origin = Some((a, s, src, ar)),
                    Msg::Kind(k) => kind = Some(k),
                    Msg::Raw((x, y), at) => {
                        let c = counted(&b, origin);
                        r.raw(&mut out, &b.bytes[x as usize..y as usize], &c, at)?;
                    }
                    Msg::Line => {
                        // Already priced (a meter's line): as it is.
                        let o = origin.expect("an origin precedes every line of a batch");
                        let l = lines.next().expect("a line for each line message");
                        out.line(&record(&b, o, kind, l))?;
                    }
                    Msg::Problem(p) => r.problem(p),
                    Msg::Cursor(c) => {
                        let (key, label, pos) = *c;
                        out.cursor(key, &label, pos)?
                    }
                    Msg::Step => out.step()?,
                }
            }
            b.msgs = msgs;
            self.hand_back(b);
        }
        out.finish()
    }

    /// Gives a batch done with back to the sink for its next use.
    fn hand_back(&self, b: Batch) {
        if let Some(b) = b.recycled() {
            // Full (never, by its size) or the sink gone: the batch is simply freed.
            let _ = self.spent.try_send(b);
        }
    }

    /// Writes everything the reader sends until it is done, in order. Every error is a ledger
    /// error (it stops the run).
    pub fn write(self, w: &mut Writer) -> Result<Written> {
        let mut out = Written::default();
        for mut b in &self.rx {
            let (mut origin, mut kind) = (None, None);
            let mut msgs = std::mem::take(&mut b.msgs);
            let mut lines = b.lines.iter();
            for m in msgs.drain(..) {
                match m {
                    Msg::Origin(a, s, src, ar) => origin = Some((a, s, src, ar)),
                    Msg::Kind(k) => kind = Some(k),
                    Msg::Line => {
                        let o = origin.expect("an origin precedes every line of a batch");
                        let l = lines.next().expect("a line for each line message");
                        count(w, &b, o, kind, l, &mut out)?;
                    }
                    Msg::Raw(..) | Msg::Problem(_) => {
                        anyhow::bail!("cost-track: an unrefined message reached the ledger writer")
                    }
                    Msg::Cursor(c) => {
                        let (key, label, pos) = *c;
                        w.save_cursor(key, &label, pos)
                    }
                    Msg::Step => {
                        w.maybe_commit()?;
                        if crate::atomic::fault_point("cost-track-ledger-error") {
                            // Test-only: a ledger write failing mid-run (disk full, I/O error).
                            anyhow::bail!("injected ledger failure");
                        }
                    }
                }
            }
            b.msgs = msgs;
            self.hand_back(b);
        }
        Ok(out)
    }
}

/// The origin of a batch's raw line.
fn counted(b: &Batch, origin: Option<Origin>) -> Counted<'_> {
    let (agent, session_id, source, archive) =
        origin.expect("an origin precedes every line of a batch");
    Counted {
        agent: b.get(agent),
        session_id: b.get(session_id),
        source: b.get(source),
        archive,
    }
}

/// A batch's priced line as the record it was made from.
fn record<'b>(
    b: &'b Batch,
    (agent, session_id, source, _): Origin,
    kind: Option<[u32; 5]>,
    l: &'b Line,
) -> Record<'b> {
    let [day, provider, model, price_source] =
        b.kind(kind.expect("a kind precedes every priced line of a batch"));
    Record {
        agent: b.get(agent),
        session_id: b.get(session_id),
        entry_id: b.get(l.entry_id),
        day,
        ts: l.ts,
        ts_text: Some(b.get(l.ts_text)),
        provider,
        model,
        tokens: &l.tokens,
        logged: l.logged,
        computed: l.computed,
        price_source,
        source: b.get(source),
    }
}

/// Counts one line once per (session id, entry id).
fn count(
    w: &mut Writer,
    b: &Batch,
    o: Origin,
    kind: Option<[u32; 5]>,
    l: &Line,
    out: &mut Written,
) -> Result<()> {
    let r = record(b, o, kind, l);
    let t = Texts {
        ts: b.get(l.ts_text),
        logged: l.logged_text.map(|s| b.get(s)),
        computed: l.computed_text.map(|s| b.get(s)),
    };
    let auto = auto_cost(l.logged, l.computed);
    if !w.count(&r, &t, auto)? {
        out.duplicates += 1;
        return Ok(());
    }
    out.counted += 1;
    out.unpriced += auto.is_none() as u64;
    out.counted_usd = out
        .counted_usd
        .saturating_add(auto.map(|a| a.0).unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Receives what the sink sent, in order: each raw line's bytes and its batch's capacity.
    fn drained(d: &Drain) -> Vec<(Vec<u8>, usize)> {
        let mut out = Vec::new();
        for b in d.rx.try_iter() {
            for m in &b.msgs {
                if let Msg::Raw((x, y), _) = m {
                    out.push((
                        b.bytes[*x as usize..*y as usize].to_vec(),
                        b.bytes.capacity(),
                    ));
                }
            }
            d.hand_back(b);
        }
        out
    }

    #[test]
    fn batches_keep_their_size_and_a_long_line_is_not_kept_for_reuse() {
        let (mut sink, drain) = queue(RAW_DEPTH);
        let c = Counted {
            agent: "main",
            session_id: "s",
            source: "agents/main/sessions/s.jsonl",
            archive: false,
        };
        // Lines that do not divide the batch's bytes, and one far longer than a batch.
        let lines: Vec<Vec<u8>> = (0..3 * DEPTH)
            .map(|i| {
                let n = if i == DEPTH {
                    3 * BATCH_BYTES
                } else {
                    9_000 + i
                };
                vec![b'a' + (i % 26) as u8; n]
            })
            .collect();
        let mut got = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            sink.raw(l, &c, At::Byte(i as u64)).unwrap();
            got.extend(drained(&drain));
        }
        sink.finish().unwrap();
        got.extend(drained(&drain));
        let sent: Vec<&Vec<u8>> = got.iter().map(|(l, _)| l).collect();
        assert_eq!(
            sent,
            lines.iter().collect::<Vec<_>>(),
            "every line, in order"
        );
        for (l, cap) in &got {
            // Only the long line's batch grew, and only to hold it.
            let want = if l.len() > BATCH_BYTES {
                l.len()
            } else {
                BATCH_BYTES
            };
            assert_eq!(*cap, want, "a line of {} bytes", l.len());
        }
        // A batch grown by a long line is freed when done with; one of its size is kept.
        let (mut sink, drain) = queue(RAW_DEPTH);
        sink.raw(&lines[DEPTH], &c, At::Byte(0)).unwrap();
        sink.raw(&lines[0], &c, At::Byte(1)).unwrap();
        sink.finish().unwrap();
        let b = drain.rx.try_recv().unwrap();
        assert!(b.bytes.capacity() > BATCH_BYTES);
        assert!(b.recycled().is_none());
        let b = drain.rx.try_recv().unwrap();
        let b = b.recycled().expect("a batch of its size is kept");
        assert!(b.bytes.is_empty() && b.msgs.is_empty() && b.text.is_empty());
    }

    /// Every batch sent holds at most `BATCH` messages in the room it was made with, whatever
    /// the mix of lines, origins and steps: a line whose origin changes takes two messages, and
    /// a batch one short of full must not be grown (doubled and copied) to take both. (A
    /// problem is pushed without a check, never failing; at most `PROBLEMS_KEPT` a run reach
    /// the queue, so they cannot grow batches without bound.)
    #[test]
    fn a_batch_is_never_grown_past_its_messages() {
        let tokens = Tokens::default();
        // Every line of a session, and every kind: what the consumer reads back.
        let read = |b: &Batch, got: &mut Vec<String>| {
            let (mut origin, mut kind, mut lines) = (None, None, b.lines.iter());
            for m in &b.msgs {
                match m {
                    Msg::Origin(a, s, src, ar) => origin = Some((*a, *s, *src, *ar)),
                    Msg::Kind(k) => kind = Some(*k),
                    Msg::Line => {
                        let r = record(b, origin.unwrap(), kind, lines.next().unwrap());
                        let (s, e, m, d) = (r.session_id, r.entry_id, r.model, r.day);
                        got.push(format!("{s} {e} {m} {d} {}", r.price_source));
                    }
                    _ => {}
                }
            }
        };
        for (origin_every, kind_every) in [(1, 1), (2, 3), (3, 1), (7, 2), (1000, 5)] {
            let (mut got, mut want) = (Vec::new(), Vec::new());
            let (mut sink, drain) = queue(DEPTH);
            let (raw_sink, raw_drain) = queue(RAW_DEPTH);
            let mut raw_sink = Some(raw_sink);
            let mut sent = (0, 0);
            for i in 0..4 * BATCH {
                let session = format!("s{}", i / origin_every);
                let c = Counted {
                    agent: "main",
                    session_id: &session,
                    source: "agents/main/sessions/s.jsonl",
                    archive: false,
                };
                let id = format!("e{i}");
                let model = format!("m{}", i / kind_every);
                let r = Record {
                    agent: c.agent,
                    session_id: c.session_id,
                    entry_id: &id,
                    day: "2026-11-21",
                    ts: DateTime::UNIX_EPOCH,
                    ts_text: None,
                    provider: "p",
                    model: &model,
                    tokens: &tokens,
                    logged: None,
                    computed: None,
                    price_source: "none",
                    source: c.source,
                };
                sink.line(&r).unwrap();
                want.push(format!("{session} {id} {model} 2026-11-21 none"));
                let raw = raw_sink.as_mut().unwrap();
                raw.raw(b"{}", &c, At::Byte(i as u64)).unwrap();
                if i % 5 == 0 {
                    raw.step().unwrap();
                }
                for (d, n) in [(&drain, &mut sent.0), (&raw_drain, &mut sent.1)] {
                    for b in d.rx.try_iter() {
                        read(&b, &mut got);
                        assert!(b.msgs.len() <= BATCH, "{} messages", b.msgs.len());
                        assert_eq!(b.msgs.capacity(), BATCH, "origin every {origin_every}");
                        // Room only for what it holds: priced lines or raw bytes.
                        let (lines, bytes) = (b.lines.capacity(), b.bytes.capacity());
                        assert!(lines == 0 || lines == BATCH, "room for {lines} lines");
                        assert!(lines == 0 || bytes == 0, "{lines} lines, {bytes} bytes");
                        *n += 1;
                    }
                }
            }
            sink.finish().unwrap();
            raw_sink.take().unwrap().finish().unwrap();
            for d in [&drain, &raw_drain] {
                for b in d.rx.try_iter() {
                    assert_eq!(b.msgs.capacity(), BATCH, "origin every {origin_every}");
                    read(&b, &mut got);
                }
            }
            assert!(sent.0 >= 4 && sent.1 >= 4, "batches were sent: {sent:?}");
            assert_eq!(
                got, want,
                "origin every {origin_every}, kind every {kind_every}"
            );
        }
    }

    /// A message is small whatever it says: a batch of raw lines holds one a line.
    #[test]
    fn a_message_takes_32_bytes() {
        assert!(
            std::mem::size_of::<Msg>() <= 32,
            "{}",
            std::mem::size_of::<Msg>()
        );
    }
}
