//! `claw doctor`: check what breaks these jobs in practice, print a table (or `--json`), and
//! exit 1 on any problem. Read-only apart from a probe file in the state and collector dirs.

use crate::ctx::Ctx;
use crate::output::{table, Outcome, SCHEMA_VERSION};
use anyhow::Result;
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Problem,
    /// Worth knowing, not a failure of claw's setup (exit stays 0).
    Warn,
    /// Not configured or not applicable here.
    Skip,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Problem => "PROBLEM",
            Status::Warn => "warn",
            Status::Skip => "skip",
        }
    }
}

struct Check {
    name: String,
    status: Status,
    detail: String,
}

fn check(name: impl Into<String>, r: std::result::Result<String, String>) -> Check {
    let (status, detail) = match r {
        Ok(d) => (Status::Ok, d),
        Err(d) => (Status::Problem, d),
    };
    Check {
        name: name.into(),
        status,
        detail,
    }
}

fn warn(name: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        status: Status::Warn,
        detail: detail.into(),
    }
}

fn skip(name: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        status: Status::Skip,
        detail: detail.into(),
    }
}

pub fn run(ctx: &Ctx) -> Result<Outcome> {
    let mut checks = Vec::new();
    let p = &ctx.paths;

    checks.push(check(
        "openclaw dir",
        if p.openclaw_dir.is_dir() {
            Ok(p.openclaw_dir.display().to_string())
        } else {
            Err(format!("{}: not found", p.openclaw_dir.display()))
        },
    ));
    checks.push(check("openclaw config", config_readable(&p.config)));
    checks.push(check("state dir", dir_writable(&p.state, true)));
    checks.push(check(
        "ledger",
        ctx.ledger()
            .map(|_| {
                format!(
                    "{} (schema {})",
                    p.ledger().display(),
                    crate::ledger::LATEST
                )
            })
            .map_err(|e| format!("{e:#}")),
    ));
    checks.push(check(
        "schedule",
        crate::jobs::check_schedules(ctx)
            .map(|n| format!("{n} jobs scheduled by claw tick"))
            .map_err(|e| format!("{e:#}")),
    ));
    checks.push(check("openclaw on cron PATH", openclaw_on_path(ctx)));
    checks.extend(gateway(ctx));
    checks.push(scheduler(ctx));
    let units = installed_units();
    checks.extend(timers_enabled(&units));
    checks.extend(unit_path(ctx, &units));
    checks.push(scheduled_state_dir(ctx, &units));
    if ctx.settings.watch.textfile_dir.is_empty() {
        checks.push(skip("collector dir", "[watch] textfile_dir not set"));
    } else {
        checks.push(check(
            "collector dir",
            dir_writable(Path::new(&ctx.settings.watch.textfile_dir), false),
        ));
    }
    if ctx.settings.alerts.sinks.is_empty() {
        checks.push(skip(
            "alert sinks",
            "no [[alerts.sinks]]: alerts are recorded only",
        ));
    }
    for s in &ctx.settings.alerts.sinks {
        checks.push(check(
            format!("sink {}", s.name),
            crate::notify::check_sink(ctx, s)
                .map(|_| format!("{} secret present", s.kind.as_str())),
        ));
    }
    for (job, r) in &ctx.settings.watch.pings {
        checks.push(check(
            format!("ping {job}"),
            match crate::watch::resolve_secret(ctx, r.url_env.as_deref(), r.url_file.as_deref()) {
                Ok(Some(_)) => Ok("URL present".into()),
                Ok(None) => Err("needs url_env or url_file".into()),
                Err(e) => Err(e),
            },
        ));
    }

    let problems = checks
        .iter()
        .filter(|c| c.status == Status::Problem)
        .count();
    let mut rows = vec![vec!["CHECK".to_string(), "STATUS".into(), "DETAIL".into()]];
    for c in &checks {
        rows.push(vec![
            c.name.clone(),
            c.status.as_str().into(),
            crate::redact::redact_text(&c.detail),
        ]);
    }
    let mut o = Outcome::ok(format!("{} checks, {problems} problems", checks.len()))
        .with_text(table(&rows));
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "ok": problems == 0,
        "checks": checks.iter().map(|c| json!({
            "check": c.name,
            "status": c.status.as_str().to_ascii_lowercase(),
            "detail": crate::redact::redact_text(&c.detail),
        })).collect::<Vec<_>>(),
    }));
    if problems > 0 {
        o = o.finding();
    }
    Ok(o)
}

