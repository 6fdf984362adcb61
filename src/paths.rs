//! Where things are: OpenClaw's state dir and config, claw's own state and settings.
//!
//! OpenClaw's rules are followed exactly (see the formats reference): an explicit claw flag
//! first, then `OPENCLAW_CONFIG_PATH`, `OPENCLAW_STATE_DIR`, `OPENCLAW_HOME`, the profile,
//! `~/.openclaw`, and the legacy `~/.clawdbot`. Resolution is a pure function of the flags and
//! an environment lookup, so it is tested without touching the real environment.

use crate::exit::{fail, Code};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Resolved locations for one run.
#[derive(Debug, Clone)]
pub struct Paths {
    /// OpenClaw's state dir (`~/.openclaw`).
    pub openclaw_dir: PathBuf,
    /// OpenClaw's active config file.
    pub config: PathBuf,
    /// OpenClaw profile in use, if any.
    pub profile: Option<String>,
    /// claw's own state dir (ledger, locks, backups).
    pub state: PathBuf,
    /// claw's settings file, and whether it was named explicitly (then it must exist).
    pub settings: PathBuf,
    pub settings_explicit: bool,
}

impl Paths {
    pub fn ledger(&self) -> PathBuf {
        self.state.join("ledger.db")
    }
    pub fn locks(&self) -> PathBuf {
        self.state.join("locks")
    }
    pub fn backups(&self) -> PathBuf {
        self.state.join("backups")
    }
}

/// Flags that influence resolution (their env twins are read by clap).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub openclaw_dir: Option<PathBuf>,
    pub profile: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub settings: Option<PathBuf>,
}

fn absolute(name: &str, value: &str) -> Result<PathBuf> {
    let p = PathBuf::from(value);
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(fail(
            Code::Usage,
            format!("{name}={value}: must be an absolute path"),
        ))
    }
}

/// Resolve every path from flags and an environment lookup.
pub fn resolve(flags: &Flags, env: &dyn Fn(&str) -> Option<String>) -> Result<Paths> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    let home = match var("HOME") {
        Some(h) => absolute("HOME", &h)?,
        None => {
            return Err(fail(
                Code::Usage,
                "HOME is not set; pass --openclaw-dir and --state-dir",
            ))
        }
    };
    let profile = flags
        .profile
        .clone()
        .or_else(|| var("OPENCLAW_PROFILE"))
        .filter(|p| !p.is_empty() && p != "default");

    let openclaw_dir = if let Some(d) = &flags.openclaw_dir {
        d.clone()
    } else if let Some(d) = var("OPENCLAW_STATE_DIR") {
        absolute("OPENCLAW_STATE_DIR", &d)?
    } else {
        let oc_home = match var("OPENCLAW_HOME") {
            Some(h) => absolute("OPENCLAW_HOME", &h)?,
            None => home.clone(),
        };
        match &profile {
            Some(p) => oc_home.join(format!(".openclaw-{p}")),
            None => {
                let modern = oc_home.join(".openclaw");
                let legacy = oc_home.join(".clawdbot");
                if !modern.exists() && legacy.is_dir() {
                    legacy
                } else {
                    modern
                }
            }
        }
    };
    let config = match (&flags.openclaw_dir, var("OPENCLAW_CONFIG_PATH")) {
        (None, Some(c)) => absolute("OPENCLAW_CONFIG_PATH", &c)?,
        _ => openclaw_dir.join("openclaw.json"),
    };

    let state = if let Some(d) = &flags.state_dir {
        d.clone()
    } else if let Some(d) = var("STATE_DIRECTORY") {
        // systemd may pass several, colon-separated; the first is ours.
        absolute("STATE_DIRECTORY", d.split(':').next().unwrap_or(&d))?
    } else if let Some(d) = var("XDG_STATE_HOME") {
        absolute("XDG_STATE_HOME", &d)?.join("claw")
    } else {
        home.join(".local/state/claw")
    };

    let (settings, settings_explicit) = if let Some(s) = &flags.settings {
        (s.clone(), true)
    } else if let Some(d) = var("XDG_CONFIG_HOME") {
        (
            absolute("XDG_CONFIG_HOME", &d)?.join("claw/claw.toml"),
            false,
        )
    } else {
        (home.join(".config/claw/claw.toml"), false)
    };

    Ok(Paths {
        openclaw_dir,
        config,
        profile,
        state,
        settings,
        settings_explicit,
    })
}

/// A path shown to a person: relative to `base` when inside it.
pub fn display_rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn defaults_under_home() {
        let p = resolve(&Flags::default(), &env_of(&[("HOME", "/h")])).unwrap();
        assert_eq!(p.openclaw_dir, PathBuf::from("/h/.openclaw"));
        assert_eq!(p.config, PathBuf::from("/h/.openclaw/openclaw.json"));
        assert_eq!(p.state, PathBuf::from("/h/.local/state/claw"));
        assert_eq!(p.settings, PathBuf::from("/h/.config/claw/claw.toml"));
    }

    #[test]
    fn openclaw_precedence() {
        let e = env_of(&[
            ("HOME", "/h"),
            ("OPENCLAW_HOME", "/oh"),
            ("OPENCLAW_PROFILE", "work"),
        ]);
        let p = resolve(&Flags::default(), &e).unwrap();
        assert_eq!(p.openclaw_dir, PathBuf::from("/oh/.openclaw-work"));
        let e = env_of(&[
            ("HOME", "/h"),
            ("OPENCLAW_STATE_DIR", "/s"),
            ("OPENCLAW_CONFIG_PATH", "/c/oc.json"),
        ]);
        let p = resolve(&Flags::default(), &e).unwrap();
        assert_eq!(p.openclaw_dir, PathBuf::from("/s"));
        assert_eq!(p.config, PathBuf::from("/c/oc.json"));
        // An explicit claw flag wins over everything, config included.
        let f = Flags {
            openclaw_dir: Some("/x".into()),
            ..Flags::default()
        };
        let p = resolve(&f, &e).unwrap();
        assert_eq!(p.config, PathBuf::from("/x/openclaw.json"));
    }

    #[test]
    fn legacy_clawdbot_when_openclaw_absent() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(".clawdbot")).unwrap();
        let h = d.path().to_str().unwrap().to_string();
        let p = resolve(&Flags::default(), &env_of(&[("HOME", &h)])).unwrap();
        assert_eq!(p.openclaw_dir, d.path().join(".clawdbot"));
        std::fs::create_dir(d.path().join(".openclaw")).unwrap();
        let p = resolve(&Flags::default(), &env_of(&[("HOME", &h)])).unwrap();
        assert_eq!(p.openclaw_dir, d.path().join(".openclaw"));
    }

    #[test]
    fn state_precedence_and_relative_env_refused() {
        let e = env_of(&[("HOME", "/h"), ("XDG_STATE_HOME", "/xs")]);
        assert_eq!(
            resolve(&Flags::default(), &e).unwrap().state,
            PathBuf::from("/xs/claw")
        );
        let e = env_of(&[
            ("HOME", "/h"),
            ("XDG_STATE_HOME", "/xs"),
            ("STATE_DIRECTORY", "/var/lib/claw:/other"),
        ]);
        assert_eq!(
            resolve(&Flags::default(), &e).unwrap().state,
            PathBuf::from("/var/lib/claw")
        );
        let e = env_of(&[("HOME", "/h"), ("XDG_STATE_HOME", "rel")]);
        let err = resolve(&Flags::default(), &e).unwrap_err();
        assert_eq!(crate::exit::code_of(&err), Code::Usage);
    }
}
