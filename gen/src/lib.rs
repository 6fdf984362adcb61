//! `claw-gen`: realistic OpenClaw state dirs at any size, from a seed, with the
//! ground truth every job can be checked against.
//!
//! Deterministic: the same seed, scale and era give the same bytes (own PRNG, a fixed "now"
//! of [`NOW`], no clock, no hash-map order). Layout follows `openclaw-formats.md`:
//! - `openclaw.json` (+ `.bak`), `logs/config-audit.jsonl`
//! - JSONL-era agents: `agents/<id>/sessions/` with `sessions.json`, live `<sid>.jsonl`,
//!   `.jsonl.reset.<ts>`, `.jsonl.deleted.<ts>[.zst]`, `<sid>.checkpoint.<uuid>.jsonl`, lock
//!   files and sidecars (`.trajectory.jsonl`, `.trajectory-path.json`, `.usage-cost-cache.json`)
//! - SQLite-era agents: `agents/<id>/agent/openclaw-agent.sqlite` (`session_windows`,
//!   `transcript_events`), sessions from before the migration also kept as JSONL in
//!   `sessions/session-sqlite-import-archive/`
//! - `agents/<id>/agent/auth-state.json`, `subagents/runs.json`
//! - gateway logs in `logs/gateway/openclaw-YYYY-MM-DD[.N].log` (OpenClaw writes them to
//!   `/tmp/openclaw/`; point a job's log setting at this directory)
//!
//! The truth goes to `<out>.truth.json` beside the home (see [`truth`]).
//!
//! A workspace member, not part of the shipped `claw`: the tests call [`main_with`], the
//! benchmarks run the `claw-gen` binary.

pub mod logs;
pub mod rng;
pub mod sqlite;
pub mod time;
pub mod transcript;
pub mod truth;

use anyhow::{Context, Result};
use rng::Rng;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use time::{archive_ts, iso, DAY_MS};
use transcript::{Session, Spec, Tail, ACME, DEEPSEEK, GPT, HAIKU, MODELS, QWEN, SONNET};
use truth::{RunTruth, Truth};

/// The generated gateway's "now": 2026-11-21T08:00:00Z.
pub const NOW: &str = "2026-11-21T08:00:00Z";
const NOW_MS: i64 = 1_795_248_000_000;
/// A running run is idle after this long without a transcript entry.
pub const IDLE_AFTER_SECS: i64 = 1800;
/// This many trailing failed attempts make an error loop.
pub const ERROR_LOOP_MIN: u32 = 3;
const GATEWAY_UTC_OFFSET_MIN: i64 = 120;
const ROOT: &str = "/home/operator/.openclaw";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// Under 1 MB (the bundled examples/openclaw-home)
    Small,
    /// About 100 MB
    Medium,
    /// About 2 GB: 20k sessions, 1 GB of logs
    Large,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Era {
    /// Every agent keeps JSONL transcripts (OpenClaw <= 2026.7.1)
    Jsonl,
    /// Every agent keeps an openclaw-agent.sqlite (2026.8 and later)
    Sqlite,
    /// Agents alternate: main in JSONL, the next in SQLite, ...
    Both,
}

pub struct Opts {
    pub out: PathBuf,
    pub truth: PathBuf,
    pub seed: u64,
    pub scale: Scale,
    pub era: Era,
    /// Sessions instead of the scale's count (benchmarks size a home by it).
    pub sessions: Option<usize>,
}

struct Params {
    agents: &'static [&'static str],
    sessions: usize,
    days: i64,
    turns_mean: u32,
    tool_max: usize,
    compaction_every: u32,
    log_days: u32,
    log_bytes_per_day: u64,
    rotate_at: u64,
    bursts_per_day: u32,
    skills_bytes: usize,
}

fn params(s: Scale) -> Params {
    match s {
        Scale::Small => Params {
            agents: &["main", "ops"],
            sessions: 18,
            days: 3,
            turns_mean: 3,
            tool_max: 1500,
            compaction_every: 3,
            log_days: 3,
            log_bytes_per_day: 40_000,
            rotate_at: 32 * 1024,
            bursts_per_day: 5,
            skills_bytes: 200,
        },
        Scale::Medium => Params {
            agents: &["main", "ops", "research", "coder"],
            sessions: 1000,
            days: 14,
            turns_mean: 13,
            tool_max: 4000,
            compaction_every: 12,
            log_days: 4,
            log_bytes_per_day: 16_000_000,
            rotate_at: 8 << 20,
            bursts_per_day: 40,
            skills_bytes: 1500,
        },
        Scale::Large => Params {
            agents: &["main", "ops", "research", "coder", "support", "triage"],
            sessions: 20_000,
            days: 30,
            turns_mean: 13,
            tool_max: 4000,
            compaction_every: 12,
            log_days: 7,
            log_bytes_per_day: 240_000_000,
            rotate_at: 100 << 20,
            bursts_per_day: 150,
            skills_bytes: 1500,
        },
    }
}

/// What was written.
pub struct Summary {
    pub sessions: u64,
    pub bytes: u64,
    pub truth: Value,
}

