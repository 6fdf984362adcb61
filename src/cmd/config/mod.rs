//! `claw config`: keep `openclaw.json` safe. Validate against OpenClaw's own schema, back up
//! into claw's store (adopting OpenClaw's own rotating `.bak` files), diff with secrets
//! redacted, restore atomically, and heal a broken or clobbered config.

mod diff;
pub mod retention;
mod schema_cache;
pub mod store;
pub mod validate;

use crate::cli::{ConfigCmd, RestoreArgs, SchemaCmd, ValidateArgs};
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::ledger::Ledger;
use crate::output::{table, Outcome, SCHEMA_VERSION};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use store::{Content, Manifest, Store, Verdict};
use validate::{Report, Schema};

const LOCK: &str = "config";

pub fn run(ctx: &Ctx, cmd: &ConfigCmd) -> Result<Outcome> {
    match cmd {
        ConfigCmd::Validate(a) => validate_cmd(ctx, a),
        ConfigCmd::Backup { accept } => ctx.run_job("config-backup", LOCK, |ctx, l| {
            backup(ctx, l, *accept).and_then(|o| backup_figures(ctx, o))
        }),
        ConfigCmd::List => list(ctx),
        ConfigCmd::Diff { a, b } => diff_cmd(ctx, a.as_deref(), b.as_deref()),
        ConfigCmd::Restore(a) => {
            ctx.run_job("config-restore", LOCK, |ctx, l| restore_cmd(ctx, l, a))
        }
        ConfigCmd::Heal { restart } => ctx.run_job("config-heal", LOCK, |ctx, l| {
            heal(ctx, l, *restart).and_then(|o| backup_figures(ctx, o))
        }),
        ConfigCmd::Prune => ctx.run_job("config-prune", LOCK, prune_cmd),
        ConfigCmd::Schema(SchemaCmd::Refresh) => {
            ctx.run_job("config-schema-refresh", "config-schema", schema_refresh)
        }
        ConfigCmd::Schema(SchemaCmd::Show) => schema_show(ctx),
    }
}

// ---------- reading the live config ----------

/// The live config's bytes, or `None` when it does not exist.
fn read_config(path: &Path) -> Result<Option<Vec<u8>>> {
    match crate::safefs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // Classified by the cause: a FIFO or directory is 66, permissions 74.
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("{}: cannot read config", path.display())))
        }
    }
}

fn config_dir(path: &Path) -> PathBuf {
    path.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The config and its includes as backup content (includes relative to the config dir).
fn content_of(path: &Path, bytes: Vec<u8>) -> Result<Content> {
    let dir = std::fs::canonicalize(config_dir(path)).unwrap_or_else(|_| config_dir(path));
    let mut includes = Vec::new();
    for inc in &includes_of(path, &bytes) {
        let rel = inc
            .strip_prefix(&dir)
            .map(|r| r.to_string_lossy().into_owned())
            // Includes from OPENCLAW_INCLUDE_ROOTS outside the config dir keep their full path.
            .unwrap_or_else(|_| inc.to_string_lossy().trim_start_matches('/').to_string());
        let b = crate::safefs::read(inc)
            .with_context(|| format!("{}: cannot read include", inc.display()))?;
        includes.push((rel, b));
    }
    Ok(Content {
        config: bytes,
        includes,
    })
}

/// The files a config includes, found without validating it (an unparsable config has none).
fn includes_of(path: &Path, bytes: &[u8]) -> Vec<PathBuf> {
    let Some(v) = std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| crate::openclaw::config::parse_json5(t).ok())
    else {
        return Vec::new();
    };
    crate::openclaw::config::resolve_includes(v, path, &validate::include_roots()).includes
}

// ---------- schema cache ----------

/// The schema, loaded the first time a config actually needs validating: an unchanged config
/// is backed up (or rather, not) without parsing 2.4 MB of schema.
struct LazySchema<'a> {
    ctx: &'a Ctx,
    loaded: Option<(Option<Schema>, String)>,
}

impl<'a> LazySchema<'a> {
    fn new(ctx: &'a Ctx) -> Self {
        LazySchema { ctx, loaded: None }
    }
    fn get(&mut self) -> Result<(Option<&Schema>, &str)> {
        if self.loaded.is_none() {
            self.loaded = Some(pick_schema(self.ctx, None, false)?);
        }
        let (s, r) = self.loaded.as_ref().expect("just loaded");
        Ok((s.as_ref(), r.as_str()))
    }
}

fn schema_dir(ctx: &Ctx) -> PathBuf {
    crate::openclaw::schema::cache_dir(&ctx.paths.state)
}

