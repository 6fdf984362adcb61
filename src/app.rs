//! The run context every subcommand gets, and the job runner: lock, ledger record, outcome.

use crate::cli::{Cli, Command};
use crate::exit::{code_of, fail, Code};
use crate::ledger::Ledger;
use crate::output::{error_doc, Outcome, Output};
use crate::paths::{self, Paths};
use crate::settings::Settings;
use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use std::path::PathBuf;
use std::time::Duration;

/// Everything a subcommand needs to know about this run.
pub struct Ctx {
    pub paths: Paths,
    pub settings: Settings,
    /// "Now" for every decision (injectable with `--now` / `CLAW_NOW`).
    pub now: DateTime<Utc>,
    pub out: Output,
    pub dry_run: bool,
    pub wait: Duration,
}

impl Ctx {
    pub fn now_str(&self) -> String {
        self.now.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    pub fn ledger(&self) -> Result<Ledger> {
        Ledger::open(&self.paths.ledger())
    }

    /// Run `f` as the job `job`: under `<state>/locks/<lock>.lock`, recorded in the ledger
    /// (start, end, exit code, summary, detail), with dead-man pings, the Prometheus textfile
    /// and a failure alert (see `watch`). A dry run takes the lock but records nothing.
    pub fn run_job(
        &self,
        job: &str,
        lock: &str,
        f: impl FnOnce(&Ctx, &Ledger) -> Result<Outcome>,
    ) -> Result<Outcome> {
        let _lock = crate::lock::acquire(&self.paths.locks(), lock, self.wait, &self.now_str())?;
        let ledger = self.ledger()?;
        if self.dry_run {
            if needs_openclaw(job) {
                self.require_openclaw()?;
            }
            return f(self, &ledger);
        }
        let id = ledger.begin_run(job, &self.now_str())?;
        let watched = crate::watch::before(self, job);
        // No silent zero: a job that reads OpenClaw's files and finds no OpenClaw home
        // fails (66), is recorded and alerted like any failure, instead of "0 files".
        let result = if needs_openclaw(job) {
            self.require_openclaw().and_then(|()| f(self, &ledger))
        } else {
            f(self, &ledger)
        };
        let result = match result {
            Ok(o) => crate::findings::only_new(self, &ledger, job, o),
            Err(e) => Err(e),
        };
        let ended = self.now_str();
        match &result {
            Ok(o) => ledger.end_run(
                id,
                &ended,
                o.code.as_u8(),
                &o.summary,
                &o.detail,
                &o.metrics,
            )?,
            Err(e) => {
                let msg = crate::redact::redact_text(&format!("{e:#}"));
                // Recording the failure must not hide the failure itself.
                let _ = ledger.end_run(
                    id,
                    &ended,
                    code_of(e).as_u8(),
                    &msg,
                    &serde_json::Value::Null,
                    &[],
                );
            }
        }
        // Pings, metrics, failure alert, delayed alert deliveries: never change the result.
        crate::watch::after(self, &ledger, watched, &result);
        self.prune_ledger(&ledger);
        result
    }
}

/// Jobs that read (or write) OpenClaw's state dir and cannot do their work without it.
const OPENCLAW_JOBS: &[&str] = &[
    "config-backup",
    "config-heal",
    "config-restore",
    "cost-track",
    "budget-check",
    "compaction-backup",
    "rate-limit-detect",
    "stuck-agent",
];

fn needs_openclaw(job: &str) -> bool {
    OPENCLAW_JOBS.contains(&job)
}

impl Ctx {
    /// The OpenClaw state dir exists and can be listed; else exit 66 naming it (a wrong
    /// `HOME` under cron, a typo in `CLAW_OPENCLAW_DIR`, a unit that cannot see it).
    pub fn require_openclaw(&self) -> Result<()> {
        let dir = &self.paths.openclaw_dir;
        match std::fs::read_dir(dir) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(fail(
                Code::NoInput,
                format!(
                    "{}: no OpenClaw state dir (set --openclaw-dir / CLAW_OPENCLAW_DIR, or the HOME OpenClaw runs with)",
                    dir.display()
                ),
            )),
            Err(e) => Err(fail(
                Code::NoInput,
                format!("{}: OpenClaw state dir unreadable: {e}", dir.display()),
            )),
        }
    }
}

impl Ctx {
    /// One small batch of ledger retention after each job run (`[ledger] keep_days`); a
    /// failure here is a warning and never the job's result.
    fn prune_ledger(&self, ledger: &Ledger) {
        let days = self.settings.ledger.keep_days;
        if days == 0 {
            return;
        }
        let cutoff = self.now - chrono::Duration::days(i64::from(days));
        let cutoff = cutoff.to_rfc3339_opts(SecondsFormat::Secs, true);
        match ledger.prune(&cutoff, crate::ledger::PRUNE_BATCH) {
            Ok(done) => {
                for (table, n) in done {
                    self.out
                        .note(&format!("ledger: pruned {n} {table} rows before {cutoff}"));
                }
            }
            Err(e) => self.out.warn(&format!("ledger retention: {e:#}")),
        }
    }
}

fn parse_now(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    // A time without an offset would be read in some zone nobody chose: refuse it.
    Err(fail(
        Code::Usage,
        format!("--now {s}: not an RFC 3339 time with an offset (e.g. 2026-11-21T08:00:00Z)"),
    ))
}

