//! OpenClaw's config JSON Schema: fetching it from the installed `openclaw` (`config schema`),
//! making it usable by a standard validator, and claw's cache of it (`<state>/schemas/`,
//! `current.json` naming the file for the cached version). `config schema refresh` and
//! `gateway check` (on version drift) both refresh through [`refresh`].

use crate::exit::{fail, Code};
use anyhow::Result;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Where the cached schemas live under claw's state dir.
pub fn cache_dir(state: &Path) -> PathBuf {
    state.join("schemas")
}

/// A refreshed (or, under dry run, fetched and checked) schema.
#[derive(Debug)]
pub struct Refreshed {
    pub version: String,
    /// The cache file it went (or would go) to.
    pub path: PathBuf,
    pub bytes: usize,
    /// What `current.json` now says (`Null` under dry run).
    pub meta: Value,
}

/// Ask `bin` for its version and schema, check the schema compiles, and cache it in `dir`
/// (unless `dry_run`). Errors carry claw's exit codes: 66 `bin` cannot run, 75 it failed,
/// 65 its output is unusable.
pub fn refresh(bin: &str, dir: &Path, now: &str, dry_run: bool) -> Result<Refreshed> {
    // OpenClaw 2026.9.6 leaves the bundled plugins' schemas out of `config schema` when the
    // config it finds is invalid, so point it at a config that does not exist.
    let no_config = std::env::temp_dir()
        .join(format!("claw-schema-refresh-{}-absent", std::process::id()))
        .join("openclaw.json");
    // `config schema` prints 2.4 MB and starts node: bounded in time and size.
    let run = |args: &[&str]| -> Result<Vec<u8>> {
        let mut cmd = std::process::Command::new(bin);
        cmd.args(args).env("OPENCLAW_CONFIG_PATH", &no_config);
        let out = crate::proc::run(
            cmd,
            &crate::proc::Opts::new(std::time::Duration::from_secs(120)).capture(64 << 20),
        )
        .map_err(|e| fail(Code::NoInput, format!("{bin}: cannot run OpenClaw: {e}")))?;
        if !out.success() {
            return Err(fail(
                Code::TempFail,
                format!("{bin} {}: {}", args.join(" "), out.describe()),
            ));
        }
        Ok(out.stdout)
    };
    let version_out = String::from_utf8_lossy(&run(&["--version"])?).into_owned();
    let re = regex::Regex::new(r"\d{4}\.\d+\.\d+(?:[-.][0-9A-Za-z.]+)?").expect("static regex");
    let version = re
        .find(&version_out)
        .map(|m| m.as_str().to_string())
        .ok_or_else(|| {
            fail(
                Code::DataErr,
                format!("{bin} --version: no version in {:?}", version_out.trim()),
            )
        })?;
    let raw = run(&["config", "schema"])?;
    let text = String::from_utf8_lossy(&raw);
    let start = text.find('{').ok_or_else(|| {
        fail(
            Code::DataErr,
            format!("{bin} config schema: no JSON in output"),
        )
    })?;
    let schema: Value = serde_json::from_str(text[start..].trim()).map_err(|e| {
        fail(
            Code::DataErr,
            format!("{bin} config schema: output is not JSON: {e}"),
        )
    })?;
    // Make sure it compiles (as the validator will use it) before it replaces a working one.
    let mut usable = schema.clone();
    normalize_schema(&mut usable, &mut Vec::new());
    jsonschema::options()
        .should_validate_formats(false)
        .build(&usable)
        .map_err(|e| {
            fail(
                Code::DataErr,
                format!("{bin} config schema: not a usable JSON Schema: {e}"),
            )
        })?;
    let file = format!("openclaw-{version}.schema.json");
    let path = dir.join(&file);
    if dry_run {
        return Ok(Refreshed {
            version,
            path,
            bytes: 0,
            meta: Value::Null,
        });
    }
    crate::atomic::create_private_dir(dir)?;
    let bytes = serde_json::to_vec(&schema)?;
    crate::atomic::write(&path, &bytes, crate::atomic::Opts::default())?;
    let meta = json!({"version": version, "file": file, "refreshed_at": now, "bytes": bytes.len()});
    crate::atomic::write(
        &dir.join("current.json"),
        serde_json::to_string_pretty(&meta)?.as_bytes(),
        crate::atomic::Opts::default(),
    )?;
    Ok(Refreshed {
        version,
        path,
        bytes: bytes.len(),
        meta,
    })
}

/// Make OpenClaw's schema usable by a standard validator, without changing what it accepts:
/// - `pattern`s are written for JavaScript's `u` regexes: `\0` becomes `\x00`, and `\p{Cs}`
///   (lone surrogates, which a Rust string can never hold) becomes U+FFFF, which keeps
///   the class well-formed;
/// - plugin schemas embedded without an `$id` use `#/$defs/...` relative to themselves; those
///   refs are rewritten to absolute pointers so they resolve from the document root.
pub fn normalize_schema(v: &mut Value, path: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if !path.is_empty() && (m.contains_key("$defs") || m.contains_key("definitions")) {
                let base: String = path
                    .iter()
                    .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
                    .collect();
                rebase_refs(m, &base);
            }
            if let Some(Value::String(p)) = m.get_mut("pattern") {
                *p = js_regex_to_rust(p);
            }
            if let Some(Value::Object(pp)) = m.get_mut("patternProperties") {
                let old = std::mem::take(pp);
                for (k, val) in old {
                    pp.insert(js_regex_to_rust(&k), val);
                }
            }
            for (k, c) in m.iter_mut() {
                path.push(k.clone());
                normalize_schema(c, path);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter_mut().enumerate() {
                path.push(i.to_string());
                normalize_schema(c, path);
                path.pop();
            }
        }
        _ => {}
    }
}

fn rebase_refs(m: &mut serde_json::Map<String, Value>, base: &str) {
    for (k, c) in m.iter_mut() {
        match c {
            Value::String(r)
                if k == "$ref"
                    && (r.starts_with("#/$defs/") || r.starts_with("#/definitions/")) =>
            {
                *r = format!("#{base}{}", &r[1..]);
            }
            Value::Object(o) => rebase_refs(o, base),
            Value::Array(a) => {
                for x in a.iter_mut() {
                    if let Value::Object(o) = x {
                        rebase_refs(o, base);
                    }
                }
            }
            _ => {}
        }
    }
}

fn js_regex_to_rust(p: &str) -> String {
    p.replace("\\0", "\\x00").replace("\\p{Cs}", "\\uFFFF")
}
