//! `claw gateway check`: watch the OpenClaw gateway itself. Every minute (tick): probe
//! `/health`; after `failures_before_restart` failed probes in a row run the restart command
//! (recorded in the ledger first) and wait for health, at most `max_restarts_per_hour`, then
//! hold and send one restart-loop alert with the gateway's last error lines. Every run also
//! audits exposure (bind and auth, what really listens, secrets in plain text, file modes,
//! and `openclaw security audit` when the CLI is there), free space and inodes, the
//! gateway's memory growth, and version drift against claw's cached schema.
//!
//! Shape: gather ([`health`], [`procfs`], [`exposure`], [`resources`], [`version`]) ->
//! decide ([`decide`], pure) -> record ([`store`]) -> act (restart) -> report. Silent and exit
//! 0 when all is well; exit 1 while the gateway is down or any finding stands.

pub mod decide;

use crate::cli::{GatewayCheckArgs, GatewayCmd};
use crate::ctx::Ctx;
use crate::gateway::{
    exposure, file_facts, health, load_config, procfs, resources, store, version,
};
use crate::ledger::Ledger;
use crate::notify::{self, Alert, Severity};
use crate::output::{Outcome, SCHEMA_VERSION};
use anyhow::Result;
use chrono::SecondsFormat;
use decide::Action;
use exposure::Finding;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The job name (as in `tick::JOBS`), also the alerts' job.
pub const JOB: &str = "gateway-check";

pub fn command_name(c: &GatewayCmd) -> &'static str {
    match c {
        GatewayCmd::Check(_) => "gateway check",
    }
}

pub fn run(ctx: &Ctx, c: &GatewayCmd) -> Result<Outcome> {
    match c {
        GatewayCmd::Check(a) => ctx.run_job(JOB, "gateway", |c, l| check(c, l, a)),
    }
}

/// What liveness came to in this run.
struct Live {
    url: String,
    probe: health::Probe,
    action: Action,
    restart: Option<health::Restarted>,
    up: bool,
    failures: u32,
    restarts_hour: u32,
}

/// The `openclaw security audit` part: fresh, reused from an earlier run, or why not.
struct OcAudit {
    status: &'static str,
    at: Option<String>,
    error: Option<String>,
    findings: Vec<Finding>,
}

/// What the run saw besides liveness.
struct Seen {
    cfg: Value,
    listeners: Vec<procfs::Listener>,
    pid: Option<i32>,
    facts: Option<procfs::ProcFacts>,
    rss: Option<u64>,
    baseline: Option<u64>,
    oc: OcAudit,
    findings: Vec<Finding>,
    fss: Vec<resources::Fs>,
    ver: Ver,
    rpc: Option<std::result::Result<(), String>>,
}

fn check(ctx: &Ctx, l: &Ledger, a: &GatewayCheckArgs) -> Result<Outcome> {
    let now = ctx.now_str();
    let prev = l.read(store::load)?.unwrap_or_default();
    let mut events: Vec<(String, String)> = Vec::new();
    let mut lines: Vec<String> = Vec::new();

    // Liveness: probe, decide, act.
    let live = liveness(ctx, l, a, &prev, &mut events, &mut lines)?;

    // Gather the rest (after a restart, so the process seen is the new one).
    let seen = gather(ctx, &prev, &live, &mut lines);

    // Record.
    let state = next_state(&now, &prev, &live, &seen)?;
    if !ctx.dry_run {
        l.immediate(|tx| store::commit(tx, &now, &state, &events))?;
    }

    // Alerts, after the commit.
    alert(ctx, l, &live, &prev, &seen.findings)?;

    // Report.
    Ok(report(ctx, &now, &prev, &live, &seen, lines))
}

