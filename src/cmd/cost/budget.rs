//! `claw budget check`: spend against the budgets in settings, from what cost-track counted.
//!
//! The verdict and the projection are pure ([`period_of`], [`verdict`]); the command adds the
//! ledger reads and the alert record. An alert is recorded once per (budget scope, period
//! start, threshold), so the 80 % warning never hides the 100 % alert. Exit 1 while any budget
//! is at warning or beyond. (Alert sinks and the optional action come with their own issue.)

use super::{cost_mode, report};
use crate::cli::BudgetCmd;
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::notify;
use crate::output::{Outcome, SCHEMA_VERSION};
use crate::settings::Budget;
use anyhow::Result;
use chrono::{DateTime, Days, NaiveDate, Utc};
use rusqlite::params;
use serde_json::{json, Value};

// The period and scope rules live below cmd/ (rate-limit-detect reads them too).
pub use crate::budgets::{parse_weekday, period_of, scope, unit, Kind, Unit, TOKEN_KINDS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Exceeded,
}

/// A budget's state now.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub level: Level,
    pub spent_micros: i64,
    pub limit_micros: i64,
    /// Spend at the period's end if today's burn rate holds.
    pub projected_micros: i64,
    /// When the limit will be passed at today's rate (None: not within this period).
    pub passes_at: Option<DateTime<Utc>>,
}

