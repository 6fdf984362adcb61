//! `claw-gen` (the test-data generator, not shipped in `claw`): deterministic output, and a ground truth that matches an
//! independent reading of the files it wrote (this reader shares no code with the generator).

use crate::common::Sandbox;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn gen(s: &Sandbox, name: &str, seed: &str, era: &str) -> (PathBuf, Value) {
    let out = s.root().join(name);
    let code = claw_gen::main_with([
        "claw-gen",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        seed,
        "--scale",
        "small",
        "--era",
        era,
    ]);
    assert_eq!(code, 0, "claw-gen {name}");
    let truth_path = s.root().join(format!("{name}.truth.json"));
    let truth: Value = serde_json::from_slice(&std::fs::read(truth_path).unwrap()).unwrap();
    (out, truth)
}

/// sha256 over every file's relative path and bytes, in path order.
fn tree_hash(root: &Path) -> String {
    let mut h = Sha256::new();
    let mut n = 0;
    for e in walkdir::WalkDir::new(root).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(e.path()).unwrap();
            h.update(rel.as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
            n += 1;
        }
    }
    assert!(n > 20, "{}: only {n} files", root.display());
    format!("{:x}", h.finalize())
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let s = Sandbox::new();
    let (a, ta) = gen(&s, "a", "7", "both");
    let (b, tb) = gen(&s, "b", "7", "both");
    let (c, _) = gen(&s, "c", "8", "both");
    assert_eq!(tree_hash(&a), tree_hash(&b));
    assert_eq!(ta, tb);
    assert_ne!(tree_hash(&a), tree_hash(&c));
    // A second run into a non-empty directory refuses instead of mixing two homes.
    assert_eq!(
        claw_gen::main_with(["claw-gen", "--out", a.to_str().unwrap()]),
        2
    );
    // A typo in an argument is a usage error too.
    assert_eq!(
        claw_gen::main_with(["claw-gen", "--out", "x", "--scale", "huge"]),
        2
    );
}

#[test]
fn the_shipped_claw_has_no_generator() {
    let s = Sandbox::new();
    // `dev` was the generator's old home inside `claw`; it must stay out of the shipped binary.
    let r = s.run(&[
        "dev",
        "gen-home",
        "--out",
        s.root().join("x").to_str().unwrap(),
    ]);
    r.code(2);
    assert!(!s.root().join("x").exists());
    // Nor its code: a string only the generator holds (its fixed home path) is not in the binary.
    let bin = std::fs::read(env!("CARGO_BIN_EXE_claw")).unwrap();
    let needle = b"/home/operator/.openclaw";
    assert!(!bin.windows(needle.len()).any(|w| w == needle));
}

#[test]
fn bundled_example_is_what_the_generator_writes() {
    let s = Sandbox::new();
    let (fresh, truth) = gen(&s, "openclaw-home", "1", "both");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    assert_eq!(
        tree_hash(&fresh),
        tree_hash(&repo.join("openclaw-home")),
        "examples/openclaw-home is stale: regenerate it with `cargo run -p claw-gen -- --out examples/openclaw-home --seed 1 --scale small`"
    );
    let bundled: Value =
        serde_json::from_slice(&std::fs::read(repo.join("openclaw-home.truth.json")).unwrap())
            .unwrap();
    assert_eq!(truth, bundled);
}

#[derive(Default, Debug, PartialEq)]
struct Row {
    micros: i64,
    lines: u64,
    tokens: [u64; 4],
}

struct Reader {
    prices: HashMap<(String, String), [f64; 4]>,
    seen: BTreeSet<(String, String)>,
    rows: BTreeMap<(String, String, String, String), Row>,
    errors: BTreeMap<(String, String, String, String), [u64; 3]>,
    /// What the home exercised, so the test fails if a case silently disappears.
    saw: BTreeMap<&'static str, u64>,
}

