//! `claw stuck-agent scan` through the binary, on generated homes of both storage eras with a
//! known ground truth, with a fake `openclaw` on PATH that records every command it is asked
//! to run, and on the real sample home.

use crate::common::Sandbox;
use crate::fakehttp::FakeHttp;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NOW: &str = "2026-08-10T12:00:00Z";

fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&chrono::Utc)
}
fn ago(mins: i64) -> chrono::DateTime<chrono::Utc> {
    t0() - chrono::Duration::minutes(mins)
}
fn iso(mins: i64) -> String {
    ago(mins).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
fn ms(mins: i64) -> i64 {
    ago(mins).timestamp_millis()
}
fn later(mins: i64) -> String {
    (t0() + chrono::Duration::minutes(mins)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Transcript lines in the pi-coding-agent v3 shape.
struct Lines {
    sid: String,
    n: usize,
    out: Vec<String>,
    /// Minutes before NOW of the newest entry.
    last: i64,
}

impl Lines {
    fn new(sid: &str, start_mins: i64) -> Lines {
        let mut l = Lines {
            sid: sid.into(),
            n: 0,
            out: vec![],
            last: start_mins,
        };
        l.out.push(
            json!({"type":"session","version":3,"id":sid,"timestamp":iso(start_mins),"cwd":"/work"})
                .to_string(),
        );
        l
    }
    fn id(&mut self) -> (String, Option<String>) {
        self.n += 1;
        let parent = (self.n > 1).then(|| format!("{:08x}", self.n - 1));
        (format!("{:08x}", self.n), parent)
    }
    fn user(mut self, mins: i64, text: &str) -> Lines {
        self.last = mins;
        let (id, parent) = self.id();
        self.out.push(
            json!({"type":"message","id":id,"parentId":parent,"timestamp":iso(mins),
            "message":{"role":"user","content":[{"type":"text","text":text}],"timestamp":ms(mins)}})
            .to_string(),
        );
        self
    }
    fn assistant(mut self, mins: i64, text: &str, stop: &str) -> Lines {
        self.last = mins;
        let (id, parent) = self.id();
        let mut m = json!({"role":"assistant","content":[{"type":"text","text":text}],
            "api":"anthropic-messages","provider":"anthropic","model":"claude-sonnet-4",
            "usage":{"input":100,"output":20,"cacheRead":0,"cacheWrite":0,"totalTokens":120,
                     "cost":{"input":0.0003,"output":0.0003,"cacheRead":0,"cacheWrite":0,"total":0.0006}},
            "stopReason":stop,"timestamp":ms(mins)});
        if stop == "error" {
            m["errorMessage"] = json!(
                r#"429 {"type":"error","error":{"type":"rate_limit_error","message":"rate limited"}}"#
            );
            m["content"] = json!([]);
        }
        self.out.push(
            json!({"type":"message","id":id,"parentId":parent,"timestamp":iso(mins),"message":m})
                .to_string(),
        );
        self
    }
    /// Earlier history: tool turns, including a large tool result, so that only a tail read
    /// stays cheap.
    fn history(mut self, from_mins: i64) -> Lines {
        for i in 0..40 {
            self = self.assistant(from_mins, &format!("step {i}: reading files"), "toolUse");
            let (id, parent) = self.id();
            self.out.push(json!({"type":"message","id":id,"parentId":parent,"timestamp":iso(from_mins),
                "message":{"role":"toolResult","toolCallId":format!("c{i}"),"content":[{"type":"text","text":"x".repeat(if i == 7 {200_000} else {300})}]}}).to_string());
        }
        self
    }
    fn text(&self) -> String {
        let mut s = self.out.join("\n");
        s.push('\n');
        s
    }
    fn sid(&self) -> &str {
        &self.sid
    }
    /// Write as `<dir>/<sid>.jsonl` with the mtime a writer would have left.
    fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join(format!("{}.jsonl", self.sid));
        std::fs::write(&p, self.text()).unwrap();
        set_mtime(&p, self.last);
    }
}

fn set_mtime(p: &Path, mins: i64) {
    let f = std::fs::File::options().append(true).open(p).unwrap();
    f.set_modified(std::time::SystemTime::from(ago(mins)))
        .unwrap();
}

fn sid(tag: &str) -> String {
    // A uuid-shaped id that names its case.
    let hex: String = tag
        .bytes()
        .map(|b| format!("{:02x}", b))
        .collect::<String>();
    let hex = format!("{hex:0<32}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn key(agent: &str, tag: &str) -> String {
    format!("agent:{agent}:subagent:{}", sid(tag))
}

fn run(id: &str, child: &str, label: &str, started_mins: i64, extra: Value) -> (String, Value) {
    let mut r = json!({"runId":id,"childSessionKey":child,"requesterSessionKey":"agent:main:main",
        "task":format!("task of {id}"),"label":label,"model":"anthropic/claude-sonnet-4",
        "cleanup":"keep","createdAt":ms(started_mins),"startedAt":ms(started_mins)});
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    (id.to_string(), r)
}

fn write_runs(s: &Sandbox, runs: &[(String, Value)]) {
    let m: serde_json::Map<String, Value> = runs.iter().cloned().collect();
    let p = s.openclaw().join("subagents/runs.json");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(
        p,
        serde_json::to_string_pretty(&json!({"version":2,"runs":m})).unwrap(),
    )
    .unwrap();
}

fn store_entry(sid: &str, label: &str, status: &str, started_mins: i64) -> Value {
    json!({"sessionId":sid,"updatedAt":ms(started_mins),"label":label,"status":status,
        "spawnedBy":"agent:main:main","spawnDepth":1,"startedAt":ms(started_mins),
        "model":"claude-sonnet-4","modelProvider":"anthropic",
        "skillsSnapshot":{"prompt":"s".repeat(5000),"skills":[{"name":"a"},{"name":"b"}]}})
}

/// Adds one run: agent, tag, label, its transcript (if any), started minutes ago, extra run
/// fields, and the class it must get.
type Add<'a> = dyn FnMut(&str, &str, &str, Option<Lines>, i64, Value, &'static str) + 'a;

/// The JSONL home's runs, one per class (and the ops agent's own thresholds).
fn jsonl_runs(add: &mut Add) {
    let l = |tag: &str| Lines::new(&sid(tag), 40).history(40);
    add(
        "main",
        "prog",
        "builder",
        Some(
            l("prog")
                .user(2, "go on")
                .assistant(1, "Editing src/lib.rs now.", "toolUse"),
        ),
        40,
        json!({}),
        "progressing",
    );
    add(
        "main",
        "done",
        "builder",
        Some(l("done").assistant(120, "All done.", "stop")),
        180,
        json!({"endedAt": ms(110), "outcome": {"status": "ok"}, "endedReason": "subagent-complete"}),
        "finished",
    );
    add(
        "main",
        "idle",
        "crawler",
        Some(l("idle").assistant(15, "Fetching page 12 of 40.", "toolUse")),
        40,
        json!({}),
        "idle",
    );
    add(
        "main",
        "ask",
        "planner",
        Some(l("ask").assistant(
            3,
            "I found two configs, prod.toml and dev.toml. Which one should I use?",
            "stop",
        )),
        40,
        json!({}),
        "waiting_input",
    );
    add(
        "main",
        "perm",
        "cleaner",
        Some(l("perm").assistant(
            3,
            "The old build directory takes 40 GB. I need your permission before deleting it.",
            "stop",
        )),
        40,
        json!({}),
        "waiting_permission",
    );
    add(
        "main",
        "err",
        "writer",
        Some(
            l("err")
                .user(6, "continue")
                .assistant(5, "", "error")
                .assistant(4, "", "error")
                .assistant(2, "", "error"),
        ),
        40,
        json!({}),
        "error_loop",
    );
    add(
        "main",
        "slow",
        "builder",
        Some(l("slow").assistant(1, "Still compiling.", "toolUse")),
        30,
        json!({"runTimeoutSeconds": 600}),
        "past_timeout",
    );
    add("main", "gone", "ghost", None, 30, json!({}), "orphaned");
    add(
        "main",
        "lock",
        "locked",
        Some(l("lock").assistant(1, "Working.", "toolUse")),
        40,
        json!({}),
        "orphaned",
    );
    // ops: a longer idle threshold for the crawler label, and the config's 5-minute timeout
    // for runs that carry none (0 means none).
    add(
        "ops",
        "opsidle",
        "crawler",
        Some(l("opsidle").assistant(15, "Fetching.", "toolUse")),
        40,
        json!({"runTimeoutSeconds": 0}),
        "progressing",
    );
    add(
        "ops",
        "opscfg",
        "builder",
        Some(l("opscfg").assistant(1, "Working.", "toolUse")),
        20,
        json!({}),
        "past_timeout",
    );
}

/// The JSONL-era home (agents.list config) and its ground truth: run key -> class.
fn jsonl_home(s: &Sandbox) -> BTreeMap<String, &'static str> {
    s.write_config(
        r#"{
  // JSON5, legacy agents.list: ops's subagents time out after 5 minutes.
  agents: { defaults: { subagents: { maxConcurrent: 8 } },
            list: [ { id: "main" }, { id: "ops", subagents: { runTimeoutSeconds: 300 } } ] },
}"#,
    );
    let mut store: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    let mut runs = vec![];
    let mut truth = BTreeMap::new();
    let mut add = |agent: &str,
                   tag: &str,
                   label: &str,
                   lines: Option<Lines>,
                   started: i64,
                   extra: Value,
                   class: &'static str| {
        let k = key(agent, tag);
        if let Some(l) = &lines {
            l.write(&s.openclaw().join(format!("agents/{agent}/sessions")));
            store
                .entry(agent.into())
                .or_default()
                .insert(k.clone(), store_entry(l.sid(), label, "running", started));
        }
        runs.push(run(&format!("run-{tag}"), &k, label, started, extra));
        truth.insert(format!("run-{tag}"), class);
    };
    jsonl_runs(&mut add);
    // The dead writer's lock.
    std::fs::write(
        s.openclaw()
            .join(format!("agents/main/sessions/{}.jsonl.lock", sid("lock"))),
        r#"{"pid":99999999,"createdAt":"2026-08-10T11:20:00.000Z"}"#,
    )
    .unwrap();
    // The main session asks a question; a run record points at it (protected by default).
    let main_sid = sid("main");
    let main = Lines::new(&main_sid, 60).user(4, "hi").assistant(
        3,
        "Hello! What should I work on today?",
        "stop",
    );
    main.write(&s.openclaw().join("agents/main/sessions"));
    store.get_mut("main").unwrap().insert(
        "agent:main:main".into(),
        json!({"sessionId": main_sid, "updatedAt": ms(3), "chatType": "direct"}),
    );
    runs.push(run("run-main", "agent:main:main", "chat", 60, json!({})));
    truth.insert("run-main".into(), "waiting_input");
    // A running subagent session with no run record.
    let lonely = Lines::new(&sid("lonely"), 60)
        .history(60)
        .assistant(20, "Thinking.", "toolUse");
    lonely.write(&s.openclaw().join("agents/main/sessions"));
    store.get_mut("main").unwrap().insert(
        key("main", "lonely"),
        store_entry(&sid("lonely"), "solo", "running", 60),
    );
    truth.insert(format!("session:{}", key("main", "lonely")), "idle");
    // A finished subagent session without a record is not watched.
    store.get_mut("main").unwrap().insert(
        key("main", "old"),
        store_entry(&sid("old"), "old", "done", 300),
    );

    for (agent, m) in store {
        std::fs::write(
            s.openclaw()
                .join(format!("agents/{agent}/sessions/sessions.json")),
            serde_json::to_string_pretty(&m).unwrap(),
        )
        .unwrap();
    }
    write_runs(s, &runs);
    truth
}

