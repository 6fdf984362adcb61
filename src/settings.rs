//! claw's settings file (TOML): every knob of every job, each with a documented default.
//!
//! Unknown keys are an error naming the key and its line (exit 78): a typo in a budget or a
//! retention policy must never be silently ignored. `claw.example.toml` documents every key.

use crate::exit::{fail, Code};
use anyhow::Result;
use serde::{Deserialize, Deserializer};
use std::path::Path;

/// The whole settings file. Each job owns one table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub general: General,
    pub config: ConfigJob,
    pub alerts: Alerts,
    pub tick: Tick,
    pub watch: Watch,
    pub cost: CostJob,
    pub compaction_backup: CompactionBackup,
    pub tunnel: TunnelJob,
    pub rate_limit: RateLimitJob,
    pub stuck: StuckJob,
    pub gateway: GatewayJob,
    /// Deprecation notes found at load (old keys still honoured), shown once per run.
    #[serde(skip)]
    pub deprecations: Vec<String>,
    pub ledger: LedgerRetention,
    pub digest: Digest,
}

/// `[digest]`: `claw cost digest`, the spend summary tick sends to the alert sinks (by
/// default every day at 08:00 in `general.timezone`; `[tick.schedule] cost-digest` moves it).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Digest {
    /// Which digests to send, each once per period: `daily` (the day before) and/or `weekly`
    /// (the last whole week, starting on `cost.week_start`). Empty: none.
    #[serde(deserialize_with = "de_digest_periods")]
    pub periods: Vec<crate::cli::DigestPeriod>,
    /// How many agents and models the digest names.
    pub top: u32,
    /// Send only to these `[[alerts.sinks]]` (by name); empty: every sink. With no sink at
    /// all the digest is printed (cron mails it).
    pub sinks: Vec<String>,
}

impl Default for Digest {
    fn default() -> Self {
        Digest {
            periods: vec![crate::cli::DigestPeriod::Daily],
            top: 5,
            sinks: Vec::new(),
        }
    }
}

/// `[ledger]`: how long the ledger keeps its per-run history.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerRetention {
    /// Job runs, alerts, rate-limit events and transitions, tunnel events and cleared stuck
    /// detections older than this many days are pruned, a small batch after every job run
    /// (0: keep everything). Daily cost totals, counted usage lines, backups and the newest
    /// run of each job are kept forever.
    pub keep_days: u32,
}

impl Default for LedgerRetention {
    fn default() -> Self {
        LedgerRetention { keep_days: 90 }
    }
}

/// `[compaction_backup]`: transcript snapshots and their retention.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CompactionBackup {
    /// Snapshots kept per session (newest first); at least 1.
    pub keep_last: u32,
    /// Snapshots older than this many days are removed (0: no age cap). Protected copies stay.
    pub max_age_days: u32,
    /// Remove the oldest unprotected snapshots while the store is larger (MiB; 0: no cap).
    pub max_store_mib: u64,
    /// Allow removing the last copy of a file that no longer exists in OpenClaw.
    pub delete_vanished: bool,
    /// Apply retention at the end of every `compaction-backup` run.
    pub prune_after_backup: bool,
    /// zstd level for stored chunks (1 fastest .. 19 smallest).
    pub zstd_level: i32,
}

impl Default for CompactionBackup {
    fn default() -> Self {
        CompactionBackup {
            keep_last: 50,
            max_age_days: 0,
            max_store_mib: 0,
            delete_vanished: false,
            prune_after_backup: true,
            zstd_level: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct General {
    /// The `openclaw` CLI used for schema refresh, `--with-openclaw` and job actions.
    pub openclaw_bin: String,
    /// Time zone for cost days, budget periods and cron schedules (`crate::zone`): `local`
    /// (TZ, else /etc/localtime, as OpenClaw buckets days), an IANA name such as
    /// `Europe/Berlin`, `UTC`, or a fixed offset such as `+02:00`.
    #[serde(deserialize_with = "de_timezone")]
    pub timezone: TimeZone,
}

/// `[general] timezone` as loaded: the one zone every job counts days and schedules in, and
/// how it was written (reports name the zone that way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    pub zone: crate::zone::Zone,
    pub name: String,
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone {
            zone: crate::zone::Zone::Local,
            name: "local".into(),
        }
    }
}

impl Default for General {
    fn default() -> Self {
        General {
            openclaw_bin: "openclaw".into(),
            timezone: TimeZone::default(),
        }
    }
}

/// `[config]`: the config backup / validate / restore / heal job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigJob {
    /// JSON Schema to validate with instead of the cached one for the installed OpenClaw.
    pub schema: Option<String>,
    /// Deprecated: `[gateway] restart_command` (still read, with a warning).
    pub restart_command: Option<Vec<String>>,
    /// Deprecated: `[gateway] health_url` (still read, with a warning).
    pub health_url: Option<String>,
    /// Deprecated: `[gateway] health_timeout_secs` (still read, with a warning).
    pub health_timeout_secs: Option<u64>,
    /// Warn about secrets written in plain text where a `${VAR}` reference would do.
    pub warn_plaintext_secrets: bool,
    pub retention: Retention,
}

impl Default for ConfigJob {
    fn default() -> Self {
        ConfigJob {
            schema: None,
            restart_command: None,
            health_url: None,
            health_timeout_secs: None,
            warn_plaintext_secrets: true,
            retention: Retention::default(),
        }
    }
}

/// `[gateway]`: the gateway itself (`claw gateway check`, and every restart claw makes,
/// `config heal --restart` included).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayJob {
    /// Command that restarts the gateway (argv, no shell).
    pub restart_command: Vec<String>,
    /// Health URL; empty: `http://127.0.0.1:<gateway port>/health` (port as OpenClaw
    /// resolves it). `CLAW_GATEWAY_HEALTH_URL` overrides.
    pub health_url: String,
    /// Seconds to wait for the gateway to answer its health check after a restart.
    pub health_timeout_secs: u64,
    /// Timeout of one health probe, seconds.
    pub probe_timeout_secs: u64,
    /// `gateway check` restarts after this many consecutive failed probes (runs).
    pub failures_before_restart: u32,
    /// Restarts allowed in any hour; past that claw stops restarting and alerts once.
    pub max_restarts_per_hour: u32,
    /// Let `gateway check` restart the gateway (false: only alert).
    pub auto_restart: bool,
    /// Timeout of the restart command and of `openclaw` calls, seconds.
    pub command_timeout_secs: u64,
    /// Gateway log directory for the last error lines of a restart-loop alert; empty:
    /// `/tmp/openclaw`, `/tmp/openclaw-<uid>` and the config's `logging.file`.
    pub log_dir: String,
    /// journald unit read when no log file has error lines; empty:
    /// `openclaw-gateway[-<profile>].service` (user unit).
    pub journald_unit: String,
    /// The journalctl binary (empty: do not read journald).
    pub journalctl_bin: String,
    /// Also ask `openclaw gateway call health --json` (RPC health) on every run.
    pub rpc_health: bool,
    /// Merge `openclaw security audit --json` findings, at most once per this many seconds
    /// (it takes about 10 s); 0: never.
    pub security_audit_interval_secs: u64,
    /// Free space or inodes below this percent: warning.
    pub disk_warn_percent: f64,
    /// Free space or inodes below this percent: critical.
    pub disk_critical_percent: f64,
    /// Gateway RSS grown by this percent over its first reading (same process): warning.
    /// 0: off.
    pub rss_growth_warn_percent: f64,
    /// RSS growth below this many MiB is never reported.
    pub rss_min_mib: u64,
    /// Refresh claw's cached OpenClaw schema when the installed version differs.
    pub refresh_schema: bool,
    /// Finding ids accepted as they are (claw's or `openclaw security audit`'s, e.g.
    /// `gateway.trusted_proxies_missing`): not reported, alerted or counted.
    pub ignore_findings: Vec<String>,
}

impl Default for GatewayJob {
    fn default() -> Self {
        GatewayJob {
            restart_command: vec![
                "systemctl".into(),
                "--user".into(),
                "restart".into(),
                "openclaw-gateway.service".into(),
            ],
            health_url: String::new(),
            health_timeout_secs: 30,
            probe_timeout_secs: 5,
            failures_before_restart: 2,
            max_restarts_per_hour: 3,
            auto_restart: true,
            command_timeout_secs: 60,
            log_dir: String::new(),
            journald_unit: String::new(),
            journalctl_bin: "journalctl".into(),
            rpc_health: false,
            security_audit_interval_secs: 3600,
            disk_warn_percent: 10.0,
            disk_critical_percent: 5.0,
            rss_growth_warn_percent: 200.0,
            rss_min_mib: 256,
            refresh_schema: true,
            ignore_findings: Vec::new(),
        }
    }
}

