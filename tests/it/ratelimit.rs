//! `claw rate-limit-detect` through the binary, on gateway logs, transcripts, auth-state files
//! and journald output built here from the formats (see openclaw-formats.md "Gateway logs" and
//! "Seen on real gateways"). Time is injected with --now; nothing sleeps.

use crate::common::{Run, Sandbox};
use crate::fakehttp::FakeHttp;
use serde_json::{json, Value};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub(crate) const DAY: &str = "2026-05-04";

/// `2026-05-04T12:MM:SS` in UTC.
pub(crate) fn t(min: u32, sec: u32) -> String {
    format!("{DAY}T12:{min:02}:{sec:02}Z")
}

/// The same instant as a gateway-local time (+02:00), as tslog writes it.
fn local(min: u32, sec: u32) -> String {
    format!("{DAY}T14:{min:02}:{sec:02}.000+02:00")
}

/// The one-per-response line (flat shape, 2026.9.6 style).
fn fetch(min: u32, sec: u32, provider: &str, model: &str, status: u16) -> String {
    json!({"time": local(min, sec), "level": "info", "subsystem": "provider-transport-fetch",
        "hostname": "gw", "traceId": "t", "spanId": "s",
        "message": format!("[model-fetch] response provider={provider} api=anthropic-messages model={model} status={status} elapsedMs=429 dispatcher=new contentType=application/json")})
    .to_string()
}

/// tslog: `transient same-model retry` (WARN).
fn retry(min: u32, sec: u32, provider: &str, model: &str) -> String {
    json!({"0": "{\"subsystem\":\"agent/embedded\"}",
        "1": format!("transient same-model retry 1/9 for {provider}/{model} reason=rate_limit: delayMs=1000"),
        "_meta": {"logLevelName": "WARN", "date": t(min, sec), "name": "{\"subsystem\":\"agent/embedded\"}"},
        "time": local(min, sec)})
    .to_string()
}

/// tslog: the `embedded_run_agent_end` meta object.
fn agent_end(min: u32, sec: u32, provider: &str, model: &str) -> String {
    json!({"0": "{\"subsystem\":\"agent/embedded\"}",
        "1": {"event": "embedded_run_agent_end", "isError": true, "failoverReason": "rate_limit",
              "provider": provider, "model": model,
              "rawErrorPreview": "429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}"},
        "2": "embedded run agent end",
        "_meta": {"logLevelName": "WARN", "date": t(min, sec), "name": "{\"subsystem\":\"agent/embedded\"}"},
        "time": local(min, sec)})
    .to_string()
}

/// One real 429 as 2026.9.6 logs it: model-fetch, retry, agent end.
pub(crate) fn failure(min: u32, sec: u32, provider: &str) -> Vec<String> {
    let m = "claude-sonnet-4-5";
    vec![
        fetch(min, sec, provider, m, 429),
        retry(min, sec + 1, provider, m),
        agent_end(min, sec + 2, provider, m),
    ]
}

fn noise(min: u32) -> String {
    json!({"0": "{\"subsystem\":\"gateway\"}", "1": "heartbeat ok; 429 tokens of headroom is fine",
        "_meta": {"logLevelName": "INFO", "date": t(min, 0)}, "time": local(min, 0)})
    .to_string()
}

pub(crate) fn logs(s: &Sandbox) -> PathBuf {
    let p = s.root().join("tmp-openclaw");
    std::fs::create_dir_all(&p).unwrap();
    p
}

pub(crate) fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

fn sandbox(extra: &str) -> Sandbox {
    let s = Sandbox::new();
    let dir = logs(&s);
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n[rate_limit]\nlog_dirs = [{:?}]\njournald = \"off\"\n{extra}",
        dir.display().to_string()
    ));
    s
}

fn detect(s: &Sandbox, now: &str) -> Run {
    s.run(&["--now", now, "rate-limit-detect"])
}

fn detect_json(s: &Sandbox, now: &str) -> (Run, Value) {
    let r = s.run(&["--now", now, "--json", "rate-limit-detect"]);
    let v = r.json();
    (r, v)
}

fn new_events(v: &Value) -> u64 {
    v["detail"]["stats"]["new_events"].as_u64().unwrap()
}

