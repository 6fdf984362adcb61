//! Absurd numbers in a usage line (issue 12 "one line poisons the ledger", issue 17 "absurd
//! lines"): each is a problem naming its file and line, never spend; a ledger poisoned by an
//! older claw still reports.

use crate::common::Sandbox;
use serde_json::json;

const NOW: &str = "2026-03-10T12:00:00Z";
const SID: &str = "aaaaaaaa-0000-4000-8000-0000000000a1";

fn line(id: &str, usage: serde_json::Value) -> String {
    json!({"type":"message","id":id,"timestamp":"2026-03-10T10:00:00.000Z","message":{"role":"assistant",
        "content":[],"api":"anthropic-messages","provider":"anthropic","model":"claude-sonnet-4-5",
        "usage":usage,"stopReason":"stop"}})
    .to_string()
}

fn ok_usage(cost: f64) -> serde_json::Value {
    json!({"input":100,"output":20,"cacheRead":0,"cacheWrite":0,"cost":{"total":cost}})
}

/// The absurd usages, each with a word its problem line must carry.
fn absurd() -> Vec<(serde_json::Value, &'static str)> {
    vec![
        (ok_usage(1e18), "cost"),
        (ok_usage(1e300), "cost"),
        (ok_usage(-5.0), "cost"),
        // Finer than any cost (a digit below 10^-36 USD): refused, never rounded.
        (ok_usage(1.5e-40), "10^-36"),
        (
            json!({"input":100,"output":20,"cost":{"total":"Infinity"}}),
            "cost",
        ),
        (
            json!({"input":100,"output":20,"cost":{"total":"NaN"}}),
            "cost",
        ),
        (
            json!({"input":u64::MAX,"output":1,"cost":{"total":0.01}}),
            "input",
        ),
        (
            json!({"input":1,"output":9007199254740993u64,"cost":{"total":0.01}}),
            "output",
        ),
        (
            json!({"input":1,"output":1,"cacheRead":-7,"cost":{"total":0.01}}),
            "cacheRead",
        ),
        (
            json!({"input":1,"output":1,"cacheWrite":1e30}),
            "cacheWrite",
        ),
    ]
}

fn home(s: &Sandbox) -> std::path::PathBuf {
    s.write_settings("[general]\ntimezone = \"UTC\"\n");
    let dir = s.openclaw().join("agents/main/sessions");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{SID}.jsonl"))
}

fn report_micros(s: &Sandbox) -> i64 {
    let r = s.run(&["--now", NOW, "--json", "cost", "report"]);
    r.code(0);
    crate::common::micros(&r.json()["total"]["cost_usd"])
}

#[test]
fn absurd_usage_lines_are_problems_naming_file_and_line_never_spend() {
    let s = Sandbox::new();
    let path = home(&s);
    let mut lines = vec![line("good0001", ok_usage(0.25))];
    let cases = absurd();
    for (i, (u, _)) in cases.iter().enumerate() {
        lines.push(line(&format!("bad{i:05}"), u.clone()));
    }
    lines.push(line("good0002", ok_usage(0.5)));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let r = s.run(&["--now", NOW, "cost", "track"]);
    r.code(0);
    let problems: Vec<&str> = r.stderr.lines().filter(|l| l.contains("absurd")).collect();
    assert_eq!(problems.len(), cases.len(), "{}", r.stderr);
    for (i, (_, word)) in cases.iter().enumerate() {
        let p = problems[i];
        assert!(p.contains(&format!("{SID}.jsonl")), "{p}");
        // The line is named by its byte offset (where `tail -c +N` finds it) and its id.
        assert!(
            p.contains("byte ") && p.contains(&format!("bad{i:05}")),
            "{p}"
        );
        assert!(p.contains(word), "{p}");
    }
    assert_eq!(report_micros(&s), 750_000);
    for args in [
        vec!["budget", "check"],
        vec!["pricing", "reprice"],
        vec!["cost", "top"],
    ] {
        let mut a = vec!["--now", NOW];
        a.extend(args.iter());
        let r = s.run(&a);
        assert!(r.code == 0, "{args:?}: {}\n{}", r.stdout, r.stderr);
    }
    assert_eq!(report_micros(&s), 750_000);
}

#[test]
fn absurd_usage_rows_in_the_agent_database_are_problems_naming_db_and_event() {
    let s = Sandbox::new();
    home(&s);
    let db = s.openclaw().join("agents/main/agent/openclaw-agent.sqlite");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL,
           event_json TEXT, event_zstd BLOB, PRIMARY KEY (session_id, seq));",
    )
    .unwrap();
    let rows = [
        line("good0001", ok_usage(0.25)),
        line("bad00001", ok_usage(1e300)),
        line("bad00002", json!({"input":u64::MAX,"output":1})),
    ];
    for (i, l) in rows.iter().enumerate() {
        c.execute(
            "INSERT INTO transcript_events (session_id, seq, event_json) VALUES (?1, ?2, ?3)",
            rusqlite::params![SID, i as i64 + 1, l],
        )
        .unwrap();
    }
    drop(c);
    let r = s.run(&["--now", NOW, "cost", "track"]);
    let problems: Vec<&str> = r.stderr.lines().filter(|l| l.contains("absurd")).collect();
    assert_eq!(problems.len(), 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        problems.iter().all(|p| p.contains("openclaw-agent.sqlite")),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("seq 2") && problems[1].contains("seq 3"),
        "{problems:?}"
    );
    assert_eq!(report_micros(&s), 250_000);
}

