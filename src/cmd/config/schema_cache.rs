//! OpenClaw's JSON Schema, pre-processed once per schema file and cached in claw's state dir,
//! so `config validate` neither parses 2.4 MB of JSON nor compiles the whole schema per call.
//!
//! The normalised schema is split into fragments along its `properties` chains: each fragment
//! is one schema node as compact JSON whose `properties` members are replaced by the integer id
//! of the member's own fragment (an integer is never a schema, so it cannot be confused with
//! one). Validating a config parses only the fragments of the keys the config has; a key it
//! does not have becomes `true` (its schema can never apply to it). That is the same pruning
//! as before, without building the rest first.
//!
//! Pruning is only sound when no `$ref` reaches into a pruned subtree from outside it; the
//! check is done once at build time, and an unsafe schema is assembled whole every time (as
//! slow as before, never wrong). The rules that read the schema stay in [`super::validate`]:
//! what they derive from it is computed by its `derive` function and kept in the cache header.
//!
//! The cache file is keyed by the schema file's identity (device, inode, size, mtime) and this
//! format's version; a stale, foreign or corrupt cache is rebuilt, and a cache that cannot be
//! written (read-only state) only costs the build.

use crate::exit::{fail, Code};
use anyhow::Result;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// Bump when the layout or what `derive` computes changes: older caches are then rebuilt.
const FORMAT: &str = "claw-schema-cache 1";

/// The fragments of one normalised schema.
pub struct Fragments {
    /// Compact JSON of every fragment, concatenated; `spans` index it.
    blob: Vec<u8>,
    spans: Vec<(u32, u32)>,
    root: u32,
    /// Pruning is sound for this schema (see the module doc).
    prunable: bool,
}

#[derive(Serialize, Deserialize)]
struct Header<D> {
    format: String,
    /// `dev:ino:size:mtime_ns` of the schema file the cache was built from.
    source: String,
    sha256: String,
    root: u32,
    prunable: bool,
    derived: D,
}

/// Load the schema at `file`: from its cache in `cache_dir` when that is current, else
/// built (and cached). `derive` computes what the rules need from the normalised document.
pub fn load<D: Serialize + DeserializeOwned>(
    file: &Path,
    cache_dir: Option<&Path>,
    derive: impl Fn(&Value) -> D,
) -> Result<(Fragments, D)> {
    let source = crate::incremental::stat(file)
        .map(|(dev, ino, size, mt)| format!("{dev}:{ino}:{size}:{mt}"))
        .map_err(|e| {
            fail(
                Code::NoInput,
                format!("{}: cannot read schema: {e:#}", file.display()),
            )
        })?;
    let cache_file = cache_dir.map(|d| d.join(cache_name(file)));
    if let Some(cf) = &cache_file {
        if let Some(hit) = read_cache::<D>(cf, &source) {
            return Ok(hit);
        }
    }
    let text = crate::safefs::read(file).map_err(|e| {
        fail(
            Code::NoInput,
            format!("{}: cannot read schema: {e}", file.display()),
        )
    })?;
    let mut v: Value = serde_json::from_slice(&text).map_err(|e| {
        fail(
            Code::DataErr,
            format!("{}: schema is not JSON: {e}", file.display()),
        )
    })?;
    super::validate::normalize_schema(&mut v, &mut Vec::new());
    let derived = derive(&v);
    let prunable = prune_safe(&v);
    let mut b = Builder::default();
    let root = b.split(v);
    let frags = Fragments {
        blob: b.blob,
        spans: b.spans,
        root,
        prunable,
    };
    if let Some(cf) = &cache_file {
        let header = Header {
            format: FORMAT.to_string(),
            source,
            sha256: crate::digest::sha256_hex(&text),
            root,
            prunable,
            derived: &derived,
        };
        // Best effort: without a writable state dir, validation still works, only slower.
        let _ = write_cache(cf, &header, &frags);
    }
    Ok((frags, derived))
}

/// One cache file per schema path (the state dir may validate with several).
fn cache_name(file: &Path) -> String {
    let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let h = crate::digest::sha256_hex(abs.as_os_str().as_encoded_bytes());
    format!("{stem}.{}.fragments", &h[..16])
}

// Layout: FORMAT "\n", u32 LE header length, header JSON, u32 LE fragment count, that many
// (u32 offset, u32 length) pairs into the blob, then the blob.
fn write_cache<D: Serialize>(path: &Path, header: &Header<&D>, f: &Fragments) -> Result<()> {
    let h = serde_json::to_vec(header)?;
    let mut out = Vec::with_capacity(f.blob.len() + h.len() + f.spans.len() * 8 + 64);
    out.extend_from_slice(FORMAT.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&(h.len() as u32).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&(f.spans.len() as u32).to_le_bytes());
    for (o, l) in &f.spans {
        out.extend_from_slice(&o.to_le_bytes());
        out.extend_from_slice(&l.to_le_bytes());
    }
    out.extend_from_slice(&f.blob);
    if let Some(dir) = path.parent() {
        crate::atomic::create_private_dir(dir)?;
    }
    crate::atomic::write(path, &out, crate::atomic::Opts::default())
}

