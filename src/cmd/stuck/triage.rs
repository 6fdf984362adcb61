//! Optional triage by a cheap model: a stuck run's last entries, redacted and cut short, go
//! to an Anthropic- or OpenAI-compatible endpoint with a strict timeout; the answer (kill,
//! steer with a text, or wait) is a suggestion the policy may follow. Tokens and cost are
//! returned for the ledger. Never called inside a ledger transaction, never under --dry-run.

use super::classify::TailEntry;
use super::policy::Suggestion;
use crate::modelapi;
use crate::settings::Triage;
use serde_json::Value;
use std::time::Duration;

/// What the model said, with its price.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub suggestion: Suggestion,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_micros: i64,
}

const SYSTEM: &str = "You are a watchdog for autonomous coding subagents. Given a subagent's \
task, why it looks stuck, and its last transcript entries, answer with ONE JSON object and \
nothing else: {\"verdict\": \"kill\" | \"steer\" | \"wait\", \"message\": \"<for steer: one or \
two sentences telling the subagent how to proceed without asking anyone>\"}. Choose kill when \
it cannot recover (repeated errors, nothing left to do, looping), steer when a nudge lets it \
continue, wait when it is working.";

/// The user message: redacted, and cut to `max_chars` keeping the newest entries.
pub fn prompt(
    class: &str,
    evidence: &[String],
    task: Option<&str>,
    tail: &[TailEntry],
    max_chars: usize,
) -> String {
    let mut head = format!("Class: {class}\nEvidence: {}\n", evidence.join("; "));
    if let Some(t) = task {
        head.push_str(&format!("Task: {}\n", crate::redact::excerpt(t, 500)));
    }
    head.push_str("Last entries (oldest first):\n");
    let mut body = String::new();
    for e in tail {
        let who = e.role.as_deref().unwrap_or(e.kind.as_str());
        body.push_str(&format!(
            "[{}{}{}] {}\n",
            who,
            e.stop_reason
                .as_deref()
                .map(|s| format!(" stop={s}"))
                .unwrap_or_default(),
            e.error_message
                .as_deref()
                .map(|s| format!(" error={}", crate::redact::excerpt(s, 200)))
                .unwrap_or_default(),
            crate::redact::excerpt(&e.text, 800)
        ));
    }
    let text = crate::redact::redact_text(&format!("{head}{body}"));
    let n = text.chars().count();
    if n <= max_chars {
        return text;
    }
    // Keep the header's first line and the newest part.
    let tail: String = text.chars().skip(n - max_chars).collect();
    format!("Class: {class}\n…\n{tail}")
}

/// Parse the model's reply into a suggestion.
pub fn parse_verdict(reply: &str) -> Suggestion {
    let obj = reply
        .find('{')
        .zip(reply.rfind('}'))
        .and_then(|(a, b)| (a < b).then(|| &reply[a..=b]))
        .and_then(|s| serde_json::from_str::<Value>(s).ok());
    if let Some(o) = obj {
        let verdict = o.get("verdict").and_then(|v| v.as_str()).unwrap_or("");
        let msg = o
            .get("message")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .trim();
        return match verdict.to_ascii_lowercase().as_str() {
            "kill" => Suggestion::Kill,
            "steer" if !msg.is_empty() => Suggestion::Steer(msg.chars().take(500).collect()),
            _ => Suggestion::Wait,
        };
    }
    let r = reply.to_ascii_lowercase();
    if r.contains("kill") {
        Suggestion::Kill
    } else {
        Suggestion::Wait
    }
}

/// Ask the model. The error is one line, redacted, with no key in it.
pub fn ask(t: &Triage, user: &str) -> Result<Answer, String> {
    let key = std::env::var(&t.api_key_env)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| format!("triage: environment variable {} is not set", t.api_key_env))?;
    let api = t.api;
    let req = modelapi::request(api, Some(&key), &t.model, t.max_tokens, Some(SYSTEM), user);
    let client = crate::http::Client::new(Duration::from_secs(t.timeout_secs.max(1)));
    let resp = client
        .post_json(&api.endpoint(&t.url), &req.header_refs(), &req.body)
        .map_err(|e| {
            crate::redact::redact_text(&format!("triage: {} unreachable: {e}", api.name()))
        })?;
    if !resp.ok() {
        return Err(format!(
            "triage: {} answered HTTP {}",
            api.name(),
            resp.status
        ));
    }
    let v: Value =
        serde_json::from_str(&resp.body).map_err(|e| format!("triage: answer is not JSON: {e}"))?;
    let (input_tokens, output_tokens) = modelapi::usage(&v);
    let text = modelapi::text(api, &v);
    let text = text.ok_or("triage: answer has no text")?;
    Ok(Answer {
        suggestion: parse_verdict(text),
        input_tokens,
        output_tokens,
        cost_micros: cost_micros(t, input_tokens, output_tokens),
    })
}

/// Price of one call in micro-dollars (prices are USD per million tokens).
pub fn cost_micros(t: &Triage, input: u64, output: u64) -> i64 {
    (input as f64 * t.input_usd_per_mtok + output as f64 * t.output_usd_per_mtok).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(parse_verdict(r#"{"verdict":"kill"}"#), Suggestion::Kill);
        assert_eq!(
            parse_verdict("Sure.\n{\"verdict\": \"steer\", \"message\": \"Use B.\"}"),
            Suggestion::Steer("Use B.".into())
        );
        assert_eq!(
            parse_verdict(r#"{"verdict":"steer","message":""}"#),
            Suggestion::Wait
        );
        assert_eq!(parse_verdict("I would kill it"), Suggestion::Kill);
        assert_eq!(parse_verdict("no idea"), Suggestion::Wait);
    }

    #[test]
    fn prompt_is_redacted_and_bounded() {
        let tail = vec![TailEntry {
            role: Some("assistant".into()),
            kind: "message".into(),
            text: format!("my key is sk-abcdefghijklmnop1234 {}", "z".repeat(5000)),
            ..Default::default()
        }];
        let p = prompt("idle", &["quiet".into()], Some("do x"), &tail, 1000);
        assert!(!p.contains("sk-abcdefghijklmnop1234"), "{p}");
        assert!(p.chars().count() <= 1000 + 20);
        let p = prompt("idle", &["quiet".into()], Some("do x"), &tail[..0], 1000);
        assert!(p.contains("Task: do x"));
        let t = Triage::default();
        assert_eq!(cost_micros(&t, 1000, 100), 1500);
    }
}
