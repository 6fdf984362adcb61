//! What a run says and where: silence on success, diagnostics to stderr, reports and `--json`
//! documents to stdout. Everything printed goes through redaction first.

use crate::exit::Code;
use serde_json::{json, Value};

/// Version of every `--json` document claw prints; bump on a breaking change.
pub const SCHEMA_VERSION: u32 = 1;

/// Output switches from the global flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    pub verbose: u8,
}

impl Output {
    /// A diagnostic shown only with `-v`.
    pub fn note(&self, msg: &str) {
        if self.verbose > 0 && !self.quiet {
            stderr(&crate::redact::redact_text(msg));
        }
    }

    /// A warning shown unless `-q`.
    pub fn warn(&self, msg: &str) {
        if !self.quiet {
            stderr(&format!(
                "claw: warning: {}",
                crate::redact::redact_text(msg)
            ));
        }
    }
}

/// What a subcommand produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `Code::Ok` or `Code::Finding`.
    pub code: Code,
    /// One line for the ledger and `-v`.
    pub summary: String,
    /// Structured detail for the ledger and the `--json` document; already redacted.
    pub detail: Value,
    /// Human text for stdout (a report, or what a finding needs someone to read); empty on a
    /// quiet success.
    pub text: String,
    /// A `--json` document of a command-specific shape (must carry `schema_version`).
    pub json: Option<Value>,
    /// The job's own figures for its Prometheus textfile (`claw_<name>`, each registered in
    /// `crate::metrics::REGISTRY`), written by the job runner next to last run / success /
    /// duration / exit code.
    pub metrics: Vec<Metric>,
    /// Findings that may persist from run to run, as (stable key, one line). When set, the
    /// job runner prints only the ones that are new since the job's last run, and a
    /// "recovered:" line for those that went away (silence means health). `text` is
    /// printed as well, so it holds only what happened in this run (or the full report
    /// under `-v`).
    pub findings: Option<Vec<(String, String)>>,
}

/// One sample: `claw_` is prefixed to `name` unless it is already there.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// `value` is an increment of a counter the ledger keeps (`Outcome::count`), not the
    /// value to show.
    pub delta: bool,
}

impl Outcome {
    pub fn ok(summary: impl Into<String>) -> Outcome {
        Outcome {
            code: Code::Ok,
            summary: summary.into(),
            detail: Value::Null,
            text: String::new(),
            json: None,
            metrics: Vec::new(),
            findings: None,
        }
    }

    /// Set the persisting findings (see [`Outcome::findings`]).
    pub fn with_findings(mut self, findings: Vec<(String, String)>) -> Outcome {
        self.findings = Some(findings);
        self
    }

    /// Add a sample for the job's `.prom` file: a gauge's value or a counter's running total,
    /// e.g. `.metric("budget_usage_ratio", &[("budget", "daily all")], 0.25)`. The name must
    /// be in `crate::metrics::REGISTRY` (a unit test scans the source for these calls).
    pub fn metric(mut self, name: &str, labels: &[(&str, &str)], value: f64) -> Outcome {
        self.metrics.push(Metric {
            name: name.to_string(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
            delta: false,
        });
        self
    }

    /// Add `delta` to a registered counter (`…_total`) that the ledger keeps across runs: for
    /// events a run sees once (restarts, new rate-limit events). Recorded with the run, so a
    /// pruned history never lowers it.
    pub fn count(mut self, name: &str, labels: &[(&str, &str)], delta: f64) -> Outcome {
        self = self.metric(name, labels, delta);
        if let Some(m) = self.metrics.last_mut() {
            m.delta = true;
        }
        self
    }

    pub fn with_detail(mut self, detail: Value) -> Outcome {
        self.detail = detail;
        self
    }

    pub fn with_text(mut self, text: impl Into<String>) -> Outcome {
        self.text = text.into();
        self
    }

    pub fn finding(mut self) -> Outcome {
        self.code = Code::Finding;
        self
    }

    /// Print the outcome as the flags ask: `-q` prints nothing (errors go to stderr
    /// elsewhere), `--json` one document.
    pub fn emit(&self, command: &str, out: &Output) {
        if out.json {
            let mut doc = self.json.clone().unwrap_or_else(|| {
                json!({
                    "schema_version": SCHEMA_VERSION,
                    "command": command,
                    "exit_code": self.code.as_u8(),
                    "summary": self.summary,
                    "detail": self.detail,
                })
            });
            // Every document names the command that printed it, so a monitor reading several
            // can tell them apart.
            if let Some(m) = doc.as_object_mut() {
                m.entry("command").or_insert_with(|| json!(command));
            }
            let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
            s.push('\n');
            stdout(&s);
            return;
        }
        if out.quiet {
            return;
        }
        let mut text = self.text.clone();
        // Findings the job runner did not diff (a dry run): all of them are shown.
        for (_, line) in self.findings.iter().flatten() {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(line);
        }
        if !text.is_empty() {
            let mut t = crate::redact::redact_text(&text);
            if !t.ends_with('\n') {
                t.push('\n');
            }
            stdout(&t);
        }
        if text.is_empty() || out.verbose > 0 {
            out.note(&format!("{command}: {}", self.summary));
        }
    }
}

/// Write `text` to stdout. A reader that went away (`claw sessions list | head`) ends the
/// output quietly: the rest is not wanted, and `print!` would panic (exit 101) on the broken
/// pipe. Other write errors are reported once on stderr.
pub fn stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "claw: cannot write to stdout: {e}");
        }
    }
}

