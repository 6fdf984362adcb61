//! OpenClaw's JSON Schema, pre-processed once per schema file and cached in claw's state dir,
//! so `config validate` neither parses 2.4 MB of JSON nor compiles the whole schema per call.
//!
//! The normalised schema is split into fragments: every member of every `properties` map
//! (reached through the keywords that apply subschemas: `anyOf`, `items`,
//! `additionalProperties`, ... see [`applies`]) is its own fragment of compact JSON, replaced
//! in its parent by the fragment's integer id (an integer is never a schema). Validating a
//! config parses only the fragments that can apply to it: the assembler follows the config
//! down the same keywords (into member values, array elements, the same instance for
//! `anyOf`), and a `properties` member that no instance reaching it has becomes `true` (it can
//! never apply). Nothing else changes, so the errors are the same as with the whole schema.
//!
//! Pruning is only sound when no `$ref` can reach a pruned schema, or apply one to another
//! instance than it was pruned for: the check ([`prune_safe`]) is done once at build time, and
//! an unsafe schema is assembled whole every time (slower, never wrong). The rules that read
//! the schema stay in [`super::validate`]: what they derive from it is computed by its
//! `derive` function and kept in the cache header.
//!
//! The cache file is keyed by this format's version, the OpenClaw version the schema is for and
//! the schema file's identity (device, inode, size, mtime, ctime: any rewrite changes it), so
//! a run neither reads nor hashes the 2.4 MB schema. A checksum covers the whole file: a
//! stale, foreign, truncated or corrupt cache is ignored and rebuilt (a line with `-v`), and a
//! cache that cannot be written (read-only state) only costs the build.

use crate::exit::{fail, Code};
use anyhow::{Context, Result};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// Bump when the layout or what `derive` computes changes: older caches are then rebuilt.
const FORMAT: &str = "claw-schema-cache 2";

/// The fragments of one normalised schema.
pub struct Fragments {
    /// Compact JSON of every fragment (inside the cache file's bytes when read from it);
    /// `spans` index it.
    blob: Vec<u8>,
    spans: Vec<(u32, u32)>,
    root: u32,
    /// Pruning is sound for this schema (see the module doc).
    prunable: bool,
    /// The root fragment is the whole schema, unsplit (it has a `properties` map that is not
    /// all schemas, which the validator will refuse as it is).
    whole: bool,
}

#[derive(Serialize, Deserialize)]
struct Header<D> {
    format: String,
    /// [`identity`] of the schema file the cache was built from.
    source: String,
    root: u32,
    prunable: bool,
    whole: bool,
    derived: D,
}

/// A loaded schema: its fragments, what `derive` computed, and why a cache file that was
/// there could not be used (for `-v`).
pub struct Loaded<D> {
    pub frags: Fragments,
    pub derived: D,
    pub note: Option<String>,
}

/// Load the schema at `file` (OpenClaw `version`'s): from its cache in `cache_dir` when that
/// is current and whole, else built (and cached). `derive` computes what the rules need from
/// the normalised document.
pub fn load<D: Serialize + DeserializeOwned>(
    file: &Path,
    version: &str,
    cache_dir: Option<&Path>,
    derive: impl Fn(&Value) -> D,
) -> Result<Loaded<D>> {
    let source = identity(file, version).map_err(|e| {
        fail(
            Code::NoInput,
            format!("{}: cannot read schema: {e:#}", file.display()),
        )
    })?;
    let cache_file = cache_dir.map(|d| d.join(cache_name(file)));
    let mut note = None;
    if let Some(cf) = &cache_file {
        match read_cache::<D>(cf, &source) {
            Ok((frags, derived)) => {
                return Ok(Loaded {
                    frags,
                    derived,
                    note: None,
                })
            }
            Err(Some(why)) => note = Some(format!("{}: {why}; rebuilt", cf.display())),
            Err(None) => {}
        }
    }
    let (frags, derived) = build(file, &derive)?;
    if let Some(cf) = &cache_file {
        let header = Header {
            format: FORMAT.to_string(),
            source,
            root: frags.root,
            prunable: frags.prunable,
            whole: frags.whole,
            derived: &derived,
        };
        // Best effort: without a writable state dir, validation still works, only slower.
        if let Err(e) = write_cache(cf, &header, &frags) {
            note = Some(format!("{}: not cached: {e:#}", cf.display()));
        }
    }
    Ok(Loaded {
        frags,
        derived,
        note,
    })
}

