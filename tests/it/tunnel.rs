//! `claw tunnel` through the binary, with a fake `cloudflared` (a shell script that logs a
//! quick-tunnel URL in cloudflared's banner box, or never does, or dies), a fake Telnyx API
//! that keeps what a PATCH set and checks the bearer key, and a fake gateway answering the
//! health checks. Every fake cloudflared carries a marker in its environment; each test ends
//! by proving no process with its marker is left, and a guard kills any on the way out.

use crate::common::{Run, Sandbox};
use crate::fakehttp::{FakeHttp, Req};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "KEYtest0123456789secret";
const CCA: &str = "/v2/call_control_applications/cca-1";
const CC: &str = "/v2/credential_connections/cc-2";

fn url(n: u32) -> String {
    format!("https://run-{n}-quiet-words.trycloudflare.com")
}

fn hook(n: u32) -> String {
    format!("{}/voice/webhook", url(n))
}

/// What the fake Telnyx does and holds.
#[derive(Default)]
struct Telnyx {
    /// Answer every PATCH with this status instead of applying it.
    patch_status: Option<u16>,
    /// object path -> webhook_event_url
    objects: BTreeMap<String, String>,
}

/// What the fake gateway answers.
#[derive(Default)]
struct Gateway {
    /// Public health requests for these URLs (the `u` query) get 503.
    bad_urls: Vec<String>,
    /// The local /health answers 503.
    origin_down: bool,
}