/// `[cost]`: cost-track, the cost reports and budget-check.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CostJob {
    /// Which cost reports and budgets use: `auto` (the logged cost when present and non-zero,
    /// else claw's computed one, marked estimated), `logged` or `computed`.
    #[serde(deserialize_with = "de_cost_mode")]
    pub cost_mode: crate::pricing::CostMode,
    /// First day of a budget week: `monday` .. `sunday` (any case).
    #[serde(deserialize_with = "de_weekday")]
    pub week_start: chrono::Weekday,
    /// `[[cost.budgets]]`; none by default.
    pub budgets: Vec<Budget>,
    /// `[[cost.meters]]`: other usage logs priced per unit; none by default.
    pub meters: Vec<Meter>,
    /// A budget's `on_exceeded` command is killed after this many seconds.
    pub action_timeout_secs: u64,
}

/// Another usage log (JSONL with a date and a quantity per line, e.g. call minutes or TTS
/// characters) priced per unit; its spend joins the daily totals as provider `meter`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Meter {
    /// Shown as the model in reports (`meter/<name>`).
    pub name: String,
    /// The JSONL file; a `*` in the file name also takes rotated parts.
    pub path: String,
    /// Field holding the time (RFC 3339) or day (YYYY-MM-DD); dots reach nested fields.
    pub date_field: String,
    /// Field holding the quantity.
    pub quantity_field: String,
    /// Field identifying a line, so a copied line counts once (empty: file position).
    pub id_field: String,
    /// USD per unit.
    pub unit_price_usd: f64,
    /// The unit's name, for reports.
    pub unit: String,
    /// Agent the spend is booked to.
    pub agent: String,
}

impl Default for Meter {
    fn default() -> Self {
        Meter {
            name: String::new(),
            path: String::new(),
            date_field: "timestamp".into(),
            quantity_field: "quantity".into(),
            id_field: "id".into(),
            unit_price_usd: 0.0,
            unit: "unit".into(),
            agent: "-".into(),
        }
    }
}

impl Default for CostJob {
    fn default() -> Self {
        CostJob {
            cost_mode: crate::pricing::CostMode::Auto,
            week_start: chrono::Weekday::Mon,
            budgets: Vec::new(),
            meters: Vec::new(),
            action_timeout_secs: 60,
        }
    }
}

/// One budget: a limit on spend in a period, for everything or one agent / provider / model.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    /// `daily`, `weekly` or `monthly`.
    #[serde(deserialize_with = "de_period")]
    pub period: crate::budgets::Kind,
    /// The limit in USD for one period (a spend budget).
    pub limit_usd: f64,
    /// The limit in tokens for one period (a token budget, instead of `limit_usd`).
    pub limit_tokens: u64,
    /// Which tokens a token budget counts: any of `input`, `output`, `cache_read`,
    /// `cache_write` (empty: all four).
    #[serde(deserialize_with = "de_token_kinds")]
    pub tokens: Vec<crate::budgets::TokenKind>,
    /// Percent of the limit at which the budget is at warning (default 80).
    pub warn_percent: u32,
    /// Only this agent's spend (empty: all agents).
    pub agent: String,
    /// Only this provider's spend (empty: all).
    pub provider: String,
    /// Only this model's spend (empty: all).
    pub model: String,
    /// Command run once per period when the budget is exceeded (argv, no shell), e.g.
    /// switching the default model to a cheaper one or pausing the heartbeat.
    pub on_exceeded: Vec<String>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            period: crate::budgets::Kind::Daily,
            limit_usd: 0.0,
            limit_tokens: 0,
            tokens: Vec::new(),
            warn_percent: 80,
            agent: String::new(),
            provider: String::new(),
            model: String::new(),
            on_exceeded: Vec::new(),
        }
    }
}

/// `[tunnel]`: the webhook tunnel (`claw tunnel start|stop|status|check|rotate`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TunnelJob {
    /// `quick`: claw runs a cloudflared quick tunnel (new URL on every restart) and points
    /// the targets at it; `named`: a stable `hostname` served by a tunnel run elsewhere,
    /// which claw only health-checks (never restarts or rotates).
    #[serde(deserialize_with = "de_tunnel_mode")]
    pub mode: TunnelMode,
    /// named mode: the stable public hostname (e.g. `voice.example.com`).
    pub hostname: String,
    /// The cloudflared binary.
    pub cloudflared_bin: String,
    /// Local port the tunnel forwards to; 0: the OpenClaw gateway port
    /// (`OPENCLAW_GATEWAY_PORT` > `gateway.port` > 18789).
    pub port: u16,
    /// Extra arguments placed after `cloudflared tunnel` (e.g. `["--no-autoupdate"]`).
    pub extra_args: Vec<String>,
    /// File holding the current public URL (one line); empty: `<state>/tunnel/url`.
    pub url_file: String,
    /// Seconds to wait for cloudflared to print its URL.
    pub url_timeout_secs: u64,
    /// Path requested through the public URL to tell the tunnel is healthy.
    pub health_path: String,
    /// When set, requested instead of URL + `health_path` (`{url}` = the public URL).
    pub health_url: String,
    /// Timeout of one health request, seconds.
    pub health_timeout_secs: u64,
    /// After a (re)start, how long the new URL may take to answer, seconds.
    pub health_grace_secs: u64,
    /// Restart attempts in one run before giving up and alerting.
    pub restart_attempts: u32,
    /// Attempts of one webhook update (and its read-back) on a 429, a 5xx or a network error.
    pub update_attempts: u32,
    /// First backoff between attempts (restarts, updates), milliseconds; doubles each time.
    pub backoff_ms: u64,
    pub telnyx: Telnyx,
    /// `[[tunnel.targets]]`: generic webhook targets.
    pub targets: Vec<WebhookTarget>,
}

impl Default for TunnelJob {
    fn default() -> Self {
        TunnelJob {
            mode: TunnelMode::Quick,
            hostname: String::new(),
            cloudflared_bin: "cloudflared".into(),
            port: 0,
            extra_args: Vec::new(),
            url_file: String::new(),
            url_timeout_secs: 30,
            health_path: "/health".into(),
            health_url: String::new(),
            health_timeout_secs: 5,
            health_grace_secs: 30,
            restart_attempts: 3,
            update_attempts: 3,
            backoff_ms: 2000,
            telnyx: Telnyx::default(),
            targets: Vec::new(),
        }
    }
}

/// `[rate_limit]`: rate-limit-detect, its circuit breaker, probes and actions.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitJob {
    /// Directories holding gateway logs (`openclaw[-<profile>]-YYYY-MM-DD[.N].log`). Empty:
    /// `/tmp/openclaw`, `/tmp/openclaw-<uid>` and the directory of the config's `logging.file`.
    /// `--log-dir` overrides.
    pub log_dirs: Vec<String>,
    /// journald: `auto` (read it only when no gateway log file was found, so one line is never
    /// counted from both), `always`, or `off`.
    #[serde(deserialize_with = "de_journald")]
    pub journald: Journald,
    /// The journalctl binary.
    pub journalctl_bin: String,
    /// Units to read; empty: `openclaw-gateway[-<profile>].service`.
    pub journald_units: Vec<String>,
    /// Read system units (`journalctl -u`) instead of user units (`journalctl --user -u`).
    pub journald_system: bool,
    /// Events in the window that open a breaker.
    pub threshold: u32,
    /// The sliding window, seconds.
    pub window_secs: u64,
    /// Count overload (529, `overloaded_error`) like rate limiting.
    pub count_overloaded: bool,
    /// First OPEN period, seconds; doubles on every repeated trip up to `max_cooldown_secs`.
    pub cooldown_secs: u64,
    pub max_cooldown_secs: u64,
    /// Without a probe, HALF-OPEN closes when there was no event for this many seconds.
    pub quiet_secs: u64,
    /// Secondary lines of one failure (retry, agent end, failover decision, transcript error)
    /// within this many seconds of a counted event of the same provider are not counted again.
    pub echo_window_secs: u64,
    /// The state file other scripts read; empty: `<openclaw state>/claw/rate-limit.json`.
    pub state_file: String,
    /// On trip: abort active subagent runs (`openclaw gateway call sessions.abort`).
    pub abort_subagents: bool,
    /// On trip: commands to run (argv, no shell), e.g. pause a heartbeat.
    pub trip_commands: Vec<Vec<String>>,
    /// On recovery: commands to run once (argv, no shell).
    pub resume_commands: Vec<Vec<String>>,
    /// Alert through `[alerts]` sinks on trip, and a recovery message.
    pub alert: bool,
    /// Timeout of a probe or an action command, seconds.
    pub timeout_secs: u64,
    /// `[[rate_limit.probes]]`: how HALF-OPEN tests a provider.
    pub probes: Vec<Probe>,
    /// Degraded mode: stretch the heartbeat of agents on a limited provider (through
    /// `openclaw config set`) by `heartbeat_factor`, at twice its interval once half-open.
    pub stretch_heartbeat: bool,
    pub heartbeat_factor: u32,
    /// OpenClaw's heartbeat interval when `every` is unset (its runtime default).
    pub heartbeat_default: String,
    /// Degraded mode: disable the gateway's cron jobs that run on a limited provider.
    pub disable_cron: bool,
    /// Restore everything degraded mode changed once the breaker stayed closed this long.
    pub resume_after_secs: u64,
    /// Timeout of one `openclaw config` / `openclaw cron` call (each starts node: 5-20 s).
    pub openclaw_timeout_secs: u64,
}