/// What the cache is keyed by: the format, the OpenClaw version and the file's identity.
fn identity(file: &Path, version: &str) -> Result<String> {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(file)?;
    Ok(format!(
        "{FORMAT}|{version}|{}:{}:{}:{}.{}:{}.{}",
        md.dev(),
        md.ino(),
        md.size(),
        md.mtime(),
        md.mtime_nsec(),
        md.ctime(),
        md.ctime_nsec()
    ))
}

/// Parse, normalise and split the schema file (no cache involved).
fn build<D>(file: &Path, derive: &impl Fn(&Value) -> D) -> Result<(Fragments, D)> {
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
    Ok((Fragments::split(v, prunable), derived))
}

/// The fragments of `file` built afresh, ignoring any cache (when a cached fragment turns out
/// unreadable: a wrong verdict is never the price of a damaged cache).
pub fn rebuild(file: &Path) -> Result<Fragments> {
    Ok(build(file, &|_: &Value| ())?.0)
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

/// A fast 64-bit checksum against torn writes and disk damage (the cache is claw's private
/// state, so no adversary: a cryptographic hash would cost more than the rest of the load).
/// A change confined to one 8-byte word always changes it (each step is a bijection).
fn checksum(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = 0x9e37_79b9_7f4a_7c15 ^ b.len() as u64;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w.try_into().expect("8 bytes"))).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    h ^ (h >> 29)
}

// Layout: FORMAT "\n", u64 LE checksum of all that follows, u32 LE header length, header JSON,
// u32 LE fragment count, that many (u32 offset, u32 length) pairs into the blob, the blob.
fn write_cache<D: Serialize>(path: &Path, header: &Header<&D>, f: &Fragments) -> Result<()> {
    let h = serde_json::to_vec(header)?;
    let mut body = Vec::with_capacity(f.blob.len() + h.len() + f.spans.len() * 8 + 64);
    body.extend_from_slice(&(h.len() as u32).to_le_bytes());
    body.extend_from_slice(&h);
    body.extend_from_slice(&(f.spans.len() as u32).to_le_bytes());
    for (o, l) in &f.spans {
        body.extend_from_slice(&o.to_le_bytes());
        body.extend_from_slice(&l.to_le_bytes());
    }
    body.extend_from_slice(&f.blob);
    let mut out = Vec::with_capacity(body.len() + FORMAT.len() + 9);
    out.extend_from_slice(FORMAT.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&checksum(&body).to_le_bytes());
    out.extend_from_slice(&body);
    if let Some(dir) = path.parent() {
        crate::atomic::create_private_dir(dir)?;
    }
    crate::atomic::write(path, &out, crate::atomic::Opts::default())
}

