//! Command-line types only (clap derive). Every global flag has an environment twin, so
//! precedence is flag > env > settings file > default.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The exit-code table, shown in `--help` and kept equal to README's.
pub const EXIT_CODES: &str = "\
Exit codes:
   0  ok
   1  a finding or alert (invalid config, config healed, stuck agent, budget passed, breaker open,
      gateway down or exposed)
   2  usage error
  65  bad data (corrupt JSON, too deeply nested, damaged backup or ledger, newer ledger)
  66  missing input (no config, no such backup, a FIFO or directory where a file belongs)
  70  internal error (a bug: please report it)
  74  I/O error (permissions, disk full)
  75  try later (another run holds the lock, database busy)
  78  bad claw settings (unknown key, bad value)";

#[derive(Debug, Parser)]
#[command(
    name = "claw",
    version,
    about = "Operations companion for self-hosted OpenClaw gateways",
    long_about = "Operations companion for self-hosted OpenClaw gateways: config backups and \
                  healing, transcript backups, cost tracking and budgets, rate-limit breaker, \
                  tunnel and stuck-agent watchdogs. Silent on success; meant for cron and \
                  systemd timers.",
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// OpenClaw state dir (default: as OpenClaw resolves it, ~/.openclaw)
    #[arg(long, global = true, env = "CLAW_OPENCLAW_DIR", value_name = "DIR")]
    pub openclaw_dir: Option<PathBuf>,
    /// OpenClaw profile (state in ~/.openclaw-<profile>)
    #[arg(long, global = true, env = "OPENCLAW_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// claw's own state dir (ledger, locks, backups)
    #[arg(long, global = true, env = "CLAW_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// claw settings file (TOML)
    #[arg(long, global = true, env = "CLAW_SETTINGS", value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Print one JSON document (with schema_version) instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Say what is being done (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Show what would be done; change nothing
    #[arg(long, global = true, env = "CLAW_DRY_RUN")]
    pub dry_run: bool,
    /// Pretend the time is this (RFC 3339), for tests and replays
    #[arg(long, global = true, env = "CLAW_NOW", value_name = "TIME")]
    pub now: Option<String>,
    /// Wait up to SECS for another run of the same job instead of exiting 75
    #[arg(
        long,
        global = true,
        env = "CLAW_WAIT",
        value_name = "SECS",
        default_value_t = 0
    )]
    pub wait: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Last run of each job with its outcome, from the ledger
    Status {
        /// Exit 1 naming every scheduled job whose last success is older than its schedule
        /// allows (for external monitors)
        #[arg(long)]
        check: bool,
    },
    /// Keep openclaw.json safe: validate, back up, diff, restore, heal
    #[command(subcommand)]
    Config(ConfigCmd),
    /// The cost-track job: count new usage lines into the ledger (same as `cost track`)
    #[command(name = "cost-track")]
    CostTrack,
    /// The budget-check job: check every budget (same as `budget check`)
    #[command(name = "budget-check")]
    BudgetCheck {
        /// Which cost to count (default: `cost.cost_mode` in settings)
        #[arg(long, value_enum, value_name = "MODE")]
        cost_mode: Option<crate::pricing::CostMode>,
    },
    /// Model spend from every agent's transcripts: track it, report it
    #[command(subcommand)]
    Cost(CostCmd),
    /// Price tables used when a transcript line carries no logged cost
    #[command(subcommand)]
    Pricing(PricingCmd),
    /// Budgets from settings: verdict and projection (exit 1 at warning or beyond)
    #[command(subcommand)]
    Budget(BudgetCmd),
    /// Detect rate-limit storms from logs, journald, cooldowns and transcripts; run the
    /// circuit breaker and its actions (exit 1 while a breaker is open)
    RateLimitDetect(RateLimitArgs),
    /// Stuck subagent runs: find runs that stopped making progress, and act
    #[command(subcommand, name = "stuck-agent")]
    StuckAgent(StuckCmd),
    /// Alerts: send a test, list recent ones, raise or clear one from a script
    #[command(subcommand)]
    Alert(AlertCmd),
    /// The webhook tunnel: keep cloudflared alive and every webhook pointing at its URL
    #[command(subcommand)]
    Tunnel(TunnelCmd),
    /// The gateway itself: liveness, safe restarts, exposure audit, resources, version drift
    #[command(subcommand)]
    Gateway(GatewayCmd),
    /// Run every scheduled job that is due (the one cron line: `* * * * * claw tick`);
    /// with --dry-run, show the schedule
    Tick,
    /// Check what breaks the jobs in practice (exit 1 on any problem)
    Doctor,
    /// Print a shell completion script
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff); with --dir, write one page per subcommand there
    Man {
        /// Write claw.1 and a claw-<subcommand>.1 for every subcommand into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Snapshot every agent's transcripts into claw's store (cron: every few minutes)
    CompactionBackup(CbackupArgs),
    /// What compaction-backup holds, and getting a transcript back
    #[command(subcommand)]
    Sessions(SessionsCmd),
}