fn config_readable(path: &Path) -> std::result::Result<String, String> {
    let text = crate::safefs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8(text).map_err(|_| format!("{}: not UTF-8", path.display()))?;
    crate::openclaw::config::parse_json5(&text)
        .map(|_| path.display().to_string())
        .map_err(|e| format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message))
}

/// Whether claw can create files in `dir` (creating it when `create`).
fn dir_writable(dir: &Path, create: bool) -> std::result::Result<String, String> {
    if create {
        crate::atomic::create_private_dir(dir).map_err(|e| format!("{e:#}"))?;
    } else if !dir.is_dir() {
        return Err(format!("{}: not a directory", dir.display()));
    }
    let probe = dir.join(format!(".claw-doctor-{}", std::process::id()));
    std::fs::write(&probe, b"probe")
        .map_err(|e| format!("{}: not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(dir.display().to_string())
}

/// Cron runs jobs with PATH=/usr/bin:/bin unless the crontab sets PATH; the OpenClaw CLI is
/// often in ~/.local/bin or a node prefix. Checked against the PATH cron would use when a
/// crontab names claw, else against this PATH.
fn openclaw_on_path(ctx: &Ctx) -> std::result::Result<String, String> {
    let bin = &ctx.settings.general.openclaw_bin;
    let (path, from) = match crontab_text().as_deref().and_then(cron_path) {
        Some(p) => (p, "the crontab's PATH"),
        None if crontab_text().map(|t| t.contains("claw")).unwrap_or(false) => {
            ("/usr/bin:/bin".to_string(), "cron's default PATH")
        }
        None => (std::env::var("PATH").unwrap_or_default(), "PATH"),
    };
    match which(bin, &path) {
        Some(p) => Ok(format!("{} (via {from})", p.display())),
        None => Err(format!(
            "{bin} not found on {from} ({path}); set PATH in the crontab or [general] openclaw_bin to an absolute path"
        )),
    }
}

fn which(bin: &str, path: &str) -> Option<PathBuf> {
    let b = Path::new(bin);
    if b.is_absolute() {
        return b.is_file().then(|| b.to_path_buf());
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

fn crontab_text() -> Option<String> {
    let mut cmd = std::process::Command::new("crontab");
    cmd.arg("-l");
    // Bounded: a crontab that waits on a locked spool must not hang doctor.
    let o = crate::proc::run(
        cmd,
        &crate::proc::Opts::new(std::time::Duration::from_secs(10)).capture(1 << 20),
    )
    .ok()?;
    o.success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

fn cron_path(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("PATH="))
        .map(|p| p.trim().trim_matches('"').to_string())
}

/// Something must run claw: installed systemd timers (user or system) or a crontab line.
fn scheduler(ctx: &Ctx) -> Check {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let user_dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".config")))
        .map(|d| d.join("systemd/user"));
    let mut found = Vec::new();
    for dir in user_dir
        .into_iter()
        .chain([PathBuf::from("/etc/systemd/system")])
    {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            let mut timers: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("claw-") && n.ends_with(".timer"))
                .collect();
            timers.sort();
            if !timers.is_empty() {
                found.push(format!("{}: {}", dir.display(), timers.join(", ")));
            }
        }
    }
    if let Some(t) = crontab_text() {
        if t.lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("claw"))
        {
            found.push("crontab".into());
        }
    }
    let _ = ctx;
    check(
        "timers installed",
        if found.is_empty() {
            Err(
                "no claw-*.timer unit and no crontab line runs claw (see scripts/install.sh)"
                    .into(),
            )
        } else {
            Ok(found.join("; "))
        },
    )
}

