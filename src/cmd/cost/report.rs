//! `claw cost report` and `claw cost top`: read the daily totals cost-track counted.

use super::store::report as store;
use super::{cost_mode, day_range, session_labels};
use crate::cli::{GroupBy, ReportArgs, TopArgs};
use crate::ctx::Ctx;
use crate::money::Usd;
use crate::output::{dollars, thousands, Align, Outcome, Table, SCHEMA_VERSION};
use crate::pricing::CostMode;
use anyhow::Result;
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// An amount for people: rounded half away from zero to micro-dollars (display only; the
/// exact amount is `v.to_string()`, what `--json` and `--csv` carry).
pub fn usd(v: Usd) -> String {
    v.round_dp(6)
}

/// One aggregated row.
#[derive(Debug, Default, Clone)]
pub struct Agg {
    pub lines: i64,
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    /// Exact.
    pub cost: Usd,
    pub estimated: i64,
    pub unpriced: i64,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    pub models: BTreeSet<String>,
}

impl Agg {
    /// Saturating: a ledger poisoned before the per-line bounds still reports.
    fn add(&mut self, r: &Row) {
        let add = |a: &mut i64, b: i64| *a = a.saturating_add(b);
        add(&mut self.lines, r.lines);
        add(&mut self.input, r.input);
        add(&mut self.output, r.output);
        add(&mut self.cache_read, r.cache_read);
        add(&mut self.cache_write, r.cache_write);
        self.cost = self.cost.saturating_add(r.cost);
        add(&mut self.estimated, r.estimated);
        add(&mut self.unpriced, r.unpriced);
        if self.first_day.as_ref().is_none_or(|d| r.day < *d) {
            self.first_day = Some(r.day.clone());
        }
        if self.last_day.as_ref().is_none_or(|d| r.day > *d) {
            self.last_day = Some(r.day.clone());
        }
        self.models.insert(format!("{}/{}", r.provider, r.model));
    }
    fn tokens(&self) -> i64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
    }
    /// Cache reads as a share of prompt tokens.
    fn cache_share(&self) -> f64 {
        let prompt = self.input + self.cache_read + self.cache_write;
        if prompt == 0 {
            0.0
        } else {
            self.cache_read as f64 / prompt as f64
        }
    }
    /// Dollars per 1000 tokens (a ratio, not a sum: its callers round it).
    fn per_1k_usd(&self) -> Option<Usd> {
        let t = u64::try_from(self.tokens()).ok().filter(|t| *t > 0)?;
        self.cost.mul_div(1000, t)
    }
    /// Dollars per 1000 tokens, rounded to micro-dollars.
    fn per_1k(&self) -> Option<String> {
        self.per_1k_usd().map(|v| v.round_dp(6))
    }
    fn json(&self, key: &str) -> Value {
        json!({
            "key": key,
            "lines": self.lines,
            "input": self.input,
            "output": self.output,
            "cache_read": self.cache_read,
            "cache_write": self.cache_write,
            "tokens": self.tokens(),
            "cache_read_share": (self.cache_share() * 10000.0).round() / 10000.0,
            // Exact decimal string (every logged digit); round it only to show it.
            "cost_usd": self.cost.to_string(),
            "cost_per_1k_tokens_usd": self.per_1k(),
            "estimated_lines": self.estimated,
            "unpriced_lines": self.unpriced,
        })
    }
}

/// One `cost_daily` row with the mode's cost columns picked.
#[derive(Debug, Clone)]
pub struct Row {
    pub day: String,
    pub agent: String,
    pub session: String,
    pub provider: String,
    pub model: String,
    pub lines: i64,
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    /// Exact.
    pub cost: Usd,
    pub estimated: i64,
    pub unpriced: i64,
}

/// Daily rows in `[since, until]` for a cost mode. No ledger yet: no rows.
pub fn rows(
    ctx: &Ctx,
    mode: CostMode,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> Result<Vec<Row>> {
    if !ctx.paths.ledger().exists() {
        return Ok(Vec::new());
    }
    let ledger = ctx.ledger()?;
    let lo = since.map(|d| d.to_string()).unwrap_or_default();
    let hi = until
        .map(|d| d.to_string())
        .unwrap_or_else(|| "9999".into());
    ledger.read(|c| store::daily(c, mode, &lo, &hi))
}

fn key_of(by: GroupBy, r: &Row, week_start: chrono::Weekday) -> String {
    match by {
        GroupBy::Day => r.day.clone(),
        GroupBy::Week => match NaiveDate::parse_from_str(&r.day, "%Y-%m-%d") {
            Ok(d) => {
                let back = (7 + d.weekday().num_days_from_monday()
                    - week_start.num_days_from_monday())
                    % 7;
                (d - chrono::Days::new(back as u64)).to_string()
            }
            Err(_) => r.day.clone(),
        },
        GroupBy::Month => r.day.get(..7).unwrap_or(&r.day).to_string(),
        GroupBy::Agent => r.agent.clone(),
        GroupBy::Model => format!("{}/{}", r.provider, r.model),
        GroupBy::Session => format!("{}/{}", r.agent, r.session),
    }
}

fn by_name(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Day => "day",
        GroupBy::Week => "week",
        GroupBy::Month => "month",
        GroupBy::Agent => "agent",
        GroupBy::Model => "model",
        GroupBy::Session => "session",
    }
}

