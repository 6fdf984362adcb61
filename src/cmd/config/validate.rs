//! Config validation: OpenClaw's own JSON Schema when one is cached (verdicts match the real
//! gateway), claw's structural checks of the sections that matter when none is, and always on
//! top: `$include` errors, unset `${VAR}` references, clobber signs, plain-text secrets.
//!
//! Errors only where OpenClaw errors; everything else is a warning.

use crate::openclaw::config::{self as occ, dotted};
use crate::redact;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, shaped like OpenClaw's `{path, message}` plus severity and origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    pub path: String,
    pub message: String,
    pub severity: Severity,
    /// `syntax`, `include`, `schema`, `structure`, `env`, `clobber`, `secret`, `openclaw`.
    pub source: &'static str,
}

impl Issue {
    fn error(source: &'static str, path: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            path: path.into(),
            message: redact::redact_text(&message.into()),
            severity: Severity::Error,
            source,
        }
    }
    fn warning(source: &'static str, path: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            severity: Severity::Warning,
            ..Issue::error(source, path, message)
        }
    }
}

/// Which rules were applied.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RulesUsed {
    /// OpenClaw's JSON Schema of this version (or from a file given with --schema).
    Schema { version: String, file: PathBuf },
    /// claw's structural checks only, and why.
    Structural { reason: String },
}

/// The verdict on one config.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub valid: bool,
    pub path: PathBuf,
    pub rules: RulesUsed,
    pub issues: Vec<Issue>,
    /// The merged document (includes resolved), when it parsed.
    #[serde(skip)]
    pub merged: Option<Value>,
    #[serde(skip)]
    pub includes: Vec<PathBuf>,
}

/// OpenClaw's schema (normalised, pre-processed: see [`super::schema_cache`]) and its version
/// label.
pub struct Schema {
    pub version: String,
    pub file: PathBuf,
    frags: super::schema_cache::Fragments,
    /// Channel ids the schema knows (`channels.properties`); others are refused by OpenClaw.
    pub channel_ids: BTreeSet<String>,
    /// Bundled plugins (`plugins.entries.properties`): their providers may omit `baseUrl`.
    pub bundled: BTreeSet<String>,
    /// The schema knows `agents.entries` but not the older `agents.list`, which OpenClaw then
    /// moves into `entries` before validating.
    pub agents_list_legacy: bool,
    /// Why the pre-processed cache there was not used (shown with `-v`).
    pub cache_note: Option<String>,
}

/// What the rules read from the schema document itself, computed once when it is cached.
#[derive(Serialize, serde::Deserialize)]
struct Derived {
    channel_ids: BTreeSet<String>,
    bundled: BTreeSet<String>,
    agents_list_legacy: bool,
}

fn derive(v: &Value) -> Derived {
    let keys = |ptr: &str| -> BTreeSet<String> {
        v.pointer(ptr)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    Derived {
        channel_ids: keys("/properties/channels/properties"),
        bundled: keys("/properties/plugins/properties/entries/properties"),
        agents_list_legacy: v.pointer("/properties/agents/properties/entries").is_some()
            && v.pointer("/properties/agents/properties/list").is_none(),
    }
}

impl Schema {
    pub fn load(file: &Path, version: &str) -> anyhow::Result<Schema> {
        Schema::load_cached(file, version, None)
    }

    /// [`Schema::load`] through the pre-processed cache in `cache_dir` (built when missing).
    pub fn load_cached(
        file: &Path,
        version: &str,
        cache_dir: Option<&Path>,
    ) -> anyhow::Result<Schema> {
        let l = super::schema_cache::load(file, version, cache_dir, derive)?;
        Ok(Schema {
            version: version.to_string(),
            file: file.to_path_buf(),
            frags: l.frags,
            channel_ids: l.derived.channel_ids,
            bundled: l.derived.bundled,
            agents_list_legacy: l.derived.agents_list_legacy,
            cache_note: l.note,
        })
    }

    /// Compile a validator for `instance`. The schemas of object keys the instance does not
    /// have are replaced by `true`: they can never be applied to it, and skipping the 60-odd
    /// plugin and channel schemas a config does not use is most of the compile time.
    pub fn compile(&self, instance: &Value) -> anyhow::Result<jsonschema::Validator> {
        use crate::exit::{fail, Code};
        // A fragment the checksum passed and serde refuses (a cache from a claw with a bug,
        // say) must not become a verdict: the schema file itself decides then.
        let doc = match self.frags.assemble(instance) {
            Ok(doc) => doc,
            Err(_) => super::schema_cache::rebuild(&self.file)?.assemble(instance)?,
        };
        let v = jsonschema::options()
            .should_validate_formats(false)
            .build(&doc)
            .map_err(|e| {
                fail(
                    Code::DataErr,
                    format!("{}: not a usable JSON Schema: {e}", self.file.display()),
                )
            });
        drop_later(doc);
        v
    }
}

pub use crate::openclaw::schema::normalize_schema;

/// What validation needs besides the file.
pub struct Inputs<'a> {
    pub schema: Option<&'a Schema>,
    /// Why there is no schema (shown when structural checks are used).
    pub no_schema_reason: String,
    /// OpenClaw's state dir (for `.env` names).
    pub state_dir: &'a Path,
    /// The newest valid backup's bytes and document, for clobber signs.
    pub last_good: Option<(&'a [u8], &'a Value)>,
    pub warn_plaintext_secrets: bool,
    /// The process environment (a variable's value, when set).
    pub env_value: &'a dyn Fn(&str) -> Option<String>,
}

