//! `claw gateway check` through the binary against a fake gateway on 127.0.0.1 whose
//! behaviour a file sets (up, down = nothing listens, hang = accepts and never answers,
//! flap = answers 200 and 503 in turn), restart commands that work or do nothing, and configs
//! with each exposure case. Nothing here binds beyond loopback.

use crate::common::{Run, Sandbox};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const T0: &str = "2026-06-01T03:00:00Z";

/// A gateway stand-in; its mode is re-read from `mode_file` on every loop, so a restart
/// command (a shell line writing the file) can bring it back.
struct FakeGateway {
    port: u16,
    mode_file: PathBuf,
    stop: Arc<AtomicBool>,
}

impl FakeGateway {
    fn start(dir: &Path, mode: &str) -> FakeGateway {
        let mode_file = dir.join("gw-mode");
        std::fs::write(&mode_file, mode).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let stop = Arc::new(AtomicBool::new(false));
        let (stop2, mf) = (stop.clone(), mode_file.clone());
        std::thread::spawn(move || serve(port, &mf, &stop2));
        // Wait until the first mode took effect.
        std::thread::sleep(Duration::from_millis(50));
        FakeGateway {
            port,
            mode_file,
            stop,
        }
    }
    fn set(&self, mode: &str) {
        std::fs::write(&self.mode_file, mode).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(port: u16, mode_file: &Path, stop: &AtomicBool) {
    let mut listener: Option<TcpListener> = None;
    let mut hung: Vec<TcpStream> = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let mode = std::fs::read_to_string(mode_file).unwrap_or_default();
        let mode = mode.trim();
        if mode == "down" {
            listener = None;
            hung.clear();
        } else if listener.is_none() {
            // std sets SO_REUSEADDR, so the same port binds again after a "down".
            if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
                l.set_nonblocking(true).unwrap();
                listener = Some(l);
            }
        }
        let Some(l) = &listener else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        match l.accept() {
            Ok((mut s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                n += 1;
                let (status, body) = match mode {
                    "hang" => {
                        hung.push(s);
                        continue;
                    }
                    "flap" if n.is_multiple_of(2) => (503, r#"{"ok":false,"status":"starting"}"#),
                    _ => (200, r#"{"ok":true,"status":"live"}"#),
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// A sandbox with a clean config for the fake's port (mode 0600 in a 0700 dir), every alert
/// appended to `alerts.jsonl`, no OpenClaw CLI, and roomy disk thresholds.
fn setup(gw: &FakeGateway, extra: &str) -> Sandbox {
    let s = Sandbox::new();
    // A key in `extra` replaces the default below.
    let over = |key: &str, default: &str| -> String {
        if extra
            .lines()
            .any(|l| l.split('=').next().map(str::trim) == Some(key))
        {
            String::new()
        } else {
            format!("{key} = {default}")
        }
    };
    config(
        &s,
        &format!(r#"{{"gateway":{{"mode":"local","port":{}}}}}"#, gw.port),
    );
    let alerts = s.root().join("alerts.jsonl");
    s.write_settings(&format!(
        r#"[general]
openclaw_bin = "/nonexistent/openclaw"

[alerts]
cooldown_secs = 3600
retries = 0

[[alerts.sinks]]
name = "log"
kind = "command"
command = ["sh", "-c", "cat >> '{}'; echo >> '{}'"]

[gateway]
restart_command = ["sh", "-c", "echo restart >> '{restarts}'"]
{fbr}
health_timeout_secs = 1
probe_timeout_secs = 1
journalctl_bin = ""
log_dir = "{logs}"
disk_warn_percent = 0.0
disk_critical_percent = 0.0
{extra}
"#,
        alerts.display(),
        alerts.display(),
        restarts = s.root().join("restarts").display(),
        logs = s.root().join("gwlogs").display(),
        fbr = over("failures_before_restart", "1"),
    ));
    s
}

fn config(s: &Sandbox, text: &str) {
    s.write_config(text);
    std::fs::set_permissions(s.config(), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(s.openclaw(), std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// Settings with the restart command replaced.
fn with_restart(s: &Sandbox, argv: &str) {
    let t = std::fs::read_to_string(s.settings()).unwrap();
    let t = t
        .lines()
        .map(|l| {
            if l.starts_with("restart_command") {
                format!("restart_command = {argv}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    s.write_settings(&t);
}

/// A restart command that brings the fake back (and counts itself).
fn working_restart(s: &Sandbox, gw: &FakeGateway) -> String {
    format!(
        r#"["sh", "-c", "echo restart >> '{}'; echo up > '{}'"]"#,
        s.root().join("restarts").display(),
        gw.mode_file.display()
    )
}

fn restarts(s: &Sandbox) -> usize {
    std::fs::read_to_string(s.root().join("restarts"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn alerts(s: &Sandbox) -> Vec<serde_json::Value> {
    let t = std::fs::read_to_string(s.root().join("alerts.jsonl")).unwrap_or_default();
    serde_json::Deserializer::from_str(&t)
        .into_iter::<serde_json::Value>()
        .map(|v| v.unwrap())
        .collect()
}

fn keys(a: &[serde_json::Value]) -> Vec<String> {
    a.iter()
        .map(|v| {
            format!(
                "{}:{}",
                v["kind"].as_str().unwrap(),
                v["key"].as_str().unwrap()
            )
        })
        .collect()
}

fn at(min: i64) -> String {
    (chrono::DateTime::parse_from_rfc3339(T0).unwrap() + chrono::Duration::minutes(min))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn check(s: &Sandbox, min: i64, extra: &[&str]) -> Run {
    let now = at(min);
    let mut args = vec!["--now", now.as_str(), "gateway", "check"];
    args.extend_from_slice(extra);
    s.run(&args)
}

#[test]
fn healthy_is_silent_and_exit_0_with_a_stable_json_shape() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "up");
    let s = setup(&gw, "");
    check(&s, 0, &[]).code(0).silent();
    assert_eq!(restarts(&s), 0);
    assert!(alerts(&s).is_empty());

    let r = check(&s, 1, &["--json"]);
    r.code(0);
    let mut doc = r.json();
    // Values that depend on the machine, normalized; everything else is the contract.
    let port = gw.port.to_string();
    assert!(doc["health"]["elapsed_ms"].as_u64().unwrap() < 1000);
    doc["health"]["elapsed_ms"] = 0.into();
    assert!(doc["process"]["pid"].as_i64().is_some(), "{doc}");
    for k in ["pid", "rss_bytes", "rss_baseline_bytes", "uptime_secs"] {
        doc["process"][k] = "N".into();
    }
    assert_eq!(
        doc["process"]["listeners"],
        serde_json::json!([format!("127.0.0.1:{port}")])
    );
    let fss = doc["filesystems"].as_array().unwrap().clone();
    assert!(!fss.is_empty());
    assert!(fss[0]["holds"].as_str().unwrap().contains("openclaw"));
    doc["filesystems"] = "N".into();
    let url = format!("http://127.0.0.1:{port}/health");
    assert_eq!(
        doc,
        serde_json::json!({
            "schema_version": 1,
            "command": "gateway check",
            "exit_code": 0,
            "now": at(1),
            "health": {"url": url, "up": true, "probe_ok": true, "http_status": 200,
                       "elapsed_ms": 0, "error": null, "consecutive_failures": 0},
            "action": {"kind": "none", "detail": null, "restart": null},
            "restarts_last_hour": 0,
            "max_restarts_per_hour": 3,
            "process": {"pid": "N", "rss_bytes": "N", "rss_baseline_bytes": "N",
                        "uptime_secs": "N", "listeners": [format!("127.0.0.1:{port}")]},
            "exposure": {"bind": "loopback", "non_loopback": false, "auth_mode": "none",
                         "verdict": "loopback only, no auth"},
            "findings": [],
            "openclaw_audit": {"status": "no-cli", "at": null, "error": null},
            "filesystems": "N",
            "version": {"installed": null, "source": null, "schema": null, "drift": false,
                        "refreshed": false},
            "rpc_health": null,
        })
    );
}

#[test]
fn down_restarts_once_alerts_once_and_recovers_when_back() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "down");
    let s = setup(&gw, "");
    // The restart command does nothing: the gateway stays down.
    let r = check(&s, 0, &[]);
    r.code(1);
    assert!(r.stdout.contains("still does not answer"), "{}", r.stdout);
    assert_eq!(restarts(&s), 1);
    let a = alerts(&s);
    assert_eq!(keys(&a), ["alert:down"]);
    assert_eq!(a[0]["severity"], "critical");
    // Back: one recovery, exit 0, and the line saying so.
    gw.set("up");
    let r = check(&s, 1, &[]);
    r.code(0);
    assert!(r.stdout.contains("answers again"), "{}", r.stdout);
    assert_eq!(restarts(&s), 1);
    assert_eq!(keys(&alerts(&s)), ["alert:down", "recovery:down"]);
    // Healthy again: silent, nothing more sent.
    check(&s, 2, &[]).code(0).silent();
    assert_eq!(alerts(&s).len(), 2);
}

#[test]
fn a_restart_that_works_is_one_warning_and_no_recovery_noise() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "down");
    let s = setup(&gw, "failures_before_restart = 2");
    with_restart(&s, &working_restart(&s, &gw));
    // First failed check: wait for a second one.
    let r = check(&s, 0, &[]);
    r.code(1);
    assert!(r.stdout.contains("failed check 1 of 2"), "{}", r.stdout);
    assert_eq!(restarts(&s), 0);
    assert!(alerts(&s).is_empty());
    // Second: restart, and it answers.
    let r = check(&s, 1, &["--json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["action"]["kind"], "restart");
    assert_eq!(doc["action"]["restart"]["healthy"], true);
    assert_eq!(doc["health"]["up"], true);
    assert_eq!(restarts(&s), 1);
    let a = alerts(&s);
    assert_eq!(keys(&a), ["alert:restarted"]);
    assert_eq!(a[0]["severity"], "warning");
    // The restart is in the ledger, before its outcome.
    let l = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    let ev: Vec<String> = l
        .prepare("SELECT event FROM gateway_events ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(ev, ["probe-failed", "restart", "restart-ok"]);
    check(&s, 2, &[]).code(0).silent();
    assert_eq!(alerts(&s).len(), 1);
}

#[test]
fn down_for_an_hour_restarts_three_times_then_one_restart_loop_alert() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "down");
    let s = setup(&gw, "");
    s.write(
        "gwlogs/openclaw-2026-06-01.log",
        r#"{"0":"{\"subsystem\":\"gateway\"}","1":"listening","_meta":{"logLevelName":"INFO"},"time":"2026-06-01T02:59:00Z"}
{"0":"{\"subsystem\":\"gateway\"}","1":"EADDRINUSE: address already in use 127.0.0.1:18789","_meta":{"logLevelName":"ERROR"},"time":"2026-06-01T02:59:01Z"}
"#,
    );
    for min in 0..60 {
        check(&s, min, &[]).code(1);
    }
    assert_eq!(restarts(&s), 3);
    let a = alerts(&s);
    let loops: Vec<&serde_json::Value> = a.iter().filter(|v| v["key"] == "restart-loop").collect();
    assert_eq!(loops.len(), 1, "{a:?}");
    let text = loops[0]["text"].as_str().unwrap();
    assert_eq!(loops[0]["severity"], "critical");
    assert!(
        text.contains("EADDRINUSE: address already in use"),
        "{text}"
    );
    assert!(text.contains("3 restart(s) in the last hour"), "{text}");
    // One "down" too (deduped within the cooldown), nothing else.
    assert_eq!(keys(&a), ["alert:down", "alert:restart-loop"]);
    // Past the hour the budget frees up again.
    check(&s, 61, &[]).code(1);
    assert_eq!(restarts(&s), 4);
}

#[test]
fn a_hanging_gateway_is_down_within_the_probe_timeout() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "hang");
    let s = setup(&gw, "auto_restart = false");
    let t = std::time::Instant::now();
    let r = check(&s, 0, &["--json"]);
    r.code(1);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let doc = r.json();
    assert_eq!(doc["health"]["up"], false);
    assert_eq!(doc["health"]["error"], "no answer within 1 s");
    assert_eq!(doc["action"]["kind"], "report");
    assert_eq!(restarts(&s), 0);
    assert_eq!(keys(&alerts(&s)), ["alert:down"]);
}

#[test]
fn a_flapping_gateway_never_reaches_the_restart_threshold() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "flap");
    let s = setup(&gw, "failures_before_restart = 2");
    let mut codes = Vec::new();
    for min in 0..6 {
        codes.push(check(&s, min, &[]).code);
    }
    // 200, 503, 200, 503...: never two failures in a row.
    assert_eq!(codes, [0, 1, 0, 1, 0, 1]);
    assert_eq!(restarts(&s), 0);
    assert!(alerts(&s).is_empty());
}

#[test]
fn lan_without_auth_is_a_critical_finding_with_its_fix() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "up");
    let s = setup(&gw, "");
    config(
        &s,
        &format!(
            r#"{{"gateway":{{"mode":"local","port":{},"bind":"lan","auth":{{"mode":"none"}}}}}}"#,
            gw.port
        ),
    );
    let r = check(&s, 0, &[]);
    r.code(1);
    assert!(
        r.stdout
            .contains("critical gateway.bind_no_auth: gateway.bind \"lan\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("fix: set gateway.auth.mode \"token\""),
        "{}",
        r.stdout
    );
    let a = alerts(&s);
    assert_eq!(keys(&a), ["alert:finding:gateway.bind_no_auth"]);
    assert_eq!(a[0]["severity"], "critical");
    // Still there a minute later: exit 1, not reprinted, not re-sent.
    check(&s, 1, &[]).code(1).silent();
    assert_eq!(alerts(&s).len(), 1);
    // Fixed with a token from the environment: resolved, recovery sent.
    config(
        &s,
        &format!(
            r#"{{"gateway":{{"mode":"local","port":{},"bind":"lan","auth":{{"mode":"token","token":"${{GW_TOKEN}}"}}}}}}"#,
            gw.port
        ),
    );
    check(&s, 2, &[]).code(0).silent();
    assert_eq!(
        keys(&alerts(&s)),
        [
            "alert:finding:gateway.bind_no_auth",
            "recovery:finding:gateway.bind_no_auth"
        ]
    );
}

#[test]
fn each_exposure_case_has_its_finding() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "up");
    let s = setup(&gw, "");
    let cases: &[(&str, &str)] = &[
        (
            r#""bind":"auto","auth":{"mode":"token","token":""}"#,
            "gateway.bind_no_auth",
        ),
        (r#""bind":"tailnet""#, "gateway.bind_no_auth"),
        (
            r#""auth":{"mode":"token","token":"plain-secret-value-123"}"#,
            "config.plaintext_secrets",
        ),
    ];
    for (gwkeys, id) in cases {
        config(
            &s,
            &format!(
                r#"{{"gateway":{{"mode":"local","port":{},{gwkeys}}}}}"#,
                gw.port
            ),
        );
        let r = check(&s, 0, &["--json", "--dry-run"]);
        r.code(1);
        let doc = r.json();
        let ids: Vec<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [*id], "{gwkeys}");
        assert!(!r.stdout.contains("plain-secret-value-123"));
    }
    // Redaction off (older versions' key), modes open to others.
    config(
        &s,
        &format!(
            r#"{{"gateway":{{"mode":"local","port":{}}},"logging":{{"redactSensitive":"off"}}}}"#,
            gw.port
        ),
    );
    std::fs::create_dir_all(s.openclaw().join("credentials")).unwrap();
    let cred = s.openclaw().join("credentials/telegram.json");
    std::fs::write(&cred, "{}").unwrap();
    std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(s.config(), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(s.openclaw(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = check(&s, 0, &["--json", "--dry-run"]);
    r.code(1);
    let doc = r.json();
    let f = doc["findings"].as_array().unwrap();
    let ids: Vec<&str> = f.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "fs.state_dir.perms_readable",
            "fs.config.perms_world_readable",
            "fs.credentials.perms_readable",
            "logging.redact_off"
        ]
    );
    assert_eq!(f[0]["fix"], format!("chmod 700 {}", s.openclaw().display()));
    // A dry run records and sends nothing.
    assert!(alerts(&s).is_empty());
}

/// A stand-in `openclaw` CLI: a newer version than the cached schema, a schema, and the
/// security audit JSON 2026.9.6 prints; it logs each call.
fn fake_cli(s: &Sandbox) -> PathBuf {
    let audit = s.write(
        "audit.json",
        r#"{"ts": 1, "summary": {"critical": 1, "warn": 1, "info": 1}, "findings": [
 {"checkId": "summary.attack_surface", "severity": "info", "title": "Attack surface summary", "detail": "x"},
 {"checkId": "gateway.auth_no_rate_limit", "severity": "warn", "title": "No auth rate limiting configured", "detail": "gateway.bind is not loopback", "remediation": "Set gateway.auth.rateLimit."}
], "secretDiagnostics": []}"#,
    );
    let calls = s.root().join("cli-calls");
    let bin = s.write(
        "bin/openclaw",
        &format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$1\" in\n  --version) echo 'OpenClaw 2026.9.7 (abc1234)';;\n  security) cat '{}';;\n  config) echo '{{\"type\":\"object\"}}';;\n  *) exit 2;;\nesac\n",
            calls.display(),
            audit.display()
        ),
    );
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn cli_calls(s: &Sandbox) -> Vec<String> {
    std::fs::read_to_string(s.root().join("cli-calls"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn openclaw_audit_is_merged_and_throttled_and_schema_drift_is_refreshed() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "up");
    let s = setup(&gw, "");
    let bin = fake_cli(&s);
    let t = std::fs::read_to_string(s.settings())
        .unwrap()
        .replace("/nonexistent/openclaw", bin.to_str().unwrap());
    s.write_settings(&t);
    let r = check(&s, 0, &["--json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["openclaw_audit"]["status"], "ran");
    let f = &doc["findings"][0];
    assert_eq!(f["id"], "gateway.auth_no_rate_limit");
    assert_eq!(f["source"], "openclaw");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["fix"], "Set gateway.auth.rateLimit.");
    // No schema was cached: drift, refreshed from the CLI.
    assert_eq!(doc["version"]["installed"], "2026.9.7");
    assert_eq!(doc["version"]["source"], "cli");
    assert_eq!(doc["version"]["drift"], true);
    assert_eq!(doc["version"]["refreshed"], true);
    let cur: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.state().join("schemas/current.json")).unwrap())
            .unwrap();
    assert_eq!(cur["version"], "2026.9.7");
    let audits = |s: &Sandbox| {
        cli_calls(s)
            .iter()
            .filter(|c| c.starts_with("security"))
            .count()
    };
    assert_eq!(audits(&s), 1);
    // A minute later: the audit's findings are reused, not run again; no drift any more.
    let r = check(&s, 1, &["--json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["openclaw_audit"]["status"], "cached");
    assert_eq!(doc["findings"][0]["id"], "gateway.auth_no_rate_limit");
    assert_eq!(doc["version"]["drift"], false);
    assert_eq!(audits(&s), 1);
    // After the interval it runs again.
    check(&s, 61, &[]).code(1);
    assert_eq!(audits(&s), 2);
    // A finding the operator accepts: gone from the report, the alerts and the exit code.
    let t = std::fs::read_to_string(s.settings()).unwrap();
    s.write_settings(&t.replace(
        "[gateway]\n",
        "[gateway]\nignore_findings = [\"gateway.auth_no_rate_limit\"]\n",
    ));
    let r = check(&s, 62, &["--json"]);
    r.code(0);
    assert_eq!(r.json()["findings"], serde_json::json!([]));
    // Sent at minute 0, again at 61 (the hour's cooldown passed), then its recovery.
    let a = alerts(&s);
    assert_eq!(
        keys(&a),
        [
            "alert:finding:gateway.auth_no_rate_limit",
            "alert:finding:gateway.auth_no_rate_limit",
            "recovery:finding:gateway.auth_no_rate_limit"
        ]
    );
}

#[test]
fn the_real_openclaw_security_audit_is_understood() {
    let Some(bin) = std::env::var_os("CLAW_TEST_OPENCLAW")
        .map(PathBuf::from)
        .or_else(|| {
            let p = PathBuf::from("/root/.cache/claw-openclaw/bin/openclaw");
            p.is_file().then_some(p)
        })
    else {
        crate::common::skip("no real openclaw (CLAW_TEST_OPENCLAW)");
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "up");
    let s = setup(&gw, "refresh_schema = false");
    let t = std::fs::read_to_string(s.settings())
        .unwrap()
        .replace("/nonexistent/openclaw", bin.to_str().unwrap());
    s.write_settings(&t);
    config(
        &s,
        &format!(
            r#"{{"gateway":{{"mode":"local","port":{},"bind":"lan","auth":{{"mode":"none"}}}}}}"#,
            gw.port
        ),
    );
    let r = check(&s, 0, &["--json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["openclaw_audit"]["status"], "ran", "{doc}");
    let ids: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    // claw's own finding once (OpenClaw's twin merged away), OpenClaw's others added.
    assert_eq!(
        ids.iter().filter(|i| **i == "gateway.bind_no_auth").count(),
        1,
        "{ids:?}"
    );
    assert!(ids.contains(&"gateway.http.no_auth"), "{ids:?}");
    assert!(doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["source"] == "openclaw" && !f["fix"].as_str().unwrap().is_empty()));
    assert_eq!(doc["version"]["installed"], "2026.9.6");
}

#[test]
fn old_config_keys_still_restart_with_a_deprecation_warning() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "down");
    let s = setup(&gw, "");
    let t = std::fs::read_to_string(s.settings()).unwrap();
    // Move restart_command back to [config], as older settings files have it.
    let restart = working_restart(&s, &gw);
    let t: String = t
        .lines()
        .filter(|l| !l.starts_with("restart_command"))
        .map(|l| format!("{l}\n"))
        .collect();
    s.write_settings(&format!("[config]\nrestart_command = {restart}\n{t}"));
    let r = check(&s, 0, &[]);
    r.code(1);
    assert!(
        r.stderr
            .contains("[config] restart_command is deprecated, move it to [gateway]"),
        "{}",
        r.stderr
    );
    assert_eq!(restarts(&s), 1);
    assert_eq!(keys(&alerts(&s)), ["alert:restarted"]);
}

#[test]
fn config_heal_restart_uses_the_gateway_table_and_counts_against_the_budget() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "down");
    let s = setup(&gw, "");
    with_restart(&s, &working_restart(&s, &gw));
    s.run(&["--now", &at(0), "config", "backup"]).code(0);
    // Truncated: heal restores and restarts through [gateway].
    std::fs::write(s.config(), "{\"gateway\":").unwrap();
    let r = s.run(&["--now", &at(1), "config", "heal", "--restart"]);
    r.code(1);
    assert!(r.stdout.contains("answers after"), "{}", r.stdout);
    assert_eq!(restarts(&s), 1);
    let r = check(&s, 2, &["--json"]);
    assert_eq!(r.json()["restarts_last_hour"], 1);
}

/// The restart lock: `config heal --restart` and `gateway check` run at once (own job locks),
/// but their restart commands never overlap. The restart command logs its start, waits until
/// the test releases it (so no timing decides the order), and logs its end; the gateway
/// stays down throughout.
#[test]
fn heal_and_check_never_restart_at_the_same_time() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "down");
    let s = setup(&gw, "");
    let ev = s.root().join("restart-events");
    let rel = s.root().join("release");
    with_restart(
        &s,
        &format!(
            r#"["sh", "-c", "echo start >> '{e}'; i=0; while [ ! -e '{r}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; rm -f '{r}'; echo end >> '{e}'"]"#,
            e = ev.display(),
            r = rel.display()
        ),
    );
    s.run(&["--now", &at(0), "config", "backup"]).code(0);
    let events = || std::fs::read_to_string(&ev).unwrap_or_default();
    let wait_for = |what: &str, n: usize| {
        let t = std::time::Instant::now();
        while events().matches(what).count() < n {
            assert!(t.elapsed() < Duration::from_secs(120), "{}", events());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let release = |ends: usize| {
        std::fs::write(&rel, "").unwrap();
        wait_for("end", ends);
    };
    let spawn = |args: &[&str]| {
        s.cmd(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let finish = |c: std::process::Child| {
        let o = c.wait_with_output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };

    // Heal restarting: the check that falls due meanwhile does not restart too.
    std::fs::write(s.config(), "{\"gateway\":").unwrap();
    let heal = spawn(&["--now", &at(1), "config", "heal", "--restart"]);
    wait_for("start", 1);
    let r = check(&s, 1, &["--json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["action"]["kind"], "busy", "{}", r.stdout);
    assert!(
        doc["action"]["detail"]["holder"]
            .as_str()
            .unwrap()
            .contains("gateway-restart.lock"),
        "{}",
        r.stdout
    );
    release(1);
    let (code, out) = finish(heal);
    assert_eq!(code, 1, "{out}");
    assert_eq!(events(), "start\nend\n");

    // Check restarting: a heal meanwhile waits for it, then restarts on the healed config.
    std::fs::write(s.config(), "{\"gateway\":").unwrap();
    let chk = spawn(&["--now", &at(2), "gateway", "check"]);
    wait_for("start", 2);
    let heal = spawn(&["--now", &at(2), "config", "heal", "--restart"]);
    // Whatever the heal is doing meanwhile, it does not start a restart of its own.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(events(), "start\nend\nstart\n");
    release(2);
    assert_eq!(finish(chk).0, 1);
    wait_for("start", 3);
    release(3);
    let (code, out) = finish(heal);
    assert_eq!(code, 1, "{out}");
    assert_eq!(events(), "start\nend\nstart\nend\nstart\nend\n");
    // All three count against the one hourly budget.
    let r = check(&s, 3, &["--json", "--no-restart"]);
    assert_eq!(r.json()["restarts_last_hour"], 3, "{}", r.stdout);
}

#[test]
fn metrics_have_help_type_and_base_units() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "up");
    let prom = tempfile::tempdir().unwrap();
    let s = setup(&gw, "");
    let t = std::fs::read_to_string(s.settings()).unwrap();
    s.write_settings(&format!(
        "[watch]\ntextfile_dir = \"{}\"\n{t}",
        prom.path().display()
    ));
    check(&s, 0, &[]).code(0).silent();
    let text = std::fs::read_to_string(prom.path().join("claw_gateway_check.prom")).unwrap();
    for want in [
        "# HELP claw_gateway_up ",
        "# TYPE claw_gateway_up gauge\nclaw_gateway_up{job=\"gateway-check\"} 1\n",
        "# TYPE claw_gateway_exposure_findings gauge\n",
        "claw_gateway_exposure_findings{job=\"gateway-check\",kind=\"critical\"} 0\n",
        "# TYPE claw_gateway_resident_memory_bytes gauge\n",
        "claw_gateway_fs_avail_bytes{job=\"gateway-check\",kind=\"openclaw\"} ",
        "claw_gateway_fs_avail_bytes{job=\"gateway-check\",kind=\"claw_state\"} ",
    ] {
        assert!(text.contains(want), "{want}\n---\n{text}");
    }
    // Every sample has HELP and TYPE.
    let helps = text.lines().filter(|l| l.starts_with("# HELP")).count();
    let types = text.lines().filter(|l| l.starts_with("# TYPE")).count();
    assert_eq!(helps, types, "{text}");
}

#[test]
fn disk_thresholds_make_findings() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "up");
    // Every real filesystem has less than 100.5 % free.
    let s = setup(&gw, "");
    let t = std::fs::read_to_string(s.settings())
        .unwrap()
        .replace("disk_warn_percent = 0.0", "disk_warn_percent = 100.5");
    s.write_settings(&t);
    let r = check(&s, 0, &["--json", "--dry-run"]);
    r.code(1);
    let doc = r.json();
    let f = doc["findings"].as_array().unwrap();
    assert!(
        f.iter()
            .any(|f| f["id"].as_str().unwrap().starts_with("disk.space_low:")
                && f["severity"] == "warning"),
        "{doc}"
    );
}

#[test]
fn doctor_shows_the_gateway_up_down_and_exposed() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "up");
    let s = setup(&gw, "");
    let row = |doc: &serde_json::Value, name: &str| -> (String, String) {
        let c = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no {name} in {doc:#}"))
            .clone();
        (
            c["status"].as_str().unwrap().to_string(),
            c["detail"].as_str().unwrap().to_string(),
        )
    };
    let doc = s.run(&["doctor", "--json"]).json();
    let (st, detail) = row(&doc, "gateway");
    assert_eq!(st, "ok");
    assert!(detail.starts_with("up at http://127.0.0.1:"), "{detail}");
    assert_eq!(
        row(&doc, "gateway exposure"),
        (
            "ok".into(),
            "bind loopback, auth none: loopback only, no auth".into()
        )
    );
    // No schema cached: a warning, which does not fail doctor by itself.
    let (st, detail) = row(&doc, "schema cached");
    assert_eq!(st, "warn");
    assert!(detail.contains("claw config schema refresh"), "{detail}");

    gw.set("down");
    let doc = s.run(&["doctor", "--json"]).json();
    let (st, detail) = row(&doc, "gateway");
    assert_eq!(st, "warn");
    assert!(detail.starts_with("down: "), "{detail}");

    config(
        &s,
        &format!(
            r#"{{"gateway":{{"port":{},"bind":"lan","auth":{{"mode":"none"}}}}}}"#,
            gw.port
        ),
    );
    let r = s.run(&["doctor", "--json"]);
    r.code(1);
    let (st, detail) = row(&r.json(), "gateway exposure");
    assert_eq!(st, "problem");
    assert!(detail.contains("exposed without auth"), "{detail}");
}

#[test]
fn a_fifo_config_is_a_finding_not_a_hang() {
    let d = tempfile::tempdir().unwrap();
    let gw = FakeGateway::start(d.path(), "up");
    let s = setup(&gw, "");
    std::fs::remove_file(s.config()).unwrap();
    let c = std::ffi::CString::new(s.config().to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let t = std::time::Instant::now();
    let r = s.run(&[
        "--now",
        T0,
        "gateway",
        "check",
        "--json",
        "--health-url",
        &format!("http://127.0.0.1:{}/health", gw.port),
    ]);
    r.code(1);
    assert!(t.elapsed() < Duration::from_secs(20));
    let doc = r.json();
    assert_eq!(doc["health"]["up"], true);
    assert_eq!(doc["findings"][0]["id"], "config.unreadable", "{doc}");
}
