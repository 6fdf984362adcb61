//! cost-track's ledger queries: counted lines (`cost_entries`, exactly once per session id and
//! entry id; the view `cost_lines` shows them whole), the daily totals they add to
//! (`cost_daily`), its read cursors (through [`crate::ledger::cursors`]) and the all-time
//! totals the Prometheus counters show.

use crate::incremental::{Cursor, FileSet};
use crate::ledger::cursors::{self, Cursors, Position, Reader};
use crate::ledger::{Batched, Ledger};
use crate::money::Usd;
use crate::pricing::Tokens;
use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Statement};
use std::collections::{HashMap, HashSet};

/// One line ready to be counted.
pub(in crate::cmd::cost) struct Record<'a> {
    pub agent: &'a str,
    pub session_id: &'a str,
    pub entry_id: &'a str,
    pub day: &'a str,
    pub ts: DateTime<Utc>,
    /// `ts` as [`push_ts`](super::super::push_ts) writes it, when the line already spells it
    /// so (not written again).
    pub ts_text: Option<&'a str>,
    pub provider: &'a str,
    pub model: &'a str,
    pub tokens: &'a Tokens,
    pub logged: Option<Usd>,
    pub computed: Option<Usd>,
    pub price_source: &'a str,
    pub source: &'a str,
}

/// A `cost_daily` key: day, agent, session, provider and model, each after its length (any
/// byte may be in a model name): one buffer, looked up without building it anew a line.
type DailyKey = Vec<u8>;

fn push_part(key: &mut Vec<u8>, part: &str) {
    key.extend_from_slice(&(part.len() as u32).to_le_bytes());
    key.extend_from_slice(part.as_bytes());
}

/// The parts of a [`DailyKey`], in order.
fn daily_parts(mut key: &[u8]) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        let (len, rest) = key.split_first_chunk::<4>()?;
        let (part, rest) = rest.split_at(u32::from_le_bytes(*len) as usize);
        key = rest;
        // Every part was a &str.
        std::str::from_utf8(part).ok()
    })
}

/// What the insert binds beside a [`Record`]: its time and amounts written as text (by the
/// reading thread, see `cost::pipe`).
pub(in crate::cmd::cost) struct Texts<'a> {
    pub ts: &'a str,
    pub logged: Option<&'a str>,
    pub computed: Option<&'a str>,
}

/// What counted lines add to one `cost_daily` row.
#[derive(Default)]
struct DailyAdd {
    lines: i64,
    tokens: [i64; 4],
    logged: Usd,
    logged_missing: i64,
    computed: Usd,
    computed_missing: i64,
    auto: Usd,
    auto_estimated: i64,
    auto_unpriced: i64,
}

impl DailyAdd {
    fn merge(&mut self, o: &DailyAdd) {
        self.lines += o.lines;
        for (slot, n) in self.tokens.iter_mut().zip(o.tokens) {
            *slot = slot.saturating_add(n);
        }
        self.logged = self.logged.saturating_add(o.logged);
        self.logged_missing += o.logged_missing;
        self.computed = self.computed.saturating_add(o.computed);
        self.computed_missing += o.computed_missing;
        self.auto = self.auto.saturating_add(o.auto);
        self.auto_estimated += o.auto_estimated;
        self.auto_unpriced += o.auto_unpriced;
    }
}

/// Writes made per step before it is committed (see [`Ledger::batched`]).
const BATCH: u64 = 20_000;

/// cost-track's writer: counted lines go in at once (the insert says whether the line is new),
/// daily totals and cursors are kept in memory and written by [`Writer::flush`] before each
/// step commits: one exact upsert per `cost_daily` row instead of one per line.
pub(in crate::cmd::cost) struct Writer<'b, 'l> {
    batch: &'b Batched<'l>,
    insert_line: Statement<'b>,
    in_step: u64,
    now: String,
    daily: HashMap<DailyKey, DailyAdd>,
    /// The daily row lines are being added to, merged into `daily` when the key changes and
    /// before a flush: lines come a session at a time, so a run of them is hashed once.
    cur: (DailyKey, DailyAdd),
    /// The key of the line being counted (reused: no allocation while it stays `cur`'s).
    key: Vec<u8>,
    cursors: Vec<(String, String, Position)>,
    /// The session id and the (agent, source) `insert_line` has bound, with their ids in
    /// `cost_sessions` and `cost_sources`: looked up (or added) only when they change.
    session: Option<(String, i64)>,
    source: Option<((String, String), i64)>,
    sessions: Keys<'b>,
    sources: Keys<'b>,
    /// The day, provider, model and price source `insert_line` has bound, as their
    /// `cost_kinds` id (parameter 4): a binding outlives the execution, and a session's lines
    /// mostly repeat them.
    kind: Option<([String; 4], i64)>,
    kinds: Keys<'b>,
    /// Every kind looked up in this run, by its parts each after its length (as a
    /// [`DailyKey`]): a home has a few hundred, and lines switch between them often (a new
    /// day, another model), each time a lookup of several thousand instructions in SQLite.
    /// The run's steps never roll back and go on, so an id, once known, stays. At most
    /// [`KINDS_KEPT`]: past that (a file inventing a model a line), SQLite is asked.
    kind_ids: HashMap<Vec<u8>, i64>,
}