/// The cached fragments when the file is this format, built from `source`, and whole.
/// `Err(None)`: there is no cache file; `Err(Some(why))`: there is one and it is not usable.
fn read_cache<D: DeserializeOwned>(
    path: &Path,
    source: &str,
) -> std::result::Result<(Fragments, D), Option<&'static str>> {
    let bytes = match crate::safefs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
        Err(_) => return Err(Some("unreadable")),
    };
    let magic = format!("{FORMAT}\n");
    if !bytes.starts_with(magic.as_bytes()) {
        return Err(Some("another format"));
    }
    let mut r = Reader {
        b: &bytes,
        at: magic.len(),
    };
    let damaged = Some("damaged (checksum)");
    let sum = u64::from_le_bytes(r.take(8).ok_or(damaged)?.try_into().expect("8 bytes"));
    if checksum(&bytes[r.at..]) != sum {
        return Err(damaged);
    }
    let hlen = r.u32().ok_or(damaged)? as usize;
    let header: Header<D> =
        serde_json::from_slice(r.take(hlen).ok_or(damaged)?).map_err(|_| damaged)?;
    if header.format != FORMAT || header.source != source {
        return Err(Some("built from another schema file or version"));
    }
    let n = r.u32().ok_or(damaged)? as usize;
    if n > bytes.len() / 8 {
        return Err(damaged);
    }
    let base = r.at + n * 8;
    let mut spans = Vec::with_capacity(n);
    for _ in 0..n {
        let (o, l) = (r.u32().ok_or(damaged)?, r.u32().ok_or(damaged)?);
        // Offsets into the file itself, so the blob is not copied.
        let o = u32::try_from(base + o as usize).map_err(|_| damaged)?;
        spans.push((o, l));
    }
    let whole = spans.iter().all(|&(o, l)| {
        (o as usize)
            .checked_add(l as usize)
            .is_some_and(|e| e <= bytes.len())
    });
    if !whole || header.root as usize >= n {
        return Err(damaged);
    }
    Ok((
        Fragments {
            blob: bytes,
            spans,
            root: header.root,
            prunable: header.prunable,
            whole: header.whole,
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

/// Which instances the schema(s) under a keyword apply to, given those its schema applies to
/// (the keywords the builder and the assembler both walk; everything else stays whole).
#[derive(Clone, Copy)]
enum Applies {
    /// One schema, the same instances (`not`, `if`, ...).
    Same,
    /// An array of schemas, the same instances (`anyOf`, ...).
    SameEach,
    /// A map of schemas, the same instances (`dependentSchemas`).
    SameMap,
    /// One schema, every member value of object instances (`additionalProperties`).
    Values,
    /// A map of schemas, every member value (`patternProperties`: a superset is sound).
    ValuesMap,
    /// One schema, every element of array instances (`contains`, `items` as one schema).
    Elems,
    /// An array of schemas, element `i` each (`prefixItems`, `items` as a tuple).
    Position,
}

fn applies(keyword: &str, v: &Value) -> Option<Applies> {
    Some(match keyword {
        "not" | "if" | "then" | "else" => Applies::Same,
        "anyOf" | "oneOf" | "allOf" => Applies::SameEach,
        "dependentSchemas" => Applies::SameMap,
        "additionalProperties" | "unevaluatedProperties" => Applies::Values,
        "patternProperties" => Applies::ValuesMap,
        "contains" | "additionalItems" | "unevaluatedItems" => Applies::Elems,
        "items" if v.is_array() => Applies::Position,
        "items" => Applies::Elems,
        "prefixItems" => Applies::Position,
        _ => return None,
    })
}

/// The schemas directly under `v` (a keyword's value) in the shape `a` says.
fn sub_schemas(a: Applies, v: &mut Value) -> Vec<(usize, &mut Value)> {
    match (a, v) {
        (Applies::Same | Applies::Values | Applies::Elems, v) => vec![(0, v)],
        (Applies::SameEach | Applies::Position, Value::Array(xs)) => {
            xs.iter_mut().enumerate().collect()
        }
        (Applies::SameMap | Applies::ValuesMap, Value::Object(m)) => {
            m.values_mut().map(|c| (0, c)).collect()
        }
        _ => Vec::new(),
    }
}

/// The instances the `i`th schema under keyword shape `a` applies to.
fn narrow<'i>(a: Applies, i: usize, set: &[&'i Value]) -> Vec<&'i Value> {
    match a {
        Applies::Same | Applies::SameEach | Applies::SameMap => set.to_vec(),
        Applies::Values | Applies::ValuesMap => set
            .iter()
            .filter_map(|x| x.as_object())
            .flat_map(|o| o.values())
            .collect(),
        Applies::Elems => set.iter().filter_map(|x| x.as_array()).flatten().collect(),
        Applies::Position => set.iter().filter_map(|x| x.as_array()?.get(i)).collect(),
    }
}

#[derive(Default)]
struct Builder {
    blob: Vec<u8>,
    spans: Vec<(u32, u32)>,
    /// A `properties` map held something that is not a schema: the schema is kept whole.
    unsplittable: bool,
}

impl Builder {
    /// Store `node`, each member of every `properties` map in it (through the keywords
    /// [`applies`] knows) stored first as its own fragment: returns the node's id.
    fn split(&mut self, mut node: Value) -> u32 {
        self.split_inside(&mut node, 0);
        let text = serde_json::to_vec(&node).expect("a Value always serialises");
        let id = self.spans.len() as u32;
        self.spans.push((self.blob.len() as u32, text.len() as u32));
        self.blob.extend_from_slice(&text);
        id
    }

