//! Being watched: dead-man pings, Prometheus textfiles (parsed by a real parser), and the
//! alert a failing scheduled job raises.

use crate::common::Sandbox;
use crate::fakehttp::FakeHttp;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const T0: &str = "2026-05-04T10:00:00Z";
const PING_SECRET: &str = "0f1e2d3c-ping-uuid-secret";

fn settings(s: &Sandbox, extra: &str) {
    s.write_settings(&format!(
        "[watch]\ntextfile_dir = \"{}\"\n\n[watch.pings.config-backup]\nurl_env = \"T_PING\"\n\n[alerts]\nretry_base_ms = 10\n{}{extra}",
        s.root().join("prom").display(),
        crate::common::TICK_ONLY_CONFIG_BACKUP
    ));
    std::fs::create_dir_all(s.root().join("prom")).unwrap();
}

fn prom(s: &Sandbox, job: &str) -> String {
    std::fs::read_to_string(s.root().join("prom").join(format!("claw_{job}.prom")))
        .unwrap_or_else(|e| panic!("claw_{job}.prom: {e}"))
}

/// A Python with prometheus_client (CLAW_TEST_PYTHON, else python3), or None with a note.
fn prom_python() -> Option<String> {
    let py = std::env::var("CLAW_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import prometheus_client"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Some(py)
    } else {
        crate::common::skip(&format!(
            "no Python with prometheus_client ({py}; set CLAW_TEST_PYTHON to a venv python with \
             prometheus_client): the real-parser check"
        ));
        None
    }
}