/// The generator refused its arguments (a usage error: exit 2).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// `claw-gen --out DIR [--seed N] [--scale S] [--era E] [--truth FILE]`
#[derive(Debug, clap::Parser)]
#[command(
    name = "claw-gen",
    version,
    about = "Write a realistic OpenClaw state dir and its ground truth (same seed, same bytes)"
)]
pub struct Args {
    /// Directory to create (must not exist, or be empty)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed: the same seed, scale and era always give the same bytes
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Size of the home
    #[arg(long, value_enum, default_value = "small")]
    pub scale: Scale,
    /// Storage era of the agents' sessions
    #[arg(long, value_enum, default_value = "both")]
    pub era: Era,
    /// Number of sessions instead of the scale's (the rest of the scale stays): sizes the
    /// transcript tree for benchmarks (medium: 1000 sessions, about 45 MB of transcripts)
    #[arg(long, value_name = "N")]
    pub sessions: Option<usize>,
    /// Where to write the ground truth (default: <DIR>.truth.json beside DIR)
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Print what was written as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// Run the command line `argv` (program name first): silent on success unless `--json`,
/// one `claw-gen: ...` line on stderr on failure. Returns the exit code (0 ok, 2 usage or a
/// refused directory, 74 I/O).
pub fn main_with<I, T>(argv: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser;
    let a = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match run(&a) {
        Ok(doc) => {
            if a.json {
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            }
            0
        }
        Err(e) => {
            eprintln!("claw-gen: {}", format!("{e:#}").replace('\n', " "));
            if e.downcast_ref::<Refused>().is_some() {
                2
            } else {
                74
            }
        }
    }
}

fn run(a: &Args) -> Result<Value> {
    let truth = match &a.truth {
        Some(t) => t.clone(),
        None => {
            let name = a.out.file_name().ok_or_else(|| {
                Refused(format!(
                    "{}: give --truth for a directory without a name",
                    a.out.display()
                ))
            })?;
            a.out
                .with_file_name(format!("{}.truth.json", name.to_string_lossy()))
        }
    };
    let s = generate(&Opts {
        out: a.out.clone(),
        truth: truth.clone(),
        seed: a.seed,
        scale: a.scale,
        era: a.era,
        sessions: a.sessions,
    })?;
    Ok(json!({
        "out": a.out, "truth": truth, "sessions": s.sessions, "bytes": s.bytes,
        "cost_total_micros": s.truth["cost"]["total_micros"],
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Direct,
    Cron,
    Subagent,
    Hook,
}

/// A planned session (metadata only; lines are generated when it is written).
struct Plan {
    kind: Kind,
    sid: String,
    key: String,
    start: i64,
    turns: u32,
    model: usize,
    fallback: usize,
    spawned_by: Option<String>,
    depth: u32,
    label: Option<String>,
    /// When a later session took over the key (`/new`, `/reset`).
    reset_at: Option<i64>,
    previous: Option<String>,
    scripted: Option<Scripted>,
}

#[derive(Debug, Clone)]
struct Scripted {
    tail: Tail,
    run_started: i64,
    timeout_s: i64,
    no_transcript: bool,
    intended: &'static str,
}

/// Facts about a running run, and the stuck verdict the truth states.
pub struct RunFacts {
    pub started_ms: i64,
    pub timeout_s: i64,
    pub last_activity_ms: i64,
    pub requester_known: bool,
    pub trailing_errors: u32,
    pub last_is_assistant_stop: bool,
}

/// The stuck reasons for a run without `endedAt` (empty: healthy). Pure: the truth rules.
pub fn stuck_reasons(f: &RunFacts, now_ms: i64) -> Vec<&'static str> {
    let mut r = Vec::new();
    if now_ms - f.last_activity_ms > IDLE_AFTER_SECS * 1000 {
        r.push("idle");
    }
    if f.timeout_s > 0 && now_ms - f.started_ms > f.timeout_s * 1000 {
        r.push("timeout");
    }
    if !f.requester_known {
        r.push("orphaned");
    }
    if f.trailing_errors >= ERROR_LOOP_MIN {
        r.push("error_loop");
    }
    if f.last_is_assistant_stop {
        r.push("waiting_for_input");
    }
    r
}

fn config(agents: &[&str]) -> Value {
    let cost = |m: usize| {
        let p = MODELS[m].price;
        json!({"input": p[0], "output": p[1], "cacheRead": p[2], "cacheWrite": p[3]})
    };
    let model = |m: usize, ctx: u64| json!({"id": MODELS[m].id, "name": MODELS[m].name, "cost": cost(m), "contextWindow": ctx, "maxTokens": 8192});
    let list: Vec<Value> = agents
        .iter()
        .enumerate()
        .map(|(i, id)| match i {
            0 => json!({"id": id, "default": true}),
            i if i % 2 == 1 => json!({"id": id, "model": {"primary": "acme-llm/acme-large", "fallbacks": ["ollama/qwen3.5:9b"]}}),
            _ => json!({"id": id, "model": {"primary": "anthropic/claude-haiku-4-5", "fallbacks": ["openrouter/deepseek/deepseek-v3.2"]}}),
        })
        .collect();
    json!({
        "meta": {"lastTouchedVersion": "2026.9.6"},
        "gateway": {"port": 18789, "mode": "local", "bind": "loopback",
                    "auth": {"mode": "token", "token": "${OPENCLAW_GATEWAY_TOKEN}"}},
        "models": {"mode": "merge", "providers": {
            "openrouter": {"baseUrl": "https://openrouter.ai/api/v1", "apiKey": "${OPENROUTER_API_KEY}",
                           "api": "openai-completions", "models": [model(DEEPSEEK, 163_840)]},
            "acme-llm": {"baseUrl": "https://llm.acme.internal", "apiKey": "${ACME_LLM_API_KEY}",
                         "api": "anthropic-messages", "models": [model(ACME, 200_000)]},
            "ollama": {"baseUrl": "http://127.0.0.1:11434", "apiKey": "ollama-local", "api": "ollama",
                       "models": [model(QWEN, 32_768)]}
        }},
        "agents": {
            "defaults": {
                "model": {"primary": "anthropic/claude-sonnet-4-5", "fallbacks": ["openai-codex/gpt-5.4"]},
                "timeoutSeconds": 600, "maxConcurrent": 4,
                "subagents": {"maxConcurrent": 8, "maxSpawnDepth": 2, "runTimeoutSeconds": 0, "archiveAfterMinutes": 60}
            },
            "list": list
        }
    })
}

struct Home {
    out: PathBuf,
    bytes: u64,
}

impl Home {
    /// Writes a file stamped with the generated gateway's "now" (never the real clock, so a
    /// home generated today reads the same as one generated before [`NOW`]).
    fn write(&mut self, rel: &str, data: &[u8]) -> Result<()> {
        self.write_at(rel, data, NOW_MS)
    }
    /// Writes a file whose mtime is `mtime_ms`: the gateway last wrote it then.
    fn write_at(&mut self, rel: &str, data: &[u8], mtime_ms: i64) -> Result<()> {
        let p = self.out.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)
                .with_context(|| format!("{}: cannot create", d.display()))?;
        }
        std::fs::write(&p, data).with_context(|| format!("{}: cannot write", p.display()))?;
        set_mtime(&p, mtime_ms)?;
        self.bytes += data.len() as u64;
        Ok(())
    }
    fn json(&mut self, rel: &str, v: &Value) -> Result<()> {
        let mut s = serde_json::to_string_pretty(v)?;
        s.push('\n');
        self.write(rel, s.as_bytes())
    }
}

fn pick_models(rng: &mut Rng, agent_idx: usize, kind: Kind) -> (usize, usize) {
    if agent_idx % 2 == 1 {
        return if rng.chance(0.8) {
            (ACME, QWEN)
        } else {
            (QWEN, ACME)
        };
    }
    match kind {
        Kind::Subagent | Kind::Cron if agent_idx == 0 => {
            if rng.chance(0.6) {
                (HAIKU, DEEPSEEK)
            } else {
                (DEEPSEEK, HAIKU)
            }
        }
        _ if agent_idx == 0 => {
            if rng.chance(0.85) {
                (SONNET, GPT)
            } else {
                (GPT, SONNET)
            }
        }
        _ => {
            if rng.chance(0.7) {
                (HAIKU, DEEPSEEK)
            } else {
                (DEEPSEEK, HAIKU)
            }
        }
    }
}

/// One minute, for the scripted runs' ages.
const MIN_MS: i64 = 60_000;

/// Plan one agent's sessions: keys, start times, resets, nesting.
fn plan_agent(rng: &mut Rng, p: &Params, agent_idx: usize, id: &str, n: usize) -> Vec<Plan> {
    let mut plans: Vec<Plan> = Vec::with_capacity(n + 8);
    let earliest = NOW_MS - p.days * DAY_MS;
    let latest = NOW_MS - 9 * 3_600_000;
    // Every agent has a main session; at least two, so one reset archive exists.
    let mains = 2 + n / 40;
    for i in 0..n.max(mains) {
        let kind = if i < mains {
            Kind::Main
        } else {
            match rng.weighted(&[20, 22, 45, 5]) {
                0 => Kind::Direct,
                1 => Kind::Cron,
                2 => Kind::Subagent,
                _ => Kind::Hook,
            }
        };
        let sid = rng.uuid();
        let mut start = earliest + rng.below((latest - earliest) as u64) as i64;
        let (model, fallback) = pick_models(rng, agent_idx, kind);
        let m = p.turns_mean as u64;
        let keyed = session_key(rng, &plans, kind, id, &sid, m, &mut start);
        plans.push(Plan {
            kind,
            sid,
            key: keyed.key,
            start,
            turns: keyed.turns,
            model,
            fallback,
            spawned_by: keyed.spawned_by,
            depth: keyed.depth,
            label: keyed.label,
            reset_at: None,
            previous: None,
            scripted: None,
        });
    }
    // The newest main session is the live one, started this morning.
    if let Some(q) = plans.iter_mut().filter(|q| q.kind == Kind::Main).last() {
        q.start = NOW_MS - 6 * 3_600_000;
    }
    mark_resets(&mut plans);
    plans
}

/// A planned session's key and what comes with it.
struct Keyed {
    key: String,
    turns: u32,
    spawned_by: Option<String>,
    depth: u32,
    label: Option<String>,
}

/// The session key of a session of `kind` (`m`: mean turns), its turns, requester, depth and
/// label. A subagent nests under a recent depth-1 subagent of `plans` now and then, and then
/// starts after its parent (`start` moves).
fn session_key(
    rng: &mut Rng,
    plans: &[Plan],
    kind: Kind,
    id: &str,
    sid: &str,
    m: u64,
    start: &mut i64,
) -> Keyed {
    let keyed = |key: String, turns: u64, label: Option<String>| Keyed {
        key,
        turns: turns as u32,
        spawned_by: None,
        depth: 0,
        label,
    };
    match kind {
        Kind::Main => keyed(format!("agent:{id}:main"), rng.range(2, m * 3), None),
        Kind::Direct => {
            let peer = rng.pick(&["4242001", "4242002", "4242003", "7719", "carol"]);
            let key = format!("agent:{id}:telegram:direct:{peer}");
            keyed(key, rng.range(1, m * 2), None)
        }
        Kind::Cron => {
            let job = rng.pick(&["nightly-report", "inbox-triage", "backup-check"]);
            let key = format!("agent:{id}:cron:{job}:run:{sid}");
            keyed(key, rng.range(1, 3), Some(format!("cron {job}")))
        }
        Kind::Hook => keyed(
            format!("hook:{}", rng.uuid()),
            rng.range(1, 2),
            Some("webhook".into()),
        ),
        Kind::Subagent => {
            let parent = plans
                .iter()
                .rev()
                .take(20)
                .find(|q| q.kind == Kind::Subagent && q.depth == 1 && rng.chance(0.3));
            let turns = rng.range(1, m) as u32;
            let label = Some(format!("task-{}", rng.hex(4)));
            match parent {
                Some(q) => {
                    *start = q.start + rng.range(30_000, 600_000) as i64;
                    Keyed {
                        key: format!("{}:subagent:{}", q.key, rng.uuid()),
                        turns,
                        spawned_by: Some(q.key.clone()),
                        depth: 2,
                        label,
                    }
                }
                None => Keyed {
                    key: format!("agent:{id}:subagent:{}", rng.uuid()),
                    turns,
                    spawned_by: Some(format!("agent:{id}:main")),
                    depth: 1,
                    label,
                },
            }
        }
    }
}

/// Sessions sharing a key: all but the newest were reset.
fn mark_resets(plans: &mut [Plan]) {
    let mut by_key: Vec<(String, i64, usize)> = plans
        .iter()
        .enumerate()
        .filter(|(_, q)| matches!(q.kind, Kind::Main | Kind::Direct))
        .map(|(i, q)| (q.key.clone(), q.start, i))
        .collect();
    by_key.sort();
    for w in by_key.windows(2) {
        if w[0].0 == w[1].0 {
            let next_start = w[1].1;
            plans[w[0].2].reset_at = Some(next_start);
            plans[w[1].2].previous = Some(plans[w[0].2].sid.clone());
        }
    }
}

/// One scripted subagent run: its key, requester, start, turns, how its transcript ends and
/// the verdict it is written to earn.
struct Script {
    key: String,
    spawned_by: String,
    start: i64,
    turns: u32,
    tail: Tail,
    run_started: i64,
    timeout_s: i64,
    intended: &'static str,
}

/// A run that started with its session and has no run timeout (the usual case).
fn script(
    key: String,
    by: String,
    start: i64,
    turns: u32,
    tail: Tail,
    intended: &'static str,
) -> Script {
    Script {
        key,
        spawned_by: by,
        start,
        turns,
        tail,
        run_started: start,
        timeout_s: 0,
        intended,
    }
}

impl Script {
    /// The plan of agent `id`'s run (takes the session id from `rng`).
    fn plan(self, rng: &mut Rng, id: &str) -> Plan {
        Plan {
            kind: Kind::Subagent,
            sid: rng.uuid(),
            key: self.key,
            start: self.start,
            turns: self.turns,
            model: if id == "main" { HAIKU } else { ACME },
            fallback: if id == "main" { DEEPSEEK } else { QWEN },
            spawned_by: Some(self.spawned_by),
            depth: 1,
            label: Some(format!("scripted-{}", self.intended)),
            reset_at: None,
            previous: None,
            scripted: Some(Scripted {
                tail: self.tail,
                run_started: self.run_started,
                timeout_s: self.timeout_s,
                no_transcript: false,
                intended: self.intended,
            }),
        }
    }
}

/// The scripted subagent runs: healthy running ones and one of each stuck kind.
fn scripted_plans(rng: &mut Rng, id: &str, first_agent: bool) -> Vec<Plan> {
    let main = format!("agent:{id}:main");
    if !first_agent {
        let k = format!("agent:{id}:subagent:{}", rng.uuid());
        let s = NOW_MS - 9 * MIN_MS;
        let tail = Tail::ErrorLoop {
            n: 3,
            overloaded: true,
        };
        return vec![script(k, main, s, 2, tail, "error_loop").plan(rng, id)];
    }
    let mut v = scripted_running(rng, id, &main);
    v.extend(scripted_stuck(rng, id, &main));
    v
}

/// The first agent's running runs that are not stuck (a healthy run and its nested child) and
/// the ones stuck on time (past their timeout, idle, hung without a transcript).
fn scripted_running(rng: &mut Rng, id: &str, main: &str) -> Vec<Plan> {
    let mut v = Vec::new();
    let healthy_key = format!("agent:{id}:subagent:{}", rng.uuid());
    let s = NOW_MS - 5 * MIN_MS;
    let healthy = script(
        healthy_key.clone(),
        main.into(),
        s,
        2,
        Tail::MidTool,
        "healthy",
    );
    v.push(healthy.plan(rng, id));
    let k = format!("{healthy_key}:subagent:{}", rng.uuid());
    let mut nested = script(k, healthy_key, s + 30_000, 1, Tail::MidTool, "healthy");
    nested.timeout_s = 900;
    let mut nested = nested.plan(rng, id);
    nested.depth = 2;
    v.push(nested);
    let s = NOW_MS - 25 * MIN_MS;
    let k = format!("agent:{id}:subagent:{}", rng.uuid());
    let mut timeout = script(k, main.into(), s + 2_000, 6, Tail::MidTool, "timeout");
    timeout.run_started = s;
    timeout.timeout_s = 600;
    v.push(timeout.plan(rng, id));
    let s = NOW_MS - 240 * MIN_MS;
    let k = format!("agent:{id}:subagent:{}", rng.uuid());
    v.push(script(k, main.into(), s, 4, Tail::MidTool, "idle").plan(rng, id));
    let s = NOW_MS - 120 * MIN_MS;
    let k = format!("agent:{id}:subagent:{}", rng.uuid());
    let mut hung = script(k, main.into(), s, 0, Tail::MidTool, "idle").plan(rng, id);
    if let Some(sc) = hung.scripted.as_mut() {
        sc.no_transcript = true;
    }
    v.push(hung);
    v
}

/// The first agent's runs stuck on their transcript (an error loop, a question to the user)
/// or on a requester that is gone.
fn scripted_stuck(rng: &mut Rng, id: &str, main: &str) -> Vec<Plan> {
    let mut v = Vec::new();
    let s = NOW_MS - 8 * MIN_MS;
    let k = format!("agent:{id}:subagent:{}", rng.uuid());
    let tail = Tail::ErrorLoop {
        n: 4,
        overloaded: false,
    };
    v.push(script(k, main.into(), s, 2, tail, "error_loop").plan(rng, id));
    let s = NOW_MS - 20 * MIN_MS;
    let k = format!("agent:{id}:subagent:{}", rng.uuid());
    let question = script(k, main.into(), s, 3, Tail::Question, "waiting_for_input");
    v.push(question.plan(rng, id));
    let gone = format!("agent:{id}:subagent:{}", rng.uuid());
    let s = NOW_MS - 6 * MIN_MS;
    let k = format!("{gone}:subagent:{}", rng.uuid());
    let mut orphan = script(k, gone, s, 2, Tail::MidTool, "orphaned").plan(rng, id);
    orphan.depth = 2;
    v.push(orphan);
    v
}

/// Trailing failed attempts and whether the last entry is a finished assistant turn.
fn tail_facts(s: &Session) -> (u32, bool) {
    let mut trailing = 0;
    let mut last_stop = false;
    for i in (0..s.lines.len()).rev() {
        let line = s.line(i);
        let is_assistant = contains(line, b"\"role\":\"assistant\"");
        if i == s.lines.len() - 1 {
            last_stop = is_assistant && contains(line, b"\"stopReason\":\"stop\"");
        }
        if is_assistant {
            if contains(line, b"\"stopReason\":\"error\"") {
                trailing += 1;
            } else {
                break;
            }
        }
    }
    (trailing, last_stop)
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    h.windows(n.len()).any(|w| w == n)
}

struct AgentCtx<'a> {
    id: &'a str,
    sqlite: bool,
    dir: String,
}

