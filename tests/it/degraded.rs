//! Degraded mode of `claw rate-limit-detect` through the binary, against a fake `openclaw`
//! CLI that edits `openclaw.json` and keeps cron jobs in a file the way the real one behaves
//! (checked on 2026.7.1 and 2026.9.6: `config set|unset` rewrite the file as 2-space JSON,
//! `cron list --all --json` lists disabled jobs too, declared jobs carry `declarationKey`).
//! A storm on one provider stretches its heartbeat and disables its cron job; the way back is
//! x2, then everything restored byte for byte; an operator's edit is left alone; a claw killed
//! between applying a change and recording it still ends with everything restored.

use crate::common::{Run, Sandbox};
use crate::ratelimit::{append, failure, logs, t, DAY};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;

const FAKE: &str = r#"#!/usr/bin/env python3
# A fake `openclaw`: config set/unset on $OPENCLAW_STATE_DIR/openclaw.json, cron jobs in
# $OPENCLAW_STATE_DIR/cron-fake.json. FAKE_FAIL="cron enable" fails that command;
# FAKE_KILL="config set" applies it and then kills its caller (claw) with SIGKILL.
import json, os, re, signal, sys
d = os.environ["OPENCLAW_STATE_DIR"]
a = sys.argv[1:]
with open(os.path.join(d, "..", "..", "calls.txt"), "a") as f:
    f.write(" ".join(a) + "\n")
verb = " ".join(a[:2])
if os.environ.get("FAKE_FAIL") == verb:
    print("Error: gateway closed (1006)", file=sys.stderr); sys.exit(1)
cfgp = os.path.join(d, "openclaw.json"); cronp = os.path.join(d, "cron-fake.json")
def path(p):
    return [int(x) if x.isdigit() else x for x in re.split(r"\.|\[|\]\.?", p) if x != ""]
def save(p, v):
    with open(p, "w") as f: f.write(json.dumps(v, indent=2) + "\n")
if a[0] == "config":
    cfg = json.load(open(cfgp)); keys = path(a[2]); o = cfg
    for k in keys[:-1]:
        if isinstance(o, dict): o = o.setdefault(k, {})
        else: o = o[k]
    if a[1] == "set": o[keys[-1]] = a[3]
    elif a[1] == "unset": o.pop(keys[-1], None)
    save(cfgp, cfg)
elif a[0] == "cron":
    jobs = json.load(open(cronp))
    if a[1] == "list":
        print(json.dumps({"jobs": jobs, "total": len(jobs), "hasMore": False}))
    elif a[1] in ("enable", "disable"):
        hit = [j for j in jobs if j["id"] == a[2]]
        if not hit:
            print("GatewayClientRequestError: invalid cron.update params: id not found", file=sys.stderr); sys.exit(1)
        hit[0]["enabled"] = a[1] == "enable"
        save(cronp, jobs)
if os.environ.get("FAKE_KILL") == verb:
    os.kill(os.getppid(), signal.SIGKILL)
"#;

struct Env {
    s: Sandbox,
    path: String,
}

/// A home whose default agent runs on anthropic (heartbeat every 30m), an `ops` agent on
/// another provider, and four cron jobs: one on anthropic (through the default model), one
/// on `other`, OpenClaw's own heartbeat job, and one already disabled.
fn env(extra: &str) -> Env {
    let s = Sandbox::new();
    let bin = s.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("openclaw");
    std::fs::write(&fake, FAKE).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n[alerts]\ncooldown_secs = 0\n[rate_limit]\nlog_dirs = [{:?}]\njournald = \"off\"\n{extra}",
        logs(&s).display().to_string()
    ));
    let cfg = json!({
        "gateway": {"mode": "local"},
        "agents": {
            "defaults": {"model": "anthropic/claude-sonnet-4-5", "heartbeat": {"every": "30m", "target": "last"}},
            "list": [{"id": "main", "default": true}, {"id": "ops", "model": "other/m2"}]
        },
        "meta": {"lastTouchedVersion": "2026.7.1"}
    });
    std::fs::write(
        s.config(),
        format!("{}\n", serde_json::to_string_pretty(&cfg).unwrap()),
    )
    .unwrap();
    std::fs::write(s.openclaw().join("cron-fake.json"), jobs().to_string()).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    Env { s, path }
}

