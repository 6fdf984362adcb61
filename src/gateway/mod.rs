//! What claw knows about the gateway itself, shared by `gateway check` (the job), `doctor`
//! and `config heal/restore --restart`: its health endpoint and restart, the exposure audit,
//! process and disk facts from /proc and statvfs, the installed version, and the ledger
//! records that bound restarts per hour. Below `cmd/`: no job imports another job.

pub mod exposure;
pub mod health;
pub mod procfs;
pub mod resources;
pub mod store;
pub mod version;

use crate::ctx::Ctx;
use crate::ledger::Ledger;
use anyhow::Result;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The one lock every gateway restart takes (`gateway check` and `config heal/restore
/// --restart`), apart from each job's own lock: the two jobs run at once, and two restart
/// commands interleaved (one stopping what the other just started) would leave the gateway
/// down or twice started.
pub const RESTART_LOCK: &str = "gateway-restart";

/// Take [`RESTART_LOCK`], waiting up to `wait` (zero: exit 75 at once when held).
pub fn restart_lock(ctx: &Ctx, wait: std::time::Duration) -> Result<crate::lock::JobLock> {
    crate::lock::acquire(&ctx.paths.locks(), RESTART_LOCK, wait, &ctx.now_str())
}

/// Restart the gateway now (for `config heal/restore --restart`): recorded against the hourly
/// budget before the command runs, its outcome after. Waits for a restart already under way
/// (by `gateway check`) to finish first: the config just restored still needs its own
/// restart to be read.
pub fn restart_recorded(ctx: &Ctx, l: &Ledger, why: &str) -> Result<health::Restarted> {
    let g = &ctx.settings.gateway;
    let wait = std::time::Duration::from_secs(
        g.command_timeout_secs
            .saturating_add(g.health_timeout_secs)
            .saturating_add(10),
    );
    let _restarting = restart_lock(ctx, wait)?;
    let url = health::url(ctx, None);
    l.immediate(|tx| store::event(tx, &ctx.now_str(), "restart", why))?;
    let r = health::restart_and_wait(ctx, &url)?;
    let ev = if r.healthy {
        "restart-ok"
    } else {
        "restart-failed"
    };
    l.immediate(|tx| store::event(tx, &ctx.now_str(), ev, &r.message))?;
    Ok(r)
}

/// The config as OpenClaw would read it (includes merged), or why it could not be read.
pub fn load_config(path: &Path) -> (Value, Option<String>) {
    let text = match crate::safefs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (json!({}), None),
        Err(e) => return (json!({}), Some(format!("{}: {e}", path.display()))),
    };
    match crate::openclaw::config::parse_json5(&text) {
        Ok(v) => (
            crate::openclaw::config::resolve_includes(v, path, &[]).merged,
            None,
        ),
        Err(e) => (
            json!({}),
            Some(format!(
                "{}:{}:{}: {}",
                path.display(),
                e.line,
                e.column,
                e.message
            )),
        ),
    }
}

fn mode_of(p: &Path) -> Option<u32> {
    std::fs::metadata(p).ok().map(|m| m.permissions().mode())
}

/// The file facts the exposure audit judges.
pub fn file_facts(ctx: &Ctx) -> exposure::Files {
    let dir = &ctx.paths.openclaw_dir;
    exposure::Files {
        state_dir: dir.clone(),
        state_dir_mode: mode_of(dir),
        config: ctx.paths.config.clone(),
        config_mode: mode_of(&ctx.paths.config),
        credentials: exposure::credential_files(dir)
            .into_iter()
            .filter_map(|p| mode_of(&p).map(|m| (p, m)))
            .collect(),
    }
}
