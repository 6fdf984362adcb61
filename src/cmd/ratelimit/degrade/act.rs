//! Degraded mode's edges: gather what OpenClaw runs now (its config file, `openclaw cron list
//! --all --json`), record each change before it is made, make it through OpenClaw's own CLI
//! (`openclaw config set|unset`, `openclaw cron disable|enable`, so the gateway picks it up),
//! read it back, and report (lines, alerts, the recovery record).

use super::store;
use super::{
    decide, plan, reconcile, Fix, Kind, Live, NewChange, Phase, Policy, Row, Status, Step,
};
use crate::cmd::ratelimit::actions::openclaw_argv;
use crate::cmd::ratelimit::breaker::Breaker;
use crate::cmd::ratelimit::{GLOBAL, JOB};
use crate::ctx::Ctx;
use crate::ledger::Ledger;
use crate::notify::{self, Alert, Severity};
use crate::openclaw::schedule::{self, CronJob, HeartbeatScope};
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// What degraded mode did this run.
#[derive(Default)]
pub struct Report {
    /// Lines for the text report (what changed, what was restored, dry-run commands).
    pub lines: Vec<String>,
    /// `--json` detail: one object per change touched.
    pub changes: Vec<Value>,
}

fn policy(ctx: &Ctx) -> Policy {
    let c = &ctx.settings.rate_limit;
    Policy {
        stretch_heartbeat: c.stretch_heartbeat,
        factor: c.heartbeat_factor,
        disable_cron: c.disable_cron,
        resume_after: super::super::secs(c.resume_after_secs),
    }
}

/// OpenClaw as it is now, read at most once per run each (and again after claw changed it).
struct View<'a> {
    ctx: &'a Ctx,
    config: Option<Value>,
    cron: Option<Result<HashMap<String, CronJob>, String>>,
}

