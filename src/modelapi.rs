//! The one model-API client: how claw asks an Anthropic- or OpenAI-compatible endpoint a
//! question (stuck triage) or pings it (rate-limit HALF-OPEN probe). Both callers build the
//! same requests and read the same usage fields, so the wire format lives here once; the
//! transport (timeout, error mapping, redaction) is [`crate::http`].

use serde_json::{json, Value};

/// Which wire format an endpoint speaks (settings key `api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `POST {base}/v1/messages`, `x-api-key`, `anthropic-version`.
    Anthropic,
    /// `POST {base}/chat/completions`, bearer token.
    OpenAi,
}

/// The spellings accepted in settings (checked at load).
pub const NAMES: &[&str] = &["anthropic", "openai"];

impl Api {
    pub fn parse(s: &str) -> Option<Api> {
        match s {
            "anthropic" => Some(Api::Anthropic),
            "openai" => Some(Api::OpenAi),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Api::Anthropic => "anthropic",
            Api::OpenAi => "openai",
        }
    }

    /// The endpoint under a base URL (`https://api.anthropic.com` -> `.../v1/messages`).
    pub fn endpoint(self, base: &str) -> String {
        let base = base.trim_end_matches('/');
        match self {
            Api::Anthropic => format!("{base}/v1/messages"),
            Api::OpenAi => format!("{base}/chat/completions"),
        }
    }
}

/// One request to send: headers (the key among them: never print them) and the JSON body.
#[derive(Debug, Clone)]
pub struct Request {
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl Request {
    /// The headers as [`crate::http::Client`] takes them.
    pub fn header_refs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// A one-turn request: an optional system prompt and one user message.
pub fn request(
    api: Api,
    key: Option<&str>,
    model: &str,
    max_tokens: u32,
    system: Option<&str>,
    user: &str,
) -> Request {
    let mut headers = Vec::new();
    let body = match api {
        Api::Anthropic => {
            headers.push(("anthropic-version", "2023-06-01".to_string()));
            if let Some(k) = key {
                headers.push(("x-api-key", k.to_string()));
            }
            let mut b = serde_json::Map::new();
            b.insert("model".into(), json!(model));
            b.insert("max_tokens".into(), json!(max_tokens));
            if let Some(s) = system {
                b.insert("system".into(), json!(s));
            }
            b.insert(
                "messages".into(),
                json!([{"role": "user", "content": user}]),
            );
            Value::Object(b)
        }
        Api::OpenAi => {
            if let Some(k) = key {
                headers.push(("authorization", format!("Bearer {k}")));
            }
            let mut messages = Vec::new();
            if let Some(s) = system {
                messages.push(json!({"role": "system", "content": s}));
            }
            messages.push(json!({"role": "user", "content": user}));
            json!({"model": model, "max_tokens": max_tokens, "messages": messages})
        }
    };
    Request { headers, body }
}

/// Tokens a reply reports (either format's names); 0 where absent.
pub fn usage(reply: &Value) -> (u64, u64) {
    let u = reply.get("usage");
    let n = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| u.and_then(|u| u.get(*k)).and_then(Value::as_u64))
            .unwrap_or(0)
    };
    (
        n(&["input_tokens", "prompt_tokens"]),
        n(&["output_tokens", "completion_tokens"]),
    )
}

/// The answer's text.
pub fn text(api: Api, reply: &Value) -> Option<&str> {
    match api {
        Api::Anthropic => reply.pointer("/content/0/text"),
        Api::OpenAi => reply.pointer("/choices/0/message/content"),
    }
    .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats() {
        let r = request(Api::Anthropic, Some("k1"), "m", 5, Some("sys"), "hi");
        assert_eq!(
            r.body,
            json!({"model":"m","max_tokens":5,"system":"sys","messages":[{"role":"user","content":"hi"}]})
        );
        assert!(r.header_refs().contains(&("x-api-key", "k1")));
        assert!(r
            .header_refs()
            .contains(&("anthropic-version", "2023-06-01")));
        let r = request(Api::OpenAi, Some("k2"), "m", 5, Some("sys"), "hi");
        assert_eq!(
            r.body["messages"][0],
            json!({"role":"system","content":"sys"})
        );
        assert_eq!(r.header_refs(), vec![("authorization", "Bearer k2")]);
        // A probe: no system prompt, no key.
        let r = request(Api::OpenAi, None, "m", 1, None, "ping");
        assert!(r.headers.is_empty());
        assert_eq!(r.body["messages"].as_array().unwrap().len(), 1);
        assert_eq!(
            Api::Anthropic.endpoint("https://x/"),
            "https://x/v1/messages"
        );
        assert_eq!(
            Api::OpenAi.endpoint("https://x"),
            "https://x/chat/completions"
        );
        for n in NAMES {
            assert_eq!(Api::parse(n).unwrap().name(), *n);
        }
    }

    #[test]
    fn replies() {
        let a = json!({"content":[{"text":"ok"}],"usage":{"input_tokens":3,"output_tokens":4}});
        assert_eq!((text(Api::Anthropic, &a), usage(&a)), (Some("ok"), (3, 4)));
        let o = json!({"choices":[{"message":{"content":"yo"}}],
                       "usage":{"prompt_tokens":5,"completion_tokens":6}});
        assert_eq!((text(Api::OpenAi, &o), usage(&o)), (Some("yo"), (5, 6)));
        assert_eq!(usage(&json!({})), (0, 0));
    }
}
