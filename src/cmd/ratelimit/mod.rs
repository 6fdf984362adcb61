//! `claw rate-limit-detect`: see a 429 storm early, trip a circuit breaker, recover gradually.
//!
//! Each run reads only what is new (own cursors in `read_cursors`) from every signal OpenClaw
//! leaves: gateway log files, journald (when no log file is found, or always), auth-state
//! cooldowns and transcript errors. New events go to `rl_events` exactly once (see
//! [`signal`] for the one-event-per-429 rule). Then one breaker per provider and a global one
//! ([`breaker`]) are evaluated, HALF-OPEN ones probed, every transition recorded, the state
//! file written atomically, and the trip / recovery actions run once per outage ([`actions`]).
//! Exit 1 while any breaker is not closed.

mod actions;
pub mod breaker;
pub mod degrade;
pub mod signal;
mod store;

use crate::cli::RateLimitArgs;
use crate::ctx::Ctx;
use crate::incremental::{self, Cursor, FileSet};
use crate::ledger::Ledger;
use crate::openclaw::{agentdb, gatewaylog, layout, transcript};
use crate::output::Outcome;
use crate::settings::Journald;
use anyhow::{Context, Result};
use breaker::{Breaker, ProbeResult, Signals, State, Transition};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};
use signal::Candidate;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub const JOB: &str = "rate-limit-detect";
/// The global breaker's scope name.
pub const GLOBAL: &str = "global";