/// The gateway section: up or down, version, bind/auth verdict, and the schema claw validates
/// with. Only an exposed gateway is a problem; down or drifting is for `gateway check`.
fn gateway(ctx: &Ctx) -> Vec<Check> {
    use crate::gateway::{exposure, health, load_config, version};
    let mut out = Vec::new();
    let url = health::url(ctx, None);
    let p = health::probe(
        &url,
        std::time::Duration::from_secs(ctx.settings.gateway.probe_timeout_secs.clamp(1, 5)),
    );
    out.push(if p.ok {
        check("gateway", Ok(format!("up at {url}")))
    } else {
        warn(
            "gateway",
            format!(
                "down: {url}: {} (`claw gateway check` restarts it)",
                p.error
            ),
        )
    });
    let installed = version::installed(ctx);
    out.push(match &installed {
        Some((v, from)) => check(
            "gateway version",
            Ok(format!("OpenClaw {v} (from the {from})")),
        ),
        None => skip("gateway version", "openclaw CLI not found: version unknown"),
    });
    let (cfg, problem) = load_config(&ctx.paths.config);
    out.push(match problem {
        Some(p) => skip("gateway exposure", format!("config unreadable: {p}")),
        None => {
            let e = exposure::exposure(&cfg);
            let what = format!("bind {}, auth {}: {}", e.bind, e.auth_mode, e.verdict());
            if e.non_loopback && e.open() {
                check(
                    "gateway exposure",
                    Err(format!("{what}; set gateway.auth.mode \"token\" with a token from the environment, or gateway.bind \"loopback\"")),
                )
            } else {
                check("gateway exposure", Ok(what))
            }
        }
    });
    let cached = version::cached_schema(&ctx.paths.state);
    out.push(match (&cached, &installed) {
        (None, _) if ctx.settings.config.schema.is_some() => {
            check("schema cached", Ok("[config] schema set".into()))
        }
        (None, _) => warn(
            "schema cached",
            "no cached OpenClaw schema: validation uses structural checks only; run `claw config schema refresh`",
        ),
        (Some(c), Some((i, _))) if c != i => warn(
            "schema cached",
            format!("OpenClaw {c} schema cached but {i} installed; run `claw config schema refresh`"),
        ),
        (Some(c), _) => check("schema cached", Ok(format!("OpenClaw {c}"))),
    });
    out
}
/// Where claw's timer units are installed: (user units?, dir, timer file names).
fn installed_units() -> Vec<(bool, PathBuf, Vec<String>)> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let user_dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".config")))
        .map(|d| d.join("systemd/user"));
    let mut out = Vec::new();
    let dirs = user_dir
        .into_iter()
        .map(|d| (true, d))
        .chain([(false, PathBuf::from("/etc/systemd/system"))]);
    for (user, dir) in dirs {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut timers: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("claw-") && n.ends_with(".timer"))
            .collect();
        timers.sort();
        if !timers.is_empty() {
            out.push((user, dir, timers));
        }
    }
    out
}

/// `systemctl [--user] ARGS`, bounded; None when systemd cannot be asked (no systemctl, no
/// user session, a container without systemd).
fn systemctl(user: bool, args: &[&str]) -> Option<(bool, String)> {
    let mut cmd = std::process::Command::new("systemctl");
    if user {
        cmd.arg("--user");
    }
    cmd.args(args);
    let f = crate::proc::run(
        cmd,
        &crate::proc::Opts::new(std::time::Duration::from_secs(5)).capture(64 * 1024),
    )
    .ok()?;
    let out = String::from_utf8_lossy(&f.stdout).trim().to_string();
    // is-enabled/is-active answer on stdout even when they exit non-zero; no answer at all
    // means systemd was not reachable.
    if out.is_empty() && !f.success() {
        return None;
    }
    Some((f.success(), out))
}

