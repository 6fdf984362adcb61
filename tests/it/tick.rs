//! `claw tick` with injected time: exactly the due jobs, most overdue first, once; a failing
//! job does not stop the rest; catch-up after downtime runs each job once.

use crate::common::Sandbox;

/// Settings with the built-in config-backup and commands that log their name and CLAW_NOW.
fn setup(s: &Sandbox) -> std::path::PathBuf {
    let log = s.root().join("order.log");
    s.write_config("{}\n");
    let cmd = |name: &str, tail: &str| {
        format!(
            "command = [\"sh\", \"-c\", \"echo {name} $CLAW_NOW >> '{}'{tail}\"]",
            log.display()
        )
    };
    s.write_settings(&format!(
        r#"
{}
[[tick.commands]]
name = "flaky"
schedule = "2m"
{}

[[tick.commands]]
name = "a"
schedule = "5m"
{}

[[tick.commands]]
name = "follows-a"
schedule = "after a"
{}

[[tick.commands]]
name = "c"
schedule = "10m"
{}

[[tick.commands]]
name = "hourly"
schedule = "0 * * * *"
{}
"#,
        crate::common::TICK_ONLY_CONFIG_BACKUP,
        cmd("flaky", "; exit 3"),
        cmd("a", ""),
        cmd("follows-a", ""),
        cmd("c", ""),
        cmd("hourly", ""),
    ));
    log
}

fn ran(doc: &serde_json::Value) -> Vec<String> {
    doc["ran"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job"].as_str().unwrap().to_string())
        .collect()
}

fn take_log(log: &std::path::Path) -> Vec<String> {
    let t = std::fs::read_to_string(log).unwrap_or_default();
    let _ = std::fs::remove_file(log);
    t.lines().map(String::from).collect()
}

#[test]
fn runs_exactly_the_due_jobs_most_overdue_first_once() {
    let s = Sandbox::new();
    let log = setup(&s);

    // First tick: everything is due (never ran); ties keep table order.
    let r = s.run(&["--now", "2026-05-04T10:00:00Z", "tick", "--json"]);
    r.code(1); // flaky exits 3
    let doc = r.json();
    assert_eq!(
        ran(&doc),
        ["config-heal", "flaky", "a", "follows-a", "c", "hourly"]
    );
    assert_eq!(doc["ran"][1]["exit_code"], 3);
    assert_eq!(doc["ran"][0]["exit_code"], 0);
    let lines = take_log(&log);
    assert_eq!(
        lines,
        [
            "flaky 2026-05-04T10:00:00Z",
            "a 2026-05-04T10:00:00Z",
            "follows-a 2026-05-04T10:00:00Z",
            "c 2026-05-04T10:00:00Z",
            "hourly 2026-05-04T10:00:00Z"
        ]
    );
    // The built-in job really ran, with the injected time.
    let st = s.run(&["status", "--json"]).json();
    assert_eq!(st["jobs"][0]["job"], "config-heal");
    assert_eq!(st["jobs"][0]["started_at"], "2026-05-04T10:00:00Z");

    // Same time again: nothing is due.
    let r = s.run(&["--now", "2026-05-04T10:00:00Z", "tick", "--json"]);
    r.code(0);
    assert!(ran(&r.json()).is_empty(), "{}", r.stdout);
    assert!(take_log(&log).is_empty());
    // Without --json: the known failure is said once (the --json tick above printed a
    // document, not a report), then silence.
    let r = s.run(&["--now", "2026-05-04T10:00:30Z", "tick"]);
    r.code(0);
    assert_eq!(r.stdout, "tick: flaky failed\n");
    s.run(&["--now", "2026-05-04T10:00:40Z", "tick"])
        .code(0)
        .silent();

    // 10:20: flaky missed 10:02 (most overdue), a 10:05 (+ follows-a), c 10:10. The failing
    // job goes first and does not stop the others.
    let r = s.run(&["--now", "2026-05-04T10:20:00Z", "tick"]);
    r.code(1);
    // flaky fails again: already reported, not reprinted (cron mail only for news).
    assert!(!r.stdout.contains("flaky"), "{}", r.stdout);
    let lines = take_log(&log);
    let names: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names, ["flaky", "a", "follows-a", "c"]);

    // Downtime until 13:00: each due job once, by first missed time: flaky 10:22, a 10:25,
    // config-backup 10:30 (table order before c 10:30), hourly 11:00.
    let r = s.run(&["--now", "2026-05-04T13:00:00Z", "tick", "--json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(
        ran(&doc),
        ["flaky", "a", "follows-a", "config-heal", "c", "hourly"]
    );
    assert_eq!(doc["ran"][0]["overdue_secs"], 9480);
    assert_eq!(doc["ran"][0]["first_missed"], "2026-05-04T10:22:00Z");
    assert_eq!(take_log(&log).len(), 5);
    let r = s.run(&["--now", "2026-05-04T13:00:59Z", "tick", "--json"]);
    r.code(0);
    assert!(ran(&r.json()).is_empty());
}

#[test]
fn dry_run_shows_the_plan_and_runs_nothing() {
    let s = Sandbox::new();
    let log = setup(&s);
    let r = s.run(&[
        "--now",
        "2026-05-04T10:00:00Z",
        "--dry-run",
        "tick",
        "--json",
    ]);
    r.code(0);
    let doc = r.json();
    let jobs: Vec<&serde_json::Value> = doc["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["schedule"] != "off")
        .collect();
    assert_eq!(jobs.len(), 6, "{jobs:?}");
    assert_eq!(jobs[0]["job"], "config-heal");
    assert_eq!(jobs[0]["due"], true);
    assert_eq!(jobs[0]["next"], "2026-05-04T10:30:00Z");
    assert_eq!(jobs[5]["next"], "2026-05-04T11:00:00Z");
    assert!(take_log(&log).is_empty());
    let st = s.run(&["status", "--json"]).json();
    assert!(st["jobs"].as_array().unwrap().is_empty());
}

#[test]
fn bad_schedule_settings_are_exit_78_naming_the_job() {
    let s = Sandbox::new();
    s.write_settings("[tick.schedule]\nconfg-backup = \"30m\"\n");
    let r = s.run(&["tick"]);
    r.code(78);
    assert!(
        r.stderr.contains("confg-backup: no such job"),
        "{}",
        r.stderr
    );
    s.write_settings("[tick.schedule]\nconfig-backup = \"*/5 * *\"\n");
    let r = s.run(&["tick"]);
    r.code(78);
    assert!(r.stderr.contains("config-backup"), "{}", r.stderr);
}
