//! The exposure audit: what makes a gateway reachable or readable by the wrong people. Cheap
//! checks on every run (the config's bind and auth, what actually listens on the port, plain
//! text secrets, file modes, log redaction), merged with `openclaw security audit --json`
//! when the CLI is there. Every finding has a stable id and a one-line fix; where OpenClaw
//! has the same check, claw uses OpenClaw's id so the two never report one problem twice.

use super::procfs::Listener;
use crate::notify::Severity;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One problem with its fix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable across runs and versions (an alert's dedupe key is built from it).
    pub id: String,
    pub severity: Severity,
    /// What is wrong, one line, no secret.
    pub message: String,
    /// What to do, one line.
    pub fix: String,
    /// `claw` or `openclaw` (from `openclaw security audit`).
    pub source: &'static str,
}

impl Finding {
    fn new(id: &str, severity: Severity, message: String, fix: String) -> Finding {
        Finding {
            id: id.to_string(),
            severity,
            message,
            fix,
            source: "claw",
        }
    }
}

/// How the gateway is bound and authenticated, as its config says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposure {
    /// `gateway.bind` (`loopback` when unset, OpenClaw's default).
    pub bind: String,
    /// Whether that bind reaches beyond this host.
    pub non_loopback: bool,
    /// `gateway.auth.mode` (`none` when unset and no token or password is set).
    pub auth_mode: String,
    /// Token or password mode with nothing in it.
    pub empty_secret: bool,
}

impl Exposure {
    /// Anyone who reaches the port gets in.
    pub fn open(&self) -> bool {
        self.auth_mode == "none" || self.empty_secret
    }
    /// One word for doctor and the report.
    pub fn verdict(&self) -> &'static str {
        match (self.non_loopback, self.open()) {
            (true, true) => "exposed without auth",
            (true, false) => "beyond loopback, with auth",
            (false, true) => "loopback only, no auth",
            (false, false) => "loopback only, with auth",
        }
    }
}

fn str_at<'a>(cfg: &'a Value, ptr: &str) -> Option<&'a str> {
    cfg.pointer(ptr).and_then(Value::as_str)
}

/// A secret value that is set: a non-empty string, or a SecretRef object.
fn secret_set(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        _ => false,
    }
}

/// Bind and auth as OpenClaw reads them (bind `loopback` and auth by the secret present when
/// the keys are absent).
pub fn exposure(cfg: &Value) -> Exposure {
    let bind = str_at(cfg, "/gateway/bind")
        .unwrap_or("loopback")
        .to_string();
    let non_loopback = match bind.as_str() {
        "loopback" => false,
        "custom" => !str_at(cfg, "/gateway/customBindHost")
            .and_then(|h| h.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback()),
        // lan, auto (may bind every interface), tailnet, and anything newer.
        _ => true,
    };
    let token = secret_set(cfg.pointer("/gateway/auth/token"));
    let password = secret_set(cfg.pointer("/gateway/auth/password"));
    let auth_mode = match str_at(cfg, "/gateway/auth/mode") {
        Some(m) => m.to_string(),
        None if token => "token".into(),
        None if password => "password".into(),
        None => "none".into(),
    };
    let empty_secret = match auth_mode.as_str() {
        "token" => !token,
        "password" => !password,
        _ => false,
    };
    Exposure {
        bind,
        non_loopback,
        auth_mode,
        empty_secret,
    }
}

/// File facts the audit needs (gathered by the caller so the audit stays pure).
#[derive(Debug, Clone, Default)]
pub struct Files {
    pub state_dir: PathBuf,
    /// Mode bits of the state dir, if it exists.
    pub state_dir_mode: Option<u32>,
    pub config: PathBuf,
    pub config_mode: Option<u32>,
    /// Secret files beside the config (credentials/, identity/, .env, auth-profiles.json,
    /// models.json) with their modes.
    pub credentials: Vec<(PathBuf, u32)>,
}

/// Everything the cheap audit looks at.
pub struct Inputs<'a> {
    pub cfg: &'a Value,
    pub port: u16,
    /// Live listeners on the gateway port (empty when nothing listens or /proc is absent).
    pub listeners: &'a [Listener],
    pub files: &'a Files,
}

/// The cheap audit, run on every check.
pub fn audit(inp: &Inputs) -> Vec<Finding> {
    let e = exposure(inp.cfg);
    let mut out = reach(&e, inp.port, inp.listeners);
    out.extend(plaintext_secrets(inp.cfg));
    out.extend(file_modes(inp.files));
    out.extend(redaction_off(inp.cfg));
    out
}

