//! claw's validator against the real OpenClaw: `scripts/compare-validate.sh` (the samples,
//! claw's fixtures and the generated corpus of `scripts/compare_corpus.py`) when an OpenClaw
//! install and `../shared` are available, and `config schema refresh` against a stand-in.

use crate::common::{run_cmd, Sandbox};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A stand-in `openclaw` that, like 2026.9.6, leaves the bundled plugins' schemas out of
/// `config schema` unless it is pointed at a config that does not exist, and uses a JS-only
/// regex escape (`\0`) in a pattern.
const FAKE_OPENCLAW: &str = r#"#!/bin/sh
case "$1" in
  --version) echo "OpenClaw 2026.9.6 (fake)"; exit 0 ;;
  config) ;;
  *) exit 2 ;;
esac
[ "$2" = schema ] || exit 2
if [ -n "${OPENCLAW_CONFIG_PATH:-}" ] && [ ! -e "$OPENCLAW_CONFIG_PATH" ]; then
  entries='"properties": {"imap": {"type": "object", "additionalProperties": false, "properties": {"enabled": {"type": "boolean"}}}}'
else
  entries='"properties": {}'
fi
cat <<EOF
{"\$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
 "properties": {
  "workspace": {"type": "string", "pattern": "^[^\\\\0]*$"},
  "plugins": {"type": "object", "properties": {"entries": {"type": "object", $entries,
    "additionalProperties": {"type": "object"}}}}}}
EOF
"#;

#[test]
fn schema_refresh_asks_openclaw_without_a_config() {
    let s = Sandbox::new();
    let bin = s.write("bin/openclaw", FAKE_OPENCLAW);
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.write_settings(&format!(
        "[general]\nopenclaw_bin = \"{}\"\n",
        bin.display()
    ));
    // The live config is invalid: an OpenClaw reading it would print the smaller schema.
    s.write_config(r#"{"bogusTop": 1}"#);
    s.run(&["config", "schema", "refresh"]).code(0).silent();
    let show = s.run(&["--json", "config", "schema", "show"]);
    show.code(0);
    assert_eq!(show.json()["schema"]["version"], "2026.9.6");

    // The cached schema knows the imap plugin's own entry schema...
    s.write(
        "c/bogus-imap.json",
        r#"{"plugins": {"entries": {"imap": {"bogus": true}}}}"#,
    );
    let r = s.run(&[
        "--json",
        "config",
        "validate",
        s.root().join("c/bogus-imap.json").to_str().unwrap(),
    ]);
    r.code(1);
    let issues = r.json()["issues"].clone();
    assert_eq!(issues[0]["path"], "plugins.entries.imap", "{issues}");
    // ...and its JS-flavoured pattern works after normalisation.
    s.write(
        "c/ok.json",
        r#"{"workspace": "/srv/ws", "plugins": {"entries": {"imap": {"enabled": true}}}}"#,
    );
    s.run(&[
        "config",
        "validate",
        s.root().join("c/ok.json").to_str().unwrap(),
    ])
    .code(0)
    .silent();
}

/// The reference OpenClaw wrapper: `CLAW_TEST_OPENCLAW`, else the default install of
/// `scripts/install-openclaw.sh`.
fn openclaw_wrapper() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CLAW_TEST_OPENCLAW") {
        return Some(PathBuf::from(p));
    }
    let dir = match std::env::var_os("CLAW_OPENCLAW_REF_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
            cache.join("claw-openclaw")
        }
    };
    let w = dir.join("bin/openclaw");
    w.is_file().then_some(w)
}

fn shared_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CLAW_SHARED") {
        let p = PathBuf::from(p);
        if p.join("samples/configs").is_dir() {
            return Some(p);
        }
    }
    crate::common::shared()
}

#[test]
fn verdicts_match_the_real_openclaw() {
    // CI sets CLAW_COMPARE_REQUIRED=1 so that a missing OpenClaw or ../shared fails instead.
    let required = std::env::var_os("CLAW_COMPARE_REQUIRED").is_some_and(|v| v == "1");
    let Some(oc) = openclaw_wrapper() else {
        assert!(
            !required,
            "CLAW_COMPARE_REQUIRED=1 but no reference OpenClaw"
        );
        crate::common::skip("no reference OpenClaw (set CLAW_TEST_OPENCLAW or run scripts/install-openclaw.sh): the comparison with the real validator");
        return;
    };
    let Some(shared) = shared_dir() else {
        assert!(
            !required,
            "CLAW_COMPARE_REQUIRED=1 but no ../shared samples (or CLAW_SHARED)"
        );
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/compare-validate.sh");
    let mut c = Command::new(&script);
    c.env("CLAW_BIN", env!("CARGO_BIN_EXE_claw"))
        .env("CLAW_TEST_OPENCLAW", &oc)
        .env("CLAW_SHARED", &shared)
        .stdin(std::process::Stdio::null());
    let r = run_cmd(c);
    // The table is the useful part of a failure (and of `--nocapture` runs).
    println!("{}", r.stdout);
    assert_eq!(
        r.code, 0,
        "claw and OpenClaw disagree:\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(
        r.stdout.contains("| sample:desktop-2026.3.8 |"),
        "the shared samples were compared:\n{}",
        r.stdout
    );
    // The generated corpus ran too (a few hundred seeded mutations), and every verdict agreed.
    let generated = r.stdout.lines().filter(|l| l.starts_with("| gen:")).count();
    assert!(
        generated >= 300,
        "{generated} generated cases:\n{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("(100.0 %); error paths agree"),
        "every verdict agrees:\n{}",
        r.stdout
    );
}
