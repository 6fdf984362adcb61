//! `claw cost track`: count every model call's usage once, from every agent's transcripts in
//! both storage eras, into the ledger; `cost report` / `cost top` read what was counted.
//!
//! Sources per agent: `sessions/` (live, `.reset.*`, `.deleted.*[.zst]`, checkpoint copies,
//! and the JSONL moved aside by the SQLite import) and `agent/openclaw-agent.sqlite`
//! (`transcript_events`, `event_json` or zstd `event_zstd`). Reading is incremental (see
//! [`crate::incremental`]); counting is exactly-once by `(session id, entry id)` in
//! `cost_lines`, so a line seen again in an archive, a checkpoint or the database adds nothing.

pub mod budget;
pub mod digest;
mod meters;
mod pipe;
pub mod pricing;
pub mod report;
mod store;

use crate::cli::CostCmd;
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::incremental::{self, Cursor, FileMap, FileSet};
use crate::ledger::cursors::{self, Cursors, Position};
use crate::ledger::Ledger;
use crate::money::Usd;
use crate::openclaw::layout;
use crate::openclaw::transcript;
use crate::output::Outcome;
use crate::pricing::{Book, Price, Source, Tokens};
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;
use store::track::Record;
pub use store::track::{has_counted, totals, Total};
pub(crate) use store::track::{int_col, usd_col, SANE_LINE_SQL};

pub fn command_name(c: &CostCmd) -> &'static str {
    match c {
        CostCmd::Track => "cost track",
        CostCmd::Report(_) => "cost report",
        CostCmd::Top(_) => "cost top",
        CostCmd::Digest(_) => "cost digest",
    }
}

pub fn run(ctx: &Ctx, c: &CostCmd) -> Result<Outcome> {
    match c {
        CostCmd::Track => ctx.run_job("cost-track", "cost", track),
        CostCmd::Report(a) => report::report(ctx, a),
        CostCmd::Top(a) => report::top(ctx, a),
        CostCmd::Digest(a) => digest::run(ctx, a),
    }
}

use crate::zone::Zone;

/// Per-run counters, reported in the summary and the ledger detail.
#[derive(Debug, Default, serde::Serialize)]
struct Stats {
    files: u64,
    files_unchanged: u64,
    files_restarted: u64,
    /// Archives known complete, listed without a `stat` (counted in `files_unchanged` too).
    files_sealed: u64,
    databases: u64,
    /// Agent databases unchanged since the last run (not even opened).
    databases_unchanged: u64,
    lines_read: u64,
    bytes_read: u64,
    usage_lines: u64,
    counted: u64,
    duplicates: u64,
    excluded_injected: u64,
    zero_usage: u64,
    unpriced: u64,
    corrupt: u64,
    undated: u64,
    /// Usage lines with a number no model call can have (not counted; each is a problem).
    absurd: u64,
    /// Exact, in the auto cost mode.
    counted_usd: Usd,
    problems: Vec<String>,
}

impl Stats {
    /// Adds another stage's counters (each stage keeps its own).
    fn add(&mut self, o: Stats) {
        let Stats {
            files,
            files_unchanged,
            files_restarted,
            files_sealed,
            databases,
            databases_unchanged,
            lines_read,
            bytes_read,
            usage_lines,
            counted,
            duplicates,
            excluded_injected,
            zero_usage,
            unpriced,
            corrupt,
            undated,
            absurd,
            counted_usd,
            problems,
        } = o;
        self.files += files;
        self.files_unchanged += files_unchanged;
        self.files_restarted += files_restarted;
        self.files_sealed += files_sealed;
        self.databases += databases;
        self.databases_unchanged += databases_unchanged;
        self.lines_read += lines_read;
        self.bytes_read += bytes_read;
        self.usage_lines += usage_lines;
        self.counted += counted;
        self.duplicates += duplicates;
        self.excluded_injected += excluded_injected;
        self.zero_usage += zero_usage;
        self.unpriced += unpriced;
        self.corrupt += corrupt;
        self.undated += undated;
        self.absurd += absurd;
        self.counted_usd = self.counted_usd.saturating_add(counted_usd);
        self.problems.extend(problems);
        self.problems.truncate(PROBLEMS_KEPT);
    }
}

/// Where a line comes from.
pub(super) struct Counted<'a> {
    pub agent: &'a str,
    pub session_id: &'a str,
    pub source: &'a str,
    /// A file of the agent's SQLite import archive (its database repeats those lines).
    pub archive: bool,
}

/// The reading stage (see [`pipe`]): every line of every source, of which only those that
/// may carry usage go on.
struct Tracker {
    sink: pipe::Sink,
    zone: Zone,
    stats: Stats,
    /// Problems handed on so far.
    forwarded: usize,
}

/// Problems kept (and printed) per run; the rest are counted.
const PROBLEMS_KEPT: usize = 50;

impl Tracker {
    /// Handle one raw line of a transcript; `at` names it in problems.
    fn line(&mut self, raw: &[u8], c: &Counted, at: pipe::At) -> Result<()> {
        self.stats.lines_read += 1;
        let t = raw.trim_ascii();
        if t.is_empty() {
            return Ok(());
        }
        if !(t.starts_with(b"{") && t.ends_with(b"}")) {
            let why = match serde_json::from_slice::<serde::de::IgnoredAny>(t) {
                Err(e) => e.to_string(),
                Ok(_) => "not a JSON object".to_string(),
            };
            self.problem(format!("{}: corrupt JSON: {why}", at.describe(c)));
            return Ok(());
        }
        if !transcript::may_carry_usage(t) {
            return Ok(());
        }
        self.sink.raw(t, c, at)
    }

    /// A problem, counted and kept by the pricing stage (so the kept ones are the first in
    /// reading order). Past the first [`PROBLEMS_KEPT`] it is only counted here: a file of a
    /// million bad lines must not queue a million messages.
    fn problem(&mut self, msg: String) {
        if self.forwarded < PROBLEMS_KEPT {
            self.forwarded += 1;
            self.sink.problem(msg);
        } else {
            self.stats.corrupt += 1;
        }
    }

    /// Hands one line priced here (a meter's) on as it is.
    fn record(&mut self, r: &Record) -> Result<()> {
        self.sink.line(r)
    }
}

/// The pricing stage: parses the lines that may carry usage and prices the model calls.
struct Pricer {
    book: Book,
    zone: Zone,
    stats: Stats,
    memo: Memo,
    sent: Sent,
    /// The line being priced: its leading id and that id's [`Sent`] key, when it has both
    /// (looked up before the parse; the same id read again by the parse is not looked up
    /// again).
    lead: Option<([u8; 8], u64)>,
}

/// The (session id, entry id) of every line this run handed to the writer, where both have
/// OpenClaw's shapes (a lowercase UUID, interned; 8 lowercase hex digits), kept exactly in 8
/// bytes a line. A line found here is a duplicate for certain (the writer counted or refused
/// its first copy), so it is counted as one without reaching the ledger: an agent database
/// repeats every line of its JSONL import archive. Lines of other shapes go to the writer,
/// whose insert decides. A line whose id leads it as OpenClaw writes it (see
/// [`transcript::leading_id`]) is looked up before it is even parsed.
///
/// Only keys a later copy can match are kept. Lines are read an agent at a time, and within
/// an agent, a session's files one after the other (a listing sorted by path puts `<sid>.jsonl`
/// beside its checkpoint copies and reset and deleted archives): a session's keys are kept
/// until the next session's lines, except those of the SQLite import archive, which the agent's
/// database, read last, repeats whatever the session. A copy read later still (a session
/// whose files are in both directories, a session read under two agents) goes to the writer,
/// whose insert decides. Bounded whatever the home: at most [`SENT_MAX`] keys in the two sets
/// (each table 1.2 MB at most) and [`SENT_SESSIONS`] sessions (0.5 MB); past either, later
/// lines go to the writer.
#[derive(Default)]
struct Sent {
    /// The agent whose lines the sets hold.
    agent: String,
    /// Whether the lines now read are the import archive's (their keys go in `kept`).
    archive: bool,
    sessions: HashMap<u128, u32>,
    /// The session looked up last, as its text (lines come a session at a time: comparing the
    /// text is cheaper than reading its 128 bits again, twice a line).
    last: Option<(String, u32)>,
    /// The current session's keys. Hashed by [`KeyMix`]: keyed, and every bit of a key reaches
    /// the bucket bits.
    keys: HashSet<u64, KeyMix>,
    /// The agent's import archive's keys.
    kept: HashSet<u64, KeyMix>,
}

