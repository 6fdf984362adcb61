//! Secrets never leave: redaction by key path (OpenClaw's own secret-key rules) for JSON, and
//! by pattern for free text (headers, `key=value` pairs, PEM blocks, credentials in URLs).
//!
//! Every value claw prints, diffs, records or sends goes through here first.

use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// What a redacted value is replaced with.
pub const MASK: &str = "***";

fn secret_key_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)(token$|password|passwd|secret|api.?key|encrypt.?key|private.?key|serviceaccount(ref)?$|^authorization$|^cookie$|^credentials?$|^bearer$|webhook.?url$)",
        )
        .expect("static regex")
    })
}

/// Counters whose names look secret but hold numbers or file paths.
const NOT_SECRET_SUFFIXES: &[&str] = &[
    "maxtokens",
    "maxoutputtokens",
    "contexttokens",
    "totaltokens",
    "tokencount",
    "tokenlimit",
    "tokenbudget",
    "passwordfile",
];

/// Whether a value under this key is secret (the key alone, case-insensitive).
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    if NOT_SECRET_SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        return false;
    }
    if key.is_ascii() {
        return secret_key_ascii(&lower);
    }
    secret_key_re().is_match(key)
}

/// [`secret_key_re`] on an ASCII-lowercased ASCII key, without compiling the regex (a config
/// walk asks this of every key; the regex costs more to build than the walk).
fn secret_key_ascii(k: &str) -> bool {
    // `<a>.?<b>`: `b` right after `a`, or one character (not a newline) later.
    let gap = |a: &str, b: &str| {
        k.match_indices(a).any(|(i, _)| {
            let rest = &k[i + a.len()..];
            rest.starts_with(b)
                || (rest.len() > b.len() && !rest.starts_with('\n') && rest[1..].starts_with(b))
        })
    };
    let ends_gap = |a: &str, b: &str| {
        k.strip_suffix(b).is_some_and(|h| {
            h.ends_with(a)
                || (h.len() > a.len() && !h.ends_with('\n') && h[..h.len() - 1].ends_with(a))
        })
    };
    k.ends_with("token")
        || ["password", "passwd", "secret"]
            .iter()
            .any(|w| k.contains(w))
        || gap("api", "key")
        || gap("encrypt", "key")
        || gap("private", "key")
        || k.ends_with("serviceaccount")
        || k.ends_with("serviceaccountref")
        || matches!(
            k,
            "authorization" | "cookie" | "credential" | "credentials" | "bearer"
        )
        || ends_gap("webhook", "url")
}

/// Whether the value at this path (keys from the root) is secret: a secret key anywhere on the
/// path, or anything under the top-level `env`.
pub fn is_secret_path(path: &[String]) -> bool {
    if path.first().map(|k| k == "env").unwrap_or(false) && path.len() > 1 {
        // `env.shellEnv.enabled` and similar switches are not secrets; `env.vars.*` and
        // inline `env.<NAME>` values are.
        return !(path.len() == 3 && path[1] == "shellEnv");
    }
    path.iter().any(|k| is_secret_key(k))
}

/// A `${VAR}` reference is not a secret: it names where the secret lives.
fn is_env_reference(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("${") && t.ends_with('}') && !t[2..t.len() - 1].contains(['$', '{', '}'])
}

/// Redact a JSON document in place: secret paths masked, free text scrubbed.
pub fn redact_json(v: &mut Value) {
    let mut path = Vec::new();
    walk(v, &mut path);
}

fn walk(v: &mut Value, path: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                path.push(k.clone());
                walk(child, path);
                path.pop();
            }
        }
        Value::Array(a) => {
            for child in a.iter_mut() {
                walk(child, path);
            }
        }
        Value::String(s) => {
            if is_secret_path(path) && !s.is_empty() && !is_env_reference(s) {
                *s = MASK.to_string();
            } else {
                let r = redact_text(s);
                if r != *s {
                    *s = r;
                }
            }
        }
        // A numeric secret (a PIN, a numeric token) is still a secret; counters are exempt
        // through NOT_SECRET_SUFFIXES.
        Value::Number(_) if is_secret_path(path) => *v = Value::String(MASK.to_string()),
        Value::Number(_) | Value::Bool(_) => {}
        Value::Null => {}
    }
}

/// Key names whose value is secret in free text (`password=...`, `"apiKey": "..."`).
const SECRET_KEY_WORDS: &str = r"[A-Za-z0-9_\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|session[_\-]?id|signature)";