/// Generate the home. Refuses an existing non-empty `out`.
pub fn generate(o: &Opts) -> Result<Summary> {
    let mut p = params(o.scale);
    if let Some(n) = o.sessions {
        p.sessions = n.max(1);
    }
    if o.out.exists()
        && std::fs::read_dir(&o.out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Refused(format!(
            "{}: exists and is not empty; give a new directory",
            o.out.display()
        ))
        .into());
    }
    std::fs::create_dir_all(&o.out)
        .with_context(|| format!("{}: cannot create", o.out.display()))?;
    let scale_tag = match o.scale {
        Scale::Small => 1u64,
        Scale::Medium => 2,
        Scale::Large => 3,
    };
    let mut rng = Rng::new(o.seed.wrapping_mul(0x100_0000_01B3) ^ scale_tag);
    let mut log_rng = rng.fork();
    let corpus = transcript::corpus(&mut rng.fork(), 64 * 1024);
    let log_params = logs::Params {
        dir: o.out.join("logs").join("gateway"),
        days: p.log_days,
        bytes_per_day: p.log_bytes_per_day,
        rotate_at: p.rotate_at,
        bursts_per_day: p.bursts_per_day,
        offset_min: GATEWAY_UTC_OFFSET_MIN,
        new_shape_from_ms: NOW_MS - 2 * DAY_MS,
        now_ms: NOW_MS,
    };
    let (sessions_result, log_result) = std::thread::scope(|sc| {
        let h = sc.spawn(|| logs::write(&mut log_rng, &log_params));
        let r = write_agents(o, &p, &mut rng, &corpus);
        (r, h.join())
    });
    let (mut truth, mut home) = sessions_result?;
    let log_out = log_result.map_err(|_| anyhow::anyhow!("log writer panicked"))??;
    truth.merge_rate(log_out.rate);
    truth.log_lines = log_out.lines;
    clamp_mtimes(&o.out)?;
    home.bytes = dir_bytes(&o.out);
    let generator = json!({"tool": "claw-gen", "seed": o.seed, "scale": format!("{:?}", o.scale).to_lowercase(),
                           "era": format!("{:?}", o.era).to_lowercase(), "now": NOW,
                           "gateway_utc_offset_minutes": GATEWAY_UTC_OFFSET_MIN, "logs_dir": "logs/gateway"});
    let doc = truth.to_json(generator, IDLE_AFTER_SECS, ERROR_LOOP_MIN);
    let mut s = serde_json::to_string_pretty(&doc)?;
    s.push('\n');
    std::fs::write(&o.truth, s).with_context(|| format!("{}: cannot write", o.truth.display()))?;
    Ok(Summary {
        sessions: truth.sessions,
        bytes: home.bytes,
        truth: doc,
    })
}

