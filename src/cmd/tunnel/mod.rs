//! `claw tunnel start|stop|status|check|rotate`: keep the public webhook URL alive and every
//! webhook target pointing at it.
//!
//! Quick mode runs `cloudflared tunnel --url http://localhost:<port>` detached (see
//! [`process`]), reads its `https://<words>.trycloudflare.com` URL from its log, writes it
//! atomically to the URL file, and updates every target ([`targets`]) whenever it changes.
//! `check` (the cron job) restarts it when it died or its URL stops answering — unless the
//! local gateway itself is down, which a new URL would not fix. Named mode (a stable hostname)
//! is only health-checked. A target that could not be updated is alerted with the old and new
//! URL and retried on every run until it succeeds.

pub mod process;
pub mod store;
pub mod targets;

use crate::cli::TunnelCmd;
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::ledger::Ledger;
use crate::notify::{self, Alert, Severity};
use crate::output::{table, Outcome, SCHEMA_VERSION};
use crate::settings::TunnelMode;
use anyhow::Result;
use process::{Files, PidFile};
use serde_json::json;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use store::{Event, Record, State, Update};

/// The job name `check` records under (as in `jobs::JOBS`), also used for its alerts.
pub const JOB: &str = "tunnel";

pub fn command_name(c: &TunnelCmd) -> &'static str {
    match c {
        TunnelCmd::Start => "tunnel start",
        TunnelCmd::Stop => "tunnel stop",
        TunnelCmd::Status => "tunnel status",
        TunnelCmd::Check => "tunnel check",
        TunnelCmd::Rotate => "tunnel rotate",
    }
}

pub fn run(ctx: &Ctx, c: &TunnelCmd) -> Result<Outcome> {
    let s = &ctx.settings.tunnel;
    let named = s.mode == TunnelMode::Named;
    if named && !matches!(c, TunnelCmd::Status | TunnelCmd::Check) {
        return Err(fail(
            Code::Usage,
            format!(
                "{}: [tunnel] mode = \"named\": claw does not run that tunnel, it only checks it (use `claw tunnel check` or `status`)",
                ctx.paths.settings.display()
            ),
        ));
    }
    match c {
        TunnelCmd::Status => status(ctx),
        TunnelCmd::Stop => ctx.run_job("tunnel-stop", JOB, stop),
        TunnelCmd::Check if named => ctx.run_job(JOB, JOB, check_named),
        TunnelCmd::Check => ctx.run_job(JOB, JOB, |c, l| ensure(c, l, Mode::Check)),
        TunnelCmd::Start => ctx.run_job("tunnel-start", JOB, |c, l| ensure(c, l, Mode::Start)),
        TunnelCmd::Rotate => ctx.run_job("tunnel-rotate", JOB, |c, l| ensure(c, l, Mode::Rotate)),
    }
}

fn bad_setting(ctx: &Ctx, m: String) -> anyhow::Error {
    fail(
        Code::Config,
        format!("{}: [tunnel] {m}", ctx.paths.settings.display()),
    )
}

// ---------- pure pieces ----------

fn url_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    // Quick tunnel names are hyphenated words; `api.trycloudflare.com` (in error lines) is not
    // one.
    RE.get_or_init(|| {
        regex::Regex::new(r"https://[a-z0-9]+(?:-[a-z0-9]+)+\.trycloudflare\.com")
            .expect("static regex")
    })
}

/// The quick tunnel URL in cloudflared's log: the last one printed inside its banner box
/// (`INF |  https://some-words.trycloudflare.com  |`), else the last one anywhere.
pub fn find_url(log: &str) -> Option<String> {
    let mut boxed = None;
    let mut any = None;
    for line in log.lines() {
        if let Some(m) = url_re().find_iter(line).last() {
            if line.contains('|') {
                boxed = Some(m.as_str().to_string());
            }
            any = Some(m.as_str().to_string());
        }
    }
    boxed.or(any)
}

/// The local port: the setting, else the OpenClaw gateway port as OpenClaw resolves it.
fn port(ctx: &Ctx) -> u16 {
    if ctx.settings.tunnel.port != 0 {
        return ctx.settings.tunnel.port;
    }
    crate::openclaw::config::gateway_port(&ctx.paths.config)
}

fn files(ctx: &Ctx) -> Files {
    Files {
        dir: ctx.paths.state.join("tunnel"),
    }
}

/// The URL file: the setting (absolute, or relative to the state dir), else
/// `<state>/tunnel/url`.
pub fn url_file(ctx: &Ctx) -> PathBuf {
    let f = &ctx.settings.tunnel.url_file;
    if f.is_empty() {
        files(ctx).dir.join("url")
    } else {
        ctx.paths.state.join(f)
    }
}

