//! `claw tick`: the single cron line. Runs every scheduled job that is due, most overdue
//! first, each as a child process of this same binary under its own lock; records each start
//! and exit in the ledger's `schedule` table. One job failing does not stop the others; after
//! downtime each job runs once.
//!
//! The built-in jobs are the static `crate::jobs::JOBS` table.

mod store;

use crate::ctx::Ctx;
use crate::exit::{code_of, Code};
use crate::jobs::{entries, Entry};
/// The job table `tick` runs (it lives below `cmd/` so `watch` and `doctor` can read it).
pub use crate::jobs::{JobSpec, JOBS};
use crate::ledger::Ledger;
use crate::output::{table, Outcome, SCHEMA_VERSION};
use crate::schedule::Schedule;
use crate::zone::Zone;
use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

struct Last {
    started: DateTime<Utc>,
    exit: Option<i64>,
}

fn last_runs(ledger: &Ledger) -> Result<BTreeMap<String, Last>> {
    let rows = ledger.read(store::all)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let started = DateTime::parse_from_rfc3339(&r.last_started_at)
                .ok()?
                .with_timezone(&Utc);
            let exit = r.last_exit;
            Some((r.job, Last { started, exit }))
        })
        .collect())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn run(ctx: &Ctx) -> Result<Outcome> {
    // An overlapping tick (a long job still running) is normal: leave quietly, no cron mail.
    match crate::lock::acquire(&ctx.paths.locks(), "tick", Duration::ZERO, &ctx.now_str()) {
        Ok(l) => drop(l),
        Err(e) if code_of(&e) == Code::TempFail => {
            ctx.out.note("tick: the previous tick is still running");
            return Ok(Outcome::ok("previous tick still running"));
        }
        Err(e) => return Err(e),
    }
    if ctx.dry_run {
        let ledger = ctx.ledger()?;
        return plan(ctx, &ledger);
    }
    ctx.run_job("tick", "tick", tick)
}

/// Due entries, most overdue first: (index, first missed fire time).
fn due_now(
    entries: &[Entry],
    last: &BTreeMap<String, Last>,
    now: DateTime<Utc>,
    zone: Zone,
) -> Vec<(usize, DateTime<Utc>)> {
    let mut due: Vec<(usize, DateTime<Utc>)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            e.schedule
                .due(last.get(&e.name).map(|l| l.started), now, zone)
                .map(|t| (i, t))
        })
        .collect();
    // Earliest missed fire time = most overdue; ties keep table order.
    due.sort_by_key(|&(i, t)| (t, i));
    due
}

/// Whether an `after X` entry should run now: X ran (ok or finding) since this one last did.
fn after_due(e: &Entry, last: &BTreeMap<String, Last>) -> bool {
    let Schedule::After(dep) = &e.schedule else {
        return false;
    };
    let Some(d) = last.get(dep) else { return false };
    if !matches!(d.exit, Some(0) | Some(1)) {
        return false;
    }
    match last.get(&e.name) {
        None => true,
        Some(mine) => d.started > mine.started,
    }
}

fn tick(ctx: &Ctx, ledger: &Ledger) -> Result<Outcome> {
    let zone = ctx.zone();
    let entries = entries(ctx)?;
    let mut last = last_runs(ledger)?;
    let mut ran: Vec<Value> = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut done: Vec<usize> = Vec::new();
    let mut run_one = |i: usize,
                       missed: Option<DateTime<Utc>>,
                       last: &mut BTreeMap<String, Last>|
     -> Result<()> {
        let e = &entries[i];
        let overdue = missed.map(|m| (ctx.now - m).num_seconds().max(0));
        ctx.out.note(&format!(
            "tick: running {}{}",
            e.name,
            overdue
                .map(|o| format!(" ({o} s overdue)"))
                .unwrap_or_default()
        ));
        ledger.immediate(|tx| store::started(tx, &e.name, &ctx.now_str()))?;
        let began = Instant::now();
        let (exit, why) = spawn(ctx, e);
        ledger.immediate(|tx| store::ended(tx, &e.name, &ctx.now_str(), exit))?;
        last.insert(
            e.name.clone(),
            Last {
                started: ctx.now,
                exit,
            },
        );
        let ok = matches!(exit, Some(0) | Some(1) | Some(75));
        if !ok {
            failed.push((
                format!("failed:{}", e.name),
                format!(
                    "tick: {} failed ({})",
                    e.name,
                    why.clone()
                        .unwrap_or_else(|| format!("exit {}", exit.unwrap_or(-1)))
                ),
            ));
        }
        ran.push(json!({
            "job": e.name,
            "exit_code": exit,
            "error": why,
            "first_missed": missed.map(ts),
            "overdue_secs": overdue,
            "duration_ms": began.elapsed().as_millis() as u64,
        }));
        Ok(())
    };
    for (i, missed) in due_now(&entries, &last, ctx.now, zone) {
        run_one(i, Some(missed), &mut last)?;
        done.push(i);
        // Jobs that follow this one run right after it (chains too).
        loop {
            let next =
                (0..entries.len()).find(|&k| !done.contains(&k) && after_due(&entries[k], &last));
            match next {
                Some(k) => {
                    run_one(k, None, &mut last)?;
                    done.push(k);
                }
                None => break,
            }
        }
    }
    // `after` jobs whose predecessor ran outside this tick (or an earlier tick died).
    while let Some(k) =
        (0..entries.len()).find(|&k| !done.contains(&k) && after_due(&entries[k], &last))
    {
        run_one(k, None, &mut last)?;
        done.push(k);
    }
    let n = ran.len();
    let n_failed = failed.len();
    let mut o = Outcome::ok(format!("{n} jobs run, {n_failed} failed"))
        .with_detail(json!({ "ran": ran }))
        .metric("tick_jobs_run", &[], n as f64)
        .metric("tick_jobs_failed", &[], n_failed as f64);
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "now": ctx.now_str(),
        "ran": ran,
    }));
    // A job that fails every minute is reported once, and once more when it works again
    // (jobs that did not run this tick keep their earlier state).
    for (name, _) in ledger.read(store::failures)? {
        let key = format!("failed:{name}");
        if !ran.iter().any(|r| r["job"] == name.as_str()) && !failed.iter().any(|(k, _)| *k == key)
        {
            failed.push((key, format!("tick: {name} failed")));
        }
    }
    if ran
        .iter()
        .any(|r| !matches!(r["exit_code"].as_i64(), Some(0) | Some(1) | Some(75)))
    {
        o = o.finding();
    }
    Ok(o.with_findings(failed))
}

