//! Exact money through the binary (issue 17): claw's totals equal the exact decimal sum of
//! the logged `usage.cost.total` literals as written, computed here from the raw text with
//! [`Dec`] (never claw's own code), on generated homes of both storage eras, on thousands of
//! many-digit literals in JSONL files and agent databases (zstd rows included), and whatever
//! runs the lines arrive in.

use crate::common::{usd, Dec, Sandbox};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

const NOW: &str = "2026-11-21T08:00:00Z";

/// `usage.cost.total` as written in a raw line, when the line has one.
fn cost_literal(line: &str) -> Option<&str> {
    let at = line.find("\"cost\":{")?;
    let rest = &line[at..];
    let t = rest.find("\"total\":")? + "\"total\":".len();
    let lit = &rest[t..];
    let end = lit
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(lit.len());
    (end > 0).then(|| &lit[..end])
}

/// Sum of the logged literals of the usage lines a correct reader counts: assistant lines,
/// not OpenClaw's injected ones, once per (session id, entry id).
struct Oracle {
    seen: HashSet<(String, String)>,
    sum: Dec,
    lines: u64,
}

impl Oracle {
    fn new() -> Oracle {
        Oracle {
            seen: HashSet::new(),
            sum: Dec::default(),
            lines: 0,
        }
    }

    fn line(&mut self, sid: &str, line: &str) {
        let Some(lit) = cost_literal(line) else {
            return;
        };
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let m = &v["message"];
        if m["role"] != "assistant"
            || m["provider"] == "openclaw"
            || m["model"] == "gateway-injected"
        {
            return;
        }
        let id = v["id"].as_str().unwrap_or_default().to_string();
        if self.seen.insert((sid.to_string(), id)) {
            self.sum = self.sum + Dec::lit(lit);
            self.lines += 1;
        }
    }

    /// Every transcript of an OpenClaw home: JSONL files (live, archives, checkpoints, `.zst`)
    /// and agent databases (`event_json` or zstd `event_zstd`).
    fn home(&mut self, home: &Path) {
        for e in walkdir::WalkDir::new(home.join("agents"))
            .into_iter()
            .flatten()
        {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if !e.file_type().is_file() || name.ends_with(".trajectory.jsonl") {
                continue;
            }
            if name == "openclaw-agent.sqlite" {
                self.db(p);
                continue;
            }
            if !name.contains(".jsonl") {
                continue;
            }
            let bytes = std::fs::read(p).unwrap();
            let text = if name.ends_with(".zst") {
                zstd::decode_all(&bytes[..]).unwrap()
            } else {
                bytes
            };
            let sid = name.split('.').next().unwrap().to_string();
            for l in String::from_utf8_lossy(&text).lines() {
                self.line(&sid, l);
            }
        }
    }

    fn db(&mut self, p: &Path) {
        let c =
            rusqlite::Connection::open_with_flags(p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let mut st = c
            .prepare("SELECT session_id, event_json, event_zstd FROM transcript_events")
            .unwrap();
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (sid, j, z) = row.unwrap();
            let text = match (j, z) {
                (Some(j), _) => j,
                (None, Some(z)) => String::from_utf8(zstd::decode_all(&z[..]).unwrap()).unwrap(),
                (None, None) => continue,
            };
            self.line(&sid, &text);
        }
    }
}

fn logged_total(s: &Sandbox, home: &Path) -> (Dec, i64) {
    let r = s.run(&[
        "--openclaw-dir",
        home.to_str().unwrap(),
        "--now",
        NOW,
        "--json",
        "cost",
        "report",
        "--cost-mode",
        "logged",
    ]);
    r.code(0);
    let t = &r.json()["total"];
    (usd(&t["cost_usd"]), t["lines"].as_i64().unwrap())
}

/// Generated homes of both eras: claw's logged total is the exact sum of the literals in the
/// files, read back here from the raw text (JSONL, archives, zstd rows).
#[test]
fn generated_homes_total_the_exact_sum_of_the_literals_in_their_files() {
    for (era, seed) in [("jsonl", 11), ("sqlite", 12), ("both", 13)] {
        let s = Sandbox::new();
        let (home, _) = s.gen_home(&format!("home-{era}"), seed, era);
        s.write_settings("[general]\ntimezone = \"UTC\"\n");
        let mut o = Oracle::new();
        o.home(&home);
        assert!(o.lines > 50, "era {era}: {} priced lines", o.lines);
        s.run(&[
            "--openclaw-dir",
            home.to_str().unwrap(),
            "--now",
            NOW,
            "cost-track",
        ])
        .code(0)
        .silent();
        let (got, _) = logged_total(&s, &home);
        assert_eq!(
            got, o.sum,
            "era {era}: claw {got} vs the literals {}",
            o.sum
        );
    }
}