fn num(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

impl Reader {
    fn new(home: &Path) -> Reader {
        let cfg: Value =
            serde_json::from_slice(&std::fs::read(home.join("openclaw.json")).unwrap()).unwrap();
        let mut prices = HashMap::new();
        for (pid, p) in cfg["models"]["providers"].as_object().unwrap() {
            for m in p["models"].as_array().unwrap() {
                let c = &m["cost"];
                let f = |k: &str| c[k].as_f64().unwrap();
                prices.insert(
                    (pid.clone(), m["id"].as_str().unwrap().to_string()),
                    [f("input"), f("output"), f("cacheRead"), f("cacheWrite")],
                );
            }
        }
        Reader {
            prices,
            seen: BTreeSet::new(),
            rows: BTreeMap::new(),
            errors: BTreeMap::new(),
            saw: BTreeMap::new(),
        }
    }

    fn mark(&mut self, what: &'static str) {
        *self.saw.entry(what).or_default() += 1;
    }

    fn line(&mut self, agent: &str, sid: &str, text: &str) {
        let v: Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{sid}: bad line {e}: {text}"));
        let m = &v["message"];
        if v["type"] != "message" || m["role"] != "assistant" || m.get("usage").is_none() {
            return;
        }
        let id = v["id"].as_str().unwrap().to_string();
        if !self.seen.insert((sid.to_string(), id)) {
            self.mark("duplicate line skipped");
            return;
        }
        let provider = m["provider"].as_str().unwrap().to_string();
        let model = m["model"].as_str().unwrap().to_string();
        if provider == "openclaw" && model == "gateway-injected" {
            self.mark("gateway-injected");
            return;
        }
        let u = &m["usage"];
        let cr = num(u, "cacheRead")
            .or_else(|| num(u, "cache_read_input_tokens"))
            .or_else(|| {
                u.get("prompt_tokens_details")
                    .and_then(|d| num(d, "cached_tokens"))
            })
            .or_else(|| num(u, "cached_tokens"))
            .unwrap_or(0);
        let cw = num(u, "cacheWrite")
            .or_else(|| num(u, "cache_creation_input_tokens"))
            .unwrap_or(0);
        let input = num(u, "input")
            .or_else(|| num(u, "input_tokens"))
            .or_else(|| num(u, "prompt_tokens").map(|p| p - cr - cw))
            .unwrap_or(0);
        let output = num(u, "output")
            .or_else(|| num(u, "output_tokens"))
            .or_else(|| num(u, "completion_tokens"))
            .unwrap_or(0);
        for alias in [
            "input_tokens",
            "prompt_tokens",
            "cached_tokens",
            "cache_read_input_tokens",
        ] {
            if u.get(alias).is_some() {
                self.mark("alias usage");
            }
        }
        let t = [input, output, cr, cw];
        let day = v["timestamp"].as_str().unwrap()[..10].to_string();
        let key = (day, agent.to_string(), provider.clone(), model.clone());
        if m["stopReason"] == "error" {
            let msg = m["errorMessage"].as_str().unwrap_or("");
            let k = if msg.starts_with("429 ") && msg.contains("rate_limit_error") {
                0
            } else if msg.starts_with("529 ") && msg.contains("overloaded_error") {
                1
            } else {
                2
            };
            self.errors.entry(key.clone()).or_default()[k] += 1;
            if t.iter().all(|&x| x == 0) {
                return;
            }
        }
        let usd = match u
            .get("cost")
            .and_then(|c| c.get("total"))
            .and_then(Value::as_f64)
        {
            Some(total) => total,
            None => {
                self.mark("priced from config");
                let p = self
                    .prices
                    .get(&(provider, model))
                    .expect("a config price for every line without cost");
                (t[0] as f64 * p[0] + t[1] as f64 * p[1] + t[2] as f64 * p[2] + t[3] as f64 * p[3])
                    / 1e6
            }
        };
        let r = self.rows.entry(key).or_default();
        r.micros += (usd * 1e6).round() as i64;
        r.lines += 1;
        for (a, x) in r.tokens.iter_mut().zip(t) {
            *a += x;
        }
    }

    fn file(&mut self, agent: &str, path: &Path) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let sid = name.split('.').next().unwrap().to_string();
        let is_transcript = name.ends_with(".jsonl") && !name.ends_with(".trajectory.jsonl")
            || name.contains(".jsonl.reset.")
            || name.contains(".jsonl.deleted.");
        if !is_transcript || name.starts_with('.') {
            return;
        }
        let mut bytes = std::fs::read(path).unwrap();
        if name.ends_with(".zst") {
            bytes = zstd::decode_all(&bytes[..]).unwrap();
            self.mark("zst archive");
        }
        for (k, what) in [
            (".checkpoint.", "checkpoint copy"),
            (".reset.", "reset archive"),
            (".deleted.", "deleted archive"),
        ] {
            if name.contains(k) {
                self.mark(what);
            }
        }
        if path
            .to_string_lossy()
            .contains("session-sqlite-import-archive")
        {
            self.mark("import archive");
        }
        for l in String::from_utf8(bytes).unwrap().lines() {
            self.line(agent, &sid, l);
        }
    }

    fn sqlite(&mut self, agent: &str, db: &Path) {
        /// session_id, event_json, event_zstd, event_utf8_bytes
        type EventRow = (String, Option<String>, Option<Vec<u8>>, i64);
        let c =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let mut st = c.prepare("SELECT session_id, event_json, event_zstd, event_utf8_bytes FROM transcript_events ORDER BY session_id, seq").unwrap();
        let rows: Vec<EventRow> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (sid, json, z, n) in rows {
            let text = match (json, z) {
                (Some(j), None) => j,
                (None, Some(z)) => {
                    let t = String::from_utf8(zstd::decode_all(&z[..]).unwrap()).unwrap();
                    if t.contains("\"usage\"") {
                        self.mark("compressed usage event");
                    }
                    t
                }
                other => panic!("{sid}: event must be in exactly one column: {other:?}"),
            };
            assert_eq!(text.len() as i64, n, "event_utf8_bytes");
            self.line(agent, &sid, &text);
        }
    }
}

