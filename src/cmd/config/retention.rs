//! Retention as a pure planner: keep-last / hourly / daily / weekly / monthly, with a reason
//! for every kept backup, computed before anything is deleted. The newest backup and the
//! newest good one are always kept.

use crate::settings::Retention;
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

/// What the planner needs to know about a backup.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub good: bool,
}

/// The plan for one backup.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decision {
    pub id: String,
    pub keep: bool,
    pub reasons: Vec<String>,
}

/// Plan retention. Items may come in any order; the plan is newest first.
pub fn plan(items: &[Item], policy: &Retention) -> Vec<Decision> {
    let mut sorted: Vec<&Item> = items.iter().collect();
    sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let mut out: Vec<Decision> = sorted
        .iter()
        .map(|i| Decision {
            id: i.id.clone(),
            keep: false,
            reasons: Vec::new(),
        })
        .collect();
    if let Some(first) = out.first_mut() {
        first.reasons.push("newest backup".into());
    }
    if let Some(pos) = sorted.iter().position(|i| i.good) {
        out[pos].reasons.push("newest good backup".into());
    }
    for (n, d) in out.iter_mut().enumerate().take(policy.keep_last as usize) {
        d.reasons.push(format!("last {}", n + 1));
    }
    type Bucket = fn(&DateTime<Utc>) -> String;
    let rules: [(&str, u32, Bucket); 4] = [
        ("hourly", policy.hourly, |t| {
            format!("{}", t.format("%Y-%m-%d %H:00"))
        }),
        ("daily", policy.daily, |t| {
            format!("{}", t.format("%Y-%m-%d"))
        }),
        ("weekly", policy.weekly, |t| {
            let w = t.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }),
        ("monthly", policy.monthly, |t| {
            format!("{}", t.format("%Y-%m"))
        }),
    ];
    for (name, count, bucket) in rules {
        let mut last: Option<String> = None;
        let mut kept = 0;
        for (i, item) in sorted.iter().enumerate() {
            if kept >= count {
                break;
            }
            let b = bucket(&item.created_at);
            if last.as_deref() != Some(b.as_str()) {
                kept += 1;
                out[i].reasons.push(format!("{name} {b}"));
                last = Some(b);
            }
        }
    }
    for d in &mut out {
        d.keep = !d.reasons.is_empty();
    }
    out
}

/// Render a plan as one line per backup.
pub fn render(plan: &[Decision]) -> String {
    plan.iter()
        .map(|d| {
            if d.keep {
                format!("keep    {}  ({})\n", d.id, d.reasons.join(", "))
            } else {
                format!("remove  {}\n", d.id)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn item(id: &str, h: u32, d: u32, good: bool) -> Item {
        Item {
            id: id.into(),
            created_at: Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap(),
            good,
        }
    }

    #[test]
    fn keeps_last_and_buckets_with_reasons() {
        let items = vec![
            item("a", 10, 20, true),
            item("b", 11, 20, true),
            item("c", 12, 20, true),
            item("d", 9, 21, true),
        ];
        let p = plan(
            &items,
            &Retention {
                keep_last: 1,
                hourly: 0,
                daily: 2,
                weekly: 0,
                monthly: 0,
            },
        );
        let kept: Vec<&str> = p.iter().filter(|d| d.keep).map(|d| d.id.as_str()).collect();
        assert_eq!(kept, vec!["d", "c"]);
        assert!(p[1].reasons.contains(&"daily 2026-11-20".to_string()));
        assert_eq!(p.iter().filter(|d| !d.keep).count(), 2);
    }

    #[test]
    fn never_removes_newest_or_newest_good() {
        let items = vec![item("bad-new", 12, 21, false), item("good-old", 1, 1, true)];
        let p = plan(
            &items,
            &Retention {
                keep_last: 0,
                hourly: 0,
                daily: 0,
                weekly: 0,
                monthly: 0,
            },
        );
        assert!(p.iter().all(|d| d.keep), "{p:?}");
        assert!(p[1].reasons.contains(&"newest good backup".to_string()));
    }
}
