//! Prometheus textfiles: each job run writes `claw_<job>.prom` atomically into the
//! node_exporter textfile-collector directory, so a fleet of hosts is watched by Prometheus
//! and Alertmanager while claw stays a one-shot per host.
//!
//! [`REGISTRY`] is the one list of every metric claw writes: its type, help text, base unit
//! and the labels it may carry. Rendering takes HELP and TYPE from it, so a job only says
//! `.metric(name, labels, value)` (a gauge's value or a counter's running total) or
//! `.count(name, labels, delta)` (a counter kept in the ledger, see `Ledger::end_run`). A unit
//! test scans the source for every `.metric("…")` / `.count("…")` name and fails on one
//! missing here, so an unregistered metric cannot ship.

use crate::output::Metric;
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A metric's Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// One registered metric.
#[derive(Debug)]
pub struct Spec {
    /// The full name, `claw_` prefix included.
    pub name: &'static str,
    pub kind: Kind,
    /// Base unit as it appears in the name (`seconds`, `bytes`, `usd`, `ratio`), or "" for
    /// counts and states.
    pub unit: &'static str,
    /// Labels besides `job` (every sample carries `job`). All bounded: never a session or
    /// run id.
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

/// Every label any claw metric may carry: each has a small, operator-bounded set of values.
pub const BOUNDED_LABELS: &[&str] = &[
    "job", "result", "agent", "provider", "model", "kind", "budget", "class", "config",
];

const fn g(
    name: &'static str,
    unit: &'static str,
    labels: &'static [&'static str],
    help: &'static str,
) -> Spec {
    Spec {
        name,
        kind: Kind::Gauge,
        unit,
        labels,
        help,
    }
}

const fn c(
    name: &'static str,
    unit: &'static str,
    labels: &'static [&'static str],
    help: &'static str,
) -> Spec {
    Spec {
        name,
        kind: Kind::Counter,
        unit,
        labels,
        help,
    }
}

