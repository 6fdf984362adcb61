//! What counts as a rate-limit event, and counting each real 429 once.
//!
//! Classification follows OpenClaw's own classifier: rate limit = `rate[_ ]limit`, `too many
//! requests`, `429`, `resource_exhausted`, `quota exceeded`, `throttl`, `tokens per minute`;
//! overloaded = `overloaded_error` / `overloaded`, `529`; anything else is not an event.
//!
//! ## One event per real 429 (the dedupe rule)
//! One failed model call leaves several lines: `[model-fetch] response ... status=429` (one
//! per HTTP response, including transport retries), then `transient same-model retry n/9 ...
//! reason=rate_limit`, an `embedded_run_agent_end` meta object with `failoverReason`, a
//! failover / fallback decision, and (2026.7.x) a transcript error entry.
//! - The model-fetch line is the **primary** signal: every one is an event.
//! - Everything else is an **echo**. An echo is counted only when no counted event of the same
//!   provider (any provider when the echo names none) lies within `echo_window_secs` of it:
//!   in this run's batch (before or after) or in the ledger (the provider's latest event).
//!   So builds that log model-fetch lines count exactly the 429 responses, and builds that do
//!   not still count a storm (about one event per failure burst), never three per failure.
//! - Exactly-once per line: each event's origin (`file:<dev>:<ino>@<offset>`, the journal
//!   cursor, `transcript:<session>:<entry>`) is its primary key in `rl_events`.

use crate::openclaw::gatewaylog::LogLine;
use chrono::{DateTime, Duration, Utc};
use regex::bytes::Regex as BRegex;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Rate limited or overloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RateLimit,
    Overloaded,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RateLimit => "rate_limit",
            Kind::Overloaded => "overloaded",
        }
    }
}

static RATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)rate[_ ]limit|too many requests|\b429\b|resource[_ ]exhausted|quota exceeded|throttl|tokens per minute")
        .expect("valid regex")
});
static OVER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)overloaded|\b529\b").expect("valid regex"));
/// Cheap test on raw bytes: can this line be an event at all? (No false negatives for the
/// classifier's patterns.)
static PRE: LazyLock<BRegex> = LazyLock::new(|| {
    BRegex::new(r"(?i)429|529|rate[_ ]limit|too many requests|resource[_ ]exhausted|quota exceeded|throttl|tokens per minute|overloaded")
        .expect("valid regex")
});
static STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bstatus=(\d{3})\b").expect("valid regex"));
static KV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(provider|model|candidate|profile|profileId|authProfileId)=([^\s,;]+)")
        .expect("valid regex")
});
static RETRY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"transient same-model retry \d+/\d+ for (\S+?)/(\S+) reason=([A-Za-z_]+)")
        .expect("valid regex")
});
static REASON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:failoverReason|reason)=(rate_limit|overloaded)\b").expect("valid regex")
});
static RETRY_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)retry[-_ ]?after(ms|[-_ ]?seconds|[-_ ]?secs)?["'\s:=]+(\d+(?:\.\d+)?)\s*(ms|s\b|sec)?"#)
        .expect("valid regex")
});

/// OpenClaw's classifier on free text.
pub fn classify(text: &str) -> Option<Kind> {
    if RATE.is_match(text) {
        Some(Kind::RateLimit)
    } else if OVER.is_match(text) {
        Some(Kind::Overloaded)
    } else {
        None
    }
}

/// Whether a raw line is worth parsing.
pub fn prefilter(raw: &[u8]) -> bool {
    PRE.is_match(raw)
}