fn cloudflared_argv(ctx: &Ctx) -> Vec<String> {
    let s = &ctx.settings.tunnel;
    let mut v = vec![s.cloudflared_bin.clone(), "tunnel".into()];
    v.extend(s.extra_args.iter().cloned());
    v.push("--url".into());
    v.push(format!("http://localhost:{}", port(ctx)));
    v
}

// ---------- health ----------

fn public_health_url(ctx: &Ctx, url: &str) -> String {
    let s = &ctx.settings.tunnel;
    if s.health_url.is_empty() {
        format!("{url}{}", s.health_path)
    } else {
        targets::render(&s.health_url, url, false)
    }
}

/// One GET; Ok on a 2xx, else the reason.
fn probe(ctx: &Ctx, url: &str) -> std::result::Result<(), String> {
    let client = crate::http::Client::new(Duration::from_secs(
        ctx.settings.tunnel.health_timeout_secs.max(1),
    ));
    match client.get(url, &[]) {
        Ok(r) if r.ok() => Ok(()),
        Ok(r) => Err(format!("{url}: HTTP {}", r.status)),
        Err(e) => Err(crate::redact::redact_text(&format!("{url}: {e}"))),
    }
}

/// Probe the public URL, again until `grace` has passed (a new quick tunnel takes a moment
/// to be reachable).
fn public_healthy(ctx: &Ctx, url: &str, grace: Duration) -> std::result::Result<(), String> {
    let target = public_health_url(ctx, url);
    let deadline = Instant::now() + grace;
    loop {
        let r = probe(ctx, &target);
        if r.is_ok() || Instant::now() >= deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(500).min(grace));
    }
}

fn origin_healthy(ctx: &Ctx) -> std::result::Result<(), String> {
    probe(
        ctx,
        &format!(
            "http://127.0.0.1:{}{}",
            port(ctx),
            ctx.settings.tunnel.health_path
        ),
    )
}

// ---------- quick mode ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Start,
    Check,
    Rotate,
}

/// What one run found and did; turned into the ledger record, alerts and the outcome.
struct Work {
    rec: Record,
    /// Human lines for a finding (or the report of a restart).
    lines: Vec<String>,
    finding: bool,
    raise: Vec<Alert>,
    clear: Vec<(String, String)>,
    /// One-off messages (the public URL changed).
    notices: Vec<Alert>,
    restarts: u32,
}

/// The local gateway itself does not answer: record it and alert; a new URL would not help.
fn origin_down(state: &mut State, w: &mut Work, why: &str, tail: &str) {
    state.health = "origin-down".into();
    state.health_detail = Some(why.to_string());
    w.alert(
        Severity::Critical,
        "origin",
        format!("tunnel: the local gateway does not answer ({why}){tail}"),
    );
}

impl Work {
    fn new() -> Work {
        Work {
            rec: Record::default(),
            lines: Vec::new(),
            finding: false,
            raise: Vec::new(),
            clear: Vec::new(),
            notices: Vec::new(),
            restarts: 0,
        }
    }
    fn event(&mut self, event: &'static str, url: Option<&str>, pid: Option<i32>, detail: String) {
        self.rec.events.push(Event {
            event,
            url: url.map(String::from),
            pid: pid.map(i64::from),
            detail,
        });
    }
    fn alert(&mut self, severity: Severity, key: &str, text: String) {
        self.finding = true;
        self.lines.push(text.clone());
        self.raise.push(Alert {
            job: JOB.into(),
            severity,
            key: key.into(),
            text,
        });
    }
}

/// What `ensure` sees of the managed cloudflared before deciding.
#[derive(Debug, Clone, Default)]
struct Seen {
    /// The pid file's process: pid and the URL it recorded (it may have died since).
    pidfile: Option<(i32, Option<String>)>,
    /// Whether that process still runs.
    alive: bool,
    /// The running tunnel's URL (pid file, else its log).
    url: Option<String>,
    /// The command it runs differs from the one settings now make.
    argv_changed: bool,
    /// Its log, named when it printed no URL.
    log: String,
}

/// The running tunnel's health, probed only when [`needs_health`] says the decision needs it.
#[derive(Debug, Clone)]
struct Health {
    public: std::result::Result<(), String>,
    /// Probed only when the public URL fails.
    origin: Option<std::result::Result<(), String>>,
}

