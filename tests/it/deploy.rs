//! Deployment as operators run it: no job exits 0 without an OpenClaw home, and a tick with
//! nothing new prints nothing.

use crate::common::Sandbox;

/// Every job that reads OpenClaw, run the way cron runs it with a wrong HOME or a typo in
/// CLAW_OPENCLAW_DIR: exit 66, one line naming the path, a job-failed alert.
#[test]
fn no_openclaw_home_is_a_failure_not_a_silent_zero() {
    let s = Sandbox::new();
    let missing = s.root().join("typo/.openclaw");
    let missing_s = missing.to_str().unwrap();
    let jobs: &[&[&str]] = &[
        &["cost-track"],
        &["compaction-backup"],
        &["stuck-agent", "scan"],
        &["budget-check"],
        &["rate-limit-detect"],
        &["config", "backup"],
        &["config", "heal"],
    ];
    for argv in jobs {
        let r = s.run_env(argv, &[("CLAW_OPENCLAW_DIR", missing_s)]);
        r.code(66);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{argv:?}: {}", r.stderr);
        assert!(lines[0].contains(missing_s), "{argv:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{argv:?}: {}", r.stdout);
    }
    // The scheduled ones raised a job-failed alert each.
    let doc = s.run(&["alert", "list", "--json"]).json();
    let active: Vec<String> = doc["active"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["key"] == "job-failed")
        .map(|a| a["job"].as_str().unwrap().to_string())
        .collect();
    for job in [
        "cost-track",
        "compaction-backup",
        "stuck-agent",
        "budget-check",
        "rate-limit-detect",
        "config-heal",
    ] {
        assert!(active.iter().any(|j| j == job), "{job}: {active:?}");
    }
    // An unreadable home is the same failure (as root, run as nobody: root reads anything).
    let locked = s.root().join("locked");
    std::fs::create_dir_all(locked.join(".openclaw")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        locked.join(".openclaw"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let dir = locked.join(".openclaw");
    let r = s.run_unprivileged(&["--openclaw-dir", dir.to_str().unwrap(), "cost-track"]);
    r.code(66);
    assert!(r.stderr.contains("unreadable"), "{}", r.stderr);
}

/// The bundled sample home has open breakers and stuck runs: the first tick says so, the
/// second (a minute later, nothing new) prints nothing, `-q` prints nothing even when
/// something is new, and a finding that clears is said once.
#[test]
fn second_tick_with_nothing_new_prints_nothing() {
    let s = Sandbox::new();
    let oc = s.root().join("oc");
    let status = std::process::Command::new("cp")
        .args(["-a"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/openclaw-home"))
        .arg(&oc)
        .status()
        .unwrap();
    assert!(status.success());
    s.write_settings("[general]\ntimezone = \"UTC\"\n");
    let oc_s = oc.to_str().unwrap();
    let tick = |now: &str, extra: &[&str]| {
        let mut args = vec!["--now", now, "--openclaw-dir", oc_s];
        args.extend_from_slice(extra);
        args.push("tick");
        s.run(&args)
    };
    let first = tick("2026-11-21T08:00:00Z", &[]);
    first.code(0);
    assert!(first.stdout.contains("stuck: "), "{}", first.stdout);
    assert!(first.stdout.contains("rate limit: "), "{}", first.stdout);
    let second = tick("2026-11-21T08:00:30Z", &[]);
    second.code(0);
    assert!(
        second.stdout.is_empty(),
        "second tick printed:\n{}",
        second.stdout
    );
    // Later the breakers close (a state change): printed once as a recovery...
    let later = tick("2026-11-21T08:30:00Z", &[]);
    assert!(
        later.stdout.contains("recovered: rate limit: "),
        "{}",
        later.stdout
    );
    let again = tick("2026-11-21T08:31:00Z", &[]);
    assert!(!again.stdout.contains("rate limit"), "{}", again.stdout);
    // ...and -q prints nothing at all, new or not.
    let quiet = tick("2026-11-21T10:00:00Z", &["-q"]);
    assert!(quiet.stdout.is_empty(), "{}", quiet.stdout);
}

/// The config job heals on schedule and says so: a critical alert when the config is broken
/// (healed, or not healable), a recovery once it is valid again; its dead-man ping counts the
/// finding (exit 1) as a run that did its work.
#[test]
fn config_heal_alerts_and_pings_a_finding_as_success() {
    let s = Sandbox::new();
    let srv = crate::fakehttp::FakeHttp::start(&[]);
    s.write_settings(
        "[watch.pings.config-heal]\nurl_env = \"T_PING\"\n\n[alerts]\nretry_base_ms = 10\n",
    );
    let ping = srv.url("/ping/x/");
    let run = |now: &str| s.run_env(&["--now", now, "config", "heal"], &[("T_PING", &ping)]);
    let active = || -> Vec<(String, String)> {
        s.run(&["alert", "list", "--json"]).json()["active"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["key"].as_str().unwrap().to_string(),
                    a["severity"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    // Broken with no backup: cannot be healed.
    s.write_config("{\"gateway\": {\"mode\": \"local\"");
    let r = run("2026-05-04T10:00:00Z");
    r.code(1);
    assert!(r.stdout.contains("fix the config by hand"), "{}", r.stdout);
    assert!(
        active().contains(&("config".into(), "critical".into())),
        "{:?}",
        active()
    );
    let paths: Vec<String> = srv.take().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/ping/x/start", "/ping/x/0"]);
    // Still broken 30 min later: not reprinted.
    run("2026-05-04T10:30:00Z").code(1);
    // Fixed by hand: backed up, the alert clears, the fix is said once.
    s.write_config("{\"gateway\": {\"mode\": \"local\"}}\n");
    let r = run("2026-05-04T11:00:00Z");
    r.code(0);
    assert!(r.stdout.starts_with("recovered: "), "{}", r.stdout);
    assert!(active().is_empty(), "{:?}", active());
    // Truncated: healed from that backup, critical alert naming it.
    let good = std::fs::read(s.config()).unwrap();
    std::fs::write(s.config(), &good[..10]).unwrap();
    run("2026-05-04T11:30:00Z").code(1);
    assert_eq!(std::fs::read(s.config()).unwrap(), good);
    let doc = s.run(&["alert", "list", "--json"]).json();
    let healed = doc["alerts"].as_array().unwrap().iter().any(|a| {
        a["text"]
            .as_str()
            .unwrap_or_default()
            .contains("healed from backup")
    });
    assert!(healed, "{doc}");
}

/// `status --check` for external monitors: exit 1 naming each job whose last success is
/// older than its schedule allows; silent exit 0 when all are on time.
#[test]
fn status_check_names_overdue_jobs() {
    let s = Sandbox::new();
    s.write_config("{}\n");
    s.write_settings(crate::common::TICK_ONLY_CONFIG_BACKUP);
    s.run(&["--now", "2026-05-04T10:00:00Z", "tick"]).code(0);
    s.run(&["--now", "2026-05-04T10:05:00Z", "status", "--check"])
        .code(0)
        .silent();
    // Tick stopped (cron gone): 45 min later the 30 min config job and tick are overdue.
    let r = s.run(&["--now", "2026-05-04T10:45:00Z", "status", "--check"]);
    r.code(1);
    assert!(
        r.stdout
            .contains("overdue: config-heal: last success 2026-05-04T10:00:00Z"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("overdue: tick:"), "{}", r.stdout);
    let doc = s
        .run(&[
            "--now",
            "2026-05-04T10:45:00Z",
            "--json",
            "status",
            "--check",
        ])
        .json();
    assert_eq!(doc["command"], "status");
    assert_eq!(doc["overdue"].as_array().unwrap().len(), 2, "{doc}");
}

/// The small ones: each a clear line and a documented exit code.
#[test]
fn small_ones_fail_clearly() {
    let s = Sandbox::new();
    s.write_config("{}\n");
    // --now needs an offset.
    let r = s.run(&["--now", "2026-05-04T10:00:00", "status"]);
    r.code(2);
    assert!(r.stderr.contains("offset"), "{}", r.stderr);
    // Paths from the environment must be absolute.
    let r = s.run_env(&["status"], &[("CLAW_STATE_DIR", "rel/state")]);
    r.code(2);
    assert!(
        r.stderr
            .contains("CLAW_STATE_DIR=rel/state: must be an absolute path"),
        "{}",
        r.stderr
    );
    // A state dir that does not exist is not "no job has run yet".
    let r = s.run(&["--state-dir", "/nonexistent/claw", "status"]);
    r.code(66);
    assert!(
        r.stderr
            .contains("/nonexistent/claw: claw state dir does not exist"),
        "{}",
        r.stderr
    );
    // --json documents name their command.
    s.run(&["config", "backup"]).code(0);
    for (args, cmd) in [
        (&["--json", "status"][..], "status"),
        (&["--json", "config", "list"], "config list"),
        (&["--json", "doctor"], "doctor"),
    ] {
        let doc = s.run(args).json();
        assert_eq!(doc["command"], cmd, "{doc}");
    }
    // tunnel start without cloudflared: says so at once, no retries.
    let began = std::time::Instant::now();
    let r = s.run_env(&["tunnel", "start"], &[("PATH", "/nonexistent")]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("cloudflared: not found on PATH"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("attempts"), "{}", r.stderr);
    assert!(began.elapsed() < std::time::Duration::from_secs(5));
}

/// `claw man` names no page that is not there: the top page lists subcommands in place, and
/// `man --dir` writes every page any page refers to.
#[test]
fn man_pages_refer_only_to_pages_that_exist() {
    let s = Sandbox::new();
    let top = s.run(&["man"]);
    top.code(0);
    assert!(top.stdout.contains(".SH SUBCOMMANDS"), "{}", top.stdout);
    assert!(!top.stdout.contains("(1)"), "{}", top.stdout);
    let dir = s.root().join("man1");
    s.run(&["man", "--dir", dir.to_str().unwrap()]).code(0);
    let re = regex::Regex::new(r"(claw(?:\\-[a-z0-9]+(?:\\-[a-z0-9]+)*)?)\(1\)").unwrap();
    let mut pages = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        pages += 1;
        let text = std::fs::read_to_string(e.path()).unwrap();
        for c in re.captures_iter(&text) {
            let name = c[1].replace("\\-", "-");
            assert!(
                dir.join(format!("{name}.1")).exists(),
                "{} refers to {name}(1), which was not written",
                e.path().display()
            );
        }
    }
    assert!(pages > 20, "{pages} pages");
    assert!(dir.join("claw-config-heal.1").exists());
}

/// Ledger retention: 90 days later one job run prunes the old runs (keeping the newest of
/// each job), rate-limit events and transitions, and keeps the daily cost totals and the
/// counted usage lines.
#[test]
fn ledger_retention_prunes_history_and_keeps_daily_totals() {
    let s = Sandbox::new();
    let oc = s.root().join("oc");
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/openclaw-home"))
        .arg(&oc)
        .status()
        .unwrap();
    assert!(ok.success());
    s.write_settings("[general]\ntimezone = \"UTC\"\n");
    let oc_s = oc.to_str().unwrap();
    for now in [
        "2026-11-21T08:00:00Z",
        "2026-11-21T08:10:00Z",
        "2026-11-21T09:00:00Z",
    ] {
        s.run(&["--now", now, "--openclaw-dir", oc_s, "tick"]);
    }
    let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    let runs = count("SELECT count(*) FROM runs");
    let jobs = count("SELECT count(DISTINCT job) FROM runs");
    assert!(runs > jobs, "{runs} runs of {jobs} jobs");
    assert!(count("SELECT count(*) FROM rl_events") > 0);
    let daily = count("SELECT count(*) FROM cost_daily");
    let lines = count("SELECT count(*) FROM cost_lines");
    assert!(daily > 0 && lines > 0);
    // 89 days later nothing is old enough.
    s.run(&[
        "--now",
        "2027-02-18T07:00:00Z",
        "--openclaw-dir",
        oc_s,
        "config",
        "heal",
    ])
    .code(0);
    assert!(count("SELECT count(*) FROM rl_events") > 0);
    // 91 days later: one run prunes the history.
    s.run(&[
        "--now",
        "2027-02-21T09:00:00Z",
        "--openclaw-dir",
        oc_s,
        "config",
        "heal",
    ])
    .code(0);
    assert_eq!(count("SELECT count(*) FROM rl_events"), 0);
    assert_eq!(count("SELECT count(*) FROM rl_transitions"), 0);
    // The newest run of each job, plus config-heal's run of day 89 (not old yet).
    assert_eq!(count("SELECT count(*) FROM runs"), jobs + 1);
    assert_eq!(count("SELECT count(*) FROM cost_daily"), daily);
    assert_eq!(count("SELECT count(*) FROM cost_lines"), lines);
    // status still shows every job's newest run.
    let st = s.run(&["--json", "status"]).json();
    assert_eq!(st["jobs"].as_array().unwrap().len() as i64, jobs);
}
