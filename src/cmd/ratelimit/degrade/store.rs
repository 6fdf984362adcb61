//! Degraded mode's rows in the ledger (`rl_changes`, `rl_resumes`; migration 13).

use super::{Kind, NewChange, Row, Status};
use crate::ledger::Ledger;
use anyhow::Result;
use rusqlite::{params, OptionalExtension, Transaction};

const COLS: &str = "id, provider, outage, kind, target, label, before, parent_existed, normal, current, pending, status";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Row>> {
    let kind: String = r.get(3)?;
    let status: String = r.get(11)?;
    let (Some(kind), Some(status)) = (Kind::parse(&kind), Status::parse(&status)) else {
        return Ok(None);
    };
    Ok(Some(Row {
        id: r.get(0)?,
        provider: r.get(1)?,
        outage: r.get(2)?,
        kind,
        target: r.get(4)?,
        label: r.get(5)?,
        before: r.get(6)?,
        parent_existed: r.get(7)?,
        normal: r.get(8)?,
        current: r.get(9)?,
        pending: r.get(10)?,
        status,
    }))
}

/// Every change still claw's to undo, and every outage marker not yet resumed.
pub fn outstanding(ledger: &Ledger) -> Result<Vec<Row>> {
    ledger.read(|c| {
        let mut st = c.prepare(&format!(
            "SELECT {COLS} FROM rl_changes
             WHERE status IN ('planned', 'applied', 'restoring', 'failed') ORDER BY id"
        ))?;
        let rows = st
            .query_map([], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().flatten().collect())
    })
}

/// Every row of one outage (for the recovery record).
pub fn of_outage(ledger: &Ledger, provider: &str, outage: &str) -> Result<Vec<(Row, String)>> {
    ledger.read(|c| {
        let mut st = c.prepare(&format!(
            "SELECT {COLS}, detail FROM rl_changes WHERE provider = ?1 AND outage = ?2 AND kind != 'outage' ORDER BY id"
        ))?;
        let rows = st
            .query_map(params![provider, outage], |r| {
                Ok(row(r)?.map(|x| (x, r.get::<_, String>(12).unwrap_or_default())))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().flatten().collect())
    })
}

/// The outage's plan was made already (its marker exists).
pub fn planned(ledger: &Ledger, provider: &str, outage: &str) -> Result<bool> {
    ledger.read(|c| {
        Ok(c.query_row(
            "SELECT 1 FROM rl_changes WHERE provider = ?1 AND outage = ?2 AND kind = 'outage'",
            params![provider, outage],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
    })
}

/// Record an outage's plan before anything is applied: the marker and one `planned` row per
/// change (with the value it replaces). Returns the new rows.
pub fn record_plan(
    ledger: &Ledger,
    provider: &str,
    outage: &str,
    changes: &[NewChange],
    now: &str,
) -> Result<Vec<Row>> {
    ledger.immediate(|tx| {
        tx.execute(
            "INSERT INTO rl_changes (provider, outage, kind, target, label, status, created_at, updated_at)
             VALUES (?1, ?2, 'outage', ?1, ?1, 'applied', ?3, ?3) ON CONFLICT DO NOTHING",
            params![provider, outage, now],
        )?;
        let mut out = Vec::new();
        for c in changes {
            tx.execute(
                "INSERT INTO rl_changes (provider, outage, kind, target, label, before, parent_existed,
                   normal, current, status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'planned', ?10, ?10)
                 ON CONFLICT DO NOTHING",
                params![
                    provider,
                    outage,
                    c.kind.as_str(),
                    c.target,
                    crate::redact::redact_text(&c.label),
                    c.before,
                    c.parent_existed,
                    c.normal,
                    c.value,
                    now
                ],
            )?;
            out.push(c.planned(tx.last_insert_rowid(), provider, outage));
        }
        Ok(out)
    })
}

fn set_status_tx(tx: &Transaction<'_>, id: i64, s: Status, detail: &str, now: &str) -> Result<()> {
    tx.execute(
        "UPDATE rl_changes SET status = ?2, detail = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, s.as_str(), crate::redact::redact_text(detail), now],
    )?;
    Ok(())
}

pub fn set_status(ledger: &Ledger, id: i64, s: Status, detail: &str, now: &str) -> Result<()> {
    ledger.immediate(|tx| set_status_tx(tx, id, s, detail, now))
}

/// Record the value about to be set (before the command runs).
pub fn set_pending(ledger: &Ledger, id: i64, value: Option<&str>, now: &str) -> Result<()> {
    ledger.immediate(|tx| {
        tx.execute(
            "UPDATE rl_changes SET pending = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, value, now],
        )?;
        Ok(())
    })
}

/// The pending value took effect.
pub fn set_current(ledger: &Ledger, id: i64, value: &str, now: &str) -> Result<()> {
    ledger.immediate(|tx| {
        tx.execute(
            "UPDATE rl_changes SET current = ?2, pending = NULL, updated_at = ?3 WHERE id = ?1",
            params![id, value, now],
        )?;
        Ok(())
    })
}

/// The recovery record of an outage, and its marker closed; false when it was written before.
pub fn record_resume(
    ledger: &Ledger,
    provider: &str,
    outage: &str,
    limited_secs: i64,
    lists: [&[String]; 3],
    now: &str,
) -> Result<bool> {
    ledger.immediate(|tx| {
        let n = tx.execute(
            "INSERT INTO rl_resumes (provider, outage, resumed_at, limited_secs, paused, restored, left_alone)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            params![
                provider,
                outage,
                now,
                limited_secs,
                serde_json::to_string(lists[0])?,
                serde_json::to_string(lists[1])?,
                serde_json::to_string(lists[2])?
            ],
        )?;
        tx.execute(
            "UPDATE rl_changes SET status = 'restored', updated_at = ?3
             WHERE provider = ?1 AND outage = ?2 AND kind = 'outage'",
            params![provider, outage, now],
        )?;
        Ok(n == 1)
    })
}

/// Outstanding changes per provider (for `claw status` and the state file).
pub fn outstanding_counts(ledger: &Ledger) -> Result<Vec<(String, i64)>> {
    ledger.read(|c| {
        let mut st = c.prepare(
            "SELECT provider, count(*) FROM rl_changes
             WHERE kind != 'outage' AND status IN ('planned', 'applied', 'restoring', 'failed')
             GROUP BY provider ORDER BY provider",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    })
}
