//! The transcript line model (pi-coding-agent v3 lines, identical in both storage eras: a JSONL
//! line or a `transcript_events` event). One line in, one [`Entry`] out; assistant messages
//! carry their [`Usage`] with the providers' field aliases folded in.
//!
//! Parsing is typed and skips the (large) message content without building a tree, so callers
//! can afford it on every line; callers that only want usage may prefilter with
//! [`may_carry_usage`].

use serde::Deserialize;

/// One transcript line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// `type`: session, message, compaction, model_change, custom, ...
    pub kind: String,
    /// `id` (8 hex in real transcripts; the session id on the `session` header line).
    pub id: Option<String>,
    /// Top-level ISO `timestamp`.
    pub timestamp: Option<String>,
    /// `message.role` for `message` lines.
    pub role: Option<String>,
    /// Present on assistant messages.
    pub assistant: Option<Assistant>,
}

/// What an assistant message says about the model call behind it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assistant {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub api: Option<String>,
    pub stop_reason: Option<String>,
    pub error_message: Option<String>,
    pub usage: Option<Usage>,
}

/// Token counts and the logged cost of one model call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    /// `usage.cost.total` in USD as logged at write time, when present.
    pub cost_total: Option<f64>,
}

impl Usage {
    pub fn tokens(&self) -> u64 {
        self.input + self.output + self.cache_read + self.cache_write
    }
}

impl Assistant {
    /// OpenClaw's own injected messages (never a model call).
    pub fn is_gateway_injected(&self) -> bool {
        self.provider.as_deref() == Some("openclaw")
            || self.model.as_deref() == Some("gateway-injected")
    }
}

/// Cheap test: can this raw line hold a usage object at all? (False negatives impossible.)
pub fn may_carry_usage(line: &[u8]) -> bool {
    memchr::memmem::find(line, b"\"usage\"").is_some()
}

/// Parse one line. The error is serde's message (the caller names the file and line).
pub fn parse(line: &[u8]) -> Result<Entry, String> {
    let raw: RawLine = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let mut e = Entry {
        kind: raw.kind.unwrap_or_default(),
        id: raw.id.and_then(id_string),
        timestamp: raw.timestamp.and_then(|t| match t {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        }),
        role: None,
        assistant: None,
    };
    if let Some(m) = raw.message {
        e.role = m.role.clone();
        if m.role.as_deref() == Some("assistant") {
            e.assistant = Some(Assistant {
                provider: m.provider,
                model: m.model,
                api: m.api,
                stop_reason: m.stop_reason,
                error_message: m.error_message,
                usage: m.usage.map(RawUsage::fold),
            });
        }
    }
    Ok(e)
}