/// The hash of [`Sent`]'s keys: the key xor a seed drawn for the run, through splitmix64's
/// finalizer. Keys that differ only in their high bits (one entry id in many sessions) spread
/// over every bucket, which a plain multiply would not do, and where a key lands cannot be
/// known from the files (the seed is std's random hash key). About a tenth of std's SipHash
/// per key, which the pricing stage computes up to three times a line.
#[derive(Clone)]
struct KeyMix(u64);

impl Default for KeyMix {
    fn default() -> Self {
        use std::hash::BuildHasher;
        KeyMix(std::collections::hash_map::RandomState::new().hash_one(0u64))
    }
}

impl std::hash::BuildHasher for KeyMix {
    type Hasher = Mixed;
    fn build_hasher(&self) -> Mixed {
        Mixed(self.0)
    }
}

/// [`KeyMix`]'s hasher: the state is mixed into at each write, so that any input hashes well
/// (a key is one `u64`).
struct Mixed(u64);

impl std::hash::Hasher for Mixed {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = splitmix(self.0 ^ n);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// splitmix64's finalizer: a bijection in which each input bit flips about half the output's.
fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Keys [`Sent`] keeps: its table's 2^17 buckets at most (7/8 full), about 1.2 MB. Lines are
/// read an agent at a time, its files before its database: the first copies of what the
/// database repeats are in.
const SENT_MAX: usize = (1 << 17) / 8 * 7;
/// Sessions [`Sent`] interns: 2^14 buckets at most, about 0.5 MB.
const SENT_SESSIONS: usize = (1 << 14) / 8 * 7;

/// The 128 bits of a lowercase `8-4-4-4-12` UUID (OpenClaw's session ids).
fn uuid_bits(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut v = 0u128;
    for (i, &c) in b.iter().enumerate() {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'-' if [8, 13, 18, 23].contains(&i) => continue,
            _ => return None,
        };
        v = v << 4 | u128::from(d);
    }
    Some(v)
}

impl Sent {
    /// Where the next line comes from: the sets start over when it is another agent's (the
    /// tables keep their room).
    fn enter(&mut self, c: &Counted) {
        self.archive = c.archive;
        if self.agent != c.agent {
            self.agent.clear();
            self.agent.push_str(c.agent);
            self.sessions.clear();
            self.keys.clear();
            self.kept.clear();
            self.last = None;
        }
    }

    fn contains(&self, k: u64) -> bool {
        self.keys.contains(&k) || self.kept.contains(&k)
    }

    /// A line handed to the writer.
    fn insert(&mut self, k: u64) {
        match self.archive {
            true => self.kept.insert(k),
            false => self.keys.insert(k),
        };
    }

    /// The exact key of a line, when both ids have OpenClaw's shapes and there is room.
    fn key(&mut self, session: &str, entry: &str) -> Option<u64> {
        if self.keys.len() + self.kept.len() >= SENT_MAX {
            return None;
        }
        let id = transcript::entry_bits(entry.as_bytes())?;
        let s = match &self.last {
            Some((k, n)) if k == session => *n,
            _ => {
                let sid = uuid_bits(session)?;
                let n = match self.sessions.get(&sid) {
                    Some(&n) => n,
                    None if self.sessions.len() < SENT_SESSIONS => {
                        let n = self.sessions.len() as u32;
                        self.sessions.insert(sid, n);
                        n
                    }
                    None => return None,
                };
                // Another session: the last one's keys can have no later copy.
                self.keys.clear();
                self.last = Some((session.to_string(), n));
                n
            }
        };
        Some(u64::from(s) << 32 | u64::from(id))
    }
}

/// The last day written and the last price looked up: a file's lines mostly share them.
#[derive(Default)]
struct Memo {
    day: DayMemo,
    price: PriceMemo,
}

#[derive(Default)]
struct DayMemo(Option<(NaiveDate, String)>);

#[derive(Default)]
struct PriceMemo(Option<PriceHit>);

struct PriceHit {
    /// Agent, provider, model.
    key: [String; 3],
    price: Option<Price>,
    /// The recorded price source without and with a logged cost.
    source: [String; 2],
}

impl DayMemo {
    fn get(&mut self, d: NaiveDate) -> &str {
        if self.0.as_ref().is_none_or(|(k, _)| *k != d) {
            self.0 = Some((d, ymd(d)));
        }
        &self.0.as_ref().expect("set above").1
    }
}

impl PriceMemo {
    fn get(&mut self, book: &Book, agent: &str, provider: &str, model: &str) -> &PriceHit {
        let hit = self
            .0
            .as_ref()
            .is_some_and(|h| h.key == [agent, provider, model]);
        if !hit {
            let (src, price) = book.lookup(agent, provider, model);
            self.0 = Some(PriceHit {
                key: [agent.into(), provider.into(), model.into()],
                price,
                source: [price_source(false, src.clone()), price_source(true, src)],
            });
        }
        self.0.as_ref().expect("set above")
    }
}

impl pipe::Refiner for Pricer {
    fn raw(&mut self, out: &mut pipe::Sink, t: &[u8], c: &Counted, at: pipe::At) -> Result<()> {
        // A copy of a line already handed to the writer (an agent database repeats its import
        // archive) is a duplicate before it is parsed, when its id is where OpenClaw writes it.
        self.sent.enter(c);
        let id = transcript::leading_id(t);
        self.lead = id.and_then(|id| {
            Some((
                id.as_bytes().try_into().ok()?,
                self.sent.key(c.session_id, id)?,
            ))
        });
        if let Some((_, k)) = self.lead {
            if self.sent.contains(k) {
                self.stats.usage_lines += 1;
                self.stats.duplicates += 1;
                return Ok(());
            }
        }
        match transcript::parse_call(t) {
            Ok(Some(call)) => self.call(out, call, t, c, at),
            Ok(None) => Ok(()),
            Err(m) => {
                self.problem(format!("{}: corrupt JSON: {m}", at.describe(c)));
                Ok(())
            }
        }
    }

    fn problem(&mut self, msg: String) {
        self.stats.corrupt += 1;
        if self.stats.problems.len() < PROBLEMS_KEPT {
            self.stats.problems.push(msg);
        }
    }
}

