//! The cloudflared child: started detached (its own session and process group, stdin null,
//! stdout and stderr to `cloudflared.log`), remembered by a pid file holding the pid *and*
//! the kernel's start time of that pid, so a recycled pid is never mistaken for ours (nor
//! killed), and stopped by signalling its whole process group.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libc::{kill, setsid, SIGKILL, SIGTERM};

/// Where the tunnel's files live: `<state>/tunnel/`.
#[derive(Debug, Clone)]
pub struct Files {
    pub dir: PathBuf,
}

impl Files {
    pub fn pid(&self) -> PathBuf {
        self.dir.join("cloudflared.pid")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("cloudflared.log")
    }
    pub fn old_log(&self) -> PathBuf {
        self.dir.join("cloudflared.log.1")
    }
}

/// The pid file: which process is ours, since when, and the URL it printed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PidFile {
    pub pid: i32,
    /// Field 22 of `/proc/<pid>/stat` (clock ticks since boot) when we started it.
    pub starttime: u64,
    pub started_at: String,
    #[serde(default)]
    pub url: Option<String>,
    /// The command it runs, to notice settings that changed since.
    #[serde(default)]
    pub argv: Vec<String>,
}

impl PidFile {
    pub fn read(path: &Path) -> Result<Option<PidFile>> {
        match crate::safefs::read(path) {
            Ok(b) => Ok(serde_json::from_slice(&b).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("{}: cannot read pid file", path.display())),
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let mut b = serde_json::to_vec_pretty(self)?;
        b.push(b'\n');
        crate::atomic::write(path, &b, crate::atomic::Opts::default())
    }

    /// Whether this process is still the one we started (and not a zombie).
    pub fn alive(&self) -> bool {
        matches!(proc_stat(self.pid), Some((state, start)) if start == self.starttime && state != 'Z' && state != 'X')
    }
}

/// `(state, starttime)` of a process from `/proc/<pid>/stat`.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    if pid <= 0 {
        return None;
    }
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parse `/proc/<pid>/stat`: the command name may hold spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")" come field 3 (state) onwards; starttime is field 22.
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// A cloudflared we started in this run.
pub struct Spawned {
    pub child: Child,
    pub pid: PidFile,
}

/// Start `argv` detached with its output appended to the log (the previous log is kept as
/// `cloudflared.log.1`); writes the pid file. `drop_env` is removed from its environment.
pub fn spawn(files: &Files, argv: &[String], drop_env: &[&str], now: &str) -> Result<Spawned> {
    crate::atomic::create_private_dir(&files.dir)?;
    let log = files.log();
    if log.exists() {
        fs::rename(&log, files.old_log())
            .with_context(|| format!("{}: cannot rotate log", log.display()))?;
    }
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log)
        .with_context(|| format!("{}: cannot open log", log.display()))?;
    let err = out
        .try_clone()
        .with_context(|| format!("{}: cannot open log", log.display()))?;
    let (prog, args) = argv.split_first().context("empty cloudflared command")?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    for k in drop_env {
        cmd.env_remove(k);
    }
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent. A new session
    // detaches it from our terminal and makes it leader of its own process group, which
    // `stop` signals as a whole.
    unsafe {
        cmd.pre_exec(|| {
            if setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("{prog}: cannot start cloudflared"))?;
    let pid = child.id() as i32;
    let starttime = proc_stat(pid).map(|(_, s)| s).unwrap_or(0);
    let pf = PidFile {
        pid,
        starttime,
        started_at: now.to_string(),
        url: None,
        argv: argv.to_vec(),
    };
    let mut sp = Spawned { child, pid: pf };
    if let Err(e) = sp.pid.write(&files.pid()) {
        sp.kill();
        return Err(e);
    }
    Ok(sp)
}

impl Spawned {
    /// Stop it and reap it.
    pub fn kill(&mut self) {
        terminate(&self.pid, || matches!(self.child.try_wait(), Ok(Some(_))));
        let _ = self.child.wait();
    }

    /// Whether it exited, with its status.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(st.to_string()),
            _ => None,
        }
    }
}

/// SIGTERM the process group of `pf` (only if it is still ours), wait up to 5 s, then
/// SIGKILL the group. `gone` says whether the process has ended (for a child of ours, which
/// stays a zombie until reaped).
pub fn terminate(pf: &PidFile, mut gone: impl FnMut() -> bool) {
    if !pf.alive() {
        return;
    }
    // SAFETY: plain syscalls on a process group we created (pgid = its pid, checked above).
    unsafe {
        kill(-pf.pid, SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if gone() || !pf.alive() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    // The group may still hold children of the leader even when the leader is gone.
    unsafe {
        kill(-pf.pid, SIGKILL);
    }
}

/// Wait until `log` shows the public URL, the child exits, or `timeout` passes.
pub fn wait_for_url(sp: &mut Spawned, log: &Path, timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let text = read_lossy(log);
        if let Some(u) = super::find_url(&text) {
            return Ok(u);
        }
        if let Some(st) = sp.exited() {
            let text = read_lossy(log);
            return Err(format!(
                "cloudflared exited ({st}) before printing a URL{}",
                last_line(&text)
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "cloudflared printed no URL within {} s{}",
                timeout.as_secs_f64(),
                last_line(&text)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The URL in the log of a cloudflared started by an earlier run.
pub fn url_from_log(log: &Path) -> Option<String> {
    super::find_url(&read_lossy(log))
}

fn read_lossy(p: &Path) -> String {
    let mut b = Vec::new();
    if let Ok(mut f) = crate::safefs::open(p, crate::safefs::Follow::Yes) {
        use std::io::Read;
        // A quick tunnel prints its URL in the first few KiB; bound what we read.
        let _ = (&mut f).take(1 << 20).read_to_end(&mut b);
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn last_line(text: &str) -> String {
    match text.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(l) => format!("; last log line: {}", crate::redact::excerpt(l.trim(), 200)),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_paren() {
        let line = "4242 (cloud (fl) ared) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 8 0 987654 123 45";
        assert_eq!(parse_stat(line), Some(('S', 987654)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) Z 1"), None);
    }

    #[test]
    fn own_process_is_alive_and_a_recycled_pid_is_not() {
        let me = std::process::id() as i32;
        let (_, start) = proc_stat(me).unwrap();
        let ours = PidFile {
            pid: me,
            starttime: start,
            started_at: String::new(),
            url: None,
            argv: Vec::new(),
        };
        assert!(ours.alive());
        let recycled = PidFile {
            starttime: start + 1,
            ..ours.clone()
        };
        assert!(!recycled.alive());
        let none = PidFile { pid: 0, ..ours };
        assert!(!none.alive());
    }
}