impl Default for RateLimitJob {
    fn default() -> Self {
        RateLimitJob {
            log_dirs: Vec::new(),
            journald: Journald::Auto,
            journalctl_bin: "journalctl".into(),
            journald_units: Vec::new(),
            journald_system: false,
            threshold: 3,
            window_secs: 600,
            count_overloaded: true,
            cooldown_secs: 900,
            max_cooldown_secs: 3600,
            quiet_secs: 900,
            echo_window_secs: 60,
            state_file: String::new(),
            abort_subagents: false,
            trip_commands: Vec::new(),
            resume_commands: Vec::new(),
            alert: true,
            timeout_secs: 20,
            probes: Vec::new(),
            stretch_heartbeat: true,
            heartbeat_factor: 4,
            heartbeat_default: "30m".into(),
            disable_cron: true,
            resume_after_secs: 900,
            openclaw_timeout_secs: 90,
        }
    }
}

/// `[tunnel] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelMode {
    /// claw runs a cloudflared quick tunnel and follows its URL.
    Quick,
    /// A stable hostname served by a tunnel run elsewhere; claw only checks it.
    Named,
}

impl TunnelMode {
    /// The settings spelling, also the mode recorded in the tunnel state.
    pub fn as_str(self) -> &'static str {
        match self {
            TunnelMode::Quick => "quick",
            TunnelMode::Named => "named",
        }
    }
}

/// `[rate_limit] journald`: when rate-limit-detect reads journald.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journald {
    /// Only when no gateway log file was found (a line is never counted twice).
    Auto,
    Always,
    Off,
}

/// `[tunnel.telnyx]`: Telnyx objects whose `webhook_event_url` follows the tunnel.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Telnyx {
    /// Environment variable holding the Telnyx API v2 key (sent as a bearer token).
    pub api_key_env: String,
    pub api_base: String,
    /// Appended to the tunnel URL to make `webhook_event_url`.
    pub webhook_path: String,
    /// Call Control Application ids (`/v2/call_control_applications/<id>`).
    pub call_control_application_ids: Vec<String>,
    /// Credential connection ids (`/v2/credential_connections/<id>`).
    pub credential_connection_ids: Vec<String>,
}

impl Default for Telnyx {
    fn default() -> Self {
        Telnyx {
            api_key_env: "TELNYX_API_KEY".into(),
            api_base: "https://api.telnyx.com".into(),
            webhook_path: "/voice/webhook".into(),
            call_control_application_ids: Vec::new(),
            credential_connection_ids: Vec::new(),
        }
    }
}

/// One `[[tunnel.targets]]` table: any API that must learn the new URL.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    pub name: String,
    /// HTTP method (default PATCH).
    #[serde(default = "default_patch")]
    pub method: String,
    /// The API endpoint to call.
    pub url: String,
    /// Headers; `{token}` in a value is replaced by the secret from `token_env`.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub token_env: Option<String>,
    /// JSON body; `{url}` is replaced by the tunnel URL (JSON-escaped).
    pub body: String,
    /// Read back with a GET of this URL (same headers); empty: no read-back.
    #[serde(default)]
    pub verify_url: String,
    /// JSON pointer into the read-back whose value must equal `verify_value`.
    #[serde(default)]
    pub verify_pointer: String,
    /// Expected value at `verify_pointer` (`{url}` replaced); empty: must start with the
    /// tunnel URL.
    #[serde(default)]
    pub verify_value: String,
}

fn default_patch() -> String {
    "PATCH".into()
}

/// One probe: a minimal model request (`url`) or a command (`command`, exit 0 = recovered).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Probe {
    /// The provider (breaker scope) this probe tests.
    pub provider: String,
    /// `anthropic` (`/v1/messages` body, `x-api-key`) or `openai` (`/chat/completions`
    /// body, bearer token): the same key as `[stuck.triage] api`.
    pub api: String,
    /// Deprecated spelling of `api` (still read, with a warning); moved into `api` at load.
    pub style: String,
    /// Full endpoint URL.
    pub url: String,
    pub model: String,
    /// Environment variable holding the API key (never the key itself).
    pub api_key_env: String,
    /// Instead of a request: argv (no shell).
    pub command: Vec<String>,
}

/// `[stuck]`: the stuck-agent watchdog (`claw stuck-agent scan`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StuckJob {
    /// No new transcript entry for longer than this: idle (overridable per agent/label).
    pub idle_minutes: u64,
    /// This many last assistant messages all errors: an error loop.
    pub error_loop_count: usize,
    /// A question or permission request counts once unanswered this many seconds.
    pub waiting_after_secs: u64,
    /// A run without a session counts as orphaned only after this many seconds.
    pub orphan_grace_secs: u64,
    /// How many last transcript entries are read per run.
    pub tail_entries: usize,
    /// Also watch and act on main sessions (`agent:<id>:main`).
    pub include_main: bool,
    /// Actions taken on one run over its life (steer, extend, kill).
    pub max_actions_per_run: u32,
    /// Actions taken by one scan; the rest wait for the next scan.
    pub max_actions_per_scan: u32,
    /// Grace given once after a steer before the ladder kills.
    pub extend_minutes: u64,
    /// Timeout of one `openclaw` command, seconds.
    pub command_timeout_secs: u64,
    /// Gateway log directory scanned for `stuck session:` lines; empty: /tmp/openclaw and
    /// /tmp/openclaw-<uid>.
    pub log_dir: String,
    /// Steer message for waiting-for-input, idle and error-loop runs.
    pub steer_input_text: String,
    /// Steer message for waiting-for-permission runs.
    pub steer_permission_text: String,
    /// What to do per class: report, steer, kill or ladder (steer, extend once, kill).
    pub actions: StuckActions,
    /// `[[stuck.overrides]]`: idle threshold per agent and/or label; first match wins.
    pub overrides: Vec<StuckOverride>,
    pub triage: Triage,
}

impl Default for StuckJob {
    fn default() -> Self {
        StuckJob {
            idle_minutes: 9,
            error_loop_count: 3,
            waiting_after_secs: 60,
            orphan_grace_secs: 120,
            tail_entries: 12,
            include_main: false,
            max_actions_per_run: 3,
            max_actions_per_scan: 10,
            extend_minutes: 5,
            command_timeout_secs: 30,
            log_dir: String::new(),
            steer_input_text:
                "Do not wait for user input. Make decisions and proceed autonomously.".into(),
            steer_permission_text: "You have permission to proceed.".into(),
            actions: StuckActions::default(),
            overrides: Vec::new(),
            triage: Triage::default(),
        }
    }
}

/// `[stuck.actions]`: one policy per stuck class.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StuckActions {
    #[serde(deserialize_with = "de_policy")]
    pub idle: Policy,
    #[serde(deserialize_with = "de_policy")]
    pub waiting_input: Policy,
    #[serde(deserialize_with = "de_policy")]
    pub waiting_permission: Policy,
    #[serde(deserialize_with = "de_policy")]
    pub error_loop: Policy,
    #[serde(deserialize_with = "de_policy")]
    pub past_timeout: Policy,
    #[serde(deserialize_with = "de_policy")]
    pub orphaned: Policy,
}

impl Default for StuckActions {
    fn default() -> Self {
        let r = Policy::Report;
        StuckActions {
            idle: r,
            waiting_input: r,
            waiting_permission: r,
            error_loop: r,
            past_timeout: r,
            orphaned: r,
        }
    }
}

/// What the stuck watchdog does about one class of stuck run (`[stuck.actions]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Report,
    Steer,
    Kill,
    /// Steer, extend once, kill.
    Ladder,
}

/// One `[[stuck.overrides]]` table.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StuckOverride {
    /// Agent id (empty: any).
    pub agent: String,
    /// Run label (empty: any).
    pub label: String,
    pub idle_minutes: u64,
}

/// `[stuck.triage]`: ask a cheap model about a stuck run (opt-in).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Triage {
    pub enabled: bool,
    /// `anthropic` (POST {url}/v1/messages) or `openai` (POST {url}/chat/completions).
    #[serde(deserialize_with = "de_api")]
    pub api: crate::modelapi::Api,
    pub url: String,
    pub model: String,
    /// Environment variable holding the API key (never the key itself).
    pub api_key_env: String,
    /// Whole-request timeout, seconds.
    pub timeout_secs: u64,
    /// The redacted last entries are cut to this many characters.
    pub max_chars: usize,
    pub max_tokens: u32,
    /// Prices for the ledger, USD per million tokens.
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
    /// Let the answer change the action (kill now, or steer with its text).
    pub follow: bool,
}

