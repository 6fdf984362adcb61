//! `claw status`: the last run of each job, from the ledger.

use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::output::{table, Outcome, SCHEMA_VERSION};
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
    let mut rows = vec![vec![
        "JOB".to_string(),
        "STARTED".into(),
        "ENDED".into(),
        "EXIT".into(),
        "SUMMARY".into(),
    ]];
    for r in &runs {
        rows.push(vec![
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
        table(&rows)
    };
    if check {
        return check_overdue(ctx);
    }
    // Degradation levels (rate-limit-detect's breakers and what degraded mode changed).
    let rl = if ctx.paths.ledger().exists() {
        crate::cmd::ratelimit::status_summary(ctx, &ctx.ledger()?)?
    } else {
        None
    };
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