impl<'a> View<'a> {
    fn new(ctx: &'a Ctx) -> View<'a> {
        View {
            ctx,
            config: None,
            cron: None,
        }
    }

    /// The config as OpenClaw's file says (claw's own JSON5 reader; a missing file is `{}`).
    fn config(&mut self) -> Result<&Value> {
        if self.config.is_none() {
            let p = &self.ctx.paths.config;
            let v = match crate::safefs::read_to_string(p) {
                Ok(t) => crate::openclaw::config::parse_json5(&t).map_err(|e| {
                    anyhow::anyhow!("{}:{}:{}: {}", p.display(), e.line, e.column, e.message)
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
                Err(e) => return Err(e).with_context(|| format!("{}: cannot read", p.display())),
            };
            self.config = Some(v);
        }
        Ok(self.config.as_ref().expect("just read"))
    }

    fn cron(&mut self) -> Result<&HashMap<String, CronJob>, String> {
        if self.cron.is_none() {
            let argv = openclaw_argv(self.ctx, &["cron", "list", "--all", "--json"]);
            let r = run_cli(self.ctx, &argv).and_then(|out| {
                let v: Value = serde_json::from_slice(&out).map_err(|e| {
                    format!("{}: not JSON: {e}", crate::proc::shell_line(&argv))
                })?;
                if v.get("hasMore").and_then(Value::as_bool) == Some(true) {
                    self.ctx.out.warn(
                        "openclaw cron list: more jobs than one page; only the first page is considered",
                    );
                }
                let cfg = self.config().map_err(|e| format!("{e:#}"))?.clone();
                Ok(schedule::cron_jobs(&v, &cfg)
                    .into_iter()
                    .map(|j| (j.id.clone(), j))
                    .collect())
            });
            self.cron = Some(r);
        }
        match self.cron.as_ref().expect("just listed") {
            Ok(m) => Ok(m),
            Err(e) => Err(e.clone()),
        }
    }

    /// Forget what was read: claw just changed OpenClaw.
    fn changed(&mut self, kind: Kind) {
        match kind {
            Kind::Cron => self.cron = None,
            _ => self.config = None,
        }
    }

    fn live(&mut self, r: &Row) -> Result<Live, String> {
        match r.kind {
            Kind::Heartbeat => {
                let scope = HeartbeatScope::from_key(&r.target)
                    .ok_or_else(|| format!("unknown heartbeat target {}", r.target))?;
                let cfg = self.config().map_err(|e| format!("{e:#}"))?;
                if schedule::heartbeat_path(cfg, &scope).is_none() {
                    return Ok(Live::Gone);
                }
                Ok(Live::Value(schedule::every_at(cfg, &scope)))
            }
            Kind::Cron => Ok(match self.cron()?.get(&r.target) {
                None => Live::Gone,
                Some(j) => Live::Value(Some(if j.enabled { "enabled" } else { "disabled" }.into())),
            }),
            Kind::Outage => Ok(Live::Value(Some(r.current.clone()))),
        }
    }
}

fn run_cli(ctx: &Ctx, argv: &[String]) -> Result<Vec<u8>, String> {
    let timeout = std::time::Duration::from_secs(ctx.settings.rate_limit.openclaw_timeout_secs);
    crate::openclaw::cli::output(argv, &ctx.paths.openclaw_dir, timeout)
        .map_err(|e| e.replace("{timeout}", "rate_limit.openclaw_timeout_secs"))
}

/// The command that sets a row's target to `value` (None: put back what it replaced).
fn command(view: &mut View, r: &Row, value: Option<&str>) -> Result<Vec<String>, String> {
    let ctx = view.ctx;
    match r.kind {
        Kind::Heartbeat => {
            let scope = HeartbeatScope::from_key(&r.target)
                .ok_or_else(|| format!("unknown heartbeat target {}", r.target))?;
            let cfg = view.config().map_err(|e| format!("{e:#}"))?;
            let path = schedule::heartbeat_path(cfg, &scope)
                .ok_or_else(|| format!("agent {} is no longer in the config", r.label))?;
            let every = format!("{path}.every");
            Ok(match value.or(r.before.as_deref()) {
                Some(v) => openclaw_argv(ctx, &["config", "set", &every, v]),
                None => {
                    // The object claw created for `every` goes with it, unless someone put
                    // more in it meanwhile.
                    let only_every = schedule::heartbeat_object(cfg, &scope)
                        .and_then(Value::as_object)
                        .is_some_and(|o| o.len() == 1 && o.contains_key("every"));
                    if !r.parent_existed && only_every {
                        openclaw_argv(ctx, &["config", "unset", &path])
                    } else {
                        openclaw_argv(ctx, &["config", "unset", &every])
                    }
                }
            })
        }
        Kind::Cron => {
            let verb = match value.unwrap_or(r.before.as_deref().unwrap_or("enabled")) {
                "disabled" => "disable",
                _ => "enable",
            };
            Ok(openclaw_argv(ctx, &["cron", verb, &r.target]))
        }
        Kind::Outage => Err("an outage marker is not a change".into()),
    }
}

/// How a change reads for a person: `heartbeat of main (agents.defaults.heartbeat.every)`.
fn what(r: &Row) -> String {
    match r.kind {
        Kind::Heartbeat => format!("heartbeat of {} ({})", r.label, r.target),
        Kind::Cron => format!("cron job {} ({})", r.label, r.target),
        Kind::Outage => format!("outage of {}", r.provider),
    }
}

fn doc(r: &Row, action: &str, ok: bool, detail: &str) -> Value {
    json!({
        "provider": r.provider, "kind": r.kind.as_str(), "target": r.target, "label": r.label,
        "before": r.before, "value": r.current, "action": action, "ok": ok,
        "detail": crate::redact::redact_text(detail),
    })
}

pub fn run(
    ctx: &Ctx,
    ledger: &Ledger,
    after: &BTreeMap<String, Breaker>,
    restore_all: bool,
) -> Result<Report> {
    let pol = policy(ctx);
    let mut pass = Pass {
        ctx,
        ledger,
        view: View::new(ctx),
        rep: Report::default(),
        manual: Vec::new(),
        now: ctx.now_str(),
    };
    let now = pass.now.clone();

    // 1. Settle what a killed run left half-done (never in a dry run: nothing is written).
    if !ctx.dry_run {
        settle(ctx, ledger, &mut pass.view, &mut pass.rep, &now)?;
    }

    // 2. Entering degraded: plan (recorded before anything runs), apply, read back.
    if !restore_all {
        for (p, b) in after
            .iter()
            .filter(|(p, b)| p.as_str() != GLOBAL && !b.is_closed())
        {
            let Some(outage) = b.opened_at.map(crate::cmd::ratelimit::ts) else {
                continue;
            };
            if store::planned(ledger, p, &outage)? {
                continue;
            }
            enter(
                ctx,
                ledger,
                &mut pass.view,
                &mut pass.rep,
                &pol,
                p,
                &outage,
                &now,
            )?;
        }
    }

    // 3. The way back: x2 while resuming, restore once closed long enough (or --restore).
    let rows = store::outstanding(ledger)?;
    let steps = decide(&rows, after, ctx.now, &pol, restore_all);
    let by_id: HashMap<i64, &Row> = rows.iter().map(|r| (r.id, r)).collect();
    let mut acted: Vec<(Row, Option<String>)> = Vec::new();
    for step in &steps {
        let (id, value) = match step {
            Step::Set { row, value } => (*row, Some(value.clone())),
            Step::Restore { row } => (*row, None),
        };
        let Some(r) = by_id.get(&id) else { continue };
        acted.extend(pass.apply((*r).clone(), value)?);
    }
    // Read back every change just made.
    for (r, value) in acted {
        pass.read_back(r, value)?;
    }
    pass.alert_manual()?;

    // 4. Outages with nothing left to undo: the recovery record and one alert.
    let mut rep = pass.rep;
    if !ctx.dry_run {
        resumed(ctx, ledger, after, &pol, restore_all, &mut rep, &now)?;
    }
    Ok(rep)
}

/// One run of the way back: what it has read of OpenClaw, what it reports, and the undo
/// commands a person must run by hand.
struct Pass<'a> {
    ctx: &'a Ctx,
    ledger: &'a Ledger,
    view: View<'a>,
    rep: Report,
    manual: Vec<String>,
    now: String,
}

impl Pass<'_> {
    /// Make one step (set `value`, or restore when None) unless the operator changed the
    /// value since; returns the change made, to read back.
    fn apply(&mut self, r: Row, value: Option<String>) -> Result<Option<(Row, Option<String>)>> {
        let cmd = match command(&mut self.view, &r, value.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                // The agent or job is gone: nothing of claw's is left to undo there.
                left_alone(self.ctx, self.ledger, &mut self.rep, &r, &e, &self.now)?;
                return Ok(None);
            }
        };
        let line = crate::proc::shell_line(&cmd);
        if self.ctx.dry_run {
            self.rep.lines.push(format!("dry run: would run: {line}"));
            return Ok(None);
        }
        // Never over the operator: the value must still be the one claw set.
        match self.view.live(&r) {
            Ok(Live::Value(v)) if v.as_deref() == Some(r.current.as_str()) => {}
            Ok(Live::Value(v)) if r.status == Status::Failed && v == r.before => {
                store::set_status(
                    self.ledger,
                    r.id,
                    Status::Restored,
                    "restored by hand",
                    &self.now,
                )?;
                return Ok(None);
            }
            Ok(l) => {
                let why = match l {
                    Live::Gone => "it is gone".to_string(),
                    Live::Value(v) => format!(
                        "it is {} now, claw had set {}",
                        v.as_deref().unwrap_or("unset"),
                        r.current
                    ),
                };
                left_alone(self.ctx, self.ledger, &mut self.rep, &r, &why, &self.now)?;
                return Ok(None);
            }
            Err(e) => {
                self.ctx.out.warn(&format!(
                    "{}: cannot read it back ({e}); tried again next run",
                    what(&r)
                ));
                return Ok(None);
            }
        }
        match &value {
            Some(v) => store::set_pending(self.ledger, r.id, Some(v), &self.now)?,
            None => store::set_status(self.ledger, r.id, Status::Restoring, &line, &self.now)?,
        }
        if let Err(e) = run_cli(self.ctx, &cmd) {
            if value.is_none() {
                store::set_status(
                    self.ledger,
                    r.id,
                    Status::Failed,
                    &format!("{line}: {e}"),
                    &self.now,
                )?;
                self.manual.push(manual_line(self.ctx, &cmd));
            } else {
                store::set_pending(self.ledger, r.id, None, &self.now)?;
            }
            self.rep
                .lines
                .push(format!("rate-limit degraded mode: {line}: {e}"));
            self.rep.changes.push(doc(
                &r,
                if value.is_some() { "set" } else { "restore" },
                false,
                &e,
            ));
            return Ok(None);
        }
        self.view.changed(r.kind);
        Ok(Some((r, value)))
    }