impl Pricer {
    fn call(
        &mut self,
        out: &mut pipe::Sink,
        a: transcript::Call,
        raw: &[u8],
        c: &Counted,
        at: pipe::At,
    ) -> Result<()> {
        use pipe::Refiner;
        let Some(u) = a.usage else { return Ok(()) };
        self.stats.usage_lines += 1;
        if a.is_gateway_injected() {
            self.stats.excluded_injected += 1;
            return Ok(());
        }
        if let Some(bad) = u.absurd {
            // One forged or corrupted line must never become spend (it would poison every
            // later sum): it is a problem, named by where it is and its id.
            self.stats.absurd += 1;
            let id = a.id.as_deref().unwrap_or("-");
            self.problem(format!(
                "{}: entry {id}: {bad}; not counted",
                at.describe(c)
            ));
            return Ok(());
        }
        let logged = u.cost_total;
        if u.tokens() == 0 && logged.is_none_or(|l| l.is_zero()) {
            // Failed turns write all-zero usage: not spend.
            self.stats.zero_usage += 1;
            return Ok(());
        }
        let stamp = a.timestamp.as_deref();
        let canonical = stamp.and_then(iso_millis);
        let parsed = || DateTime::parse_from_rfc3339(stamp?).ok();
        let Some(ts) = canonical.or_else(|| Some(parsed()?.with_timezone(&Utc))) else {
            self.stats.undated += 1;
            self.problem(format!(
                "{}: usage line without a valid top-level timestamp; not counted",
                at.describe(c)
            ));
            return Ok(());
        };
        let mut memo = std::mem::take(&mut self.memo);
        let r = self.priced(out, &mut memo, a, (ts, canonical.is_some()), raw, c, at);
        self.memo = memo;
        r
    }

    /// A usage line that is spend, dated: priced and handed to the writer, which counts it
    /// once per (session id, entry id) into the per-line ledger rows and the daily totals
    /// (exact decimal text, see [`crate::money`]).
    #[allow(clippy::too_many_arguments)]
    fn priced(
        &mut self,
        out: &mut pipe::Sink,
        memo: &mut Memo,
        a: transcript::Call,
        (ts, canonical): (DateTime<Utc>, bool),
        raw: &[u8],
        c: &Counted,
        at: pipe::At,
    ) -> Result<()> {
        use pipe::Refiner;
        let u = a.usage.unwrap_or_default();
        let logged = u.cost_total;
        let day = memo.day.get(self.zone.day_of(ts));
        let entry_id = match a.id {
            Some(id) => id,
            None => format!("sha256:{}", &crate::digest::sha256_hex(raw)[..32]).into(),
        };
        let key = match self.lead.take() {
            Some((id, k)) if entry_id.as_bytes() == id => Some(k),
            _ => self.sent.key(c.session_id, &entry_id),
        };
        if key.is_some_and(|k| self.sent.contains(k)) {
            self.stats.duplicates += 1;
            return Ok(());
        }
        let provider = a.provider.unwrap_or_default();
        let model = a.model.unwrap_or_default();
        let tokens = Tokens {
            input: u.input,
            output: u.output,
            cache_read: u.cache_read,
            cache_write: u.cache_write,
        };
        let hit = memo.price.get(&self.book, c.agent, &provider, &model);
        let computed = match computed_cost(hit.price.as_ref(), &tokens) {
            Ok(c) => c,
            Err(why) => {
                // A price table (models.json, the config) is outside input too.
                self.stats.absurd += 1;
                self.problem(format!(
                    "{}: entry {entry_id}: absurd computed cost for {provider}/{model}: {why}; not counted",
                    at.describe(c),
                ));
                return Ok(());
            }
        };
        let price_source = &hit.source[logged.is_some() as usize];
        let r = Record {
            agent: c.agent,
            session_id: c.session_id,
            entry_id: &entry_id,
            day,
            ts,
            ts_text: a.timestamp.as_deref().filter(|_| canonical),
            provider: &provider,
            model: &model,
            tokens: &tokens,
            logged,
            computed,
            price_source,
            source: c.source,
        };
        if let Some(k) = key {
            self.sent.insert(k);
        }
        out.line(&r)
    }
}

/// `YYYY-MM-DD`, as `%Y-%m-%d` writes it for the years a transcript can hold (written by
/// hand: chrono re-parses its format string on every call, once per counted line).
fn ymd(d: NaiveDate) -> String {
    use chrono::Datelike;
    match d.year() {
        0..=9999 => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        _ => d.format("%Y-%m-%d").to_string(),
    }
}