fn state_file(s: &Sandbox) -> Value {
    let p = s.state().join("rate-limit.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn ledger(s: &Sandbox) -> rusqlite::Connection {
    rusqlite::Connection::open(s.state().join("ledger.db")).unwrap()
}

fn count(s: &Sandbox, sql: &str) -> i64 {
    ledger(s).query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn one_event_per_429_and_a_second_run_sees_nothing() {
    let s = sandbox("");
    let f = logs(&s).join(format!("openclaw-{DAY}.log"));
    let mut lines = vec![noise(0)];
    lines.extend(failure(1, 0, "anthropic"));
    lines.extend(failure(3, 0, "anthropic"));
    // A 200 that took 429 ms, and a 529 long before the window.
    lines.push(fetch(4, 0, "anthropic", "claude-sonnet-4-5", 200));
    lines.push(noise(5));
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    // An older day's file the gateway still had open, with an overload an hour ago.
    let old = logs(&s).join("openclaw-2026-05-03.log");
    let mut o = fetch(0, 0, "openai", "gpt-5.4", 529);
    o = o.replace("2026-05-04T14:00", "2026-05-04T13:00");
    std::fs::write(&old, o + "\n").unwrap();
    // Another profile's log is not ours.
    std::fs::write(
        logs(&s).join(format!("openclaw-work-{DAY}.log")),
        failure(2, 0, "anthropic").join("\n") + "\n",
    )
    .unwrap();

    let (r, v) = detect_json(&s, &t(10, 0));
    r.code(0);
    assert_eq!(new_events(&v), 3, "{v:#}");
    assert_eq!(v["detail"]["stats"]["log_files"], 2);
    assert_eq!(v["detail"]["breakers"]["anthropic"]["events"], 2);
    assert_eq!(
        v["detail"]["breakers"]["global"]["events"], 2,
        "the 529 is outside the window"
    );
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM rl_events WHERE signal = 'model-fetch' AND kind = 'rate_limit'"
        ),
        2
    );
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM rl_events WHERE kind = 'overloaded' AND provider = 'openai'"
        ),
        1
    );
    let st = state_file(&s);
    assert_eq!(st["state"], "closed");
    assert_eq!(st["rateLimited"], false);
    assert_eq!(st["events"], 2);
    // Cron silence, and nothing new the second time.
    detect(&s, &t(10, 30)).code(0).silent();
    let (_, v) = detect_json(&s, &t(11, 0));
    assert_eq!(new_events(&v), 0);
    assert_eq!(v["detail"]["stats"]["files_unchanged"], 2);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM rl_events"), 3);
}

#[test]
fn echoes_count_once_when_no_model_fetch_line_exists() {
    // An older build: no model-fetch line, only the retry and agent-end echoes.
    let s = sandbox("");
    let f = logs(&s).join(format!("openclaw-{DAY}.log"));
    append(
        &f,
        &[
            retry(1, 0, "anthropic", "m"),
            agent_end(1, 5, "anthropic", "m"),
            retry(5, 0, "anthropic", "m"),
        ],
    );
    let (_, v) = detect_json(&s, &t(6, 0));
    assert_eq!(new_events(&v), 2, "{v:#}");
    // An echo of the last failure read by a later run is not counted again.
    append(&f, &[agent_end(5, 30, "anthropic", "m")]);
    let (_, v) = detect_json(&s, &t(7, 0));
    assert_eq!(new_events(&v), 0);
}

#[test]
fn rotation_mid_window_loses_and_repeats_nothing() {
    let s = sandbox("threshold = 10\n");
    let f = logs(&s).join(format!("openclaw-{DAY}.log"));
    append(&f, &failure(1, 0, "anthropic"));
    append(&f, &[fetch(1, 30, "anthropic", "m", 4)]); // a partial last line follows
    let mut h = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
    write!(h, "{}", &fetch(2, 0, "anthropic", "m", 429)[..40]).unwrap();
    let (_, v) = detect_json(&s, &t(2, 10));
    assert_eq!(new_events(&v), 1);
    // The writer finishes its line, the file is rotated to .1.log, then a new file starts.
    writeln!(h, "{}", &fetch(2, 0, "anthropic", "m", 429)[40..]).unwrap();
    drop(h);
    std::fs::rename(&f, logs(&s).join(format!("openclaw-{DAY}.1.log"))).unwrap();
    append(&f, &failure(3, 0, "anthropic"));
    let (_, v) = detect_json(&s, &t(4, 0));
    assert_eq!(new_events(&v), 2, "{v:#}");
    let (_, v) = detect_json(&s, &t(5, 0));
    assert_eq!(new_events(&v), 0);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM rl_events"), 3);
    assert_eq!(v["detail"]["breakers"]["anthropic"]["events"], 3);
}