/// An event to record: (event, url, pid, detail).
type Ev = (&'static str, Option<String>, Option<i32>, String);

/// What to do with the tunnel.
#[derive(Debug, Clone, PartialEq)]
enum Decision {
    /// Keep the running tunnel: its URL answers.
    Keep,
    /// Keep it although its URL fails: the local gateway itself is down (`why`), and a new URL
    /// would not fix that.
    OriginDown { why: String },
    /// (Re)start cloudflared because of `why` (empty: a first start), recording `event` first.
    Restart { why: String, event: Option<Ev> },
}

/// Whether the decision depends on the running tunnel's health (so it is worth probing).
fn needs_health(mode: Mode, seen: &Seen) -> bool {
    seen.alive && seen.url.is_some() && mode != Mode::Rotate && !seen.argv_changed
}

/// The tunnel restart decision, pure: from what was seen (and the health, when
/// [`needs_health`]), keep the tunnel, leave it because the origin is down, or restart it.
fn decide_restart(mode: Mode, seen: &Seen, health: Option<&Health>) -> Decision {
    let restart = |why: String| Decision::Restart { why, event: None };
    if !seen.alive {
        return match &seen.pidfile {
            Some((pid, url)) => {
                let why = format!("cloudflared (pid {pid}) is not running");
                Decision::Restart {
                    why: why.clone(),
                    event: Some(("died", url.clone(), Some(*pid), why)),
                }
            }
            None if mode == Mode::Check => restart("cloudflared is not running".into()),
            None => restart(String::new()),
        };
    }
    let pid = seen.pidfile.as_ref().map(|p| p.0).unwrap_or_default();
    let Some(u) = &seen.url else {
        return restart(format!(
            "cloudflared (pid {pid}) printed no URL; see {}",
            seen.log
        ));
    };
    if mode == Mode::Rotate {
        return restart("rotate requested".into());
    }
    if seen.argv_changed {
        return restart("the cloudflared command in settings changed".into());
    }
    match health {
        // Not probed (a caller bug): keeping what runs is the harmless choice.
        None => Decision::Keep,
        Some(Health { public: Ok(()), .. }) => Decision::Keep,
        Some(Health {
            origin: Some(Err(oe)),
            ..
        }) => Decision::OriginDown { why: oe.clone() },
        Some(Health { public: Err(e), .. }) => Decision::Restart {
            why: format!("{u} does not answer ({e})"),
            event: Some(("unhealthy", Some(u.clone()), Some(pid), e.clone())),
        },
    }
}

/// Read the pid file and the log: what runs, at which URL, with which command.
fn gather(ctx: &Ctx, f: &Files) -> Result<(Option<PidFile>, Seen)> {
    let pf = PidFile::read(&f.pid())?;
    let running = pf.clone().filter(|p| p.alive());
    let url = running
        .as_ref()
        .and_then(|p| p.url.clone().or_else(|| process::url_from_log(&f.log())));
    let seen = Seen {
        pidfile: pf.as_ref().map(|p| (p.pid, p.url.clone())),
        alive: running.is_some(),
        url,
        argv_changed: running
            .as_ref()
            .is_some_and(|p| !p.argv.is_empty() && p.argv != cloudflared_argv(ctx)),
        log: f.log().display().to_string(),
    };
    Ok((running, seen))
}

/// Probe the running tunnel's public URL (a blip is not worth a new URL for every webhook:
/// keep asking for one backoff), and the local gateway when that fails.
fn probe_health(ctx: &Ctx, url: &str) -> Health {
    let public = public_healthy(
        ctx,
        url,
        Duration::from_millis(ctx.settings.tunnel.backoff_ms),
    );
    let origin = public.is_err().then(|| origin_healthy(ctx));
    Health { public, origin }
}

fn ensure(ctx: &Ctx, ledger: &Ledger, mode: Mode) -> Result<Outcome> {
    let f = files(ctx);
    let prev = ledger.read(store::load_state)?;
    if mode == Mode::Check && !prev.as_ref().map(|p| p.managed).unwrap_or(false) {
        return Ok(Outcome::ok(
            "tunnel not started (`claw tunnel start`); nothing to check",
        ));
    }
    let mut state = prev.clone().unwrap_or_else(|| State::new("quick"));
    state.managed = true;
    state.mode = TunnelMode::Quick.as_str().into();
    let old_url = prev.as_ref().and_then(|p| p.url.clone());
    let (running, seen) = gather(ctx, &f)?;
    let health = match &seen.url {
        Some(u) if needs_health(mode, &seen) => Some(probe_health(ctx, u)),
        _ => None,
    };
    let decision = decide_restart(mode, &seen, health.as_ref());

    let mut w = Work::new();
    if let Decision::Restart {
        event: Some((event, url, pid, detail)),
        ..
    } = &decision
    {
        w.event(event, url.as_deref(), *pid, detail.clone());
    }
    if let Decision::OriginDown { why } = &decision {
        let u = seen.url.as_deref().unwrap_or_default();
        origin_down(
            &mut state,
            &mut w,
            why,
            &format!("; tunnel {u} left as it is"),
        );
    }
    if ctx.dry_run {
        let text = match &decision {
            Decision::Restart { why, .. } if why.is_empty() => {
                "dry run: would start cloudflared\n".to_string()
            }
            Decision::Restart { why, .. } => format!("dry run: would restart cloudflared: {why}\n"),
            _ => String::new(),
        };
        return Ok(Outcome::ok("dry run").with_text(text));
    }

    let mut health = health.map(|h| h.public);
    let current: Option<(PidFile, String)> = match decision {
        Decision::Keep | Decision::OriginDown { .. } => {
            let p = running.clone().expect("running");
            let u = seen.url.clone().expect("url");
            Some((p, u))
        }
        Decision::Restart { why, .. } => {
            if let Some(p) = &running {
                process::terminate(p, || false);
            }
            act_restart(ctx, &f, &mut w, &mut state, mode, &why, old_url.as_deref()).map(
                |(p, u, h)| {
                    health = Some(h);
                    (p, u)
                },
            )
        }
    };
    if let Some((p, u)) = &current {
        record_current(ctx, &mut state, &mut w, p, u, health);
        write_url_file(ctx, u)?;
        sync_targets(ctx, ledger, u, &mut w)?;
    }
    state.checked_at = Some(ctx.now_str());
    w.rec.state = Some(state.clone());
    finish(ctx, ledger, w, mode, current.map(|c| c.1), &state)
}

/// Restart cloudflared for `why` and record what came of it: the new process, its URL and
/// health, or `None` (alerted) when it could not be started.
fn act_restart(
    ctx: &Ctx,
    f: &Files,
    w: &mut Work,
    state: &mut State,
    mode: Mode,
    why: &str,
    old_url: Option<&str>,
) -> Option<(PidFile, String, std::result::Result<(), String>)> {
    let origin_ok = origin_healthy(ctx);
    match restart(ctx, f, w, origin_ok.is_ok()) {
        Ok((p, u, h)) => {
            let verb = if old_url.is_none() || mode == Mode::Start {
                "start"
            } else {
                "restart"
            };
            w.event(verb, Some(&u), Some(p.pid), why.to_string());
            if verb == "restart" {
                w.restarts += 1;
                w.finding |= mode == Mode::Check;
                w.lines.push(format!(
                    "tunnel restarted ({why}): {} -> {u}",
                    old_url.unwrap_or("(none)")
                ));
            }
            if let Err(oe) = &origin_ok {
                origin_down(state, w, oe, &format!("; tunnel {u} started anyway"));
            }
            let h = if origin_ok.is_ok() {
                h
            } else {
                Err("origin down".into())
            };
            Some((p, u, h))
        }
        Err(e) => {
            w.event("down", None, None, e.clone());
            state.health = "down".into();
            state.health_detail = Some(e.clone());
            state.pid = None;
            let _ = std::fs::remove_file(f.pid());
            w.alert(
                Severity::Critical,
                "down",
                format!(
                    "tunnel down: cloudflared could not be started {}; webhooks still point at {}",
                    if e.contains("not found on PATH") {
                        format!("({e})")
                    } else {
                        format!(
                            "after {} attempts ({e})",
                            ctx.settings.tunnel.restart_attempts.max(1)
                        )
                    },
                    old_url.unwrap_or("(none)")
                ),
            );
            None
        }
    }
}

/// The tunnel that now runs at `u`: its pid, URL (a change is announced) and health.
fn record_current(
    ctx: &Ctx,
    state: &mut State,
    w: &mut Work,
    p: &PidFile,
    u: &str,
    health: Option<std::result::Result<(), String>>,
) {
    w.clear
        .push(("down".into(), format!("tunnel up again at {u}")));
    state.pid = Some(p.pid.into());
    if state.url.as_deref() != Some(u) {
        // Whoever calls the webhooks by hand, or has the old URL bookmarked, must hear.
        if let Some(old) = &state.url {
            w.notices.push(Alert {
                job: JOB.into(),
                severity: Severity::Info,
                key: "url-changed".into(),
                text: format!("tunnel URL changed: {old} -> {u}; webhook targets follow it"),
            });
        }
        state.url = Some(u.to_string());
        state.url_since = Some(ctx.now_str());
    }
    match health {
        Some(Ok(())) => {
            state.health = "ok".into();
            state.health_detail = None;
            w.clear
                .push(("unhealthy".into(), format!("tunnel {u} answers again")));
            w.clear
                .push(("origin".into(), "the local gateway answers again".into()));
        }
        Some(Err(e)) if state.health != "origin-down" => {
            state.health = "unhealthy".into();
            state.health_detail = Some(e.clone());
            w.alert(
                Severity::Warning,
                "unhealthy",
                format!("tunnel {u} does not answer ({e}) after restarting"),
            );
        }
        _ => {}
    }
}

/// Start cloudflared, up to `restart_attempts` times with backoff, until it prints a URL that
/// answers (when the origin is down, the first URL is kept). Returns the process, its URL and
/// its health; or why every attempt failed.
fn restart(
    ctx: &Ctx,
    f: &Files,
    w: &mut Work,
    origin_ok: bool,
) -> std::result::Result<(PidFile, String, std::result::Result<(), String>), String> {
    let s = &ctx.settings.tunnel;
    let attempts = s.restart_attempts.max(1);
    let argv = cloudflared_argv(ctx);
    // cloudflared needs none of the targets' secrets.
    let mut drop_env = vec![s.telnyx.api_key_env.as_str()];
    drop_env.extend(s.targets.iter().filter_map(|t| t.token_env.as_deref()));
    let mut last = String::new();
    for n in 1..=attempts {
        std::thread::sleep(targets::backoff(s.backoff_ms, n));
        let mut sp = match process::spawn(f, &argv, &drop_env, &ctx.now_str()) {
            Ok(sp) => sp,
            // A missing binary will not appear by retrying: say so at once.
            Err(e)
                if e.chain().any(|c| {
                    c.downcast_ref::<std::io::Error>()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
                }) =>
            {
                return Err(format!(
                    "{}: not found on PATH (install cloudflared or set [tunnel] cloudflared_bin)",
                    argv.first().map(String::as_str).unwrap_or("cloudflared")
                ));
            }
            Err(e) => {
                last = format!("{e:#}");
                continue;
            }
        };
        let url =
            match process::wait_for_url(&mut sp, &f.log(), Duration::from_secs(s.url_timeout_secs))
            {
                Ok(u) => u,
                Err(e) => {
                    sp.kill();
                    w.event("no-url", None, Some(sp.pid.pid), e.clone());
                    last = e;
                    continue;
                }
            };
        sp.pid.url = Some(url.clone());
        if let Err(e) = sp.pid.write(&f.pid()) {
            sp.kill();
            last = format!("{e:#}");
            continue;
        }
        if !origin_ok {
            return Ok((sp.pid.clone(), url, Err("origin down".into())));
        }
        let h = public_healthy(ctx, &url, Duration::from_secs(s.health_grace_secs));
        if h.is_ok() || n == attempts {
            return Ok((sp.pid.clone(), url, h));
        }
        let e = h.unwrap_err();
        w.event("unhealthy", Some(&url), Some(sp.pid.pid), e.clone());
        sp.kill();
        last = e;
    }
    Err(last)
}

fn write_url_file(ctx: &Ctx, url: &str) -> Result<()> {
    let p = url_file(ctx);
    let want = format!("{url}\n");
    if crate::safefs::read_to_string(&p).ok().as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    if let Some(dir) = p.parent() {
        crate::atomic::create_private_dir(dir)?;
    }
    crate::atomic::write(
        &p,
        want.as_bytes(),
        crate::atomic::Opts {
            mode: 0o644,
            keep_existing_mode_and_owner: true,
        },
    )
}

/// Update every target not yet pointing at `url` (or whose last update failed).
fn sync_targets(ctx: &Ctx, ledger: &Ledger, url: &str, w: &mut Work) -> Result<()> {
    let s = &ctx.settings.tunnel;
    let rows = ledger.read(store::load_targets)?;
    for plan in targets::plans(s, url) {
        let row = rows.iter().find(|r| r.target == plan.name);
        if matches!(row, Some(r) if r.ok && r.fingerprint == plan.fingerprint) {
            continue;
        }
        let result = targets::apply(&plan, url, s, &|k| std::env::var(k).ok());
        let key = format!("target:{}", plan.name);
        if result.ok {
            w.clear.push((
                key,
                format!("tunnel: {} now points at {}", plan.name, plan.webhook_url),
            ));
        } else {
            let old = row
                .and_then(|r| r.ok_webhook_url.clone())
                .unwrap_or_else(|| "(never set by claw)".into());
            w.alert(
                Severity::Critical,
                &key,
                format!(
                    "tunnel: webhook {} not updated: {}; it still points at {old}, should be {}; manual update may be needed",
                    plan.name,
                    result.error.clone().unwrap_or_default(),
                    plan.webhook_url
                ),
            );
        }
        w.rec.updates.push(Update {
            target: plan.name.clone(),
            tunnel_url: url.to_string(),
            webhook_url: plan.webhook_url.clone(),
            fingerprint: plan.fingerprint.clone(),
            result,
        });
    }
    Ok(())
}

/// Commit the record, then alert and clear, then say what happened.
fn finish(
    ctx: &Ctx,
    ledger: &Ledger,
    w: Work,
    mode: Mode,
    url: Option<String>,
    state: &State,
) -> Result<Outcome> {
    ledger.immediate(|tx| store::commit(tx, &ctx.now_str(), &w.rec))?;
    for a in &w.raise {
        notify::raise(ctx, ledger, a)?;
    }
    for (key, text) in &w.clear {
        if !w.raise.iter().any(|a| &a.key == key) {
            notify::clear(ctx, ledger, JOB, key, text)?;
        }
    }
    for n in &w.notices {
        notify::notice(ctx, ledger, n)?;
    }
    let failed = w.rec.updates.iter().filter(|u| !u.result.ok).count();
    let updated = w.rec.updates.len() - failed;
    let summary = format!(
        "{}; health {}; {} restart(s); {updated} target(s) updated, {failed} failed",
        url.as_deref().unwrap_or("no URL"),
        state.health,
        w.restarts
    );
    let detail = json!({
        "url": url,
        "health": state.health,
        "restarts": w.restarts,
        "updates": w.rec.updates.iter().map(|u| json!({
            "target": u.target,
            "webhook_url": u.webhook_url,
            "ok": u.result.ok,
            "attempts": u.result.attempts,
            "http_status": u.result.http_status,
            "error": u.result.error,
        })).collect::<Vec<_>>(),
    });
    let mut text = String::new();
    if mode != Mode::Check {
        if let Some(u) = &url {
            text.push_str(&format!("{u}\n"));
        }
    }
    for l in &w.lines {
        if mode != Mode::Check {
            // start/rotate keep stdout for the URL.
            ctx.out.warn(l);
        } else {
            text.push_str(l);
            text.push('\n');
        }
    }
    let mut o = Outcome::ok(summary)
        .with_detail(detail)
        .with_text(text)
        .metric(
            "tunnel_healthy",
            &[],
            if state.health == "ok" { 1.0 } else { 0.0 },
        )
        .count("tunnel_restarts_total", &[], w.restarts as f64)
        .metric("tunnel_targets_failed", &[], failed as f64);
    let bad = w.finding || failed > 0 || url.is_none();
    if bad {
        o = o.finding();
    }
    Ok(o)
}

fn stop(ctx: &Ctx, ledger: &Ledger) -> Result<Outcome> {
    let f = files(ctx);
    let pf = PidFile::read(&f.pid())?;
    let mut w = Work::new();
    let mut state = ledger
        .read(store::load_state)?
        .unwrap_or_else(|| State::new("quick"));
    let was = pf.as_ref().filter(|p| p.alive()).cloned();
    if ctx.dry_run {
        let t = match &was {
            Some(p) => format!("dry run: would stop cloudflared (pid {})\n", p.pid),
            None => String::new(),
        };
        return Ok(Outcome::ok("dry run").with_text(t));
    }
    if let Some(p) = &was {
        process::terminate(p, || false);
        if p.alive() {
            return Err(fail(
                Code::TempFail,
                format!(
                    "{}: cloudflared (pid {}) did not stop",
                    f.pid().display(),
                    p.pid
                ),
            ));
        }
    }
    match std::fs::remove_file(f.pid()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("{}: cannot remove pid file", f.pid().display())))
        }
    }
    w.event(
        "stop",
        state.url.as_deref(),
        was.as_ref().map(|p| p.pid),
        "stopped by `claw tunnel stop`".into(),
    );
    state.managed = false;
    state.pid = None;
    state.health = "stopped".into();
    state.health_detail = None;
    w.rec.state = Some(state);
    for key in ["down", "unhealthy", "origin"] {
        w.clear
            .push((key.into(), "tunnel stopped by the operator".into()));
    }
    ledger.immediate(|tx| store::commit(tx, &ctx.now_str(), &w.rec))?;
    for (key, text) in &w.clear {
        notify::clear(ctx, ledger, JOB, key, text)?;
    }
    Ok(Outcome::ok(match was {
        Some(p) => format!("stopped cloudflared (pid {})", p.pid),
        None => "cloudflared was not running".into(),
    }))
}