struct World {
    s: Sandbox,
    marker: String,
    telnyx: FakeHttp,
    tx: Arc<Mutex<Telnyx>>,
    _gateway: FakeHttp,
    gw: Arc<Mutex<Gateway>>,
    fake: PathBuf,
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

impl World {
    fn new(extra: &str) -> World {
        let s = Sandbox::new();
        let marker = format!(
            "claw-tunnel-test-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let tx = Arc::new(Mutex::new(Telnyx::default()));
        let tx2 = tx.clone();
        let telnyx = FakeHttp::serve(move |r: &Req| {
            let mut t = tx2.lock().unwrap();
            if r.header("authorization") != Some(&format!("Bearer {KEY}")) {
                return (
                    401,
                    r#"{"errors":[{"title":"Authentication failed"}]}"#.into(),
                );
            }
            match r.method.as_str() {
                "PATCH" => {
                    if let Some(st) = t.patch_status {
                        return (st, r#"{"errors":[{"title":"Service Unavailable"}]}"#.into());
                    }
                    let v = r.json()["webhook_event_url"].as_str().unwrap().to_string();
                    t.objects.insert(r.path.clone(), v.clone());
                    (200, json!({"data": {"webhook_event_url": v}}).to_string())
                }
                "GET" => match t.objects.get(&r.path) {
                    Some(v) => (200, json!({"data": {"webhook_event_url": v}}).to_string()),
                    None => (404, "{}".into()),
                },
                _ => (405, "{}".into()),
            }
        });
        let gw = Arc::new(Mutex::new(Gateway::default()));
        let gw2 = gw.clone();
        let gateway = FakeHttp::serve(move |r: &Req| {
            let g = gw2.lock().unwrap();
            let bad = if r.path.starts_with("/public") {
                g.origin_down || g.bad_urls.iter().any(|u| r.path.contains(u.as_str()))
            } else {
                g.origin_down
            };
            if bad {
                (503, "{}".into())
            } else {
                (200, r#"{"ok":true,"status":"live"}"#.into())
            }
        });
        let dir = s.root().join("fake");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("behaviour"), "url").unwrap();
        let fake = dir.join("cloudflared");
        // Like the real one: the URL inside the banner box on stderr, then it keeps running.
        std::fs::write(
            &fake,
            format!(
                r#"#!/bin/sh
d='{d}'
n=$(cat "$d/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$d/count"
echo "$@" > "$d/argv"
env > "$d/env"
echo "2026-05-04T10:00:00Z INF Requesting new quick Tunnel on trycloudflare.com..." >&2
case "$(cat "$d/behaviour")" in
  die) echo '2026-05-04T10:00:01Z ERR failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": EOF' >&2; exit 1 ;;
  silent) ;;
  *) echo "2026-05-04T10:00:01Z INF +--------------------------------------------------+" >&2
     echo "2026-05-04T10:00:01Z INF |  Your quick Tunnel has been created! Visit it at:  |" >&2
     echo "2026-05-04T10:00:01Z INF |  https://run-$n-quiet-words.trycloudflare.com  |" >&2
     echo "2026-05-04T10:00:01Z INF +--------------------------------------------------+" >&2 ;;
esac
sleep 3600
"#,
                d = dir.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let w = World {
            s,
            marker,
            tx,
            _gateway: gateway,
            gw,
            fake,
            telnyx,
        };
        w.settings(extra);
        w
    }

    fn settings(&self, extra: &str) {
        let gw = self._gateway.port;
        self.s.write_settings(&format!(
            r#"
[alerts]
retry_base_ms = 1
[[alerts.sinks]]
name = "file"
kind = "command"
command = ["sh", "-c", "cat >> '{alerts}'; echo >> '{alerts}'"]

[tunnel]
cloudflared_bin = "{bin}"
port = {gw}
extra_args = ["--no-autoupdate"]
health_url = "http://127.0.0.1:{gw}/public?u={{url}}"
health_grace_secs = 0
restart_attempts = 2
update_attempts = 3
backoff_ms = 1
{extra}

[tunnel.telnyx]
api_base = "http://127.0.0.1:{tp}"
api_key_env = "T_TELNYX_KEY"
call_control_application_ids = ["cca-1"]
credential_connection_ids = ["cc-2"]
"#,
            alerts = self.alerts_file().display(),
            bin = self.fake.display(),
            tp = self.telnyx.port,
        ));
    }

    fn alerts_file(&self) -> PathBuf {
        self.s.root().join("alerts.jsonl")
    }

    fn alerts(&self) -> Vec<Value> {
        std::fs::read_to_string(self.alerts_file())
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    fn run_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut env = vec![("T_TELNYX_KEY", KEY), ("CLAW_TEST_MARK", &self.marker)];
        env.extend_from_slice(extra);
        let r = self.s.run_env(args, &env);
        assert!(!r.stdout.contains(KEY) && !r.stderr.contains(KEY));
        r
    }

    fn behave(&self, b: &str) {
        std::fs::write(self.fake.parent().unwrap().join("behaviour"), b).unwrap();
    }

    /// How many times the fake cloudflared was started.
    fn starts(&self) -> u32 {
        std::fs::read_to_string(self.fake.parent().unwrap().join("count"))
            .map(|t| t.trim().parse().unwrap())
            .unwrap_or(0)
    }

    fn url_file(&self) -> String {
        std::fs::read_to_string(self.s.state().join("tunnel/url")).unwrap()
    }

    fn pid(&self) -> i32 {
        let t = std::fs::read_to_string(self.s.state().join("tunnel/cloudflared.pid")).unwrap();
        serde_json::from_str::<Value>(&t).unwrap()["pid"]
            .as_i64()
            .unwrap() as i32
    }

    /// Telnyx requests since the last call, as "METHOD path webhook_event_url".
    fn telnyx_calls(&self) -> Vec<String> {
        self.telnyx
            .take()
            .iter()
            .map(|r| {
                assert_eq!(
                    r.header("authorization"),
                    Some(format!("Bearer {KEY}").as_str()),
                    "{} {}",
                    r.method,
                    r.path
                );
                let v = if r.method == "PATCH" {
                    assert_eq!(
                        r.json().as_object().unwrap().len(),
                        1,
                        "only webhook_event_url is sent: {}",
                        r.body
                    );
                    format!(" {}", r.json()["webhook_event_url"].as_str().unwrap())
                } else {
                    String::new()
                };
                format!("{} {}{v}", r.method, r.path)
            })
            .collect()
    }

    /// Kill the fake cloudflared as if it crashed, and wait until it is gone.
    fn crash(&self) {
        let pid = self.pid();
        kill_group(pid);
        wait_until(|| !pids_with(&self.marker).contains(&pid));
    }

    /// Stop through claw and prove nothing of ours is left.
    fn stop_and_assert_clean(&self) {
        self.run(&["tunnel", "stop"]).code(0).silent();
        let left = pids_with(&self.marker);
        assert!(left.is_empty(), "processes left behind: {left:?}");
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for pid in pids_with(&self.marker) {
            kill_group(pid);
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

fn kill_group(pid: i32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(std::process::Stdio::null())
        .status();
}

/// Live (non-zombie) processes whose environment holds `marker`.
fn pids_with(marker: &str) -> Vec<i32> {
    let needle = format!("CLAW_TEST_MARK={marker}\0");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if !String::from_utf8_lossy(&env).contains(&needle) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .unwrap_or("");
        if state != "Z" && state != "X" {
            out.push(pid);
        }
    }
    out
}

/// Wait for a condition the test caused (a killed process disappearing); fails after 10 s.
fn wait_until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "condition not reached in 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn both_updated(n: u32) -> Vec<String> {
    vec![
        format!("PATCH {CCA} {}", hook(n)),
        format!("GET {CCA}"),
        format!("PATCH {CC} {}", hook(n)),
        format!("GET {CC}"),
    ]
}

#[test]
fn start_points_both_telnyx_objects_at_the_url_and_stop_leaves_nothing() {
    let w = World::new("");
    let r = w.run(&["tunnel", "start"]);
    r.code(0);
    assert_eq!(r.stdout, format!("{}\n", url(1)));
    assert_eq!(w.url_file(), format!("{}\n", url(1)));
    let argv = std::fs::read_to_string(w.fake.parent().unwrap().join("argv")).unwrap();
    assert_eq!(
        argv.trim(),
        format!(
            "tunnel --no-autoupdate --url http://localhost:{}",
            w._gateway.port
        )
    );
    // The Telnyx key is not handed to cloudflared.
    let env = std::fs::read_to_string(w.fake.parent().unwrap().join("env")).unwrap();
    assert!(!env.contains(KEY));
    assert_eq!(w.telnyx_calls(), both_updated(1));
    assert_eq!(w.tx.lock().unwrap().objects[CCA], hook(1));

    // All well: the cron job is silent and changes nothing; start again is a no-op.
    w.run(&["tunnel", "check"]).code(0).silent();
    let r = w.run(&["tunnel", "start"]);
    r.code(0);
    assert_eq!(r.stdout, format!("{}\n", url(1)));
    assert_eq!(w.starts(), 1);
    assert!(w.telnyx_calls().is_empty());

    let st = w.run(&["tunnel", "status", "--json"]).json();
    assert_eq!(st["schema_version"], 1);
    assert_eq!(st["url"], url(1));
    assert_eq!(st["running"], true);
    assert_eq!(st["managed"], true);
    assert_eq!(st["health"]["status"], "ok");
    assert_eq!(st["restarts"], 0);
    let targets = st["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert!(targets.iter().all(|t| t["ok"] == true));
    assert_eq!(
        targets[0]["target"],
        "telnyx:call_control_application:cca-1"
    );
    assert_eq!(targets[0]["webhook_url"], hook(1));
    let human = w.run(&["tunnel", "status"]);
    human.code(0);
    assert!(human.stdout.contains(&url(1)), "{}", human.stdout);
    assert!(human.stdout.contains("running (pid"), "{}", human.stdout);
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.starts_with("telnyx:credential_connection:cc-2") && l.ends_with("ok")),
        "{}",
        human.stdout
    );

    w.stop_and_assert_clean();
    // Stopped: the cron job leaves it alone.
    w.run(&["tunnel", "check"]).code(0).silent();
    assert_eq!(w.starts(), 1);
    let st = w.run(&["tunnel", "status", "--json"]).json();
    assert_eq!(st["running"], false);
    assert_eq!(st["managed"], false);
    assert!(w.alerts().is_empty(), "{:?}", w.alerts());
}

#[test]
fn check_before_any_start_does_nothing() {
    let w = World::new("");
    w.run(&["tunnel", "check"]).code(0).silent();
    assert_eq!(w.starts(), 0);
    assert!(w.telnyx_calls().is_empty());
    assert!(pids_with(&w.marker).is_empty());
}

#[test]
fn a_dead_tunnel_is_rotated_and_each_telnyx_object_updated_once() {
    let w = World::new("");
    w.run(&["tunnel", "start"]).code(0);
    assert_eq!(w.telnyx_calls().len(), 4);
    w.crash();

    let r = w.run(&["tunnel", "check"]);
    r.code(1);
    assert!(
        r.stdout.contains("tunnel restarted") && r.stdout.contains(&url(2)),
        "{}",
        r.stdout
    );
    assert_eq!(w.telnyx_calls(), both_updated(2));
    assert_eq!(w.url_file(), format!("{}\n", url(2)));

    // Next minute: all well, nothing sent again.
    w.run(&["tunnel", "check"]).code(0).silent();
    assert!(w.telnyx_calls().is_empty());
    let st = w.run(&["tunnel", "status", "--json"]).json();
    assert_eq!(st["restarts"], 1);
    let hist: Vec<&str> = st["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["url"].as_str().unwrap())
        .collect();
    assert!(hist.contains(&url(1).as_str()) && hist.contains(&url(2).as_str()));

    // rotate: a new URL on demand, printed, and pushed to Telnyx.
    let r = w.run(&["tunnel", "rotate"]);
    r.code(0);
    assert_eq!(r.stdout, format!("{}\n", url(3)));
    assert_eq!(w.telnyx_calls(), both_updated(3));
    assert_eq!(
        pids_with(&w.marker).len(),
        2,
        "one sh and its sleep, not more"
    );
    w.stop_and_assert_clean();
}

#[test]
fn an_unanswering_url_is_rotated_but_a_down_gateway_is_not() {
    let w = World::new("");
    w.run(&["tunnel", "start"]).code(0);
    w.telnyx_calls();
    w.gw.lock().unwrap().bad_urls.push(url(1));
    let r = w.run(&["tunnel", "check"]);
    r.code(1);
    assert!(r.stdout.contains("does not answer"), "{}", r.stdout);
    assert_eq!(w.starts(), 2);
    assert_eq!(w.telnyx_calls(), both_updated(2));

    // The gateway itself is down: a new URL would not help, so none is made.
    w.gw.lock().unwrap().origin_down = true;
    let r = w.run(&["tunnel", "check"]);
    r.code(1);
    assert!(
        r.stdout.contains("local gateway does not answer"),
        "{}",
        r.stdout
    );
    assert_eq!(w.starts(), 2);
    assert!(w.telnyx_calls().is_empty());
    let st = w.run(&["tunnel", "status", "--json"]).json();
    assert_eq!(st["health"]["status"], "origin-down");
    let alerts = w.alerts();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    // The rotation said the URL changed, once.
    assert_eq!(alerts[0]["key"], "url-changed");
    assert_eq!(alerts[0]["severity"], "info");
    let changed = format!("tunnel URL changed: {} -> {}", url(1), url(2));
    assert!(alerts[0]["text"].as_str().unwrap().starts_with(&changed));
    assert!(alerts[1]["text"]
        .as_str()
        .unwrap()
        .contains("local gateway does not answer"));

    w.gw.lock().unwrap().origin_down = false;
    w.run(&["tunnel", "check"]).code(0).silent();
    let alerts = w.alerts();
    assert_eq!(alerts.len(), 3, "a recovery message: {alerts:?}");
    w.stop_and_assert_clean();
}

#[test]
fn telnyx_503_is_retried_then_alerted_and_retried_next_run_until_it_works() {
    let w = World::new("");
    w.run(&["tunnel", "start"]).code(0);
    w.telnyx_calls();
    w.tx.lock().unwrap().patch_status = Some(503);
    w.crash();

    let r = w.run(&["tunnel", "check"]);
    r.code(1);
    // Three attempts per object, no read-back of a failed update.
    let calls = w.telnyx_calls();
    let patch_cca = format!("PATCH {CCA} {}", hook(2));
    let patch_cc = format!("PATCH {CC} {}", hook(2));
    assert_eq!(
        calls,
        [
            patch_cca.clone(),
            patch_cca.clone(),
            patch_cca,
            patch_cc.clone(),
            patch_cc.clone(),
            patch_cc
        ]
    );
    let alerts = w.alerts();
    // Two failed targets, then the URL change.
    assert_eq!(alerts.len(), 3, "{alerts:?}");
    assert_eq!(alerts[2]["key"], "url-changed");
    let text = alerts[0]["text"].as_str().unwrap();
    assert!(text.contains("manual update may be needed"), "{text}");
    assert!(text.contains(&hook(1)) && text.contains(&hook(2)), "{text}");
    assert!(text.contains("HTTP 503"), "{text}");
    assert!(!text.contains(KEY));
    let st = w.run(&["tunnel", "status", "--json"]).json();
    assert_eq!(st["targets"][0]["ok"], false);
    assert_eq!(st["targets"][0]["attempts"], 3);
    assert_eq!(st["targets"][0]["http_status"], 503);
    assert_eq!(w.tx.lock().unwrap().objects[CCA], hook(1));

    // Telnyx is back: the next run retries and succeeds, and says so once.
    w.tx.lock().unwrap().patch_status = None;
    w.run(&["tunnel", "check"]).code(0).silent();
    assert_eq!(w.telnyx_calls(), both_updated(2));
    assert_eq!(w.tx.lock().unwrap().objects[CC], hook(2));
    // Updates that work after a failure: one recovery message per target.
    let alerts = w.alerts();
    assert_eq!(alerts.len(), 5, "{alerts:?}");
    assert_eq!(alerts[3]["kind"], "recovery");
    assert_eq!(alerts[4]["kind"], "recovery");
    assert!(
        alerts[3]["text"].as_str().unwrap().contains(&hook(2)),
        "{alerts:?}"
    );
    w.run(&["tunnel", "check"]).code(0).silent();
    assert!(w.telnyx_calls().is_empty());
    assert_eq!(w.alerts().len(), 5);
    w.stop_and_assert_clean();
}

#[test]
fn a_wrong_read_back_is_a_failed_update() {
    // A Telnyx that accepts the PATCH but keeps the old value.
    let w = World::new("");
    w.run(&["tunnel", "start"]).code(0);
    w.telnyx_calls();
    w.tx.lock().unwrap().patch_status = Some(200);
    w.crash();
    let r = w.run(&["tunnel", "check"]);
    r.code(1);
    assert!(
        r.stdout
            .contains(&format!("/data/webhook_event_url is \"{}\"", hook(1))),
        "{}",
        r.stdout
    );
    w.stop_and_assert_clean();
}

#[test]
fn no_url_or_a_dying_cloudflared_is_retried_then_alerted_and_nothing_is_left() {
    let w = World::new("url_timeout_secs = 1");
    w.behave("silent");
    let r = w.run(&["tunnel", "start"]);
    r.code(1);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains("printed no URL within 1 s"),
        "{}",
        r.stderr
    );
    assert_eq!(w.starts(), 2);
    assert!(pids_with(&w.marker).is_empty());
    assert!(w.telnyx_calls().is_empty());

    w.behave("die");
    let r = w.run(&["tunnel", "check"]);
    r.code(1);
    assert!(
        r.stdout
            .contains("exited (exit status: 1) before printing a URL"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("tunnel down"), "{}", r.stdout);
    assert_eq!(w.starts(), 4);
    let st = w.run(&["tunnel", "status", "--json"]).json();
    assert_eq!(st["health"]["status"], "down");
    assert_eq!(st["url"], Value::Null);

    w.behave("url");
    w.run(&["tunnel", "check"]).code(0).silent();
    assert_eq!(w.telnyx_calls(), both_updated(5));
    let kinds: Vec<Value> = w.alerts().iter().map(|a| a["kind"].clone()).collect();
    assert_eq!(kinds.last().unwrap(), "recovery");
    w.stop_and_assert_clean();
}

#[test]
fn the_url_file_is_never_half_written_and_a_crash_is_repaired_next_run() {
    let w = World::new("");
    w.run(&["tunnel", "start"]).code(0);
    w.telnyx_calls();
    w.crash();
    // Die between writing the new URL's temp file and renaming it over the old one.
    let r = w.run_env(
        &["tunnel", "check"],
        &[("CLAW_FAULT", "atomic-before-rename:url")],
    );
    assert_ne!(r.code, 0);
    assert_eq!(w.url_file(), format!("{}\n", url(1)));
    assert_eq!(w.starts(), 2);

    // The next run adopts the cloudflared the crashed run started and finishes its work.
    w.run(&["tunnel", "check"]).code(0).silent();
    assert_eq!(w.starts(), 2);
    assert_eq!(w.url_file(), format!("{}\n", url(2)));
    assert_eq!(w.telnyx_calls(), both_updated(2));
    let names: Vec<String> = std::fs::read_dir(w.s.state().join("tunnel"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".url.claw-tmp"))
        .collect();
    assert!(names.len() <= 1, "{names:?}");
    w.stop_and_assert_clean();
}

#[test]
fn named_mode_only_checks_health_and_never_runs_cloudflared() {
    let w = World::new("mode = \"named\"\nhostname = \"voice.example.com\"");
    w.run(&["tunnel", "check"]).code(0).silent();
    let named = "https://voice.example.com/voice/webhook";
    assert_eq!(
        w.telnyx_calls(),
        [
            format!("PATCH {CCA} {named}"),
            format!("GET {CCA}"),
            format!("PATCH {CC} {named}"),
            format!("GET {CC}"),
        ]
    );
    assert_eq!(w.url_file(), "https://voice.example.com\n");
    w.run(&["tunnel", "check"]).code(0).silent();
    assert!(w.telnyx_calls().is_empty());

    w.gw.lock()
        .unwrap()
        .bad_urls
        .push("voice.example.com".into());
    let r = w.run(&["tunnel", "check"]);
    r.code(1);
    assert!(r
        .stdout
        .contains("named tunnel https://voice.example.com does not answer"));
    assert_eq!(w.starts(), 0);
    w.run(&["tunnel", "rotate"]).code(2);
    w.run(&["tunnel", "start"]).code(2);
    assert_eq!(w.starts(), 0);
    assert!(pids_with(&w.marker).is_empty());
}

#[test]
fn bad_mode_is_a_settings_error() {
    let w = World::new("mode = \"fast\"");
    let r = w.run(&["tunnel", "check"]);
    r.code(78);
    assert!(r.stderr.contains("mode = \"fast\""), "{}", r.stderr);
}

#[test]
fn a_generic_target_gets_its_template_its_token_and_is_read_back() {
    const TOKEN: &str = "chat-secret-token-999";
    let store = Arc::new(Mutex::new(Value::Null));
    let store2 = store.clone();
    let api = FakeHttp::serve(move |r: &Req| {
        if r.header("authorization") != Some(&format!("Token {TOKEN}")) {
            return (401, "{}".into());
        }
        let mut v = store2.lock().unwrap();
        match r.method.as_str() {
            "PUT" => {
                *v = r.json();
                (200, "{}".into())
            }
            _ => (200, json!({ "bot": v.clone() }).to_string()),
        }
    });
    let w = World::new(&format!(
        r#"
[[tunnel.targets]]
name = "chat"
method = "put"
url = "{u}"
token_env = "T_CHAT_TOKEN"
headers = {{ Authorization = "Token {{token}}", X-Client = "claw" }}
body = '{{"webhook_url": "{{url}}/chat/webhook", "enabled": true}}'
verify_url = "{u}"
verify_pointer = "/bot/webhook_url"
verify_value = "{{url}}/chat/webhook"
"#,
        u = api.url("/v1/bots/42")
    ));
    let good = [("T_CHAT_TOKEN", TOKEN)];
    w.run_env(&["tunnel", "start"], &good).code(0);
    let reqs = api.take();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "PUT");
    assert_eq!(reqs[0].header("x-client"), Some("claw"));
    assert_eq!(
        reqs[0].json(),
        json!({"webhook_url": format!("{}/chat/webhook", url(1)), "enabled": true})
    );
    assert_eq!(reqs[1].method, "GET");
    // cloudflared gets no target's secret.
    let env = std::fs::read_to_string(w.fake.parent().unwrap().join("env")).unwrap();
    assert!(!env.contains(TOKEN) && !env.contains(KEY));

    // A 401 is not retried within the run; it is alerted without the token, and retried
    // on the next run.
    let r = w.run_env(
        &["tunnel", "rotate"],
        &[("T_CHAT_TOKEN", "wrong-token-0000")],
    );
    r.code(1);
    assert_eq!(r.stdout, format!("{}\n", url(2)));
    assert_eq!(api.take().len(), 1);
    let alerts = w.alerts();
    // The failed target, then the URL change.
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_eq!(alerts[1]["key"], "url-changed");
    let text = alerts[0]["text"].as_str().unwrap();
    assert!(text.contains("HTTP 401") && text.contains("chat"), "{text}");
    assert!(!text.contains("wrong-token-0000"), "{text}");
    w.run_env(&["tunnel", "check"], &good).code(0).silent();
    assert_eq!(api.take().len(), 2);
    assert_eq!(
        store.lock().unwrap()["webhook_url"],
        format!("{}/chat/webhook", url(2))
    );
    w.stop_and_assert_clean();
}

#[test]
fn changed_cloudflared_settings_restart_the_tunnel() {
    let w = World::new("");
    w.run(&["tunnel", "start"]).code(0);
    let text = std::fs::read_to_string(w.s.settings()).unwrap().replace(
        "[\"--no-autoupdate\"]",
        "[\"--no-autoupdate\", \"--protocol\", \"http2\"]",
    );
    w.s.write_settings(&text);
    let r = w.run(&["tunnel", "check"]);
    r.code(1);
    assert!(r.stdout.contains("settings changed"), "{}", r.stdout);
    let argv = std::fs::read_to_string(w.fake.parent().unwrap().join("argv")).unwrap();
    assert!(argv.contains("--protocol http2"), "{argv}");
    w.run(&["tunnel", "check"]).code(0).silent();
    assert_eq!(w.starts(), 2);
    w.stop_and_assert_clean();
}
