//! `claw tick`: the single cron line. Runs every scheduled job that is due, most overdue
//! first, each as a child process of this same binary under its own lock; records each start
//! and exit in the ledger's `schedule` table. One job failing does not stop the others; after
//! downtime each job runs once.
//!
//! The built-in jobs are the static [`JOBS`] table: a job added on another branch joins the
//! schedule with one line there (a unit test checks every entry names a real subcommand).

use crate::app::Ctx;
use crate::exit::{code_of, fail, Code};
use crate::ledger::Ledger;
use crate::output::{table, Outcome, SCHEMA_VERSION};
use crate::schedule::{Schedule, Zone};
use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::params;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A built-in scheduled job: its name (as it records itself with `Ctx::run_job`), the
/// subcommand that runs it, and its default schedule.
pub struct JobSpec {
    pub name: &'static str,
    pub argv: &'static [&'static str],
    pub schedule: &'static str,
}

/// Every built-in scheduled job, in tie-break order. Defaults from the operators' playbook;
/// keep `examples/claw.example.toml` in step.
#[rustfmt::skip]
pub const JOBS: &[JobSpec] = &[
    JobSpec { name: "config-backup", argv: &["config", "backup"], schedule: "30m" },
    JobSpec { name: "compaction-backup", argv: &["compaction-backup"], schedule: "5m" },
    JobSpec { name: "cost-track", argv: &["cost-track"], schedule: "1h" },
    JobSpec { name: "budget-check", argv: &["budget-check"], schedule: "after cost-track" },
    JobSpec { name: "rate-limit-detect", argv: &["rate-limit-detect"], schedule: "5m" },
    JobSpec { name: "stuck-agent", argv: &["stuck-agent", "scan"], schedule: "1m" },
    JobSpec { name: "tunnel", argv: &["tunnel", "check"], schedule: "1m" },
    JobSpec { name: "gateway-check", argv: &["gateway", "check"], schedule: "1m" },
];

/// Whether `job` is one of the built-in scheduled jobs (those get a failure alert for free).
pub fn is_scheduled(job: &str) -> bool {
    JOBS.iter().any(|j| j.name == job)
}

/// Whether this build has the subcommand `argv`.
#[cfg(test)]
fn available(argv: &[&str]) -> bool {
    use clap::CommandFactory;
    let mut cmd = crate::cli::Cli::command();
    for a in argv {
        match cmd.find_subcommand(a) {
            Some(c) => cmd = c.clone(),
            None => return false,
        }
    }
    true
}

/// One schedulable thing for this tick.
struct Entry {
    name: String,
    /// Program and arguments; `None` program = this binary.
    program: Option<String>,
    args: Vec<String>,
    schedule: Schedule,
    schedule_text: String,
}

/// The effective schedule: the built-ins (with overrides), then the operator's own commands.
fn entries(ctx: &Ctx) -> Result<Vec<Entry>> {
    let settings = &ctx.settings.tick;
    let bad = |m: String| {
        fail(
            Code::Config,
            format!("{}: {m}", ctx.paths.settings.display()),
        )
    };
    for name in settings.schedule.keys() {
        if !is_scheduled(name) {
            let known: Vec<&str> = JOBS.iter().map(|j| j.name).collect();
            return Err(bad(format!(
                "[tick.schedule] {name}: no such job (known: {})",
                known.join(", ")
            )));
        }
    }
    let mut out = Vec::new();
    for j in JOBS {
        let text = settings
            .schedule
            .get(j.name)
            .cloned()
            .unwrap_or_else(|| j.schedule.to_string());
        let schedule =
            Schedule::parse(&text).map_err(|e| bad(format!("[tick.schedule] {}: {e}", j.name)))?;
        out.push(Entry {
            name: j.name.into(),
            program: None,
            args: j.argv.iter().map(|s| s.to_string()).collect(),
            schedule,
            schedule_text: text,
        });
    }
    for c in &settings.commands {
        if is_scheduled(&c.name) || out.iter().any(|e| e.name == c.name) {
            return Err(bad(format!(
                "[[tick.commands]] {}: name already used",
                c.name
            )));
        }
        let Some((prog, args)) = c.command.split_first() else {
            return Err(bad(format!("[[tick.commands]] {}: empty command", c.name)));
        };
        let schedule = Schedule::parse(&c.schedule)
            .map_err(|e| bad(format!("[[tick.commands]] {}: {e}", c.name)))?;
        out.push(Entry {
            name: c.name.clone(),
            program: Some(prog.clone()),
            args: args.to_vec(),
            schedule,
            schedule_text: c.schedule.clone(),
        });
    }
    Ok(out)
}

