//! Hostile input, run the way cron would meet it: every job against a generated OpenClaw home
//! whose files are replaced one at a time by something bad (invalid UTF-8, NUL, a truncated
//! file, a 50 MB line, 30k-deep nesting, a FIFO, a directory, a symlink loop, a file only root
//! may read, absurd numbers), plus read-only and full state directories, a clock before the
//! last run, a closed stdout, and manifests that point outside their target.
//!
//! Every run is under a timeout and must end with a documented exit code; a failure must be
//! one line naming the file; nothing the operator had may be gone afterwards.

use crate::common::{self, Run, Sandbox};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-21T08:00:00Z";
/// Exit codes README documents for a job (2 is clap's usage error, not expected here).
const DOCUMENTED: [i32; 7] = [0, 1, 65, 66, 74, 75, 78];

/// Run `c` with a deadline; a run still going after it is a hang (killed, reported as -2).
fn run_timeout(mut c: Command, limit: Duration) -> (Run, Duration) {
    use std::io::Read;
    let t = Instant::now();
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn claw");
    // Drain both pipes on threads so a chatty child never blocks on a full pipe.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let ho = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let he = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code().unwrap_or(-1);
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break -2;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&ho.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&he.join().unwrap()).into_owned();
    (
        Run {
            code,
            stdout,
            stderr,
        },
        t.elapsed(),
    )
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o644) },
        0,
        "mkfifo {p:?}"
    );
}

/// Ways to spoil one file. Each returns nothing: the file at `p` is replaced.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bad {
    InvalidUtf8,
    Nul,
    Truncated,
    HugeLine,
    Deep,
    Fifo,
    Directory,
    SymlinkLoop,
    Unreadable,
    AbsurdNumbers,
}

const ALL_BAD: [Bad; 10] = [
    Bad::InvalidUtf8,
    Bad::Nul,
    Bad::Truncated,
    Bad::HugeLine,
    Bad::Deep,
    Bad::Fifo,
    Bad::Directory,
    Bad::SymlinkLoop,
    Bad::Unreadable,
    Bad::AbsurdNumbers,
];

fn spoil(p: &Path, how: Bad, original: &[u8]) {
    let _ = fs::remove_file(p);
    match how {
        Bad::InvalidUtf8 => {
            let mut v = original[..original.len() / 2].to_vec();
            v.extend_from_slice(b"\xff\xfe\xc3(\n");
            v.extend_from_slice(&original[original.len() / 2..]);
            fs::write(p, v).unwrap();
        }
        Bad::Nul => {
            let mut v = original.to_vec();
            let at = v.len() / 3;
            v.splice(at..at, [0u8; 16]);
            fs::write(p, v).unwrap();
        }
        Bad::Truncated => fs::write(p, &original[..original.len() * 2 / 3]).unwrap(),
        Bad::HugeLine => {
            let mut v = b"{\"x\":\"".to_vec();
            v.resize(50 << 20, b'a');
            v.extend_from_slice(b"\"}\n");
            fs::write(p, v).unwrap();
        }
        Bad::Deep => {
            let mut v = b"{\"a\":".to_vec();
            v.extend(std::iter::repeat_n(b'[', 30_000));
            v.extend(std::iter::repeat_n(b']', 30_000));
            v.extend_from_slice(b"}\n");
            fs::write(p, v).unwrap();
        }
        Bad::Fifo => mkfifo(p),
        Bad::Directory => fs::create_dir(p).unwrap(),
        Bad::SymlinkLoop => {
            let other = p.with_extension("loop");
            let _ = fs::remove_file(&other);
            std::os::unix::fs::symlink(&other, p).unwrap();
            std::os::unix::fs::symlink(p, &other).unwrap();
        }
        Bad::Unreadable => {
            fs::write(p, original).unwrap();
            fs::set_permissions(p, fs::Permissions::from_mode(0o000)).unwrap();
        }
        Bad::AbsurdNumbers => {
            let t = String::from_utf8_lossy(original);
            let re = regex::Regex::new(r"(:\s*)(-?\d+(\.\d+)?)").unwrap();
            let mut flip = 0;
            let out = re.replace_all(&t, |c: &regex::Captures| {
                flip += 1;
                let n = [
                    "1e308",
                    "-1e308",
                    "18446744073709551616",
                    "-9223372036854775809",
                ][flip % 4];
                format!("{}{n}", &c[1])
            });
            fs::write(p, out.as_bytes()).unwrap();
        }
    }
}

