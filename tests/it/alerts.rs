//! Alerts end to end: real HTTP to fake Slack/Teams/Graph/Telegram/ntfy/webhook servers on
//! 127.0.0.1, dedupe within the cooldown, recovery, retries, and no secret anywhere.

use crate::common::{Run, Sandbox};
use crate::fakehttp::FakeHttp;

const T0: &str = "2026-03-01T10:00:00Z";
const SLACK_SECRET: &str = "T000SLACKSECRETPATH";
const TEAMS_SECRET: &str = "TEAMSSECRETSIGx9";
const TG_TOKEN: &str = "123456:TELEGRAMSECRETTOKENabcdefgh";
const GRAPH_TOKEN: &str = "graphSECRETtokenVALUE";
const HOOK_TOKEN: &str = "hookSECRETtoken42";

const SECRETS: &[&str] = &[
    SLACK_SECRET,
    TEAMS_SECRET,
    TG_TOKEN,
    "TELEGRAMSECRETTOKEN",
    GRAPH_TOKEN,
    HOOK_TOKEN,
];

fn base_settings() -> String {
    "[alerts]\ncooldown_secs = 3600\ntimeout_secs = 5\nretries = 2\nretry_base_ms = 10\n".into()
}

fn all_sinks(s: &Sandbox) -> String {
    s.write("secrets/teams-url", "placeholder\n");
    let mut t = base_settings();
    t.push_str(
        r#"
[[alerts.sinks]]
name = "slack"
kind = "slack"
url_env = "T_SLACK_URL"

[[alerts.sinks]]
name = "teams"
kind = "teams"
url_file = "secrets/teams-url"

[[alerts.sinks]]
name = "graph"
kind = "teams-graph"
url_env = "T_GRAPH_URL"
token_env = "T_GRAPH_TOKEN"

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
topic = "claw-test"

[[alerts.sinks]]
name = "hook"
kind = "webhook"
url_env = "T_HOOK_URL"
token_env = "T_HOOK_TOKEN"
method = "PUT"
headers = { Authorization = "Bearer {token}", "X-Source" = "claw" }
body_template = '{"summary": "{{severity}} {{job}}: {{text}}", "key": "{{key}}", "kind": "{{kind}}"}'
"#,
    );
    t
}

fn env_for(srv: &FakeHttp) -> Vec<(&'static str, String)> {
    vec![
        ("T_SLACK_URL", srv.url(&format!("/slack/{SLACK_SECRET}"))),
        ("T_GRAPH_URL", srv.url("/graph/chats/19:x/messages")),
        ("T_GRAPH_TOKEN", GRAPH_TOKEN.into()),
        ("T_TG_BASE", srv.url("/tg")),
        ("T_TG_TOKEN", TG_TOKEN.into()),
        ("T_NTFY_BASE", srv.url("/ntfy")),
        ("T_HOOK_URL", srv.url("/hook")),
        ("T_HOOK_TOKEN", HOOK_TOKEN.into()),
    ]
}

fn run(s: &Sandbox, srv: &FakeHttp, args: &[&str]) -> Run {
    let env = env_for(srv);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    s.run_env(args, &env)
}

fn assert_no_secret(what: &str, text: &str) {
    for sec in SECRETS {
        assert!(
            !text.contains(sec),
            "{what} shows a secret ({sec}):\n{text}"
        );
    }
}

