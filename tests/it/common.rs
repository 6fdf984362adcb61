//! Test sandbox and a small builder around the `claw` binary.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
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

    /// A home written by `claw-gen` (small scale) in `<root>/<name>`, and its ground
    /// truth.
    pub fn gen_home(&self, name: &str, seed: u64, era: &str) -> (PathBuf, serde_json::Value) {
        let home = self.root().join(name);
        let truth = self.root().join(format!("{name}.truth.json"));
        let seed = seed.to_string();
        assert_eq!(
            claw_gen::main_with([
                "claw-gen",
                "--out",
                home.to_str().unwrap(),
                "--seed",
                &seed,
                "--era",
                era,
                "--truth",
                truth.to_str().unwrap(),
            ]),
            0,
            "claw-gen {name}"
        );
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

    /// Run as the invoking user, or, as root (where every file is readable), as `nobody`
    /// through util-linux's `setpriv`, so permission cases run everywhere. The sandbox is
    /// opened to that user first.
    pub fn run_unprivileged(&self, args: &[&str]) -> Run {
        run_cmd(self.unprivileged_cmd(args))
    }

    /// The command `run_unprivileged` runs (for callers with their own runner). Opening the
    /// sandbox leaves alone what a test locked on purpose (mode 0), symlinks (never
    /// followed) and special files (FIFOs, sockets, devices).
    pub fn unprivileged_cmd(&self, args: &[&str]) -> Command {
        use std::os::unix::fs::FileTypeExt;
        if !is_root() {
            return self.cmd(args);
        }
        for e in walkdir::WalkDir::new(self.root()).into_iter().flatten() {
            let Ok(md) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            let t = md.file_type();
            let special = t.is_fifo() || t.is_socket() || t.is_char_device() || t.is_block_device();
            let mode = md.permissions().mode();
            if t.is_symlink() || special || mode & 0o777 == 0 {
                continue;
            }
            let open = if md.is_dir() { 0o777 } else { 0o666 };
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(open)).unwrap();
        }
        let plain = self.cmd(args);
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(plain.get_program())
            .args(plain.get_args())
            .env_clear()
            .stdin(Stdio::null());
        for (k, v) in plain.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        c
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

/// Says that a test skipped a case, on the terminal even though cargo captures test output
/// (a direct write to stderr is not captured, `eprintln!` is), so a skip is never silent.
/// With `CLAW_NO_SKIP=1` (set by `.ci/run`) a skip fails the test instead: CI runs every case.
pub fn skip(why: &str) {
    use std::io::Write;
    assert!(
        std::env::var_os("CLAW_NO_SKIP").is_none_or(|v| v != "1"),
        "CLAW_NO_SKIP=1 but this case would be skipped: {why}"
    );
    let _ = writeln!(std::io::stderr(), "note: skipped: {why}");
}

/// Running as root (CI does): permission cases then run claw as an unprivileged user.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `../shared` (real public OpenClaw samples), when this checkout has it beside it.
pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.join("samples").is_dir() {
        Some(p)
    } else {
        skip("../shared/samples not found; the cases that read real OpenClaw samples");
        None
    }
}

/// A `[tick.schedule]` table that leaves only `config backup` among the built-in jobs, so
/// tick tests see the same plan whichever jobs this build has.
pub const TICK_ONLY_CONFIG_BACKUP: &str = "[tick.schedule]\nconfig-backup = \"30m\"\n\
compaction-backup = \"off\"\ncost-track = \"off\"\nbudget-check = \"off\"\n\
rate-limit-detect = \"off\"\nstuck-agent = \"off\"\ntunnel = \"off\"\n\
gateway-check = \"off\"\ncost-digest = \"off\"\n";