/// A fake `openclaw` first on PATH: appends its argv (tab-separated) to a log.
fn fake_openclaw(s: &Sandbox) -> (String, PathBuf) {
    let bin = s.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = s.root().join("openclaw.log");
    let script = bin.join("openclaw");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\t' \"$a\"; done >> '{}'\nprintf '\\n' >> '{}'\n{}\necho '{{\"ok\":true}}'\n",
            log.display(),
            log.display(),
            // The effect of a cancel, as OpenClaw records it: the run gets an end time
            // (claw judges a kill by it, not by the exit status).
            r#"if [ "$1" = tasks ] && [ "$2" = cancel ]; then python3 - "$OPENCLAW_STATE_DIR/subagents/runs.json" "$3" <<'PY'
import json, sys
p, run = sys.argv[1], sys.argv[2]
d = json.load(open(p))
for k, r in d.get("runs", {}).items():
    if k == run or r.get("runId") == run:
        r["endedAt"] = 1
json.dump(d, open(p, "w"))
PY
fi"#
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (path, log)
}

/// Commands recorded since the last call, as argv lists.
fn take(log: &Path) -> Vec<Vec<String>> {
    let t = std::fs::read_to_string(log).unwrap_or_default();
    let _ = std::fs::remove_file(log);
    t.lines()
        .map(|l| {
            l.trim_end_matches('\t')
                .split('\t')
                .map(String::from)
                .collect()
        })
        .collect()
}

fn scan(s: &Sandbox, path: &str, now: &str, extra: &[&str]) -> crate::common::Run {
    let mut args = vec!["--now", now];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["stuck-agent", "scan"]);
    s.run_env(&args, &[("PATH", path)])
}

fn classes(doc: &Value) -> BTreeMap<String, String> {
    doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["run_key"].as_str().unwrap().to_string(),
                r["class"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn by_key<'a>(doc: &'a Value, k: &str) -> &'a Value {
    doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_key"] == k)
        .unwrap_or_else(|| panic!("no run {k} in {doc:#}"))
}

fn ledger(s: &Sandbox) -> rusqlite::Connection {
    rusqlite::Connection::open(s.state().join("ledger.db")).unwrap()
}

fn count(s: &Sandbox, sql: &str) -> i64 {
    ledger(s).query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn jsonl_era_every_class_with_evidence_report_only() {
    let s = Sandbox::new();
    let truth = jsonl_home(&s);
    s.write_settings(
        "[[stuck.overrides]]\nagent = \"ops\"\nlabel = \"crawler\"\nidle_minutes = 30\n",
    );
    let (path, log) = fake_openclaw(&s);
    let r = scan(&s, &path, NOW, &["--json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["schema_version"], 1);
    let want: BTreeMap<String, String> = truth
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    assert_eq!(classes(&doc), want);
    assert_eq!(
        doc["stuck"],
        truth
            .values()
            .filter(|c| !matches!(**c, "progressing" | "finished"))
            .count()
    );
    for run in doc["runs"].as_array().unwrap() {
        if run["stuck"] == true {
            assert!(!run["evidence"].as_array().unwrap().is_empty(), "{run:#}");
            assert_eq!(
                run["action"]["reason"],
                if run["session_key"] == "agent:main:main" {
                    "main session: never acted on (stuck.include_main = false)"
                } else {
                    "report only"
                }
            );
        }
    }
    let ev = |k: &str| by_key(&doc, k)["evidence"].to_string();
    assert!(ev("run-idle").contains("15m00s"), "{}", ev("run-idle"));
    assert!(
        ev("run-ask").contains("Which one should I use?"),
        "{}",
        ev("run-ask")
    );
    assert!(
        ev("run-err").contains("rate_limit_error"),
        "{}",
        ev("run-err")
    );
    assert!(
        ev("run-slow").contains("runTimeoutSeconds 600"),
        "{}",
        ev("run-slow")
    );
    assert!(
        ev("run-opscfg").contains("runTimeoutSeconds 300"),
        "{}",
        ev("run-opscfg")
    );
    assert!(ev("run-gone").contains("gone"), "{}", ev("run-gone"));
    assert!(ev("run-lock").contains("99999999"), "{}", ev("run-lock"));
    assert_eq!(by_key(&doc, "run-lock")["lock"]["alive"], false);
    assert_eq!(by_key(&doc, "run-idle")["transcript"], "jsonl");
    // Only the tail was read, even past the 200 kB tool result.
    assert!(by_key(&doc, "run-idle")["entries_read"].as_u64().unwrap() <= 12);
    // Report only: no command ran.
    assert!(take(&log).is_empty());

    // Text mode (-v: every finding, not only the new ones): a line per stuck run, exit 1.
    let r = scan(&s, &path, NOW, &["-v"]);
    r.code(1);
    assert!(
        r.stdout.contains("run-perm") && r.stdout.contains("waiting_permission"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("run-prog"), "{}", r.stdout);

    // Every detection is in the ledger, once per (run, class).
    assert_eq!(count(&s, "SELECT count(*) FROM stuck_detections"), 10);
    assert_eq!(count(&s, "SELECT max(scans) FROM stuck_detections"), 2);
}

#[test]
fn actions_run_once_and_the_ladder_advances_across_scans() {
    let s = Sandbox::new();
    jsonl_home(&s);
    s.write_settings(
        r#"[stuck.actions]
waiting_input = "ladder"
waiting_permission = "steer"
error_loop = "kill"
orphaned = "kill"
past_timeout = "kill"
"#,
    );
    let (path, log) = fake_openclaw(&s);
    scan(&s, &path, NOW, &[]).code(1);
    let mut got = take(&log);
    got.sort();
    let send = |tag: &str, msg: &str| {
        vec![
            "gateway".to_string(),
            "call".into(),
            "sessions.steer".into(),
            "--params".into(),
            json!({"key": key("main", tag), "message": msg}).to_string(),
            "--json".into(),
        ]
    };
    let abort = |k: &str| {
        vec![
            "gateway".to_string(),
            "call".into(),
            "sessions.abort".into(),
            "--params".into(),
            json!({"key": k}).to_string(),
            "--json".into(),
        ]
    };
    let cancel = |run: &str| vec!["tasks".to_string(), "cancel".into(), run.into()];
    let mut want = vec![
        send(
            "ask",
            "Do not wait for user input. Make decisions and proceed autonomously.",
        ),
        send("perm", "You have permission to proceed."),
    ];
    for (agent, tag) in [
        ("main", "err"),
        ("main", "slow"),
        ("main", "gone"),
        ("main", "lock"),
        ("ops", "opscfg"),
    ] {
        want.push(abort(&key(agent, tag)));
        want.push(cancel(&format!("run-{tag}")));
    }
    want.sort();
    assert_eq!(got, want);
    // Never the main session.
    assert!(!got.iter().flatten().any(|a| a.contains("agent:main:main")));

    // The same scan again: nothing is repeated.
    scan(&s, &path, NOW, &[]).code(1);
    assert!(take(&log).is_empty());
    // Within the steer's reaction window: nothing.
    let r = scan(&s, &path, &later(1), &["--json"]);
    r.code(1);
    let reason = |r: &crate::common::Run| {
        by_key(&r.json(), "run-ask")["action"]["reason"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert!(reason(&r).starts_with("steered at"), "{}", reason(&r));
    assert!(take(&log).is_empty());
    // Still stuck 5 minutes after the steer: one extension (no command).
    let r = scan(&s, &path, &later(5), &["--json"]);
    assert_eq!(by_key(&r.json(), "run-ask")["action"]["step"], "extend");
    assert_eq!(by_key(&r.json(), "run-ask")["action"]["until"], later(10));
    assert!(take(&log).is_empty());
    let r = scan(&s, &path, &later(7), &["--json"]);
    assert!(reason(&r).starts_with("extended until"), "{}", reason(&r));
    assert!(take(&log).is_empty());
    // Still stuck when the extension ends: killed, once.
    scan(&s, &path, &later(10), &[]).code(1);
    assert_eq!(
        take(&log),
        vec![abort(&key("main", "ask")), cancel("run-ask")]
    );
    scan(&s, &path, &later(11), &[]).code(1);
    assert!(take(&log).is_empty());

    let l = ledger(&s);
    let steps: Vec<(String, String, String)> = l
        .prepare(
            "SELECT run_key, step, status FROM stuck_actions WHERE run_key = 'run-ask' ORDER BY at",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let steps: Vec<&str> = steps.iter().map(|x| x.1.as_str()).collect();
    assert_eq!(steps, ["steer", "extend", "kill"]);
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM stuck_actions WHERE status != 'ok'"
        ),
        0
    );
    // 2 steers, 5 kills, then run-ask's extension and kill.
    assert_eq!(count(&s, "SELECT count(*) FROM stuck_actions"), 9);
}

#[test]
fn dry_run_prints_the_exact_commands_and_does_nothing() {
    let s = Sandbox::new();
    jsonl_home(&s);
    s.write_settings("[stuck.actions]\nwaiting_input = \"ladder\"\nerror_loop = \"kill\"\n");
    let (path, log) = fake_openclaw(&s);
    let r = scan(&s, &path, NOW, &["--dry-run"]);
    r.code(1);
    let steer = format!(
        "dry run: would run: openclaw gateway call sessions.steer --params '{{\"key\":\"{}\",\"message\":\"Do not wait for user input. Make decisions and proceed autonomously.\"}}' --json",
        key("main", "ask")
    );
    assert!(r.stdout.contains(&steer), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("dry run: would run: openclaw tasks cancel run-err"),
        "{}",
        r.stdout
    );
    assert!(take(&log).is_empty());
    if s.state().join("ledger.db").exists() {
        assert_eq!(count(&s, "SELECT count(*) FROM stuck_actions"), 0);
        assert_eq!(count(&s, "SELECT count(*) FROM stuck_detections"), 0);
        assert_eq!(count(&s, "SELECT count(*) FROM alerts"), 0);
    }
    // A real run afterwards still has everything to do.
    scan(&s, &path, NOW, &[]).code(1);
    assert_eq!(take(&log).len(), 3);
}

#[test]
fn main_session_only_when_settings_say_so() {
    let s = Sandbox::new();
    jsonl_home(&s);
    let (path, log) = fake_openclaw(&s);
    s.write_settings("[stuck.actions]\nwaiting_input = \"kill\"\n");
    scan(&s, &path, NOW, &[]).code(1);
    let got = take(&log);
    assert!(
        !got.iter()
            .any(|a| a.iter().any(|x| x.contains("agent:main:main"))),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|a| a.iter().any(|x| x.contains(&key("main", "ask")))),
        "{got:?}"
    );

    let s = Sandbox::new();
    jsonl_home(&s);
    let (path, log) = fake_openclaw(&s);
    s.write_settings("[stuck]\ninclude_main = true\n[stuck.actions]\nwaiting_input = \"steer\"\n");
    let r = scan(&s, &path, NOW, &["--json"]);
    assert_eq!(by_key(&r.json(), "run-main")["protected"], false);
    let got = take(&log);
    assert!(
        got.iter()
            .any(|a| a.iter().any(|x| x.contains("\"key\":\"agent:main:main\""))),
        "{got:?}"
    );
}

#[test]
fn alerts_once_per_run_and_class_and_a_recovery() {
    let s = Sandbox::new();
    jsonl_home(&s);
    let (path, _log) = fake_openclaw(&s);
    scan(&s, &path, NOW, &[]).code(1);
    scan(&s, &path, &later(1), &[]).code(1);
    let active = count(
        &s,
        "SELECT count(*) FROM alert_state WHERE job = 'stuck-agent' AND active = 1",
    );
    // Ten stuck at NOW, plus ops's crawler (idle with the default threshold here).
    assert_eq!(active, 11);
    assert_eq!(
        count(
            &s,
            "SELECT repeats FROM alert_state WHERE key = 'run-idle:idle'"
        ),
        1
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM alerts WHERE job = 'stuck-agent' AND kind != 'recovery'"
        ),
        11
    );

    // run-idle ends: its detection clears and one recovery is recorded.
    let p = s.openclaw().join("subagents/runs.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    doc["runs"]["run-idle"]["endedAt"] = json!(ms(0));
    doc["runs"]["run-idle"]["outcome"] = json!({"status": "ok"});
    std::fs::write(&p, doc.to_string()).unwrap();
    let r = scan(&s, &path, &later(2), &["--json"]);
    r.code(1);
    assert_eq!(r.json()["cleared"][0]["run_key"], "run-idle");
    assert_eq!(
        count(
            &s,
            "SELECT active FROM alert_state WHERE key = 'run-idle:idle'"
        ),
        0
    );
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM stuck_detections WHERE cleared_at IS NOT NULL"
        ),
        1
    );
}

/// Adds one SQLite-era run of agent main: tag, its transcript (if any), the window's status,
/// started and ended minutes ago, extra run fields, and the class it must get
/// (`session-only`: a session with no run record).
type SqAdd<'a> = dyn FnMut(&str, Option<Lines>, &str, i64, Option<i64>, Value, &'static str) + 'a;

/// The SQLite home's runs, one per class.
fn sqlite_runs(add: &mut SqAdd) {
    let l = |tag: &str| Lines::new(&sid(&format!("q{tag}")), 40).history(40);
    let long = |s: &str| format!("{}\n\n{s}", "Here is what I found so far. ".repeat(60));
    add(
        "prog",
        Some(l("prog").assistant(1, "Running tests.", "toolUse")),
        "running",
        10,
        None,
        json!({}),
        "progressing",
    );
    add(
        "idle",
        Some(l("idle").assistant(12, &long("Now fetching the next page."), "toolUse")),
        "running",
        40,
        None,
        json!({"runTimeoutSeconds": 0}),
        "idle",
    );
    add(
        "ask",
        Some(l("ask").assistant(
            5,
            &long("Would you like me to open a PR or push directly?"),
            "stop",
        )),
        "running",
        10,
        None,
        json!({}),
        "waiting_input",
    );
    add(
        "perm",
        Some(l("perm").assistant(2, "May I run the database migration on staging?", "stop")),
        "running",
        10,
        None,
        json!({}),
        "waiting_permission",
    );
    add(
        "err",
        Some(
            l("err")
                .assistant(4, "", "error")
                .assistant(3, "", "error")
                .assistant(2, "", "error"),
        ),
        "running",
        10,
        None,
        json!({}),
        "error_loop",
    );
    add(
        "killed",
        Some(l("killed").assistant(8, "Working.", "toolUse")),
        "killed",
        10,
        Some(8),
        json!({}),
        "orphaned",
    );
    add(
        "done",
        Some(l("done").assistant(30, "Done.", "stop")),
        "done",
        60,
        Some(30),
        json!({"endedAt": ms(30), "outcome": {"status": "ok"}}),
        "finished",
    );
    add(
        "long",
        Some(l("long").assistant(1, "Still going.", "toolUse")),
        "running",
        20,
        None,
        json!({}),
        "past_timeout",
    );
    add(
        "solo",
        Some(Lines::new(&sid("qsolo"), 60).assistant(30, "Thinking.", "toolUse")),
        "running",
        60,
        None,
        json!({}),
        "session-only",
    );
}

/// The SQLite era (2026.8+): session_windows + transcript_events (json and zstd), runs.json,
/// agents.entries config. No sessions.json, no transcript files.
fn sqlite_home(s: &Sandbox) -> BTreeMap<String, &'static str> {
    s.write_config(
        r#"{"agents": {"entries": {"main": {"subagents": {"runTimeoutSeconds": 900}}}}}"#,
    );
    let db = s.openclaw().join("agents/main/agent/openclaw-agent.sqlite");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE session_windows (session_id TEXT NOT NULL PRIMARY KEY, session_key TEXT NOT NULL,
           previous_session_id TEXT, reason TEXT, session_scope TEXT NOT NULL DEFAULT 'conversation',
           created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, transcript_updated_at INTEGER,
           transcript_observed_at INTEGER, started_at INTEGER, ended_at INTEGER, status TEXT,
           chat_type TEXT, channel TEXT, model_provider TEXT, model TEXT, parent_session_key TEXT,
           spawned_by TEXT, display_name TEXT) STRICT;
         CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL,
           event_json TEXT, created_at INTEGER NOT NULL, event_zstd BLOB, event_utf8_bytes INTEGER,
           navigation_json TEXT, PRIMARY KEY (session_id, seq));",
    )
    .unwrap();
    let mut runs = vec![];
    let mut truth = BTreeMap::new();
    let mut add = |tag: &str,
                   lines: Option<Lines>,
                   status: &str,
                   started: i64,
                   ended: Option<i64>,
                   extra: Value,
                   class: &'static str| {
        let k = key("main", tag);
        if let Some(l) = &lines {
            let last = ms(l.last);
            c.execute(
                "INSERT INTO session_windows (session_id, session_key, reason, created_at, updated_at,
                   transcript_updated_at, started_at, ended_at, status, model_provider, model, spawned_by, display_name)
                 VALUES (?1, ?2, 'initial', ?3, ?3, ?4, ?3, ?5, ?6, 'anthropic', 'claude-sonnet-4', 'agent:main:main', ?7)",
                rusqlite::params![l.sid(), k, ms(started), last, ended.map(ms), status, tag],
            )
            .unwrap();
            for (seq, line) in l.out.iter().enumerate() {
                // Events of 1 KiB or more are stored zstd-compressed with event_json NULL.
                let (j, z): (Option<&str>, Option<Vec<u8>>) = if line.len() >= 1024 {
                    (None, Some(zstd::encode_all(line.as_bytes(), 3).unwrap()))
                } else {
                    (Some(line), None)
                };
                c.execute(
                    "INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    rusqlite::params![l.sid(), seq as i64, j, ms(started), z, line.len() as i64],
                )
                .unwrap();
            }
        }
        if class != "session-only" {
            runs.push(run(&format!("sq-{tag}"), &k, tag, started, extra));
            truth.insert(format!("sq-{tag}"), class);
        } else {
            truth.insert(format!("session:{k}"), "idle");
        }
    };
    sqlite_runs(&mut add);
    // An older, ended window of the same key (a reset) must not hide the running one.
    c.execute(
        "INSERT INTO session_windows (session_id, session_key, reason, created_at, updated_at, status, ended_at)
         VALUES ('old-window', ?1, 'reset', ?2, ?2, 'done', ?2)",
        rusqlite::params![key("main", "prog"), ms(300)],
    )
    .unwrap();
    write_runs(s, &runs);
    truth
}