/// The instant `s` names when it has the one shape OpenClaw writes, JavaScript's
/// `toISOString` (`2026-11-16T12:38:23.970Z`), read by hand; `None` for any other text, which
/// chrono's RFC 3339 reader then reads or refuses. When it answers, chrono reads the same
/// instant from `s`, and [`push_ts`] writes `s` back, so the text is kept as it is. Against
/// chrono's reader and `push_ts`, the pricing stage runs 3 % fewer instructions on the 200 MB
/// bench tree (callgrind).
fn iso_millis(s: &str) -> Option<DateTime<Utc>> {
    let b: &[u8; 24] = s.as_bytes().try_into().ok()?;
    if [b[4], b[7], b[10], b[13], b[16], b[19], b[23]] != *b"--T::.Z" {
        return None;
    }
    let num = |at: usize, width: usize| {
        b[at..at + width].iter().try_fold(0u32, |v, &c| {
            c.is_ascii_digit().then(|| v * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 2)?, num(8, 2)?)?;
    // Refuses a leap second (`:60`): chrono's RFC 3339 reader reads it.
    let t = date.and_hms_milli_opt(num(11, 2)?, num(14, 2)?, num(17, 2)?, num(20, 3)?)?;
    Some(t.and_utc())
}

/// Appends `ts` as `to_rfc3339_opts(Millis, true)` writes it (`2026-11-16T12:38:23.970Z`),
/// digits by hand for the years a transcript can hold: once per counted line.
fn push_ts(out: &mut String, ts: DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    let (y, nanos) = (ts.year(), ts.nanosecond());
    if !(0..=9999).contains(&y) || nanos >= 1_000_000_000 {
        // Far years and leap seconds: chrono's own spelling.
        out.push_str(&ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        return;
    }
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for d in b[at..at + width].iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y as u32);
    put(5, 2, ts.month());
    put(8, 2, ts.day());
    put(11, 2, ts.hour());
    put(14, 2, ts.minute());
    put(17, 2, ts.second());
    put(20, 3, nanos / 1_000_000);
    out.push_str(std::str::from_utf8(&b).expect("ASCII digits"));
}

/// The computed (price-table) cost of one usage line, exact: `Ok(None)` when no table prices
/// the model, `Err(why)` when the price makes no sane amount (past the per-line ceiling,
/// or a price that is no amount). Pure; the caller records or reports.
pub(crate) fn computed_cost(price: Option<&Price>, tokens: &Tokens) -> Result<Option<Usd>, String> {
    let Some(p) = price else { return Ok(None) };
    match p.cost(tokens) {
        Some(c) if c <= transcript::MAX_LINE => Ok(Some(c)),
        Some(c) => Err(format!(
            "${} is above the per-line ceiling of ${}",
            c.round_dp(6),
            transcript::MAX_LINE_USD
        )),
        None => Err("the price table's rates make no amount".into()),
    }
}

/// Where a line's price came from, as recorded: the logged cost and/or the price table.
pub(super) fn price_source(logged: bool, src: Source) -> String {
    match (logged, src) {
        (true, Source::Unpriced) => "logged".to_string(),
        (true, src) => format!("logged;{}", src.label()),
        (false, src) => src.label(),
    }
}

/// The price book for this run: agents' models.json, the config, the imported table.
pub(super) fn load_book(ctx: &Ctx, ledger: &Ledger, agents: &[layout::Agent]) -> Book {
    let mut book = Book {
        builtin: crate::pricing::builtin(),
        ..Default::default()
    };
    if let Ok(text) = crate::safefs::read_to_string(&ctx.paths.config) {
        match crate::openclaw::config::parse_json5(&text) {
            Ok(v) => {
                let loaded = crate::openclaw::config::resolve_includes(v, &ctx.paths.config, &[]);
                if let Some(p) = loaded.merged.pointer("/models/providers") {
                    book.config = crate::pricing::from_providers(p);
                }
            }
            Err(e) => ctx.out.warn(&format!(
                "{}: cannot read model prices ({}); pricing without them",
                ctx.paths.config.display(),
                e.message
            )),
        }
    }
    for a in agents {
        let p = a.models_json();
        let Ok(text) = crate::safefs::read_to_string(&p) else {
            continue;
        };
        match crate::openclaw::config::parse_json5(&text) {
            Ok(v) => {
                let providers = v
                    .get("providers")
                    .or_else(|| v.pointer("/models/providers"));
                if let Some(pv) = providers {
                    book.models_json
                        .insert(a.id.clone(), crate::pricing::from_providers(pv));
                }
            }
            Err(e) => ctx.out.warn(&format!(
                "{}: cannot read model prices ({})",
                p.display(),
                e.message
            )),
        }
    }
    match pricing::load_imported(ledger) {
        Ok(t) => book.imported = t,
        Err(e) => ctx.out.warn(&format!(
            "imported price table unreadable ({e:#}); using the built-in one"
        )),
    }
    book
}

/// gather (agents, prices, cursors) -> read and price every new line on one thread, count it
/// into the ledger on this one (see [`pipe`]) -> report.
fn track(ctx: &Ctx, ledger: &Ledger) -> Result<Outcome> {
    let agents = layout::agents(&ctx.paths.openclaw_dir).with_context(|| {
        format!(
            "{}: cannot list agents",
            ctx.paths.openclaw_dir.join("agents").display()
        )
    })?;
    let book = load_book(ctx, ledger, &agents);
    let cursors = store::track::load_cursors(ledger)?;
    let batch = ledger.batched(ctx.dry_run)?;
    let mut w = store::track::Writer::new(&batch, ctx.now)?;
    let (raw_sink, raw_drain) = pipe::queue(pipe::RAW_DEPTH);
    let (sink, drain) = pipe::queue(pipe::DEPTH);
    let tr = Tracker {
        sink: raw_sink,
        zone: ctx.zone(),
        stats: Stats::default(),
        forwarded: 0,
    };
    let mut pricer = Pricer {
        book,
        zone: ctx.zone(),
        stats: Stats::default(),
        memo: Memo::default(),
        sent: Sent::default(),
        lead: None,
    };
    let (written, read, priced) = std::thread::scope(|s| {
        let spawn = |name: &str| std::thread::Builder::new().name(name.into());
        let reader = spawn("cost-track-read")
            .spawn_scoped(s, || read_all(ctx, tr, &agents, &cursors))
            .context("cannot start the reading thread")?;
        let pricing = spawn("cost-track-price")
            .spawn_scoped(s, || raw_drain.refine(&mut pricer, sink))
            .context("cannot start the pricing thread")?;
        // On a ledger error the drain is dropped here, which stops the others in turn.
        let written = drain.write(&mut w);
        let priced = pricing
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let read = reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        anyhow::Ok((written, read, priced))
    })?;
    let mut written = written.context(LedgerErr)?;
    priced?;
    let (read_stats, unreadable, seen_keys, seen_dirs) = read?;
    let mut stats = pricer.stats;
    stats.add(read_stats);
    if !ctx.dry_run {
        w.forget_files_except(&cursors, &seen_keys)?;
        w.forget_sealed_except(&cursors, &seen_dirs)?;
    }
    w.flush()?;
    drop(w);
    batch.finish()?;
    stats.counted = written.counted;
    // The pricing stage's (see `Sent`) and the ledger's.
    stats.duplicates += written.duplicates;
    stats.unpriced = written.unpriced;
    stats.counted_usd = std::mem::take(&mut written.counted_usd);
    warn_problems(ctx, &stats);
    if !unreadable.is_empty() {
        return Err(unreadable_error(&unreadable, &stats));
    }
    outcome(ctx, ledger, stats)
}

/// What the reading side ends with: its counters, the agent databases it could not read,
/// and the file cursors it saw (the rest are of files gone).
type Read = (Stats, Vec<(bool, String)>, FileSet, HashSet<String>);

/// How long an archive must have been left alone (by its mtime) before it is sealed: a
/// checkpoint copy still being written must not be.
const SEAL_SETTLE: std::time::Duration = std::time::Duration::from_secs(600);
/// How often a directory's sealed archives are all `stat`ed again (by the run's clock).
const SEAL_CHECK_SECS: i64 = 3600;

/// The system clock in ns: what file and directory mtimes are compared with (`--now` moves
/// only the run's own clock).
fn system_now_ns() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.unwrap_or_default().as_nanos() as i64
}

/// The mtime (ns) before which a file has settled.
fn settled_before() -> i64 {
    system_now_ns().saturating_sub(SEAL_SETTLE.as_nanos() as i64)
}

/// The reading thread: every agent's transcripts and database, then the meters.
fn read_all(
    ctx: &Ctx,
    mut tr: Tracker,
    agents: &[layout::Agent],
    cursors: &Cursors,
) -> Result<Read> {
    let (mut seen_keys, mut seen_dirs) = (FileSet::default(), HashSet::new());
    let unreadable = scan_agents(
        ctx,
        &mut tr,
        agents,
        cursors,
        &mut seen_keys,
        &mut seen_dirs,
    )?;
    meters::scan(
        &mut tr,
        &ctx.settings.cost.meters,
        &cursors.files,
        &mut seen_keys,
    )?;
    tr.sink.finish()?;
    Ok((tr.stats, unreadable, seen_keys, seen_dirs))
}

/// Every agent's transcript files and database. A per-file problem is reported and the scan
/// goes on; a ledger error stops it. Returns the databases that could not be read (busy?,
/// why): their spend is missing from the totals.
fn scan_agents(
    ctx: &Ctx,
    tr: &mut Tracker,
    agents: &[layout::Agent],
    cursors: &Cursors,
    seen_keys: &mut FileSet,
    seen_dirs: &mut HashSet<String>,
) -> Result<Vec<(bool, String)>> {
    let base = &ctx.paths.openclaw_dir;
    let mut unreadable = Vec::new();
    let mut progress = crate::progress::Progress::stderr("cost-track", ctx.out.quiet);
    let clock = (ctx.now.timestamp(), settled_before());
    if progress.is_on() {
        let (files, bytes) = to_read(agents, cursors, base, clock)?;
        progress.set_total(files, bytes);
    }
    let mut done = (0u64, 0u64);
    for agent in agents {
        let mut seals = Seals::new(agent, base, cursors, clock);
        let it = (cursors, &mut seals, &mut *seen_keys);
        scan_transcripts(tr, agent, base, it, &mut progress, &mut done)?;
        seals.save(tr)?;
        seen_dirs.extend(seals.labels);
        if let Some(db) = &agent.sqlite {
            tr.stats.databases += 1;
            let len = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
            done = (done.0 + 1, done.1 + len);
            if let Err(e) = scan_db(tr, agent, db, base, cursors) {
                if e.downcast_ref::<LedgerErr>().is_some() {
                    return Err(e);
                }
                // The spend in a database that cannot be read (busy, read-only for us,
                // corrupt) is missing from the totals: the run fails once the rest is counted.
                let busy = crate::exit::code_of(&e) == Code::TempFail;
                unreadable.push((busy, format!("{e:#}")));
            }
            tr.sink.step()?;
            progress.update(done.0, done.1);
        }
    }
    progress.finish();
    Ok(unreadable)
}

/// One agent's transcript files: sealed archives cost their directory entry (nothing, in a
/// directory unchanged since its last listing), unchanged files their `stat`; the rest are
/// read.
fn scan_transcripts(
    tr: &mut Tracker,
    agent: &layout::Agent,
    base: &Path,
    (cursors, seals, seen_keys): (&Cursors, &mut Seals, &mut FileSet),
    progress: &mut crate::progress::Progress,
    done: &mut (u64, u64),
) -> Result<()> {
    // One agent's listing at a time: memory does not grow with the whole tree.
    let files = seals.list(agent, |n| {
        tr.stats.files += n;
        tr.stats.files_unchanged += n;
        tr.stats.files_sealed += n;
    })?;
    // Each directory opened once, when a file in it is to be read: its files are opened by
    // name in it.
    let paths = layout::transcript_dirs(agent);
    let mut dirs: [Option<Option<std::fs::File>>; 2] = Default::default();
    for l in &files {
        let Some(st) = l.st else {
            // Sealed, and the listing still shows it: nothing to read, not even a `stat`.
            let f = *seals
                .sealed_in(l)
                .expect("only sealed files go without a stat");
            seals.keep(l.dir, f);
            tr.stats.files += 1;
            tr.stats.files_unchanged += 1;
            tr.stats.files_sealed += 1;
            continue;
        };
        if let Some(f) = seals
            .sealed_in(l)
            .filter(|f| (f.size, f.mtime_ns) == (st.2, st.3))
        {
            // A full check found a sealed archive as it was.
            let f = *f;
            seals.keep(l.dir, f);
            tr.stats.files += 1;
            tr.stats.files_unchanged += 1;
            continue;
        }
        // An unchanged file costs its listing entry and `stat`: no label, no open.
        if let Some(c) = cursors.files.get(&(st.0, st.1)).filter(|c| c.describes(st)) {
            tr.stats.files += 1;
            tr.stats.files_unchanged += 1;
            // Once sealed, its cursor is forgotten at the end (it is not among the seen).
            match seals.seal(l, c, st) {
                Some(f) => seals.keep(l.dir, f),
                None => {
                    seals.other(l);
                    seen_keys.insert((st.0, st.1));
                }
            }
            continue;
        }
        *done = (done.0 + 1, done.1 + st.2);
        let sid = l.kind.session_id().unwrap_or_default().to_string();
        let label = crate::paths::display_rel(&l.path, base);
        let dir = dirs[l.dir]
            .get_or_insert_with(|| layout::open_dir(&paths[l.dir]))
            .as_ref();
        let file = (
            l.path.as_path(),
            label.as_str(),
            l.kind.is_compressed(),
            st,
            dir,
        );
        // A file sealed as soon as it is read keeps no cursor (its seal says it all).
        let mut sealed = None;
        let keep = |c: &Cursor| {
            sealed = seals.seal(l, c, st);
            sealed.is_none()
        };
        let origin = (sid.as_str(), l.in_import_archive());
        match scan_one(tr, &cursors.files, seen_keys, agent, origin, file, keep) {
            Ok(()) => {}
            Err(e) if e.downcast_ref::<LedgerErr>().is_some() => return Err(e),
            Err(e) => {
                tr.problem(format!("{e:#}"));
                sealed = None;
            }
        }
        match sealed {
            Some(f) => {
                seals.keep(l.dir, f);
                seen_keys.remove(&(st.0, st.1));
            }
            None => seals.other(l),
        }
        tr.sink.step()?;
        progress.update(done.0, done.1);
    }
    Ok(())
}

/// A directory's `(inode, mtime ns)`; `None` when it cannot be `stat`ed (missing).
fn dir_stamp(dir: &Path) -> Option<(u64, i64)> {
    let md = std::fs::metadata(dir).ok()?;
    let (_, ino, _, mtime) = incremental::stat_of(&md);
    Some((ino, mtime))
}

/// One agent's sealed archives per transcript directory (see [`incremental::Sealed`]): what
/// the ledger had, whether this run `stat`s them all again, and what is sealed after it.
struct Seals<'c> {
    labels: [String; 2],
    old: [Option<&'c incremental::Sealed>; 2],
    full: [bool; 2],
    new: [incremental::Sealed; 2],
    /// The run's time (Unix seconds) and the mtime (ns) before which a file has settled.
    clock: (i64, i64),
}

impl<'c> Seals<'c> {
    fn new(agent: &layout::Agent, base: &Path, cursors: &'c Cursors, clock: (i64, i64)) -> Self {
        let labels = layout::transcript_dirs(agent).map(|d| crate::paths::display_rel(&d, base));
        let old = labels.clone().map(|l| cursors.sealed.get(&l));
        // Archives last compared with their `stat` too long ago (or never, or in the run
        // clock's future) are all compared again.
        let stale =
            |s: &incremental::Sealed| !(0..SEAL_CHECK_SECS).contains(&(clock.0 - s.checked_at));
        Seals {
            labels,
            old,
            full: old.map(|o| o.is_none_or(stale)),
            new: Default::default(),
            clock,
        }
    }

    /// The names of directory `i`'s other files when it need not be listed: its seals are
    /// trusted this run and it is unchanged since their listing (`now`: its inode and mtime).
    fn unchanged_dir(&self, i: usize, now: Option<(u64, i64)>) -> Option<&'c [String]> {
        let old = self.old[i].filter(|_| !self.full[i])?;
        old.dir?.unchanged(now?).then_some(old.others.as_slice())
    }

    /// The agent's transcript files, sorted, as a scan reads them: a directory unchanged since
    /// its last listing is not listed again (its seals are carried over, `carried` told how
    /// many, and its other files `stat`ed by name); sealed archives come without a `stat`.
    fn list(
        &mut self,
        agent: &layout::Agent,
        mut carried: impl FnMut(u64),
    ) -> Result<Vec<layout::Listed>> {
        let mut files = Vec::new();
        for (i, dir) in layout::transcript_dirs(agent).iter().enumerate() {
            // The listing's time is taken before the directory's mtime: see `DirStamp`.
            let listed_ns = system_now_ns();
            let before = dir_stamp(dir);
            match self.unchanged_dir(i, before) {
                Some(others) => {
                    carried(self.carry(i));
                    layout::stat_named(dir, i, others, &mut files);
                }
                None => layout::list_dir(dir, i, |l| self.want_stat(l), &mut files)?,
            }
            self.listed(i, before, listed_ns);
        }
        layout::sort_listing(&mut files);
        Ok(files)
    }

    /// Directory `i` is unchanged: every seal it had is kept. Returns how many.
    fn carry(&mut self, i: usize) -> u64 {
        let old = self.old[i].map(|o| o.files.as_slice()).unwrap_or_default();
        self.new[i].files.extend_from_slice(old);
        old.len() as u64
    }

    /// Directory `i` was listed (or its listing reused) at `listed_ns`; `before`: its inode and
    /// mtime just after that time, before the listing.
    fn listed(&mut self, i: usize, before: Option<(u64, i64)>, listed_ns: i64) {
        self.new[i].dir = before.map(|(ino, mtime_ns)| incremental::DirStamp {
            ino,
            mtime_ns,
            listed_ns,
        });
    }

    /// The sealed entry of a listed archive whose inode still matches.
    fn sealed_in(&self, l: &layout::Listed) -> Option<&'c incremental::SealedFile> {
        let old = self.old[l.dir].filter(|_| l.is_archive())?;
        old.get(l.name_hash).filter(|f| f.ino == l.ino)
    }

    fn want_stat(&self, l: &layout::Listed) -> bool {
        self.full[l.dir] || self.sealed_in(l).is_none()
    }

    /// The seal of an archive read to its end (no partial line) that has settled; `None`
    /// for anything else. Compressed archives are not sealed (their offset is in the
    /// decompressed stream).
    fn seal(
        &self,
        l: &layout::Listed,
        c: &Cursor,
        st: (u64, u64, u64, i64),
    ) -> Option<incremental::SealedFile> {
        let ok =
            l.is_archive() && !l.kind.is_compressed() && c.offset == st.2 && st.3 < self.clock.1;
        ok.then_some(incremental::SealedFile {
            name: l.name_hash,
            ino: st.1,
            size: st.2,
            mtime_ns: st.3,
        })
    }

    fn keep(&mut self, dir: usize, f: incremental::SealedFile) {
        self.new[dir].files.push(f);
    }

    /// A listed file that is not sealed: `stat`ed (by name) while its directory is unchanged.
    fn other(&mut self, l: &layout::Listed) {
        let name = l.path.file_name().and_then(|n| n.to_str());
        self.new[l.dir].others.extend(name.map(str::to_string));
    }

    /// Sends each directory's seals to the writer when anything in them changed.
    fn save(&mut self, tr: &mut Tracker) -> Result<()> {
        for i in 0..2 {
            let mut new = std::mem::take(&mut self.new[i]);
            new.files.sort_unstable_by_key(|f| f.name);
            new.files.dedup_by_key(|f| f.name);
            new.others.sort_unstable();
            new.checked_at = match self.old[i] {
                Some(o) if !self.full[i] => o.checked_at,
                _ => self.clock.0,
            };
            // An unchanged directory keeps its stamp: rewriting the row only to move
            // `listed_ns` would cost a write every run.
            let old_dir = self.old[i].and_then(|o| o.dir);
            if let (Some(d), Some(n)) = (old_dir, new.dir) {
                if d.unchanged((n.ino, n.mtime_ns)) {
                    new.dir = Some(d);
                }
            }
            let same = match self.old[i] {
                Some(o) => *o == new,
                None => new.files.is_empty() && new.others.is_empty(),
            };
            if !same {
                let label = &self.labels[i];
                let pos = Position::Sealed(new);
                tr.sink.cursor(cursors::sealed_key(label), label, pos)?;
            }
        }
        Ok(())
    }
}

