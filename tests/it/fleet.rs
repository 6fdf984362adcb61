//! The fleet view: every textfile claw writes passes `promtool check metrics` after every
//! job, the shipped alert rules pass `promtool check rules` and their `promtool test rules`
//! cases, the Grafana dashboard only names registered metrics, and a real node_exporter's
//! textfile collector serves claw's series with the spend `claw cost report` shows.

use crate::common::{skip, Sandbox};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The sample home's clock (it was generated as of this time).
const SAMPLE_NOW: &str = "2026-11-21T08:00:00Z";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `promtool`, or None with a skip note (CI installs Debian's `prometheus` package).
fn promtool() -> Option<&'static str> {
    let ok = Command::new("promtool")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some("promtool")
    } else {
        skip("no promtool (Debian package `prometheus`): the promtool checks");
        None
    }
}

/// A sandbox whose settings write textfiles to `<root>/prom`, with a budget so budget-check
/// has figures, and OpenClaw's state dir at `oc` (a copy of `src`).
fn fleet_sandbox(src: &Path) -> (Sandbox, PathBuf) {
    let s = Sandbox::new();
    let prom = s.root().join("prom");
    std::fs::create_dir_all(&prom).unwrap();
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n\n[watch]\ntextfile_dir = \"{}\"\n\n\
         [[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 0.25\n\n\
         [[cost.budgets]]\nperiod = \"monthly\"\nagent = \"main\"\nlimit_usd = 100\n",
        prom.display()
    ));
    let oc = s.root().join("oc");
    let st = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(&oc)
        .status()
        .unwrap();
    assert!(st.success());
    (s, oc)
}

/// Every scheduled job and the maintenance jobs that write a textfile, as cron runs them.
fn jobs(oc: &Path) -> Vec<Vec<String>> {
    let logs = oc.join("logs/gateway").display().to_string();
    [
        vec!["config", "backup"],
        vec!["config", "heal"],
        vec!["config", "prune"],
        vec!["cost-track"],
        vec!["budget-check"],
        vec!["pricing", "reprice"],
        vec!["compaction-backup"],
        vec!["compaction-backup", "verify"],
        vec!["compaction-backup", "prune"],
        vec!["rate-limit-detect", "--log-dir", &logs],
        vec!["stuck-agent", "scan"],
        vec!["tunnel", "check"],
        vec!["tick"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect()
}

fn run_job(s: &Sandbox, oc: &Path, now: &str, argv: &[String]) -> crate::common::Run {
    let mut args: Vec<&str> = vec!["--now", now];
    args.extend(argv.iter().map(String::as_str));
    let r = s.run_env(&args, &[("CLAW_OPENCLAW_DIR", oc.to_str().unwrap())]);
    assert!(
        !r.stderr.contains("metric left out"),
        "{argv:?}: {}",
        r.stderr
    );
    assert!(
        [0, 1].contains(&r.code),
        "{argv:?} exit {}\n{}{}",
        r.code,
        r.stdout,
        r.stderr
    );
    r
}

/// The textfiles in `dir` and their contents.
fn textfiles(dir: &Path) -> BTreeMap<PathBuf, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let t = std::fs::read_to_string(&p).unwrap();
            (p, t)
        })
        .collect()
}

