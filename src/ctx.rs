//! The run context every subcommand gets, and the job runner: lock, ledger record, outcome.
//!
//! Below `cmd/` (every job receives a `Ctx`); the dispatcher in `app.rs` builds it.

use crate::exit::{code_of, fail, Code};
use crate::ledger::Ledger;
use crate::output::{Outcome, Output};
use crate::paths::Paths;
use crate::settings::Settings;
use anyhow::Result;
use chrono::{DateTime, SecondsFormat, Utc};
use std::time::Duration;

/// Everything a subcommand needs to know about this run.
pub struct Ctx {
    pub paths: Paths,
    pub settings: Settings,
    /// "Now" for every decision (injectable with `--now` / `CLAW_NOW`).
    pub now: DateTime<Utc>,
    pub out: Output,
    pub dry_run: bool,
    pub wait: Duration,
}

impl Ctx {
    pub fn now_str(&self) -> String {
        self.now.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// `[general] timezone`: the one zone cost days, budget periods and tick schedules use.
    pub fn zone(&self) -> crate::zone::Zone {
        self.settings.general.timezone.zone
    }

    pub fn ledger(&self) -> Result<Ledger> {
        Ledger::open(&self.paths.ledger())
    }

    /// Run `f` as the job `job`: under `<state>/locks/<lock>.lock`, recorded in the ledger
    /// (start, end, exit code, summary, detail), with dead-man pings, the Prometheus textfile
    /// and a failure alert (see `watch`). A dry run takes the lock but records nothing.
    pub fn run_job(
        &self,
        job: &str,
        lock: &str,
        f: impl FnOnce(&Ctx, &Ledger) -> Result<Outcome>,
    ) -> Result<Outcome> {
        let _lock = crate::lock::acquire(&self.paths.locks(), lock, self.wait, &self.now_str())?;
        let ledger = self.ledger()?;
        if self.dry_run {
            if needs_openclaw(job) {
                self.require_openclaw()?;
            }
            return f(self, &ledger);
        }
        let id = ledger.begin_run(job, &self.now_str())?;
        let watched = crate::watch::before(self, job);
        // No silent zero: a job that reads OpenClaw's files and finds no OpenClaw home
        // fails (66), is recorded and alerted like any failure, instead of "0 files".
        let result = if needs_openclaw(job) {
            self.require_openclaw().and_then(|()| f(self, &ledger))
        } else {
            f(self, &ledger)
        };
        let result = match result {
            Ok(o) => crate::findings::only_new(self, &ledger, job, o),
            Err(e) => Err(e),
        };
        let ended = self.now_str();
        match &result {
            Ok(o) => ledger.end_run(
                id,
                &ended,
                o.code.as_u8(),
                &o.summary,
                &o.detail,
                &o.metrics,
            )?,
            Err(e) => {
                let msg = crate::redact::redact_text(&format!("{e:#}"));
                // Recording the failure must not hide the failure itself.
                let _ = ledger.end_run(
                    id,
                    &ended,
                    code_of(e).as_u8(),
                    &msg,
                    &serde_json::Value::Null,
                    &[],
                );
            }
        }
        // Pings, metrics, failure alert, delayed alert deliveries: never change the result.
        crate::watch::after(self, &ledger, watched, &result);
        self.prune_ledger(&ledger);
        result
    }
}

/// Jobs that read (or write) OpenClaw's state dir and cannot do their work without it.
const OPENCLAW_JOBS: &[&str] = &[
    "config-backup",
    "config-heal",
    "config-restore",
    "cost-track",
    "budget-check",
    "compaction-backup",
    "rate-limit-detect",
    "stuck-agent",
];

fn needs_openclaw(job: &str) -> bool {
    OPENCLAW_JOBS.contains(&job)
}

impl Ctx {
    /// The OpenClaw state dir exists and can be listed; else exit 66 naming it (a wrong
    /// `HOME` under cron, a typo in `CLAW_OPENCLAW_DIR`, a unit that cannot see it).
    pub fn require_openclaw(&self) -> Result<()> {
        let dir = &self.paths.openclaw_dir;
        match std::fs::read_dir(dir) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(fail(
                Code::NoInput,
                format!(
                    "{}: no OpenClaw state dir (set --openclaw-dir / CLAW_OPENCLAW_DIR, or the HOME OpenClaw runs with)",
                    dir.display()
                ),
            )),
            Err(e) => Err(fail(
                Code::NoInput,
                format!("{}: OpenClaw state dir unreadable: {e}", dir.display()),
            )),
        }
    }

    /// One small batch of ledger retention after each job run (`[ledger] keep_days`); a
    /// failure here is a warning and never the job's result.
    fn prune_ledger(&self, ledger: &Ledger) {
        let days = self.settings.ledger.keep_days;
        if days == 0 {
            return;
        }
        let cutoff = self.now - chrono::Duration::days(i64::from(days));
        let cutoff = cutoff.to_rfc3339_opts(SecondsFormat::Secs, true);
        match ledger.prune(&cutoff, crate::ledger::PRUNE_BATCH) {
            Ok(done) => {
                for (table, n) in done {
                    self.out
                        .note(&format!("ledger: pruned {n} {table} rows before {cutoff}"));
                }
            }
            Err(e) => self.out.warn(&format!("ledger retention: {e:#}")),
        }
    }
}

/// Parse `--now` / `CLAW_NOW` (RFC 3339 with an offset).
pub fn parse_now(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    // A time without an offset would be read in some zone nobody chose: refuse it.
    Err(fail(
        Code::Usage,
        format!("--now {s}: not an RFC 3339 time with an offset (e.g. 2026-11-21T08:00:00Z)"),
    ))
}