/// The schema to validate with: `--schema`, settings `config.schema`, or the cached one for
/// the installed OpenClaw. `Err` only for a schema that was named and cannot be used.
fn pick_schema(
    ctx: &Ctx,
    explicit: Option<&Path>,
    no_schema: bool,
) -> Result<(Option<Schema>, String)> {
    if no_schema {
        return Ok((None, "--no-schema given".into()));
    }
    if let Some(p) = explicit
        .map(Path::to_path_buf)
        .or_else(|| ctx.settings.config.schema.as_ref().map(PathBuf::from))
    {
        let version = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok((Some(load_noted(ctx, &p, &version)?), String::new()));
    }
    let current = schema_dir(ctx).join("current.json");
    let Ok(bytes) = crate::safefs::read(&current) else {
        return Ok((
            None,
            "no cached OpenClaw schema (run `claw config schema refresh`)".into(),
        ));
    };
    let meta: Value = serde_json::from_slice(&bytes)
        .map_err(|e| fail(Code::DataErr, format!("{}: {e}", current.display())))?;
    let version = meta["version"].as_str().unwrap_or("unknown").to_string();
    let file = schema_dir(ctx).join(meta["file"].as_str().unwrap_or_default());
    Ok((Some(load_noted(ctx, &file, &version)?), String::new()))
}

/// Load through the cache; a cache that was there and could not be used is one `-v` line.
fn load_noted(ctx: &Ctx, file: &Path, version: &str) -> Result<Schema> {
    let s = Schema::load_cached(file, version, Some(&cache_dir(ctx)))?;
    if let Some(n) = &s.cache_note {
        ctx.out.note(&format!("schema cache {n}"));
    }
    Ok(s)
}