/// Verdict and projection. `today_micros` spent since `today_start` is the burn rate's basis.
pub fn verdict(
    spent: i64,
    limit: i64,
    warn_percent: u32,
    today_micros: i64,
    today_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Verdict {
    let level = if spent >= limit {
        Level::Exceeded
    } else if (spent as i128) * 100 >= (limit as i128) * warn_percent as i128 {
        Level::Warning
    } else {
        Level::Ok
    };
    let elapsed = (now - today_start).num_seconds().max(1) as f64;
    let rate = today_micros.max(0) as f64 / elapsed; // micro-dollars per second
    let remaining = (period_end - now).num_seconds().max(0) as f64;
    let projected = spent.saturating_add((rate * remaining).round() as i64);
    let passes_at = if spent >= limit {
        Some(now)
    } else if rate > 0.0 {
        let secs = ((limit - spent) as f64 / rate).ceil() as i64;
        chrono::Duration::try_seconds(secs)
            .and_then(|d| now.checked_add_signed(d))
            .filter(|t| *t < period_end)
    } else {
        None
    };
    Verdict {
        level,
        spent_micros: spent,
        limit_micros: limit,
        projected_micros: projected,
        passes_at,
    }
}

/// The budget's limit in its unit.
pub fn limit(b: &Budget) -> i64 {
    match unit(b) {
        Unit::Usd => crate::pricing::usd_to_micros(b.limit_usd),
        Unit::Tokens => b.limit_tokens.min(i64::MAX as u64) as i64,
    }
}

/// What one report row adds to a budget: its cost (the one place budgets read money from the
/// ledger's rows) or its tokens of the counted kinds.
fn amount(b: &Budget, r: &report::Row) -> i64 {
    match unit(b) {
        Unit::Usd => r.cost,
        Unit::Tokens => {
            let all = b.tokens.is_empty();
            let has = |k: &str| all || b.tokens.iter().any(|t| t == k);
            [
                ("input", r.input),
                ("output", r.output),
                ("cache_read", r.cache_read),
                ("cache_write", r.cache_write),
            ]
            .iter()
            .filter(|(k, _)| has(k))
            .fold(0i64, |a, (_, n)| a.saturating_add(*n))
        }
    }
}

/// An amount in a budget's unit for people: `$1,234.57` or `1,234,567 tokens`.
pub fn show(u: Unit, n: i64) -> String {
    match u {
        Unit::Usd => crate::output::dollars(n),
        Unit::Tokens => format!("{} tokens", crate::output::thousands(n)),
    }
}
fn matches(b: &Budget, r: &report::Row) -> bool {
    (b.agent.is_empty() || b.agent == r.agent)
        && (b.provider.is_empty() || b.provider == r.provider)
        && (b.model.is_empty() || b.model == r.model)
}

/// One budget's state now: its period, verdict and projection.
#[derive(Debug, Clone)]
pub struct Eval {
    pub scope: String,
    pub unit: Unit,
    /// First and last day of the current period.
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// First day of the period before (its alerts end with it).
    pub prev_first: NaiveDate,
    pub verdict: Verdict,
    /// Lines without a price in the period (a USD budget cannot count them).
    pub unpriced: i64,
}

impl Eval {
    /// The verdict as `--json` shows it: `*_micros` for USD budgets, `*_tokens` for tokens.
    pub fn verdict_json(&self) -> Value {
        let v = &self.verdict;
        match self.unit {
            Unit::Usd => serde_json::to_value(v).unwrap_or(Value::Null),
            Unit::Tokens => json!({
                "level": v.level,
                "spent_tokens": v.spent_micros,
                "limit_tokens": v.limit_micros,
                "projected_tokens": v.projected_micros,
                "passes_at": v.passes_at,
            }),
        }
    }

    /// Spend (or tokens) as a percentage of the limit.
    pub fn percent(&self) -> f64 {
        self.verdict.spent_micros as f64 * 100.0 / self.verdict.limit_micros.max(1) as f64
    }
}

/// Evaluate every budget in settings at `ctx.now` (USD budgets in cost mode `mode`).
pub fn evaluate(ctx: &Ctx, mode: crate::pricing::CostMode) -> Result<Vec<(Budget, Eval)>> {
    let zone = ctx.zone()?;
    let ws = parse_weekday(&ctx.settings.cost.week_start)?;
    let today = zone.day_of(ctx.now);
    let today_start = zone.start_of(today);
    let today_s = today.to_string();
    let mut out = Vec::new();
    for b in &ctx.settings.cost.budgets {
        let kind = Kind::parse(&b.period)?;
        let (first, next) = period_of(kind, today, ws);
        let rows = report::rows(ctx, mode, Some(first), Some(next - Days::new(1)))?;
        let (mut spent, mut today_spent, mut unpriced) = (0i64, 0i64, 0i64);
        for r in rows.iter().filter(|r| matches(b, r)) {
            let n = amount(b, r);
            spent = spent.saturating_add(n);
            unpriced = unpriced.saturating_add(r.unpriced);
            if r.day == today_s {
                today_spent = today_spent.saturating_add(n);
            }
        }
        let u = unit(b);
        let v = verdict(
            spent,
            limit(b),
            b.warn_percent,
            today_spent,
            today_start,
            zone.start_of(next),
            ctx.now,
        );
        out.push((
            b.clone(),
            Eval {
                scope: scope(b),
                unit: u,
                first,
                last: next - Days::new(1),
                prev_first: period_of(kind, first - Days::new(1), ws).0,
                verdict: v,
                unpriced: if u == Unit::Usd { unpriced } else { 0 },
            },
        ));
    }
    Ok(out)
}

/// The finding line for a budget at warning or beyond, wrapped to fit 100 columns (with the
/// `recovered: ` prefix it may later carry).
fn finding_line(e: &Eval, new_alerts: &[u32]) -> String {
    let v = &e.verdict;
    let u = e.unit;
    let pass = match v.passes_at {
        Some(_) if v.level == Level::Exceeded => {
            format!("passed (period {}..{})", e.first, e.last)
        }
        Some(t) => format!(
            "will pass at {} at today's rate",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => "not on course to pass this period".into(),
    };
    let line = format!(
        "budget {}: {} — {} of {} ({} %), projected {} by period end; {pass}{}{}",
        crate::output::truncate(&e.scope, 60),
        match v.level {
            Level::Exceeded => "EXCEEDED",
            _ => "warning",
        },
        show(u, v.spent_micros),
        show(u, v.limit_micros),
        crate::output::thousands(e.percent().round() as i64),
        show(u, v.projected_micros),
        if e.unpriced > 0 {
            format!("; {} unpriced lines not included", e.unpriced)
        } else {
            String::new()
        },
        if new_alerts.is_empty() {
            String::new()
        } else {
            format!(
                " [new alert at {} %]",
                new_alerts
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );
    crate::output::wrap(&line, crate::output::MAX_WIDTH - "recovered: ".len())
}

pub fn run(ctx: &Ctx, c: &BudgetCmd) -> Result<Outcome> {
    let BudgetCmd::Check { cost_mode: flag } = c;
    let mode = cost_mode(ctx, *flag)?;
    ctx.zone()?;
    parse_weekday(&ctx.settings.cost.week_start)?;
    let budgets = ctx.settings.cost.budgets.clone();
    for b in &budgets {
        Kind::parse(&b.period)?;
        if unit(b) == Unit::Usd && (b.limit_usd.is_nan() || b.limit_usd <= 0.0) {
            return Err(fail(
                Code::Config,
                format!(
                    "cost.budgets [{}]: limit_usd (or limit_tokens) must be more than 0",
                    scope(b)
                ),
            ));
        }
        if b.warn_percent == 0 || b.warn_percent > 100 {
            return Err(fail(
                Code::Config,
                format!("cost.budgets [{}]: warn_percent must be 1..100", scope(b)),
            ));
        }
    }
    ctx.run_job("budget-check", "budget", |ctx, ledger| {
        let mut findings = Vec::new();
        let mut items = Vec::new();
        let mut worst = Level::Ok;
        let mut actions = Vec::new();
        let mut figures = Vec::new();
        for (b, e) in evaluate(ctx, mode)? {
            let v = &e.verdict;
            let first = e.first;
            worst = worst.max(v.level);
            let sc = e.scope.clone();
            figures.push((sc.clone(), e.unit, v.spent_micros, v.limit_micros, b.warn_percent));
            let mut new_alerts = Vec::new();
            let thresholds: &[u32] = match v.level {
                Level::Ok => &[],
                Level::Warning => &[b.warn_percent],
                Level::Exceeded => &[b.warn_percent, 100],
            };
            // Token budgets keep their alert records apart: their amounts are not money.
            let table = match e.unit {
                Unit::Usd => "INSERT INTO budget_alerts (scope, period_start, threshold, level, spent_micros, limit_micros, created_at)",
                Unit::Tokens => "INSERT INTO budget_token_alerts (scope, period_start, threshold, level, spent_tokens, limit_tokens, created_at)",
            };
            for &th in thresholds {
                let level = if th >= 100 { "exceeded" } else { "warning" };
                let n = if ctx.dry_run {
                    0
                } else {
                    ledger.conn.execute(
                        &format!("{table} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"),
                        params![sc, first.to_string(), th, level, v.spent_micros, v.limit_micros, ctx.now_str()],
                    )?
                };
                if n == 1 {
                    new_alerts.push(th);
                }
            }
            let key = |th: u32| format!("budget:{sc}:{first}:{th}");
            if v.level == Level::Exceeded && !b.on_exceeded.is_empty() {
                actions.push(run_action(ctx, ledger, &b, &sc, &first.to_string())?);
            }
            for &th in &new_alerts {
                let alert = notify::Alert {
                    job: "budget-check".into(),
                    severity: if th >= 100 { notify::Severity::Critical } else { notify::Severity::Warning },
                    key: key(th),
                    text: format!(
                        "budget {sc} ({} from {first}): {} of {} spent, {} % threshold passed",
                        b.period,
                        show(e.unit, v.spent_micros),
                        show(e.unit, v.limit_micros),
                        th
                    ),
                };
                notify::raise(ctx, ledger, &alert)?;
            }
            if v.level == Level::Ok {
                for th in [b.warn_percent, 100] {
                    notify::clear(ctx, ledger, "budget-check", &key(th), &format!("budget {sc} is back under its threshold"))?;
                }
            }
            // The period before has ended, and with it its alerts (a new period starts at zero).
            for th in [b.warn_percent, 100] {
                let old = format!("budget:{sc}:{}:{th}", e.prev_first);
                notify::clear(ctx, ledger, "budget-check", &old, &format!("budget {sc}: the period from {} ended", e.prev_first))?;
            }
            if v.level != Level::Ok {
                findings.push((format!("{sc}:{first}:{}", v.level as u8), finding_line(&e, &new_alerts)));
            }
            items.push(json!({
                "scope": sc,
                "unit": match e.unit { Unit::Usd => "usd", Unit::Tokens => "tokens" },
                "period_start": first.to_string(),
                "period_end": e.last.to_string(),
                "warn_percent": b.warn_percent,
                "verdict": e.verdict_json(),
                "unpriced_lines": e.unpriced,
                "new_alerts": new_alerts,
            }));
        }
        let summary = format!(
            "{} budgets: {} at warning or beyond",
            budgets.len(),
            items.iter().filter(|i| i["verdict"]["level"] != "ok").count()
        );
        let actions: Vec<Value> = actions.into_iter().flatten().collect();
        // Commands run in this run are events: always printed.
        let ran: Vec<String> = actions
            .iter()
            .map(|a| crate::output::truncate(&format!("ran {}", a["argv"].as_str().unwrap_or_default()), crate::output::MAX_WIDTH))
            .collect();
        let mut o = Outcome::ok(summary).with_detail(json!({ "budgets": items, "actions": actions }));
        o.json = Some(json!({"schema_version": SCHEMA_VERSION, "command": "budget check", "budgets": items}));
        for (sc, u, spent, limit, warn) in &figures {
            // The budget's stable name is its label: one series per configured budget.
            let l = [("budget", sc.as_str())];
            o = match u {
                Unit::Usd => o
                    .metric("budget_spent_usd", &l, *spent as f64 / 1e6)
                    .metric("budget_limit_usd", &l, *limit as f64 / 1e6),
                Unit::Tokens => o
                    .metric("budget_spent_tokens", &l, *spent as f64)
                    .metric("budget_limit_tokens", &l, *limit as f64),
            };
            o = o
                .metric("budget_usage_ratio", &l, *spent as f64 / (*limit).max(1) as f64)
                .metric("budget_warning_ratio", &l, f64::from(*warn) / 100.0);
        }
        if worst > Level::Ok {
            o = o.finding();
        }
        o = o.with_text(ran.join("\n")).with_findings(findings);
        Ok(o)
    })
}

/// Run a budget's `on_exceeded` command once per budget and period; `None` when it already
/// ran. Under `--dry-run` the command is only described.
///
/// The action is recorded (claimed) before it runs and given `cost.action_timeout_secs`: a
/// claw killed or hung while it runs never runs it a second time for the same period.
fn run_action(
    ctx: &Ctx,
    ledger: &crate::ledger::Ledger,
    b: &Budget,
    scope: &str,
    period: &str,
) -> Result<Option<Value>> {
    let argv = b.on_exceeded.join(" ");
    if ctx.dry_run {
        let done: bool = ledger
            .conn
            .query_row(
                "SELECT count(*) FROM budget_actions WHERE scope = ?1 AND period_start = ?2",
                params![scope, period],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?;
        return Ok((!done).then(|| json!({"scope": scope, "argv": argv, "dry_run": true})));
    }
    let claimed = ledger.immediate(|tx| {
        Ok(tx.execute(
            "INSERT INTO budget_actions (scope, period_start, argv, exit_code, ran_at) VALUES (?1, ?2, ?3, NULL, ?4)
             ON CONFLICT DO NOTHING",
            params![scope, period, argv, ctx.now_str()],
        )? == 1)
    })?;
    if !claimed {
        return Ok(None);
    }
    let (prog, args) = b.on_exceeded.split_first().expect("checked non-empty");
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args);
    let timeout = std::time::Duration::from_secs(ctx.settings.cost.action_timeout_secs);
    let done = crate::proc::run(cmd, &crate::proc::Opts::new(timeout)).map_err(|e| {
        fail(
            Code::IoErr,
            format!("cost.budgets [{scope}] on_exceeded: cannot run {prog}: {e}"),
        )
    })?;
    // -1: killed (by the timeout or a signal); the ledger keeps that it was started.
    let code = done.status.and_then(|s| s.code()).unwrap_or(-1);
    ledger.immediate(|tx| {
        tx.execute(
            "UPDATE budget_actions SET exit_code = ?3 WHERE scope = ?1 AND period_start = ?2",
            params![scope, period, code],
        )?;
        Ok(())
    })?;
    let result = crate::redact::excerpt(&done.describe(), 300);
    if !done.success() {
        ctx.out.warn(&format!(
            "cost.budgets [{scope}] on_exceeded: {prog} {result}"
        ));
    }
    Ok(Some(
        json!({"scope": scope, "argv": argv, "exit_code": code, "result": result}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Weekday};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn periods_start_on_the_configured_week_day_and_month_ends() {
        // 2026-03-08 is a Sunday.
        assert_eq!(
            period_of(Kind::Weekly, d("2026-03-08"), Weekday::Mon),
            (d("2026-03-02"), d("2026-03-09"))
        );
        assert_eq!(
            period_of(Kind::Weekly, d("2026-03-08"), Weekday::Sun),
            (d("2026-03-08"), d("2026-03-15"))
        );
        assert_eq!(
            period_of(Kind::Weekly, d("2026-03-07"), Weekday::Sun),
            (d("2026-03-01"), d("2026-03-08"))
        );
        assert_eq!(
            period_of(Kind::Monthly, d("2026-02-28"), Weekday::Mon),
            (d("2026-02-01"), d("2026-03-01"))
        );
        assert_eq!(
            period_of(Kind::Monthly, d("2026-12-31"), Weekday::Mon),
            (d("2026-12-01"), d("2027-01-01"))
        );
        assert_eq!(
            period_of(Kind::Daily, d("2026-12-31"), Weekday::Mon),
            (d("2026-12-31"), d("2027-01-01"))
        );
    }

    #[test]
    fn levels_and_projection() {
        let day = t("2026-03-08T00:00:00Z");
        let end = t("2026-03-09T00:00:00Z");
        // 6 hours in, $2 spent today of a $10 daily budget: ok, projected $8, never passes.
        let v = verdict(
            2_000_000,
            10_000_000,
            80,
            2_000_000,
            day,
            end,
            t("2026-03-08T06:00:00Z"),
        );
        assert_eq!(v.level, Level::Ok);
        assert_eq!(v.projected_micros, 8_000_000);
        assert_eq!(v.passes_at, None);
        // 12 hours in, $8: warning; $2 more at $2/3h passes at 15:00.
        let v = verdict(
            8_000_000,
            10_000_000,
            80,
            8_000_000,
            day,
            end,
            t("2026-03-08T12:00:00Z"),
        );
        assert_eq!(v.level, Level::Warning);
        assert_eq!(v.passes_at, Some(t("2026-03-08T15:00:00Z")));
        assert_eq!(v.projected_micros, 16_000_000);
        let v = verdict(
            7_999_999,
            10_000_000,
            80,
            0,
            day,
            end,
            t("2026-03-08T12:00:00Z"),
        );
        assert_eq!((v.level, v.passes_at), (Level::Ok, None));
        let v = verdict(
            10_000_000,
            10_000_000,
            80,
            0,
            day,
            end,
            t("2026-03-08T12:00:00Z"),
        );
        assert_eq!(v.level, Level::Exceeded);
    }
}