/// Installed is not running: every claw timer must be enabled and active.
fn timers_enabled(units: &[(bool, PathBuf, Vec<String>)]) -> Vec<Check> {
    let mut out = Vec::new();
    for (user, dir, timers) in units {
        let scope = if *user { "user" } else { "system" };
        let name = format!("{scope} timers enabled");
        if systemctl(*user, &["show-environment"]).is_none() {
            out.push(skip(
                name,
                format!(
                    "{}: cannot ask systemd ({scope} manager not reachable)",
                    dir.display()
                ),
            ));
            continue;
        }
        let mut bad = Vec::new();
        for t in timers {
            let enabled = systemctl(*user, &["is-enabled", t]).map(|(_, s)| s);
            let active = systemctl(*user, &["is-active", t]).map(|(_, s)| s);
            let (e, a) = (
                enabled.unwrap_or_else(|| "unknown".into()),
                active.unwrap_or_else(|| "unknown".into()),
            );
            if e != "enabled" || a != "active" {
                bad.push(format!("{t} is {e}/{a}"));
            }
        }
        let flag = if *user { "--user " } else { "" };
        out.push(check(
            name,
            if bad.is_empty() {
                Ok(format!("{} enabled and active", timers.join(", ")))
            } else {
                Err(format!(
                    "{} (run: systemctl {flag}enable --now <timer>)",
                    bad.join("; ")
                ))
            },
        ));
    }
    out
}

/// The PATH a unit's jobs run with is the service manager's, not this shell's: look for
/// `openclaw` there.
fn unit_path(ctx: &Ctx, units: &[(bool, PathBuf, Vec<String>)]) -> Vec<Check> {
    // systemd's built-in default for services.
    const SYSTEMD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    let bin = &ctx.settings.general.openclaw_bin;
    let mut out = Vec::new();
    for (user, _, _) in units {
        let scope = if *user { "user" } else { "system" };
        let (path, from) = match systemctl(*user, &["show-environment"]) {
            Some((true, env)) => match env.lines().find_map(|l| l.strip_prefix("PATH=")) {
                Some(p) => (p.to_string(), format!("the {scope} manager's PATH")),
                None => (SYSTEMD_PATH.to_string(), "systemd's default PATH".into()),
            },
            _ => (SYSTEMD_PATH.to_string(), "systemd's default PATH".into()),
        };
        out.push(check(
            format!("openclaw on {scope} unit PATH"),
            match which(bin, &path) {
                Some(p) => Ok(format!("{} (via {from})", p.display())),
                None => Err(format!(
                    "{bin} not found on {from} ({path}); add Environment=PATH=... to the units or set [general] openclaw_bin to an absolute path"
                )),
            },
        ));
    }
    out
}

/// The scheduled jobs write their ledger where their unit or cron line says; a doctor (or
/// status) reading another state dir would show an empty ledger.
fn scheduled_state_dir(ctx: &Ctx, units: &[(bool, PathBuf, Vec<String>)]) -> Check {
    let mut dirs: Vec<(String, PathBuf)> = Vec::new();
    for (user, dir, _) in units {
        let d = if *user {
            // StateDirectory=claw of a user manager: $XDG_STATE_HOME/claw.
            std::env::var_os("XDG_STATE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
                .map(|d| d.join("claw"))
        } else {
            Some(PathBuf::from("/var/lib/claw"))
        };
        if let Some(d) = d {
            dirs.push((format!("units in {}", dir.display()), d));
        }
    }
    if let Some(t) = crontab_text() {
        if t.lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("claw"))
        {
            let explicit = t
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("CLAW_STATE_DIR="))
                .map(|p| PathBuf::from(p.trim().trim_matches('"')));
            let d = explicit.or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/claw"))
            });
            if let Some(d) = d {
                dirs.push(("the crontab".into(), d));
            }
        }
    }
    if dirs.is_empty() {
        return skip("scheduled state dir", "no claw timer or crontab line found");
    }
    let here = &ctx.paths.state;
    let other: Vec<String> = dirs
        .iter()
        .filter(|(_, d)| d != here)
        .map(|(from, d)| format!("{from} use {}", d.display()))
        .collect();
    check(
        "scheduled state dir",
        if other.is_empty() {
            Ok(format!("{} (the same as this run)", here.display()))
        } else {
            Err(format!(
                "{}, this run reads {}: pass --state-dir to see their ledger",
                other.join("; "),
                here.display()
            ))
        },
    )
}
