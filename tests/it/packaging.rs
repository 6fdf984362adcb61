//! Packaging: the systemd units in jobs/ (verified by systemd-analyze when present, and in
//! step with the built-in schedule), crontab.example, and scripts/install.sh (dry run, real
//! install into a temp HOME, idempotence, uninstall).

use crate::common::{run_cmd, Run};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn units(variant: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("jobs").join(variant))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn every_unit_passes_systemd_analyze_verify() {
    let have = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        crate::common::skip("systemd-analyze not found (install systemd): unit verification");
        return;
    }
    let claw = env!("CARGO_BIN_EXE_claw");
    for variant in ["system", "user"] {
        let dir = tempfile::tempdir().unwrap();
        let mut names = Vec::new();
        for u in units(variant) {
            // verify checks that ExecStart exists: point it at the binary under test.
            let text = std::fs::read_to_string(&u)
                .unwrap()
                .replace("%h/.local/bin/claw", claw)
                .replace("/usr/local/bin/claw", claw);
            let name = u.file_name().unwrap().to_string_lossy().into_owned();
            std::fs::write(dir.path().join(&name), text).unwrap();
            names.push(name);
        }
        let runtime = tempfile::tempdir().unwrap();
        let mut c = Command::new("systemd-analyze");
        if variant == "user" {
            c.arg("--user").env("XDG_RUNTIME_DIR", runtime.path());
        }
        c.args(["verify", "--man=no"])
            .args(&names)
            .current_dir(dir.path());
        let r = run_cmd(c);
        // verify exits 0 even for unknown keys; any output is a problem.
        assert!(
            r.code == 0 && r.stderr.trim().is_empty() && r.stdout.trim().is_empty(),
            "{variant} units: exit {}\n{}{}",
            r.code,
            r.stdout,
            r.stderr
        );
    }
}

#[test]
fn units_are_what_the_generator_writes_and_match_the_schedule() {
    let out = tempfile::tempdir().unwrap();
    let r = run_cmd({
        let mut c = Command::new(repo().join("scripts/gen-units.sh"));
        c.arg(out.path());
        c
    });
    r.code(0);
    for variant in ["system", "user"] {
        for u in units(variant) {
            let gen = out.path().join(variant).join(u.file_name().unwrap());
            assert_eq!(
                std::fs::read_to_string(&u).unwrap(),
                std::fs::read_to_string(&gen).unwrap_or_default(),
                "{} differs from scripts/gen-units.sh output; re-run it",
                u.display()
            );
        }
        assert_eq!(
            std::fs::read_dir(out.path().join(variant)).unwrap().count(),
            units(variant).len()
        );
    }
    let cron = std::fs::read_to_string(repo().join("crontab.example")).unwrap();
    for j in claw::jobs::JOBS {
        let argv = j.argv.join(" ");
        for variant in ["system", "user"] {
            let svc = repo().join(format!("jobs/{variant}/claw-{}.service", j.name));
            let text = std::fs::read_to_string(&svc)
                .unwrap_or_else(|_| panic!("{}: missing", svc.display()));
            assert!(
                text.lines()
                    .any(|l| l.starts_with("ExecStart=") && l.ends_with(&format!("/claw {argv}"))),
                "{}: ExecStart does not run `claw {argv}`",
                svc.display()
            );
            for key in [
                "Type=oneshot",
                "ProtectSystem=strict",
                "NoNewPrivileges=yes",
                "PrivateTmp=yes",
                "TimeoutStartSec=",
                "Nice=",
                "ReadWritePaths=",
            ] {
                assert!(text.contains(key), "{}: no {key}", svc.display());
            }
            let timer = std::fs::read_to_string(svc.with_extension("timer")).unwrap();
            for key in ["OnCalendar=", "Persistent=true", "RandomizedDelaySec="] {
                assert!(timer.contains(key), "{}: no {key}", svc.display());
            }
        }
        assert!(
            cron.contains(&format!("/claw {argv}")),
            "crontab.example has no line for {argv}"
        );
    }
}

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn install(&self, args: &[&str]) -> Run {
        let mut c = Command::new(repo().join("scripts/install.sh"));
        c.args(["--bin", env!("CARGO_BIN_EXE_claw")])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("CRONTAB", repo().join("tests/it/fake-crontab.sh"))
            .env("FAKE_CRONTAB_FILE", self.p("crontab"));
        run_cmd(c)
    }
    fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut v: Vec<(PathBuf, Vec<u8>)> = walk(self.dir.path())
            .into_iter()
            .map(|p| {
                let b = std::fs::read(&p).unwrap();
                (p, b)
            })
            .collect();
        v.sort();
        v
    }
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn install_dry_run_changes_nothing() {
    let h = Home::new();
    let r = h.install(&["--dry-run", "--mode", "systemd", "--no-enable"]);
    r.code(0);
    assert!(r.stdout.contains("would: install"), "{}", r.stdout);
    assert!(
        r.stdout.contains(".config/systemd/user/claw-tick.timer"),
        "{}",
        r.stdout
    );
    assert!(h.files().is_empty(), "dry run wrote {:?}", h.files());
    let r = h.install(&["--dry-run", "--mode", "cron"]);
    r.code(0);
    assert!(
        r.stdout.contains("would: add to your crontab: * * * * * "),
        "{}",
        r.stdout
    );
    assert!(h.files().is_empty());
}