#[test]
fn sqlite_era_every_class_from_session_windows_and_transcript_events() {
    let s = Sandbox::new();
    let truth = sqlite_home(&s);
    let (path, log) = fake_openclaw(&s);
    let r = scan(&s, &path, NOW, &["--json"]);
    r.code(1);
    let doc = r.json();
    let want: BTreeMap<String, String> = truth
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    assert_eq!(classes(&doc), want);
    assert_eq!(by_key(&doc, "sq-ask")["transcript"], "sqlite");
    assert!(by_key(&doc, "sq-ask")["evidence"]
        .to_string()
        .contains("open a PR or push directly?"));
    assert!(by_key(&doc, "sq-long")["evidence"]
        .to_string()
        .contains("runTimeoutSeconds 900"));
    assert!(by_key(&doc, "sq-killed")["evidence"]
        .to_string()
        .contains("killed"));
    assert!(take(&log).is_empty());

    // Acting works the same in this era.
    s.write_settings("[stuck.actions]\nwaiting_permission = \"steer\"\norphaned = \"kill\"\n");
    scan(&s, &path, NOW, &[]).code(1);
    let got = take(&log);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.contains(&vec![
        "tasks".to_string(),
        "cancel".into(),
        "sq-killed".into()
    ]));
}

#[test]
fn triage_is_opt_in_redacted_recorded_and_followed_when_asked() {
    let s = Sandbox::new();
    jsonl_home(&s);
    // A secret in the transcript must not leave the host.
    let ask = s
        .openclaw()
        .join(format!("agents/main/sessions/{}.jsonl", sid("ask")));
    let mut text = std::fs::read_to_string(&ask).unwrap();
    text.push_str(
        &(Lines {
            sid: sid("ask"),
            n: 500,
            out: vec![],
            last: 3,
        })
        .assistant(3, "I used sk-abcdefghijklmnopqrstuvwxyz123456 as the key. Which environment should I deploy to?", "stop")
        .text(),
    );
    std::fs::write(&ask, text).unwrap();
    set_mtime(&ask, 3);
    let http = FakeHttp::start_body(
        &[],
        r#"{"choices":[{"message":{"role":"assistant","content":"{\"verdict\":\"kill\"}"}}],"usage":{"prompt_tokens":1200,"completion_tokens":30}}"#,
    );
    s.write_settings(&format!(
        "[stuck.actions]\nwaiting_input = \"ladder\"\n[stuck.triage]\nenabled = true\napi = \"openai\"\nurl = \"{}\"\nmodel = \"cheap-1\"\napi_key_env = \"T_TRIAGE_KEY\"\ntimeout_secs = 5\nfollow = true\n",
        http.url("/v1")
    ));
    let (path, log) = fake_openclaw(&s);
    let r = s.run_env(
        &["--now", NOW, "--json", "stuck-agent", "scan"],
        &[("PATH", &path), ("T_TRIAGE_KEY", "triage-secret-key")],
    );
    r.code(1);
    let reqs = http.take();
    // One per stuck, unprotected run: the 9 of the ground truth and ops's crawler (idle under
    // the default threshold).
    assert_eq!(reqs.len(), 10);
    for q in &reqs {
        assert_eq!(q.path, "/v1/chat/completions");
        assert_eq!(q.header("authorization"), Some("Bearer triage-secret-key"));
        assert!(!q.body.contains("sk-abcdefghijklmnop"), "{}", q.body);
        assert_eq!(q.json()["model"], "cheap-1");
    }
    // Followed: the ladder's kill instead of a steer, for the run whose class says ladder.
    let got = take(&log);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[1],
        vec!["tasks".to_string(), "cancel".into(), "run-ask".into()]
    );
    assert_eq!(by_key(&r.json(), "run-ask")["triage"]["verdict"], "kill");
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM stuck_triage WHERE verdict = 'kill'"
        ),
        10
    );
    assert_eq!(
        count(&s, "SELECT sum(cost_micros) FROM stuck_triage"),
        10 * 1350
    );
    assert!(!r.stdout.contains("triage-secret-key"));
    // Asked once per run and class.
    scan(&s, &path, &later(1), &[]).code(1);
    assert!(http.take().is_empty());
}

