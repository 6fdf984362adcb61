//! Running the `openclaw` CLI for an action (`gateway call`, `tasks cancel`): bounded, with
//! the gateway's refusal read from the `--json` answer on stdout, and the reason spelled out
//! when the refusal is the one OpenClaw 2026.7.x gives every operator.

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Run `argv` with `OPENCLAW_STATE_DIR` set; Ok when it exits 0. The error is one line
/// (redacted); `{timeout}` in it stands for the setting that bounded the run.
pub fn run(argv: &[String], openclaw_dir: &Path, timeout: Duration) -> Result<(), String> {
    output(argv, openclaw_dir, timeout).map(|_| ())
}

/// [`run`], returning what the command printed on stdout (at most 4 MiB: a `cron list
/// --json` of a busy gateway, never a transcript).
pub fn output(argv: &[String], openclaw_dir: &Path, timeout: Duration) -> Result<Vec<u8>, String> {
    let Some((bin, rest)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let mut cmd = Command::new(bin);
    cmd.args(rest).env("OPENCLAW_STATE_DIR", openclaw_dir);
    // stdout is kept: `openclaw gateway call --json` prints the gateway's refusal there.
    let done = crate::proc::run(cmd, &crate::proc::Opts::new(timeout).capture(4 << 20))
        .map_err(|e| format!("cannot start {bin}: {e}"))?;
    if done.timed_out() {
        return Err("killed after {timeout}".into());
    }
    if done.success() {
        return Ok(done.stdout);
    }
    let refusal = serde_json::from_slice::<Value>(&done.stdout)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            Some(format!(
                "{} {}",
                e.get("code").and_then(Value::as_str).unwrap_or(""),
                e.get("message").and_then(Value::as_str).unwrap_or("")
            ))
        });
    let last = refusal.unwrap_or_else(|| done.last_stderr_line().trim().to_string());
    let mut msg = format!(
        "exit {}{}",
        done.status
            .and_then(|s| s.code())
            .map(|c| c.to_string())
            .unwrap_or_else(|| "by signal".into()),
        if last.is_empty() {
            String::new()
        } else {
            format!(": {}", last.trim())
        }
    );
    if last.contains("unauthorized") {
        // From OpenClaw 2026.7.1's source: sessions.abort/steer are allowed only to the
        // operator.admin scope or the run's owner; the CLI connects with operator.write, and
        // HTTP /sessions/<key>/kill needs operator.admin, which a bearer token cannot claim.
        // 2026.9.x accepts both from the CLI.
        msg.push_str(" (this gateway lets only operator.admin or the run's owner abort or steer a run, and the openclaw CLI connects with operator.write; a gateway restart ends the run, or upgrade OpenClaw)");
    }
    Err(crate::redact::redact_text(&msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("fake-openclaw");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.display().to_string()
    }

    #[test]
    fn the_gateways_refusal_is_read_from_stdout_and_explained() {
        let d = tempfile::tempdir().unwrap();
        // What 2026.7.1 answers to `gateway call sessions.abort --json` from the CLI.
        let bin = script(
            d.path(),
            r#"echo '{"ok": false, "error": {"type": "gateway_request_error", "code": "INVALID_REQUEST", "message": "unauthorized"}}'; exit 1"#,
        );
        let e = run(&[bin], d.path(), Duration::from_secs(10)).unwrap_err();
        assert!(e.starts_with("exit 1: INVALID_REQUEST unauthorized"), "{e}");
        assert!(e.contains("operator.admin"), "{e}");

        let bin = script(d.path(), "echo 'Task is already terminal.' >&2; exit 1");
        let e = run(&[bin], d.path(), Duration::from_secs(10)).unwrap_err();
        assert_eq!(e, "exit 1: Task is already terminal.");

        let bin = script(
            d.path(),
            r#"[ "$OPENCLAW_STATE_DIR" = /x/y ] && exit 0; exit 3"#,
        );
        assert!(run(&[bin], Path::new("/x/y"), Duration::from_secs(10)).is_ok());

        let bin = script(d.path(), "sleep 30");
        let e = run(&[bin], d.path(), Duration::from_millis(300)).unwrap_err();
        assert_eq!(e, "killed after {timeout}");
    }
}
