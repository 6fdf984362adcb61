//! `claw stuck-agent scan`: find subagent runs that stopped making progress, and act.
//!
//! Reads every run's facts (see `gather`), classifies each with the pure `classify`, decides
//! the next step with the pure `policy` against the actions the ledger already holds for the
//! run, then: records detections and the planned actions in one IMMEDIATE transaction (an
//! action row is inserted BEFORE its command runs, so a crash never repeats it), runs the
//! `openclaw` commands, records their results, and raises/clears alerts per run and class.
//! `--dry-run` prints the exact commands and changes nothing.
//!
//! Shape: gather ([`gather`]) -> classify and decide (pure: [`classify`], [`policy`],
//! `decide_all`) -> record ([`store`]) -> act -> record the results -> alert -> report.

pub mod classify;
pub mod gather;
pub mod policy;
pub mod store;
pub mod triage;

use crate::ctx::Ctx;
use crate::ledger::Ledger;
use crate::notify::{self, Alert, Severity};
use crate::output::{Outcome, SCHEMA_VERSION};
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use classify::{Class, Thresholds, Verdict};
use gather::Watched;
use policy::{Decision, Done, Policy, Step, Suggestion};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

pub const JOB: &str = "stuck-agent";

/// `stuck-agent` subcommands.
pub fn command_name(c: &crate::cli::StuckCmd) -> &'static str {
    match c {
        crate::cli::StuckCmd::Scan => "stuck-agent scan",
    }
}

pub fn run(ctx: &Ctx, c: &crate::cli::StuckCmd) -> Result<Outcome> {
    match c {
        crate::cli::StuckCmd::Scan => ctx.run_job(JOB, JOB, scan),
    }
}

/// One run after classification and decision.
struct Row {
    w: Watched,
    v: Verdict,
    protected: bool,
    policy: Policy,
    decision: Option<Decision>,
    /// Commands for the decided step (argv; empty for an extension).
    commands: Vec<Vec<String>>,
    until: Option<DateTime<Utc>>,
    /// After execution: ok / failed / skipped, with the error.
    result: Option<(String, Option<String>)>,
    triage: Option<Value>,
}

impl Row {
    /// A classified run, not decided yet.
    fn new(w: Watched, v: Verdict, protected: bool, policy: Policy) -> Row {
        Row {
            w,
            v,
            protected,
            policy,
            decision: None,
            commands: vec![],
            until: None,
            result: None,
            triage: None,
        }
    }
}

fn policies(ctx: &Ctx) -> HashMap<Class, Policy> {
    let a = &ctx.settings.stuck.actions;
    let mut m = HashMap::new();
    for (class, p) in [
        (Class::Idle, a.idle),
        (Class::WaitingInput, a.waiting_input),
        (Class::WaitingPermission, a.waiting_permission),
        (Class::ErrorLoop, a.error_loop),
        (Class::PastTimeout, a.past_timeout),
        (Class::Orphaned, a.orphaned),
    ] {
        m.insert(class, p);
    }
    m
}

fn thresholds(ctx: &Ctx, w: &Watched) -> Thresholds {
    let s = &ctx.settings.stuck;
    let idle = s
        .overrides
        .iter()
        .find(|o| {
            (o.agent.is_empty() || o.agent == w.agent)
                && (o.label.is_empty() || Some(&o.label) == w.label.as_ref())
        })
        .map(|o| o.idle_minutes)
        .unwrap_or(s.idle_minutes);
    Thresholds {
        idle: Duration::minutes(idle.min(1 << 30) as i64),
        error_loop: s.error_loop_count.max(1),
        waiting_after: Duration::seconds(s.waiting_after_secs.min(1 << 40) as i64),
        orphan_grace: Duration::seconds(s.orphan_grace_secs.min(1 << 40) as i64),
    }
}

fn log_dirs(ctx: &Ctx) -> Vec<PathBuf> {
    let d = &ctx.settings.stuck.log_dir;
    if !d.is_empty() {
        return vec![PathBuf::from(d)];
    }
    let mut v = vec![PathBuf::from("/tmp/openclaw")];
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata("/proc/self") {
        v.push(PathBuf::from(format!("/tmp/openclaw-{}", m.uid())));
    }
    v
}

