//! Every shipped systemd unit (jobs/user, jobs/system) runs its ExecStart inside an
//! emulation of its own sandbox, built with bubblewrap from what the unit file says:
//! read-only root (ProtectSystem=strict), writable StateDirectory and ReadWritePaths, a
//! private /tmp (PrivateTmp=yes) and its BindReadOnlyPaths / BindPaths. The "host" is a
//! sample OpenClaw home with a 429 storm in the gateway log dir (/tmp/openclaw), so the test
//! sees what an operator would: no read-only failure, the breaker trips from the log, and a
//! truncated config is healed by the scheduled config job.

use crate::common::{skip, Sandbox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the emulation needs from a `.service` file.
#[derive(Debug, Default)]
struct Unit {
    exec: Vec<String>,
    state_dir: Option<String>,
    strict: bool,
    private_tmp: bool,
    /// (path, optional "-" prefix)
    rw: Vec<(String, bool)>,
    bind_ro: Vec<(String, bool)>,
    bind_rw: Vec<(String, bool)>,
}

fn parse_unit(text: &str) -> Unit {
    let mut u = Unit::default();
    let list = |v: &str| -> Vec<(String, bool)> {
        v.split_whitespace()
            .map(|p| match p.strip_prefix('-') {
                Some(rest) => (rest.to_string(), true),
                None => (p.to_string(), false),
            })
            .collect()
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k.trim() {
            "ExecStart" => u.exec = v.split_whitespace().map(String::from).collect(),
            "StateDirectory" => u.state_dir = Some(v.trim().to_string()),
            "ProtectSystem" => u.strict = v.trim() == "strict",
            "PrivateTmp" => u.private_tmp = v.trim() == "yes",
            "ReadWritePaths" => u.rw.extend(list(v)),
            "BindReadOnlyPaths" => u.bind_ro.extend(list(v)),
            "BindPaths" => u.bind_rw.extend(list(v)),
            _ => {}
        }
    }
    u
}

/// One emulated machine: the sandbox paths as the unit sees them, and where they are on the
/// test's host.
struct Machine {
    variant: &'static str,
    /// The service account's home as the unit sees it.
    home: &'static str,
    /// Host dirs standing in for the machine's /home/<user>, claw state, /tmp/openclaw.
    host_home: PathBuf,
    host_state: PathBuf,
    host_logs: PathBuf,
    bin: PathBuf,
}

impl Machine {
    fn state_in_sandbox(&self) -> String {
        if self.variant == "user" {
            format!("{}/.local/state/claw", self.home)
        } else {
            "/var/lib/claw".into()
        }
    }

    /// systemd's specifiers as a user manager (or the system manager) expands them.
    fn expand(&self, s: &str) -> String {
        let state_root = if self.variant == "user" {
            format!("{}/.local/state", self.home)
        } else {
            "/var/lib".into()
        };
        s.replace("%h", self.home)
            .replace("%S", &state_root)
            .replace("%U", "0")
    }

    /// The host path behind a path inside the sandbox; None when the machine has no such
    /// thing (an optional path then is skipped, as systemd does).
    fn host_of(&self, p: &str) -> Option<PathBuf> {
        let state = self.state_in_sandbox();
        if let Some(rest) = p.strip_prefix(&state) {
            return Some(PathBuf::from(format!(
                "{}{rest}",
                self.host_state.display()
            )));
        }
        if let Some(rest) = p.strip_prefix(self.home) {
            let h = PathBuf::from(format!("{}{rest}", self.host_home.display()));
            return h.exists().then_some(h);
        }
        if p == "/tmp/openclaw" {
            return Some(self.host_logs.clone());
        }
        // Anything else is this test machine's own path (e.g. a node_exporter dir).
        Path::new(p).exists().then(|| PathBuf::from(p))
    }

    /// Run the unit's ExecStart in its sandbox at `now`.
    fn run(&self, unit: &Unit, now: &str) -> crate::common::Run {
        let mut c = Command::new("bwrap");
        c.args(["--die-with-parent", "--unshare-pid"]);
        c.args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]);
        if !unit.strict {
            panic!("unit is not ProtectSystem=strict");
        }
        // Mount points for the emulated machine's own dirs, then read-only again.
        c.args(["--tmpfs", "/home", "--tmpfs", "/var/lib"]);
        c.args(["--tmpfs", "/usr/local/bin"]);
        c.arg("--ro-bind").arg(&self.bin).arg("/usr/local/bin/claw");
        c.arg("--ro-bind").arg(&self.host_home).arg(self.home);
        if unit.private_tmp {
            c.args(["--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]);
        }
        let mut rw: Vec<(String, bool)> = unit.rw.clone();
        if let Some(sd) = &unit.state_dir {
            std::fs::create_dir_all(&self.host_state).unwrap();
            let root = if self.variant == "user" {
                format!("{}/.local/state", self.home)
            } else {
                "/var/lib".into()
            };
            rw.push((format!("{root}/{sd}"), false));
        }
        for (p, optional) in &rw {
            let p = self.expand(p);
            match self.host_of(&p) {
                Some(h) => {
                    c.arg("--bind").arg(h).arg(&p);
                }
                None if *optional => {}
                None => panic!("{p}: ReadWritePaths names a path the machine lacks"),
            }
        }
        for (list, flag) in [(&unit.bind_ro, "--ro-bind"), (&unit.bind_rw, "--bind")] {
            for (p, optional) in list {
                let p = self.expand(p);
                match self.host_of(&p) {
                    Some(h) => {
                        c.arg(flag).arg(h).arg(&p);
                    }
                    None if *optional => {}
                    None => panic!("{p}: Bind*Paths names a path the machine lacks"),
                }
            }
        }
        c.args(["--remount-ro", "/home", "--remount-ro", "/var/lib"]);
        c.args(["--remount-ro", "/usr/local/bin"]);
        c.arg("--chdir").arg("/");
        c.arg("--clearenv");
        let mut env: BTreeMap<&str, String> = BTreeMap::new();
        env.insert("HOME", self.home.to_string());
        env.insert("PATH", "/usr/local/bin:/usr/bin:/bin".into());
        env.insert("CLAW_NOW", now.into());
        env.insert("TZ", "UTC".into());
        if let Some(sd) = &unit.state_dir {
            let root = if self.variant == "user" {
                format!("{}/.local/state", self.home)
            } else {
                "/var/lib".into()
            };
            env.insert("STATE_DIRECTORY", format!("{root}/{sd}"));
        }
        for (k, v) in &env {
            c.arg("--setenv").arg(k).arg(v);
        }
        c.arg("--");
        c.args(unit.exec.iter().map(|a| self.expand(a)));
        crate::common::run_cmd(c)
    }
}

fn bwrap_works() -> bool {
    Command::new("bwrap")
        .args(["--ro-bind", "/", "/", "true"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Five 429 responses of a provider only the log knows, within the last minutes of `now`.
fn storm(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut text = String::new();
    for i in 0..5 {
        let t = format!("2026-11-21T07:5{}:0{i}.000Z", 5 + i % 4);
        let msg = format!(
            "[model-fetch] response provider=stormco api=openai-completions model=m1 status=429 elapsedMs=1{i}"
        );
        text.push_str(
            &serde_json::json!({
                "0": "{\"subsystem\":\"provider-transport-fetch\"}",
                "1": msg,
                "_meta": {"date": t, "logLevelName": "INFO",
                          "name": "{\"subsystem\":\"provider-transport-fetch\"}"},
                "time": t,
            })
            .to_string(),
        );
        text.push('\n');
    }
    std::fs::write(dir.join("openclaw-2026-11-21.log"), text).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn units(variant: &str) -> Vec<(String, Unit)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("jobs")
        .join(variant);
    let mut v: Vec<(String, Unit)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".service"))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (
                name,
                parse_unit(&std::fs::read_to_string(e.path()).unwrap()),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(v.len() >= 8, "{}: too few units", dir.display());
    v
}

fn assert_no_sandbox_failure(name: &str, r: &crate::common::Run) {
    for bad in ["Read-only file system", "os error 30", "Permission denied"] {
        assert!(
            !r.stderr.contains(bad) && !r.stdout.contains(bad),
            "{name}: {bad}\nstdout:\n{}\nstderr:\n{}",
            r.stdout,
            r.stderr
        );
    }
    assert!(
        r.code == 0 || r.code == 1,
        "{name}: exit {}\nstdout:\n{}\nstderr:\n{}",
        r.code,
        r.stdout,
        r.stderr
    );
}

fn machine_run(variant: &'static str) {
    let s = Sandbox::new();
    let home = if variant == "user" {
        "/home/claw-test"
    } else {
        // What jobs/system says; install.sh --system rewrites it for the real account.
        "/home/openclaw"
    };
    let m = Machine {
        variant,
        home,
        host_home: s.root().join("machine-home"),
        // systemd creates the StateDirectory: ~/.local/state/claw for a user manager.
        host_state: if variant == "user" {
            s.root().join("machine-home/.local/state/claw")
        } else {
            s.root().join("machine-state")
        },
        host_logs: s.root().join("machine-tmp-openclaw"),
        bin: PathBuf::from(env!("CARGO_BIN_EXE_claw")),
    };
    let oc = m.host_home.join(".openclaw");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/openclaw-home"),
        &oc,
    );
    // OpenClaw's own .bak is adopted with its file time, which is the real clock (later than
    // this test's CLAW_NOW): without it the newest valid backup is the one the units took.
    std::fs::remove_file(oc.join("openclaw.json.bak")).unwrap();
    storm(&m.host_logs);
    if variant == "user" {
        // The user units' ExecStart is %h/.local/bin/claw.
        let bin = m.host_home.join(".local/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(&m.bin, bin.join("claw")).unwrap();
    }
    let all = units(variant);
    let unit = |n: &str| &all.iter().find(|(name, _)| name == n).unwrap().1;
    let now = "2026-11-21T08:00:00Z";
    // Every unit once; tick last (it runs every job again).
    for (name, u) in all.iter().filter(|(n, _)| n != "claw-tick.service") {
        let r = m.run(u, now);
        assert_no_sandbox_failure(&format!("{variant}/{name}"), &r);
    }
    // The breaker tripped on the log the unit can see.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(m.host_state.join("rate-limit.json"))
            .expect("rate-limit state file in claw's state dir"),
    )
    .unwrap();
    assert_eq!(state["rateLimited"], true, "{state}");
    assert_eq!(state["providers"]["stormco"]["state"], "open", "{state}");

    // A truncated config is healed by the scheduled config job.
    let cfg = oc.join("openclaw.json");
    let good = std::fs::read(&cfg).unwrap();
    std::fs::write(&cfg, &good[..good.len() / 2]).unwrap();
    let r = m.run(unit("claw-config-heal.service"), "2026-11-21T08:10:00Z");
    assert_no_sandbox_failure(&format!("{variant}/config-heal"), &r);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        std::fs::read(&cfg).unwrap() == good,
        "{variant}: config not healed"
    );

    // And by tick, the one-timer set-up, once its config job is due again.
    std::fs::write(&cfg, &good[..good.len() / 3]).unwrap();
    let r = m.run(unit("claw-tick.service"), "2026-11-21T08:45:00Z");
    assert_no_sandbox_failure(&format!("{variant}/tick"), &r);
    assert!(
        std::fs::read(&cfg).unwrap() == good,
        "{variant}: tick did not heal"
    );
    assert!(
        !r.stdout
            .lines()
            .any(|l| l.starts_with("tick: ") && l.contains(" failed")),
        "{variant}/tick: a job failed\n{}\n{}",
        r.stdout,
        r.stderr
    );

    gateway_check_names_the_logs_error(&m, unit("claw-gateway-check.service"));
}

/// gateway-check run by its unit against a gateway that is down: the restart-loop alert names
/// the error line of the gateway's log.
fn gateway_check_names_the_logs_error(m: &Machine, gateway_check: &Unit) {
    let variant = m.variant;
    // gateway check with the gateway down and a restart that does nothing: its restart-loop
    // alert names the gateway's last error lines, read from /tmp/openclaw, which the unit's
    // private /tmp would hide without its bind.
    let log = m.host_logs.join("openclaw-2026-11-21.log");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(
        r#"{"0":"{\"subsystem\":\"gateway\"}","1":"EADDRINUSE: address already in use 127.0.0.1:18789","_meta":{"logLevelName":"ERROR"},"time":"2026-11-21T08:46:00.000Z"}"#,
    );
    text.push('\n');
    std::fs::write(&log, text).unwrap();
    // Nothing listens on this port (bound and released); settings only for this job's phase.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = m.host_home.join(".config/claw/claw.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        format!(
            "[gateway]\nrestart_command = [\"true\"]\nhealth_url = \"http://127.0.0.1:{port}/health\"\n\
             health_timeout_secs = 1\nprobe_timeout_secs = 1\nsecurity_audit_interval_secs = 0\n"
        ),
    )
    .unwrap();
    for min in 50..58 {
        let r = m.run(gateway_check, &format!("2026-11-21T08:{min}:00Z"));
        assert_no_sandbox_failure(&format!("{variant}/gateway-check"), &r);
        assert_eq!(r.code, 1, "{variant}/gateway-check: {}", r.stderr);
    }
    let l = rusqlite::Connection::open(m.host_state.join("ledger.db")).unwrap();
    let loops: Vec<String> = l
        .prepare("SELECT text FROM alerts WHERE job = 'gateway-check' AND key = 'restart-loop'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(loops.len(), 1, "{variant}: {loops:?}");
    assert!(
        loops[0].contains("EADDRINUSE: address already in use"),
        "{variant}: the restart-loop alert does not name the log's error line: {}",
        loops[0]
    );
    std::fs::remove_file(&settings).unwrap();
}

#[test]
fn every_shipped_unit_works_in_its_own_sandbox() {
    if !bwrap_works() {
        skip("bubblewrap (bwrap) missing or not allowed here: the unit sandbox test");
        return;
    }
    machine_run("user");
    machine_run("system");
}

#[test]
fn unit_parser_reads_lists_and_optional_paths() {
    let u = parse_unit(
        "[Service]\nExecStart=%h/.local/bin/claw tick\n# ReadWritePaths=/no\nReadWritePaths=%S/claw\n\
         ReadWritePaths=-/a -/b\nPrivateTmp=yes\nProtectSystem=strict\nBindReadOnlyPaths=-/tmp/openclaw\n",
    );
    assert_eq!(u.exec, vec!["%h/.local/bin/claw", "tick"]);
    assert_eq!(
        u.rw,
        vec![
            ("%S/claw".to_string(), false),
            ("/a".into(), true),
            ("/b".into(), true)
        ]
    );
    assert!(u.private_tmp && u.strict);
    assert_eq!(u.bind_ro, vec![("/tmp/openclaw".to_string(), true)]);
}
