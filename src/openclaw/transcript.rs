//! The transcript line model (pi-coding-agent v3 lines, identical in both storage eras: a JSONL
//! line or a `transcript_events` event). One line in, one [`Entry`] out; assistant messages
//! carry their [`Usage`] with the providers' field aliases folded in.
//!
//! Parsing is typed and skips the (large) message content without building a tree, so callers
//! can afford it on every line; callers that only want usage may prefilter with
//! [`may_carry_usage`].

use crate::money::{ParseError, Usd};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

mod skim;

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
    /// `usage.cost.total` in USD as logged at write time, when present: the literal as
    /// written in the JSON, exactly (read from the raw text, never through a float).
    pub cost_total: Option<Usd>,
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

/// [`MAX_LINE_USD`] as an exact amount.
pub const MAX_LINE: Usd = Usd::dollars(10_000);

/// A usage number outside what one model call can have: negative, not finite, above the
/// per-line ceiling, or (a cost) with digits finer than [`Usd`] keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Absurd {
    /// The field as OpenClaw names it (`cost.total`, `input`, `cacheRead`, ...).
    pub field: &'static str,
    /// The value as a float, for the message.
    pub value: f64,
    /// Set when a cost literal is refused for its precision.
    pub too_precise: bool,
}

impl std::fmt::Display for Absurd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = if self.too_precise {
            ParseError::TooPrecise.to_string()
        } else if !self.value.is_finite() {
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
    // Built once: this runs on every line of every transcript.
    static USAGE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"usage\""));
    // OpenClaw writes `usage` after an assistant message's content, a few hundred bytes from
    // the end: the tail is searched first, then the rest (overlapping the tail by all but one
    // byte of the needle, so that no place is missed).
    let split = line.len().saturating_sub(USAGE_TAIL);
    USAGE.find(&line[split..]).is_some()
        || split > 0 && USAGE.find(&line[..split + USAGE_NEEDLE - 1]).is_some()
}

/// How much of a line's end [`may_carry_usage`] searches first.
const USAGE_TAIL: usize = 512;
/// The length of `"usage"`, quotes and all.
const USAGE_NEEDLE: usize = 7;

/// The entry id of a line that begins the way OpenClaw writes every message entry,
/// `{"type":"message","id":"<8 lowercase hex>",` (or `}`), read without parsing the line: the
/// top-level `id`, unless the line repeats the key further on (which a parse refuses).
pub fn leading_id(line: &[u8]) -> Option<&str> {
    const HEAD: &[u8; 24] = br#"{"type":"message","id":""#;
    // Fixed sizes: compared and read in a few loads, not byte by byte.
    let head: &[u8; 24] = line.get(..24)?.try_into().ok()?;
    let id: &[u8; 8] = line.get(24..32)?.try_into().ok()?;
    if head != HEAD || entry_bits(id).is_none() || !matches!(line[32..], [b'"', b',' | b'}', ..]) {
        return None;
    }
    // SAFETY: eight ASCII hex digits (checked above).
    Some(unsafe { std::str::from_utf8_unchecked(id) })
}

/// An entry id of OpenClaw's shape, eight lowercase hex digits, as the number it spells.
pub fn entry_bits(id: &[u8]) -> Option<u32> {
    let id: &[u8; 8] = id.try_into().ok()?;
    id.iter().try_fold(0u32, |v, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        Some(v << 4 | u32::from(d))
    })
}

/// An assistant message's model call, borrowed from its line wherever the JSON has no escape:
/// what cost-track needs of a line, without an allocation per field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Call<'a> {
    /// `id`, as [`Entry::id`] has it.
    pub id: Option<Cow<'a, str>>,
    /// Top-level ISO `timestamp`.
    pub timestamp: Option<Cow<'a, str>>,
    pub provider: Option<Cow<'a, str>>,
    pub model: Option<Cow<'a, str>>,
    pub usage: Option<Usage>,
}

impl Call<'_> {
    /// OpenClaw's own injected messages (never a model call).
    pub fn is_gateway_injected(&self) -> bool {
        self.provider.as_deref() == Some("openclaw")
            || self.model.as_deref() == Some("gateway-injected")
    }
}