pub fn run(ctx: &Ctx, args: &RateLimitArgs) -> Result<Outcome> {
    ctx.run_job(JOB, JOB, |ctx, ledger| detect(ctx, ledger, args))
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn secs(n: u64) -> Duration {
    Duration::seconds(n.min(i64::MAX as u64 / 1000) as i64)
}

/// Per-run counters (ledger detail, `--json`).
#[derive(Debug, Default, serde::Serialize)]
struct Stats {
    log_files: u64,
    files_unchanged: u64,
    transcripts: u64,
    journal_units: u64,
    lines_read: u64,
    bytes_read: u64,
    candidates: u64,
    new_events: u64,
    echoes_dropped: u64,
    cooldowns_active: u64,
    problems: Vec<String>,
}

impl Stats {
    fn problem(&mut self, m: String) {
        if self.problems.len() < 50 {
            self.problems.push(m);
        }
    }
}

/// rate-limit-detect's read cursors, through the one cursor store.
type Cursors = crate::ledger::cursors::Cursors;

fn load_cursors(ledger: &Ledger) -> Result<Cursors> {
    ledger.read(|c| Cursors::load(c, crate::ledger::cursors::Reader::RateLimit))
}

/// Saves every cursor the scan moved, inside the caller's transaction; forgets stale journal
/// cursors and the cursors of files that are gone (pruned logs, archives: they would only
/// pin reused inodes).
fn save_cursors(conn: &rusqlite::Connection, now_s: &str, scan: &Scan) -> Result<()> {
    use crate::ledger::cursors::{self, Position, Reader};
    let files = scan
        .file_cursors
        .iter()
        .map(|(k, p, c)| (k.as_str(), p.as_str(), Position::File(c.clone())));
    let seqs = scan
        .seq_cursors
        .iter()
        .map(|(k, p, s)| (k.as_str(), p.as_str(), Position::Seq(*s)));
    let stamps = scan
        .stamps
        .iter()
        .map(|(k, p, s)| (k.as_str(), p.as_str(), Position::Stamp(s.clone())));
    let journals = scan
        .journal_cursors
        .iter()
        .filter(|(_, _, c)| !c.is_empty())
        .map(|(k, p, c)| (k.as_str(), p.as_str(), Position::Journal(c.clone())));
    let all: Vec<(&str, &str, Position)> =
        files.chain(seqs).chain(stamps).chain(journals).collect();
    cursors::save(
        conn,
        Reader::RateLimit,
        now_s,
        all.iter().map(|(k, p, c)| (*k, *p, c)),
    )?;
    let stale = scan.journal_cursors.iter().filter(|(_, _, c)| c.is_empty());
    cursors::forget(conn, Reader::RateLimit, stale.map(|(k, _, _)| k.as_str()))?;
    cursors::forget_files_except(conn, Reader::RateLimit, &scan.seen_files)
}

/// What the scan found, before anything is written.
struct Scan {
    cands: Vec<Candidate>,
    file_cursors: Vec<(String, String, Cursor)>,
    /// SQLite-era session cursors to save: key, database label, last seq.
    seq_cursors: Vec<(String, String, i64)>,
    /// Database stamps to save: key, database label, stamp.
    stamps: Vec<(String, String, String)>,
    journal_cursors: Vec<(String, String, String)>,
    seen_files: FileSet,
    cooldowns: HashMap<String, (DateTime<Utc>, String)>,
    stats: Stats,
}

/// The gateway log files to read: `--log-dir`, else settings, else the defaults plus the
/// directory of `logging.file`.
fn log_files(ctx: &Ctx, args: &RateLimitArgs) -> Vec<PathBuf> {
    let cfg = &ctx.settings.rate_limit;
    let profile = ctx.paths.profile.as_deref();
    if !args.log_dir.is_empty() {
        return gatewaylog::find_files(&args.log_dir, None, profile);
    }
    if !cfg.log_dirs.is_empty() {
        let dirs: Vec<PathBuf> = cfg.log_dirs.iter().map(PathBuf::from).collect();
        return gatewaylog::find_files(&dirs, None, profile);
    }
    let logging_file = crate::safefs::read_to_string(&ctx.paths.config)
        .ok()
        .and_then(|t| crate::openclaw::config::parse_json5(&t).ok())
        .and_then(|v| {
            v.pointer("/logging/file")
                .and_then(Value::as_str)
                .map(PathBuf::from)
        });
    gatewaylog::find_files(
        &gatewaylog::default_dirs(),
        logging_file.as_deref(),
        profile,
    )
}

fn scan_log_file(
    sc: &mut Scan,
    cursors: &Cursors,
    path: &Path,
    label: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let st = incremental::stat(path)?;
    let key = Cursor::key(st.0, st.1);
    sc.seen_files.insert((st.0, st.1));
    let mut found = Vec::new();
    let mut corrupt = 0u64;
    let prev = cursors.files.get(&(st.0, st.1));
    let scan = incremental::scan_file_with(path, st, false, prev, |line, range| {
        if !signal::prefilter(line) {
            return Ok(());
        }
        match gatewaylog::parse_line(line) {
            Ok(l) => {
                let origin = format!("{key}@{}", range.start);
                if let Some(c) = signal::from_log(&l, None, origin, label) {
                    found.push(c);
                }
            }
            Err(_) => corrupt += 1,
        }
        Ok(())
    })?;
    if corrupt > 0 {
        sc.stats.problem(format!(
            "{label}: {corrupt} candidate lines are not JSON; skipped"
        ));
    }
    sc.stats.log_files += 1;
    sc.stats.files_unchanged += scan.unchanged as u64;
    sc.stats.lines_read += scan.lines;
    sc.stats.bytes_read += scan.bytes;
    let _ = now;
    sc.cands.extend(found);
    if !scan.unchanged {
        sc.file_cursors.push((key, label.to_string(), scan.cursor));
    }
    Ok(())
}

fn scan_transcript(
    sc: &mut Scan,
    cursors: &Cursors,
    path: &Path,
    label: &str,
    sid: &str,
    zst: bool,
) -> Result<()> {
    let st = incremental::stat(path)?;
    let key = Cursor::key(st.0, st.1);
    sc.seen_files.insert((st.0, st.1));
    let mut found = Vec::new();
    let prev = cursors.files.get(&(st.0, st.1));
    let scan = incremental::scan_file_with(path, st, zst, prev, |line, range| {
        let fallback = || format!("{key}@{}", range.start);
        if let Some(c) = transcript_error(line, sid, label, &fallback) {
            found.push(c);
        }
        Ok(())
    })?;
    sc.stats.transcripts += 1;
    sc.stats.lines_read += scan.lines;
    sc.stats.bytes_read += scan.bytes;
    sc.cands.extend(found);
    if !scan.unchanged {
        sc.file_cursors.push((key, label.to_string(), scan.cursor));
    }
    Ok(())
}

/// A transcript line that records a rate-limit or overload error, as a candidate event.
fn transcript_error(
    line: &[u8],
    sid: &str,
    label: &str,
    fallback_id: &dyn Fn() -> String,
) -> Option<Candidate> {
    // Only assistant errors matter: skip every other line without parsing it.
    if memchr::memmem::find(line, b"\"errorMessage\"").is_none() || !signal::prefilter(line) {
        return None;
    }
    let e = transcript::parse(line).ok()?;
    let a = e.assistant?;
    if a.stop_reason.as_deref() != Some("error") {
        return None;
    }
    let at = e.timestamp.as_deref().and_then(parse_ts)?;
    let id = e.id.unwrap_or_else(fallback_id);
    signal::from_transcript(
        a.error_message.as_deref().unwrap_or_default(),
        a.provider.as_deref().unwrap_or_default(),
        a.model.as_deref().unwrap_or_default(),
        at,
        format!("transcript:{sid}:{id}"),
        label,
    )
}

/// The SQLite era: the agent database's transcript events, through the shared reader.
fn scan_agent_db(sc: &mut Scan, cursors: &Cursors, db: &Path, label: &str) -> Result<()> {
    // An unchanged database (and WAL) since the last run holds no new rows: not even opened.
    let stamp_key = format!("sqlitedb:{label}");
    let stamp = agentdb::stamp(db);
    if stamp.is_some() && cursors.stamps.get(&stamp_key) == stamp.as_ref() {
        return Ok(());
    }
    let mine = cursors.sessions_of(label);
    let mut found = Vec::new();
    let done = agentdb::scan_events(db, &mine, agentdb::Want::All, |sid, seq, ev| {
        sc.stats.lines_read += 1;
        if let agentdb::Event::Line(line) = ev {
            let fallback = || format!("{sid}#{seq}");
            if let Some(c) = transcript_error(line, sid, label, &fallback) {
                found.push(c);
            }
        }
        Ok(())
    })?;
    sc.cands.extend(found);
    for (sid, last) in done {
        sc.seq_cursors.push((
            crate::ledger::cursors::seq_key(label, &sid),
            label.to_string(),
            last,
        ));
    }
    if let Some(st) = stamp {
        sc.stamps.push((stamp_key, label.to_string(), st));
    }
    Ok(())
}

fn journal_units(ctx: &Ctx) -> Vec<String> {
    let cfg = &ctx.settings.rate_limit;
    if !cfg.journald_units.is_empty() {
        return cfg.journald_units.clone();
    }
    vec![match &ctx.paths.profile {
        Some(p) => format!("openclaw-gateway-{p}.service"),
        None => "openclaw-gateway.service".into(),
    }]
}

/// Read a unit's new journal entries. A missing journalctl is skipped quietly.
fn scan_journal(ctx: &Ctx, sc: &mut Scan, cursors: &Cursors, unit: &str) -> Result<()> {
    let cfg = &ctx.settings.rate_limit;
    let key = format!("journal:{unit}");
    let mut cmd = std::process::Command::new(&cfg.journalctl_bin);
    if !cfg.journald_system {
        cmd.arg("--user");
    }
    cmd.args(["-u", unit, "-o", "json", "--no-pager"]);
    match cursors.journal.get(&key) {
        Some(c) => {
            cmd.arg(format!("--after-cursor={c}"));
        }
        None => {
            // First run: the recent past only (the breaker looks no further back).
            let from = ctx.now - secs(cfg.window_secs.max(cfg.quiet_secs)) - Duration::hours(1);
            cmd.arg(format!("--since=@{}", from.timestamp()));
        }
    }
    let timeout = std::time::Duration::from_secs(cfg.timeout_secs.max(1));
    // The journal is read whole: the cursor only moves over lines that were parsed.
    let opts = crate::proc::Opts::new(timeout).capture(usize::MAX);
    let out = match crate::proc::run(cmd, &opts) {
        Ok(o) if !o.timed_out() => o,
        Ok(_) => {
            // A hung journal must not hold the job (and its lock) past its slot.
            sc.stats.problem(format!(
                "{} -u {unit}: no answer within {} s; killed, tried again next run",
                cfg.journalctl_bin,
                timeout.as_secs()
            ));
            return Ok(());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ctx.out.note(&format!(
                "{}: not installed; journald skipped",
                cfg.journalctl_bin
            ));
            return Ok(());
        }
        Err(e) => return Err(e).with_context(|| format!("{}: cannot run", cfg.journalctl_bin)),
    };
    sc.stats.journal_units += 1;
    if let Some(status) = out.status.filter(|s| !s.success()) {
        ctx.out.note(&format!(
            "journalctl -u {unit}: {status} ({}); the cursor is reset",
            out.stderr_tail.trim()
        ));
        // A stale cursor is the usual cause: start again from the recent past; origins
        // (journal cursors) keep events exactly-once.
        sc.journal_cursors
            .push((key, unit.to_string(), String::new()));
        return Ok(());
    }
    let label = format!("journal:{unit}");
    let mut last_cursor = None;
    for line in out.stdout.split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        sc.stats.lines_read += 1;
        sc.stats.bytes_read += line.len() as u64 + 1;
        let interesting = signal::prefilter(line);
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            sc.stats.problem(format!(
                "{label}: journalctl printed a line that is not JSON"
            ));
            continue;
        };
        let Some(cur) = v.get("__CURSOR").and_then(Value::as_str) else {
            continue;
        };
        last_cursor = Some(cur.to_string());
        if !interesting {
            continue;
        }
        let msg = match v.get("MESSAGE") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(bytes)) => {
                let b: Vec<u8> = bytes
                    .iter()
                    .filter_map(|x| x.as_u64().map(|n| n as u8))
                    .collect();
                String::from_utf8_lossy(&b).into_owned()
            }
            _ => continue,
        };
        let fallback = v
            .get("__REALTIME_TIMESTAMP")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_micros);
        let l = gatewaylog::parse_console(&msg);
        if let Some(c) = signal::from_log(&l, fallback, format!("journal:{cur}"), &label) {
            sc.cands.push(c);
        }
    }
    if let Some(c) = last_cursor {
        sc.journal_cursors.push((key, unit.to_string(), c));
    }
    Ok(())
}