/// Everything but liveness: the process, the exposure audits (claw's and OpenClaw's), disk,
/// memory growth, version drift and the RPC health call; findings the settings ignore are
/// dropped.
fn gather(ctx: &Ctx, prev: &store::State, live: &Live, lines: &mut Vec<String>) -> Seen {
    let g = &ctx.settings.gateway;
    let (cfg, cfg_problem) = load_config(&ctx.paths.config);
    let port = crate::openclaw::config::gateway_port(&ctx.paths.config);
    let listeners = procfs::listeners_on(port);
    let pid = listeners
        .iter()
        .find_map(|l| procfs::pid_of_socket(l.inode));
    let facts = pid.map(procfs::facts);
    let rss = facts.as_ref().and_then(|f| f.rss_bytes);
    let baseline = match (pid, prev.pid) {
        (Some(p), Some(q)) if i64::from(p) == q => {
            prev.rss_baseline_bytes.map(|b| b as u64).or(rss)
        }
        _ => rss,
    };
    let files = file_facts(ctx);
    let own = exposure::audit(&exposure::Inputs {
        cfg: &cfg,
        port,
        listeners: &listeners,
        files: &files,
    });
    let bin = version::which(&ctx.settings.general.openclaw_bin);
    let oc = openclaw_audit(ctx, prev, bin.as_deref());
    let mut findings = exposure::merge(own, &oc.findings);
    if let Some(p) = &cfg_problem {
        findings.push(Finding {
            id: "config.unreadable".into(),
            severity: Severity::Warning,
            message: format!("cannot read the config, exposure not audited: {p}"),
            fix: "claw config validate (and claw config heal)".into(),
            source: "claw",
        });
    }
    let fss = resources::measure(&fs_paths(ctx, &cfg));
    findings.extend(resources::judge(
        &fss,
        g.disk_warn_percent,
        g.disk_critical_percent,
    ));
    findings.extend(resources::rss_growth(
        baseline,
        rss,
        g.rss_growth_warn_percent,
        g.rss_min_mib,
    ));
    let ver = version_drift(ctx, &mut findings, lines);
    let rpc = if g.rpc_health && live.up {
        bin.as_deref().map(|b| rpc_health(ctx, b))
    } else {
        None
    };
    if let Some(Err(e)) = &rpc {
        findings.push(Finding {
            id: "gateway.rpc_unhealthy".into(),
            severity: Severity::Warning,
            message: format!("/health answers but `openclaw gateway call health` fails: {e}"),
            fix: "openclaw gateway status; openclaw logs".into(),
            source: "claw",
        });
    }
    findings.retain(|f| !g.ignore_findings.contains(&f.id));
    Seen {
        cfg,
        listeners,
        pid,
        facts,
        rss,
        baseline,
        oc,
        findings,
        fss,
        ver,
        rpc,
    }
}

/// The state the next run starts from (pure).
fn next_state(now: &str, prev: &store::State, live: &Live, seen: &Seen) -> Result<store::State> {
    Ok(store::State {
        status: if live.up { "up" } else { "down" }.into(),
        consecutive_failures: live.failures,
        last_ok_at: if live.up {
            Some(now.to_string())
        } else {
            prev.last_ok_at.clone()
        },
        last_failure_at: if live.probe.ok {
            prev.last_failure_at.clone()
        } else {
            Some(now.to_string())
        },
        last_error: if live.up {
            None
        } else {
            Some(live.probe.error.clone())
        },
        pid: seen.pid.map(i64::from),
        rss_baseline_bytes: seen.baseline.map(|b| b as i64),
        rss_bytes: seen.rss.map(|b| b as i64),
        openclaw_version: seen.ver.installed.clone().or(prev.openclaw_version.clone()),
        audit_at: seen.oc.at.clone(),
        audit_json: Some(serde_json::to_string(&seen.oc.findings)?),
        findings: seen.findings.iter().map(|f| f.id.clone()).collect(),
    })
}

