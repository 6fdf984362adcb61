//! `claw config ...` driven through the binary.

use crate::common::{run_cmd, shared, Sandbox};
use std::os::unix::fs::PermissionsExt;

const GOOD: &str = r#"{
  "meta": {"lastTouchedVersion": "2026.9.6"},
  "gateway": {"port": 18789, "mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": "${GATEWAY_TOKEN}"}},
  "agents": {"defaults": {"model": {"primary": "anthropic/claude-sonnet-4-5"}}},
  "channels": {"telegram": {"enabled": true}},
  "messages": {"ackReactionScope": "group-mentions"},
  "commands": {"native": "auto", "restart": true}
}"#;

fn backups(s: &Sandbox) -> Vec<serde_json::Value> {
    let r = s.run(&["--json", "config", "list"]);
    r.code(0);
    r.json()["backups"].as_array().unwrap().clone()
}

/// A settings file for tests: no plaintext-secret warnings unless a test wants them.
fn quiet_settings(s: &Sandbox) {
    s.write_settings("[config]\nwarn_plaintext_secrets = false\n");
}

#[test]
fn unchanged_backup_twice_gives_one_copy_and_is_silent() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    s.run(&["config", "backup"]).code(0).silent();
    s.run(&["config", "backup"]).code(0).silent();
    let b = backups(&s);
    assert_eq!(b.len(), 1);
    let id = b[0]["id"].as_str().unwrap();
    let dir = s.state().join("backups/config").join(id);
    let mode = std::fs::metadata(dir.join("config"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read_to_string(dir.join("config")).unwrap(), GOOD);
    // Never named like OpenClaw's own ring, which OpenClaw deletes.
    let beside: Vec<_> = std::fs::read_dir(s.openclaw())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(beside.len(), 1, "{beside:?}");
}

#[test]
fn changed_config_makes_a_new_backup_named_by_time_and_hash() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    s.run(&["--now", "2026-11-20T10:00:00Z", "config", "backup"])
        .code(0);
    s.write_config(&GOOD.replace("18789", "18790"));
    s.run(&["--now", "2026-11-20T11:00:00Z", "config", "backup"])
        .code(0);
    let b = backups(&s);
    assert_eq!(b.len(), 2);
    assert!(
        b[0]["id"]
            .as_str()
            .unwrap()
            .starts_with("20261120T110000Z-"),
        "{:?}",
        b[0]["id"]
    );
    assert!(b[1]["id"]
        .as_str()
        .unwrap()
        .starts_with("20261120T100000Z-"));
}

#[test]
fn validate_reports_paths_and_exit_codes() {
    let s = Sandbox::new();
    quiet_settings(&s);
    s.write_config(GOOD);
    s.run(&["-q", "config", "validate"]).code(0).silent();
    s.write_config(r#"{"gateway": {"port": "abc", "bind": "everywhere"}, "bogus": {}}"#);
    let r = s.run(&["config", "validate"]);
    r.code(1);
    for line in [
        "gateway.port: ",
        "gateway.bind: ",
        "<root>: Unrecognized key: \"bogus\"",
    ] {
        assert!(r.stdout.contains(line), "{line} in\n{}", r.stdout);
    }
    let j = s.run(&["--json", "config", "validate"]);
    j.code(1);
    let doc = j.json();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["rules"]["kind"], "structural");
    assert!(doc["issues"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["path"] == "gateway.port"));

    s.write_config("{\n  \"gateway\": {\n    \"port\": 1\n  \n");
    let r = s.run(&["config", "validate"]);
    r.code(1);
    assert!(
        r.stdout.contains("<root>: JSON5 parse failed at line"),
        "{}",
        r.stdout
    );

    let missing = s.run(&["config", "validate", "/nonexistent/openclaw.json"]);
    missing.code(66);
    assert!(
        missing.stderr.contains("/nonexistent/openclaw.json"),
        "{}",
        missing.stderr
    );
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);
}

