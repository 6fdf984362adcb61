//! Unified diffs of configs with secret values redacted. Both sides are parsed and redacted
//! by key path; a secret that differs between the sides shows as `*** (changed)` so the diff
//! still says that it changed without saying what it was.

use crate::openclaw::config::parse_json5;
use crate::redact::{self, MASK};
use serde_json::Value;

/// A unified diff from `a` to `b`; empty when the redacted texts are equal.
pub fn unified(label_a: &str, a: &[u8], label_b: &str, b: &[u8]) -> String {
    let (ta, tb) = redacted_pair(a, b);
    if ta == tb {
        return String::new();
    }
    similar::TextDiff::from_lines(&ta, &tb)
        .unified_diff()
        .context_radius(3)
        .header(label_a, label_b)
        .to_string()
}

fn redacted_pair(a: &[u8], b: &[u8]) -> (String, String) {
    let parse = |x: &[u8]| {
        std::str::from_utf8(x)
            .ok()
            .and_then(|t| parse_json5(t).ok())
    };
    match (parse(a), parse(b)) {
        (Some(mut va), Some(mut vb)) => {
            let mut changed = Vec::new();
            changed_secrets(&va, &vb, &mut Vec::new(), &mut changed);
            redact::redact_json(&mut va);
            redact::redact_json(&mut vb);
            for ptr in changed {
                if let Some(v) = vb.pointer_mut(&ptr) {
                    *v = Value::String(format!("{MASK} (changed)"));
                }
            }
            (pretty(&va), pretty(&vb))
        }
        // A side that does not parse is shown as text, scrubbed line by line.
        _ => (text_scrub(a), text_scrub(b)),
    }
}

/// JSON pointers of secret leaves in `new` whose value differs from `old`.
fn changed_secrets(old: &Value, new: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    match new {
        Value::Object(m) => {
            for (k, v) in m {
                path.push(k.clone());
                changed_secrets(old.get(k.as_str()).unwrap_or(&Value::Null), v, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(i.to_string());
                changed_secrets(old.get(i).unwrap_or(&Value::Null), v, path, out);
                path.pop();
            }
        }
        leaf => {
            if redact::is_secret_path(path) && leaf != old && !leaf.is_null() {
                let ptr: String = path
                    .iter()
                    .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
                    .collect();
                out.push(ptr);
            }
        }
    }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn text_scrub(x: &[u8]) -> String {
    let t = String::from_utf8_lossy(x);
    let mut out: String = t.lines().map(|l| redact::redact_text(l) + "\n").collect();
    if out.is_empty() {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_changes_marked() {
        let a = br#"{"gateway": {"auth": {"token": "old-secret-1"}, "port": 1}}"#;
        let b = br#"{"gateway": {"auth": {"token": "new-secret-2"}, "port": 2}}"#;
        let d = unified("a", a, "b", b);
        assert!(
            !d.contains("old-secret-1") && !d.contains("new-secret-2"),
            "{d}"
        );
        assert!(d.contains("*** (changed)"), "{d}");
        assert!(d.contains("-    \"port\": 1"), "{d}");
        assert_eq!(unified("a", a, "b", a), "");
    }

    #[test]
    fn unparsable_side_is_scrubbed_text() {
        let d = unified("a", b"{\"apiKey\": \"sk-abcdefghijkl\"", "b", b"{}");
        assert!(!d.contains("abcdefghijkl"), "{d}");
    }
}