/// Where pre-processed schemas are kept (see `schema_cache`).
fn cache_dir(ctx: &Ctx) -> PathBuf {
    schema_dir(ctx).join("fragments")
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Validate bytes with the newest good backup as the clobber reference.
fn judge(
    ctx: &Ctx,
    path: &Path,
    bytes: &[u8],
    schema: Option<&Schema>,
    reason: &str,
    last_good: Option<&(Vec<u8>, Value)>,
) -> Report {
    let inputs = validate::Inputs {
        schema,
        no_schema_reason: reason.to_string(),
        state_dir: &ctx.paths.openclaw_dir,
        last_good: last_good.map(|(b, v)| (b.as_slice(), v)),
        warn_plaintext_secrets: ctx.settings.config.warn_plaintext_secrets,
        env_value: &env_value,
    };
    validate::validate_bytes(path, bytes, &inputs)
}

/// The newest good backup's config bytes and parsed document.
fn last_good(store: &Store, all: &[Manifest]) -> Option<(Vec<u8>, Value)> {
    let m = all.iter().find(|m| m.auto_candidate())?;
    let c = store.read(m).ok()?;
    let v = crate::openclaw::config::parse_json5(std::str::from_utf8(&c.config).ok()?).ok()?;
    Some((c.config, v))
}

fn rules_label(r: &Report) -> String {
    match &r.rules {
        validate::RulesUsed::Schema { version, .. } => format!("schema {version}"),
        validate::RulesUsed::Structural { .. } => "structural".into(),
    }
}

fn rules_phrase(r: &Report) -> String {
    match &r.rules {
        validate::RulesUsed::Schema { version, .. } => format!("the OpenClaw {version} schema"),
        validate::RulesUsed::Structural { reason } => format!("claw's structural checks: {reason}"),
    }
}

fn verdict_of(r: &Report) -> Verdict {
    Verdict {
        valid: r.valid,
        clobbered: validate::is_clobbered(r),
        issues: r
            .issues
            .iter()
            .filter(|i| i.severity == validate::Severity::Error)
            .count(),
        rules: rules_label(r),
    }
}

// ---------- validate ----------

fn validate_cmd(ctx: &Ctx, a: &ValidateArgs) -> Result<Outcome> {
    let path = a.file.clone().unwrap_or_else(|| ctx.paths.config.clone());
    let bytes = read_config(&path)?.ok_or_else(|| {
        fail(
            Code::NoInput,
            format!("{}: no such config file", path.display()),
        )
    })?;
    let (schema, reason) = pick_schema(ctx, a.schema.as_deref(), a.no_schema)?;
    let store = Store::new(&ctx.paths.state);
    // Clobber signs only make sense for the live config, judged against its own history.
    let good = if a.file.is_none() {
        store
            .list()
            .ok()
            .and_then(|(all, _)| last_good(&store, &all))
    } else {
        None
    };
    let mut report = judge(ctx, &path, &bytes, schema.as_ref(), &reason, good.as_ref());
    if schema.is_none() {
        ctx.out
            .warn(&format!("{reason}; used claw's structural checks"));
    }
    if a.with_openclaw {
        merge_openclaw_verdict(ctx, &path, &mut report)?;
    }
    let shown = report
        .issues
        .iter()
        .any(|i| !ctx.out.quiet || i.severity == validate::Severity::Error);
    let text = if !shown {
        String::new()
    } else if ctx.out.quiet {
        let mut errors_only = report.clone();
        errors_only
            .issues
            .retain(|i| i.severity == validate::Severity::Error);
        validate::render_text(&errors_only)
    } else {
        format!(
            "{}(checked with {})\n",
            validate::render_text(&report),
            rules_phrase(&report)
        )
    };
    let doc = json!({
        "schema_version": SCHEMA_VERSION,
        "valid": report.valid,
        "path": report.path,
        "issues": report.issues,
        "rules": report.rules,
    });
    let summary = format!(
        "{}: {} ({} issues, {} rules)",
        path.display(),
        if report.valid { "valid" } else { "invalid" },
        report.issues.len(),
        rules_label(&report)
    );
    let mut o = Outcome::ok(summary)
        .with_text(text)
        .with_detail(doc.clone());
    o.json = Some(doc);
    if !report.valid {
        o = o.finding();
    }
    Ok(o)
}

/// Run the real `openclaw config validate --json` on `path` and merge its issues.
fn merge_openclaw_verdict(ctx: &Ctx, path: &Path, report: &mut Report) -> Result<()> {
    let bin = &ctx.settings.general.openclaw_bin;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut cmd = std::process::Command::new(bin);
    cmd.args(["config", "validate", "--json"])
        .env("OPENCLAW_CONFIG_PATH", &abs);
    // Bounded like every other `openclaw` call: a wedged node process must not hold the job.
    let secs = ctx.settings.gateway.command_timeout_secs.max(1);
    let out = crate::proc::run(
        cmd,
        &crate::proc::Opts::new(std::time::Duration::from_secs(secs)).capture(4 << 20),
    )
    .map_err(|e| fail(Code::NoInput, format!("{bin}: cannot run OpenClaw: {e}")))?;
    if out.timed_out() {
        return Err(fail(
            Code::TempFail,
            format!("{bin} config validate --json: killed after {secs} s (gateway.command_timeout_secs)"),
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let start = stdout.find('{').unwrap_or(0);
    let v: Value = serde_json::from_str(stdout[start..].trim()).map_err(|_| {
        fail(
            Code::DataErr,
            format!(
                "{bin} config validate --json: unexpected output (exit {:?})",
                out.status.and_then(|s| s.code())
            ),
        )
    })?;
    let oc_valid = v["valid"].as_bool().unwrap_or(false);
    for i in v["issues"].as_array().into_iter().flatten() {
        let p = i["path"].as_str().unwrap_or("<root>").to_string();
        let m = crate::redact::redact_text(i["message"].as_str().unwrap_or_default());
        let dup = report.issues.iter().any(|x| x.path == p && x.message == m);
        if !dup {
            report.issues.push(validate::Issue {
                path: p,
                message: m,
                severity: validate::Severity::Error,
                source: "openclaw",
            });
        }
    }
    report.valid = report.valid && oc_valid;
    Ok(())
}

// ---------- backup ----------

fn record_backup(l: &Ledger, m: &Manifest) -> Result<()> {
    l.immediate(|tx| store::record_backup(tx, m))
}

/// OpenClaw's own copies beside the config: `.bak`, `.bak.N`, `.last-good`, `.clobbered.*`,
/// `.rejected.*`. OpenClaw rotates and deletes them; claw adopts them into its store.
fn openclaw_copies(config: &Path) -> Vec<PathBuf> {
    let Some(name) = config.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(config_dir(config))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let rest = n.strip_prefix(&name)?.to_string();
            let ours = rest == ".bak"
                || rest.starts_with(".bak.")
                || rest == ".last-good"
                || rest.starts_with(".clobbered.")
                || rest.starts_with(".rejected.");
            (ours && e.path().is_file()).then(|| e.path())
        })
        .collect();
    v.sort();
    v
}

fn mtime_utc(p: &Path) -> Option<DateTime<Utc>> {
    std::fs::metadata(p)
        .ok()?
        .modified()
        .ok()
        .map(DateTime::<Utc>::from)
}

/// Under the config lock, before a job writes: remove what killed runs left (trash,
/// half-built backups, temp copies of the config beside it) and give every backup in place a
/// ledger row (one renamed into place by an older claw before its row was written).
fn recover(ctx: &Ctx, l: &Ledger, store: &Store, all: &[Manifest]) -> Result<()> {
    if ctx.dry_run {
        return Ok(());
    }
    let n = store.sweep()? + crate::atomic::sweep_temps(&ctx.paths.config);
    if n > 0 {
        ctx.out
            .note(&format!("removed {n} leftovers of interrupted config runs"));
    }
    for m in all {
        record_backup(l, m)?;
    }
    Ok(())
}

fn backup(ctx: &Ctx, l: &Ledger, accept: bool) -> Result<Outcome> {
    let store = Store::new(&ctx.paths.state);
    let (all, problems) = store.list()?;
    for p in &problems {
        ctx.out.warn(p);
    }
    recover(ctx, l, &store, &all)?;
    let mut schema = LazySchema::new(ctx);
    let cfg = &ctx.paths.config;
    let mut run = BackupRun {
        all,
        made: Vec::new(),
        actions: Vec::new(),
    };
    let current = read_config(cfg)?;
    if let Some(bytes) = &current {
        back_up_current(ctx, l, &store, &mut schema, bytes, accept, &mut run)?;
    }
    adopt_copies(ctx, l, &store, &mut schema, &mut run)?;
    let BackupRun {
        mut all,
        made,
        actions,
    } = run;
    store::sort_newest_first(&mut all);

    let plan = apply_retention(ctx, l, &store, &all)?;
    let removed: Vec<&str> = plan
        .iter()
        .filter(|d| !d.keep)
        .map(|d| d.id.as_str())
        .collect();
    if !removed.is_empty() {
        ctx.out.note(&retention::render(&plan));
    }
    if current.is_none() {
        return Err(fail(
            Code::NoInput,
            format!(
                "{}: no such config file (adopted {} OpenClaw copies)",
                cfg.display(),
                made.len()
            ),
        ));
    }
    let summary = actions
        .first()
        .cloned()
        .unwrap_or_else(|| "nothing to do".into());
    let text = if ctx.dry_run {
        actions.join("\n")
    } else {
        String::new()
    };
    Ok(Outcome::ok(summary).with_text(text).with_detail(json!({
        "actions": actions,
        "created": made.iter().map(|m| &m.id).collect::<Vec<_>>(),
        "removed": removed,
        "plan": plan,
    })))
}

/// A backup run's state: every backup in the store (newest first, plus what this run made),
/// what it made and what it did, in order.
struct BackupRun {
    all: Vec<Manifest>,
    made: Vec<Manifest>,
    actions: Vec<String>,
}

/// The config's file name, as recorded in a manifest.
fn config_name(cfg: &Path) -> String {
    cfg.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Back up the live config (`bytes`) unless the newest copy of it has the same content.
fn back_up_current(
    ctx: &Ctx,
    l: &Ledger,
    store: &Store,
    schema: &mut LazySchema,
    bytes: &[u8],
    accept: bool,
    run: &mut BackupRun,
) -> Result<()> {
    let cfg = &ctx.paths.config;
    let content = content_of(cfg, bytes.to_vec())?;
    // Compared with the newest copy of the live file itself: an adopted OpenClaw copy
    // (`.bak`, stamped with its own mtime, often newer than the last backup) is another
    // file's content and must not make every run write a fresh duplicate.
    let newest = run.all.iter().find(|m| !m.source.starts_with("adopted:"));
    let unchanged = newest
        .map(|m| m.set_sha256 == content.set_sha256())
        .unwrap_or(false);
    // `--accept` of unchanged content still writes a copy when the newest is not good.
    let newest_good = newest.map(Manifest::good).unwrap_or(false);
    if unchanged && (newest_good || !accept) {
        run.actions.push(format!(
            "unchanged since {}",
            newest.map(|m| m.id.as_str()).unwrap_or("")
        ));
        return Ok(());
    }
    let good = last_good(store, &run.all);
    let (sch, reason) = schema.get()?;
    let report = judge(ctx, cfg, bytes, sch, reason, good.as_ref());
    if ctx.dry_run {
        run.actions.push(format!(
            "would back up {} ({})",
            cfg.display(),
            if report.valid { "valid" } else { "invalid" }
        ));
        return Ok(());
    }
    let source = if accept { "accepted" } else { "backup" };
    let m = store.write(
        &content,
        ctx.now,
        source,
        &config_name(cfg),
        &verdict_of(&report),
        accept,
        &|m| record_backup(l, m),
    )?;
    run.actions
        .push(format!("backed up {} as {}", cfg.display(), m.id));
    if !m.valid {
        ctx.out.warn(&format!(
            "{}: config is invalid; kept as {} but never used as good",
            cfg.display(),
            m.id
        ));
    }
    run.made.push(m.clone());
    run.all.insert(0, m);
    Ok(())
}

/// Adopt OpenClaw's own copies (deduplicated by content).
fn adopt_copies(
    ctx: &Ctx,
    l: &Ledger,
    store: &Store,
    schema: &mut LazySchema,
    run: &mut BackupRun,
) -> Result<()> {
    let cfg = &ctx.paths.config;
    for copy in openclaw_copies(cfg) {
        let Ok(bytes) = crate::safefs::read(&copy) else {
            continue;
        };
        let content = Content {
            config: bytes,
            includes: Vec::new(),
        };
        let set = content.set_sha256();
        if run.all.iter().any(|m| m.set_sha256 == set) {
            continue;
        }
        let fname = copy
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if ctx.dry_run {
            run.actions.push(format!("would adopt {fname}"));
            continue;
        }
        let (sch, reason) = schema.get()?;
        let report = judge(ctx, &copy, &content.config, sch, reason, None);
        let mut verdict = verdict_of(&report);
        // OpenClaw names a copy `.clobbered.*` because it judged that write a clobber: it is
        // kept as evidence, never as a restore target (unless an operator accepts it).
        if fname.contains(".clobbered.") {
            verdict.clobbered = true;
        }
        let when = mtime_utc(&copy).unwrap_or(ctx.now);
        let m = store.write(
            &content,
            when,
            &format!("adopted:{fname}"),
            &config_name(cfg),
            &verdict,
            false,
            &|m| record_backup(l, m),
        )?;
        run.actions.push(format!("adopted {fname} as {}", m.id));
        run.made.push(m.clone());
        run.all.push(m);
    }
    Ok(())
}

fn apply_retention(
    ctx: &Ctx,
    l: &Ledger,
    store: &Store,
    all: &[Manifest],
) -> Result<Vec<retention::Decision>> {
    let pol = ctx.settings.config.retention;
    if pol.keep_last + pol.hourly + pol.daily + pol.weekly + pol.monthly == 0 {
        return Err(fail(
            Code::Config,
            "[config.retention] keeps nothing; set keep_last or a time bucket",
        ));
    }
    let items: Vec<retention::Item> = all
        .iter()
        .map(|m| retention::Item {
            id: m.id.clone(),
            created_at: m.created_at,
            good: m.good(),
        })
        .collect();
    let plan = retention::plan(&items, &pol);
    if !ctx.dry_run {
        for d in plan.iter().filter(|d| !d.keep) {
            store.remove(&d.id)?;
            l.immediate(|tx| store::mark_deleted(tx, &d.id, &ctx.now.to_rfc3339()))?;
        }
    }
    Ok(plan)
}

fn prune_cmd(ctx: &Ctx, l: &Ledger) -> Result<Outcome> {
    let store = Store::new(&ctx.paths.state);
    let (all, problems) = store.list()?;
    for p in &problems {
        ctx.out.warn(p);
    }
    recover(ctx, l, &store, &all)?;
    let plan = apply_retention(ctx, l, &store, &all)?;
    let removed = plan.iter().filter(|d| !d.keep).count();
    let verb = if ctx.dry_run {
        "would remove"
    } else {
        "removed"
    };
    Ok(
        Outcome::ok(format!("{verb} {removed} of {} backups", plan.len()))
            .with_text(retention::render(&plan))
            .with_detail(json!({"plan": plan})),
    )
}

// ---------- list / diff ----------

fn list(ctx: &Ctx) -> Result<Outcome> {
    let store = Store::new(&ctx.paths.state);
    let (all, problems) = store.list()?;
    for p in &problems {
        ctx.out.warn(p);
    }
    let mut rows = vec![["ID", "CREATED", "SIZE", "SHA256", "STATE", "SOURCE"]
        .map(String::from)
        .to_vec()];
    for m in &all {
        let state = if m.good() {
            "valid"
        } else if m.valid {
            "suspect"
        } else {
            "invalid"
        };
        rows.push(vec![
            m.id.clone(),
            m.created_at.format("%Y-%m-%d %H:%M:%SZ").to_string(),
            m.config_size().to_string(),
            m.config_sha256()[..12].to_string(),
            state.into(),
            m.source.clone(),
        ]);
    }
    let text = if all.is_empty() {
        "no backups yet\n".to_string()
    } else {
        table(&rows)
    };
    let mut o = Outcome::ok(format!("{} backups", all.len())).with_text(text);
    o.json = Some(json!({"schema_version": SCHEMA_VERSION, "backups": all}));
    Ok(o)
}

/// A diff side: the live config or a backup.
fn side(ctx: &Ctx, store: &Store, all: &[Manifest], key: &str) -> Result<(String, Vec<u8>)> {
    if key == "current" {
        let b = read_config(&ctx.paths.config)?.ok_or_else(|| {
            fail(
                Code::NoInput,
                format!("{}: no such config file", ctx.paths.config.display()),
            )
        })?;
        return Ok((format!("current {}", ctx.paths.config.display()), b));
    }
    let m = store.find(all, key)?;
    Ok((format!("backup {}", m.id), store.read(m)?.config))
}

fn newest_good_id(all: &[Manifest], problems: &[String]) -> Result<String> {
    all.iter()
        .find(|m| m.auto_candidate())
        .map(|m| m.id.clone())
        .ok_or_else(|| match problems.first() {
            // Damaged backups are not "no backup yet": say which and why.
            Some(p) => fail(
                Code::DataErr,
                format!(
                    "no usable valid backup: {} damaged (first: {p})",
                    problems.len()
                ),
            ),
            None => fail(
                Code::NoInput,
                "no valid backup yet (run `claw config backup`)",
            ),
        })
}

fn diff_cmd(ctx: &Ctx, a: Option<&str>, b: Option<&str>) -> Result<Outcome> {
    let store = Store::new(&ctx.paths.state);
    let (all, problems) = store.list()?;
    let a = match a {
        Some(k) => k.to_string(),
        None => newest_good_id(&all, &problems)?,
    };
    let b = b.unwrap_or("current");
    let (la, ba) = side(ctx, &store, &all, &a)?;
    let (lb, bb) = side(ctx, &store, &all, b)?;
    let text = diff::unified(&la, &ba, &lb, &bb);
    let same = text.is_empty();
    let mut o = Outcome::ok(if same { "identical" } else { "differ" }).with_text(text.clone());
    // diff's convention: 1 when the two differ, so scripts can test it.
    if !same {
        o = o.finding();
    }
    o.json = Some(
        json!({"schema_version": SCHEMA_VERSION, "a": la, "b": lb, "identical": same, "diff": text}),
    );
    Ok(o)
}

// ---------- restore / heal ----------

/// Restore `m` over the live config: verify, refuse bad, keep a pre-restore copy, write
/// atomically keeping mode and owner. Returns the human report.
fn restore_backup(
    ctx: &Ctx,
    l: &Ledger,
    store: &Store,
    all: &[Manifest],
    m: &Manifest,
    force: bool,
) -> Result<(String, Value)> {
    let content = store.read(m)?;
    let include_dests = include_destinations(ctx, store, m, &content)?;
    check_restorable(l, store, m, force)?;
    let cfg = &ctx.paths.config;
    let current = read_config(cfg)?;
    let diff_text = match &current {
        Some(cur) => diff::unified(
            &format!("current {}", cfg.display()),
            cur,
            &format!("backup {}", m.id),
            &content.config,
        ),
        None => format!(
            "(no config at {}; restoring backup {})\n",
            cfg.display(),
            m.id
        ),
    };
    if current.as_deref() == Some(content.config.as_slice()) && content.includes.is_empty() {
        return Ok((
            String::new(),
            json!({"restored": null, "reason": "already current", "backup": m.id}),
        ));
    }
    if ctx.dry_run {
        return Ok((
            format!(
                "{diff_text}(dry run: would restore {} over {})\n",
                m.id,
                cfg.display()
            ),
            json!({"restored": null, "backup": m.id, "dry_run": true}),
        ));
    }
    let pre = match current {
        Some(cur) => Some(keep_pre_restore(ctx, l, store, all, cur)?),
        None => None,
    };
    let opts = crate::atomic::Opts {
        mode: 0o600,
        keep_existing_mode_and_owner: true,
    };
    for (dest, bytes) in &include_dests {
        if let Some(p) = dest.parent() {
            crate::atomic::create_private_dir(p)?;
        }
        crate::atomic::write(dest, bytes, opts)?;
    }
    crate::atomic::write(cfg, &content.config, opts)?;
    let text = format!(
        "{diff_text}restored backup {} over {}{}\n",
        m.id,
        cfg.display(),
        pre.as_ref()
            .map(|p| format!(" (previous config kept as {p})"))
            .unwrap_or_default()
    );
    Ok((text, json!({"restored": m.id, "pre_restore": pre})))
}

/// Where each of the backup's includes goes. `restore_to` comes from a manifest: each must
/// name a place inside the config dir, all checked before anything is written.
fn include_destinations<'c>(
    ctx: &Ctx,
    store: &Store,
    m: &Manifest,
    content: &'c Content,
) -> Result<Vec<(PathBuf, &'c Vec<u8>)>> {
    let dir = config_dir(&ctx.paths.config);
    content
        .includes
        .iter()
        .map(|(rel, bytes)| {
            let dest = crate::safefs::confined_join(&dir, rel).map_err(|e| {
                fail(
                    Code::DataErr,
                    format!(
                        "{}: {e}",
                        store.path_of(&m.id).join(store::MANIFEST).display()
                    ),
                )
            })?;
            Ok((dest, bytes))
        })
        .collect()
}

/// Refuse a backup whose checksum differs from the ledger's record, or (without `force`) one
/// that was invalid when taken.
fn check_restorable(l: &Ledger, store: &Store, m: &Manifest, force: bool) -> Result<()> {
    // The ledger is a second witness: a manifest rewritten to match a tampered file is caught.
    let recorded: Option<String> = l
        .read(|c| store::recorded_config_sha256(c, &m.id))
        .ok()
        .flatten();
    if let Some(r) = recorded {
        if r != m.config_sha256() {
            return Err(fail(
                Code::DataErr,
                format!(
                    "{}: checksum differs from the ledger's record (tampered with)",
                    store.path_of(&m.id).display()
                ),
            ));
        }
    }
    if !m.valid && !force {
        return Err(fail(
            Code::DataErr,
            format!(
                "backup {} was invalid when taken; pass --force to restore it anyway",
                m.id
            ),
        ));
    }
    Ok(())
}

/// The id of a backup holding the config about to be overwritten (`cur`): an existing one
/// with the same content, else a new `pre-restore` backup.
fn keep_pre_restore(
    ctx: &Ctx,
    l: &Ledger,
    store: &Store,
    all: &[Manifest],
    cur: Vec<u8>,
) -> Result<String> {
    let cfg = &ctx.paths.config;
    let c = Content {
        config: cur,
        includes: Vec::new(),
    };
    let set = c.set_sha256();
    if let Some(existing) = all.iter().find(|x| x.set_sha256 == set) {
        return Ok(existing.id.clone());
    }
    let (schema, reason) = pick_schema(ctx, None, false)?;
    let good = last_good(store, all);
    let report = judge(ctx, cfg, &c.config, schema.as_ref(), &reason, good.as_ref());
    let pm = store.write(
        &c,
        ctx.now,
        "pre-restore",
        &config_name(cfg),
        &verdict_of(&report),
        false,
        &|m| record_backup(l, m),
    )?;
    Ok(pm.id)
}

fn restore_cmd(ctx: &Ctx, l: &Ledger, a: &RestoreArgs) -> Result<Outcome> {
    let store = Store::new(&ctx.paths.state);
    let (all, problems) = store.list()?;
    for p in &problems {
        ctx.out.warn(p);
    }
    recover(ctx, l, &store, &all)?;
    let m = if a.latest_valid {
        let id = newest_good_id(&all, &problems)?;
        store.find(&all, &id)?.clone()
    } else {
        store
            .find(&all, a.id.as_deref().unwrap_or_default())?
            .clone()
    };
    let (mut text, mut detail) = restore_backup(ctx, l, &store, &all, &m, a.force)?;
    let mut code = Code::Ok;
    if a.restart && !ctx.dry_run && !detail["restored"].is_null() {
        let (ok, msg) = restart_gateway(ctx, l)?;
        text.push_str(&msg);
        detail["restart"] = json!({"healthy": ok, "message": msg.trim()});
        if !ok {
            code = Code::Finding;
        }
    }
    let summary = match detail["restored"].as_str() {
        Some(id) => format!("restored {id}"),
        None => format!(
            "nothing restored ({})",
            detail["reason"].as_str().unwrap_or("dry run")
        ),
    };
    let mut o = Outcome::ok(summary).with_text(text).with_detail(detail);
    o.code = code;
    Ok(o)
}

/// The backups kept per config file name, for the textfile: how many, and when the config
/// was last known backed up (an alert rule turns it into an age). A run that ended 0 has
/// either backed up the current config or found it identical to a backup: its config is
/// backed up as of now, however old the newest backup is (an unchanged config makes none).
/// Otherwise the newest backup's time.
fn backup_figures(ctx: &Ctx, mut o: Outcome) -> Result<Outcome> {
    let (all, _) = Store::new(&ctx.paths.state).list()?;
    let mut per: std::collections::BTreeMap<&str, (i64, usize)> = Default::default();
    for m in &all {
        let e = per.entry(m.config_name.as_str()).or_insert((i64::MIN, 0));
        e.0 = e.0.max(m.created_at.timestamp());
        e.1 += 1;
    }
    let current = ctx.paths.config.file_name().and_then(|n| n.to_str());
    if let (Some(name), Code::Ok) = (current, o.code) {
        if let Some(e) = per.get_mut(name) {
            e.0 = e.0.max(ctx.now.timestamp());
        }
    }
    for (name, (newest, n)) in per {
        let l = [("config", name)];
        o = o
            .metric("config_backup_last_timestamp_seconds", &l, newest as f64)
            .metric("config_backups", &l, n as f64);
    }
    Ok(o)
}

fn heal(ctx: &Ctx, l: &Ledger, restart: bool) -> Result<Outcome> {
    let store = Store::new(&ctx.paths.state);
    let (all, problems) = store.list()?;
    let cfg = &ctx.paths.config;
    let (schema, reason) = pick_schema(ctx, None, false)?;
    let good = last_good(&store, &all);
    let current = read_config(cfg)?;
    let problem = match &current {
        None => Some("config file is missing".to_string()),
        Some(bytes) => {
            let r = judge(ctx, cfg, bytes, schema.as_ref(), &reason, good.as_ref());
            let errors: Vec<String> = r
                .issues
                .iter()
                .filter(|i| i.severity == validate::Severity::Error || i.source == "clobber")
                .map(|i| format!("{}: {}", i.path, i.message))
                .collect();
            (!errors.is_empty()).then(|| errors.join("; "))
        }
    };
    let Some(problem) = problem else {
        let o = backup(ctx, l, false)?;
        let msg = format!("{} is valid again", cfg.display());
        crate::notify::clear(ctx, l, HEAL_JOB, HEAL_ALERT, &msg)?;
        return Ok(o.with_findings(Vec::new()));
    };
    for p in &problems {
        ctx.out.warn(p);
    }
    recover(ctx, l, &store, &all)?;
    // A backup judged valid when it was taken may not be valid now (taken before the schema
    // was cached, or for an older OpenClaw): every candidate is judged again against today's
    // rules, newest first, and the first that passes is restored.
    let mut rejected = Vec::new();
    let mut target = None;
    for m in all.iter().filter(|m| m.auto_candidate()) {
        let bytes = match store.read(m) {
            Ok(c) => c.config,
            Err(e) => {
                rejected.push(format!("{}: unreadable ({e:#})", m.id));
                continue;
            }
        };
        let r = judge(ctx, cfg, &bytes, schema.as_ref(), &reason, None);
        let errors: Vec<String> = r
            .issues
            .iter()
            .filter(|i| i.severity == validate::Severity::Error)
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect();
        if errors.is_empty() {
            target = Some(m.clone());
            break;
        }
        rejected.push(format!("{}: invalid now ({})", m.id, errors.join("; ")));
    }
    for r in &rejected {
        ctx.out.warn(&format!("heal: skipped backup {r}"));
    }
    let Some(target) = target else {
        let why = match (problems.len(), rejected.len()) {
            (0, 0) => "no valid backup exists".to_string(),
            (0, n) => format!("no backup is valid now ({n} invalid against today's rules)"),
            (n, _) => format!("no valid backup is usable ({n} damaged: {})", problems[0]),
        };
        heal_alert(
            ctx,
            l,
            format!(
                "{} is broken and cannot be healed ({why}): {problem}",
                cfg.display()
            ),
        );
        return Ok(
            Outcome::ok(format!("{} is broken and {why}", cfg.display()))
                // Printed once while it lasts (and "recovered:" once fixed), not every 30 minutes.
                .with_findings(vec![(
                    format!("unhealable:{problem}"),
                    format!(
                        "{}: {problem}; {why}: fix the config by hand",
                        cfg.display()
                    ),
                )])
                .with_detail(json!({"problem": problem, "restored": null}))
                .finding(),
        );
    };
    let (text, mut detail) = restore_backup(ctx, l, &store, &all, &target, false)?;
    let mut text = format!("{}: {problem}\n{text}", cfg.display());
    if restart && !ctx.dry_run {
        let (ok, msg) = restart_gateway(ctx, l)?;
        text.push_str(&msg);
        detail["restart"] = json!({"healthy": ok, "message": msg.trim()});
    }
    detail["problem"] = json!(problem);
    heal_alert(
        ctx,
        l,
        format!(
            "{} was broken ({problem}); healed from backup {}",
            cfg.display(),
            target.id
        ),
    );
    Ok(
        Outcome::ok(format!("healed {} from {}", cfg.display(), target.id))
            .with_text(text)
            .with_detail(detail)
            .finding(),
    )
}

const HEAL_JOB: &str = "config-heal";
/// One alert key for the config's health: raised (critical) when it is broken, healed or
/// cannot be healed; cleared with a recovery once a run finds it valid.
const HEAL_ALERT: &str = "config";

fn heal_alert(ctx: &Ctx, l: &Ledger, text: String) {
    let alert = crate::notify::Alert {
        job: HEAL_JOB.into(),
        severity: crate::notify::Severity::Critical,
        key: HEAL_ALERT.into(),
        text,
    };
    // An alert that cannot be recorded must not hide the heal itself.
    if let Err(e) = crate::notify::raise(ctx, l, &alert) {
        ctx.out
            .warn(&format!("config heal: alert not recorded: {e:#}"));
    }
}

/// Restart the gateway the one way claw does (`[gateway]` settings, recorded against the
/// hourly restart budget), then wait for its health endpoint.
fn restart_gateway(ctx: &Ctx, l: &Ledger) -> Result<(bool, String)> {
    let r = crate::gateway::restart_recorded(ctx, l, "config heal/restore --restart")?;
    Ok((r.healthy, format!("{}\n", r.message)))
}

// ---------- schema cache ----------

/// `config schema refresh` (also run by `gateway check` when the installed version drifts,
/// through the same [`crate::openclaw::schema::refresh`]).
fn schema_refresh(ctx: &Ctx, _l: &Ledger) -> Result<Outcome> {
    let r = crate::openclaw::schema::refresh(
        &ctx.settings.general.openclaw_bin,
        &schema_dir(ctx),
        &ctx.now_str(),
        ctx.dry_run,
    )?;
    let version = &r.version;
    if ctx.dry_run {
        return Ok(
            Outcome::ok(format!("would cache schema for OpenClaw {version}")).with_text(format!(
                "would cache schema for OpenClaw {version} in {}",
                r.path.display()
            )),
        );
    }
    // Pre-process it now, so the next validate does not pay for it (best effort: a validate
    // builds it too).
    let _ = Schema::load_cached(&r.path, version, Some(&cache_dir(ctx)));
    Ok(Outcome::ok(format!(
        "cached schema for OpenClaw {version} ({} bytes)",
        r.bytes
    ))
    .with_detail(r.meta))
}

fn schema_show(ctx: &Ctx) -> Result<Outcome> {
    let current = schema_dir(ctx).join("current.json");
    let meta: Value = match crate::safefs::read(&current) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| fail(Code::DataErr, format!("{}: {e}", current.display())))?,
        Err(_) => json!(null),
    };
    let text = if meta.is_null() {
        "no cached schema; validation uses claw's structural checks (run `claw config schema refresh`)\n".to_string()
    } else {
        format!(
            "OpenClaw {} schema, cached {} ({})\n",
            meta["version"].as_str().unwrap_or("?"),
            meta["refreshed_at"].as_str().unwrap_or("?"),
            schema_dir(ctx)
                .join(meta["file"].as_str().unwrap_or(""))
                .display()
        )
    };
    let mut o = Outcome::ok("schema").with_text(text);
    o.json = Some(json!({"schema_version": SCHEMA_VERSION, "schema": meta}));
    Ok(o)
}