/// What is left to read, for the progress line: files and bytes not unchanged since their
/// cursor, and every agent database (a listing of its own, only on a terminal).
fn to_read(
    agents: &[layout::Agent],
    cursors: &Cursors,
    base: &Path,
    clock: (i64, i64),
) -> Result<(u64, u64)> {
    let mut total = (0u64, 0u64);
    for agent in agents {
        // Listed as the scan will list them: sealed archives without a `stat`, unchanged
        // directories not at all.
        let mut seals = Seals::new(agent, base, cursors, clock);
        for l in seals.list(agent, |_| {})? {
            let Some(st) = l.st else { continue };
            let sealed = seals
                .sealed_in(&l)
                .is_some_and(|f| (f.size, f.mtime_ns) == (st.2, st.3));
            let unchanged = (cursors.files.get(&(st.0, st.1))).is_some_and(|c| c.describes(st));
            if !sealed && !unchanged {
                total = (total.0 + 1, total.1 + st.2);
            }
        }
        if let Some(db) = &agent.sqlite {
            let len = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
            total = (total.0 + 1, total.1 + len);
        }
    }
    Ok(total)
}

/// The SQLite era: `transcript_events` through the one agent-database reader, after
/// cost-track's own per-session cursors.
fn scan_db(
    tr: &mut Tracker,
    agent: &layout::Agent,
    db: &Path,
    base: &Path,
    cursors: &Cursors,
) -> Result<()> {
    use crate::openclaw::agentdb::{self, Event, Want};
    let label = crate::paths::display_rel(db, base);
    let stamp_key = cursors::stamp_key(&label);
    let prev_stamp = cursors.stamps.get(&stamp_key).map(String::as_str);
    let sessions = || cursors.sessions_of(&label);
    // Usage sits only on assistant messages: other compressed events stay compressed.
    let progress =
        agentdb::scan_since(db, prev_stamp, sessions, Want::Assistant, |sid, seq, ev| {
            let counted = Counted {
                agent: &agent.id,
                session_id: sid,
                source: &label,
                archive: false,
            };
            let at = pipe::At::Seq(seq);
            match ev {
                Event::Line(b) => tr.line(b, &counted, at).context(LedgerErr),
                Event::Unreadable(why) => {
                    tr.problem(format!("{}: {why}", at.describe(&counted)));
                    Ok(())
                }
                Event::Other => {
                    tr.stats.lines_read += 1;
                    Ok(())
                }
            }
        })?;
    let Some((stamp, done)) = progress else {
        tr.stats.databases_unchanged += 1;
        return Ok(());
    };
    for (sid, last) in done {
        tr.sink
            .cursor(cursors::seq_key(&label, &sid), &label, Position::Seq(last))?;
    }
    if let Some(st) = stamp {
        tr.sink.cursor(stamp_key, &label, Position::Stamp(st))?;
    }
    Ok(())
}