fn jobs() -> Value {
    json!([
        {"id": "j-anth", "name": "digest", "agentId": "main", "enabled": true, "payload": {"kind": "agentTurn", "message": "hi"}},
        {"id": "j-other", "name": "ops-report", "agentId": "ops", "enabled": true, "payload": {"kind": "agentTurn", "message": "x"}},
        {"id": "j-hb", "name": "heartbeat-main", "declarationKey": "heartbeat:main", "agentId": "main", "enabled": true, "payload": {"kind": "heartbeat"}},
        {"id": "j-off", "name": "paused", "enabled": false, "payload": {"kind": "agentTurn", "model": "anthropic/x"}}
    ])
}

impl Env {
    fn run(&self, now: &str, extra: &[&str], fake_env: &[(&str, &str)]) -> Run {
        let mut a = vec!["--now", now, "--json", "rate-limit-detect"];
        a.extend_from_slice(extra);
        let mut e = vec![("PATH", self.path.as_str())];
        e.extend_from_slice(fake_env);
        self.s.run_env(&a, &e)
    }
    fn storm(&self, from_min: u32) {
        let f = logs(&self.s).join(format!("openclaw-{DAY}.log"));
        for m in from_min..from_min + 3 {
            append(&f, &failure(m, 0, "anthropic"));
        }
    }
    fn every(&self) -> Value {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(self.s.config()).unwrap()).unwrap();
        v["agents"]["defaults"]["heartbeat"]["every"].clone()
    }
    fn enabled(&self, id: &str) -> bool {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(self.s.openclaw().join("cron-fake.json")).unwrap(),
        )
        .unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == id)
            .unwrap()["enabled"]
            .as_bool()
            .unwrap()
    }
    fn config_bytes(&self) -> Vec<u8> {
        std::fs::read(self.s.config()).unwrap()
    }
    fn cron_jobs(&self) -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(self.s.openclaw().join("cron-fake.json")).unwrap(),
        )
        .unwrap()
    }
    fn q(&self, sql: &str) -> Vec<String> {
        let c = rusqlite::Connection::open(self.s.state().join("ledger.db")).unwrap();
        let mut st = c.prepare(sql).unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }
    fn state(&self) -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(self.s.state().join("rate-limit.json")).unwrap(),
        )
        .unwrap()
    }
}