#[test]
fn bad_settings_and_bad_files() {
    let s = Sandbox::new();
    jsonl_home(&s);
    let (path, _log) = fake_openclaw(&s);
    s.write_settings("[stuck.actions]\nidle = \"nuke\"\n");
    let r = scan(&s, &path, NOW, &[]);
    r.code(78);
    assert!(
        r.stderr.contains("stuck.actions.idle") && r.stderr.contains("claw.toml"),
        "{}",
        r.stderr
    );
    // A corrupt store is reported, naming the file, while the scan goes on.
    std::fs::remove_file(s.settings()).unwrap();
    std::fs::write(
        s.openclaw().join("agents/ops/sessions/sessions.json"),
        "{\"trunc",
    )
    .unwrap();
    let r = scan(&s, &path, NOW, &["--json"]);
    r.code(1);
    assert!(
        r.stderr.contains("agents/ops/sessions/sessions.json"),
        "{}",
        r.stderr
    );
    let doc = r.json();
    assert_eq!(doc["problems"].as_array().unwrap().len(), 1);
    // Its runs lost their session: orphaned after the grace, not a crash.
    assert_eq!(by_key(&doc, "run-opsidle")["class"], "orphaned");
    assert_eq!(by_key(&doc, "run-idle")["class"], "idle");
}