#[test]
fn a_ledger_poisoned_by_an_older_claw_still_reports_and_reprice_heals_it() {
    let s = Sandbox::new();
    let path = home(&s);
    s.write_settings(
        "[general]\ntimezone = \"UTC\"\n[[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 100.0\n",
    );
    std::fs::write(&path, line("good0001", ok_usage(0.25)) + "\n").unwrap();
    s.run(&["--now", NOW, "cost", "track"]).code(0).silent();
    // What an unbounded claw wrote for `cost.total: 1e18` and tokens of u64 max (a line at
    // i64::MAX micro-dollars, after the exact-money migration), and the daily totals the
    // migration kept for them (clamped to i64::MAX micro-dollars each).
    let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    db.execute_batch(&format!(
        "INSERT INTO cost_kinds (day, provider, model, price_source)
           VALUES ('2026-03-10', 'anthropic', 'claude-sonnet-4-5', 'logged') ON CONFLICT DO NOTHING;
         INSERT INTO cost_entries (session, entry_id, kind, ts, input, output, cache_read,
           cache_write, logged_usd, computed_usd, source, counted_at)
         SELECT s.id, e.column1, k.id, e.column2, e.column3, e.column4, 0, 0, '{max}', NULL,
           src.id, 0
         FROM cost_sessions s, cost_sources src, cost_kinds k, (
           VALUES ('poison1', '2026-03-10T10:00:00.000Z', -1, 20),
                  ('poison2', '2026-03-10T10:00:01.000Z', 1, 20)) e
         WHERE s.session_id = '{SID}' AND src.agent_id = 'main' AND k.day = '2026-03-10'
           AND k.provider = 'anthropic' AND k.model = 'claude-sonnet-4-5'
           AND k.price_source = 'logged';
         UPDATE cost_daily SET lines = lines + 2, logged_usd = '{max}', auto_usd = '{max}';",
        max = "9223372036854.775807"
    ))
    .unwrap();
    drop(db);
    for args in [
        vec!["cost", "report"],
        vec!["--json", "cost", "report"],
        vec!["cost", "top"],
        vec!["cost", "report", "--by", "agent"],
    ] {
        let mut a = vec!["--now", NOW];
        a.extend(args.iter());
        let r = s.run(&a);
        assert_eq!(r.code, 0, "{args:?}: {}\n{}", r.stdout, r.stderr);
    }
    // The budget sees a saturated spend: exceeded, a finding, not an I/O error.
    let r = s.run(&["--now", NOW, "budget", "check"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    // Repricing rebuilds the totals without the absurd lines, and says so.
    let r = s.run(&["--now", NOW, "pricing", "reprice"]);
    r.code(0);
    assert!(
        r.stderr.contains("2 counted lines carry absurd numbers"),
        "{}",
        r.stderr
    );
    assert_eq!(report_micros(&s), 250_000);
    // The budget is back under its limit: said once as a recovery, then silence.
    let r = s.run(&["--now", NOW, "budget", "check"]);
    r.code(0);
    assert!(
        r.stdout.starts_with("recovered: budget daily"),
        "{}",
        r.stdout
    );
    s.run(&["--now", NOW, "budget", "check"]).code(0).silent();
}

/// Retry-After and times in gateway logs are outside input too: absurd ones are bounded, and
/// neither this run nor the next fails on them.
#[test]
fn absurd_numbers_in_gateway_logs_do_not_break_rate_limit_detect() {
    let s = Sandbox::new();
    let dir = s.root().join("tmp-openclaw");
    std::fs::create_dir_all(&dir).unwrap();
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n[rate_limit]\nlog_dirs = [{:?}]\njournald = \"off\"\nthreshold = 1\n",
        dir.display().to_string()
    ));
    let mut lines = Vec::new();
    for (i, ra) in ["9000000000000000000", "99999999999", "18446744073709551615"]
        .iter()
        .enumerate()
    {
        lines.push(json!({"0": "{\"subsystem\":\"agent/embedded\"}",
            "1": {"event": "embedded_run_agent_end", "isError": true, "failoverReason": "rate_limit",
                  "provider": format!("p{i}"), "model": "m",
                  "rawErrorPreview": format!("429 rate_limit_error retry-after: {ra}")},
            "2": "embedded run agent end",
            "_meta": {"logLevelName": "WARN", "date": format!("2026-05-04T12:0{i}:00Z")},
            "time": format!("2026-05-04T14:0{i}:00.000+02:00")}).to_string());
    }
    // A time far outside chrono's range in epoch milliseconds.
    lines.push(json!({"time": 9.9e300, "message": "[model-fetch] response provider=q api=x model=m status=429"}).to_string());
    std::fs::write(dir.join("openclaw-2026-05-04.log"), lines.join("\n") + "\n").unwrap();
    for now in [
        "2026-05-04T12:05:00Z",
        "2026-05-04T12:06:00Z",
        "2026-05-05T12:06:00Z",
    ] {
        let r = s.run(&["--now", now, "rate-limit-detect"]);
        assert!(
            r.code == 0 || r.code == 1,
            "{now}: {}\n{}",
            r.stdout,
            r.stderr
        );
    }
}
