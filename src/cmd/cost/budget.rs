//! `claw budget check`: spend against the budgets in settings, from what cost-track counted.
//!
//! The verdict and the projection are pure ([`period_of`], [`verdict`]); the command adds the
//! ledger reads and the alert record. An alert is recorded once per (budget scope, period
//! start, threshold), so the 80 % warning never hides the 100 % alert. Exit 1 while any budget
//! is at warning or beyond. (Alert sinks and the optional action come with their own issue.)

use super::store::budget as store;
use super::{cost_mode, report};
use crate::cli::BudgetCmd;
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::money::Usd;
use crate::notify;
use crate::output::{Outcome, SCHEMA_VERSION};
use crate::settings::Budget;
use anyhow::Result;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::{json, Value};

// The period and scope rules live below cmd/ (rate-limit-detect reads them too).
pub use crate::budgets::{period_of, scope, unit, Kind, TokenKind, Unit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Exceeded,
}

/// What a budget counts: exact dollars ([`Usd`]) or whole tokens (`u64`). The verdict is the
/// same rule for both; only the unit's arithmetic differs.
pub trait Amount: Copy + Ord + std::fmt::Debug {
    /// Sum, stopping at the largest amount (a poisoned ledger still reports).
    fn plus(self, o: Self) -> Self;
    /// `self x n`, saturating.
    fn times(self, n: u64) -> Self;
    /// `self x num / den` (den > 0), saturating; the only rounding a verdict does.
    fn scaled(self, num: u64, den: u64) -> Self;
    fn is_zero(self) -> bool;
    /// The nearest float: for the projected time and Prometheus only, never summed again.
    fn approx(self) -> f64;
}

impl Amount for Usd {
    fn plus(self, o: Usd) -> Usd {
        self.saturating_add(o)
    }
    fn times(self, n: u64) -> Usd {
        self.checked_mul_u64(n).unwrap_or(Usd::MAX)
    }
    fn scaled(self, num: u64, den: u64) -> Usd {
        // Rounded at 10^-36.
        self.mul_div(num, den).unwrap_or(Usd::MAX)
    }
    fn is_zero(self) -> bool {
        Usd::is_zero(&self)
    }
    fn approx(self) -> f64 {
        self.to_f64()
    }
}

impl Amount for u64 {
    fn plus(self, o: u64) -> u64 {
        self.saturating_add(o)
    }
    fn times(self, n: u64) -> u64 {
        self.saturating_mul(n)
    }
    fn scaled(self, num: u64, den: u64) -> u64 {
        // Rounded half up to a whole token.
        let v = (self as u128 * num as u128 + den as u128 / 2) / den.max(1) as u128;
        u64::try_from(v).unwrap_or(u64::MAX)
    }
    fn is_zero(self) -> bool {
        self == 0
    }
    fn approx(self) -> f64 {
        self as f64
    }
}

/// A budget's state now, in its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict<A> {
    pub level: Level,
    pub spent: A,
    pub limit: A,
    /// The amount at the period's end if today's rate holds.
    pub projected: A,
    /// When the limit will be passed at today's rate (None: not within this period).
    pub passes_at: Option<DateTime<Utc>>,
}