/// Active rate-limit cooldowns from every agent's `auth-state.json`: provider -> (latest
/// end, "agent/profile (reason)").
fn cooldowns(
    ctx: &Ctx,
    agents: &[layout::Agent],
    stats: &mut Stats,
) -> HashMap<String, (DateTime<Utc>, String)> {
    let mut out: HashMap<String, (DateTime<Utc>, String)> = HashMap::new();
    for a in agents {
        let p = a.auth_state();
        let text = match crate::safefs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                stats.problem(format!("{}: cannot read: {e}", p.display()));
                continue;
            }
        };
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                stats.problem(format!("{}: corrupt JSON: {e}", p.display()));
                continue;
            }
        };
        let Some(usage) = v.get("usageStats").and_then(Value::as_object) else {
            continue;
        };
        for (profile, st) in usage {
            let until = match st.get("cooldownUntil") {
                Some(Value::Number(n)) => n.as_i64().and_then(DateTime::from_timestamp_millis),
                Some(Value::String(s)) => parse_ts(s),
                _ => None,
            };
            let Some(until) = until.filter(|u| *u > ctx.now) else {
                continue;
            };
            let reason = st
                .get("cooldownReason")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let counts =
                matches!(reason, "rate_limit" | "overloaded") || signal::classify(reason).is_some();
            if !counts {
                continue;
            }
            stats.cooldowns_active += 1;
            let provider = profile.split(':').next().unwrap_or(profile).to_string();
            let what = format!("{}/{profile} ({reason})", a.id);
            let e = out.entry(provider).or_insert((until, what.clone()));
            if until > e.0 {
                *e = (until, what);
            }
        }
    }
    out
}