#[test]
fn a_storm_stretches_and_pauses_then_resumes_gradually_and_restores_byte_for_byte() {
    let e = env("");
    let before_cfg = e.config_bytes();
    let before_jobs = e.cron_jobs();
    e.storm(0);
    // Dry run: the exact commands, nothing changed.
    let r = e.s.run_env(
        &["--now", &t(3, 0), "--dry-run", "rate-limit-detect"],
        &[("PATH", e.path.as_str())],
    );
    r.code(1);
    assert!(
        r.stdout
            .contains("dry run: would run: openclaw config set agents.defaults.heartbeat.every 2h"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("dry run: would run: openclaw cron disable j-anth"),
        "{}",
        r.stdout
    );
    assert_eq!(e.config_bytes(), before_cfg);

    // The trip: heartbeat x4, the anthropic job disabled; the others untouched.
    let r = e.run(&t(3, 0), &[], &[]);
    r.code(1);
    assert_eq!(e.every(), "2h");
    assert!(!e.enabled("j-anth"));
    assert!(e.enabled("j-other") && e.enabled("j-hb") && !e.enabled("j-off"));
    let v = r.json();
    assert_eq!(v["detail"]["levels"]["anthropic"], "degraded");
    // One provider's storm is also the global breaker's: minimal.
    assert_eq!(v["detail"]["levels"]["global"], "minimal");
    let st = e.state();
    assert_eq!(st["providers"]["anthropic"]["level"], "degraded");
    assert_eq!(st["level"], "minimal");
    assert_eq!(st["outstandingChanges"]["anthropic"], 2);
    // Recorded with the value each replaced.
    assert_eq!(
        e.q("SELECT kind || ':' || target || ':' || before || '->' || current || ':' || status FROM rl_changes WHERE kind != 'outage' ORDER BY id"),
        vec!["heartbeat:defaults:30m->2h:applied", "cron:j-anth:enabled->disabled:applied"]
    );
    // `claw status` shows the levels.
    let r = e.s.run(&["status"]);
    assert!(
        r.stdout
            .contains("rate limit: minimal; anthropic degraded (2 changes to undo)"),
        "{}",
        r.stdout
    );
    let r = e.s.run(&["--json", "status"]);
    assert_eq!(
        r.json()["rate_limit"]["providers"]["anthropic"]["level"],
        "degraded"
    );
    // Still open: nothing runs again.
    let calls = std::fs::read_to_string(e.s.root().join("calls.txt")).unwrap();
    e.run(&t(10, 0), &[], &[]).code(1);
    assert_eq!(
        std::fs::read_to_string(e.s.root().join("calls.txt")).unwrap(),
        calls
    );

    // Closed (quiet probe) but not for resume_after_secs (900) yet: heartbeat at x2 only.
    e.run(&t(19, 0), &[], &[]).code(0);
    assert_eq!(e.every(), "1h");
    assert!(!e.enabled("j-anth"));
    e.run(&t(33, 0), &[], &[]).code(0);
    assert_eq!(e.every(), "1h");
    // Closed for 15 minutes: everything restored, byte for byte.
    let r = e.run(&t(34, 0), &[], &[]);
    r.code(0);
    assert_eq!(
        String::from_utf8(e.config_bytes()).unwrap(),
        String::from_utf8(before_cfg).unwrap()
    );
    assert_eq!(e.cron_jobs(), before_jobs);
    assert_eq!(
        e.q("SELECT status FROM rl_changes ORDER BY id"),
        vec!["restored", "restored", "restored"]
    );
    // The recovery record and one recovery alert listing what was paused and restored.
    assert_eq!(
        e.q("SELECT paused || ' | ' || restored FROM rl_resumes"),
        vec!["[\"heartbeat of main (defaults) (30m -> 2h)\",\"cron job digest (j-anth) (enabled -> disabled)\"] | [\"heartbeat of main (defaults)\",\"cron job digest (j-anth)\"]"]
    );
    let alerts = e.q("SELECT text FROM alerts WHERE key = 'degraded:anthropic'");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].starts_with(
            "Rate limit over for anthropic: limited for 31 min. Paused: heartbeat of main"
        ),
        "{}",
        alerts[0]
    );
    e.run(&t(40, 0), &[], &[]).code(0);
    assert_eq!(
        e.q("SELECT text FROM alerts WHERE key = 'degraded:anthropic'")
            .len(),
        1
    );
    assert_eq!(e.state()["level"], "full");
}

#[test]
fn an_operators_edit_is_left_alone_with_an_alert() {
    let e = env("");
    e.storm(0);
    e.run(&t(3, 0), &[], &[]).code(1);
    assert_eq!(e.every(), "2h");
    // The operator sets the heartbeat by hand during the outage.
    let text = std::fs::read_to_string(e.s.config())
        .unwrap()
        .replace("\"2h\"", "\"45m\"");
    std::fs::write(e.s.config(), &text).unwrap();
    e.run(&t(19, 0), &[], &[]).code(0);
    e.run(&t(40, 0), &[], &[]).code(0);
    assert_eq!(
        e.every(),
        "45m",
        "claw never overwrites the operator's value"
    );
    assert!(e.enabled("j-anth"), "the rest is restored");
    assert_eq!(
        e.q("SELECT status FROM rl_changes WHERE kind != 'outage' ORDER BY id"),
        vec!["operator", "restored"]
    );
    let a = e.q("SELECT text FROM alerts WHERE key = 'degraded-operator:defaults'");
    assert_eq!(a.len(), 1);
    assert!(
        a[0].contains("it is 45m now, claw had set 1h")
            || a[0].contains("it is 45m now, claw had set 2h"),
        "{}",
        a[0]
    );
    // A second storm while the operator's value stands: stretched from the operator's value.
    e.storm(50);
    e.run(&t(53, 0), &[], &[]).code(1);
    assert_eq!(e.every(), "3h");
}