fn transitions(v: &Value) -> Vec<String> {
    v["detail"]["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}:{}->{}",
                t["scope"].as_str().unwrap(),
                t["from"].as_str().unwrap(),
                t["to"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn breaker_walks_closed_open_halfopen_closed_and_reopens_longer() {
    let s = sandbox("");
    let f = logs(&s).join(format!("openclaw-{DAY}.log"));
    for m in 0..3 {
        append(&f, &failure(m, 0, "anthropic"));
    }
    let (r, v) = detect_json(&s, &t(3, 0));
    r.code(1);
    assert_eq!(
        transitions(&v),
        vec!["anthropic:closed->open", "global:closed->open"]
    );
    let st = state_file(&s);
    assert_eq!(st["state"], "open");
    assert_eq!(st["rateLimited"], true);
    assert_eq!(st["provider"], "anthropic");
    assert_eq!(st["until"], format!("{DAY}T12:18:00.000Z"));
    assert_eq!(st["trips"], 1);
    assert_eq!(st["events"], 3);
    // Exit 1 while open; the first text run prints the finding (the --json runs above do
    // not use it up), the next one does not print it again.
    let r = detect(&s, &t(10, 0));
    r.code(1);
    assert!(r.stdout.contains("anthropic OPEN"), "{}", r.stdout);
    let r = detect(&s, &t(10, 0));
    r.code(1);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let r = s.run(&["--now", &t(10, 0), "-v", "rate-limit-detect"]);
    assert!(
        r.stdout.contains("anthropic OPEN"),
        "-v shows it: {}",
        r.stdout
    );
    // Cooldown over, no event for the quiet period: half-open, then closed.
    let (r, v) = detect_json(&s, &t(19, 0));
    r.code(0);
    assert_eq!(
        transitions(&v),
        vec![
            "anthropic:open->half-open",
            "anthropic:half-open->closed",
            "global:open->half-open",
            "global:half-open->closed"
        ]
    );
    assert_eq!(v["detail"]["recoveries"][0]["duration_secs"], 16 * 60);
    assert_eq!(
        count(
            &s,
            "SELECT duration_secs FROM rl_recoveries WHERE scope = 'anthropic'"
        ),
        16 * 60
    );
    assert_eq!(state_file(&s)["state"], "closed");
    // A second storm; an event arrives during the cooldown, so the quiet probe fails and the
    // breaker reopens for twice as long.
    for m in 30..33 {
        append(&f, &failure(m, 0, "anthropic"));
    }
    detect(&s, &t(33, 0)).code(1);
    append(&f, &failure(45, 0, "anthropic"));
    let (r, v) = detect_json(&s, &t(50, 0));
    r.code(1);
    let tr = transitions(&v);
    assert!(
        tr.contains(&"anthropic:open->half-open".to_string()),
        "{tr:?}"
    );
    assert!(
        tr.contains(&"anthropic:half-open->open".to_string()),
        "{tr:?}"
    );
    let st = state_file(&s);
    assert_eq!(st["state"], "open");
    assert_eq!(st["trips"], 2);
    assert_eq!(st["until"], format!("{DAY}T13:20:00.000Z"));
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM rl_transitions WHERE scope = 'anthropic'"
        ),
        6
    );
}

#[test]
fn probe_against_a_fake_provider_429_then_200() {
    let srv = FakeHttp::start(&[429]);
    let s = sandbox(&format!(
        "[[rate_limit.probes]]\nprovider = \"anthropic\"\nstyle = \"anthropic\"\nurl = \"{}\"\nmodel = \"claude-haiku-4-5\"\napi_key_env = \"PROBE_KEY\"\n",
        srv.url("/v1/messages")
    ));
    let f = logs(&s).join(format!("openclaw-{DAY}.log"));
    for m in 0..3 {
        append(&f, &failure(m, 0, "anthropic"));
    }
    let env = [("PROBE_KEY", "sk-ant-probe-secret-123456")];
    let run = |now: &str| {
        let r = s.run_env(&["--now", now, "--json", "rate-limit-detect"], &env);
        let v = r.json();
        (r, v)
    };
    let (r, _) = run(&t(3, 0));
    r.code(1);
    // `style` is the old name of `api`: still honoured, with a warning naming file and line.
    assert!(
        r.stderr
            .contains("claw.toml:8: rate_limit.probes[0].style is deprecated, rename it to api"),
        "{}",
        r.stderr
    );
    assert!(srv.take().is_empty(), "no probe while open");
    // Half-open: the probe gets 429 and the breaker reopens for 30 min.
    let (r, v) = run(&t(18, 0));
    r.code(1);
    assert!(transitions(&v).contains(&"anthropic:half-open->open".to_string()));
    let reqs = srv.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v1/messages");
    assert_eq!(
        reqs[0].header("x-api-key"),
        Some("sk-ant-probe-secret-123456")
    );
    assert_eq!(reqs[0].json()["model"], "claude-haiku-4-5");
    assert_eq!(reqs[0].json()["max_tokens"], 1);
    assert_eq!(state_file(&s)["until"], format!("{DAY}T12:48:00.000Z"));
    // Next half-open: 200, closed.
    let (r, v) = run(&t(48, 0));
    r.code(0);
    assert!(transitions(&v).contains(&"anthropic:half-open->closed".to_string()));
    assert_eq!(srv.take().len(), 1);
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM rl_probes WHERE kind = 'http' AND ok = 1 AND status = 200"
        ),
        1
    );
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM rl_probes WHERE ok = 0 AND status = 429"
        ),
        1
    );
    let db = std::fs::read(s.state().join("ledger.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains("probe-secret"));
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// The sessions store and the subagent runs registry the trip reads: running, done and
/// unrelated-provider subagents, some listed in both.
fn write_subagents(s: &Sandbox) {
    let sess = s.openclaw().join("agents/main/sessions");
    std::fs::create_dir_all(&sess).unwrap();
    std::fs::write(
        sess.join("sessions.json"),
        json!({
            "agent:main:main": {"sessionId": "m"},
            "agent:main:subagent:aaaa": {"sessionId": "a", "status": "running", "startedAt": 1},
            "agent:main:subagent:bbbb": {"sessionId": "b", "status": "done", "endedAt": 2},
            // On a provider that is not limited: left running.
            "agent:main:subagent:eeee": {"sessionId": "e", "status": "running", "modelProvider": "openai"},
            // On the limited one.
            "agent:main:subagent:ffff": {"sessionId": "f", "status": "running", "model": "anthropic/claude-sonnet-4-5"},
        })
        .to_string(),
    )
    .unwrap();
    std::fs::create_dir_all(s.openclaw().join("subagents")).unwrap();
    std::fs::write(
        s.openclaw().join("subagents/runs.json"),
        json!({"version": 2, "runs": {
            "r1": {"runId": "r1", "childSessionKey": "agent:main:subagent:cccc", "createdAt": 1},
            "r2": {"runId": "r2", "childSessionKey": "agent:main:subagent:aaaa", "createdAt": 1},
            "r3": {"runId": "r3", "childSessionKey": "agent:main:subagent:dddd", "endedAt": 5},
            "r4": {"runId": "r4", "childSessionKey": "agent:main:subagent:gggg", "createdAt": 1, "model": "openai/gpt-5.4"},
        }})
        .to_string(),
    )
    .unwrap();
}

#[test]
fn actions_run_once_per_trip_with_the_real_cli_shape() {
    let s = Sandbox::new();
    let bin = s.root().join("bin");
    let calls = s.root().join("calls.txt");
    script(
        &bin,
        "openclaw",
        &format!("printf '%s|' \"$@\" >> {0}; echo >> {0}", calls.display()),
    );
    let cmd = script(
        &bin,
        "heartbeat",
        &format!("echo \"heartbeat $1\" >> {}", calls.display()),
    );
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n[rate_limit]\nlog_dirs = [{:?}]\njournald = \"off\"\nabort_subagents = true\ndisable_cron = false\ntrip_commands = [[{:?}, \"pause\"]]\nresume_commands = [[{:?}, \"resume\"]]\n",
        logs(&s).display().to_string(),
        cmd.display().to_string(),
        cmd.display().to_string()
    ));
    write_subagents(&s);
    let f = logs(&s).join(format!("openclaw-{DAY}.log"));
    for m in 0..3 {
        append(&f, &failure(m, 0, "anthropic"));
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let run = |now: &str, dry: bool| {
        let mut a = vec!["--now", now];
        if dry {
            a.push("--dry-run");
        }
        a.push("rate-limit-detect");
        s.run_env(&a, &[("PATH", path.as_str())])
    };
    // Dry run: the exact commands, nothing run, nothing recorded.
    let r = run(&t(3, 0), true);
    r.code(1);
    assert!(
        r.stdout.contains(
            "dry run: would run: openclaw gateway call sessions.abort --params '{\"key\":\"agent:main:subagent:aaaa\"}' --json"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("heartbeat pause"), "{}", r.stdout);
    assert!(!calls.exists());
    assert!(!s.state().join("rate-limit.json").exists());
    // The trip: three aborts (aaaa from both lists, once; cccc with no provider recorded;
    // ffff on the limited provider), not eeee or gggg (openai is not limited), and the pause
    // command.
    let r = run(&t(3, 0), false);
    r.code(1);
    assert!(
        r.stdout
            .contains("left running: agent:main:subagent:eeee, agent:main:subagent:gggg"),
        "{}",
        r.stdout
    );
    let got = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(
        got,
        "gateway|call|sessions.abort|--params|{\"key\":\"agent:main:subagent:aaaa\"}|--json|\n\
         gateway|call|sessions.abort|--params|{\"key\":\"agent:main:subagent:cccc\"}|--json|\n\
         gateway|call|sessions.abort|--params|{\"key\":\"agent:main:subagent:ffff\"}|--json|\n\
         heartbeat pause\n"
    );
    // Still open: nothing again.
    run(&t(10, 0), false).code(1);
    assert_eq!(std::fs::read_to_string(&calls).unwrap(), got);
    // Recovery: resume once.
    run(&t(19, 0), false).code(0);
    run(&t(20, 0), false).code(0);
    let after = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(after, format!("{got}heartbeat resume\n"));
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM rl_actions WHERE phase = 'trip' AND ok = 1"
        ),
        5
    );
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM rl_actions WHERE phase = 'recovery'"
        ),
        2
    );
    // The alert was raised and then cleared.
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM alert_state WHERE job = 'rate-limit-detect' AND active = 0"
        ),
        1
    );
}