/// What the decision reads from the settings besides the policies: the per-run and per-scan
/// caps, the ladder's extension, the steer messages and the CLI the commands name.
struct Limits<'a> {
    now: DateTime<Utc>,
    extend: Duration,
    max_actions_per_run: u32,
    max_actions_per_scan: u32,
    follow: bool,
    steer_input: &'a str,
    steer_permission: &'a str,
    bin: &'a str,
}

impl<'a> Limits<'a> {
    fn of(ctx: &'a Ctx) -> Limits<'a> {
        let s = &ctx.settings.stuck;
        Limits {
            now: ctx.now,
            extend: Duration::minutes(s.extend_minutes.min(1 << 30) as i64),
            max_actions_per_run: s.max_actions_per_run,
            max_actions_per_scan: s.max_actions_per_scan,
            follow: s.triage.follow,
            steer_input: &s.steer_input_text,
            steer_permission: &s.steer_permission_text,
            bin: &ctx.settings.general.openclaw_bin,
        }
    }

    fn steer_text(&self, class: Class) -> &'a str {
        if class == Class::WaitingPermission {
            self.steer_permission
        } else {
            self.steer_input
        }
    }
}

fn commands(bin: &str, w: &Watched, step: Step, msg: Option<&str>) -> Vec<Vec<String>> {
    let bin = bin.to_string();
    let call = |method: &str, params: Value| {
        vec![
            bin.clone(),
            "gateway".into(),
            "call".into(),
            method.into(),
            "--params".into(),
            params.to_string(),
            "--json".into(),
        ]
    };
    match step {
        // `sessions.steer` interrupts the active run and starts a turn with the message;
        // `sessions.send` only queues it behind the hung model call (which never returns) and
        // bumps the session's timestamp, so the next scan would call the run progressing.
        Step::Steer => vec![call(
            "sessions.steer",
            json!({"key": w.session_key, "message": msg.unwrap_or_default()}),
        )],
        Step::Extend => vec![],
        Step::Kill => {
            let mut v = vec![call("sessions.abort", json!({"key": w.session_key}))];
            if let Some(r) = &w.facts.run {
                v.push(vec![
                    bin.clone(),
                    "tasks".into(),
                    "cancel".into(),
                    r.run_id.clone(),
                ]);
            }
            v
        }
    }
}

fn step_of(r: &Row) -> Option<Step> {
    match &r.decision {
        Some(Decision::Act(step, _)) => Some(*step),
        _ => None,
    }
}

