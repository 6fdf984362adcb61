//! `claw config ...` driven through the binary.

use crate::common::Sandbox;

const GOOD: &str = r#"{
  "meta": {"lastTouchedVersion": "2026.9.6"},
  "gateway": {"port": 18789, "mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": "${GATEWAY_TOKEN}"}},
  "agents": {"defaults": {"model": {"primary": "anthropic/claude-sonnet-4-5"}}}
}"#;

#[test]
fn unchanged_backup_twice_gives_one_copy_and_is_silent() {
    let s = Sandbox::new();
    s.write_config(GOOD);
    s.run(&["config", "backup"]).code(0).silent();
    s.run(&["config", "backup"]).code(0).silent();
    let list = s.run(&["--json", "config", "list"]);
    list.code(0);
    assert_eq!(list.json()["backups"].as_array().unwrap().len(), 1);
}