#[test]
fn transcript_errors_and_auth_cooldowns() {
    let s = sandbox("");
    let sess = s.openclaw().join("agents/main/sessions");
    std::fs::create_dir_all(&sess).unwrap();
    let err = |id: &str, min: u32, msg: &str| {
        json!({"type":"message","id":id,"parentId":null,"timestamp":t(min,0),"message":{"role":"assistant",
            "content":[],"api":"anthropic-messages","provider":"anthropic","model":"claude-sonnet-4-5",
            "usage":{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"totalTokens":0},
            "stopReason":"error","errorMessage":msg,"timestamp":1}})
        .to_string()
    };
    let tr = sess.join("aaaaaaaa-0000-4000-8000-000000000001.jsonl");
    append(
        &tr,
        &[
            json!({"type":"session","version":3,"id":"aaaaaaaa-0000-4000-8000-000000000001","timestamp":t(0,0)}).to_string(),
            err("e1", 1, "429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"rate limited\"}}"),
            err("e2", 2, "fetch failed"),
            err("e3", 4, "529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"),
        ],
    );
    let (r, v) = detect_json(&s, &t(5, 0));
    r.code(0);
    assert_eq!(new_events(&v), 2, "{v:#}");
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM rl_events WHERE signal = 'transcript' AND kind = 'overloaded'"
        ),
        1
    );
    // A rate-limit cooldown on an auth profile opens the breaker by itself, until it ends.
    let until_ms = chrono::DateTime::parse_from_rfc3339(&t(40, 0))
        .unwrap()
        .timestamp_millis();
    let auth = s.openclaw().join("agents/main/agent");
    std::fs::create_dir_all(&auth).unwrap();
    std::fs::write(
        auth.join("auth-state.json"),
        json!({"usageStats": {
            "anthropic:default": {"cooldownUntil": until_ms, "cooldownReason": "rate_limit"},
            "openai:default": {"cooldownUntil": until_ms, "cooldownReason": "auth"},
        }})
        .to_string(),
    )
    .unwrap();
    let (r, _) = detect_json(&s, &t(6, 0));
    r.code(1);
    let st = state_file(&s);
    assert_eq!(st["provider"], "anthropic");
    assert_eq!(st["until"], format!("{DAY}T12:40:00.000Z"));
    assert!(
        st["reason"].as_str().unwrap().contains("auth cooldown"),
        "{st}"
    );
    assert_eq!(st["providers"].as_object().unwrap().len(), 1);
    // Corrupt auth-state: reported, the scan goes on.
    std::fs::write(auth.join("auth-state.json"), "{nope").unwrap();
    let r = detect(&s, &t(7, 0));
    assert!(
        r.stderr.contains("auth-state.json: corrupt JSON"),
        "{}",
        r.stderr
    );
}

