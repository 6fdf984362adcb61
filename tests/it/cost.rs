//! `claw cost ...` and `claw pricing ...` driven through the binary, on homes built here from
//! the formats (and the real 2026.3.8 transcript when ../shared is present).

use crate::common::{Run, Sandbox};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

const NOW: &str = "2026-03-10T12:00:00Z";
const SID_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const SID_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
const SID_C: &str = "cccccccc-0000-4000-8000-000000000003";

fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.write_settings("[general]\ntimezone = \"UTC\"\n");
    s
}

fn sessions(s: &Sandbox, agent: &str) -> PathBuf {
    let p = s.openclaw().join("agents").join(agent).join("sessions");
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn header(sid: &str) -> String {
    json!({"type":"session","version":3,"id":sid,"timestamp":"2026-03-08T09:00:00.000Z","cwd":"/w"})
        .to_string()
}

/// An assistant line with usage; `cost` is `usage.cost.total` when given.
fn usage_line(
    id: &str,
    ts: &str,
    provider: &str,
    model: &str,
    tok: [u64; 4],
    cost: Option<f64>,
) -> String {
    let mut usage = json!({"input": tok[0], "output": tok[1], "cacheRead": tok[2], "cacheWrite": tok[3],
        "totalTokens": tok.iter().sum::<u64>()});
    if let Some(c) = cost {
        usage["cost"] =
            json!({"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": c});
    }
    json!({"type":"message","id":id,"parentId":null,"timestamp":ts,"message":{"role":"assistant",
        "content":[{"type":"text","text":"a reply long enough to look real; usage follows"}],
        "api":"anthropic-messages","provider":provider,"model":model,"usage":usage,"stopReason":"stop",
        "timestamp":1772960000000u64}})
    .to_string()
}

fn logged(id: &str, ts: &str, cost: f64) -> String {
    usage_line(
        id,
        ts,
        "anthropic",
        "claude-sonnet-4-5",
        [100, 20, 1000, 0],
        Some(cost),
    )
}

fn write_lines(path: &PathBuf, lines: &[String]) {
    let mut t = lines.join("\n");
    t.push('\n');
    std::fs::write(path, t).unwrap();
}

fn append(path: &PathBuf, text: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn track(s: &Sandbox) -> Run {
    s.run(&["--now", NOW, "cost", "track"])
}

/// (cost micro-dollars, counted lines, estimated, unpriced) from the report, auto mode.
fn totals(s: &Sandbox) -> (i64, i64, i64, i64) {
    totals_mode(s, "auto")
}

fn totals_mode(s: &Sandbox, mode: &str) -> (i64, i64, i64, i64) {
    let r = s.run(&[
        "--now",
        NOW,
        "--json",
        "cost",
        "report",
        "--cost-mode",
        mode,
    ]);
    r.code(0);
    let t = &r.json()["total"];
    (
        crate::common::micros(&t["cost_usd"]),
        t["lines"].as_i64().unwrap(),
        t["estimated_lines"].as_i64().unwrap(),
        t["unpriced_lines"].as_i64().unwrap(),
    )
}

#[test]
fn real_transcript_totals_equal_the_exact_sum_of_the_logged_literals() {
    use crate::common::Dec;
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let src = shared.join(
        "samples/home-2026.3.8/agents/main/sessions/8555a0a4-0b79-459d-939c-e17cdbbf4fe2.jsonl",
    );
    let text = std::fs::read_to_string(&src).unwrap();
    // Independent expectation: every assistant usage line except OpenClaw's injected ones,
    // cost.total exactly as written in the line (the raw text, never a float).
    let re = regex::Regex::new(r#""cost":\{[^}]*"total":(-?[0-9.eE+-]+)"#).unwrap();
    let mut want = Dec::default();
    let mut n = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let m = &v["message"];
        if m["role"] != "assistant" || m["usage"].is_null() {
            continue;
        }
        if m["provider"] == "openclaw" || m["model"] == "gateway-injected" {
            continue;
        }
        let lit = Dec::lit(re.captures(line).unwrap().get(1).unwrap().as_str());
        if lit != Dec::default() {
            n += 1;
        }
        want = want + lit;
    }
    // README of the samples: 0.1879331999999999925 when the stored literals are added exactly.
    assert_eq!(n, 10);
    assert_eq!(want.to_string(), "0.1879331999999999925");

    let s = sandbox();
    let dst = sessions(&s, "main").join("8555a0a4-0b79-459d-939c-e17cdbbf4fe2.jsonl");
    std::fs::copy(&src, &dst).unwrap();
    track(&s).code(0).silent();
    let r = s.run(&["--now", NOW, "--json", "cost", "report"]);
    let t = &r.json()["total"];
    assert_eq!(t["cost_usd"], want.to_string(), "{t}");
    assert_eq!(
        (
            t["lines"].as_i64(),
            t["estimated_lines"].as_i64(),
            t["unpriced_lines"].as_i64()
        ),
        (Some(10), Some(0), Some(0))
    );
    let r = s.run(&["--now", NOW, "--json", "cost", "report", "--by", "model"]);
    let rows = r.json()["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["key"], "openai-codex/gpt-5.4");
    assert_eq!(rows[0]["cost_usd"], want.to_string());
    // The CSV carries the exact amount too; the table rounds it for display.
    let csv = s.run(&["--now", NOW, "cost", "report", "--csv"]).stdout;
    assert!(csv.contains(&format!(",{want},")), "{csv}");
    track(&s).code(0).silent();
    let r = s.run(&["--now", NOW, "--json", "cost", "report"]);
    assert_eq!(r.json()["total"]["cost_usd"], want.to_string());
}

#[test]
fn every_move_openclaw_makes_counts_each_line_once() {
    let s = sandbox();
    let dir = sessions(&s, "main");
    let a = dir.join(format!("{SID_A}.jsonl"));
    let l1 = logged("a0000001", "2026-03-08T10:00:00.000Z", 0.0125);
    let l2 = logged("a0000002", "2026-03-08T10:01:00.000Z", 0.000002);
    let l3 = logged("a0000003", "2026-03-08T10:02:00.000Z", 0.25);
    let l4 = logged("a0000004", "2026-03-09T10:03:00.000Z", 1.0);
    // The live file ends in the middle of line 3.
    std::fs::write(&a, format!("{}\n{l1}\n{l2}\n{}", header(SID_A), &l3[..40])).unwrap();
    track(&s).code(0).silent();
    assert_eq!(totals(&s), (12_500 + 2, 2, 0, 0));

    // Nothing new: nothing added.
    track(&s).code(0).silent();
    assert_eq!(totals(&s), (12_502, 2, 0, 0));

    // The writer completes line 3 and appends line 4.
    append(&a, &format!("{}\n{l4}\n", &l3[40..]));
    track(&s).code(0).silent();
    assert_eq!(totals(&s), (12_502 + 250_000 + 1_000_000, 4, 0, 0));
    let all = 1_262_502;

    // /reset: the live file becomes an archive (same inode) and a new live file starts.
    let reset = dir.join(format!("{SID_A}.jsonl.reset.2026-03-09T11-00-00.000Z"));
    std::fs::rename(&a, &reset).unwrap();
    let b = dir.join(format!("{SID_B}.jsonl"));
    write_lines(
        &b,
        &[
            header(SID_B),
            logged("b0000001", "2026-03-09T11:05:00.000Z", 0.5),
        ],
    );
    track(&s).code(0).silent();
    assert_eq!(totals(&s), (all + 500_000, 5, 0, 0));
    let all = all + 500_000;

    // A pre-compaction checkpoint copy repeats earlier lines.
    let cp = dir.join(format!(
        "{SID_A}.checkpoint.11111111-2222-4333-8444-555555555555.jsonl"
    ));
    write_lines(&cp, &[header(SID_A), l1.clone(), l2.clone()]);
    // Subagent archives: a deleted file, plain and zstd, repeating counted lines.
    let del = dir.join(format!("{SID_B}.jsonl.deleted.2026-03-09T12-00-00.000Z"));
    std::fs::copy(&b, &del).unwrap();
    let delz = dir.join(format!(
        "{SID_A}.jsonl.deleted.2026-03-09T12-00-00.000Z.zst"
    ));
    let raw = std::fs::read(&reset).unwrap();
    std::fs::write(&delz, zstd::encode_all(&raw[..], 3).unwrap()).unwrap();
    // Sidecars that mention usage are never transcripts.
    write_lines(
        &dir.join(format!("{SID_C}.trajectory.jsonl")),
        &[logged("c0000001", "2026-03-09T12:00:00.000Z", 99.0)],
    );
    std::fs::write(
        dir.join(".usage-cost-cache.json"),
        r#"{"usage":{"cost":{"total":99}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{SID_C}.trajectory-path.json")),
        r#"{"usage":1}"#,
    )
    .unwrap();
    track(&s).code(0).silent();
    assert_eq!(totals(&s), (all, 5, 0, 0));

    // A new subagent archive, zstd-compressed, with new lines counts once.
    let c = dir.join(format!(
        "{SID_C}.jsonl.deleted.2026-03-09T13-00-00.000Z.zst"
    ));
    let body = format!(
        "{}\n{}\n",
        header(SID_C),
        logged("c0000002", "2026-03-09T12:30:00.000Z", 0.75)
    );
    std::fs::write(&c, zstd::encode_all(body.as_bytes(), 3).unwrap()).unwrap();
    track(&s).code(0).silent();
    assert_eq!(totals(&s), (all + 750_000, 6, 0, 0));
    let all = all + 750_000;

    sqlite_era_counts_each_line_once(&s, [l1, l2, l3, l4], all);
}

/// The SQLite era, after the JSONL moves whose spend is `all` micro-dollars: the same
/// session A (`a_lines`) migrated into the agent database counts nothing again; new sessions
/// and rows appended there count once.
fn sqlite_era_counts_each_line_once(s: &Sandbox, a_lines: [String; 4], all: i64) {
    // The SQLite era: the same sessions migrated into the agent database (long events
    // zstd-compressed with event_json NULL), plus one new session only there.
    let db = s.openclaw().join("agents/main/agent/openclaw-agent.sqlite");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL;
         CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
           created_at INTEGER NOT NULL, event_zstd BLOB, event_utf8_bytes INTEGER, navigation_json TEXT,
           PRIMARY KEY (session_id, seq)) STRICT;",
    )
    .unwrap();
    let insert = |sid: &str, seq: i64, line: &str, compress: bool| {
        if compress {
            let z = zstd::encode_all(line.as_bytes(), 3).unwrap();
            conn.execute(
                "INSERT INTO transcript_events VALUES (?1, ?2, NULL, 0, ?3, ?4, NULL)",
                rusqlite::params![sid, seq, z, line.len() as i64],
            )
            .unwrap();
        } else {
            conn.execute(
                "INSERT INTO transcript_events VALUES (?1, ?2, ?3, 0, NULL, ?4, NULL)",
                rusqlite::params![sid, seq, line, line.len() as i64],
            )
            .unwrap();
        }
    };
    let [l1, l2, l3, l4] = a_lines;
    for (i, l) in [header(SID_A), l1, l2, l3, l4].iter().enumerate() {
        insert(SID_A, i as i64, l, i % 2 == 1);
    }
    let sid_d = "dddddddd-0000-4000-8000-000000000004";
    insert(sid_d, 0, &header(sid_d), false);
    insert(
        sid_d,
        1,
        &logged("d0000001", "2026-03-09T14:00:00.000Z", 0.125),
        true,
    );
    track(s).code(0).silent();
    assert_eq!(totals(s), (all + 125_000, 7, 0, 0));
    let all = all + 125_000;

    // Rows appended to an already-read session (JSON and zstd) are picked up, once.
    insert(
        sid_d,
        2,
        &logged("d0000002", "2026-03-09T14:01:00.000Z", 0.002),
        false,
    );
    insert(
        SID_A,
        5,
        &logged("a0000005", "2026-03-09T14:02:00.000Z", 0.003),
        true,
    );
    track(s).code(0).silent();
    // Nothing new: the database is not even opened, and is counted as a database, not a file.
    let v = s.run(&["--now", NOW, "--json", "cost", "track"]).json();
    let d = &v["detail"];
    assert_eq!(
        (&d["databases"], &d["databases_unchanged"]),
        (&1.into(), &1.into())
    );
    assert_eq!(d["files_unchanged"], d["files"], "{d}");
    assert_eq!(totals(s), (all + 5_000, 9, 0, 0));

    // Per session: A holds lines 1-4 + 5.
    let r = s.run(&["--now", NOW, "--json", "cost", "report", "--by", "session"]);
    let rows = r.json()["rows"].as_array().unwrap().clone();
    let a_row = rows
        .iter()
        .find(|r| r["key"] == format!("main/{SID_A}"))
        .unwrap();
    assert_eq!(a_row["lines"], 5);
    assert_eq!(crate::common::micros(&a_row["cost_usd"]), 1_262_502 + 3_000);
}

#[test]
fn a_line_read_twice_counts_once_and_is_reported_as_a_duplicate() {
    let s = sandbox();
    let dir = sessions(&s, "main");
    let ts = "2026-03-09T10:00:00.000Z";
    // Session A's lines, twice in one run (the live file and a reset archive of it): OpenClaw's
    // 8-hex ids, an id of another shape, and the same id in upper case (another entry).
    let a_lines = [
        header(SID_A),
        logged("a0000001", ts, 0.5),
        logged("entry-two", ts, 0.25),
        logged("A0000001", ts, 0.125),
    ];
    write_lines(&dir.join(format!("{SID_A}.jsonl")), &a_lines);
    let archive = format!("{SID_A}.jsonl.reset.2026-03-09T11-00-00.000Z");
    // Plus a damaged copy of the first line: recognized by its leading id, it is a duplicate
    // without being parsed (nothing to report about a line already counted).
    let damaged = logged("a0000001", ts, 0.5).replace(r#""usage":{"#, r#""usage":{,,"#);
    let mut copies = a_lines.to_vec();
    copies.push(damaged);
    write_lines(&dir.join(archive), &copies);
    // Session B reuses A's first id: another session, another entry.
    write_lines(
        &dir.join(format!("{SID_B}.jsonl")),
        &[header(SID_B), logged("a0000001", ts, 2.0)],
    );
    let run = |s: &Sandbox| {
        let r = s.run(&["--now", NOW, "--json", "cost", "track"]);
        r.code(0);
        let d = r.json()["detail"].clone();
        assert_eq!(d["corrupt"], 0, "{d}");
        (
            d["counted"].as_u64().unwrap(),
            d["duplicates"].as_u64().unwrap(),
        )
    };
    assert_eq!(run(&s), (4, 4));
    assert_eq!(totals(&s), (2_875_000, 4, 0, 0));
    // A third copy in a later run: duplicates of what the ledger holds.
    let archive = format!("{SID_A}.jsonl.deleted.2026-03-09T12-00-00.000Z");
    write_lines(&dir.join(archive), &a_lines);
    assert_eq!(run(&s), (0, 3));
    assert_eq!(totals(&s), (2_875_000, 4, 0, 0));
}

/// A compressed event's navigation as OpenClaw 2026.9.6 stores it (the parts claw reads).
fn navigation(role: Option<&str>) -> String {
    let mut nav = json!({"type": "message", "id": "x"});
    if let Some(r) = role {
        nav["message"] = json!({ "role": r });
    }
    json!({"version": 1, "report": {"kind": "canonical"}, "navigation": nav, "reset": {},
        "model": {}, "modelBytes": 1, "modelWithoutCheckpointBytes": 1, "withoutCustomDataBytes": 1})
    .to_string()
}

#[test]
fn compressed_events_that_are_no_assistant_message_are_not_decompressed() {
    let s = sandbox();
    let db = s.openclaw().join("agents/main/agent/openclaw-agent.sqlite");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
           created_at INTEGER NOT NULL, event_zstd BLOB, event_utf8_bytes INTEGER, navigation_json TEXT,
           PRIMARY KEY (session_id, seq)) STRICT;",
    )
    .unwrap();
    let put = |sid: &str, seq: i64, z: &[u8], nav: Option<String>| {
        conn.execute(
            "INSERT INTO transcript_events VALUES (?1, ?2, NULL, 0, ?3, 100, ?4)",
            rusqlite::params![sid, seq, z, nav],
        )
        .unwrap();
    };
    let z = |line: &str| zstd::encode_all(line.as_bytes(), 3).unwrap();
    let garbage = b"not zstd at all".as_slice();
    let ts = "2026-03-09T10:00:00.000Z";
    // Two sessions interleaved in table order, as concurrent sessions are.
    put(
        SID_A,
        1,
        &z(&logged("a0000001", ts, 0.5)),
        Some(navigation(Some("assistant"))),
    );
    put(SID_B, 1, &z(&logged("b0000001", ts, 0.25)), None);
    // Said to be a user message, a tool result, no message at all, a message without a role:
    // never decompressed (their blobs are garbage, and no problem is reported).
    put(SID_A, 2, garbage, Some(navigation(Some("user"))));
    put(SID_B, 2, garbage, Some(navigation(Some("toolResult"))));
    put(SID_A, 3, garbage, Some(navigation(None)));
    let no_role = navigation(Some("x")).replace(r#"{"role":"x"}"#, "{}");
    put(SID_B, 3, garbage, Some(no_role));
    // Not certain: said to be an assistant message, no navigation, another version, a role
    // that is no string, a duplicate key. Each is decompressed, so each garbage blob is a
    // problem.
    put(SID_A, 4, garbage, Some(navigation(Some("assistant"))));
    put(SID_B, 4, garbage, None);
    put(
        SID_A,
        5,
        garbage,
        Some(navigation(Some("user")).replace(r#""version":1"#, r#""version":2"#)),
    );
    put(
        SID_B,
        5,
        garbage,
        Some(navigation(Some("user")).replace(r#""user""#, "7")),
    );
    let dup = navigation(Some("user")).replace(r#""reset":{}"#, r#""navigation":{}"#);
    put(SID_A, 6, garbage, Some(dup));
    let r = s.run(&["--now", NOW, "--json", "cost", "track"]);
    r.code(0);
    let d = &r.json()["detail"];
    // Read: the two decompressed and the four left compressed (a blob that does not
    // decompress is a problem, not a line).
    assert_eq!(d["lines_read"], 6, "{d}");
    assert_eq!(d["corrupt"], 5, "{d}");
    let problems: Vec<String> = (d["problems"].as_array().unwrap().iter())
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    for (sid, seq) in [(SID_A, 4), (SID_B, 4), (SID_A, 5), (SID_B, 5), (SID_A, 6)] {
        let at = format!("session {sid} seq {seq}: event_zstd does not decompress");
        assert!(
            problems.iter().any(|p| p.contains(&at)),
            "{at}: {problems:?}"
        );
    }
    assert_eq!(totals(&s), (750_000, 2, 0, 0));
    // Each session's cursor is its highest seq, whatever the table order: appended rows are
    // read once, the rest not again (no problem is reported twice).
    put(
        SID_B,
        6,
        &z(&logged("b0000006", ts, 0.125)),
        Some(navigation(Some("assistant"))),
    );
    let r = s.run(&["--now", NOW, "--json", "cost", "track"]);
    r.code(0);
    assert_eq!(r.json()["detail"]["lines_read"], 1, "{}", r.stdout);
    assert_eq!(r.json()["detail"]["corrupt"], 0, "{}", r.stdout);
    assert_eq!(totals(&s), (875_000, 3, 0, 0));
}

/// Sets a file's mtime `mins` minutes before the system clock (mtimes are real time, whatever
/// `--now` says).
fn age(p: &std::path::Path, mins: u64) {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(mins * 60);
    std::fs::File::options()
        .append(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// cost-track's file cursors in the ledger.
fn file_cursors(s: &Sandbox) -> i64 {
    let c = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    c.query_row(
        "SELECT count(*) FROM read_cursors WHERE reader = 'cost-track' AND source LIKE 'file:%'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// `cost track --json` at `now`: (files, unchanged, sealed) from its detail.
fn track_at(s: &Sandbox, now: &str) -> (u64, u64, u64) {
    let r = s.run(&["--now", now, "--json", "cost", "track"]);
    r.code(0);
    let d = &r.json()["detail"];
    let n = |k: &str| d[k].as_u64().unwrap();
    (n("files"), n("files_unchanged"), n("files_sealed"))
}

#[test]
fn settled_archives_are_listed_without_a_stat_and_checked_again_hourly() {
    let s = sandbox();
    let dir = sessions(&s, "main");
    let ts = "2026-03-09T10:00:00.000Z";
    // An archive left alone for an hour, a checkpoint copy written just now, a live file.
    let old = dir.join(format!("{SID_A}.jsonl.reset.2026-03-09T11-00-00.000Z"));
    write_lines(&old, &[header(SID_A), logged("s0000001", ts, 0.5)]);
    age(&old, 60);
    let copy = dir.join(format!(
        "{SID_B}.checkpoint.11111111-2222-4333-8444-555555555555.jsonl"
    ));
    write_lines(&copy, &[header(SID_B), logged("s0000002", ts, 0.25)]);
    let live = dir.join(format!("{SID_C}.jsonl"));
    write_lines(&live, &[header(SID_C), logged("s0000003", ts, 0.125)]);
    age(&live, 60);
    let t0 = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
    let at = |mins: i64| (t0 + chrono::Duration::minutes(mins)).to_rfc3339();
    assert_eq!(track_at(&s, &at(0)), (3, 0, 0));
    assert_eq!(totals(&s), (875_000, 3, 0, 0));
    // The settled archive was sealed as soon as it was read: no cursor for it, not even for a
    // run. The fresh copy and the live file keep theirs.
    assert_eq!(file_cursors(&s), 2);
    // The settled archive, read to its end, is sealed: the next run lists it and no more.
    // The fresh copy may still be being written, and the live file grows: both are `stat`ed.
    assert_eq!(track_at(&s, &at(1)), (3, 3, 1));
    // Proof that the sealed archive is not even `stat`ed: a line written into it in place
    // (which OpenClaw never does) goes unseen...
    append(&old, &format!("{}\n", logged("s0000004", ts, 2.0)));
    age(&old, 60);
    assert_eq!(track_at(&s, &at(2)), (3, 3, 1));
    assert_eq!(totals(&s).1, 3);
    // ... until the hourly full check compares every sealed archive with its `stat`, reads
    // the one that changed (its earlier line deduplicated) and seals it again.
    assert_eq!(track_at(&s, &at(61)), (3, 2, 0));
    assert_eq!(totals(&s), (2_875_000, 4, 0, 0));
    // The copy settles (nobody wrote it for half an hour): read for nothing new, then sealed.
    age(&copy, 30);
    assert_eq!(track_at(&s, &at(62)), (3, 2, 1));
    assert_eq!(track_at(&s, &at(63)), (3, 3, 2));
    // What OpenClaw does: the live file gets its last lines and is archived by a rename. The
    // archive is new to the listing: `stat`ed, its tail read, then sealed.
    append(&live, &format!("{}\n", logged("s0000005", ts, 4.0)));
    let reset = dir.join(format!("{SID_C}.jsonl.reset.2026-03-10T12-03-00.000Z"));
    std::fs::rename(&live, &reset).unwrap();
    age(&reset, 30);
    assert_eq!(track_at(&s, &at(64)), (3, 2, 2));
    assert_eq!(totals(&s), (6_875_000, 5, 0, 0));
    assert_eq!(track_at(&s, &at(65)), (3, 3, 3));
    // An archive replaced under the same name (a new inode: both exist until the rename) is
    // read, not trusted.
    let other = dir.join("replacement.tmp");
    write_lines(&other, &[header(SID_A), logged("s0000006", ts, 8.0)]);
    std::fs::rename(&other, &old).unwrap();
    age(&old, 60);
    assert_eq!(track_at(&s, &at(66)), (3, 2, 2));
    assert_eq!(totals(&s).1, 6);
    // Gone archives leave the seals, and their cursors leave the ledger.
    std::fs::remove_file(&copy).unwrap();
    assert_eq!(track_at(&s, &at(67)), (2, 2, 2));
    assert_eq!(file_cursors(&s), 0, "sealed archives keep no cursor");
}

/// Sets a directory's mtime `mins` minutes before the system clock.
fn age_dir(p: &std::path::Path, mins: u64) {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(mins * 60);
    std::fs::File::open(p).unwrap().set_modified(t).unwrap();
}

#[test]
fn a_directory_unchanged_since_its_listing_is_not_listed_again() {
    let s = sandbox();
    let dir = sessions(&s, "main");
    let ts = "2026-03-09T10:00:00.000Z";
    let transcript = |sid: &str, id: &str, usd: f64| {
        let p = dir.join(format!("{sid}.jsonl"));
        write_lines(&p, &[header(sid), logged(id, ts, usd)]);
        age(&p, 60);
        p
    };
    let archive = dir.join(format!("{SID_A}.jsonl.deleted.2026-03-09T11-00-00.000Z"));
    write_lines(&archive, &[header(SID_A), logged("d0000001", ts, 0.5)]);
    age(&archive, 60);
    let live = transcript(SID_B, "d0000002", 0.25);
    age_dir(&dir, 60);
    let quiet = std::fs::metadata(&dir).unwrap().modified().unwrap();
    let put_back = |t| std::fs::File::open(&dir).unwrap().set_modified(t).unwrap();
    let t0 = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
    let at = |mins: i64| (t0 + chrono::Duration::minutes(mins)).to_rfc3339();
    assert_eq!(track_at(&s, &at(0)), (2, 0, 0));
    // Unchanged since that listing (quiet for an hour before it): not listed; the archive is
    // sealed, the live file `stat`ed by the name the listing gave, and its new line read.
    append(&live, &format!("{}\n", logged("d0000003", ts, 0.125)));
    assert_eq!(track_at(&s, &at(1)), (2, 1, 1));
    assert_eq!(totals(&s), (875_000, 3, 0, 0));
    // Proof that the directory is not listed: a file created with the directory's mtime put
    // back (as a filesystem clock too coarse to tell would) goes unseen...
    transcript(SID_C, "d0000004", 2.0);
    put_back(quiet);
    assert_eq!(track_at(&s, &at(2)), (2, 2, 1));
    assert_eq!(totals(&s).1, 3);
    // ... until the directory's mtime moves,
    let moved = quiet + std::time::Duration::from_millis(1);
    put_back(moved);
    assert_eq!(track_at(&s, &at(3)), (3, 2, 1));
    assert_eq!(totals(&s), (2_875_000, 4, 0, 0));
    // or the hourly full check lists it anyway.
    let newer = transcript("dddddddd-0000-4000-8000-000000000004", "d0000005", 4.0);
    put_back(moved);
    assert_eq!(track_at(&s, &at(4)), (3, 3, 1), "unchanged: not listed");
    assert_eq!(track_at(&s, &at(70)), (4, 3, 0));
    assert_eq!(totals(&s), (6_875_000, 5, 0, 0));
    // A directory changed just before its listing is listed next time too, whatever its
    // mtime says then: a change right after the listing could have left the same mtime.
    // (Set a little ahead of the clock, so the test does not depend on its own speed.)
    std::fs::remove_file(&newer).unwrap();
    let busy = std::time::SystemTime::now() + std::time::Duration::from_secs(1);
    put_back(busy);
    assert_eq!(track_at(&s, &at(71)), (3, 3, 1));
    transcript("eeeeeeee-0000-4000-8000-000000000005", "d0000006", 8.0);
    put_back(busy);
    assert_eq!(track_at(&s, &at(72)), (4, 3, 1));
    assert_eq!(totals(&s).1, 6);
}

#[test]
fn truncated_or_replaced_file_is_reread_without_double_counting() {
    let s = sandbox();
    let dir = sessions(&s, "main");
    let a = dir.join(format!("{SID_A}.jsonl"));
    let l1 = logged("a0000001", "2026-03-08T10:00:00.000Z", 0.01);
    let l2 = logged("a0000002", "2026-03-08T10:01:00.000Z", 0.02);
    write_lines(&a, &[header(SID_A), l1.clone(), l2.clone()]);
    track(&s).code(0).silent();
    // Rewritten in place, shorter (same inode), with one new line.
    let l3 = logged("a0000003", "2026-03-08T10:02:00.000Z", 0.04);
    write_lines(&a, &[header(SID_A), l3]);
    track(&s).code(0).silent();
    assert_eq!(totals(&s), (70_000, 3, 0, 0));
    // Replaced by a different file (new inode) holding old and new lines.
    let tmp = dir.join("tmp-replace");
    let l4 = logged("a0000004", "2026-03-08T10:03:00.000Z", 0.08);
    write_lines(&tmp, &[header(SID_A), l1, l2, l4]);
    std::fs::rename(&tmp, &a).unwrap();
    track(&s).code(0).silent();
    assert_eq!(totals(&s), (150_000, 4, 0, 0));
}

#[test]
fn corrupt_line_is_reported_with_its_file_and_the_scan_goes_on() {
    let s = sandbox();
    let dir = sessions(&s, "main");
    let a = dir.join(format!("{SID_A}.jsonl"));
    write_lines(
        &a,
        &[
            header(SID_A),
            logged("a0000001", "2026-03-08T10:00:00.000Z", 0.01),
            r#"{"type":"message","id":"broken","message":{"role":"assistant","usage":{"input":1,"#
                .to_string(),
            "\u{1}garbage".to_string(),
            logged("a0000002", "2026-03-08T10:01:00.000Z", 0.02),
        ],
    );
    let b = dir.join(format!("{SID_B}.jsonl"));
    write_lines(
        &b,
        &[
            header(SID_B),
            logged("b0000001", "2026-03-08T10:02:00.000Z", 0.04),
        ],
    );
    let r = track(&s);
    r.code(0);
    assert!(r.stderr.contains(&format!("{SID_A}.jsonl")), "{}", r.stderr);
    assert!(r.stderr.contains("corrupt JSON"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 2, "{}", r.stderr);
    assert_eq!(totals(&s), (70_000, 3, 0, 0));
    // Reported once: the next run has nothing new to say.
    track(&s).code(0).silent();
}

#[test]
fn a_flood_of_bad_lines_shows_the_first_fifty_in_order_and_counts_the_rest() {
    let s = sandbox();
    let a = sessions(&s, "main").join(format!("{SID_A}.jsonl"));
    let mut lines = vec![header(SID_A)];
    for i in 0..3000 {
        // Alternating: refused by the reading stage (not an object) and by the parser.
        lines.push(if i % 2 == 0 {
            format!("garbage {i}")
        } else {
            format!(r#"{{"id":"x{i}","message":{{"role":"assistant","usage":{{"input":1,}}}}}}"#)
        });
    }
    lines.push(logged("a0000001", "2026-03-08T10:00:00.000Z", 0.01));
    write_lines(&a, &lines);
    let r = track(&s);
    r.code(0);
    let shown: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("corrupt JSON"))
        .collect();
    assert_eq!(shown.len(), 50, "{}", r.stderr);
    // In reading order: byte offsets grow, both kinds interleaved as written.
    let byte = |l: &str| -> u64 {
        l.split("byte ")
            .nth(1)
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        shown.windows(2).all(|w| byte(w[0]) < byte(w[1])),
        "{}",
        r.stderr
    );
    assert!(shown[0].contains("expected value"), "{}", shown[0]);
    assert!(shown[1].contains("trailing comma"), "{}", shown[1]);
    assert!(
        r.stderr.contains("... and 2950 more problems"),
        "{}",
        r.stderr
    );
    assert_eq!(totals(&s).0, 10_000);
}

#[test]
fn prices_come_from_models_json_config_import_or_builtin_and_unknowns_are_reported() {
    let s = sandbox();
    let dir = sessions(&s, "main");
    s.write_config(
        r#"{ models: { providers: { local: { baseUrl: "http://x", models: [ { id: "big", cost: { input: 2, output: 4, cacheRead: 0.5, cacheWrite: 0 } } ] } } } }"#,
    );
    let mj = s.openclaw().join("agents/main/agent/models.json");
    std::fs::create_dir_all(mj.parent().unwrap()).unwrap();
    std::fs::write(
        &mj,
        r#"{"providers":{"local":{"baseUrl":"http://x","models":[{"id":"small","cost":{"input":1,"output":1,"cacheRead":0,"cacheWrite":0}}]}}}"#,
    )
    .unwrap();
    let a = dir.join(format!("{SID_A}.jsonl"));
    let ts = "2026-03-08T10:00:00.000Z";
    write_lines(
        &a,
        &[
            header(SID_A),
            // built-in: sonnet 4.5 at 3/15/0.3/3.75 per million.
            usage_line(
                "p0000001",
                ts,
                "anthropic",
                "claude-sonnet-4-5-20250929",
                [1000, 100, 10_000, 0],
                None,
            ),
            // config: 1000 x 2 + 100 x 4 + 10000 x 0.5.
            usage_line("p0000002", ts, "local", "big", [1000, 100, 10_000, 0], None),
            // models.json: 1000 + 100.
            usage_line("p0000003", ts, "local", "small", [1000, 100, 0, 0], None),
            // unknown anywhere.
            usage_line("p0000004", ts, "local", "mystery", [1000, 100, 0, 0], None),
            // logged zero with tokens and no price: unpriced, not a silent $0.
            usage_line("p0000005", ts, "local", "mystery", [10, 1, 0, 0], Some(0.0)),
            // OpenClaw's own injected message and a failed zero-usage turn: not spend.
            usage_line(
                "p0000006",
                ts,
                "openclaw",
                "gateway-injected",
                [0, 0, 0, 0],
                Some(0.0),
            ),
            usage_line(
                "p0000007",
                ts,
                "anthropic",
                "claude-sonnet-4-5",
                [0, 0, 0, 0],
                Some(0.0),
            ),
        ],
    );
    let r = track(&s);
    r.code(0);
    assert!(
        r.stderr.contains("2 new usage lines have no price"),
        "{}",
        r.stderr
    );
    let sonnet = 1000 * 3 + 100 * 15 + 10_000 * 3 / 10;
    let big = 1000 * 2 + 100 * 4 + 10_000 / 2;
    let small = 1000 + 100;
    assert_eq!(totals(&s), (sonnet + big + small, 5, 3, 2));
    assert_eq!(totals_mode(&s, "logged"), (0, 5, 0, 4));
    assert_eq!(totals_mode(&s, "computed"), (sonnet + big + small, 5, 0, 2));

    // An imported LiteLLM table prices what nothing else knew, from the next line on,
    // and its long-context tier bills the whole request.
    let table = json!({
        "mystery": {"litellm_provider": "openai", "input_cost_per_token": 1e-5, "output_cost_per_token": 2e-5,
            "input_cost_per_token_above_200k_tokens": 2e-5, "output_cost_per_token_above_200k_tokens": 4e-5},
    });
    let f = s.write("prices.json", &table.to_string());
    s.run(&["--now", NOW, "pricing", "import", f.to_str().unwrap()])
        .code(0)
        .silent();
    append(
        &a,
        &format!(
            "{}\n{}\n",
            usage_line("p0000008", ts, "local", "mystery", [1000, 100, 0, 0], None),
            usage_line(
                "p0000009",
                ts,
                "local",
                "mystery",
                [200_001, 100, 0, 0],
                None
            )
        ),
    );
    track(&s).code(0).silent();
    let m8 = 1000 * 10 + 100 * 20;
    let m9 = 200_001 * 20 + 100 * 40;
    assert_eq!(totals(&s), (sonnet + big + small + m8 + m9, 7, 5, 2));
    let show = s.run(&["--json", "pricing", "show"]);
    assert!(show.json()["imported"]["version"]
        .as_str()
        .unwrap()
        .starts_with("litellm-"));
    // A bad table is refused with the file named.
    let bad = s.write("bad.json", "{\"x\": {}}");
    let r = s.run(&["pricing", "import", bad.to_str().unwrap()]);
    r.code(65);
    assert!(r.stderr.contains("bad.json"), "{}", r.stderr);
}

#[test]
fn days_follow_the_settings_time_zone_and_reports_group_and_filter() {
    let s = Sandbox::new();
    s.write_settings("[general]\ntimezone = \"+02:00\"\n");
    let dir = sessions(&s, "main");
    write_lines(
        &dir.join(format!("{SID_A}.jsonl")),
        &[
            header(SID_A),
            logged("z0000001", "2026-03-08T21:59:59.000Z", 0.1), // 23:59:59 local: the 8th
            logged("z0000002", "2026-03-08T22:00:00.000Z", 0.2), // 00:00 local: the 9th
            logged("z0000003", "2026-03-10T09:00:00.000Z", 0.4),
        ],
    );
    let ops = sessions(&s, "ops");
    write_lines(
        &ops.join(format!("{SID_B}.jsonl")),
        &[
            header(SID_B),
            logged("y0000001", "2026-03-09T09:00:00.000Z", 0.8),
        ],
    );
    s.run(&["--now", NOW, "cost", "track"]).code(0).silent();
    let r = s.run(&["--now", NOW, "--json", "cost", "report"]);
    let days: Vec<(String, i64)> = r.json()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                crate::common::micros(&r["cost_usd"]),
            )
        })
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-03-08".into(), 100_000),
            ("2026-03-09".into(), 1_000_000),
            ("2026-03-10".into(), 400_000)
        ]
    );
    let r = s.run(&[
        "--now", NOW, "--json", "cost", "report", "--days", "2", "--by", "agent",
    ]);
    let j = r.json();
    assert_eq!(j["since"], "2026-03-09");
    assert_eq!(j["rows"][0]["key"], "ops");
    assert_eq!(crate::common::micros(&j["total"]["cost_usd"]), 1_400_000);
    let r = s.run(&[
        "--now",
        NOW,
        "cost",
        "report",
        "--since",
        "2026-03-09",
        "--until",
        "2026-03-09",
        "--csv",
    ]);
    r.code(0);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("2026-03-09,2,"),
        "{}",
        r.stdout
    );
    // People get dollars to the cent; --csv and --json keep the exact figure.
    let r = s.run(&["--now", NOW, "cost", "report", "--by", "month"]);
    assert!(
        r.stdout.contains("2026-03") && r.stdout.contains("  $1.50  "),
        "{}",
        r.stdout
    );
    std::fs::write(
        dir.join("sessions.json"),
        json!({"agent:main:main": {"sessionId": SID_A, "label": "daily standup"}}).to_string(),
    )
    .unwrap();
    let r = s.run(&["--now", NOW, "--json", "cost", "top", "--limit", "1"]);
    let top = r.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0]["session_id"], SID_B);
    let r = s.run(&["--now", NOW, "cost", "top"]);
    // The table may cut a long label (with …); --json has it whole.
    assert!(r.stdout.contains("daily standup"), "{}", r.stdout);
    let r = s.run(&["cost", "report", "--since", "March"]);
    r.code(2);
}

#[test]
fn budget_check_warns_once_per_level_and_resets_with_the_period() {
    let s = Sandbox::new();
    s.write_settings(
        "[general]\ntimezone = \"+02:00\"\n[cost]\nweek_start = \"monday\"\n\
         [[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 1.0\nagent = \"main\"\n\
         [[cost.budgets]]\nperiod = \"weekly\"\nlimit_usd = 100.0\n",
    );
    // No budget has spend yet: silent, exit 0.
    s.run(&["--now", "2026-03-10T08:00:00Z", "budget", "check"])
        .code(0)
        .silent();
    let dir = sessions(&s, "main");
    let a = dir.join(format!("{SID_A}.jsonl"));
    // 2026-03-10 local (+02:00) starts at 2026-03-09T22:00Z; the first line is the 9th.
    write_lines(
        &a,
        &[
            header(SID_A),
            logged("b0000001", "2026-03-09T21:59:00.000Z", 5.0),
            logged("b0000002", "2026-03-09T22:30:00.000Z", 0.85),
        ],
    );
    let now = "2026-03-10T08:00:00Z"; // 10:00 local
    s.run(&["--now", now, "cost", "track"]).code(0).silent();
    let r = s.run(&["--now", now, "budget", "check"]);
    r.code(1);
    assert!(
        r.stdout.contains("budget daily agent=main: warning"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[new alert at 80 %]"), "{}", r.stdout);
    // $0.85 over 10 h of today: $0.15 more passes at 11:45:53 local.
    assert!(
        r.stdout.contains("will pass at 2026-03-10T09:45:53Z"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("weekly"), "{}", r.stdout);
    // Same level again: still a finding, no new alert.
    let r = s.run(&["--now", now, "--json", "budget", "check"]);
    r.code(1);
    let j = r.json();
    assert_eq!(j["budgets"][0]["verdict"]["level"], "warning");
    assert_eq!(j["budgets"][0]["new_alerts"], json!([]));
    assert_eq!(
        crate::common::micros(&j["budgets"][1]["verdict"]["spent_usd"]),
        5_850_000
    );
    // Exceeded: the 100 % alert is recorded even though 80 % already was.
    append(
        &a,
        &format!("{}\n", logged("b0000003", "2026-03-10T08:30:00.000Z", 0.2)),
    );
    let later = "2026-03-10T09:00:00Z";
    s.run(&["--now", later, "cost", "track"]).code(0).silent();
    let r = s.run(&["--now", later, "budget", "check"]);
    r.code(1);
    assert!(
        r.stdout.contains("EXCEEDED") && r.stdout.contains("[new alert at 100 %]"),
        "{}",
        r.stdout
    );
    let r = s.run(&["--now", later, "budget", "check"]);
    assert!(!r.stdout.contains("new alert"), "{}", r.stdout);
    // Local midnight starts a new day: ok again, said once as a recovery, then silence.
    let r = s.run(&["--now", "2026-03-10T22:00:00Z", "budget", "check"]);
    r.code(0);
    assert!(
        r.stdout.starts_with("recovered: budget daily"),
        "{}",
        r.stdout
    );
    s.run(&["--now", "2026-03-10T22:10:00Z", "budget", "check"])
        .code(0)
        .silent();
    // A budget typo is refused (exit 78) naming the setting.
    s.write_settings("[[cost.budgets]]\nperiod = \"hourly\"\nlimit_usd = 1.0\n");
    let r = s.run(&["budget", "check"]);
    r.code(78);
    assert!(r.stderr.contains("period"), "{}", r.stderr);
}

#[test]
fn budget_alerts_reach_the_sinks_once_per_level_and_the_action_runs_once() {
    let s = Sandbox::new();
    let alerts = s.root().join("alerts.jsonl");
    let actions = s.root().join("actions.log");
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n\
         [[alerts.sinks]]\nname = \"cmd\"\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"cat >> '{}'; echo >> '{}'\"]\n\
         [[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 1.0\non_exceeded = [\"sh\", \"-c\", \"echo switched >> '{}'\"]\n",
        alerts.display(),
        alerts.display(),
        actions.display()
    ));
    let a = sessions(&s, "main").join(format!("{SID_A}.jsonl"));
    write_lines(
        &a,
        &[
            header(SID_A),
            logged("c0000001", "2026-03-10T01:00:00.000Z", 0.9),
        ],
    );
    let now = "2026-03-10T02:00:00Z";
    s.run(&["--now", now, "cost-track"]).code(0).silent();
    s.run(&["--now", now, "budget-check"]).code(1);
    append(
        &a,
        &format!("{}\n", logged("c0000002", "2026-03-10T02:30:00.000Z", 0.5)),
    );
    let later = "2026-03-10T03:00:00Z";
    s.run(&["--now", later, "cost-track"]).code(0).silent();
    let r = s.run(&["--now", later, "budget-check"]);
    r.code(1);
    assert!(r.stdout.contains("ran sh -c"), "{}", r.stdout);
    s.run(&["--now", "2026-03-10T04:00:00Z", "budget-check"])
        .code(1);

    let sent: Vec<serde_json::Value> = std::fs::read_to_string(&alerts)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let texts: Vec<String> = sent.iter().map(|a| a.to_string()).collect();
    assert_eq!(sent.len(), 2, "one warning, one exceeded alert: {texts:?}");
    assert!(
        texts[0].contains("80 %") && texts[1].contains("100 %"),
        "{texts:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&actions).unwrap(),
        "switched\n",
        "action ran once"
    );
}

#[test]
fn extra_meters_join_the_daily_totals_once_even_across_rotation() {
    let s = Sandbox::new();
    let logs = s.root().join("voice");
    std::fs::create_dir_all(&logs).unwrap();
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n[[cost.meters]]\nname = \"voice\"\npath = \"{}/usage*.jsonl\"\n\
         quantity_field = \"minutes\"\nid_field = \"\"\nunit_price_usd = 0.01\nunit = \"minute\"\nagent = \"main\"\n",
        logs.display()
    ));
    let live = logs.join("usage.jsonl");
    std::fs::write(
        &live,
        "{\"timestamp\":\"2026-03-10T10:00:00Z\",\"minutes\":3}\n{\"timestamp\":\"2026-03-10T11:00:00Z\",\"minutes\":2.5}\nnot json\n",
    )
    .unwrap();
    let r = s.run(&["--now", "2026-03-10T12:00:00Z", "cost-track"]);
    r.code(0);
    assert!(
        r.stderr.contains("usage.jsonl: byte") && r.stderr.contains("corrupt JSON"),
        "{}",
        r.stderr
    );
    // Rotation: the file moves to usage.1.jsonl (same inode) and a new one starts.
    std::fs::rename(&live, logs.join("usage.1.jsonl")).unwrap();
    std::fs::write(&live, "{\"timestamp\":\"2026-03-11\",\"minutes\":10}\n").unwrap();
    s.run(&["--now", "2026-03-11T12:00:00Z", "cost-track"])
        .code(0)
        .silent();
    s.run(&["--now", "2026-03-11T12:00:00Z", "cost-track"])
        .code(0)
        .silent();
    let j = s.run(&[
        "--json",
        "cost",
        "report",
        "--by",
        "day",
        "--since",
        "2026-03-10",
        "--until",
        "2026-03-11",
    ]);
    j.code(0);
    let doc = j.json();
    // 5.5 minutes on the 10th ($0.055) and 10 on the 11th ($0.10), each counted once.
    let rows: Vec<(String, i64, i64)> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["lines"].as_i64().unwrap(),
                crate::common::micros(&r["cost_usd"]),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("2026-03-10".to_string(), 2, 55_000),
            ("2026-03-11".to_string(), 1, 100_000)
        ]
    );
    assert_eq!(crate::common::micros(&doc["total"]["cost_usd"]), 155_000);
}