fn unspoil(p: &Path, original: &[u8]) {
    if let Ok(m) = fs::symlink_metadata(p) {
        if m.is_dir() {
            fs::remove_dir_all(p).unwrap();
        } else {
            fs::remove_file(p).unwrap();
        }
    }
    let _ = fs::remove_file(p.with_extension("loop"));
    fs::write(p, original).unwrap();
}

/// A sandbox with a generated home at `~/.openclaw` and settings pointing the log readers at
/// its gateway logs.
fn home() -> Sandbox {
    let s = Sandbox::new();
    fs::remove_dir_all(s.openclaw()).unwrap();
    s.gen_home("home/.openclaw", 7, "both");
    let logs = s.openclaw().join("logs/gateway");
    s.write_settings(&format!(
        "[rate_limit]\nlog_dirs = [{l:?}]\njournald = \"off\"\n[stuck]\nlog_dir = {l:?}\n",
        l = logs.to_str().unwrap()
    ));
    s
}

fn first_file(dir: &Path, suffix: &str) -> PathBuf {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v.into_iter()
        .next()
        .unwrap_or_else(|| panic!("no *{suffix} in {dir:?}"))
}

/// A good first run of every job: the state the bad runs must keep.
fn clean_runs(s: &Sandbox) {
    for job in JOBS {
        let mut args = vec!["--now", NOW];
        args.extend_from_slice(job.args);
        let r = s.run(&args);
        assert!(
            [0, 1].contains(&r.code),
            "clean run of {:?}: {}\n{}",
            job.args,
            r.code,
            r.stderr
        );
    }
}

/// Shapes left out for a file (each `continue` says why).
fn shape_skipped(what: &str, how: Bad) -> bool {
    // The 50 MB line costs seconds per run in a debug build: the readers of whole
    // files get it, the rest is covered by the other shapes.
    if how == Bad::HugeLine && !["config", "transcript", "gateway log"].contains(&what) {
        return true;
    }
    // Absurd usage numbers in a transcript (counted, summed, stored) are the numeric
    // bounds' own tests (cost module); here they would only repeat them.
    if how == Bad::AbsurdNumbers && what == "transcript" {
        return true;
    }
    false
}

/// Readers left out for a shape.
fn reader_skipped(what: &str, how: Bad, job: &Job) -> bool {
    // One reader per file gets the 50 MB line (seconds per run in a debug build).
    if how == Bad::HugeLine
        && !matches!(
            (what, job.args[0]),
            ("config", "config")
                | ("transcript", "cost-track")
                | ("gateway log", "rate-limit-detect")
        )
    {
        return true;
    }
    if how == Bad::HugeLine && what == "config" && job.args[1] != "validate" {
        return true;
    }
    false
}

/// Nothing lost: every config backup taken before is still listed and restorable.
fn nothing_lost(s: &Sandbox, backups_before: &[String]) {
    // Nothing lost: every config backup taken before is still listed and restorable (its
    // content verifies), and the transcript store verifies.
    let after = config_ids(s);
    for id in backups_before {
        assert!(after.contains(id), "backup {id} lost");
        // diff's convention: 0 the same, 1 different; anything else is a lost backup.
        let r = s.run(&["config", "diff", id, "current"]);
        assert!(r.code == 0 || r.code == 1, "backup {id}: {}", r.stderr);
    }
    s.run(&["--now", NOW, "compaction-backup", "verify"])
        .code(0);
}

