//! `claw pricing import FILE` / `claw pricing show`: claw's own price table, versioned in the
//! ledger. The newest import is used for models that neither models.json nor the config price;
//! the built-in snapshot covers the rest.

use crate::cli::PricingCmd;
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::ledger::Ledger;
use crate::money::Usd;
use crate::output::{table, Outcome, SCHEMA_VERSION};
use crate::pricing::{from_litellm, rate, Price, Rates, Table};
use anyhow::{Context, Result};
use rusqlite::{params, OptionalExtension};
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
            let n = store(
                ledger,
                &version,
                &name,
                &crate::digest::sha256_hex(&bytes),
                &t,
                &ctx.now_str(),
            )?;
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
    // Exact (`usd_sum` saturates instead of overflowing on a hand-poisoned ledger).
    let total = |l: &Ledger| -> Result<Usd> {
        Ok(l.conn
            .query_row("SELECT usd_sum(auto_usd) FROM cost_daily", [], |r| {
                super::usd_col(r, 0)
            })?)
    };
    let absurd: i64 = ledger.conn.query_row(
        &format!(
            "SELECT count(*) FROM cost_lines WHERE NOT ({})",
            super::SANE_LINE_SQL
        ),
        [],
        |r| r.get(0),
    )?;
    let before = total(ledger)?;
    ledger.conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| -> Result<u64> {
        let mut changed = 0u64;
        let rows: Vec<LineRow> = ledger
            .conn
            .prepare(&format!(
                "SELECT rowid, agent_id, provider, model, input, output, cache_read, cache_write,
                        logged_usd, computed_usd, price_source
                 FROM cost_lines WHERE provider != 'meter' AND {}",
                super::SANE_LINE_SQL
            ))?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut up = ledger.conn.prepare(
            "UPDATE cost_lines SET computed_usd = ?2, price_source = ?3 WHERE rowid = ?1",
        )?;
        for (rowid, agent, provider, model, t, logged, computed, source) in rows {
            let tokens = crate::pricing::Tokens {
                input: t[0] as u64,
                output: t[1] as u64,
                cache_read: t[2] as u64,
                cache_write: t[3] as u64,
            };
            let (src, price) = book.lookup(&agent, &provider, &model);
            // A price that makes no amount leaves the line unpriced (reported as such).
            let new = price.and_then(|p| p.cost(&tokens)).map(|v| v.to_string());
            let new_source = super::price_source(logged.is_some(), src);
            if new != computed || new_source != source {
                up.execute(params![rowid, new, new_source])?;
                changed += 1;
            }
        }
        ledger
            .conn
            .execute_batch(&REBUILD_DAILY.replace("{sane}", super::SANE_LINE_SQL))?;
        Ok(changed)
    })();
    let changed = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = ledger.conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    };
    let after = total(ledger)?;
    ledger
        .conn
        .execute_batch(if ctx.dry_run { "ROLLBACK" } else { "COMMIT" })?;
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

/// rowid, agent, provider, model, tokens (input, output, cache read, cache write), logged and
/// computed cost (exact decimal text), price source.
type LineRow = (
    i64,
    String,
    String,
    String,
    [i64; 4],
    Option<String>,
    Option<String>,
    String,
);

/// The daily totals from the counted lines, exactly (`usd_sum`, see [`crate::ledger::money`]),
/// with the `auto` cost rule of [`crate::pricing::auto_cost`]: the logged cost when non-zero,
/// else the computed one (estimated), else unpriced. Lines outside the per-line bounds
/// (`{sane}`) are left out.
const REBUILD_DAILY: &str = "
DELETE FROM cost_daily;
INSERT INTO cost_daily (day, agent_id, session_id, provider, model, lines, input, output, cache_read,
  cache_write, logged_usd, logged_missing, computed_usd, computed_missing, auto_usd,
  auto_estimated, auto_unpriced)
