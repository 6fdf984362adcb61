//! `claw status`: the last run of each job, from the ledger.

use crate::ctx::Ctx;
use crate::output::{table, Outcome, SCHEMA_VERSION};
use anyhow::Result;
use serde_json::json;

pub fn run(ctx: &Ctx) -> Result<Outcome> {
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
    let text = if runs.is_empty() {
        "no job has run yet\n".to_string()
    } else {
        table(&rows)
    };
    let mut o = Outcome::ok(format!("{} jobs", runs.len())).with_text(text);
    o.json = Some(json!({"schema_version": SCHEMA_VERSION, "jobs": runs}));
    Ok(o)
}