fn warn_problems(ctx: &Ctx, stats: &Stats) {
    for p in &stats.problems {
        ctx.out.warn(p);
    }
    if stats.corrupt as usize > stats.problems.len() {
        ctx.out.warn(&format!(
            "... and {} more problems",
            stats.corrupt as usize - stats.problems.len()
        ));
    }
    if stats.unpriced > 0 {
        ctx.out.warn(&format!(
            "{} new usage lines have no price (no logged cost, model unknown to every table): see `claw cost report`",
            stats.unpriced
        ));
    }
}

/// The run's error when some agent databases could not be read (the rest was counted).
fn unreadable_error(unreadable: &[(bool, String)], stats: &Stats) -> anyhow::Error {
    let all_busy = unreadable.iter().all(|(busy, _)| *busy);
    let first = &unreadable[0].1;
    fail(
        if all_busy { Code::TempFail } else { Code::IoErr },
        format!(
            "{first}; {} agent database(s) could not be read, their spend is missing from the totals ({} new usage lines from the rest counted, ${}); `claw cost report` says incomplete until a run reads them",
            unreadable.len(),
            stats.counted,
            report::usd(stats.counted_usd)
        ),
    )
}

/// The summary line, the counters in the detail and the all-time totals as metrics.
fn outcome(ctx: &Ctx, ledger: &Ledger, stats: Stats) -> Result<Outcome> {
    let summary = format!(
        "{} files ({} unchanged), {} databases ({} unchanged), {} new usage lines counted (${}), {} already counted, {} unpriced, {} problems",
        stats.files,
        stats.files_unchanged,
        stats.databases,
        stats.databases_unchanged,
        stats.counted,
        report::usd(stats.counted_usd),
        stats.duplicates,
        stats.unpriced,
        stats.corrupt
    );
    let detail = serde_json::to_value(&stats).unwrap_or(json!(null));
    let mut o = Outcome::ok(summary).with_detail(detail);
    for t in totals(ledger, cost_mode(ctx, None))? {
        let l = [
            ("agent", t.agent.as_str()),
            ("provider", t.provider.as_str()),
            ("model", t.model.as_str()),
        ];
        // Exact until here; the float is only the exposition.
        o = o.metric("cost_usd_total", &l, t.usd.to_f64());
        for (kind, n) in [
            ("input", t.input),
            ("output", t.output),
            ("cache_read", t.cache_read),
            ("cache_write", t.cache_write),
        ] {
            let mut lk = l.to_vec();
            lk.push(("kind", kind));
            o = o.metric("tokens_total", &lk, n as f64);
        }
    }
    Ok(o)
}

/// Marker for errors that come from the ledger itself (they stop the run).
#[derive(Debug)]
pub(crate) struct LedgerErr;
impl std::fmt::Display for LedgerErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ledger write failed")
    }
}
impl std::error::Error for LedgerErr {}

/// One transcript file: `(path, label, zstd-compressed, its stat from the listing)`, and its
/// directory when open.
type File<'a> = (
    &'a Path,
    &'a str,
    bool,
    (u64, u64, u64, i64),
    Option<&'a std::fs::File>,
);

