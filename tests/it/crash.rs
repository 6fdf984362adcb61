//! Crash test: claw killed (SIGKILL at a random moment, or aborted at a `CLAW_FAULT` point)
//! during config backup, restore, heal, prune, compaction-backup and cost-track, then run
//! again. After every rerun the config is one of the versions it ever had, every listed backup
//! verifies, the ledger passes `PRAGMA integrity_check`; at the end every backup restores,
//! cost totals equal a clean run's on the same home, every transcript line ever written
//! restores from the store, and no temp file is left anywhere.
//!
//! Seeded (`CLAW_CRASH_SEED`, default 12) so a failure reproduces; `CLAW_CRASH_KILLS` sets the
//! number of iterations (default 120; each kills or aborts one run). The figures are printed on the terminal.

use crate::common::Sandbox;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// xorshift64*: small, seeded, good enough to pick ops and delays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const SID: &str = "c0ffee00-0000-4000-8000-000000000001";

fn transcript_line(i: u64) -> String {
    format!(
        r#"{{"type":"message","id":"crash{i:010}","parentId":null,"timestamp":"2026-11-20T09:00:00.000Z","message":{{"role":"assistant","content":[{{"type":"text","text":"reply {i}"}}],"provider":"anthropic","model":"claude-sonnet-4-5","usage":{{"input":10,"output":{i},"cacheRead":0,"cacheWrite":0,"totalTokens":{t},"cost":{{"total":0.001}}}},"stopReason":"stop","timestamp":1795165200000}}}}"#,
        t = 10 + i
    )
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Backup,
    Restore,
    Heal,
    Prune,
    Cbackup,
    CostTrack,
}
const OPS: [Op; 6] = [
    Op::Backup,
    Op::Restore,
    Op::Heal,
    Op::Prune,
    Op::Cbackup,
    Op::CostTrack,
];

fn args_of(op: Op, s: &Sandbox, rng: &mut Rng) -> Vec<String> {
    let v: Vec<&str> = match op {
        Op::Backup => vec!["config", "backup"],
        Op::Heal => vec!["config", "heal"],
        Op::Prune => vec!["config", "prune"],
        Op::Cbackup => vec!["compaction-backup"],
        Op::CostTrack => vec!["cost-track"],
        Op::Restore => {
            let ids = published(s);
            if ids.is_empty() {
                vec!["config", "backup"]
            } else {
                let id = ids[rng.below(ids.len() as u64) as usize].clone();
                return ["config", "restore", &id, "--force"]
                    .iter()
                    .map(|x| x.to_string())
                    .collect();
            }
        }
    };
    v.into_iter().map(String::from).collect()
}

/// Fault points that abort inside the write paths of `op`.
fn faults(op: Op) -> &'static [&'static str] {
    match op {
        Op::Backup => &["config-backup-before-publish", "config-prune-in-trash"],
        Op::Restore | Op::Heal => &[
            "atomic-before-rename:openclaw.json",
            "config-backup-before-publish",
        ],
        Op::Prune => &["config-prune-in-trash"],
        Op::Cbackup => &["cbackup-mid-snapshot"],
        Op::CostTrack => &["atomic-before-rename"],
    }
}

fn config_ids(s: &Sandbox) -> Vec<String> {
    let r = s.run(&["--json", "config", "list"]);
    r.code(0);
    r.json()["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every backup directory in place (the names not starting with a dot), read in-process so an
/// iteration costs two claw runs.
fn published(s: &Sandbox) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(s.state().join("backups/config"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

/// Leftovers of interrupted runs anywhere under `dir`.
fn temps(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy();
            n.contains(".claw-tmp-")
                || n.starts_with(".tmp-")
                || n == ".trash"
                || n.contains(".claw-restore-")
                || (e
                    .path()
                    .parent()
                    .is_some_and(|p| p.ends_with("sessions/tmp")))
        })
        .map(|e| e.into_path())
        .collect()
}

/// Every file of a listed backup matches its manifest (what `config restore` checks first),
/// done in-process to keep an iteration cheap; the end of the test restores each for real.
fn verify_backup(s: &Sandbox, id: &str) {
    use sha2::Digest;
    let dir = s.state().join("backups/config").join(id);
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    for f in m["files"].as_array().unwrap() {
        let bytes = fs::read(dir.join(f["path"].as_str().unwrap()))
            .unwrap_or_else(|e| panic!("listed backup {id} is missing a file: {e}"));
        let h: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            h,
            f["sha256"].as_str().unwrap(),
            "listed backup {id} damaged"
        );
    }
}

fn integrity(s: &Sandbox) {
    let c = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    let r: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r, "ok", "ledger integrity");
}

fn cost_rows(s: &Sandbox, now: &str) -> serde_json::Value {
    let r = s.run(&["--now", now, "--json", "cost", "report"]);
    r.code(0);
    r.json()["rows"].clone()
}

