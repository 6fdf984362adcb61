//! Prometheus textfiles: each job run writes `claw_<job>.prom` atomically into the
//! node_exporter textfile-collector directory, so a fleet of hosts is watched by Prometheus
//! and Alertmanager while claw stays a one-shot per host.

use crate::output::Metric;
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The figures every job run has.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub job: String,
    /// Unix seconds the run started.
    pub started: f64,
    /// Unix seconds of the newest successful (exit 0 or 1) end, this run or an earlier one.
    pub last_success: Option<f64>,
    pub duration_secs: f64,
    pub exit_code: u8,
}

/// `claw_<job>.prom` with `-` made `_`.
pub fn file_name(job: &str) -> String {
    format!("claw_{}.prom", sanitize(job))
}

/// A valid metric name part: `[a-zA-Z0-9_]`, anything else becomes `_`.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn metric_name(name: &str) -> String {
    let n = sanitize(name);
    let n = if n.starts_with("claw_") {
        n
    } else {
        format!("claw_{n}")
    };
    n
}

fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Render the textfile: the run facts, then the job's own gauges (every sample carries a
/// `job` label). Samples of one name are grouped under one `# TYPE`.
pub fn render(f: &RunFacts, extra: &[Metric]) -> String {
    let job = label_value(&f.job);
    let mut out = String::new();
    let mut std_gauge = |name: &str, help: &str, v: f64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name}{{job=\"{job}\"}} {}", value(v));
    };
    std_gauge(
        "claw_job_last_run_timestamp_seconds",
        "Unix time the job's last run started.",
        f.started,
    );
    if let Some(t) = f.last_success {
        std_gauge(
            "claw_job_last_success_timestamp_seconds",
            "Unix time the job last ended with exit 0 or 1.",
            t,
        );
    }
    std_gauge(
        "claw_job_duration_seconds",
        "Wall time of the job's last run.",
        f.duration_secs,
    );
    std_gauge(
        "claw_job_exit_code",
        "Exit code of the job's last run (0 ok, 1 finding, others errors).",
        f64::from(f.exit_code),
    );
    let mut groups: BTreeMap<String, Vec<&Metric>> = BTreeMap::new();
    for m in extra {
        groups.entry(metric_name(&m.name)).or_default().push(m);
    }
    for (name, ms) in groups {
        let _ = writeln!(out, "# TYPE {name} gauge");
        for m in ms {
            let mut labels = vec![format!("job=\"{job}\"")];
            for (k, v) in &m.labels {
                if k != "job" {
                    labels.push(format!("{}=\"{}\"", sanitize(k), label_value(v)));
                }
            }
            let _ = writeln!(out, "{name}{{{}}} {}", labels.join(","), value(m.value));
        }
    }
    out
}

/// Write the textfile atomically (0644: node_exporter runs as another user).
pub fn write(dir: &Path, f: &RunFacts, extra: &[Metric]) -> Result<PathBuf> {
    let path = dir.join(file_name(&f.job));
    crate::atomic::write(
        &path,
        render(f, extra).as_bytes(),
        crate::atomic::Opts {
            mode: 0o644,
            keep_existing_mode_and_owner: false,
        },
    )?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_facts_and_grouped_job_gauges_with_escaped_labels() {
        let f = RunFacts {
            job: "cost-track".into(),
            started: 1_700_000_000.0,
            last_success: None,
            duration_secs: 0.25,
            exit_code: 74,
        };
        let extra = vec![
            Metric {
                name: "cost_usd_today".into(),
                labels: vec![("agent".into(), "a\"b".into())],
                value: 1.5,
            },
            Metric {
                name: "claw_cost_usd_today".into(),
                labels: vec![("agent".into(), "main".into())],
                value: 2.0,
            },
        ];
        let t = render(&f, &extra);
        assert!(
            t.contains("claw_job_exit_code{job=\"cost-track\"} 74\n"),
            "{t}"
        );
        assert!(!t.contains("last_success"), "{t}");
        assert_eq!(
            t.matches("# TYPE claw_cost_usd_today gauge").count(),
            1,
            "{t}"
        );
        assert!(
            t.contains("claw_cost_usd_today{job=\"cost-track\",agent=\"a\\\"b\"} 1.5"),
            "{t}"
        );
        assert_eq!(file_name("cost-track"), "claw_cost_track.prom");
    }
}