/// One free-text rule: its pattern, its replacement and a cheap necessary condition on the
/// ASCII-lowercased text. Compiling every pattern costs more than a short job's whole run
/// (about 10 ms), so each is compiled the first time a text passes its condition.
struct TextRule {
    pattern: String,
    replace: &'static str,
    /// False only when the pattern cannot match. Checked on ASCII text only: with Unicode case
    /// folding `ſ` or `K` match letters the lowercased text would not show.
    may_match: fn(&str) -> bool,
    re: OnceLock<Regex>,
}

/// The stems of [`SECRET_KEY_WORDS`]: every text its patterns match holds one.
fn has_secret_word(t: &str) -> bool {
    [
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "api",
        "access",
        "private",
        "session",
        "signature",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// Each maximal run of key characters (`[a-z0-9_-]`) that holds a secret stem: its start and
/// the text after it. The key patterns match such a whole run (the character after a match
/// is never a key character), so this is where they can match.
fn secret_runs(t: &str) -> impl Iterator<Item = (usize, &str)> {
    let b = t.as_bytes();
    let key = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            while i < b.len() && !key(b[i]) {
                i += 1;
            }
            let start = i;
            while i < b.len() && key(b[i]) {
                i += 1;
            }
            if start < i && has_secret_word(&t[start..i]) {
                return Some((start, &t[i..]));
            }
        }
        None
    })
}

/// `key = value` with a secret-looking key.
fn secret_assignment(t: &str) -> bool {
    secret_runs(t).any(|(_, rest)| rest.trim_start().starts_with('='))
}

/// `"key": "value"` with a secret-looking key.
fn secret_json_member(t: &str) -> bool {
    secret_runs(t).any(|(start, rest)| {
        start > 0
            && t.as_bytes()[start - 1] == b'"'
            && rest.strip_prefix('"').is_some_and(|r| {
                r.trim_start()
                    .strip_prefix(':')
                    .is_some_and(|r| r.trim_start().starts_with('"'))
            })
    })
}

/// A line starting (after blanks) with a secret-looking `key:`.
fn secret_line(t: &str) -> bool {
    secret_runs(t).any(|(start, rest)| {
        let line = &t[t[..start].rfind('\n').map_or(0, |n| n + 1)..start];
        line.trim_start().is_empty() && rest.trim_start().starts_with(':')
    })
}

/// A digit right before a `:` (the Telegram bot token shape).
fn digit_colon(t: &str) -> bool {
    t.as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_digit() && w[1] == b':')
}