fn walk_home(home: &Path) -> Reader {
    let mut r = Reader::new(home);
    for a in std::fs::read_dir(home.join("agents")).unwrap() {
        let a = a.unwrap().path();
        let agent = a.file_name().unwrap().to_string_lossy().into_owned();
        for e in walkdir::WalkDir::new(a.join("sessions")).sort_by_file_name() {
            let e = e.unwrap();
            if e.file_type().is_file() {
                if e.file_name()
                    .to_string_lossy()
                    .ends_with(".trajectory.jsonl")
                {
                    assert!(std::fs::read_to_string(e.path()).unwrap().contains("usage"));
                    r.mark("trajectory sidecar");
                }
                r.file(&agent, e.path());
            }
        }
        let db = a.join("agent").join("openclaw-agent.sqlite");
        if db.exists() {
            r.sqlite(&agent, &db);
        }
    }
    r
}

fn truth_rows(truth: &Value) -> BTreeMap<(String, String, String, String), Row> {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    truth["cost"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let u = |k: &str| r[k].as_u64().unwrap();
            (
                (s(r, "day"), s(r, "agent"), s(r, "provider"), s(r, "model")),
                Row {
                    micros: r["micros"].as_i64().unwrap(),
                    lines: u("lines"),
                    tokens: [u("input"), u("output"), u("cache_read"), u("cache_write")],
                },
            )
        })
        .collect()
}