impl Default for Triage {
    fn default() -> Self {
        Triage {
            enabled: false,
            api: crate::modelapi::Api::Anthropic,
            url: "https://api.anthropic.com".into(),
            model: "claude-haiku-4-5".into(),
            api_key_env: "ANTHROPIC_API_KEY".into(),
            timeout_secs: 20,
            max_chars: 6000,
            max_tokens: 200,
            input_usd_per_mtok: 1.0,
            output_usd_per_mtok: 5.0,
            follow: false,
        }
    }
}

/// A keep-last / hourly / daily / weekly / monthly retention policy.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    pub keep_last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_last: 10,
            hourly: 24,
            daily: 14,
            weekly: 8,
            monthly: 12,
        }
    }
}

/// `[alerts]`: where alerts go and how often the same one may repeat.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    /// The same alert (job + dedupe key) is not re-sent within this many seconds.
    pub cooldown_secs: u64,
    /// Timeout of one delivery attempt (HTTP request or command), seconds.
    pub timeout_secs: u64,
    /// Extra attempts within one run after a 429, a 5xx or a network error (never after
    /// another 4xx).
    pub retries: u32,
    /// First backoff between attempts, milliseconds; doubles each attempt.
    pub retry_base_ms: u64,
    /// A delivery that still fails is retried on later runs for this many seconds.
    pub retry_for_secs: u64,
    pub sinks: Vec<Sink>,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            cooldown_secs: 3600,
            timeout_secs: 10,
            retries: 2,
            retry_base_ms: 1000,
            retry_for_secs: 86400,
            sinks: Vec::new(),
        }
    }
}

/// What kind of receiver a sink is.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SinkKind {
    Slack,
    Teams,
    TeamsGraph,
    Telegram,
    Ntfy,
    Webhook,
    Command,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Slack => "slack",
            SinkKind::Teams => "teams",
            SinkKind::TeamsGraph => "teams-graph",
            SinkKind::Telegram => "telegram",
            SinkKind::Ntfy => "ntfy",
            SinkKind::Webhook => "webhook",
            SinkKind::Command => "command",
        }
    }
}

/// One `[[alerts.sinks]]` table. Secrets (webhook URLs, tokens) are only ever named here, by
/// the environment variable or file that holds them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sink {
    pub name: String,
    pub kind: SinkKind,
    #[serde(default)]
    pub url_env: Option<String>,
    #[serde(default)]
    pub url_file: Option<String>,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub token_file: Option<String>,
    /// telegram: the chat; teams-graph: the chat id when no URL is given.
    #[serde(default)]
    pub chat_id: Option<String>,
    /// ntfy: the topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// webhook: HTTP method (default POST).
    #[serde(default)]
    pub method: Option<String>,
    /// webhook: extra headers; `{token}` in a value is replaced by the token.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// webhook: body with `{{job}}`-style placeholders (default: the alert as JSON).
    #[serde(default)]
    pub body_template: Option<String>,
    /// command: argv (no shell); the alert arrives on stdin as JSON.
    #[serde(default)]
    pub command: Vec<String>,
}

/// `[tick]`: what `claw tick` runs and when.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Tick {
    /// A job started by tick is killed after this many seconds.
    pub job_timeout_secs: u64,
    /// Per-job schedule overrides: job name -> interval, cron expression, `after <job>` or
    /// `off`. Jobs not named keep their built-in default.
    pub schedule: std::collections::BTreeMap<String, String>,
    /// Your own commands, run by tick on a schedule like the built-in jobs.
    pub commands: Vec<TickCommand>,
}

impl Default for Tick {
    fn default() -> Self {
        Tick {
            job_timeout_secs: 3600,
            schedule: Default::default(),
            commands: Vec::new(),
        }
    }
}

/// One `[[tick.commands]]` table: an operator's own command on a schedule.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TickCommand {
    pub name: String,
    pub schedule: String,
    /// argv, no shell.
    pub command: Vec<String>,
}

/// `[watch]`: being watched from outside (Prometheus textfiles, dead-man pings).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Watch {
    /// node_exporter textfile-collector directory; empty: write no `.prom` files.
    pub textfile_dir: String,
    /// Timeout of one dead-man ping, seconds.
    pub ping_timeout_secs: u64,
    /// Dead-man ping URL per job name, from an env var or a file.
    pub pings: std::collections::BTreeMap<String, SecretRef>,
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            textfile_dir: String::new(),
            ping_timeout_secs: 10,
            pings: Default::default(),
        }
    }
}

/// Where a secret URL lives: an environment variable or a file.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SecretRef {
    pub url_env: Option<String>,
    pub url_file: Option<String>,
}

impl Settings {
    /// Load from `path`; a missing file gives the defaults unless it was named explicitly.
    pub fn load(path: &Path, explicit: bool) -> Result<Settings> {
        let text = match crate::safefs::read(path) {
            Ok(b) => String::from_utf8(b)
                .map_err(|_| fail(Code::Config, format!("{}: not valid UTF-8", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Settings::default())
            }
            Err(e) => {
                return Err(fail(
                    Code::Config,
                    format!("{}: cannot read settings: {e}", path.display()),
                ))
            }
        };
        let mut s = Self::parse(&text)
            .map_err(|m| fail(Code::Config, format!("{}:{m}", path.display())))?;
        for d in &mut s.deprecations {
            *d = format!("{}:{d}", path.display());
        }
        s.apply_deprecated(&text, path);
        Ok(s)
    }

    /// `[config] restart_command`, `health_url` and `health_timeout_secs` moved to
    /// `[gateway]`: an old key still works (unless the new one is set) and leaves a note.
    fn apply_deprecated(&mut self, text: &str, path: &Path) {
        let raw: toml::Table = toml::from_str(text).unwrap_or_default();
        let set_in_gateway = |k: &str| {
            raw.get("gateway")
                .and_then(|g| g.as_table())
                .is_some_and(|g| g.contains_key(k))
        };
        let mut note = |k: &str, used: bool| {
            self.deprecations.push(format!(
                "{}: [config] {k} is deprecated, move it to [gateway]{}",
                path.display(),
                if used {
                    ""
                } else {
                    " (ignored: [gateway] sets it)"
                }
            ));
        };
        if let Some(v) = self.config.restart_command.take() {
            let used = !set_in_gateway("restart_command");
            note("restart_command", used);
            if used {
                self.gateway.restart_command = v;
            }
        }
        if let Some(v) = self.config.health_url.take() {
            let used = !set_in_gateway("health_url");
            note("health_url", used);
            if used {
                self.gateway.health_url = v;
            }
        }
        if let Some(v) = self.config.health_timeout_secs.take() {
            let used = !set_in_gateway("health_timeout_secs");
            note("health_timeout_secs", used);
            if used {
                self.gateway.health_timeout_secs = v;
            }
        }
    }

    /// `[[rate_limit.probes]] style` is the old name of `api` (the name `[stuck.triage]` uses
    /// for the same choice): moved into `api` unless that is set too, with a note naming the
    /// line. `load` prefixes the notes with the file.
    fn rename_aliases(&mut self, text: &str) {
        for (i, p) in self.rate_limit.probes.iter_mut().enumerate() {
            if p.style.is_empty() {
                continue;
            }
            let line = locate(text, "rate_limit.probes", Some(i), "style");
            let ignored = !p.api.is_empty();
            self.deprecations.push(format!(
                "{line}: rate_limit.probes[{i}].style is deprecated, rename it to api{}",
                if ignored {
                    " (ignored: api is set)"
                } else {
                    ""
                }
            ));
            let style = std::mem::take(&mut p.style);
            if !ignored {
                p.api = style;
            }
        }
    }

    /// Parse and validate settings text; the error is `line[:col]: message` naming the table
    /// and key. Every value is checked here, at load, so a bad one never waits for the job
    /// that uses it.
    pub fn parse(text: &str) -> std::result::Result<Settings, String> {
        let mut s = Self::parse_toml(text)?;
        s.rename_aliases(text);
        match s.check() {
            None => Ok(s),
            Some(b) => Err(b.line(locate(text, &b.table, b.index, &b.key))),
        }
    }

    fn parse_toml(text: &str) -> std::result::Result<Settings, String> {
        toml::from_str::<Settings>(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            if let Some(b) = Bad::from_refusal(text, &e, line) {
                return b.line(line);
            }
            let table = table_at(text, line);
            let msg = e.message().replace('\n', " ");
            let msg = msg
                .replace("unknown field", "unknown key")
                .split(", expected")
                .next()
                .unwrap_or_default()
                .to_string();
            // serde quotes the offending value: a 50 MB string is never echoed back whole.
            let msg = crate::redact::excerpt(&msg, 200);
            match table {
                Some(t) => format!("{line}:{col}: {msg} in [{t}]"),
                None => format!("{line}:{col}: {msg}"),
            }
        })
    }
}