#[test]
fn journald_through_a_fake_journalctl_with_cursors() {
    let s = Sandbox::new();
    let bin = s.root().join("bin");
    let args = s.root().join("jargs.txt");
    let out = s.root().join("journal.json");
    let jc = script(
        &bin,
        "journalctl",
        &format!("echo \"$@\" >> {}; cat {}", args.display(), out.display()),
    );
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n[rate_limit]\nlog_dirs = [{:?}]\njournalctl_bin = {:?}\n",
        s.root().join("no-logs-here").display().to_string(),
        jc.display().to_string()
    ));
    let entry = |cur: &str, msg: &str| {
        json!({"__CURSOR": cur, "__REALTIME_TIMESTAMP": "1777896000000000", "MESSAGE": msg})
            .to_string()
    };
    let m1 = format!("{} [provider-transport-fetch] [model-fetch] response provider=anthropic api=anthropic-messages model=claude-sonnet-4-5 status=429 elapsedMs=80", local(1, 0));
    let m2 = format!("{} [agent/embedded] transient same-model retry 1/9 for anthropic/claude-sonnet-4-5 reason=rate_limit: delayMs=1000", local(1, 1));
    let m3 = format!("{} [gateway] listening on 127.0.0.1:18789", local(1, 2));
    std::fs::write(
        &out,
        [entry("c1", &m1), entry("c2", &m2), entry("c3", &m3)].join("\n") + "\n",
    )
    .unwrap();
    let (r, v) = detect_json(&s, &t(2, 0));
    r.code(0);
    assert_eq!(new_events(&v), 1, "{v:#}");
    let a = std::fs::read_to_string(&args).unwrap();
    assert!(
        a.starts_with("--user -u openclaw-gateway.service -o json --no-pager --since=@"),
        "{a}"
    );
    // The next run continues after the last cursor; the same entries again add nothing.
    let (_, v) = detect_json(&s, &t(3, 0));
    assert_eq!(new_events(&v), 0);
    let a = std::fs::read_to_string(&args).unwrap();
    assert!(
        a.lines().nth(1).unwrap().ends_with("--after-cursor=c3"),
        "{a}"
    );
    // No journalctl at all: skipped quietly.
    s.write_settings(&format!(
        "[rate_limit]\nlog_dirs = [{:?}]\njournalctl_bin = \"/nonexistent/journalctl\"\n",
        s.root().join("no-logs-here").display().to_string()
    ));
    detect(&s, &t(4, 0)).code(0).silent();
}