/// The command line of `job` on the spoiled `file` (the import reads it as its argument; an
/// unreadable file is read by an unprivileged user, root reads everything).
fn job_cmd(s: &Sandbox, job: &Job, file: &Path, how: Bad) -> Command {
    let mut args = vec!["--now", NOW];
    args.extend_from_slice(job.args);
    let import_arg;
    if job.args == IMPORT.args {
        import_arg = file.to_str().unwrap().to_string();
        args.push(&import_arg);
    }
    if how == Bad::Unreadable {
        s.unprivileged_cmd(&args)
    } else {
        s.cmd(&args)
    }
}

/// The corpus: each job against each file it reads, spoiled every way.
#[test]
fn bad_input_corpus_per_job() {
    let s = home();
    let oc = s.openclaw();
    let sessions = oc.join("agents/main/sessions");
    let transcript = first_file(&sessions, ".jsonl");
    let log = first_file(&oc.join("logs/gateway"), ".log");
    // A price table to import, and a good first run of every job (the state to keep).
    let prices = s.write(
        "prices.json",
        r#"{"claude-sonnet-4-5":{"input_cost_per_token":3e-6,"output_cost_per_token":1.5e-5,"litellm_provider":"anthropic"}}"#,
    );
    clean_runs(&s);
    let backups_before = config_ids(&s);
    let targets: Vec<(&str, PathBuf, Vec<&Job>)> = vec![
        ("config", s.config(), JOBS.iter().collect()),
        ("settings", s.settings(), vec![&JOBS[0], &JOBS[3]]),
        (
            "sessions.json",
            sessions.join("sessions.json"),
            JOBS.iter().filter(|j| j.reads_store).collect(),
        ),
        (
            "transcript",
            transcript.clone(),
            JOBS.iter().filter(|j| j.reads_store).collect(),
        ),
        (
            "runs.json",
            oc.join("subagents/runs.json"),
            JOBS.iter().filter(|j| j.args[0] == "stuck-agent").collect(),
        ),
        (
            "auth-state.json",
            oc.join("agents/main/agent/auth-state.json"),
            JOBS.iter()
                .filter(|j| j.args[0] == "rate-limit-detect")
                .collect(),
        ),
        (
            "gateway log",
            log.clone(),
            JOBS.iter()
                .filter(|j| ["rate-limit-detect", "stuck-agent"].contains(&j.args[0]))
                .collect(),
        ),
        ("price table", prices.clone(), vec![&IMPORT]),
    ];
    let (mut cases, mut failed_cleanly, mut tolerated) = (0, 0, 0);
    let mut problems = Vec::new();
    let t0 = Instant::now();
    let mut by_shape = std::collections::BTreeMap::new();
    for (what, file, jobs) in &targets {
        let original = fs::read(file).unwrap();
        for how in ALL_BAD {
            if shape_skipped(what, how) {
                continue;
            }
            spoil(file, how, &original);
            for job in jobs {
                if reader_skipped(what, how, job) {
                    continue;
                }
                let cmd = job_cmd(&s, job, file, how);
                let limit = Duration::from_secs(if how == Bad::HugeLine { 180 } else { 30 });
                let (r, took) = run_timeout(cmd, limit);
                *by_shape.entry(format!("{how:?}")).or_insert(Duration::ZERO) += took;
                cases += 1;
                let name = file.file_name().unwrap().to_string_lossy().into_owned();
                let label = format!("{} on {what} ({how:?}) in {took:.1?}", job.args.join(" "));
                if r.code == -2 {
                    problems.push(format!("HANG: {label}"));
                } else if !DOCUMENTED.contains(&r.code) {
                    problems.push(format!(
                        "exit {} (undocumented): {label}\n{}",
                        r.code,
                        tail(&r.stderr)
                    ));
                } else if r.stderr.contains("panicked") || r.stderr.contains("overflow") {
                    problems.push(format!("PANIC: {label}\n{}", tail(&r.stderr)));
                } else if r.code > 1 {
                    let line = r
                        .stderr
                        .lines()
                        .rfind(|l| l.starts_with("claw: "))
                        .unwrap_or("");
                    if !line.contains(&name) && !line.contains(&*s.settings().to_string_lossy()) {
                        problems.push(format!(
                            "exit {} without naming {name}: {label}\n{}",
                            r.code,
                            tail(&r.stderr)
                        ));
                    }
                    failed_cleanly += 1;
                } else {
                    tolerated += 1;
                }
            }
            unspoil(file, &original);
        }
    }
    nothing_lost(&s, &backups_before);
    let _ = writeln!(
        std::io::stderr(),
        "adversarial corpus: {cases} runs ({failed_cleanly} refused with one line naming the file, \
         {tolerated} tolerated), {} problems, {:.0?}",
        problems.len(),
        t0.elapsed()
    );
    let _ = writeln!(std::io::stderr(), "time by shape: {by_shape:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn tail(s: &str) -> String {
    s.lines().rev().take(4).collect::<Vec<_>>().join("\n")
}

struct Job {
    args: &'static [&'static str],
    /// Reads agents' sessions.json and transcripts.
    reads_store: bool,
}

