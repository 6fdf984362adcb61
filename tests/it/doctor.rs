//! `claw doctor`, `claw completions`, `claw man`.

use crate::common::Sandbox;

fn healthy(s: &Sandbox) {
    s.write_config("{ // json5\n  gateway: { port: 18789, },\n}\n");
    std::fs::create_dir_all(s.root().join("prom")).unwrap();
    s.write(
        "xdg-config/systemd/user/claw-tick.timer",
        "[Timer]\nOnCalendar=minutely\n",
    );
    s.write_settings(&format!(
        "[general]\nopenclaw_bin = \"/bin/sh\"\n\n[watch]\ntextfile_dir = \"{}\"\n\n\
         [[alerts.sinks]]\nname = \"slack\"\nkind = \"slack\"\nurl_env = \"T_SLACK\"\n",
        s.root().join("prom").display()
    ));
}

#[test]
fn doctor_is_clean_on_a_healthy_host_and_names_each_problem() {
    let s = Sandbox::new();
    healthy(&s);
    let secret = "https://hooks.slack.com/services/T0/B0/SECRETdoctor";
    // The user timer's jobs keep their ledger in $XDG_STATE_HOME/claw (StateDirectory=claw):
    // a doctor reading another state dir says so, naming both.
    let units_state = s.root().join("xdg-state/claw");
    let r = s.run_env(&["doctor", "--json"], &[("T_SLACK", secret)]);
    r.code(1);
    let doc = r.json();
    let st = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "scheduled state dir")
        .unwrap();
    assert_eq!(st["status"], "problem", "{doc:#}");
    let detail = st["detail"].as_str().unwrap();
    assert!(detail.contains(units_state.to_str().unwrap()), "{detail}");
    assert!(detail.contains(s.state().to_str().unwrap()), "{detail}");
    let state_flag = ["--state-dir", units_state.to_str().unwrap()];
    let r = s.run_env(
        &[&state_flag[..], &["doctor"]].concat(),
        &[("T_SLACK", secret)],
    );
    r.code(0);
    assert!(r.stdout.contains("sink slack"), "{}", r.stdout);
    let doc = s
        .run_env(
            &[&state_flag[..], &["doctor", "--json"]].concat(),
            &[("T_SLACK", secret)],
        )
        .json();
    assert_eq!(doc["ok"], true, "{doc:#}");
    assert_eq!(doc["schema_version"], 1);

    // Break three things: the secret, the config, the collector dir.
    s.write_config("{ broken");
    std::fs::remove_dir(s.root().join("prom")).unwrap();
    let r = s.run(&[&state_flag[..], &["doctor", "--json"]].concat());
    r.code(1);
    let doc = r.json();
    let problems: Vec<&str> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "problem")
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        problems,
        ["openclaw config", "collector dir", "sink slack"],
        "{doc:#}"
    );
    assert!(r.stdout.contains("T_SLACK"), "{}", r.stdout);
    assert!(!r.stdout.contains("SECRETdoctor"));

    // Nothing schedules claw.
    std::fs::remove_file(s.root().join("xdg-config/systemd/user/claw-tick.timer")).unwrap();
    let r = s.run_env(&["doctor"], &[("T_SLACK", secret)]);
    r.code(1);
    assert!(r.stdout.contains("timers installed"), "{}", r.stdout);
    assert!(!r.stdout.contains("SECRETdoctor"));
}

#[test]
fn completions_and_man_come_from_the_cli_definition() {
    let s = Sandbox::new();
    let r = s.run(&["completions", "bash"]);
    r.code(0);
    assert!(r.stdout.contains("_claw()"), "{}", r.stdout);
    for sub in ["tick", "doctor", "alert", "config"] {
        assert!(r.stdout.contains(sub), "bash completion lacks {sub}");
    }
    let r = s.run(&["completions", "zsh"]);
    r.code(0);
    assert!(r.stdout.starts_with("#compdef claw"), "{}", r.stdout);
    s.run(&["completions", "fish"]).code(0);
    s.run(&["completions", "tcsh"]).code(2);
    let r = s.run(&["man"]);
    r.code(0);
    assert!(r.stdout.contains(".TH claw 1"), "{}", r.stdout);
    assert!(r.stdout.contains("tick"), "{}", r.stdout);
}