/// Verdict and projection. `today` (counted since `today_start`) is the rate's basis. Levels
/// compare exact amounts; only the time the limit will be passed is a float estimate.
pub fn verdict<A: Amount>(
    spent: A,
    limit: A,
    warn_percent: u32,
    today: A,
    today_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Verdict<A> {
    let level = if spent >= limit {
        Level::Exceeded
    } else if spent.times(100) >= limit.times(u64::from(warn_percent)) {
        Level::Warning
    } else {
        Level::Ok
    };
    let elapsed = (now - today_start).num_seconds().max(1) as u64;
    let remaining = (period_end - now).num_seconds().max(0) as u64;
    // spent + today x remaining / elapsed: today's rate held to the period's end.
    let projected = spent.plus(today.scaled(remaining, elapsed));
    let passes_at = if spent >= limit {
        Some(now)
    } else if !today.is_zero() {
        let rate = today.approx() / elapsed as f64; // per second
        let secs = ((limit.approx() - spent.approx()) / rate).ceil() as i64;
        chrono::Duration::try_seconds(secs)
            .and_then(|d| now.checked_add_signed(d))
            .filter(|t| *t < period_end)
    } else {
        None
    };
    Verdict {
        level,
        spent,
        limit,
        projected,
        passes_at,
    }
}

/// A budget's verdict in its unit: exact dollars or tokens, never one read as the other.
#[derive(Debug, Clone, PartialEq)]
pub enum Counted {
    Usd(Verdict<Usd>),
    Tokens(Verdict<u64>),
}

impl Counted {
    pub fn unit(&self) -> Unit {
        match self {
            Counted::Usd(_) => Unit::Usd,
            Counted::Tokens(_) => Unit::Tokens,
        }
    }
    pub fn level(&self) -> Level {
        match self {
            Counted::Usd(v) => v.level,
            Counted::Tokens(v) => v.level,
        }
    }
    pub fn passes_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Counted::Usd(v) => v.passes_at,
            Counted::Tokens(v) => v.passes_at,
        }
    }
    /// Spent, limit and projected for people: `$1,234.57` or `1,234,567 tokens`.
    pub fn shown(&self) -> [String; 3] {
        match self {
            Counted::Usd(v) => [v.spent, v.limit, v.projected].map(crate::output::dollars),
            Counted::Tokens(v) => [v.spent, v.limit, v.projected].map(|n| {
                format!(
                    "{} tokens",
                    crate::output::thousands(n.min(i64::MAX as u64) as i64)
                )
            }),
        }
    }
    /// Spent and limit in `--json`: exact decimal strings for USD, integers for tokens.
    pub fn spent_limit_json(&self) -> (Value, Value) {
        match self {
            Counted::Usd(v) => (json!(v.spent.to_string()), json!(v.limit.to_string())),
            Counted::Tokens(v) => (json!(v.spent), json!(v.limit)),
        }
    }
    /// The verdict as `--json` shows it: `spent_usd`/`limit_usd`/`projected_usd` (exact
    /// decimal strings) for USD budgets, `*_tokens` (integers) for token budgets.
    pub fn json(&self) -> Value {
        match self {
            Counted::Usd(v) => json!({
                "level": v.level,
                "spent_usd": v.spent.to_string(),
                "limit_usd": v.limit.to_string(),
                "projected_usd": v.projected.to_string(),
                "passes_at": v.passes_at,
            }),
            Counted::Tokens(v) => json!({
                "level": v.level,
                "spent_tokens": v.spent,
                "limit_tokens": v.limit,
                "projected_tokens": v.projected,
                "passes_at": v.passes_at,
            }),
        }
    }
    /// Spent and limit as floats (the Prometheus exposition; exact until here).
    pub fn approx(&self) -> (f64, f64) {
        match self {
            Counted::Usd(v) => (v.spent.approx(), v.limit.approx()),
            Counted::Tokens(v) => (v.spent.approx(), v.limit.approx()),
        }
    }
    /// Spend (or tokens) as a percentage of the limit.
    pub fn percent(&self) -> f64 {
        let (s, l) = self.approx();
        if l > 0.0 {
            s * 100.0 / l
        } else {
            0.0
        }
    }
}

/// Tokens one report row adds to a token budget (the kinds it counts).
fn tokens_of(b: &Budget, r: &report::Row) -> u64 {
    let all = b.tokens.is_empty();
    let has = |k: &TokenKind| all || b.tokens.contains(k);
    [
        (TokenKind::Input, r.input),
        (TokenKind::Output, r.output),
        (TokenKind::CacheRead, r.cache_read),
        (TokenKind::CacheWrite, r.cache_write),
    ]
    .iter()
    .filter(|(k, _)| has(k))
    // A negative count exists only in a ledger poisoned before the bounds: it adds nothing.
    .fold(0u64, |a, (_, n)| a.saturating_add((*n).max(0) as u64))
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
    pub verdict: Counted,
    /// Lines without a price in the period (a USD budget cannot count them).
    pub unpriced: i64,
}

