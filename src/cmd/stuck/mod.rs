//! `claw stuck-agent scan`: find subagent runs that stopped making progress, and act.
//!
//! Reads every run's facts (see `gather`), classifies each with the pure `classify`, decides
//! the next step with the pure `policy` against the actions the ledger already holds for the
//! run, then: records detections and the planned actions in one IMMEDIATE transaction (an
//! action row is inserted BEFORE its command runs, so a crash never repeats it), runs the
//! `openclaw` commands, records their results, and raises/clears alerts per run and class.
//! `--dry-run` prints the exact commands and changes nothing.

pub mod classify;
pub mod gather;
pub mod policy;
pub mod triage;

use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::ledger::Ledger;
use crate::notify::{self, Alert, Severity};
use crate::output::{Outcome, SCHEMA_VERSION};
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use classify::{Class, Thresholds, Verdict};
use gather::Watched;
use policy::{Decision, Done, Policy, Step, Suggestion};
use rusqlite::{params, Transaction, TransactionBehavior};
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

fn policies(ctx: &Ctx) -> Result<HashMap<Class, Policy>> {
    let a = &ctx.settings.stuck.actions;
    let mut m = HashMap::new();
    for (class, name, v) in [
        (Class::Idle, "idle", &a.idle),
        (Class::WaitingInput, "waiting_input", &a.waiting_input),
        (
            Class::WaitingPermission,
            "waiting_permission",
            &a.waiting_permission,
        ),
        (Class::ErrorLoop, "error_loop", &a.error_loop),
        (Class::PastTimeout, "past_timeout", &a.past_timeout),
        (Class::Orphaned, "orphaned", &a.orphaned),
    ] {
        let p = Policy::parse(v).ok_or_else(|| {
            fail(
                Code::Config,
                format!(
                    "{}: stuck.actions.{name} = {v:?}: not one of report, steer, kill, ladder",
                    ctx.paths.settings.display()
                ),
            )
        })?;
        m.insert(class, p);
    }
    let t = &ctx.settings.stuck.triage;
    if t.enabled && !matches!(t.api.as_str(), "anthropic" | "openai") {
        return Err(fail(
            Code::Config,
            format!(
                "{}: stuck.triage.api = {:?}: not anthropic or openai",
                ctx.paths.settings.display(),
                t.api
            ),
        ));
    }
    Ok(m)
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

fn steer_text(ctx: &Ctx, class: Class) -> &str {
    let s = &ctx.settings.stuck;
    if class == Class::WaitingPermission {
        &s.steer_permission_text
    } else {
        &s.steer_input_text
    }
}

fn commands(ctx: &Ctx, w: &Watched, step: Step, msg: Option<&str>) -> Vec<Vec<String>> {
    let bin = ctx.settings.general.openclaw_bin.clone();
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

fn history(ledger: &Ledger) -> Result<HashMap<String, Vec<Done>>> {
    let mut st = ledger
        .conn
        .prepare("SELECT run_key, step, at, until FROM stuck_actions")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let t = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let mut m: HashMap<String, Vec<Done>> = HashMap::new();
    for row in rows {
        let (k, step, at, until) = row?;
        if let (Some(step), Some(at)) = (Step::parse(&step), t(&at)) {
            m.entry(k).or_default().push(Done {
                step,
                at,
                until: until.as_deref().and_then(t),
            });
        }
    }
    Ok(m)
}

fn known_triage(ledger: &Ledger) -> Result<HashMap<(String, String), Suggestion>> {
    let mut st = ledger
        .conn
        .prepare("SELECT run_key, class, verdict, text FROM stuck_triage WHERE error IS NULL")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut m = HashMap::new();
    for row in rows {
        let (k, c, v, t) = row?;
        let s = match v.as_str() {
            "kill" => Suggestion::Kill,
            "steer" => Suggestion::Steer(t.unwrap_or_default()),
            _ => Suggestion::Wait,
        };
        m.insert((k, c), s);
    }
    Ok(m)
}

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
    let policies = policies(ctx)?;
    let s = &ctx.settings.stuck;
    let now = ctx.now;
    let now_str = ctx.now_str();
    let (watched, problems) = gather::gather(
        &ctx.paths.openclaw_dir,
        &gather::Opts {
            tail: s.tail_entries.max(s.error_loop_count).max(1),
            include_main: s.include_main,
            log_dirs: log_dirs(ctx),
            now,
            config: ctx.paths.config.clone(),
        },
    )?;
    for p in &problems {
        ctx.out.warn(p);
    }
    let hist = history(ledger)?;
    let mut triaged = known_triage(ledger)?;

    let mut rows: Vec<Row> = watched
        .into_iter()
        .map(|w| {
            let v = classify::classify(&w.facts, now, &thresholds(ctx, &w));
            let protected = gather::is_main(&w.session_key) && !s.include_main;
            let policy = policies.get(&v.class).copied().unwrap_or(Policy::Report);
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
        })
        .collect();

    // Triage: once per (run, class), outside any transaction, never in a dry run.
    let mut new_triage: Vec<(String, String, std::result::Result<triage::Answer, String>)> =
        Vec::new();
    if s.triage.enabled {
        let mut asked = 0u32;
        for r in rows
            .iter_mut()
            .filter(|r| r.v.class.is_stuck() && !r.protected)
        {
            let key = (r.w.run_key.clone(), r.v.class.as_str().to_string());
            if triaged.contains_key(&key) || asked >= s.max_actions_per_scan {
                continue;
            }
            if ctx.dry_run {
                r.triage = Some(json!({"would_ask": s.triage.model}));
                continue;
            }
            asked += 1;
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
            new_triage.push((key.0, key.1, ans));
        }
    }

    // Decide, within the per-scan cap.
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
            now,
            extend: Duration::minutes(s.extend_minutes.min(1 << 30) as i64),
            max_actions: s.max_actions_per_run,
            steer_text: steer_text(ctx, r.v.class),
            follow: s.triage.follow,
            protected: r.protected,
        };
        let mut d = policy::decide(&rules, done, sug);
        if let Decision::Act(step, msg) = &d {
            if acts >= s.max_actions_per_scan {
                d = Decision::Hold("action cap for this scan reached; next scan".into());
            } else {
                acts += 1;
                r.commands = commands(ctx, &r.w, *step, msg.as_deref());
                if *step == Step::Extend {
                    r.until = Some(now + rules.extend);
                }
            }
        }
        r.decision = Some(d);
    }

    let stuck_keys: HashSet<(String, String)> = rows
        .iter()
        .filter(|r| r.v.class.is_stuck())
        .map(|r| (r.w.run_key.clone(), r.v.class.as_str().to_string()))
        .collect();

    let mut cleared: Vec<(String, String, String)> = Vec::new();
    if !ctx.dry_run {
        // 1: detections, triage answers and the planned actions, before anything runs.
        let tx = Transaction::new_unchecked(&ledger.conn, TransactionBehavior::Immediate)
            .context("ledger: cannot start the stuck-agent transaction")?;
        {
            let mut up = tx.prepare(
                "INSERT INTO stuck_detections (run_key, class, agent_id, session_key, label,
                     first_at, last_at, scans, evidence, cleared_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1, ?7, NULL)
                 ON CONFLICT (run_key, class) DO UPDATE SET last_at = ?6,
                     scans = CASE WHEN cleared_at IS NULL THEN scans + 1 ELSE 1 END,
                     first_at = CASE WHEN cleared_at IS NULL THEN first_at ELSE ?6 END,
                     evidence = ?7, cleared_at = NULL",
            )?;
            for r in rows.iter().filter(|r| r.v.class.is_stuck()) {
                let mut ev = json!(r.v.evidence);
                crate::redact::redact_json(&mut ev);
                up.execute(params![
                    r.w.run_key,
                    r.v.class.as_str(),
                    r.w.agent,
                    r.w.session_key,
                    r.w.label,
                    now_str,
                    ev.to_string()
                ])?;
            }
            let mut open =
                tx.prepare("SELECT run_key, class FROM stuck_detections WHERE cleared_at IS NULL")?;
            let open: Vec<(String, String)> = open
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let now_class: HashMap<&str, &str> = rows
                .iter()
                .map(|r| (r.w.run_key.as_str(), r.v.class.as_str()))
                .collect();
            for (k, c) in open {
                if !stuck_keys.contains(&(k.clone(), c.clone())) {
                    tx.execute(
                        "UPDATE stuck_detections SET cleared_at = ?3 WHERE run_key = ?1 AND class = ?2",
                        params![k, c, now_str],
                    )?;
                    let now_c = now_class.get(k.as_str()).copied().unwrap_or("gone");
                    cleared.push((k, c, now_c.to_string()));
                }
            }
            for (k, c, ans) in &new_triage {
                let (verdict, text, i, o, cost, err) = match ans {
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
                    Err(e) => ("error", None, 0, 0, 0, Some(e.clone())),
                };
                tx.execute(
                    "INSERT INTO stuck_triage (run_key, class, at, api, model, verdict, text,
                         input_tokens, output_tokens, cost_micros, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (run_key, class) DO UPDATE SET at = ?3, verdict = ?6, text = ?7,
                         input_tokens = input_tokens + ?8, output_tokens = output_tokens + ?9,
                         cost_micros = cost_micros + ?10, error = ?11",
                    params![
                        k,
                        c,
                        now_str,
                        s.triage.api,
                        s.triage.model,
                        verdict,
                        text,
                        i,
                        o,
                        cost,
                        err
                    ],
                )?;
            }
            let mut ins = tx.prepare(
                "INSERT INTO stuck_actions (run_key, step, class, session_key, at, until, argv, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending')
                 ON CONFLICT (run_key, step) DO NOTHING",
            )?;
            for r in rows.iter_mut() {
                if let Some(Decision::Act(step, _)) = &r.decision {
                    let argv: Vec<Value> = r
                        .commands
                        .iter()
                        .map(|a| json!(crate::redact::redact_text(&shell_line(a))))
                        .collect();
                    let n = ins.execute(params![
                        r.w.run_key,
                        step.as_str(),
                        r.v.class.as_str(),
                        r.w.session_key,
                        now_str,
                        r.until
                            .map(|u| u.to_rfc3339_opts(SecondsFormat::Secs, true)),
                        Value::Array(argv).to_string()
                    ])?;
                    if n == 0 {
                        // Another scan recorded this step first: it owns the command.
                        r.decision = Some(Decision::Hold(format!(
                            "{} already recorded",
                            step.as_str()
                        )));
                        r.commands.clear();
                    }
                }
            }
        }
        tx.commit()
            .context("ledger: cannot commit the stuck-agent detections")?;

        // 2: run the commands, then record how each went.
        for r in rows.iter_mut() {
            if let Some(Decision::Act(..)) = &r.decision {
                let mut errs = Vec::new();
                for argv in &r.commands {
                    if let Err(e) = run_argv(ctx, argv) {
                        errs.push(format!("{}: {e}", argv[1..4.min(argv.len())].join(" ")));
                    }
                }
                // A kill is done when the run has ended, not when the commands exited 0:
                // `tasks cancel` fails with "already terminal" after a working abort, and
                // 2026.7.1 answers 0 with "Subagent was not running." for a hung run.
                let ended = match (step_of(r), r.w.facts.run.as_ref()) {
                    (Some(Step::Kill), Some(run)) if !ctx.dry_run => {
                        Some(wait_run_ended(ctx, &run.run_id))
                    }
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
        let tx = Transaction::new_unchecked(&ledger.conn, TransactionBehavior::Immediate)
            .context("ledger: cannot start the stuck-agent transaction")?;
        for r in rows.iter() {
            if let (Some(Decision::Act(step, _)), Some((status, err))) = (&r.decision, &r.result) {
                tx.execute(
                    "UPDATE stuck_actions SET status = ?3, error = ?4 WHERE run_key = ?1 AND step = ?2",
                    params![r.w.run_key, step.as_str(), status, err],
                )?;
            }
        }
        tx.commit()
            .context("ledger: cannot record the stuck-agent actions")?;

        // 3: alerts, after the ledger is committed.
        for r in rows.iter().filter(|r| r.v.class.is_stuck()) {
            let action = describe(r);
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
                action
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
        for (k, c, now_c) in &cleared {
            let _ = notify::clear(
                ctx,
                ledger,
                JOB,
                &format!("{k}:{c}"),
                &format!("run {k} is no longer {c} (now {now_c})"),
            );
        }
    }

    Ok(outcome(ctx, &rows, &problems, &cleared))
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

fn outcome(
    ctx: &Ctx,
    rows: &[Row],
    problems: &[String],
    cleared: &[(String, String, String)],
) -> Outcome {
    let stuck: Vec<&Row> = rows.iter().filter(|r| r.v.class.is_stuck()).collect();
    let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *by_class.entry(r.v.class.as_str()).or_default() += 1;
    }
    let ts = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    // The per-run document is only built when asked for (20k runs make a large one).
    let runs: Vec<Value> = rows
        .iter()
        .filter(|_| ctx.out.json)
        .map(|r| {
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
        })
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
    let mut text = String::new();
    let planned: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.decision, Some(Decision::Act(..))))
        .collect();
    // One line per stuck run and class: printed when it first appears, "recovered:" when it
    // clears (see `findings`); `--json` has the full table.
    let findings: Vec<(String, String)> = stuck
        .iter()
        .map(|r| {
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
        })
        .collect();
    if ctx.dry_run {
        for r in &planned {
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
    }
    let mut o = Outcome::ok(summary)
        .with_text(text)
        .with_findings(findings)
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
