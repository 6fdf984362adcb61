//! Price tables (`pricing_tables`, `pricing_entries`) and repricing the counted lines.

use crate::cmd::cost::{usd_col, SANE_LINE_SQL};
use crate::money::Usd;
use crate::pricing::{rate, Price, Rates, Table};
use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};

/// Every day's `auto` cost, summed exactly (`usd_sum` saturates instead of overflowing on a
/// hand-poisoned ledger).
pub fn auto_total(c: &Connection) -> Result<Usd> {
    Ok(
        c.query_row("SELECT usd_sum(auto_usd) FROM cost_daily", [], |r| {
            usd_col(r, 0)
        })?,
    )
}

/// Counted lines outside the per-line bounds.
pub fn absurd_lines(c: &Connection) -> Result<i64> {
    Ok(c.query_row(
        &format!("SELECT count(*) FROM cost_entries WHERE NOT ({SANE_LINE_SQL})"),
        [],
        |r| r.get(0),
    )?)
}

/// A counted transcript line as repricing sees it.
pub struct PricedLine {
    /// Its key: session (a `cost_sessions` id) and entry id.
    pub key: (i64, String),
    pub agent: String,
    pub provider: String,
    pub model: String,
    /// input, output, cache read, cache write.
    pub tokens: [i64; 4],
    /// Exact decimal text.
    pub logged: Option<String>,
    pub computed: Option<String>,
    pub source: String,
}

/// Every sane counted line except meter lines (they keep their own unit price).
pub fn priced_lines(c: &Connection) -> Result<Vec<PricedLine>> {
    let rows = c
        .prepare(&format!(
            "SELECT session, entry_id, agent_id, provider, model, input, output, cache_read,
                    cache_write, logged_usd, computed_usd, price_source
             FROM cost_entries JOIN cost_sources ON cost_sources.id = source
               JOIN cost_kinds ON cost_kinds.id = kind
             WHERE provider != 'meter' AND {SANE_LINE_SQL}"
        ))?
        .query_map([], |r| {
            Ok(PricedLine {
                key: (r.get(0)?, r.get(1)?),
                agent: r.get(2)?,
                provider: r.get(3)?,
                model: r.get(4)?,
                tokens: [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                logged: r.get(9)?,
                computed: r.get(10)?,
                source: r.get(11)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn set_price(
    c: &Connection,
    key: &(i64, String),
    computed: Option<&str>,
    source: &str,
) -> Result<()> {
    // A new price source is another kind: the line's day, provider and model with it.
    c.prepare_cached(
        "INSERT INTO cost_kinds (day, provider, model, price_source)
         SELECT k.day, k.provider, k.model, ?3
         FROM cost_entries e JOIN cost_kinds k ON k.id = e.kind
         WHERE e.session = ?1 AND e.entry_id = ?2
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![key.0, key.1, source])?;
    c.prepare_cached(
        "UPDATE cost_entries SET computed_usd = ?3, kind = (
           SELECT n.id FROM cost_kinds k JOIN cost_kinds n ON n.day = k.day
             AND n.provider = k.provider AND n.model = k.model AND n.price_source = ?4
           WHERE k.id = cost_entries.kind)
         WHERE session = ?1 AND entry_id = ?2",
    )?
    .execute(params![key.0, key.1, computed, source])?;
    Ok(())
}

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
FROM cost_lines WHERE {sane} GROUP BY day, agent_id, session_id, provider, model;
DELETE FROM cost_totals;
INSERT INTO cost_totals (agent_id, provider, model, input, output, cache_read, cache_write,
  logged_usd, computed_usd, auto_usd)
SELECT agent_id, provider, model, sum(input), sum(output), sum(cache_read), sum(cache_write),
  usd_sum(logged_usd), usd_sum(computed_usd), usd_sum(auto_usd)
FROM cost_daily GROUP BY agent_id, provider, model;";

/// Rebuild `cost_daily` (and the all-time `cost_totals` from it) from the counted lines.
pub fn rebuild_daily(c: &Connection) -> Result<()> {
    c.execute_batch(&REBUILD_DAILY.replace("{sane}", SANE_LINE_SQL))?;
    Ok(())
}

/// Where an imported table came from.
pub struct Import<'a> {
    pub version: &'a str,
    pub source: &'a str,
    pub sha256: &'a str,
    pub now: &'a str,
}

/// Record `t` as version `i.version` (its entries once); true when it is new.
pub fn import(c: &Connection, i: &Import<'_>, t: &Table) -> Result<bool> {
    let new = c.execute(
        "INSERT INTO pricing_tables (version, imported_at, source, sha256, models) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (version) DO UPDATE SET imported_at = excluded.imported_at",
        params![i.version, i.now, i.source, i.sha256, t.prices.len() as i64],
    )?;
    let existing: i64 = c.query_row(
        "SELECT count(*) FROM pricing_entries WHERE version = ?1",
        params![i.version],
        |r| r.get(0),
    )?;
    if existing == 0 {
        let mut st = c.prepare(
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
                i.version,
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
    Ok(new == 1 && existing == 0)
}

/// The newest imported table, if any, with its version.
pub fn newest_import(c: &Connection) -> Result<Option<(String, Table)>> {
    let v: Option<String> = c
        .query_row(
            "SELECT version FROM pricing_tables ORDER BY imported_at DESC, version DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let Some(v) = v else { return Ok(None) };
    let mut st = c.prepare(
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