/// Whether OpenClaw records the run as ended (task terminal or an end time), polled for a
/// few seconds because the gateway finishes an abort asynchronously.
fn wait_run_ended(ctx: &Ctx, run_id: &str) -> bool {
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (runs, _) = crate::openclaw::subagents::read_all_runs(&ctx.paths.openclaw_dir);
        let ended = runs
            .iter()
            .find(|r| r.run_id == run_id)
            .is_some_and(|r| r.ended_at.is_some() || r.outcome_status.is_some());
        if ended || Instant::now() >= deadline {
            return ended;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

pub use crate::proc::shell_line;

fn run_argv(ctx: &Ctx, argv: &[String]) -> std::result::Result<(), String> {
    let secs = ctx.settings.stuck.command_timeout_secs.max(1);
    crate::openclaw::cli::run(
        argv,
        &ctx.paths.openclaw_dir,
        std::time::Duration::from_secs(secs),
    )
    .map_err(|e| e.replace("{timeout}", &format!("stuck.command_timeout_secs = {secs}")))
}

fn scan(ctx: &Ctx, ledger: &Ledger) -> Result<Outcome> {
    let policies = policies(ctx);
    let (watched, problems) = gather_runs(ctx)?;
    let (hist, mut triaged) = ledger.read(|c| Ok((store::history(c)?, store::known_triage(c)?)))?;
    let mut rows = classify_all(ctx, watched, &policies);
    let new_triage = triage_all(ctx, &mut rows, &mut triaged);
    decide_all(&mut rows, &hist, &triaged, &Limits::of(ctx));
    let mut cleared = Vec::new();
    if !ctx.dry_run {
        // Detections, triage answers and the planned actions, before anything runs.
        cleared = ledger
            .immediate(|tx| record(ctx, tx, &mut rows, &new_triage))
            .context("ledger: cannot record the stuck-agent detections")?;
        act(ctx, &mut rows);
        ledger
            .immediate(|tx| record_results(tx, &rows))
            .context("ledger: cannot record the stuck-agent actions")?;
        // Alerts, after the ledger is committed.
        alert(ctx, ledger, &rows, &cleared);
    }
    Ok(outcome(ctx, &rows, &problems, &cleared))
}

/// A detection that cleared this scan: run key, class, and the class the run has now.
type Cleared = (String, String, String);

/// A triage question asked this scan: run key, class, and the answer or why there is none.
type Asked = (String, String, std::result::Result<triage::Answer, String>);

/// Gather: every watched run's facts; per-file problems are warned and the scan goes on.
fn gather_runs(ctx: &Ctx) -> Result<(Vec<Watched>, Vec<String>)> {
    let s = &ctx.settings.stuck;
    let (watched, problems) = gather::gather(
        &ctx.paths.openclaw_dir,
        &gather::Opts {
            tail: s.tail_entries.max(s.error_loop_count).max(1),
            include_main: s.include_main,
            log_dirs: log_dirs(ctx),
            now: ctx.now,
            config: ctx.paths.config.clone(),
        },
    )?;
    for p in &problems {
        ctx.out.warn(p);
    }
    Ok((watched, problems))
}

fn classify_all(ctx: &Ctx, watched: Vec<Watched>, policies: &HashMap<Class, Policy>) -> Vec<Row> {
    let include_main = ctx.settings.stuck.include_main;
    watched
        .into_iter()
        .map(|w| {
            let v = classify::classify(&w.facts, ctx.now, &thresholds(ctx, &w));
            let protected = gather::is_main(&w.session_key) && !include_main;
            let policy = policies.get(&v.class).copied().unwrap_or(Policy::Report);
            Row::new(w, v, protected, policy)
        })
        .collect()
}

/// Triage: once per (run, class), outside any transaction, never in a dry run, at most
/// `max_actions_per_scan` questions a scan. New answers join `triaged`.
fn triage_all(
    ctx: &Ctx,
    rows: &mut [Row],
    triaged: &mut HashMap<(String, String), Suggestion>,
) -> Vec<Asked> {
    let s = &ctx.settings.stuck;
    let mut asked: Vec<Asked> = Vec::new();
    if !s.triage.enabled {
        return asked;
    }
    for r in rows
        .iter_mut()
        .filter(|r| r.v.class.is_stuck() && !r.protected)
    {
        let key = (r.w.run_key.clone(), r.v.class.as_str().to_string());
        if triaged.contains_key(&key) || asked.len() as u32 >= s.max_actions_per_scan {
            continue;
        }
        if ctx.dry_run {
            r.triage = Some(json!({"would_ask": s.triage.model}));
            continue;
        }
        let prompt = triage::prompt(
            r.v.class.as_str(),
            &r.v.evidence,
            r.w.task.as_deref(),
            &r.w.facts.tail,
            s.triage.max_chars,
        );
        let ans = triage::ask(&s.triage, &prompt);
        match &ans {
            Ok(a) => {
                triaged.insert(key.clone(), a.suggestion.clone());
            }
            Err(e) => ctx.out.warn(e),
        }
        asked.push((key.0, key.1, ans));
    }
    asked
}

/// Decide (pure): the next step of every stuck run, within the per-scan cap, with its
/// commands.
fn decide_all(
    rows: &mut [Row],
    hist: &HashMap<String, Vec<Done>>,
    triaged: &HashMap<(String, String), Suggestion>,
    lim: &Limits,
) {
    let mut acts = 0u32;
    for r in rows.iter_mut().filter(|r| r.v.class.is_stuck()) {
        let done = hist.get(&r.w.run_key).map(Vec::as_slice).unwrap_or(&[]);
        let sug = triaged.get(&(r.w.run_key.clone(), r.v.class.as_str().to_string()));
        if let Some(sug) = sug {
            if r.triage.is_none() {
                r.triage = Some(suggestion_json(sug));
            }
        }
        let rules = policy::Rules {
            policy: r.policy,
            now: lim.now,
            extend: lim.extend,
            max_actions: lim.max_actions_per_run,
            steer_text: lim.steer_text(r.v.class),
            follow: lim.follow,
            protected: r.protected,
        };
        let mut d = policy::decide(&rules, done, sug);
        if let Decision::Act(step, msg) = &d {
            if acts >= lim.max_actions_per_scan {
                d = Decision::Hold("action cap for this scan reached; next scan".into());
            } else {
                acts += 1;
                r.commands = commands(lim.bin, &r.w, *step, msg.as_deref());
                if *step == Step::Extend {
                    r.until = Some(lim.now + rules.extend);
                }
            }
        }
        r.decision = Some(d);
    }
}

/// Record, in the caller's transaction: detections, the ones that cleared, triage answers, and
/// every planned action as pending before its command runs. Returns what cleared.
fn record(ctx: &Ctx, tx: &Connection, rows: &mut [Row], asked: &[Asked]) -> Result<Vec<Cleared>> {
    let now = ctx.now_str();
    let seen: Vec<store::Detection> = rows
        .iter()
        .filter(|r| r.v.class.is_stuck())
        .map(|r| {
            let mut ev = json!(r.v.evidence);
            crate::redact::redact_json(&mut ev);
            store::Detection {
                run_key: &r.w.run_key,
                class: r.v.class.as_str(),
                agent: &r.w.agent,
                session_key: &r.w.session_key,
                label: r.w.label.as_deref(),
                evidence: ev.to_string(),
            }
        })
        .collect();
    store::detect(tx, &now, &seen)?;
    let cleared = clear_gone(tx, rows, &now)?;
    let t = &ctx.settings.stuck.triage;
    for (k, c, ans) in asked {
        store::triage(tx, &now, &triage_row(t.api.name(), &t.model, k, c, ans))?;
    }
    for r in rows.iter_mut() {
        let Some(Decision::Act(step, _)) = &r.decision else {
            continue;
        };
        let step = *step;
        let argv: Vec<Value> = r
            .commands
            .iter()
            .map(|a| json!(crate::redact::redact_text(&shell_line(a))))
            .collect();
        let planned = store::Planned {
            run_key: &r.w.run_key,
            step,
            class: r.v.class.as_str(),
            session_key: &r.w.session_key,
            until: r
                .until
                .map(|u| u.to_rfc3339_opts(SecondsFormat::Secs, true)),
            argv: Value::Array(argv).to_string(),
        };
        if !store::plan(tx, &now, &planned)? {
            // Another scan recorded this step first: it owns the command.
            r.decision = Some(Decision::Hold(format!(
                "{} already recorded",
                step.as_str()
            )));
            r.commands.clear();
        }
    }
    Ok(cleared)
}

/// Clear every open detection this scan no longer sees stuck in that class.
fn clear_gone(tx: &Connection, rows: &[Row], now: &str) -> Result<Vec<Cleared>> {
    let stuck_keys: HashSet<(&str, &str)> = rows
        .iter()
        .filter(|r| r.v.class.is_stuck())
        .map(|r| (r.w.run_key.as_str(), r.v.class.as_str()))
        .collect();
    let now_class: HashMap<&str, &str> = rows
        .iter()
        .map(|r| (r.w.run_key.as_str(), r.v.class.as_str()))
        .collect();
    let mut cleared = Vec::new();
    for (k, c) in store::open_detections(tx)? {
        if !stuck_keys.contains(&(k.as_str(), c.as_str())) {
            store::clear(tx, &k, &c, now)?;
            let now_c = now_class.get(k.as_str()).copied().unwrap_or("gone");
            cleared.push((k, c, now_c.to_string()));
        }
    }
    Ok(cleared)
}

/// The ledger row of one triage question.
fn triage_row<'a>(
    api: &'a str,
    model: &'a str,
    run_key: &'a str,
    class: &'a str,
    ans: &'a std::result::Result<triage::Answer, String>,
) -> store::Triage<'a> {
    let (verdict, text, input_tokens, output_tokens, cost_micros, error) = match ans {
        Ok(a) => {
            let (v, t) = match &a.suggestion {
                Suggestion::Kill => ("kill", None),
                Suggestion::Steer(t) => ("steer", Some(crate::redact::redact_text(t))),
                Suggestion::Wait => ("wait", None),
            };
            (
                v,
                t,
                a.input_tokens as i64,
                a.output_tokens as i64,
                a.cost_micros,
                None,
            )
        }
        Err(e) => ("error", None, 0, 0, 0, Some(e.as_str())),
    };
    store::Triage {
        run_key,
        class,
        api,
        model,
        verdict,
        text,
        input_tokens,
        output_tokens,
        cost_micros,
        error,
    }
}