fn id_string(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
struct RawLine {
    #[serde(rename = "type")]
    kind: Option<String>,
    id: Option<serde_json::Value>,
    timestamp: Option<serde_json::Value>,
    message: Option<RawMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessage {
    role: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    api: Option<String>,
    stop_reason: Option<String>,
    error_message: Option<String>,
    usage: Option<RawUsage>,
}

/// Every spelling seen in the wild; the first present wins.
#[derive(Deserialize, Default)]
struct RawUsage {
    input: Option<Num>,
    input_tokens: Option<Num>,
    prompt_tokens: Option<Num>,
    output: Option<Num>,
    output_tokens: Option<Num>,
    completion_tokens: Option<Num>,
    #[serde(rename = "cacheRead")]
    cache_read: Option<Num>,
    cache_read_input_tokens: Option<Num>,
    cached_tokens: Option<Num>,
    prompt_tokens_details: Option<Details>,
    #[serde(rename = "cacheWrite")]
    cache_write: Option<Num>,
    cache_creation_input_tokens: Option<Num>,
    cost: Option<Cost>,
}

#[derive(Deserialize, Default)]
struct Details {
    cached_tokens: Option<Num>,
}

/// A cost may be an object with `total` or, in a few providers' logs, a bare number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Cost {
    Parts {
        total: Option<Num>,
    },
    Total(Num),
    #[allow(dead_code)]
    Other(serde::de::IgnoredAny),
}

/// A number that may arrive as a string or null.
#[derive(Deserialize, Clone, Copy)]
#[serde(untagged)]
enum Num {
    F(f64),
    S(#[serde(deserialize_with = "de_num_str")] f64),
    #[allow(dead_code)]
    Other(serde::de::IgnoredAny),
}

fn de_num_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let s = String::deserialize(d)?;
    s.trim().parse::<f64>().map_err(serde::de::Error::custom)
}

impl Num {
    fn get(self) -> Option<f64> {
        match self {
            Num::F(f) | Num::S(f) if f.is_finite() => Some(f),
            _ => None,
        }
    }
}

fn first(xs: &[Option<Num>]) -> Option<f64> {
    xs.iter().flatten().find_map(|n| n.get())
}

fn tokens(x: Option<f64>) -> u64 {
    match x {
        Some(f) if f > 0.0 => f.round() as u64,
        _ => 0,
    }
}

impl RawUsage {
    fn fold(self) -> Usage {
        let cache_read = first(&[
            self.cache_read,
            self.cache_read_input_tokens,
            self.cached_tokens,
            self.prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens),
        ]);
        let cache_write = first(&[self.cache_write, self.cache_creation_input_tokens]);
        let input = if let Some(i) = first(&[self.input, self.input_tokens]) {
            tokens(Some(i))
        } else if let Some(p) = self.prompt_tokens.and_then(Num::get) {
            // OpenAI-style prompt_tokens include the cached part; OpenClaw's `input` does not.
            tokens(Some(p)).saturating_sub(tokens(cache_read) + tokens(cache_write))
        } else {
            0
        };
        let cost_total = match self.cost {
            Some(Cost::Parts { total }) => total.and_then(Num::get),
            Some(Cost::Total(n)) => n.get(),
            _ => None,
        };
        Usage {
            input,
            output: tokens(first(&[
                self.output,
                self.output_tokens,
                self.completion_tokens,
            ])),
            cache_read: tokens(cache_read),
            cache_write: tokens(cache_write),
            cost_total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = r#"{"type":"message","id":"21071fd6","parentId":"46b9c7b0","timestamp":"2026-03-08T13:04:04.928Z","message":{"role":"assistant","content":[{"type":"text","text":"..."}],"api":"openai-codex-responses","provider":"openai-codex","model":"gpt-5.4","usage":{"input":787,"output":267,"cacheRead":13952,"cacheWrite":0,"totalTokens":15006,"cost":{"input":0.00137725,"output":0.003738,"cacheRead":0.0024416,"cacheWrite":0,"total":0.00755685}},"stopReason":"stop","timestamp":1772975036308}}"#;

    #[test]
    fn parses_the_real_line() {
        let e = parse(REAL.as_bytes()).unwrap();
        assert_eq!(e.kind, "message");
        assert_eq!(e.id.as_deref(), Some("21071fd6"));
        assert_eq!(e.timestamp.as_deref(), Some("2026-03-08T13:04:04.928Z"));
        let a = e.assistant.unwrap();
        assert_eq!(a.provider.as_deref(), Some("openai-codex"));
        assert_eq!(a.stop_reason.as_deref(), Some("stop"));
        let u = a.usage.unwrap();
        assert_eq!(
            (u.input, u.output, u.cache_read, u.cache_write),
            (787, 267, 13952, 0)
        );
        assert_eq!(u.cost_total, Some(0.00755685));
        assert!(may_carry_usage(REAL.as_bytes()));
    }

    #[test]
    fn folds_aliases() {
        let l = r#"{"type":"message","id":"a","message":{"role":"assistant","usage":{"input_tokens":10,"output_tokens":"5","cache_read_input_tokens":7,"cache_creation_input_tokens":3}}}"#;
        let u = parse(l.as_bytes())
            .unwrap()
            .assistant
            .unwrap()
            .usage
            .unwrap();
        assert_eq!(
            (u.input, u.output, u.cache_read, u.cache_write, u.cost_total),
            (10, 5, 7, 3, None)
        );
        let l = r#"{"type":"message","id":"b","message":{"role":"assistant","usage":{"prompt_tokens":100,"completion_tokens":9,"prompt_tokens_details":{"cached_tokens":40}}}}"#;
        let u = parse(l.as_bytes())
            .unwrap()
            .assistant
            .unwrap()
            .usage
            .unwrap();
        assert_eq!((u.input, u.output, u.cache_read), (60, 9, 40));
        let l = r#"{"type":"message","id":"c","message":{"role":"assistant","usage":{"prompt_tokens":100,"cached_tokens":30,"cost":0.5}}}"#;
        let u = parse(l.as_bytes())
            .unwrap()
            .assistant
            .unwrap()
            .usage
            .unwrap();
        assert_eq!((u.input, u.cache_read, u.cost_total), (70, 30, Some(0.5)));
    }

    #[test]
    fn non_assistant_and_bad_lines() {
        let e = parse(
            br#"{"type":"session","version":3,"id":"s1","timestamp":"2026-07-20T09:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(e.kind, "session");
        assert!(e.assistant.is_none());
        let e =
            parse(br#"{"type":"message","id":"u","message":{"role":"user","content":"the usage is high"}}"#).unwrap();
        assert_eq!(e.role.as_deref(), Some("user"));
        assert!(e.assistant.is_none());
        assert!(parse(b"{\"type\":\"message\",\"id\":").is_err());
        assert!(parse(b"\xff\xfe").is_err());
    }
}
