//! Retention for the transcript store: a pure planner with a reason for every kept snapshot,
//! then removal of the planned manifests and of chunks no manifest references any more.
//!
//! Per session (agent + session id, or an agent's store/database group): the newest
//! `keep_last` snapshots younger than `max_age_days`; always the newest snapshot of each file
//! that still exists; and the last copy of a file that is gone from OpenClaw unless
//! `delete_vanished` says otherwise. A disk cap then drops the oldest unprotected snapshots.

use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::ledger::Ledger;
use crate::output::{Outcome, SCHEMA_VERSION};
use crate::sessionstore::{Manifest, Store};
use crate::settings::CompactionBackup as Policy;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::fs;

/// What the planner needs to know about a snapshot.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    /// `<agent>/<group>`.
    pub session: String,
    pub path: String,
    pub created_at: DateTime<Utc>,
    /// The source file still exists in OpenClaw's state dir.
    pub source_exists: bool,
    /// (chunk sha256, stored bytes).
    pub chunks: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decision {
    pub id: String,
    pub session: String,
    pub path: String,
    pub keep: bool,
    pub reasons: Vec<String>,
}

/// Plan retention; the plan is grouped by session, newest first within each.
pub fn plan(items: &[Item], policy: &Policy, now: DateTime<Utc>) -> Vec<Decision> {
    let mut sorted: Vec<&Item> = items.iter().collect();
    sorted.sort_by(|a, b| {
        a.session
            .cmp(&b.session)
            .then(b.created_at.cmp(&a.created_at))
            .then(b.id.cmp(&a.id))
    });
    let mut out: Vec<Decision> = sorted
        .iter()
        .map(|i| Decision {
            id: i.id.clone(),
            session: i.session.clone(),
            path: i.path.clone(),
            keep: false,
            reasons: Vec::new(),
        })
        .collect();
    let max_age =
        (policy.max_age_days > 0).then(|| chrono::Duration::days(policy.max_age_days as i64));
    let mut protected = vec![false; sorted.len()];
    let mut seen_path: HashSet<(&str, &str)> = HashSet::new();
    let mut rank: HashMap<&str, u32> = HashMap::new();
    for (i, it) in sorted.iter().enumerate() {
        let name = it.path.rsplit('/').next().unwrap_or(&it.path);
        if seen_path.insert((it.session.as_str(), it.path.as_str())) {
            if it.source_exists {
                out[i].reasons.push(format!("newest copy of {name}"));
                protected[i] = true;
            } else if !policy.delete_vanished {
                out[i]
                    .reasons
                    .push(format!("last copy of {name}, gone from OpenClaw"));
                protected[i] = true;
            }
        }
        let r = rank.entry(it.session.as_str()).or_insert(0);
        *r += 1;
        let young = max_age.is_none_or(|a| now - it.created_at <= a);
        if *r <= policy.keep_last && young {
            out[i].reasons.push(format!("last {r}"));
        }
    }
    if policy.max_store_mib > 0 {
        let cap = policy.max_store_mib * 1024 * 1024;
        let mut refs: HashMap<&str, (u32, u64)> = HashMap::new();
        for (i, it) in sorted.iter().enumerate() {
            if !out[i].reasons.is_empty() {
                for (c, n) in &it.chunks {
                    refs.entry(c.as_str()).or_insert((0, *n)).0 += 1;
                }
            }
        }
        let mut total: u64 = refs.values().map(|(_, n)| n).sum();
        let mut order: Vec<usize> = (0..sorted.len())
            .filter(|&i| !protected[i] && !out[i].reasons.is_empty())
            .collect();
        order.sort_by(|&a, &b| {
            sorted[a]
                .created_at
                .cmp(&sorted[b].created_at)
                .then(sorted[a].id.cmp(&sorted[b].id))
        });
        for i in order {
            if total <= cap {
                break;
            }
            out[i].reasons.clear();
            for (c, _) in &sorted[i].chunks {
                if let Some(e) = refs.get_mut(c.as_str()) {
                    e.0 -= 1;
                    if e.0 == 0 {
                        total -= e.1;
                    }
                }
            }
        }
    }
    for d in &mut out {
        d.keep = !d.reasons.is_empty();
    }
    out
}

