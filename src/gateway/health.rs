//! Liveness: where the gateway answers, one probe, and the one restart path every claw job
//! uses (`gateway check` and `config heal --restart`): the command from `[gateway]` with a
//! timeout, then `/health` polled until it answers. A restart is done when the gateway
//! answers, not when the command returned 0.

use crate::ctx::Ctx;
use std::time::{Duration, Instant};

/// The health URL: `--health-url` / `CLAW_GATEWAY_HEALTH_URL`, else `[gateway] health_url`,
/// else `http://127.0.0.1:<port>/health` with the port as OpenClaw resolves it.
pub fn url(ctx: &Ctx, flag: Option<&str>) -> String {
    if let Some(u) = flag.filter(|u| !u.trim().is_empty()) {
        return u.trim().to_string();
    }
    if let Ok(u) = std::env::var("CLAW_GATEWAY_HEALTH_URL") {
        if !u.trim().is_empty() {
            return u.trim().to_string();
        }
    }
    if !ctx.settings.gateway.health_url.trim().is_empty() {
        return ctx.settings.gateway.health_url.trim().to_string();
    }
    let port = crate::openclaw::config::gateway_port(&ctx.paths.config);
    format!("http://127.0.0.1:{port}/health")
}

/// What one probe saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub ok: bool,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    pub elapsed: Duration,
    /// Why it is not ok (redacted), empty when ok.
    pub error: String,
}

/// Judge an answer: a 2xx whose JSON (when it is JSON) does not say `"ok": false`.
/// OpenClaw answers `{"ok":true,"status":"live"}`.
pub fn judge(status: u16, body: &str) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}"));
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
        if v.get("ok") == Some(&serde_json::Value::Bool(false)) {
            let st = v.get("status").and_then(|s| s.as_str()).unwrap_or("not ok");
            return Err(format!("HTTP {status} but the gateway says {st:?}"));
        }
    }
    Ok(())
}

/// One GET with `timeout` for the whole request.
pub fn probe(url: &str, timeout: Duration) -> Probe {
    let t = Instant::now();
    match crate::http::Client::new(timeout).get(url, &[]) {
        Ok(r) => {
            let j = judge(r.status, &r.body);
            Probe {
                ok: j.is_ok(),
                status: Some(r.status),
                elapsed: t.elapsed(),
                error: j.err().unwrap_or_default(),
            }
        }
        Err(e) => Probe {
            ok: false,
            status: None,
            elapsed: t.elapsed(),
            error: if e.kind == "Io" && t.elapsed() + Duration::from_millis(50) >= timeout {
                format!("no answer within {} s", timeout.as_secs_f64())
            } else {
                e.to_string()
            },
        },
    }
}

/// How a restart went.
#[derive(Debug, Clone)]
pub struct Restarted {
    /// The gateway answered its health check before the deadline.
    pub healthy: bool,
    /// One line: what the command did and what health said.
    pub message: String,
    /// Seconds from running the command to the first healthy answer (or the deadline).
    pub waited_secs: f64,
}

/// Run `[gateway] restart_command` (with its timeout), then poll `url` until it answers or
/// `health_timeout_secs` pass. `Err` only when the command cannot be started at all.
pub fn restart_and_wait(ctx: &Ctx, url: &str) -> anyhow::Result<Restarted> {
    let g = &ctx.settings.gateway;
    let Some((prog, args)) = g.restart_command.split_first() else {
        return Err(crate::exit::fail(
            crate::exit::Code::Config,
            format!(
                "{}: [gateway] restart_command is empty",
                ctx.paths.settings.display()
            ),
        ));
    };
    let shown = g.restart_command.join(" ");
    let started = Instant::now();
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args);
    let fin = crate::proc::run(
        cmd,
        // It may start the gateway in the background and exit (a script, `nohup ... &`).
        &crate::proc::Opts::new(Duration::from_secs(g.command_timeout_secs.max(1))).leaves_daemon(),
    )
    .map_err(|e| {
        crate::exit::fail(
            crate::exit::Code::IoErr,
            format!("{prog}: cannot run the restart command: {e}"),
        )
    })?;
    if !fin.success() {
        return Ok(Restarted {
            healthy: false,
            message: format!(
                "restart command `{shown}` failed ({})",
                crate::redact::redact_text(&fin.describe())
            ),
            waited_secs: started.elapsed().as_secs_f64(),
        });
    }
    let deadline = started + Duration::from_secs(g.health_timeout_secs);
    let per = Duration::from_secs(g.probe_timeout_secs.clamp(1, 5));
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let p = probe(url, per.min(left.max(Duration::from_millis(200))));
        if p.ok {
            let waited = started.elapsed().as_secs_f64();
            return Ok(Restarted {
                healthy: true,
                message: format!(
                    "restarted with `{shown}`; {url} answers after {}",
                    secs(waited)
                ),
                waited_secs: waited,
            });
        }
        if Instant::now() >= deadline {
            return Ok(Restarted {
                healthy: false,
                message: format!(
                    "restarted with `{shown}` but {url} still does not answer after {} s ({})",
                    g.health_timeout_secs, p.error
                ),
                waited_secs: started.elapsed().as_secs_f64(),
            });
        }
        std::thread::sleep(Duration::from_millis(250).min(left));
    }
}

