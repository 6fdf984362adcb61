//! The built-in scheduled jobs and the effective schedule (built-ins with their overrides,
//! then the operator's own commands). Below `cmd/`: `tick` runs it, `doctor` checks it and
//! `watch` asks whether a job is scheduled.
//!
//! A job added on another branch joins the schedule with one line in [`JOBS`] (a unit test
//! checks every entry names a real subcommand).

use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::ledger::Ledger;
use crate::schedule::Schedule;
use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};

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
    // Heal, not only back up: a broken config is restored by the schedule, with an alert.
    JobSpec { name: "config-heal", argv: &["config", "heal"], schedule: "30m" },
    JobSpec { name: "compaction-backup", argv: &["compaction-backup"], schedule: "5m" },
    JobSpec { name: "cost-track", argv: &["cost-track"], schedule: "1h" },
    JobSpec { name: "budget-check", argv: &["budget-check"], schedule: "after cost-track" },
    JobSpec { name: "rate-limit-detect", argv: &["rate-limit-detect"], schedule: "5m" },
    JobSpec { name: "stuck-agent", argv: &["stuck-agent", "scan"], schedule: "1m" },
    JobSpec { name: "tunnel", argv: &["tunnel", "check"], schedule: "1m" },
    JobSpec { name: "gateway-check", argv: &["gateway", "check"], schedule: "1m" },
    // The spend digest at 08:00 in general.timezone; sends each period's digest once.
    JobSpec { name: "cost-digest", argv: &["cost", "digest"], schedule: "0 8 * * *" },
];

/// The config job's name before it healed by default: still accepted in `[tick.schedule]`.
const LEGACY_CONFIG_JOB: &str = "config-backup";

/// Whether `job` is one of the built-in scheduled jobs (those get a failure alert for free);
/// `config-backup` still counts, for crontabs that run it on its own.
pub fn is_scheduled(job: &str) -> bool {
    JOBS.iter().any(|j| j.name == job) || job == LEGACY_CONFIG_JOB
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
pub struct Entry {
    pub name: String,
    /// Program and arguments; `None` program = this binary.
    pub program: Option<String>,
    pub args: Vec<String>,
    pub schedule: Schedule,
    pub schedule_text: String,
}

/// The effective schedule: the built-ins (with overrides), then the operator's own commands.
pub fn entries(ctx: &Ctx) -> Result<Vec<Entry>> {
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
            .or_else(|| {
                (j.name == "config-heal")
                    .then(|| settings.schedule.get(LEGACY_CONFIG_JOB))
                    .flatten()
            })
            .cloned()
            .unwrap_or_else(|| j.schedule.to_string());
        // Errors name the key as the operator wrote it (the legacy name too).
        let key = if settings.schedule.contains_key(j.name) || j.name != "config-heal" {
            j.name
        } else {
            LEGACY_CONFIG_JOB
        };
        let schedule =
            Schedule::parse(&text).map_err(|e| bad(format!("[tick.schedule] {key}: {e}")))?;
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

/// How late a job may be past a missed fire time before `status --check` calls it overdue:
/// tick starts due jobs within a minute, and a run takes a while.
pub const OVERDUE_GRACE_SECS: i64 = 600;

/// Built-in jobs whose last success (exit 0 or 1) is older than their schedule allows, with
/// why; plus tick itself when it ran once and then stopped (cron or its timer is gone).
pub fn overdue(ctx: &Ctx, ledger: &Ledger) -> Result<Vec<(String, String)>> {
    let zone = ctx.zone();
    let grace = chrono::Duration::seconds(OVERDUE_GRACE_SECS);
    let cutoff = ctx.now - grace;
    let success = |job: &str| -> Result<Option<DateTime<Utc>>> {
        let mut names = vec![job];
        if job == "config-heal" {
            names.push(LEGACY_CONFIG_JOB);
        }
        let mut best: Option<DateTime<Utc>> = None;
        for n in names {
            if let Some(t) = ledger.last_success(n)? {
                if let Ok(t) = DateTime::parse_from_rfc3339(&t) {
                    let t = t.with_timezone(&Utc);
                    best = Some(best.map_or(t, |b| b.max(t)));
                }
            }
        }
        Ok(best)
    };
    let shown = |t: Option<DateTime<Utc>>| t.map(ts).unwrap_or_else(|| "never".into());
    let mut out = Vec::new();
    for e in entries(ctx)?.iter().filter(|e| e.program.is_none()) {
        let last = success(&e.name)?;
        match &e.schedule {
            Schedule::Off => {}
            Schedule::After(dep) => {
                if let Some(d) = success(dep)? {
                    if d < cutoff && last.is_none_or(|l| l < d) {
                        out.push((
                            e.name.clone(),
                            format!(
                                "last success {}, but {dep} succeeded at {} ({})",
                                shown(last),
                                ts(d),
                                e.schedule_text
                            ),
                        ));
                    }
                }
            }
            s => {
                if let Some(missed) = s.due(last, cutoff, zone) {
                    out.push((
                        e.name.clone(),
                        format!(
                            "last success {}, due since {} (schedule {})",
                            shown(last),
                            ts(missed),
                            e.schedule_text
                        ),
                    ));
                }
            }
        }
    }
    // Tick runs every minute when it is the set-up in use.
    let tick_ran: Option<String> = ledger.last_started("tick").ok().flatten();
    if tick_ran.is_some() {
        let last = success("tick")?;
        if last.is_none_or(|l| l < cutoff) {
            out.push((
                "tick".into(),
                format!("last success {} (runs every minute)", shown(last)),
            ));
        }
    }
    Ok(out)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
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