/// 429/529 `[model-fetch]` responses per 10-minute UTC window and provider.
fn read_logs(home: &Path) -> BTreeMap<(String, String), [u64; 2]> {
    let mut out: BTreeMap<(String, String), [u64; 2]> = BTreeMap::new();
    let mut parts = 0;
    for e in std::fs::read_dir(home.join("logs/gateway")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".1.log") {
            parts += 1;
        }
        for l in std::fs::read_to_string(&p).unwrap().lines() {
            let v: Value = serde_json::from_str(l).unwrap();
            let msg = v["1"].as_str().or_else(|| v["2"].as_str()).unwrap_or("");
            if !msg.starts_with("[model-fetch] response ") {
                continue;
            }
            let field = |k: &str| {
                msg.split(' ')
                    .find_map(|w| w.strip_prefix(k))
                    .unwrap_or("")
                    .to_string()
            };
            let kind = match field("status=").as_str() {
                "429" => 0,
                "529" => 1,
                _ => continue,
            };
            let t = chrono::DateTime::parse_from_rfc3339(v["time"].as_str().unwrap())
                .unwrap()
                .with_timezone(&chrono::Utc);
            let w = t.timestamp_millis().div_euclid(600_000) * 600_000;
            let w = chrono::DateTime::from_timestamp_millis(w)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            out.entry((w, field("provider="))).or_default()[kind] += 1;
        }
    }
    assert!(parts > 0, "no rotated .1.log part");
    out
}

/// The last entries of a child session, from whichever store holds it.
fn child_entries(home: &Path, agent: &str, key: &str) -> Option<Vec<Value>> {
    let store = home.join(format!("agents/{agent}/sessions/sessions.json"));
    if store.exists() {
        let s: Value = serde_json::from_slice(&std::fs::read(store).unwrap()).unwrap();
        let sid = s[key]["sessionId"].as_str()?;
        let text =
            std::fs::read_to_string(home.join(format!("agents/{agent}/sessions/{sid}.jsonl")))
                .ok()?;
        return Some(
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
        );
    }
    let c = rusqlite::Connection::open(
        home.join(format!("agents/{agent}/agent/openclaw-agent.sqlite")),
    )
    .unwrap();
    let sid: String = c
        .query_row(
            "SELECT session_id FROM session_windows WHERE session_key = ?1",
            [key],
            |r| r.get(0),
        )
        .ok()?;
    let mut st = c.prepare("SELECT event_json, event_zstd FROM transcript_events WHERE session_id = ?1 ORDER BY seq").unwrap();
    let v: Vec<Value> = st
        .query_map([&sid], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
            ))
        })
        .unwrap()
        .map(|r| {
            let (j, z) = r.unwrap();
            let t = j.unwrap_or_else(|| {
                String::from_utf8(zstd::decode_all(&z.unwrap()[..]).unwrap()).unwrap()
            });
            serde_json::from_str(&t).unwrap()
        })
        .collect();
    (!v.is_empty()).then_some(v)
}

fn all_store_keys(home: &Path) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for a in std::fs::read_dir(home.join("agents")).unwrap() {
        let a = a.unwrap().path();
        if let Ok(b) = std::fs::read(a.join("sessions/sessions.json")) {
            let s: Value = serde_json::from_slice(&b).unwrap();
            keys.extend(s.as_object().unwrap().keys().cloned());
        }
        let db = a.join("agent/openclaw-agent.sqlite");
        if db.exists() {
            let c = rusqlite::Connection::open(db).unwrap();
            let mut st = c
                .prepare("SELECT session_key FROM session_windows")
                .unwrap();
            keys.extend(
                st.query_map([], |r| r.get::<_, String>(0))
                    .unwrap()
                    .map(Result::unwrap),
            );
        }
    }
    keys
}

fn ms(iso: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso)
        .unwrap()
        .timestamp_millis()
}