/// Who can reach the gateway: a bind beyond loopback without auth, and what really listens.
fn reach(e: &Exposure, port: u16, listeners: &[Listener]) -> Vec<Finding> {
    let mut out = Vec::new();
    if e.non_loopback && e.open() {
        let why = if e.empty_secret {
            format!("auth.mode {} with an empty secret", e.auth_mode)
        } else {
            "auth.mode none".to_string()
        };
        out.push(Finding::new(
            "gateway.bind_no_auth",
            Severity::Critical,
            format!(
                "gateway.bind {:?} reaches beyond this host with {why}: anyone on the network controls the gateway",
                e.bind
            ),
            "set gateway.auth.mode \"token\" with gateway.auth.token \"${OPENCLAW_GATEWAY_TOKEN}\", or gateway.bind \"loopback\"".into(),
        ));
    }
    let wide: Vec<&Listener> = listeners.iter().filter(|l| !l.is_loopback()).collect();
    if !wide.is_empty() {
        let addrs: Vec<String> = wide
            .iter()
            .map(|l| format!("{}:{}", l.addr, l.port))
            .collect();
        if e.open() {
            out.push(Finding::new(
                "gateway.listening_no_auth",
                Severity::Critical,
                format!("port {port} listens on {} without auth", addrs.join(", ")),
                "set gateway.auth.mode \"token\" with a token from the environment, or gateway.bind \"loopback\", then restart the gateway".into(),
            ));
        } else if !e.non_loopback {
            out.push(Finding::new(
                "gateway.listening_beyond_bind",
                Severity::Warning,
                format!(
                    "port {port} listens on {} although gateway.bind is {:?} (another process, a proxy or a container port?)",
                    addrs.join(", "),
                    e.bind
                ),
                format!(
                    "find the listener with `ss -ltnp 'sport = :{port}'` and bind it to 127.0.0.1"
                ),
            ));
        }
    }
    out
}

/// Secrets written in plain text in the config.
fn plaintext_secrets(cfg: &Value) -> Option<Finding> {
    let plain = crate::openclaw::config::plaintext_secret_paths(cfg);
    if plain.is_empty() {
        return None;
    }
    let shown: Vec<&str> = plain.iter().take(5).map(String::as_str).collect();
    let more = if plain.len() > shown.len() {
        format!(" and {} more", plain.len() - shown.len())
    } else {
        String::new()
    };
    Some(Finding::new(
        "config.plaintext_secrets",
        Severity::Warning,
        format!(
            "{} secret(s) written in plain text in the config: {}{more}",
            plain.len(),
            shown.join(", ")
        ),
        "move each value to the environment and write \"${NAME}\" in its place".into(),
    ))
}

/// Modes that let others read the state dir, the config or the credentials.
fn file_modes(f: &Files) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(m) = f.state_dir_mode {
        if m & 0o077 != 0 {
            out.push(Finding::new(
                "fs.state_dir.perms_readable",
                Severity::Warning,
                format!(
                    "{} is mode {:03o}; others can list sessions and credentials",
                    f.state_dir.display(),
                    m & 0o777
                ),
                format!("chmod 700 {}", f.state_dir.display()),
            ));
        }
    }
    if let Some(m) = f.config_mode {
        if m & 0o044 != 0 {
            out.push(Finding::new(
                "fs.config.perms_world_readable",
                Severity::Critical,
                format!(
                    "{} is mode {:03o}; it can hold tokens and keys",
                    f.config.display(),
                    m & 0o777
                ),
                format!("chmod 600 {}", f.config.display()),
            ));
        }
    }
    let loose: Vec<&PathBuf> = f
        .credentials
        .iter()
        .filter(|(_, m)| m & 0o044 != 0)
        .map(|(p, _)| p)
        .collect();
    if !loose.is_empty() {
        let shown: Vec<String> = loose
            .iter()
            .take(3)
            .map(|p| p.display().to_string())
            .collect();
        out.push(Finding::new(
            "fs.credentials.perms_readable",
            Severity::Critical,
            format!(
                "{} credential file(s) readable by others: {}{}",
                loose.len(),
                shown.join(", "),
                if loose.len() > 3 { ", ..." } else { "" }
            ),
            format!("chmod -R go-rwx {}", f.state_dir.display()),
        ));
    }
    out
}

/// Log redaction turned off.
fn redaction_off(cfg: &Value) -> Option<Finding> {
    let off = matches!(
        cfg.pointer("/logging/redactSensitive"),
        Some(Value::String(s)) if s == "off"
    ) || cfg.pointer("/logging/redactSensitive") == Some(&Value::Bool(false));
    off.then(|| {
        Finding::new(
            "logging.redact_off",
            Severity::Warning,
            "logging.redactSensitive is off: tool arguments and secrets reach the gateway log"
                .into(),
            "remove logging.redactSensitive (or set it to \"tools\")".into(),
        )
    })
}