// ---------- named mode ----------

fn check_named(ctx: &Ctx, ledger: &Ledger) -> Result<Outcome> {
    let s = &ctx.settings.tunnel;
    let host = s
        .hostname
        .trim()
        .trim_start_matches("https://")
        .trim_end_matches('/');
    if host.is_empty() {
        return Err(bad_setting(
            ctx,
            "mode = \"named\" needs hostname = \"<your stable hostname>\"".into(),
        ));
    }
    let url = format!("https://{host}");
    let mut state = ledger
        .read(store::load_state)?
        .unwrap_or_else(|| State::new("named"));
    state.managed = true;
    state.mode = TunnelMode::Named.as_str().into();
    state.pid = None;
    if state.url.as_deref() != Some(url.as_str()) {
        state.url = Some(url.clone());
        state.url_since = Some(ctx.now_str());
    }
    if ctx.dry_run {
        return Ok(Outcome::ok("dry run"));
    }
    let mut w = Work::new();
    match public_healthy(ctx, &url, Duration::ZERO) {
        Ok(()) => {
            state.health = "ok".into();
            state.health_detail = None;
            w.clear
                .push(("unhealthy".into(), format!("tunnel {url} answers again")));
            w.clear
                .push(("origin".into(), "the local gateway answers again".into()));
        }
        Err(e) => match origin_healthy(ctx) {
            Err(oe) => origin_down(&mut state, &mut w, &oe, ""),
            Ok(()) => {
                state.health = "unhealthy".into();
                state.health_detail = Some(e.clone());
                w.event("unhealthy", Some(&url), None, e.clone());
                w.alert(
                    Severity::Critical,
                    "unhealthy",
                    format!("named tunnel {url} does not answer ({e}) though the local gateway does; check the tunnel (claw does not restart it)"),
                );
            }
        },
    }
    write_url_file(ctx, &url)?;
    sync_targets(ctx, ledger, &url, &mut w)?;
    state.checked_at = Some(ctx.now_str());
    w.rec.state = Some(state.clone());
    finish(ctx, ledger, w, Mode::Check, Some(url), &state)
}