fn dir_bytes(d: &Path) -> u64 {
    walkdir::WalkDir::new(d)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn write_agents(o: &Opts, p: &Params, rng: &mut Rng, corpus: &str) -> Result<(Truth, Home)> {
    let mut home = Home {
        out: o.out.clone(),
        bytes: 0,
    };
    write_config(&mut home, rng, p)?;
    let agents = agent_ctxs(o, p);
    // Plan every agent first, so orphan checks can ask every store.
    let mut plans = plan_agents(rng, p, &agents);
    let mut w = AgentsWriter {
        o,
        p,
        corpus,
        rng,
        home,
        truth: Truth::default(),
        runs: Vec::new(),
        pending: Vec::new(),
        store_keys: Default::default(),
    };
    for (ai, a) in agents.iter().enumerate() {
        w.write_agent(ai, a, std::mem::take(&mut plans[ai]))?;
    }
    w.judge_pending();
    let runs_map: serde_json::Map<String, Value> = w.runs.into_iter().collect();
    w.home.json(
        "subagents/runs.json",
        &json!({"version": 2, "runs": Value::Object(runs_map)}),
    )?;
    Ok((w.truth, w.home))
}

/// `openclaw.json`, the `.bak` OpenClaw kept from before its upgrade, and the config audit log.
fn write_config(home: &mut Home, rng: &mut Rng, p: &Params) -> Result<()> {
    let cfg = config(p.agents);
    home.json("openclaw.json", &cfg)?;
    let mut older = cfg.clone();
    // The copy OpenClaw kept from before its upgrade: 2026.7.1 still stamped lastTouchedAt.
    older["meta"] =
        json!({"lastTouchedVersion": "2026.7.1", "lastTouchedAt": "2026-11-02T17:20:44.031Z"});
    older["agents"]["defaults"]["timeoutSeconds"] = json!(300);
    home.json("openclaw.json.bak", &older)?;
    let audit = [
        json!({"ts": "2026-11-02T17:20:44.040Z", "event": "config.write", "result": "rename", "previousHash": rng.hex(64), "nextHash": rng.hex(64), "previousBytes": 1480, "nextBytes": 1502, "suspicious": []}),
        json!({"ts": "2026-11-18T09:41:07.520Z", "event": "config.write", "result": "rename", "previousHash": rng.hex(64), "nextHash": rng.hex(64), "previousBytes": 1502, "nextBytes": 1503, "suspicious": []}),
    ];
    let audit: String = audit.iter().map(|v| format!("{v}\n")).collect();
    home.write("logs/config-audit.jsonl", audit.as_bytes())
}

/// The agents and their storage era.
fn agent_ctxs(o: &Opts, p: &Params) -> Vec<AgentCtx<'static>> {
    p.agents
        .iter()
        .enumerate()
        .map(|(i, id)| AgentCtx {
            id,
            sqlite: match o.era {
                Era::Jsonl => false,
                Era::Sqlite => true,
                Era::Both => i % 2 == 1,
            },
            dir: format!("agents/{id}"),
        })
        .collect()
}

