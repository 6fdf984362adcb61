//! Spend you see without asking: `claw cost digest` sent once per period to fake sinks on
//! 127.0.0.1 (scheduled by tick at 08:00 Europe/Berlin on both sides of both 2026
//! daylight-saving changes), token budgets alerting once per level, and budget periods
//! resetting at local midnight.

use crate::common::{Run, Sandbox};
use crate::fakehttp::FakeHttp;
use serde_json::{json, Value};
use std::path::PathBuf;

const SID: &str = "dddddddd-0000-4000-8000-000000000001";
const SID2: &str = "eeeeeeee-0000-4000-8000-000000000002";

/// Every built-in job off but the digest (at its default schedule).
const ONLY_DIGEST: &str = "[tick.schedule]\nconfig-heal = \"off\"\ncompaction-backup = \"off\"\n\
cost-track = \"off\"\nbudget-check = \"off\"\nrate-limit-detect = \"off\"\nstuck-agent = \"off\"\n\
tunnel = \"off\"\ngateway-check = \"off\"\n";

fn transcript(s: &Sandbox, agent: &str, sid: &str, lines: &[String]) -> PathBuf {
    let dir = s.openclaw().join("agents").join(agent).join("sessions");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{sid}.jsonl"));
    let mut t = json!({"type":"session","version":3,"id":sid,"timestamp":"2026-03-01T09:00:00.000Z","cwd":"/w"})
        .to_string();
    for l in lines {
        t.push('\n');
        t.push_str(l);
    }
    t.push('\n');
    std::fs::write(&p, t).unwrap();
    p
}

/// An assistant line at `ts` with `tokens` input tokens and a logged cost.
fn line(id: &str, ts: &str, model: &str, tokens: u64, cost: f64) -> String {
    json!({"type":"message","id":id,"parentId":null,"timestamp":ts,"message":{"role":"assistant",
        "content":[{"type":"text","text":"a reply"}],"api":"anthropic-messages","provider":"anthropic",
        "model":model,"usage":{"input":tokens,"output":0,"cacheRead":0,"cacheWrite":0,"totalTokens":tokens,
        "cost":{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"total":cost}},"stopReason":"stop",
        "timestamp":1772960000000u64}})
    .to_string()
}

fn sinks_settings() -> String {
    r#"
[alerts]
timeout_secs = 5
retries = 0

[[alerts.sinks]]
name = "slack"
kind = "slack"
url_env = "T_SLACK"

[[alerts.sinks]]
name = "teams"
kind = "teams"
url_env = "T_TEAMS"

[[alerts.sinks]]
name = "tg"
kind = "telegram"
url_env = "T_TG"
token_env = "T_TG_TOKEN"
chat_id = "-100"

[[alerts.sinks]]
name = "ntfy"
kind = "ntfy"
url_env = "T_NTFY"
topic = "spend"

[[alerts.sinks]]
name = "hook"
kind = "webhook"
url_env = "T_HOOK"
"#
    .to_string()
}

