//! Test sandbox and a small builder around the `claw` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A private world for one test: HOME, claw state, settings and an OpenClaw state dir.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// What a run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
    /// Assert the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Run {
        assert_eq!(
            self.code, want,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
    /// Assert nothing was printed (cron silence).
    #[track_caller]
    pub fn silent(&self) -> &Run {
        assert!(
            self.stdout.is_empty() && self.stderr.is_empty(),
            "expected silence\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Sandbox { dir };
        std::fs::create_dir_all(s.home()).unwrap();
        std::fs::create_dir_all(s.openclaw()).unwrap();
        s
    }
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }
    /// OpenClaw's state dir (`~/.openclaw`).
    pub fn openclaw(&self) -> PathBuf {
        self.home().join(".openclaw")
    }
    pub fn config(&self) -> PathBuf {
        self.openclaw().join("openclaw.json")
    }
    /// claw's state dir.
    pub fn state(&self) -> PathBuf {
        self.root().join("state")
    }
    pub fn settings(&self) -> PathBuf {
        self.root().join("claw.toml")
    }
    pub fn write(&self, rel_to_root: &str, text: &str) -> PathBuf {
        let p = self.root().join(rel_to_root);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config(), text).unwrap();
    }
    pub fn write_settings(&self, text: &str) {
        std::fs::write(self.settings(), text).unwrap();
    }

    /// A home written by `claw dev gen-home` (small scale) in `<root>/<name>`, and its ground
    /// truth.
    pub fn gen_home(&self, name: &str, seed: u64, era: &str) -> (PathBuf, serde_json::Value) {
        let home = self.root().join(name);
        let truth = self.root().join(format!("{name}.truth.json"));
        let seed = seed.to_string();
        self.run(&[
            "dev",
            "gen-home",
            "--out",
            home.to_str().unwrap(),
            "--seed",
            &seed,
            "--era",
            era,
            "--truth",
            truth.to_str().unwrap(),
        ])
        .code(0);
        let truth = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
        (home, truth)
    }

    /// A `claw` command with the sandbox's environment and nothing of the caller's.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_claw"));
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.root().join("xdg-config"))
            .env("XDG_STATE_HOME", self.root().join("xdg-state"))
            .env("CLAW_STATE_DIR", self.state())
            .env("TZ", "UTC")
            .stdin(Stdio::null());
        if self.settings().exists() {
            c.env("CLAW_SETTINGS", self.settings());
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd(args))
    }

    /// Run with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.cmd(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run_cmd(c)
    }
}

pub fn run_cmd(mut c: Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().expect("run claw");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `../shared` (real public OpenClaw samples), when this checkout has it beside it.
pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("samples").is_dir() {
        Some(p)
    } else {
        eprintln!(
            "note: ../shared/samples not found; skipping the cases that read real OpenClaw samples"
        );
        None
    }
}

/// A `[tick.schedule]` table that leaves only `config backup` among the built-in jobs, so
/// tick tests see the same plan whichever jobs this build has.
pub const TICK_ONLY_CONFIG_BACKUP: &str = "[tick.schedule]\nconfig-backup = \"30m\"\n\
compaction-backup = \"off\"\ncost-track = \"off\"\nbudget-check = \"off\"\n\
rate-limit-detect = \"off\"\nstuck-agent = \"off\"\ntunnel = \"off\"\n";