/// Validate config bytes read from `path`.
pub fn validate_bytes(path: &Path, bytes: &[u8], inp: &Inputs) -> Report {
    let rules = match inp.schema {
        Some(s) => RulesUsed::Schema {
            version: s.version.clone(),
            file: s.file.clone(),
        },
        None => RulesUsed::Structural {
            reason: inp.no_schema_reason.clone(),
        },
    };
    let mut report = Report {
        valid: false,
        path: path.to_path_buf(),
        rules,
        issues: Vec::new(),
        merged: None,
        includes: Vec::new(),
    };
    let root = match parse_root(bytes) {
        Ok(root) => root,
        Err(issue) => {
            report.issues.push(issue);
            return report;
        }
    };
    let loaded = occ::resolve_includes(root, path, &include_roots());
    // OpenClaw stops loading at an include error and reports it at `<root>` wherever the
    // `$include` sits; the message says where.
    for i in &loaded.issues {
        let msg = if i.path == "<root>" {
            i.message.clone()
        } else {
            format!("{} (in {})", i.message, i.path)
        };
        report.issues.push(Issue::error("include", "<root>", msg));
    }
    let merged = loaded.merged;
    env_warnings(&merged, inp, &mut report.issues);
    // OpenClaw validates the config as substituted: `"${BIND}"` with BIND=lan is a valid bind.
    let (subst, substituted) =
        substitute_env(&merged, &env_lookup(&merged, inp.state_dir, inp.env_value));
    match inp.schema {
        Some(s) => schema_checks(s, subst, &substituted, &mut report.issues),
        None => structural_issues(&subst, &mut report.issues),
    }
    if let Some((good_bytes, good)) = inp.last_good {
        clobber_signs(
            bytes.len(),
            &merged,
            good_bytes.len(),
            good,
            &mut report.issues,
        );
    }
    if inp.warn_plaintext_secrets {
        for p in occ::plaintext_secret_paths(&merged) {
            report.issues.push(Issue::warning(
                "secret",
                p,
                "secret written in plain text; an env reference such as ${NAME} would keep it out of the file",
            ));
        }
    }
    report.valid = !report.issues.iter().any(|i| i.severity == Severity::Error);
    report.merged = Some(merged);
    report.includes = loaded.includes;
    report
}

/// The config's root object, or the one syntax issue that stops validation.
fn parse_root(bytes: &[u8]) -> Result<Value, Issue> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Issue::error(
            "syntax",
            "<root>",
            format!("not valid UTF-8 (byte {})", e.valid_up_to()),
        )
    })?;
    let root = occ::parse_json5(text).map_err(|e| {
        Issue::error(
            "syntax",
            "<root>",
            format!(
                "JSON5 parse failed at line {} column {}: {}",
                e.line, e.column, e.message
            ),
        )
    })?;
    if !root.is_object() {
        return Err(Issue::error(
            "syntax",
            "<root>",
            "config must be a JSON object",
        ));
    }
    Ok(root)
}

/// Env references: a missing one is a warning (OpenClaw 2026.9 only warns).
fn env_warnings(merged: &Value, inp: &Inputs, out: &mut Vec<Issue>) {
    let mut defined: BTreeSet<String> = occ::defined_env_names(merged, inp.state_dir);
    defined.retain(|n| !n.is_empty());
    let mut seen = BTreeSet::new();
    for (p, name) in occ::env_refs(merged) {
        if !defined.contains(&name)
            && (inp.env_value)(&name).is_none()
            && seen.insert((p.clone(), name.clone()))
        {
            out.push(Issue::warning(
                "env",
                p,
                format!("${{{name}}} is not set in the environment"),
            ));
        }
    }
}

/// The schema's verdict on the substituted document, with OpenClaw's migrations before and
/// its own rules after.
fn schema_checks(s: &Schema, mut doc: Value, substituted: &BTreeSet<String>, out: &mut Vec<Issue>) {
    let mut found = Vec::new();
    migrate_legacy(s, &mut doc, &mut found, out);
    match s.compile(&doc) {
        Ok(validator) => {
            schema_issues(&validator, &doc, substituted, &mut found);
            drop_later(validator);
        }
        Err(e) => found.push(Issue::error("schema", "<root>", format!("{e:#}"))),
    }
    openclaw_semantics(s, &doc, &mut found);
    out.extend(found);
}

/// Free `v` on another thread: taking a compiled schema apart is a tenth of a validation's
/// time, and a one-shot run that exits first simply leaves it to the kernel.
fn drop_later<T: Send + 'static>(v: T) {
    // When no thread can be started, the closure (and `v`) is dropped right here.
    let _ = std::thread::Builder::new().spawn(move || drop(v));
}

