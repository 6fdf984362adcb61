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
