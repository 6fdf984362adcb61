//! The progress line of long first runs: drawn on a terminal (driven under `script`, which
//! gives the run a pseudo-terminal), never with `-q`, never when stderr is not a terminal.

use crate::common::{skip, Sandbox};
use std::process::Command;

/// Runs `claw <args>` under `script` (stderr on a pseudo-terminal); what the terminal showed.
fn on_a_tty(s: &Sandbox, args: &[&str]) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        skip("`script` (util-linux) is not installed: cannot give claw a terminal");
        return None;
    }
    let claw = env!("CARGO_BIN_EXE_claw");
    let line = std::iter::once(claw)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    // The sandbox's environment, with the draw-at-once test switch; script runs the line in
    // a shell on a new pseudo-terminal and copies what it shows to its stdout.
    let mut c = s.cmd(&[]);
    let c = c
        .env("CLAW_FAULT", "progress-now")
        .env_remove("CLAW_SETTINGS");
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("CLAW_SETTINGS", s.settings())
        .output()
        .expect("run script");
    assert!(
        out.status.success(),
        "claw under script failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A fresh sandbox with a generated home of both eras; the args that point claw at it.
fn home() -> (Sandbox, Vec<String>) {
    let s = Sandbox::new();
    let (home, _) = s.gen_home("oc", 3, "both");
    s.write_settings("[general]\ntimezone = \"UTC\"\n");
    let args = [
        "--openclaw-dir",
        home.to_str().unwrap(),
        "--now",
        "2026-11-21T08:00:00Z",
    ];
    (s, args.map(String::from).to_vec())
}

fn with<'a>(args: &'a [String], more: &[&'a str]) -> Vec<&'a str> {
    args.iter()
        .map(String::as_str)
        .chain(more.iter().copied())
        .collect()
}

#[test]
fn a_first_run_on_a_terminal_shows_progress_and_quiet_or_a_pipe_shows_none() {
    // Not a terminal (a pipe, as under cron): nothing at all, even with the switch on.
    let (s, args) = home();
    let mut piped = s.cmd(&with(&args, &["cost-track"]));
    let out = piped.env("CLAW_FAULT", "progress-now").output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A terminal with -q: nothing either.
    let (s, args) = home();
    let Some(shown) = on_a_tty(&s, &with(&args, &["-q", "cost-track"])) else {
        return;
    };
    assert!(
        !shown.contains("cost-track:"),
        "-q shows no progress: {shown:?}"
    );
    let shown = on_a_tty(&s, &with(&args, &["compaction-backup"])).unwrap();
    assert!(
        shown.contains("compaction-backup: ") && shown.contains(" files, ") && shown.contains("/s"),
        "{shown:?}"
    );

    // A terminal: the line, with files and bytes done of the total, and the rate. (The
    // transcripts are an hour old, so the archives settle and the run seals them.)
    let (s, args) = home();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for e in walkdir::WalkDir::new(&args[1])
        .into_iter()
        .map(Result::unwrap)
    {
        if e.file_type().is_file() && e.path().to_string_lossy().contains("/sessions/") {
            let f = std::fs::OpenOptions::new()
                .append(true)
                .open(e.path())
                .unwrap();
            f.set_modified(hour_ago).unwrap();
        }
    }
    let shown = on_a_tty(&s, &with(&args, &["cost-track"])).unwrap();
    let parts: Vec<&str> = shown.split('\r').collect();
    let i = parts
        .iter()
        .rposition(|l| l.starts_with("cost-track: "))
        .unwrap_or_else(|| panic!("no progress line on the terminal: {shown:?}"));
    assert!(
        parts[i].contains(" files, ") && parts[i].contains("%)") && parts[i].contains("/s"),
        "{shown:?}"
    );
    // Cleared before the run ends: the last drawing is followed by blanks as long as it.
    let drawn_len = parts[i].trim_end().len();
    assert!(
        parts[i + 1..]
            .iter()
            .any(|l| l.len() >= drawn_len && l.trim().is_empty()),
        "{shown:?}"
    );

    // The next run's total is what is left to read: one live file that grew and the agent
    // database (always opened to compare its stamp), not the archives the first run sealed.
    let sessions = std::path::Path::new(&args[1]).join("agents/main/sessions");
    let live = std::fs::read_dir(&sessions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".jsonl") && n.matches('.').count() == 1
        })
        .expect("a live transcript in the generated home");
    // (A run in between drops the cursors of the archives sealed by the first.)
    s.run(&with(&args, &["cost-track"])).code(0);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&live)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"type\":\"custom\",\"customType\":\"note\"}\n").unwrap();
    let shown = on_a_tty(&s, &with(&args, &["cost-track"])).unwrap();
    assert!(shown.contains("cost-track: 1/2 files"), "{shown:?}");
}