fn run(s: &Sandbox, srv: &FakeHttp, args: &[&str]) -> Run {
    let env = [
        ("T_SLACK", srv.url("/slack")),
        ("T_TEAMS", srv.url("/teams")),
        ("T_TG", srv.url("/tg")),
        ("T_TG_TOKEN", "1:TOKEN".to_string()),
        ("T_NTFY", srv.url("/ntfy")),
        ("T_HOOK", srv.url("/hook")),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    s.run_env(args, &env)
}

fn paths(reqs: &[crate::fakehttp::Req]) -> Vec<String> {
    let mut p: Vec<String> = reqs.iter().map(|r| r.path.clone()).collect();
    p.sort();
    p
}

/// Spend on both sides of Berlin's day boundaries: agent main on the 8th, 9th and 10th, ops
/// on the 9th.
fn two_agents_spend(s: &Sandbox) {
    // Berlin days (CET, +01:00): the 9th runs 2026-03-08T23:00Z .. 2026-03-09T23:00Z.
    transcript(
        s,
        "main",
        SID,
        &[
            line(
                "a1",
                "2026-03-08T12:00:00.000Z",
                "claude-sonnet-4-5",
                1000,
                2.0,
            ),
            line(
                "a2",
                "2026-03-08T23:00:00.000Z",
                "claude-sonnet-4-5",
                2000,
                1.25,
            ), // the 9th
            line(
                "a3",
                "2026-03-09T22:59:59.000Z",
                "claude-opus-4-1",
                500,
                0.5,
            ), // the 9th
            line(
                "a4",
                "2026-03-09T23:00:00.000Z",
                "claude-opus-4-1",
                100,
                0.75,
            ), // the 10th
        ],
    );
    transcript(
        s,
        "ops",
        SID2,
        &[line(
            "b1",
            "2026-03-09T10:00:00.000Z",
            "claude-haiku-4-5",
            70,
            0.25,
        )],
    );
}

/// The 9th's digest as each sink got it: the figures, exact, in every format.
fn formatted_per_sink(reqs: &[crate::fakehttp::Req]) {
    let by = |p: &str| reqs.iter().find(|r| r.path.starts_with(p)).unwrap().clone();
    // Webhook: the figures, exact, in the payload.
    let hook = by("/hook").json();
    assert_eq!(hook["kind"], "digest");
    assert_eq!(hook["job"], "cost-digest");
    assert_eq!(hook["key"], "digest:daily:2026-03-09");
    let card = &hook["payload"];
    assert_eq!(card["title"], "Cost digest, daily Mon 2026-03-09");
    assert_eq!(card["facts"][0], json!(["Spend", "$2.00"]));
    // $2.00 on the 9th vs $2.00 on the 8th.
    assert_eq!(
        card["facts"][1],
        json!(["Change", "+$0.00 (+0.0 %) vs $2.00"])
    );
    let agents = card["sections"][1]["lines"].as_array().unwrap();
    assert_eq!(agents[0], "main  $1.75 (88 %)  2,500 tokens", "{agents:?}");
    assert_eq!(agents[1], "ops  $0.25 (13 %)  70 tokens", "{agents:?}");
    // Three models that day; top = 2 names two.
    let models = card["sections"][2]["lines"].as_array().unwrap();
    assert_eq!(models.len(), 2, "{models:?}");
    assert!(
        models[0]
            .as_str()
            .unwrap()
            .starts_with("anthropic/claude-sonnet-4-5  $1.25"),
        "{models:?}"
    );
    assert_eq!(card["sections"][3]["title"], "Budgets now");
    // Slack: Block Kit with a header and the facts as fields.
    let slack = by("/slack").json();
    assert_eq!(slack["blocks"][0]["type"], "header");
    assert_eq!(slack["blocks"][1]["fields"][0]["text"], "*Spend*\n$2.00");
    assert!(slack["text"]
        .as_str()
        .unwrap()
        .starts_with("DIGEST claw on "));
    // Teams: an Adaptive Card with a FactSet.
    let teams = by("/teams").json();
    let body = &teams["attachments"][0]["content"]["body"];
    assert_eq!(body[1]["type"], "FactSet");
    assert_eq!(
        body[1]["facts"][0],
        json!({"title": "Spend", "value": "$2.00"})
    );
    // Telegram and ntfy: the whole text.
    let tg = by("/tg").json();
    assert!(
        tg["text"].as_str().unwrap().contains("\nTop models:\n"),
        "{tg}"
    );
    let ntfy = by("/ntfy");
    assert_eq!(
        ntfy.header("title"),
        Some("claw: Cost digest, daily Mon 2026-03-09")
    );
    assert!(ntfy.body.contains("Spend by day:"), "{}", ntfy.body);
}

/// Two digest runs at once on the 12th send one digest to each sink.
fn two_runs_at_once_send_one_digest(s: &Sandbox, srv: &FakeHttp) {
    // Two runs at once on the 12th: one digest.
    let mut kids = Vec::new();
    for _ in 0..2 {
        let mut c = s.cmd(&[
            "--now",
            "2026-03-12T07:00:00Z",
            "--wait",
            "20",
            "cost",
            "digest",
        ]);
        for (k, v) in [
            ("T_SLACK", srv.url("/slack")),
            ("T_TEAMS", srv.url("/teams")),
            ("T_TG", srv.url("/tg")),
            ("T_TG_TOKEN", "1:TOKEN".into()),
            ("T_NTFY", srv.url("/ntfy")),
            ("T_HOOK", srv.url("/hook")),
        ] {
            c.env(k, v);
        }
        kids.push(c.spawn().unwrap());
    }
    for mut k in kids {
        assert!(k.wait().unwrap().success());
    }
    assert_eq!(srv.take().len(), 5, "one digest to each of 5 sinks");
}

#[test]
fn a_digest_arrives_once_per_day_formatted_per_sink_and_again_the_next_day() {
    let s = Sandbox::new();
    s.write_settings(&format!(
        "[general]\ntimezone = \"Europe/Berlin\"\n{ONLY_DIGEST}\n[digest]\ntop = 2\n\
         [[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 10.0\n{}",
        sinks_settings()
    ));
    two_agents_spend(&s);
    let srv = FakeHttp::start(&[]);
    run(
        &s,
        &srv,
        &["--now", "2026-03-10T06:00:00Z", "cost", "track"],
    )
    .code(0)
    .silent();

    // --dry-run shows the digest and sends nothing.
    let r = run(
        &s,
        &srv,
        &[
            "--now",
            "2026-03-10T06:00:00Z",
            "--dry-run",
            "cost",
            "digest",
        ],
    );
    r.code(0);
    assert!(
        r.stdout.starts_with("Cost digest, daily Mon 2026-03-09\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Spend: $2.00\nChange: +$0.00 (+0.0 %) vs $2.00\n"),
        "{}",
        r.stdout
    );
    assert!(srv.take().is_empty());

    // The first tick at 08:00 CET (07:00Z) sends the 9th's digest to every sink.
    let r = run(
        &s,
        &srv,
        &["--now", "2026-03-10T07:00:00Z", "tick", "--json"],
    );
    r.code(0);
    assert_eq!(r.json()["ran"][0]["job"], "cost-digest", "{}", r.stdout);
    let reqs = srv.take();
    assert_eq!(
        paths(&reqs),
        [
            "/hook",
            "/ntfy/spend",
            "/slack",
            "/teams",
            "/tg/bot1:TOKEN/sendMessage"
        ]
    );
    formatted_per_sink(&reqs);

    // A second tick the same day, and the digest by hand: nothing more is sent.
    run(&s, &srv, &["--now", "2026-03-10T07:30:00Z", "tick"])
        .code(0)
        .silent();
    run(
        &s,
        &srv,
        &["--now", "2026-03-10T09:00:00Z", "cost", "digest"],
    )
    .code(0)
    .silent();
    let j = run(
        &s,
        &srv,
        &["--now", "2026-03-10T09:00:00Z", "--json", "cost", "digest"],
    );
    assert_eq!(j.json()["digests"][0]["status"], "already_sent");
    assert!(srv.take().is_empty());

    // The next day: not before 08:00 local, then the 10th's digest, once.
    run(&s, &srv, &["--now", "2026-03-11T06:59:00Z", "tick"])
        .code(0)
        .silent();
    assert!(srv.take().is_empty());
    run(&s, &srv, &["--now", "2026-03-11T07:00:00Z", "tick"])
        .code(0)
        .silent();
    let reqs = srv.take();
    assert_eq!(reqs.len(), 5);
    let hook = reqs.iter().find(|r| r.path == "/hook").unwrap().json();
    assert_eq!(hook["key"], "digest:daily:2026-03-10");
    assert_eq!(hook["payload"]["facts"][0], json!(["Spend", "$0.75"]));

    two_runs_at_once_send_one_digest(&s, &srv);
}

#[test]
fn weekly_digest_once_per_week_and_printed_when_no_sink() {
    let s = Sandbox::new();
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n{ONLY_DIGEST}\n[cost]\nweek_start = \"monday\"\n\
         [digest]\nperiods = [\"weekly\"]\n"
    ));
    transcript(
        &s,
        "main",
        SID,
        &[
            line("w1", "2026-02-24T10:00:00.000Z", "m", 10, 4.0), // week of 02-23
            line("w2", "2026-03-02T10:00:00.000Z", "m", 10, 1.0), // week of 03-02
            line("w3", "2026-03-08T23:59:59.000Z", "m", 10, 2.0), // week of 03-02
            line("w4", "2026-03-09T00:00:00.000Z", "m", 10, 8.0), // week of 03-09
        ],
    );
    s.run(&["--now", "2026-03-20T00:00:00Z", "cost", "track"])
        .code(0);
    // Tuesday 2026-03-10, 08:00: the week of 03-02 is the last whole one. No sink: printed.
    let r = s.run(&["--now", "2026-03-10T08:00:00Z", "tick"]);
    r.code(0);
    assert!(
        r.stdout.starts_with("Cost digest, weekly 2026-03-02 .. 2026-03-08\nSpend: $3.00\nChange: -$1.00 (-25.0 %) vs $4.00\n"),
        "{}",
        r.stdout
    );
    // Every morning that week: nothing new.
    for day in ["11", "12", "15"] {
        s.run(&["--now", &format!("2026-03-{day}T08:00:00Z"), "tick"])
            .code(0)
            .silent();
    }
    // The next Monday: the week of 03-09.
    let r = s.run(&["--now", "2026-03-16T08:00:00Z", "--json", "cost", "digest"]);
    r.code(0);
    let d = &r.json()["digests"][0];
    assert_eq!(
        (d["period"].as_str(), d["start"].as_str()),
        (Some("weekly"), Some("2026-03-09"))
    );
    assert_eq!(d["status"], "printed");
    assert_eq!(d["total"]["cost_usd"], "8.00");
    assert_eq!(d["by_day"].as_array().unwrap().len(), 7);
    s.run(&["--now", "2026-03-16T09:00:00Z", "cost", "digest"])
        .code(0)
        .silent();
}