#[test]
fn gateway_log_hints_and_the_json_shape_of_one_run() {
    let s = Sandbox::new();
    jsonl_home(&s);
    let logs = s.root().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let msg = format!(
        "stuck session: sessionId={} sessionKey={} age=900s",
        sid("idle"),
        key("main", "idle")
    );
    let line = json!({"0": "{\"subsystem\":\"diagnostic\"}", "1": msg,
        "_meta": {"logLevelName": "WARN"}, "time": "2026-08-10T11:59:00.000+00:00"});
    let log = logs.join("openclaw-2026-08-10.log");
    std::fs::write(&log, format!("{{\"1\":\"unrelated\"}}\n{line}\n")).unwrap();
    set_mtime(&log, 1);
    // An old file is not read.
    let old = logs.join("openclaw-2026-08-01.log");
    std::fs::write(
        &old,
        format!("{}\n", line.to_string().replace("900s", "OLD")),
    )
    .unwrap();
    set_mtime(&old, 60 * 48);
    s.write_settings(&format!("[stuck]\nlog_dir = \"{}\"\n", logs.display()));
    let (path, _log) = fake_openclaw(&s);
    let r = scan(&s, &path, NOW, &["--json"]);
    r.code(1);
    let doc = r.json();
    let run = by_key(&doc, "run-idle");
    assert_eq!(
        run,
        &json!({
            "run_id": "run-idle",
            "run_key": "run-idle",
            "agent": "main",
            "session_key": key("main", "idle"),
            "session_id": sid("idle"),
            "label": "crawler",
            "class": "idle",
            "stuck": true,
            "evidence": [
                "no new entry for 15m00s (threshold 9m)",
                format!("gateway log: stuck session: sessionId=*** sessionKey={} age=900s", key("main", "idle")),
            ],
            "last_activity": "2026-08-10T11:45:00Z",
            "transcript": "jsonl",
            "entries_read": 12,
            "lock": null,
            "protected": false,
            "action": {"step": null, "reason": "report only"},
            "triage": null,
        })
    );
    assert_eq!(doc["command"], "stuck-agent scan");
    assert_eq!(doc["now"], NOW);
    assert_eq!(doc["exit_code"], 1);
    // run-idle, the lonely session, and ops's crawler under the default threshold.
    assert_eq!(doc["classes"]["idle"], 3);
}

