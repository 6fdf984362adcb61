//! `openclaw.json`: JSON5 parsing with line:column errors, `$include` resolution with
//! OpenClaw's limits (depth 10, 2 MiB a file, no escape from the config dir, no cycles), and
//! `${VAR}` reference scanning (uppercase names only, `$${` escapes).

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Most nested `$include` levels OpenClaw follows.
pub const MAX_INCLUDE_DEPTH: usize = 10;
/// Largest included file OpenClaw reads.
pub const MAX_INCLUDE_BYTES: u64 = 2 * 1024 * 1024;

/// The gateway's port as OpenClaw picks it: `OPENCLAW_GATEWAY_PORT`, else `gateway.port` in
/// the config, else 18789.
pub fn gateway_port(config: &Path) -> u16 {
    std::env::var("OPENCLAW_GATEWAY_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .or_else(|| {
            let b = crate::safefs::read_to_string(config).ok()?;
            let v = parse_json5(&b).ok()?;
            v.pointer("/gateway/port")?
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
        })
        .unwrap_or(18789)
}

/// A JSON5 syntax error with a 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parse JSON5 text (comments, trailing commas, unquoted keys) into JSON.
pub fn parse_json5(text: &str) -> Result<Value, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The parser recurses per level: refuse absurd nesting before it can overflow the stack.
    if let Err(d) = crate::safefs::check_depth(text.as_bytes(), crate::safefs::MAX_DEPTH) {
        return Err(SyntaxError {
            line: d.line,
            column: d.column,
            message: format!("nested deeper than {} levels", d.max),
        });
    }
    json5::from_str::<Value>(text).map_err(|e| {
        let (line, column) = e
            .position()
            .map(|p| (p.line + 1, p.column + 1))
            .unwrap_or((1, 1));
        let full = e.to_string();
        // json5 appends " at line L column C"; we print the position ourselves.
        let message = full.split(" at line ").next().unwrap_or(&full).to_string();
        SyntaxError {
            line,
            column,
            message,
        }
    })
}

/// A problem found while loading (includes, syntax of an included file).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadIssue {
    /// Dotted config path where the problem sits (`<root>` for the top).
    pub path: String,
    pub message: String,
}

/// A config with its includes resolved.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The merged document OpenClaw would see (before `${VAR}` substitution).
    pub merged: Value,
    /// Included files that were read, in order (the config itself not included).
    pub includes: Vec<PathBuf>,
    /// Include errors; OpenClaw refuses to load a config with any of these.
    pub issues: Vec<LoadIssue>,
}

/// Resolve every `$include` in `root` (parsed from `config_path`).
pub fn resolve_includes(root: Value, config_path: &Path, extra_roots: &[PathBuf]) -> Loaded {
    let config_dir = config_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut roots = vec![canonical_or_self(&config_dir)];
    roots.extend(extra_roots.iter().map(|r| canonical_or_self(r)));
    let mut st = IncludeState {
        roots,
        includes: Vec::new(),
        issues: Vec::new(),
    };
    let mut stack = vec![canonical_or_self(config_path)];
    let merged = st.expand(root, &config_dir, &mut stack, &mut Vec::new());
    Loaded {
        merged,
        includes: st.includes,
        issues: st.issues,
    }
}

