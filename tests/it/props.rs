//! Property tests of every parser that reads outside input (issue 12): arbitrary and
//! near-valid input never panics, results stay within their bounds, and where an oracle
//! exists it holds (usage sums exact, redaction idempotent, settings ranges exact).
//! 256 cases per property (proptest's default) keep this under a few seconds.

use claw::openclaw::{config, gatewaylog, subagents, transcript};
use proptest::prelude::*;
use serde_json::json;

/// Text that looks like JSON/JSON5/TOML often enough to get past the first byte.
fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[{}\\[\\]\":,0-9a-zA-Z._ \\-+eE/\\\\]{0,300}",
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Any number a hostile line may carry, as JSON text.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..2_000_000).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("JSON has no NaN/inf", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        Just("\"NaN\"".to_string()),
        Just("\"-Infinity\"".to_string()),
        Just("null".to_string()),
        Just("\"12\"".to_string()),
    ]
}

proptest! {
    #[test]
    fn transcript_lines_never_panic(raw in prop::collection::vec(any::<u8>(), 0..400), text in jsonish()) {
        let _ = transcript::parse(&raw);
        let _ = transcript::parse(text.as_bytes());
    }

    #[test]
    fn usage_numbers_are_bounded_or_named(i in number(), o in number(), cr in number(), cw in number(), c in number()) {
        let line = format!(r#"{{"type":"message","id":"a","timestamp":"2026-01-01T00:00:00Z","message":{{"role":"assistant","usage":{{"input":{i},"output":{o},"cacheRead":{cr},"cacheWrite":{cw},"cost":{{"total":{c}}}}}}}}}"#);
        if let Ok(e) = transcript::parse(line.as_bytes()) {
            let u = e.assistant.unwrap().usage.unwrap();
            if u.absurd.is_none() {
                for t in [u.input, u.output, u.cache_read, u.cache_write] {
                    prop_assert!(t <= transcript::MAX_LINE_TOKENS);
                }
                if let Some(c) = u.cost_total {
                    prop_assert!(c <= transcript::MAX_LINE);
                }
            }
        }
    }

    /// Both eras store the same line; the fold over either alias set sums exactly.
    #[test]
    fn usage_sums_are_exact(rows in prop::collection::vec((0u64..=1_000_000_000, 0u64..=1_000_000_000, 0u64..=1_000_000_000, 0u64..=1_000_000_000, any::<bool>()), 1..40)) {
        let (mut want, mut got) = (0u128, 0u128);
        for (i, o, cr, cw, openai) in rows {
            let usage = if openai {
                json!({"prompt_tokens": i + cr + cw, "completion_tokens": o, "cache_read_input_tokens": cr, "cache_creation_input_tokens": cw})
            } else {
                json!({"input": i, "output": o, "cacheRead": cr, "cacheWrite": cw})
            };
            if openai && i + cr + cw > transcript::MAX_LINE_TOKENS {
                continue;
            }
            let line = json!({"type":"message","id":"x","message":{"role":"assistant","usage":usage}}).to_string();
            let u = transcript::parse(line.as_bytes()).unwrap().assistant.unwrap().usage.unwrap();
            prop_assert!(u.absurd.is_none());
            want += (i + o + cr + cw) as u128;
            got += u.tokens() as u128;
        }
        prop_assert_eq!(want, got);
    }

    #[test]
    fn json5_configs_never_panic(text in jsonish(), depth in 0usize..64) {
        let _ = config::parse_json5(&text);
        let nested = format!("{}{}{}", "{a:[".repeat(depth), text, "]}".repeat(depth));
        let _ = config::parse_json5(&nested);
    }

    #[test]
    fn gateway_log_lines_never_panic(raw in prop::collection::vec(any::<u8>(), 0..400), text in jsonish(), t in number()) {
        let _ = gatewaylog::parse_line(&raw);
        let _ = gatewaylog::parse_line(text.as_bytes());
        // Both shapes with hostile times and numbered keys; journald MESSAGE text.
        let flat = format!(r#"{{"time":{t},"level":"info","message":{text:?}}}"#);
        let _ = gatewaylog::parse_line(flat.as_bytes());
        let tslog = format!(r#"{{"0":{text:?},"1":{{"event":{t}}},"_meta":{{"date":{t}}},"time":{t}}}"#);
        let _ = gatewaylog::parse_line(tslog.as_bytes());
        let _ = gatewaylog::parse_console(&text);
    }

    #[test]
    fn sessions_json_never_panics(text in jsonish(), n in number()) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sessions.json");
        for body in [text.clone(), format!(r#"{{"agent:main:x":{{"sessionId":{n},"updatedAt":{n},"label":{text:?}}}}}"#)] {
            std::fs::write(&p, body).unwrap();
            let _ = subagents::read_store(&p);
        }
    }

    #[test]
    fn settings_never_panic_and_ranges_are_exact(text in jsonish(), level in any::<i64>()) {
        let _ = claw::settings::Settings::parse(&text);
        let r = claw::settings::Settings::parse(&format!("[compaction_backup]\nzstd_level = {level}\n"));
        prop_assert_eq!(r.is_ok(), (1..=19).contains(&level));
    }

    #[test]
    fn schedules_never_panic(text in "[0-9*/,\\- a-z@]{0,40}", any_text in any::<String>()) {
        let _ = claw::schedule::Schedule::parse(&text);
        let _ = claw::schedule::Schedule::parse(&any_text);
    }

    #[test]
    fn manifests_never_panic(text in jsonish(), n in number()) {
        let _ = serde_json::from_str::<claw::cmd::config::store::Manifest>(&text);
        let _ = serde_json::from_str::<claw::sessionstore::Manifest>(&text);
        let near = format!(r#"{{"id":"x","created_at":{n},"seq":{n},"source":"backup","config_name":"openclaw.json","files":[],"set_sha256":""}}"#);
        let _ = serde_json::from_str::<claw::cmd::config::store::Manifest>(&near);
    }

    #[test]
    fn redaction_is_idempotent_and_excerpts_hide_tokens(
        pre in "[a-zA-Z ]{0,200}",
        secret in "[A-Za-z0-9]{24,40}",
        shape in 0usize..5,
        max in 1usize..300,
    ) {
        let planted = match shape {
            0 => format!("password={secret}"),
            1 => format!("Authorization: Bearer {secret}"),
            2 => format!("https://api.telegram.org/bot123456:{secret}/sendMessage"),
            3 => format!("sk-{secret}"),
            _ => format!("https://hooks.slack.com/services/T1/B2/{secret}"),
        };
        let text = format!("{pre} {planted} tail");
        let once = claw::redact::redact_text(&text);
        prop_assert_eq!(claw::redact::redact_text(&once), once.clone());
        prop_assert!(!once.contains(&secret));
        let e = claw::redact::excerpt(&text, max);
        prop_assert!(!e.contains(&secret[..8.min(secret.len())]) || pre.contains(&secret[..8]), "{}", e);
        prop_assert!(e.chars().count() <= max + 1);
    }
}