/// Every metric claw writes. README's metric catalogue lists the same; keep both in step.
pub const REGISTRY: &[Spec] = &[
    // Every job run (src/watch.rs, the ledger's run counters).
    g("claw_job_last_run_timestamp_seconds", "seconds", &[], "Unix time the job's last run started."),
    g("claw_job_last_success_timestamp_seconds", "seconds", &[], "Unix time the job last ended with exit 0 or 1."),
    g("claw_job_duration_seconds", "seconds", &[], "Wall time of the job's last run."),
    g("claw_job_exit_code", "", &[], "Exit code of the job's last run (0 ok, 1 finding, others errors)."),
    c("claw_job_runs_total", "", &["result"], "Runs of the job by result (ok: exit 0, finding: exit 1, error: any other exit)."),
    // cost-track: all-time totals from the ledger (a `claw pricing reprice` can lower them).
    c("claw_cost_usd_total", "usd", &["agent", "provider", "model"], "Spend counted so far, in US dollars, in the configured cost mode."),
    c("claw_tokens_total", "", &["agent", "provider", "model", "kind"], "Tokens counted so far by kind (input, output, cache_read, cache_write)."),
    // budget-check.
    g("claw_budget_spent_usd", "usd", &["budget"], "Spend in the budget's current period, in US dollars."),
    g("claw_budget_limit_usd", "usd", &["budget"], "The budget's limit for its period, in US dollars."),
    g("claw_budget_spent_tokens", "", &["budget"], "Tokens in a token budget's current period."),
    g("claw_budget_limit_tokens", "", &["budget"], "A token budget's limit for its period."),
    g("claw_budget_usage_ratio", "ratio", &["budget"], "Spend in the budget's current period over its limit (1 = limit reached)."),
    g("claw_budget_warning_ratio", "ratio", &["budget"], "The budget's warning threshold as a ratio of its limit."),
    // rate-limit-detect.
    g("claw_rate_limit_breaker_state", "", &["provider"], "Circuit breaker per provider (provider=\"global\" for all): 0 closed, 1 half-open, 2 open."),
    g("claw_rate_limit_window_events", "", &["provider"], "Rate-limit events inside the breaker's window."),
    g("claw_rate_limit_degradation_level", "", &["provider"], "Degradation level: 0 full, 1 degraded, 2 minimal (provider global: the whole gateway)."),
    c("claw_rate_limit_events_total", "", &[], "Rate-limit and overload events counted."),
    // stuck-agent.
    g("claw_stuck_agent_runs", "", &["class"], "Subagent runs per class at the last scan."),
    // tunnel.
    g("claw_tunnel_healthy", "", &[], "1 when the tunnel answered its last health check."),
    c("claw_tunnel_restarts_total", "", &[], "Tunnel restarts claw made."),
    g("claw_tunnel_targets_failed", "", &[], "Webhook targets whose last update failed."),
    // tick.
    g("claw_tick_jobs_run", "", &[], "Jobs the last tick ran."),
    g("claw_tick_jobs_failed", "", &[], "Jobs that failed in the last tick."),
    // config backup / heal.
    g("claw_config_backup_last_timestamp_seconds", "seconds", &["config"], "Unix time the config was last known backed up (its newest backup, or the last run that found it unchanged)."),
    g("claw_config_backups", "", &["config"], "Backups kept of the config."),
    // compaction-backup.
    g("claw_compaction_backup_last_timestamp_seconds", "seconds", &["agent"], "Unix time the agent's transcripts were last known backed up (the last full run without errors, else its newest snapshot)."),
    g("claw_compaction_backup_bytes", "bytes", &["agent"], "Bytes of the agent's kept transcript snapshots."),
    // gateway check.
    g("claw_gateway_up", "", &[], "1 when the gateway answered its health check (or did after a restart)."),
    g("claw_gateway_exposure_findings", "", &["kind"], "Exposure, resource and drift findings of the last gateway check, by severity (kind=\"warning\" or \"critical\")."),
    c("claw_gateway_restarts_total", "", &[], "Gateway restarts claw made."),
    g("claw_gateway_probe_duration_seconds", "seconds", &[], "Time the last health probe took."),
    g("claw_gateway_consecutive_failures", "", &[], "Failed health checks in a row."),
    g("claw_gateway_restarts_last_hour", "", &[], "Gateway restarts in the last hour (the budget is max_restarts_per_hour)."),
    g("claw_gateway_restart_held", "", &[], "1 when restarts are on hold (restart loop)."),
    g("claw_gateway_version_drift", "", &[], "1 when the installed OpenClaw differs from claw's cached schema."),
    g("claw_gateway_resident_memory_bytes", "bytes", &[], "Resident memory of the gateway process."),
    g("claw_gateway_uptime_seconds", "seconds", &[], "Seconds since the gateway process started."),
    g("claw_gateway_fs_avail_bytes", "bytes", &["kind"], "Bytes available on the filesystem holding kind=\"openclaw\" (state dir), \"claw_state\" or \"gateway_logs\"."),
    g("claw_gateway_fs_size_bytes", "bytes", &["kind"], "Size of the filesystem holding kind=\"openclaw\", \"claw_state\" or \"gateway_logs\"."),
    g("claw_gateway_fs_inodes_free_ratio", "ratio", &["kind"], "Free inodes as a fraction on the filesystem holding kind=\"openclaw\", \"claw_state\" or \"gateway_logs\"."),
];

/// The registered spec of `name` (with or without the `claw_` prefix).
pub fn spec(name: &str) -> Option<&'static Spec> {
    let full = metric_name(name);
    REGISTRY.iter().find(|s| s.name == full)
}

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

