//! The edges of rate-limit-detect: HALF-OPEN probes (a minimal model request or a command)
//! and the actions on trip and on recovery (abort subagent runs through the openclaw CLI,
//! operators' commands, alerts). Each action is recorded in `rl_actions`; under `--dry-run`
//! nothing runs and the exact commands are printed instead.

use super::breaker::{self, Breaker, ProbeResult, Signals};
use super::{ProbeRecord, JOB};
use crate::ctx::Ctx;
use crate::ledger::Ledger;
use crate::notify::{self, Alert, Severity};
use crate::openclaw::layout;
use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;

/// Probe a HALF-OPEN provider: its configured request or command, else the quiet rule.
/// `None` in a dry run when a probe would touch the network or run a command.
pub fn probe(
    ctx: &Ctx,
    scope: &str,
    cfg: &breaker::Config,
    sig: &Signals,
) -> Result<Option<ProbeRecord>> {
    let p = ctx
        .settings
        .rate_limit
        .probes
        .iter()
        .find(|p| p.provider == scope);
    let Some(p) = p else {
        return Ok(Some(ProbeRecord {
            scope: scope.into(),
            kind: "quiet",
            result: Breaker::quiet_probe(cfg, ctx.now, sig),
            status: None,
            retry_after_secs: None,
            input_tokens: 0,
            output_tokens: 0,
        }));
    };
    if ctx.dry_run {
        return Ok(None);
    }
    let timeout = std::time::Duration::from_secs(ctx.settings.rate_limit.timeout_secs.max(1));
    if !p.command.is_empty() {
        let (ok, why) = run_command(&p.command, timeout, &[]);
        return Ok(Some(ProbeRecord {
            scope: scope.into(),
            kind: "command",
            result: if ok {
                ProbeResult::Ok(why)
            } else {
                ProbeResult::Failed {
                    why,
                    retry_after_until: None,
                }
            },
            status: None,
            retry_after_secs: None,
            input_tokens: 0,
            output_tokens: 0,
        }));
    }
    Ok(Some(http_probe(ctx, scope, p, timeout)))
}

fn http_probe(
    ctx: &Ctx,
    scope: &str,
    p: &crate::settings::Probe,
    timeout: std::time::Duration,
) -> ProbeRecord {
    let mut rec = ProbeRecord {
        scope: scope.into(),
        kind: "http",
        result: ProbeResult::Ok(String::new()),
        status: None,
        retry_after_secs: None,
        input_tokens: 0,
        output_tokens: 0,
    };
    let key = if p.api_key_env.is_empty() {
        None
    } else {
        match std::env::var(&p.api_key_env) {
            Ok(k) if !k.is_empty() => Some(k),
            _ => {
                rec.result = ProbeResult::Failed {
                    why: format!("probe: environment variable {} is not set", p.api_key_env),
                    retry_after_until: None,
                };
                ctx.out.warn(&format!(
                    "rate_limit probe for {scope}: environment variable {} is not set",
                    p.api_key_env
                ));
                return rec;
            }
        }
    };
    // Settings are checked at load: an unknown api never gets here; Anthropic as before.
    let api = crate::modelapi::Api::parse(&p.api).unwrap_or(crate::modelapi::Api::Anthropic);
    let req = crate::modelapi::request(api, key.as_deref(), &p.model, 1, None, "ping");
    let resp =
        match crate::http::Client::new(timeout).post_json(&p.url, &req.header_refs(), &req.body) {
            Ok(r) => r,
            Err(e) => {
                rec.result = ProbeResult::Failed {
                    why: format!("probe request failed: {}", e.kind),
                    retry_after_until: None,
                };
                return rec;
            }
        };
    let (status, retry) = (resp.status, resp.retry_after);
    rec.status = Some(status);
    rec.retry_after_secs = retry;
    if let Some(v) = resp.json() {
        (rec.input_tokens, rec.output_tokens) = crate::modelapi::usage(&v);
    }
    rec.result = if (200..300).contains(&status) {
        ProbeResult::Ok(format!("HTTP {status}"))
    } else {
        ProbeResult::Failed {
            why: format!("HTTP {status}"),
            retry_after_until: retry.map(|s| ctx.now + Duration::seconds(s.min(86_400) as i64)),
        }
    };
    rec
}

