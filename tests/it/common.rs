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

/// An exact decimal for expectations, independent of claw's money type: an i128 count of
/// 10^-30 dollars (every literal the tests write has digits no finer than that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dec(pub i128);

impl Dec {
    const SCALE: u32 = 30;

    /// A JSON number literal as written (`0.0075568500000000005`, `1.2e-7`), exactly.
    pub fn lit(s: &str) -> Dec {
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (mant, exp) = match s.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().unwrap()),
            None => (s, 0),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let mut v: i128 = format!("{int}{frac}").parse().unwrap();
        let shift = Self::SCALE as i32 + exp - frac.len() as i32;
        if shift >= 0 {
            v *= 10i128.pow(shift as u32);
        } else {
            let d = 10i128.pow((-shift) as u32);
            assert_eq!(v % d, 0, "{s}: digits below 10^-30 in a test literal");
            v /= d;
        }
        Dec(if neg { -v } else { v })
    }

    pub fn micros(m: i64) -> Dec {
        Dec(m as i128 * 10i128.pow(Self::SCALE - 6))
    }

    /// USD per million tokens x tokens, exactly.
    pub fn per_million(price: &str, tokens: u64) -> Dec {
        Dec(Dec::lit(price).0 * tokens as i128 / 1_000_000)
    }

    /// The nearest float (for comparing with a float exposition).
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap()
    }

    /// Whole micro-dollars, or a panic when the amount has finer digits.
    pub fn to_micros(self) -> i64 {
        let d = 10i128.pow(Self::SCALE - 6);
        assert_eq!(
            self.0 % d,
            0,
            "{self} is not a whole number of micro-dollars"
        );
        (self.0 / d) as i64
    }
}

impl std::ops::Add for Dec {
    type Output = Dec;
    fn add(self, o: Dec) -> Dec {
        Dec(self.0 + o.0)
    }
}

impl std::iter::Sum for Dec {
    fn sum<I: Iterator<Item = Dec>>(it: I) -> Dec {
        it.fold(Dec(0), |a, b| a + b)
    }
}

/// claw's canonical amount text: every digit, at least two decimals.
impl std::fmt::Display for Dec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let one = 10i128.pow(Self::SCALE);
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.abs();
        let frac = format!("{:030}", a % one);
        let keep = frac.trim_end_matches('0').len().max(2);
        write!(f, "{sign}{}.{}", a / one, &frac[..keep])
    }
}

/// A `--json` amount (an exact decimal string) as a [`Dec`].
pub fn usd(v: &serde_json::Value) -> Dec {
    Dec::lit(
        v.as_str()
            .unwrap_or_else(|| panic!("not a decimal string: {v}")),
    )
}

/// A `--json` amount in whole micro-dollars (for fixtures priced in micro-dollars).
pub fn micros(v: &serde_json::Value) -> i64 {
    usd(v).to_micros()
}