/// Run one entry as a child process; (exit code, reason when it did not exit by itself).
fn spawn(ctx: &Ctx, e: &Entry) -> (Option<i64>, Option<String>) {
    let program = match &e.program {
        Some(p) => std::path::PathBuf::from(p),
        None => match std::env::current_exe() {
            Ok(p) => p,
            Err(err) => return (None, Some(format!("cannot find the claw binary: {err}"))),
        },
    };
    let mut cmd = Command::new(&program);
    if e.program.is_none() {
        for _ in 0..ctx.out.verbose {
            cmd.arg("-v");
        }
        if ctx.out.quiet {
            cmd.arg("-q");
        }
    }
    cmd.args(&e.args);
    for (k, v) in child_env(ctx) {
        cmd.env(k, v);
    }
    // One --json document is tick's own; the children's reports then go to stderr.
    let timeout = Duration::from_secs(ctx.settings.tick.job_timeout_secs.max(1));
    let opts = crate::proc::Opts::new(timeout).inherit(ctx.out.json);
    match crate::proc::run(cmd, &opts) {
        Err(err) => (
            None,
            Some(format!("cannot start {}: {err}", program.display())),
        ),
        Ok(f) => match f.status {
            Some(status) => match status.code() {
                Some(c) => (Some(i64::from(c)), None),
                None => (None, Some(format!("killed by a signal ({status})"))),
            },
            None => (
                None,
                Some(format!(
                    "killed after tick.job_timeout_secs = {}",
                    ctx.settings.tick.job_timeout_secs
                )),
            ),
        },
    }
}

/// What a child must see to act as this tick: the same time, state, settings and OpenClaw
/// dir, whether they came from flags or the environment.
fn child_env(ctx: &Ctx) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CLAW_NOW", ctx.now_str()),
        ("CLAW_STATE_DIR", ctx.paths.state.display().to_string()),
        ("CLAW_WAIT", "0".to_string()),
    ];
    if ctx.paths.settings_explicit {
        env.push(("CLAW_SETTINGS", ctx.paths.settings.display().to_string()));
    }
    // A flag given to tick reaches the child as its env twin (a flag-less child would
    // otherwise resolve them again from the same environment).
    use clap::Parser;
    if let Ok(cli) = crate::cli::Cli::try_parse_from(std::env::args_os()) {
        if let Some(d) = cli.global.openclaw_dir {
            env.push(("CLAW_OPENCLAW_DIR", d.display().to_string()));
        }
        if let Some(p) = cli.global.profile {
            env.push(("OPENCLAW_PROFILE", p));
        }
    }
    env
}

/// `tick --dry-run`: the schedule, what is due now and when each runs next.
fn plan(ctx: &Ctx, ledger: &Ledger) -> Result<Outcome> {
    let zone = ctx.zone();
    let entries = entries(ctx)?;
    let last = last_runs(ledger)?;
    let due: BTreeMap<usize, DateTime<Utc>> = due_now(&entries, &last, ctx.now, zone)
        .into_iter()
        .collect();
    let mut rows = vec![vec![
        "JOB".to_string(),
        "SCHEDULE".into(),
        "LAST START".into(),
        "DUE NOW".into(),
        "NEXT".into(),
    ]];
    let mut docs = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let l = last.get(&e.name);
        let is_due = due.contains_key(&i) || after_due(e, &last);
        let next = e.schedule.next(ctx.now, zone).map(ts);
        rows.push(vec![
            e.name.clone(),
            e.schedule_text.clone(),
            l.map(|l| ts(l.started)).unwrap_or_else(|| "never".into()),
            if is_due { "yes".into() } else { "no".into() },
            next.clone().unwrap_or_else(|| "-".into()),
        ]);
        docs.push(json!({
            "job": e.name,
            "schedule": e.schedule_text,
            "last_started": l.map(|l| ts(l.started)),
            "due": is_due,
            "overdue_secs": due.get(&i).map(|m| (ctx.now - *m).num_seconds().max(0)),
            "next": next,
        }));
    }
    let text = table(&rows);
    let mut o = Outcome::ok(format!("{} jobs scheduled", entries.len())).with_text(text);
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "now": ctx.now_str(),
        "dry_run": true,
        "jobs": docs,
    }));
    Ok(o)
}