// ---------- status ----------

fn status(ctx: &Ctx) -> Result<Outcome> {
    let f = files(ctx);
    let (state, rows, restarts, history) = if ctx.paths.ledger().exists() {
        ctx.ledger()?.read(|c| {
            Ok((
                store::load_state(c)?,
                store::load_targets(c)?,
                store::count_events(c, "restart")?,
                store::url_history(c, 5)?,
            ))
        })?
    } else {
        (None, Vec::new(), 0, Vec::new())
    };
    let mode = ctx.settings.tunnel.mode;
    let pf = PidFile::read(&f.pid())?;
    let running = pf.as_ref().filter(|p| p.alive());
    let st = state.clone().unwrap_or_else(|| State::new(mode.as_str()));
    let process = match (mode, running) {
        (TunnelMode::Named, _) => "not managed by claw (named mode)".to_string(),
        (_, Some(p)) => format!("running (pid {})", p.pid),
        (_, None) => "not running".to_string(),
    };
    let url_file = url_file(ctx);
    let mut text = String::new();
    let kv = vec![
        vec!["mode".to_string(), mode.as_str().to_string()],
        vec![
            "url".into(),
            match (&st.url, &st.url_since) {
                (Some(u), Some(t)) => format!("{u} (since {t})"),
                (Some(u), None) => u.clone(),
                _ => "-".into(),
            },
        ],
        vec!["process".into(), process.clone()],
        vec![
            "health".into(),
            match (&st.checked_at, &st.health_detail) {
                (Some(t), Some(d)) => format!("{} at {t}: {d}", st.health),
                (Some(t), None) => format!("{} at {t}", st.health),
                _ => st.health.clone(),
            },
        ],
        vec![
            "managed".into(),
            if st.managed {
                "yes".into()
            } else {
                "no (`claw tunnel start`)".into()
            },
        ],
        vec!["restarts".into(), restarts.to_string()],
        vec!["url file".into(), url_file.display().to_string()],
    ];
    text.push_str(&table(&kv));
    if !rows.is_empty() {
        text.push('\n');
        let mut t = vec![vec![
            "TARGET".to_string(),
            "WEBHOOK".into(),
            "UPDATED".into(),
            "ATTEMPTS".into(),
            "RESULT".into(),
        ]];
        for r in &rows {
            t.push(vec![
                r.target.clone(),
                r.webhook_url.clone(),
                r.updated_at.clone(),
                r.attempts.to_string(),
                if r.ok {
                    "ok".into()
                } else {
                    format!(
                        "FAILED: {}",
                        r.error.clone().unwrap_or_else(|| "unknown".into())
                    )
                },
            ]);
        }
        text.push_str(&table(&t));
    }
    let mut o = Outcome::ok(format!(
        "{} {}",
        st.url.as_deref().unwrap_or("no URL"),
        st.health
    ))
    .with_text(text);
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "mode": mode.as_str(),
        "managed": st.managed,
        "url": st.url,
        "since": st.url_since,
        "url_file": url_file,
        "running": running.is_some(),
        "pid": running.map(|p| p.pid),
        "health": {"status": st.health, "detail": st.health_detail, "checked_at": st.checked_at},
        "restarts": restarts,
        "targets": rows,
        "history": history.iter().map(|(u, since, until)| json!({"url": u, "since": since, "until": until})).collect::<Vec<_>>(),
    }));
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(url: Option<&str>) -> Seen {
        Seen {
            pidfile: Some((42, url.map(String::from))),
            alive: true,
            url: url.map(String::from),
            argv_changed: false,
            log: "/s/tunnel/cloudflared.log".into(),
        }
    }

    fn health(
        public: std::result::Result<(), &str>,
        origin: Option<std::result::Result<(), &str>>,
    ) -> Health {
        Health {
            public: public.map_err(String::from),
            origin: origin.map(|o| o.map_err(String::from)),
        }
    }

    fn why(d: &Decision) -> &str {
        match d {
            Decision::Restart { why, .. } => why,
            other => panic!("not a restart: {other:?}"),
        }
    }

    #[test]
    fn decide_restart_covers_every_case() {
        let u = "https://a-b.trycloudflare.com";
        // Nothing ever started: start (an empty reason) or, for check, say it is not running.
        let none = Seen::default();
        assert!(!needs_health(Mode::Check, &none));
        assert_eq!(why(&decide_restart(Mode::Start, &none, None)), "");
        assert_eq!(why(&decide_restart(Mode::Rotate, &none, None)), "");
        assert_eq!(
            why(&decide_restart(Mode::Check, &none, None)),
            "cloudflared is not running"
        );
        // It died: restart in every mode, recording the death with its last URL.
        let died = Seen {
            alive: false,
            url: None,
            ..running(Some(u))
        };
        for mode in [Mode::Start, Mode::Check, Mode::Rotate] {
            assert_eq!(
                decide_restart(mode, &died, None),
                Decision::Restart {
                    why: "cloudflared (pid 42) is not running".into(),
                    event: Some((
                        "died",
                        Some(u.into()),
                        Some(42),
                        "cloudflared (pid 42) is not running".into()
                    )),
                }
            );
        }
        // Running without a URL: restart, naming the log.
        let no_url = running(None);
        assert!(!needs_health(Mode::Check, &no_url));
        assert_eq!(
            why(&decide_restart(Mode::Check, &no_url, None)),
            "cloudflared (pid 42) printed no URL; see /s/tunnel/cloudflared.log"
        );
        // Rotate and a changed command restart without probing.
        let up = running(Some(u));
        assert!(!needs_health(Mode::Rotate, &up));
        assert_eq!(
            why(&decide_restart(Mode::Rotate, &up, None)),
            "rotate requested"
        );
        let changed = Seen {
            argv_changed: true,
            ..up.clone()
        };
        assert!(!needs_health(Mode::Check, &changed));
        assert_eq!(
            why(&decide_restart(Mode::Check, &changed, None)),
            "the cloudflared command in settings changed"
        );
        // Running with a URL: the health decides.
        assert!(needs_health(Mode::Check, &up) && needs_health(Mode::Start, &up));
        assert_eq!(
            decide_restart(Mode::Check, &up, Some(&health(Ok(()), None))),
            Decision::Keep
        );
        assert_eq!(
            decide_restart(
                Mode::Check,
                &up,
                Some(&health(Err("HTTP 530"), Some(Err("refused"))))
            ),
            Decision::OriginDown {
                why: "refused".into()
            }
        );
        assert_eq!(
            decide_restart(
                Mode::Start,
                &up,
                Some(&health(Err("HTTP 530"), Some(Ok(()))))
            ),
            Decision::Restart {
                why: format!("{u} does not answer (HTTP 530)"),
                event: Some(("unhealthy", Some(u.into()), Some(42), "HTTP 530".into())),
            }
        );
    }

    #[test]
    fn url_is_taken_from_the_banner_box_not_from_error_lines() {
        let log = "\
2026-05-04T10:00:00Z INF Thank you for trying Cloudflare Tunnel. https://developers.cloudflare.com/x
2026-05-04T10:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...
2026-05-04T10:00:01Z INF +----------------------------------------------------------+
2026-05-04T10:00:01Z INF |  Your quick Tunnel has been created! Visit it at:          |
2026-05-04T10:00:01Z INF |  https://gentle-river-sample-words.trycloudflare.com      |
2026-05-04T10:00:01Z INF +----------------------------------------------------------+
2026-05-04T10:00:02Z ERR failed to reach https://other-thing.trycloudflare.com
";
        assert_eq!(
            find_url(log).as_deref(),
            Some("https://gentle-river-sample-words.trycloudflare.com")
        );
        assert_eq!(
            find_url("ERR Post \"https://api.trycloudflare.com/tunnel\": EOF"),
            None
        );
        assert_eq!(
            find_url("url=https://a-b.trycloudflare.com").as_deref(),
            Some("https://a-b.trycloudflare.com")
        );
        assert_eq!(find_url(""), None);
    }
}