/// `Retry-After` in seconds, when the text carries one (`retry-after: 30`, `retryAfterMs=2000`).
pub fn retry_after_secs(text: &str) -> Option<u64> {
    let c = RETRY_AFTER.captures(text)?;
    let n: f64 = c.get(2)?.as_str().parse().ok()?;
    let ms = c
        .get(1)
        .is_some_and(|m| m.as_str().eq_ignore_ascii_case("ms"))
        || c.get(3)
            .is_some_and(|m| m.as_str().eq_ignore_ascii_case("ms"));
    let secs = if ms { n / 1000.0 } else { n };
    // Outside input: a Retry-After beyond a day is taken as a day (as probes do), so no
    // logged number can push a time out of range.
    (secs.is_finite() && secs >= 0.0).then(|| secs.ceil().min(MAX_RETRY_AFTER_SECS as f64) as u64)
}

/// The longest Retry-After honoured, seconds (one day).
pub const MAX_RETRY_AFTER_SECS: u64 = 86_400;

/// A possible event, before dedupe.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub at: DateTime<Utc>,
    pub provider: String,
    pub model: String,
    pub profile: String,
    pub kind: Kind,
    /// The one-per-response model-fetch line.
    pub primary: bool,
    /// model-fetch, retry, agent-end, failover, log, transcript.
    pub signal: &'static str,
    pub status: Option<u16>,
    pub retry_after_secs: Option<u64>,
    /// Unique key of the line (see the module doc).
    pub origin: String,
    /// Where it was read (a path relative to the state dir, or `journal:<unit>`).
    pub source: String,
    pub excerpt: String,
}