pub fn render(plan: &[Decision]) -> String {
    plan.iter()
        .map(|d| {
            if d.keep {
                format!(
                    "keep    {}  {}  {}  ({})\n",
                    d.session,
                    d.id,
                    d.path,
                    d.reasons.join(", ")
                )
            } else {
                format!("remove  {}  {}  {}\n", d.session, d.id, d.path)
            }
        })
        .collect()
}

/// Plan and (unless `--dry-run`) apply retention. `report` prints the plan.
pub fn prune(ctx: &Ctx, ledger: &Ledger, report: bool) -> Result<Outcome> {
    let policy = &ctx.settings.compaction_backup;
    if policy.keep_last == 0 {
        return Err(fail(
            Code::Config,
            "[compaction_backup] keep_last = 0 would keep nothing; use at least 1",
        ));
    }
    let store = super::open_store(ctx);
    let (manifests, bad) = store.manifests(None)?;
    for (p, e) in &bad {
        ctx.out.warn(&format!("{}: unreadable: {e}", p.display()));
    }
    // A manifest that cannot be read may be the newest (or only) copy of a transcript, and its
    // chunks are unknown: removing anything could lose it for good. Keep everything until it
    // is readable again or removed by hand.
    let paused = !bad.is_empty();
    if paused {
        ctx.out.warn(&format!(
            "retention paused: {} snapshot manifest(s) unreadable (first: {}); nothing removed, every chunk kept",
            bad.len(),
            bad[0].0.display()
        ));
    }
    let sizes = chunk_sizes(&store)?;
    let items: Vec<Item> = manifests
        .iter()
        .map(|m| Item {
            id: m.id.clone(),
            session: format!("{}/{}", m.agent, m.group),
            path: m.path.clone(),
            created_at: DateTime::parse_from_rfc3339(&m.created_at)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            source_exists: fs::symlink_metadata(ctx.paths.openclaw_dir.join(&m.path)).is_ok(),
            chunks: m
                .chunks
                .iter()
                .map(|c| (c.sha256.clone(), sizes.get(&c.sha256).copied().unwrap_or(0)))
                .collect(),
        })
        .collect();
    let mut decisions = plan(&items, policy, ctx.now);
    if paused {
        for d in &mut decisions {
            if !d.keep {
                d.keep = true;
                d.reasons = vec!["retention paused: unreadable manifests".into()];
            }
        }
    }
    let remove: Vec<&Decision> = decisions.iter().filter(|d| !d.keep).collect();
    let by_id: HashMap<&str, &Manifest> = manifests.iter().map(|m| (m.id.as_str(), m)).collect();
    let mut freed = 0u64;
    if !ctx.dry_run {
        for d in &remove {
            if let Some(m) = by_id.get(d.id.as_str()) {
                let p = store.manifest_path(&m.agent, &m.group, &m.id);
                fs::remove_file(&p).with_context(|| format!("{}: cannot remove", p.display()))?;
            }
        }
        let removed: HashSet<&str> = remove.iter().map(|d| d.id.as_str()).collect();
        let live: HashSet<&str> = manifests
            .iter()
            .filter(|m| !removed.contains(m.id.as_str()))
            .flat_map(|m| m.chunks.iter().map(|c| c.sha256.as_str()))
            .collect();
        // Chunks no manifest references: those of removed snapshots and of interrupted runs.
        // Unparsable manifests keep every chunk (their references are unknown).
        if bad.is_empty() {
            for (sha, n) in &sizes {
                if !live.contains(sha.as_str()) {
                    let p = store.chunk_path(sha);
                    fs::remove_file(&p)
                        .with_context(|| format!("{}: cannot remove", p.display()))?;
                    freed += n;
                }
            }
        }
        if !remove.is_empty() {
            ledger.immediate(|tx| {
                for d in &remove {
                    super::store::mark_removed(tx, &d.id, &ctx.now_str())?;
                }
                Ok(())
            })?;
        }
    }
    let summary = format!(
        "{} snapshots kept, {} removed, {} stored bytes freed",
        decisions.len() - remove.len(),
        remove.len(),
        freed
    );
    let detail = json!({"kept": decisions.len() - remove.len(), "removed": remove.len(), "freed_bytes": freed});
    let mut o = Outcome::ok(summary.clone()).with_detail(detail);
    o.json = Some(
        json!({"schema_version": SCHEMA_VERSION, "dry_run": ctx.dry_run, "plan": decisions, "freed_bytes": freed}),
    );
    if report {
        o = o.with_text(format!("{}{summary}\n", render(&decisions)));
    }
    Ok(o)
}