/// Kinds a run keeps in memory (about 100 bytes each).
const KINDS_KEPT: usize = 4096;

/// The id of a `cost_sessions`, `cost_sources` or `cost_kinds` row, added when new: the insert
/// first (a first run's every session and source is new), then the lookup.
struct Keys<'b> {
    add: Statement<'b>,
    find: Statement<'b>,
}

impl<'b> Keys<'b> {
    /// `cols` are the key's columns, in the order [`Keys::id`] is given them.
    fn new(db: &'b rusqlite::Connection, table: &str, cols: &[&str]) -> Result<Keys<'b>> {
        let params: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let wher: Vec<String> = cols
            .iter()
            .zip(&params)
            .map(|(c, p)| format!("{c} = {p}"))
            .collect();
        Ok(Keys {
            add: db.prepare(&format!(
                "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
                cols.join(", "),
                params.join(", ")
            ))?,
            find: db.prepare(&format!(
                "SELECT id FROM {table} WHERE {}",
                wher.join(" AND ")
            ))?,
        })
    }

    fn id(&mut self, db: &rusqlite::Connection, key: &[&str]) -> Result<i64> {
        if self.add.execute(rusqlite::params_from_iter(key))? == 1 {
            return Ok(db.last_insert_rowid());
        }
        Ok(self
            .find
            .query_row(rusqlite::params_from_iter(key), |r| r.get(0))?)
    }
}

impl<'b, 'l> Writer<'b, 'l> {
    pub fn new(batch: &'b Batched<'l>, now: DateTime<Utc>) -> Result<Writer<'b, 'l>> {
        let mut insert_line = batch.db().prepare(
            "INSERT INTO cost_entries (session, entry_id, source, kind, ts, input, output,
               cache_read, cache_write, logged_usd, computed_usd, counted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (session, entry_id) DO NOTHING",
        )?;
        // Bindings outlive each execution: the run's time is bound once.
        insert_line.raw_bind_parameter(12, now.timestamp())?;
        let now = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        Ok(Writer {
            batch,
            insert_line,
            in_step: 0,
            now,
            daily: HashMap::new(),
            cur: Default::default(),
            key: Vec::new(),
            cursors: Vec::new(),
            session: None,
            source: None,
            sessions: Keys::new(batch.db(), "cost_sessions", &["session_id"])?,
            sources: Keys::new(batch.db(), "cost_sources", &["agent_id", "path"])?,
            kind: None,
            kinds: Keys::new(
                batch.db(),
                "cost_kinds",
                &["day", "provider", "model", "price_source"],
            )?,
            kind_ids: HashMap::new(),
        })
    }