/// Run argv (no shell) with a timeout; `(exit 0, what happened)`.
pub fn run_command(
    argv: &[String],
    timeout: std::time::Duration,
    env: &[(&str, String)],
) -> (bool, String) {
    let Some((bin, rest)) = argv.split_first() else {
        return (false, "empty command".into());
    };
    let mut c = Command::new(bin);
    c.args(rest);
    for (k, v) in env {
        c.env(k, v);
    }
    match crate::proc::run(c, &crate::proc::Opts::new(timeout)) {
        Err(e) => (false, format!("{bin}: cannot run: {e}")),
        Ok(f) => match f.status {
            Some(st) => (st.success(), format!("{bin}: {st}")),
            None => (
                false,
                format!("{bin}: killed after {} s", timeout.as_secs()),
            ),
        },
    }
}

/// Shell-quote one word for printing.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

pub fn shell_line(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

/// Subagent runs that have not ended, by session key, with the provider each runs on when
/// OpenClaw recorded it: `sessions.json` subagent entries with no `endedAt` and a non-final
/// status (`modelProvider`, else the `provider/` of `model`), and runs (SQLite era or
/// `runs.json`) not ended (the `provider/` of their `model`).
pub fn active_subagents(ctx: &Ctx) -> BTreeMap<String, Option<String>> {
    let mut keys: BTreeMap<String, Option<String>> = BTreeMap::new();
    let final_status = [
        "done", "failed", "killed", "timeout", "aborted", "ended", "error",
    ];
    if let Ok(agents) = layout::agents(&ctx.paths.openclaw_dir) {
        for a in agents {
            let Ok(text) = crate::safefs::read_to_string(a.store_path()) else {
                continue;
            };
            let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) else {
                ctx.out.warn(&format!(
                    "{}: not a session store; its subagents are not aborted",
                    a.store_path().display()
                ));
                continue;
            };
            for (k, e) in map {
                let ended = e.get("endedAt").is_some_and(|v| !v.is_null());
                let status = e.get("status").and_then(Value::as_str).unwrap_or("");
                if k.contains(":subagent:") && !ended && !final_status.contains(&status) {
                    let provider = e
                        .get("modelProvider")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .or_else(|| e.get("model").and_then(Value::as_str).and_then(provider_of));
                    let slot = keys.entry(k).or_default();
                    if slot.is_none() {
                        *slot = provider;
                    }
                }
            }
        }
    }
    // Runs of both eras (`state/openclaw.sqlite` on 2026.9.x, `runs.json` before): a run
    // with neither an end nor a terminal status is still a target.
    let (runs, problems) = crate::openclaw::subagents::read_all_runs(&ctx.paths.openclaw_dir);
    for p in problems {
        ctx.out.warn(&p);
    }
    for r in runs {
        if r.ended_at.is_none() && r.outcome_status.is_none() {
            let provider = r.model.as_deref().and_then(provider_of);
            let slot = keys.entry(r.child_session_key).or_default();
            if slot.is_none() {
                *slot = provider;
            }
        }
    }
    keys
}