    /// Read a change back: recorded as made when OpenClaw shows it, else pending or failed.
    fn read_back(&mut self, r: Row, value: Option<String>) -> Result<()> {
        let live = self.view.live(&r);
        let want = match &value {
            Some(v) => Some(v.clone()),
            None => r.before.clone(),
        };
        let ok = matches!(&live, Ok(Live::Value(v)) if *v == want);
        let seen = match &live {
            Ok(Live::Value(v)) => v.clone().unwrap_or_else(|| "unset".into()),
            Ok(Live::Gone) => "gone".into(),
            Err(e) => e.clone(),
        };
        match (&value, ok) {
            (Some(v), true) => {
                store::set_current(self.ledger, r.id, v, &self.now)?;
                self.rep.lines.push(format!(
                    "rate-limit degraded mode: {} {}: {} -> {v}",
                    r.provider,
                    what(&r),
                    r.current
                ));
                self.rep.changes.push(doc(&r, "set", true, v));
            }
            (None, true) => {
                store::set_status(self.ledger, r.id, Status::Restored, "", &self.now)?;
                self.rep.lines.push(format!(
                    "rate-limit degraded mode: {} {} restored to {}",
                    r.provider,
                    what(&r),
                    r.before.as_deref().unwrap_or("unset")
                ));
                self.rep.changes.push(doc(&r, "restore", true, ""));
            }
            (Some(_), false) => {
                store::set_pending(self.ledger, r.id, None, &self.now)?;
                self.rep.lines.push(format!(
                    "rate-limit degraded mode: {} {}: set but reads back {seen}",
                    r.provider,
                    what(&r)
                ));
            }
            (None, false) => {
                let why = format!("undone but reads back {seen}");
                store::set_status(self.ledger, r.id, Status::Failed, &why, &self.now)?;
                let cmd = command(&mut self.view, &r, None).unwrap_or_default();
                self.manual.push(manual_line(self.ctx, &cmd));
                self.rep.changes.push(doc(&r, "restore", false, &why));
            }
        }
        Ok(())
    }

