//! One lock per job: `<state>/locks/<job>.lock`, an advisory `flock` held for the whole run.
//!
//! The holder writes its pid, start time and command into the file, so a second run can say
//! who holds it. The kernel drops the lock when the holder dies, so a stale file never blocks.

use crate::exit::{fail, Code};
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held job lock; released on drop.
#[derive(Debug)]
pub struct JobLock {
    file: File,
    path: PathBuf,
}

impl JobLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        // Empty the holder line so a reader never sees a stale pid; then unlock.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Take the lock for `job`, waiting up to `wait` (zero: fail at once with exit 75).
pub fn acquire(locks_dir: &Path, job: &str, wait: Duration, now_label: &str) -> Result<JobLock> {
    crate::atomic::create_private_dir(locks_dir)?;
    let path = locks_dir.join(format!("{job}.lock"));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("{}: cannot open lock file", path.display()))?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    let holder = read_holder(&mut file);
                    return Err(fail(
                        Code::TempFail,
                        format!(
                            "{}: job '{job}' is already running ({holder}); try later or pass --wait SECS",
                            path.display()
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("{}: cannot lock", path.display()));
            }
        }
    }
    let argv: Vec<String> = std::env::args().collect();
    let holder = format!(
        "pid {} since {now_label}: {}\n",
        std::process::id(),
        argv.join(" ")
    );
    file.set_len(0)
        .and_then(|_| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(holder.as_bytes()))
        .with_context(|| format!("{}: cannot write lock holder", path.display()))?;
    Ok(JobLock { file, path })
}

fn read_holder(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.take(4096).read_to_string(&mut s);
    let line = s.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "holder unknown".to_string()
    } else {
        // The holder's command line never carries secrets: claw takes none on the command line.
        format!("held by {line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_with_temp_fail_and_names_holder() {
        let d = tempfile::tempdir().unwrap();
        let first = acquire(d.path(), "config", Duration::ZERO, "T0").unwrap();
        let err = acquire(d.path(), "config", Duration::from_millis(120), "T1").unwrap_err();
        assert_eq!(crate::exit::code_of(&err), Code::TempFail);
        let msg = format!("{err:#}");
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        acquire(d.path(), "config", Duration::ZERO, "T2").unwrap();
    }

    #[test]
    fn different_jobs_do_not_block_each_other() {
        let d = tempfile::tempdir().unwrap();
        let _a = acquire(d.path(), "a", Duration::ZERO, "T").unwrap();
        let _b = acquire(d.path(), "b", Duration::ZERO, "T").unwrap();
    }
}
