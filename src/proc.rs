//! The one way claw runs another program: always with a timeout, in its own process group (so
//! a timeout kills the whole tree a shell command started, not just the shell), stdin written
//! and stdout/stderr drained on threads (a chatty child never blocks on a full pipe), stdout
//! bounded and only the tail of stderr kept. Callers redact what they show of it.

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How to run one command.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Killed (the whole process group) after this long.
    pub timeout: Duration,
    /// Written to the child's stdin, which is then closed; `None`: stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// Keep at most this many bytes of stdout (0: stdout goes to /dev/null).
    pub stdout_max: usize,
    /// Keep the last this many bytes of stderr.
    pub stderr_tail: usize,
    /// The child writes to claw's own stdout and stderr (nothing captured); its stdout goes
    /// to claw's stderr instead when `stdout_to_stderr` (a `--json` caller owns stdout).
    pub inherit: bool,
    pub stdout_to_stderr: bool,
    /// The command may leave a process running on purpose (a restart command that starts the
    /// gateway in the background and exits): its output goes to an unlinked temp file, not a
    /// pipe a daemon would hold open, and its group is killed only at the timeout. Killing the
    /// group as soon as the command exits would kill a daemon still on its way out of it
    /// (between fork and setsid), which a loaded machine makes likely.
    pub leaves_daemon: bool,
}

impl Opts {
    /// A command whose output is not wanted beyond an error tail.
    pub fn new(timeout: Duration) -> Opts {
        Opts {
            timeout,
            stdin: None,
            stdout_max: 0,
            stderr_tail: 4096,
            inherit: false,
            stdout_to_stderr: false,
            leaves_daemon: false,
        }
    }
    /// See [`Opts::leaves_daemon`].
    pub fn leaves_daemon(mut self) -> Opts {
        self.leaves_daemon = true;
        self
    }
    /// Pass the child's output through (see [`Opts::inherit`]).
    pub fn inherit(mut self, stdout_to_stderr: bool) -> Opts {
        self.inherit = true;
        self.stdout_to_stderr = stdout_to_stderr;
        self
    }
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Opts {
        self.stdin = Some(data.into());
        self
    }
    pub fn capture(mut self, max_bytes: usize) -> Opts {
        self.stdout_max = max_bytes;
        self
    }
}

/// How a command ended.
#[derive(Debug)]
pub struct Finished {
    /// `None`: it was killed at the timeout.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    /// The last bytes of stderr, lossily decoded.
    pub stderr_tail: String,
    pub elapsed: Duration,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }
    /// The last non-empty stderr line, or "".
    pub fn last_stderr_line(&self) -> &str {
        self.stderr_tail
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
    /// `exit 3`, `killed by signal 9`, `killed after 30 s`; with the last stderr line.
    pub fn describe(&self) -> String {
        let how = match self.status {
            None => format!("killed after {} s", self.elapsed.as_secs()),
            Some(s) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                _ => s.to_string(),
            },
        };
        match self.last_stderr_line() {
            "" => how,
            l => format!("{how}: {l}"),
        }
    }
}