/// A file to read: its path, its `(dev, ino, size, mtime_ns)` when already at hand (from the
/// directory listing: no second `stat`), zstd-compressed, and its directory when open (the
/// file is opened by name in it).
pub(super) struct Src<'a> {
    pub path: &'a Path,
    pub stat: Option<(u64, u64, u64, i64)>,
    pub zst: bool,
    pub dir: Option<&'a std::fs::File>,
}

fn scan_one(
    tr: &mut Tracker,
    cursors: &FileMap<Cursor>,
    seen: &mut FileSet,
    agent: &layout::Agent,
    (sid, archive): (&str, bool),
    (path, label, zst, st, dir): File,
    keep: impl FnOnce(&Cursor) -> bool,
) -> Result<()> {
    let counted = Counted {
        agent: &agent.id,
        session_id: sid,
        source: label,
        archive,
    };
    let src = Src {
        path,
        stat: Some(st),
        zst,
        dir,
    };
    let handle = |tr: &mut Tracker, line: &[u8], range: Range<u64>| {
        tr.line(line, &counted, pipe::At::Byte(range.start))
    };
    scan_tracked(tr, cursors, seen, src, label, handle, keep)
}

/// Scan one file's new complete lines under its cursor, handing each to `handle`, then save
/// the cursor unless `keep` says not to. An error from `handle` is a ledger error and stops
/// the whole run; an error reading the file is the file's own problem.
fn scan_tracked(
    tr: &mut Tracker,
    cursors: &FileMap<Cursor>,
    seen: &mut FileSet,
    Src {
        path,
        stat,
        zst,
        dir,
    }: Src,
    label: &str,
    mut handle: impl FnMut(&mut Tracker, &[u8], Range<u64>) -> Result<()>,
    keep: impl FnOnce(&Cursor) -> bool,
) -> Result<()> {
    let st = match stat {
        Some(st) => st,
        None => incremental::stat(path)?,
    };
    seen.insert((st.0, st.1));
    let mut ledger_err: Option<anyhow::Error> = None;
    let scan = incremental::scan_file_in(
        dir,
        path,
        st,
        zst,
        cursors.get(&(st.0, st.1)),
        |line, range: Range<u64>| {
            if let Err(e) = handle(tr, line, range) {
                ledger_err = Some(e.context(LedgerErr));
                return Err(anyhow::Error::new(LedgerErr));
            }
            Ok(())
        },
    );
    if let Some(e) = ledger_err {
        return Err(e);
    }
    let scan = scan?;
    tr.stats.files += 1;
    tr.stats.files_unchanged += scan.unchanged as u64;
    tr.stats.files_restarted += scan.restarted as u64;
    tr.stats.bytes_read += scan.bytes;
    if scan.unchanged || !keep(&scan.cursor) {
        return Ok(());
    }
    let key = Cursor::key(st.0, st.1);
    tr.sink.cursor(key, label, Position::File(scan.cursor))
}

/// The agent's session labels, from `sessions.json` (session id -> label or session key).
pub fn session_labels(agent: &layout::Agent) -> HashMap<String, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct E {
        session_id: Option<String>,
        label: Option<String>,
        display_name: Option<String>,
    }
    let mut out = HashMap::new();
    let Ok(f) = crate::safefs::open(agent.store_path(), crate::safefs::Follow::Yes) else {
        return out;
    };
    let Ok(map) = serde_json::from_reader::<_, HashMap<String, E>>(std::io::BufReader::new(f))
    else {
        return out;
    };
    for (key, e) in map {
        if let Some(sid) = e.session_id {
            let l = e
                .label
                .or(e.display_name)
                .map(|l| format!("{l} ({key})"))
                .unwrap_or(key);
            out.insert(sid, l);
        }
    }
    out
}

/// `(since, until)` days for a report range, inclusive; `None` = open.
pub fn day_range(
    ctx: &Ctx,
    r: &crate::cli::Range,
) -> Result<(Option<NaiveDate>, Option<NaiveDate>)> {
    let zone = ctx.zone();
    let parse = |flag: &str, s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            fail(
                Code::Usage,
                format!("--{flag} {s}: expected a day as YYYY-MM-DD"),
            )
        })
    };
    let until = r.until.as_deref().map(|s| parse("until", s)).transpose()?;
    let since = match (r.days, &r.since) {
        (Some(n), _) => {
            let end = until.unwrap_or_else(|| zone.day_of(ctx.now));
            Some(end - chrono::Days::new(n.max(1) as u64 - 1))
        }
        (None, Some(s)) => Some(parse("since", s)?),
        (None, None) => None,
    };
    let until = match (r.days, until) {
        (Some(_), None) => Some(zone.day_of(ctx.now)),
        (_, u) => u,
    };
    Ok((since, until))
}