fn scan_all(ctx: &Ctx, args: &RateLimitArgs, cursors: &Cursors) -> Result<Scan> {
    let cfg = &ctx.settings.rate_limit;
    let mut sc = Scan {
        cands: Vec::new(),
        file_cursors: Vec::new(),
        seq_cursors: Vec::new(),
        stamps: Vec::new(),
        journal_cursors: Vec::new(),
        seen_files: FileSet::default(),
        cooldowns: HashMap::new(),
        stats: Stats::default(),
    };
    let files = log_files(ctx, args);
    for f in &files {
        let label = f.display().to_string();
        if let Err(e) = scan_log_file(&mut sc, cursors, f, &label, ctx.now) {
            sc.stats.problem(format!("{e:#}"));
        }
    }
    let use_journal = match cfg.journald {
        Journald::Always => true,
        Journald::Auto => files.is_empty(),
        Journald::Off => false,
    };
    if use_journal {
        for unit in journal_units(ctx) {
            if let Err(e) = scan_journal(ctx, &mut sc, cursors, &unit) {
                sc.stats.problem(format!("{e:#}"));
            }
        }
    }
    let agents = layout::agents(&ctx.paths.openclaw_dir).with_context(|| {
        format!(
            "{}: cannot list agents",
            ctx.paths.openclaw_dir.join("agents").display()
        )
    })?;
    let base = ctx.paths.openclaw_dir.clone();
    for agent in &agents {
        let files = match layout::transcript_files(agent) {
            Ok(f) => f,
            Err(e) => {
                sc.stats.problem(format!("{e:#}"));
                continue;
            }
        };
        for (path, kind, st) in files {
            // An unchanged file costs its listing entry: no label, no open.
            if cursors
                .files
                .get(&(st.0, st.1))
                .is_some_and(|c| c.describes(st))
            {
                sc.seen_files.insert((st.0, st.1));
                sc.stats.transcripts += 1;
                continue;
            }
            let sid = kind.session_id().unwrap_or_default().to_string();
            let label = crate::paths::display_rel(&path, &base);
            if let Err(e) =
                scan_transcript(&mut sc, cursors, &path, &label, &sid, kind.is_compressed())
            {
                sc.stats.problem(format!("{e:#}"));
            }
        }
        if let Some(db) = &agent.sqlite {
            let label = crate::paths::display_rel(db, &base);
            if let Err(e) = scan_agent_db(&mut sc, cursors, db, &label) {
                sc.stats.problem(format!("{e:#}"));
            }
        }
    }
    sc.cooldowns = cooldowns(ctx, &agents, &mut sc.stats);
    Ok(sc)
}