/// `name` with the `claw_` prefix.
pub fn metric_name(name: &str) -> String {
    let n = sanitize(name);
    if n.starts_with("claw_") {
        n
    } else {
        format!("claw_{n}")
    }
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

/// A rendered textfile and what had to be left out of it (unregistered names, undeclared
/// labels, repeated series): each would make promtool or node_exporter reject the file.
#[derive(Debug, Default)]
pub struct Rendered {
    pub text: String,
    pub problems: Vec<String>,
}

fn sample(name: &str, labels: &[(&str, &str)], v: f64) -> Metric {
    Metric {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value: v,
        delta: false,
    }
}

/// The run facts as samples (the `job` label is added by [`render`]).
pub fn fact_samples(f: &RunFacts) -> Vec<Metric> {
    let mut v = vec![sample(
        "claw_job_last_run_timestamp_seconds",
        &[],
        f.started,
    )];
    if let Some(t) = f.last_success {
        v.push(sample("claw_job_last_success_timestamp_seconds", &[], t));
    }
    v.push(sample("claw_job_duration_seconds", &[], f.duration_secs));
    v.push(sample("claw_job_exit_code", &[], f64::from(f.exit_code)));
    v
}

/// Render the textfile: the run facts, then `samples` (the job's gauges and its counters'
/// totals), grouped per name in registry order under the registry's HELP and TYPE. Every
/// sample carries the job's `job` label.
pub fn render(f: &RunFacts, samples: &[Metric]) -> Rendered {
    let job = label_value(&f.job);
    let mut r = Rendered::default();
    let mut groups: BTreeMap<usize, Vec<(String, f64)>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for m in fact_samples(f).iter().chain(samples) {
        let name = metric_name(&m.name);
        let Some(i) = REGISTRY.iter().position(|s| s.name == name) else {
            r.problems.push(format!(
                "{name}: not in the metric registry (src/metrics.rs)"
            ));
            continue;
        };
        let spec = &REGISTRY[i];
        if m.delta {
            r.problems
                .push(format!("{name}: an increment reached the renderer"));
            continue;
        }
        let mut labels = vec![format!("job=\"{job}\"")];
        let mut ok = true;
        for (k, v) in &m.labels {
            if k == "job" {
                continue;
            }
            if !spec.labels.contains(&k.as_str()) {
                r.problems
                    .push(format!("{name}: label {k} is not declared for it"));
                ok = false;
                break;
            }
            labels.push(format!("{k}=\"{}\"", label_value(v)));
        }
        let series = labels.join(",");
        if ok && !seen.insert(format!("{name}{{{series}}}")) {
            r.problems.push(format!("{name}{{{series}}}: repeated"));
            ok = false;
        }
        if ok {
            groups.entry(i).or_default().push((series, m.value));
        }
    }
    for (i, ss) in groups {
        let s = &REGISTRY[i];
        let _ = writeln!(r.text, "# HELP {} {}", s.name, s.help);
        let _ = writeln!(r.text, "# TYPE {} {}", s.name, s.kind.as_str());
        for (series, v) in ss {
            let _ = writeln!(r.text, "{}{{{series}}} {}", s.name, value(v));
        }
    }
    r
}

/// Write the textfile atomically (0644: node_exporter runs as another user); returns its path
/// and what was left out.
pub fn write(dir: &Path, f: &RunFacts, samples: &[Metric]) -> Result<(PathBuf, Vec<String>)> {
    let path = dir.join(file_name(&f.job));
    let r = render(f, samples);
    crate::atomic::write(
        &path,
        r.text.as_bytes(),
        crate::atomic::Opts {
            mode: 0o644,
            keep_existing_mode_and_owner: false,
        },
    )?;
    Ok((path, r.problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> RunFacts {
        RunFacts {
            job: "cost-track".into(),
            started: 1_700_000_000.0,
            last_success: None,
            duration_secs: 0.25,
            exit_code: 74,
        }
    }

    #[test]
    fn renders_facts_and_grouped_samples_with_help_type_and_escaped_labels() {
        let extra = vec![
            sample(
                "cost_usd_total",
                &[("agent", "a\"b"), ("provider", "p"), ("model", "m")],
                1.5,
            ),
            sample(
                "claw_cost_usd_total",
                &[("agent", "main"), ("provider", "p"), ("model", "m")],
                2.0,
            ),
        ];
        let r = render(&facts(), &extra);
        let t = &r.text;
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert!(
            t.contains("claw_job_exit_code{job=\"cost-track\"} 74\n"),
            "{t}"
        );
        assert!(!t.contains("last_success"), "{t}");
        assert_eq!(t.matches("# TYPE claw_cost_usd_total counter").count(), 1);
        assert_eq!(t.matches("# HELP claw_cost_usd_total ").count(), 1);
        assert!(
            t.contains(
                "claw_cost_usd_total{job=\"cost-track\",agent=\"a\\\"b\",provider=\"p\",model=\"m\"} 1.5"
            ),
            "{t}"
        );
        assert_eq!(file_name("cost-track"), "claw_cost_track.prom");
        // Every name has HELP then TYPE right before its first sample.
        for s in t.lines().filter(|l| !l.starts_with('#')) {
            let name = s.split('{').next().unwrap();
            assert!(t.contains(&format!("# TYPE {name} ")), "{name}");
        }
    }

    #[test]
    fn unregistered_names_undeclared_labels_and_repeats_are_left_out_and_said() {
        let extra = vec![
            sample("made_up_metric", &[], 1.0),
            sample("stuck_agent_runs", &[("session", "s-123")], 1.0),
            sample("stuck_agent_runs", &[("class", "idle")], 1.0),
            sample("stuck_agent_runs", &[("class", "idle")], 2.0),
        ];
        let r = render(&facts(), &extra);
        assert_eq!(r.problems.len(), 3, "{:?}", r.problems);
        assert!(!r.text.contains("made_up"), "{}", r.text);
        assert!(!r.text.contains("s-123"), "{}", r.text);
        assert!(r
            .text
            .contains("claw_stuck_agent_runs{job=\"cost-track\",class=\"idle\"} 1\n"));
        assert!(!r.text.contains("} 2\n"), "{}", r.text);
    }

    #[test]
    fn registry_names_carry_type_and_unit_and_labels_are_bounded() {
        let mut names = std::collections::HashSet::new();
        for s in REGISTRY {
            assert!(names.insert(s.name), "{} registered twice", s.name);
            assert!(s.name.starts_with("claw_"), "{}", s.name);
            assert!(
                s.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                s.name
            );
            assert_eq!(
                s.name.ends_with("_total"),
                s.kind == Kind::Counter,
                "{}: counters and only counters end in _total",
                s.name
            );
            let base = s.name.trim_end_matches("_total");
            if s.unit.is_empty() {
                for u in ["_seconds", "_bytes", "_usd", "_ratio"] {
                    assert!(!base.ends_with(u), "{}: unit {u} not declared", s.name);
                }
            } else {
                assert!(
                    base.ends_with(&format!("_{}", s.unit)),
                    "{}: base unit {} must end the name",
                    s.name,
                    s.unit
                );
            }
            assert!(!s.help.is_empty() && !s.help.contains('\n'), "{}", s.name);
            for l in s.labels {
                assert!(BOUNDED_LABELS.contains(l), "{}: label {l}", s.name);
                assert_ne!(*l, "job", "{}: job is added to every sample", s.name);
            }
        }
    }

    /// Every name the source passes to `.metric("…")` or `.count("…")` is registered, and a
    /// `.count` name is a counter: an unregistered metric cannot ship.
    #[test]
    fn every_metric_named_in_the_source_is_registered() {
        let re = regex::Regex::new(r#"\.(metric|count)\(\s*"([A-Za-z0-9_]+)""#).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = 0;
        let mut missing = Vec::new();
        for e in walkdir::WalkDir::new(&src) {
            let e = e.unwrap();
            if e.path().extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap();
            for c in re.captures_iter(&text) {
                // The doc example in output.rs and this module's own tests are not jobs.
                let file = e.path().strip_prefix(&src).unwrap().display().to_string();
                if file == "metrics.rs" {
                    continue;
                }
                found += 1;
                let name = &c[2];
                match spec(name) {
                    None => missing.push(format!("{file}: {name}")),
                    Some(s) if &c[1] == "count" && s.kind != Kind::Counter => missing.push(
                        format!("{file}: {name} is counted but registered as a gauge"),
                    ),
                    Some(_) => {}
                }
            }
        }
        assert!(found >= 10, "the scan found only {found} metric calls");
        assert!(missing.is_empty(), "unregistered metrics: {missing:#?}");
    }
}