#[test]
fn nothing_to_watch_is_silent() {
    let s = Sandbox::new();
    let (path, log) = fake_openclaw(&s);
    scan(&s, &path, NOW, &[]).code(0).silent();
    assert!(take(&log).is_empty());
}

#[test]
fn real_sample_home_has_no_stuck_subagent() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let home = shared.join("samples/home-2026.3.8");
    let s = Sandbox::new();
    let (path, log) = fake_openclaw(&s);
    let dir = home.display().to_string();
    // Long after the sample's last entry: the main session is not a subagent run.
    let r = scan(
        &s,
        &path,
        "2026-11-01T00:00:00Z",
        &["--openclaw-dir", &dir, "--json"],
    );
    r.code(0);
    let doc = r.json();
    assert_eq!(doc["stuck"], 0);
    assert_eq!(doc["watched"], 0);
    assert!(doc["problems"].as_array().unwrap().is_empty());
    // Watching main sessions too, it is read from its tail and judged, never acted on by
    // default policy (report only).
    s.write_settings("[stuck]\ninclude_main = true\n");
    let r = scan(
        &s,
        &path,
        "2026-11-01T00:00:00Z",
        &["--openclaw-dir", &dir, "--json"],
    );
    let doc = r.json();
    assert_eq!(
        doc["watched"], 0,
        "the sample's main session has no status running"
    );
    assert!(take(&log).is_empty());
}

