//! What every job run gets for free from `Ctx::run_job`: a dead-man ping at start and end,
//! its Prometheus textfile, an alert when a scheduled job fails (and a recovery when it works
//! again), and a retry of alert deliveries that failed earlier.
//!
//! None of this may change the job's outcome: every failure here is a `-v` note or a warning.

use crate::ctx::Ctx;
use crate::exit::{code_of, Code};
use crate::ledger::Ledger;
use crate::notify::{self, Alert, Severity};
use crate::output::Outcome;
use anyhow::Result;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The dedupe key of the alert raised when a scheduled job fails.
pub const JOB_FAILED_KEY: &str = "job-failed";

/// A run in progress.
pub struct Watched {
    job: String,
    began: Instant,
    ping: Option<String>,
}

/// Call when a job starts (after its lock is taken).
pub fn before(ctx: &Ctx, job: &str) -> Watched {
    let ping = ping_url(ctx, job);
    if let Some(u) = &ping {
        ping_send(ctx, job, &format!("{u}/start"));
    }
    Watched {
        job: job.to_string(),
        began: Instant::now(),
        ping,
    }
}

/// Call when a job ended and its run is recorded.
pub fn after(ctx: &Ctx, ledger: &Ledger, w: Watched, result: &Result<Outcome>) {
    let elapsed = w.began.elapsed();
    let code = match result {
        Ok(o) => o.code,
        Err(e) => code_of(e),
    };
    if crate::jobs::is_scheduled(&w.job) {
        let r = match result {
            // Another run holding the lock is not a failure.
            Err(_) if code == Code::TempFail => Ok(()),
            Err(e) => notify::raise(
                ctx,
                ledger,
                &Alert {
                    job: w.job.clone(),
                    severity: Severity::Warning,
                    key: JOB_FAILED_KEY.into(),
                    text: format!("{} failed (exit {}): {e:#}", w.job, code.as_u8()),
                },
            )
            .map(|_| ()),
            Ok(_) => notify::clear(
                ctx,
                ledger,
                &w.job,
                JOB_FAILED_KEY,
                &format!("{} works again", w.job),
            )
            .map(|_| ()),
        };
        if let Err(e) = r {
            ctx.out
                .warn(&format!("{}: cannot record the alert: {e:#}", w.job));
        }
    }
    if let Err(e) = notify::retry_pending(ctx, ledger) {
        ctx.out.note(&format!("alert retry: {e:#}"));
    }
    if !ctx.settings.watch.textfile_dir.is_empty() {
        let metrics = match result {
            Ok(o) => o.metrics.as_slice(),
            Err(_) => &[],
        };
        if let Err(e) = write_metrics(ctx, ledger, &w.job, elapsed, code, metrics) {
            ctx.out
                .warn(&format!("{}: metrics not written: {e:#}", w.job));
        }
    }
    if let Some(u) = &w.ping {
        // A finding (exit 1) is a run that did its work: a success for the dead-man switch,
        // as for the metrics' last success. Only a failure reports its code.
        let sent = if code == Code::Finding {
            0
        } else {
            code.as_u8()
        };
        ping_send(ctx, &w.job, &format!("{u}/{sent}"));
    }
}

fn write_metrics(
    ctx: &Ctx,
    ledger: &Ledger,
    job: &str,
    elapsed: Duration,
    code: Code,
    extra: &[crate::output::Metric],
) -> Result<()> {
    let last_success = ledger
        .last_success(job)?
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.timestamp() as f64);
    let facts = crate::metrics::RunFacts {
        job: job.to_string(),
        started: ctx.now.timestamp() as f64,
        last_success,
        duration_secs: (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        exit_code: code.as_u8(),
    };
    // Gauges from this run, counters as the ledger's running totals.
    let mut samples: Vec<crate::output::Metric> =
        extra.iter().filter(|m| !m.delta).cloned().collect();
    samples.extend(ledger.counters(job)?);
    let dir = PathBuf::from(&ctx.settings.watch.textfile_dir);
    let (path, problems) = crate::metrics::write(&dir, &facts, &samples)?;
    for p in problems {
        // A bug in claw, not in the operator's setup: say it, never write a file node_exporter
        // would reject.
        ctx.out
            .warn(&format!("{}: metric left out: {p}", path.display()));
    }
    Ok(())
}

/// The job's ping URL from the env var or file named in `[watch.pings.<job>]`.
pub fn ping_url(ctx: &Ctx, job: &str) -> Option<String> {
    let r = ctx.settings.watch.pings.get(job)?;
    match resolve_secret(ctx, r.url_env.as_deref(), r.url_file.as_deref()) {
        Ok(u) => u.map(|u| u.trim_end_matches('/').to_string()),
        Err(e) => {
            ctx.out.note(&format!("{job}: no dead-man ping: {e}"));
            None
        }
    }
}

/// A secret from an env var or a file (relative to the settings file); the error names
/// where it was looked for, never the value.
pub fn resolve_secret(
    ctx: &Ctx,
    env: Option<&str>,
    file: Option<&str>,
) -> std::result::Result<Option<String>, String> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(format!("{var} is not set")),
        };
    }
    if let Some(f) = file {
        let mut p = PathBuf::from(f);
        if p.is_relative() {
            if let Some(d) = ctx.paths.settings.parent() {
                p = d.join(p);
            }
        }
        return match crate::safefs::read_to_string(&p) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            Ok(_) => Err(format!("{}: empty", p.display())),
            Err(e) => Err(format!("{}: {e}", p.display())),
        };
    }
    Ok(None)
}

fn ping_send(ctx: &Ctx, job: &str, url: &str) {
    let client = crate::http::Client::new(Duration::from_secs(
        ctx.settings.watch.ping_timeout_secs.max(1),
    ));
    let why = match client.get(url, &[]) {
        Ok(r) if r.status < 400 => return,
        Ok(r) => format!("HTTP {}", r.status),
        Err(e) => e.kind,
    };
    // The URL is the secret: only the job and the reason are shown.
    ctx.out.note(&format!("{job}: dead-man ping failed: {why}"));
}
