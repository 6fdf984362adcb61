//! `claw pricing import FILE` / `claw pricing show`: claw's own price table, versioned in the
//! ledger. The newest import is used for models that neither models.json nor the config price;
//! the built-in snapshot covers the rest.

use super::store::pricing as store;
use crate::cli::PricingCmd;
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::ledger::Ledger;
use crate::output::{table, Outcome, SCHEMA_VERSION};
use crate::pricing::{from_litellm, Table};
use anyhow::{Context, Result};
use serde_json::json;
use std::io::Read;

/// Refuse absurd inputs: LiteLLM's own file is about 1.5 MB.
const MAX_BYTES: u64 = 64 << 20;

pub fn run(ctx: &Ctx, c: &PricingCmd) -> Result<Outcome> {
    match c {
        PricingCmd::Import { file } => ctx.run_job("pricing-import", "cost", |ctx, ledger| {
            let name = file.display().to_string();
            let f = crate::safefs::open(file, crate::safefs::Follow::Yes)
                .with_context(|| format!("{name}: cannot open"))?;
            let mut bytes = Vec::new();
            f.take(MAX_BYTES + 1)
                .read_to_end(&mut bytes)
                .with_context(|| format!("{name}: cannot read"))?;
            if bytes.len() as u64 > MAX_BYTES {
                return Err(fail(
                    Code::DataErr,
                    format!("{name}: larger than {MAX_BYTES} bytes; not a price table"),
                ));
            }
            let doc: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| fail(Code::DataErr, format!("{name}: not JSON: {e}")))?;
            let t = from_litellm(&doc).map_err(|m| fail(Code::DataErr, format!("{name}: {m}")))?;
            let version = format!("litellm-{}", &crate::digest::sha256_hex(&bytes)[..12]);
            if ctx.dry_run {
                return Ok(Outcome::ok(format!(
                    "would import {} models as {version}",
                    t.prices.len()
                )));
            }
            let (sha256, now) = (crate::digest::sha256_hex(&bytes), ctx.now_str());
            let i = store::Import {
                version: &version,
                source: &name,
                sha256: &sha256,
                now: &now,
            };
            let n = ledger.immediate(|tx| store::import(tx, &i, &t))?;
            Ok(Outcome::ok(if n {
                format!("imported {} models as {version}", t.prices.len())
            } else {
                format!("{version} was already imported; now in use")
            }))
        }),
        PricingCmd::Show => show(ctx),
        PricingCmd::Reprice => ctx.run_job("pricing-reprice", "cost", reprice),
    }
}

/// Price every counted transcript line again with the current book (models.json, config,
/// newest import, built-in), keep logged costs, and rebuild the daily totals from the lines.
/// Meter lines keep their own unit price. One transaction; a dry run rolls it back.
fn reprice(ctx: &Ctx, ledger: &Ledger) -> Result<Outcome> {
    let agents = crate::openclaw::layout::agents(&ctx.paths.openclaw_dir).with_context(|| {
        format!(
            "{}: cannot list agents",
            ctx.paths.openclaw_dir.join("agents").display()
        )
    })?;
    let book = super::load_book(ctx, ledger, &agents);
    let absurd = ledger.read(store::absurd_lines)?;
    let before = ledger.read(store::auto_total)?;
    let (changed, after) = ledger.immediate_unless(ctx.dry_run, |tx| {
        let mut changed = 0u64;
        for l in store::priced_lines(tx)? {
            let [input, output, cache_read, cache_write] = l.tokens.map(|n| n as u64);
            let tokens = crate::pricing::Tokens {
                input,
                output,
                cache_read,
                cache_write,
            };
            let (src, price) = book.lookup(&l.agent, &l.provider, &l.model);
            // A price that makes no amount leaves the line unpriced (reported as such).
            let new = price.and_then(|p| p.cost(&tokens)).map(|v| v.to_string());
            let new_source = super::price_source(l.logged.is_some(), src);
            if new != l.computed || new_source != l.source {
                store::set_price(tx, &l.key, new.as_deref(), &new_source)?;
                changed += 1;
            }
        }
        store::rebuild_daily(tx)?;
        Ok((changed, store::auto_total(tx)?))
    })?;
    let usd = super::report::usd;
    let verb = if ctx.dry_run {
        "would reprice"
    } else {
        "repriced"
    };
    if absurd > 0 {
        ctx.out.warn(&format!(
            "{absurd} counted lines carry absurd numbers (counted before claw bounded usage lines); left out of the rebuilt totals"
        ));
    }
    Ok(Outcome::ok(format!(
        "{verb} {changed} lines; total ${} -> ${}",
        usd(before),
        usd(after)
    ))
    .with_detail(json!({"changed_lines": changed, "before_usd": before, "after_usd": after, "absurd_lines": absurd})))
}

/// The newest imported table, if any.
pub fn load_imported(ledger: &Ledger) -> Result<Option<(String, Table)>> {
    ledger.read(store::newest_import)
}

fn show(ctx: &Ctx) -> Result<Outcome> {
    let imported = if ctx.paths.ledger().exists() {
        load_imported(&ctx.ledger()?)?
    } else {
        None
    };
    let mut rows = vec![vec![
        "TABLE".to_string(),
        "VERSION".into(),
        "MODELS".into(),
        "USED".into(),
    ]];
    if let Some((v, t)) = &imported {
        rows.push(vec![
            "imported".into(),
            v.clone(),
            t.prices.len().to_string(),
            "before built-in".into(),
        ]);
    }
    let b = crate::pricing::builtin();
    rows.push(vec![
        "built-in".into(),
        crate::pricing::BUILTIN_VERSION.into(),
        b.prices.len().to_string(),
        "last".into(),
    ]);
    let text = format!(
        "Order: logged usage.cost.total, agents/<id>/agent/models.json, config models.providers, then:\n{}",
        table(&rows)
    );
    let mut o = Outcome::ok(format!("{} price tables", rows.len() - 1)).with_text(text);
    o.json = Some(json!({
        "schema_version": SCHEMA_VERSION,
        "command": "pricing show",
        "imported": imported.as_ref().map(|(v, t)| json!({"version": v, "models": t.prices.len()})),
        "builtin": {"version": crate::pricing::BUILTIN_VERSION, "models": b.prices.len()},
    }));
    Ok(o)
}
