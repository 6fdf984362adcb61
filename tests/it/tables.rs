//! Human output fits 100 columns on a home with long names and large numbers, numbers read
//! like ccusage's (thousands separators, dollars to the cent), and colour appears only on a
//! terminal and never with NO_COLOR.

use crate::common::{run_cmd, Run, Sandbox};
use serde_json::json;
use std::process::Command;

const NOW: &str = "2026-03-12T12:00:00Z";
const LONG_AGENT: &str = "research-assistant-with-a-rather-long-agent-identifier-for-tables";
const LONG_MODEL: &str = "claude-sonnet-4-5-20250929-with-an-unusually-long-model-name-for-tests";
const SID: &str = "ffffffff-0000-4000-8000-000000000001";
const SID2: &str = "99999999-0000-4000-8000-000000000002";

fn wide_home() -> Sandbox {
    let s = Sandbox::new();
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n\
         [[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 5.0\nagent = \"{LONG_AGENT}\"\nmodel = \"{LONG_MODEL}\"\n\
         [[cost.budgets]]\nperiod = \"monthly\"\nlimit_tokens = 1000\nagent = \"{LONG_AGENT}\"\n"
    ));
    for (agent, sid) in [(LONG_AGENT, SID), ("main", SID2)] {
        let dir = s.openclaw().join("agents").join(agent).join("sessions");
        std::fs::create_dir_all(&dir).unwrap();
        let mut t = json!({"type":"session","version":3,"id":sid,"timestamp":"2026-03-10T09:00:00.000Z","cwd":"/w"}).to_string();
        for day in 10..=12 {
            for i in 0..4 {
                let l = json!({"type":"message","id":format!("{agent}-{day}-{i}"),"parentId":null,
                    "timestamp":format!("2026-03-{day}T0{i}:00:00.000Z"),
                    "message":{"role":"assistant","content":[{"type":"text","text":"x"}],
                    "provider":"anthropic","model":LONG_MODEL,
                    "usage":{"input":987_654_321u64,"output":123_456_789u64,"cacheRead":999_999_999u64,
                    "cacheWrite":555_555_555u64,"totalTokens":2_666_666_664u64,
                    "cost":{"total":9876.54321}}}});
                t.push('\n');
                t.push_str(&l.to_string());
            }
        }
        t.push('\n');
        std::fs::write(dir.join(format!("{sid}.jsonl")), t).unwrap();
        let key =
            format!("agent:{agent}:telegram:group:-1001234567890:topic:4242:with-a-long-suffix");
        std::fs::write(
            dir.join("sessions.json"),
            json!({ key: {"sessionId": sid, "updatedAt": 1773300000000u64, "label": "a label long enough to need cutting in a table"} }).to_string(),
        )
        .unwrap();
    }
    s.run(&["--now", NOW, "cost-track"]).code(0);
    s.run(&["--now", NOW, "compaction-backup"]).code(0);
    s
}

fn assert_fits(what: &str, r: &Run) {
    assert!(
        !r.stdout.trim().is_empty(),
        "{what}: printed nothing\n{}",
        r.stderr
    );
    for l in r.stdout.lines() {
        assert!(
            l.chars().count() <= 100,
            "{what}: a line of {} columns:\n{l}\n---\n{}",
            l.chars().count(),
            r.stdout
        );
    }
    assert!(
        !r.stdout.contains('\x1b'),
        "{what}: escape codes without a terminal:\n{}",
        r.stdout
    );
}

