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