/// A deterministic stream of many-digit literals of every shape a JavaScript double prints:
/// 17 significant digits, exponent forms down to 10^-20, whole dollars.
fn literals(n: usize, seed: u64) -> Vec<String> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let r = next();
            let f = (r >> 11) as f64 / (1u64 << 53) as f64;
            match i % 5 {
                0 => format!("{}", f * 0.05),
                1 => format!("{:e}", f * 1e-7),
                2 => format!("{}", 0.1 + f / 3.0),
                3 => format!("{}", (r % 2000) as f64 + f),
                _ => format!("{:e}", (f + 0.1) * 1e-13),
            }
        })
        .collect()
}

fn line(id: &str, lit: &str) -> String {
    format!(
        r#"{{"type":"message","id":"{id}","parentId":null,"timestamp":"2026-11-20T10:00:00.000Z","message":{{"role":"assistant","content":[],"api":"openai-responses","provider":"openai","model":"gpt-5.4","usage":{{"input":10,"output":5,"cacheRead":0,"cacheWrite":0,"totalTokens":15,"cost":{{"input":0,"output":0,"cacheRead":0,"cacheWrite":0,"total":{lit}}}}},"stopReason":"stop","timestamp":1795000000000}}}}"#
    )
}

fn agent_db(path: &Path) -> rusqlite::Connection {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL,
           event_json TEXT, created_at INTEGER, event_zstd BLOB, PRIMARY KEY (session_id, seq));",
    )
    .unwrap();
    c
}

/// Append lines `[from, to)` to the JSONL transcript (even ids) and the agent database (odd
/// ids; every third of those zstd-compressed, as 2026.9 stores long events).
fn write_run(home: &Path, lits: &[String], from: usize, to: usize) {
    let sessions = home.join("agents/main/sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(sessions.join("aaaaaaaa-0000-4000-8000-000000000001.jsonl"))
        .unwrap();
    let c = agent_db(&home.join("agents/ops/agent/openclaw-agent.sqlite"));
    for (i, lit) in lits.iter().enumerate().take(to).skip(from) {
        let l = line(&format!("e{i:07x}"), lit);
        if i % 2 == 0 {
            writeln!(f, "{l}").unwrap();
        } else if i % 3 == 0 {
            let z = zstd::encode_all(l.as_bytes(), 3).unwrap();
            c.execute(
                "INSERT INTO transcript_events (session_id, seq, event_json, event_zstd) VALUES ('bbbbbbbb-0000-4000-8000-000000000002', ?1, NULL, ?2)",
                rusqlite::params![i as i64, z],
            )
            .unwrap();
        } else {
            c.execute(
                "INSERT INTO transcript_events (session_id, seq, event_json) VALUES ('bbbbbbbb-0000-4000-8000-000000000002', ?1, ?2)",
                rusqlite::params![i as i64, l],
            )
            .unwrap();
        }
    }
}

/// 6,000 lines of 17-digit and exponent-form literals in both eras: the total is their exact
/// sum to the last digit (a float sum, or one rounded per line, is not).
#[test]
fn thousands_of_many_digit_literals_sum_exactly_in_both_eras() {
    let s = Sandbox::new();
    s.write_settings("[general]\ntimezone = \"UTC\"\n");
    let home = s.openclaw();
    let lits = literals(6000, 1);
    write_run(&home, &lits, 0, lits.len());
    let want: Dec = lits.iter().map(|l| Dec::lit(l)).sum();
    let float: f64 = lits.iter().map(|l| l.parse::<f64>().unwrap()).sum();
    assert_ne!(
        format!("{float}"),
        want.to_string(),
        "the case must defeat a float sum"
    );
    s.run(&["--now", NOW, "cost-track"]).code(0).silent();
    let (got, lines) = logged_total(&s, &home);
    assert_eq!(lines, 6000);
    assert_eq!(got, want, "claw {got} vs exact {want}");
    let r = s.run(&["--now", NOW, "--json", "cost", "report"]);
    assert_eq!(usd(&r.json()["total"]["cost_usd"]), want);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Any split of the same lines into incremental runs gives the same exact total.
    #[test]
    fn any_split_into_runs_gives_the_same_exact_total(seed in 1u64..1_000_000, cuts in prop::collection::btree_set(1usize..300, 0..5)) {
        let s = Sandbox::new();
        s.write_settings("[general]\ntimezone = \"UTC\"\n");
        let home = s.openclaw();
        let lits = literals(300, seed);
        let want: Dec = lits.iter().map(|l| Dec::lit(l)).sum();
        let mut bounds: Vec<usize> = vec![0];
        bounds.extend(cuts.iter().copied());
        bounds.push(lits.len());
        for w in bounds.windows(2) {
            write_run(&home, &lits, w[0], w[1]);
            let r = s.run(&["--now", NOW, "cost-track"]);
            prop_assert_eq!(r.code, 0, "{}", r.stderr);
        }
        let (got, lines) = logged_total(&s, &home);
        prop_assert_eq!(lines, 300);
        prop_assert_eq!(got, want);
    }
}

/// ccusage (npm, pinned in `.ci/run`): `CLAW_TEST_CCUSAGE`, else the copy `scripts/bench.sh`
/// and `scripts/compare-cost.sh` install in `bench-cache/tools`.
fn ccusage() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("CLAW_TEST_CCUSAGE") {
        return Some(p.into());
    }
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-cache/tools/node_modules/.bin/ccusage");
    p.is_file().then_some(p)
}