/// Ledger bytes (db and WAL): secrets must not be stored.
fn ledger_bytes(s: &Sandbox) -> String {
    let mut all = Vec::new();
    for f in ["ledger.db", "ledger.db-wal"] {
        if let Ok(b) = std::fs::read(s.state().join(f)) {
            all.extend(b);
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

fn raise(s: &Sandbox, srv: &FakeHttp, now: &str, sev: &str, text: &str) -> Run {
    run(
        s,
        srv,
        &[
            "--now",
            now,
            "alert",
            "raise",
            "--job",
            "budget-check",
            "--key",
            "budget:daily",
            "--severity",
            sev,
            text,
        ],
    )
}

#[test]
fn every_sink_kind_gets_its_body_and_no_secret_leaks() {
    let s = Sandbox::new();
    let srv = FakeHttp::start(&[]);
    let mut settings = all_sinks(&s);
    settings = settings.replace("placeholder", "");
    s.write_settings(&settings);
    s.write(
        "secrets/teams-url",
        &format!("{}\n", srv.url(&format!("/teams/{TEAMS_SECRET}"))),
    );
    let r = raise(
        &s,
        &srv,
        T0,
        "critical",
        "daily budget passed: $12.40 of $10.00",
    );
    r.code(0).silent();
    let reqs = srv.take();
    assert_eq!(reqs.len(), 6, "{reqs:#?}");
    let by = |prefix: &str| {
        reqs.iter()
            .find(|r| r.path.starts_with(prefix))
            .unwrap_or_else(|| panic!("no request to {prefix}: {reqs:#?}"))
    };

    let slack = by("/slack/");
    assert_eq!(slack.method, "POST");
    assert_eq!(slack.path, format!("/slack/{SLACK_SECRET}"));
    let text = slack.json()["text"].as_str().unwrap().to_string();
    assert!(text.starts_with("CRITICAL budget-check on "), "{text}");
    assert!(
        text.ends_with(": daily budget passed: $12.40 of $10.00"),
        "{text}"
    );

    let teams = by("/teams/").json();
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["body"][0]["text"], text.as_str());
    assert_eq!(card["content"]["body"][0]["color"], "Attention");

    let graph = by("/graph/");
    assert_eq!(
        graph.header("authorization"),
        Some(format!("Bearer {GRAPH_TOKEN}").as_str())
    );
    assert_eq!(graph.json()["body"]["content"], text.as_str());
    assert_eq!(graph.json()["body"]["contentType"], "text");

    let tg = by("/tg/");
    assert_eq!(tg.path, format!("/tg/bot{TG_TOKEN}/sendMessage"));
    assert_eq!(tg.json()["chat_id"], "-100777");
    assert_eq!(tg.json()["text"], text.as_str());

    let ntfy = by("/ntfy/");
    assert_eq!(ntfy.path, "/ntfy/claw-test");
    assert_eq!(ntfy.body, text);
    assert_eq!(ntfy.header("priority"), Some("urgent"));
    assert_eq!(ntfy.header("title"), Some("claw: critical budget-check"));

    let hook = by("/hook");
    assert_eq!(hook.method, "PUT");
    assert_eq!(
        hook.header("authorization"),
        Some(format!("Bearer {HOOK_TOKEN}").as_str())
    );
    assert_eq!(hook.header("x-source"), Some("claw"));
    let h = hook.json();
    assert_eq!(
        h["summary"],
        "critical budget-check: daily budget passed: $12.40 of $10.00"
    );
    assert_eq!(h["key"], "budget:daily");
    assert_eq!(h["kind"], "alert");

    let list = run(&s, &srv, &["alert", "list", "--json"]);
    list.code(0);
    let doc = list.json();
    assert_eq!(doc["alerts"][0]["deliveries"].as_array().unwrap().len(), 6);
    for d in doc["alerts"][0]["deliveries"].as_array().unwrap() {
        assert_eq!(d["status"], "sent", "{d}");
        assert_eq!(d["http_status"], 200);
    }
    assert_eq!(doc["active"][0]["key"], "budget:daily");
    assert_no_secret("alert list", &list.stdout);
    let human = run(&s, &srv, &["alert", "list"]);
    human.code(0);
    assert!(human.stdout.contains("budget:daily"), "{}", human.stdout);
    assert_no_secret("alert list", &human.stdout);
    assert_no_secret("ledger", &ledger_bytes(&s));
}

fn slack_only(s: &Sandbox) {
    let mut t = base_settings();
    t.push_str(
        "\n[[alerts.sinks]]\nname = \"slack\"\nkind = \"slack\"\nurl_env = \"T_SLACK_URL\"\n",
    );
    s.write_settings(&t);
}

#[test]
fn same_key_is_deduped_within_cooldown_and_recovery_is_sent_once() {
    let s = Sandbox::new();
    let srv = FakeHttp::start(&[]);
    slack_only(&s);
    raise(&s, &srv, T0, "warning", "over 80% of budget").code(0);
    raise(
        &s,
        &srv,
        "2026-03-01T10:30:00Z",
        "warning",
        "over 85% of budget",
    )
    .code(0);
    assert_eq!(
        srv.take().len(),
        1,
        "second raise within the cooldown was sent"
    );

    // A rise in severity goes out at once.
    raise(
        &s,
        &srv,
        "2026-03-01T10:40:00Z",
        "critical",
        "budget passed",
    )
    .code(0);
    let r = srv.take();
    assert_eq!(r.len(), 1);
    assert!(r[0].json()["text"]
        .as_str()
        .unwrap()
        .starts_with("CRITICAL"));

    // After the cooldown, a reminder.
    raise(
        &s,
        &srv,
        "2026-03-01T11:40:00Z",
        "critical",
        "budget passed",
    )
    .code(0);
    assert_eq!(srv.take().len(), 1, "reminder after the cooldown");

    let clear = |now: &str| {
        run(
            &s,
            &srv,
            &[
                "--now",
                now,
                "alert",
                "clear",
                "--job",
                "budget-check",
                "--key",
                "budget:daily",
                "back under budget",
            ],
        )
    };
    clear("2026-03-01T12:00:00Z").code(0).silent();
    let r = srv.take();
    assert_eq!(r.len(), 1);
    let t = r[0].json()["text"].as_str().unwrap().to_string();
    assert!(t.starts_with("RESOLVED budget-check on "), "{t}");
    assert!(t.ends_with("back under budget"), "{t}");
    clear("2026-03-01T12:01:00Z").code(0);
    assert!(
        srv.take().is_empty(),
        "a second clear sent another recovery"
    );

    // The condition returning after it cleared is news, cooldown or not.
    raise(
        &s,
        &srv,
        "2026-03-01T12:05:00Z",
        "warning",
        "over 80% again",
    )
    .code(0);
    assert_eq!(srv.take().len(), 1);

    let doc = run(&s, &srv, &["alert", "list", "--json"]).json();
    let kinds: Vec<&str> = doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["alert", "recovery", "alert", "alert", "alert"]);
}

#[test]
fn retries_on_429_and_503_then_succeeds() {
    let s = Sandbox::new();
    let srv = FakeHttp::start(&[429, 503, 200]);
    slack_only(&s);
    raise(&s, &srv, T0, "warning", "x").code(0).silent();
    assert_eq!(srv.take().len(), 3);
    let doc = run(&s, &srv, &["alert", "list", "--json"]).json();
    let d = &doc["alerts"][0]["deliveries"][0];
    assert_eq!(d["status"], "sent");
    assert_eq!(d["attempts"], 3);
}

#[test]
fn no_retry_on_400_and_the_job_still_succeeds() {
    let s = Sandbox::new();
    let srv = FakeHttp::start(&[400]);
    slack_only(&s);
    let r = raise(&s, &srv, T0, "warning", "x");
    r.code(0);
    assert!(r.stderr.contains("HTTP 400"), "{}", r.stderr);
    assert!(r.stderr.contains("not retried"), "{}", r.stderr);
    assert_no_secret("stderr", &r.stderr);
    assert_eq!(srv.take().len(), 1, "a 400 was retried");
    // Nor on a later run.
    run(
        &s,
        &srv,
        &["--now", "2026-03-01T10:05:00Z", "alert", "retry"],
    )
    .code(0);
    assert!(srv.take().is_empty());
    let doc = run(&s, &srv, &["alert", "list", "--json"]).json();
    let d = &doc["alerts"][0]["deliveries"][0];
    assert_eq!(d["status"], "failed");
    assert_eq!(d["http_status"], 400);
}

#[test]
fn failed_delivery_is_retried_on_the_next_run_and_given_up_later() {
    let s = Sandbox::new();
    // Three 503s use up one run's attempts (retries = 2).
    let srv = FakeHttp::start(&[503, 503, 503]);
    slack_only(&s);
    let r = raise(&s, &srv, T0, "critical", "tunnel down");
    r.code(0);
    assert!(r.stderr.contains("retried on a later run"), "{}", r.stderr);
    assert_eq!(srv.take().len(), 3);
    let r = run(
        &s,
        &srv,
        &["--now", "2026-03-01T10:01:00Z", "alert", "retry", "--json"],
    );
    r.code(0);
    assert_eq!(r.json()["detail"]["sent"], 1);
    let reqs = srv.take();
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].json()["text"]
        .as_str()
        .unwrap()
        .contains("tunnel down"));
    run(
        &s,
        &srv,
        &["--now", "2026-03-01T10:02:00Z", "alert", "retry"],
    )
    .code(0);
    assert!(srv.take().is_empty(), "a sent delivery was sent again");

    // A delivery that keeps failing past retry_for_secs is given up.
    let dead = FakeHttp::start(&[503; 64]);
    let env = [("T_SLACK_URL", dead.url("/slack/x"))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    s.run_env(
        &[
            "--now",
            "2026-03-01T11:00:00Z",
            "alert",
            "raise",
            "--job",
            "tunnel",
            "--key",
            "k",
            "down",
        ],
        &env,
    )
    .code(0);
    s.run_env(&["--now", "2026-03-03T11:00:00Z", "alert", "retry"], &env)
        .code(0);
    assert_eq!(dead.take().len(), 3, "an expired delivery was retried");
    let doc = s.run(&["alert", "list", "--json"]).json();
    assert_eq!(doc["alerts"][0]["deliveries"][0]["status"], "expired");
}