    fn split_inside(&mut self, node: &mut Value, depth: usize) {
        let Value::Object(m) = node else { return };
        if depth > MAX_DEPTH {
            self.unsplittable = true;
            return;
        }
        for (k, v) in m.iter_mut() {
            if k == "properties" {
                let Value::Object(props) = v else { continue };
                if !props.values().all(|c| c.is_object() || c.is_boolean()) {
                    self.unsplittable = true;
                    continue;
                }
                for c in props.values_mut() {
                    let child = std::mem::take(c);
                    *c = Value::from(self.split(child));
                }
            } else if let Some(a) = applies(k, v) {
                for (_, c) in sub_schemas(a, v) {
                    self.split_inside(c, depth + 1);
                }
            }
        }
    }
}

/// Deeper than any real schema: a cache that claims more is damaged.
const MAX_DEPTH: usize = 512;

impl Fragments {
    fn split(doc: Value, prunable: bool) -> Fragments {
        let mut b = Builder::default();
        let mut root = b.split(doc.clone());
        let whole = b.unsplittable;
        if whole {
            b = Builder::default();
            let text = serde_json::to_vec(&doc).expect("a Value always serialises");
            b.spans.push((0, text.len() as u32));
            b.blob = text;
            root = 0;
        }
        Fragments {
            blob: b.blob,
            spans: b.spans,
            root,
            prunable,
            whole,
        }
    }

    /// The schema for validating `instance`: a `properties` member that no instance it could
    /// apply to has is `true` (it can never apply), everything else is whole.
    pub fn assemble(&self, instance: &Value) -> Result<Value> {
        if self.whole {
            let &(o, l) = self
                .spans
                .get(self.root as usize)
                .context("schema cache: no root")?;
            return serde_json::from_slice(&self.blob[o as usize..o as usize + l as usize])
                .context("schema cache: the root is damaged");
        }
        let set = [instance];
        let inst: Option<&[&Value]> = if self.prunable { Some(&set) } else { None };
        self.node(self.root, inst, 0)
    }

    fn node(&self, id: u32, inst: Option<&[&Value]>, depth: usize) -> Result<Value> {
        let corrupt = || anyhow::anyhow!("schema cache: fragment {id} is damaged");
        let &(o, l) = self.spans.get(id as usize).ok_or_else(corrupt)?;
        let text = &self.blob[o as usize..o as usize + l as usize];
        let mut node: Value = serde_json::from_slice(text).map_err(|_| corrupt())?;
        self.expand(&mut node, inst, depth)?;
        Ok(node)
    }

    /// Replace the fragment ids in `node` by their schemas, pruned for `inst` (`None`: the
    /// instances are unknown, nothing is pruned).
    fn expand(&self, node: &mut Value, inst: Option<&[&Value]>, depth: usize) -> Result<()> {
        let Value::Object(m) = node else {
            return Ok(());
        };
        if depth > MAX_DEPTH {
            anyhow::bail!("schema cache: nested deeper than {MAX_DEPTH}");
        }
        for (k, v) in m.iter_mut() {
            if k == "properties" {
                let Value::Object(props) = v else { continue };
                for (key, c) in props.iter_mut() {
                    let id = c
                        .as_u64()
                        .and_then(|i| u32::try_from(i).ok())
                        .ok_or_else(|| anyhow::anyhow!("schema cache: `{key}` is no fragment"))?;
                    *c = match inst {
                        None => self.node(id, None, depth + 1)?,
                        Some(set) => {
                            let sub: Vec<&Value> =
                                set.iter().filter_map(|x| x.as_object()?.get(key)).collect();
                            if sub.is_empty() {
                                Value::Bool(true)
                            } else {
                                self.node(id, Some(&sub), depth + 1)?
                            }
                        }
                    };
                }
            } else if let Some(a) = applies(k, v) {
                for (i, c) in sub_schemas(a, v) {
                    let sub = inst.map(|set| narrow(a, i, set));
                    self.expand(c, sub.as_deref(), depth + 1)?;
                }
            }
        }
        Ok(())
    }
}

