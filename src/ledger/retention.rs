//! Ledger retention (`[ledger] keep_days`): the per-run history is pruned in small batches,
//! one after every job run, so the ledger stops growing (about 1.8 million `runs` rows a year
//! at the default schedule) without one long delete ever holding the write lock.
//!
//! Kept forever: daily cost totals and counted usage lines (the dedupe keys), backups, the
//! newest run and the newest successful run of each job (`status`, `status --check`), active
//! alerts and stuck detections that have not cleared.

use super::Ledger;
use anyhow::Result;
use rusqlite::params;

/// Rows removed per table per call.
pub const BATCH: usize = 500;

/// (table, the delete for rows older than ?1, at most ?2 of them).
const PLAN: &[(&str, &str)] = &[
    (
        "runs",
        "DELETE FROM runs WHERE id IN (
             SELECT id FROM runs WHERE started_at < ?1
               AND id NOT IN (SELECT max(id) FROM runs GROUP BY job)
               AND id NOT IN (SELECT max(id) FROM runs WHERE exit_code IN (0, 1) GROUP BY job)
             ORDER BY id LIMIT ?2)",
    ),
    (
        "alert_deliveries",
        "DELETE FROM alert_deliveries WHERE rowid IN (
             SELECT d.rowid FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE a.created_at < ?1 LIMIT ?2)",
    ),
    (
        "alerts",
        "DELETE FROM alerts WHERE id IN (
             SELECT a.id FROM alerts a WHERE a.created_at < ?1
               AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id)
             ORDER BY a.id LIMIT ?2)",
    ),
    (
        "rl_events",
        "DELETE FROM rl_events WHERE rowid IN (SELECT rowid FROM rl_events WHERE at < ?1 LIMIT ?2)",
    ),
    (
        "rl_transitions",
        "DELETE FROM rl_transitions WHERE id IN (SELECT id FROM rl_transitions WHERE at < ?1 LIMIT ?2)",
    ),
    (
        "rl_probes",
        "DELETE FROM rl_probes WHERE id IN (SELECT id FROM rl_probes WHERE at < ?1 LIMIT ?2)",
    ),
    (
        "rl_actions",
        "DELETE FROM rl_actions WHERE id IN (SELECT id FROM rl_actions WHERE at < ?1 LIMIT ?2)",
    ),
    (
        "tunnel_events",
        "DELETE FROM tunnel_events WHERE id IN (SELECT id FROM tunnel_events WHERE at < ?1 LIMIT ?2)",
    ),
    (
        "stuck_detections",
        "DELETE FROM stuck_detections WHERE rowid IN (
             SELECT rowid FROM stuck_detections
             WHERE cleared_at IS NOT NULL AND last_at < ?1 LIMIT ?2)",
    ),
];

impl Ledger {
    /// Remove up to `batch` rows per table older than `cutoff` (RFC 3339 UTC), in one short
    /// IMMEDIATE transaction; returns (table, rows removed) for the tables that lost rows.
    pub fn prune(&self, cutoff: &str, batch: usize) -> Result<Vec<(&'static str, usize)>> {
        self.immediate(|tx| {
            let mut out = Vec::new();
            for (table, sql) in PLAN {
                let n = tx.execute(sql, params![cutoff, batch as i64])?;
                if n > 0 {
                    out.push((*table, n));
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prunes_old_runs_in_batches_keeping_the_newest_per_job() {
        let d = tempfile::tempdir().unwrap();
        let l = Ledger::open(&d.path().join("ledger.db")).unwrap();
        for day in 1..=9 {
            let t = format!("2026-01-0{day}T00:00:00Z");
            let id = l.begin_run("a", &t).unwrap();
            // Day 9 fails: the newest success (day 8) is kept too.
            let code = if day == 9 { 74 } else { 0 };
            l.end_run(id, &t, code, "", &serde_json::Value::Null, &[])
                .unwrap();
        }
        let id = l.begin_run("b", "2026-01-01T00:00:00Z").unwrap();
        l.end_run(
            id,
            "2026-01-01T00:00:00Z",
            0,
            "",
            &serde_json::Value::Null,
            &[],
        )
        .unwrap();
        let count = |l: &Ledger| -> i64 {
            l.conn
                .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
                .unwrap()
        };
        // A batch of 3: only 3 go.
        let cutoff = "2026-02-01T00:00:00Z";
        assert_eq!(l.prune(cutoff, 3).unwrap(), vec![("runs", 3)]);
        assert_eq!(count(&l), 7);
        // Then the rest, except a's newest run, a's newest success and b's only run.
        l.prune(cutoff, 100).unwrap();
        let left: Vec<(String, String)> = l
            .conn
            .prepare("SELECT job, started_at FROM runs ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            left,
            vec![
                ("a".to_string(), "2026-01-08T00:00:00Z".to_string()),
                ("a".into(), "2026-01-09T00:00:00Z".into()),
                ("b".into(), "2026-01-01T00:00:00Z".into()),
            ]
        );
        assert!(l.prune(cutoff, 100).unwrap().is_empty());
    }
}