/// Parse one line. The error is serde's message (the caller names the file and line).
pub fn parse(line: &[u8]) -> Result<Entry, String> {
    let raw = from_line(line)?;
    let mut e = Entry {
        kind: raw.kind.map(Str::owned).unwrap_or_default(),
        id: raw.id.and_then(Scalar::id),
        timestamp: raw.timestamp.and_then(Scalar::text).map(Cow::into_owned),
        role: None,
        assistant: None,
    };
    if let Some(m) = raw.message {
        e.role = m.role.map(Str::owned);
        if e.role.as_deref() == Some("assistant") {
            e.assistant = Some(Assistant {
                provider: m.provider.map(Str::owned),
                model: m.model.map(Str::owned),
                api: m.api.map(Str::owned),
                stop_reason: m.stop_reason.map(Str::owned),
                error_message: m.error_message.map(Str::owned),
                usage: m.usage.map(RawUsage::fold),
            });
        }
    }
    Ok(e)
}

/// Parse one line for its model call: `Ok(None)` when it is no assistant message. Accepts and
/// refuses exactly the lines [`parse`] does, and agrees with it on every field.
pub fn parse_call(line: &[u8]) -> Result<Option<Call<'_>>, String> {
    if let Some(call) = skim::call(line) {
        return Ok(call);
    }
    parse_call_serde(line)
}

/// [`parse_call`] by serde alone, for every line the hand-written reader leaves to it.
fn parse_call_serde(line: &[u8]) -> Result<Option<Call<'_>>, String> {
    let raw = from_line(line)?;
    let Some(m) = raw.message else {
        return Ok(None);
    };
    if m.role.as_ref().map(|r| r.0.as_ref()) != Some("assistant") {
        return Ok(None);
    }
    Ok(Some(Call {
        id: raw.id.and_then(Scalar::id_cow),
        timestamp: raw.timestamp.and_then(Scalar::text),
        provider: m.provider.map(|s| s.0),
        model: m.model.map(|s| s.0),
        usage: m.usage.map(RawUsage::fold),
    }))
}

/// The line as text when it is valid UTF-8 (then no string in it is checked again), else as
/// bytes (serde then refuses it only where a field it reads is not UTF-8, as before).
fn from_line(line: &[u8]) -> Result<RawLine<'_>, String> {
    match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(line),
    }
    .map_err(|e| e.to_string())
}

/// A JSON string, borrowed from the line unless it has escapes.
struct Str<'a>(Cow<'a, str>);

impl Str<'_> {
    fn owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Str<'a>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Any JSON value where only a string or a number is of use (`id`, `timestamp`): anything else
/// is read over and kept as `Other`.
enum Scalar<'a> {
    Str(Cow<'a, str>),
    /// A number, as serde_json writes it.
    Num(String),
    Other,
}

impl<'a> Scalar<'a> {
    /// As an id: a non-empty string or a number.
    fn id_cow(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Str(s) if !s.is_empty() => Some(s),
            Scalar::Num(n) => Some(Cow::Owned(n)),
            _ => None,
        }
    }

    fn id(self) -> Option<String> {
        self.id_cow().map(Cow::into_owned)
    }

    /// Only a string.
    fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scalar<'a>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Num(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Num(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
                // As a serde_json::Value would print it (JSON has no NaN or infinity).
                Ok(serde_json::Number::from_f64(v)
                    .map_or(Scalar::Other, |n| Scalar::Num(n.to_string())))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Scalar<'de>, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Scalar<'de>, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Str<'a>>,
    #[serde(borrow)]
    id: Option<Scalar<'a>>,
    #[serde(borrow)]
    timestamp: Option<Scalar<'a>>,
    #[serde(borrow)]
    message: Option<RawMessage<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessage<'a> {
    #[serde(borrow)]
    role: Option<Str<'a>>,
    #[serde(borrow)]
    provider: Option<Str<'a>>,
    #[serde(borrow)]
    model: Option<Str<'a>>,
    #[serde(borrow)]
    api: Option<Str<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Str<'a>>,
    #[serde(borrow)]
    error_message: Option<Str<'a>>,
    #[serde(borrow)]
    usage: Option<RawUsage<'a>>,
}