/// The text (new findings after the liveness lines), `--json`, the summary and the figures.
fn report(
    ctx: &Ctx,
    now: &str,
    prev: &store::State,
    live: &Live,
    seen: &Seen,
    mut lines: Vec<String>,
) -> Outcome {
    let findings = &seen.findings;
    for f in findings {
        if !prev.findings.contains(&f.id) {
            lines.push(format!(
                "{} {}: {}\n  fix: {}",
                f.severity.as_str(),
                f.id,
                f.message,
                f.fix
            ));
        }
    }
    // A restart is news even when it worked.
    let bad = !live.up || live.restart.is_some() || !findings.is_empty();
    let summary = format!(
        "gateway {} at {}; {} finding(s); {} restart(s) in the last hour",
        if live.up { "up" } else { "down" },
        live.url,
        findings.len(),
        live.restarts_hour
    );
    let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    let mut o = Outcome::ok(summary)
        .with_detail(json!({
            "up": live.up,
            "action": action_json(live),
            "findings": ids,
        }))
        .with_text(lines.join("\n"));
    o = metrics(o, live, findings, &seen.fss, seen.facts.as_ref(), &seen.ver);
    o.json = Some(report_json(ctx, now, live, seen, bad));
    if bad {
        o = o.finding();
    }
    o
}

fn report_json(ctx: &Ctx, now: &str, live: &Live, seen: &Seen, bad: bool) -> Value {
    let g = &ctx.settings.gateway;
    let exp = exposure::exposure(&seen.cfg);
    let (oc, ver, facts) = (&seen.oc, &seen.ver, &seen.facts);
    json!({
        "schema_version": SCHEMA_VERSION,
        "command": "gateway check",
        "exit_code": if bad { 1 } else { 0 },
        "now": now,
        "health": {
            "url": live.url,
            "up": live.up,
            "probe_ok": live.probe.ok,
            "http_status": live.probe.status,
            "elapsed_ms": live.probe.elapsed.as_millis() as u64,
            "error": (!live.probe.ok).then(|| live.probe.error.clone()),
            "consecutive_failures": live.failures,
        },
        "action": action_json(live),
        "restarts_last_hour": live.restarts_hour,
        "max_restarts_per_hour": g.max_restarts_per_hour,
        "process": {
            "pid": seen.pid,
            "rss_bytes": seen.rss,
            "rss_baseline_bytes": seen.baseline,
            "uptime_secs": facts.as_ref().and_then(|f| f.uptime_secs),
            "listeners": seen.listeners.iter().map(|l| format!("{}:{}", l.addr, l.port)).collect::<Vec<_>>(),
        },
        "exposure": {
            "bind": exp.bind,
            "non_loopback": exp.non_loopback,
            "auth_mode": exp.auth_mode,
            "verdict": exp.verdict(),
        },
        "findings": seen.findings,
        "openclaw_audit": {"status": oc.status, "at": oc.at, "error": oc.error},
        "filesystems": seen.fss.iter().map(|f| json!({
            "holds": f.holds,
            "path": f.path,
            "total_bytes": f.total_bytes,
            "avail_bytes": f.avail_bytes,
            "free_ratio": f.free_ratio(),
            "inodes_free_ratio": f.inodes_free_ratio(),
        })).collect::<Vec<_>>(),
        "version": {
            "installed": ver.installed,
            "source": ver.source,
            "schema": ver.schema,
            "drift": ver.drift,
            "refreshed": ver.refreshed,
        },
        "rpc_health": seen.rpc.as_ref().map(|r| json!({"ok": r.is_ok(), "error": r.as_ref().err()})),
    })
}

fn liveness(
    ctx: &Ctx,
    l: &Ledger,
    a: &GatewayCheckArgs,
    prev: &store::State,
    events: &mut Vec<(String, String)>,
    lines: &mut Vec<String>,
) -> Result<Live> {
    let url = health::url(ctx, a.health_url.as_deref());
    // Held until the restart (if any) is over.
    let (probe, action, restarts_hour, _restarting) = probe_and_decide(ctx, l, a, prev, &url)?;
    let mut live = Live {
        url,
        up: probe.ok,
        probe,
        action,
        restart: None,
        failures: 0,
        restarts_hour,
    };
    act(ctx, l, prev, &mut live, events, lines)?;
    Ok(live)
}