/// Act: run every decided step's commands and note how each went. A kill is done when the
/// run has ended, not when the commands exited 0: `tasks cancel` fails with "already
/// terminal" after a working abort, and 2026.7.1 answers 0 with "Subagent was not running."
/// for a hung run.
fn act(ctx: &Ctx, rows: &mut [Row]) {
    for r in rows.iter_mut() {
        let Some(Decision::Act(..)) = &r.decision else {
            continue;
        };
        let mut errs = Vec::new();
        for argv in &r.commands {
            if let Err(e) = run_argv(ctx, argv) {
                errs.push(format!("{}: {e}", argv[1..4.min(argv.len())].join(" ")));
            }
        }
        let ended = match (step_of(r), r.w.facts.run.as_ref()) {
            (Some(Step::Kill), Some(run)) if !ctx.dry_run => Some(wait_run_ended(ctx, &run.run_id)),
            _ => None,
        };
        r.result = Some(match ended {
            Some(true) => ("ok".into(), None),
            Some(false) => {
                errs.push("the run has not ended (its task is not terminal)".into());
                ("failed".into(), Some(errs.join("; ")))
            }
            None if errs.is_empty() => ("ok".into(), None),
            None => ("failed".into(), Some(errs.join("; "))),
        });
    }
}

/// Record how each action went.
fn record_results(tx: &Connection, rows: &[Row]) -> Result<()> {
    for r in rows {
        if let (Some(Decision::Act(step, _)), Some((status, err))) = (&r.decision, &r.result) {
            store::action_result(tx, &r.w.run_key, *step, status, err.as_deref())?;
        }
    }
    Ok(())
}