/// `3.2 s`.
pub fn secs(s: f64) -> String {
    format!("{:.1} s", s)
}

/// The last error lines the gateway wrote (newest log file first, then journald), for a
/// restart-loop alert; redacted, at most `n`, each cut to 200 characters.
pub fn last_error_lines(ctx: &Ctx, n: usize) -> Vec<String> {
    let g = &ctx.settings.gateway;
    let dirs = if g.log_dir.is_empty() {
        crate::openclaw::gatewaylog::default_dirs()
    } else {
        vec![std::path::PathBuf::from(&g.log_dir)]
    };
    let logging_file = crate::safefs::read_to_string(&ctx.paths.config)
        .ok()
        .and_then(|t| crate::openclaw::config::parse_json5(&t).ok())
        .and_then(|v| {
            v.pointer("/logging/file")
                .and_then(|f| f.as_str())
                .map(std::path::PathBuf::from)
        });
    let mut files = crate::openclaw::gatewaylog::find_files(
        &dirs,
        logging_file.as_deref(),
        ctx.paths.profile.as_deref(),
    );
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let mut out = Vec::new();
    if let Some(newest) = files.last() {
        out = error_lines_of(&tail(newest, 256 * 1024), n);
    }
    if out.is_empty() && !g.journalctl_bin.is_empty() {
        out = journal_errors(ctx, n);
    }
    out
}

fn tail(path: &std::path::Path, max: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut buf = Vec::new();
    let _ = f.take(max).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// ERROR and FATAL lines of a log tail (either line shape), newest last.
pub fn error_lines_of(text: &str, n: usize) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let p = crate::openclaw::gatewaylog::parse_line(l.as_bytes()).ok()?;
            let lvl = p.level.as_deref().unwrap_or("").to_ascii_uppercase();
            if lvl != "ERROR" && lvl != "FATAL" {
                return None;
            }
            let msg = match &p.subsystem {
                Some(s) => format!("[{s}] {}", p.message),
                None => p.message.clone(),
            };
            Some(cut(&crate::redact::redact_text(&msg), 200))
        })
        .collect();
    let skip = out.len().saturating_sub(n);
    out.drain(..skip);
    out
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(max).collect::<String>())
    }
}

fn journal_errors(ctx: &Ctx, n: usize) -> Vec<String> {
    let g = &ctx.settings.gateway;
    let unit = if g.journald_unit.is_empty() {
        match &ctx.paths.profile {
            Some(p) => format!("openclaw-gateway-{p}.service"),
            None => "openclaw-gateway.service".into(),
        }
    } else {
        g.journald_unit.clone()
    };
    let mut cmd = std::process::Command::new(&g.journalctl_bin);
    cmd.args([
        "--user",
        "-u",
        &unit,
        "-p",
        "err",
        "-n",
        &n.to_string(),
        "-o",
        "cat",
        "--no-pager",
    ]);
    match crate::proc::run(
        cmd,
        &crate::proc::Opts::new(Duration::from_secs(10)).capture(64 * 1024),
    ) {
        Ok(f) if f.success() => String::from_utf8_lossy(&f.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("-- "))
            .map(|l| cut(&crate::redact::redact_text(l), 200))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_judged() {
        assert!(judge(200, r#"{"ok":true,"status":"live"}"#).is_ok());
        assert!(judge(204, "").is_ok());
        assert_eq!(judge(503, "x").unwrap_err(), "HTTP 503");
        assert!(judge(200, r#"{"ok":false,"status":"draining"}"#)
            .unwrap_err()
            .contains("draining"));
    }

    #[test]
    fn error_lines_from_both_log_shapes() {
        let log = r#"{"0":"{\"subsystem\":\"gateway\"}","1":"listening","_meta":{"logLevelName":"INFO"},"time":"2026-05-04T17:48:04.402+02:00"}
{"0":"{\"subsystem\":\"gateway\"}","1":"EADDRINUSE: address already in use 127.0.0.1:18789","_meta":{"logLevelName":"ERROR"},"time":"2026-05-04T17:48:05.402+02:00"}
not json at all
{"time":"2026-05-04T17:48:06Z","level":"fatal","subsystem":"config","message":"Invalid config: Unrecognized key \"x\""}
"#;
        let l = error_lines_of(log, 5);
        assert_eq!(l.len(), 2, "{l:?}");
        assert_eq!(
            l[0],
            "[gateway] EADDRINUSE: address already in use 127.0.0.1:18789"
        );
        assert!(l[1].contains("Invalid config"));
        assert_eq!(error_lines_of(log, 1).len(), 1);
    }
}