/// Every spelling seen in the wild; the first present wins.
#[derive(Deserialize, Default)]
struct RawUsage<'a> {
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
    /// Kept raw so the cost is read from its literal (see [`cost_literal`]).
    #[serde(borrow)]
    cost: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct Details {
    cached_tokens: Option<Num>,
}

/// `usage.cost` as an object; only `total` is read.
#[derive(Deserialize)]
struct CostParts<'a> {
    #[serde(borrow)]
    total: Option<&'a RawValue>,
}

/// The logged cost, exactly as written: `usage.cost.total`, or `usage.cost` itself when a
/// provider's log has a bare number there; a number or a string holding one. `None` when
/// there is no number at all; `Err` with the float (for the message) when it is no amount.
fn cost_literal(raw: &RawValue) -> Option<Result<Usd, (f64, ParseError)>> {
    let text = raw.get().trim();
    let lit: std::borrow::Cow<str> = match text.as_bytes().first()? {
        b'{' => {
            let parts: CostParts = serde_json::from_str(text).ok()?;
            return parts.total.and_then(|t| match t.get().as_bytes().first() {
                Some(b'{') => None,
                _ => cost_literal(t),
            });
        }
        b'"' => serde_json::from_str::<String>(text)
            .ok()?
            .trim()
            .to_string()
            .into(),
        _ => text.into(),
    };
    literal_usd(&lit)
}

/// A logged cost's literal (a JSON number's text, or a string's trimmed content) as an amount.
fn literal_usd(lit: &str) -> Option<Result<Usd, (f64, ParseError)>> {
    match Usd::parse(lit) {
        Ok(v) => Some(Ok(v)),
        Err(ParseError::NotANumber) => None,
        Err(e) => Some(Err((lit.parse::<f64>().unwrap_or(f64::NAN), e))),
    }
}

/// A number that may arrive as a string or null. Read by hand rather than as an untagged
/// enum (which buffers every value before trying each variant): this runs for every token
/// field of every usage line.
#[derive(Clone, Copy)]
enum Num {
    F(f64),
    S(f64),
    Other,
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
                Ok(Num::F(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
                Ok(Num::F(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
                Ok(Num::F(v as f64))
            }
            fn visit_str<E>(self, v: &str) -> Result<Num, E> {
                // A string holding no number is no number (not an error for the line).
                Ok(v.trim().parse::<f64>().map_or(Num::Other, Num::S))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
                Ok(Num::Other)
            }
            fn visit_unit<E>(self) -> Result<Num, E> {
                Ok(Num::Other)
            }
            fn visit_none<E>(self) -> Result<Num, E> {
                Ok(Num::Other)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Num, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Num::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Num::Other)
            }
        }
        d.deserialize_any(V)
    }
}

impl Num {
    /// The number, finite or not (`"Infinity"`, `"NaN"` as strings); `None` when it is not a
    /// number at all.
    fn get(self) -> Option<f64> {
        match self {
            Num::F(f) | Num::S(f) => Some(f),
            Num::Other => None,
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
        self.absurd.get_or_insert(Absurd {
            field,
            value: v,
            too_precise: false,
        });
        None
    }

    /// The logged cost when it is a sane amount, else `None` with the problem noted.
    fn cost(&mut self, literal: Option<Result<Usd, (f64, ParseError)>>) -> Option<Usd> {
        let (value, why) = match literal? {
            Ok(v) if v <= MAX_LINE => return Some(v),
            Ok(v) => (v.to_f64(), None),
            Err((f, why)) => (f, Some(why)),
        };
        self.absurd.get_or_insert(Absurd {
            field: "cost.total",
            value,
            too_precise: why == Some(ParseError::TooPrecise),
        });
        None
    }
}

/// A checked count (at most `MAX_LINE_TOKENS`, so the cast is exact).
fn tokens(x: Option<f64>) -> u64 {
    x.map(|f| f.round() as u64).unwrap_or(0)
}

impl RawUsage<'_> {
    fn fold(self) -> Usage {
        let cost = self.cost.and_then(cost_literal);
        self.fold_cost(cost)
    }

