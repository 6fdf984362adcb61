//! `claw cost digest`: the spend summary operators used to post from their own scripts at
//! 8am: spend by day, the top agents and models, the change against the period before,
//! budget status and the lines that are estimated or have no price.
//!
//! One digest per period (`[digest] periods`: the day before, and/or the last whole week),
//! sent once to the alert sinks: the period is claimed in the `digests` table inside the
//! transaction that records the message, so a re-run, a second tick or two runs at once send
//! nothing twice. With no sink it is printed once instead (cron mails it). `--dry-run` shows
//! it and records nothing. gather (ledger rows) -> decide ([`build`], pure) -> record + send.

use super::budget::{self, Kind, Level, Unit};
use super::store::digest as store;
use super::{cost_mode, report};
use crate::cli::{DigestArgs, DigestPeriod};
use crate::ctx::Ctx;
use crate::money::Usd;
use crate::output::{dollars, signed_dollars, thousands, Outcome, SCHEMA_VERSION};
use anyhow::Result;
use chrono::{Days, NaiveDate};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The money a row adds to the digest: the one place it reads cost from the ledger's rows.
fn money(r: &report::Row) -> Usd {
    r.cost
}

/// Money in `--json`: the exact decimal string (every logged digit).
fn money_json(v: Usd) -> Value {
    json!(v.to_string())
}

/// What one digest covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub period: DigestPeriod,
    pub first: NaiveDate,
    pub last: NaiveDate,
    /// The period before, for the change.
    pub prev_first: NaiveDate,
    pub prev_last: NaiveDate,
    /// The days the by-day series shows (a week ending with `last`).
    pub series_first: NaiveDate,
}

impl DigestPeriod {
    pub fn name(self) -> &'static str {
        match self {
            DigestPeriod::Daily => "daily",
            DigestPeriod::Weekly => "weekly",
        }
    }
}

/// The last whole period before `today` (a local day): yesterday, or the last whole week.
pub fn span(period: DigestPeriod, today: NaiveDate, week_start: chrono::Weekday) -> Span {
    match period {
        DigestPeriod::Daily => {
            let d = today - Days::new(1);
            Span {
                period,
                first: d,
                last: d,
                prev_first: d - Days::new(1),
                prev_last: d - Days::new(1),
                series_first: d - Days::new(6),
            }
        }
        DigestPeriod::Weekly => {
            let (this_week, _) = budget::period_of(Kind::Weekly, today, week_start);
            let first = this_week - Days::new(7);
            Span {
                period,
                first,
                last: this_week - Days::new(1),
                prev_first: first - Days::new(7),
                prev_last: first - Days::new(1),
                series_first: first,
            }
        }
    }
}

/// Sums of one group of rows.
#[derive(Debug, Default, Clone, Copy)]
struct Sum {
    /// Exact.
    cost: Usd,
    tokens: i64,
    lines: i64,
    estimated: i64,
    unpriced: i64,
}

impl Sum {
    fn add(&mut self, r: &report::Row) {
        let s = |a: &mut i64, b: i64| *a = a.saturating_add(b);
        self.cost = self.cost.saturating_add(money(r));
        for n in [r.input, r.output, r.cache_read, r.cache_write] {
            s(&mut self.tokens, n);
        }
        s(&mut self.lines, r.lines);
        s(&mut self.estimated, r.estimated);
        s(&mut self.unpriced, r.unpriced);
    }
    fn json(&self) -> Value {
        json!({"cost_usd": money_json(self.cost), "tokens": self.tokens, "lines": self.lines,
               "estimated_lines": self.estimated, "unpriced_lines": self.unpriced})
    }
}

/// One budget's line in a digest.
pub struct BudgetLine {
    pub scope: String,
    pub verdict: budget::Counted,
}

/// A built digest: the `--json` document, the card chat sinks render and the text for the
/// rest (and stdout).
pub struct Built {
    pub doc: Value,
    pub card: Value,
    pub text: String,
}

fn pct(p: f64) -> String {
    format!("{} %", thousands(p.round() as i64))
}

/// The digest of `sp` from the ledger rows of `sp.series_first.min(sp.prev_first) ..=
/// sp.last` (pure: every figure comes from `rows` and `budgets`).
pub fn build(
    sp: &Span,
    rows: &[report::Row],
    budgets: &[BudgetLine],
    top: usize,
    zone: &str,
    mode: &str,
    incomplete: Option<&str>,
) -> Built {
    let t = tally(sp, rows, top);
    let ch = Change::of(&t);
    let notes = notes(&t.total, zone, mode, incomplete);
    let (card, facts) = card(sp, &t, &ch, budgets, &notes);
    let text = text_of(&card, &facts, &notes);
    let doc = doc(sp, &t, &ch, budgets, zone, mode, incomplete);
    Built { doc, card, text }
}