/// A value refused at load: where it is and why.
struct Bad {
    /// Dotted table name (`cost.budgets`).
    table: String,
    /// For an array of tables, which one (0-based).
    index: Option<usize>,
    key: String,
    value: String,
    why: String,
}

/// Collects the first refused value.
#[derive(Default)]
struct Check {
    bad: Option<Bad>,
}

impl Bad {
    /// The error line: `<line>: <table>.<key> = <value>: <why> in [<table>]`.
    fn line(&self, line: usize) -> String {
        let (name, table) = match self.index {
            Some(i) => (
                format!("{}[{i}].{}", self.table, self.key),
                format!("[[{}]]", self.table),
            ),
            None => (
                format!("{}.{}", self.table, self.key),
                format!("[{}]", self.table),
            ),
        };
        format!(
            "{line}: {name} = {}: {} in {table}",
            crate::redact::excerpt(&self.value, 60),
            self.why
        )
    }

    /// A [`Refusal`] raised while deserializing, placed by the error's key path (toml names
    /// the keys, not the index of an array of tables: that is the count of `[[table]]`
    /// headers up to the value's `line`).
    fn from_refusal(text: &str, e: &toml::de::Error, line: usize) -> Option<Bad> {
        let (value, why) = Refusal::decode(e.message())?;
        // Without its input, toml's error names the key path on its last line.
        let mut bare = e.clone();
        bare.set_input(None);
        let shown = bare.to_string();
        let path = shown
            .lines()
            .last()?
            .strip_prefix("in `")?
            .strip_suffix('`')?;
        let (table, key) = path.rsplit_once('.')?;
        let header = format!("[[{table}]]");
        let seen = text
            .lines()
            .take(line)
            .filter(|l| l.trim().starts_with(&header))
            .count();
        Some(Bad {
            table: table.to_string(),
            index: seen.checked_sub(1),
            key: key.to_string(),
            value: value.to_string(),
            why: why.to_string(),
        })
    }
}

/// A written value that is not one of a setting's choices, raised by the `de_*` functions
/// while deserializing. It travels inside serde's error as text (`MARK value MARK why`) and
/// `parse_toml` turns it back into a [`Bad`], so it reads like every other refusal.
struct Refusal;

impl Refusal {
    const MARK: char = '\u{1}';

    fn encode(value: &str, why: &str) -> String {
        format!("{m}{value:?}{m}{why}", m = Self::MARK)
    }

    fn decode(msg: &str) -> Option<(&str, &str)> {
        msg.strip_prefix(Self::MARK)?.split_once(Self::MARK)
    }
}

/// One of `choices` (settings spelling, value); `fold` compares in lower case.
fn choose<'de, D: Deserializer<'de>, T: Copy>(
    d: D,
    choices: &[(&str, T)],
    fold: bool,
) -> std::result::Result<T, D::Error> {
    let s = String::deserialize(d)?;
    let key = if fold {
        s.to_ascii_lowercase()
    } else {
        s.clone()
    };
    if let Some((_, v)) = choices.iter().find(|(n, _)| *n == key) {
        return Ok(*v);
    }
    let list: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
    Err(serde::de::Error::custom(Refusal::encode(
        &key,
        &format!("expected one of {}", list.join(", ")),
    )))
}

fn de_timezone<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<TimeZone, D::Error> {
    let s = String::deserialize(d)?;
    match crate::zone::Zone::parse(&s) {
        Ok(zone) => Ok(TimeZone {
            zone,
            name: match s.trim() {
                "" => "local".to_string(),
                t => t.to_string(),
            },
        }),
        Err(_) => Err(serde::de::Error::custom(Refusal::encode(
            &s,
            crate::zone::EXPECTED,
        ))),
    }
}

fn de_policy<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Policy, D::Error> {
    let policies = [
        ("report", Policy::Report),
        ("steer", Policy::Steer),
        ("kill", Policy::Kill),
        ("ladder", Policy::Ladder),
    ];
    choose(d, &policies, false)
}

fn de_api<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<crate::modelapi::Api, D::Error> {
    use crate::modelapi::Api;
    choose(
        d,
        &[("anthropic", Api::Anthropic), ("openai", Api::OpenAi)],
        false,
    )
}

/// A list, each entry one of `choices` (the refusal names the entry).
fn choose_each<'de, D: Deserializer<'de>, T: Copy>(
    d: D,
    choices: &[(&str, T)],
) -> std::result::Result<Vec<T>, D::Error> {
    Vec::<String>::deserialize(d)?
        .into_iter()
        .map(|p| choose(serde::de::value::StrDeserializer::new(&p), choices, false))
        .collect::<std::result::Result<_, serde::de::value::Error>>()
        .map_err(|e| serde::de::Error::custom(e.to_string()))
}

/// `[digest] periods`.
fn de_digest_periods<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<crate::cli::DigestPeriod>, D::Error> {
    use crate::cli::DigestPeriod;
    choose_each(
        d,
        &[
            ("daily", DigestPeriod::Daily),
            ("weekly", DigestPeriod::Weekly),
        ],
    )
}

/// `[[cost.budgets]] tokens`.
fn de_token_kinds<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<crate::budgets::TokenKind>, D::Error> {
    let kinds = crate::budgets::TokenKind::ALL.map(|k| (k.name(), k));
    choose_each(d, &kinds)
}

fn de_cost_mode<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<crate::pricing::CostMode, D::Error> {
    use crate::pricing::CostMode;
    let modes = [
        ("auto", CostMode::Auto),
        ("logged", CostMode::Logged),
        ("computed", CostMode::Computed),
    ];
    choose(d, &modes, false)
}

fn de_weekday<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<chrono::Weekday, D::Error> {
    use chrono::Weekday;
    let days = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];
    choose(d, &days, true)
}

fn de_period<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<crate::budgets::Kind, D::Error> {
    use crate::budgets::Kind;
    let kinds = [
        ("daily", Kind::Daily),
        ("weekly", Kind::Weekly),
        ("monthly", Kind::Monthly),
    ];
    choose(d, &kinds, false)
}

fn de_tunnel_mode<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<TunnelMode, D::Error> {
    let modes = [("quick", TunnelMode::Quick), ("named", TunnelMode::Named)];
    choose(d, &modes, false)
}

fn de_journald<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Journald, D::Error> {
    let modes = [
        ("auto", Journald::Auto),
        ("always", Journald::Always),
        ("off", Journald::Off),
    ];
    choose(d, &modes, false)
}

impl Check {
    fn refuse(&mut self, table: &str, index: Option<usize>, key: &str, value: String, why: String) {
        if self.bad.is_none() {
            self.bad = Some(Bad {
                table: table.to_string(),
                index,
                key: key.to_string(),
                value,
                why,
            });
        }
    }

    /// `lo <= v <= hi`.
    fn range(&mut self, t: &str, i: Option<usize>, key: &str, v: u64, lo: u64, hi: u64) {
        if !(lo..=hi).contains(&v) {
            self.refuse(t, i, key, v.to_string(), format!("expected {lo} .. {hi}"));
        }
    }

    fn range_f(&mut self, t: &str, i: Option<usize>, key: &str, v: f64, lo: f64, hi: f64) {
        if !(v.is_finite() && lo <= v && v <= hi) {
            self.refuse(t, i, key, v.to_string(), format!("expected {lo} .. {hi}"));
        }
    }

    fn one_of(&mut self, t: &str, i: Option<usize>, key: &str, v: &str, allowed: &[&str]) {
        if !allowed.contains(&v) {
            let list: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
            self.refuse(
                t,
                i,
                key,
                format!("{v:?}"),
                format!("expected one of {}", list.join(", ")),
            );
        }
    }

    fn argv(&mut self, t: &str, i: Option<usize>, key: &str, v: &[String]) {
        if v.is_empty() || v[0].trim().is_empty() {
            self.refuse(
                t,
                i,
                key,
                format!("{v:?}"),
                "expected a program and its arguments".into(),
            );
        }
    }

    fn non_empty(&mut self, t: &str, i: Option<usize>, key: &str, v: &str) {
        if v.trim().is_empty() {
            self.refuse(t, i, key, "\"\"".into(), "must not be empty".into());
        }
    }

    fn schedule(&mut self, t: &str, i: Option<usize>, key: &str, v: &str) {
        if let Err(e) = crate::schedule::Schedule::parse(v) {
            self.refuse(t, i, key, format!("{v:?}"), e);
        }
    }
}

const DAY_SECS: u64 = 86_400;
/// Any case is accepted (`put` is sent as PUT).
const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

