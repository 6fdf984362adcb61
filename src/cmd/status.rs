//! `claw status`: the last run of each job, from the ledger.

use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::output::{Align, Outcome, Table, SCHEMA_VERSION};
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &Ctx, check: bool) -> Result<Outcome> {
    // A mistyped --state-dir must not read as "nothing ran yet".
    if !ctx.paths.state.is_dir() {
        return Err(fail(
            Code::NoInput,
            format!(
                "{}: claw state dir does not exist (no job has run with this state dir)",
                ctx.paths.state.display()
            ),
        ));
    }
    let runs = if ctx.paths.ledger().exists() {
        ctx.ledger()?.last_runs()?
    } else {
        Vec::new()
    };
    let mut t = Table::new(&[
        ("JOB", Align::Left),
        ("STARTED", Align::Left),
        ("ENDED", Align::Left),
        ("EXIT", Align::Right),
        ("SUMMARY", Align::Left),
    ]);
    for r in &runs {
        t.row(vec![
            r.job.clone(),
            r.started_at.clone(),
            r.ended_at
                .clone()
                .unwrap_or_else(|| "(running or interrupted)".into()),
            r.exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            r.summary.clone().unwrap_or_default(),
        ]);
    }
    let mut text = if runs.is_empty() {
        "no job has run yet\n".to_string()
    } else {
        t.render()
    };
    if check {
        return check_overdue(ctx);
    }
    // Degradation levels, as rate-limit-detect last wrote them to its state file.
    let rl = rate_limit_levels(ctx);
    if let Some((line, _)) = &rl {
        text.push_str(line);
        text.push('\n');
    }
    let mut o = Outcome::ok(format!("{} jobs", runs.len())).with_text(text);
    let mut doc = json!({"schema_version": SCHEMA_VERSION, "jobs": runs});
    if let Some((_, v)) = rl {
        doc["rate_limit"] = v;
    }
    o.json = Some(doc);
    Ok(o)
}

/// `status --check`: one line per overdue job, exit 1 when there is any; silent otherwise.
fn check_overdue(ctx: &Ctx) -> Result<Outcome> {
    let ledger = ctx.ledger()?;
    let overdue = crate::jobs::overdue(ctx, &ledger)?;
    let lines: Vec<String> = overdue
        .iter()
        .map(|(job, why)| format!("overdue: {job}: {why}"))
        .collect();
    let mut o = Outcome::ok(format!("{} jobs overdue", overdue.len())).with_text(lines.join("\n"));
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "overdue": overdue.iter().map(|(job, why)| json!({"job": job, "reason": why})).collect::<Vec<_>>(),
    }));
    if !overdue.is_empty() {
        o = o.finding();
    }
    Ok(o)
}

/// `rate limit: minimal; anthropic degraded (2 changes to undo)` and its JSON, from the
/// rate-limit state file (`rate_limit.state_file`, default `<claw state>/rate-limit.json`);
/// None before rate-limit-detect ever wrote one.
fn rate_limit_levels(ctx: &Ctx) -> Option<(String, serde_json::Value)> {
    let s = &ctx.settings.rate_limit.state_file;
    let path = if s.is_empty() {
        ctx.paths.state.join("rate-limit.json")
    } else {
        std::path::PathBuf::from(s)
    };
    let v: serde_json::Value =
        serde_json::from_str(&crate::safefs::read_to_string(&path).ok()?).ok()?;
    let level = v.get("level")?.as_str()?.to_string();
    let none = serde_json::Map::new();
    let outstanding = v
        .get("outstandingChanges")
        .and_then(|o| o.as_object())
        .unwrap_or(&none);
    let mut parts = Vec::new();
    let mut providers = serde_json::Map::new();
    for (p, b) in v
        .get("providers")
        .and_then(|o| o.as_object())
        .unwrap_or(&none)
    {
        let l = b.get("level").and_then(|l| l.as_str()).unwrap_or("full");
        let n = outstanding.get(p).and_then(|n| n.as_i64()).unwrap_or(0);
        if l != "full" || n > 0 {
            let undo = if n > 0 {
                format!(" ({n} changes to undo)")
            } else {
                String::new()
            };
            parts.push(format!("{p} {l}{undo}"));
        }
        providers.insert(
            p.clone(),
            json!({"level": l, "state": b.get("state"), "outstandingChanges": n}),
        );
    }
    let text = if parts.is_empty() {
        format!("rate limit: {level}")
    } else {
        format!("rate limit: {level}; {}", parts.join(", "))
    };
    Some((
        text,
        json!({"level": level, "updatedAt": v.get("updatedAt"), "providers": providers}),
    ))
}
