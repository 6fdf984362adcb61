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
    pub fn zone(&self) -> Result<crate::zone::Zone> {
        crate::zone::Zone::parse(&self.settings.general.timezone).map_err(|e| {
            fail(
                Code::Config,
                format!("{}: [general] timezone {e}", self.paths.settings.display()),
            )
        })
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
            return f(self, &ledger);
        }
        let id = ledger.begin_run(job, &self.now_str())?;
        let watched = crate::watch::before(self, job);
        let result = f(self, &ledger);
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
        result
    }
}

/// Parse `--now` / `CLAW_NOW` (RFC 3339, or a naive time taken as UTC).
pub fn parse_now(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Ok(t.and_utc());
    }
    Err(fail(
        Code::Usage,
        format!("--now {s}: not an RFC 3339 time (e.g. 2026-11-21T08:00:00Z)"),
    ))
}