/// Removes what ccusage 20.0.24 reads differently from claw (see the test below): the
/// checkpoint, `.reset` and `.deleted` copies, and the `gateway-injected` and alias-token lines.
fn reduce_to_what_both_read(home: &Path) {
    for e in walkdir::WalkDir::new(home.join("agents"))
        .into_iter()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().to_string();
        let p = e.path();
        if !e.file_type().is_file() {
            continue;
        }
        if name.contains(".checkpoint.") || name.contains(".reset.") || name.contains(".deleted.") {
            std::fs::remove_file(p).unwrap();
        } else if name.ends_with(".jsonl") && !name.ends_with(".trajectory.jsonl") {
            let text = std::fs::read_to_string(p).unwrap();
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| {
                    !["gateway-injected", "\"input_tokens\"", "\"prompt_tokens\""]
                        .iter()
                        .any(|w| l.contains(w))
                })
                .collect();
            std::fs::write(p, kept.join("\n") + "\n").unwrap();
        }
    }
}

/// Cross-check against ccusage on a generated JSONL home, reduced to what both read alike:
/// ccusage 20.0.24 leaves out `.reset`/`.deleted` archives and Anthropic/OpenAI alias token
/// names, counts checkpoint copies and `gateway-injected` lines again (README, "Spend, side by
/// side"), so those are removed first. Then the tokens per day are equal, and the spend of
/// every day x model whose lines all carry a logged cost is equal to within ccusage's float
/// sum; the rest is what ccusage prices itself (or marks `missingPricing`, $0) where claw
/// uses the config's prices.
#[test]
fn ccusage_agrees_on_tokens_per_day_and_on_logged_spend() {
    let Some(cc) = ccusage() else {
        crate::common::skip("no ccusage (CLAW_TEST_CCUSAGE, or bench-cache/tools from scripts/bench.sh): the ccusage cross-check");
        return;
    };
    let s = Sandbox::new();
    let (home, _) = s.gen_home("home-cc", 5, "jsonl");
    s.write_settings("[general]\ntimezone = \"UTC\"\n");
    reduce_to_what_both_read(&home);
    let out = std::process::Command::new(&cc)
        .args([
            "openclaw",
            "daily",
            "--json",
            "--offline",
            "--timezone",
            "UTC",
            "--open-claw-path",
        ])
        .arg(&home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    s.run(&[
        "--openclaw-dir",
        home.to_str().unwrap(),
        "--now",
        NOW,
        "cost-track",
    ])
    .code(0)
    .silent();
    let days = theirs["daily"].as_array().unwrap();
    assert!(days.len() >= 3, "{theirs}");
    let mut compared = 0;
    for d in days {
        let day = d["date"].as_str().unwrap();
        let run = |by: &str| {
            let r = s.run(&[
                "--openclaw-dir",
                home.to_str().unwrap(),
                "--now",
                NOW,
                "--json",
                "cost",
                "report",
                "--by",
                by,
                "--since",
                day,
                "--until",
                day,
                "--cost-mode",
                "logged",
            ]);
            r.code(0);
            r.json()
        };
        let ours = run("day");
        let t = &ours["total"];
        for (a, b) in [
            ("input", "inputTokens"),
            ("output", "outputTokens"),
            ("cache_read", "cacheReadTokens"),
            ("cache_write", "cacheCreationTokens"),
        ] {
            assert_eq!(
                t[a].as_i64(),
                d[b].as_i64(),
                "{day} {a}: claw {t} vs ccusage {d}"
            );
        }
        for row in run("model")["rows"].as_array().unwrap() {
            if row["unpriced_lines"] != 0 {
                continue;
            }
            let model = row["key"].as_str().unwrap().split_once('/').unwrap().1;
            let Some(b) = d["modelBreakdowns"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["modelName"] == format!("[openclaw] {model}"))
            else {
                continue;
            };
            let ours = usd(&row["cost_usd"]).to_f64();
            let theirs = b["cost"].as_f64().unwrap();
            assert!(
                (ours - theirs).abs() < 1e-9,
                "{day} {model}: claw {ours} vs ccusage {theirs}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 3, "{compared} day x model spends compared");
}