fn breaker_config(ctx: &Ctx) -> breaker::Config {
    let c = &ctx.settings.rate_limit;
    breaker::Config {
        threshold: c.threshold,
        window: secs(c.window_secs),
        cooldown: secs(c.cooldown_secs),
        max_cooldown: secs(c.max_cooldown_secs),
        quiet: secs(c.quiet_secs),
    }
}

/// Recent events per provider (`""` = none named): times and the latest Retry-After end.
struct Recent {
    times: HashMap<String, Vec<DateTime<Utc>>>,
    retry_until: HashMap<String, DateTime<Utc>>,
}

fn recent_events(ctx: &Ctx, c: &rusqlite::Connection, horizon: Duration) -> Result<Recent> {
    let from = ts(ctx.now - horizon);
    let rows = store::events_after(c, &from, ctx.settings.rate_limit.count_overloaded)?;
    let mut out = Recent {
        times: HashMap::new(),
        retry_until: HashMap::new(),
    };
    for store::EventRow {
        provider: p,
        at,
        retry_after_secs: ra,
    } in rows
    {
        let Some(at) = parse_ts(&at) else { continue };
        out.times.entry(p.clone()).or_default().push(at);
        // Stored by an older claw without the one-day bound: bounded again on reading.
        if let Some(u) = ra.filter(|s| *s > 0).and_then(|ra| {
            at.checked_add_signed(Duration::seconds(
                ra.min(signal::MAX_RETRY_AFTER_SECS as i64),
            ))
        }) {
            let e = out.retry_until.entry(p).or_insert(u);
            *e = (*e).max(u);
        }
    }
    Ok(out)
}