fn canonical_or_self(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

struct IncludeState {
    roots: Vec<PathBuf>,
    includes: Vec<PathBuf>,
    issues: Vec<LoadIssue>,
}

impl IncludeState {
    fn expand(
        &mut self,
        v: Value,
        dir: &Path,
        stack: &mut Vec<PathBuf>,
        path: &mut Vec<String>,
    ) -> Value {
        match v {
            Value::Object(mut m) => {
                let inc = m.shift_remove("$include");
                let mut out = Map::new();
                if let Some(inc) = inc {
                    let files: Vec<Value> = match inc {
                        Value::Array(a) => a,
                        other => vec![other],
                    };
                    for f in files {
                        let Some(name) = f.as_str() else {
                            self.issue(path, "$include must be a file path or a list of paths");
                            continue;
                        };
                        if let Some(Value::Object(im)) = self.load_one(name, dir, stack, path) {
                            deep_merge(&mut out, im);
                        }
                    }
                }
                let mut siblings = Map::new();
                for (k, child) in m {
                    path.push(k.clone());
                    let c = self.expand(child, dir, stack, path);
                    path.pop();
                    siblings.insert(k, c);
                }
                deep_merge(&mut out, siblings);
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(
                a.into_iter()
                    .enumerate()
                    .map(|(i, c)| {
                        path.push(i.to_string());
                        let r = self.expand(c, dir, stack, path);
                        path.pop();
                        r
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    fn issue(&mut self, path: &[String], message: impl Into<String>) {
        self.issues.push(LoadIssue {
            path: dotted(path),
            message: message.into(),
        });
    }

    fn load_one(
        &mut self,
        name: &str,
        dir: &Path,
        stack: &mut Vec<PathBuf>,
        path: &mut Vec<String>,
    ) -> Option<Value> {
        let target = if Path::new(name).is_absolute() {
            PathBuf::from(name)
        } else {
            dir.join(name)
        };
        if stack.len() > MAX_INCLUDE_DEPTH {
            self.issue(
                path,
                format!("$include {name}: nested deeper than {MAX_INCLUDE_DEPTH} levels"),
            );
            return None;
        }
        let canon = match std::fs::canonicalize(&target) {
            Ok(c) => c,
            Err(_) => {
                self.issue(path, format!("$include {name}: file not found"));
                return None;
            }
        };
        if !self.roots.iter().any(|r| canon.starts_with(r)) {
            self.issue(
                path,
                format!(
                    "$include {name}: outside the config directory (see OPENCLAW_INCLUDE_ROOTS)"
                ),
            );
            return None;
        }
        if stack.contains(&canon) {
            self.issue(path, format!("$include {name}: include cycle"));
            return None;
        }
        let size = std::fs::metadata(&canon).map(|m| m.len()).unwrap_or(0);
        if size > MAX_INCLUDE_BYTES {
            self.issue(
                path,
                format!("$include {name}: {size} bytes, over the 2 MiB limit"),
            );
            return None;
        }
        let text = match crate::safefs::read(&canon).map(String::from_utf8) {
            Ok(Ok(t)) => t,
            Ok(Err(_)) => {
                self.issue(path, format!("$include {name}: not valid UTF-8"));
                return None;
            }
            Err(e) => {
                self.issue(path, format!("$include {name}: {e}"));
                return None;
            }
        };
        let v = match parse_json5(&text) {
            Ok(v) => v,
            Err(e) => {
                self.issue(
                    path,
                    format!("$include {name}:{}:{}: {}", e.line, e.column, e.message),
                );
                return None;
            }
        };
        if !v.is_object() {
            self.issue(path, format!("$include {name}: must contain an object"));
            return None;
        }
        if !self.includes.contains(&canon) {
            self.includes.push(canon.clone());
        }
        let sub_dir = canon.parent().map(Path::to_path_buf).unwrap_or_default();
        stack.push(canon);
        let r = self.expand(v, &sub_dir, stack, path);
        stack.pop();
        Some(r)
    }
}

/// Merge `src` into `dst`: objects merge key by key, anything else in `src` wins.
pub fn deep_merge(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (k, v) in src {
        match (dst.get_mut(&k), v) {
            (Some(Value::Object(d)), Value::Object(s)) => deep_merge(d, s),
            (_, v) => {
                dst.insert(k, v);
            }
        }
    }
}

/// The `plugins.load.paths` entries OpenClaw cannot inspect (missing, unreadable, or neither a
/// file nor a directory). While one exists, OpenClaw 2026.9 validates neither channel sections
/// nor plugin entries: their owner may be the plugin it could not see.
pub fn unavailable_plugin_paths(doc: &Value) -> Vec<String> {
    let Some(paths) = doc.pointer("/plugins/load/paths").and_then(Value::as_array) else {
        return Vec::new();
    };
    paths
        .iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter(|raw| {
            let p = expand_user_path(raw);
            match std::fs::metadata(&p) {
                Ok(m) if m.is_dir() => std::fs::read_dir(&p).is_err(),
                Ok(m) => !m.is_file(),
                Err(_) => true,
            }
        })
        .map(str::to_string)
        .collect()
}

/// A path as OpenClaw's `resolveUserPath` reads it: `~` is the home directory, a relative path
/// is relative to the working directory.
fn expand_user_path(p: &str) -> PathBuf {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    if p == "~" {
        if let Some(h) = home() {
            return h;
        }
    }
    if let Some(rest) = p.strip_prefix("~/") {
        if let Some(h) = home() {
            return h.join(rest);
        }
    }
    PathBuf::from(p)
}

/// A config path as OpenClaw prints it: dot-joined, `<root>` for the top.
/// Dotted paths of secrets written in plain text: a non-blank string under a secret-looking
/// key (see `redact::is_secret_key`) that holds no `${VAR}` reference. The top-level `env`
/// section is skipped: it is where OpenClaw expects inline values to live. Shared by
/// `config validate` (warnings) and `gateway check` (the exposure audit).
pub fn plaintext_secret_paths(v: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    if path.is_empty() && k == "env" {
                        continue;
                    }
                    path.push(k.clone());
                    walk(c, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    path.push(i.to_string());
                    walk(c, path, out);
                    path.pop();
                }
            }
            Value::String(s)
                if !s.trim().is_empty()
                    && path.last().is_some_and(|k| crate::redact::is_secret_key(k))
                    && refs_in(s).is_empty() =>
            {
                out.push(dotted(path));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

pub fn dotted(path: &[String]) -> String {
    if path.is_empty() {
        "<root>".to_string()
    } else {
        path.join(".")
    }
}

/// `${VAR}` names referenced anywhere in string values, with the path of each use.
/// Only `[A-Z_][A-Z0-9_]*` names count; `$${VAR}` is an escaped literal.
pub fn env_refs(v: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    collect_refs(v, &mut path, &mut out);
    out
}

fn collect_refs(v: &Value, path: &mut Vec<String>, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                path.push(k.clone());
                collect_refs(c, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                path.push(i.to_string());
                collect_refs(c, path, out);
                path.pop();
            }
        }
        Value::String(s) => {
            for name in refs_in(s) {
                out.push((dotted(path), name));
            }
        }
        _ => {}
    }
}

/// The variable names a string references.
pub fn refs_in(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'$' && b[i + 1] == b'$' && b.get(i + 2) == Some(&b'{') {
            // `$${` is an escape: skip past the literal.
            i += 3;
            continue;
        }
        if b[i] == b'$' && b[i + 1] == b'{' {
            if let Some(end) = s[i + 2..].find('}') {
                let name = &s[i + 2..i + 2 + end];
                let valid = !name.is_empty()
                    && name.bytes().enumerate().all(|(j, c)| {
                        c == b'_' || c.is_ascii_uppercase() || (j > 0 && c.is_ascii_digit())
                    });
                if valid {
                    names.push(name.to_string());
                }
                i += 2 + end + 1;
                continue;
            }
        }
        i += 1;
    }
    names
}

/// Names defined for substitution: the process environment, the config's `env.vars` and
/// inline `env` strings, and the state dir's `.env` file (names only; values are never read
/// into claw's output).
pub fn defined_env_names(merged: &Value, state_dir: &Path) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    if let Some(env) = merged.get("env").and_then(Value::as_object) {
        for (k, v) in env {
            if k == "vars" {
                if let Some(vars) = v.as_object() {
                    names.extend(vars.keys().cloned());
                }
            } else if v.is_string() {
                names.insert(k.clone());
            }
        }
    }
    if let Ok(text) = crate::safefs::read_to_string(state_dir.join(".env")) {
        for line in text.lines() {
            let l = line.trim().trim_start_matches("export ").trim();
            if let Some((k, _)) = l.split_once('=') {
                if !l.starts_with('#') {
                    names.insert(k.trim().to_string());
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json5_features_and_error_position() {
        let v = parse_json5("// c\n{a: 1, 'b': [1,2,], /* x */ c: {d: true,},}").unwrap();
        assert_eq!(v, json!({"a": 1, "b": [1, 2], "c": {"d": true}}));
        let e = parse_json5("{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
        assert_eq!((e.line, e.column), (3, 7), "{e:?}");
    }

    #[test]
    fn env_refs_follow_openclaw_rules() {
        assert_eq!(
            refs_in("${A_B1}x${lower}${1X}$${ESC}${OK}"),
            vec!["A_B1", "OK"]
        );
        let v = json!({"a": {"k": "Bearer ${TOKEN}"}, "l": ["${X}"]});
        assert_eq!(
            env_refs(&v),
            vec![
                ("a.k".to_string(), "TOKEN".to_string()),
                ("l.0".to_string(), "X".to_string())
            ]
        );
    }

    #[test]
    fn includes_merge_and_report_errors() {
        let d = tempfile::tempdir().unwrap();
        let cfg = d.path().join("openclaw.json");
        std::fs::write(
            d.path().join("gw.json5"),
            "{gateway: {port: 1, mode: 'local'}}",
        )
        .unwrap();
        std::fs::write(d.path().join("a.json"), r#"{"$include": "b.json"}"#).unwrap();
        std::fs::write(d.path().join("b.json"), r#"{"$include": "a.json"}"#).unwrap();
        let root = json!({"$include": "gw.json5", "gateway": {"port": 2}});
        let l = resolve_includes(root, &cfg, &[]);
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        assert_eq!(l.merged, json!({"gateway": {"port": 2, "mode": "local"}}));
        assert_eq!(l.includes.len(), 1);

        let l = resolve_includes(json!({"x": {"$include": "a.json"}}), &cfg, &[]);
        assert!(
            l.issues
                .iter()
                .any(|i| i.message.contains("cycle") && i.path == "x"),
            "{:?}",
            l.issues
        );
        let l = resolve_includes(json!({"$include": "missing.json"}), &cfg, &[]);
        assert!(l.issues[0].message.contains("not found"));
        let l = resolve_includes(json!({"$include": "/etc/hostname"}), &cfg, &[]);
        assert!(l.issues[0].message.contains("outside"), "{:?}", l.issues);
    }
}
