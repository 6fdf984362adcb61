//! Secrets never leave (issue 12): the upstream redaction cases and tokens planted in the
//! config, transcripts, gateway logs, run labels and alert sink URLs/headers; every way out is
//! searched: stdout, stderr, --json, every column of every ledger table, what the fake sinks
//! received, `.prom` files and config diffs.

use crate::common::{Run, Sandbox};
use crate::fakehttp::FakeHttp;
use serde_json::{json, Value};
use std::path::Path;

const NOW: &str = "2026-05-04T12:30:00Z";
const SID: &str = "5ec2e700-0000-4000-8000-000000000001";

const SLACK: &str = "SLACKSINKSECRETaaaa1111";
const TG: &str = "987654321:TGSECRETbbbbbbbbbbbbbbbbbbbbbbbb";
const NTFY: &str = "NTFYSECRETcccc2222";
const HOOK: &str = "HOOKSECRETdddd3333";
const CFG_TOKEN: &str = "CFGGATEWAYSECRETeeee";
const CFG_TOKEN2: &str = "CFGGATEWAYSECRETeeee2";
const CFG_SLACK: &str = "CFGSLACKHOOKffff4444";
const CFG_TEAMS: &str = "TEAMSHOOKgggg5555";
const TRANSCRIPT: &str = "TRANSCRIPTSECREThhhh6666";
const LOG: &str = "LOGSECRETiiii7777";
const LABEL: &str = "LABELSECRETjjjj8888";

fn config(token: &str, cases: &[Value]) -> String {
    serde_json::to_string_pretty(&json!({
        "gateway": {"port": 18789, "auth": {"mode": "token", "token": token}},
        "notes": {
            "alerts": format!("https://hooks.slack.com/services/T1/B1/{CFG_SLACK}"),
            "teams": format!("https://acme.webhook.office.com/webhookb2/x@y/IncomingWebhook/{CFG_TEAMS}/z"),
            "redactionCases": cases,
        },
    }))
    .unwrap()
}

fn error_line(i: usize) -> String {
    // The token straddles the 160th character of the error text.
    let msg = format!("{} api_key={TRANSCRIPT}", "e".repeat(150));
    json!({"type":"message","id":format!("e000000{i}"),"timestamp":format!("2026-05-04T12:0{i}:00.000Z"),
        "message":{"role":"assistant","content":[],"provider":"anthropic","model":"claude-sonnet-4-5",
        "usage":{"input":10,"output":0,"cost":{"total":0.001}},"stopReason":"error","errorMessage":msg}})
    .to_string()
}

