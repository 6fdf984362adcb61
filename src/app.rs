//! The run context every subcommand gets, and the job runner: lock, ledger record, outcome.

use crate::cli::{Cli, Command};
use crate::exit::{code_of, fail, Code};
use crate::ledger::Ledger;
use crate::output::{error_doc, Outcome, Output};
use crate::paths::{self, Paths};
use crate::settings::Settings;
use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};
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
            return f(self, &ledger);
        }
        let id = ledger.begin_run(job, &self.now_str())?;
        let watched = crate::watch::before(self, job);
        let result = f(self, &ledger);
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
        result
    }
}

fn parse_now(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Ok(t.and_utc());
    }
    Err(fail(
        Code::Usage,
        format!("--now {s}: not an RFC 3339 time (e.g. 2026-11-21T08:00:00Z)"),
    ))
}

fn command_name(c: &Command) -> &'static str {
    use crate::cli::{ConfigCmd as C, SchemaCmd as S};
    match c {
        Command::Status => "status",
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
        Command::Gateway(crate::cli::GatewayCmd::Check(_)) => "gateway check",
        Command::Tick => "tick",
        Command::Doctor => "doctor",
        Command::Completions { .. } => "completions",
        Command::Man => "man",
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

fn build_ctx(cli: &Cli) -> Result<Ctx> {
    let g = &cli.global;
    let flags = paths::Flags {
        openclaw_dir: g.openclaw_dir.clone(),
        profile: g.profile.clone(),
        state_dir: g.state_dir.clone(),
        settings: g.settings.clone(),
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
    let result = build_ctx(&cli).and_then(|ctx| {
        for d in &ctx.settings.deprecations {
            ctx.out.warn(d);
        }
        dispatch(&ctx, &cli.command)
    });
    match result {
        Ok(outcome) => {
            outcome.emit(name, &out);
            outcome.code.as_u8()
        }
        Err(e) => {
            let code = code_of(&e);
            let msg = crate::redact::redact_text(&format!("{e:#}"));
            let msg = msg.replace('\n', " ");
            crate::output::stderr(&format!("claw: {msg}"));
            if out.json {
                let mut doc =
                    serde_json::to_string_pretty(&error_doc(name, code, &msg)).unwrap_or_default();
                doc.push('\n');
                crate::output::stdout(&doc);
            }
            code.as_u8()
        }
    }
}

fn dispatch(ctx: &Ctx, command: &Command) -> Result<Outcome> {
    match command {
        Command::Status => crate::cmd::status::run(ctx),
        Command::Config(c) => crate::cmd::config::run(ctx, c),
        Command::Alert(a) => crate::cmd::alert::run(ctx, a),
        Command::Tunnel(t) => crate::cmd::tunnel::run(ctx, t),
        Command::Gateway(g) => crate::cmd::gateway::run(ctx, g),
        Command::Tick => crate::cmd::tick::run(ctx),
        Command::Doctor => crate::cmd::doctor::run(ctx),
        Command::Completions { shell } => crate::cmd::gen::completions(*shell),
        Command::Man => crate::cmd::gen::man(),
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
