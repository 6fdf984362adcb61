//! Webhook targets: the Telnyx objects and generic APIs that must point at the tunnel. Each
//! update is sent, retried on 429 / 5xx / network errors with backoff, and read back where
//! the API allows. Secrets (the API key, tokens) are only read from the environment, sent in
//! headers, and scrubbed from every reason returned.

use crate::settings::{TunnelJob, WebhookTarget};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// One update to make: everything needed to send and check it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Stable name: `telnyx:call_control_application:<id>`, or the generic target's name.
    pub name: String,
    /// What the target should hold afterwards (for status and alerts).
    pub webhook_url: String,
    /// Changes whenever the request would change (URL, path, body, endpoint).
    pub fingerprint: String,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    /// Environment variable holding the secret (`{token}` / bearer key), if any.
    secret_env: Option<String>,
    body: String,
    verify: Option<Verify>,
}

#[derive(Debug, Clone)]
struct Verify {
    url: String,
    pointer: String,
    /// `None`: must start with the tunnel URL.
    want: Option<String>,
}

/// How one update went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Result {
    pub ok: bool,
    /// HTTP requests made (updates and read-backs).
    pub attempts: u32,
    pub http_status: Option<u16>,
    /// Redacted reason; never holds a secret.
    pub error: Option<String>,
}

/// Replace `{url}` in a template, JSON-escaping the URL when `json_escape`.
pub fn render(template: &str, url: &str, json_escape: bool) -> String {
    if json_escape {
        let quoted = serde_json::to_string(url).unwrap_or_default();
        template.replace("{url}", &quoted[1..quoted.len() - 1])
    } else {
        template.replace("{url}", url)
    }
}

fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    crate::digest::hex(&h.finalize()[..12])
}

/// Every target in settings, for the tunnel URL `url`. Pure: reads no environment.
pub fn plans(s: &TunnelJob, url: &str) -> Vec<Plan> {
    let mut out = Vec::new();
    let t = &s.telnyx;
    let base = t.api_base.trim_end_matches('/');
    let hook = format!("{url}{}", t.webhook_path);
    let kinds = [
        (
            "call_control_application",
            "call_control_applications",
            &t.call_control_application_ids,
        ),
        (
            "credential_connection",
            "credential_connections",
            &t.credential_connection_ids,
        ),
    ];
    for (kind, coll, ids) in kinds {
        for id in ids {
            let api = format!("{base}/v2/{coll}/{id}");
            out.push(Plan {
                name: format!("telnyx:{kind}:{id}"),
                webhook_url: hook.clone(),
                fingerprint: fingerprint(&["telnyx", &api, &hook]),
                method: "PATCH".into(),
                url: api.clone(),
                headers: vec![
                    ("Authorization".into(), "Bearer {token}".into()),
                    ("Accept".into(), "application/json".into()),
                ],
                secret_env: Some(t.api_key_env.clone()),
                body: json!({ "webhook_event_url": hook }).to_string(),
                verify: Some(Verify {
                    url: api,
                    pointer: "/data/webhook_event_url".into(),
                    want: Some(hook.clone()),
                }),
            });
        }
    }
    for g in &s.targets {
        out.push(generic(g, url));
    }
    out
}

fn generic(g: &WebhookTarget, url: &str) -> Plan {
    let api = render(&g.url, url, false);
    let body = render(&g.body, url, true);
    let verify = (!g.verify_url.is_empty()).then(|| Verify {
        url: render(&g.verify_url, url, false),
        pointer: g.verify_pointer.clone(),
        want: (!g.verify_value.is_empty()).then(|| render(&g.verify_value, url, false)),
    });
    let mut headers: Vec<(String, String)> = g
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    headers.sort();
    let hdr_text: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    Plan {
        name: g.name.clone(),
        webhook_url: url.to_string(),
        fingerprint: fingerprint(&["generic", &g.method, &api, &hdr_text, &body]),
        method: g.method.to_ascii_uppercase(),
        url: api,
        headers,
        secret_env: g.token_env.clone(),
        body,
        verify,
    }
}

/// Backoff before attempt `n` (1-based; none before the first): base, 2 base, 4 base ..
/// capped at one minute.
pub fn backoff(base_ms: u64, n: u32) -> Duration {
    if n <= 1 {
        return Duration::ZERO;
    }
    let ms = base_ms.saturating_mul(1u64 << (n - 2).min(20));
    Duration::from_millis(ms.min(60_000))
}

/// Timeout of one update or read-back request: APIs are slower than a health check.
const HTTP_TIMEOUT_SECS: u64 = 15;

/// Whether a status is worth another attempt in this run.
fn retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

struct Http {
    client: crate::http::Client,
    attempts: u32,
    base_ms: u64,
}

/// One response: status and body (`None` status = network error with its reason).
type Answer = std::result::Result<(u16, String), String>;

impl Http {
    fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&str>,
    ) -> Answer {
        let mut h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if body.is_some() {
            h.push(("Content-Type", "application/json"));
        }
        // The caller scrubs the secrets it put in headers; the URL is named for context.
        self.client
            .send(method, url, &h, body.map(str::as_bytes))
            .map(|r| (r.status, r.body))
            .map_err(|e| format!("{url}: {e}"))
    }

    /// Call with retries on 429 / 5xx / network errors; counts attempts into `res`.
    fn call_retrying(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&str>,
        res: &mut Result,
    ) -> Answer {
        let mut last: Answer = Err("not attempted".into());
        for n in 1..=self.attempts.max(1) {
            std::thread::sleep(backoff(self.base_ms, n));
            res.attempts += 1;
            last = self.call(method, url, headers, body);
            match &last {
                Ok((st, _)) => {
                    res.http_status = Some(*st);
                    if !retryable(*st) {
                        return last;
                    }
                }
                Err(_) => res.http_status = None,
            }
        }
        last
    }
}

