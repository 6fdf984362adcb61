//! `budget_actions`: written by budget check (one `on_exceeded` action per budget and period)
//! and read by rate-limit detection too (its `minimal` level), so the read lives here once.

use anyhow::Result;
use rusqlite::{params, Connection};

/// Whether the budget's action was claimed (run or started) for the period.
pub fn ran(c: &Connection, scope: &str, period_start: &str) -> Result<bool> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM budget_actions WHERE scope = ?1 AND period_start = ?2",
        params![scope, period_start],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}
