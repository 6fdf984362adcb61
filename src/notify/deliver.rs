//! Delivery to one sink: build the request its kind expects, send it with a timeout and
//! bounded retries (429, 5xx and network errors back off and retry; other 4xx do not), and
//! say how it went without ever repeating a secret (URLs and tokens are scrubbed from every
//! reason before it is returned).

use super::{Kind, Message, Severity};
use crate::ctx::Ctx;
use crate::settings::{Sink, SinkKind};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// How a delivery went.
#[derive(Debug, Clone, Default)]
pub(crate) struct Delivery {
    pub ok: bool,
    /// Worth retrying on a later run (429, 5xx, network, missing secret, command failure).
    pub retry: bool,
    pub attempts: u32,
    pub http_status: Option<u16>,
    /// Redacted reason; never contains a URL or token.
    pub error: Option<String>,
}

struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Deliver `msg` to `sink`.
pub(crate) fn send(ctx: &Ctx, sink: &Sink, msg: &Message) -> Delivery {
    let mut secrets = Vec::new();
    let d = match build(ctx, sink, msg, &mut secrets) {
        Err(e) => Delivery {
            retry: true,
            error: Some(e),
            ..Delivery::default()
        },
        Ok(None) => run_command(ctx, sink, msg),
        Ok(Some(req)) => send_http(ctx, &req),
    };
    Delivery {
        error: d.error.map(|e| scrub(&e, &secrets)),
        ..d
    }
}

/// Replace every secret value, then every secret-looking pattern.
fn scrub(s: &str, secrets: &[String]) -> String {
    let mut out = s.to_string();
    for sec in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(sec.as_str(), crate::redact::MASK);
    }
    crate::redact::redact_text(&out)
}

/// A secret from the environment variable or the file the sink names, if it names one.
fn secret(
    ctx: &Ctx,
    sink: &Sink,
    env: &Option<String>,
    file: &Option<String>,
    what: &str,
) -> Result<Option<String>, String> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(format!(
                "sink {}: {what}_env names {var}, which is not set",
                sink.name
            )),
        };
    }
    if let Some(f) = file {
        let p = secret_file_path(ctx, f);
        return match crate::safefs::read_to_string(&p) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            Ok(_) => Err(format!("{}: {what}_file is empty", p.display())),
            Err(e) => Err(format!("{}: cannot read {what}_file: {e}", p.display())),
        };
    }
    Ok(None)
}

/// A relative `*_file` is relative to the settings file's directory.
pub(crate) fn secret_file_path(ctx: &Ctx, f: &str) -> PathBuf {
    let p = PathBuf::from(f);
    if p.is_absolute() {
        return p;
    }
    ctx.paths.settings.parent().map(|d| d.join(&p)).unwrap_or(p)
}

/// Whether the secrets a sink needs are present (for `claw doctor`). Never returns a secret.
pub(crate) fn check(ctx: &Ctx, sink: &Sink) -> Result<(), String> {
    let mut secrets = Vec::new();
    let msg = Message {
        id: 0,
        job: "doctor".into(),
        key: "doctor".into(),
        kind: Kind::Test,
        severity: Severity::Info,
        text: String::new(),
        at: String::new(),
        host: String::new(),
        payload: None,
    };
    build(ctx, sink, &msg, &mut secrets)
        .map(|_| ())
        .map_err(|e| scrub(&e, &secrets))
}

fn required(v: Option<String>, sink: &Sink, what: &str) -> Result<String, String> {
    v.ok_or_else(|| format!("sink {} ({}): needs {what}", sink.name, sink.kind.as_str()))
}