/// Probe `/health`, count the restarts of the last hour and decide. A restart runs under the
/// restart lock `config heal --restart` takes too. Held: another claw run is restarting the
/// gateway now, so this one does not (no alert; the next run sees how it went). Taken: probe
/// and count again under it, since a restart that just ended may have brought the gateway
/// back or spent the budget; the guard is returned to be held through the restart.
fn probe_and_decide(
    ctx: &Ctx,
    l: &Ledger,
    a: &GatewayCheckArgs,
    prev: &store::State,
    url: &str,
) -> Result<(health::Probe, Action, u32, Option<crate::lock::JobLock>)> {
    let g = &ctx.settings.gateway;
    let probe_timeout = Duration::from_secs(g.probe_timeout_secs.max(1));
    let mut probe = health::probe(url, probe_timeout);
    let hour_ago =
        (ctx.now - chrono::Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut restarts_hour = l.read(|c| store::restarts_since(c, &hour_ago))?;
    let facts = |probe_ok, restarts_last_hour| decide::Facts {
        probe_ok,
        prev_failures: prev.consecutive_failures,
        failures_before_restart: g.failures_before_restart,
        restarts_last_hour,
        max_restarts_per_hour: g.max_restarts_per_hour,
        may_restart: g.auto_restart && !a.no_restart,
        has_command: !g.restart_command.is_empty(),
    };
    let mut action = decide::decide(facts(probe.ok, restarts_hour));
    let mut restarting = None;
    if let (Action::Restart { failures }, false) = (&action, ctx.dry_run) {
        let failures = *failures;
        match crate::gateway::restart_lock(ctx, Duration::ZERO) {
            Ok(guard) => {
                restarting = Some(guard);
                probe = health::probe(url, probe_timeout);
                restarts_hour = l.read(|c| store::restarts_since(c, &hour_ago))?;
                action = decide::decide(facts(probe.ok, restarts_hour));
            }
            Err(e) if crate::exit::code_of(&e) == crate::exit::Code::TempFail => {
                action = Action::Busy {
                    failures,
                    holder: format!("{e:#}"),
                };
            }
            Err(e) => return Err(e),
        }
    }
    Ok((probe, action, restarts_hour, restarting))
}

/// Act on the decision: restart (recorded first), or note why not; the events to record and
/// the lines to print.
fn act(
    ctx: &Ctx,
    l: &Ledger,
    prev: &store::State,
    live: &mut Live,
    events: &mut Vec<(String, String)>,
    lines: &mut Vec<String>,
) -> Result<()> {
    let g = &ctx.settings.gateway;
    let (url, error) = (live.url.clone(), live.probe.error.clone());
    match live.action.clone() {
        Action::Healthy => {
            if prev.status == "down" {
                lines.push(format!("gateway answers again at {url}"));
            }
        }
        Action::Wait { failures, needed } => {
            live.failures = failures;
            events.push(("probe-failed".into(), error.clone()));
            lines.push(format!(
                "gateway does not answer {url} ({error}); failed check {failures} of {needed} before a restart"
            ));
        }
        Action::Restart { failures } => {
            live.failures = failures;
            let cmd = g.restart_command.join(" ");
            if ctx.dry_run {
                lines.push(format!(
                    "dry run: would restart the gateway with `{cmd}` ({url}: {error})"
                ));
                return Ok(());
            }
            // Recorded before it runs: a run killed mid-restart still counts it.
            let why = format!("{failures} failed checks: {error}");
            l.immediate(|tx| store::event(tx, &ctx.now_str(), "restart", &why))?;
            let r = health::restart_and_wait(ctx, &url)?;
            live.restarts_hour += 1;
            let ev = if r.healthy {
                "restart-ok"
            } else {
                "restart-failed"
            };
            events.push((ev.into(), r.message.clone()));
            lines.push(format!(
                "gateway did not answer {url} ({error}) for {failures} check(s); {}",
                r.message
            ));
            if r.healthy {
                live.up = true;
                live.failures = 0;
            }
            live.restart = Some(r);
        }
        Action::Busy { failures, holder } => {
            live.failures = failures;
            events.push(("restart-busy".into(), holder.clone()));
            lines.push(format!(
                "gateway does not answer {url} ({error}); another claw run is restarting it, not restarting ({holder})"
            ));
        }
        Action::Hold { failures, restarts } => {
            live.failures = failures;
            events.push((
                "restart-held".into(),
                format!("{restarts} restarts in the last hour"),
            ));
            lines.push(format!(
                "gateway does not answer {url} ({error}); {restarts} restart(s) in the last hour, limit {}: not restarting",
                g.max_restarts_per_hour
            ));
        }
        Action::Report { failures, why } => {
            live.failures = failures;
            events.push(("probe-failed".into(), error.clone()));
            lines.push(format!(
                "gateway does not answer {url} ({error}) for {failures} check(s); {why}"
            ));
        }
    }
    Ok(())
}

fn action_json(live: &Live) -> Value {
    let (kind, detail) = match &live.action {
        Action::Healthy => ("none", json!(null)),
        Action::Wait { failures, needed } => {
            ("wait", json!({"failures": failures, "needed": needed}))
        }
        Action::Restart { failures } => ("restart", json!({"failures": failures})),
        Action::Busy { failures, holder } => {
            ("busy", json!({"failures": failures, "holder": holder}))
        }
        Action::Hold { failures, restarts } => {
            ("hold", json!({"failures": failures, "restarts": restarts}))
        }
        Action::Report { failures, why } => ("report", json!({"failures": failures, "why": why})),
    };
    json!({
        "kind": kind,
        "detail": detail,
        "restart": live.restart.as_ref().map(|r| json!({
            "healthy": r.healthy,
            "message": r.message,
            "waited_secs": (r.waited_secs * 10.0).round() / 10.0,
        })),
    })
}

/// Raise, notice and clear: the liveness alerts, then one per finding.
fn alert(
    ctx: &Ctx,
    l: &Ledger,
    live: &Live,
    prev: &store::State,
    findings: &[Finding],
) -> Result<()> {
    alert_liveness(ctx, l, live)?;
    for f in findings {
        notify::raise(
            ctx,
            l,
            &mk_alert(
                f.severity,
                &format!("finding:{}", f.id),
                format!("gateway: {}; fix: {}", f.message, f.fix),
            ),
        )?;
    }
    for id in &prev.findings {
        if !findings.iter().any(|f| &f.id == id) {
            notify::clear(
                ctx,
                l,
                JOB,
                &format!("finding:{id}"),
                &format!("gateway: {id} resolved"),
            )?;
        }
    }
    Ok(())
}

fn mk_alert(severity: Severity, key: &str, text: String) -> Alert {
    Alert {
        job: JOB.into(),
        severity,
        key: key.into(),
        text,
    }
}

/// `down` while the gateway does not answer (with the restart loop when restarts are on
/// hold), a notice for a restart that worked, and both cleared once it answers.
fn alert_liveness(ctx: &Ctx, l: &Ledger, live: &Live) -> Result<()> {
    let url = &live.url;
    let down = |extra: &str| {
        let text = format!(
            "gateway down: {url} does not answer ({}) for {} check(s){extra}",
            live.probe.error, live.failures
        );
        notify::raise(ctx, l, &mk_alert(Severity::Critical, "down", text)).map(|_| ())
    };
    let recovered = |how: &str| -> Result<()> {
        notify::clear(
            ctx,
            l,
            JOB,
            "down",
            &format!("gateway recovered{how}: {url} answers again"),
        )?;
        notify::clear(
            ctx,
            l,
            JOB,
            "restart-loop",
            "gateway restart loop over: it answers again",
        )?;
        Ok(())
    };
    match (&live.action, &live.restart) {
        (Action::Healthy, _) => recovered(""),
        (Action::Restart { .. }, Some(r)) if r.healthy => {
            let text = format!(
                "gateway restarted: {url} did not answer ({}) for {} check(s); {}",
                live.probe.error, live.failures, r.message
            );
            notify::notice(ctx, l, &mk_alert(Severity::Warning, "restarted", text))?;
            recovered(" after a restart")
        }
        (Action::Restart { .. }, Some(r)) => down(&format!("; {}", r.message)),
        (Action::Hold { restarts, .. }, _) => {
            down("; restarts on hold")?;
            let errs = health::last_error_lines(ctx, 5);
            let tail = if errs.is_empty() {
                "no error lines found in the gateway's log or journal".to_string()
            } else {
                format!("last error lines:\n{}", errs.join("\n"))
            };
            let text = format!(
                "gateway restart loop: {restarts} restart(s) in the last hour did not keep {url} up; claw stops restarting until fewer than {} fall in the last hour; {tail}",
                ctx.settings.gateway.max_restarts_per_hour
            );
            notify::raise(ctx, l, &mk_alert(Severity::Critical, "restart-loop", text))?;
            Ok(())
        }
        (Action::Report { why, .. }, _) => down(&format!("; {why}")),
        // Waiting for the next check, or a dry run.
        _ => Ok(()),
    }
}

/// `openclaw security audit --json`, at most once per interval (it takes about 10 s); the
/// findings of the last run are reused in between.
fn openclaw_audit(ctx: &Ctx, prev: &store::State, bin: Option<&Path>) -> OcAudit {
    let interval = ctx.settings.gateway.security_audit_interval_secs;
    let reuse = |status| OcAudit {
        status,
        at: prev.audit_at.clone(),
        error: None,
        findings: prev
            .audit_json
            .as_deref()
            .and_then(|j| serde_json::from_str::<Vec<Value>>(j).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(stored_finding)
            .collect(),
    };
    if interval == 0 {
        return OcAudit {
            status: "off",
            at: None,
            error: None,
            findings: Vec::new(),
        };
    }
    let Some(bin) = bin else {
        return OcAudit {
            status: "no-cli",
            at: None,
            error: None,
            findings: Vec::new(),
        };
    };
    let fresh = prev
        .audit_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| {
            let age = ctx.now.signed_duration_since(t).num_seconds();
            (0..interval.min(i64::MAX as u64) as i64).contains(&age)
        });
    if fresh {
        return reuse("cached");
    }
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["security", "audit", "--json"])
        .env("OPENCLAW_STATE_DIR", &ctx.paths.openclaw_dir)
        .env("OPENCLAW_CONFIG_PATH", &ctx.paths.config);
    let r = crate::proc::run(
        cmd,
        &crate::proc::Opts::new(Duration::from_secs(
            ctx.settings.gateway.command_timeout_secs.max(1),
        ))
        .capture(4 << 20),
    );
    let parsed = match r {
        Ok(f) if f.timed_out() => Err(f.describe()),
        Ok(f) => exposure::parse_openclaw_audit(&String::from_utf8_lossy(&f.stdout))
            .map_err(|e| format!("{e} ({})", f.describe())),
        Err(e) => Err(e.to_string()),
    };
    match parsed {
        Ok(findings) => OcAudit {
            status: "ran",
            at: Some(ctx.now_str()),
            error: None,
            findings,
        },
        // Not retried every minute: the next try comes after the interval.
        Err(e) => OcAudit {
            status: "error",
            at: Some(ctx.now_str()),
            error: Some(crate::redact::redact_text(&format!(
                "{} security audit --json: {e}",
                bin.display()
            ))),
            findings: Vec::new(),
        },
    }
}