/// The period's rows summed: in all, the period before, by day, and the top agents and models.
struct Tally {
    total: Sum,
    prev: Sum,
    days: BTreeMap<String, Sum>,
    agents: Vec<(String, Sum)>,
    models: Vec<(String, Sum)>,
}

fn tally(sp: &Span, rows: &[report::Row], top: usize) -> Tally {
    let in_range = |r: &report::Row, a: NaiveDate, b: NaiveDate| {
        r.day.as_str() >= a.to_string().as_str() && r.day.as_str() <= b.to_string().as_str()
    };
    let (mut total, mut prev) = (Sum::default(), Sum::default());
    let mut days: BTreeMap<String, Sum> = BTreeMap::new();
    let mut d = sp.series_first;
    while d <= sp.last {
        days.insert(d.to_string(), Sum::default());
        d = d + Days::new(1);
    }
    let mut agents: BTreeMap<String, Sum> = BTreeMap::new();
    let mut models: BTreeMap<String, Sum> = BTreeMap::new();
    for r in rows {
        if in_range(r, sp.first, sp.last) {
            total.add(r);
            agents.entry(r.agent.clone()).or_default().add(r);
            models
                .entry(format!("{}/{}", r.provider, r.model))
                .or_default()
                .add(r);
        }
        if in_range(r, sp.prev_first, sp.prev_last) {
            prev.add(r);
        }
        if let Some(s) = days.get_mut(&r.day) {
            s.add(r);
        }
    }
    let ranked = |m: BTreeMap<String, Sum>| {
        let mut v: Vec<(String, Sum)> = m.into_iter().collect();
        v.sort_by(|a, b| {
            b.1.cost
                .cmp(&a.1.cost)
                .then(b.1.tokens.cmp(&a.1.tokens))
                .then(a.0.cmp(&b.0))
        });
        v.truncate(top);
        v
    };
    let (agents, models) = (ranked(agents), ranked(models));
    Tally {
        total,
        prev,
        days,
        agents,
        models,
    }
}

/// The change against the period before: exact amount, whether it fell, and the percentage
/// (none when the period before spent nothing).
struct Change {
    amount: Usd,
    fell: bool,
    pct: Option<f64>,
}

impl Change {
    fn of(t: &Tally) -> Change {
        let (total, prev) = (&t.total, &t.prev);
        // Exact: |total - prev| and its sign (an amount is never negative).
        let (change, fell) = total.cost.abs_diff(prev.cost);
        let change_pct = (!prev.cost.is_zero()).then(|| {
            let p = change.to_f64() * 100.0 / prev.cost.to_f64();
            if fell {
                -p
            } else {
                p
            }
        });
        Change {
            amount: change,
            fell,
            pct: change_pct,
        }
    }
}

/// The card chat sinks render, and its facts (name, value).
fn card(
    sp: &Span,
    t: &Tally,
    ch: &Change,
    budgets: &[BudgetLine],
    notes: &[String],
) -> (Value, Vec<(String, String)>) {
    let (total, prev) = (&t.total, &t.prev);
    let when = if sp.first == sp.last {
        format!("{} {}", sp.first.format("%a"), sp.first)
    } else {
        format!("{} .. {}", sp.first, sp.last)
    };
    let title = format!("Cost digest, {} {when}", sp.period.name());
    let change_text = format!(
        "{}{} vs {}",
        signed_dollars(ch.amount, ch.fell),
        ch.pct.map(|p| format!(" ({p:+.1} %)")).unwrap_or_default(),
        dollars(prev.cost)
    );
    let facts = vec![
        ("Spend".to_string(), dollars(total.cost)),
        ("Change".to_string(), change_text.clone()),
        ("Tokens".to_string(), thousands(total.tokens)),
        ("Usage lines".to_string(), thousands(total.lines)),
    ];
    let share = |c: Usd| {
        if !total.cost.is_zero() {
            format!(" ({})", pct(c.to_f64() * 100.0 / total.cost.to_f64()))
        } else {
            String::new()
        }
    };
    let ranked_lines = |v: &[(String, Sum)]| -> Vec<String> {
        v.iter()
            .map(|(k, s)| {
                format!(
                    "{}  {}{}  {} tokens",
                    crate::output::truncate(k, 48),
                    dollars(s.cost),
                    share(s.cost),
                    thousands(s.tokens)
                )
            })
            .collect()
    };
    let by_day: Vec<String> = t
        .days
        .iter()
        .map(|(d, s)| {
            format!(
                "{d}  {:>12}  {:>15} tokens",
                dollars(s.cost),
                thousands(s.tokens)
            )
        })
        .collect();
    let mut sections = vec![json!({"title": "Spend by day", "lines": by_day, "mono": true})];
    sections.push(json!({"title": "Top agents", "lines": ranked_lines(&t.agents), "mono": false}));
    sections.push(json!({"title": "Top models", "lines": ranked_lines(&t.models), "mono": false}));
    let budget_lines = budget_lines(budgets);
    if !budget_lines.is_empty() {
        sections.push(json!({"title": "Budgets now", "lines": budget_lines, "mono": false}));
    }
    let facts_json: Vec<Value> = facts.iter().map(|(k, v)| json!([k, v])).collect();
    let card = json!({"title": title, "facts": facts_json, "sections": sections, "notes": notes});
    (card, facts)
}