/// One diagnostic line on stderr; a closed stderr is ignored (`eprintln!` would panic).
pub fn stderr(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The `--json` document for a failed run.
pub fn error_doc(command: &str, code: Code, message: &str) -> Value {
    json!({
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "exit_code": code.as_u8(),
        "error": message,
    })
}

/// Render rows as an aligned text table (first row is the header).
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// Widest a human table or report line may be: fits an 100-column terminal, cron mail and
/// chat clients without wrapping.
pub const MAX_WIDTH: usize = 100;

/// How a column's cells line up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    /// Numbers: right-aligned so digits of equal weight line up.
    Right,
}

/// A human table in the style of ccusage: right-aligned numbers, a bold header and total row
/// on a terminal, and never wider than [`MAX_WIDTH`]: the widest text columns are shortened
/// with `…` down to their minimum, then optional columns are left out (the last first), then
/// text is cut further. `--json` / `--csv` keep every figure exact.
#[derive(Debug, Clone)]
pub struct Table {
    cols: Vec<Col>,
    rows: Vec<Vec<String>>,
    /// Rows after a rule (totals).
    footer: Vec<Vec<String>>,
}

#[derive(Debug, Clone)]
struct Col {
    name: String,
    align: Align,
    /// Text is not cut below this many columns before optional columns are dropped.
    min: usize,
    optional: bool,
}

/// Shortest a shortened text column gets (with its `…`).
const MIN_COL: usize = 6;

impl Table {
    pub fn new(cols: &[(&str, Align)]) -> Table {
        Table {
            cols: cols
                .iter()
                .map(|(n, a)| Col {
                    name: n.to_string(),
                    align: *a,
                    min: MIN_COL,
                    optional: false,
                })
                .collect(),
            rows: Vec::new(),
            footer: Vec::new(),
        }
    }

    /// Column `i` keeps at least `min` columns while optional ones can still go (dates).
    pub fn keep(mut self, i: usize, min: usize) -> Table {
        self.cols[i].min = min;
        self
    }

    /// Column `i` may be left out when the table does not fit.
    pub fn optional(mut self, i: usize) -> Table {
        self.cols[i].optional = true;
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// A total row, set off by a rule.
    pub fn total(&mut self, cells: Vec<String>) {
        self.footer.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Each column's width within `max` columns, `None` for one left out.
    fn widths(&self, max: usize) -> Vec<Option<usize>> {
        let n = self.cols.len();
        let mut w: Vec<Option<usize>> = self.cols.iter().map(|c| Some(width(&c.name))).collect();
        for r in self.rows.iter().chain(&self.footer) {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].map(|x| x.max(width(c)));
            }
        }
        let total = |w: &[Option<usize>]| {
            let shown: Vec<usize> = w.iter().flatten().copied().collect();
            shown.iter().sum::<usize>() + 2 * shown.len().saturating_sub(1)
        };
        let natural = w;
        let mut dropped = vec![false; n];
        loop {
            let mut w: Vec<Option<usize>> = natural
                .iter()
                .zip(&dropped)
                .map(|(x, d)| if *d { None } else { *x })
                .collect();
            // 1. The widest text column, down to its minimum.
            while total(&w) > max {
                let text = (0..n)
                    .filter(|&i| self.cols[i].align == Align::Left)
                    .filter(|&i| w[i].is_some_and(|x| x > self.cols[i].min))
                    .max_by_key(|&i| (w[i], std::cmp::Reverse(i)));
                match text {
                    Some(i) => w[i] = w[i].map(|x| x - 1),
                    None => break,
                }
            }
            if total(&w) <= max {
                return w;
            }
            // 2. Leave out the last optional column and start again from natural widths.
            if let Some(i) = (0..n).rev().find(|&i| self.cols[i].optional && !dropped[i]) {
                dropped[i] = true;
                continue;
            }
            // 3. Text below its minimum, then anything (a table of huge numbers).
            while total(&w) > max {
                let pick = (0..n)
                    .filter(|&i| {
                        self.cols[i].align == Align::Left && w[i].is_some_and(|x| x > MIN_COL)
                    })
                    .max_by_key(|&i| w[i])
                    .or_else(|| {
                        (0..n)
                            .filter(|&i| w[i].is_some_and(|x| x > 1))
                            .max_by_key(|&i| w[i])
                    });
                match pick {
                    Some(i) => w[i] = w[i].map(|x| x - 1),
                    None => break,
                }
            }
            return w;
        }
    }

