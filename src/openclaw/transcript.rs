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
    /// The first value no model call can have (see [`MAX_LINE_TOKENS`], [`MAX_LINE_USD`]):
    /// the line is a problem to report, never spend.
    pub absurd: Option<Absurd>,
}

/// The most tokens one model call can report in one field. The largest context windows are
/// a few million tokens, so a billion is far above any real call, and every sum of such
/// fields stays exact in an f64 and far from overflowing an i64 of micro-dollars.
pub const MAX_LINE_TOKENS: u64 = 1_000_000_000;

/// The most one model call can cost, USD. A full 2M-token window at today's dearest output
/// price is a few hundred dollars; above this a logged cost is corruption or forgery.
pub const MAX_LINE_USD: f64 = 10_000.0;

/// A usage number outside what one model call can have: negative, not finite, or above the
/// per-line ceiling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Absurd {
    /// The field as OpenClaw names it (`cost.total`, `input`, `cacheRead`, ...).
    pub field: &'static str,
    pub value: f64,
}

impl std::fmt::Display for Absurd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = if !self.value.is_finite() {
            "not a finite number".to_string()
        } else if self.value < 0.0 {
            "negative".to_string()
        } else if self.field == "cost.total" {
            format!("above the per-line ceiling of ${MAX_LINE_USD}")
        } else {
            format!("above the per-line ceiling of {MAX_LINE_TOKENS} tokens")
        };
        write!(f, "absurd usage.{} = {} ({why})", self.field, self.value)
    }
}

impl Usage {
    /// All four token counts (saturating: an absurd line must not overflow on its way to
    /// being reported).
    pub fn tokens(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
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
    /// The number, finite or not (`"Infinity"`, `"NaN"` as strings); `None` when it is not a
    /// number at all.
    fn get(self) -> Option<f64> {
        match self {
            Num::F(f) | Num::S(f) => Some(f),
            Num::Other(_) => None,
        }
    }
}

/// Folds aliases, checking each chosen number against the per-line bounds; the first
/// absurd value is kept for the report.
#[derive(Default)]
struct Fold {
    absurd: Option<Absurd>,
}

impl Fold {
    /// The first alias present; `field` names it in a problem.
    fn first(&mut self, field: &'static str, xs: &[Option<Num>]) -> Option<f64> {
        let v = xs.iter().flatten().find_map(|n| n.get())?;
        self.check(field, v, MAX_LINE_TOKENS as f64)
    }

    /// `v` when it is a sane value of `field`, else `None` with the problem noted.
    fn check(&mut self, field: &'static str, v: f64, max: f64) -> Option<f64> {
        if v.is_finite() && (0.0..=max).contains(&v) {
            return Some(v);
        }
        self.absurd.get_or_insert(Absurd { field, value: v });
        None
    }
}

/// A checked count (at most `MAX_LINE_TOKENS`, so the cast is exact).
fn tokens(x: Option<f64>) -> u64 {
    x.map(|f| f.round() as u64).unwrap_or(0)
}

impl RawUsage {
    fn fold(self) -> Usage {
        let mut f = Fold::default();
        let input = f.first("input", &[self.input, self.input_tokens]);
        let prompt = f.first("prompt_tokens", &[self.prompt_tokens]);
        let output = f.first(
            "output",
            &[self.output, self.output_tokens, self.completion_tokens],
        );
        let cache_read = f.first(
            "cacheRead",
            &[
                self.cache_read,
                self.cache_read_input_tokens,
                self.cached_tokens,
                self.prompt_tokens_details
                    .as_ref()
                    .and_then(|d| d.cached_tokens),
            ],
        );
        let cache_write = f.first(
            "cacheWrite",
            &[self.cache_write, self.cache_creation_input_tokens],
        );
        let input = match (input, prompt) {
            (Some(i), _) => tokens(Some(i)),
            // OpenAI-style prompt_tokens include the cached part; OpenClaw's `input` does not.
            (None, Some(p)) => {
                tokens(Some(p)).saturating_sub(tokens(cache_read) + tokens(cache_write))
            }
            (None, None) => 0,
        };
        let cost_total = match self.cost {
            Some(Cost::Parts { total }) => total.and_then(Num::get),
            Some(Cost::Total(n)) => n.get(),
            _ => None,
        }
        .and_then(|c| f.check("cost.total", c, MAX_LINE_USD));
        Usage {
            input,
            output: tokens(output),
            cache_read: tokens(cache_read),
            cache_write: tokens(cache_write),
            cost_total,
            absurd: f.absurd,
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
    fn absurd_numbers_are_named_not_counted() {
        let usage = |u: &str| {
            parse(
                format!(
                    r#"{{"type":"message","id":"a","message":{{"role":"assistant","usage":{u}}}}}"#
                )
                .as_bytes(),
            )
            .unwrap()
            .assistant
            .unwrap()
            .usage
            .unwrap()
        };
        for (u, field) in [
            (r#"{"input":1,"cost":{"total":1e18}}"#, "cost.total"),
            (r#"{"input":1,"cost":-0.5}"#, "cost.total"),
            (r#"{"input":1,"cost":{"total":"NaN"}}"#, "cost.total"),
            (r#"{"input":18446744073709551615}"#, "input"),
            (r#"{"output_tokens":9007199254740993}"#, "output"),
            (r#"{"prompt_tokens":-3}"#, "prompt_tokens"),
            (
                r#"{"input":1,"prompt_tokens_details":{"cached_tokens":"inf"}}"#,
                "cacheRead",
            ),
        ] {
            let got = usage(u);
            assert_eq!(got.absurd.map(|a| a.field), Some(field), "{u}");
            assert!(
                got.absurd.unwrap().to_string().starts_with("absurd usage."),
                "{u}"
            );
        }
        // At the ceilings exactly: sane.
        let u = usage(r#"{"input":1000000000,"cost":{"total":10000}}"#);
        assert_eq!(
            (u.absurd, u.input, u.cost_total),
            (None, MAX_LINE_TOKENS, Some(MAX_LINE_USD))
        );
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
