//! claw: the operations companion for self-hosted OpenClaw gateways.
//!
//! One-shot jobs run by cron or systemd timers; they coordinate only through files and the
//! SQLite ledger. See README for the jobs, the settings file and the exit codes.

pub mod app;
pub mod atomic;
pub mod budgets;
pub mod cli;
pub mod cmd;
pub mod ctx;
pub mod digest;
pub mod exit;
pub mod findings;
pub mod gateway;
pub mod http;
pub mod incremental;
pub mod jobs;
pub mod ledger;
pub mod lock;
pub mod metrics;
pub mod modelapi;
pub mod money;
pub mod notify;
pub mod openclaw;
pub mod output;
pub mod paths;
pub mod pricing;
pub mod proc;
pub mod progress;
pub mod redact;
pub mod safefs;
pub mod schedule;
pub mod sessionstore;
pub mod settings;
pub mod watch;
pub mod zone;

#[cfg(test)]
mod layers;