/// Whether pruning is sound for this schema: every `$ref` points into a `$defs` or
/// `definitions` (never pruned) inside each `properties` member subtree its target is in.
/// Then pruning a member no instance has can never cut a target still referenced, and a
/// pruned schema is never applied (through a ref) to another instance than it was pruned for.
/// Refs that are not plain JSON pointers into this document make the schema unprunable.
fn prune_safe(doc: &Value) -> bool {
    fn walk(v: &Value, path: &mut Vec<String>, ok: &mut bool) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    // A key of that name under `properties` (or in a `const`) only makes this
                    // stricter than it needs to be.
                    if matches!(
                        k.as_str(),
                        "$dynamicRef" | "$recursiveRef" | "$id" | "$anchor" | "$dynamicAnchor"
                    ) {
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

/// `r`, written at `from`, points into a `$defs`/`definitions` and into no `properties`
/// member subtree that `from` is outside.
fn ref_stays(r: &str, from: &[String]) -> bool {
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
    let members: Vec<usize> = (0..target.len().saturating_sub(1))
        .filter(|&i| target[i] == "properties")
        .collect();
    let below = members.last().map_or(0, |&i| i + 2);
    target[below..]
        .iter()
        .any(|s| s == "$defs" || s == "definitions")
        && members
            .iter()
            .all(|&i| from.len() >= i + 2 && from[..i + 2] == target[..i + 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object", "additionalProperties": false,
            "properties": {
                "a": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "number"}},
                      "anyOf": [{"properties": {"z": {"type": "string"}}}, {"required": ["x"]}]},
                "b": true,
                "c": {"type": "array", "items": {"properties": {"q": {"type": "string"}, "r": {"const": 1}}}},
                "m": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": false,
                      "properties": {"u": {"type": "integer"}, "v": {"properties": {"w": {"enum": [1]}}}}}},
                "t": {"type": "array", "items": [{"properties": {"i": {"type": "string"}}},
                      {"properties": {"j": {"type": "string"}}}]},
                "n": {"not": {"properties": {"k": {"const": "bad"}}, "required": ["k"]},
                      "patternProperties": {"^p": {"properties": {"e": {"type": "boolean"}}}}},
                "p": {"type": "object", "properties": {"cfg": {"$defs": {"d": {"type": "string"}},
                      "properties": {"s": {"$ref": "#/properties/p/properties/cfg/$defs/d"}}}}}
            }
        })
    }

    fn build(doc: &Value) -> Fragments {
        Fragments::split(doc.clone(), prune_safe(doc))
    }

    /// Every error as (instance path, schema-independent message).
    fn errors(schema: &Value, inst: &Value) -> Vec<String> {
        let v = jsonschema::options().build(schema).unwrap();
        let mut e: Vec<String> = v
            .iter_errors(inst)
            .map(|e| format!("{} {}", e.instance_path().as_str(), e))
            .collect();
        e.sort();
        e
    }

    fn instances() -> Vec<Value> {
        vec![
            json!({}),
            json!({"a": {"x": "1"}}),
            json!({"a": {"z": 1}}),
            json!({"a": "not an object", "c": [1]}),
            json!({"c": [{"q": 1}, {"r": 2}, {"q": "ok"}], "t": [{"i": 1}, {"j": 2}, {"i": 3}]}),
            json!({"m": {"one": {"u": "x"}, "two": {"v": {"w": 2}, "zz": 1}}}),
            json!({"n": {"k": "bad", "pa": {"e": 1}, "qa": {"e": 1}}}),
            json!({"p": {"cfg": {"s": 1}}, "zz": 3}),
            json!({"p": {}}),
            json!([1, 2]),
            json!({"a": {"x": 1, "y": 2, "w": 3}, "b": 1, "c": {}, "p": 1}),
        ]
    }

    #[test]
    fn assembled_schemas_validate_like_the_whole() {
        let doc = schema();
        let f = build(&doc);
        assert!(f.prunable && !f.whole);
        for inst in instances() {
            let got = f.assemble(&inst).unwrap();
            assert_eq!(errors(&got, &inst), errors(&doc, &inst), "{inst}");
        }
        // And the pruning is real: deep members nobody has are gone.
        let small = f.assemble(&json!({"m": {"one": {}}})).unwrap();
        assert_eq!(small["properties"]["a"], json!(true));
        assert_eq!(
            small["properties"]["m"]["additionalProperties"]["properties"]["v"],
            json!(true)
        );
        assert_eq!(
            f.assemble(&json!({"m": {"one": {"v": {}}}})).unwrap()["properties"]["m"]
                ["additionalProperties"]["properties"]["v"]["properties"]["w"],
            json!(true)
        );
    }

    #[test]
    fn refs_that_could_see_a_pruned_schema_disable_pruning() {
        for (at, r) in [
            // From outside the member its target is in.
            ("b", "#/properties/p/properties/cfg/$defs/d"),
            // To a schema that is pruned itself (then applied to another instance).
            ("a", "#/properties/a"),
            ("a", "#"),
            ("a", "#/anyOf/0"),
        ] {
            let mut doc = schema();
            doc["properties"][at] = json!({"$ref": r});
            let f = build(&doc);
            assert!(!f.prunable, "{r}");
            for inst in instances() {
                assert_eq!(f.assemble(&inst).unwrap(), doc, "{r} {inst}");
            }
        }
        assert!(ref_stays("#/$defs/x", &["properties".into(), "a".into()]));
        assert!(!ref_stays("other.json#/x", &[]));
        let mut doc = schema();
        doc["$id"] = json!("https://example.com/s.json");
        assert!(!prune_safe(&doc));
    }

    #[test]
    fn a_properties_map_with_a_non_schema_keeps_the_schema_whole() {
        let doc = json!({"properties": {"a": {"properties": {"x": 5}}, "b": {"type": "string"}}});
        let f = build(&doc);
        assert!(f.whole);
        assert_eq!(f.assemble(&json!({})).unwrap(), doc);
    }

    #[test]
    fn cache_round_trips_and_is_rebuilt_when_stale_or_corrupt() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("openclaw-2026.9.6.schema.json");
        std::fs::write(&file, serde_json::to_vec(&schema()).unwrap()).unwrap();
        let cache = d.path().join("cache");
        let derive = |v: &Value| v["properties"].as_object().map(|m| m.len()).unwrap_or(0);
        let l1 = load(&file, "v1", Some(&cache), derive).unwrap();
        assert_eq!(l1.derived, 7);
        assert!(l1.note.is_none(), "no cache yet is no news");
        let cf = cache.join(cache_name(&file));
        assert!(cf.is_file());
        let src = identity(&file, "v1").unwrap();
        let Ok((f2, n2)) = read_cache::<usize>(&cf, &src) else {
            panic!("a current cache is read");
        };
        assert_eq!(n2, 7);
        let inst = json!({"a": {"x": "1"}});
        assert_eq!(
            l1.frags.assemble(&inst).unwrap(),
            f2.assemble(&inst).unwrap()
        );
        // Another source or another OpenClaw version: not used.
        assert!(read_cache::<usize>(&cf, "0:0:0:0").is_err());
        assert!(read_cache::<usize>(&cf, &identity(&file, "v2").unwrap()).is_err());
        // Any single flipped byte and any truncation are seen; the cache is then rebuilt.
        let good = std::fs::read(&cf).unwrap();
        for i in (0..good.len()).step_by(good.len() / 97 + 1) {
            let mut bad = good.clone();
            bad[i] ^= 0x20;
            std::fs::write(&cf, &bad).unwrap();
            assert!(read_cache::<usize>(&cf, &src).is_err(), "byte {i}");
        }
        std::fs::write(&cf, &good[..good.len() - 1]).unwrap();
        assert!(read_cache::<usize>(&cf, &src).is_err());
        let l3 = load(&file, "v1", Some(&cache), derive).unwrap();
        assert!(l3.note.unwrap().contains("rebuilt"));
        assert_eq!(
            l3.frags.assemble(&inst).unwrap(),
            build(&schema()).assemble(&inst).unwrap()
        );
        assert!(read_cache::<usize>(&cf, &src).is_ok(), "rewritten");
    }

    #[test]
    fn checksum_sees_every_single_word_change() {
        let base: Vec<u8> = (0..37u8).collect();
        let c = checksum(&base);
        for i in 0..base.len() {
            for bit in 0..8 {
                let mut b = base.clone();
                b[i] ^= 1 << bit;
                assert_ne!(checksum(&b), c, "byte {i} bit {bit}");
            }
        }
        assert_ne!(checksum(&base[..36]), c);
    }
}