struct Last {
    started: DateTime<Utc>,
    exit: Option<i64>,
}

fn last_runs(ledger: &Ledger) -> Result<BTreeMap<String, Last>> {
    let mut st = ledger
        .conn
        .prepare("SELECT job, last_started_at, last_exit FROM schedule")?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(job, t, exit)| {
            let started = DateTime::parse_from_rfc3339(&t).ok()?.with_timezone(&Utc);
            Some((job, Last { started, exit }))
        })
        .collect())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn zone(ctx: &Ctx) -> Result<Zone> {
    Zone::parse(&ctx.settings.general.timezone).ok_or_else(|| {
        fail(
            Code::Config,
            format!(
                "{}: [general] timezone {:?}: expected \"local\", \"UTC\" or an offset like \"+02:00\"",
                ctx.paths.settings.display(),
                ctx.settings.general.timezone
            ),
        )
    })
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
    let zone = zone(ctx)?;
    let entries = entries(ctx)?;
    let mut last = last_runs(ledger)?;
    let mut ran: Vec<Value> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
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
        ledger.conn.execute(
            "INSERT INTO schedule (job, last_started_at, last_ended_at, last_exit)
             VALUES (?1, ?2, NULL, NULL)
             ON CONFLICT (job) DO UPDATE SET last_started_at = ?2, last_ended_at = NULL,
                 last_exit = NULL",
            params![e.name, ctx.now_str()],
        )?;
        let began = Instant::now();
        let (exit, why) = spawn(ctx, e);
        ledger.conn.execute(
            "UPDATE schedule SET last_ended_at = ?2, last_exit = ?3 WHERE job = ?1",
            params![e.name, ctx.now_str(), exit],
        )?;
        last.insert(
            e.name.clone(),
            Last {
                started: ctx.now,
                exit,
            },
        );
        let ok = matches!(exit, Some(0) | Some(1) | Some(75));
        if !ok {
            failed.push(format!(
                "tick: {} failed ({})",
                e.name,
                why.clone()
                    .unwrap_or_else(|| format!("exit {}", exit.unwrap_or(-1)))
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
    let mut o = Outcome::ok(format!("{n} jobs run, {} failed", failed.len()))
        .with_detail(json!({ "ran": ran }))
        .metric("tick_jobs_run", &[], n as f64)
        .metric("tick_jobs_failed", &[], failed.len() as f64);
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "now": ctx.now_str(),
        "ran": ran,
    }));
    if !failed.is_empty() {
        o = o.finding().with_text(failed.join("\n"));
    }
    Ok(o)
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
    cmd.args(&e.args)
        .stdin(Stdio::null())
        // One --json document is tick's own; the children's reports then go to stderr.
        .stdout(if ctx.out.json {
            Stdio::from(std::io::stderr())
        } else {
            Stdio::inherit()
        })
        .stderr(Stdio::inherit());
    for (k, v) in child_env(ctx) {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(err) => {
            return (
                None,
                Some(format!("cannot start {}: {err}", program.display())),
            )
        }
    };
    let deadline = Instant::now() + Duration::from_secs(ctx.settings.tick.job_timeout_secs.max(1));
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return match status.code() {
                    Some(c) => (Some(i64::from(c)), None),
                    None => (None, Some(format!("killed by a signal ({status})"))),
                }
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return (
                    None,
                    Some(format!(
                        "killed after tick.job_timeout_secs = {}",
                        ctx.settings.tick.job_timeout_secs
                    )),
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(err) => return (None, Some(format!("wait failed: {err}"))),
        }
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
    let zone = zone(ctx)?;
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

/// Parse a schedule for `doctor` and friends.
pub fn check_schedules(ctx: &Ctx) -> Result<usize> {
    entries(ctx).map(|e| e.len()).context("tick schedule")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheduled_job_is_a_real_subcommand() {
        for j in JOBS {
            assert!(
                available(j.argv),
                "{}: `claw {}` does not exist",
                j.name,
                j.argv.join(" ")
            );
        }
        assert!(!available(&["no-such-job"]));
    }
}