    /// The table as text lines, each at most `max` columns; `color` makes the header and the
    /// totals bold (only ask for it on a terminal, see [`use_color`]).
    pub fn render_width(&self, max: usize, color: bool) -> String {
        let w = self.widths(max);
        let line = |cells: &[String]| -> String {
            let mut s = String::new();
            let mut first = true;
            for (i, col) in self.cols.iter().enumerate() {
                let Some(cw) = w[i] else { continue };
                let c = cells.get(i).map(String::as_str).unwrap_or("");
                let c = truncate(c, cw);
                let pad = cw - width(&c);
                if !first {
                    s.push_str("  ");
                }
                first = false;
                match col.align {
                    Align::Left => {
                        s.push_str(&c);
                        s.push_str(&" ".repeat(pad));
                    }
                    Align::Right => {
                        s.push_str(&" ".repeat(pad));
                        s.push_str(&c);
                    }
                }
            }
            s.trim_end().to_string()
        };
        let bold = |s: String| {
            if color {
                format!("\x1b[1m{s}\x1b[0m")
            } else {
                s
            }
        };
        let header: Vec<String> = self.cols.iter().map(|c| c.name.clone()).collect();
        let mut out = bold(line(&header));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        if !self.footer.is_empty() {
            let shown: Vec<usize> = w.iter().flatten().copied().collect();
            let rule = shown.iter().sum::<usize>() + 2 * shown.len().saturating_sub(1);
            out.push_str(&"─".repeat(rule.min(max)));
            out.push('\n');
            for r in &self.footer {
                out.push_str(&bold(line(r)));
                out.push('\n');
            }
        }
        out
    }

    /// [`Table::render_width`] at [`MAX_WIDTH`], coloured when stdout is a terminal.
    pub fn render(&self) -> String {
        self.render_width(MAX_WIDTH, use_color())
    }
}

/// Colour only on a terminal, and never with `NO_COLOR` set (no-color.org) or `TERM=dumb`.
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
        && std::io::stdout().is_terminal()
}