/// Every agent's sessions, with the scripted runs on the first agent and on the first SQLite
/// agent.
fn plan_agents(rng: &mut Rng, p: &Params, agents: &[AgentCtx]) -> Vec<Vec<Plan>> {
    // Main gets 40 % of the sessions; the others share the rest.
    let n_main = if agents.len() == 1 {
        p.sessions
    } else {
        p.sessions * 2 / 5
    };
    let n_other = (p.sessions - n_main) / (agents.len() - 1).max(1);
    let mut plans: Vec<Vec<Plan>> = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        let n = if i == 0 { n_main } else { n_other };
        let mut v = plan_agent(rng, p, i, a.id, n);
        if i == 0 || (a.sqlite && !agents[..i].iter().any(|b| b.sqlite)) {
            v.extend(scripted_plans(rng, a.id, i == 0));
        }
        plans.push(v);
    }
    plans
}

/// Writes the agents' sessions in turn and gathers what spans them: the truth, the runs file's
/// records, the running runs to judge once every store is known, and every stored session key.
struct AgentsWriter<'a> {
    o: &'a Opts,
    p: &'a Params,
    corpus: &'a str,
    rng: &'a mut Rng,
    home: Home,
    truth: Truth,
    runs: Vec<(String, Value)>,
    pending: Vec<(Plan, String, RunFacts)>,
    store_keys: std::collections::BTreeSet<String>,
}

/// One agent being written: its database (SQLite era) or its `sessions.json` entries (JSONL).
struct AgentOut<'a> {
    a: &'a AgentCtx<'a>,
    db: Option<sqlite::AgentDb>,
    store: Vec<(String, Value)>,
    /// Sessions from before the agent moved to SQLite are also kept as imported JSONL.
    migrated_at: i64,
    /// Whether a `.zst` archive was written yet (every agent gets at least one).
    zst_done: bool,
}