/// Stored (compressed) size of every chunk file, by sha256.
fn chunk_sizes(store: &Store) -> Result<HashMap<String, u64>> {
    let mut out = HashMap::new();
    let dir = store.chunks_dir();
    if !dir.is_dir() {
        return Ok(out);
    }
    for e in walkdir::WalkDir::new(&dir).follow_links(false) {
        let e = e.with_context(|| format!("{}: cannot list chunks", dir.display()))?;
        let name = e.file_name().to_string_lossy();
        if let Some(sha) = name
            .strip_suffix(".zst")
            .filter(|_| e.file_type().is_file() && !name.starts_with('.'))
        {
            let n = e.metadata().map(|m| m.len()).unwrap_or(0);
            out.insert(sha.to_string(), n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn item(
        id: &str,
        session: &str,
        path: &str,
        day: u32,
        exists: bool,
        chunks: &[(&str, u64)],
    ) -> Item {
        Item {
            id: id.into(),
            session: session.into(),
            path: path.into(),
            created_at: Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap(),
            source_exists: exists,
            chunks: chunks.iter().map(|(c, n)| (c.to_string(), *n)).collect(),
        }
    }

    fn policy(keep_last: u32) -> Policy {
        Policy {
            keep_last,
            ..Policy::default()
        }
    }

    fn kept(p: &[Decision]) -> Vec<&str> {
        p.iter().filter(|d| d.keep).map(|d| d.id.as_str()).collect()
    }

    #[test]
    fn keeps_last_n_per_session_and_newest_of_each_file() {
        let items = vec![
            item("a1", "m/s", "s.jsonl", 1, true, &[]),
            item("a2", "m/s", "s.jsonl", 2, true, &[]),
            item("a3", "m/s", "s.jsonl", 3, true, &[]),
            item("r1", "m/s", "s.jsonl.reset.x", 1, true, &[]),
            item("b1", "m/t", "t.jsonl", 1, true, &[]),
        ];
        let now = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap();
        let p = plan(&items, &policy(2), now);
        assert_eq!(kept(&p), vec!["a3", "a2", "r1", "b1"]);
        let r1 = p.iter().find(|d| d.id == "r1").unwrap();
        assert_eq!(r1.reasons, vec!["newest copy of s.jsonl.reset.x"]);
    }

    #[test]
    fn last_copy_of_a_vanished_file_stays_unless_policy_says_so() {
        let items = vec![
            item("old", "m/gone", "gone.jsonl", 2, false, &[]),
            item("older", "m/gone", "gone.jsonl", 1, false, &[]),
        ];
        let now = Utc.with_ymd_and_hms(2026, 12, 30, 0, 0, 0).unwrap();
        let pol = Policy {
            keep_last: 1,
            max_age_days: 7,
            ..Policy::default()
        };
        let p = plan(&items, &pol, now);
        assert_eq!(kept(&p), vec!["old"]);
        assert!(p[0].reasons[0].contains("gone from OpenClaw"), "{:?}", p[0]);
        let p = plan(
            &items,
            &Policy {
                delete_vanished: true,
                ..pol
            },
            now,
        );
        assert!(kept(&p).is_empty(), "{p:?}");
    }

    #[test]
    fn disk_cap_drops_oldest_unprotected_first() {
        let items = vec![
            item("n3", "m/s", "s.jsonl", 3, true, &[("c1", 10), ("c3", 10)]),
            item("n2", "m/s", "s.jsonl", 2, true, &[("c1", 10), ("c2", 10)]),
            item("n1", "m/s", "s.jsonl", 1, true, &[("c0", 1 << 20)]),
        ];
        let now = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap();
        let pol = Policy {
            keep_last: 10,
            max_store_mib: 1,
            ..Policy::default()
        };
        let p = plan(&items, &pol, now);
        assert_eq!(kept(&p), vec!["n3", "n2"]);
    }
}