/// One line per budget: its level and how much of it is spent.
fn budget_lines(budgets: &[BudgetLine]) -> Vec<String> {
    budgets
        .iter()
        .map(|b| {
            let [spent, limit, _] = b.verdict.shown();
            format!(
                "{}: {} {} of {} ({})",
                crate::output::truncate(&b.scope, 48),
                match b.verdict.level() {
                    Level::Ok => "ok",
                    Level::Warning => "WARNING",
                    Level::Exceeded => "EXCEEDED",
                },
                spent,
                limit,
                pct(b.verdict.percent())
            )
        })
        .collect()
}

/// What the figures leave out, and how to read them.
fn notes(total: &Sum, zone: &str, mode: &str, incomplete: Option<&str>) -> Vec<String> {
    let mut notes = Vec::new();
    if total.estimated > 0 {
        notes.push(format!(
            "{} lines priced by claw (no logged cost): estimated",
            thousands(total.estimated)
        ));
    }
    if total.unpriced > 0 {
        notes.push(format!(
            "{} lines have no price and are not in the spend",
            thousands(total.unpriced)
        ));
    }
    if let Some(why) = incomplete {
        notes.push(format!("incomplete: {why}"));
    }
    notes.push(format!("days in {zone}; cost mode {mode}"));
    notes
}

/// The text: title, facts on one line each, then the sections and notes, wrapped.
fn text_of(card: &Value, facts: &[(String, String)], notes: &[String]) -> String {
    let title = card["title"].as_str().unwrap_or_default();
    let mut text = format!("{title}\n");
    for (k, v) in facts {
        text.push_str(&format!("{k}: {v}\n"));
    }
    for s in card["sections"].as_array().into_iter().flatten() {
        let lines = s["lines"].as_array().cloned().unwrap_or_default();
        text.push_str(&format!("{}:\n", s["title"].as_str().unwrap_or_default()));
        if lines.is_empty() {
            text.push_str("  (none)\n");
        }
        for l in lines {
            text.push_str(&format!("  {}\n", l.as_str().unwrap_or_default()));
        }
    }
    for n in notes {
        text.push_str(&format!("{n}\n"));
    }
    crate::output::wrap(&text, crate::output::MAX_WIDTH)
}

/// The `--json` document of one digest.
fn doc(
    sp: &Span,
    t: &Tally,
    ch: &Change,
    budgets: &[BudgetLine],
    zone: &str,
    mode: &str,
    incomplete: Option<&str>,
) -> Value {
    let (total, prev, days) = (&t.total, &t.prev, &t.days);
    let (agents, models) = (&t.agents, &t.models);
    let (change, fell, change_pct) = (ch.amount, ch.fell, ch.pct);
    let named = |v: &[(String, Sum)], key: &str| -> Vec<Value> {
        v.iter()
            .map(|(k, s)| {
                let mut j = s.json();
                j[key] = json!(k);
                j
            })
            .collect()
    };
    // The change as an exact signed decimal string.
    let change_usd = if fell && !change.is_zero() {
        format!("-{change}")
    } else {
        change.to_string()
    };
    json!({
        "period": sp.period.name(),
        "start": sp.first.to_string(),
        "end": sp.last.to_string(),
        "zone": zone,
        "cost_mode": mode,
        "total": total.json(),
        "previous": {"start": sp.prev_first.to_string(), "end": sp.prev_last.to_string(), "total": prev.json()},
        "change": {"cost_usd": change_usd, "percent": change_pct.map(|p| (p * 10.0).round() / 10.0)},
        "by_day": days.iter().map(|(d, s)| { let mut j = s.json(); j["day"] = json!(d); j }).collect::<Vec<_>>(),
        "top_agents": named(agents, "agent"),
        "top_models": named(models, "model"),
        // `spent`/`limit`: exact decimal strings for USD budgets, integers for token budgets.
        "budgets": budgets.iter().map(|b| {
            let (spent, limit) = b.verdict.spent_limit_json();
            json!({
                "scope": b.scope,
                "unit": match b.verdict.unit() { Unit::Usd => "usd", Unit::Tokens => "tokens" },
                "level": b.verdict.level(),
                "spent": spent,
                "limit": limit,
                "percent": (b.verdict.percent() * 10.0).round() / 10.0,
            })
        }).collect::<Vec<_>>(),
        "incomplete": incomplete,
    })
}