impl AgentsWriter<'_> {
    fn write_agent(&mut self, ai: usize, a: &AgentCtx, plans: Vec<Plan>) -> Result<()> {
        let db = self.open_db(a)?;
        std::fs::create_dir_all(self.o.out.join(&a.dir).join("sessions"))?;
        let mut out = AgentOut {
            a,
            db,
            store: Vec::new(),
            migrated_at: NOW_MS - self.p.days * DAY_MS / 3,
            zst_done: false,
        };
        for plan in plans {
            self.write_session(&mut out, plan)?;
        }
        if let Some(db) = out.db {
            db.finish()?;
        }
        if !a.sqlite {
            let map: serde_json::Map<String, Value> = out.store.into_iter().collect();
            self.home.json(
                &format!("{}/sessions/sessions.json", a.dir),
                &Value::Object(map),
            )?;
            let cache = json!({"version": 1, "updatedAt": NOW_MS - 3_600_000, "refreshing": false,
                               "totals": {"costUsd": 0.0, "note": "stale cache: never a source of truth"}});
            self.home.json(
                &format!("{}/sessions/.usage-cost-cache.json", a.dir),
                &cache,
            )?;
        }
        auth_state(&mut self.home, &mut self.truth, a.id, ai)
    }

    /// A SQLite-era agent's database (and the lock files beside it); `None` in the JSONL era.
    fn open_db(&mut self, a: &AgentCtx) -> Result<Option<sqlite::AgentDb>> {
        if !a.sqlite {
            return Ok(None);
        }
        let d = self.o.out.join(&a.dir).join("agent");
        std::fs::create_dir_all(&d)?;
        for side in [
            "openclaw-agent.sqlite.generation-lock.sqlite",
            "openclaw-agent.sqlite.reindex-lock.sqlite",
        ] {
            self.home.write(&format!("{}/agent/{side}", a.dir), b"")?;
        }
        Ok(Some(sqlite::AgentDb::create(
            &d.join("openclaw-agent.sqlite"),
        )?))
    }

    /// One session: its transcript, where it is stored, and its subagent run.
    fn write_session(&mut self, out: &mut AgentOut, plan: Plan) -> Result<()> {
        let a = out.a;
        let running = plan.scripted.is_some();
        let spec = self.spec(a, &plan);
        let no_transcript = plan
            .scripted
            .as_ref()
            .map(|s| s.no_transcript)
            .unwrap_or(false);
        let mut sub = self.rng.fork();
        let s = if no_transcript {
            None
        } else {
            self.truth.sessions += 1;
            Some(transcript::generate(
                &mut sub,
                self.corpus,
                &mut self.truth,
                &spec,
            ))
        };
        let last = s.as_ref().map(|s| s.last_ms).unwrap_or(plan.start);
        let ended = if running {
            None
        } else {
            Some(last + self.rng.range(50, 3000) as i64)
        };
        let fname = self.file_name(out, &plan, ended);
        let in_store = a.sqlite || fname.ends_with(".jsonl");
        if let Some(s) = &s {
            self.write_files(out, &plan, &fname, s)?;
        }
        let (provider, model) = model_of(&plan, s.as_ref());
        if let Some(db) = &out.db {
            db.window(&window(&plan, last, ended, provider, model))?;
            if let Some(s) = &s {
                db.events(&plan.sid, s)?;
            }
        } else if in_store {
            let entry = store_entry(
                self.rng,
                self.p,
                a,
                &plan,
                s.as_ref(),
                last,
                ended,
                provider,
                model,
            );
            out.store.push((plan.key.clone(), entry));
        }
        if in_store {
            self.store_keys.insert(plan.key.clone());
        }
        // Subagent runs: scripted ones, and finished ones from the last two days.
        if plan.kind == Kind::Subagent
            && (running || ended.map(|e| e > NOW_MS - 2 * DAY_MS).unwrap_or(false))
        {
            self.record_run(a, plan, s.as_ref(), last, ended);
        }
        Ok(())
    }

    /// What the transcript generator is asked for.
    fn spec<'p>(&mut self, a: &'p AgentCtx, plan: &'p Plan) -> Spec<'p> {
        Spec {
            agent: a.id,
            sid: &plan.sid,
            start_ms: plan.start,
            turns: plan.turns,
            model: plan.model,
            fallback: plan.fallback,
            err_rate: 0.12,
            tool_max_bytes: self.p.tool_max,
            pace_ms: if plan.kind == Kind::Subagent || plan.kind == Kind::Cron {
                20_000
            } else {
                60_000
            },
            compaction_every: self.p.compaction_every,
            checkpoint_copies: !a.sqlite && self.rng.chance(0.5),
            tail: plan
                .scripted
                .as_ref()
                .map(|s| s.tail)
                .unwrap_or(Tail::Normal),
            limit_ms: plan
                .reset_at
                .unwrap_or(NOW_MS - 20_000)
                .min(NOW_MS - 20_000),
        }
    }

    /// Where the lines go: the live file, a reset archive, or (an old finished subagent) a
    /// deleted archive, some of them zstd-compressed.
    fn file_name(&mut self, out: &mut AgentOut, plan: &Plan, ended: Option<i64>) -> String {
        let archive_after = ended.map(|e| e + 3_600_000 + self.rng.range(0, 600_000) as i64);
        if let Some(r) = plan.reset_at {
            format!("{}.jsonl.reset.{}", plan.sid, archive_ts(r))
        } else if plan.kind == Kind::Subagent && archive_after.map(|t| t < NOW_MS).unwrap_or(false)
        {
            let zst = if self.rng.chance(0.1) || !out.zst_done {
                ".zst"
            } else {
                ""
            };
            out.zst_done = true;
            format!(
                "{}.jsonl.deleted.{}{zst}",
                plan.sid,
                archive_ts(archive_after.unwrap_or(NOW_MS))
            )
        } else {
            format!("{}.jsonl", plan.sid)
        }
    }

    /// The transcript's files: in the JSONL era the file itself with its checkpoint copies,
    /// sidecars and lock; in the SQLite era only the import archive of a session from before
    /// the migration.
    fn write_files(&mut self, out: &AgentOut, plan: &Plan, fname: &str, s: &Session) -> Result<()> {
        let a = out.a;
        if out.db.is_some() {
            if plan.start < out.migrated_at {
                self.home.write_at(
                    &format!("{}/sessions/session-sqlite-import-archive/{fname}", a.dir),
                    &encode(fname, &s.buf)?,
                    s.last_ms,
                )?;
            }
            return Ok(());
        }
        self.home.write_at(
            &format!("{}/sessions/{fname}", a.dir),
            &encode(fname, &s.buf)?,
            s.last_ms,
        )?;
        for c in &s.checkpoints {
            self.home.write_at(
                &format!(
                    "{}/sessions/{}.checkpoint.{}.jsonl",
                    a.dir, plan.sid, c.uuid
                ),
                s.prefix(c.lines),
                s.last_ms,
            )?;
        }
        if fname.ends_with(".jsonl") && self.rng.chance(0.3) {
            sidecars(&mut self.home, self.rng, a, &plan.sid, s)?;
        }
        if plan.scripted.is_some() {
            // The writer is alive: pid 1 exists on every Linux machine the home is
            // read on, where a made-up pid would make every running run orphaned.
            let lock = json!({"pid": 1, "createdAt": iso(plan.start)});
            self.home.write(
                &format!("{}/sessions/{}.jsonl.lock", a.dir, plan.sid),
                format!("{lock}\n").as_bytes(),
            )?;
        }
        Ok(())
    }

    /// A subagent run's record in `subagents/runs.json`, with its truth: a finished run is
    /// judged now, a running one once every store is known.
    fn record_run(
        &mut self,
        a: &AgentCtx,
        plan: Plan,
        s: Option<&Session>,
        last: i64,
        ended: Option<i64>,
    ) {
        let (provider, model) = model_of(&plan, s);
        let sc = plan.scripted.as_ref();
        let run_id = self.rng.uuid();
        let (trailing, last_stop) = s.map(tail_facts).unwrap_or((0, false));
        let started = sc.map(|x| x.run_started).unwrap_or(plan.start);
        let timeout_s =
            sc.map(|x| x.timeout_s)
                .unwrap_or(if self.rng.chance(0.3) { 900 } else { 0 });
        let mut rec = json!({
            "runId": run_id, "childSessionKey": plan.key,
            "requesterSessionKey": plan.spawned_by, "requesterDisplayKey": plan.spawned_by,
            "task": format!("{}: {}", plan.label.as_deref().unwrap_or("task"), &self.corpus[(plan.start as usize) % 60_000..][..80]),
            "label": plan.label, "model": format!("{provider}/{model}"),
            "runTimeoutSeconds": timeout_s, "createdAt": started - 40, "startedAt": started,
        });
        if let Some(e) = ended {
            self.finish_run(&mut rec, e);
            self.truth.runs.push(RunTruth {
                run_id: run_id.clone(),
                agent: a.id.to_string(),
                child_session_key: plan.key.clone(),
                state: "finished",
                reasons: vec![],
                last_activity_ms: last,
                note: String::new(),
            });
        } else {
            let facts = RunFacts {
                started_ms: started,
                timeout_s,
                last_activity_ms: last.max(started),
                requester_known: true,
                trailing_errors: trailing,
                last_is_assistant_stop: last_stop,
            };
            self.pending.push((plan, run_id.clone(), facts));
        }
        self.runs.push((run_id, rec));
    }

    /// A finished run's end and outcome: mostly ok, some rate-limit errors and timeouts.
    fn finish_run(&mut self, rec: &mut Value, ended: i64) {
        let (st, why) = match self.rng.weighted(&[90, 7, 3]) {
            0 => (json!({"status": "ok"}), "completed"),
            1 => (
                json!({"status": "error", "error": "FailoverError: ⚠️ API rate limit reached. Please try again later."}),
                "error",
            ),
            _ => (json!({"status": "timeout"}), "timeout"),
        };
        rec["endedAt"] = json!(ended);
        rec["outcome"] = st;
        rec["endedReason"] = json!(why);
    }

    /// Running runs: judge them now that every store is known.
    fn judge_pending(&mut self) {
        for (plan, run_id, mut facts) in std::mem::take(&mut self.pending) {
            facts.requester_known = plan
                .spawned_by
                .as_ref()
                .map(|k| self.store_keys.contains(k))
                .unwrap_or(false);
            let reasons = stuck_reasons(&facts, NOW_MS);
            let agent = plan.key.split(':').nth(1).unwrap_or("main").to_string();
            let intended = plan.scripted.as_ref().map(|s| s.intended).unwrap_or("");
            self.truth.runs.push(RunTruth {
                run_id,
                agent,
                child_session_key: plan.key.clone(),
                state: if reasons.is_empty() {
                    "running"
                } else {
                    "stuck"
                },
                reasons,
                last_activity_ms: facts.last_activity_ms,
                note: format!("scripted: {intended}"),
            });
        }
    }
}