fn s(m: &Map<String, Value>, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|k| match m.get(*k) {
            Some(Value::String(v)) if !v.is_empty() => Some(v.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

fn split_ref(r: &str) -> (String, String) {
    match r.split_once('/') {
        Some((p, m)) => (p.to_string(), m.to_string()),
        None => (r.to_string(), String::new()),
    }
}

/// `(signal, kind, provider, model, profile, status, retry_after)` without time and origin.
type Found = (
    &'static str,
    Kind,
    String,
    String,
    String,
    Option<u16>,
    Option<u64>,
);

fn kv(text: &str) -> HashMap<&str, &str> {
    KV.captures_iter(text)
        .filter_map(|c| Some((c.get(1)?.as_str(), c.get(2)?.as_str())))
        .collect()
}

fn from_meta(m: &Map<String, Value>) -> Option<Found> {
    if m.get("isError") == Some(&Value::Bool(false)) {
        return None;
    }
    let reason = s(m, &["failoverReason", "reason"]);
    let err_type = s(m, &["providerErrorType", "errorType"]);
    let status = m
        .get("status")
        .or_else(|| m.get("httpCode"))
        .and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok());
    let kind = match (reason.as_str(), err_type.as_str(), status) {
        ("rate_limit", _, _) | (_, "rate_limit_error", _) | (_, _, Some(429)) => Kind::RateLimit,
        ("overloaded", _, _) | (_, "overloaded_error", _) | (_, _, Some(529)) => Kind::Overloaded,
        _ => return None,
    };
    let signal = if s(m, &["event"]) == "embedded_run_agent_end" {
        "agent-end"
    } else {
        "failover"
    };
    let mut provider = s(m, &["provider", "modelProvider"]);
    let mut model = s(m, &["model", "modelId"]);
    if provider.is_empty() && model.contains('/') {
        (provider, model) = split_ref(&model);
    }
    let retry = m
        .get("retryAfterMs")
        .and_then(Value::as_f64)
        .map(|ms| (ms / 1000.0).ceil() as u64)
        .or_else(|| m.get("retryAfterSeconds").and_then(Value::as_u64))
        .or_else(|| retry_after_secs(&s(m, &["rawErrorPreview", "error", "errorMessage"])));
    Some((
        signal,
        kind,
        provider,
        model,
        s(m, &["profileId", "authProfileId", "profile"]),
        status,
        retry,
    ))
}

fn from_text(line: &LogLine) -> Option<Found> {
    let msg = line.message.as_str();
    if msg.contains("[model-fetch] response") {
        let status: u16 = STATUS.captures(msg)?.get(1)?.as_str().parse().ok()?;
        let kind = match status {
            429 => Kind::RateLimit,
            529 => Kind::Overloaded,
            _ => return None,
        };
        let f = kv(msg);
        let get = |k: &str| f.get(k).map(|v| v.to_string()).unwrap_or_default();
        return Some((
            "model-fetch",
            kind,
            get("provider"),
            get("model"),
            String::new(),
            Some(status),
            retry_after_secs(msg),
        ));
    }
    if let Some(c) = RETRY_LINE.captures(msg) {
        let kind = match &c[3] {
            "rate_limit" => Kind::RateLimit,
            "overloaded" => Kind::Overloaded,
            _ => return None,
        };
        return Some((
            "retry",
            kind,
            c[1].to_string(),
            c[2].to_string(),
            String::new(),
            None,
            retry_after_secs(msg),
        ));
    }
    let kind_reason = REASON.captures(msg).map(|c| match &c[1] {
        "overloaded" => Kind::Overloaded,
        _ => Kind::RateLimit,
    });
    let level_ok = line.level.as_deref().is_none_or(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("warn") || l.starts_with("err") || l.starts_with("fatal")
    });
    let kind = match kind_reason {
        Some(k) => k,
        None if level_ok => classify(msg)?,
        None => return None,
    };
    let f = kv(msg);
    let get = |k: &str| f.get(k).map(|v| v.to_string()).unwrap_or_default();
    let (mut provider, mut model) = (get("provider"), get("model"));
    if provider.is_empty() {
        let cand = get("candidate");
        if !cand.is_empty() {
            (provider, model) = split_ref(&cand);
        } else if model.contains('/') {
            (provider, model) = split_ref(&model);
        }
    }
    let signal = if msg.contains("agent end") {
        "agent-end"
    } else if kind_reason.is_some() {
        "failover"
    } else {
        "log"
    };
    let profile = [get("profileId"), get("authProfileId"), get("profile")]
        .into_iter()
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    let status = if RATE.is_match(msg) && msg.contains("429") {
        Some(429)
    } else if msg.contains("529") {
        Some(529)
    } else {
        None
    };
    Some((
        signal,
        kind,
        provider,
        model,
        profile,
        status,
        retry_after_secs(msg),
    ))
}

/// The event a gateway log line stands for, if any. `fallback_time` dates lines without one.
pub fn from_log(
    line: &LogLine,
    fallback_time: Option<DateTime<Utc>>,
    origin: String,
    source: &str,
) -> Option<Candidate> {
    let found = from_text(line).or_else(|| line.meta.iter().find_map(from_meta))?;
    let at = line.time.or(fallback_time)?;
    let (signal, kind, provider, model, profile, status, retry) = found;
    Some(Candidate {
        at,
        provider,
        model,
        profile,
        kind,
        primary: signal == "model-fetch",
        signal,
        status,
        retry_after_secs: retry,
        origin,
        source: source.to_string(),
        excerpt: excerpt(&line.message),
    })
}

/// A transcript assistant error (`stopReason: "error"`) as an echo event.
pub fn from_transcript(
    error_message: &str,
    provider: &str,
    model: &str,
    at: DateTime<Utc>,
    origin: String,
    source: &str,
) -> Option<Candidate> {
    let kind = classify(error_message)?;
    Some(Candidate {
        at,
        provider: provider.to_string(),
        model: model.to_string(),
        profile: String::new(),
        kind,
        primary: false,
        signal: "transcript",
        status: if error_message.contains("529") {
            Some(529)
        } else if error_message.contains("429") {
            Some(429)
        } else {
            None
        },
        retry_after_secs: retry_after_secs(error_message),
        origin,
        source: source.to_string(),
        excerpt: excerpt(error_message),
    })
}

fn excerpt(text: &str) -> String {
    crate::redact::excerpt(text, 200)
}

/// Keep the candidates that are events (see the module doc). `latest`: each provider's latest
/// event already in the ledger.
pub fn dedupe(
    mut cands: Vec<Candidate>,
    latest: &HashMap<String, DateTime<Utc>>,
    window: Duration,
) -> Vec<Candidate> {
    cands.sort_by(|a, b| a.at.cmp(&b.at).then(b.primary.cmp(&a.primary)));
    let mut primaries: HashMap<&str, Vec<DateTime<Utc>>> = HashMap::new();
    for c in cands.iter().filter(|c| c.primary) {
        primaries.entry(&c.provider).or_default().push(c.at);
    }
    let near = |a: DateTime<Utc>, b: DateTime<Utc>| (a - b).abs() <= window;
    let matches = |echo: &str, p: &str| echo.is_empty() || echo == p;
    let mut last: HashMap<String, DateTime<Utc>> = latest.clone();
    let mut keep_flags = Vec::with_capacity(cands.len());
    for c in &cands {
        let keep = if c.primary {
            true
        } else {
            let by_primary = primaries
                .iter()
                .any(|(p, ts)| matches(&c.provider, p) && ts.iter().any(|t| near(*t, c.at)));
            let by_last = last
                .iter()
                .any(|(p, t)| matches(&c.provider, p) && near(*t, c.at));
            !(by_primary || by_last)
        };
        if keep {
            let e = last.entry(c.provider.clone()).or_insert(c.at);
            *e = (*e).max(c.at);
        }
        keep_flags.push(keep);
    }
    let mut seen = std::collections::HashSet::new();
    cands
        .into_iter()
        .zip(keep_flags)
        .filter(|(_, k)| *k)
        .map(|(c, _)| c)
        .filter(|c| seen.insert(c.origin.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openclaw::gatewaylog::{parse_console, parse_line};

    fn at(sec: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-05-04T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::seconds(sec)
    }

    #[test]
    fn classifier_like_openclaw() {
        for t in [
            "429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}",
            "Too Many Requests",
            "RESOURCE_EXHAUSTED: quota",
            "Quota exceeded for metric",
            "request was throttled",
            "limit of 30000 tokens per minute",
            "FailoverError: ⚠️ API rate limit reached. Please try again later.",
        ] {
            assert_eq!(classify(t), Some(Kind::RateLimit), "{t}");
            assert!(prefilter(t.as_bytes()), "{t}");
        }
        for t in [
            "529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
            "Overloaded",
        ] {
            assert_eq!(classify(t), Some(Kind::Overloaded), "{t}");
        }
        for t in ["fetch failed", "context overflow", "status=4290"] {
            assert_eq!(classify(t), None, "{t}");
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after_secs("Retry-After: 30"), Some(30));
        assert_eq!(retry_after_secs("retryAfterMs=2500"), Some(3));
        assert_eq!(retry_after_secs("\"retry-after\":\"12\""), Some(12));
        assert_eq!(retry_after_secs("please retry after 20s"), Some(20));
        assert_eq!(retry_after_secs("nothing here"), None);
        assert_eq!(
            retry_after_secs("retry-after: 9000000000000000000"),
            Some(86_400)
        );
    }

    #[test]
    fn model_fetch_is_primary_and_only_429_529() {
        let l = parse_line(br#"{"time":"2026-05-04T14:00:00.000+02:00","level":"info","subsystem":"provider-transport-fetch","message":"[model-fetch] response provider=anthropic api=anthropic-messages model=claude-sonnet-4-5 status=429 elapsedMs=31"}"#).unwrap();
        let c = from_log(&l, None, "o".into(), "f").unwrap();
        assert!(c.primary);
        assert_eq!(
            (c.provider.as_str(), c.model.as_str()),
            ("anthropic", "claude-sonnet-4-5")
        );
        assert_eq!((c.kind, c.status), (Kind::RateLimit, Some(429)));
        assert_eq!(c.at, at(0));
        // A 200 that took 429 ms is nothing.
        let l = parse_line(br#"{"time":"2026-05-04T14:00:00.000+02:00","level":"info","message":"[model-fetch] response provider=a model=m status=200 elapsedMs=429"}"#).unwrap();
        assert!(from_log(&l, None, "o".into(), "f").is_none());
    }

    #[test]
    fn echoes_from_meta_and_text() {
        let l = parse_line(br#"{"0":"{\"subsystem\":\"agent/embedded\"}","1":{"event":"embedded_run_agent_end","isError":true,"failoverReason":"rate_limit","provider":"anthropic","model":"claude-sonnet-4-5","rawErrorPreview":"429 {\"type\":\"error\"}"},"2":"embedded run agent end","_meta":{"logLevelName":"WARN","date":"2026-05-04T12:00:01.000Z"},"time":"2026-05-04T14:00:01.000+02:00"}"#).unwrap();
        let c = from_log(&l, None, "o".into(), "f").unwrap();
        assert_eq!(
            (c.signal, c.primary, c.provider.as_str()),
            ("agent-end", false, "anthropic")
        );
        let l = parse_console("2026-05-04T14:00:02.000+02:00 [agent/embedded] transient same-model retry 1/9 for anthropic/claude-sonnet-4-5 reason=rate_limit: delayMs=1000");
        let c = from_log(&l, None, "o".into(), "j").unwrap();
        assert_eq!((c.signal, c.model.as_str()), ("retry", "claude-sonnet-4-5"));
        let l = parse_console("[model-fallback] model fallback decision: decision=candidate_failed candidate=openai/gpt-5.4 reason=rate_limit");
        let c = from_log(&l, Some(at(9)), "o".into(), "j").unwrap();
        assert_eq!(
            (c.provider.as_str(), c.model.as_str(), c.at),
            ("openai", "gpt-5.4", at(9))
        );
        // A retry for a timeout is not a rate limit; an INFO line mentioning quotas is not.
        let l = parse_console("transient same-model retry 1/8 for ollama/q reason=timeout");
        assert!(from_log(&l, Some(at(0)), "o".into(), "j").is_none());
        let l = parse_line(br#"{"time":"2026-05-04T14:00:00Z","level":"info","message":"quota exceeded docs link"}"#).unwrap();
        assert!(from_log(&l, None, "o".into(), "f").is_none());
    }

    fn cand(sec: i64, provider: &str, primary: bool, origin: &str) -> Candidate {
        Candidate {
            at: at(sec),
            provider: provider.into(),
            model: "m".into(),
            profile: String::new(),
            kind: Kind::RateLimit,
            primary,
            signal: if primary { "model-fetch" } else { "retry" },
            status: None,
            retry_after_secs: None,
            origin: origin.into(),
            source: "s".into(),
            excerpt: String::new(),
        }
    }

    #[test]
    fn one_event_per_response() {
        let w = Duration::seconds(60);
        // Two 429 responses, each with a retry line, and one agent end: 2 events.
        let c = vec![
            cand(0, "a", true, "1"),
            cand(1, "a", false, "2"),
            cand(2, "a", true, "3"),
            cand(3, "a", false, "4"),
            cand(4, "a", false, "5"),
            // Another provider's echo with no primary: counted once.
            cand(5, "b", false, "6"),
            cand(6, "b", false, "7"),
            // Same provider much later: counted again.
            cand(200, "b", false, "8"),
        ];
        let kept = dedupe(c, &HashMap::new(), w);
        let o: Vec<&str> = kept.iter().map(|c| c.origin.as_str()).collect();
        assert_eq!(o, vec!["1", "3", "6", "8"]);
        // An echo near an event already in the ledger is not counted again.
        let mut latest = HashMap::new();
        latest.insert("b".to_string(), at(190));
        let kept = dedupe(vec![cand(200, "b", false, "9")], &latest, w);
        assert!(kept.is_empty());
        // The same line twice (same origin) counts once.
        let kept = dedupe(
            vec![cand(0, "a", true, "x"), cand(0, "a", true, "x")],
            &HashMap::new(),
            w,
        );
        assert_eq!(kept.len(), 1);
    }
}