/// `anthropic` of `anthropic/claude-sonnet-4-5` (OpenClaw's model refs are `provider/model`).
fn provider_of(model: &str) -> Option<String> {
    model
        .split_once('/')
        .map(|(p, _)| p.trim())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

/// Which running subagents a trip aborts: those on a provider whose breaker is open, and
/// those whose provider OpenClaw did not record (they may be on it; an abort is the safe side
/// of a storm). Subagents on providers that are not limited keep running; when no provider
/// is named (only the global breaker opened: events without a provider), all are aborted. Returns
/// `(abort, left running)`.
pub fn abort_targets(
    running: &BTreeMap<String, Option<String>>,
    limited: &BTreeSet<String>,
) -> (Vec<String>, Vec<String>) {
    let mut abort = Vec::new();
    let mut keep = Vec::new();
    for (k, p) in running {
        match p {
            Some(p) if !limited.is_empty() && !limited.contains(p) => keep.push(k.clone()),
            _ => abort.push(k.clone()),
        }
    }
    (abort, keep)
}

pub fn openclaw_argv(ctx: &Ctx, tail: &[&str]) -> Vec<String> {
    let mut v = vec![ctx.settings.general.openclaw_bin.clone()];
    if let Some(p) = &ctx.paths.profile {
        v.push("--profile".into());
        v.push(p.clone());
    }
    v.extend(tail.iter().map(|s| s.to_string()));
    v
}

fn record_action(
    ctx: &Ctx,
    ledger: &Ledger,
    phase: &str,
    action: &str,
    target: &str,
    ok: bool,
    detail: &str,
) -> Result<()> {
    let (at, target, detail) = (
        ctx.now_str(),
        crate::redact::redact_text(target),
        crate::redact::redact_text(detail),
    );
    let row = super::store::ActionRow {
        at: &at,
        phase,
        action,
        target: &target,
        ok,
        detail: &detail,
    };
    ledger.immediate(|tx| super::store::record_action(tx, &row))
}

/// Run (or, in a dry run, print) one command of an action; returns a line for the report
/// when something failed or in a dry run.
fn act(
    ctx: &Ctx,
    ledger: &Ledger,
    phase: &str,
    action: &str,
    argv: &[String],
) -> Result<Option<String>> {
    let line = shell_line(argv);
    if ctx.dry_run {
        return Ok(Some(format!("dry run: would run: {line}")));
    }
    let timeout = std::time::Duration::from_secs(ctx.settings.rate_limit.timeout_secs.max(1));
    let env = [(
        "CLAW_RATE_LIMIT_STATE",
        super::state_file(ctx).display().to_string(),
    )];
    let (ok, why) = run_command(argv, timeout, &env);
    record_action(ctx, ledger, phase, action, &line, ok, &why)?;
    Ok((!ok).then(|| format!("{phase} action failed: {line}: {why}")))
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(breaker::fmt).unwrap_or_else(|| "?".into())
}

/// The first breaker left CLOSED: abort subagents, run the trip commands, alert.
pub fn on_trip(
    ctx: &Ctx,
    ledger: &Ledger,
    after: &BTreeMap<String, Breaker>,
    cooldowns: &HashMap<String, (DateTime<Utc>, String)>,
) -> Result<Vec<String>> {
    let cfg = &ctx.settings.rate_limit;
    let mut lines = Vec::new();
    if cfg.abort_subagents {
        let limited: BTreeSet<String> = after
            .iter()
            .filter(|(s, b)| s.as_str() != super::GLOBAL && !b.is_closed())
            .map(|(s, _)| s.clone())
            .collect();
        let (targets, kept) = abort_targets(&active_subagents(ctx), &limited);
        if !kept.is_empty() {
            lines.push(format!(
                "abort_subagents: {} running subagent(s) on providers that are not limited left running: {}",
                kept.len(),
                kept.join(", ")
            ));
        }
        if targets.is_empty() && kept.is_empty() {
            // Said once per trip, so "nothing aborted" is never mistaken for "aborted".
            ctx.out.warn(&format!(
                "abort_subagents: no running subagent found in {} (sessions, runs.json, state/openclaw.sqlite); nothing aborted",
                ctx.paths.openclaw_dir.display()
            ));
            if !ctx.dry_run {
                record_action(
                    ctx,
                    ledger,
                    "trip",
                    "abort-subagent",
                    "-",
                    true,
                    "no running subagent found",
                )?;
            }
        }
        for key in targets {
            let params = serde_json::json!({ "key": key }).to_string();
            let argv = openclaw_argv(
                ctx,
                &[
                    "gateway",
                    "call",
                    "sessions.abort",
                    "--params",
                    &params,
                    "--json",
                ],
            );
            // Through openclaw::cli so the gateway's refusal (2026.7.1: unauthorized) is
            // recorded and shown, not just "exit status 1".
            let line = shell_line(&argv);
            if ctx.dry_run {
                lines.push(format!("dry run: would run: {line}"));
                continue;
            }
            let timeout = std::time::Duration::from_secs(cfg.timeout_secs.max(1));
            let r = crate::openclaw::cli::run(&argv, &ctx.paths.openclaw_dir, timeout)
                .map_err(|e| e.replace("{timeout}", "rate_limit.timeout_secs"));
            let why = r.as_ref().err().cloned().unwrap_or_default();
            record_action(
                ctx,
                ledger,
                "trip",
                "abort-subagent",
                &line,
                r.is_ok(),
                &why,
            )?;
            if let Err(e) = r {
                lines.push(format!("trip action failed: {line}: {e}"));
            }
        }
    }
    for argv in &cfg.trip_commands {
        lines.extend(act(ctx, ledger, "trip", "command", argv)?);
    }
    if cfg.alert {
        let open: Vec<String> = after
            .iter()
            .filter(|(_, b)| !b.is_closed())
            .map(|(s, b)| {
                let cd = cooldowns
                    .get(s)
                    .map(|c| format!("; cooldown {}", c.1))
                    .unwrap_or_default();
                format!("{s}: {} until {}{cd}", b.reason, when(b.until))
            })
            .collect();
        let alert = Alert {
            job: JOB.into(),
            severity: Severity::Critical,
            key: "breaker".into(),
            text: format!("Rate limited, circuit breaker open: {}", open.join("; ")),
        };
        let r = notify::raise(ctx, ledger, &alert)?;
        if !ctx.dry_run {
            record_action(
                ctx,
                ledger,
                "trip",
                "alert",
                "breaker",
                true,
                &format!("{r:?}"),
            )?;
        }
    }
    Ok(lines)
}

/// Every breaker is CLOSED again: the resume commands, once, and the recovery alert.
pub fn on_recovery(
    ctx: &Ctx,
    ledger: &Ledger,
    recoveries: &[(String, breaker::Recovery)],
) -> Result<Vec<String>> {
    let cfg = &ctx.settings.rate_limit;
    let mut lines = Vec::new();
    for argv in &cfg.resume_commands {
        lines.extend(act(ctx, ledger, "recovery", "command", argv)?);
    }
    if cfg.alert {
        let longest = recoveries
            .iter()
            .map(|(_, r)| r.duration_secs())
            .max()
            .unwrap_or(0);
        let text = format!(
            "Rate limit over: every breaker closed after {} min",
            (longest + 59) / 60
        );
        let sent = notify::clear(ctx, ledger, JOB, "breaker", &text)?;
        if !ctx.dry_run {
            record_action(
                ctx,
                ledger,
                "recovery",
                "alert",
                "breaker",
                true,
                &format!("sent={sent}"),
            )?;
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod abort_tests {
    use super::*;

    #[test]
    fn a_trip_aborts_subagents_on_limited_providers_and_unknown_ones_only() {
        let running: BTreeMap<String, Option<String>> = [
            ("a", Some("anthropic")),
            ("b", Some("openai")),
            ("c", None),
            ("d", Some("anthropic")),
        ]
        .into_iter()
        .map(|(k, p)| (k.to_string(), p.map(str::to_string)))
        .collect();
        let limited: BTreeSet<String> = ["anthropic".to_string()].into();
        let (abort, keep) = abort_targets(&running, &limited);
        assert_eq!(abort, ["a", "c", "d"]);
        assert_eq!(keep, ["b"]);
        // Nothing limited by name (only the global breaker): every one.
        let (abort, keep) = abort_targets(&running, &BTreeSet::new());
        assert_eq!(abort, ["a", "b", "c", "d"]);
        assert!(keep.is_empty());
        assert_eq!(
            provider_of("openrouter/deepseek/v3"),
            Some("openrouter".into())
        );
        assert_eq!(provider_of("gpt-5"), None);
    }
}
