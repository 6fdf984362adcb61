//! The dispatcher: builds the run context from the command line and hands it to the job.
//!
//! The top layer: it imports `cmd/`, never the reverse (`ctx.rs` holds what jobs share).

use crate::cli::{Cli, Command};
use crate::ctx::{parse_now, Ctx};
use crate::exit::code_of;
use crate::exit::{fail, Code};
use crate::output::{error_doc, Outcome, Output};
use crate::paths;
use crate::settings::Settings;
use anyhow::{Context, Result};
use chrono::Utc;
use std::path::PathBuf;
use std::time::Duration;

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
        Command::Gateway(crate::cli::GatewayCmd::Check(_)) => "gateway check",
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
        Command::Status { check } => crate::cmd::status::run(ctx, *check),
        Command::Config(c) => crate::cmd::config::run(ctx, c),
        Command::Alert(a) => crate::cmd::alert::run(ctx, a),
        Command::Tunnel(t) => crate::cmd::tunnel::run(ctx, t),
        Command::Gateway(g) => crate::cmd::gateway::run(ctx, g),
        Command::Tick => crate::cmd::tick::run(ctx),
        Command::Doctor => crate::cmd::doctor::run(ctx),
        Command::Completions { shell } => crate::cmd::clidocs::completions(*shell),
        Command::Man { dir } => crate::cmd::clidocs::man(dir.as_deref()),
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
        Command::CompactionBackup(a) => crate::cmd::cbackup::run(ctx, a),
        Command::Sessions(s) => crate::cmd::sessions::run(ctx, s),
        Command::RateLimitDetect(a) => crate::cmd::ratelimit::run(ctx, a),
        Command::StuckAgent(c) => crate::cmd::stuck::run(ctx, c),
    }
}