    /// Counts one line unless its (session id, entry id) was counted before; `false` for a
    /// duplicate. `auto` is its cost in the auto mode (see [`crate::pricing::auto_cost`]).
    pub fn count(&mut self, r: &Record, t: &Texts, auto: Option<(Usd, bool)>) -> Result<bool> {
        let st = &mut self.insert_line;
        if self.session.as_ref().map(|s| s.0.as_str()) != Some(r.session_id) {
            let id = self.sessions.id(self.batch.db(), &[r.session_id])?;
            st.raw_bind_parameter(1, id)?;
            self.session = Some((r.session_id.to_string(), id));
        }
        if (self.source.as_ref()).map(|((a, p), _)| (a.as_str(), p.as_str()))
            != Some((r.agent, r.source))
        {
            let id = self.sources.id(self.batch.db(), &[r.agent, r.source])?;
            st.raw_bind_parameter(3, id)?;
            self.source = Some(((r.agent.to_string(), r.source.to_string()), id));
        }
        st.raw_bind_parameter(2, r.entry_id)?;
        st.raw_bind_parameter(5, t.ts)?;
        let kind = [r.day, r.provider, r.model, r.price_source];
        if (self.kind.as_ref()).is_none_or(|(k, _)| k.iter().zip(kind).any(|(a, b)| a != b)) {
            // Forgotten first: should the bind fail, the next line binds it again.
            let old = self.kind.take();
            self.key.clear();
            for part in kind {
                push_part(&mut self.key, part);
            }
            let id = match self.kind_ids.get(&self.key) {
                Some(&id) => id,
                None => {
                    let id = self.kinds.id(self.batch.db(), &kind)?;
                    if self.kind_ids.len() < KINDS_KEPT {
                        self.kind_ids.insert(self.key.clone(), id);
                    }
                    id
                }
            };
            st.raw_bind_parameter(4, id)?;
            let mut texts = old.map(|(t, _)| t).unwrap_or_default();
            for (t, v) in texts.iter_mut().zip(kind) {
                t.clear();
                t.push_str(v);
            }
            self.kind = Some((texts, id));
        }
        let t4 = [
            r.tokens.input,
            r.tokens.output,
            r.tokens.cache_read,
            r.tokens.cache_write,
        ];
        for (i, n) in (6..).zip(t4) {
            st.raw_bind_parameter(i, n as i64)?;
        }
        st.raw_bind_parameter(10, t.logged)?;
        st.raw_bind_parameter(11, t.computed)?;
        let n = st.raw_execute()?;
        self.in_step += 1;
        if n == 0 {
            return Ok(false);
        }
        let add = auto.map(|a| a.0).unwrap_or_default();
        self.key.clear();
        for part in [r.day, r.agent, r.session_id, r.provider, r.model] {
            push_part(&mut self.key, part);
        }
        if self.key != self.cur.0 {
            self.spill();
            std::mem::swap(&mut self.key, &mut self.cur.0);
        }
        let d = &mut self.cur.1;
        d.lines += 1;
        let t = r.tokens;
        for (slot, n) in d
            .tokens
            .iter_mut()
            .zip([t.input, t.output, t.cache_read, t.cache_write])
        {
            // Each count is at most MAX_LINE_TOKENS: no overflow.
            *slot += n as i64;
        }
        d.logged = d.logged.saturating_add(r.logged.unwrap_or_default());
        d.logged_missing += r.logged.is_none() as i64;
        d.computed = d.computed.saturating_add(r.computed.unwrap_or_default());
        d.computed_missing += r.computed.is_none() as i64;
        d.auto = d.auto.saturating_add(add);
        d.auto_estimated += auto.is_some_and(|a| a.1) as i64;
        d.auto_unpriced += auto.is_none() as i64;
        Ok(true)
    }

    /// Adds the current daily row to the pending ones.
    fn spill(&mut self) {
        let (key, add) = std::mem::take(&mut self.cur);
        if add.lines > 0 {
            self.daily.entry(key).or_default().merge(&add);
        }
    }

    /// Keeps a cursor, saved with the step that counted what it covers.
    pub fn save_cursor(&mut self, key: String, path: &str, pos: Position) {
        self.cursors.push((key, path.to_string(), pos));
        self.in_step += 1;
    }

    /// Commits the step when it is full.
    pub fn maybe_commit(&mut self) -> Result<()> {
        if self.in_step >= BATCH {
            self.flush()?;
            self.batch.commit_and_continue()?;
            self.in_step = 0;
        }
        Ok(())
    }

    /// Forgets the sealed archives of directories no longer listed (the agent is gone).
    pub fn forget_sealed_except(&self, loaded: &Cursors, seen: &HashSet<String>) -> Result<()> {
        let gone: Vec<String> = (loaded.sealed.keys())
            .filter(|d| !seen.contains(*d))
            .map(|d| cursors::sealed_key(d))
            .collect();
        cursors::forget(
            self.batch.db(),
            Reader::CostTrack,
            gone.iter().map(String::as_str),
        )
    }

    /// Forgets the file cursors loaded at the start (`loaded`: all there are) that were not
    /// `seen` this run: the files are gone, or sealed. No second read of the table.
    pub fn forget_files_except(&self, loaded: &Cursors, seen: &FileSet) -> Result<()> {
        let gone: Vec<String> = (loaded.files.keys())
            .filter(|id| !seen.contains(*id))
            .map(|&(dev, ino)| Cursor::key(dev, ino))
            .collect();
        cursors::forget(
            self.batch.db(),
            Reader::CostTrack,
            gone.iter().map(String::as_str),
        )
    }