fn stored_finding(v: &Value) -> Option<Finding> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    Some(Finding {
        id: s("id")?,
        severity: Severity::parse(&s("severity")?)?,
        message: s("message").unwrap_or_default(),
        fix: s("fix").unwrap_or_default(),
        source: "openclaw",
    })
}

/// The filesystems to watch: OpenClaw's state, claw's state, the gateway's log directory.
fn fs_paths(ctx: &Ctx, cfg: &Value) -> Vec<(&'static str, PathBuf)> {
    let mut v = vec![
        ("openclaw", ctx.paths.openclaw_dir.clone()),
        ("claw state", ctx.paths.state.clone()),
    ];
    let g = &ctx.settings.gateway;
    let log = if !g.log_dir.is_empty() {
        Some(PathBuf::from(&g.log_dir))
    } else if let Some(f) = cfg.pointer("/logging/file").and_then(Value::as_str) {
        Path::new(f).parent().map(Path::to_path_buf)
    } else {
        crate::openclaw::gatewaylog::default_dirs()
            .into_iter()
            .find(|d| d.is_dir())
    };
    if let Some(d) = log {
        v.push(("gateway logs", d));
    }
    v
}

/// What the version check found.
struct Ver {
    installed: Option<String>,
    source: Option<&'static str>,
    schema: Option<String>,
    drift: bool,
    refreshed: bool,
}

