//! The one integration-test binary: every test drives the built `claw` binary in a temp
//! sandbox (HOME, XDG dirs and every OpenClaw path redirected), the way a user or cron would.

mod adversarial;
mod alerts;
mod cbackup;
mod common;
mod compare;
mod concurrency;
mod config;
mod cost;
mod crash;
mod degraded;
mod deploy;
mod digest;
mod doctor;
mod e2e;
mod exact;
mod fakehttp;
mod fleet;
mod gateway;
mod genhome;
mod packaging;
mod poison;
mod progress;
mod props;
mod ratelimit;
mod reliability;
mod secrets;
mod stuck;
mod tables;
mod tick;
mod tunnel;
mod units;
mod watch;