/// The periods to send: `--period`, else `[digest] periods`.
fn periods(ctx: &Ctx, a: &DigestArgs) -> Vec<DigestPeriod> {
    if let Some(p) = a.period {
        return vec![p];
    }
    ctx.settings.digest.periods.clone()
}

pub fn run(ctx: &Ctx, a: &DigestArgs) -> Result<Outcome> {
    let mode = cost_mode(ctx, a.cost_mode);
    let zone = ctx.zone();
    let ws = ctx.settings.cost.week_start;
    let zone_name = &ctx.settings.general.timezone.name;
    let today = zone.day_of(ctx.now);
    let sinks: Vec<String> = ctx
        .settings
        .alerts
        .sinks
        .iter()
        .map(|s| s.name.clone())
        .filter(|n| ctx.settings.digest.sinks.is_empty() || ctx.settings.digest.sinks.contains(n))
        .collect();
    let work = |ctx: &Ctx, ledger: Option<&crate::ledger::Ledger>| -> Result<Outcome> {
        let budgets: Vec<BudgetLine> = budget::evaluate(ctx, mode)?
            .into_iter()
            .map(|(_, e)| BudgetLine {
                scope: e.scope,
                verdict: e.verdict,
            })
            .collect();
        let incomplete = report::last_track_failure(ctx)?;
        let mut docs = Vec::new();
        let mut text = String::new();
        let mut said = Vec::new();
        for p in periods(ctx, a) {
            let sp = span(p, today, ws);
            let rows = report::rows(
                ctx,
                mode,
                Some(sp.series_first.min(sp.prev_first)),
                Some(sp.last),
            )?;
            let b = build(
                &sp,
                &rows,
                &budgets,
                ctx.settings.digest.top as usize,
                zone_name,
                mode_name(mode),
                incomplete.as_deref(),
            );
            let key = format!("digest:{}:{}", p.name(), sp.first);
            let status = match ledger {
                None => {
                    text.push_str(&b.text);
                    "dry_run"
                }
                Some(ledger) => {
                    let to = if sinks.is_empty() {
                        "stdout".to_string()
                    } else {
                        sinks.join(",")
                    };
                    let (first, last, now) =
                        (sp.first.to_string(), sp.last.to_string(), ctx.now_str());
                    let record = store::Claim {
                        period: p.name(),
                        start: &first,
                        end: &last,
                        delivered_to: &to,
                        now: &now,
                    };
                    let claim = |c: &rusqlite::Connection| store::claim(c, &record);
                    if sinks.is_empty() {
                        // stdout is the sink: under -q nothing would be seen, so nothing is claimed.
                        if ctx.out.quiet && !ctx.out.json {
                            "not_sent_quiet"
                        } else if ledger.immediate(|tx| claim(tx))? {
                            text.push_str(&b.text);
                            "printed"
                        } else {
                            "already_sent"
                        }
                    } else {
                        match crate::notify::send_digest(
                            ctx, ledger, &key, &b.text, &b.card, &sinks, claim,
                        )? {
                            None => "already_sent",
                            Some(true) => "sent",
                            Some(false) => "pending",
                        }
                    }
                }
            };
            if status != "already_sent" {
                said.push(format!("{} digest for {} {status}", p.name(), sp.first));
            }
            let mut d = b.doc;
            d["status"] = json!(status);
            d["key"] = json!(key);
            docs.push(d);
        }
        let summary = if said.is_empty() {
            "no digest due (each period's was sent)".to_string()
        } else {
            said.join("; ")
        };
        let mut o = Outcome::ok(summary).with_text(text);
        o.json = Some(json!({
            "schema_version": SCHEMA_VERSION,
            "command": "cost digest",
            "now": ctx.now_str(),
            "sinks": sinks,
            "digests": docs,
        }));
        Ok(o)
    };
    if ctx.dry_run {
        return work(ctx, None);
    }
    ctx.run_job("cost-digest", "digest", |ctx, ledger| {
        work(ctx, Some(ledger))
    })
}