#[test]
fn install_into_a_temp_home_is_idempotent_and_uninstalls() {
    let h = Home::new();
    let r = h.install(&["--mode", "systemd", "--no-enable"]);
    r.code(0);
    let bin = h.p(".local/bin/claw");
    assert!(bin.is_file());
    let unit = std::fs::read_to_string(h.p(".config/systemd/user/claw-tick.service")).unwrap();
    assert!(
        unit.contains(&format!("ExecStart={} tick", bin.display())),
        "{unit}"
    );
    assert!(h.p(".config/systemd/user/claw-tick.timer").is_file());
    assert!(h.p(".local/share/man/man1/claw.1").is_file());
    assert!(h
        .p(".local/share/bash-completion/completions/claw")
        .is_file());
    let settings = h.p(".config/claw/claw.toml");
    assert!(settings.is_file());

    // The installed claw runs, reads the installed settings, and sees the timer.
    let mut c = Command::new(&bin);
    c.args(["doctor", "--json"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", h.dir.path());
    let doc: serde_json::Value = serde_json::from_str(&run_cmd(c).stdout).unwrap();
    let timers = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "timers installed")
        .unwrap();
    assert_eq!(timers["status"], "ok", "{doc:#}");

    // A second run changes nothing; an edited settings file is kept.
    std::fs::write(&settings, "[alerts]\ncooldown_secs = 60\n").unwrap();
    let before = h.files();
    h.install(&["--mode", "systemd", "--no-enable"]).code(0);
    assert_eq!(before, h.files(), "second install changed files");

    let r = h.install(&["--uninstall", "--no-enable"]);
    r.code(0);
    assert!(!bin.exists());
    assert!(!h.p(".config/systemd/user/claw-tick.timer").exists());
    assert!(!h.p(".local/share/man/man1/claw.1").exists());
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "[alerts]\ncooldown_secs = 60\n"
    );
    h.install(&["--uninstall", "--no-enable"]).code(0);
}

#[test]
fn cron_mode_adds_one_line_once_and_removes_it() {
    let h = Home::new();
    std::fs::write(h.p("crontab"), "0 5 * * * /usr/bin/other-job\n").unwrap();
    h.install(&["--mode", "cron"]).code(0);
    h.install(&["--mode", "cron"]).code(0);
    let tab = std::fs::read_to_string(h.p("crontab")).unwrap();
    assert_eq!(tab.matches(" tick\n").count(), 1, "{tab}");
    assert!(tab.contains("0 5 * * * /usr/bin/other-job"), "{tab}");
    assert!(
        tab.contains(&format!("PATH={}", h.p(".local/bin").display())),
        "{tab}"
    );
    h.install(&["--uninstall"]).code(0);
    let tab = std::fs::read_to_string(h.p("crontab")).unwrap();
    assert_eq!(tab, "0 5 * * * /usr/bin/other-job\n");
}

