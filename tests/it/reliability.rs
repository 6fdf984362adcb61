//! Failed runs recorded right, actions never run twice (issue 12): a cost-track that fails
//! mid-run still records its end and raises its job-failed alert; a budget's `on_exceeded` is
//! recorded before it runs and killed at its timeout.

use crate::common::Sandbox;
use serde_json::json;

const NOW: &str = "2026-03-10T12:00:00Z";
const SID: &str = "aaaaaaaa-0000-4000-8000-0000000000c1";

fn usage_line(id: &str, cost: f64) -> String {
    json!({"type":"message","id":id,"timestamp":"2026-03-10T10:00:00.000Z","message":{"role":"assistant",
        "content":[],"provider":"anthropic","model":"claude-sonnet-4-5",
        "usage":{"input":100,"output":20,"cost":{"total":cost}},"stopReason":"stop"}})
    .to_string()
}

fn transcript(s: &Sandbox, cost: f64) {
    let dir = s.openclaw().join("agents/main/sessions");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{SID}.jsonl")),
        usage_line("c0000001", cost) + "\n",
    )
    .unwrap();
}

fn ledger(s: &Sandbox) -> rusqlite::Connection {
    rusqlite::Connection::open(s.state().join("ledger.db")).unwrap()
}

#[test]
fn a_cost_track_failing_mid_run_records_its_end_and_its_alert() {
    let s = Sandbox::new();
    let alerts = s.root().join("alerts.jsonl");
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n[[alerts.sinks]]\nname = \"cmd\"\nkind = \"command\"\n\
         command = [\"sh\", \"-c\", \"cat >> '{}'; echo >> '{}'\"]\n",
        alerts.display(),
        alerts.display()
    ));
    transcript(&s, 0.5);
    let r = s.run_env(
        &["--now", NOW, "cost-track"],
        &[("CLAW_FAULT", "cost-track-ledger-error")],
    );
    assert!(r.code != 0 && r.code != 101, "{}\n{}", r.code, r.stderr);
    let db = ledger(&s);
    let (ended, code): (Option<String>, Option<i64>) = db
        .query_row(
            "SELECT ended_at, exit_code FROM runs WHERE job = 'cost-track' ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(ended.is_some(), "the run's end was lost");
    assert_eq!(code, Some(r.code as i64));
    // What the failed run counted was rolled back, not half-kept.
    let lines: i64 = db
        .query_row("SELECT count(*) FROM cost_lines", [], |r| r.get(0))
        .unwrap();
    assert_eq!(lines, 0);
    let sent = std::fs::read_to_string(&alerts).unwrap_or_default();
    assert!(
        sent.contains("job-failed") && sent.contains("cost-track failed"),
        "no job-failed alert: {sent:?}\n{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("cannot record the alert"),
        "{}",
        r.stderr
    );
    // The next run counts the line once.
    s.run(&["--now", NOW, "cost-track"]).code(0);
    let lines: i64 = ledger(&s)
        .query_row("SELECT count(*) FROM cost_lines", [], |r| r.get(0))
        .unwrap();
    assert_eq!(lines, 1);
}

#[test]
fn on_exceeded_is_recorded_before_it_runs_so_a_kill_never_runs_it_twice() {
    let s = Sandbox::new();
    let log = s.root().join("actions.log");
    // The action kills claw itself (its parent) while it runs: the harshest interruption.
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n[[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 1.0\n\
         on_exceeded = [\"sh\", \"-c\", \"echo ran >> '{}'; kill -9 $PPID\"]\n",
        log.display()
    ));
    transcript(&s, 2.0);
    s.run(&["--now", NOW, "cost-track"]).code(0);
    let r = s.run(&["--now", NOW, "budget-check"]);
    assert_eq!(r.code, -1, "claw was killed by its action: {}", r.stderr);
    for _ in 0..2 {
        let r = s.run(&["--now", "2026-03-10T13:00:00Z", "budget-check"]);
        assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    }
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "ran\n", "ran once");
    // The next period runs it again.
    std::fs::write(
        s.openclaw()
            .join(format!("agents/main/sessions/{SID}.jsonl")),
        json!({"type":"message","id":"c0000002","timestamp":"2026-03-11T10:00:00.000Z","message":{"role":"assistant",
            "content":[],"provider":"anthropic","model":"claude-sonnet-4-5",
            "usage":{"input":100,"output":20,"cost":{"total":2.0}},"stopReason":"stop"}})
        .to_string()
            + "\n",
    )
    .unwrap();
    s.run(&["--now", "2026-03-11T12:00:00Z", "cost-track"])
        .code(0);
    s.run(&["--now", "2026-03-11T12:00:00Z", "budget-check"]);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "ran\nran\n");
}

#[test]
fn a_hanging_on_exceeded_is_killed_at_its_timeout() {
    let s = Sandbox::new();
    s.write_settings(
        "[general]\ntimezone = \"UTC\"\n[cost]\naction_timeout_secs = 1\n\
         [[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 1.0\non_exceeded = [\"sleep\", \"60\"]\n",
    );
    transcript(&s, 2.0);
    s.run(&["--now", NOW, "cost-track"]).code(0);
    let t = std::time::Instant::now();
    let r = s.run(&["--now", NOW, "budget-check"]);
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("killed after 1 s"), "{}", r.stderr);
    let code: Option<i64> = ledger(&s)
        .query_row("SELECT exit_code FROM budget_actions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(code, Some(-1));
}

/// Typed settings: a value out of its range is refused when the file is loaded, by any
/// command, in one line naming the file, line, table and key.
#[test]
fn a_bad_settings_value_is_refused_at_load_by_every_command() {
    let s = Sandbox::new();
    s.write_settings("[general]\ntimezone = \"UTC\"\n[compaction_backup]\nzstd_level = 99\n");
    for args in [
        vec!["status"],
        vec!["cost", "report"],
        vec!["stuck-agent", "scan"],
    ] {
        let r = s.run(&args);
        assert_eq!(r.code, 78, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("claw.toml:4: compaction_backup.zstd_level = 99: expected 1 .. 19 in [compaction_backup]"),
            "{}",
            r.stderr
        );
    }
}