fn mode_name(m: CostMode) -> &'static str {
    match m {
        CostMode::Auto => "auto",
        CostMode::Logged => "logged",
        CostMode::Computed => "computed",
    }
}

pub fn report(ctx: &Ctx, a: &ReportArgs) -> Result<Outcome> {
    let mode = cost_mode(ctx, a.range.cost_mode);
    let (since, until) = day_range(ctx, &a.range)?;
    let ws = ctx.settings.cost.week_start;
    let rows = rows(ctx, mode, since, until)?;
    let mut groups: BTreeMap<String, Agg> = BTreeMap::new();
    let mut total = Agg::default();
    for r in &rows {
        groups.entry(key_of(a.by, r, ws)).or_default().add(r);
        total.add(r);
    }
    let mut ordered: Vec<(&String, &Agg)> = groups.iter().collect();
    if matches!(a.by, GroupBy::Agent | GroupBy::Model | GroupBy::Session) {
        ordered.sort_by(|x, y| y.1.cost.cmp(&x.1.cost).then(x.0.cmp(y.0)));
    }
    let by = by_name(a.by);
    let summary = format!(
        "{} {}s, ${} over {} usage lines ({} estimated, {} unpriced)",
        ordered.len(),
        by,
        usd(total.cost),
        total.lines,
        total.estimated,
        total.unpriced
    );
    let header = [
        by.to_uppercase(),
        "LINES".into(),
        "INPUT".into(),
        "OUTPUT".into(),
        "CACHE_READ".into(),
        "CACHE_WRITE".into(),
        "CACHE%".into(),
        "COST_USD".into(),
        "USD/1K_TOK".into(),
        "ESTIMATED".into(),
        "UNPRICED".into(),
    ];
    // CSV keeps every figure exact (amounts as exact decimals); the table is for people.
    let csv_line = |k: &str, g: &Agg| -> Vec<String> {
        vec![
            k.to_string(),
            g.lines.to_string(),
            g.input.to_string(),
            g.output.to_string(),
            g.cache_read.to_string(),
            g.cache_write.to_string(),
            format!("{:.1}", g.cache_share() * 100.0),
            g.cost.to_string(),
            g.per_1k().unwrap_or_else(|| "-".into()),
            g.estimated.to_string(),
            g.unpriced.to_string(),
        ]
    };
    let text = if a.csv {
        let mut s = header.join(",").to_lowercase();
        s.push('\n');
        for (k, g) in &ordered {
            s.push_str(&csv_line(&csv_field(k), g).join(","));
            s.push('\n');
        }
        s
    } else if rows.is_empty() {
        "no usage counted in this range (run `claw cost track` first)\n".to_string()
    } else {
        let mut t = human_table(&by.to_uppercase());
        for (k, g) in &ordered {
            t.row(human_line(k, g));
        }
        t.total(human_line("TOTAL", &total));
        let mut s = t.render();
        s.push_str(&format!("cost mode: {}", mode_name(mode)));
        if total.estimated > 0 {
            s.push_str(&format!(
                "; * {} lines priced by claw (no logged cost): estimated",
                thousands(total.estimated)
            ));
        }
        if total.unpriced > 0 {
            s.push_str(&format!(
                "; ! {} lines UNPRICED (not in the totals)",
                thousands(total.unpriced)
            ));
        }
        s.push('\n');
        crate::output::wrap(&s, crate::output::MAX_WIDTH)
    };
    let incomplete = last_track_failure(ctx)?;
    if let Some(why) = &incomplete {
        ctx.out.warn(&format!("incomplete: {why}"));
    }
    let doc = json!({
        "schema_version": SCHEMA_VERSION,
        "command": "cost report",
        "incomplete": incomplete.is_some(),
        "incomplete_reason": incomplete,
        "cost_mode": mode_name(mode),
        "by": by,
        "since": since.map(|d| d.to_string()),
        "until": until.map(|d| d.to_string()),
        "rows": ordered.iter().map(|(k, g)| g.json(k)).collect::<Vec<_>>(),
        "total": total.json("total"),
    });
    let mut o = Outcome::ok(summary).with_text(text);
    o.json = Some(doc);
    Ok(o)
}

/// Why the totals miss spend: the newest `cost-track` run failed (an agent database it could
/// not read, for example). None when it succeeded or never ran.
pub fn last_track_failure(ctx: &Ctx) -> Result<Option<String>> {
    if !ctx.paths.ledger().exists() {
        return Ok(None);
    }
    let ledger = ctx.ledger()?;
    Ok(match ledger.read(store::last_track)? {
        Some(store::FinishedRun {
            started_at: at,
            exit_code: Some(code),
            summary,
        }) if code != 0 => Some(format!(
            "the last cost-track run ({at}) failed with exit {code}: {}",
            summary.unwrap_or_default()
        )),
        _ => None,
    })
}