/// Whether tick ran the digest at `now` (a tick --json).
fn digest_ran(s: &Sandbox, now: &str) -> (bool, String) {
    let r = s.run(&["--now", now, "tick", "--json"]);
    r.code(0);
    let ran = r.json()["ran"]
        .as_array()
        .unwrap()
        .iter()
        .any(|j| j["job"] == "cost-digest");
    (ran, r.stderr)
}

#[test]
fn the_0800_schedule_fires_at_0800_berlin_on_both_sides_of_both_changes() {
    let s = Sandbox::new();
    s.write_settings(&format!(
        "[general]\ntimezone = \"Europe/Berlin\"\n{ONLY_DIGEST}"
    ));
    transcript(
        &s,
        "main",
        SID,
        &[line("x", "2026-03-20T10:00:00.000Z", "m", 1, 0.5)],
    );
    s.run(&["--now", "2026-03-27T00:00:00Z", "cost", "track"])
        .code(0);
    // Never ran: the first tick runs it.
    assert!(digest_ran(&s, "2026-03-27T12:00:00Z").0);
    let mut pairs = vec![
        // 08:00 CET = 07:00Z on the day before the spring change.
        ("2026-03-28T06:59:00Z", "2026-03-28T07:00:00Z"),
        // 2026-03-29: clocks went forward at 01:00Z; 08:00 CEST = 06:00Z.
        ("2026-03-29T05:59:00Z", "2026-03-29T06:00:00Z"),
        ("2026-03-30T05:59:00Z", "2026-03-30T06:00:00Z"),
        // Autumn: 08:00 CEST = 06:00Z before, 08:00 CET = 07:00Z from 2026-10-25 on.
        ("2026-10-24T05:59:00Z", "2026-10-24T06:00:00Z"),
        ("2026-10-25T06:59:00Z", "2026-10-25T07:00:00Z"),
        ("2026-10-26T06:59:00Z", "2026-10-26T07:00:00Z"),
    ];
    for (i, (before, at)) in pairs.drain(..).enumerate() {
        if i == 3 {
            // Half a year later: one catch-up run first.
            assert!(digest_ran(&s, "2026-10-23T12:00:00Z").0);
        }
        let (ran, err) = digest_ran(&s, before);
        assert!(!ran, "ran at {before}: {err}");
        let (ran, err) = digest_ran(&s, at);
        assert!(ran, "did not run at {at}: {err}");
    }
    // What it reported is the local day before, on each side.
    let r = s.run(&[
        "--now",
        "2026-03-29T06:00:00Z",
        "--dry-run",
        "cost",
        "digest",
    ]);
    assert!(
        r.stdout.starts_with("Cost digest, daily Sat 2026-03-28\n"),
        "{}",
        r.stdout
    );
    let r = s.run(&[
        "--now",
        "2026-10-26T07:00:00Z",
        "--dry-run",
        "cost",
        "digest",
    ]);
    assert!(
        r.stdout.starts_with("Cost digest, daily Sun 2026-10-25\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn budget_periods_reset_at_berlin_midnight_on_both_sides_of_both_changes() {
    let s = Sandbox::new();
    s.write_settings(
        "[general]\ntimezone = \"Europe/Berlin\"\n[cost]\nweek_start = \"monday\"\n\
         [[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 1000.0\n\
         [[cost.budgets]]\nperiod = \"weekly\"\nlimit_usd = 1000.0\n\
         [[cost.budgets]]\nperiod = \"monthly\"\nlimit_usd = 1000.0\n\
         [[cost.budgets]]\nperiod = \"monthly\"\nlimit_tokens = 1000000000\n",
    );
    // Each line's cost names where it is; tokens mirror it.
    transcript(
        &s,
        "main",
        SID,
        &[
            // Monday 2026-03-30 (after the spring change) starts 2026-03-29T22:00Z.
            line("s1", "2026-03-29T21:59:59.000Z", "m", 1, 1.0),
            line("s2", "2026-03-29T22:00:00.000Z", "m", 2, 2.0),
            // April starts 2026-03-31T22:00Z (CEST).
            line("s3", "2026-03-31T21:59:59.000Z", "m", 4, 4.0),
            line("s4", "2026-03-31T22:00:00.000Z", "m", 8, 8.0),
            // Monday 2026-10-26 (after the autumn change) starts 2026-10-25T23:00Z.
            line("f1", "2026-10-25T22:59:59.000Z", "m", 16, 16.0),
            line("f2", "2026-10-25T23:00:00.000Z", "m", 32, 32.0),
            // November starts 2026-10-31T23:00Z (CET).
            line("f3", "2026-10-31T22:59:59.000Z", "m", 64, 64.0),
            line("f4", "2026-10-31T23:00:00.000Z", "m", 128, 128.0),
        ],
    );
    s.run(&["--now", "2026-12-01T00:00:00Z", "cost", "track"])
        .code(0);
    // Every line is in the ledger already (counted at the end of the year): each budget sums
    // its whole current period, so a line moves between periods only by local midnight.
    let spent = |now: &str| -> Vec<i64> {
        let r = s.run(&["--now", now, "--json", "budget", "check"]);
        r.code(0);
        r.json()["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let v = &b["verdict"];
                match v["spent_usd"].as_str() {
                    Some(_) => crate::common::micros(&v["spent_usd"]),
                    None => v["spent_tokens"].as_i64().unwrap(),
                }
            })
            .collect()
    };
    let m = 1_000_000;
    // [daily, weekly, monthly USD, monthly tokens]. Monday 2026-03-30 00:00:01 CEST: the
    // day holds s2; the week (Mon 30 ..) s2, s3, s4; March s1, s2, s3.
    assert_eq!(spent("2026-03-29T22:00:01Z"), [2 * m, 14 * m, 7 * m, 7]);
    // Sunday 23:59:59 CEST, a second before: the day and week before hold s1 only.
    assert_eq!(spent("2026-03-29T21:59:59Z"), [m, m, 7 * m, 7]);
    // 2026-03-31 23:59:59 CEST, still March; 2026-04-01 00:00:01 CEST, April holds s4.
    assert_eq!(spent("2026-03-31T21:59:59Z"), [4 * m, 14 * m, 7 * m, 7]);
    assert_eq!(spent("2026-03-31T22:00:01Z"), [8 * m, 14 * m, 8 * m, 8]);
    // Autumn: Sunday 2026-10-25 23:59:59 CET (the 25-hour day) holds f1; Monday 00:00:01 CET
    // starts the day and week with f2 (the week runs to Sunday 11-01: f2, f3, f4).
    assert_eq!(
        spent("2026-10-25T22:59:59Z"),
        [16 * m, 16 * m, 112 * m, 112]
    );
    assert_eq!(
        spent("2026-10-25T23:00:01Z"),
        [32 * m, 224 * m, 112 * m, 112]
    );
    // November 00:00:01 CET: the day and month hold f4.
    assert_eq!(
        spent("2026-10-31T22:59:59Z"),
        [64 * m, 224 * m, 112 * m, 112]
    );
    assert_eq!(
        spent("2026-10-31T23:00:01Z"),
        [128 * m, 224 * m, 128 * m, 128]
    );
}

#[test]
fn token_budgets_alert_once_per_level_at_the_sink() {
    let s = Sandbox::new();
    s.write_settings(
        "[general]\ntimezone = \"UTC\"\n[alerts]\nretries = 0\n\
         [[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl_env = \"T_HOOK\"\n\
         [[cost.budgets]]\nperiod = \"daily\"\nlimit_tokens = 10000\ntokens = [\"input\", \"output\"]\nagent = \"main\"\n",
    );
    let srv = FakeHttp::start(&[]);
    let env = [("T_HOOK", srv.url("/hook"))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let go = |now: &str, args: &[&str]| {
        let mut a = vec!["--now", now];
        a.extend_from_slice(args);
        s.run_env(&a, &env)
    };
    let mut lines = vec![line("t1", "2026-03-10T01:00:00.000Z", "m", 5000, 0.01)];
    let p = transcript(&s, "main", SID, &lines);
    // Below 80 %: no alert.
    go("2026-03-10T02:00:00Z", &["cost-track"]).code(0);
    go("2026-03-10T02:00:00Z", &["budget-check"])
        .code(0)
        .silent();
    assert!(srv.take().is_empty());
    // 85 %: one warning; the same level again: none.
    lines.push(line("t2", "2026-03-10T03:00:00.000Z", "m", 3500, 0.01));
    let _ = p;
    transcript(&s, "main", SID, &lines);
    go("2026-03-10T04:00:00Z", &["cost-track"]).code(0);
    let r = go("2026-03-10T04:00:00Z", &["budget-check"]);
    r.code(1);
    assert!(
        r.stdout.lines().all(|l| l.chars().count() <= 100),
        "{}",
        r.stdout
    );
    let flat = r.stdout.replace("\n  ", " ");
    assert!(
        flat.contains("budget daily tokens(input+output) agent=main: warning — 8,500 tokens of 10,000 tokens (85 %)"),
        "{}",
        r.stdout
    );
    let j = go("2026-03-10T04:00:00Z", &["--json", "budget", "check"]);
    let b = &j.json()["budgets"][0];
    assert_eq!(b["unit"], "tokens");
    assert_eq!(b["verdict"]["spent_tokens"], 8500);
    // 8,500 tokens in 4 h of today: at that rate 10,000 are passed at 04:42:22.
    assert_eq!(b["verdict"]["passes_at"], "2026-03-10T04:42:22Z");
    go("2026-03-10T04:30:00Z", &["budget-check"])
        .code(1)
        .silent();
    let sent = srv.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let a = sent[0].json();
    assert_eq!(a["severity"], "warning");
    assert!(
        a["text"]
            .as_str()
            .unwrap()
            .contains("8,500 tokens of 10,000 tokens spent, 80 % threshold"),
        "{a}"
    );
    // Cache tokens are not counted by this budget; 1,600 more input passes it: one critical.
    let mut t3: Value =
        serde_json::from_str(&line("t3", "2026-03-10T05:00:00.000Z", "m", 1600, 0.01)).unwrap();
    t3["message"]["usage"]["cacheRead"] = json!(900_000);
    lines.push(t3.to_string());
    transcript(&s, "main", SID, &lines);
    go("2026-03-10T06:00:00Z", &["cost-track"]).code(0);
    go("2026-03-10T06:00:00Z", &["budget-check"]).code(1);
    go("2026-03-10T06:30:00Z", &["budget-check"])
        .code(1)
        .silent();
    let sent = srv.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].json()["severity"], "critical");
    assert!(sent[0].json()["text"]
        .as_str()
        .unwrap()
        .contains("10,100 tokens of 10,000"));
    // The next day starts at zero: one recovery each for the warning and the exceeded alert, then silence.
    go("2026-03-11T00:10:00Z", &["budget-check"]).code(0);
    let sent = srv.take();
    assert!(
        !sent.is_empty() && sent.iter().all(|r| r.json()["kind"] == "recovery"),
        "{sent:?}"
    );
    go("2026-03-11T00:20:00Z", &["budget-check"])
        .code(0)
        .silent();
    assert!(srv.take().is_empty());
}

#[test]
fn bad_token_budget_and_digest_settings_name_file_line_and_key() {
    let s = Sandbox::new();
    for (text, want) in [
        (
            "[[cost.budgets]]\nperiod = \"daily\"\nlimit_tokens = 100\nlimit_usd = 2.0\n",
            ":4: cost.budgets[0].limit_usd = 2: set limit_usd or limit_tokens, not both in [[cost.budgets]]",
        ),
        (
            "[[cost.budgets]]\nlimit_tokens = 100\ntokens = [\"reasoning\"]\n",
            ":3: cost.budgets[0].tokens = \"reasoning\": expected one of",
        ),
        ("[digest]\nperiods = [\"monthly\"]\n", ":2: digest.periods = \"monthly\""),
    ] {
        s.write_settings(text);
        let r = s.run(&["budget", "check"]);
        r.code(78);
        assert!(r.stderr.contains("claw.toml") && r.stderr.contains(want), "{text}: {}", r.stderr);
    }
}