/// Secret files OpenClaw keeps beside its config (see the formats reference).
pub fn credential_files(state_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in ["credentials", "identity"] {
        for e in walkdir::WalkDir::new(state_dir.join(d))
            .max_depth(3)
            .into_iter()
            .flatten()
            .take(500)
        {
            if e.file_type().is_file() {
                out.push(e.into_path());
            }
        }
    }
    let env = state_dir.join(".env");
    if env.is_file() {
        out.push(env);
    }
    if let Ok(rd) = std::fs::read_dir(state_dir.join("agents")) {
        for a in rd.flatten().take(200) {
            for f in ["auth-profiles.json", "models.json"] {
                let p = a.path().join("agent").join(f);
                if p.is_file() {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// The findings of `openclaw security audit --json` (2026.9.6: `{"summary":{..},
/// "findings":[{"checkId","severity":"critical|warn|info","title","detail","remediation"}]}`).
/// Info findings (an attack-surface summary) are not problems and are left out.
pub fn parse_openclaw_audit(text: &str) -> Result<Vec<Finding>, String> {
    let start = text.find('{').ok_or("no JSON in its output")?;
    let doc: Value = serde_json::Deserializer::from_str(&text[start..])
        .into_iter::<Value>()
        .next()
        .ok_or("no JSON in its output")?
        .map_err(|e| format!("output is not JSON: {e}"))?;
    if let Some(err) = doc.pointer("/error/message").and_then(Value::as_str) {
        return Err(err.to_string());
    }
    let list = doc
        .get("findings")
        .and_then(Value::as_array)
        .ok_or("no \"findings\" list in its output")?;
    let mut out = Vec::new();
    for f in list.iter().take(200) {
        let severity = match f.get("severity").and_then(Value::as_str) {
            Some("critical") => Severity::Critical,
            Some("warn") | Some("warning") => Severity::Warning,
            _ => continue,
        };
        let Some(id) = f.get("checkId").and_then(Value::as_str) else {
            continue;
        };
        let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default();
        let detail = s("detail").lines().next().unwrap_or_default().to_string();
        let message = match (s("title"), detail.as_str()) {
            (t, "") => t.to_string(),
            ("", d) => d.to_string(),
            (t, d) => format!("{t}: {d}"),
        };
        out.push(Finding {
            id: id.to_string(),
            severity,
            message: crate::redact::redact_text(&message),
            fix: match s("remediation").lines().next().unwrap_or_default() {
                // 2026.9.6 leaves it out for some checks (gateway.token_too_short).
                "" => "see `openclaw security audit --json` for this check".to_string(),
                r => crate::redact::redact_text(r),
            },
            source: "openclaw",
        });
    }
    Ok(out)
}

/// claw's findings first; OpenClaw's only where claw has no finding of that id.
pub fn merge(mut own: Vec<Finding>, openclaw: &[Finding]) -> Vec<Finding> {
    for f in openclaw {
        if !own.iter().any(|o| o.id == f.id) {
            own.push(f.clone());
        }
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(cfg: Value, listeners: &[Listener], files: &Files) -> Vec<Finding> {
        audit(&Inputs {
            cfg: &cfg,
            port: 18789,
            listeners,
            files,
        })
    }

    fn ids(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn bind_and_auth_cases() {
        let none = Files::default();
        assert!(run(json!({}), &[], &none).is_empty());
        let f = run(
            json!({"gateway": {"bind": "lan", "auth": {"mode": "none"}}}),
            &[],
            &none,
        );
        assert_eq!(ids(&f), ["gateway.bind_no_auth"]);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0].fix.contains("gateway.auth.mode"), "{}", f[0].fix);
        // Token mode with an empty token is as open as none.
        let f = run(
            json!({"gateway": {"bind": "auto", "auth": {"mode": "token", "token": ""}}}),
            &[],
            &none,
        );
        assert_eq!(ids(&f), ["gateway.bind_no_auth"]);
        assert!(f[0].message.contains("empty secret"));
        // No auth keys at all, beyond loopback.
        assert_eq!(
            ids(&run(json!({"gateway": {"bind": "tailnet"}}), &[], &none)),
            ["gateway.bind_no_auth"]
        );
        // Token from the environment: fine.
        assert!(run(
            json!({"gateway": {"bind": "lan", "auth": {"mode": "token", "token": "${GW_TOKEN}"}}}),
            &[],
            &none
        )
        .is_empty());
        // A custom loopback host is loopback.
        assert!(run(
            json!({"gateway": {"bind": "custom", "customBindHost": "127.0.0.2", "auth": {"mode": "none"}}}),
            &[],
            &none
        )
        .is_empty());
        // A token in plain text is a warning of its own, and never shown.
        let f = run(
            json!({"gateway": {"bind": "lan", "auth": {"mode": "token", "token": "sk-verysecret"}}}),
            &[],
            &none,
        );
        assert_eq!(ids(&f), ["config.plaintext_secrets"]);
        assert!(f[0].message.contains("gateway.auth.token"));
        assert!(!f[0].message.contains("verysecret"));
    }

    #[test]
    fn listeners_files_and_logging() {
        let wide = Listener {
            addr: "0.0.0.0".parse().unwrap(),
            port: 18789,
            inode: 1,
        };
        let lo = Listener {
            addr: "127.0.0.1".parse().unwrap(),
            port: 18789,
            inode: 2,
        };
        let none = Files::default();
        assert!(run(json!({}), std::slice::from_ref(&lo), &none).is_empty());
        let f = run(json!({}), &[lo.clone(), wide.clone()], &none);
        assert_eq!(ids(&f), ["gateway.listening_no_auth"]);
        assert!(f[0].message.contains("0.0.0.0:18789"));
        let f = run(
            json!({"gateway": {"auth": {"mode": "token", "token": "${T}"}}}),
            std::slice::from_ref(&wide),
            &none,
        );
        assert_eq!(ids(&f), ["gateway.listening_beyond_bind"]);
        let files = Files {
            state_dir: "/h/.openclaw".into(),
            state_dir_mode: Some(0o755),
            config: "/h/.openclaw/openclaw.json".into(),
            config_mode: Some(0o644),
            credentials: vec![
                ("/h/.openclaw/credentials/a.json".into(), 0o600),
                ("/h/.openclaw/.env".into(), 0o640),
            ],
        };
        let f = run(json!({"logging": {"redactSensitive": "off"}}), &[], &files);
        assert_eq!(
            ids(&f),
            [
                "fs.state_dir.perms_readable",
                "fs.config.perms_world_readable",
                "fs.credentials.perms_readable",
                "logging.redact_off"
            ]
        );
        assert_eq!(f[0].fix, "chmod 700 /h/.openclaw");
        assert!(
            f[2].message.starts_with("1 credential file(s)"),
            "{}",
            f[2].message
        );
    }

    #[test]
    fn openclaw_audit_output_is_merged_without_twins() {
        // The shape 2026.9.6 prints for bind lan + auth none (trimmed).
        let text = r#"{
  "ts": 1795935612600,
  "summary": {"critical": 2, "warn": 1, "info": 1},
  "findings": [
    {"checkId": "summary.attack_surface", "severity": "info", "title": "Attack surface summary", "detail": "groups: open=0"},
    {"checkId": "gateway.bind_no_auth", "severity": "critical", "title": "Gateway binds beyond loopback without auth", "detail": "gateway.bind=\"lan\" but no gateway.auth token/password is configured.", "remediation": "Set gateway.auth (token recommended) or bind to loopback."},
    {"checkId": "gateway.http.no_auth", "severity": "critical", "title": "Gateway HTTP APIs are reachable without auth", "detail": "gateway.auth.mode=\"none\" leaves /tools/invoke callable.\nsecond line", "remediation": "Set gateway.auth.mode to token/password (recommended)."},
    {"checkId": "gateway.auth_no_rate_limit", "severity": "warn", "title": "No auth rate limiting configured", "detail": "x", "remediation": "Set gateway.auth.rateLimit."},
    {"checkId": "gateway.token_too_short", "severity": "warn", "title": "Gateway token looks short", "detail": "gateway auth token is 22 chars; prefer a long random token."}
  ],
  "secretDiagnostics": []
}"#;
        let oc = parse_openclaw_audit(text).unwrap();
        assert_eq!(
            ids(&oc),
            [
                "gateway.bind_no_auth",
                "gateway.http.no_auth",
                "gateway.auth_no_rate_limit",
                "gateway.token_too_short"
            ]
        );
        assert_eq!(oc[2].severity, Severity::Warning);
        assert!(
            oc[3].fix.contains("openclaw security audit"),
            "{}",
            oc[3].fix
        );
        assert!(!oc[1].message.contains("second line"));
        let own = run(
            json!({"gateway": {"bind": "lan", "auth": {"mode": "none"}}}),
            &[],
            &Files::default(),
        );
        let all = merge(own, &oc);
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].source, "claw");
        assert_eq!(all[1].id, "gateway.http.no_auth");
        assert_eq!(all[1].source, "openclaw");
        // An invalid config: OpenClaw answers with an error document.
        let err = parse_openclaw_audit(
            r#"{"ok": false, "error": {"type": "cli_error", "message": "OpenClaw config is invalid"}}"#,
        )
        .unwrap_err();
        assert!(err.contains("invalid"));
        assert!(parse_openclaw_audit("garbage").is_err());
    }
}
