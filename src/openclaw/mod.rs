//! Readers of OpenClaw's own files. Each module owns one format and both storage eras of it.

pub mod agentdb;
pub mod config;
pub mod gatewaylog;
pub mod layout;
pub mod subagents;
pub mod transcript;