#[test]
fn missing_secret_is_named_not_shown_and_kept_for_retry() {
    let s = Sandbox::new();
    slack_only(&s);
    let r = s.run(&[
        "--now", T0, "alert", "raise", "--job", "j", "--key", "k", "hello",
    ]);
    r.code(0);
    assert!(r.stderr.contains("T_SLACK_URL"), "{}", r.stderr);
    let doc = s.run(&["alert", "list", "--json"]).json();
    assert_eq!(doc["alerts"][0]["deliveries"][0]["status"], "pending");
}

#[test]
fn alert_test_reports_each_sink_and_fails_when_one_fails() {
    let s = Sandbox::new();
    let ok = FakeHttp::start(&[]);
    let bad = FakeHttp::start(&[404]);
    let mut t = base_settings();
    t.push_str(
        "\n[[alerts.sinks]]\nname = \"good\"\nkind = \"slack\"\nurl_env = \"T_OK\"\n\
         \n[[alerts.sinks]]\nname = \"bad\"\nkind = \"ntfy\"\nurl_env = \"T_BAD\"\ntopic = \"t\"\n",
    );
    s.write_settings(&t);
    let (u1, u2) = (ok.url(&format!("/s/{SLACK_SECRET}")), bad.url("/n"));
    let env = [("T_OK", u1.as_str()), ("T_BAD", u2.as_str())];
    let r = s.run_env(&["alert", "test"], &env);
    r.code(1);
    assert!(
        r.stdout.contains("good") && r.stdout.contains("sent"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("bad") && r.stdout.contains("HTTP 404"),
        "{}",
        r.stdout
    );
    assert_no_secret("alert test", &(r.stdout.clone() + &r.stderr));
    let m = ok.take();
    assert_eq!(m.len(), 1);
    assert!(m[0].json()["text"]
        .as_str()
        .unwrap()
        .starts_with("TEST claw on "));
    bad.take();

    s.run_env(&["alert", "test", "good"], &env).code(0);
    assert_eq!(ok.take().len(), 1);
    assert!(
        bad.take().is_empty(),
        "alert test SINK sent to another sink"
    );
    let r = s.run_env(&["alert", "test", "nosuch"], &env);
    r.code(2);
    assert!(r.stderr.contains("no sink named nosuch"), "{}", r.stderr);
}

#[test]
fn command_sink_gets_the_alert_as_json_on_stdin() {
    let s = Sandbox::new();
    let out = s.root().join("received.json");
    let mut t = base_settings();
    t.push_str(&format!(
        "\n[[alerts.sinks]]\nname = \"cmd\"\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"cat > '{}'\"]\n",
        out.display()
    ));
    s.write_settings(&t);
    s.run(&[
        "--now",
        T0,
        "alert",
        "raise",
        "--job",
        "stuck-agent",
        "--key",
        "agent:main",
        "--severity",
        "info",
        "agent main idle 40 min",
    ])
    .code(0)
    .silent();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["job"], "stuck-agent");
    assert_eq!(doc["key"], "agent:main");
    assert_eq!(doc["severity"], "info");
    assert_eq!(doc["kind"], "alert");
    assert_eq!(doc["at"], T0);
    assert_eq!(doc["schema_version"], 1);

    // A failing command is recorded and retried later, without failing the raise.
    let mut t = base_settings();
    t.push_str("\n[[alerts.sinks]]\nname = \"cmd\"\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"exit 3\"]\n");
    s.write_settings(&t);
    let r = s.run(&[
        "--now", T0, "alert", "raise", "--job", "j2", "--key", "k", "x",
    ]);
    r.code(0);
    assert!(r.stderr.contains("exit status: 3"), "{}", r.stderr);
}

#[test]
fn alert_text_is_redacted_before_sending() {
    let s = Sandbox::new();
    let srv = FakeHttp::start(&[]);
    slack_only(&s);
    raise(
        &s,
        &srv,
        T0,
        "warning",
        "provider said: Authorization: Bearer sk-ant-api03-LEAKEDKEYVALUE123",
    )
    .code(0);
    let r = srv.take();
    assert!(!r[0].body.contains("LEAKEDKEYVALUE123"), "{}", r[0].body);
    assert!(!ledger_bytes(&s).contains("LEAKEDKEYVALUE123"));
}

#[test]
fn dry_run_sends_and_records_nothing() {
    let s = Sandbox::new();
    let srv = FakeHttp::start(&[]);
    slack_only(&s);
    run(
        &s,
        &srv,
        &[
            "--dry-run",
            "--now",
            T0,
            "alert",
            "raise",
            "--job",
            "j",
            "--key",
            "k",
            "x",
        ],
    )
    .code(0);
    assert!(srv.take().is_empty());
    let doc = run(&s, &srv, &["alert", "list", "--json"]).json();
    assert_eq!(doc["alerts"].as_array().unwrap().len(), 0);
}