/// Runs `cmd` as [`Opts`] says. An error only when it could not be started.
pub fn run(mut cmd: Command, opts: &Opts) -> std::io::Result<Finished> {
    if opts.leaves_daemon && !opts.inherit {
        return run_leaving_daemon(cmd, opts);
    }
    cmd.process_group(0)
        .stdin(if opts.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(if opts.inherit && opts.stdout_to_stderr {
            Stdio::from(std::io::stderr())
        } else if opts.inherit {
            Stdio::inherit()
        } else if opts.stdout_max > 0 {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(if opts.inherit {
            Stdio::inherit()
        } else {
            Stdio::piped()
        });
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pgid = child.id() as i32;
    let writer = match (child.stdin.take(), opts.stdin.clone()) {
        (Some(mut w), Some(data)) => Some(std::thread::spawn(move || {
            // A child that does not read its stdin is its own business.
            let _ = w.write_all(&data);
        })),
        _ => None,
    };
    let out = child.stdout.take().map(|o| {
        let max = opts.stdout_max;
        std::thread::spawn(move || read_head(o, max))
    });
    let err = child.stderr.take().map(|e| {
        let max = opts.stderr_tail;
        std::thread::spawn(move || read_tail(e, max))
    });
    let status = wait_until(&mut child, pgid, start + opts.timeout)?;
    // Grandchildren still holding the pipes would keep the readers waiting: end the group.
    kill_group(pgid);
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Finished {
        status,
        stdout,
        stderr_tail: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed: start.elapsed(),
    })
}

/// An argv as a shell line a person can paste (for --dry-run, the ledger and alerts): plain
/// words as they are, anything else single-quoted.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./:=@-+,".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// [`run`] for a command that may leave a daemon behind: output to unlinked temp files, the
/// group killed only at the timeout.
fn run_leaving_daemon(mut cmd: Command, opts: &Opts) -> std::io::Result<Finished> {
    use std::io::{Seek, SeekFrom};
    let out = if opts.stdout_max > 0 {
        Some(unlinked_temp()?)
    } else {
        None
    };
    let err = unlinked_temp()?;
    cmd.process_group(0)
        .stdin(if opts.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(match &out {
            Some(f) => Stdio::from(f.try_clone()?),
            None => Stdio::null(),
        })
        .stderr(Stdio::from(err.try_clone()?));
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pgid = child.id() as i32;
    if let (Some(mut w), Some(data)) = (child.stdin.take(), opts.stdin.clone()) {
        // Small (a restart command takes no input in practice); a child that does not read
        // it gets EPIPE on close, not a hang, since the write happens before the wait.
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        });
    }
    let status = wait_until(&mut child, pgid, start + opts.timeout)?;
    let read = |mut f: std::fs::File, max: usize, tail: bool| -> Vec<u8> {
        let len = f.seek(SeekFrom::End(0)).unwrap_or(0);
        let from = if tail {
            len.saturating_sub(max as u64)
        } else {
            0
        };
        let _ = f.seek(SeekFrom::Start(from));
        let mut v = Vec::new();
        let _ = f.take(max as u64).read_to_end(&mut v);
        v
    };
    let stdout = out
        .map(|f| read(f, opts.stdout_max, false))
        .unwrap_or_default();
    let stderr = read(err, opts.stderr_tail, true);
    Ok(Finished {
        status,
        stdout,
        stderr_tail: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed: start.elapsed(),
    })
}

/// A private temp file that is already unlinked: gone when the last holder closes it.
fn unlinked_temp() -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    loop {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = dir.join(format!("claw-proc-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
        {
            Ok(f) => {
                let _ = std::fs::remove_file(&p);
                return Ok(f);
            }
            // A leftover of an earlier claw with the same pid: take the next name.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => continue,
            Err(e) => return Err(e),
        }
    }
}

fn kill_group(pgid: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// The first `max` bytes; the rest is read and dropped so the child never blocks.
fn read_head(mut r: impl Read, max: usize) -> Vec<u8> {
    let mut keep = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        let room = max.saturating_sub(keep.len());
        keep.extend_from_slice(&buf[..n.min(room)]);
    }
    keep
}

/// The last `max` bytes.
fn read_tail(mut r: impl Read, max: usize) -> Vec<u8> {
    let mut keep: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        keep.extend_from_slice(&buf[..n]);
        if keep.len() > 2 * max.max(1) {
            keep.drain(..keep.len() - max);
        }
    }
    if keep.len() > max {
        keep.drain(..keep.len() - max);
    }
    keep
}

/// Wait for `child` until `deadline` (polling, from 1 ms up to 20 ms); past it, kill its
/// process group and reap it: `None` means it was killed at the timeout.
fn wait_until(
    child: &mut std::process::Child,
    pgid: i32,
    deadline: Instant,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait()? {
            Some(st) => return Ok(Some(st)),
            None if Instant::now() >= deadline => {
                kill_group(pgid);
                let _ = child.wait();
                return Ok(None);
            }
            None => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn output_stdin_and_exit_code() {
        let f = run(
            sh("cat; echo oops >&2; exit 3"),
            &Opts::new(Duration::from_secs(10))
                .stdin("hello")
                .capture(1024),
        )
        .unwrap();
        assert_eq!(f.stdout, b"hello");
        assert_eq!(f.status.and_then(|s| s.code()), Some(3));
        assert_eq!(f.describe(), "exit 3: oops");
    }

    #[test]
    fn a_command_leaving_a_daemon_keeps_it_and_its_error_tail() {
        let d = std::env::temp_dir().join(format!("claw-proc-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&d);
        // The background child is still in the group when the shell exits (as a daemon is
        // between fork and setsid): it must survive, and stderr still be read.
        let f = run(
            sh(&format!(
                "(sleep 0.5; echo alive > '{}') & echo oops >&2; exit 3",
                d.display()
            )),
            &Opts::new(Duration::from_secs(10)).leaves_daemon(),
        )
        .unwrap();
        assert_eq!(f.describe(), "exit 3: oops");
        assert!(f.elapsed < Duration::from_millis(450), "{:?}", f.elapsed);
        let t = Instant::now();
        while !d.exists() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(d.exists(), "the background child was killed");
        let _ = std::fs::remove_file(&d);
        // Its timeout still kills the whole group.
        let f = run(
            sh("sleep 30 & sleep 30"),
            &Opts::new(Duration::from_millis(300)).leaves_daemon(),
        )
        .unwrap();
        assert!(f.timed_out());
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        // The shell's child `sleep` holds stderr open: without the group kill the reader
        // would wait for it.
        let f = run(
            sh("sleep 30 & sleep 30"),
            &Opts::new(Duration::from_millis(200)),
        )
        .unwrap();
        assert!(f.timed_out());
        assert!(f.elapsed < Duration::from_secs(5), "{:?}", f.elapsed);
    }

    #[test]
    fn stdout_is_bounded_and_stderr_keeps_its_tail() {
        let f = run(
            sh("yes x | head -c 100000; yes e | head -c 50000 >&2; echo last >&2"),
            &Opts::new(Duration::from_secs(10)).capture(10),
        )
        .unwrap();
        assert_eq!(f.stdout.len(), 10);
        assert!(f.stderr_tail.len() <= 4096);
        assert_eq!(f.last_stderr_line(), "last");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        assert!(run(
            Command::new("/nonexistent/prog"),
            &Opts::new(Duration::from_secs(1))
        )
        .is_err());
    }
}