/// Installed OpenClaw vs claw's cached schema; refresh the schema when they differ (or none
/// is cached), else a finding that says how.
fn version_drift(ctx: &Ctx, findings: &mut Vec<Finding>, lines: &mut Vec<String>) -> Ver {
    let inst = version::installed(ctx);
    let schema = version::cached_schema(&ctx.paths.state);
    let mut v = Ver {
        installed: inst.as_ref().map(|i| i.0.clone()),
        source: inst.as_ref().map(|i| i.1),
        schema: schema.clone(),
        drift: false,
        refreshed: false,
    };
    let Some((installed, _)) = inst else {
        return v;
    };
    if schema.as_deref() == Some(installed.as_str()) || ctx.settings.config.schema.is_some() {
        return v;
    }
    v.drift = true;
    let was = schema
        .as_deref()
        .map(|s| format!("cached schema is {s}"))
        .unwrap_or_else(|| "no schema cached".into());
    if !ctx.settings.gateway.refresh_schema || ctx.dry_run {
        findings.push(Finding {
            id: "openclaw.schema_drift".into(),
            severity: Severity::Warning,
            message: format!(
                "OpenClaw {installed} is installed but {was}: config validation uses other rules than the gateway"
            ),
            fix: "claw config schema refresh".into(),
            source: "claw",
        });
        return v;
    }
    match crate::openclaw::schema::refresh(
        &ctx.settings.general.openclaw_bin,
        &crate::openclaw::schema::cache_dir(&ctx.paths.state),
        &ctx.now_str(),
        false,
    ) {
        Ok(_) => {
            v.refreshed = true;
            v.schema = Some(installed.clone());
            lines.push(format!(
                "OpenClaw {installed} installed ({was}): cached its schema"
            ));
        }
        Err(e) => findings.push(Finding {
            id: "openclaw.schema_drift".into(),
            severity: Severity::Warning,
            message: format!(
                "OpenClaw {installed} is installed but {was}, and refreshing failed: {}",
                crate::redact::redact_text(&format!("{e:#}"))
            ),
            fix: "claw config schema refresh".into(),
            source: "claw",
        }),
    }
    v
}

