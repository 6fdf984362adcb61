//! Readers of OpenClaw's own files (each module owns one format and both storage eras of it),
//! and `cli`, the one way an action runs the `openclaw` CLI.

pub mod agentdb;
pub mod cli;
pub mod config;
pub mod gatewaylog;
pub mod layout;
pub mod schedule;
pub mod schema;
pub mod subagents;
pub mod transcript;