/// The provider and model a session ran on (its transcript's, else the planned one).
fn model_of(plan: &Plan, s: Option<&Session>) -> (&'static str, &'static str) {
    let m = &MODELS[s.map(|s| s.model).unwrap_or(plan.model)];
    (m.provider, m.id)
}

/// A SQLite-era session's `session_windows` row.
fn window<'p>(
    plan: &'p Plan,
    last: i64,
    ended: Option<i64>,
    provider: &'p str,
    model: &'p str,
) -> sqlite::Window<'p> {
    let chat = (plan.kind == Kind::Direct).then_some("direct");
    sqlite::Window {
        session_id: &plan.sid,
        session_key: &plan.key,
        previous_session_id: plan.previous.as_deref(),
        reason: if plan.previous.is_some() {
            "reset"
        } else {
            "initial"
        },
        created_at: plan.start,
        updated_at: last,
        started_at: plan.start,
        ended_at: ended,
        status: if ended.is_none() { "running" } else { "done" },
        chat_type: chat,
        channel: chat.map(|_| "telegram"),
        model_provider: provider,
        model,
        spawned_by: plan.spawned_by.as_deref(),
        display_name: plan.label.as_deref(),
    }
}

/// Sets a file's modification time to `ms` (epoch milliseconds).
fn set_mtime(p: &Path, ms: i64) -> Result<()> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    std::fs::OpenOptions::new()
        .write(true)
        .open(p)
        .and_then(|f| f.set_modified(t))
        .with_context(|| format!("{}: cannot set mtime", p.display()))
}

/// Stamps every file under `dir` that the generator left with the real clock (SQLite databases
/// and their side files) with the generated "now", when the real clock is past it.
fn clamp_mtimes(dir: &Path) -> Result<()> {
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_millis(NOW_MS as u64);
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        if e.file_type().is_file() {
            let m = e.metadata().ok().and_then(|m| m.modified().ok());
            if m.map(|m| m > now).unwrap_or(false) {
                set_mtime(e.path(), NOW_MS)?;
            }
        }
    }
    Ok(())
}

/// Archive names ending `.zst` hold zstd-compressed JSONL.
fn encode(name: &str, buf: &[u8]) -> Result<Vec<u8>> {
    if name.ends_with(".zst") {
        Ok(zstd::bulk::compress(buf, 3).context("zstd")?)
    } else {
        Ok(buf.to_vec())
    }
}