#[test]
fn bad_settings_and_bad_lines() {
    let s = Sandbox::new();
    s.write_settings("[rate_limit]\njournald = \"sometimes\"\n");
    let r = detect(&s, &t(0, 0));
    r.code(78);
    assert!(r.stderr.contains("rate_limit.journald"), "{}", r.stderr);
    // Corrupt candidate lines are reported per file; the good ones still count.
    let s = sandbox("");
    let f = logs(&s).join(format!("openclaw-{DAY}.log"));
    append(
        &f,
        &[
            "{\"time\": \"x\", \"message\": \"status=429 trunc".to_string(),
            fetch(1, 0, "anthropic", "m", 429),
        ],
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(&f)
        .unwrap()
        .write_all(b"\xff\xfe 429\n")
        .unwrap();
    let (r, v) = detect_json(&s, &t(2, 0));
    r.code(0);
    assert_eq!(new_events(&v), 1);
    assert!(
        r.stderr.contains("2 candidate lines are not JSON"),
        "{}",
        r.stderr
    );
}

/// The SQLite era: errors in `transcript_events` (plain and zstd-compressed rows) count once,
/// and a second run reads nothing again.
#[test]
fn sqlite_era_transcript_errors_count_once() {
    let s = sandbox("");
    let dir = s.openclaw().join("agents/ops/agent");
    std::fs::create_dir_all(&dir).unwrap();
    let db = rusqlite::Connection::open(dir.join("openclaw-agent.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
           created_at INTEGER NOT NULL, event_zstd BLOB, event_utf8_bytes INTEGER, navigation_json TEXT,
           PRIMARY KEY (session_id, seq));",
    )
    .unwrap();
    let err = |id: &str, min: u32, msg: &str| {
        json!({"type":"message","id":id,"parentId":null,"timestamp":t(min,0),"message":{"role":"assistant",
            "content":[],"api":"openai-completions","provider":"openrouter","model":"deepseek/deepseek-v3.2",
            "usage":{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"totalTokens":0},
            "stopReason":"error","errorMessage":msg,"timestamp":1}})
        .to_string()
    };
    let plain = err("f1", 1, "429 Too Many Requests: rate limit exceeded");
    // More than the echo window apart, so each is its own event.
    let packed = err("f2", 4, &format!("429 {}", "quota exceeded ".repeat(80)));
    db.execute(
        "INSERT INTO transcript_events VALUES ('s1', 1, ?1, 0, NULL, NULL, NULL)",
        [&plain],
    )
    .unwrap();
    db.execute(
        "INSERT INTO transcript_events VALUES ('s1', 2, NULL, 0, ?1, NULL, NULL)",
        [zstd::encode_all(packed.as_bytes(), 3).unwrap()],
    )
    .unwrap();
    drop(db);
    let (r, v) = detect_json(&s, &t(5, 0));
    r.code(0);
    assert_eq!(new_events(&v), 2, "{v:#}");
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM rl_events WHERE signal = 'transcript' AND provider = 'openrouter'"),
        2
    );
    let (_, v) = detect_json(&s, &t(6, 0));
    assert_eq!(new_events(&v), 0, "{v:#}");
}