/// Raise one alert per stuck run and class; clear the ones that cleared.
fn alert(ctx: &Ctx, ledger: &Ledger, rows: &[Row], cleared: &[Cleared]) {
    for r in rows.iter().filter(|r| r.v.class.is_stuck()) {
        let text = format!(
            "run {} (agent {}{}) is {}: {}; {}",
            r.w.run_key,
            r.w.agent,
            r.w.label
                .as_deref()
                .map(|l| format!(", label {l}"))
                .unwrap_or_default(),
            r.v.class.as_str(),
            r.v.evidence.first().map(String::as_str).unwrap_or("-"),
            describe(r)
        );
        let _ = notify::raise(
            ctx,
            ledger,
            &Alert {
                job: JOB.into(),
                severity: Severity::Warning,
                key: format!("{}:{}", r.w.run_key, r.v.class.as_str()),
                text,
            },
        );
    }
    for (k, c, now_c) in cleared {
        let _ = notify::clear(
            ctx,
            ledger,
            JOB,
            &format!("{k}:{c}"),
            &format!("run {k} is no longer {c} (now {now_c})"),
        );
    }
}

fn suggestion_json(s: &Suggestion) -> Value {
    match s {
        Suggestion::Kill => json!({"verdict": "kill"}),
        Suggestion::Steer(t) => json!({"verdict": "steer", "message": t}),
        Suggestion::Wait => json!({"verdict": "wait"}),
    }
}

fn describe(r: &Row) -> String {
    match (&r.decision, &r.result) {
        (Some(Decision::Act(step, _)), Some((st, err))) => format!(
            "{} {}{}",
            step.as_str(),
            st,
            err.as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ),
        (Some(Decision::Act(step, _)), None) => format!("would {}", step.as_str()),
        (Some(Decision::Hold(m)), _) => m.clone(),
        (None, _) => String::new(),
    }
}