#[allow(clippy::too_many_arguments)]
fn store_entry(
    rng: &mut Rng,
    p: &Params,
    a: &AgentCtx,
    plan: &Plan,
    s: Option<&Session>,
    last: i64,
    ended: Option<i64>,
    provider: &str,
    model: &str,
) -> Value {
    let file = format!("{ROOT}/{}/sessions/{}.jsonl", a.dir, plan.sid);
    let mut e = json!({"sessionId": plan.sid, "updatedAt": last, "sessionFile": file});
    if let Some(by) = &plan.spawned_by {
        e["spawnedBy"] = json!(by);
        e["spawnDepth"] = json!(plan.depth);
    }
    if let Some(l) = &plan.label {
        e["label"] = json!(l);
    }
    e["status"] = json!(if ended.is_some() { "done" } else { "running" });
    e["startedAt"] = json!(plan.start);
    if let Some(t) = ended {
        e["endedAt"] = json!(t);
    }
    if plan.kind == Kind::Direct {
        e["chatType"] = json!("direct");
        e["lastChannel"] = json!("telegram");
    }
    e["modelProvider"] = json!(provider);
    e["model"] = json!(model);
    e["contextTokens"] = json!(200_000);
    if let Some(s) = s {
        e["inputTokens"] = json!(s.tokens[0]);
        e["outputTokens"] = json!(s.tokens[1]);
        e["cacheRead"] = json!(s.tokens[2]);
        e["cacheWrite"] = json!(s.tokens[3]);
        // As in the real store: input + cacheRead, without output.
        e["totalTokens"] = json!(s.tokens[0] + s.tokens[2]);
        e["estimatedCostUsd"] = json!(s.cost_usd);
        e["compactionCount"] = json!(s.compactions);
        let cps: Vec<Value> = s
            .checkpoints
            .iter()
            .map(|c| {
                json!({"checkpointId": c.uuid, "reason": c.reason, "createdAt": c.ts_ms, "tokensBefore": c.tokens_before,
                       "tokensAfter": c.tokens_after,
                       "preCompaction": {"sessionFile": format!("{ROOT}/{}/sessions/{}.checkpoint.{}.jsonl", a.dir, plan.sid, c.uuid)}})
            })
            .collect();
        if !cps.is_empty() {
            e["compactionCheckpoints"] = json!(cps);
        }
    }
    let skills: Vec<Value> = ["github", "weather", "gog", "healthcheck", "session-logs"]
        .iter()
        .map(|n| json!({"name": n, "source": "bundled"}))
        .collect();
    e["skillsSnapshot"] = json!({"version": 1, "skills": skills, "prompt": format!("<available_skills>{}</available_skills>", rng.hex(p.skills_bytes))});
    e
}

fn sidecars(home: &mut Home, rng: &mut Rng, a: &AgentCtx, sid: &str, s: &Session) -> Result<()> {
    let mut t = Vec::new();
    for i in 0..rng.range(2, 6) {
        // Trace events that mention usage and cost: a reader must never count them.
        let _ = writeln!(
            t,
            "{{\"type\":\"trace\",\"event\":\"model.usage\",\"seq\":{i},\"ts\":\"{}\",\"usage\":{{\"input\":{},\"output\":{},\"cost\":{{\"total\":{}}}}}}}",
            iso(s.last_ms),
            rng.range(100, 9000),
            rng.range(10, 900),
            rng.range(1, 999) as f64 / 1000.0
        );
    }
    home.write(&format!("{}/sessions/{sid}.trajectory.jsonl", a.dir), &t)?;
    let path = json!({"path": format!("{ROOT}/{}/sessions/{sid}.trajectory.jsonl", a.dir)});
    home.write(
        &format!("{}/sessions/{sid}.trajectory-path.json", a.dir),
        format!("{path}\n").as_bytes(),
    )
}

fn auth_state(home: &mut Home, truth: &mut Truth, id: &str, ai: usize) -> Result<()> {
    let (p1, p2) = if ai % 2 == 1 {
        ("acme-llm:default", "ollama:local")
    } else {
        ("anthropic:default", "openrouter:default")
    };
    let active = NOW_MS + (4 + ai as i64) * 60_000;
    let expired = NOW_MS - 2 * 3_600_000;
    let v = json!({"version": 1, "usageStats": {
        p1: {"lastUsed": NOW_MS - 90_000, "errorCount": 3, "lastFailureAt": NOW_MS - 60_000,
             "cooldownUntil": active, "cooldownReason": "rate_limit"},
        p2: {"lastUsed": NOW_MS - 4 * 3_600_000, "errorCount": 1, "lastFailureAt": expired - 60_000,
             "cooldownUntil": expired, "cooldownReason": "rate_limit"},
        "openai-codex:default": {"lastUsed": NOW_MS - 30 * 60_000, "errorCount": 0}
    }});
    truth.cooldowns.push((
        id.to_string(),
        p1.to_string(),
        active,
        "rate_limit".to_string(),
    ));
    home.json(&format!("agents/{id}/agent/auth-state.json"), &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_constant_matches_its_text() {
        assert_eq!(iso(NOW_MS), "2026-11-21T08:00:00.000Z");
    }

    #[test]
    fn stuck_reasons_follow_the_rules() {
        let base = RunFacts {
            started_ms: NOW_MS - 60_000,
            timeout_s: 0,
            last_activity_ms: NOW_MS - 30_000,
            requester_known: true,
            trailing_errors: 0,
            last_is_assistant_stop: false,
        };
        assert!(stuck_reasons(&base, NOW_MS).is_empty());
        let idle = RunFacts {
            last_activity_ms: NOW_MS - 1801 * 1000,
            ..base
        };
        assert_eq!(stuck_reasons(&idle, NOW_MS), vec!["idle"]);
        let to = RunFacts {
            started_ms: NOW_MS - 601_000,
            timeout_s: 600,
            last_activity_ms: NOW_MS - 30_000,
            requester_known: true,
            trailing_errors: 2,
            last_is_assistant_stop: false,
        };
        assert_eq!(stuck_reasons(&to, NOW_MS), vec!["timeout"]);
        let mix = RunFacts {
            started_ms: NOW_MS,
            timeout_s: 0,
            last_activity_ms: NOW_MS,
            requester_known: false,
            trailing_errors: 3,
            last_is_assistant_stop: true,
        };
        assert_eq!(
            stuck_reasons(&mix, NOW_MS),
            vec!["orphaned", "error_loop", "waiting_for_input"]
        );
    }
}