/// On a generated home, the events counted from the gateway logs equal the generator's ground
/// truth per 10-minute window, provider and kind: one per real 429/529, none for the retry,
/// failover and agent-end lines around it.
#[test]
fn generated_home_events_per_window_match_the_ground_truth() {
    let s = Sandbox::new();
    let (home, truth) = s.gen_home("generated", 5, "both");
    let logs = home.join(truth["generator"]["logs_dir"].as_str().unwrap());
    let now = truth["generator"]["now"].as_str().unwrap();
    s.run(&[
        "--openclaw-dir",
        home.to_str().unwrap(),
        "--now",
        now,
        "rate-limit-detect",
        "--log-dir",
        logs.to_str().unwrap(),
    ]);
    let mut want: Vec<(String, String, i64, i64)> = truth["rate_limits"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["window_start"].as_str().unwrap()[..16].to_string(),
                w["provider"].as_str().unwrap().to_string(),
                w["rate_limit"].as_i64().unwrap(),
                w["overloaded"].as_i64().unwrap(),
            )
        })
        .collect();
    want.sort();
    let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    let mut st = db
        .prepare(
            "SELECT strftime('%Y-%m-%dT%H:', at) || printf('%02d', (CAST(strftime('%M', at) AS INTEGER) / 10) * 10) AS w,
                    provider, sum(kind = 'rate_limit'), sum(kind = 'overloaded')
             FROM rl_events WHERE signal = 'model-fetch' GROUP BY w, provider ORDER BY w, provider",
        )
        .unwrap();
    let got: Vec<(String, String, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, want);
}

/// A journal that never answers is killed at `rate_limit.timeout_secs`: the job ends, says
/// why, and keeps its cursor for the next run.
#[test]
fn a_hung_journalctl_is_killed_at_the_timeout() {
    let s = Sandbox::new();
    let jc = script(&s.root().join("bin"), "journalctl", "exec sleep 30");
    s.write_settings(&format!(
        "[rate_limit]\nlog_dirs = [{:?}]\njournalctl_bin = {:?}\ntimeout_secs = 1\n",
        s.root().join("no-logs-here").display().to_string(),
        jc.display().to_string()
    ));
    let r = detect(&s, &t(2, 0));
    r.code(0);
    assert!(r.stderr.contains("no answer within 1 s"), "{}", r.stderr);
}