    /// One critical alert naming the undo commands that failed, for a person to run.
    fn alert_manual(&self) -> Result<()> {
        let (ctx, ledger, manual) = (self.ctx, self.ledger, &self.manual);
        if !manual.is_empty() {
            let alert = Alert {
                job: JOB.into(),
                severity: Severity::Critical,
                key: "degraded-undo".into(),
                text: format!(
                    "Rate limit degraded mode: claw could not undo {} change(s) to OpenClaw; it retries every run. To restore by hand run: {}",
                    manual.len(),
                    manual.join(" ; ")
                ),
            };
            notify::raise(ctx, ledger, &alert)?;
            ctx.out.warn(&alert.text);
        }
        Ok(())
    }
}

fn manual_line(ctx: &Ctx, cmd: &[String]) -> String {
    format!(
        "OPENCLAW_STATE_DIR={} {}",
        crate::proc::shell_line(&[ctx.paths.openclaw_dir.display().to_string()]),
        crate::proc::shell_line(cmd)
    )
}

/// The operator changed (or removed) what claw had set: left alone, with an alert.
fn left_alone(
    ctx: &Ctx,
    ledger: &Ledger,
    rep: &mut Report,
    r: &Row,
    why: &str,
    now: &str,
) -> Result<()> {
    store::set_status(ledger, r.id, Status::Operator, why, now)?;
    let text = format!(
        "Rate limit degraded mode: {} on {} was changed by someone else since claw set it ({why}); claw leaves it alone (it had replaced {}).",
        what(r),
        r.provider,
        r.before.as_deref().unwrap_or("unset")
    );
    ctx.out.warn(&text);
    notify::notice(
        ctx,
        ledger,
        &Alert {
            job: JOB.into(),
            severity: Severity::Warning,
            key: format!("degraded-operator:{}", r.target),
            text: text.clone(),
        },
    )?;
    rep.changes.push(doc(r, "left-alone", true, why));
    Ok(())
}