/// Evaluate every budget in settings at `ctx.now` (USD budgets in cost mode `mode`).
pub fn evaluate(ctx: &Ctx, mode: crate::pricing::CostMode) -> Result<Vec<(Budget, Eval)>> {
    let zone = ctx.zone();
    let ws = ctx.settings.cost.week_start;
    let today = zone.day_of(ctx.now);
    let today_start = zone.start_of(today);
    let today_s = today.to_string();
    let mut out = Vec::new();
    for b in &ctx.settings.cost.budgets {
        let (first, next) = period_of(b.period, today, ws);
        let rows = report::rows(ctx, mode, Some(first), Some(next - Days::new(1)))?;
        let rows: Vec<&report::Row> = rows.iter().filter(|r| matches(b, r)).collect();
        let unpriced = rows.iter().fold(0i64, |a, r| a.saturating_add(r.unpriced));
        // The period's amount and today's (the rate's basis), in the budget's unit.
        fn sums<A: Amount>(
            rows: &[&report::Row],
            today: &str,
            zero: A,
            f: impl Fn(&report::Row) -> A,
        ) -> (A, A) {
            rows.iter().fold((zero, zero), |(all, t), r| {
                let n = f(r);
                (all.plus(n), if r.day == today { t.plus(n) } else { t })
            })
        }
        let end = zone.start_of(next);
        let u = unit(b);
        let v = match u {
            Unit::Usd => {
                // The limit as written in the settings (see `Usd::from_f64`).
                let limit = Usd::from_f64(b.limit_usd).ok_or_else(|| {
                    fail(
                        Code::Config,
                        format!(
                            "cost.budgets [{}]: limit_usd {} is not an amount claw can hold",
                            scope(b),
                            b.limit_usd
                        ),
                    )
                })?;
                let (spent, t) = sums(&rows, &today_s, Usd::ZERO, |r| r.cost);
                Counted::Usd(verdict(
                    spent,
                    limit,
                    b.warn_percent,
                    t,
                    today_start,
                    end,
                    ctx.now,
                ))
            }
            Unit::Tokens => {
                let (spent, t) = sums(&rows, &today_s, 0u64, |r| tokens_of(b, r));
                Counted::Tokens(verdict(
                    spent,
                    b.limit_tokens,
                    b.warn_percent,
                    t,
                    today_start,
                    end,
                    ctx.now,
                ))
            }
        };
        out.push((
            b.clone(),
            Eval {
                scope: scope(b),
                unit: u,
                first,
                last: next - Days::new(1),
                prev_first: period_of(b.period, first - Days::new(1), ws).0,
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
    let [spent, limit, projected] = v.shown();
    let pass = match v.passes_at() {
        Some(_) if v.level() == Level::Exceeded => {
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
        match v.level() {
            Level::Exceeded => "EXCEEDED",
            _ => "warning",
        },
        spent,
        limit,
        crate::output::thousands(v.percent().round() as i64),
        projected,
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
    let mode = cost_mode(ctx, *flag);
    check_settings(ctx)?;
    ctx.run_job("budget-check", "budget", |ctx, ledger| {
        let mut checked = Vec::new();
        for (b, e) in evaluate(ctx, mode)? {
            let new_alerts = record_alerts(ctx, ledger, &b, &e)?;
            let action = if e.verdict.level() == Level::Exceeded && !b.on_exceeded.is_empty() {
                run_action(ctx, ledger, &b, &e.scope, &e.first.to_string())?
            } else {
                None
            };
            tell(ctx, ledger, &b, &e, &new_alerts)?;
            checked.push(Checked {
                budget: b,
                eval: e,
                new_alerts,
                action,
            });
        }
        Ok(outcome(&checked))
    })
}

/// Every budget's settings are usable, before anything is read or recorded.
fn check_settings(ctx: &Ctx) -> Result<()> {
    for b in &ctx.settings.cost.budgets {
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
    Ok(())
}

/// One budget checked: its verdict, the alerts new in this run and the action it ran.
struct Checked {
    budget: Budget,
    eval: Eval,
    new_alerts: Vec<u32>,
    action: Option<Value>,
}

/// The thresholds (percent) a budget at `level` has passed.
fn passed(level: Level, warn_percent: u32) -> Vec<u32> {
    match level {
        Level::Ok => vec![],
        Level::Warning => vec![warn_percent],
        Level::Exceeded => vec![warn_percent, 100],
    }
}

/// Record the thresholds the budget has passed this period; returns those new in this run
/// (none under `--dry-run`).
fn record_alerts(
    ctx: &Ctx,
    ledger: &crate::ledger::Ledger,
    b: &Budget,
    e: &Eval,
) -> Result<Vec<u32>> {
    let thresholds = passed(e.verdict.level(), b.warn_percent);
    if ctx.dry_run || thresholds.is_empty() {
        return Ok(Vec::new());
    }
    let (first, now) = (e.first.to_string(), ctx.now_str());
    ledger.immediate(|tx| {
        let mut new = Vec::new();
        for th in thresholds {
            let a = store::NewAlert {
                scope: &e.scope,
                period_start: &first,
                threshold: th,
                level: if th >= 100 { "exceeded" } else { "warning" },
                verdict: &e.verdict,
                created_at: &now,
            };
            if store::record_alert(tx, &a)? {
                new.push(th);
            }
        }
        Ok(new)
    })
}

/// Alert on the thresholds newly passed; clear those the budget is back under and those of
/// the period before.
fn tell(
    ctx: &Ctx,
    ledger: &crate::ledger::Ledger,
    b: &Budget,
    e: &Eval,
    new_alerts: &[u32],
) -> Result<()> {
    let (sc, first, v) = (&e.scope, e.first, &e.verdict);
    let key = |th: u32| format!("budget:{sc}:{first}:{th}");
    let [spent, limit, _] = v.shown();
    for &th in new_alerts {
        let alert = notify::Alert {
            job: "budget-check".into(),
            severity: if th >= 100 {
                notify::Severity::Critical
            } else {
                notify::Severity::Warning
            },
            key: key(th),
            text: format!(
                "budget {sc} ({} from {first}): {} of {} spent, {} % threshold passed",
                b.period, spent, limit, th
            ),
        };
        notify::raise(ctx, ledger, &alert)?;
    }
    if v.level() == Level::Ok {
        for th in [b.warn_percent, 100] {
            notify::clear(
                ctx,
                ledger,
                "budget-check",
                &key(th),
                &format!("budget {sc} is back under its threshold"),
            )?;
        }
    }
    // The period before has ended, and with it its alerts (a new period starts at zero).
    for th in [b.warn_percent, 100] {
        let old = format!("budget:{sc}:{}:{th}", e.prev_first);
        notify::clear(
            ctx,
            ledger,
            "budget-check",
            &old,
            &format!("budget {sc}: the period from {} ended", e.prev_first),
        )?;
    }
    Ok(())
}

/// The run's outcome: a finding per budget at warning or beyond, the actions run, and each
/// budget's figures.
fn outcome(checked: &[Checked]) -> Outcome {
    let mut findings = Vec::new();
    let mut items = Vec::new();
    for c in checked {
        let (e, v) = (&c.eval, &c.eval.verdict);
        if v.level() != Level::Ok {
            findings.push((
                format!("{}:{}:{}", e.scope, e.first, v.level() as u8),
                finding_line(e, &c.new_alerts),
            ));
        }
        items.push(json!({
            "scope": e.scope,
            "unit": match e.unit { Unit::Usd => "usd", Unit::Tokens => "tokens" },
            "period_start": e.first.to_string(),
            "period_end": e.last.to_string(),
            "warn_percent": c.budget.warn_percent,
            "verdict": v.json(),
            "unpriced_lines": e.unpriced,
            "new_alerts": c.new_alerts,
        }));
    }
    let summary = format!(
        "{} budgets: {} at warning or beyond",
        checked.len(),
        items
            .iter()
            .filter(|i| i["verdict"]["level"] != "ok")
            .count()
    );
    let actions: Vec<Value> = checked.iter().filter_map(|c| c.action.clone()).collect();
    // Commands run in this run are events: always printed.
    let ran: Vec<String> = actions
        .iter()
        .map(|a| {
            crate::output::truncate(
                &format!("ran {}", a["argv"].as_str().unwrap_or_default()),
                crate::output::MAX_WIDTH,
            )
        })
        .collect();
    let mut o = Outcome::ok(summary).with_detail(json!({ "budgets": items, "actions": actions }));
    o.json = Some(
        json!({"schema_version": SCHEMA_VERSION, "command": "budget check", "budgets": items}),
    );
    for c in checked {
        o = with_figures(o, &c.eval, c.budget.warn_percent);
    }
    if checked.iter().any(|c| c.eval.verdict.level() > Level::Ok) {
        o = o.finding();
    }
    o.with_text(ran.join("\n")).with_findings(findings)
}

/// A budget's metrics. The budget's stable name is its label: one series per configured
/// budget. Exact until here; the floats are only the exposition.
fn with_figures(o: Outcome, e: &Eval, warn: u32) -> Outcome {
    let (spent, limit) = e.verdict.approx();
    let l = [("budget", e.scope.as_str())];
    let o = match e.unit {
        Unit::Usd => o
            .metric("budget_spent_usd", &l, spent)
            .metric("budget_limit_usd", &l, limit),
        Unit::Tokens => {
            o.metric("budget_spent_tokens", &l, spent)
                .metric("budget_limit_tokens", &l, limit)
        }
    };
    o.metric(
        "budget_usage_ratio",
        &l,
        if limit > 0.0 { spent / limit } else { 0.0 },
    )
    .metric("budget_warning_ratio", &l, f64::from(warn) / 100.0)
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
        let done = ledger.read(|c| store::action_claimed(c, scope, period))?;
        return Ok((!done).then(|| json!({"scope": scope, "argv": argv, "dry_run": true})));
    }
    let claimed =
        ledger.immediate(|tx| store::claim_action(tx, scope, period, &argv, &ctx.now_str()))?;
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
    ledger.immediate(|tx| store::action_ended(tx, scope, period, code))?;
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

    fn m(micros: i64) -> Usd {
        Usd::from_micros(micros).unwrap()
    }

    #[test]
    fn levels_and_projection() {
        let day = t("2026-03-08T00:00:00Z");
        let end = t("2026-03-09T00:00:00Z");
        // 6 hours in, $2 spent today of a $10 daily budget: ok, projected $8, never passes.
        let v = verdict(
            m(2_000_000),
            m(10_000_000),
            80,
            m(2_000_000),
            day,
            end,
            t("2026-03-08T06:00:00Z"),
        );
        assert_eq!(v.level, Level::Ok);
        assert_eq!(v.projected, m(8_000_000));
        assert_eq!(v.passes_at, None);
        // 12 hours in, $8: warning; $2 more at $2/3h passes at 15:00.
        let v = verdict(
            m(8_000_000),
            m(10_000_000),
            80,
            m(8_000_000),
            day,
            end,
            t("2026-03-08T12:00:00Z"),
        );
        assert_eq!(v.level, Level::Warning);
        assert_eq!(v.passes_at, Some(t("2026-03-08T15:00:00Z")));
        assert_eq!(v.projected, m(16_000_000));
        let v = verdict(
            m(7_999_999),
            m(10_000_000),
            80,
            Usd::ZERO,
            day,
            end,
            t("2026-03-08T12:00:00Z"),
        );
        assert_eq!((v.level, v.passes_at), (Level::Ok, None));
        // One logged digit below the warning line is below it (a float sum could not say).
        let below = Usd::parse("7.9999999999999999999").unwrap();
        let v = verdict(
            below,
            m(10_000_000),
            80,
            Usd::ZERO,
            day,
            end,
            t("2026-03-08T12:00:00Z"),
        );
        assert_eq!(v.level, Level::Ok);
        let v = verdict(
            m(10_000_000),
            m(10_000_000),
            80,
            Usd::ZERO,
            day,
            end,
            t("2026-03-08T12:00:00Z"),
        );
        assert_eq!(v.level, Level::Exceeded);
        // A third of a day's spend per remaining third: exact inputs, rounded at 10^-36.
        let v = verdict(
            m(1_000_000),
            m(10_000_000),
            80,
            m(1_000_000),
            day,
            end,
            t("2026-03-08T18:00:00Z"),
        );
        assert_eq!(v.projected.round_dp(6), "1.333333");
    }

    #[test]
    fn token_budgets_use_the_same_rule_in_whole_tokens() {
        let day = t("2026-03-08T00:00:00Z");
        let end = t("2026-03-09T00:00:00Z");
        // 6 hours in, 2,000 tokens of 10,000: ok, projected 8,000.
        let v = verdict(
            2_000u64,
            10_000,
            80,
            2_000,
            day,
            end,
            t("2026-03-08T06:00:00Z"),
        );
        assert_eq!(
            (v.level, v.projected, v.passes_at),
            (Level::Ok, 8_000, None)
        );
        let v = verdict(
            8_000u64,
            10_000,
            80,
            8_000,
            day,
            end,
            t("2026-03-08T12:00:00Z"),
        );
        assert_eq!(v.level, Level::Warning);
        assert_eq!(v.passes_at, Some(t("2026-03-08T15:00:00Z")));
        // A third of a day's tokens per remaining third, rounded to a whole token.
        let v = verdict(
            1_000u64,
            10_000,
            80,
            1_000,
            day,
            end,
            t("2026-03-08T18:00:00Z"),
        );
        assert_eq!(v.projected, 1_333);
        let c = Counted::Tokens(v);
        assert_eq!(c.json()["projected_tokens"], 1_333);
        assert_eq!(c.shown()[0], "1,000 tokens");
        let u = Counted::Usd(verdict(
            m(1_000_000),
            m(10_000_000),
            80,
            m(1_000_000),
            day,
            end,
            t("2026-03-08T18:00:00Z"),
        ));
        assert_eq!(u.json()["spent_usd"], "1.00");
        assert_eq!(u.shown()[2], "$1.33");
    }
}
