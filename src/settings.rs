//! claw's settings file (TOML): every knob of every job, each with a documented default.
//!
//! Unknown keys are an error naming the key and its line (exit 78): a typo in a budget or a
//! retention policy must never be silently ignored. `claw.example.toml` documents every key.

use crate::exit::{fail, Code};
use anyhow::Result;
use serde::Deserialize;
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
    pub stuck: StuckJob,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct General {
    /// The `openclaw` CLI used for schema refresh, `--with-openclaw` and job actions.
    pub openclaw_bin: String,
    /// Time zone for days and periods: `local` (as OpenClaw buckets days) or a fixed offset
    /// such as `+02:00` / `UTC`.
    pub timezone: String,
}

impl Default for General {
    fn default() -> Self {
        General {
            openclaw_bin: "openclaw".into(),
            timezone: "local".into(),
        }
    }
}

/// `[config]`: the config backup / validate / restore / heal job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigJob {
    /// JSON Schema to validate with instead of the cached one for the installed OpenClaw.
    pub schema: Option<String>,
    /// Command run by `restore --restart` and `heal --restart` (argv, no shell).
    pub restart_command: Vec<String>,
    /// Health URL checked after a restart; empty: `http://127.0.0.1:<gateway port>/health`.
    pub health_url: String,
    /// Seconds to wait for the gateway to answer its health check after a restart.
    pub health_timeout_secs: u64,
    /// Warn about secrets written in plain text where a `${VAR}` reference would do.
    pub warn_plaintext_secrets: bool,
    pub retention: Retention,
}

impl Default for ConfigJob {
    fn default() -> Self {
        ConfigJob {
            schema: None,
            restart_command: vec![
                "systemctl".into(),
                "--user".into(),
                "restart".into(),
                "openclaw-gateway.service".into(),
            ],
            health_url: String::new(),
            health_timeout_secs: 30,
            warn_plaintext_secrets: true,
            retention: Retention::default(),
        }
    }
}

/// `[cost]`: cost-track, the cost reports and budget-check.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CostJob {
    /// Which cost reports and budgets use: `auto` (the logged cost when present and non-zero,
    /// else claw's computed one, marked estimated), `logged` or `computed`.
    pub cost_mode: String,
    /// First day of a budget week: `monday` .. `sunday`.
    pub week_start: String,
    /// `[[cost.budgets]]`; none by default.
    pub budgets: Vec<Budget>,
}

impl Default for CostJob {
    fn default() -> Self {
        CostJob {
            cost_mode: "auto".into(),
            week_start: "monday".into(),
            budgets: Vec::new(),
        }
    }
}

/// One budget: a limit on spend in a period, for everything or one agent / provider / model.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    /// `daily`, `weekly` or `monthly`.
    pub period: String,
    /// The limit in USD for one period.
    pub limit_usd: f64,
    /// Percent of the limit at which the budget is at warning (default 80).
    pub warn_percent: u32,
    /// Only this agent's spend (empty: all agents).
    pub agent: String,
    /// Only this provider's spend (empty: all).
    pub provider: String,
    /// Only this model's spend (empty: all).
    pub model: String,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            period: "daily".into(),
            limit_usd: 0.0,
            warn_percent: 80,
            agent: String::new(),
            provider: String::new(),
            model: String::new(),
        }
    }
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
    pub idle: String,
    pub waiting_input: String,
    pub waiting_permission: String,
    pub error_loop: String,
    pub past_timeout: String,
    pub orphaned: String,
}

impl Default for StuckActions {
    fn default() -> Self {
        let r = || "report".to_string();
        StuckActions {
            idle: r(),
            waiting_input: r(),
            waiting_permission: r(),
            error_loop: r(),
            past_timeout: r(),
            orphaned: r(),
        }
    }
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
    pub api: String,
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
            api: "anthropic".into(),
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
        let text = match std::fs::read(path) {
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
        Self::parse(&text).map_err(|m| fail(Code::Config, format!("{}:{m}", path.display())))
    }

    /// Parse settings text; the error is `line:col: message` with the table named.
    pub fn parse(text: &str) -> std::result::Result<Settings, String> {
        toml::from_str::<Settings>(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            let table = table_at(text, line);
            let msg = e.message().replace('\n', " ");
            let msg = msg
                .replace("unknown field", "unknown key")
                .split(", expected")
                .next()
                .unwrap_or_default()
                .to_string();
            match table {
                Some(t) => format!("{line}:{col}: {msg} in [{t}]"),
                None => format!("{line}:{col}: {msg}"),
            }
        })
    }
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
    fn example_file_parses_and_matches_defaults() {
        let text = include_str!("../examples/claw.example.toml");
        let s = Settings::parse(text).unwrap();
        assert_eq!(s.config.retention, Retention::default());
        assert_eq!(
            s.config.restart_command,
            ConfigJob::default().restart_command
        );
        assert_eq!(s.alerts, Alerts::default());
        assert_eq!(s.tick, Tick::default());
        assert_eq!(s.watch, Watch::default());
        assert_eq!(s.cost, CostJob::default());
        assert_eq!(s.stuck, StuckJob::default());
    }
}