fn text_rules() -> &'static [TextRule] {
    static RULES: OnceLock<Vec<TextRule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let r = |pattern: &str, replace: &'static str, may_match: fn(&str) -> bool| TextRule {
            pattern: pattern.to_string(),
            replace,
            may_match,
            re: OnceLock::new(),
        };
        vec![
            // PEM blocks of any private key.
            r(
                r"(?s)-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?(-----END ([A-Z ]*)PRIVATE KEY-----|$)",
                "-----BEGIN ${1}PRIVATE KEY-----***-----END ${1}PRIVATE KEY-----",
                |t| t.contains("private key"),
            ),
            // Authorization headers and bare bearer tokens.
            r(
                r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{4,}",
                "$1 ***",
                |t| t.contains("bearer") || t.contains("basic"),
            ),
            // An already masked value is taken alone (redacting twice changes nothing).
            r(
                r"(?i)\b(authorization|proxy-authorization)\s*:\s*(?:\*\*\*|[^\s,;]+(\s+[^\s,;]+)?)",
                "$1: ***",
                |t| t.contains("authorization"),
            ),
            // Cookies: every value after the header name.
            r(r"(?i)\b(set-cookie|cookie)\s*:\s*[^\r\n]*", "$1: ***", |t| {
                t.contains("cookie")
            }),
            // key=value pairs, JSON `"key": "value"` and line-leading `key: value` whose key is
            // secret-looking. A dotted path followed by a message is not a pair.
            r(
                &format!(r#"(?i)\b({SECRET_KEY_WORDS})(\s*=\s*)("[^"]*"|'[^']*'|[^\s&,;"']+)"#),
                "$1$2***",
                secret_assignment,
            ),
            // A value already masked (`"*** (changed)"`) is left as it is.
            r(
                &format!(r#"(?i)("(?:{SECRET_KEY_WORDS})"\s*:\s*)"[^"*][^"]*""#),
                "$1\"***\"",
                secret_json_member,
            ),
            r(
                &format!(r#"(?im)^(\s*(?:{SECRET_KEY_WORDS})\s*:[ \t]*)([^\s].*)$"#),
                "$1***",
                secret_line,
            ),
            // Secrets in URL query strings.
            r(
                r#"(?i)([?&](?:key|api_key|apikey|token|access_token|auth|sig|signature|secret|password|code)=)[^&\s#"']+"#,
                "$1***",
                |t| t.contains('=') && (t.contains('?') || t.contains('&')),
            ),
            // Secrets in URL paths: the Telegram bot API (`/bot<token>/`), Slack and Discord
            // incoming webhooks, Teams (Office 365 connector and Workflows) webhooks. The
            // whole secret part of the path goes; the host stays so the sink is recognisable.
            r(
                r#"(?i)(api\.telegram\.org/(?:file/)?bot)[^/\s"'?#]+"#,
                "${1}***",
                |t| t.contains("api.telegram.org/"),
            ),
            r(
                r#"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s"'?#]+"#,
                "${1}***",
                |t| t.contains("hooks.slack.com/"),
            ),
            r(
                r#"(?i)(discord(?:app)?\.com/api/webhooks/)[^\s"'?#]+"#,
                "${1}***",
                |t| t.contains("/api/webhooks/"),
            ),
            r(
                r#"(?i)(\.webhook\.office\.com/webhookb2/)[^\s"'?#]+"#,
                "${1}***",
                |t| t.contains(".webhook.office.com/"),
            ),
            r(
                r#"(?i)(\.logic\.azure\.com(?::\d+)?/workflows/)[^\s"'?#]+"#,
                "${1}***",
                |t| t.contains(".logic.azure.com"),
            ),
            // Credentials in URLs: user:pass@host.
            r(
                r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s:@]+:[^/\s@]+@",
                "$1***:***@",
                |t| t.contains("://") && t.contains('@'),
            ),
            // Well-known key shapes: OpenAI/Anthropic `sk-...`, Slack `xox?-`, GitHub, Telegram bot tokens.
            r(r"\bsk-[A-Za-z0-9_\-]{8,}", "sk-***", |t| t.contains("sk-")),
            r(r"\bxox[abposr]-[A-Za-z0-9\-]{8,}", "xox*-***", |t| {
                t.contains("xox")
            }),
            r(r"\bgh[pousr]_[A-Za-z0-9]{16,}", "gh*_***", |t| t.contains("gh")),
            r(r"\b\d{6,12}:[A-Za-z0-9_\-]{20,}", "***:***", digit_colon),
        ]
    })
}

/// Scrub secrets out of free text (a log line, an error message, a string config value).
pub fn redact_text(s: &str) -> String {
    let mut out = std::borrow::Cow::Borrowed(s);
    // The conditions read the text as it is after the rules before (a replacement could in
    // principle make a later rule match).
    let mut lower = s.is_ascii().then(|| s.to_ascii_lowercase());
    for rule in text_rules() {
        if lower.as_deref().is_some_and(|l| !(rule.may_match)(l)) {
            continue;
        }
        let re = rule
            .re
            .get_or_init(|| Regex::new(&rule.pattern).expect("static regex"));
        if re.is_match(&out) {
            out = std::borrow::Cow::Owned(re.replace_all(&out, rule.replace).into_owned());
            lower = out.is_ascii().then(|| out.to_ascii_lowercase());
        }
    }
    out.into_owned()
}

/// Characters redacted beyond an excerpt's cut (see [`excerpt`]).
const EXCERPT_MARGIN: usize = 4096;

/// Redact, then cut to at most `max_chars` characters (a `…` marks the cut). The one way to
/// shorten text that may hold a secret: cutting first could leave a token's head, no longer
/// matching any pattern, in what is shown.
pub fn excerpt(s: &str, max_chars: usize) -> String {
    // Only a bounded head is redacted (a 50 MB value must not cost 50 MB of regex work): the
    // margin past the cut is far longer than any secret, so a token crossing the cut is still
    // whole enough there for its pattern to match.
    let head = match s
        .char_indices()
        .nth(max_chars.saturating_add(EXCERPT_MARGIN))
    {
        Some((end, _)) => &s[..end],
        None => s,
    };
    let r = redact_text(head);
    match r.char_indices().nth(max_chars) {
        None => r,
        Some((end, _)) => {
            let mut out = r[..end].to_string();
            out.push('…');
            out
        }
    }
}