fn mode_name(m: crate::pricing::CostMode) -> &'static str {
    use crate::pricing::CostMode;
    match m {
        CostMode::Auto => "auto",
        CostMode::Logged => "logged",
        CostMode::Computed => "computed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn row(day: &str, agent: &str, model: &str, cost: &str, tokens: i64) -> report::Row {
        report::Row {
            day: day.into(),
            agent: agent.into(),
            session: "s".into(),
            provider: "p".into(),
            model: model.into(),
            lines: 1,
            input: tokens,
            output: 0,
            cache_read: 0,
            cache_write: 0,
            cost: Usd::parse(cost).unwrap(),
            estimated: 0,
            unpriced: 0,
        }
    }

    #[test]
    fn spans_are_the_last_whole_day_and_week() {
        // 2026-03-10 is a Tuesday.
        let s = span(DigestPeriod::Daily, d("2026-03-10"), Weekday::Mon);
        assert_eq!((s.first, s.last), (d("2026-03-09"), d("2026-03-09")));
        assert_eq!(
            (s.prev_first, s.series_first),
            (d("2026-03-08"), d("2026-03-03"))
        );
        let s = span(DigestPeriod::Weekly, d("2026-03-10"), Weekday::Mon);
        assert_eq!((s.first, s.last), (d("2026-03-02"), d("2026-03-08")));
        assert_eq!(
            (s.prev_first, s.prev_last),
            (d("2026-02-23"), d("2026-03-01"))
        );
        // On the week's first day the week before is whole.
        let s = span(DigestPeriod::Weekly, d("2026-03-09"), Weekday::Mon);
        assert_eq!(s.first, d("2026-03-02"));
    }

    #[test]
    fn figures_change_and_ranking() {
        let sp = span(DigestPeriod::Daily, d("2026-03-10"), Weekday::Mon);
        let rows = vec![
            row("2026-03-08", "main", "m1", "2", 10),
            row("2026-03-09", "main", "m1", "1", 1_000),
            row("2026-03-09", "ops", "m2", "2", 2_000_000),
            // A digit no micro-dollar holds stays in the total.
            row("2026-03-09", "zed", "m2", "0.0000010000000000000001", 1),
        ];
        let b = build(&sp, &rows, &[], 2, "Europe/Berlin", "auto", None);
        assert_eq!(b.doc["total"]["cost_usd"], "3.0000010000000000000001");
        assert_eq!(b.doc["change"]["cost_usd"], "1.0000010000000000000001");
        assert_eq!(b.doc["change"]["percent"], 50.0);
        assert_eq!(b.doc["top_agents"][0]["agent"], "ops");
        assert_eq!(b.doc["top_agents"].as_array().unwrap().len(), 2);
        assert_eq!(b.doc["by_day"].as_array().unwrap().len(), 7);
        assert!(b.text.contains("Spend: $3.00\n"), "{}", b.text);
        assert!(
            b.text.contains("Change: +$1.00 (+50.0 %) vs $2.00"),
            "{}",
            b.text
        );
        assert!(
            b.text.contains("ops  $2.00 (67 %)  2,000,000 tokens"),
            "{}",
            b.text
        );
        assert!(
            b.text.lines().all(|l| l.chars().count() <= 100),
            "{}",
            b.text
        );
        assert_eq!(b.card["facts"][0], json!(["Spend", "$3.00"]));
        // Spend that fell: an exact negative change.
        let rows = vec![
            row("2026-03-08", "main", "m1", "2.5", 10),
            row("2026-03-09", "main", "m1", "0.0075568500000000005", 10),
        ];
        let b = build(&sp, &rows, &[], 2, "UTC", "auto", None);
        assert_eq!(b.doc["change"]["cost_usd"], "-2.4924431499999999995");
        assert_eq!(b.doc["change"]["percent"], -99.7);
        assert!(
            b.text.contains("Change: -$2.49 (-99.7 %) vs $2.50"),
            "{}",
            b.text
        );
    }
}