/// Clean durations per op, so random kills land inside the run.
fn clean_durations(
    s: &Sandbox,
    rng: &mut Rng,
    start: &chrono::DateTime<chrono::FixedOffset>,
) -> std::collections::HashMap<u8, Duration> {
    let mut took = std::collections::HashMap::new();
    for op in OPS {
        let now = start.to_rfc3339();
        let mut a = vec!["--now".to_string(), now];
        a.extend(args_of(op, s, rng));
        let t = Instant::now();
        let r = s.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!([0, 1].contains(&r.code), "{op:?}: {}", r.stderr);
        took.insert(op as u8, t.elapsed());
    }
    took
}

/// The rerun of `a` after the kill or fault #`i` succeeds and leaves a config that is one of
/// the `versions` written and backups that all verify.
fn rerun_loses_nothing(
    s: &Sandbox,
    a: &[String],
    op: Op,
    i: u64,
    seed: u64,
    versions: &BTreeSet<Vec<u8>>,
) {
    // The rerun (a killed run's lock is free: the kernel dropped it with the process).
    let r = s.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        [0, 1].contains(&r.code) || (op == Op::Restore && r.code == 66),
        "rerun #{i} of {op:?} after a kill (seed {seed}): exit {}\n{}",
        r.code,
        r.stderr
    );
    let cfg = fs::read(s.config()).unwrap();
    assert!(
        versions.contains(&cfg),
        "#{i} {op:?}: config is neither old nor new (seed {seed})"
    );
    // Stricter than `config list` (which skips a damaged manifest with a warning): every
    // backup directory in place must verify.
    for id in published(s) {
        verify_backup(s, &id);
    }
    integrity(s);
}