fn ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// One run in `--json`.
fn run_json(ctx: &Ctx, r: &Row) -> Value {
    let action = r.decision.as_ref().map(|d| match d {
        Decision::Act(step, msg) => json!({
            "step": step.as_str(),
            "message": msg,
            "commands": r.commands.iter().map(|a| shell_line(a)).collect::<Vec<_>>(),
            "until": ts(r.until),
            "status": r.result.as_ref().map(|x| x.0.as_str()).unwrap_or(if ctx.dry_run { "dry-run" } else { "pending" }),
            "error": r.result.as_ref().and_then(|x| x.1.clone()),
        }),
        Decision::Hold(m) => json!({"step": null, "reason": m}),
    });
    json!({
        "run_id": r.w.facts.run.as_ref().map(|x| x.run_id.clone()),
        "run_key": r.w.run_key,
        "agent": r.w.agent,
        "session_key": r.w.session_key,
        "session_id": r.w.session_id,
        "label": r.w.label,
        "class": r.v.class.as_str(),
        "stuck": r.v.class.is_stuck(),
        "evidence": r.v.evidence,
        "last_activity": ts(r.v.last_activity),
        "transcript": r.w.source,
        "entries_read": r.w.facts.tail.len(),
        "lock": r.w.facts.lock.as_ref().map(|l| json!({"pid": l.pid, "alive": l.alive})),
        "protected": r.protected,
        "action": action,
        "triage": r.triage,
    })
}