impl Settings {
    /// Every key with a natural range or set of values, checked; the first refused one (so
    /// the tables are checked in a fixed order: the file's usual order).
    fn check(&self) -> Option<Bad> {
        let mut c = Check::default();
        self.check_general(&mut c);
        self.check_gateway(&mut c);
        self.check_alerts(&mut c);
        self.check_tick(&mut c);
        self.check_cost(&mut c);
        self.check_compaction_backup(&mut c);
        self.check_tunnel(&mut c);
        self.check_rate_limit(&mut c);
        self.check_stuck(&mut c);
        self.check_stuck_triage(&mut c);
        c.bad
    }

    /// `[general]`.
    fn check_general(&self, c: &mut Check) {
        let g = &self.general;
        c.non_empty("general", None, "openclaw_bin", &g.openclaw_bin);
    }

    /// `[gateway]`, `[config]`'s deprecated restart keys and `[config.retention]`.
    fn check_gateway(&self, c: &mut Check) {
        let k = &self.config;
        // The deprecated [config] restart keys, when still written.
        if let Some(argv) = &k.restart_command {
            c.argv("config", None, "restart_command", argv);
        }
        if let Some(t) = k.health_timeout_secs {
            c.range("config", None, "health_timeout_secs", t, 1, 3600);
        }
        let gw = &self.gateway;
        c.argv("gateway", None, "restart_command", &gw.restart_command);
        c.range(
            "gateway",
            None,
            "health_timeout_secs",
            gw.health_timeout_secs,
            1,
            3600,
        );
        c.range(
            "gateway",
            None,
            "probe_timeout_secs",
            gw.probe_timeout_secs,
            1,
            300,
        );
        c.range(
            "gateway",
            None,
            "failures_before_restart",
            gw.failures_before_restart.into(),
            1,
            1000,
        );
        c.range(
            "gateway",
            None,
            "command_timeout_secs",
            gw.command_timeout_secs,
            1,
            3600,
        );
        c.range(
            "config.retention",
            None,
            "keep_last",
            k.retention.keep_last.into(),
            1,
            1_000_000,
        );
    }

    /// `[alerts]` and its sinks.
    fn check_alerts(&self, c: &mut Check) {
        let a = &self.alerts;
        c.range("alerts", None, "timeout_secs", a.timeout_secs, 1, 600);
        c.range("alerts", None, "retries", a.retries.into(), 0, 10);
        c.range("alerts", None, "retry_base_ms", a.retry_base_ms, 0, 600_000);
        c.range(
            "alerts",
            None,
            "retry_for_secs",
            a.retry_for_secs,
            0,
            30 * DAY_SECS,
        );
        c.range(
            "alerts",
            None,
            "cooldown_secs",
            a.cooldown_secs,
            0,
            365 * DAY_SECS,
        );
        for (i, k) in a.sinks.iter().enumerate() {
            let i = Some(i);
            c.non_empty("alerts.sinks", i, "name", &k.name);
            if k.kind == SinkKind::Command {
                c.argv("alerts.sinks", i, "command", &k.command);
            }
            if let Some(m) = &k.method {
                c.one_of(
                    "alerts.sinks",
                    i,
                    "method",
                    &m.to_ascii_uppercase(),
                    HTTP_METHODS,
                );
            }
        }
    }

    /// `[tick]`, its schedules and commands, and `[watch]`.
    fn check_tick(&self, c: &mut Check) {
        let t = &self.tick;
        c.range(
            "tick",
            None,
            "job_timeout_secs",
            t.job_timeout_secs,
            1,
            DAY_SECS,
        );
        for (job, v) in &t.schedule {
            c.schedule("tick.schedule", None, job, v);
        }
        for (i, k) in t.commands.iter().enumerate() {
            c.non_empty("tick.commands", Some(i), "name", &k.name);
            c.schedule("tick.commands", Some(i), "schedule", &k.schedule);
            c.argv("tick.commands", Some(i), "command", &k.command);
        }
        c.range(
            "watch",
            None,
            "ping_timeout_secs",
            self.watch.ping_timeout_secs,
            1,
            600,
        );
    }

    /// `[cost]` with its budgets and meters, and `[digest]`.
    fn check_cost(&self, c: &mut Check) {
        let k = &self.cost;
        c.range(
            "cost",
            None,
            "action_timeout_secs",
            k.action_timeout_secs,
            1,
            DAY_SECS,
        );
        for (i, b) in k.budgets.iter().enumerate() {
            let i = Some(i);
            if b.limit_tokens == 0 {
                c.range_f("cost.budgets", i, "limit_usd", b.limit_usd, 0.000001, 1e9);
                if !b.tokens.is_empty() {
                    let names: Vec<&str> = b.tokens.iter().map(|t| t.name()).collect();
                    c.refuse(
                        "cost.budgets",
                        i,
                        "tokens",
                        format!("{names:?}"),
                        "only a token budget (limit_tokens) counts tokens".into(),
                    );
                }
            } else {
                if b.limit_usd != 0.0 {
                    c.refuse(
                        "cost.budgets",
                        i,
                        "limit_usd",
                        b.limit_usd.to_string(),
                        "set limit_usd or limit_tokens, not both".into(),
                    );
                }
                c.range(
                    "cost.budgets",
                    i,
                    "limit_tokens",
                    b.limit_tokens,
                    1,
                    1_000_000_000_000_000,
                );
            }
            c.range(
                "cost.budgets",
                i,
                "warn_percent",
                b.warn_percent.into(),
                1,
                100,
            );
            if !b.on_exceeded.is_empty() {
                c.argv("cost.budgets", i, "on_exceeded", &b.on_exceeded);
            }
        }
        let d = &self.digest;
        c.range("digest", None, "top", d.top.into(), 1, 50);
        for n in &d.sinks {
            if !self.alerts.sinks.iter().any(|k| &k.name == n) {
                c.refuse(
                    "digest",
                    None,
                    "sinks",
                    format!("{n:?}"),
                    "no [[alerts.sinks]] has this name".into(),
                );
            }
        }
        for (i, m) in k.meters.iter().enumerate() {
            let i = Some(i);
            c.non_empty("cost.meters", i, "name", &m.name);
            c.non_empty("cost.meters", i, "path", &m.path);
            c.non_empty("cost.meters", i, "date_field", &m.date_field);
            c.non_empty("cost.meters", i, "quantity_field", &m.quantity_field);
            c.range_f(
                "cost.meters",
                i,
                "unit_price_usd",
                m.unit_price_usd,
                0.0,
                1e6,
            );
        }
    }

    /// `[compaction_backup]`.
    fn check_compaction_backup(&self, c: &mut Check) {
        let k = &self.compaction_backup;
        c.range(
            "compaction_backup",
            None,
            "keep_last",
            k.keep_last.into(),
            1,
            1_000_000,
        );
        c.range(
            "compaction_backup",
            None,
            "zstd_level",
            k.zstd_level.max(0) as u64,
            1,
            19,
        );
    }

    /// `[tunnel]` and its targets.
    fn check_tunnel(&self, c: &mut Check) {
        let k = &self.tunnel;
        c.non_empty("tunnel", None, "cloudflared_bin", &k.cloudflared_bin);
        c.range(
            "tunnel",
            None,
            "url_timeout_secs",
            k.url_timeout_secs,
            1,
            3600,
        );
        c.range(
            "tunnel",
            None,
            "health_timeout_secs",
            k.health_timeout_secs,
            1,
            600,
        );
        c.range(
            "tunnel",
            None,
            "health_grace_secs",
            k.health_grace_secs,
            0,
            3600,
        );
        c.range(
            "tunnel",
            None,
            "restart_attempts",
            k.restart_attempts.into(),
            0,
            100,
        );
        c.range(
            "tunnel",
            None,
            "update_attempts",
            k.update_attempts.into(),
            1,
            100,
        );
        c.range("tunnel", None, "backoff_ms", k.backoff_ms, 0, 600_000);
        for (i, w) in k.targets.iter().enumerate() {
            let i = Some(i);
            c.non_empty("tunnel.targets", i, "name", &w.name);
            c.non_empty("tunnel.targets", i, "url", &w.url);
            c.one_of(
                "tunnel.targets",
                i,
                "method",
                &w.method.to_ascii_uppercase(),
                HTTP_METHODS,
            );
        }
    }