/// Send one planned update and read it back. `env` looks up environment variables.
pub fn apply(
    plan: &Plan,
    tunnel_url: &str,
    s: &TunnelJob,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result {
    let mut secrets = Vec::new();
    let mut res = Result::default();
    let token = match &plan.secret_env {
        Some(var) => match env(var).filter(|v| !v.trim().is_empty()) {
            Some(v) => {
                secrets.push(v.trim().to_string());
                Some(v.trim().to_string())
            }
            None => {
                res.error = Some(format!("{var} is not set"));
                return res;
            }
        },
        None => None,
    };
    let headers: Vec<(String, String)> = plan
        .headers
        .iter()
        .map(|(k, v)| {
            let v = match &token {
                Some(t) => v.replace("{token}", t),
                None => v.clone(),
            };
            (k.clone(), v)
        })
        .collect();
    let http = Http {
        client: crate::http::Client::new(Duration::from_secs(HTTP_TIMEOUT_SECS)),
        attempts: s.update_attempts,
        base_ms: s.backoff_ms,
    };
    let scrub = |m: String| {
        let mut m = m;
        for sec in secrets.iter().filter(|x| x.len() >= 4) {
            m = m.replace(sec.as_str(), crate::redact::MASK);
        }
        crate::redact::redact_text(&m)
    };
    match http.call_retrying(
        &plan.method,
        &plan.url,
        &headers,
        Some(&plan.body),
        &mut res,
    ) {
        Err(e) => {
            // `Http::call` names the URL with the transport error.
            res.error = Some(scrub(format!(
                "{} {e} (after {} attempts)",
                plan.method, res.attempts
            )));
            return res;
        }
        Ok((st, _)) if !(200..300).contains(&st) => {
            let tail = if retryable(st) {
                format!(" (after {} attempts)", res.attempts)
            } else {
                String::new()
            };
            res.error = Some(scrub(format!(
                "{} {}: HTTP {st}{tail}",
                plan.method, plan.url
            )));
            return res;
        }
        Ok(_) => {}
    }
    if let Some(v) = &plan.verify {
        let (st, body) = match http.call_retrying("GET", &v.url, &headers, None, &mut res) {
            Err(e) => {
                res.error = Some(scrub(format!("read-back GET {e}")));
                return res;
            }
            Ok(x) => x,
        };
        if !(200..300).contains(&st) {
            res.error = Some(scrub(format!("read-back GET {}: HTTP {st}", v.url)));
            return res;
        }
        if !v.pointer.is_empty() {
            let doc: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let got = doc.pointer(&v.pointer).and_then(|x| x.as_str());
            let good = match (&v.want, got) {
                (Some(w), Some(g)) => g == w,
                (None, Some(g)) => g.starts_with(tunnel_url),
                (_, None) => false,
            };
            if !good {
                res.error = Some(scrub(format!(
                    "read-back GET {}: {} is {}, expected {}",
                    v.url,
                    v.pointer,
                    got.map(|g| format!("{g:?}"))
                        .unwrap_or_else(|| "missing".into()),
                    v.want.clone().unwrap_or_else(|| format!("{tunnel_url}...")),
                )));
                return res;
            }
        }
    }
    res.ok = true;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_escapes_for_json_only_when_asked() {
        assert_eq!(
            render(r#"{"u": "{url}/x"}"#, "https://a\"b", true),
            r#"{"u": "https://a\"b/x"}"#
        );
        assert_eq!(render("{url}/x", "https://a", false), "https://a/x");
    }

    #[test]
    fn backoff_doubles_from_the_second_attempt_and_is_capped() {
        assert_eq!(backoff(100, 1), Duration::ZERO);
        assert_eq!(backoff(100, 2), Duration::from_millis(100));
        assert_eq!(backoff(100, 4), Duration::from_millis(400));
        assert_eq!(backoff(100, 40), Duration::from_secs(60));
    }

    #[test]
    fn telnyx_plans_for_both_kinds_and_fingerprint_follows_the_url() {
        let mut s = TunnelJob::default();
        s.telnyx.api_base = "http://127.0.0.1:9/".into();
        s.telnyx.call_control_application_ids = vec!["111".into()];
        s.telnyx.credential_connection_ids = vec!["222".into()];
        let a = plans(&s, "https://a-b.trycloudflare.com");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].name, "telnyx:call_control_application:111");
        assert_eq!(
            a[0].url,
            "http://127.0.0.1:9/v2/call_control_applications/111"
        );
        assert_eq!(a[1].url, "http://127.0.0.1:9/v2/credential_connections/222");
        assert_eq!(
            a[0].webhook_url,
            "https://a-b.trycloudflare.com/voice/webhook"
        );
        let body: Value = serde_json::from_str(&a[1].body).unwrap();
        assert_eq!(body["webhook_event_url"], a[1].webhook_url.as_str());
        let b = plans(&s, "https://c-d.trycloudflare.com");
        assert_ne!(a[0].fingerprint, b[0].fingerprint);
        assert_eq!(
            a[0].fingerprint,
            plans(&s, "https://a-b.trycloudflare.com")[0].fingerprint
        );
    }

    #[test]
    fn missing_key_fails_without_a_request() {
        let mut s = TunnelJob::default();
        s.telnyx.call_control_application_ids = vec!["1".into()];
        let p = &plans(&s, "https://x-y.trycloudflare.com")[0];
        let r = apply(p, "https://x-y.trycloudflare.com", &s, &|_| None);
        assert!(!r.ok);
        assert_eq!(r.attempts, 0);
        assert_eq!(r.error.as_deref(), Some("TELNYX_API_KEY is not set"));
    }
}
