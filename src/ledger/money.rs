//! Exact amounts in SQL. Money is stored as decimal text ([`Usd`]'s canonical form: SQLite's
//! integers are i64, too small for a unit that keeps every logged digit), so the ledger's
//! connection gets the arithmetic SQL lacks for it:
//!
//! - `usd_add(a, b)`: exact sum of two amounts (NULL is zero), for the daily upserts;
//! - `usd_sum(x)`: exact aggregate sum, `'0.00'` over no rows (like `total()`);
//! - `usd_is_zero(x)`: 1 when `x` is NULL or zero (the auto cost rule's "no logged cost");
//! - `usd_sane(x)`: 1 when `x` is NULL or an amount within the per-line ceiling, else 0;
//! - `usd_from_micros(m)`: integer micro-dollars (the ledger's unit before migration 14) as
//!   text; a negative line value keeps its sign (it is then never sane), a REAL (an
//!   overflowed sum of an old ledger) saturates like SQLite's own cast.
//!
//! A stored amount that is not a decimal is an error of the statement, never a zero.

use crate::money::Usd;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Error, Result};

fn bad(v: impl std::fmt::Display) -> Error {
    Error::UserFunctionError(format!("not an amount in the ledger: {v}").into())
}

/// An amount argument; NULL is zero.
fn arg(ctx: &Context<'_>, i: usize) -> Result<Usd> {
    match ctx.get_raw(i) {
        ValueRef::Null => Ok(Usd::ZERO),
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(bad)?;
            Usd::parse(s).map_err(|e| bad(format!("{s:?} ({e})")))
        }
        ValueRef::Integer(n) => Usd::parse(&n.to_string()).map_err(|e| bad(format!("{n} ({e})"))),
        other => Err(bad(format!("{other:?}"))),
    }
}

struct Sum;

impl Aggregate<Usd, String> for Sum {
    fn init(&self, _: &mut Context<'_>) -> Result<Usd> {
        Ok(Usd::ZERO)
    }
    fn step(&self, ctx: &mut Context<'_>, acc: &mut Usd) -> Result<()> {
        *acc = acc.saturating_add(arg(ctx, 0)?);
        Ok(())
    }
    fn finalize(&self, _: &mut Context<'_>, acc: Option<Usd>) -> Result<String> {
        Ok(acc.unwrap_or(Usd::ZERO).to_string())
    }
}

/// Register the functions on a ledger connection (before any migration runs).
pub fn register(conn: &Connection) -> Result<()> {
    let f = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("usd_add", 2, f, |ctx| {
        Ok(arg(ctx, 0)?.saturating_add(arg(ctx, 1)?).to_string())
    })?;
    conn.create_aggregate_function("usd_sum", 1, f, Sum)?;
    conn.create_scalar_function("usd_sane", 1, f, |ctx| {
        Ok(arg(ctx, 0).is_ok_and(|v| v <= crate::openclaw::transcript::MAX_LINE))
    })?;
    conn.create_scalar_function("usd_is_zero", 1, f, |ctx| Ok(arg(ctx, 0)?.is_zero()))?;
    conn.create_scalar_function("usd_from_micros", 1, f, |ctx| {
        let m = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(None),
            ValueRef::Integer(n) => n,
            // `as` saturates (NaN becomes 0), as the old readers did.
            ValueRef::Real(x) => x as i64,
            other => return Err(bad(format!("{other:?}"))),
        };
        Ok(Some(match Usd::from_micros(m) {
            Some(v) => v.to_string(),
            None => format!(
                "-{}",
                Usd::from_micros(m.checked_neg().unwrap_or(i64::MAX)).unwrap_or_default()
            ),
        }))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_sums_are_exact() {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        let q = |sql: &str| {
            c.query_row(sql, [], |r| r.get::<_, Option<String>>(0))
                .unwrap()
        };
        assert_eq!(q("SELECT usd_add('0.1', '0.2')").as_deref(), Some("0.30"));
        assert_eq!(
            q("SELECT usd_add(NULL, '1.2e-7')").as_deref(),
            Some("0.00000012")
        );
        c.execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('0.0075568500000000005'), ('0.00755685'), (NULL);")
            .unwrap();
        assert_eq!(
            q("SELECT usd_sum(x) FROM t").as_deref(),
            Some("0.0151137000000000005")
        );
        assert_eq!(
            q("SELECT usd_sum(x) FROM t WHERE 0").as_deref(),
            Some("0.00")
        );
        assert_eq!(
            q("SELECT usd_from_micros(187933)").as_deref(),
            Some("0.187933")
        );
        assert_eq!(
            q("SELECT usd_from_micros(-5000000)").as_deref(),
            Some("-5.00")
        );
        assert_eq!(q("SELECT usd_from_micros(NULL)"), None);
        assert_eq!(
            q("SELECT usd_from_micros(1e300)").as_deref(),
            Some("9223372036854.775807")
        );
        assert_eq!(q("SELECT usd_sane('10000') || usd_sane('10000.01') || usd_sane('-5.00') || usd_sane(NULL)").as_deref(), Some("1001"));
        assert!(c
            .query_row("SELECT usd_sum(x) FROM (SELECT 'x' AS x)", [], |r| r
                .get::<_, String>(0))
            .is_err());
    }
}