/// Display columns of `s` (one per char; claw prints no wide characters of its own).
pub fn width(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to `w` columns, its last one `…` when anything was cut.
pub fn truncate(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let mut t: String = s.chars().take(w - 1).collect();
    t.push('…');
    t
}

/// Every line of `text` wrapped at spaces to at most `max` columns (a word longer than that
/// is cut with `…`); continuation lines are indented by two spaces.
pub fn wrap(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if width(body) <= max {
            out.push_str(body);
            out.push_str(nl);
            continue;
        }
        let mut cur = String::new();
        for word in body.split(' ') {
            if !cur.trim().is_empty() && width(&cur) + 1 + width(word) > max {
                out.push_str(cur.trim_end());
                out.push('\n');
                cur = "  ".to_string();
            }
            if !cur.is_empty() && !cur.ends_with(' ') {
                cur.push(' ');
            }
            cur.push_str(word);
            if width(&cur) > max {
                cur = truncate(&cur, max);
            }
        }
        out.push_str(cur.trim_end());
        out.push_str(nl);
    }
    out
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Dollars for people: `$1,234.57` (the exact amount rounded to the cent, half away from
/// zero). The exact figures stay in `--json` and `--csv`.
pub fn dollars(v: crate::money::Usd) -> String {
    let r = v.round_dp(2);
    let (whole, cents) = r.split_once('.').unwrap_or((&r, "00"));
    format!("${}.{cents}", group_digits(whole))
}

/// A signed change in dollars for people: `+$1.00`, `-$0.50`.
pub fn signed_dollars(v: crate::money::Usd, negative: bool) -> String {
    if negative && v.round_dp(2) != "0.00" {
        format!("-{}", dollars(v))
    } else {
        format!("+{}", dollars(v))
    }
}

/// `1234567` -> `1,234,567` for a string of digits (an amount may pass i64).
fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod table_tests {
    use super::*;

    #[test]
    fn numbers_and_dollars_read_like_ccusage() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(thousands(i64::MIN), "-9,223,372,036,854,775,808");
        let u = |s: &str| crate::money::Usd::parse(s).unwrap();
        assert_eq!(dollars(u("0")), "$0.00");
        assert_eq!(dollars(u("0.004999")), "$0.00");
        // Half a cent, and a hair below it (a float could not tell them apart).
        assert_eq!(dollars(u("0.005")), "$0.01");
        assert_eq!(dollars(u("0.0049999999999999999999")), "$0.00");
        assert_eq!(dollars(u("1234.565")), "$1,234.57");
        assert_eq!(
            dollars(u("123456789012345678901.234")),
            "$123,456,789,012,345,678,901.23"
        );
        assert_eq!(signed_dollars(u("1.5"), true), "-$1.50");
        assert_eq!(signed_dollars(u("1.5"), false), "+$1.50");
        assert_eq!(signed_dollars(u("0.001"), true), "+$0.00");
    }

    #[test]
    fn numbers_align_right_and_text_left() {
        let mut t = Table::new(&[("NAME", Align::Left), ("COST", Align::Right)]);
        t.row(vec!["a".into(), "$1.00".into()]);
        t.row(vec!["bbbbbb".into(), "$1,000.00".into()]);
        t.total(vec!["TOTAL".into(), "$1,001.00".into()]);
        let s = t.render_width(100, false);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "NAME         COST");
        assert_eq!(lines[1], "a           $1.00");
        assert_eq!(lines[2], "bbbbbb  $1,000.00");
        assert!(lines[3].chars().all(|c| c == '─'), "{s}");
        assert_eq!(lines[4], "TOTAL   $1,001.00");
        assert!(!s.contains('\x1b'));
        let c = t.render_width(100, true);
        assert!(c.starts_with("\x1b[1mNAME"), "{c}");
    }

    #[test]
    fn wide_tables_fit_by_cutting_the_widest_text_never_numbers() {
        let mut t = Table::new(&[
            ("AGENT", Align::Left),
            ("MODEL", Align::Left),
            ("TOKENS", Align::Right),
        ]);
        let long = "x".repeat(120);
        t.row(vec![
            long.clone(),
            format!("m-{long}"),
            thousands(123_456_789_012),
        ]);
        t.row(vec!["short".into(), "m".into(), "1".into()]);
        let s = t.render_width(60, false);
        for l in s.lines() {
            assert!(width(l) <= 60, "{} > 60: {l}", width(l));
        }
        assert!(s.contains("123,456,789,012"), "{s}");
        assert!(s.contains('…'), "{s}");
        // Nothing to cut: left alone.
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcdef", 4), "abc…");
        let w = wrap("aaa bbb ccc\nshort\n", 7);
        assert_eq!(w, "aaa bbb\n  ccc\nshort\n");
        assert!(wrap(&"z".repeat(30), 10).lines().all(|l| width(l) <= 10));
        // Dates keep their width; an optional column goes first.
        let mut d = Table::new(&[
            ("DAY", Align::Left),
            ("A", Align::Right),
            ("B", Align::Right),
        ])
        .keep(0, 10)
        .optional(2);
        d.row(vec!["2026-03-10".into(), "1".repeat(40), "2".repeat(40)]);
        let out = d.render_width(60, false);
        assert_eq!(
            out.lines().nth(1).unwrap(),
            format!("2026-03-10  {}", "1".repeat(40))
        );
        // Even a table of numbers only stays within the width.
        let mut n = Table::new(&[("A", Align::Right), ("B", Align::Right)]);
        n.row(vec!["9".repeat(80), "9".repeat(80)]);
        assert!(n.render_width(100, false).lines().all(|l| width(l) <= 100));
    }
}