/// Parse every .prom file in `dir` with prometheus_client's text parser; returns
/// `{file: [[name, labels, value], ...]}` or panics with the parser's error.
fn parse_with_prometheus_client(py: &str, dir: &Path) -> serde_json::Value {
    let script = r#"
import json, os, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in sorted(os.listdir(sys.argv[1])):
    if not f.endswith('.prom'):
        continue
    text = open(os.path.join(sys.argv[1], f)).read()
    out[f] = [[s.name, s.labels, s.value] for fam in text_string_to_metric_families(text) for s in fam.samples]
print(json.dumps(out))
"#;
    let o = Command::new(py)
        .args(["-c", script])
        .arg(dir)
        .output()
        .expect("run python");
    assert!(
        o.status.success(),
        "prometheus_client rejected the textfiles:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn promtool_check(dir: &Path) {
    let Ok(o) = Command::new("promtool").arg("--version").output() else {
        return;
    };
    if !o.status.success() {
        return;
    }
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let f = std::fs::File::open(&p).unwrap();
        let o = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(f)
            .output()
            .unwrap();
        // promtool exits 1 on lint warnings (e.g. naming); 3+ is a parse error.
        assert!(
            o.status.code().unwrap_or(9) <= 1,
            "promtool: {}: {}",
            p.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn pings_at_start_and_end_with_the_exit_code_and_never_change_it() {
    let s = Sandbox::new();
    settings(&s, "");
    s.write_config("{}\n");
    let srv = FakeHttp::start(&[]);
    let url = srv.url(&format!("/ping/{PING_SECRET}/"));
    s.run_env(&["--now", T0, "config", "backup"], &[("T_PING", &url)])
        .code(0)
        .silent();
    let paths: Vec<String> = srv.take().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            format!("/ping/{PING_SECRET}/start"),
            format!("/ping/{PING_SECRET}/0")
        ]
    );

    std::fs::remove_file(s.config()).unwrap();
    let r = s.run_env(
        &["--now", "2026-05-04T10:30:00Z", "config", "backup"],
        &[("T_PING", &url)],
    );
    r.code(66);
    assert!(!r.stderr.contains(PING_SECRET), "{}", r.stderr);
    let paths: Vec<String> = srv.take().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths[1], format!("/ping/{PING_SECRET}/66"));

    // A ping endpoint that is down changes nothing, and its URL is not shown even with -v.
    s.write_config("{}\n");
    let down = FakeHttp::start(&[500, 500]);
    let url = down.url(&format!("/ping/{PING_SECRET}"));
    let r = s.run_env(
        &["--now", "2026-05-04T11:00:00Z", "-v", "config", "backup"],
        &[("T_PING", &url)],
    );
    r.code(0);
    assert!(
        r.stderr.contains("dead-man ping failed: HTTP 500"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(PING_SECRET), "{}", r.stderr);
    assert_eq!(down.take().len(), 2);
}

#[test]
fn textfiles_carry_run_facts_and_parse_with_a_real_parser() {
    let s = Sandbox::new();
    // Only config-backup runs under tick here.
    settings(&s, "");
    s.write_config("{}\n");
    s.run(&["--now", T0, "config", "backup"]).code(0).silent();
    let t = prom(&s, "config_backup");
    assert!(
        t.contains("claw_job_exit_code{job=\"config-backup\"} 0\n"),
        "{t}"
    );
    let t0 = chrono::DateTime::parse_from_rfc3339(T0)
        .unwrap()
        .timestamp();
    assert!(
        t.contains(&format!(
            "claw_job_last_run_timestamp_seconds{{job=\"config-backup\"}} {t0}\n"
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "claw_job_last_success_timestamp_seconds{{job=\"config-backup\"}} {t0}\n"
        )),
        "{t}"
    );
    let mode = std::fs::metadata(s.root().join("prom/claw_config_backup.prom"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);

    // A failed run: exit code 66, last success unchanged.
    std::fs::remove_file(s.config()).unwrap();
    s.run(&["--now", "2026-05-04T10:30:00Z", "config", "backup"])
        .code(66);
    let t = prom(&s, "config_backup");
    assert!(
        t.contains("claw_job_exit_code{job=\"config-backup\"} 66\n"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "claw_job_last_success_timestamp_seconds{{job=\"config-backup\"}} {t0}\n"
        )),
        "{t}"
    );

    // tick writes its own file with its gauges; the children theirs.
    s.write_config("{}\n");
    s.run(&["--now", "2026-05-04T11:00:00Z", "tick"])
        .code(0)
        .silent();
    let t = prom(&s, "tick");
    assert!(t.contains("claw_tick_jobs_run{job=\"tick\"} 1\n"), "{t}");
    // tick's config job is `config heal`; its file is its own.
    let t = prom(&s, "config_heal");
    assert!(
        t.contains("claw_job_exit_code{job=\"config-heal\"} 0\n"),
        "{t}"
    );
    // `config backup` by hand again: its file now shows a success after the failure.
    s.run(&["--now", "2026-05-04T11:01:00Z", "config", "backup"])
        .code(0);
    // No temp files left behind.
    let names: Vec<String> = std::fs::read_dir(s.root().join("prom"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".prom")), "{names:?}");

    promtool_check(&s.root().join("prom"));
    let Some(py) = prom_python() else { return };
    let parsed = parse_with_prometheus_client(&py, &s.root().join("prom"));
    let tick = parsed["claw_tick.prom"].as_array().unwrap();
    assert!(tick
        .iter()
        .any(|x| x[0] == "claw_tick_jobs_run" && x[1]["job"] == "tick" && x[2] == 1.0));
    let cb = parsed["claw_config_backup.prom"].as_array().unwrap();
    assert!(cb
        .iter()
        .any(|x| x[0] == "claw_job_exit_code" && x[1]["job"] == "config-backup" && x[2] == 0.0));
    // The four run facts, the run counter per result, and the backup figures.
    let names: Vec<&str> = cb.iter().map(|x| x[0].as_str().unwrap()).collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("claw_job_")).count(),
        4 + 2,
        "{cb:?}"
    );
    assert!(cb
        .iter()
        .any(|x| x[0] == "claw_job_runs_total" && x[1]["result"] == "error" && x[2] == 1.0));
    assert!(
        names.contains(&"claw_config_backup_last_timestamp_seconds"),
        "{cb:?}"
    );
}

#[test]
fn a_failing_scheduled_job_alerts_once_and_recovers() {
    let s = Sandbox::new();
    let srv = FakeHttp::start(&[]);
    settings(
        &s,
        "\n[[alerts.sinks]]\nname = \"slack\"\nkind = \"slack\"\nurl_env = \"T_SLACK\"\n",
    );
    let env = [("T_SLACK", srv.url("/slack"))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // No config: config-backup fails with 66.
    s.run_env(&["--now", T0, "config", "backup"], &env).code(66);
    s.run_env(&["--now", "2026-05-04T10:30:00Z", "config", "backup"], &env)
        .code(66);
    let r = srv.take();
    assert_eq!(r.len(), 1, "{r:#?}");
    let text = r[0].json()["text"].as_str().unwrap().to_string();
    assert!(text.starts_with("WARNING config-backup on "), "{text}");
    assert!(text.contains("config-backup failed (exit 66)"), "{text}");
    assert!(text.contains("no such config file"), "{text}");

    s.write_config("{}\n");
    s.run_env(&["--now", "2026-05-04T11:00:00Z", "config", "backup"], &env)
        .code(0)
        .silent();
    let r = srv.take();
    assert_eq!(r.len(), 1);
    assert!(r[0].json()["text"]
        .as_str()
        .unwrap()
        .starts_with("RESOLVED config-backup on "));
    s.run_env(&["--now", "2026-05-04T11:30:00Z", "config", "backup"], &env)
        .code(0);
    assert!(srv.take().is_empty());
}