/// `promtool check metrics` on `text`: exit 0 and nothing said (a lint problem exits 1 with a
/// line per problem).
fn promtool_clean(promtool: &str, path: &Path, text: &str, after: &str) {
    let mut c = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let o = c.wait_with_output().unwrap();
    assert!(
        o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
        "after {after}: promtool check metrics {}:\n{}{}\n{text}",
        path.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
}

/// Runs every job twice (the second round an hour later, when counters are read back from
/// the ledger) and puts every file a job wrote or changed through promtool right after it.
fn check_every_job(s: &Sandbox, oc: &Path, now: &str, promtool: &str) {
    let prom = s.root().join("prom");
    let later = (chrono::DateTime::parse_from_rfc3339(now).unwrap() + chrono::Duration::hours(1))
        .to_rfc3339();
    let mut before = textfiles(&prom);
    let mut checked = 0;
    for at in [now, later.as_str()] {
        for argv in jobs(oc) {
            run_job(s, oc, at, &argv);
            let after = textfiles(&prom);
            for (p, t) in &after {
                if before.get(p) != Some(t) {
                    promtool_clean(promtool, p, t, &format!("{} at {at}", argv.join(" ")));
                    checked += 1;
                }
            }
            before = after;
        }
    }
    let names: BTreeSet<String> = before
        .keys()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for f in [
        "claw_config_backup.prom",
        "claw_config_heal.prom",
        "claw_cost_track.prom",
        "claw_budget_check.prom",
        "claw_compaction_backup.prom",
        "claw_rate_limit_detect.prom",
        "claw_stuck_agent.prom",
        "claw_tunnel.prom",
        "claw_tick.prom",
    ] {
        assert!(names.contains(f), "{f} missing: {names:?}");
    }
    assert!(checked >= 2 * jobs(oc).len(), "{checked} files checked");
}

#[test]
fn every_textfile_passes_promtool_after_every_job_on_the_sample_home() {
    let Some(promtool) = promtool() else { return };
    let (s, oc) = fleet_sandbox(&repo().join("examples/openclaw-home"));
    check_every_job(&s, &oc, SAMPLE_NOW, promtool);
    let t = std::fs::read_to_string(s.root().join("prom/claw_cost_track.prom")).unwrap();
    assert!(t.contains("# TYPE claw_cost_usd_total counter\n"), "{t}");
    assert!(
        t.contains(
            "claw_tokens_total{job=\"cost-track\",agent=\"main\",provider=\"anthropic\",model=\"claude-haiku-4-5\",kind=\"cache_read\"} "
        ),
        "{t}"
    );
    // The run counter counts every run the ledger recorded (by hand and under tick), and
    // does not go down when the run history is pruned.
    let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    let runs: i64 = db
        .query_row(
            "SELECT count(*) FROM runs WHERE job = 'cost-track' AND exit_code = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(runs >= 2);
    let want = format!("claw_job_runs_total{{job=\"cost-track\",result=\"ok\"}} {runs}\n");
    assert!(t.contains(&want), "{want}\n{t}");
    db.execute("DELETE FROM runs", []).unwrap();
    drop(db);
    run_job(&s, &oc, "2026-11-21T10:00:00Z", &["cost-track".to_string()]);
    let t = std::fs::read_to_string(s.root().join("prom/claw_cost_track.prom")).unwrap();
    let want = format!(
        "claw_job_runs_total{{job=\"cost-track\",result=\"ok\"}} {}\n",
        runs + 1
    );
    assert!(t.contains(&want), "{want}\n{t}");
}

#[test]
fn every_textfile_passes_promtool_after_every_job_on_a_generated_home() {
    let Some(promtool) = promtool() else { return };
    let g = Sandbox::new();
    let (home, truth) = g.gen_home("gen", 18, "both");
    let now = truth["generator"]["now"].as_str().unwrap().to_string();
    let (s, oc) = fleet_sandbox(&home);
    check_every_job(&s, &oc, &now, promtool);
}

fn rules() -> PathBuf {
    repo().join("contrib/prometheus/claw.rules.yml")
}

#[test]
fn alert_rules_pass_promtool_check_and_their_unit_tests() {
    let Some(promtool) = promtool() else { return };
    let o = Command::new(promtool)
        .args(["check", "rules"])
        .arg(rules())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "promtool check rules:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new(promtool)
        .args(["test", "rules"])
        .arg(repo().join("contrib/prometheus/claw.rules.test.yml"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "promtool test rules:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // Every alert the README promises has a rule and at least one test case.
    let text = std::fs::read_to_string(rules()).unwrap();
    let tests =
        std::fs::read_to_string(repo().join("contrib/prometheus/claw.rules.test.yml")).unwrap();
    let alerts = names_after(&text, "- alert:");
    for a in [
        "ClawJobStale",
        "ClawJobFailing",
        "ClawGatewayDown",
        "ClawGatewayExposure",
        "ClawBreakerOpen",
        "ClawBudgetWarning",
        "ClawSpendSpike",
        "ClawStuckAgents",
        "ClawConfigBackupOld",
        "ClawTranscriptBackupOld",
    ] {
        assert!(alerts.contains(a), "no alert {a}: {alerts:?}");
        assert!(
            tests.contains(&format!("alertname: {a}")),
            "no test case for {a}"
        );
    }
}

/// The names after `key` on lines of a YAML file.
fn names_after(text: &str, key: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(key))
        .map(|n| n.trim().to_string())
        .collect()
}

/// Every metric name (`claw_…`) and recording rule (`claw:…`) in a PromQL expression.
fn names_in(expr: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\bclaw[_:][A-Za-z0-9_:]+").unwrap();
    re.find_iter(expr).map(|m| m.as_str().to_string()).collect()
}

#[test]
fn rules_and_the_dashboard_name_only_registered_metrics() {
    let registered: BTreeSet<String> = claw::metrics::REGISTRY
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    let text = std::fs::read_to_string(rules()).unwrap();
    let recorded = names_after(&text, "- record:");
    assert!(!recorded.is_empty());
    for l in text.lines() {
        for n in names_in(l) {
            assert!(
                registered.contains(&n) || recorded.contains(&n),
                "rules file names {n}, neither registered nor recorded"
            );
        }
    }

    let path = repo().join("contrib/grafana/claw-dashboard.json");
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    assert!(d["title"].is_string() && d["uid"].is_string());
    assert!(d["schemaVersion"].as_u64().unwrap() >= 30);
    // Importable as is: no __inputs to fill, the data source and host are variables.
    assert!(d.get("__inputs").is_none());
    let vars: BTreeMap<&str, &str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["type"].as_str().unwrap()))
        .collect();
    assert_eq!(vars.get("datasource"), Some(&"datasource"), "{vars:?}");
    assert_eq!(vars.get("instance"), Some(&"query"), "{vars:?}");
    let mut panels: Vec<&serde_json::Value> = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        panels.push(p);
        if let Some(inner) = p["panels"].as_array() {
            panels.extend(inner);
        }
    }
    let mut used = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut bound = 0;
    for p in panels {
        if p["type"] == "row" {
            continue;
        }
        assert!(ids.insert(p["id"].as_u64().unwrap()), "repeated panel id");
        let targets = p["targets"].as_array().unwrap_or_else(|| panic!("{p}"));
        assert!(!targets.is_empty(), "panel {} has no query", p["title"]);
        for t in targets {
            let e = t["expr"].as_str().unwrap();
            let names = names_in(e);
            assert!(
                !names.is_empty(),
                "{}: {e} names no claw metric",
                p["title"]
            );
            assert!(
                e.contains("instance=~\"$instance\""),
                "{}: {e} ignores the instance variable",
                p["title"]
            );
            for n in names {
                assert!(
                    registered.contains(&n) || recorded.contains(&n),
                    "{}: {n} is neither registered nor a recording rule",
                    p["title"]
                );
                used.insert(n);
            }
            bound += 1;
        }
    }
    assert!(bound >= 8, "{bound} queries");
    for n in [
        "claw_cost_usd_total",
        "claw_budget_usage_ratio",
        "claw_rate_limit_breaker_state",
        "claw_stuck_agent_runs",
        "claw_job_last_success_timestamp_seconds",
    ] {
        assert!(
            used.iter().any(|u| u == n || recorded_uses(&text, u, n)),
            "the dashboard never shows {n}"
        );
    }
}