/// Every job once more at `end`, then nothing is lost: backups restore, the transcript
/// restores, cost totals equal a clean run's, no temp file is left.
fn end_state_loses_nothing(s: &Sandbox, rng: &mut Rng, end: &str, live: &Path, base_config: &str) {
    // Finally: every job once more, then the end-state checks.
    for op in [Op::Backup, Op::Prune, Op::Cbackup, Op::CostTrack] {
        let mut a = vec!["--now".to_string(), end.to_string()];
        a.extend(args_of(op, s, rng));
        let r = s.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!([0, 1].contains(&r.code), "{op:?}: {}", r.stderr);
    }
    // Every listed backup really restores (and the restore of the last puts back the first).
    for id in config_ids(s) {
        s.run(&["--now", end, "config", "restore", &id, "--force"])
            .code(0);
    }
    integrity(s);
    // Every transcript line ever written restores from the store.
    let out = s.root().join("restored");
    s.run(&["sessions", "restore", SID, "--to", out.to_str().unwrap()])
        .code(0);
    assert_eq!(
        fs::read(out.join(format!("{SID}.jsonl"))).unwrap(),
        fs::read(live).unwrap(),
        "restored transcript differs from every line written"
    );
    // Cost totals equal a clean run's on a copy of the same home, priced with the base config:
    // the restores above may have left a broken version, and the killed runs priced with
    // valid ones (all with the base's prices).
    fs::write(s.config(), base_config).unwrap();
    let clean = Sandbox::new();
    fs::remove_dir_all(clean.openclaw()).unwrap();
    copy_dir(&s.openclaw(), &clean.openclaw());
    clean.run(&["--now", end, "cost-track"]).code(0);
    assert_eq!(cost_rows(s, end), cost_rows(&clean, end), "cost totals");
    totals_match_the_days(s);
    let left: Vec<PathBuf> = [s.state(), s.openclaw()]
        .iter()
        .flat_map(|d| temps(d))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

/// The all-time totals the metrics read (`cost_totals`, kept by every write of `cost_daily`)
/// equal the sum of the days, exactly, after every kill.
fn totals_match_the_days(s: &Sandbox) {
    use claw::money::Usd;
    use std::collections::BTreeMap;
    type Sums = BTreeMap<(String, String, String), ([i64; 4], [Usd; 3])>;
    let c = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    let read = |table: &str| -> Sums {
        let sql = format!(
            "SELECT agent_id, provider, model, input, output, cache_read, cache_write, \
             logged_usd, computed_usd, auto_usd FROM {table}"
        );
        let mut st = c.prepare(&sql).unwrap();
        let mut rows = st.query([]).unwrap();
        let mut out = Sums::new();
        while let Some(r) = rows.next().unwrap() {
            let k = (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap());
            let e = out.entry(k).or_default();
            for i in 0..4 {
                e.0[i] += r.get::<_, i64>(3 + i).unwrap();
            }
            for i in 0..3 {
                let v: String = r.get(7 + i).unwrap();
                e.1[i] = e.1[i].saturating_add(Usd::parse(&v).unwrap());
            }
        }
        out
    };
    let (totals, days) = (read("cost_totals"), read("cost_daily"));
    assert!(!days.is_empty());
    assert_eq!(totals, days, "cost_totals against the sum of cost_daily");
}

#[test]
fn kill_anywhere_then_rerun_loses_nothing() {
    let seed: u64 = std::env::var("CLAW_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let kills: u64 = std::env::var("CLAW_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let s = Sandbox::new();
    fs::remove_dir_all(s.openclaw()).unwrap();
    s.gen_home("home/.openclaw", seed, "jsonl");
    s.write_settings(
        "[config.retention]\nkeep_last = 3\nhourly = 0\ndaily = 0\nweekly = 0\nmonthly = 0\n\
         [compaction_backup]\nkeep_last = 2\n",
    );
    let live = s
        .openclaw()
        .join(format!("agents/main/sessions/{SID}.jsonl"));
    fs::write(
        &live,
        format!(
            "{{\"type\":\"session\",\"version\":3,\"id\":\"{SID}\",\"timestamp\":\"2026-11-20T08:00:00.000Z\",\"cwd\":\"/tmp\"}}\n"
        ),
    )
    .unwrap();
    let base_config = fs::read_to_string(s.config()).unwrap();
    let mut versions: BTreeSet<Vec<u8>> = BTreeSet::new();
    versions.insert(base_config.as_bytes().to_vec());
    // OpenClaw's own `.bak` copies, which `config backup` adopts as backups, are versions too.
    // Their prices are made the base's: lines keep the prices of the config they were counted
    // under, and the end compares costs with one clean run under the base.
    for e in fs::read_dir(s.openclaw()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("openclaw.json.bak") {
            let v = base_config.replacen('{', &format!("{{\n  // OpenClaw's {name}\n"), 1);
            fs::write(e.path(), &v).unwrap();
            versions.insert(v.into_bytes());
        }
    }
    let t0 = Instant::now();
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-21T08:00:00Z").unwrap();
    let took = clean_durations(&s, &mut rng, &start);
    let (mut killed, mut faulted, mut finished_first) = (0u64, 0u64, 0u64);
    let mut line_no = 0u64;
    let mut per_op = [0u64; 6];
    for i in 0..kills {
        let now = (start + chrono::Duration::minutes(10 * (i as i64 + 1))).to_rfc3339();
        // Change the inputs: a new config version (sometimes broken, for heal), new lines.
        match rng.below(4) {
            0 => {
                let v = base_config.replacen('{', &format!("{{\n  // edit {i}\n"), 1);
                fs::write(s.config(), &v).unwrap();
                versions.insert(v.into_bytes());
            }
            1 if rng.below(3) == 0 => {
                let v = format!("{{ broken {i}");
                fs::write(s.config(), &v).unwrap();
                versions.insert(v.into_bytes());
            }
            _ => {
                let mut f = fs::OpenOptions::new().append(true).open(&live).unwrap();
                for _ in 0..=rng.below(5) {
                    line_no += 1;
                    writeln!(f, "{}", transcript_line(line_no)).unwrap();
                }
            }
        }
        let op = OPS[rng.below(OPS.len() as u64) as usize];
        per_op[op as usize] += 1;
        let mut a = vec!["--now".to_string(), now.clone()];
        a.extend(args_of(op, &s, &mut rng));
        let mut cmd = s.cmd(&a.iter().map(String::as_str).collect::<Vec<_>>());
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let by_fault = rng.below(3) == 0;
        if by_fault {
            let f = faults(op);
            cmd.env("CLAW_FAULT", f[rng.below(f.len() as u64) as usize]);
        }
        let mut child = cmd.spawn().unwrap();
        if by_fault {
            let st = child.wait().unwrap();
            if st.code().is_none() {
                faulted += 1;
            } else {
                finished_first += 1;
            }
        } else {
            let budget = took[&(op as u8)].as_micros() as u64 + 1;
            std::thread::sleep(Duration::from_micros(rng.below(budget)));
            let _ = child.kill();
            let st = child.wait().unwrap();
            if st.code().is_none() {
                killed += 1;
            } else {
                finished_first += 1;
            }
        }
        rerun_loses_nothing(&s, &a, op, i, seed, &versions);
    }
    let end = (start + chrono::Duration::minutes(10 * (kills as i64 + 2))).to_rfc3339();
    end_state_loses_nothing(&s, &mut rng, &end, &live, &base_config);
    let _ = writeln!(
        std::io::stderr(),
        "crash test (seed {seed}): {kills} iterations, {killed} SIGKILLs mid-run, {faulted} aborts at \
         fault points, {finished_first} runs finished before the kill; per op \
         backup/restore/heal/prune/compaction-backup/cost-track = {per_op:?}; \
         {} config versions, {line_no} transcript lines; {:.0?}",
        versions.len(),
        t0.elapsed()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).into_iter().flatten() {
        let rel = e.path().strip_prefix(from).unwrap();
        let dst = to.join(rel);
        if e.file_type().is_dir() {
            fs::create_dir_all(&dst).unwrap();
        } else if e.file_type().is_file() {
            fs::copy(e.path(), &dst).unwrap();
        }
    }
}