#[test]
fn cron_mode_keeps_the_rest_of_the_crontab_byte_for_byte() {
    let h = Home::new();
    let mine = "MAILTO=me\n\n# nightly\n0 5 * * * /usr/bin/other-job\n\n\n30 6 * * 1 /usr/bin/weekly  # trailing\n";
    std::fs::write(h.p("crontab"), mine).unwrap();
    h.install(&["--mode", "cron"]).code(0);
    let tab = std::fs::read_to_string(h.p("crontab")).unwrap();
    assert!(tab.starts_with(mine), "{tab}");
    assert_eq!(tab.matches(" tick\n").count(), 1, "{tab}");
    // Installing again changes nothing; uninstalling gives back exactly what was there.
    h.install(&["--mode", "cron"]).code(0);
    assert_eq!(std::fs::read_to_string(h.p("crontab")).unwrap(), tab);
    let r = h.install(&["--uninstall", "--dry-run"]);
    r.code(0);
    assert!(
        r.stdout.contains("would: remove the claw block"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("uninstalled"), "{}", r.stdout);
    assert!(
        r.stdout.contains("dry run: nothing was removed"),
        "{}",
        r.stdout
    );
    assert_eq!(std::fs::read_to_string(h.p("crontab")).unwrap(), tab);
    assert!(h.p(".local/bin/claw").exists());
    h.install(&["--uninstall"]).code(0);
    assert_eq!(std::fs::read_to_string(h.p("crontab")).unwrap(), mine);
}

#[test]
fn system_install_writes_units_for_the_account_and_uninstalls() {
    let h = Home::new();
    let root = h.p("root");
    let root_s = root.to_str().unwrap();
    let args = [
        "--system",
        "--user",
        "svc-oc",
        "--root",
        root_s,
        "--no-enable",
    ];
    h.install(&args).code(0);
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/claw-tick.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/claw tick"),
        "{unit}"
    );
    assert!(unit.contains("\nUser=svc-oc\n"), "{unit}");
    assert!(unit.contains("ReadWritePaths=/var/lib/claw"), "{unit}");
    // The account's own home (no such account here: /home/<name>).
    assert!(
        unit.contains("ReadWritePaths=-/home/svc-oc/.openclaw"),
        "{unit}"
    );
    assert!(!unit.contains("/home/openclaw"), "{unit}");
    assert!(root.join("etc/systemd/system/claw-tick.timer").is_file());
    assert!(root.join("usr/local/bin/claw").is_file());
    assert!(root
        .join("usr/local/share/man/man1/claw-config-heal.1")
        .is_file());
    assert!(root.join("home/svc-oc/.config/claw/claw.toml").is_file());
    // Nothing went to the invoking user's home.
    assert!(!h.p(".config/systemd").exists());
    let mut with_root = vec!["--uninstall"];
    with_root.extend_from_slice(&args);
    h.install(&with_root).code(0);
    assert!(!root.join("etc/systemd/system/claw-tick.service").exists());
    assert!(!root.join("usr/local/bin/claw").exists());
    assert!(!root.join("usr/local/share/man/man1/claw.1").exists());
}

#[test]
fn install_builds_where_cargo_target_dir_says() {
    let h = Home::new();
    let mut c = Command::new(repo().join("scripts/install.sh"));
    c.args(["--dry-run", "--mode", "none"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", h.dir.path())
        .env("CARGO_TARGET_DIR", "/elsewhere/tgt");
    let r = run_cmd(c);
    r.code(0);
    assert!(
        r.stdout.contains("binary at /elsewhere/tgt/release/claw"),
        "{}",
        r.stdout
    );
}