/// One line per stuck run and class: printed when it first appears, "recovered:" when it
/// clears (see `findings`); `--json` has the full table.
fn finding(r: &Row) -> (String, String) {
    let key = format!("{}:{}", r.w.run_key, r.v.class.as_str());
    let line = format!(
        "stuck: {} {} ({}) {}, last activity {}, {}{}",
        r.w.agent,
        r.w.run_key,
        r.w.label.clone().unwrap_or_else(|| "-".into()),
        r.v.class.as_str(),
        ts(r.v.last_activity).unwrap_or_else(|| "-".into()),
        describe(r),
        r.v.evidence
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    (key, line)
}

/// What a dry run would run.
fn dry_run_text(planned: &[&Row]) -> String {
    let mut text = String::new();
    for r in planned {
        if r.commands.is_empty() {
            text.push_str(&format!(
                "dry run: would record an extension for {}\n",
                r.w.run_key
            ));
        }
        for a in &r.commands {
            text.push_str(&format!("dry run: would run: {}\n", shell_line(a)));
        }
    }
    text
}

/// Report.
fn outcome(ctx: &Ctx, rows: &[Row], problems: &[String], cleared: &[Cleared]) -> Outcome {
    let stuck: Vec<&Row> = rows.iter().filter(|r| r.v.class.is_stuck()).collect();
    let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *by_class.entry(r.v.class.as_str()).or_default() += 1;
    }
    // The per-run document is only built when asked for (20k runs make a large one).
    let runs: Vec<Value> = rows
        .iter()
        .filter(|_| ctx.out.json)
        .map(|r| run_json(ctx, r))
        .collect();
    let mut doc = json!({
        "schema_version": SCHEMA_VERSION,
        "command": "stuck-agent scan",
        "now": ctx.now_str(),
        "dry_run": ctx.dry_run,
        "exit_code": if stuck.is_empty() { 0 } else { 1 },
        "watched": rows.len(),
        "stuck": stuck.len(),
        "classes": by_class,
        "runs": runs,
        "cleared": cleared.iter().map(|(k, c, n)| json!({"run_key": k, "class": c, "now": n})).collect::<Vec<_>>(),
        "problems": problems,
    });
    if ctx.out.json {
        crate::redact::redact_json(&mut doc);
    }
    let summary = format!(
        "{} stuck of {} watched run(s){}",
        stuck.len(),
        rows.len(),
        if problems.is_empty() {
            String::new()
        } else {
            format!(", {} problem(s)", problems.len())
        }
    );
    let planned: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.decision, Some(Decision::Act(..))))
        .collect();
    let text = if ctx.dry_run {
        dry_run_text(&planned)
    } else {
        String::new()
    };
    let mut o = Outcome::ok(summary)
        .with_text(text)
        .with_findings(stuck.iter().map(|r| finding(r)).collect())
        .with_detail(json!({
        "watched": rows.len(),
        "stuck": stuck.len(),
        "classes": doc["classes"].clone(),
        "actions": planned.iter().map(|r| json!({"run_key": r.w.run_key, "action": describe(r)})).collect::<Vec<_>>(),
        "problems": problems.len(),
    }));
    o.json = Some(doc);
    for c in Class::ALL {
        let n = rows.iter().filter(|r| r.v.class == c).count();
        o = o.metric("stuck_agent_runs", &[("class", c.as_str())], n as f64);
    }
    if stuck.is_empty() {
        o
    } else {
        o.finding()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, class: Class, policy: Policy) -> Row {
        Row::new(
            Watched {
                run_key: key.into(),
                agent: "main".into(),
                session_key: format!("agent:main:subagent:{key}"),
                session_id: None,
                label: None,
                task: None,
                source: "none",
                facts: classify::Facts {
                    run: Some(classify::RunFacts {
                        run_id: key.into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            },
            Verdict {
                class,
                evidence: vec![],
                last_activity: None,
            },
            false,
            policy,
        )
    }

    #[test]
    fn decisions_keep_the_scan_cap_and_name_their_commands() {
        let now = DateTime::parse_from_rfc3339("2026-08-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let lim = Limits {
            now,
            extend: Duration::minutes(5),
            max_actions_per_run: 3,
            max_actions_per_scan: 2,
            follow: true,
            steer_input: "go on",
            steer_permission: "you may",
            bin: "openclaw",
        };
        let mut rows = vec![
            row("a", Class::WaitingPermission, Policy::Ladder),
            row("b", Class::Progressing, Policy::Kill),
            row("c", Class::Idle, Policy::Ladder),
            row("d", Class::Idle, Policy::Kill),
        ];
        // `c` was steered long enough ago: the ladder extends it.
        let hist = HashMap::from([(
            "c".to_string(),
            vec![Done {
                step: Step::Steer,
                at: now - Duration::minutes(10),
                until: None,
            }],
        )]);
        let triaged = HashMap::from([(
            ("a".to_string(), "waiting_permission".to_string()),
            Suggestion::Wait,
        )]);
        decide_all(&mut rows, &hist, &triaged, &lim);
        // Triage said wait for `a` (and its answer is shown); `b` is not stuck.
        assert_eq!(
            rows[0].decision,
            Some(Decision::Hold("triage suggests waiting".into()))
        );
        assert_eq!(rows[0].triage, Some(json!({"verdict": "wait"})));
        assert_eq!(rows[1].decision, None);
        assert_eq!(rows[2].decision, Some(Decision::Act(Step::Extend, None)));
        assert!(rows[2].commands.is_empty());
        assert_eq!(rows[2].until, Some(now + Duration::minutes(5)));
        assert_eq!(rows[3].decision, Some(Decision::Act(Step::Kill, None)));
        assert_eq!(
            rows[3]
                .commands
                .iter()
                .map(|a| shell_line(a))
                .collect::<Vec<_>>(),
            [
                r#"openclaw gateway call sessions.abort --params '{"key":"agent:main:subagent:d"}' --json"#,
                "openclaw tasks cancel d"
            ]
        );
        // A third stuck run past the cap of two waits for the next scan.
        rows.push(row("e", Class::Orphaned, Policy::Steer));
        decide_all(&mut rows, &hist, &triaged, &lim);
        assert!(
            matches!(&rows[4].decision, Some(Decision::Hold(m)) if m.contains("action cap for this scan"))
        );
        // The permission steer text goes with the permission class.
        let mut p = vec![row("f", Class::WaitingPermission, Policy::Steer)];
        decide_all(&mut p, &HashMap::new(), &HashMap::new(), &lim);
        assert_eq!(
            p[0].decision,
            Some(Decision::Act(Step::Steer, Some("you may".into())))
        );
    }

    #[test]
    fn shell_lines_quote_what_needs_it() {
        let a: Vec<String> = [
            "openclaw",
            "gateway",
            "call",
            "sessions.send",
            "--params",
            r#"{"key":"a","message":"don't wait"}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            shell_line(&a),
            r#"openclaw gateway call sessions.send --params '{"key":"a","message":"don'\''t wait"}'"#
        );
    }
}