fn json_request(url: String, body: serde_json::Value) -> Request {
    Request {
        method: "POST".into(),
        url,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

/// The HTTP request for `sink`, or `None` for a command sink. Secrets found are pushed onto
/// `secrets` so any error text can be scrubbed of them.
fn build(
    ctx: &Ctx,
    sink: &Sink,
    msg: &Message,
    secrets: &mut Vec<String>,
) -> Result<Option<Request>, String> {
    let url = secret(ctx, sink, &sink.url_env, &sink.url_file, "url")?;
    let token = secret(ctx, sink, &sink.token_env, &sink.token_file, "token")?;
    secrets.extend(url.iter().cloned());
    secrets.extend(token.iter().cloned());
    let line = msg.line();
    // A digest's card, for the sinks that render more than a line.
    let card = msg.payload.as_ref().filter(|_| msg.kind == Kind::Digest);
    // Sinks that show plain text get all of a digest, not only its first line.
    let full = match card {
        Some(_) => format!(
            "{line}\n{}",
            msg.text.split_once('\n').map(|x| x.1).unwrap_or("")
        ),
        None => line.clone(),
    };
    let req = match sink.kind {
        SinkKind::Slack => json_request(
            required(url, sink, "url_env or url_file")?,
            match card {
                Some(c) => json!({ "text": line, "blocks": slack_blocks(c) }),
                None => json!({ "text": line }),
            },
        ),
        SinkKind::Teams => json_request(
            required(url, sink, "url_env or url_file")?,
            teams_message(
                &line,
                match card {
                    Some(c) => teams_card(c),
                    None => teams_line(msg, &line),
                },
            ),
        ),
        SinkKind::TeamsGraph => {
            let token = required(token, sink, "token_env or token_file")?;
            let url = match (url, &sink.chat_id) {
                (Some(u), _) => u,
                (None, Some(chat)) => {
                    format!("https://graph.microsoft.com/v1.0/chats/{chat}/messages")
                }
                (None, None) => return Err(required(None, sink, "chat_id or url_env").unwrap_err()),
            };
            let mut r = json_request(
                url,
                json!({ "body": { "contentType": "text", "content": full } }),
            );
            r.headers
                .push(("Authorization".into(), format!("Bearer {token}")));
            r
        }
        SinkKind::Telegram => {
            let token = required(token, sink, "token_env or token_file")?;
            let chat = required(sink.chat_id.clone(), sink, "chat_id")?;
            let base = url.unwrap_or_else(|| "https://api.telegram.org".into());
            json_request(
                format!("{}/bot{token}/sendMessage", base.trim_end_matches('/')),
                json!({ "chat_id": chat, "text": full, "disable_web_page_preview": true }),
            )
        }
        SinkKind::Ntfy => ntfy(sink, msg, card, url, token, full)?,
        SinkKind::Webhook => webhook(sink, msg, url, token)?,
        SinkKind::Command => {
            if sink.command.is_empty() {
                return Err(required(None, sink, "command").unwrap_err());
            }
            return Ok(None);
        }
    };
    Ok(Some(req))
}

/// A Teams message carrying one Adaptive Card: what Teams Workflows webhooks require and what
/// the older Office 365 connectors accept too.
fn teams_message(line: &str, content: serde_json::Value) -> serde_json::Value {
    json!({
        "type": "message",
        "text": line,
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": content,
        }],
    })
}

/// The card of a plain Teams message: its one line, coloured by severity.
fn teams_line(msg: &Message, line: &str) -> serde_json::Value {
    let color = match (msg.kind, msg.severity) {
        (Kind::Recovery, _) => "Good",
        (_, Severity::Critical) => "Attention",
        (_, Severity::Warning) => "Warning",
        _ => "Default",
    };
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{
            "type": "TextBlock",
            "text": line,
            "wrap": true,
            "color": color,
        }],
    })
}

/// An ntfy message: plain text, its title, priority and tag from the message's kind.
fn ntfy(
    sink: &Sink,
    msg: &Message,
    card: Option<&serde_json::Value>,
    url: Option<String>,
    token: Option<String>,
    full: String,
) -> Result<Request, String> {
    let topic = required(sink.topic.clone(), sink, "topic")?;
    let base = url.unwrap_or_else(|| "https://ntfy.sh".into());
    let (priority, tag) = match (msg.kind, msg.severity) {
        (Kind::Digest, _) => ("low", "bar_chart"),
        (Kind::Recovery, _) => ("default", "white_check_mark"),
        (_, Severity::Critical) => ("urgent", "rotating_light"),
        (_, Severity::Warning) => ("high", "warning"),
        _ => ("default", "information_source"),
    };
    let title = ascii(&match msg.kind {
        Kind::Digest => format!(
            "claw: {}",
            card.and_then(|c| c["title"].as_str())
                .unwrap_or("cost digest")
        ),
        Kind::Recovery => format!("claw: resolved {}", msg.job),
        _ => format!("claw: {} {}", msg.severity.as_str(), msg.job),
    });
    let mut headers = vec![
        ("Title".to_string(), title),
        ("Priority".to_string(), priority.to_string()),
        ("Tags".to_string(), tag.to_string()),
        (
            "Content-Type".to_string(),
            "text/plain; charset=utf-8".into(),
        ),
    ];
    if let Some(t) = token {
        headers.push(("Authorization".into(), format!("Bearer {t}")));
    }
    Ok(Request {
        method: "POST".into(),
        url: format!("{}/{}", base.trim_end_matches('/'), topic),
        headers,
        body: full.into_bytes(),
    })
}