/// `openclaw gateway call health --json`: Ok when it exits 0 within the timeout.
fn rpc_health(ctx: &Ctx, bin: &Path) -> std::result::Result<(), String> {
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["gateway", "call", "health", "--json"])
        .env("OPENCLAW_STATE_DIR", &ctx.paths.openclaw_dir)
        .env("OPENCLAW_CONFIG_PATH", &ctx.paths.config);
    match crate::proc::run(
        cmd,
        &crate::proc::Opts::new(Duration::from_secs(
            ctx.settings.gateway.command_timeout_secs.max(1),
        ))
        .capture(1 << 20),
    ) {
        Ok(f) if f.success() => Ok(()),
        Ok(f) => Err(crate::redact::redact_text(&f.describe())),
        Err(e) => Err(e.to_string()),
    }
}

/// The job's figures; names and help live in `crate::metrics::REGISTRY`.
fn metrics(
    mut o: Outcome,
    live: &Live,
    findings: &[Finding],
    fss: &[resources::Fs],
    facts: Option<&procfs::ProcFacts>,
    ver: &Ver,
) -> Outcome {
    let b = |x: bool| if x { 1.0 } else { 0.0 };
    o = o
        .metric("gateway_up", &[], b(live.up))
        .metric(
            "gateway_probe_duration_seconds",
            &[],
            live.probe.elapsed.as_secs_f64(),
        )
        .metric(
            "gateway_consecutive_failures",
            &[],
            f64::from(live.failures),
        )
        .count(
            "gateway_restarts_total",
            &[],
            if live.restart.is_some() { 1.0 } else { 0.0 },
        )
        .metric(
            "gateway_restarts_last_hour",
            &[],
            f64::from(live.restarts_hour),
        )
        .metric(
            "gateway_restart_held",
            &[],
            b(matches!(live.action, Action::Hold { .. })),
        )
        .metric("gateway_version_drift", &[], b(ver.drift && !ver.refreshed));
    for sev in [Severity::Warning, Severity::Critical] {
        let n = findings.iter().filter(|f| f.severity == sev).count();
        o = o.metric(
            "gateway_exposure_findings",
            &[("kind", sev.as_str())],
            n as f64,
        );
    }
    if let Some(r) = facts.and_then(|f| f.rss_bytes) {
        o = o.metric("gateway_resident_memory_bytes", &[], r as f64);
    }
    if let Some(u) = facts.and_then(|f| f.uptime_secs) {
        o = o.metric("gateway_uptime_seconds", &[], u as f64);
    }
    // One series per role (a label value from a small fixed set), even when roles share a
    // filesystem.
    for f in fss {
        for role in f.holds.split(", ") {
            let kind = role.replace(' ', "_");
            let l = [("kind", kind.as_str())];
            o = o
                .metric("gateway_fs_avail_bytes", &l, f.avail_bytes as f64)
                .metric("gateway_fs_size_bytes", &l, f.total_bytes as f64)
                .metric("gateway_fs_inodes_free_ratio", &l, f.inodes_free_ratio());
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(ok: bool, up: bool, failures: u32) -> Live {
        Live {
            url: "http://127.0.0.1:18789/health".into(),
            probe: health::Probe {
                ok,
                status: None,
                elapsed: Duration::from_millis(5),
                error: if ok { String::new() } else { "refused".into() },
            },
            action: Action::Healthy,
            restart: None,
            up,
            failures,
            restarts_hour: 0,
        }
    }

    fn seen(pid: Option<i32>, findings: &[&str]) -> Seen {
        Seen {
            cfg: json!({}),
            listeners: vec![],
            pid,
            facts: None,
            rss: Some(200),
            baseline: Some(100),
            oc: OcAudit {
                status: "off",
                at: None,
                error: None,
                findings: vec![],
            },
            findings: findings
                .iter()
                .map(|id| Finding {
                    id: id.to_string(),
                    severity: Severity::Warning,
                    message: String::new(),
                    fix: String::new(),
                    source: "claw",
                })
                .collect(),
            fss: vec![],
            ver: Ver {
                installed: None,
                source: None,
                schema: None,
                drift: false,
                refreshed: false,
            },
            rpc: None,
        }
    }

    #[test]
    fn the_next_state_keeps_what_this_run_did_not_see() {
        let prev = store::State {
            status: "up".into(),
            last_ok_at: Some("t0".into()),
            last_failure_at: Some("t-1".into()),
            openclaw_version: Some("2026.9.6".into()),
            ..Default::default()
        };
        // Down: the last ok time and the version stay, the failure and error are now.
        let s = next_state("t1", &prev, &live(false, false, 2), &seen(None, &[])).unwrap();
        assert_eq!(s.status, "down");
        assert_eq!(s.consecutive_failures, 2);
        assert_eq!(s.last_ok_at.as_deref(), Some("t0"));
        assert_eq!(s.last_failure_at.as_deref(), Some("t1"));
        assert_eq!(s.last_error.as_deref(), Some("refused"));
        assert_eq!(s.openclaw_version.as_deref(), Some("2026.9.6"));
        assert_eq!(s.audit_json.as_deref(), Some("[]"));
        // A failed probe brought back by a restart: up now, but the failure is recorded.
        let s = next_state("t2", &prev, &live(false, true, 0), &seen(Some(7), &["a.b"])).unwrap();
        assert_eq!(s.status, "up");
        assert_eq!(s.last_ok_at.as_deref(), Some("t2"));
        assert_eq!(s.last_failure_at.as_deref(), Some("t2"));
        assert_eq!(s.last_error, None);
        assert_eq!(
            (s.pid, s.rss_baseline_bytes, s.rss_bytes),
            (Some(7), Some(100), Some(200))
        );
        assert_eq!(s.findings, ["a.b"]);
        // Healthy: the previous failure time stays.
        let s = next_state("t3", &prev, &live(true, true, 0), &seen(None, &[])).unwrap();
        assert_eq!(s.last_failure_at.as_deref(), Some("t-1"));
    }
}