/// A budget with an `on_exceeded` action whose action ran in the current period (the
/// `minimal` level): read from `budget_actions`, which budget-check writes.
fn budget_exceeded(ctx: &Ctx, ledger: &Ledger) -> Result<bool> {
    use crate::budgets as budget;
    let budgets: Vec<_> = ctx
        .settings
        .cost
        .budgets
        .iter()
        .filter(|b| !b.on_exceeded.is_empty())
        .collect();
    if budgets.is_empty() {
        return Ok(false);
    }
    let (zone, ws) = (ctx.zone(), ctx.settings.cost.week_start);
    let today = zone.day_of(ctx.now);
    for b in budgets {
        let (first, _) = budget::period_of(b.period, today, ws);
        let (sc, period) = (budget::scope(b), first.to_string());
        if ledger.read(|c| crate::ledger::budget_actions::ran(c, &sc, &period))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A probe that ran (for the ledger).
pub struct ProbeRecord {
    pub scope: String,
    pub kind: &'static str,
    pub result: ProbeResult,
    pub status: Option<u16>,
    pub retry_after_secs: Option<u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

fn detect(ctx: &Ctx, ledger: &Ledger, args: &RateLimitArgs) -> Result<Outcome> {
    let cfg = &ctx.settings.rate_limit;
    let bcfg = breaker_config(ctx);
    let cursors = load_cursors(ledger)?;
    let mut scan = scan_all(ctx, args, &cursors)?;
    let cands = std::mem::take(&mut scan.cands);
    scan.stats.candidates = cands.len() as u64;
    // Each provider's latest counted event (for the echo rule).
    let latest = ledger.read(store::latest_events)?;
    let kept = signal::dedupe(cands, &latest, secs(cfg.echo_window_secs));
    scan.stats.echoes_dropped = scan.stats.candidates - kept.len() as u64;

    // 1. Events and cursors, and 2. the breakers and recent events as they now are (in a
    //    dry run, with what this run found), in one transaction rolled back in a dry run.
    let now_s = ctx.now_str();
    let horizon = secs(cfg.window_secs.max(cfg.quiet_secs)) + Duration::seconds(1);
    let (new_events, before, recent) = ledger.immediate_unless(ctx.dry_run, |tx| {
        let n = store::insert_events(tx, &kept, &now_s)?;
        save_cursors(tx, &now_s, &scan)?;
        Ok((n, store::breakers(tx)?, recent_events(ctx, tx, horizon)?))
    })?;
    // A dry run evaluates the breakers on what it found, then forgets it all.
    scan.stats.new_events = if ctx.dry_run {
        kept.len() as u64
    } else {
        new_events
    };
    let Evaluated {
        after,
        transitions,
        recoveries,
        probes,
        notes,
    } = evaluate(ctx, &bcfg, &before, &recent, &scan.cooldowns)?;

    // 3. Record breakers, transitions, recoveries, probes.
    if !ctx.dry_run {
        ledger.immediate(|tx| {
            store::record(tx, &now_s, &after, &transitions, &recoveries, &probes)
        })?;
    }

    // 4. Actions once per outage: trip when the first breaker leaves CLOSED, recovery when
    //    the last one closes again.
    let was_limited = before.values().any(|b| !b.is_closed());
    let limited = after.values().any(|b| !b.is_closed());
    let mut text_lines: Vec<String> = Vec::new();
    if limited && !was_limited {
        text_lines.extend(actions::on_trip(ctx, ledger, &after, &scan.cooldowns)?);
    } else if was_limited && !limited {
        text_lines.extend(actions::on_recovery(ctx, ledger, &recoveries)?);
    }
    text_lines.extend(notes);

    // 5. Degraded mode: what OpenClaw runs on a limited provider is slowed down and put back
    //    ([`degrade`]); then the state file with every level.
    let levels = degrade::levels(&after, budget_exceeded(ctx, ledger)?);
    let deg = degrade::act::run(ctx, ledger, &after, args.restore)?;
    text_lines.extend(deg.lines);
    if !ctx.dry_run {
        let outstanding = degrade::store::outstanding_counts(ledger)?;
        write_state_file(ctx, &after, &levels, &outstanding)?;
        retire_legacy_state_file(ctx);
    }

    Ok(report(
        ctx,
        &scan.stats,
        &after,
        &transitions,
        &recoveries,
        &levels,
        deg.changes,
        text_lines,
    ))
}

/// What step 2 decided: every breaker after this run, its transitions, recoveries and probes.
struct Evaluated {
    after: BTreeMap<String, Breaker>,
    transitions: Vec<(String, Transition)>,
    recoveries: Vec<(String, breaker::Recovery)>,
    probes: Vec<ProbeRecord>,
    notes: Vec<String>,
}

/// Step 2: evaluate every provider breaker (probing the half-open ones) and the global one.
fn evaluate(
    ctx: &Ctx,
    bcfg: &breaker::Config,
    before: &BTreeMap<String, Breaker>,
    recent: &Recent,
    cooldowns: &HashMap<String, (DateTime<Utc>, String)>,
) -> Result<Evaluated> {
    let mut scopes: Vec<String> = before
        .keys()
        .filter(|s| s.as_str() != GLOBAL)
        .cloned()
        .collect();
    scopes.extend(recent.times.keys().filter(|p| !p.is_empty()).cloned());
    scopes.extend(cooldowns.keys().cloned());
    scopes.sort();
    scopes.dedup();

    let mut after: BTreeMap<String, Breaker> = BTreeMap::new();
    let mut transitions: Vec<(String, Transition)> = Vec::new();
    let mut recoveries: Vec<(String, breaker::Recovery)> = Vec::new();
    let mut probes: Vec<ProbeRecord> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let empty = Vec::new();
    for scope in &scopes {
        let mut b = before.get(scope).cloned().unwrap_or_default();
        let sig = Signals {
            events: recent.times.get(scope).unwrap_or(&empty),
            cooldown_until: cooldowns.get(scope).map(|c| c.0),
            retry_after_until: recent.retry_until.get(scope).copied(),
        };
        for t in b.evaluate(bcfg, ctx.now, &sig) {
            transitions.push((scope.clone(), t));
        }
        if b.state == State::HalfOpen {
            match actions::probe(ctx, scope, bcfg, &sig)? {
                Some(rec) => {
                    let (t, r) = b.probed(bcfg, ctx.now, &sig, &rec.result);
                    if let Some(t) = t {
                        transitions.push((scope.clone(), t));
                    }
                    if let Some(r) = r {
                        recoveries.push((scope.clone(), r));
                    }
                    probes.push(rec);
                }
                None => notes.push(format!("dry run: would probe {scope}")),
            }
        }
        after.insert(scope.clone(), b);
    }
    // The global breaker: every event counts; its probe passes when every provider is closed.
    {
        let mut b = before.get(GLOBAL).cloned().unwrap_or_default();
        let all: Vec<DateTime<Utc>> = recent.times.values().flatten().copied().collect();
        let sig = Signals {
            events: &all,
            cooldown_until: None,
            retry_after_until: None,
        };
        for t in b.evaluate(bcfg, ctx.now, &sig) {
            transitions.push((GLOBAL.into(), t));
        }
        if b.state == State::HalfOpen {
            let open: Vec<&str> = after
                .iter()
                .filter(|(_, b)| !b.is_closed())
                .map(|(s, _)| s.as_str())
                .collect();
            let res = if open.is_empty() {
                ProbeResult::Ok("every provider breaker is closed".into())
            } else {
                ProbeResult::Failed {
                    why: format!("still open: {}", open.join(", ")),
                    retry_after_until: None,
                }
            };
            let (t, r) = b.probed(bcfg, ctx.now, &sig, &res);
            if let Some(t) = t {
                transitions.push((GLOBAL.into(), t));
            }
            if let Some(r) = r {
                recoveries.push((GLOBAL.into(), r));
            }
        }
        after.insert(GLOBAL.into(), b);
    }
    Ok(Evaluated {
        after,
        transitions,
        recoveries,
        probes,
        notes,
    })
}

/// The run's outcome: summary, `--json` detail, metrics, findings and the text lines.
#[allow(clippy::too_many_arguments)]
fn report(
    ctx: &Ctx,
    stats: &Stats,
    after: &BTreeMap<String, Breaker>,
    transitions: &[(String, Transition)],
    recoveries: &[(String, breaker::Recovery)],
    levels: &BTreeMap<String, degrade::Level>,
    degraded: Vec<Value>,
    text_lines: Vec<String>,
) -> Outcome {
    let limited = after.values().any(|b| !b.is_closed());
    for p in &stats.problems {
        ctx.out.warn(p);
    }
    let summary = format!(
        "{} log files ({} unchanged), {} transcripts, {} journal units, {} new events, {} echoes not counted, {} transitions, {}",
        stats.log_files,
        stats.files_unchanged,
        stats.transcripts,
        stats.journal_units,
        stats.new_events,
        stats.echoes_dropped,
        transitions.len(),
        if limited { "rate limited" } else { "all breakers closed" }
    );
    let breakers_doc: Value = after
        .iter()
        .map(|(s, b)| (s.clone(), breaker_doc(b)))
        .collect::<serde_json::Map<String, Value>>()
        .into();
    let detail = json!({
        "stats": stats,
        "breakers": breakers_doc,
        "transitions": transitions.iter().map(|(s, t)| json!({
            "scope": s, "from": t.from.as_str(), "to": t.to.as_str(), "at": ts(t.at),
            "reason": t.reason, "events": t.events, "trips": t.trips,
            "until": t.until.map(ts),
        })).collect::<Vec<_>>(),
        "recoveries": recoveries.iter().map(|(s, r)| json!({
            "scope": s, "opened_at": ts(r.opened_at), "closed_at": ts(r.closed_at),
            "duration_secs": r.duration_secs(), "trips": r.trips,
        })).collect::<Vec<_>>(),
        "levels": levels.iter().map(|(s, l)| (s.clone(), json!(l.as_str()))).collect::<serde_json::Map<_, _>>(),
        "degraded": degraded,
    });
    let mut out = Outcome::ok(summary).with_detail(detail);
    for (s, b) in after {
        // Scopes are providers (and "global"): a small set, never a session.
        out = out.metric(
            "rate_limit_breaker_state",
            &[("provider", s)],
            breaker_state_value(b.state),
        );
        out = out.metric(
            "rate_limit_window_events",
            &[("provider", s)],
            b.events as f64,
        );
    }
    for (s, l) in levels {
        out = out.metric(
            "rate_limit_degradation_level",
            &[("provider", s)],
            l.value(),
        );
    }
    out = out.count("rate_limit_events_total", &[], stats.new_events as f64);
    // A breaker that stays in one state is printed once (see `findings`): key scope + state.
    let mut findings = Vec::new();
    if limited {
        for (s, b) in after.iter().filter(|(_, b)| !b.is_closed()) {
            let key = format!("{s}:{}", b.state.as_str());
            findings.push((
                key,
                format!(
                    "rate limit: {s} {} since {}{}: {} ({} events in window, trip {})",
                    b.state.as_str().to_uppercase(),
                    ts(b.since),
                    b.until
                        .map(|u| format!(", until {}", ts(u)))
                        .unwrap_or_default(),
                    b.reason,
                    b.events,
                    b.trips
                ),
            ));
        }
        out = out.finding();
    }
    out = out.with_findings(findings);
    if !text_lines.is_empty() {
        out = out.with_text(text_lines.join("\n"));
    }
    out
}

fn breaker_doc(b: &Breaker) -> Value {
    json!({
        "state": b.state.as_str(),
        "since": ts(b.since),
        "until": b.until.map(ts),
        "openedAt": b.opened_at.map(ts),
        "reason": b.reason,
        "events": b.events,
        "trips": b.trips,
    })
}

/// The state file's path: settings, else `<claw state>/rate-limit.json` (inside the dir
/// the units let claw write; it used to be `<openclaw state>/claw/rate-limit.json`).
pub fn state_file(ctx: &Ctx) -> PathBuf {
    let s = &ctx.settings.rate_limit.state_file;
    if s.is_empty() {
        ctx.paths.state.join("rate-limit.json")
    } else {
        PathBuf::from(s)
    }
}

/// Where the state file lived before it moved into claw's state dir.
fn legacy_state_file(ctx: &Ctx) -> PathBuf {
    ctx.paths.openclaw_dir.join("claw").join("rate-limit.json")
}

/// After the move: the new file is written on every run, so the old default file is only
/// removed (a script still reading it would otherwise see a state that never changes). A
/// sandbox may keep OpenClaw's dir read-only: then it stays and `-v` says so.
fn retire_legacy_state_file(ctx: &Ctx) {
    if !ctx.settings.rate_limit.state_file.is_empty() {
        return;
    }
    let old = legacy_state_file(ctx);
    if !old.is_file() {
        return;
    }
    let new = state_file(ctx);
    match std::fs::remove_file(&old) {
        Ok(()) => ctx.out.note(&format!(
            "rate-limit state file moved from {} to {}",
            old.display(),
            new.display()
        )),
        Err(e) => ctx.out.warn(&format!(
            "{}: old rate-limit state file not removed ({e}); it now lives in {}",
            old.display(),
            new.display()
        )),
    }
}

/// The state file (documented in README): the worst breaker at the top, every breaker below,
/// with each scope's degradation level and the changes degraded mode still has to undo.
fn state_doc(
    ctx: &Ctx,
    after: &BTreeMap<String, Breaker>,
    levels: &BTreeMap<String, degrade::Level>,
    outstanding: &[(String, i64)],
) -> Value {
    let level = |s: &str| {
        levels
            .get(s)
            .copied()
            .unwrap_or(degrade::Level::Full)
            .as_str()
    };
    let rank = |b: &Breaker| match b.state {
        State::Open => 2,
        State::HalfOpen => 1,
        State::Closed => 0,
    };
    // Worst first; a provider before the global breaker at equal rank.
    let worst = after
        .iter()
        .max_by_key(|(s, b)| (rank(b), s.as_str() != GLOBAL))
        .map(|(s, b)| (s.clone(), b.clone()));
    let global = after.get(GLOBAL).cloned().unwrap_or_default();
    let (scope, top) = worst.unwrap_or((GLOBAL.into(), global.clone()));
    let limited = !top.is_closed();
    let providers: serde_json::Map<String, Value> = after
        .iter()
        .filter(|(s, _)| s.as_str() != GLOBAL)
        .map(|(s, b)| {
            let mut d = breaker_doc(b);
            d["level"] = json!(level(s));
            (s.clone(), d)
        })
        .collect();
    let mut global_doc = breaker_doc(&global);
    global_doc["level"] = json!(level(GLOBAL));
    json!({
        "schema_version": 1,
        "state": top.state.as_str(),
        "rateLimited": limited,
        "since": ts(top.since),
        "until": top.until.map(ts),
        "provider": if limited && scope != GLOBAL { Value::String(scope) } else { Value::Null },
        "reason": top.reason,
        "events": global.events,
        "trips": top.trips,
        "updatedAt": ctx.now_str(),
        "level": level(GLOBAL),
        "global": global_doc,
        "providers": providers,
        "outstandingChanges": outstanding.iter().map(|(p, n)| (p.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
    })
}

fn write_state_file(
    ctx: &Ctx,
    after: &BTreeMap<String, Breaker>,
    levels: &BTreeMap<String, degrade::Level>,
    outstanding: &[(String, i64)],
) -> Result<()> {
    let path = state_file(ctx);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(&state_doc(ctx, after, levels, outstanding))?;
    text.push('\n');
    crate::atomic::write(
        &path,
        text.as_bytes(),
        crate::atomic::Opts {
            mode: 0o644,
            keep_existing_mode_and_owner: false,
        },
    )
}

/// The breaker state as `claw_rate_limit_breaker_state` shows it: 0 closed, 1 half-open,
/// 2 open (so `max` over providers is the worst).
fn breaker_state_value(s: breaker::State) -> f64 {
    match s {
        breaker::State::Closed => 0.0,
        breaker::State::HalfOpen => 1.0,
        breaker::State::Open => 2.0,
    }
}