/// Like [`excerpt`], keeping the last `max_chars` characters (the end of a long reply).
pub fn excerpt_tail(s: &str, max_chars: usize) -> String {
    let n = s.chars().count();
    let skip = n.saturating_sub(max_chars.saturating_add(EXCERPT_MARGIN));
    let tail = match s.char_indices().nth(skip) {
        Some((start, _)) => &s[start..],
        None => s,
    };
    let r = redact_text(tail);
    let n = r.chars().count();
    if n <= max_chars {
        return r;
    }
    let start = r
        .char_indices()
        .nth(n - max_chars)
        .map(|(i, _)| i)
        .unwrap_or(0);
    format!("…{}", &r[start..])
}

/// Redact a JSON value that is about to be shown, and return it as pretty text.
pub fn redacted_pretty(v: &Value) -> String {
    let mut c = v.clone();
    redact_json(&mut c);
    serde_json::to_string_pretty(&c).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_redacts_before_it_cuts() {
        let secret = "sk-ant-api03-SECRETSECRETSECRET";
        for pad in 140..170 {
            let text = format!("{} {secret} tail", "x".repeat(pad));
            for max in [150, 160, 170] {
                let e = excerpt(&text, max);
                assert!(!e.contains("SECRET"), "{pad}/{max}: {e}");
                assert!(e.chars().count() <= max + 1, "{e}");
                let t = excerpt_tail(&format!("{secret} {}", "y".repeat(pad)), max);
                assert!(!t.contains("SECRET"), "{pad}/{max}: {t}");
            }
        }
        assert_eq!(excerpt("short", 160), "short");
        // A token crossing the redaction margin too.
        for pad in [160 + EXCERPT_MARGIN - 10, 160 + EXCERPT_MARGIN - 3] {
            let text = format!("{}password={}", "x".repeat(pad), "s".repeat(64));
            let e = excerpt(&text, 160 + EXCERPT_MARGIN);
            assert!(!e.contains("ssssssss"), "{pad}");
        }
        assert_eq!(excerpt("ééé", 2), "éé…");
    }
    use serde_json::json;

    #[test]
    fn ascii_key_rules_agree_with_the_regex() {
        let parts = [
            "",
            "token",
            "Token",
            "api",
            "key",
            "Key",
            "_",
            "-",
            ".",
            "x",
            "\n",
            "password",
            "passwd",
            "secret",
            "encrypt",
            "private",
            "serviceaccount",
            "ref",
            "authorization",
            "cookie",
            "credential",
            "s",
            "bearer",
            "webhook",
            "url",
            "URL",
            "max",
            "bot",
        ];
        for a in parts {
            for b in parts {
                for c in parts {
                    let k = format!("{a}{b}{c}");
                    let lower = k.to_ascii_lowercase();
                    assert_eq!(
                        secret_key_ascii(&lower),
                        secret_key_re().is_match(&k),
                        "{k:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn secret_keys_follow_openclaw_rules() {
        for k in [
            "apiKey",
            "api_key",
            "botToken",
            "password",
            "signingSecret",
            "privateKey",
            "serviceAccount",
            "webhookUrl",
            "slack_webhook_url",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "maxTokens",
            "contextTokens",
            "totalTokens",
            "passwordFile",
            "model",
            "tokens",
            "webhookPath",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn json_redaction_masks_secret_paths_and_env_but_keeps_references() {
        let mut v = json!({
            "env": {"vars": {"OPENROUTER_API_KEY": "real-value"}, "shellEnv": {"enabled": true}},
            "gateway": {"auth": {"mode": "token", "token": "tok-123456"}},
            "models": {"providers": {"x": {"apiKey": "${X_KEY}", "baseUrl": "https://u:p@h/v1?key=abc123", "models": [{"maxTokens": 8192}]}}}
        });
        redact_json(&mut v);
        let s = v.to_string();
        assert!(
            !s.contains("real-value") && !s.contains("tok-123456") && !s.contains("abc123"),
            "{s}"
        );
        assert!(!s.contains("u:p@"), "{s}");
        assert!(s.contains("${X_KEY}"), "{s}");
        assert!(
            s.contains("8192") && s.contains("\"mode\":\"token\""),
            "{s}"
        );
        assert_eq!(v["env"]["shellEnv"]["enabled"], json!(true));
    }

    #[test]
    fn free_text_patterns() {
        for (input, secret) in [
            ("password=raw-password-value", "raw-password-value"),
            (
                "Authorization: Bearer raw-bearer-token-123456",
                "raw-bearer-token-123456",
            ),
            (
                "Cookie: session_id=raw-cookie-value-123456",
                "raw-cookie-value-123456",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nraw-private-key-value\n-----END PRIVATE KEY-----",
                "raw-private-key-value",
            ),
            ("key sk-ant-api03-abcdefghijklmnop used", "abcdefghijklmnop"),
            ("https://hooks.example/x?token=zzz999", "zzz999"),
        ] {
            let r = redact_text(input);
            assert!(!r.contains(secret), "{input} -> {r}");
        }
        // The Telegram bot API puts the token in the URL path.
        let r = redact_text(
            "POST https://api.telegram.org/bot123456789:AAH-0123456789abcdefghijklmnopqrstu/sendMessage failed",
        );
        assert!(
            !r.contains("AAH-0123456789") && !r.contains("123456789:"),
            "{r}"
        );
        assert!(r.contains("api.telegram.org/bot***/sendMessage"), "{r}");
        for (url, secret) in [
            ("https://hooks.slack.com/services/T0001/B0002/XXXXsecretXXXX", "XXXXsecretXXXX"),
            ("https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/0123secret/x", "0123secret"),
            ("https://prod-01.westus.logic.azure.com:443/workflows/0123secret/triggers/manual/paths/invoke?api-version=1&sig=SIGsecret", "secret"),
            ("https://discord.com/api/webhooks/123/TOKsecret", "TOKsecret"),
        ] {
            let r = redact_text(&format!("url = \"{url}\""));
            assert!(!r.contains(secret), "{r}");
        }
        let prose = "Open the browser settings page and summarize visible tab metadata.";
        assert_eq!(redact_text(prose), prose);
    }

    #[test]
    fn plain_messages_compile_no_pattern() {
        // Run in their own process, so no other test has compiled a rule yet.
        for m in [
            "plugin load path /home/x/y is unavailable: OpenClaw leaves channel and plugin settings unchecked (0 problem(s) there not reported)",
            "secret written in plain text; an env reference such as ${NAME} would keep it out of the file",
            "Unrecognized key: \"zzNotAKey\"",
            "Invalid input: expected number, received string",
            // What `config validate` prints, as text and as JSON.
            "channels.telegram.botToken: warning: secret written in plain text",
            "{\n  \"path\": \"channels.telegram.botToken\",\n  \"message\": \"secret written\"\n}",
        ] {
            let lower = m.to_ascii_lowercase();
            let compiled: Vec<&str> = text_rules()
                .iter()
                .filter(|r| (r.may_match)(&lower))
                .map(|r| r.pattern.as_str())
                .collect();
            assert!(compiled.is_empty(), "{m}: {compiled:?}");
        }
    }

    #[test]
    fn skipping_rules_that_cannot_match_changes_nothing() {
        // Every rule applied unconditionally: what redaction was before the conditions.
        let compiled: Vec<(Regex, &str)> = text_rules()
            .iter()
            .map(|r| (Regex::new(&r.pattern).unwrap(), r.replace))
            .collect();
        let all = |s: &str| {
            let mut out = s.to_string();
            for (re, rep) in &compiled {
                out = re.replace_all(&out, *rep).into_owned();
            }
            out
        };
        let pieces = [
            "password=hunter2x",
            "Authorization: Basic dXNlcjpwYXNz",
            "BEARER abcdefgh",
            "Set-Cookie: a=b",
            "\"apiKey\": \"v4lue\"",
            "  secret_token: abc def",
            "https://u:p@host/x?sig=abc&x=1",
            "api.telegram.org/bot12345678:AAAAAAAAAAAAAAAAAAAAAAAAA/",
            "hooks.slack.com/services/T/B/X",
            "discordapp.com/api/webhooks/1/x",
            "x.webhook.office.com/webhookb2/z",
            "a.logic.azure.com:443/workflows/q",
            "sk-abcdefghij",
            "xoxb-123456789",
            "ghp_abcdefghijklmnopqrst",
            "123456789:abcdefghijklmnopqrstuvwx",
            "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
            "Unrecognized key: \"zzNotAKey\"",
            "plain words",
            "ſecret=x",
            "K",
            "\u{212a}ey=1",
            "my-token\n  = v",
            "\"x.token\": \"v\"",
            "\"a_secret\" :\n \"v\"",
            "\n\t pwd\n: v",
            "a.password: v",
            "x token: y",
            "\"session-id\":\"abc\"",
        ];
        for a in pieces {
            for b in pieces {
                let t = format!("{a} {b}");
                assert_eq!(redact_text(&t), all(&t), "{t:?}");
            }
        }
    }
}
