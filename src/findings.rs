//! Silence means health: a job's persisting findings (a stuck run, an open breaker, a budget
//! past its warning) are printed once, when they appear, and once more as "recovered:" when
//! they go. The previous run's set lives in the ledger's `job_findings` table.
//!
//! The decision is the pure [`diff`]; [`only_new`] applies it to a job's outcome.

use crate::ctx::Ctx;
use crate::ledger::findings as store;
use crate::ledger::Ledger;
use crate::output::Outcome;
use anyhow::Result;
use std::collections::BTreeMap;

/// What to print for `now` given what was reported `before` (key -> line): the lines of
/// new keys in `now`'s order, then a "recovered:" line per key that is gone.
pub fn diff(before: &BTreeMap<String, String>, now: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = now
        .iter()
        .filter(|(k, _)| !before.contains_key(k))
        .map(|(_, line)| line.clone())
        .collect();
    for (k, line) in before {
        if !now.iter().any(|(n, _)| n == k) {
            out.push(format!("recovered: {line}"));
        }
    }
    out
}

/// Replace the outcome's findings by the lines that are new since the job's last run (all
/// of them under `-v`), and remember this run's set.
pub fn only_new(ctx: &Ctx, ledger: &Ledger, job: &str, mut o: Outcome) -> Result<Outcome> {
    let Some(now) = o.findings.take() else {
        return Ok(o);
    };
    // A `--json` reader (a monitor, a script) gets the whole document and must not use up
    // what the next text run (cron mail) has to say.
    if ctx.out.json {
        return Ok(o);
    }
    let stamp = ctx.now_str();
    let lines = ledger.immediate(|tx| {
        let before = store::previous(tx, job)?;
        let lines = diff(&before, &now);
        for k in before.keys() {
            if !now.iter().any(|(n, _)| n == k) {
                store::forget(tx, job, k)?;
            }
        }
        for (k, line) in &now {
            store::remember(tx, job, k, &crate::redact::redact_text(line), &stamp)?;
        }
        Ok(lines)
    })?;
    let shown: Vec<String> = if ctx.out.verbose > 0 {
        now.into_iter().map(|(_, l)| l).collect()
    } else {
        lines
    };
    if !shown.is_empty() {
        if !o.text.is_empty() && !o.text.ends_with('\n') {
            o.text.push('\n');
        }
        o.text.push_str(&shown.join("\n"));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(k: &str, l: &str) -> (String, String) {
        (k.to_string(), l.to_string())
    }

    #[test]
    fn new_findings_once_then_recovery() {
        let mut before = BTreeMap::new();
        assert_eq!(diff(&before, &[f("a", "A")]), vec!["A"]);
        before.insert("a".to_string(), "A".to_string());
        // The same finding again (even worded differently): nothing.
        assert!(diff(&before, &[f("a", "A, 2 min later")]).is_empty());
        assert_eq!(diff(&before, &[f("a", "A"), f("b", "B")]), vec!["B"]);
        assert_eq!(diff(&before, &[]), vec!["recovered: A"]);
    }
}