#[test]
fn every_human_table_fits_100_columns_and_reads_like_ccusage() {
    let s = wide_home();
    for by in ["day", "agent", "model", "session", "week", "month"] {
        let r = s.run(&["--now", NOW, "cost", "report", "--by", by, "--days", "7"]);
        r.code(0);
        assert_fits(&format!("cost report --by {by}"), &r);
    }
    let r = s.run(&["--now", NOW, "cost", "report", "--days", "7"]);
    // Right-aligned, thousands separators, dollars to the cent, a rule before the total.
    assert!(r.stdout.contains("$79,012.35"), "{}", r.stdout);
    assert!(r.stdout.contains("7,901,234,568"), "{}", r.stdout);
    let total = r.stdout.lines().find(|l| l.starts_with("TOTAL")).unwrap();
    // These numbers need every column: cost per 1k tokens gives way, the days stay whole.
    assert!(total.ends_with("  $237,037.04"), "{total}");
    let header = r.stdout.lines().next().unwrap();
    assert!(header.ends_with(" COST"), "{header}");
    let row = r.stdout.lines().nth(1).unwrap();
    assert!(
        row.starts_with("2026-03-10  ") && row.ends_with("  $79,012.35"),
        "{}",
        r.stdout
    );
    // On a smaller home it is there.
    let j = s.run(&[
        "--now", NOW, "cost", "report", "--days", "7", "--by", "agent",
    ]);
    assert!(
        j.stdout.lines().next().unwrap().contains("COST"),
        "{}",
        j.stdout
    );
    // Exact figures stay in --csv and --json.
    let csv = s.run(&["--now", NOW, "cost", "report", "--days", "7", "--csv"]);
    // 8 lines of 9876.54321 a day, summed exactly.
    assert!(csv.stdout.contains(",79012.34568,"), "{}", csv.stdout);
    let j = s
        .run(&["--now", NOW, "--json", "cost", "report", "--days", "7"])
        .json();
    assert_eq!(j["total"]["cost_usd"], "237037.03704");

    let r = s.run(&["--now", NOW, "cost", "top"]);
    assert_fits("cost top", &r);
    assert!(
        r.stdout.contains('…'),
        "long names are cut with a mark:\n{}",
        r.stdout
    );

    let r = s.run(&["--now", NOW, "budget-check"]);
    r.code(1);
    assert_fits("budget-check", &r);
    assert!(r.stdout.contains("EXCEEDED"), "{}", r.stdout);
    assert!(
        r.stdout
            .replace("\n  ", " ")
            .contains("$39,506.17 of $5.00"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .replace("\n  ", " ")
            .contains("31,999,999,968 tokens of 1,000 tokens"),
        "{}",
        r.stdout
    );

    let r = s.run(&["--now", NOW, "sessions", "list"]);
    r.code(0);
    assert_fits("sessions list", &r);
    assert!(r.stdout.contains("2026-03-12 12:00"), "{}", r.stdout);

    let r = s.run(&["status"]);
    r.code(0);
    assert_fits("status", &r);

    let r = s.run(&["--now", NOW, "--dry-run", "cost", "digest"]);
    r.code(0);
    assert_fits("cost digest", &r);
}

/// Run `args` under `script(1)`, so claw's stdout is a terminal.
fn on_a_tty(s: &Sandbox, args: &[&str], extra: &[(&str, &str)]) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        crate::common::skip("script(1) (util-linux) is not installed: the terminal colour case");
        return None;
    }
    let plain = s.cmd(args);
    let mut line = plain.get_program().to_string_lossy().into_owned();
    for a in plain.get_args() {
        line.push_str(&format!(" '{}'", a.to_string_lossy()));
    }
    let mut c = Command::new("script");
    c.args(["-q", "-e", "-c", &line, "/dev/null"]).env_clear();
    for (k, v) in plain.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.env("SHELL", "/bin/sh").env("TERM", "xterm");
    for (k, v) in extra {
        c.env(k, v);
    }
    let r = run_cmd(c);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    Some(r.stdout)
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let s = wide_home();
    let args = ["--now", NOW, "cost", "report", "--days", "7"];
    let Some(tty) = on_a_tty(&s, &args, &[]) else {
        return;
    };
    assert!(
        tty.contains("\x1b[1m"),
        "a terminal gets a bold header:\n{tty:?}"
    );
    let no = on_a_tty(&s, &args, &[("NO_COLOR", "1")]).unwrap();
    assert!(!no.contains('\x1b'), "NO_COLOR: {no:?}");
    assert!(no.contains("TOTAL"), "{no:?}");
    // Not a terminal (a pipe): none.
    assert!(!s.run(&args).stdout.contains('\x1b'));
}