#[test]
fn a_claw_killed_between_apply_and_record_still_ends_restored() {
    let e = env("");
    let before_cfg = e.config_bytes();
    e.storm(0);
    // Killed right after `openclaw config set` took effect, before it was recorded applied.
    let r = e.run(&t(3, 0), &[], &[("FAKE_KILL", "config set")]);
    assert_eq!(r.code, -1, "claw was killed: {}", r.stderr);
    assert_eq!(e.every(), "2h");
    assert_eq!(
        e.q("SELECT status FROM rl_changes WHERE kind = 'heartbeat'"),
        vec!["planned"]
    );
    // The next run settles it from what OpenClaw shows (applied); the cron job of the
    // interrupted plan was recorded but never run: settled as void.
    e.run(&t(4, 0), &[], &[]).code(1);
    assert_eq!(
        e.q("SELECT kind || ':' || status FROM rl_changes WHERE kind != 'outage' ORDER BY id"),
        vec!["heartbeat:applied", "cron:void"]
    );
    e.run(&t(19, 0), &[], &[]).code(0);
    assert_eq!(e.every(), "1h");
    // Killed again in the middle of the restore.
    let r = e.run(&t(40, 0), &[], &[("FAKE_KILL", "config set")]);
    assert_eq!(r.code, -1);
    assert_eq!(
        e.q("SELECT status FROM rl_changes WHERE kind = 'heartbeat'"),
        vec!["restoring"]
    );
    e.run(&t(41, 0), &[], &[]).code(0);
    assert_eq!(e.config_bytes(), before_cfg);
    assert_eq!(
        e.q("SELECT status FROM rl_changes WHERE kind = 'heartbeat'"),
        vec!["restored"]
    );
}

#[test]
fn a_failed_undo_alerts_with_the_commands_and_is_retried_and_restore_undoes_now() {
    let e = env("");
    e.storm(0);
    e.run(&t(3, 0), &[], &[]).code(1);
    // --restore while still open: undone now, but `cron enable` fails.
    let r = e.run(&t(4, 0), &["--restore"], &[("FAKE_FAIL", "cron enable")]);
    r.code(1);
    assert_eq!(e.every(), "30m");
    assert!(!e.enabled("j-anth"));
    let a = e.q("SELECT text FROM alerts WHERE key = 'degraded-undo' AND severity = 'critical'");
    assert_eq!(a.len(), 1);
    let dir = e.s.openclaw().display().to_string();
    assert!(
        a[0].contains(&format!(
            "OPENCLAW_STATE_DIR={dir} openclaw cron enable j-anth"
        )),
        "{}",
        a[0]
    );
    assert_eq!(
        e.q("SELECT status FROM rl_changes WHERE kind = 'cron'"),
        vec!["failed"]
    );
    // Retried by the next --restore (or once the breaker closed long enough).
    e.run(&t(5, 0), &["--restore"], &[]).code(1);
    assert!(e.enabled("j-anth"));
    assert_eq!(
        e.q("SELECT status FROM rl_changes WHERE kind = 'cron'"),
        vec!["restored"]
    );
}

#[test]
fn each_step_is_opt_out() {
    let e = env("stretch_heartbeat = false\ndisable_cron = false\n");
    e.storm(0);
    e.run(&t(3, 0), &[], &[]).code(1);
    assert_eq!(e.every(), "30m");
    assert!(e.enabled("j-anth"));
    assert!(
        !e.s.root().join("calls.txt").exists(),
        "openclaw was not run at all"
    );
}