/// Whether recording rule `rule` is defined over metric `n` in the rules file.
fn recorded_uses(rules: &str, rule: &str, n: &str) -> bool {
    let mut lines = rules.lines();
    while let Some(l) = lines.next() {
        if l.trim() == format!("- record: {rule}") {
            return lines.next().is_some_and(|e| e.contains(n));
        }
    }
    false
}

/// node_exporter, killed by PID when dropped (also when the test fails).
struct Exporter {
    child: std::process::Child,
    stderr: PathBuf,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `/metrics` once node_exporter answers (it starts in well under a second; 15 s bound).
fn scrape(e: &mut Exporter, port: u16) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(3)))
        .build()
        .into();
    let t0 = Instant::now();
    loop {
        match agent
            .get(&format!("http://127.0.0.1:{port}/metrics"))
            .call()
        {
            Ok(r) => return r.into_body().read_to_string().unwrap(),
            Err(err) => {
                if let Ok(Some(st)) = e.child.try_wait() {
                    let mut log = String::new();
                    let _ = std::fs::File::open(&e.stderr).map(|mut f| f.read_to_string(&mut log));
                    panic!("node_exporter exited ({st}): {log}");
                }
                assert!(t0.elapsed() < Duration::from_secs(15), "no answer: {err}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// `name{labels} value` lines of an exposition: (name, labels, value).
fn samples(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let line = regex::Regex::new(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$").unwrap();
    let label = regex::Regex::new(r#"([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)""#).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| line.captures(l))
        .map(|c| {
            let labels = c
                .get(2)
                .map(|m| {
                    label
                        .captures_iter(m.as_str())
                        .map(|l| (l[1].to_string(), l[2].to_string()))
                        .collect()
                })
                .unwrap_or_default();
            (c[1].to_string(), labels, c[3].parse::<f64>().unwrap())
        })
        .collect()
}

#[test]
fn node_exporter_serves_claws_series_and_spend_equal_to_cost_report() {
    let exporter = "prometheus-node-exporter";
    if Command::new(exporter)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        skip("no prometheus-node-exporter (Debian package): the real textfile collector");
        return;
    }
    let (s, oc) = fleet_sandbox(&repo().join("examples/openclaw-home"));
    let logs = oc.join("logs/gateway").display().to_string();
    for argv in [
        vec!["config", "backup"],
        vec!["cost-track"],
        vec!["budget-check"],
        vec!["compaction-backup"],
        vec!["rate-limit-detect", "--log-dir", &logs],
        vec!["stuck-agent", "scan"],
    ] {
        let argv: Vec<String> = argv.into_iter().map(String::from).collect();
        run_job(&s, &oc, SAMPLE_NOW, &argv);
    }
    let port = free_port();
    let stderr = s.root().join("node_exporter.log");
    let child = Command::new(exporter)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // Only the textfile collector: fast, and nothing of the host leaks into the test.
        .arg("--collector.disable-defaults")
        .arg("--collector.textfile")
        .arg(format!(
            "--collector.textfile.directory={}",
            s.root().join("prom").display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut e = Exporter { child, stderr };
    let body = scrape(&mut e, port);
    drop(e);
    let all = samples(&body);
    let get = |name: &str, want: &[(&str, &str)]| -> Vec<f64> {
        all.iter()
            .filter(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(v))
            })
            .map(|x| x.2)
            .collect()
    };
    // The collector read every file without error.
    assert_eq!(get("node_textfile_scrape_error", &[]), [0.0], "{body}");
    for f in [
        "claw_cost_track.prom",
        "claw_budget_check.prom",
        "claw_stuck_agent.prom",
    ] {
        let f = s.root().join("prom").join(f).display().to_string();
        assert_eq!(
            get("node_textfile_mtime_seconds", &[("file", &f)]).len(),
            1,
            "{f} not collected"
        );
    }
    let t = chrono::DateTime::parse_from_rfc3339(SAMPLE_NOW)
        .unwrap()
        .timestamp() as f64;
    assert_eq!(
        get(
            "claw_job_last_success_timestamp_seconds",
            &[("job", "cost-track")]
        ),
        [t]
    );
    assert_eq!(
        get(
            "claw_job_runs_total",
            &[("job", "cost-track"), ("result", "ok")]
        ),
        [1.0]
    );

    spend_equals_cost_report(&s, &oc, &get);
    budget_breaker_stuck_and_backup_figures(&s, &all, &get);
}

/// A scraped series' values: `name` with the labels `want`.
type Get<'a> = dyn Fn(&str, &[(&str, &str)]) -> Vec<f64> + 'a;

/// Spend per agent and in total, as scraped, equals `claw cost report`.
fn spend_equals_cost_report(s: &Sandbox, oc: &Path, get: &Get) {
    // Spend per agent and in total equals `claw cost report`, to the micro-dollar.
    let r = s.run_env(
        &[
            "--now", SAMPLE_NOW, "--json", "cost", "report", "--by", "agent",
        ],
        &[("CLAW_OPENCLAW_DIR", oc.to_str().unwrap())],
    );
    r.code(0);
    let report = r.json();
    // The exposition is a float of the exact amount: equal to within a float's precision;
    // the report's rows add up to its total exactly.
    let mut total = crate::common::Dec::default();
    for row in report["rows"].as_array().unwrap() {
        let agent = row["key"].as_str().unwrap();
        let scraped: f64 = get("claw_cost_usd_total", &[("agent", agent)]).iter().sum();
        let exact = crate::common::usd(&row["cost_usd"]);
        assert!(
            (scraped - exact.to_f64()).abs() < 1e-9,
            "{agent}: {scraped} vs {exact}"
        );
        let tokens: f64 = get("claw_tokens_total", &[("agent", agent), ("kind", "input")])
            .iter()
            .sum();
        assert_eq!(tokens as i64, row["input"].as_i64().unwrap(), "{agent}");
        total = total + exact;
    }
    assert!(total > crate::common::Dec::default());
    assert_eq!(total, crate::common::usd(&report["total"]["cost_usd"]));
    let all_spend: f64 = get("claw_cost_usd_total", &[]).iter().sum();
    assert!((all_spend - total.to_f64()).abs() < 1e-9);
}

/// The budget, breaker, stuck and config-backup series carry the ledger's figures.
fn budget_breaker_stuck_and_backup_figures(
    s: &Sandbox,
    all: &[(String, BTreeMap<String, String>, f64)],
    get: &Get,
) {
    // Budget, breaker and stuck figures are served with their values.
    let usage = get("claw_budget_usage_ratio", &[("budget", "daily all")]);
    let spent = get("claw_budget_spent_usd", &[("budget", "daily all")]);
    assert_eq!(usage.len(), 1);
    assert!(
        (usage[0] - spent[0] / 0.25).abs() < 1e-9,
        "{usage:?} {spent:?}"
    );
    assert_eq!(
        get("claw_budget_warning_ratio", &[("budget", "daily all")]),
        [0.8]
    );
    let states = get(
        "claw_rate_limit_breaker_state",
        &[("job", "rate-limit-detect")],
    );
    assert!(!states.is_empty() && states.iter().all(|v| [0.0, 1.0, 2.0].contains(v)));
    let classes = all
        .iter()
        .filter(|(n, _, _)| n == "claw_stuck_agent_runs")
        .count();
    assert_eq!(classes, 8, "one series per class");
    // One per backup directory (the sample home's own `.bak` is adopted as one).
    let dirs = std::fs::read_dir(s.state().join("backups/config"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert!(dirs >= 1);
    assert_eq!(
        get("claw_config_backups", &[("config", "openclaw.json")]),
        [dirs as f64]
    );
}
