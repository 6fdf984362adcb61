//! Version drift: the installed OpenClaw against the schema claw validates with. After an
//! upgrade the cached schema is an older version's rules (OpenClaw's schema drifts between
//! releases), so validation would call valid configs invalid or miss new rules.

use crate::ctx::Ctx;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `2026.9.6` (and pre-release tails) in any text.
pub fn find_version(text: &str) -> Option<String> {
    let re = regex::Regex::new(r"\d{4}\.\d+\.\d+(?:-[0-9A-Za-z.]+)?").expect("static regex");
    re.find(text).map(|m| m.as_str().to_string())
}

/// Where the `openclaw` binary is: an absolute setting, or the first match on PATH.
pub fn which(bin: &str) -> Option<PathBuf> {
    let b = Path::new(bin);
    if b.is_absolute() || bin.contains('/') {
        return b.is_file().then(|| b.to_path_buf());
    }
    std::env::var("PATH")
        .ok()?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

/// The version of the `openclaw` npm package the binary belongs to, read from its
/// `package.json` (npm links `bin/openclaw` into the package): no process started.
fn package_version(bin: &Path) -> Option<String> {
    let real = std::fs::canonicalize(bin).ok()?;
    for dir in real.ancestors().skip(1).take(4) {
        let Ok(text) = crate::safefs::read_to_string(dir.join("package.json")) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        if v.get("name").and_then(|n| n.as_str()) == Some("openclaw") {
            return v.get("version").and_then(|n| n.as_str()).map(String::from);
        }
    }
    None
}

/// The installed OpenClaw version and how it was learned; `None` when the CLI is absent.
pub fn installed(ctx: &Ctx) -> Option<(String, &'static str)> {
    let bin = which(&ctx.settings.general.openclaw_bin)?;
    if let Some(v) = package_version(&bin) {
        return Some((v, "package"));
    }
    let mut cmd = std::process::Command::new(&bin);
    cmd.arg("--version");
    let f = crate::proc::run(
        cmd,
        &crate::proc::Opts::new(Duration::from_secs(
            ctx.settings.gateway.command_timeout_secs.clamp(1, 30),
        ))
        .capture(4096),
    )
    .ok()?;
    if !f.success() {
        return None;
    }
    find_version(&String::from_utf8_lossy(&f.stdout)).map(|v| (v, "cli"))
}

/// The version of the schema `claw config schema refresh` cached, if any.
pub fn cached_schema(state: &Path) -> Option<String> {
    let b = crate::safefs::read(state.join("schemas/current.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
    v.get("version")?.as_str().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_text_and_packages() {
        assert_eq!(
            find_version("OpenClaw 2026.9.6 (eb377ac)\n").as_deref(),
            Some("2026.9.6")
        );
        assert_eq!(
            find_version("openclaw 2026.7.2-beta.1").as_deref(),
            Some("2026.7.2-beta.1")
        );
        assert_eq!(find_version("v1.2.3"), None);
        let d = tempfile::tempdir().unwrap();
        let pkg = d.path().join("lib/node_modules/openclaw");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(
            pkg.join("package.json"),
            r#"{"name":"openclaw","version":"2026.9.6"}"#,
        )
        .unwrap();
        std::fs::write(pkg.join("openclaw.mjs"), "").unwrap();
        std::fs::create_dir_all(d.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(pkg.join("openclaw.mjs"), d.path().join("bin/openclaw"))
            .unwrap();
        assert_eq!(
            package_version(&d.path().join("bin/openclaw")).as_deref(),
            Some("2026.9.6")
        );
    }
}