fn run_evidence(doc: &serde_json::Value, run_id: &str) -> Vec<String> {
    doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == run_id)
        .map(|r| {
            r["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// On a generated home of both storage eras (JSONL agent `main`, SQLite agent `ops`), the scan
/// finds exactly the runs the generator made stuck, each for one of the reasons it recorded.
#[test]
fn generated_home_runs_match_the_ground_truth() {
    let s = Sandbox::new();
    let (home, truth) = s.gen_home("generated", 3, "both");
    // The generator's thresholds, in claw's settings.
    s.write_settings(&format!(
        "[stuck]\nidle_minutes = {}\nerror_loop_count = {}\n",
        truth["runs"]["idle_after_seconds"].as_u64().unwrap() / 60,
        truth["runs"]["error_loop_min"]
    ));
    let now = truth["generator"]["now"].as_str().unwrap();
    let r = s.run(&[
        "--openclaw-dir",
        home.to_str().unwrap(),
        "--now",
        now,
        "--json",
        "stuck-agent",
        "scan",
    ]);
    r.code(1);
    let doc = r.json();
    let by_run: BTreeMap<String, (bool, String)> = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|run| {
            let id = run["run_id"].as_str()?;
            Some((
                id.to_string(),
                (
                    run["stuck"] == true,
                    run["class"].as_str().unwrap().to_string(),
                ),
            ))
        })
        .collect();
    let mut stuck = 0;
    for t in truth["runs"]["list"].as_array().unwrap() {
        let id = t["run_id"].as_str().unwrap();
        let (is_stuck, class) = by_run
            .get(id)
            .unwrap_or_else(|| panic!("run {id} not reported"));
        let want_stuck = t["state"] == "stuck";
        assert_eq!(*is_stuck, want_stuck, "run {id}: class {class}, truth {t}");
        if want_stuck {
            stuck += 1;
            let reason = match class.as_str() {
                "past_timeout" => "timeout",
                "waiting_input" => "waiting_for_input",
                c => c,
            };
            let reasons: Vec<&str> = t["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            // The generator writes writer locks with made-up pids, which are dead here: claw
            // rightly calls such a run orphaned, a reason the generator's truth does not model.
            let dead_lock = run_evidence(&doc, id)
                .iter()
                .any(|e| e.contains("which is dead"));
            assert!(
                reasons.contains(&reason) || (reason == "orphaned" && dead_lock),
                "run {id}: claw says {class}, truth {reasons:?}"
            );
        } else {
            let want = if t["state"] == "finished" {
                "finished"
            } else {
                "progressing"
            };
            assert_eq!(class, want, "run {id}");
        }
    }
    assert!(stuck >= 5, "the generator makes every kind of stuck run");
}