#[derive(Debug, Subcommand)]
pub enum TunnelCmd {
    /// Start cloudflared unless it runs, wait for its URL, point every target at it; prints
    /// the URL
    Start,
    /// Stop cloudflared; `check` leaves the tunnel alone until the next `start`
    Stop,
    /// Current URL and since when, health, each target's last update (--json for scripts)
    Status,
    /// The cron job: restart a dead or unanswering tunnel (bounded, with backoff), retry
    /// failed webhook updates; silent when all is well
    Check,
    /// Restart cloudflared for a new URL and update every target
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum GatewayCmd {
    /// The cron job: probe /health (restart after repeated failures, bounded per hour), audit
    /// exposure, disk and version drift; silent when all is well, exit 1 on a finding
    Check(GatewayCheckArgs),
}

#[derive(Debug, Args)]
pub struct GatewayCheckArgs {
    /// Probe this URL instead of `[gateway] health_url` / the config's port
    #[arg(long, value_name = "URL", env = "CLAW_GATEWAY_HEALTH_URL")]
    pub health_url: Option<String>,
    /// Never restart in this run, only report
    #[arg(long)]
    pub no_restart: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertCmd {
    /// Send a test message to every sink, or to SINK (exit 1 if one fails)
    Test {
        /// Only this sink (its `name` in settings)
        sink: Option<String>,
    },
    /// Recent alerts with their delivery status, and the conditions still active
    List {
        /// How many recent messages to show
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Raise an alert (deduped by JOB + KEY within the cooldown), e.g. from a script
    Raise {
        /// Job name the alert belongs to
        #[arg(long)]
        job: String,
        /// Dedupe key, stable while the condition lasts
        #[arg(long)]
        key: String,
        /// info, warning or critical
        #[arg(long, default_value = "warning")]
        severity: String,
        /// The message
        text: String,
    },
    /// The condition behind JOB + KEY cleared: send one recovery message if it was active
    Clear {
        /// Job name the alert belongs to
        #[arg(long)]
        job: String,
        /// Dedupe key of the alert
        #[arg(long)]
        key: String,
        /// The recovery message
        #[arg(default_value = "condition cleared")]
        text: String,
    },
    /// Retry deliveries that failed on earlier runs
    Retry,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CbackupArgs {
    #[command(subcommand)]
    pub cmd: Option<CbackupCmd>,
    /// Back up only this session (key such as agent:main:main, or session id): for the hook
    #[arg(long, value_name = "KEY")]
    pub session: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CbackupCmd {
    /// Re-hash every chunk and snapshot in the store (exit 1 naming what is damaged)
    Verify,
    /// Apply the retention policy, printing the plan (keep or remove, with reasons)
    Prune,
    /// Write OpenClaw's session:compact:before hook that runs `claw compaction-backup --session`
    InstallHook,
}

#[derive(Debug, Subcommand)]
pub enum SessionsCmd {
    /// Snapshots held per agent and session, with sizes and times
    List {
        /// Only this agent
        #[arg(long, value_name = "ID")]
        agent: Option<String>,
    },
    /// Write a session's transcript back as JSONL (from any snapshot, either storage era)
    Restore(SessionRestoreArgs),
}

#[derive(Debug, Args)]
pub struct SessionRestoreArgs {
    /// Session id or session key (agent:<id>:...)
    pub session: String,
    /// Snapshot id (or unique prefix); default: the newest snapshot of the session
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,
    /// Write into this directory instead of the agent's sessions directory
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Overwrite an existing file
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Validate a config against OpenClaw's schema (exit 1 when invalid)
    Validate(ValidateArgs),
    /// Back up the config and its $include files (unchanged content makes no new copy)
    Backup {
        /// Accept the current config as good even if it shows OpenClaw's clobber signs
        #[arg(long)]
        accept: bool,
    },
    /// List backups with time, size, hash and validity
    List,
    /// Unified diff, secrets redacted (default: current config vs newest valid backup)
    Diff {
        /// First side: a backup id (or prefix) or "current"
        a: Option<String>,
        /// Second side: a backup id (or prefix) or "current"
        b: Option<String>,
    },
    /// Restore a backup over the config (shows the diff; keeps a pre-restore copy)
    Restore(RestoreArgs),
    /// Validate; when invalid or clobbered restore the newest valid backup, else back up
    Heal {
        /// Restart the gateway after healing and check its health
        #[arg(long)]
        restart: bool,
    },
    /// Apply the retention policy, printing the plan (keep or remove, with reasons)
    Prune,
    /// Manage the cached OpenClaw JSON Schema
    #[command(subcommand)]
    Schema(SchemaCmd),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config file (default: the active OpenClaw config)
    pub file: Option<PathBuf>,
    /// Validate with this JSON Schema instead of the cached one
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Skip the schema; use claw's structural checks only
    #[arg(long)]
    pub no_schema: bool,
    /// Also run the real `openclaw config validate --json` and merge its issues
    #[arg(long)]
    pub with_openclaw: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Backup id (or unique prefix)
    #[arg(
        required_unless_present = "latest_valid",
        conflicts_with = "latest_valid"
    )]
    pub id: Option<String>,
    /// Restore the newest valid backup
    #[arg(long)]
    pub latest_valid: bool,
    /// Restore even a backup that was invalid when taken
    #[arg(long)]
    pub force: bool,
    /// Restart the gateway afterwards and check its health
    #[arg(long)]
    pub restart: bool,
}

#[derive(Debug, Subcommand)]
pub enum SchemaCmd {
    /// Ask the installed OpenClaw for its schema and cache it by version
    Refresh,
    /// Show which cached schema validation uses
    Show,
}

#[derive(Debug, Subcommand)]
pub enum CostCmd {
    /// Count new usage lines from every transcript (both storage eras) into the ledger
    Track,
    /// Spend table: totals, tokens by kind, cache-read share, cost per 1k tokens
    Report(ReportArgs),
    /// The costliest sessions with their labels
    Top(TopArgs),
    /// Send the spend digest (the day before and/or the last week: spend by day, top agents
    /// and models, change, budgets) to the alert sinks, once per period; printed when no
    /// sink is set. --dry-run shows it and sends nothing
    Digest(DigestArgs),
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// Only this digest (default: `[digest] periods` in settings)
    #[arg(long, value_enum, value_name = "PERIOD")]
    pub period: Option<DigestPeriod>,
    /// Which cost to count (default: `cost.cost_mode` in settings)
    #[arg(long, value_enum, value_name = "MODE")]
    pub cost_mode: Option<crate::pricing::CostMode>,
}

/// What one digest covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DigestPeriod {
    /// The day before (in `general.timezone`)
    Daily,
    /// The last whole week (starting on `cost.week_start`)
    Weekly,
}

#[derive(Debug, Args, Clone)]
pub struct Range {
    /// First day (YYYY-MM-DD, in the settings' time zone)
    #[arg(long, value_name = "DAY")]
    pub since: Option<String>,
    /// Last day, inclusive (YYYY-MM-DD)
    #[arg(long, value_name = "DAY")]
    pub until: Option<String>,
    /// The last N days up to --until or today (instead of --since)
    #[arg(long, value_name = "N", conflicts_with = "since")]
    pub days: Option<u32>,
    /// Which cost to show (default: `cost.cost_mode` in settings)
    #[arg(long, value_enum, value_name = "MODE")]
    pub cost_mode: Option<crate::pricing::CostMode>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub range: Range,
    /// Group rows by this
    #[arg(long, value_enum, default_value_t = GroupBy::Day)]
    pub by: GroupBy,
    /// Print CSV instead of a table
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    #[command(flatten)]
    pub range: Range,
    /// How many sessions to list
    #[arg(long, default_value_t = 10)]
    pub limit: u32,
}

/// Row grouping of `cost report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    Day,
    Week,
    Month,
    Agent,
    Model,
    Session,
}

#[derive(Debug, Subcommand)]
pub enum PricingCmd {
    /// Load a price table (LiteLLM model_prices_and_context_window.json shape) into the ledger
    Import {
        /// The JSON file
        file: PathBuf,
    },
    /// Show the price tables in use and their versions
    Show,
    /// Price every counted line again with today's tables (after an import or a config
    /// change); logged costs are kept, daily totals rebuilt
    Reprice,
}

#[derive(Debug, Subcommand)]
pub enum BudgetCmd {
    /// Check every budget: ok / warning / exceeded with a projection; alerts recorded once
    Check {
        /// Which cost to count (default: `cost.cost_mode` in settings)
        #[arg(long, value_enum, value_name = "MODE")]
        cost_mode: Option<crate::pricing::CostMode>,
    },
}

#[derive(Debug, Args)]
pub struct RateLimitArgs {
    /// Read gateway logs from DIR instead of the default places (repeatable; overrides
    /// rate_limit.log_dirs)
    #[arg(long, value_name = "DIR", env = "CLAW_RATE_LIMIT_LOG_DIR")]
    pub log_dir: Vec<PathBuf>,
    /// Undo every change degraded mode made to OpenClaw (heartbeat, cron jobs) now,
    /// whatever the breakers say
    #[arg(long)]
    pub restore: bool,
}

#[derive(Debug, Subcommand)]
pub enum StuckCmd {
    /// Classify every live subagent run (idle, waiting for input or permission, error loop,
    /// past its timeout, orphaned), act per settings, alert once per run (exit 1 when stuck)
    Scan,
}