/// The secrets to search for (the planted tokens and every case's `rawMustNotContain`), and
/// each case planted as OpenClaw would hold it: under its label, or as the value itself.
fn secrets_and_planted(cases: &[Value]) -> (Vec<String>, Vec<Value>) {
    let mut secrets: Vec<String> = [
        SLACK, TG, NTFY, HOOK, CFG_TOKEN, CFG_TOKEN2, CFG_SLACK, CFG_TEAMS, TRANSCRIPT, LOG, LABEL,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut planted = Vec::new();
    for c in cases {
        let v = &c["value"];
        planted.push(match c["labels"].as_array().and_then(|l| l.first()) {
            Some(l) => json!({ l.as_str().unwrap(): v }),
            None => v.clone(),
        });
        for m in c["rawMustNotContain"].as_array().into_iter().flatten() {
            secrets.push(m.as_str().unwrap().to_string());
        }
    }
    (secrets, planted)
}

/// Settings that route every job's output to `.prom` files and every alert to the four sinks.
fn write_settings(s: &Sandbox, prom: &Path, logs: &Path) {
    s.write_settings(&format!(
        r#"[general]
timezone = "UTC"
[alerts]
retries = 0
[watch]
textfile_dir = {prom:?}
[rate_limit]
log_dirs = [{logs:?}]
journald = "off"
threshold = 1
[stuck]
idle_minutes = 1
[[alerts.sinks]]
name = "slack"
kind = "slack"
url_env = "T_SLACK_URL"
[[alerts.sinks]]
name = "tg"
kind = "telegram"
url_env = "T_TG_BASE"
token_env = "T_TG_TOKEN"
chat_id = "-100777"
[[alerts.sinks]]
name = "ntfy"
kind = "ntfy"
url_env = "T_NTFY_BASE"
token_env = "T_NTFY_TOKEN"
topic = "claw"
[[alerts.sinks]]
name = "hook"
kind = "webhook"
url_env = "T_HOOK_URL"
token_env = "T_HOOK_TOKEN"
headers = {{ Authorization = "Bearer {{token}}" }}
"#,
        prom = prom.display().to_string(),
        logs = logs.display().to_string(),
    ));
}

/// The secrets planted in the config, a transcript, the store, the runs registry and the log.
fn plant_home(s: &Sandbox, planted: &[Value], logs: &Path) {
    s.write_config(&config(CFG_TOKEN, planted));
    let sessions = s.openclaw().join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    let lines: Vec<String> = (1..=3).map(error_line).collect();
    std::fs::write(
        sessions.join(format!("{SID}.jsonl")),
        lines.join("\n") + "\n",
    )
    .unwrap();
    let child = "agent:main:subagent:5ec2e700";
    std::fs::write(
        sessions.join("sessions.json"),
        json!({child: {"sessionId": SID, "updatedAt": 1777896000000i64, "label": format!("nightly password={LABEL}"),
            "status": "running", "spawnedBy": "agent:main:main"}})
        .to_string(),
    )
    .unwrap();
    std::fs::create_dir_all(s.openclaw().join("subagents")).unwrap();
    std::fs::write(
        s.openclaw().join("subagents/runs.json"),
        json!({"version": 2, "runs": {"r1": {"runId": "r1", "childSessionKey": child,
            "requesterSessionKey": "agent:main:main", "task": format!("deploy with token={LABEL}"),
            "label": format!("nightly password={LABEL}"), "createdAt": 1777896000000i64, "startedAt": 1777896000000i64}}})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        logs.join("openclaw-2026-05-04.log"),
        json!({"0": "{\"subsystem\":\"agent/embedded\"}",
            "1": {"event": "embedded_run_agent_end", "isError": true, "failoverReason": "rate_limit",
                  "provider": "anthropic", "model": "m",
                  "rawErrorPreview": format!("429 rate_limit_error Authorization: Bearer {LOG} x-api-key: {LOG}")},
            "_meta": {"logLevelName": "WARN", "date": "2026-05-04T12:20:00Z"},
            "time": "2026-05-04T14:20:00.000+02:00"})
        .to_string()
            + "\n",
    )
    .unwrap();
}

/// Every column of every ledger table joins `outputs`; an alert must have been raised.
fn ledger_tables(s: &Sandbox, outputs: &mut Vec<(String, String)>) {
    // Every column of every ledger table.
    let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for t in &tables {
        let mut st = db.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut dump = String::new();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                use rusqlite::types::ValueRef;
                match r.get_ref(i).unwrap() {
                    ValueRef::Text(b) | ValueRef::Blob(b) => {
                        dump.push_str(&String::from_utf8_lossy(b));
                        dump.push('\t');
                    }
                    v => dump.push_str(&format!("{v:?}\t")),
                }
            }
            dump.push('\n');
        }
        outputs.push((format!("ledger table {t}"), dump));
    }
    let alerts: i64 = db
        .query_row("SELECT count(*) FROM alerts", [], |r| r.get(0))
        .unwrap_or(0);
    assert!(
        alerts > 0,
        "no alert was raised: the sinks were not exercised"
    );
}