/// The cached fragments when the file is this format, built from `source`, and whole.
fn read_cache<D: DeserializeOwned>(path: &Path, source: &str) -> Option<(Fragments, D)> {
    let bytes = crate::safefs::read(path).ok()?;
    let mut r = Reader { b: &bytes, at: 0 };
    if r.take(FORMAT.len() + 1)? != format!("{FORMAT}\n").as_bytes() {
        return None;
    }
    let hlen = r.u32()? as usize;
    let header: Header<D> = serde_json::from_slice(r.take(hlen)?).ok()?;
    if header.format != FORMAT || header.source != source {
        return None;
    }
    let n = r.u32()? as usize;
    if n > bytes.len() / 8 {
        return None;
    }
    let mut spans = Vec::with_capacity(n);
    for _ in 0..n {
        spans.push((r.u32()?, r.u32()?));
    }
    let blob = bytes[r.at..].to_vec();
    let whole = spans.iter().all(|&(o, l)| {
        (o as usize)
            .checked_add(l as usize)
            .is_some_and(|e| e <= blob.len())
    });
    if !whole || header.root as usize >= n {
        return None;
    }
    Some((
        Fragments {
            blob,
            spans,
            root: header.root,
            prunable: header.prunable,
        },
        header.derived,
    ))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[derive(Default)]
struct Builder {
    blob: Vec<u8>,
    spans: Vec<(u32, u32)>,
}

impl Builder {
    /// Store `node` and, first, each of its `properties` members: returns the node's id.
    fn split(&mut self, mut node: Value) -> u32 {
        if let Some(Value::Object(props)) = node.get_mut("properties") {
            // Only schemas (objects, booleans) are split off: anything else stays inline and
            // the validator refuses it as before.
            if props.values().all(|c| c.is_object() || c.is_boolean()) {
                for c in props.values_mut() {
                    let child = std::mem::take(c);
                    *c = Value::from(self.split(child));
                }
            }
        }
        let text = serde_json::to_vec(&node).expect("a Value always serialises");
        let id = self.spans.len() as u32;
        self.spans.push((self.blob.len() as u32, text.len() as u32));
        self.blob.extend_from_slice(&text);
        id
    }
}

impl Fragments {
    /// The schema for validating `instance`: the members of `properties` maps that the
    /// instance does not have are `true`, everything it can reach is whole.
    pub fn assemble(&self, instance: &Value) -> Result<Value> {
        let inst = if self.prunable { Some(instance) } else { None };
        self.node(self.root, inst, 0)
    }

    fn node(&self, id: u32, instance: Option<&Value>, depth: usize) -> Result<Value> {
        let corrupt = || anyhow::anyhow!("schema cache: fragment {id} is damaged");
        if depth > 512 {
            return Err(corrupt());
        }
        let &(o, l) = self.spans.get(id as usize).ok_or_else(corrupt)?;
        let text = &self.blob[o as usize..(o + l) as usize];
        let mut node: Value = serde_json::from_slice(text).map_err(|_| corrupt())?;
        // Only an object instance prunes (as a non-object never matches `properties`).
        let im = instance.and_then(Value::as_object);
        if let Some(Value::Object(props)) = node.get_mut("properties") {
            for (k, c) in props.iter_mut() {
                let Some(child) = c.as_u64() else { continue };
                *c = match im {
                    Some(m) => match m.get(k) {
                        Some(ci) => self.node(child as u32, Some(ci), depth + 1)?,
                        None => Value::Bool(true),
                    },
                    None => self.node(child as u32, None, depth + 1)?,
                };
            }
        }
        Ok(node)
    }
}

/// Whether every `$ref` stays inside each `properties` member subtree its target is in (then
/// pruning a member the instance lacks can never cut a target that is still referenced).
/// Refs that are not plain JSON pointers into this document make the schema unprunable.
fn prune_safe(doc: &Value) -> bool {
    fn walk(v: &Value, path: &mut Vec<String>, ok: &mut bool) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    if matches!(k.as_str(), "$dynamicRef" | "$recursiveRef") {
                        *ok = false;
                    }
                    if k == "$ref" {
                        *ok &= c.as_str().is_some_and(|r| ref_stays(r, path));
                    }
                    path.push(k.clone());
                    walk(c, path, ok);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    path.push(i.to_string());
                    walk(c, path, ok);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut ok = true;
    walk(doc, &mut Vec::new(), &mut ok);
    ok
}

/// `r`, written at `from`, points into no `properties` member subtree that `from` is outside.
fn ref_stays(r: &str, from: &[String]) -> bool {
    if r == "#" {
        return true;
    }
    let Some(ptr) = r.strip_prefix("#/") else {
        return false;
    };
    let target: Vec<String> = ptr
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    // Every `properties/<key>` prefix of the target is a subtree pruning may drop; `from`
    // must be inside each. (A property that happens to be named `properties` only adds
    // prefixes: stricter, never unsound.)
    (0..target.len().saturating_sub(1))
        .filter(|&i| target[i] == "properties")
        .all(|i| from.len() >= i + 2 && from[..i + 2] == target[..i + 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The pruning as it was done on the whole document: the oracle.
    fn prune(schema: &Value, instance: &Value) -> Value {
        let (Some(sm), Some(im)) = (schema.as_object(), instance.as_object()) else {
            return schema.clone();
        };
        let Some(Value::Object(props)) = sm.get("properties") else {
            return schema.clone();
        };
        let mut out = sm.clone();
        let np: serde_json::Map<String, Value> = props
            .iter()
            .map(|(k, v)| {
                let kept = match im.get(k) {
                    Some(child) => prune(v, child),
                    None => Value::Bool(true),
                };
                (k.clone(), kept)
            })
            .collect();
        out.insert("properties".into(), Value::Object(np));
        Value::Object(out)
    }

    fn schema() -> Value {
        json!({
            "type": "object", "additionalProperties": false,
            "properties": {
                "a": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "number"}},
                      "anyOf": [{"properties": {"z": {"type": "string"}}}]},
                "b": true,
                "c": {"type": "array", "items": {"properties": {"q": {"type": "string"}}}},
                "p": {"type": "object", "properties": {"cfg": {"$defs": {"d": {"type": "string"}},
                      "properties": {"s": {"$ref": "#/properties/p/properties/cfg/$defs/d"}}}}}
            }
        })
    }

    fn build(doc: &Value) -> Fragments {
        let mut b = Builder::default();
        let root = b.split(doc.clone());
        Fragments {
            blob: b.blob,
            spans: b.spans,
            root,
            prunable: prune_safe(doc),
        }
    }

    #[test]
    fn assembled_equals_the_pruned_whole() {
        let doc = schema();
        let f = build(&doc);
        assert!(f.prunable);
        for inst in [
            json!({}),
            json!({"a": {"x": "1"}}),
            json!({"a": "not an object", "c": [1]}),
            json!({"p": {"cfg": {"s": 1}}, "zz": 3}),
            json!({"p": {}}),
            json!([1, 2]),
            json!({"a": {"x": 1, "y": 2, "w": 3}, "b": 1, "c": {}, "p": 1}),
        ] {
            assert_eq!(f.assemble(&inst).unwrap(), prune(&doc, &inst), "{inst}");
        }
    }

    #[test]
    fn refs_that_leave_their_subtree_disable_pruning() {
        let mut doc = schema();
        doc["properties"]["b"] = json!({"$ref": "#/properties/p/properties/cfg/$defs/d"});
        let f = build(&doc);
        assert!(!f.prunable);
        assert_eq!(f.assemble(&json!({})).unwrap(), doc);
        assert!(ref_stays("#/$defs/x", &["properties".into(), "a".into()]));
        assert!(!ref_stays("other.json#/x", &[]));
        assert!(ref_stays("#", &[]));
    }

    #[test]
    fn cache_round_trips_and_is_rebuilt_when_stale_or_corrupt() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("openclaw-2026.9.6.schema.json");
        std::fs::write(&file, serde_json::to_vec(&schema()).unwrap()).unwrap();
        let cache = d.path().join("cache");
        let derive = |v: &Value| v["properties"].as_object().map(|m| m.len()).unwrap_or(0);
        let (f1, n1) = load(&file, Some(&cache), derive).unwrap();
        assert_eq!(n1, 4);
        let cf = cache.join(cache_name(&file));
        assert!(cf.is_file());
        let src = crate::incremental::stat(&file)
            .map(|(a, b, c, m)| format!("{a}:{b}:{c}:{m}"))
            .unwrap();
        let (f2, n2) = read_cache::<usize>(&cf, &src).expect("a current cache is read");
        assert_eq!(n2, 4);
        let inst = json!({"a": {"x": "1"}});
        assert_eq!(f1.assemble(&inst).unwrap(), f2.assemble(&inst).unwrap());
        // Another source (the schema was replaced): not used.
        assert!(read_cache::<usize>(&cf, "0:0:0:0").is_none());
        // Corrupt: rebuilt, never an error.
        let mut bytes = std::fs::read(&cf).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&cf, &bytes).unwrap();
        assert!(read_cache::<usize>(&cf, &src).is_none());
        let (f3, _) = load(&file, Some(&cache), derive).unwrap();
        assert_eq!(f3.assemble(&inst).unwrap(), prune(&schema(), &inst));
        assert!(read_cache::<usize>(&cf, &src).is_some(), "rewritten");
    }
}
