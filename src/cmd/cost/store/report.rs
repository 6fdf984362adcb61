//! The report's reads: the daily totals cost-track counted, and its newest finished run.

use crate::cmd::cost::report::Row;
use crate::cmd::cost::{int_col, usd_col};
use crate::pricing::CostMode;
use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};

/// `cost_daily` rows with `lo <= day <= hi`, by day, with the cost columns of `mode`.
pub fn daily(c: &Connection, mode: CostMode, lo: &str, hi: &str) -> Result<Vec<Row>> {
    let cols = match mode {
        CostMode::Auto => "auto_usd, auto_estimated, auto_unpriced",
        CostMode::Logged => "logged_usd, 0, logged_missing",
        CostMode::Computed => "computed_usd, 0, computed_missing",
    };
    let sql = format!(
        "SELECT day, agent_id, session_id, provider, model, lines, input, output, cache_read, cache_write, {cols}
         FROM cost_daily WHERE day >= ?1 AND day <= ?2 ORDER BY day"
    );
    let mut st = c.prepare(&sql)?;
    let out = st
        .query_map(params![lo, hi], |r| {
            Ok(Row {
                day: r.get(0)?,
                agent: r.get(1)?,
                session: r.get(2)?,
                provider: r.get(3)?,
                model: r.get(4)?,
                lines: int_col(r, 5)?,
                input: int_col(r, 6)?,
                output: int_col(r, 7)?,
                cache_read: int_col(r, 8)?,
                cache_write: int_col(r, 9)?,
                cost: usd_col(r, 10)?,
                estimated: int_col(r, 11)?,
                unpriced: int_col(r, 12)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(out)
}

/// A finished run of a job.
pub struct FinishedRun {
    pub started_at: String,
    pub exit_code: Option<i64>,
    pub summary: Option<String>,
}

/// The newest finished `cost-track` run.
pub fn last_track(c: &Connection) -> Result<Option<FinishedRun>> {
    Ok(c.query_row(
        "SELECT started_at, exit_code, summary FROM runs WHERE job = 'cost-track' \
         AND exit_code IS NOT NULL ORDER BY id DESC LIMIT 1",
        [],
        |r| {
            Ok(FinishedRun {
                started_at: r.get(0)?,
                exit_code: r.get(1)?,
                summary: r.get(2)?,
            })
        },
    )
    .optional()?)
}
