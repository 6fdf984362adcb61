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
pub mod pricing;
pub mod report;
mod sqlite;
mod store;

use crate::cli::CostCmd;
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::incremental::{self, Cursor};
use crate::ledger::Ledger;
use crate::money::Usd;
use crate::openclaw::layout;
use crate::openclaw::transcript;
use crate::output::Outcome;
use crate::pricing::{auto_cost, Book, Price, Source, Tokens};
use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

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
    databases: u64,
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

/// One usage line ready for the ledger.
struct Counted<'a> {
    agent: &'a str,
    session_id: &'a str,
    source: &'a str,
}

/// Ledger writer: batches of inserts inside IMMEDIATE transactions.
struct Writer<'l> {
    ledger: &'l Ledger,
    in_tx: u64,
    now: String,
    dry_run: bool,
    /// Daily totals of the lines counted in this transaction, written by [`Writer::flush`]
    /// before it commits: one exact upsert per `cost_daily` row instead of one per line.
    daily: HashMap<DailyKey, DailyAdd>,
}

/// A `cost_daily` key: day, agent, session, provider, model.
type DailyKey = (String, String, String, String, String);

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

const BATCH: u64 = 20_000;

impl<'l> Writer<'l> {
    fn begin(ledger: &'l Ledger, now: String, dry_run: bool) -> Result<Writer<'l>> {
        ledger.conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Writer {
            ledger,
            in_tx: 0,
            now,
            dry_run,
            daily: HashMap::new(),
        })
    }

