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
    pub compaction_backup: CompactionBackup,
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

impl Settings {
    /// Load from `path`; a missing file gives the defaults unless it was named explicitly.
    pub fn load(path: &Path, explicit: bool) -> Result<Settings> {
        let text = match std::fs::read(path) {
            Ok(b) => String::from_utf8(b).map_err(|_| {
                fail(Code::Config, format!("{}: not valid UTF-8", path.display()))
            })?,
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
            let (line, col) = e
                .span()
                .map(|s| line_col(text, s.start))
                .unwrap_or((0, 0));
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
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// The `[table]` header in force at 1-based `line`.
fn table_at(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter_map(|l| {
            let t = l.trim();
            let t = t.strip_prefix("[[").and_then(|x| x.strip_suffix("]]")).or_else(|| {
                t.strip_prefix('[').and_then(|x| x.strip_suffix(']'))
            })?;
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
        let err = Settings::parse("[config.retention]\nkeep_last = 3\nkep_daily = 2\n").unwrap_err();
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
        assert_eq!(s.config.restart_command, ConfigJob::default().restart_command);
        assert_eq!(s.compaction_backup, CompactionBackup::default());
    }
}