/// Rows a killed run left planned, restoring or with a pending value: settled from what
/// OpenClaw shows now.
fn settle(ctx: &Ctx, ledger: &Ledger, view: &mut View, rep: &mut Report, now: &str) -> Result<()> {
    for r in store::outstanding(ledger)?
        .into_iter()
        .filter(|r| r.kind != Kind::Outage)
        .filter(|r| matches!(r.status, Status::Planned | Status::Restoring) || r.pending.is_some())
    {
        let live = match view.live(&r) {
            Ok(l) => l,
            Err(e) => {
                ctx.out.warn(&format!(
                    "{}: cannot read it ({e}); settled next run",
                    what(&r)
                ));
                continue;
            }
        };
        match reconcile(&r, &live) {
            None => {}
            Some(Fix::Status(s)) => {
                store::set_status(ledger, r.id, s, "settled after an interrupted run", now)?
            }
            Some(Fix::Current(v)) => store::set_current(ledger, r.id, &v, now)?,
            Some(Fix::DropPending) => store::set_pending(ledger, r.id, None, now)?,
            Some(Fix::Operator) => {
                let why = match &live {
                    Live::Gone => "it is gone".to_string(),
                    Live::Value(v) => format!("it is {}", v.as_deref().unwrap_or("unset")),
                };
                left_alone(ctx, ledger, rep, &r, &why, now)?;
            }
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn enter(
    ctx: &Ctx,
    ledger: &Ledger,
    view: &mut View,
    rep: &mut Report,
    pol: &Policy,
    provider: &str,
    outage: &str,
    now: &str,
) -> Result<()> {
    let cfg = &ctx.settings.rate_limit;
    let heartbeats = if pol.stretch_heartbeat {
        match view.config() {
            Ok(c) => schedule::heartbeats(c, &cfg.heartbeat_default),
            Err(e) => {
                ctx.out
                    .warn(&format!("{e:#}; the heartbeat is not stretched"));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let jobs: Vec<CronJob> = if pol.disable_cron {
        match view.cron() {
            Ok(m) => {
                let mut v: Vec<CronJob> = m.values().cloned().collect();
                v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
                v
            }
            Err(e) => {
                ctx.out.warn(&format!(
                    "rate-limit degraded mode: cannot list the gateway's cron jobs ({e}); none disabled"
                ));
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let held = store::outstanding(ledger)?;
    let changes: Vec<NewChange> = plan(provider, &heartbeats, &jobs, pol, &held);
    if ctx.dry_run {
        for c in &changes {
            let r = c.planned(0, provider, outage);
            if let Ok(cmd) = command(view, &r, Some(&c.value)) {
                rep.lines.push(format!(
                    "dry run: would run: {}",
                    crate::proc::shell_line(&cmd)
                ));
            }
        }
        return Ok(());
    }
    // Recorded with the value each replaces BEFORE anything runs.
    let rows = store::record_plan(ledger, provider, outage, &changes, now)?;
    let mut done = Vec::new();
    for r in rows {
        let cmd = match command(view, &r, Some(&r.current)) {
            Ok(c) => c,
            Err(e) => {
                store::set_status(ledger, r.id, Status::Void, &e, now)?;
                continue;
            }
        };
        match run_cli(ctx, &cmd) {
            Ok(_) => {
                view.changed(r.kind);
                done.push(r);
            }
            Err(e) => {
                let line = crate::proc::shell_line(&cmd);
                // It may have half-happened: settled from what OpenClaw shows next run.
                store::set_status(ledger, r.id, Status::Planned, &format!("{line}: {e}"), now)?;
                rep.lines
                    .push(format!("rate-limit degraded mode: {line}: {e}"));
                rep.changes.push(doc(&r, "apply", false, &e));
            }
        }
    }
    for r in done {
        let live = view.live(&r);
        match reconcile(&r, live.as_ref().unwrap_or(&Live::Value(r.before.clone()))) {
            Some(Fix::Status(Status::Applied)) => {
                store::set_status(ledger, r.id, Status::Applied, "", now)?;
                rep.lines.push(format!(
                    "rate-limit degraded mode: {provider} limited: {} {} -> {}",
                    what(&r),
                    r.before.as_deref().unwrap_or(&r.normal),
                    r.current
                ));
                rep.changes.push(doc(&r, "apply", true, ""));
            }
            _ => {
                let seen = match &live {
                    Ok(Live::Value(v)) => v.clone().unwrap_or_else(|| "unset".into()),
                    Ok(Live::Gone) => "gone".into(),
                    Err(e) => e.clone(),
                };
                // Left planned: the next run settles it from what OpenClaw shows then.
                let why = format!("applied but reads back {seen}");
                store::set_status(ledger, r.id, Status::Planned, &why, now)?;
                rep.lines
                    .push(format!("rate-limit degraded mode: {}: {why}", what(&r)));
                rep.changes.push(doc(&r, "apply", false, &why));
            }
        }
    }
    Ok(())
}

/// Every outage whose provider is back (phase Resume) and has no change left to undo: the
/// recovery record (how long, what was paused, restored, left alone) and one alert.
fn resumed(
    ctx: &Ctx,
    ledger: &Ledger,
    after: &BTreeMap<String, Breaker>,
    pol: &Policy,
    restore_all: bool,
    rep: &mut Report,
    now: &str,
) -> Result<()> {
    let rows = store::outstanding(ledger)?;
    let markers: Vec<&Row> = rows.iter().filter(|r| r.kind == Kind::Outage).collect();
    for m in markers {
        if super::phase(
            after.get(&m.provider),
            ctx.now,
            pol.resume_after,
            restore_all,
        ) != Phase::Resume
        {
            continue;
        }
        let open = rows
            .iter()
            .any(|r| r.kind != Kind::Outage && r.provider == m.provider && r.outage == m.outage);
        if open {
            continue;
        }
        let all = store::of_outage(ledger, &m.provider, &m.outage)?;
        let mut paused = Vec::new();
        let mut restored = Vec::new();
        let mut alone = Vec::new();
        for (r, detail) in &all {
            if r.status == Status::Void {
                continue;
            }
            paused.push(format!(
                "{} ({} -> {})",
                what(r),
                r.before.as_deref().unwrap_or(&r.normal),
                if r.kind == Kind::Heartbeat {
                    schedule::stretch(&r.normal, pol.factor).unwrap_or_else(|| r.current.clone())
                } else {
                    r.current.clone()
                }
            ));
            match r.status {
                Status::Restored => restored.push(what(r)),
                _ => alone.push(format!("{} ({detail})", what(r))),
            }
        }
        let since = crate::cmd::ratelimit::parse_ts(&m.outage).unwrap_or(ctx.now);
        let limited = (ctx.now - since).num_seconds().max(0);
        if !store::record_resume(
            ledger,
            &m.provider,
            &m.outage,
            limited,
            [&paused, &restored, &alone],
            now,
        )? {
            continue;
        }
        if paused.is_empty() {
            continue;
        }
        let mut text = format!(
            "Rate limit over for {}: limited for {} min. Paused: {}. Restored: {}.",
            m.provider,
            (limited + 59) / 60,
            paused.join("; "),
            if restored.is_empty() {
                "nothing".into()
            } else {
                restored.join("; ")
            }
        );
        if !alone.is_empty() {
            text.push_str(&format!(
                " Left alone (changed by someone else): {}.",
                alone.join("; ")
            ));
        }
        rep.lines.push(text.clone());
        if ctx.settings.rate_limit.alert {
            notify::notice(
                ctx,
                ledger,
                &Alert {
                    job: JOB.into(),
                    severity: Severity::Info,
                    key: format!("degraded:{}", m.provider),
                    text,
                },
            )?;
        }
    }
    Ok(())
}