/// Extra directories includes may come from (`OPENCLAW_INCLUDE_ROOTS`, colon-separated).
pub fn include_roots() -> Vec<PathBuf> {
    std::env::var("OPENCLAW_INCLUDE_ROOTS")
        .map(|v| {
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

/// JSON pointer (`/a/b~1c`) to OpenClaw's dotted form (`a.b/c`).
fn pointer_to_dotted(p: &str) -> String {
    let segs: Vec<String> = p
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    dotted(&segs)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "number",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn schema_issues(
    validator: &jsonschema::Validator,
    doc: &Value,
    substituted: &BTreeSet<String>,
    out: &mut Vec<Issue>,
) {
    for e in validator.iter_errors(doc) {
        error_issues(&e, substituted, out);
    }
}

/// Whether OpenClaw checks this path in its plugin phase (channel sections, plugin configs),
/// with a JSON Schema validator that reports every failed branch of a union.
fn in_plugin_phase(p: &str) -> bool {
    p.starts_with("channels.")
        || (p.starts_with("plugins.entries.")
            && p.splitn(4, '.')
                .nth(3)
                .map(|r| r.starts_with("config"))
                .unwrap_or(false))
}

/// One schema error as OpenClaw's issues.
fn error_issues(
    e: &jsonschema::ValidationError<'_>,
    substituted: &BTreeSet<String>,
    out: &mut Vec<Issue>,
) {
    use jsonschema::error::ValidationErrorKind as K;
    {
        let path = pointer_to_dotted(e.instance_path().as_str());
        let inst: &Value = e.instance();
        // A value that came from the environment is never echoed: it may be a secret.
        let secret = substituted
            .iter()
            .any(|p| p == &path || p.starts_with(&format!("{path}.")))
            || redact::is_secret_path(
                &e.instance_path()
                    .as_str()
                    .split('/')
                    .skip(1)
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            );
        match e.kind() {
            K::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    out.push(Issue::error(
                        "schema",
                        &path,
                        format!("Unrecognized key: \"{key}\""),
                    ));
                }
            }
            K::Type { kind } => out.push(Issue::error(
                "schema",
                &path,
                format!(
                    "Invalid input: expected {}, received {}",
                    type_kind(kind),
                    type_name(inst)
                ),
            )),
            K::Required { property } => {
                // OpenClaw reports a missing key at the key's own path.
                let key = property
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| property.to_string());
                let p = if path == "<root>" {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                out.push(Issue::error(
                    "schema",
                    p,
                    format!("must have required property '{key}'"),
                ))
            }
            K::PropertyNames { error } => {
                // OpenClaw's records report a bad key at the key's own path.
                let key = error
                    .instance()
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| error.instance().to_string());
                let p = if path == "<root>" {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                out.push(Issue::error("schema", p, format!("Invalid key: {error}")));
            }
            K::Enum { options } => out.push(Issue::error(
                "schema",
                &path,
                format!("Invalid option: expected one of {}", enum_list(options)),
            )),
            K::Constant { expected_value } => out.push(Issue::error(
                "schema",
                &path,
                format!("Invalid input: expected {expected_value}"),
            )),
            _ => {
                // Other keywords: jsonschema's own wording, with the offending value removed
                // when it sits at a secret path.
                let msg = if secret {
                    "Invalid value".to_string()
                } else {
                    e.to_string()
                };
                out.push(Issue::error("schema", &path, msg));
                // In the plugin phase a failed union also reports each branch's own errors
                // (`token.source`, `token.id` for a malformed secret ref), as OpenClaw does.
                if in_plugin_phase(&path) {
                    if let K::AnyOf { context } | K::OneOfNotValid { context } = e.kind() {
                        for branch in context {
                            for sub in branch {
                                error_issues(sub, substituted, out);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Where OpenClaw finds a `${VAR}`'s value (2026.9.6, observed): the process environment
/// first, then the state dir's `.env`, then the config's own `env.vars` (and, for older
/// versions, inline `env` strings).
fn env_lookup<'a>(
    merged: &Value,
    state_dir: &Path,
    process: &'a dyn Fn(&str) -> Option<String>,
) -> impl Fn(&str) -> Option<String> + 'a {
    let mut values: std::collections::BTreeMap<String, String> = Default::default();
    if let Some(env) = merged.get("env").and_then(Value::as_object) {
        for (k, v) in env {
            if let Some(s) = v.as_str() {
                values.insert(k.clone(), s.to_string());
            }
        }
        if let Some(vars) = env.get("vars").and_then(Value::as_object) {
            for (k, v) in vars {
                if let Some(s) = v.as_str() {
                    values.insert(k.clone(), s.to_string());
                }
            }
        }
    }
    if let Ok(text) = crate::safefs::read_to_string(state_dir.join(".env")) {
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with('#') {
                continue;
            }
            let l = l.strip_prefix("export ").unwrap_or(l);
            if let Some((k, v)) = l.split_once('=') {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|x| x.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                    .unwrap_or(v);
                values.insert(k.trim().to_string(), v.to_string());
            }
        }
    }
    move |name: &str| process(name).or_else(|| values.get(name).cloned())
}

/// The document with every `${VAR}` that has a value replaced (in string values, as OpenClaw
/// does before validating), `$${` unescaped to `${`, and the dotted paths that changed.
/// Unset variables stay as written (OpenClaw only warns about them).
fn substitute_env(
    doc: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> (Value, BTreeSet<String>) {
    fn walk(
        v: &mut Value,
        path: &mut Vec<String>,
        lookup: &dyn Fn(&str) -> Option<String>,
        changed: &mut BTreeSet<String>,
    ) {
        match v {
            Value::Object(m) => {
                for (k, c) in m.iter_mut() {
                    path.push(k.clone());
                    walk(c, path, lookup, changed);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter_mut().enumerate() {
                    path.push(i.to_string());
                    walk(c, path, lookup, changed);
                    path.pop();
                }
            }
            Value::String(s) if s.contains('$') => {
                let (out, any_var) = substitute_str(s, lookup);
                if any_var {
                    changed.insert(dotted(path));
                }
                *s = out;
            }
            _ => {}
        }
    }
    let mut out = doc.clone();
    let mut changed = BTreeSet::new();
    walk(&mut out, &mut Vec::new(), lookup, &mut changed);
    (out, changed)
}

/// One string: the same reference rules as `openclaw::config::refs_in`.
fn substitute_str(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut any = false;
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
            continue;
        }
        if let Some(body) = tail.strip_prefix("${") {
            if let Some(end) = body.find('}') {
                let name = &body[..end];
                if !occ::refs_in(&tail[..end + 3]).is_empty() {
                    if let Some(val) = lookup(name) {
                        out.push_str(&val);
                        any = true;
                        rest = &body[end + 1..];
                        continue;
                    }
                }
                out.push_str(&tail[..end + 3]);
                rest = &body[end + 1..];
                continue;
            }
        }
        out.push('$');
        rest = &tail[1..];
    }
    out.push_str(rest);
    (out, any)
}

/// OpenClaw's in-memory migrations of older shapes, done before it validates (2026.9.6,
/// observed): a legacy `agents.list` array of agents with unique string `id`s, with no
/// `agents.entries` beside it, becomes `agents.entries` keyed by id (a warning). When it cannot
/// be moved, `list` stays (the schema then refuses it) and, with no `entries` at all, OpenClaw
/// also says there is no configured agent.
fn migrate_legacy(s: &Schema, doc: &mut Value, found: &mut Vec<Issue>, warnings: &mut Vec<Issue>) {
    if !s.agents_list_legacy {
        return;
    }
    let Some(agents) = doc.get_mut("agents").and_then(Value::as_object_mut) else {
        return;
    };
    let Some(list) = agents.get("list") else {
        return;
    };
    if agents.contains_key("entries") {
        return;
    }
    let mut entries = serde_json::Map::new();
    let movable = list.as_array().is_some_and(|items| {
        items.iter().all(|it| {
            let Some(id) = it.get("id").and_then(Value::as_str) else {
                return false;
            };
            let mut rest = it.as_object().cloned().unwrap_or_default();
            rest.remove("id");
            entries
                .insert(id.to_string(), Value::Object(rest))
                .is_none()
        })
    });
    if movable {
        agents.remove("list");
        agents.insert("entries".into(), Value::Object(entries));
        warnings.push(Issue::warning(
            "schema",
            "agents.entries",
            "Moved agents.list to keyed agents.entries.",
        ));
    } else {
        found.push(Issue::error(
            "schema",
            "agents.entries",
            "agents.entries must contain at least one configured agent",
        ));
    }
}

/// Where OpenClaw's verdict differs from the bare schema (seen on 2026.9.6):
/// - channel schemas list fields OpenClaw fills with defaults as `required`;
/// - channel ids the schema does not name are refused (`channels` itself allows any key);
/// - channels and plugin configs are only checked once the core sections pass;
/// - while a `plugins.load.paths` entry cannot be inspected, OpenClaw checks neither (it
///   keeps that configuration as written, with a warning, since the missing plugin may own it);
/// - a custom (non-bundled) model provider must declare `baseUrl`.
fn openclaw_semantics(s: &Schema, doc: &Value, found: &mut Vec<Issue>) {
    found.retain(|i| {
        !(i.path.starts_with("channels.") && i.message.starts_with("must have required property"))
    });
    if !s.channel_ids.is_empty() {
        if let Some(ch) = doc.get("channels").and_then(Value::as_object) {
            for id in ch.keys() {
                if !s.channel_ids.contains(id) {
                    found.push(Issue::error(
                        "schema",
                        format!("channels.{id}"),
                        format!("unknown channel id: {id}"),
                    ));
                }
            }
        }
    }
    if let Some(providers) = doc.pointer("/models/providers").and_then(Value::as_object) {
        for (id, p) in providers {
            if p.is_object() && p.get("baseUrl").is_none() && !s.bundled.contains(id) {
                found.push(Issue::error(
                    "schema",
                    format!("models.providers.{id}.baseUrl"),
                    "custom model providers must declare baseUrl",
                ));
            }
        }
    }
    if found.iter().any(|i| !in_plugin_phase(&i.path)) {
        found.retain(|i| !in_plugin_phase(&i.path));
    }
    // Union branches can repeat an error; OpenClaw lists each once.
    let mut seen = BTreeSet::new();
    found.retain(|i| seen.insert((i.path.clone(), i.message.clone())));
    let unavailable = occ::unavailable_plugin_paths(doc);
    if let Some(first) = unavailable.first() {
        let before = found.len();
        found.retain(|i| !in_plugin_phase(&i.path));
        if found.len() != before || doc.get("channels").is_some_and(Value::is_object) {
            found.push(Issue::warning(
                "schema",
                "plugins.load.paths",
                format!(
                    "plugin load path {first} is unavailable: OpenClaw leaves channel and plugin settings unchecked ({} problem(s) there not reported)",
                    before - found.len()
                ),
            ));
        }
    }
}

fn type_kind(k: &jsonschema::error::TypeKind) -> String {
    use jsonschema::error::TypeKind;
    let one = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "integer" => "number".to_string(),
        s => s.to_string(),
    };
    match k {
        TypeKind::Single(t) => one(t),
        TypeKind::Multiple(ts) => ts.iter().map(|t| one(&t)).collect::<Vec<_>>().join(" | "),
    }
}

fn enum_list(options: &Value) -> String {
    match options {
        Value::Array(a) => a
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("|"),
        other => other.to_string(),
    }
}

/// Top-level keys OpenClaw has accepted in any version claw knows (a superset, so the
/// structural fallback never calls a valid config invalid).
pub const KNOWN_TOP_LEVEL: &[&str] = &[
    "$schema",
    "meta",
    "env",
    "wizard",
    "diagnostics",
    "logging",
    "cli",
    "update",
    "browser",
    "ui",
    "secrets",
    "auth",
    "acp",
    "models",
    "nodeHost",
    "agents",
    "tools",
    "bindings",
    "broadcast",
    "audio",
    "media",
    "messages",
    "commands",
    "approvals",
    "session",
    "cron",
    "hooks",
    "web",
    "channels",
    "discovery",
    "canvasHost",
    "talk",
    "gateway",
    "memory",
    "mcp",
    "skills",
    "plugins",
    "modelPolicy",
    "agentRuntime",
    "tasks",
    "sandbox",
    "voice",
    "proxy",
    "crestodian",
    "tts",
    "workspace",
    "security",
    "telemetry",
    "experimental",
    "sessions",
];

/// claw's own checks of the sections that matter, when no OpenClaw schema is at hand.
fn structural_issues(doc: &Value, out: &mut Vec<Issue>) {
    let Some(top) = doc.as_object() else { return };
    for k in top.keys() {
        if !KNOWN_TOP_LEVEL.contains(&k.as_str()) {
            out.push(Issue::error(
                "structure",
                "<root>",
                format!("Unrecognized key: \"{k}\""),
            ));
        }
    }
    if let Some(gw) = top.get("gateway") {
        structural_gateway(gw, out);
    }
    if let Some(agents) = top.get("agents") {
        structural_agents(agents, out);
    }
    if let Some(providers) = doc.pointer("/models/providers").and_then(Value::as_object) {
        structural_providers(providers, out);
    }
}

/// `v` as an object, or an issue at `path` saying it is not one.
fn want_obj<'v>(
    out: &mut Vec<Issue>,
    path: &str,
    v: &'v Value,
) -> Option<&'v serde_json::Map<String, Value>> {
    if v.is_object() {
        v.as_object()
    } else {
        out.push(Issue::error(
            "structure",
            path,
            format!("Invalid input: expected object, received {}", type_name(v)),
        ));
        None
    }
}

/// `obj[key]`, when present, is one of `allowed`.
fn enum_check(
    out: &mut Vec<Issue>,
    obj: &serde_json::Map<String, Value>,
    base: &str,
    key: &str,
    allowed: &[&str],
) {
    let Some(v) = obj.get(key) else { return };
    if v.as_str().is_some_and(|s| allowed.contains(&s)) {
        return;
    }
    out.push(Issue::error(
        "structure",
        format!("{base}.{key}"),
        format!(
            "Invalid option: expected one of {}",
            allowed
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join("|")
        ),
    ));
}

fn structural_gateway(gw: &Value, out: &mut Vec<Issue>) {
    let Some(gw) = want_obj(out, "gateway", gw) else {
        return;
    };
    if let Some(port) = gw.get("port") {
        if !port.as_u64().is_some_and(|p| (1..=65535).contains(&p)) {
            out.push(Issue::error(
                "structure",
                "gateway.port",
                "Invalid input: expected an integer port from 1 to 65535",
            ));
        }
    }
    enum_check(out, gw, "gateway", "mode", &["local", "remote"]);
    enum_check(
        out,
        gw,
        "gateway",
        "bind",
        &["auto", "lan", "loopback", "custom", "tailnet"],
    );
    if let Some(auth) = gw.get("auth") {
        if let Some(auth) = want_obj(out, "gateway.auth", auth) {
            enum_check(
                out,
                auth,
                "gateway.auth",
                "mode",
                &["none", "token", "password", "trusted-proxy"],
            );
        }
    }
}

fn structural_agents(agents: &Value, out: &mut Vec<Issue>) {
    let Some(a) = want_obj(out, "agents", agents) else {
        return;
    };
    if let Some(d) = a.get("defaults") {
        if let Some(d) = want_obj(out, "agents.defaults", d) {
            if let Some(m) = d.get("model") {
                model_ref_checks(out, "agents.defaults.model", m);
            }
        }
    }
    if let Some(list) = a.get("list") {
        match list.as_array() {
            Some(items) => {
                for (i, it) in items.iter().enumerate() {
                    let p = format!("agents.list.{i}");
                    if want_obj(out, &p, it).is_some()
                        && !it.get("id").map(Value::is_string).unwrap_or(false)
                    {
                        out.push(Issue::error(
                            "structure",
                            format!("{p}.id"),
                            "Invalid input: expected string, received undefined",
                        ));
                    }
                    if let Some(m) = it.get("model") {
                        model_ref_checks(out, &format!("{p}.model"), m);
                    }
                }
            }
            None => out.push(Issue::error(
                "structure",
                "agents.list",
                format!(
                    "Invalid input: expected array, received {}",
                    type_name(list)
                ),
            )),
        }
    }
    if let Some(entries) = a.get("entries") {
        if let Some(entries) = want_obj(out, "agents.entries", entries) {
            for (id, e) in entries {
                let p = format!("agents.entries.{id}");
                if let Some(m) = want_obj(out, &p, e).and_then(|e| e.get("model")) {
                    model_ref_checks(out, &format!("{p}.model"), m);
                }
            }
        }
    }
}

fn structural_providers(providers: &serde_json::Map<String, Value>, out: &mut Vec<Issue>) {
    for (pid, prov) in providers {
        let base = format!("models.providers.{pid}");
        if want_obj(out, &base, prov).is_none() {
            continue;
        }
        if prov.get("baseUrl").is_none() {
            out.push(Issue::warning(
                "structure",
                &base,
                "no baseUrl (OpenClaw 2026.9 accepts this; older versions require it)",
            ));
        }
        let Some(models) = prov.get("models").and_then(Value::as_array) else {
            continue;
        };
        for (i, m) in models.iter().enumerate() {
            let Some(cost) = m.get("cost") else { continue };
            let cp = format!("{base}.models.{i}.cost");
            let Some(cost) = want_obj(out, &cp, cost) else {
                continue;
            };
            for (k, v) in cost {
                if !v.as_f64().map(|x| x >= 0.0).unwrap_or(false) {
                    out.push(Issue::error(
                        "structure",
                        format!("{cp}.{k}"),
                        format!("Invalid input: expected a non-negative number (USD per million tokens), received {}", type_name(v)),
                    ));
                }
            }
        }
    }
}

fn model_ref_checks(out: &mut Vec<Issue>, path: &str, m: &Value) {
    let check = |out: &mut Vec<Issue>, p: String, v: &Value| match v.as_str() {
        Some(s) if s.contains('/') => {}
        Some(s) => out.push(Issue::warning(
            "structure",
            p,
            format!(
                "model \"{s}\" is not a provider/model reference (fine only if it is an alias)"
            ),
        )),
        None => out.push(Issue::error(
            "structure",
            p,
            format!("Invalid input: expected string, received {}", type_name(v)),
        )),
    };
    match m {
        Value::String(_) => check(out, path.to_string(), m),
        Value::Object(o) => {
            if let Some(p) = o.get("primary") {
                check(out, format!("{path}.primary"), p);
            }
            if let Some(f) = o.get("fallbacks") {
                match f.as_array() {
                    Some(a) => {
                        for (i, v) in a.iter().enumerate() {
                            check(out, format!("{path}.fallbacks.{i}"), v);
                        }
                    }
                    None => out.push(Issue::error(
                        "structure",
                        format!("{path}.fallbacks"),
                        "Invalid input: expected array",
                    )),
                }
            }
        }
        other => out.push(Issue::error(
            "structure",
            path,
            format!(
                "Invalid input: expected string or object, received {}",
                type_name(other)
            ),
        )),
    }
}

/// OpenClaw's own clobber rules, against the newest valid backup.
fn clobber_signs(size: usize, doc: &Value, good_size: usize, good: &Value, out: &mut Vec<Issue>) {
    if good_size >= 512 && size * 2 < good_size {
        out.push(Issue::warning(
            "clobber",
            "<root>",
            format!("config shrank to {size} bytes from {good_size} in the newest valid backup (possible clobber)"),
        ));
    }
    if good.get("meta").is_some() && doc.get("meta").is_none() {
        out.push(Issue::warning(
            "clobber",
            "meta",
            "meta disappeared since the newest valid backup (possible clobber)",
        ));
    }
    if good.pointer("/gateway/mode").is_some() && doc.pointer("/gateway/mode").is_none() {
        out.push(Issue::warning(
            "clobber",
            "gateway.mode",
            "gateway.mode disappeared since the newest valid backup (possible clobber)",
        ));
    }
}

/// Whether a report carries OpenClaw's clobber signs.
pub fn is_clobbered(r: &Report) -> bool {
    r.issues.iter().any(|i| i.source == "clobber")
}

/// Human output: one `path: message` line per issue, errors first.
pub fn render_text(r: &Report) -> String {
    let mut s = String::new();
    let mut issues: Vec<&Issue> = r.issues.iter().collect();
    issues.sort_by_key(|i| i.severity != Severity::Error);
    for i in issues {
        let sev = match i.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        s.push_str(&format!("{}: {sev}{}\n", i.path, i.message));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs<'a>(dir: &'a Path) -> Inputs<'a> {
        Inputs {
            schema: None,
            no_schema_reason: "test".into(),
            state_dir: dir,
            last_good: None,
            warn_plaintext_secrets: true,
            env_value: &|_| None,
        }
    }

    fn run(doc: &str) -> Report {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("openclaw.json");
        validate_bytes(&p, doc.as_bytes(), &inputs(d.path()))
    }

    #[test]
    fn empty_object_is_valid() {
        let r = run("{}");
        assert!(r.valid, "{:?}", r.issues);
        assert!(r.issues.is_empty());
    }

    #[test]
    fn structural_checks_flag_what_openclaw_rejects() {
        let r = run(
            r#"{"bogus": 1, "gateway": {"port": 70000, "bind": "everywhere", "auth": {"mode": "magic"}}}"#,
        );
        assert!(!r.valid);
        let paths: Vec<&str> = r.issues.iter().map(|i| i.path.as_str()).collect();
        for p in [
            "<root>",
            "gateway.port",
            "gateway.bind",
            "gateway.auth.mode",
        ] {
            assert!(paths.contains(&p), "{p} in {paths:?}");
        }
    }

    #[test]
    fn warnings_do_not_invalidate() {
        let r = run(
            r#"{"models": {"providers": {"x": {"apiKey": "plain", "models": [{"id": "m", "cost": {"input": 1}}]}}}, "agents": {"defaults": {"model": "${MODEL_X}"}}}"#,
        );
        assert!(r.valid, "{:?}", r.issues);
        let sources: Vec<&str> = r.issues.iter().map(|i| i.source).collect();
        assert!(
            sources.contains(&"secret") && sources.contains(&"env"),
            "{sources:?}"
        );
        assert!(
            !render_text(&r).contains("plain\""),
            "secret value never printed"
        );
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let r = run("{\n  \"a\": 1,\n  \"b\" 2\n}");
        assert!(!r.valid);
        assert!(
            r.issues[0].message.contains("line 3 column 7"),
            "{:?}",
            r.issues
        );
    }

    #[test]
    fn clobber_signs_against_last_good() {
        let good = json!({"meta": {"lastTouchedVersion": "x"}, "gateway": {"mode": "local"}, "pad": "x".repeat(600)});
        let good_bytes = serde_json::to_vec(&good).unwrap();
        let d = tempfile::tempdir().unwrap();
        let mut inp = inputs(d.path());
        inp.last_good = Some((&good_bytes, &good));
        let r = validate_bytes(&d.path().join("c.json"), b"{\"gateway\": {}}", &inp);
        assert!(is_clobbered(&r));
        assert_eq!(r.issues.iter().filter(|i| i.source == "clobber").count(), 3);
    }

    #[test]
    fn schema_errors_use_openclaw_paths() {
        let schema = json!({"type": "object", "additionalProperties": false, "properties": {
            "gateway": {"type": "object", "additionalProperties": false, "properties": {"port": {"type": "integer"}}}}});
        let d = tempfile::tempdir().unwrap();
        let sf = d.path().join("s.json");
        std::fs::write(&sf, schema.to_string()).unwrap();
        let s = Schema::load(&sf, "test").unwrap();
        let mut inp = inputs(d.path());
        inp.schema = Some(&s);
        let r = validate_bytes(
            &d.path().join("c.json"),
            br#"{"x": 1, "gateway": {"port": "a", "y": 2}}"#,
            &inp,
        );
        let got: Vec<(String, String)> = r
            .issues
            .iter()
            .map(|i| (i.path.clone(), i.message.clone()))
            .collect();
        assert!(
            got.contains(&("<root>".into(), "Unrecognized key: \"x\"".into())),
            "{got:?}"
        );
        assert!(
            got.contains(&("gateway".into(), "Unrecognized key: \"y\"".into())),
            "{got:?}"
        );
        assert!(got.iter().any(|(p, _)| p == "gateway.port"), "{got:?}");
    }

    fn schema_in(d: &Path, schema: Value) -> Schema {
        let sf = d.join("s.json");
        std::fs::write(&sf, schema.to_string()).unwrap();
        Schema::load(&sf, "test").unwrap()
    }

    fn errors(r: &Report) -> Vec<String> {
        let mut v: Vec<String> = r
            .issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| i.path.clone())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn env_references_are_substituted_before_validation() {
        // OpenClaw checks `"${BIND}"` as the value BIND holds: process env, then `.env`, then
        // the config's `env.vars`; unset ones stay literal; `$${` is an escape.
        let d = tempfile::tempdir().unwrap();
        let s = schema_in(
            d.path(),
            json!({"type": "object", "additionalProperties": false, "properties": {
            "env": {"type": "object"},
            "gateway": {"type": "object", "additionalProperties": false, "properties": {
                "bind": {"enum": ["lan", "loopback"]}, "host": {"enum": ["${X}"]}, "name": {"type": "string", "maxLength": 2}}}}}),
        );
        std::fs::write(d.path().join(".env"), "FROM_FILE=lan\nBOTH=xyz\n").unwrap();
        let mut inp = inputs(d.path());
        inp.schema = Some(&s);
        let process = |n: &str| (n == "FROM_PROC").then(|| "loop".to_string());
        inp.env_value = &process;
        let run = |doc: &str| validate_bytes(&d.path().join("c.json"), doc.as_bytes(), &inp);
        assert!(run(r#"{"gateway": {"bind": "${FROM_PROC}back"}}"#).valid);
        assert!(run(r#"{"gateway": {"bind": "${FROM_FILE}"}}"#).valid);
        assert!(run(r#"{"env": {"vars": {"V": "lan"}}, "gateway": {"bind": "${V}"}}"#).valid);
        // `.env` beats `env.vars`.
        let r = run(r#"{"env": {"vars": {"BOTH": "lan"}}, "gateway": {"bind": "${BOTH}"}}"#);
        assert_eq!(errors(&r), ["gateway.bind"]);
        let r = run(r#"{"gateway": {"name": "${BOTH}"}}"#);
        assert_eq!(errors(&r), ["gateway.name"]);
        assert!(
            !serde_json::to_string(&r.issues).unwrap().contains("xyz"),
            "env values are not echoed: {:?}",
            r.issues
        );
        assert_eq!(
            errors(&run(r#"{"gateway": {"bind": "${UNSET_NAME}"}}"#)),
            ["gateway.bind"]
        );
        assert!(run(r#"{"gateway": {"host": "$${X}"}}"#).valid);
    }

    #[test]
    fn unavailable_plugin_load_path_leaves_channels_and_plugin_configs_unchecked() {
        // Seen on 2026.9.6: while a `plugins.load.paths` entry cannot be inspected, OpenClaw
        // accepts anything in channel sections and plugin configs (the missing plugin may own
        // them); core sections and plugin entries themselves are still checked.
        let d = tempfile::tempdir().unwrap();
        let strict = json!({"type": "object", "additionalProperties": false,
            "properties": {"enabled": {"type": "boolean"}}});
        let s = schema_in(
            d.path(),
            json!({"type": "object", "additionalProperties": false, "properties": {
            "gateway": {"type": "object", "additionalProperties": false, "properties": {"port": {"type": "integer"}}},
            "channels": {"type": "object", "properties": {"telegram": strict.clone()}},
            "plugins": {"type": "object", "additionalProperties": false, "properties": {
                "load": {"type": "object", "properties": {"paths": {"type": "array", "items": {"type": "string"}}}},
                "entries": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": false,
                    "properties": {"enabled": {"type": "boolean"}, "config": strict}}}}}}}),
        );
        let mut inp = inputs(d.path());
        inp.schema = Some(&s);
        let run = |paths: &str, rest: &str| {
            let doc = format!(
                r#"{{"plugins": {{"load": {{"paths": [{paths}]}}, "entries": {{"x": {{"config": {{"bogus": 1}}}}}}}}, "channels": {{"telegram": {{"enabled": "yes"}}, "nochan": {{}}}}{rest}}}"#
            );
            validate_bytes(&d.path().join("c.json"), doc.as_bytes(), &inp)
        };
        let here = format!("\"{}\"", d.path().display());
        assert_eq!(
            errors(&run(&here, "")),
            [
                "channels.nochan",
                "channels.telegram.enabled",
                "plugins.entries.x.config"
            ]
        );
        let gone = format!("\"{}/gone\"", d.path().display());
        let r = run(&gone, "");
        assert!(r.valid, "{:?}", r.issues);
        assert!(r
            .issues
            .iter()
            .any(|i| i.path == "plugins.load.paths" && i.severity == Severity::Warning));
        // The core sections are still OpenClaw's to refuse.
        assert_eq!(
            errors(&run(&gone, r#", "gateway": {"port": "x"}"#)),
            ["gateway.port"]
        );
    }

    #[test]
    fn record_keys_and_include_errors_use_openclaw_paths() {
        let d = tempfile::tempdir().unwrap();
        let s = schema_in(
            d.path(),
            json!({"type": "object", "properties": {"agents": {"type": "object", "properties": {
            "entries": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"},
                "additionalProperties": {"type": "object"}}}}}}),
        );
        let mut inp = inputs(d.path());
        inp.schema = Some(&s);
        let run = |doc: &str| validate_bytes(&d.path().join("c.json"), doc.as_bytes(), &inp);
        // A key a record refuses is reported at the key's own path, once.
        assert_eq!(
            errors(&run(
                r#"{"agents": {"entries": {"main": {}, "Bad_Key": {}}}}"#
            )),
            ["agents.entries.Bad_Key"]
        );
        // An include error stops OpenClaw's load: `<root>`, wherever the `$include` sits.
        let r = run(r#"{"agents": {"$include": "missing.json"}}"#);
        assert_eq!(errors(&r), ["<root>"]);
        assert!(
            r.issues[0].message.contains("(in agents)"),
            "{:?}",
            r.issues
        );
    }

    #[test]
    fn legacy_agents_list_is_moved_like_openclaw_does() {
        let d = tempfile::tempdir().unwrap();
        let s = schema_in(
            d.path(),
            json!({"type": "object", "properties": {"agents": {"type": "object",
            "additionalProperties": false, "properties": {"defaults": {"type": "object"},
            "entries": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": false,
                "properties": {"name": {"type": "string"}}}}}}}}),
        );
        assert!(s.agents_list_legacy);
        let mut inp = inputs(d.path());
        inp.schema = Some(&s);
        let run = |doc: &str| validate_bytes(&d.path().join("c.json"), doc.as_bytes(), &inp);
        let r = run(r#"{"agents": {"list": [{"id": "main", "name": "M"}]}}"#);
        assert!(r.valid, "{:?}", r.issues);
        assert!(r
            .issues
            .iter()
            .any(|i| i.path == "agents.entries" && i.severity == Severity::Warning));
        assert!(run(r#"{"agents": {"list": []}}"#).valid);
        // Moved entries are validated as entries.
        assert_eq!(
            errors(&run(
                r#"{"agents": {"list": [{"id": "main", "bogus": 1}]}}"#
            )),
            ["agents.entries.main"]
        );
        // Not movable: not an array, an item without id, duplicate ids.
        for doc in [
            r#"{"agents": {"list": {"id": "main"}}}"#,
            r#"{"agents": {"list": [{"name": "x"}]}}"#,
            r#"{"agents": {"list": [{"id": "a"}, {"id": "a"}]}}"#,
        ] {
            assert_eq!(errors(&run(doc)), ["agents", "agents.entries"], "{doc}");
        }
        // Beside existing entries, `list` is just an unknown key.
        assert_eq!(
            errors(&run(
                r#"{"agents": {"list": [{"id": "a"}], "entries": {}}}"#
            )),
            ["agents"]
        );
    }
}