fn command_name(c: &Command) -> &'static str {
    use crate::cli::{ConfigCmd as C, SchemaCmd as S};
    match c {
        Command::Status { .. } => "status",
        Command::Config(c) => match c {
            C::Validate(_) => "config validate",
            C::Backup { .. } => "config backup",
            C::List => "config list",
            C::Diff { .. } => "config diff",
            C::Restore(_) => "config restore",
            C::Heal { .. } => "config heal",
            C::Prune => "config prune",
            C::Schema(S::Refresh) => "config schema refresh",
            C::Schema(S::Show) => "config schema show",
        },
        Command::Alert(a) => crate::cmd::alert::command_name(a),
        Command::Tunnel(t) => crate::cmd::tunnel::command_name(t),
        Command::Tick => "tick",
        Command::Doctor => "doctor",
        Command::Completions { .. } => "completions",
        Command::Man { .. } => "man",
        Command::CostTrack => "cost-track",
        Command::BudgetCheck { .. } => "budget-check",
        Command::Cost(c) => crate::cmd::cost::command_name(c),
        Command::Pricing(crate::cli::PricingCmd::Import { .. }) => "pricing import",
        Command::Pricing(crate::cli::PricingCmd::Show) => "pricing show",
        Command::Pricing(crate::cli::PricingCmd::Reprice) => "pricing reprice",
        Command::Budget(_) => "budget check",
        Command::Dev(crate::cli::DevCmd::GenHome(_)) => "dev gen-home",
        Command::CompactionBackup(a) => crate::cmd::cbackup::command_name(a),
        Command::Sessions(s) => crate::cmd::sessions::command_name(s),
        Command::RateLimitDetect(_) => "rate-limit-detect",
        Command::StuckAgent(c) => crate::cmd::stuck::command_name(c),
    }
}

/// A path flag, or its environment twin. Paths from the environment must be absolute (cron
/// and units run jobs from a cwd nobody chose); a relative flag is taken from the cwd.
fn path_arg(flag: &Option<PathBuf>, var: &str) -> Result<Option<PathBuf>> {
    let Some(p) = flag else { return Ok(None) };
    if p.is_absolute() {
        return Ok(Some(p.clone()));
    }
    if std::env::var_os(var).is_some_and(|v| std::path::Path::new(&v) == p.as_path()) {
        return Err(fail(
            Code::Usage,
            format!("{var}={}: must be an absolute path", p.display()),
        ));
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(Some(cwd.join(p)))
}

fn build_ctx(cli: &Cli) -> Result<Ctx> {
    let g = &cli.global;
    let flags = paths::Flags {
        openclaw_dir: path_arg(&g.openclaw_dir, "CLAW_OPENCLAW_DIR")?,
        profile: g.profile.clone(),
        state_dir: path_arg(&g.state_dir, "CLAW_STATE_DIR")?,
        settings: path_arg(&g.settings, "CLAW_SETTINGS")?,
    };
    let paths = paths::resolve(&flags, &|k| std::env::var(k).ok())?;
    let settings = Settings::load(&paths.settings, paths.settings_explicit)?;
    let now = match &g.now {
        Some(s) => parse_now(s)?,
        None => Utc::now(),
    };
    Ok(Ctx {
        paths,
        settings,
        now,
        out: Output {
            json: g.json,
            quiet: g.quiet,
            verbose: g.verbose,
        },
        dry_run: g.dry_run,
        wait: Duration::from_secs(g.wait),
    })
}

/// Run the parsed command line; returns the process exit code.
pub fn main(cli: Cli) -> u8 {
    let name = command_name(&cli.command);
    let out = Output {
        json: cli.global.json,
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
    };
    let result = build_ctx(&cli).and_then(|ctx| dispatch(&ctx, &cli.command));
    match result {
        Ok(outcome) => {
            outcome.emit(name, &out);
            outcome.code.as_u8()
        }
        Err(e) => {
            let code = code_of(&e);
            let msg = crate::redact::redact_text(&format!("{e:#}"));
            let msg = msg.replace('\n', " ");
            eprintln!("claw: {msg}");
            if out.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&error_doc(name, code, &msg)).unwrap_or_default()
                );
            }
            code.as_u8()
        }
    }
}

fn dispatch(ctx: &Ctx, command: &Command) -> Result<Outcome> {
    match command {
        Command::Status { check } => crate::cmd::status::run(ctx, *check),
        Command::Config(c) => crate::cmd::config::run(ctx, c),
        Command::Alert(a) => crate::cmd::alert::run(ctx, a),
        Command::Tunnel(t) => crate::cmd::tunnel::run(ctx, t),
        Command::Tick => crate::cmd::tick::run(ctx),
        Command::Doctor => crate::cmd::doctor::run(ctx),
        Command::Completions { shell } => crate::cmd::gen::completions(*shell),
        Command::Man { dir } => crate::cmd::gen::man(dir.as_deref()),
        Command::CostTrack => crate::cmd::cost::run(ctx, &crate::cli::CostCmd::Track),
        Command::BudgetCheck { cost_mode } => crate::cmd::cost::budget::run(
            ctx,
            &crate::cli::BudgetCmd::Check {
                cost_mode: *cost_mode,
            },
        ),
        Command::Cost(c) => crate::cmd::cost::run(ctx, c),
        Command::Pricing(c) => crate::cmd::cost::pricing::run(ctx, c),
        Command::Budget(c) => crate::cmd::cost::budget::run(ctx, c),
        Command::Dev(c) => crate::cmd::dev::run(ctx, c),
        Command::CompactionBackup(a) => crate::cmd::cbackup::run(ctx, a),
        Command::Sessions(s) => crate::cmd::sessions::run(ctx, s),
        Command::RateLimitDetect(a) => crate::cmd::ratelimit::run(ctx, a),
        Command::StuckAgent(c) => crate::cmd::stuck::run(ctx, c),
    }
}