#[test]
fn validate_with_a_schema_file_names_its_version() {
    let s = Sandbox::new();
    quiet_settings(&s);
    let schema = s.write(
        "schemas/openclaw-2099.1.1.schema.json",
        r#"{"type":"object","additionalProperties":false,"properties":{"gateway":{"type":"object","additionalProperties":false,"properties":{"port":{"type":"integer","minimum":1,"maximum":65535}}}}}"#,
    );
    s.write_config(r#"{"gateway": {"port": 1, "extra": true}}"#);
    let r = s.run(&[
        "--json",
        "config",
        "validate",
        "--schema",
        schema.to_str().unwrap(),
    ]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["rules"]["kind"], "schema");
    assert_eq!(doc["rules"]["version"], "openclaw-2099.1.1.schema");
    assert_eq!(doc["issues"][0]["path"], "gateway");
    assert_eq!(doc["issues"][0]["message"], "Unrecognized key: \"extra\"");
}

#[test]
fn includes_are_backed_up_and_cycles_are_errors() {
    let s = Sandbox::new();
    quiet_settings(&s);
    std::fs::write(
        s.openclaw().join("gateway.json5"),
        "{port: 18789, mode: 'local'}",
    )
    .unwrap();
    s.write_config(r#"{"gateway": {"$include": "./gateway.json5"}}"#);
    s.run(&["-q", "config", "validate"]).code(0).silent();
    s.run(&["config", "backup"]).code(0);
    let b = backups(&s);
    let files = b[0]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[1]["restore_to"], "gateway.json5");

    std::fs::write(s.openclaw().join("a.json"), r#"{"$include": "b.json"}"#).unwrap();
    std::fs::write(s.openclaw().join("b.json"), r#"{"$include": "a.json"}"#).unwrap();
    s.write_config(r#"{"$include": "a.json"}"#);
    let r = s.run(&["config", "validate"]);
    r.code(1);
    assert!(r.stdout.contains("include cycle"), "{}", r.stdout);
    // -q: nothing but errors on stderr; the exit code says invalid.
    s.run(&["--quiet", "config", "validate"]).code(1).silent();
}

#[test]
fn tampered_backup_is_refused() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    s.run(&["config", "backup"]).code(0);
    let id = backups(&s)[0]["id"].as_str().unwrap().to_string();
    let stored = s.state().join("backups/config").join(&id).join("config");
    let mut perm = std::fs::metadata(&stored).unwrap().permissions();
    perm.set_mode(0o600);
    std::fs::write(&stored, GOOD.replace("loopback", "lan")).unwrap();
    s.write_config("{}");
    let r = s.run(&["config", "restore", &id]);
    r.code(65);
    assert!(r.stderr.contains("checksum mismatch"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(s.config()).unwrap(),
        "{}",
        "config untouched"
    );
}

#[test]
fn restore_keeps_a_pre_restore_copy_and_the_file_mode() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    std::fs::set_permissions(s.config(), std::fs::Permissions::from_mode(0o640)).unwrap();
    s.run(&["config", "backup"]).code(0);
    let id = backups(&s)[0]["id"].as_str().unwrap().to_string();
    let edited = GOOD.replace("18789", "28789");
    s.write_config(&edited);

    let dry = s.run(&["--dry-run", "config", "restore", "--latest-valid"]);
    dry.code(0);
    assert!(
        dry.stdout.contains("-    \"port\": 28789") || dry.stdout.contains("\"port\": 28789"),
        "{}",
        dry.stdout
    );
    assert_eq!(
        std::fs::read_to_string(s.config()).unwrap(),
        edited,
        "dry run changes nothing"
    );

    let r = s.run(&["config", "restore", &id[..10]]);
    r.code(0);
    assert!(r.stdout.contains("restored backup"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(s.config()).unwrap(), GOOD);
    assert_eq!(
        std::fs::metadata(s.config()).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let b = backups(&s);
    let pre = b
        .iter()
        .find(|m| m["source"] == "pre-restore")
        .expect("pre-restore copy");
    let pre_file = s
        .state()
        .join("backups/config")
        .join(pre["id"].as_str().unwrap())
        .join("config");
    assert_eq!(std::fs::read_to_string(pre_file).unwrap(), edited);
}

#[test]
fn invalid_backup_needs_force() {
    let s = Sandbox::new();
    quiet_settings(&s);
    s.write_config(r#"{"bogus": 1}"#);
    s.run(&["--quiet", "config", "backup"]).code(0);
    let id = backups(&s)[0]["id"].as_str().unwrap().to_string();
    s.write_config(GOOD);
    let r = s.run(&["config", "restore", &id]);
    r.code(65);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    s.run(&["config", "restore", "--force", &id]).code(0);
    assert_eq!(
        std::fs::read_to_string(s.config()).unwrap(),
        r#"{"bogus": 1}"#
    );
}

#[test]
fn interrupted_restore_leaves_the_old_config_whole() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    s.run(&["config", "backup"]).code(0);
    let edited = GOOD.replace("loopback", "lan");
    s.write_config(&edited);
    let r = s.run_env(
        &["config", "restore", "--latest-valid"],
        &[("CLAW_FAULT", "atomic-before-rename")],
    );
    assert_ne!(r.code, 0, "the fault point aborts the process");
    assert_eq!(
        std::fs::read_to_string(s.config()).unwrap(),
        edited,
        "old config whole"
    );
    // The next run completes, and leaves no temp file that looks like a config behind it.
    s.run(&["config", "restore", "--latest-valid"]).code(0);
    assert_eq!(std::fs::read_to_string(s.config()).unwrap(), GOOD);
    let status = s.run(&["--json", "status"]);
    let jobs = status.json()["jobs"].as_array().unwrap().clone();
    assert!(jobs
        .iter()
        .any(|j| j["job"] == "config-restore" && j["exit_code"] == 0));
}

#[test]
fn parallel_backups_end_with_0_or_75_and_a_consistent_ledger() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    let children: Vec<_> = (0..16)
        .map(|_| {
            s.cmd(&["config", "backup"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ok = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        let code = out.status.code().unwrap();
        assert!(
            code == 0 || code == 75,
            "exit {code}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if code == 75 {
            assert!(String::from_utf8_lossy(&out.stderr).contains("already running"));
        } else {
            ok += 1;
        }
    }
    assert!(ok >= 1);
    assert_eq!(backups(&s).len(), 1, "one backup of one content");
    let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    let (runs, unfinished): (i64, i64) = db
        .query_row(
            "SELECT count(*), sum(ended_at IS NULL) FROM runs WHERE job = 'config-backup'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(runs, ok);
    assert_eq!(unfinished, 0);
    let rows: i64 = db
        .query_row("SELECT count(*) FROM config_backups", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn a_held_lock_exits_75_at_once_naming_the_holder() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    std::fs::create_dir_all(s.state().join("locks")).unwrap();
    let lock = std::fs::File::create(s.state().join("locks/config.lock")).unwrap();
    lock.lock().unwrap();
    std::fs::write(
        s.state().join("locks/config.lock"),
        "pid 4242 since 2026-11-20T00:00:00Z: claw config heal\n",
    )
    .unwrap();
    let r = s.run(&["config", "backup"]);
    r.code(75);
    assert!(r.stderr.contains("pid 4242"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn heal_restores_an_invalid_or_clobbered_config_and_backs_up_a_healthy_one() {
    let s = Sandbox::new();
    quiet_settings(&s);
    let big = GOOD.replace(
        "\"native\": \"auto\"",
        &format!("\"native\": \"auto\", \"nativeSkills\": \"auto\"{}", ""),
    );
    s.write_config(&big);
    s.run(&["config", "heal"]).code(0).silent();
    assert_eq!(backups(&s).len(), 1);

    // Broken by a bad update: heal restores the newest valid backup and says so (exit 1).
    s.write_config(r#"{"gateway": {"port": 0}}"#);
    let r = s.run(&["config", "heal"]);
    r.code(1);
    assert!(
        r.stdout.contains("gateway.port") && r.stdout.contains("restored backup"),
        "{}",
        r.stdout
    );
    assert_eq!(std::fs::read_to_string(s.config()).unwrap(), big);

    // Clobbered: valid JSON, but meta and gateway.mode are gone.
    s.write_config(r#"{"agents": {}}"#);
    let r = s.run(&["config", "heal"]);
    r.code(1);
    assert!(r.stdout.contains("possible clobber"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(s.config()).unwrap(), big);

    // Missing altogether.
    std::fs::remove_file(s.config()).unwrap();
    s.run(&["config", "heal"]).code(1);
    assert_eq!(std::fs::read_to_string(s.config()).unwrap(), big);
}

#[test]
fn clobbered_backup_is_not_good_until_accepted() {
    let s = Sandbox::new();
    quiet_settings(&s);
    s.write_config(GOOD);
    s.run(&["--now", "2026-11-20T10:00:00Z", "config", "backup"])
        .code(0);
    s.write_config(r#"{"agents": {}}"#);
    s.run(&["--now", "2026-11-20T11:00:00Z", "config", "backup"])
        .code(0);
    let b = backups(&s);
    assert_eq!(b[0]["clobbered"], true);
    let diff = s.run(&["config", "diff"]);
    diff.code(1);
    assert!(
        diff.stdout
            .contains(&format!("--- backup {}", b[1]["id"].as_str().unwrap())),
        "{}",
        diff.stdout
    );
    s.run(&[
        "--now",
        "2026-11-20T12:00:00Z",
        "config",
        "backup",
        "--accept",
    ])
    .code(0);
    s.run(&["config", "heal"]).code(0);
    assert_eq!(
        std::fs::read_to_string(s.config()).unwrap(),
        r#"{"agents": {}}"#
    );
}

#[test]
fn openclaw_own_copies_are_adopted_once() {
    let s = Sandbox::new();
    quiet_settings(&s);
    s.write_config(GOOD);
    std::fs::write(
        s.openclaw().join("openclaw.json.bak"),
        GOOD.replace("18789", "1"),
    )
    .unwrap();
    std::fs::write(
        s.openclaw().join("openclaw.json.bak.1"),
        GOOD.replace("18789", "2"),
    )
    .unwrap();
    std::fs::write(s.openclaw().join("openclaw.json.last-good"), GOOD).unwrap();
    std::fs::write(
        s.openclaw()
            .join("openclaw.json.clobbered.2026-11-20T10-00-00Z"),
        "{}",
    )
    .unwrap();
    std::fs::write(s.openclaw().join("openclaw.json.unrelated"), "{}").unwrap();
    s.run(&["config", "backup"]).code(0);
    s.run(&["config", "backup"]).code(0);
    let b = backups(&s);
    let sources: Vec<&str> = b.iter().map(|m| m["source"].as_str().unwrap()).collect();
    assert_eq!(b.len(), 4, "{sources:?}");
    for want in [
        "backup",
        "adopted:openclaw.json.bak",
        "adopted:openclaw.json.bak.1",
        "adopted:openclaw.json.clobbered.2026-11-20T10-00-00Z",
    ] {
        assert!(sources.contains(&want), "{want} in {sources:?}");
    }
    // OpenClaw judged the .clobbered copy a clobber: adopted as suspect, never good.
    let c = b
        .iter()
        .find(|m| m["source"] == "adopted:openclaw.json.clobbered.2026-11-20T10-00-00Z")
        .unwrap();
    assert_eq!(c["clobbered"], true, "{c}");
}

#[test]
fn an_adopted_copy_newer_than_the_last_backup_does_not_make_duplicates() {
    // OpenClaw's `.bak` is adopted with its file time (the real clock), later than the
    // scheduled runs' injected clock: the live file is still unchanged against its own
    // newest backup, so re-runs write nothing.
    let s = Sandbox::new();
    quiet_settings(&s);
    s.write_config(GOOD);
    std::fs::write(
        s.openclaw().join("openclaw.json.bak"),
        GOOD.replace("18789", "1"),
    )
    .unwrap();
    for now in [
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:05:00Z",
    ] {
        s.run(&["--now", now, "config", "backup"]).code(0);
    }
    let b = backups(&s);
    let sources: Vec<&str> = b.iter().map(|m| m["source"].as_str().unwrap()).collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert!(sources.contains(&"backup") && sources.contains(&"adopted:openclaw.json.bak"));
}

#[test]
fn heal_restores_the_newest_backup_that_is_valid_now() {
    let s = Sandbox::new();
    // Two backups taken before any schema was known (structural rules): the newer one has
    // a key today's schema refuses.
    quiet_settings(&s);
    let older = r#"{"meta": {"lastTouchedVersion": "2026.9.6"}, "gateway": {"mode": "local", "port": 18789}}"#;
    let newer = r#"{"meta": {"lastTouchedVersion": "2026.9.6"}, "gateway": {"mode": "local", "port": 18789}, "talk": {}}"#;
    s.write_config(older);
    s.run(&["--now", "2026-11-20T10:00:00Z", "config", "backup"])
        .code(0);
    s.write_config(newer);
    s.run(&["--now", "2026-11-20T11:00:00Z", "config", "backup"])
        .code(0);
    assert!(backups(&s).iter().all(|m| m["valid"] == true));
    // Today's schema: no `talk`.
    let schema = serde_json::json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "meta": {"type": "object"},
            "gateway": {"type": "object", "properties": {"mode": {"enum": ["local", "remote"]}, "port": {"type": "integer", "minimum": 1}}}
        }
    });
    let f = s.write("schema.json", &schema.to_string());
    s.write_settings(&format!(
        "[config]\nwarn_plaintext_secrets = false\nschema = \"{}\"\n",
        f.display()
    ));
    s.write_config(r#"{"gateway": {"mode": "local", "port": "#);
    let r = s.run(&["--now", "2026-11-20T12:00:00Z", "config", "heal"]);
    r.code(1);
    assert!(
        r.stderr.contains("skipped backup") && r.stderr.contains("talk"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(s.config()).unwrap(), older);
}

#[test]
fn retention_prints_a_plan_and_keeps_the_newest_valid() {
    let s = Sandbox::new();
    quiet_settings(&s);
    std::fs::write(
        s.settings(),
        "[config]\nwarn_plaintext_secrets = false\n[config.retention]\nkeep_last = 2\nhourly = 0\ndaily = 0\nweekly = 0\nmonthly = 0\n",
    )
    .unwrap();
    s.write_config(GOOD);
    s.run(&["--now", "2026-11-01T00:00:00Z", "config", "backup"])
        .code(0);
    for (i, t) in [
        "2026-11-02T00:00:00Z",
        "2026-11-03T00:00:00Z",
        "2026-11-04T00:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        s.write_config(&format!("{{\"bogus{i}\": 1}}"));
        s.run(&["--quiet", "--now", t, "config", "backup"]).code(0);
    }
    let b = backups(&s);
    let ids: Vec<&str> = b.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(b.len(), 3, "{ids:?}");
    assert!(
        ids.iter().any(|i| i.starts_with("20261101")),
        "newest valid kept: {ids:?}"
    );
    let plan = s.run(&["--dry-run", "config", "prune"]);
    plan.code(0);
    assert!(
        plan.stdout.contains("newest good backup"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("last 1"), "{}", plan.stdout);
}

#[test]
fn bad_settings_exit_78_naming_the_key() {
    let s = Sandbox::new();
    s.write_settings("[config.retention]\nkeep_lats = 3\n");
    s.write_config(GOOD);
    let r = s.run(&["config", "backup"]);
    r.code(78);
    assert!(
        r.stderr.contains("keep_lats") && r.stderr.contains("claw.toml:2"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_ledger_from_a_newer_claw_is_refused() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    s.run(&["config", "backup"]).code(0);
    let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    db.pragma_update(None, "user_version", 999).unwrap();
    drop(db);
    let r = s.run(&["config", "backup"]);
    r.code(65);
    assert!(r.stderr.contains("newer"), "{}", r.stderr);
}

#[test]
fn unreadable_config_is_one_line_naming_the_file() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    std::fs::set_permissions(s.config(), std::fs::Permissions::from_mode(0o000)).unwrap();
    let r = s.run_unprivileged(&["config", "backup"]);
    r.code(74);
    assert!(r.stderr.contains("openclaw.json"), "{}", r.stderr);
}

#[test]
fn status_shows_last_runs() {
    let s = Sandbox::new();
    // No state dir yet: said, not "no job has run yet".
    s.run(&["status"]).code(66);
    s.write_config(GOOD);
    s.run(&["config", "backup"]).code(0);
    let r = s.run(&["status"]);
    r.code(0);
    assert!(r.stdout.contains("config-backup"), "{}", r.stdout);
}

/// Every secret from OpenClaw's own redaction cases, planted in a config, must never reach
/// stdout or stderr of any config subcommand, in text or JSON.
#[test]
fn secrets_from_the_redaction_cases_never_reach_output() {
    let Some(shared) = shared() else { return };
    let cases: serde_json::Value = serde_json::from_slice(
        &std::fs::read(shared.join("samples/redaction-cases.json")).unwrap(),
    )
    .unwrap();
    let mut notes = serde_json::Map::new();
    let mut secrets = Vec::new();
    for (i, c) in cases.as_array().unwrap().iter().enumerate() {
        for s in c["rawMustNotContain"].as_array().into_iter().flatten() {
            secrets.push(s.as_str().unwrap().to_string());
        }
        // A labelled value sits under its label as key; others under a neutral key.
        let key = c["labels"]
            .get(0)
            .and_then(|l| l.as_str())
            .map(str::to_string)
            .unwrap_or(format!("note{i}"));
        notes.insert(key, c["value"].clone());
    }
    assert!(!secrets.is_empty());
    let s = Sandbox::new();
    let mut cfg: serde_json::Value = serde_json::from_str(GOOD).unwrap();
    cfg["gateway"]["auth"]["token"] = serde_json::json!(secrets[0]);
    cfg["env"] = serde_json::json!({"vars": {"SOME_KEY": secrets[1]}});
    cfg["messages"]["notes"] = serde_json::Value::Object(notes.clone());
    s.write_config(&serde_json::to_string_pretty(&cfg).unwrap());
    let mut outputs = Vec::new();
    for args in [
        &["config", "validate"][..],
        &["config", "backup"],
        &["config", "list"],
    ] {
        for json in [false, true] {
            let mut a: Vec<&str> = if json { vec!["--json"] } else { vec![] };
            a.extend_from_slice(args);
            outputs.push(s.run(&a));
        }
    }
    // Change every secret, then diff, restore (dry run and real), heal and status.
    let mut changed = cfg.clone();
    changed["gateway"]["auth"]["token"] = serde_json::json!(format!("{}-rotated", secrets[0]));
    changed["messages"]["notes"] = serde_json::json!({});
    s.write_config(&serde_json::to_string_pretty(&changed).unwrap());
    for args in [
        &["config", "diff"][..],
        &["--json", "config", "diff"],
        &["--dry-run", "config", "restore", "--latest-valid"],
        &["config", "restore", "--latest-valid", "--force"],
        &["config", "heal"],
        &["--json", "status"],
    ] {
        outputs.push(s.run(args));
    }
    let diff = &outputs[6];
    assert!(
        diff.stdout.contains("*** (changed)"),
        "a changed secret is still shown as changed:\n{}",
        diff.stdout
    );
    for r in &outputs {
        for secret in &secrets {
            assert!(
                !r.stdout.contains(secret.as_str()),
                "{secret} leaked to stdout:\n{}",
                r.stdout
            );
            assert!(
                !r.stderr.contains(secret.as_str()),
                "{secret} leaked to stderr:\n{}",
                r.stderr
            );
        }
    }
    let ledger = std::fs::read(s.state().join("ledger.db")).unwrap();
    let ledger = String::from_utf8_lossy(&ledger);
    for secret in &secrets {
        assert!(
            !ledger.contains(secret.as_str()),
            "{secret} reached the ledger"
        );
    }
    let _ = run_cmd;
}

/// A one-shot HTTP server on 127.0.0.1 answering `status` to every request, counting them.
fn health_server(status: u16, max_requests: usize) -> (String, std::thread::JoinHandle<usize>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/health", l.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let mut n = 0;
        for conn in l.incoming().take(max_requests) {
            let mut c = conn.unwrap();
            let mut buf = [0u8; 2048];
            let _ = c.read(&mut buf);
            n += 1;
            let body = r#"{"ok":true,"status":"live"}"#;
            let _ = write!(
                c,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        n
    });
    (url, h)
}

#[test]
fn restore_with_restart_runs_the_command_and_checks_health() {
    let s = Sandbox::new();
    let (url, server) = health_server(200, 1);
    let marker = s.root().join("restarted");
    s.write_settings(&format!(
        "[config]\nwarn_plaintext_secrets = false\n\n[gateway]\nrestart_command = [\"touch\", \"{}\"]\nhealth_url = \"{url}\"\nhealth_timeout_secs = 5\n",
        marker.display()
    ));
    s.write_config(GOOD);
    s.run(&["config", "backup"]).code(0);
    s.write_config("{}");
    let r = s.run(&["config", "restore", "--latest-valid", "--restart"]);
    r.code(0);
    assert!(marker.exists(), "restart command ran");
    assert!(r.stdout.contains("answers after"), "{}", r.stdout);
    assert_eq!(server.join().unwrap(), 1);
}

#[test]
fn restart_that_never_gets_healthy_is_a_finding() {
    let s = Sandbox::new();
    s.write_settings(
        "[config]\nwarn_plaintext_secrets = false\n\n[gateway]\nrestart_command = [\"true\"]\nhealth_url = \"http://127.0.0.1:9/health\"\nhealth_timeout_secs = 1\n",
    );
    s.write_config(GOOD);
    s.run(&["config", "backup"]).code(0);
    s.write_config("{}");
    let r = s.run(&["config", "restore", "--latest-valid", "--restart"]);
    r.code(1);
    assert!(r.stdout.contains("still does not answer"), "{}", r.stdout);
    assert_eq!(
        std::fs::read_to_string(s.config()).unwrap(),
        GOOD,
        "the restore itself stands"
    );
}

#[test]
fn with_openclaw_merges_the_real_verdict() {
    let s = Sandbox::new();
    // A stand-in `openclaw` that refuses the config the way 2026.9.6 prints it.
    let bin = s.write(
        "bin/openclaw",
        "#!/bin/sh\n[ \"$1 $2 $3\" = \"config validate --json\" ] || exit 2\n[ -n \"$OPENCLAW_CONFIG_PATH\" ] || exit 3\n\
         echo '{\"ok\":false,\"valid\":false,\"path\":\"x\",\"issues\":[{\"path\":\"gateway\",\"message\":\"Unrecognized key: \\\"extra\\\"\"}]}'\nexit 1\n",
    );
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.write_settings(&format!(
        "[general]\nopenclaw_bin = \"{}\"\n[config]\nwarn_plaintext_secrets = false\n",
        bin.display()
    ));
    s.write_config(GOOD);
    s.run(&["-q", "config", "validate"]).code(0);
    let r = s.run(&["--json", "config", "validate", "--with-openclaw"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["valid"], false);
    let issues = doc["issues"].as_array().unwrap();
    let issue = issues
        .iter()
        .find(|i| i["source"] == "openclaw")
        .expect("OpenClaw's issue merged");
    assert_eq!(issue["path"], "gateway");
    assert_eq!(issue["severity"], "error");
}

#[test]
fn with_openclaw_a_hanging_openclaw_is_killed_at_the_command_timeout() {
    let s = Sandbox::new();
    let bin = s.write("bin/openclaw", "#!/bin/sh\nexec sleep 30\n");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.write_settings(&format!(
        "[general]\nopenclaw_bin = \"{}\"\n[gateway]\ncommand_timeout_secs = 1\n[config]\nwarn_plaintext_secrets = false\n",
        bin.display()
    ));
    s.write_config(GOOD);
    let started = std::time::Instant::now();
    let r = s.run(&["config", "validate", "--with-openclaw"]);
    r.code(75);
    assert!(
        r.stderr.contains("killed after 1 s") && r.stderr.contains("command_timeout_secs"),
        "{}",
        r.stderr
    );
    // Not a timing assertion on claw's speed: only that the 30 s sleep did not run out.
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
}

#[test]
fn unchanged_backup_does_not_need_the_schema() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    s.run(&["config", "backup"]).code(0);
    // A broken cached schema only matters once the config changes.
    std::fs::create_dir_all(s.state().join("schemas")).unwrap();
    std::fs::write(
        s.state().join("schemas/openclaw-9.9.9.schema.json"),
        "{not json",
    )
    .unwrap();
    std::fs::write(
        s.state().join("schemas/current.json"),
        r#"{"version":"9.9.9","file":"openclaw-9.9.9.schema.json"}"#,
    )
    .unwrap();
    s.run(&["config", "backup"]).code(0).silent();
    s.write_config(&GOOD.replace("18789", "18790"));
    let r = s.run(&["config", "backup"]);
    r.code(65);
    assert!(
        r.stderr.contains("openclaw-9.9.9.schema.json"),
        "{}",
        r.stderr
    );
}

/// Validate the live config with the cached schema: (exit code, issues, stderr).
fn validate_cached(s: &Sandbox, verbose: bool) -> (i32, serde_json::Value, String) {
    let args: &[&str] = if verbose {
        &["-v", "--json", "config", "validate"]
    } else {
        &["--json", "config", "validate"]
    };
    let r = s.run(args);
    (r.code, r.json()["issues"].clone(), r.stderr.clone())
}

#[test]
fn a_damaged_foreign_or_stale_schema_cache_is_rebuilt_never_believed() {
    let s = Sandbox::new();
    quiet_settings(&s);
    let schema = |port: &str| {
        serde_json::json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object", "additionalProperties": false,
            "properties": {
                "gateway": {"type": "object", "additionalProperties": false, "properties": {
                    "port": {"type": port}, "mode": {"enum": ["local", "remote"]}}},
                "talk": {"type": "object", "properties": {"voice": {"type": "string"}}}}
        })
        .to_string()
    };
    let sf = s.write(
        "state/schemas/openclaw-9.9.9.schema.json",
        &schema("integer"),
    );
    let current = |v: &str| {
        s.write(
            "state/schemas/current.json",
            &format!(r#"{{"version":"{v}","file":"openclaw-9.9.9.schema.json"}}"#),
        );
    };
    current("9.9.9");
    s.write_config(r#"{"gateway": {"port": "x", "mode": "local", "bogus": 1}, "talk": {}}"#);
    let (code, want, err) = validate_cached(&s, true);
    assert_eq!(code, 1, "{want}");
    assert!(
        !err.contains("schema cache"),
        "a first build is no news: {err}"
    );
    let paths: Vec<&str> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["gateway.port", "gateway"], "{want}");
    let dir = s.state().join("schemas/fragments");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one cache file, no temp files: {files:?}");
    let cf = files[0].clone();
    assert_eq!(cf.metadata().unwrap().permissions().mode() & 0o777, 0o600);
    let good = std::fs::read(&cf).unwrap();
    // A current cache is used silently, even with -v.
    assert_eq!(validate_cached(&s, true), (1, want.clone(), String::new()));

    // Truncated, one byte changed, someone else's file, empty: the same verdict, the cache
    // rebuilt, one line with -v and nothing without.
    let mut flipped = good.clone();
    let mid = flipped.len() * 2 / 3;
    flipped[mid] ^= 0x01;
    for (bad, why) in [
        (good[..good.len() / 2].to_vec(), "damaged"),
        (flipped, "damaged"),
        (b"SQLite format 3\0".to_vec(), "another format"),
        (Vec::new(), "another format"),
    ] {
        std::fs::write(&cf, &bad).unwrap();
        let (code, issues, err) = validate_cached(&s, false);
        assert_eq!((code, &issues, err.as_str()), (1, &want, ""), "{why}");
        assert_eq!(std::fs::read(&cf).unwrap(), good, "rebuilt after {why}");
        std::fs::write(&cf, &bad).unwrap();
        let (code, issues, err) = validate_cached(&s, true);
        assert_eq!((code, &issues), (1, &want), "{why}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("schema cache") && err.contains(why), "{err}");
    }

    // The cache of another OpenClaw version is not used, even for the same file.
    current("9.9.10");
    let (code, issues, err) = validate_cached(&s, true);
    assert_eq!((code, &issues), (1, &want));
    assert!(err.contains("another schema file or version"), "{err}");
    // A schema rewritten in place with the same size and mtime is still a new schema.
    let mtime = sf.metadata().unwrap().modified().unwrap();
    let replaced = schema("string") + " ";
    assert_eq!(replaced.len(), schema("integer").len());
    std::fs::write(&sf, replaced).unwrap();
    let f = std::fs::File::options().write(true).open(&sf).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let (code, issues, _) = validate_cached(&s, false);
    assert_eq!(code, 1);
    let paths: Vec<&str> = issues
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["gateway"], "a string port is fine now: {issues}");

    // Where no cache can be written, validation still gives the verdict (and says why with -v).
    std::fs::remove_file(&cf).unwrap();
    std::fs::create_dir(&cf).unwrap();
    let (code, issues2, err) = validate_cached(&s, true);
    assert_eq!((code, issues2), (1, issues));
    assert!(err.contains("not cached"), "{err}");
}