SELECT day, agent_id, session_id, provider, model, count(*), sum(input), sum(output), sum(cache_read),
  sum(cache_write), usd_sum(logged_usd), sum(logged_usd IS NULL),
  usd_sum(computed_usd), sum(computed_usd IS NULL),
  usd_sum(CASE WHEN NOT usd_is_zero(logged_usd) THEN logged_usd ELSE computed_usd END),
  sum(usd_is_zero(logged_usd) AND computed_usd IS NOT NULL),
  sum(usd_is_zero(logged_usd) AND computed_usd IS NULL)
FROM cost_lines WHERE {sane} GROUP BY day, agent_id, session_id, provider, model;";

fn store(
    ledger: &Ledger,
    version: &str,
    source: &str,
    sha: &str,
    t: &Table,
    now: &str,
) -> Result<bool> {
    let tx = ledger.conn.unchecked_transaction()?;
    tx.execute_batch("SAVEPOINT import")?;
    let new = tx.execute(
        "INSERT INTO pricing_tables (version, imported_at, source, sha256, models) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (version) DO UPDATE SET imported_at = excluded.imported_at",
        params![version, now, source, sha, t.prices.len() as i64],
    )?;
    let existing: i64 = tx.query_row(
        "SELECT count(*) FROM pricing_entries WHERE version = ?1",
        params![version],
        |r| r.get(0),
    )?;
    if existing == 0 {
        let mut st = tx.prepare(
            "INSERT INTO pricing_entries (version, model, input, output, cache_read, cache_write, tier_threshold,
               tier_input, tier_output, tier_cache_read, tier_cache_write)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for (m, p) in &t.prices {
            let b = p.base;
            let tr = p.tier.map(|x| x.1);
            // REAL columns: every LiteLLM price (a few significant digits) reads back as the
            // same decimal (see `pricing::rate`).
            let f = Usd::to_f64;
            st.execute(params![
                version,
                m,
                f(b.input),
                f(b.output),
                f(b.cache_read),
                f(b.cache_write),
                p.tier.map(|x| x.0 as i64),
                tr.map(|r| f(r.input)),
                tr.map(|r| f(r.output)),
                tr.map(|r| f(r.cache_read)),
                tr.map(|r| f(r.cache_write))
            ])?;
        }
    }
    tx.execute_batch("RELEASE import")?;
    tx.commit()?;
    Ok(new == 1 && existing == 0)
}

/// The newest imported table, if any.
pub fn load_imported(ledger: &Ledger) -> Result<Option<(String, Table)>> {
    let v: Option<String> = ledger
        .conn
        .query_row(
            "SELECT version FROM pricing_tables ORDER BY imported_at DESC, version DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let Some(v) = v else { return Ok(None) };
    let mut st = ledger.conn.prepare(
        "SELECT model, input, output, cache_read, cache_write, tier_threshold, tier_input, tier_output,
           tier_cache_read, tier_cache_write FROM pricing_entries WHERE version = ?1",
    )?;
    let mut t = Table::default();
    let rows = st.query_map(params![v], |r| {
        let base = Rates {
            input: rate(r.get(1)?),
            output: rate(r.get(2)?),
            cache_read: rate(r.get(3)?),
            cache_write: rate(r.get(4)?),
        };
        let opt = |i: usize, or: Usd| -> rusqlite::Result<Usd> {
            Ok(r.get::<_, Option<f64>>(i)?.map(rate).unwrap_or(or))
        };
        let tier = match r.get::<_, Option<i64>>(5)? {
            Some(th) => Some((
                th as u64,
                Rates {
                    input: opt(6, base.input)?,
                    output: opt(7, base.output)?,
                    cache_read: opt(8, base.cache_read)?,
                    cache_write: opt(9, base.cache_write)?,
                },
            )),
            None => None,
        };
        Ok((r.get::<_, String>(0)?, Price { base, tier }))
    })?;
    for row in rows {
        let (m, p) = row?;
        t.prices.insert(m, p);
    }
    Ok(Some((v, t)))
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