/// The cost mode for a run: the flag, else settings.
pub fn cost_mode(ctx: &Ctx, flag: Option<crate::pricing::CostMode>) -> crate::pricing::CostMode {
    flag.unwrap_or(ctx.settings.cost.cost_mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_keys_spread_over_the_buckets_whichever_bits_differ() {
        use std::hash::BuildHasher;
        let mix = KeyMix::default();
        // The bucket bits of a full table: one entry id in many sessions (high bits), many
        // entry ids in one session (low bits), and both.
        let buckets = |keys: &mut dyn Iterator<Item = u64>| {
            let b: HashSet<u64> = keys.map(|k| mix.hash_one(k) & ((1 << 17) - 1)).collect();
            b.len()
        };
        // 10,000 keys thrown at random into 2^17 buckets land in about 9,630.
        for (what, n) in [
            (
                "high bits",
                buckets(&mut (0..10_000u64).map(|s| s << 32 | 0x0123_abcd)),
            ),
            (
                "low bits",
                buckets(&mut (0..10_000u64).map(|id| 7 << 32 | id)),
            ),
            (
                "one bit each",
                buckets(&mut (0..64u64).map(|b| 1 << b)) * 150,
            ),
        ] {
            assert!(n > 9_400, "{what}: {n} buckets");
        }
        // Seeded per table: the same key lands elsewhere in another run's table.
        let other = KeyMix::default();
        assert_ne!(mix.hash_one(42u64), other.hash_one(42u64));
        // Bytes hash too (every word of them counts).
        assert_ne!(mix.hash_one("abcdefgh1"), mix.hash_one("abcdefgh2"));
    }

    #[test]
    fn only_openclaw_shaped_entry_ids_get_a_key_and_keys_are_exact() {
        const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
        const B: &str = "aaaaaaaa-0000-4000-8000-000000000002";
        let mut sent = Sent::default();
        let k = |s: &mut Sent, sid: &str, id: &str| s.key(sid, id);
        let a = k(&mut sent, A, "0123abcd").unwrap();
        assert_eq!(a & 0xffff_ffff, 0x0123_abcd);
        assert_eq!(k(&mut sent, A, "0123abcd"), Some(a));
        let b = k(&mut sent, B, "0123abcd").unwrap();
        assert_ne!(a, b);
        // Back to a session seen before (not the last one): the same key.
        assert_eq!(k(&mut sent, A, "0123abcd"), Some(a));
        assert_ne!(k(&mut sent, A, "0123abce"), Some(a));
        for other in [
            "0123ABCD",
            "0123abc",
            "0123abcde",
            "0123abcg",
            "+123abcd",
            "",
            "sha256:00",
        ] {
            assert_eq!(k(&mut sent, A, other), None, "{other}");
        }
        // Session ids of other shapes are left to the writer.
        for other in [
            "AAAAAAAA-0000-4000-8000-000000000001",
            "aaaaaaaa00000-4000-8000-000000000001",
            "aaaaaaaa-0000-4000-8000-00000000001",
            "aaaaaaaa-0000-4000-8000-0000000000011",
            "aaaaaaaa-0000-4000-8000-00000000000g",
            "meter:gpu",
        ] {
            assert_eq!(k(&mut sent, other, "0123abcd"), None, "{other}");
        }
        assert_eq!(uuid_bits(A), Some(0xaaaaaaaa_0000_4000_8000_000000000001));
        // Full: no new session, then no more keys (those lines go to the writer).
        let taken = sent.sessions.len();
        let more = (0..(SENT_SESSIONS - taken) as u128).map(|n| (n << 64, n as u32 + 2));
        sent.sessions.extend(more);
        assert_eq!(
            k(
                &mut sent,
                "bbbbbbbb-0000-4000-8000-000000000001",
                "0123abcd"
            ),
            None
        );
        assert_eq!(k(&mut sent, A, "0123abcd"), Some(a));
        sent.keys.extend((0..SENT_MAX as u64).map(|n| n << 40));
        assert_eq!(k(&mut sent, A, "0123abcd"), None);
        assert!(sent.keys.capacity() < 1 << 17, "{}", sent.keys.capacity());
        assert!(
            sent.sessions.capacity() < 1 << 14,
            "{}",
            sent.sessions.capacity()
        );
    }

    #[test]
    fn sent_keeps_what_a_later_copy_can_match() {
        const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
        const B: &str = "aaaaaaaa-0000-4000-8000-000000000002";
        let from = |agent, session_id, archive| Counted {
            agent,
            session_id,
            source: "agents/x/sessions/x.jsonl",
            archive,
        };
        let mut sent = Sent::default();
        // A session's files, one after the other: its keys stay while its lines are read.
        sent.enter(&from("main", A, false));
        let a = sent.key(A, "0123abcd").unwrap();
        sent.insert(a);
        sent.enter(&from("main", A, false));
        assert_eq!(sent.key(A, "0123abcd"), Some(a));
        assert!(sent.contains(a));
        // The next session's lines: no later copy of the last one's can come.
        sent.enter(&from("main", B, false));
        let b = sent.key(B, "0123abcd").unwrap();
        assert!(!sent.contains(a) && !sent.contains(b));
        sent.insert(b);
        assert!(sent.contains(b));
        // The import archive's keys stay for the agent's database, whatever session it reads.
        sent.enter(&from("main", A, true));
        let kept = sent.key(A, "0123abce").unwrap();
        sent.insert(kept);
        sent.enter(&from("main", B, false));
        assert_eq!(sent.key(B, "0123abcd"), Some(b));
        assert!(sent.contains(kept) && !sent.contains(b));
        // Another agent: both sets start over and keep their room; sessions are numbered anew.
        let room = sent.kept.capacity();
        sent.enter(&from("ops", A, false));
        assert!(sent.keys.is_empty() && sent.kept.is_empty());
        assert!(sent.sessions.is_empty() && sent.last.is_none());
        assert_eq!(sent.kept.capacity(), room);
        assert_eq!(sent.key(A, "0123abce"), Some(kept));
        assert!(!sent.contains(kept));
    }

    #[test]
    fn sane_line_sql_matches_the_parse_bounds() {
        assert!(SANE_LINE_SQL.contains(&format!("AND {}", transcript::MAX_LINE_TOKENS)));
    }

    #[test]
    fn days_are_written_as_chrono_writes_them() {
        for (y, m, d) in [
            (2026, 3, 8),
            (1, 1, 1),
            (9999, 12, 31),
            (10000, 1, 1),
            (-5, 6, 7),
        ] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(ymd(day), day.format("%Y-%m-%d").to_string());
        }
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for k in 0..20_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Seconds over the years 1900..2200, and some far outside 0..=9999.
            let secs = match k % 10 {
                0 => (x % 400_000_000_000) as i64 - 200_000_000_000,
                _ => (x % 9_500_000_000) as i64 - 2_208_988_800,
            };
            let nanos = (x >> 40) as u32 % 1_000_000_000;
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            let mut got = String::new();
            push_ts(&mut got, t);
            assert_eq!(got, t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        let leap = DateTime::parse_from_rfc3339("2016-12-31T23:59:60.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut got = String::new();
        push_ts(&mut got, leap);
        assert_eq!(
            got,
            leap.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
    }

    /// The hand reader answers only with chrono's own instant, whose text `push_ts` writes back
    /// unchanged; every other spelling (chrono's to read or refuse) is left to chrono.
    #[test]
    fn openclaw_timestamps_are_read_as_chrono_reads_them() {
        let chrono = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        let agrees = |s: &str| {
            let Some(t) = iso_millis(s) else { return };
            assert_eq!(Some(t), chrono(s), "{s}");
            let mut back = String::new();
            push_ts(&mut back, t);
            assert_eq!(back, s, "{s}");
        };
        // Every instant's own text is read, over the years 0..=9999.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 315_537_897_600) as i64 - 62_167_219_200;
            let t = DateTime::from_timestamp(secs, (x >> 44) as u32 % 1000 * 1_000_000).unwrap();
            let s = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assert_eq!(iso_millis(&s), Some(t), "{s}");
            agrees(&s);
        }
        // Each byte of a stamp changed to each other byte: the hand reader answers with
        // chrono's instant, or leaves the text to chrono.
        for base in [
            "2026-11-16T12:38:23.970Z",
            "2024-02-29T23:59:59.999Z",
            "0000-01-01T00:00:00.000Z",
        ] {
            for at in 0..base.len() {
                for c in 0u8..=127 {
                    let mut b = base.as_bytes().to_vec();
                    b[at] = c;
                    agrees(std::str::from_utf8(&b).unwrap());
                }
            }
        }
        // What only chrono reads: another zone, other precision, lowercase, a space, a leap
        // second; and days and times that are not.
        for s in [
            "2026-11-16T12:38:23.970+01:00",
            "2026-11-16T12:38:23Z",
            "2026-11-16T12:38:23.97Z",
            "2026-11-16T12:38:23.9701Z",
            "2026-11-16t12:38:23.970z",
            "2026-11-16 12:38:23.970Z",
            "2016-12-31T23:59:60.500Z",
        ] {
            assert_eq!(iso_millis(s), None, "{s}");
        }
        for s in [
            "2026-02-29T00:00:00.000Z",
            "2026-13-01T00:00:00.000Z",
            "2026-11-31T00:00:00.000Z",
            "2026-11-16T24:00:00.000Z",
            "2026-11-16T12:60:00.000Z",
            "2026-11-16T12:38:61.000Z",
            "+026-11-16T12:38:23.970Z",
            "2026-11-16T12:38:23.-70Z",
        ] {
            assert_eq!(iso_millis(s), None, "{s}");
            agrees(s);
        }
    }

    #[test]
    fn zones_parse_and_bucket_days() {
        let t = DateTime::parse_from_rfc3339("2026-03-08T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Zone::parse("UTC").unwrap().day_of(t).to_string(),
            "2026-03-08"
        );
        assert_eq!(
            Zone::parse("+02:00").unwrap().day_of(t).to_string(),
            "2026-03-09"
        );
        assert_eq!(
            Zone::parse("-05:30").unwrap().day_of(t).to_string(),
            "2026-03-08"
        );
        assert!(Zone::parse("Europe/Paris").is_ok());
        assert!(Zone::parse("Europe/Pariss").is_err());
        assert!(Zone::parse("+25:00").is_err());
        let z = Zone::parse("+02:00").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(z.start_of(d).to_rfc3339(), "2026-03-08T22:00:00+00:00");
    }
}