    /// Adds the pending daily totals to `cost_daily`, exactly (`usd_add`, see
    /// [`crate::ledger::money`]), and saves the pending cursors, inside the open step.
    pub fn flush(&mut self) -> Result<()> {
        self.spill();
        let db = self.batch.db();
        let mut st = db.prepare_cached(
            "INSERT INTO cost_daily (day, agent_id, session_id, provider, model, lines, input, output, cache_read,
               cache_write, logged_usd, logged_missing, computed_usd, computed_missing, auto_usd,
               auto_estimated, auto_unpriced)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             ON CONFLICT (day, agent_id, session_id, provider, model) DO UPDATE SET
               lines = lines + excluded.lines, input = input + excluded.input, output = output + excluded.output,
               cache_read = cache_read + excluded.cache_read, cache_write = cache_write + excluded.cache_write,
               logged_usd = usd_add(logged_usd, excluded.logged_usd),
               logged_missing = logged_missing + excluded.logged_missing,
               computed_usd = usd_add(computed_usd, excluded.computed_usd),
               computed_missing = computed_missing + excluded.computed_missing,
               auto_usd = usd_add(auto_usd, excluded.auto_usd),
               auto_estimated = auto_estimated + excluded.auto_estimated,
               auto_unpriced = auto_unpriced + excluded.auto_unpriced",
        )?;
        // The same amounts, per agent x provider x model, for the all-time totals.
        let mut totals: HashMap<[&str; 3], DailyAdd> = HashMap::new();
        for (key, a) in &self.daily {
            // Five parts, as written by `count`.
            let mut p = daily_parts(key);
            let [_day, agent, _session, provider, model] =
                std::array::from_fn(|_| p.next().unwrap_or_default());
            totals.entry([agent, provider, model]).or_default().merge(a);
        }
        let mut tot = db.prepare_cached(
            "INSERT INTO cost_totals (agent_id, provider, model, input, output, cache_read,
               cache_write, logged_usd, computed_usd, auto_usd)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (agent_id, provider, model) DO UPDATE SET
               input = input + excluded.input, output = output + excluded.output,
               cache_read = cache_read + excluded.cache_read,
               cache_write = cache_write + excluded.cache_write,
               logged_usd = usd_add(logged_usd, excluded.logged_usd),
               computed_usd = usd_add(computed_usd, excluded.computed_usd),
               auto_usd = usd_add(auto_usd, excluded.auto_usd)",
        )?;
        for ([agent, provider, model], t) in totals {
            tot.execute(params![
                agent,
                provider,
                model,
                t.tokens[0],
                t.tokens[1],
                t.tokens[2],
                t.tokens[3],
                t.logged.to_string(),
                t.computed.to_string(),
                t.auto.to_string(),
            ])?;
        }
        for (key, a) in self.daily.drain() {
            let mut p = daily_parts(&key);
            // Five parts, as written by `count`.
            let mut next = || p.next().unwrap_or_default();
            st.execute(params![
                next(),
                next(),
                next(),
                next(),
                next(),
                a.lines,
                a.tokens[0],
                a.tokens[1],
                a.tokens[2],
                a.tokens[3],
                a.logged.to_string(),
                a.logged_missing,
                a.computed.to_string(),
                a.computed_missing,
                a.auto.to_string(),
                a.auto_estimated,
                a.auto_unpriced,
            ])?;
        }
        let pending = std::mem::take(&mut self.cursors);
        cursors::save(
            db,
            Reader::CostTrack,
            &self.now,
            pending.iter().map(|(k, p, c)| (k.as_str(), p.as_str(), c)),
        )
    }
}

/// Every cursor cost-track saved.
pub(in crate::cmd::cost) fn load_cursors(ledger: &Ledger) -> Result<Cursors> {
    ledger.read(|c| Cursors::load(c, Reader::CostTrack))
}

/// All-time spend and tokens of one agent x provider x model.
#[derive(Debug, PartialEq)]
pub struct Total {
    pub agent: String,
    pub provider: String,
    pub model: String,
    /// Exact.
    pub usd: Usd,
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
}