    /// Commit when the batch is full (never in a dry run: it rolls back once at the end).
    fn maybe_commit(&mut self) -> Result<()> {
        if self.in_tx >= BATCH && !self.dry_run {
            self.flush()?;
            self.ledger.conn.execute_batch("COMMIT; BEGIN IMMEDIATE")?;
            self.in_tx = 0;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush()?;
        let sql = if self.dry_run { "ROLLBACK" } else { "COMMIT" };
        self.ledger.conn.execute_batch(sql)?;
        Ok(())
    }

    /// Add the pending daily totals to `cost_daily`, exactly (`usd_add`, see
    /// [`crate::ledger::money`]), inside the open transaction.
    fn flush(&mut self) -> Result<()> {
        let mut st = self.ledger.conn.prepare_cached(
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
        for ((day, agent, session, provider, model), a) in self.daily.drain() {
            st.execute(params![
                day,
                agent,
                session,
                provider,
                model,
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
        Ok(())
    }

    /// A SQLite session cursor: the highest `seq` counted, in `offset`.
    fn save_seq_cursor(&mut self, key: &str, path: &str, seq: i64) -> Result<()> {
        self.ledger
            .conn
            .prepare_cached(
                "INSERT INTO cost_cursors (source, path, offset, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (source) DO UPDATE SET path = excluded.path, offset = excluded.offset,
                   updated_at = excluded.updated_at",
            )?
            .execute(params![key, path, seq, self.now])?;
        self.in_tx += 1;
        Ok(())
    }

    /// A database's stamp (see `agentdb::stamp`), kept in `head_sha256`.
    fn save_stamp(&mut self, key: &str, path: &str, stamp: &str) -> Result<()> {
        self.ledger
            .conn
            .prepare_cached(
                "INSERT INTO cost_cursors (source, path, head_sha256, offset, updated_at) VALUES (?1, ?2, ?3, 0, ?4)
                 ON CONFLICT (source) DO UPDATE SET path = excluded.path, head_sha256 = excluded.head_sha256,
                   updated_at = excluded.updated_at",
            )?
            .execute(params![key, path, stamp, self.now])?;
        self.in_tx += 1;
        Ok(())
    }

    fn save_cursor(&mut self, key: &str, path: &str, c: &Cursor) -> Result<()> {
        self.ledger
            .conn
            .prepare_cached(
                "INSERT INTO cost_cursors (source, path, head_len, head_sha256, offset, size, mtime_ns, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (source) DO UPDATE SET path = excluded.path, head_len = excluded.head_len,
                   head_sha256 = excluded.head_sha256, offset = excluded.offset, size = excluded.size,
                   mtime_ns = excluded.mtime_ns, updated_at = excluded.updated_at",
            )?
            .execute(params![
                key,
                path,
                c.head_len as i64,
                c.head_sha256,
                c.offset as i64,
                c.size as i64,
                c.mtime_ns,
                self.now
            ])?;
        self.in_tx += 1;
        Ok(())
    }
}

/// A run that fails mid-batch rolls its open transaction back here (like
/// [`Ledger::immediate`]; a long run commits every `BATCH` lines, so it cannot be one closure).
/// Left open, the run's end record and its job-failed alert would be written into it and lost.
impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if !self.ledger.conn.is_autocommit() {
            let _ = self.ledger.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Everything the per-line handler needs.
struct Tracker<'l> {
    w: Writer<'l>,
    book: Book,
    zone: Zone,
    stats: Stats,
}

impl Tracker<'_> {
    /// Handle one raw line of a transcript; `at` names it in problems.
    fn line(&mut self, raw: &[u8], c: &Counted, at: &dyn Fn() -> String) -> Result<()> {
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
            self.problem(format!("{}: corrupt JSON: {why}", at()));
            return Ok(());
        }
        if !transcript::may_carry_usage(t) {
            return Ok(());
        }
        let entry = match transcript::parse(t) {
            Ok(e) => e,
            Err(m) => {
                self.problem(format!("{}: corrupt JSON: {m}", at()));
                return Ok(());
            }
        };
        self.entry(entry, t, c, at)
    }

    fn problem(&mut self, msg: String) {
        self.stats.corrupt += 1;
        if self.stats.problems.len() < 50 {
            self.stats.problems.push(msg);
        }
    }

    fn entry(
        &mut self,
        e: transcript::Entry,
        raw: &[u8],
        c: &Counted,
        at: &dyn Fn() -> String,
    ) -> Result<()> {
        let Some(a) = e.assistant else { return Ok(()) };
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
            let id = e.id.as_deref().unwrap_or("-");
            self.problem(format!("{}: entry {id}: {bad}; not counted", at()));
            return Ok(());
        }
        let logged = u.cost_total;
        if u.tokens() == 0 && logged.is_none_or(|l| l.is_zero()) {
            // Failed turns write all-zero usage: not spend.
            self.stats.zero_usage += 1;
            return Ok(());
        }
        let Some(ts) = e
            .timestamp
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        else {
            self.stats.undated += 1;
            self.problem(format!(
                "{}: usage line without a valid top-level timestamp; not counted",
                at()
            ));
            return Ok(());
        };
        let ts = ts.with_timezone(&Utc);
        let day = self.zone.day_of(ts).format("%Y-%m-%d").to_string();
        let entry_id = match e.id {
            Some(id) => id,
            None => format!("sha256:{}", &crate::digest::sha256_hex(raw)[..32]),
        };
        let provider = a.provider.unwrap_or_default();
        let model = a.model.unwrap_or_default();
        let tokens = Tokens {
            input: u.input,
            output: u.output,
            cache_read: u.cache_read,
            cache_write: u.cache_write,
        };
        let (src, price) = self.book.lookup(c.agent, &provider, &model);
        let computed = match computed_cost(price.as_ref(), &tokens) {
            Ok(c) => c,
            Err(why) => {
                // A price table (models.json, the config) is outside input too.
                self.stats.absurd += 1;
                self.problem(format!(
                    "{}: entry {entry_id}: absurd computed cost for {provider}/{model}: {why}; not counted",
                    at(),
                ));
                return Ok(());
            }
        };
        let price_source = price_source(logged.is_some(), src);
        self.record(&Record {
            agent: c.agent,
            session_id: c.session_id,
            entry_id: &entry_id,
            day: &day,
            ts,
            provider: &provider,
            model: &model,
            tokens: &tokens,
            logged,
            computed,
            price_source: &price_source,
            source: c.source,
        })
    }

    /// Count one priced line: once per (session id, entry id), into the per-line ledger rows
    /// and the daily totals (exact decimal text, see [`crate::money`]).
    fn record(&mut self, r: &Record) -> Result<()> {
        let conn = &self.w.ledger.conn;
        let n = conn
            .prepare_cached(
                "INSERT INTO cost_lines (session_id, entry_id, agent_id, day, ts, provider, model, input, output,
                   cache_read, cache_write, logged_usd, computed_usd, price_source, source, counted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
                 ON CONFLICT (session_id, entry_id) DO NOTHING",
            )?
            .execute(params![
                r.session_id,
                r.entry_id,
                r.agent,
                r.day,
                r.ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                r.provider,
                r.model,
                r.tokens.input as i64,
                r.tokens.output as i64,
                r.tokens.cache_read as i64,
                r.tokens.cache_write as i64,
                r.logged.map(|v| v.to_string()),
                r.computed.map(|v| v.to_string()),
                r.price_source,
                r.source,
                self.w.now,
            ])?;
        self.w.in_tx += 1;
        if n == 0 {
            self.stats.duplicates += 1;
            return Ok(());
        }
        self.stats.counted += 1;
        let auto = auto_cost(r.logged, r.computed);
        if auto.is_none() {
            self.stats.unpriced += 1;
        }
        let add = auto.map(|a| a.0).unwrap_or_default();
        self.stats.counted_usd = self.stats.counted_usd.saturating_add(add);
        let key = (
            r.day.to_string(),
            r.agent.to_string(),
            r.session_id.to_string(),
            r.provider.to_string(),
            r.model.to_string(),
        );
        let d = self.w.daily.entry(key).or_default();
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
        Ok(())
    }
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

/// One line ready to be counted.
struct Record<'a> {
    agent: &'a str,
    session_id: &'a str,
    entry_id: &'a str,
    day: &'a str,
    ts: DateTime<Utc>,
    provider: &'a str,
    model: &'a str,
    tokens: &'a Tokens,
    logged: Option<Usd>,
    computed: Option<Usd>,
    price_source: &'a str,
    source: &'a str,
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

fn load_cursors(ledger: &Ledger) -> Result<HashMap<String, Cursor>> {
    let mut st = ledger.conn.prepare(
        "SELECT source, head_len, head_sha256, offset, size, mtime_ns FROM cost_cursors WHERE source LIKE 'file:%'",
    )?;
    let rows = st.query_map([], |r| {
        let key: String = r.get(0)?;
        Ok((
            key,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (key, head_len, head_sha256, offset, size, mtime_ns) = row?;
        if let Some(c) = Cursor::from_stored(&key, head_len, head_sha256, offset, size, mtime_ns) {
            out.insert(key, c);
        }
    }
    Ok(out)
}

fn track(ctx: &Ctx, ledger: &Ledger) -> Result<Outcome> {
    let zone = ctx.zone()?;
    let agents = layout::agents(&ctx.paths.openclaw_dir).with_context(|| {
        format!(
            "{}: cannot list agents",
            ctx.paths.openclaw_dir.join("agents").display()
        )
    })?;
    let book = load_book(ctx, ledger, &agents);
    let cursors = load_cursors(ledger)?;
    let mut unreadable: Vec<(bool, String)> = Vec::new();
    let mut seen_keys: HashSet<String> = HashSet::new();
    let mut tr = Tracker {
        w: Writer::begin(ledger, ctx.now_str(), ctx.dry_run)?,
        book,
        zone,
        stats: Stats::default(),
    };
    let base = ctx.paths.openclaw_dir.clone();
    for agent in &agents {
        for (path, kind, md) in layout::transcript_files(agent)? {
            // An unchanged file costs its listing entry: no label, no open.
            let st = incremental::stat_of(&md);
            let key = Cursor::key(st.0, st.1);
            if cursors.get(&key).is_some_and(|c| c.describes(st)) {
                seen_keys.insert(key);
                tr.stats.files += 1;
                tr.stats.files_unchanged += 1;
                continue;
            }
            let sid = kind.session_id().unwrap_or_default().to_string();
            let label = crate::paths::display_rel(&path, &base);
            if let Err(e) = scan_one(
                &mut tr,
                &cursors,
                &mut seen_keys,
                agent,
                &sid,
                &path,
                &label,
                kind.is_compressed(),
            ) {
                // A per-file problem is reported and the scan goes on; a ledger error stops it.
                if e.downcast_ref::<LedgerErr>().is_some() {
                    return Err(e);
                }
                tr.problem(format!("{e:#}"));
            }
            tr.w.maybe_commit()?;
            if crate::atomic::fault_point("cost-track-ledger-error") {
                // Test-only: a ledger write failing mid-run (disk full, I/O error).
                return Err(anyhow::anyhow!("injected ledger failure").context(LedgerErr));
            }
        }
        if let Some(db) = &agent.sqlite {
            tr.stats.databases += 1;
            if let Err(e) = sqlite::scan_db(&mut tr, agent, db, &base) {
                if e.downcast_ref::<LedgerErr>().is_some() {
                    return Err(e);
                }
                // The spend in a database that cannot be read (busy, read-only for us,
                // corrupt) is missing from the totals: the run fails once the rest is counted.
                let busy = crate::exit::code_of(&e) == Code::TempFail;
                unreadable.push((busy, format!("{e:#}")));
            }
            tr.w.maybe_commit()?;
        }
    }
    meters::scan(&mut tr, &ctx.settings.cost.meters, &cursors, &mut seen_keys)?;
    // Cursors of files that are gone (pruned archives) would only pin reused inodes. The
    // cursors loaded at the start are all there are: no second query.
    if !ctx.dry_run {
        for k in cursors.keys().filter(|k| !seen_keys.contains(*k)) {
            ledger
                .conn
                .execute("DELETE FROM cost_cursors WHERE source = ?1", params![k])?;
        }
    }
    let Tracker { w, stats, .. } = tr;
    w.finish()?;
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
    if !unreadable.is_empty() {
        let all_busy = unreadable.iter().all(|(busy, _)| *busy);
        let first = &unreadable[0].1;
        return Err(fail(
            if all_busy { Code::TempFail } else { Code::IoErr },
            format!(
                "{first}; {} agent database(s) could not be read, their spend is missing from the totals ({} new usage lines from the rest counted, ${}); `claw cost report` says incomplete until a run reads them",
                unreadable.len(),
                stats.counted,
                report::usd(stats.counted_usd)
            ),
        ));
    }
    let summary = format!(
        "{} files ({} unchanged), {} databases, {} new usage lines counted (${}), {} already counted, {} unpriced, {} problems",
        stats.files,
        stats.files_unchanged,
        stats.databases,
        stats.counted,
        report::usd(stats.counted_usd),
        stats.duplicates,
        stats.unpriced,
        stats.corrupt
    );
    let detail = serde_json::to_value(&stats).unwrap_or(json!(null));
    let mut o = Outcome::ok(summary).with_detail(detail);
    for t in totals(ledger, cost_mode(ctx, None)?)? {
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
        "SELECT agent_id, provider, model, usd_sum({col}), sum(input), sum(output), sum(cache_read), sum(cache_write)
         FROM cost_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    );
    let mut st = ledger.conn.prepare(&sql)?;
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

/// Marker for errors that come from the ledger itself (they stop the run).
#[derive(Debug)]
pub(crate) struct LedgerErr;
impl std::fmt::Display for LedgerErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ledger write failed")
    }
}
impl std::error::Error for LedgerErr {}

#[allow(clippy::too_many_arguments)]
fn scan_one(
    tr: &mut Tracker,
    cursors: &HashMap<String, Cursor>,
    seen: &mut HashSet<String>,
    agent: &layout::Agent,
    sid: &str,
    path: &Path,
    label: &str,
    zst: bool,
) -> Result<()> {
    let counted = Counted {
        agent: &agent.id,
        session_id: sid,
        source: label,
    };
    scan_tracked(tr, cursors, seen, path, label, zst, |tr, line, range| {
        let at = || format!("{label}: byte {}", range.start);
        tr.line(line, &counted, &at)
    })
}

/// Scan one file's new complete lines under its cursor, handing each to `handle`, then save
/// the cursor. An error from `handle` is a ledger error and stops the whole run; an error
/// reading the file is the file's own problem.
fn scan_tracked(
    tr: &mut Tracker,
    cursors: &HashMap<String, Cursor>,
    seen: &mut HashSet<String>,
    path: &Path,
    label: &str,
    zst: bool,
    mut handle: impl FnMut(&mut Tracker, &[u8], Range<u64>) -> Result<()>,
) -> Result<()> {
    let st = incremental::stat(path)?;
    let key = Cursor::key(st.0, st.1);
    seen.insert(key.clone());
    let mut ledger_err: Option<anyhow::Error> = None;
    let scan = incremental::scan_file_with(
        path,
        st,
        zst,
        cursors.get(&key),
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
    if !scan.unchanged {
        tr.w.save_cursor(&key, label, &scan.cursor)
            .context(LedgerErr)?;
    }
    Ok(())
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
    let zone = ctx.zone()?;
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
pub fn cost_mode(
    ctx: &Ctx,
    flag: Option<crate::pricing::CostMode>,
) -> Result<crate::pricing::CostMode> {
    use crate::pricing::CostMode;
    if let Some(m) = flag {
        return Ok(m);
    }
    match ctx.settings.cost.cost_mode.as_str() {
        "auto" => Ok(CostMode::Auto),
        "logged" => Ok(CostMode::Logged),
        "computed" => Ok(CostMode::Computed),
        other => Err(fail(
            Code::Config,
            format!("cost.cost_mode = {other:?}: expected \"auto\", \"logged\" or \"computed\""),
        )),
    }
}

/// Whether the ledger has counted anything at all.
pub fn has_counted(ledger: &Ledger) -> Result<bool> {
    Ok(ledger
        .conn
        .query_row("SELECT 1 FROM cost_lines LIMIT 1", [], |_| Ok(()))
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_line_sql_matches_the_parse_bounds() {
        assert!(SANE_LINE_SQL.contains(&format!("AND {}", transcript::MAX_LINE_TOKENS)));
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