    /// Folds the aliases; `cost` is the logged cost's literal read as an amount.
    fn fold_cost(self, cost: Option<Result<Usd, (f64, ParseError)>>) -> Usage {
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
        let cost_total = f.cost(cost);
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

    #[test]
    fn the_leading_id_is_read_only_from_openclaw_s_own_shape() {
        let real = r#"{"type":"message","id":"21071fd6","parentId":"46b9c7b0","timestamp":"2026-03-08T13:04:04.928Z"}"#;
        assert_eq!(leading_id(real.as_bytes()), Some("21071fd6"));
        assert_eq!(
            leading_id(br#"{"type":"message","id":"21071fd6"}"#),
            Some("21071fd6")
        );
        for other in [
            r#"{"type":"message","id":"21071FD6","x":1}"#,
            r#"{"type":"message","id":"21071fd","x":1}"#,
            r#"{"type":"message","id":"21071fd6a","x":1}"#,
            r#"{"type":"message","id":"21071fd6" ,"x":1}"#,
            r#"{"type":"message","id":"2107\u0031fd6","x":1}"#,
            r#"{"type":"message","id":21071,"x":1}"#,
            r#"{"type":"session","id":"21071fd6","x":1}"#,
            r#"{"id":"21071fd6","type":"message"}"#,
            r#" {"type":"message","id":"21071fd6","x":1}"#,
            r#"{"type":"message","id":"21071fd6""#,
            r#"{"type":"message","id":""#,
            "",
        ] {
            assert_eq!(leading_id(other.as_bytes()), None, "{other}");
        }
    }

    const REAL: &str = r#"{"type":"message","id":"21071fd6","parentId":"46b9c7b0","timestamp":"2026-03-08T13:04:04.928Z","message":{"role":"assistant","content":[{"type":"text","text":"..."}],"api":"openai-codex-responses","provider":"openai-codex","model":"gpt-5.4","usage":{"input":787,"output":267,"cacheRead":13952,"cacheWrite":0,"totalTokens":15006,"cost":{"input":0.00137725,"output":0.003738,"cacheRead":0.0024416,"cacheWrite":0,"total":0.00755685}},"stopReason":"stop","timestamp":1772975036308}}"#;

    #[test]
    fn the_call_view_agrees_with_the_entry_on_every_line() {
        let lines: Vec<Vec<u8>> = [
            REAL,
            r#"{"type":"message","id":7,"timestamp":"2026-03-08T13:04:04Z","message":{"role":"assistant","provider":"a\"b","model":"m\u00e9","usage":{"input":1}}}"#,
            r#"{"id":1.5e3,"timestamp":5,"message":{"role":"assistant","usage":{"prompt_tokens":"9"}}}"#,
            r#"{"id":"","timestamp":null,"message":{"role":"assistant","provider":"openclaw"}}"#,
            r#"{"id":[1,{"a":2}],"timestamp":{"t":1},"message":{"role":"user","usage":{"input":1}}}"#,
            r#"{"id":-4,"message":{"role":"assistant","model":5}}"#,
            r#"{"type":3,"message":{"role":"assistant"}}"#,
            r#"{"message":"text","usage":{}}"#,
            r#"{"id":"a","id":"b","message":{"role":"assistant"}}"#,
            r#"{"message":{"role":"assistant","usage":{"input":1},"usage":{"input":2}}}"#,
            r#"{"message":{"role":"assistant","usage":{"input":1}}"#,
        ]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .chain([
            // Invalid UTF-8 inside a skipped string, then inside a read one.
            b"{\"id\":\"x\",\"note\":\"\xff\",\"message\":{\"role\":\"assistant\",\"usage\":{\"input\":3}}}".to_vec(),
            b"{\"id\":\"\xff\",\"message\":{\"role\":\"assistant\"}}".to_vec(),
        ])
        .collect();
        for l in &lines {
            let want = parse(l).map(|e| {
                e.assistant
                    .map(|a| (e.id, e.timestamp, a.provider, a.model, a.usage))
            });
            let got = parse_call(l).map(|c| {
                c.map(|c| {
                    let own = |s: Option<Cow<str>>| s.map(Cow::into_owned);
                    (
                        own(c.id),
                        own(c.timestamp),
                        own(c.provider),
                        own(c.model),
                        c.usage,
                    )
                })
            });
            assert_eq!(got, want, "{}", String::from_utf8_lossy(l));
        }
    }

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
        assert_eq!(u.cost_total, Some(Usd::parse("0.00755685").unwrap()));
        assert!(may_carry_usage(REAL.as_bytes()));
    }

    #[test]
    fn may_carry_usage_finds_the_key_wherever_it_is() {
        let needle = br#""usage""#;
        assert_eq!(needle.len(), USAGE_NEEDLE);
        for len in [
            0,
            7,
            100,
            USAGE_TAIL - 1,
            USAGE_TAIL,
            USAGE_TAIL + 1,
            3 * USAGE_TAIL + 5,
        ] {
            let plain = vec![b'a'; len];
            assert!(!may_carry_usage(&plain), "{len}");
            for at in 0..=len.saturating_sub(needle.len()) {
                if len < needle.len() {
                    break;
                }
                let mut l = plain.clone();
                l[at..at + needle.len()].copy_from_slice(needle);
                assert!(may_carry_usage(&l), "{len} at {at}");
                // One byte short of the needle: no match.
                l[at + needle.len() - 1] = b'x';
                assert!(!may_carry_usage(&l), "{len} at {at}, cut");
            }
        }
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
        assert_eq!((u.input, u.cache_read), (70, 30));
        assert_eq!(u.cost_total, Usd::from_f64(0.5));
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
            (None, MAX_LINE_TOKENS, Some(MAX_LINE))
        );
        let u = usage(r#"{"input":1,"cost":{"total":10000.000000000000000000000000000001}}"#);
        assert_eq!(u.absurd.map(|a| a.field), Some("cost.total"));
        let u = usage(r#"{"input":1,"cost":{"total":1e-40}}"#);
        let a = u.absurd.unwrap();
        assert!(a.too_precise && a.to_string().contains("10^-36"), "{a}");
    }

    #[test]
    fn the_logged_cost_is_the_literal_as_written() {
        let total = |c: &str| {
            let l = format!(
                r#"{{"type":"message","id":"a","message":{{"role":"assistant","usage":{{"input":1,"cost":{c}}}}}}}"#
            );
            parse(l.as_bytes())
                .unwrap()
                .assistant
                .unwrap()
                .usage
                .unwrap()
        };
        for (c, want) in [
            (
                r#"{"total":0.0075568500000000005}"#,
                "0.0075568500000000005",
            ),
            // More digits than a double holds: still every one of them.
            (
                r#"{"total":0.10000000000000000000001}"#,
                "0.10000000000000000000001",
            ),
            (r#"{"total":1.2e-7}"#, "0.00000012"),
            (
                r#"{"total":3.0000000000000004E-9}"#,
                "0.0000000030000000000000004",
            ),
            (r#"{"total":" 0.25 "}"#, "0.25"),
            (r#"0.5"#, "0.50"),
            (r#"{"input":1e-3,"total":0}"#, "0.00"),
        ] {
            let u = total(c);
            assert_eq!(u.absurd, None, "{c}");
            assert_eq!(
                u.cost_total.map(|v| v.to_string()).as_deref(),
                Some(want),
                "{c}"
            );
        }
        for c in [
            r#"{"total":null}"#,
            r#"{"input":1}"#,
            r#""n/a""#,
            r#"true"#,
            r#"{"total":{"x":1}}"#,
            r#"[]"#,
        ] {
            let u = total(c);
            assert_eq!((u.cost_total, u.absurd), (None, None), "{c}");
        }
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
