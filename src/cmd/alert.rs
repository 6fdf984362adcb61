//! `claw alert`: test the sinks, list recent alerts, and raise or clear one from a script
//! (with the same dedupe, cooldown and recovery as the jobs get).

use crate::cli::AlertCmd;
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::notify::{self, Alert, Raised, Severity};
use crate::output::{table, Outcome, SCHEMA_VERSION};
use anyhow::Result;
use serde_json::json;

pub fn command_name(c: &AlertCmd) -> &'static str {
    match c {
        AlertCmd::Test { .. } => "alert test",
        AlertCmd::List { .. } => "alert list",
        AlertCmd::Raise { .. } => "alert raise",
        AlertCmd::Clear { .. } => "alert clear",
        AlertCmd::Retry => "alert retry",
    }
}

pub fn run(ctx: &Ctx, cmd: &AlertCmd) -> Result<Outcome> {
    match cmd {
        AlertCmd::Test { sink } => test(ctx, sink.as_deref()),
        AlertCmd::List { limit } => list(ctx, *limit),
        AlertCmd::Raise {
            job,
            key,
            severity,
            text,
        } => {
            let severity = Severity::parse(severity).ok_or_else(|| {
                fail(
                    Code::Usage,
                    format!("--severity {severity}: expected info, warning or critical"),
                )
            })?;
            let ledger = ctx.ledger()?;
            let alert = Alert {
                job: job.clone(),
                severity,
                key: key.clone(),
                text: text.clone(),
            };
            let r = notify::raise(ctx, &ledger, &alert)?;
            let word = match r {
                Raised::Sent => "sent",
                Raised::Pending => "pending",
                Raised::Suppressed => "suppressed",
                Raised::DryRun => "dry-run",
            };
            Ok(Outcome::ok(format!("alert {job} [{key}]: {word}"))
                .with_detail(json!({"job": job, "key": key, "result": word})))
        }
        AlertCmd::Clear { job, key, text } => {
            let ledger = ctx.ledger()?;
            let was = notify::clear(ctx, &ledger, job, key, text)?;
            let word = if was { "recovered" } else { "not active" };
            Ok(Outcome::ok(format!("alert {job} [{key}]: {word}"))
                .with_detail(json!({"job": job, "key": key, "was_active": was})))
        }
        AlertCmd::Retry => {
            let ledger = ctx.ledger()?;
            let n = notify::retry_pending(ctx, &ledger)?;
            Ok(Outcome::ok(format!("{n} delayed deliveries sent")).with_detail(json!({"sent": n})))
        }
    }
}

fn test(ctx: &Ctx, only: Option<&str>) -> Result<Outcome> {
    let sinks = &ctx.settings.alerts.sinks;
    if sinks.is_empty() {
        return Err(fail(
            Code::Config,
            format!(
                "{}: no [[alerts.sinks]] configured",
                ctx.paths.settings.display()
            ),
        ));
    }
    if let Some(name) = only {
        if !sinks.iter().any(|s| s.name == name) {
            let names: Vec<&str> = sinks.iter().map(|s| s.name.as_str()).collect();
            return Err(fail(
                Code::Usage,
                format!("no sink named {name} (configured: {})", names.join(", ")),
            ));
        }
    }
    if ctx.dry_run {
        return Ok(Outcome::ok("dry run: no test message sent"));
    }
    let ledger = ctx.ledger()?;
    let results = notify::test(ctx, &ledger, only)?;
    let mut rows = vec![vec!["SINK".to_string(), "RESULT".into(), "DETAIL".into()]];
    for (name, ok, why) in &results {
        rows.push(vec![
            name.clone(),
            if *ok { "sent".into() } else { "FAILED".into() },
            why.clone(),
        ]);
    }
    let failed = results.iter().filter(|r| !r.1).count();
    let mut o = Outcome::ok(format!(
        "test message: {} sent, {failed} failed",
        results.len() - failed
    ))
    .with_text(table(&rows));
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "sinks": results.iter().map(|(n, ok, why)| json!({"sink": n, "ok": ok, "detail": why})).collect::<Vec<_>>(),
    }));
    if failed > 0 {
        o = o.finding();
    }
    Ok(o)
}

fn list(ctx: &Ctx, limit: usize) -> Result<Outcome> {
    let (rows, active) = if ctx.paths.ledger().exists() {
        let l = ctx.ledger()?;
        (notify::recent(&l, limit)?, notify::active(&l)?)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut text = String::new();
    if !active.is_empty() {
        let mut t = vec![vec![
            "ACTIVE SINCE".to_string(),
            "JOB".into(),
            "KEY".into(),
            "SEVERITY".into(),
            "TEXT".into(),
        ]];
        for a in &active {
            t.push(vec![
                a.since.clone(),
                a.job.clone(),
                a.key.clone(),
                a.severity.clone(),
                first_line(&a.text),
            ]);
        }
        text.push_str(&table(&t));
        text.push('\n');
    }
    if rows.is_empty() {
        text.push_str("no alerts yet\n");
    } else {
        let mut t = vec![vec![
            "TIME".to_string(),
            "JOB".into(),
            "KEY".into(),
            "KIND".into(),
            "SEVERITY".into(),
            "DELIVERY".into(),
            "TEXT".into(),
        ]];
        for r in &rows {
            let delivery: Vec<String> = r
                .deliveries
                .iter()
                .map(|d| {
                    let mut s = format!("{}:{}", d.sink, d.status);
                    if let Some(code) = d.http_status {
                        s.push_str(&format!("({code})"));
                    }
                    s
                })
                .collect();
            t.push(vec![
                r.created_at.clone(),
                r.job.clone(),
                r.key.clone(),
                r.kind.clone(),
                r.severity.clone(),
                if delivery.is_empty() {
                    "-".into()
                } else {
                    delivery.join(" ")
                },
                first_line(&r.text),
            ]);
        }
        text.push_str(&table(&t));
    }
    let mut o =
        Outcome::ok(format!("{} alerts, {} active", rows.len(), active.len())).with_text(text);
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "active": active,
        "alerts": rows,
    }));
    Ok(o)
}

fn first_line(s: &str) -> String {
    crate::redact::excerpt(s.lines().next().unwrap_or(""), 100)
}