const JOBS: [Job; 8] = [
    Job {
        args: &["config", "validate"],
        reads_store: false,
    },
    Job {
        args: &["config", "backup"],
        reads_store: false,
    },
    Job {
        args: &["config", "heal"],
        reads_store: false,
    },
    Job {
        args: &["cost-track"],
        reads_store: true,
    },
    Job {
        args: &["compaction-backup"],
        reads_store: true,
    },
    Job {
        args: &["stuck-agent", "scan"],
        reads_store: true,
    },
    Job {
        args: &["rate-limit-detect"],
        reads_store: true,
    },
    Job {
        args: &["tunnel", "check"],
        reads_store: false,
    },
];
const IMPORT: Job = Job {
    args: &["pricing", "import"],
    reads_store: false,
};

fn config_ids(s: &Sandbox) -> Vec<String> {
    let r = s.run(&["--json", "config", "list"]);
    r.json()["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect()
}

// ---------- one test per fixed failure ----------

/// Run with stdout a pipe whose reader is already gone (`claw … | head -c0`).
fn run_closed_stdout(s: &Sandbox, args: &[&str]) -> Run {
    use std::os::unix::io::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe fills two descriptors we own from here on.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fds[0] is the read end we just created; closing it makes writes fail with EPIPE.
    unsafe { libc::close(fds[0]) };
    // SAFETY: fds[1] is ours and handed over exactly once.
    let w = unsafe { std::fs::File::from_raw_fd(fds[1]) };
    let mut c = s.cmd(args);
    c.stdout(Stdio::from(w));
    let (r, _) = run_timeout_keep_stdout(c);
    r
}

fn run_timeout_keep_stdout(mut c: Command) -> (Run, Duration) {
    let t = Instant::now();
    let out = c.stderr(Stdio::piped()).output().expect("run claw");
    (
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::new(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        t.elapsed(),
    )
}

#[test]
fn closed_stdout_ends_quietly() {
    let s = Sandbox::new();
    s.write_config("{gateway:{port:18789}}");
    s.run(&["config", "backup"]).code(0);
    for args in [
        &["completions", "bash"][..],
        &["config", "list"],
        &["--json", "config", "list"],
        &["sessions", "list"],
        &["man"],
    ] {
        let r = run_closed_stdout(&s, args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn non_ascii_log_file_name_is_skipped() {
    let s = Sandbox::new();
    s.write_config("{gateway:{port:18789}}");
    let d = s.root().join("tmp-openclaw");
    fs::create_dir_all(&d).unwrap();
    // A multi-byte character across byte 10 of the date once panicked (str slicing).
    for n in [
        "openclaw-2026-11-2\u{e9}.log",
        "openclaw-\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}.log",
    ] {
        fs::write(d.join(n), "x\n").unwrap();
    }
    s.run(&[
        "--now",
        NOW,
        "rate-limit-detect",
        "--log-dir",
        d.to_str().unwrap(),
    ])
    .code(0);
}

fn config_backup_dir(s: &Sandbox) -> PathBuf {
    let d = s.state().join("backups/config");
    let mut v: Vec<PathBuf> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    v.sort();
    v.pop().unwrap()
}

fn edit_manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = dir.join("manifest.json");
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    f(&mut v);
    fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn config_manifest_without_files_is_reported_not_a_panic() {
    let s = Sandbox::new();
    s.write_config("{gateway:{port:18789}}");
    s.run(&["config", "backup"]).code(0);
    let b = config_backup_dir(&s);
    edit_manifest(&b, |v| v["files"] = serde_json::json!([]));
    let r = s.run(&["config", "list"]);
    r.code(0);
    assert!(
        r.stderr
            .contains("manifest.json: damaged manifest: lists no files"),
        "{}",
        r.stderr
    );
    // The only backup is damaged: say so, not "no valid backup yet".
    let r = s.run(&["config", "restore", "--latest-valid"]);
    r.code(65);
    assert!(r.stderr.contains("damaged"), "{}", r.stderr);
    assert!(!r.stderr.contains("yet"), "{}", r.stderr);
}

#[test]
fn deeply_nested_config_is_refused_and_healed() {
    let s = Sandbox::new();
    s.write_config("{gateway:{port:18789}}");
    s.run(&["config", "backup"]).code(0);
    let deep = format!("{{a:{}{}}}", "[".repeat(30_000), "]".repeat(30_000));
    s.write_config(&deep);
    let r = s.run(&["config", "validate"]);
    r.code(1);
    assert!(
        r.stdout.contains("nested deeper than 128 levels"),
        "{}",
        r.stdout
    );
    s.run(&["config", "heal"]).code(1);
    assert_eq!(
        fs::read_to_string(s.config()).unwrap(),
        "{gateway:{port:18789}}"
    );
}

#[test]
fn fifo_config_and_price_table_do_not_hang_or_hold_the_lock() {
    let s = Sandbox::new();
    mkfifo(&s.config());
    for _ in 0..2 {
        // The second run proves the lock was given back (a hang would make it 75).
        let (r, took) = run_timeout(s.cmd(&["config", "backup"]), Duration::from_secs(20));
        assert_eq!(r.code, 66, "{}", r.stderr);
        assert!(took < Duration::from_secs(10));
        assert!(
            r.stderr
                .contains("openclaw.json: cannot read config: is a FIFO, not a regular file"),
            "{}",
            r.stderr
        );
    }
    let f = s.root().join("prices.fifo");
    mkfifo(&f);
    let (r, _) = run_timeout(
        s.cmd(&["pricing", "import", f.to_str().unwrap()]),
        Duration::from_secs(20),
    );
    assert_eq!(r.code, 66, "{}", r.stderr);
    assert!(r.stderr.contains("prices.fifo"), "{}", r.stderr);
}

#[test]
fn config_restore_never_writes_outside_the_config_dir() {
    let s = Sandbox::new();
    s.write("home/.openclaw/sub/inc.json5", "{port: 18789}");
    s.write_config("{gateway: {$include: \"./sub/inc.json5\"}}");
    s.run(&["config", "backup"]).code(0);
    let b = config_backup_dir(&s);
    let id = b.file_name().unwrap().to_string_lossy().into_owned();
    // `restore_to` rewritten to climb out: the manifest is refused as damaged.
    edit_manifest(&b, |v| v["files"][1]["restore_to"] = "../../x".into());
    let r = s.run(&["config", "restore", &id, "--force"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("climbs out"), "{}", r.stderr);
    assert!(!s.root().join("x").exists() && !s.home().join("x").exists());
    // An untouched backup whose include directory became a symlink to elsewhere: refused at
    // restore time, nothing written.
    edit_manifest(&b, |v| v["files"][1]["restore_to"] = "sub/inc.json5".into());
    let outside = s.root().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::remove_dir_all(s.openclaw().join("sub")).unwrap();
    std::os::unix::fs::symlink(&outside, s.openclaw().join("sub")).unwrap();
    s.write_config("{}");
    let r = s.run(&["config", "restore", &id, "--force"]);
    r.code(65);
    assert!(r.stderr.contains("symlink"), "{}", r.stderr);
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    assert_eq!(
        fs::read_to_string(s.config()).unwrap(),
        "{}",
        "nothing restored"
    );
}

#[test]
fn corrupt_ledger_is_bad_data() {
    let s = Sandbox::new();
    s.write_config("{gateway:{port:18789}}");
    fs::create_dir_all(s.state()).unwrap();
    fs::write(s.state().join("ledger.db"), vec![0x5a; 8192]).unwrap();
    let r = s.run(&["config", "backup"]);
    r.code(65);
    assert!(r.stderr.contains("ledger.db"), "{}", r.stderr);
}

#[test]
fn killed_prune_and_backup_leave_nothing_half_done() {
    let s = Sandbox::new();
    s.write_settings(
        "[config.retention]\nkeep_last = 1\nhourly = 0\ndaily = 0\nweekly = 0\nmonthly = 0\n",
    );
    for (i, t) in ["2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z"]
        .iter()
        .enumerate()
    {
        s.write_config(&format!("{{gateway:{{port:{}}}}}", 18000 + i));
        s.run(&["--now", t, "config", "backup"]).code(0);
    }
    // Third backup: prune removes the oldest and is killed between trash and delete.
    s.write_config("{gateway:{port:18999}}");
    let r = s.run_env(
        &["--now", "2026-11-20T12:00:00Z", "config", "backup"],
        &[("CLAW_FAULT", "config-prune-in-trash")],
    );
    assert_ne!(r.code, 0);
    let listed = s.run(&["--json", "config", "list"]).json()["backups"].clone();
    for b in listed.as_array().unwrap() {
        s.run(&["config", "diff", b["id"].as_str().unwrap(), "current"])
            .code(0);
    }
    assert!(s.state().join("backups/config/.trash").exists());
    // Killed after the ledger row and before the rename: no backup listed without its row.
    s.write_config("{gateway:{port:18998}}");
    let r = s.run_env(
        &["--now", "2026-11-20T13:00:00Z", "config", "backup"],
        &[("CLAW_FAULT", "config-backup-before-publish")],
    );
    assert_ne!(r.code, 0);
    s.run(&["--now", "2026-11-20T14:00:00Z", "config", "backup"])
        .code(0);
    let left: Vec<String> = fs::read_dir(s.state().join("backups/config"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "leftovers after the next run: {left:?}");
    let c = rusqlite::Connection::open(s.state().join("ledger.db")).unwrap();
    for b in s.run(&["--json", "config", "list"]).json()["backups"]
        .as_array()
        .unwrap()
    {
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM config_backups WHERE id = ?1",
                [b["id"].as_str().unwrap()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "backup {} has no ledger row", b["id"]);
    }
}

/// A generated home with two compaction-backup runs (so retention has something to remove).
fn cbackup_home() -> Sandbox {
    let s = home();
    s.run(&["--now", NOW, "compaction-backup"]).code(0);
    let sessions = s.openclaw().join("agents/main/sessions");
    let t = first_file(&sessions, ".jsonl");
    let mut text = fs::read_to_string(&t).unwrap();
    let last = text.lines().last().unwrap().to_string();
    text.push_str(&last);
    text.push('\n');
    fs::write(&t, text).unwrap();
    s.run(&["--now", "2026-11-21T08:05:00Z", "compaction-backup"])
        .code(0);
    s
}

fn manifests_of(s: &Sandbox) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(s.state().join("backups/sessions/snapshots"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    v.sort();
    v
}

fn chunk_count(s: &Sandbox) -> usize {
    walkdir::WalkDir::new(s.state().join("backups/sessions/chunks"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .count()
}

#[test]
fn unreadable_snapshot_manifest_keeps_every_chunk() {
    let s = cbackup_home();
    s.write_settings(&format!(
        "{}[compaction_backup]\nkeep_last = 1\n",
        fs::read_to_string(s.settings()).unwrap()
    ));
    let chunks = chunk_count(&s);
    let victim = manifests_of(&s)[0].clone();
    let original = fs::read(&victim).unwrap();
    for how in [Bad::Directory, Bad::Fifo, Bad::SymlinkLoop, Bad::Truncated] {
        spoil(&victim, how, &original);
        let (r, _) = run_timeout(
            s.cmd(&["--now", NOW, "compaction-backup", "prune"]),
            Duration::from_secs(30),
        );
        assert_eq!(r.code, 0, "{how:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("retention paused") && r.stderr.contains(&*victim.to_string_lossy()),
            "{how:?}: {}",
            r.stderr
        );
        assert_eq!(chunk_count(&s), chunks, "{how:?}: a chunk was removed");
        // Restore cannot tell the session is absent: it says the manifests are unreadable.
        let r = s.run(&[
            "sessions",
            "restore",
            "no-such-session",
            "--to",
            "/nonexistent",
        ]);
        r.code(65);
        assert!(r.stderr.contains("unreadable"), "{}", r.stderr);
        unspoil(&victim, &original);
    }
}

#[test]
fn snapshot_paths_are_confined_and_ids_checked() {
    use sha2::Digest;
    let s = cbackup_home();
    let victim = manifests_of(&s)
        .into_iter()
        .find(|p| {
            let v: serde_json::Value = serde_json::from_slice(&fs::read(p).unwrap()).unwrap();
            v["kind"] == "live"
        })
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&victim).unwrap()).unwrap();
    let sid = v["session_id"].as_str().unwrap().to_string();
    // Only the path changed (to a plausible one): the id no longer matches the content.
    v["path"] = "agents/main/sessions/evil.jsonl".into();
    fs::write(&victim, serde_json::to_vec(&v).unwrap()).unwrap();
    // The edited manifest is reported and skipped (another snapshot may serve the restore).
    let r = s.run(&["sessions", "restore", &sid, "--force"]);
    assert!(
        r.stderr.contains("does not match its path and content"),
        "{}",
        r.stderr
    );
    assert!(!s
        .openclaw()
        .join("agents/main/sessions/evil.jsonl")
        .exists());
    v["path"] = "../../evil.jsonl".into();
    // An id recomputed to match the escaping path is refused for the path itself.
    let id = {
        let h = sha2::Sha256::digest(format!(
            "../../evil.jsonl\0{}",
            v["sha256"].as_str().unwrap()
        ));
        h.iter().map(|b| format!("{b:02x}")).collect::<String>()[..16].to_string()
    };
    v["id"] = id.clone().into();
    fs::remove_file(&victim).unwrap();
    let moved = victim.with_file_name(format!("{id}.json"));
    fs::write(&moved, serde_json::to_vec(&v).unwrap()).unwrap();
    let r = s.run(&["sessions", "restore", "--snapshot", &id, &sid, "--force"]);
    r.code(65);
    assert!(r.stderr.contains("climbs out"), "{}", r.stderr);
    assert!(!s.root().join("evil.jsonl").exists() && !s.home().join("evil.jsonl").exists());
}

/// A tmpfs mounted over a directory for the life of the guard.
struct Mount(PathBuf);
impl Mount {
    fn tmpfs(dir: &Path, opts: &str) -> Option<Mount> {
        fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(dir.to_path_buf()))
    }
    fn read_only(&self) {
        let st = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success(), "remount ro");
    }
}
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Every file under `dir` with its bytes, except auth-state.json (rate-limit-detect's breaker
/// actions write it on purpose).
fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && e.file_name() != "auth-state.json")
        .map(|e| (e.path().to_path_buf(), fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

/// Each writing job against a read-only state dir and against a full one (a 96 KiB tmpfs),
/// then with the clock set before the last run: documented codes, one line naming the state
/// file, OpenClaw's files untouched, and everything works again once there is room.
#[test]
fn read_only_and_full_state_and_a_clock_that_went_back() {
    let writers: [&[&str]; 5] = [
        &["config", "backup"],
        &["compaction-backup"],
        &["cost-track"],
        &["rate-limit-detect"],
        &["stuck-agent", "scan"],
    ];
    let s = home();
    let before = snapshot_tree(&s.openclaw());
    let state = s.state();
    let check = |r: &Run, label: &str| {
        assert!(
            DOCUMENTED.contains(&r.code),
            "{label}: exit {}\n{}",
            r.code,
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{label}: {}", r.stderr);
        if r.code > 1 {
            let line = r
                .stderr
                .lines()
                .rfind(|l| l.starts_with("claw: "))
                .unwrap_or("");
            assert!(
                line.contains(&*state.to_string_lossy()),
                "{label}: {}",
                r.stderr
            );
        }
    };
    let Some(full) = Mount::tmpfs(&state, "size=96k,mode=0700") else {
        common::skip("cannot mount a tmpfs (not root?): read-only and full-disk cases");
        return;
    };
    let mut refused = 0;
    for w in writers {
        let mut a = vec!["--now", NOW];
        a.extend_from_slice(w);
        let (r, _) = run_timeout(s.cmd(&a), Duration::from_secs(60));
        check(&r, &format!("full disk: {w:?}"));
        refused += usize::from(r.code > 1);
    }
    assert!(refused > 0, "a 96 KiB state dir refused nothing?");
    drop(full);
    // Room again: every job runs, then the same state goes read-only.
    for w in writers {
        let mut a = vec!["--now", NOW];
        a.extend_from_slice(w);
        let r = s.run(&a);
        assert!([0, 1].contains(&r.code), "{w:?}: {}", r.stderr);
    }
    let report = s.run(&["--now", NOW, "--json", "cost", "report"]).json()["rows"].clone();
    let keep = s.root().join("state-copy");
    fs::rename(&state, &keep).unwrap();
    let ro = Mount::tmpfs(&state, "size=64m,mode=0700").unwrap();
    assert!(Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", keep.display()))
        .arg(&state)
        .status()
        .unwrap()
        .success());
    ro.read_only();
    for w in writers {
        let mut a = vec!["--now", "2026-11-21T09:00:00Z"];
        a.extend_from_slice(w);
        let (r, _) = run_timeout(s.cmd(&a), Duration::from_secs(60));
        check(&r, &format!("read-only: {w:?}"));
        assert_ne!(r.code, 0, "read-only: {w:?} claimed success");
    }
    drop(ro);
    fs::remove_dir(&state).ok();
    fs::rename(&keep, &state).unwrap();
    // The clock went back two days: nothing fails, nothing is counted twice.
    for w in writers {
        let mut a = vec!["--now", "2026-11-19T08:00:00Z"];
        a.extend_from_slice(w);
        let r = s.run(&a);
        assert!([0, 1].contains(&r.code), "clock back: {w:?}: {}", r.stderr);
    }
    assert_eq!(
        s.run(&["--now", NOW, "--json", "cost", "report"]).json()["rows"],
        report,
        "cost totals changed after the clock went back"
    );
    let after = snapshot_tree(&s.openclaw());
    // Nothing lost: every file OpenClaw had is still there, byte for byte (jobs may add their
    // own state files, and SQLite its -wal/-shm beside a database it reads).
    let changed: Vec<&PathBuf> = before
        .iter()
        .filter(|f| !after.contains(f))
        .map(|(p, _)| p)
        .collect();
    assert!(
        changed.is_empty(),
        "OpenClaw's files changed or gone: {changed:?}"
    );
}

#[test]
fn a_killed_sessions_restore_leaves_no_copy_in_openclaws_dir() {
    let s = cbackup_home();
    let live = manifests_of(&s)
        .into_iter()
        .map(|p| serde_json::from_slice::<serde_json::Value>(&fs::read(p).unwrap()).unwrap())
        .find(|v| v["kind"] == "live" && v["agent"] == "main")
        .unwrap();
    let sid = live["session_id"].as_str().unwrap();
    let r = s.run(&["--json", "sessions", "restore", sid, "--force"]);
    r.code(0);
    let target = PathBuf::from(r.json()["detail"]["path"].as_str().unwrap());
    // What a restore killed before its rename leaves (the PID-named temp of an older claw too).
    let left = target.with_file_name(format!(
        ".{}.claw-restore-4242",
        target.file_name().unwrap().to_string_lossy()
    ));
    fs::write(&left, "half a transcript").unwrap();
    s.run(&["sessions", "restore", sid, "--force"]).code(0);
    assert!(!left.exists(), "temp copy of a killed restore still there");
}