/// No secret in any output, and the searches are real: the planted things did reach the
/// outputs, masked.
fn no_secret_in(secrets: &[String], outputs: &[(String, String)]) {
    let mut leaks = Vec::new();
    for (name, text) in outputs {
        for sec in secrets {
            if text.contains(sec.as_str()) {
                leaks.push(format!("{name}: {sec}"));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    // The searches are real: the planted things did reach the outputs, masked.
    let all: String = outputs.iter().map(|(_, t)| t.as_str()).collect();
    for shown in [
        "*** (changed)",
        "api_key=***",
        "password=***",
        "Authorization: ***",
    ] {
        assert!(
            all.contains(shown),
            "{shown} never shown: the search proves nothing\n{all}"
        );
    }
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "secrets test: {} secrets x {} outputs searched = {} searches, 0 leaks\n",
            secrets.len(),
            outputs.len(),
            secrets.len() * outputs.len()
        )
        .as_bytes(),
    );
}

#[test]
fn no_secret_reaches_any_output() {
    let Some(shared) = crate::common::shared() else {
        return crate::common::skip("../shared (redaction cases) is not beside this checkout");
    };
    let cases: Vec<Value> = serde_json::from_slice(
        &std::fs::read(shared.join("samples/redaction-cases.json")).unwrap(),
    )
    .unwrap();
    let (secrets, planted) = secrets_and_planted(&cases);

    let s = Sandbox::new();
    let srv = FakeHttp::serve(|_| (500, "{\"error\":\"down\"}".into()));
    let prom = s.root().join("prom");
    std::fs::create_dir_all(&prom).unwrap();
    let logs = s.root().join("tmp-openclaw");
    std::fs::create_dir_all(&logs).unwrap();
    write_settings(&s, &prom, &logs);
    let env = [
        ("T_SLACK_URL", srv.url(&format!("/services/T1/B1/{SLACK}"))),
        ("T_TG_BASE", srv.url("")),
        ("T_TG_TOKEN", TG.to_string()),
        ("T_NTFY_BASE", srv.url("/ntfy")),
        ("T_NTFY_TOKEN", NTFY.to_string()),
        ("T_HOOK_URL", srv.url("/hook")),
        ("T_HOOK_TOKEN", HOOK.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    plant_home(&s, &planted, &logs);

    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut record = |name: &str, r: Run| {
        assert_ne!(r.code, 101, "{name} panicked: {}", r.stderr);
        outputs.push((format!("{name} stdout"), r.stdout));
        outputs.push((format!("{name} stderr"), r.stderr));
    };
    let run = |args: &[&str]| {
        let mut a = vec!["--now", NOW];
        a.extend(args);
        s.run_env(&a, &env)
    };
    record("config backup", run(&["config", "backup"]));
    s.write_config(&config(CFG_TOKEN2, &planted));
    record(
        "config diff",
        run(&["config", "diff", "20260504T123000Z", "current"]),
    );
    record(
        "config diff --json",
        run(&["--json", "config", "diff", "20260504T123000Z", "current"]),
    );
    record("config validate", run(&["config", "validate"]));
    record(
        "config heal --dry-run",
        run(&["--dry-run", "config", "heal"]),
    );
    record("cost-track", run(&["cost-track"]));
    record(
        "rate-limit-detect --json",
        run(&["--json", "rate-limit-detect"]),
    );
    record(
        "stuck-agent scan --json",
        run(&["--json", "stuck-agent", "scan"]),
    );
    record("stuck-agent scan", run(&["stuck-agent", "scan"]));
    record("alert test", run(&["alert", "test"]));
    record("alert list --json", run(&["--json", "alert", "list"]));
    record("status --json", run(&["--json", "status"]));
    record("doctor --json", run(&["--json", "doctor"]));

    ledger_tables(&s, &mut outputs);
    for e in std::fs::read_dir(&prom).unwrap() {
        let p = e.unwrap().path();
        outputs.push((
            p.display().to_string(),
            std::fs::read_to_string(&p).unwrap(),
        ));
    }
    let received = srv.take();
    assert!(!received.is_empty(), "no request reached the fake sinks");
    for r in &received {
        // The URL path and the auth header are where a sink's secret belongs; the content is
        // what must not carry one.
        outputs.push((
            format!(
                "sink {} {} body",
                r.method,
                r.path.split('/').nth(1).unwrap_or("")
            ),
            r.body.clone(),
        ));
    }

    no_secret_in(&secrets, &outputs);
}