/// cost-track on generated homes of every storage era equals the generator's ground truth
/// exactly (the exact decimal sum of the logged literals and of the config prices x tokens),
/// per day x agent x provider/model, and a second run adds nothing.
#[test]
fn cost_track_matches_generated_ground_truth_in_every_era() {
    use crate::common::Dec;
    use std::collections::BTreeMap;
    for era in ["jsonl", "sqlite", "both"] {
        let s = Sandbox::new();
        let (home, truth) = s.gen_home(&format!("home-{era}"), 7, era);
        s.write_settings("[general]\ntimezone = \"UTC\"\n");
        let run = |args: &[&str]| {
            let mut a = vec![
                "--openclaw-dir",
                home.to_str().unwrap(),
                "--now",
                "2026-11-21T08:00:00Z",
            ];
            a.extend_from_slice(args);
            s.run(&a)
        };
        run(&["cost-track"]).code(0).silent();
        run(&["cost-track"]).code(0).silent();
        type Key = (String, String, String, String);
        let want: BTreeMap<Key, (Dec, i64)> = truth["cost"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let k = |f: &str| r[f].as_str().unwrap().to_string();
                (
                    (k("day"), k("agent"), k("provider"), k("model")),
                    (
                        Dec::lit(r["usd"].as_str().unwrap()),
                        r["lines"].as_i64().unwrap(),
                    ),
                )
            })
            .collect();
        let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
        let mut st = db
            .prepare("SELECT day, agent_id, provider, model, auto_usd, lines FROM cost_daily")
            .unwrap();
        let rows = |st: &mut rusqlite::Statement| -> BTreeMap<Key, (Dec, i64)> {
            let mut m: BTreeMap<Key, (Dec, i64)> = BTreeMap::new();
            let it = st
                .query_map([], |r| {
                    Ok((
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .unwrap();
            for row in it {
                let (k, usd, lines) = row.unwrap();
                let e = m.entry(k).or_default();
                *e = (e.0 + Dec::lit(&usd), e.1 + lines);
            }
            m
        };
        let got = rows(&mut st);
        assert_eq!(got, want, "era {era}");
        let total: Dec = got.values().map(|r| r.0).sum();
        assert_eq!(
            total.to_string(),
            truth["cost"]["total_usd"].as_str().unwrap(),
            "era {era}"
        );
        let r = run(&["--json", "cost", "report"]);
        assert_eq!(
            crate::common::usd(&r.json()["total"]["cost_usd"]),
            total,
            "era {era}"
        );
        let unpriced: i64 = db
            .query_row("SELECT sum(auto_unpriced) FROM cost_daily", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(unpriced, 0, "era {era}");
        // Daily totals rebuilt from the counted lines equal the incremental ones.
        run(&["pricing", "reprice"]).code(0).silent();
        let again = rows(&mut st);
        assert_eq!(again, got, "era {era}: rebuilt totals");
    }
}

/// `pricing reprice` after an import: lines priced by claw's tables take the new price, lines
/// with a logged cost keep it, the daily totals are rebuilt; with nothing new it changes nothing.
#[test]
fn reprice_applies_a_newer_table_to_lines_already_counted() {
    let s = Sandbox::new();
    let prom = s.root().join("prom");
    std::fs::create_dir_all(&prom).unwrap();
    s.write_settings(&format!(
        "[general]\ntimezone = \"UTC\"\n\n[watch]\ntextfile_dir = \"{}\"\n",
        prom.display()
    ));
    let a = sessions(&s, "main").join(format!("{SID_A}.jsonl"));
    let ts = "2026-03-10T10:00:00.000Z";
    write_lines(
        &a,
        &[
            header(SID_A),
            logged("r0000001", ts, 0.25),
            usage_line("r0000002", ts, "local", "mystery", [1000, 100, 0, 0], None),
        ],
    );
    let now = "2026-03-10T12:00:00Z";
    s.run(&["--now", now, "cost-track"]).code(0);
    let daily = |s: &Sandbox| -> Vec<(String, String, String, i64, i64)> {
        let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
        let mut st = db
            .prepare("SELECT day, model, auto_usd, auto_estimated, auto_unpriced FROM cost_daily ORDER BY 1, 2")
            .unwrap();
        st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let first = daily(&s);
    assert_eq!(
        first[1],
        ("2026-03-10".into(), "mystery".into(), "0.00".into(), 0, 1),
        "{first:?}"
    );
    // Each line's price source and cost as the view shows them (the source is part of a
    // line's kind in the ledger, see migration 20).
    let lines = |s: &Sandbox| -> Vec<(String, String, Option<String>)> {
        let db = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
        let mut st = db
            .prepare("SELECT entry_id, price_source, computed_usd FROM cost_lines ORDER BY 1")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let counted = lines(&s);
    // Nothing changed: the rebuilt totals are exactly the incremental ones.
    let r = s.run(&["--now", now, "-v", "pricing", "reprice"]);
    r.code(0);
    assert!(r.stderr.contains("repriced 0 lines"), "{}", r.stderr);
    assert_eq!(daily(&s), first);
    // A table that knows the model prices the line already counted; the logged one stays.
    let table = json!({"mystery": {"litellm_provider": "openai", "input_cost_per_token": 1e-5, "output_cost_per_token": 2e-5}});
    let f = s.write("prices.json", &table.to_string());
    s.run(&["--now", now, "pricing", "import", f.to_str().unwrap()])
        .code(0);
    s.run(&["--now", now, "--dry-run", "pricing", "reprice"])
        .code(0);
    assert_eq!(daily(&s), first, "a dry run changes nothing");
    s.run(&["--now", now, "pricing", "reprice"])
        .code(0)
        .silent();
    let after = daily(&s);
    assert_eq!(after[0], first[0], "logged cost kept");
    let repriced = lines(&s);
    assert_eq!(repriced[0], counted[0], "the logged line is as it was");
    assert_eq!(repriced[1].0, "r0000002");
    assert_eq!(repriced[1].2.as_deref(), Some("0.012"));
    assert_eq!(counted[1].1, "unpriced");
    assert!(
        repriced[1].1.starts_with("imported:"),
        "the repriced line names its new table: {counted:?} -> {repriced:?}"
    );
    assert_eq!(
        after[1],
        (
            "2026-03-10".into(),
            "mystery".into(),
            // 1000 x $10 + 100 x $20 per million, exactly.
            "0.012".into(),
            1,
            0
        )
    );
    // The all-time spend the metrics show follows the reprice (the next cost-track writes it).
    s.run(&["--now", now, "cost-track"]).code(0).silent();
    let text = std::fs::read_to_string(prom.join("claw_cost_track.prom")).unwrap();
    let spend = |model: &str| {
        let line = (text.lines())
            .find(|l| {
                l.starts_with("claw_cost_usd_total{") && l.contains(&format!("model=\"{model}\""))
            })
            .unwrap_or_else(|| panic!("no spend for {model} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse::<f64>().unwrap()
    };
    assert_eq!(
        (spend("mystery"), spend("claude-sonnet-4-5")),
        (0.012, 0.25)
    );
}

#[test]
fn an_unreadable_agent_database_fails_the_run_and_marks_reports_incomplete() {
    let s = Sandbox::new();
    s.write_settings("[general]\ntimezone = \"UTC\"\n");
    // One readable transcript, and one agent whose database is not a database.
    let a = sessions(&s, "main").join(format!("{SID_A}.jsonl"));
    let ts = "2026-03-10T10:00:00.000Z";
    write_lines(&a, &[header(SID_A), logged("u0000001", ts, 0.25)]);
    let db = s.openclaw().join("agents/ops/agent/openclaw-agent.sqlite");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let now = "2026-03-10T12:00:00Z";
    let r = s.run(&["--now", now, "cost-track"]);
    // Never a silent zero: I/O exit, the file named, the rest still counted.
    r.code(74);
    assert!(
        r.stderr.contains("openclaw-agent.sqlite") && r.stderr.contains("spend is missing"),
        "{}",
        r.stderr
    );
    let rep = s.run(&["--now", now, "cost", "report", "--json"]);
    rep.code(0);
    let doc = rep.json();
    assert_eq!(doc["incomplete"], true, "{doc}");
    assert_eq!(doc["total"]["cost_usd"], "0.25", "{doc}");
    assert!(rep.stderr.contains("incomplete"), "{}", rep.stderr);
    // Once the database is gone (or readable again) a run succeeds and the mark clears.
    std::fs::remove_file(&db).unwrap();
    s.run(&["--now", now, "cost-track"]).code(0);
    assert_eq!(
        s.run(&["--now", now, "cost", "report", "--json"]).json()["incomplete"],
        false
    );
}

/// A sandbox with `timezone = tz` (and `TZ=env_tz` for every run), lines on both sides of
/// Europe/Berlin's 2026 daylight-saving changes, tracked; and its (day, cost) report rows.
fn dst_home(tz: &str, env_tz: Option<&str>) -> (Sandbox, Vec<(String, i64)>) {
    let s = Sandbox::new();
    s.write_settings(&format!(
        "[general]\ntimezone = \"{tz}\"\n[[cost.budgets]]\nperiod = \"daily\"\nlimit_usd = 1.0\nagent = \"main\"\n"
    ));
    // The budget counts agent main; ops holds the lines at the far end of each day.
    let main = sessions(&s, "main");
    write_lines(
        &main.join(format!("{SID_A}.jsonl")),
        &[
            header(SID_A),
            // Spring forward (2026-03-29 has 23 hours): the 29th starts 23:00Z on the 28th
            // (CET) and ends 22:00Z on the 29th (CEST).
            logged("d0000001", "2026-03-28T22:30:00.000Z", 2.0), // 23:30 CET, the 28th
            logged("d0000002", "2026-03-28T23:00:00.000Z", 0.65), // 00:00 CET, the 29th
            // Fall back (2026-10-25 has 25 hours): the 25th starts 22:00Z on the 24th (CEST)
            // and ends 23:00Z on the 25th (CET).
            logged("d0000005", "2026-10-24T21:59:59.000Z", 3.0), // 23:59:59 CEST, the 24th
            logged("d0000006", "2026-10-24T22:00:00.000Z", 0.7), // 00:00 CEST, the 25th
        ],
    );
    let ops = sessions(&s, "ops");
    write_lines(
        &ops.join(format!("{SID_B}.jsonl")),
        &[
            header(SID_B),
            logged("e0000003", "2026-03-29T21:59:59.000Z", 0.01), // 23:59:59 CEST, the 29th
            logged("e0000004", "2026-03-29T22:00:00.000Z", 0.02), // 00:00 CEST, the 30th
            logged("e0000007", "2026-10-25T22:59:59.000Z", 0.04), // 23:59:59 CET, the 25th
            logged("e0000008", "2026-10-25T23:00:00.000Z", 0.08), // 00:00 CET, the 26th
        ],
    );
    let run = |args: &[&str]| {
        let mut c = s.cmd(args);
        if let Some(t) = env_tz {
            c.env("TZ", t);
        }
        crate::common::run_cmd(c)
    };
    let end = "2026-10-27T00:00:00Z";
    run(&["--now", end, "cost", "track"]).code(0).silent();
    let r = run(&[
        "--now",
        end,
        "--json",
        "cost",
        "report",
        "--since",
        "2026-01-01",
    ]);
    r.code(0);
    let rows = r.json()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = r["key"].as_str().unwrap().to_string();
            (key, crate::common::micros(&r["cost_usd"]))
        })
        .collect();
    (s, rows)
}

#[test]
fn berlin_days_and_budget_periods_follow_both_daylight_saving_changes() {
    let (s, rows) = dst_home("Europe/Berlin", None);
    let want: Vec<(String, i64)> = [
        ("2026-03-28", 2_000_000),
        ("2026-03-29", 660_000),
        ("2026-03-30", 20_000),
        ("2026-10-24", 3_000_000),
        ("2026-10-25", 740_000),
        ("2026-10-26", 80_000),
    ]
    .iter()
    .map(|(d, c)| (d.to_string(), *c))
    .collect();
    assert_eq!(rows, want);
    // `local` reads the system zone the way OpenClaw (node) does: TZ first.
    assert_eq!(dst_home("local", Some("Europe/Berlin")).1, want);
    // A fixed offset is not the same thing: +01:00 puts 23:00Z on the 29th of March into
    // the 30th, and 22:00Z on the 24th of October into the 24th.
    assert_ne!(dst_home("+01:00", None).1, want);

    // Budget periods: today's spend and the day's end follow the same boundaries.
    let budget = |now: &str| {
        let r = s.run(&["--now", now, "--json", "budget", "check"]);
        r.code(0);
        r.json()["budgets"][0]["verdict"].clone()
    };
    // 2026-03-29 12:00Z: the day began 13 h ago and ends in 10 h (a 23-hour day);
    // $0.65 over 13 h projects $0.50 more.
    let v = budget("2026-03-29T12:00:00Z");
    assert_eq!(crate::common::micros(&v["spent_usd"]), 650_000, "{v}");
    assert_eq!(crate::common::micros(&v["projected_usd"]), 1_150_000, "{v}");
    // 2026-10-25 12:00Z: the day began 14 h ago and ends in 11 h (a 25-hour day);
    // $0.70 over 14 h projects $0.55 more.
    let v = budget("2026-10-25T12:00:00Z");
    assert_eq!(crate::common::micros(&v["spent_usd"]), 700_000, "{v}");
    assert_eq!(crate::common::micros(&v["projected_usd"]), 1_250_000, "{v}");
    // A zone that is neither a name nor an offset is refused naming the file and the key.
    s.write_settings("[general]\ntimezone = \"Europe/Berlim\"\n");
    let r = s.run(&["budget", "check"]);
    r.code(78);
    assert!(
        r.stderr.contains("claw.toml") && r.stderr.contains("general.timezone"),
        "{}",
        r.stderr
    );
}