/// The ledger's all-time totals per agent x provider x model: what the Prometheus counters
/// show. They only grow as lines are counted (counting is exactly-once); a `claw pricing
/// reprice` re-prices the past and can lower the spend, which Prometheus reads as a counter
/// reset (README says so).
pub fn totals(ledger: &Ledger, mode: crate::pricing::CostMode) -> Result<Vec<Total>> {
    use crate::pricing::CostMode;
    let col = match mode {
        CostMode::Auto => "auto_usd",
        CostMode::Logged => "logged_usd",
        CostMode::Computed => "computed_usd",
    };
    let sql = format!(
        "SELECT agent_id, provider, model, {col}, input, output, cache_read, cache_write
         FROM cost_totals ORDER BY 1, 2, 3"
    );
    ledger.read(|c| {
        let mut st = c.prepare(&sql)?;
        let rows = st
            .query_map([], |r| {
                Ok(Total {
                    agent: r.get(0)?,
                    provider: r.get(1)?,
                    model: r.get(2)?,
                    usd: usd_col(r, 3)?,
                    input: r.get(4)?,
                    output: r.get(5)?,
                    cache_read: r.get(6)?,
                    cache_write: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })
}

/// Whether the ledger has counted anything at all.
pub fn has_counted(ledger: &Ledger) -> Result<bool> {
    ledger.read(|c| {
        Ok(
            c.query_row("SELECT 1 FROM cost_entries LIMIT 1", [], |_| Ok(()))
                .optional()?
                .is_some(),
        )
    })
}

/// The counted lines a sum may include: every number within the per-line bounds. Lines
/// counted by claw before the bounds existed may be outside them; they are left out of every
/// rebuilt total (and reported) instead of overflowing it.
pub(crate) const SANE_LINE_SQL: &str =
    "input BETWEEN 0 AND 1000000000 AND output BETWEEN 0 AND 1000000000
  AND cache_read BETWEEN 0 AND 1000000000 AND cache_write BETWEEN 0 AND 1000000000
  AND usd_sane(logged_usd) AND usd_sane(computed_usd)";

/// An amount column (decimal text, see [`crate::ledger::money`]), exactly.
pub(crate) fn usd_col(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Usd> {
    let s: Option<String> = r.get(i)?;
    let Some(s) = s else { return Ok(Usd::ZERO) };
    Usd::parse(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("not an amount in the ledger: {s:?} ({e})").into(),
        )
    })
}

/// An integer column that an overflowing `+` in SQLite may have turned into a REAL (a ledger
/// poisoned before the bounds): read saturating, never as an error.
pub(crate) fn int_col(r: &rusqlite::Row, i: usize) -> rusqlite::Result<i64> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Integer(n) => n,
        // `as` saturates (NaN becomes 0).
        ValueRef::Real(f) => f as i64,
        ValueRef::Null => 0,
        _ => r.get(i)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_past_the_kept_ones_are_still_found_and_every_line_keeps_its_own() {
        let d = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&d.path().join("ledger.db")).unwrap();
        let batch = ledger.batched(false).unwrap();
        let now = "2026-11-21T08:00:00Z".parse().unwrap();
        let mut w = Writer::new(&batch, now).unwrap();
        let tokens = Tokens {
            input: 1,
            output: 1,
            cache_read: 0,
            cache_write: 0,
        };
        let models = KINDS_KEPT + 10;
        // Every model once, then back to the first (kept) and the last (not kept) ones, each
        // after another model so that the line's kind changes.
        let order: Vec<usize> = (0..models)
            .chain([0, models - 1, 1, models - 2, 0, models - 1])
            .collect();
        for (n, &m) in order.iter().enumerate() {
            let (entry_id, model) = (format!("{n:08x}"), format!("model-{m}"));
            let r = Record {
                agent: "main",
                session_id: "aaaaaaaa-0000-4000-8000-000000000001",
                entry_id: &entry_id,
                day: "2026-11-20",
                ts: now,
                ts_text: None,
                provider: "p",
                model: &model,
                tokens: &tokens,
                logged: None,
                computed: None,
                price_source: "unpriced",
                source: "agents/main/sessions/s.jsonl",
            };
            let t = Texts {
                ts: "2026-11-20T10:00:00.000Z",
                logged: None,
                computed: None,
            };
            assert!(w.count(&r, &t, None).unwrap());
        }
        // Memory stays bounded: the kinds past the kept ones were asked of SQLite.
        assert_eq!(w.kind_ids.len(), KINDS_KEPT);
        w.flush().unwrap();
        drop(w);
        batch.finish().unwrap();
        ledger
            .read(|c| {
                let kinds: i64 =
                    c.query_row("SELECT count(*) FROM cost_kinds", [], |r| r.get(0))?;
                assert_eq!(kinds, models as i64, "one kind a model, none twice");
                let mut st = c.prepare("SELECT entry_id, model FROM cost_lines")?;
                let lines: HashMap<String, String> = st
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                assert_eq!(lines.len(), order.len());
                for (n, &m) in order.iter().enumerate() {
                    assert_eq!(lines[&format!("{n:08x}")], format!("model-{m}"), "line {n}");
                }
                Ok(())
            })
            .unwrap();
    }
}