/// A webhook: the message's document (or the sink's template filled with it).
fn webhook(
    sink: &Sink,
    msg: &Message,
    url: Option<String>,
    token: Option<String>,
) -> Result<Request, String> {
    let url = required(url, sink, "url_env or url_file")?;
    let doc = msg.doc();
    let body = match &sink.body_template {
        Some(t) => fill_template(t, &doc),
        None => doc.to_string(),
    };
    let tok = token.unwrap_or_default();
    let mut headers: Vec<(String, String)> = sink
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("{token}", &tok)))
        .collect();
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    Ok(Request {
        method: sink
            .method
            .clone()
            .unwrap_or_else(|| "POST".into())
            .to_ascii_uppercase(),
        url,
        headers,
        body: body.into_bytes(),
    })
}
/// A card's facts as `label: value` pairs.
fn facts(card: &serde_json::Value) -> Vec<(String, String)> {
    card["facts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f[0].as_str()?.to_string(), f[1].as_str()?.to_string())))
        .collect()
}

/// A card's sections as (title, lines, monospace).
fn sections(card: &serde_json::Value) -> Vec<(String, Vec<String>, bool)> {
    card["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let lines = s["lines"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str().map(String::from))
                .collect();
            (
                s["title"].as_str().unwrap_or_default().to_string(),
                lines,
                s["mono"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// Slack text objects take mrkdwn; `&`, `<` and `>` must be escaped in it.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A digest card as Slack Block Kit blocks: a header, the facts as fields (at most 10, as
/// Slack allows), one section per part (monospace parts in a code block), notes as context.
fn slack_blocks(card: &serde_json::Value) -> serde_json::Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": card["title"].as_str().unwrap_or("claw digest")},
    })];
    let fields: Vec<serde_json::Value> = facts(card)
        .iter()
        .take(10)
        .map(|(k, v)| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", slack_escape(k), slack_escape(v))}))
        .collect();
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    for (title, lines, mono) in sections(card) {
        if lines.is_empty() {
            continue;
        }
        let body = lines
            .iter()
            .map(|l| slack_escape(l))
            .collect::<Vec<_>>()
            .join("\n");
        let body = if mono { format!("```{body}```") } else { body };
        // Slack refuses a text object over 3000 characters.
        let text = crate::output::truncate(&format!("*{}*\n{body}", slack_escape(&title)), 2900);
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
    }
    let notes: Vec<String> = card["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(slack_escape))
        .collect();
    if !notes.is_empty() {
        blocks.push(
            json!({"type": "context", "elements": [{"type": "mrkdwn", "text": notes.join("\n")}]}),
        );
    }
    json!(blocks)
}

/// A digest card as a Teams Adaptive Card: a title, a FactSet, one block per part.
fn teams_card(card: &serde_json::Value) -> serde_json::Value {
    let mut body = vec![json!({
        "type": "TextBlock", "text": card["title"].as_str().unwrap_or("claw digest"),
        "size": "Large", "weight": "Bolder", "wrap": true,
    })];
    let f: Vec<serde_json::Value> = facts(card)
        .into_iter()
        .map(|(k, v)| json!({"title": k, "value": v}))
        .collect();
    if !f.is_empty() {
        body.push(json!({"type": "FactSet", "facts": f}));
    }
    for (title, lines, mono) in sections(card) {
        if lines.is_empty() {
            continue;
        }
        body.push(json!({"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": true, "spacing": "Medium"}));
        body.push(json!({
            "type": "TextBlock", "text": lines.join("\n\n"), "wrap": true,
            "fontType": if mono { "Monospace" } else { "Default" },
        }));
    }
    for n in card["notes"].as_array().into_iter().flatten() {
        if let Some(n) = n.as_str() {
            body.push(json!({"type": "TextBlock", "text": n, "isSubtle": true, "wrap": true, "size": "Small"}));
        }
    }
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    })
}

/// `{{name}}` placeholders replaced by the JSON-escaped value (so a placeholder inside quotes
/// keeps the template valid JSON); `{{json}}` by the whole document.
fn fill_template(t: &str, doc: &serde_json::Value) -> String {
    let mut out = t.replace("{{json}}", &doc.to_string());
    if let Some(m) = doc.as_object() {
        for (k, v) in m {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let escaped = serde_json::Value::String(s).to_string();
            out = out.replace(&format!("{{{{{k}}}}}"), &escaped[1..escaped.len() - 1]);
        }
    }
    out
}

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn send_http(ctx: &Ctx, req: &Request) -> Delivery {
    let cfg = &ctx.settings.alerts;
    let client = crate::http::Client::new(Duration::from_secs(cfg.timeout_secs.max(1)));
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut d = Delivery::default();
    let tries = cfg.retries.saturating_add(1);
    for attempt in 0..tries {
        d.attempts = attempt + 1;
        let mut wait_hint = None;
        match client.send(&req.method, &req.url, &headers, Some(&req.body)) {
            Ok(resp) if resp.status < 400 => {
                d.ok = true;
                d.retry = false;
                d.http_status = Some(resp.status);
                d.error = None;
                return d;
            }
            Ok(resp) => {
                let code = resp.status;
                d.http_status = Some(code);
                d.error = Some(format!("HTTP {code}"));
                if code != 429 && code < 500 {
                    d.retry = false;
                    return d;
                }
                d.retry = true;
                wait_hint = resp.retry_after.map(|s| Duration::from_secs(s.min(30)));
            }
            // The transport message is redacted by `http`, and `send` scrubs again.
            Err(e) => {
                d.http_status = None;
                d.retry = true;
                d.error = Some(e.to_string());
            }
        }
        if attempt + 1 < tries {
            let backoff =
                Duration::from_millis(cfg.retry_base_ms.saturating_mul(1 << attempt.min(16)));
            std::thread::sleep(wait_hint.map(|h| h.max(backoff)).unwrap_or(backoff));
        }
    }
    d
}

fn run_command(ctx: &Ctx, sink: &Sink, msg: &Message) -> Delivery {
    let mut d = Delivery {
        attempts: 1,
        retry: true,
        ..Delivery::default()
    };
    let mut cmd = Command::new(&sink.command[0]);
    cmd.args(&sink.command[1..]);
    let timeout = Duration::from_secs(ctx.settings.alerts.timeout_secs.max(1));
    // A command that does not read its stdin is its own business.
    let opts = crate::proc::Opts::new(timeout).stdin(format!("{}\n", msg.doc()));
    match crate::proc::run(cmd, &opts) {
        Err(e) => {
            d.error = Some(format!(
                "sink {}: cannot run {}: {e}",
                sink.name, sink.command[0]
            ));
        }
        Ok(f) if f.success() => {
            d.ok = true;
            d.retry = false;
        }
        Ok(f) => match f.status {
            Some(status) => d.error = Some(format!("sink {}: command {status}", sink.name)),
            None => d.error = Some(format!("sink {}: command timed out", sink.name)),
        },
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_values_are_json_escaped() {
        let doc = json!({"job": "j", "text": "a \"quoted\"\nline", "id": 7});
        let out = fill_template(r#"{"t": "{{text}}", "j": "{{job}}", "n": {{id}}}"#, &doc);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["t"], "a \"quoted\"\nline");
        assert_eq!(v["n"], 7);
    }

    #[test]
    fn scrub_removes_secret_values() {
        let s = scrub(
            "Network Error: http://127.0.0.1:9/botABCDEF1234/sendMessage",
            &["ABCDEF1234".to_string()],
        );
        assert!(!s.contains("ABCDEF1234"), "{s}");
    }
}
