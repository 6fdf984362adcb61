//! claw's validator against OpenClaw: `config schema refresh` against a stand-in.

use crate::common::Sandbox;
use std::os::unix::fs::PermissionsExt;

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
    s.write_settings(&format!("[general]\nopenclaw_bin = \"{}\"\n", bin.display()));
    // The live config is invalid: an OpenClaw reading it would print the smaller schema.
    s.write_config(r#"{"bogusTop": 1}"#);
    s.run(&["config", "schema", "refresh"]).code(0).silent();
    let show = s.run(&["--json", "config", "schema", "show"]);
    show.code(0);
    assert_eq!(show.json()["schema"]["version"], "2026.9.6");

    // The cached schema knows the imap plugin's own entry schema...
    s.write("c/bogus-imap.json", r#"{"plugins": {"entries": {"imap": {"bogus": true}}}}"#);
    let r = s.run(&["--json", "config", "validate", s.root().join("c/bogus-imap.json").to_str().unwrap()]);
    r.code(1);
    let issues = r.json()["issues"].clone();
    assert_eq!(issues[0]["path"], "plugins.entries.imap", "{issues}");
    // ...and its JS-flavoured pattern works after normalisation.
    s.write("c/ok.json", r#"{"workspace": "/srv/ws", "plugins": {"entries": {"imap": {"enabled": true}}}}"#);
    s.run(&["config", "validate", s.root().join("c/ok.json").to_str().unwrap()]).code(0).silent();
}