fn check_runs(home: &Path, truth: &Value) {
    let now = ms(truth["generator"]["now"].as_str().unwrap());
    let idle = truth["runs"]["idle_after_seconds"].as_i64().unwrap() * 1000;
    let loop_min = truth["runs"]["error_loop_min"].as_u64().unwrap() as usize;
    let runs: Value =
        serde_json::from_slice(&std::fs::read(home.join("subagents/runs.json")).unwrap()).unwrap();
    assert_eq!(runs["version"], 2);
    let keys = all_store_keys(home);
    let list = truth["runs"]["list"].as_array().unwrap();
    assert_eq!(list.len(), runs["runs"].as_object().unwrap().len());
    let mut reasons_seen = BTreeSet::new();
    for t in list {
        let id = t["run_id"].as_str().unwrap();
        let r = &runs["runs"][id];
        if r.get("endedAt").is_some() {
            assert_eq!(t["state"], "finished", "{id}");
            continue;
        }
        let key = r["childSessionKey"].as_str().unwrap();
        let agent = key.split(':').nth(1).unwrap();
        let started = r["startedAt"].as_i64().unwrap();
        let entries = child_entries(home, agent, key).unwrap_or_default();
        let last = entries
            .last()
            .map(|e| ms(e["timestamp"].as_str().unwrap()))
            .unwrap_or(started)
            .max(started);
        let assistants: Vec<&Value> = entries
            .iter()
            .filter(|e| e["message"]["role"] == "assistant")
            .collect();
        let mut want = Vec::new();
        if now - last > idle {
            want.push("idle");
        }
        let to = r["runTimeoutSeconds"].as_i64().unwrap();
        if to > 0 && now - started > to * 1000 {
            want.push("timeout");
        }
        if !keys.contains(r["requesterSessionKey"].as_str().unwrap()) {
            want.push("orphaned");
        }
        if assistants.len() >= loop_min
            && assistants[assistants.len() - loop_min..]
                .iter()
                .all(|a| a["message"]["stopReason"] == "error")
        {
            want.push("error_loop");
        }
        if entries
            .last()
            .map(|e| e["message"]["role"] == "assistant" && e["message"]["stopReason"] == "stop")
            .unwrap_or(false)
        {
            want.push("waiting_for_input");
        }
        let got: Vec<&str> = t["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(got, want, "run {id} ({key})");
        assert_eq!(
            t["state"],
            if want.is_empty() { "running" } else { "stuck" }
        );
        reasons_seen.extend(want);
    }
    let all: BTreeSet<&str> = [
        "idle",
        "timeout",
        "orphaned",
        "error_loop",
        "waiting_for_input",
    ]
    .into();
    assert_eq!(reasons_seen, all, "every stuck reason appears");
}

fn check_home(home: &Path, truth: &Value, era: &str) {
    let r = walk_home(home);
    let want = truth_rows(truth);
    assert_eq!(
        r.rows.len(),
        want.len(),
        "cost rows: read {:?}\ntruth {:?}",
        r.rows.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, v) in &want {
        assert_eq!(r.rows.get(k), Some(v), "cost row {k:?}");
    }
    let total: i64 = r.rows.values().map(|x| x.micros).sum();
    assert_eq!(total, truth["cost"]["total_micros"].as_i64().unwrap());
    let errs: BTreeMap<_, _> = truth["cost"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            let u = |k: &str| e[k].as_u64().unwrap();
            (
                (s("day"), s("agent"), s("provider"), s("model")),
                [u("rate_limit"), u("overloaded"), u("other")],
            )
        })
        .collect();
    assert_eq!(r.errors, errs);
    let mut must: Vec<&str> = vec!["gateway-injected", "priced from config", "alias usage"];
    if era != "sqlite" {
        must.extend([
            "duplicate line skipped",
            "checkpoint copy",
            "reset archive",
            "deleted archive",
            "zst archive",
            "trajectory sidecar",
        ]);
    }
    if era != "jsonl" {
        must.extend(["compressed usage event", "import archive"]);
    }
    for m in must {
        assert!(
            r.saw.get(m).copied().unwrap_or(0) > 0,
            "the home has no {m}: {:?}",
            r.saw
        );
    }
    let logs = read_logs(home);
    let want: BTreeMap<(String, String), [u64; 2]> = truth["rate_limits"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                (
                    w["window_start"].as_str().unwrap().to_string(),
                    w["provider"].as_str().unwrap().to_string(),
                ),
                [
                    w["rate_limit"].as_u64().unwrap(),
                    w["overloaded"].as_u64().unwrap(),
                ],
            )
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(logs, want);
    check_runs(home, truth);
}

#[test]
fn truth_matches_an_independent_reading_in_every_era() {
    let s = Sandbox::new();
    for era in ["both", "jsonl", "sqlite"] {
        let (home, truth) = gen(&s, &format!("home-{era}"), "3", era);
        check_home(&home, &truth, era);
    }
}