/// The columns of the human `cost report` table (ccusage's, plus cache share and cost per
/// 1k tokens); lines and the estimated / unpriced counts are in `--json` and `--csv`.
fn human_table(key: &str) -> Table {
    // Days, weeks and months are never cut; cache share and cost per 1k tokens give way.
    let keep = if matches!(key, "DAY" | "WEEK" | "MONTH") {
        10
    } else {
        6
    };
    Table::new(&[
        (key, Align::Left),
        ("INPUT", Align::Right),
        ("OUTPUT", Align::Right),
        ("CACHE READ", Align::Right),
        ("CACHE WRITE", Align::Right),
        ("CACHE%", Align::Right),
        ("COST", Align::Right),
        ("$/1K TOK", Align::Right),
    ])
    .keep(0, keep)
    .optional(5)
    .optional(7)
}

/// One human row; a cost marked `*` includes estimated lines, `!` leaves unpriced ones out.
fn human_line(k: &str, g: &Agg) -> Vec<String> {
    let mut cost = dollars(g.cost);
    if g.estimated > 0 {
        cost.push('*');
    }
    if g.unpriced > 0 {
        cost.push('!');
    }
    vec![
        k.to_string(),
        thousands(g.input),
        thousands(g.output),
        thousands(g.cache_read),
        thousands(g.cache_write),
        format!("{:.1}", g.cache_share() * 100.0),
        cost,
        g.per_1k_usd()
            .map(|v| format!("${}", v.round_dp(4)))
            .unwrap_or_else(|| "-".into()),
    ]
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn top(ctx: &Ctx, a: &TopArgs) -> Result<Outcome> {
    let mode = cost_mode(ctx, a.range.cost_mode);
    let (since, until) = day_range(ctx, &a.range)?;
    let rows = rows(ctx, mode, since, until)?;
    let mut groups: HashMap<(String, String), Agg> = HashMap::new();
    for r in &rows {
        groups
            .entry((r.agent.clone(), r.session.clone()))
            .or_default()
            .add(r);
    }
    let mut ordered: Vec<_> = groups.into_iter().collect();
    ordered.sort_by(|x, y| y.1.cost.cmp(&x.1.cost).then(x.0.cmp(&y.0)));
    ordered.truncate(a.limit as usize);
    let mut labels: HashMap<String, HashMap<String, String>> = HashMap::new();
    if let Ok(agents) = crate::openclaw::layout::agents(&ctx.paths.openclaw_dir) {
        for ag in agents {
            if ordered.iter().any(|((aid, _), _)| *aid == ag.id) {
                labels.insert(ag.id.clone(), session_labels(&ag));
            }
        }
    }
    let label = |aid: &str, sid: &str| {
        labels
            .get(aid)
            .and_then(|m| m.get(sid))
            .cloned()
            .unwrap_or_default()
    };
    let mut t = Table::new(&[
        ("COST", Align::Right),
        ("AGENT", Align::Left),
        ("SESSION", Align::Left),
        ("LABEL", Align::Left),
        ("FIRST", Align::Left),
        ("LAST", Align::Left),
        ("LINES", Align::Right),
        ("TOKENS", Align::Right),
        ("MODELS", Align::Left),
    ])
    // Ids stay recognisable and labels readable; the model list gives way first.
    .keep(1, 8)
    .keep(2, 13)
    .keep(3, 16)
    .keep(4, 10)
    .keep(5, 10)
    .optional(8);
    let mut items = Vec::new();
    for ((aid, sid), g) in &ordered {
        let l = label(aid, sid);
        let models = g.models.iter().cloned().collect::<Vec<_>>().join(" ");
        t.row(vec![
            dollars(g.cost),
            aid.clone(),
            sid.clone(),
            l.clone(),
            g.first_day.clone().unwrap_or_default(),
            g.last_day.clone().unwrap_or_default(),
            thousands(g.lines),
            thousands(g.tokens()),
            models,
        ]);
        let mut j = g.json(sid);
        j["agent"] = json!(aid);
        j["session_id"] = json!(sid);
        j["label"] = json!(l);
        j["first_day"] = json!(g.first_day);
        j["last_day"] = json!(g.last_day);
        j["models"] = json!(g.models);
        items.push(j);
    }
    let text = if ordered.is_empty() {
        "no usage counted in this range (run `claw cost track` first)\n".to_string()
    } else {
        t.render()
    };
    let mut o = Outcome::ok(format!("{} sessions", ordered.len())).with_text(text);
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "command": "cost top",
        "cost_mode": mode_name(mode),
        "since": since.map(|d| d.to_string()),
        "until": until.map(|d| d.to_string()),
        "sessions": items,
    }));
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_rounds_only_for_display() {
        let u = |s: &str| Usd::parse(s).unwrap();
        assert_eq!(usd(u("0.187933")), "0.187933");
        assert_eq!(usd(u("0.0075568500000000005")), "0.007557");
        assert_eq!(usd(u("12.0000005")), "12.000001");
    }
}
