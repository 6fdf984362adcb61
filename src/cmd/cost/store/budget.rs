//! Budget check's records: one alert per (scope, period start, threshold) and one
//! `on_exceeded` action per (scope, period start).

use crate::cmd::cost::budget::Counted;
use anyhow::Result;
use rusqlite::{params, Connection};

/// A threshold a budget passed in a period.
pub struct NewAlert<'a> {
    pub scope: &'a str,
    pub period_start: &'a str,
    pub threshold: u32,
    pub level: &'a str,
    pub verdict: &'a Counted,
    pub created_at: &'a str,
}

/// Record the alert unless it is recorded already; true when it is new. Token budgets keep
/// their records apart (`budget_token_alerts`, integers): their amounts are not money.
pub fn record_alert(c: &Connection, a: &NewAlert<'_>) -> Result<bool> {
    let p = |spent: &dyn rusqlite::ToSql, limit: &dyn rusqlite::ToSql, sql: &str| {
        c.execute(
            sql,
            params![
                a.scope,
                a.period_start,
                a.threshold,
                a.level,
                spent,
                limit,
                a.created_at
            ],
        )
    };
    let n = match a.verdict {
        Counted::Usd(v) => p(
            &v.spent.to_string(),
            &v.limit.to_string(),
            "INSERT INTO budget_alerts (scope, period_start, threshold, level, spent_usd, limit_usd, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?,
        Counted::Tokens(v) => p(
            &(v.spent.min(i64::MAX as u64) as i64),
            &(v.limit.min(i64::MAX as u64) as i64),
            "INSERT INTO budget_token_alerts (scope, period_start, threshold, level, spent_tokens, limit_tokens, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?,
    };
    Ok(n == 1)
}

pub use crate::ledger::budget_actions::ran as action_claimed;

/// Claim the budget's action for the period (before it runs); false when already claimed.
pub fn claim_action(
    c: &Connection,
    scope: &str,
    period: &str,
    argv: &str,
    now: &str,
) -> Result<bool> {
    Ok(c.execute(
        "INSERT INTO budget_actions (scope, period_start, argv, exit_code, ran_at) VALUES (?1, ?2, ?3, NULL, ?4)
         ON CONFLICT DO NOTHING",
        params![scope, period, argv, now],
    )? == 1)
}

/// How the claimed action ended (-1: killed).
pub fn action_ended(c: &Connection, scope: &str, period: &str, code: i32) -> Result<()> {
    c.execute(
        "UPDATE budget_actions SET exit_code = ?3 WHERE scope = ?1 AND period_start = ?2",
        params![scope, period, code],
    )?;
    Ok(())
}