    /// `[rate_limit]` and its probes.
    fn check_rate_limit(&self, c: &mut Check) {
        let k = &self.rate_limit;
        c.range(
            "rate_limit",
            None,
            "threshold",
            k.threshold.into(),
            1,
            1_000_000,
        );
        c.range(
            "rate_limit",
            None,
            "window_secs",
            k.window_secs,
            1,
            30 * DAY_SECS,
        );
        c.range(
            "rate_limit",
            None,
            "cooldown_secs",
            k.cooldown_secs,
            1,
            30 * DAY_SECS,
        );
        c.range(
            "rate_limit",
            None,
            "max_cooldown_secs",
            k.max_cooldown_secs,
            k.cooldown_secs,
            30 * DAY_SECS,
        );
        c.range(
            "rate_limit",
            None,
            "quiet_secs",
            k.quiet_secs,
            0,
            30 * DAY_SECS,
        );
        c.range(
            "rate_limit",
            None,
            "echo_window_secs",
            k.echo_window_secs,
            0,
            DAY_SECS,
        );
        c.range("rate_limit", None, "timeout_secs", k.timeout_secs, 1, 3600);
        c.range(
            "rate_limit",
            None,
            "heartbeat_factor",
            k.heartbeat_factor.into(),
            2,
            100,
        );
        if crate::openclaw::schedule::parse_duration_ms(&k.heartbeat_default).is_none_or(|m| m == 0)
        {
            c.refuse(
                "rate_limit",
                None,
                "heartbeat_default",
                format!("{:?}", k.heartbeat_default),
                "expected a duration such as \"30m\"".into(),
            );
        }
        c.range(
            "rate_limit",
            None,
            "resume_after_secs",
            k.resume_after_secs,
            0,
            30 * DAY_SECS,
        );
        c.range(
            "rate_limit",
            None,
            "openclaw_timeout_secs",
            k.openclaw_timeout_secs,
            1,
            3600,
        );
        for v in &k.trip_commands {
            c.argv("rate_limit", None, "trip_commands", v);
        }
        for v in &k.resume_commands {
            c.argv("rate_limit", None, "resume_commands", v);
        }
        for (i, p) in k.probes.iter().enumerate() {
            let i = Some(i);
            c.non_empty("rate_limit.probes", i, "provider", &p.provider);
            if p.command.is_empty() {
                c.non_empty("rate_limit.probes", i, "url", &p.url);
                c.one_of(
                    "rate_limit.probes",
                    i,
                    "api",
                    &p.api,
                    crate::modelapi::NAMES,
                );
            }
        }
    }

    /// `[stuck]`, its actions and overrides.
    fn check_stuck(&self, c: &mut Check) {
        let k = &self.stuck;
        c.range(
            "stuck",
            None,
            "idle_minutes",
            k.idle_minutes,
            1,
            365 * 24 * 60,
        );
        c.range(
            "stuck",
            None,
            "error_loop_count",
            k.error_loop_count as u64,
            1,
            1000,
        );
        c.range(
            "stuck",
            None,
            "waiting_after_secs",
            k.waiting_after_secs,
            0,
            30 * DAY_SECS,
        );
        c.range(
            "stuck",
            None,
            "orphan_grace_secs",
            k.orphan_grace_secs,
            0,
            30 * DAY_SECS,
        );
        c.range(
            "stuck",
            None,
            "tail_entries",
            k.tail_entries as u64,
            1,
            10_000,
        );
        c.range(
            "stuck",
            None,
            "extend_minutes",
            k.extend_minutes,
            1,
            365 * 24 * 60,
        );
        c.range(
            "stuck",
            None,
            "command_timeout_secs",
            k.command_timeout_secs,
            1,
            3600,
        );
        for (i, o) in k.overrides.iter().enumerate() {
            c.range(
                "stuck.overrides",
                Some(i),
                "idle_minutes",
                o.idle_minutes,
                1,
                365 * 24 * 60,
            );
        }
    }

    /// `[stuck.triage]`.
    fn check_stuck_triage(&self, c: &mut Check) {
        let t = &self.stuck.triage;
        c.range("stuck.triage", None, "timeout_secs", t.timeout_secs, 1, 600);
        c.range(
            "stuck.triage",
            None,
            "max_chars",
            t.max_chars as u64,
            100,
            1_000_000,
        );
        c.range(
            "stuck.triage",
            None,
            "max_tokens",
            t.max_tokens.into(),
            1,
            100_000,
        );
        c.range_f(
            "stuck.triage",
            None,
            "input_usd_per_mtok",
            t.input_usd_per_mtok,
            0.0,
            1e6,
        );
        c.range_f(
            "stuck.triage",
            None,
            "output_usd_per_mtok",
            t.output_usd_per_mtok,
            0.0,
            1e6,
        );
    }
}

