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
use crate::money::Usd;
use crate::notify;
use crate::output::{Outcome, SCHEMA_VERSION};
use crate::settings::Budget;
use anyhow::Result;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc, Weekday};
use rusqlite::params;
use serde_json::{json, Value};

pub fn parse_weekday(s: &str) -> Result<Weekday> {
    s.trim()
        .to_ascii_lowercase()
        .parse::<Weekday>()
        .map_err(|_| {
            fail(
                Code::Config,
                format!("cost.week_start = {s:?}: expected a day name such as \"monday\""),
            )
        })
}

/// A budget period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Daily,
    Weekly,
    Monthly,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Kind> {
        match s {
            "daily" => Ok(Kind::Daily),
            "weekly" => Ok(Kind::Weekly),
            "monthly" => Ok(Kind::Monthly),
            _ => Err(fail(
                Code::Config,
                format!(
                    "cost.budgets period = {s:?}: expected \"daily\", \"weekly\" or \"monthly\""
                ),
            )),
        }
    }
}

/// `[first day, first day of the next period)` containing `today`.
pub fn period_of(kind: Kind, today: NaiveDate, week_start: Weekday) -> (NaiveDate, NaiveDate) {
    match kind {
        Kind::Daily => (today, today + Days::new(1)),
        Kind::Weekly => {
            let back = (7 + today.weekday().num_days_from_monday()
                - week_start.num_days_from_monday())
                % 7;
            let start = today - Days::new(back as u64);
            (start, start + Days::new(7))
        }
        Kind::Monthly => {
            let start = today.with_day(1).expect("day 1 exists");
            (start, start + Months::new(1))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Exceeded,
}

/// A budget's state now. Amounts are exact (JSON: decimal strings).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub level: Level,
    pub spent_usd: Usd,
    pub limit_usd: Usd,
    /// Spend at the period's end if today's burn rate holds (exact inputs; the
    /// extrapolation is rounded at 10^-36).
    pub projected_usd: Usd,
    /// When the limit will be passed at today's rate (None: not within this period).
    pub passes_at: Option<DateTime<Utc>>,
}

/// Verdict and projection. `today` spent since `today_start` is the burn rate's basis.
/// Levels compare exact amounts; only the time the limit will be passed is a float estimate.
pub fn verdict(
    spent: Usd,
    limit: Usd,
    warn_percent: u32,
    today: Usd,
    today_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Verdict {
    let pct = |v: Usd, p: u64| v.checked_mul_u64(p).unwrap_or(Usd::MAX);
    let level = if spent >= limit {
        Level::Exceeded
    } else if pct(spent, 100) >= pct(limit, warn_percent as u64) {
        Level::Warning
    } else {
        Level::Ok
    };
    let elapsed = (now - today_start).num_seconds().max(1) as u64;
    let remaining = (period_end - now).num_seconds().max(0) as u64;
    // spent + today x remaining / elapsed: today's rate held to the period's end.
    let projected = spent.saturating_add(today.mul_div(remaining, elapsed).unwrap_or(Usd::MAX));
    let passes_at = if spent >= limit {
        Some(now)
    } else if !today.is_zero() {
        let rate = today.to_f64() / elapsed as f64; // dollars per second
        let secs = ((limit.to_f64() - spent.to_f64()) / rate).ceil() as i64;
        chrono::Duration::try_seconds(secs)
            .and_then(|d| now.checked_add_signed(d))
            .filter(|t| *t < period_end)
    } else {
        None
    };
    Verdict {
        level,
        spent_usd: spent,
        limit_usd: limit,
        projected_usd: projected,
        passes_at,
    }
}

/// The stable name of a budget: period and filters.
pub fn scope(b: &Budget) -> String {
    let mut s = b.period.clone();
    for (k, v) in [
        ("agent", &b.agent),
        ("provider", &b.provider),
        ("model", &b.model),
    ] {
        if !v.is_empty() {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    if s == b.period {
        s.push_str(" all");
    }
    s
}

fn matches(b: &Budget, r: &report::Row) -> bool {
    (b.agent.is_empty() || b.agent == r.agent)
        && (b.provider.is_empty() || b.provider == r.provider)
        && (b.model.is_empty() || b.model == r.model)
}

pub fn run(ctx: &Ctx, c: &BudgetCmd) -> Result<Outcome> {
    let BudgetCmd::Check { cost_mode: flag } = c;
    let mode = cost_mode(ctx, *flag)?;
    let zone = ctx.zone()?;
    let ws = parse_weekday(&ctx.settings.cost.week_start)?;
    let budgets = ctx.settings.cost.budgets.clone();
    for b in &budgets {
        Kind::parse(&b.period)?;
        if b.limit_usd.is_nan() || b.limit_usd <= 0.0 {
            return Err(fail(
                Code::Config,
                format!("cost.budgets [{}]: limit_usd must be more than 0", scope(b)),
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
        let today = zone.day_of(ctx.now);
        let today_start = zone.start_of(today);
        let mut findings = Vec::new();
        let mut items = Vec::new();
        let mut worst = Level::Ok;
        let mut actions = Vec::new();
        let mut figures = Vec::new();
        for b in &budgets {
            let kind = Kind::parse(&b.period)?;
            let (first, next) = period_of(kind, today, ws);
            let rows = report::rows(ctx, mode, Some(first), Some(next - Days::new(1)))?;
            let (mut spent, mut today_spent, mut unpriced) = (Usd::ZERO, Usd::ZERO, 0i64);
            let today_s = today.to_string();
            for r in rows.iter().filter(|r| matches(b, r)) {
                spent = spent.saturating_add(r.cost);
                unpriced = unpriced.saturating_add(r.unpriced);
                if r.day == today_s {
                    today_spent = today_spent.saturating_add(r.cost);
                }
            }
            // The limit as written in the settings (see `Usd::from_f64`).
            let limit = Usd::from_f64(b.limit_usd).ok_or_else(|| fail(
                Code::Config,
                format!("cost.budgets [{}]: limit_usd {} is not an amount claw can hold", scope(b), b.limit_usd),
            ))?;
            let v = verdict(spent, limit, b.warn_percent, today_spent, today_start, zone.start_of(next), ctx.now);
            worst = worst.max(v.level);
            let sc = scope(b);
            figures.push((sc.clone(), spent, limit, b.warn_percent));
            let mut new_alerts = Vec::new();
            let thresholds: &[u32] = match v.level {
                Level::Ok => &[],
                Level::Warning => &[b.warn_percent],
                Level::Exceeded => &[b.warn_percent, 100],
            };
            for &th in thresholds {
                let level = if th >= 100 { "exceeded" } else { "warning" };
                let n = if ctx.dry_run {
                    0
                } else {
                    ledger.conn.execute(
                        "INSERT INTO budget_alerts (scope, period_start, threshold, level, spent_usd, limit_usd, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                        params![sc, first.to_string(), th, level, spent.to_string(), limit.to_string(), ctx.now_str()],
                    )?
                };
                if n == 1 {
                    new_alerts.push(th);
                }
            }
            let key = |th: u32| format!("budget:{sc}:{first}:{th}");
            if v.level == Level::Exceeded && !b.on_exceeded.is_empty() {
                actions.push(run_action(ctx, ledger, b, &sc, &first.to_string())?);
            }
            for &th in &new_alerts {
                let alert = notify::Alert {
                    job: "budget-check".into(),
                    severity: if th >= 100 { notify::Severity::Critical } else { notify::Severity::Warning },
                    key: key(th),
                    text: format!(
                        "budget {sc} ({} from {first}): ${} of ${} spent, {} % threshold passed",
                        b.period,
                        report::usd(spent),
                        report::usd(limit),
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
            if v.level != Level::Ok {
                let pass = match v.passes_at {
                    Some(_) if v.level == Level::Exceeded => format!("passed (period {first}..{next})", next = next - Days::new(1)),
                    Some(t) => format!("will pass at {} at today's rate", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    None => "not on course to pass this period".into(),
                };
                findings.push((format!("{sc}:{first}:{}", v.level as u8), format!(
                    "budget {sc}: {} — ${} of ${} ({:.0} %), projected ${} by period end; {pass}{}{}",
                    match v.level {
                        Level::Exceeded => "EXCEEDED",
                        _ => "warning",
                    },
                    report::usd(spent),
                    report::usd(limit),
                    spent.to_f64() * 100.0 / limit.to_f64(),
                    report::usd(v.projected_usd),
                    if unpriced > 0 { format!("; {unpriced} unpriced lines not included") } else { String::new() },
                    if new_alerts.is_empty() { String::new() } else { format!(" [new alert at {} %]", new_alerts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")) },
                )));
            }
            items.push(json!({
                "scope": sc,
                "period_start": first.to_string(),
                "period_end": (next - Days::new(1)).to_string(),
                "warn_percent": b.warn_percent,
                "verdict": v,
                "unpriced_lines": unpriced,
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
            .map(|a| format!("ran {}", a["argv"].as_str().unwrap_or_default()))
            .collect();
        let mut o = Outcome::ok(summary).with_detail(json!({ "budgets": items, "actions": actions }));
        o.json = Some(json!({"schema_version": SCHEMA_VERSION, "command": "budget check", "budgets": items}));
        for (sc, spent, limit, warn) in &figures {
            // The budget's stable name is its label: one series per configured budget.
            let l = [("budget", sc.as_str())];
            // Exact until here; the floats are only the exposition.
            o = o
                .metric("budget_spent_usd", &l, spent.to_f64())
                .metric("budget_limit_usd", &l, limit.to_f64())
                .metric("budget_usage_ratio", &l, spent.to_f64() / limit.to_f64())
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
        assert_eq!(v.projected_usd, m(8_000_000));
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
        assert_eq!(v.projected_usd, m(16_000_000));
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
        assert_eq!(v.projected_usd.round_dp(6), "1.333333");
    }
}
