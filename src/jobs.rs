//! The built-in scheduled jobs and the effective schedule (built-ins with their overrides,
//! then the operator's own commands). Below `cmd/`: `tick` runs it, `doctor` checks it and
//! `watch` asks whether a job is scheduled.
//!
//! A job added on another branch joins the schedule with one line in [`JOBS`] (a unit test
//! checks every entry names a real subcommand).

use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::schedule::Schedule;
use anyhow::{Context, Result};

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