/// The 1-based line of `key` in `table` (the `index`-th of an array of tables); the table's
/// header line when the key is not written there (a default, or an inline table); 1 when
/// neither is found.
fn locate(text: &str, table: &str, index: Option<usize>, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let header = |l: &str| -> Option<(String, bool)> {
        let t = l.trim();
        if let Some(x) = t.strip_prefix("[[").and_then(|x| x.split("]]").next()) {
            return Some((x.trim().to_string(), true));
        }
        let x = t.strip_prefix('[')?.split(']').next()?;
        Some((x.trim().to_string(), false))
    };
    let mut seen = 0usize;
    let mut start = None;
    for (n, l) in lines.iter().enumerate() {
        if let Some((name, _)) = header(l) {
            if name == table {
                if index.is_none_or(|i| i == seen) {
                    start = Some(n);
                    break;
                }
                seen += 1;
            }
        }
    }
    let Some(start) = start else {
        // A key of a sub-table written inline in its parent (`retention = { ... }`), or the
        // map of `tick.schedule`: the line that names the last part.
        let last = table.rsplit('.').next().unwrap_or(table);
        return lines
            .iter()
            .position(|l| l.trim_start().starts_with(last))
            .map(|n| n + 1)
            .unwrap_or(1);
    };
    for (n, l) in lines.iter().enumerate().skip(start + 1) {
        if header(l).is_some() {
            break;
        }
        let t = l.trim_start();
        if t.strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('='))
        {
            return n + 1;
        }
    }
    start + 1
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// The `[table]` header in force at 1-based `line`.
fn table_at(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter_map(|l| {
            let t = l.trim();
            let t = t
                .strip_prefix("[[")
                .and_then(|x| x.strip_suffix("]]"))
                .or_else(|| t.strip_prefix('[').and_then(|x| x.strip_suffix(']')))?;
            Some(t.trim().to_string())
        })
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_all_defaults() {
        let s = Settings::parse("").unwrap();
        assert_eq!(s.config.retention, Retention::default());
        assert_eq!(s.general.openclaw_bin, "openclaw");
    }

    #[test]
    fn unknown_key_is_named_with_line_and_table() {
        let err =
            Settings::parse("[config.retention]\nkeep_last = 3\nkep_daily = 2\n").unwrap_err();
        assert!(err.contains("kep_daily"), "{err}");
        assert!(err.starts_with("3:"), "{err}");
        assert!(err.contains("[config.retention]"), "{err}");
        let err = Settings::parse("[nonsense]\n").unwrap_err();
        assert!(err.contains("nonsense"), "{err}");
    }

    #[test]
    fn old_config_restart_keys_still_work_with_a_note() {
        let p = Path::new("/x/claw.toml");
        let t = "[config]\nrestart_command = [\"true\"]\nhealth_timeout_secs = 7\n\n[gateway]\nhealth_timeout_secs = 9\n";
        let mut s = Settings::parse(t).unwrap();
        s.apply_deprecated(t, p);
        assert_eq!(s.gateway.restart_command, vec!["true".to_string()]);
        assert_eq!(s.gateway.health_timeout_secs, 9);
        assert_eq!(s.deprecations.len(), 2, "{:?}", s.deprecations);
        assert!(s.deprecations[0]
            .contains("[config] restart_command is deprecated, move it to [gateway]"));
        assert!(s.deprecations[1].contains("ignored"));
    }

    #[test]
    fn probe_style_is_the_old_name_of_api() {
        let t = "[[rate_limit.probes]]\nprovider = \"a\"\nurl = \"http://x\"\nstyle = \"openai\"\n";
        let s = Settings::parse(t).unwrap();
        assert_eq!(s.rate_limit.probes[0].api, "openai");
        assert_eq!(
            s.deprecations,
            vec!["4: rate_limit.probes[0].style is deprecated, rename it to api".to_string()]
        );
        let s = Settings::parse(&format!("{t}api = \"anthropic\"\n")).unwrap();
        assert_eq!(s.rate_limit.probes[0].api, "anthropic");
        assert!(s.deprecations[0].ends_with("(ignored: api is set)"));
        // The one spelling checked: a bad old value is named as `api`.
        let err = Settings::parse(&t.replace("openai", "grpc")).unwrap_err();
        assert!(err.contains("rate_limit.probes[0].api = \"grpc\""), "{err}");
        let err = Settings::parse("[stuck.triage]\napi = \"x\"\n").unwrap_err();
        assert!(
            err.contains("expected one of \"anthropic\", \"openai\""),
            "{err}"
        );
    }

    #[test]
    fn bad_values_are_refused_at_load_naming_line_table_and_key() {
        for (text, line, want) in [
            ("[compaction_backup]\nzstd_level = 99\n", 2, "compaction_backup.zstd_level = 99: expected 1 .. 19 in [compaction_backup]"),
            ("[config.retention]\nhourly = 3\nkeep_last = 0\n", 3, "config.retention.keep_last = 0"),
            ("[compaction_backup]\nkeep_last = 0\n", 2, "compaction_backup.keep_last = 0"),
            ("[stuck]\n\nidle_minutes = 0\n", 3, "stuck.idle_minutes = 0"),
            ("[tunnel]\nmode = \"fast\"\n", 2, "tunnel.mode = \"fast\": expected one of \"quick\", \"named\" in [tunnel]"),
            ("[[tick.commands]]\nname = \"a\"\nschedule = \"5m\"\ncommand = [\"true\"]\n[[tick.commands]]\nname = \"b\"\nschedule = \"5m\"\ncommand = []\n", 8, "tick.commands[1].command = []"),
            ("[[alerts.sinks]]\nname = \"c\"\nkind = \"command\"\ncommand = []\n", 4, "alerts.sinks[0].command = []: expected a program and its arguments in [[alerts.sinks]]"),
            ("[tick.schedule]\ncost-track = \"every tuesday\"\n", 2, "tick.schedule.cost-track"),
            ("[cost]\ncost_mode = \"cheap\"\n", 2, "cost.cost_mode"),
            ("[[cost.budgets]]\nlimit_usd = 1.0\nwarn_percent = 150\n", 3, "cost.budgets[0].warn_percent = 150"),
            ("[rate_limit]\njournald = \"sometimes\"\n", 2, "rate_limit.journald"),
            ("[stuck.actions]\nidle = \"nuke\"\n", 2, "stuck.actions.idle = \"nuke\": expected one of \"report\", \"steer\", \"kill\", \"ladder\" in [stuck.actions]"),
            ("[digest]\nperiods = [\"daily\", \"hourly\"]\n", 2, "digest.periods = \"hourly\": expected one of \"daily\", \"weekly\" in [digest]"),
            ("[stuck.triage]\nenabled = true\napi = \"grpc\"\n", 3, "stuck.triage.api = \"grpc\": expected one of \"anthropic\", \"openai\" in [stuck.triage]"),
            ("[general]\ntimezone = \"Mars/Olympus\"\n", 2, "general.timezone = \"Mars/Olympus\": expected \"local\", an IANA zone name like \"Europe/Berlin\", \"UTC\" or an offset like \"+02:00\" in [general]"),
            ("[[cost.budgets]]\nlimit_tokens = 5\nlimit_usd = 1.0\n", 3, "cost.budgets[0].limit_usd = 1: set limit_usd or limit_tokens, not both"),
            ("[[cost.budgets]]\nperiod = \"weekly\"\nlimit_tokens = 5\ntokens = [\"input\", \"thinking\"]\n", 4, "cost.budgets[0].tokens = \"thinking\": expected one of"),
            ("[[cost.budgets]]\nlimit_tokens = 0\n", 1, "cost.budgets[0].limit_usd = 0"),
            ("[[cost.budgets]]\nlimit_usd = 1.0\ntokens = [\"input\", \"cache_read\"]\n", 3, "cost.budgets[0].tokens = [\"input\", \"cache_read\"]: only a token budget (limit_tokens) counts tokens in [[cost.budgets]]"),
            ("[cost]\nweek_start = \"Funday\"\n", 2, "cost.week_start = \"funday\": expected one of \"monday\", \"tuesday\""),
            ("[[cost.budgets]]\nlimit_usd = 1.0\n\n[[cost.budgets]]\nlimit_usd = 2.0\nperiod = \"hourly\"\n", 6, "cost.budgets[1].period = \"hourly\": expected one of \"daily\", \"weekly\", \"monthly\" in [[cost.budgets]]"),
            ("[rate_limit]\njournald = \"sometimes\"\n", 2, "rate_limit.journald = \"sometimes\": expected one of \"auto\", \"always\", \"off\" in [rate_limit]"),
            ("[cost]\ncost_mode = \"cheap\"\n", 2, "cost.cost_mode = \"cheap\": expected one of \"auto\", \"logged\", \"computed\" in [cost]"),
            ("[digest]\nperiods = [\"hourly\"]\n", 2, "digest.periods = \"hourly\""),
            ("[digest]\ntop = 0\n", 2, "digest.top = 0: expected 1 .. 50 in [digest]"),
            ("[digest]\nsinks = [\"slack\"]\n", 2, "digest.sinks = \"slack\": no [[alerts.sinks]] has this name"),
            ("[config]\nrestart_command = []\n", 2, "config.restart_command"),
            ("[alerts]\ntimeout_secs = 0\n", 2, "alerts.timeout_secs = 0"),
            // Not written at all but refused through another key's value: the table's line.
            ("[rate_limit]\ncooldown_secs = 9000\n", 1, "rate_limit.max_cooldown_secs = 3600: expected 9000"),
        ] {
            let err = Settings::parse(text).unwrap_err();
            assert!(err.starts_with(&format!("{line}: ")), "{text:?}: {err}");
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn choices_load_as_typed_values() {
        let t = "[cost]\ncost_mode = \"logged\"\nweek_start = \"Sunday\"\n\n[[cost.budgets]]\nperiod = \"monthly\"\nlimit_usd = 5.0\n\n[tunnel]\nmode = \"named\"\n\n[rate_limit]\njournald = \"always\"\n";
        let s = Settings::parse(t).unwrap();
        assert_eq!(s.cost.cost_mode, crate::pricing::CostMode::Logged);
        assert_eq!(s.cost.week_start, chrono::Weekday::Sun);
        assert_eq!(s.cost.budgets[0].period, crate::budgets::Kind::Monthly);
        assert_eq!(s.tunnel.mode, TunnelMode::Named);
        assert_eq!(s.rate_limit.journald, Journald::Always);
        let t = "[stuck.actions]\norphaned = \"ladder\"\n[stuck.triage]\napi = \"openai\"\n[digest]\nperiods = [\"weekly\", \"daily\"]\n";
        let s = Settings::parse(t).unwrap();
        assert_eq!(s.stuck.actions.orphaned, Policy::Ladder);
        let t = "[[cost.budgets]]\nlimit_tokens = 9\ntokens = [\"cache_write\", \"output\"]\n";
        let b = &Settings::parse(t).unwrap().cost.budgets[0];
        use crate::budgets::TokenKind;
        assert_eq!(b.tokens, [TokenKind::CacheWrite, TokenKind::Output]);
        assert_eq!(
            crate::budgets::scope(b),
            "daily tokens(cache_write+output) all"
        );
        assert_eq!(s.stuck.actions.idle, Policy::Report);
        assert_eq!(s.stuck.triage.api, crate::modelapi::Api::OpenAi);
        use crate::cli::DigestPeriod;
        assert_eq!(
            s.digest.periods,
            [DigestPeriod::Weekly, DigestPeriod::Daily]
        );
        let s = Settings::parse("[general]\ntimezone = \" Europe/Berlin \"\n").unwrap();
        let berlin = crate::zone::Zone::parse("Europe/Berlin").unwrap();
        assert_eq!(s.general.timezone.zone, berlin);
        assert_eq!(s.general.timezone.name, "Europe/Berlin");
        assert_eq!(Settings::parse("").unwrap().general.timezone.name, "local");
        // A choice of the wrong type is still serde's own line.
        let err = Settings::parse("[tunnel]\nmode = 3\n").unwrap_err();
        assert!(err.starts_with("2:8: invalid type: integer `3`"), "{err}");
    }

    #[test]
    fn a_huge_value_is_never_echoed_whole() {
        // 5 MB keeps the debug-build test quick; nothing in the path depends on the size.
        let big = "x".repeat(5 << 20);
        for text in [
            format!("[tunnel]\nmode = \"{big}\"\n"),
            format!("[compaction_backup]\nzstd_level = \"{big}\"\n"),
        ] {
            let err = Settings::parse(&text).unwrap_err();
            assert!(err.len() < 400, "{} bytes", err.len());
        }
    }

    #[test]
    fn example_file_parses_and_matches_defaults() {
        let text = include_str!("../examples/claw.example.toml");
        let s = Settings::parse(text).unwrap();
        assert_eq!(s.config.retention, Retention::default());
        assert_eq!(s.config.restart_command, None);
        assert_eq!(s.gateway, GatewayJob::default());
        assert_eq!(s.alerts, Alerts::default());
        assert_eq!(s.tick, Tick::default());
        assert_eq!(s.watch, Watch::default());
        assert_eq!(s.cost, CostJob::default());
        assert_eq!(s.compaction_backup, CompactionBackup::default());
        assert_eq!(s.tunnel, TunnelJob::default());
        assert_eq!(s.rate_limit, RateLimitJob::default());
        assert_eq!(s.stuck, StuckJob::default());
        assert_eq!(s.digest, Digest::default());
    }
}
