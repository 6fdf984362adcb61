//! Degraded mode: while a provider is limited, claw slows down what burns its quota inside
//! OpenClaw, reversibly, and puts it back gradually.
//!
//! Levels: a provider is `full` (breaker closed) or `degraded` (open or half-open); globally
//! `minimal` when the global breaker is open or a budget is exceeded with its action enabled.
//! On entering degraded: the heartbeat of the agents on that provider is stretched
//! (`heartbeat_factor`, e.g. x4) and the gateway's cron jobs on it are disabled, each change
//! recorded with the value it replaced before it is applied ([`store`]), applied through
//! OpenClaw's own CLI and read back ([`act`]). Half-open (and closed for less than
//! `resume_after_secs`): the heartbeat at twice its normal interval. Closed for
//! `resume_after_secs`, or `--restore`: everything restored in the order it was changed,
//! unless the operator changed the value meanwhile (then it is left alone, with an alert).
//!
//! This file is the pure part: levels, the plan on entering, what a crash left half-done,
//! and the next steps. Gather, record, act and report are in [`act`].

pub mod act;
pub mod store;

use super::breaker::{Breaker, State};
use super::GLOBAL;
use crate::openclaw::schedule::{self, CronJob, Heartbeat};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// A degradation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Full,
    Degraded,
    Minimal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Full => "full",
            Level::Degraded => "degraded",
            Level::Minimal => "minimal",
        }
    }

    /// `claw_rate_limit_degradation_level`: 0 full, 1 degraded, 2 minimal.
    pub fn value(self) -> f64 {
        match self {
            Level::Full => 0.0,
            Level::Degraded => 1.0,
            Level::Minimal => 2.0,
        }
    }
}

/// One provider's level from its breaker.
pub fn provider_level(b: &Breaker) -> Level {
    if b.is_closed() {
        Level::Full
    } else {
        Level::Degraded
    }
}

/// The global level: minimal when the global breaker is open or a budget is exceeded with
/// its action enabled; degraded while any breaker is not closed.
pub fn global_level(after: &BTreeMap<String, Breaker>, budget_exceeded: bool) -> Level {
    if budget_exceeded || after.get(GLOBAL).is_some_and(|b| b.state == State::Open) {
        Level::Minimal
    } else if after.values().any(|b| !b.is_closed()) {
        Level::Degraded
    } else {
        Level::Full
    }
}

/// Every scope's level (providers and `global`).
pub fn levels(after: &BTreeMap<String, Breaker>, budget_exceeded: bool) -> BTreeMap<String, Level> {
    let mut out: BTreeMap<String, Level> = after
        .iter()
        .filter(|(s, _)| s.as_str() != GLOBAL)
        .map(|(s, b)| (s.clone(), provider_level(b)))
        .collect();
    out.insert(GLOBAL.into(), global_level(after, budget_exceeded));
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `target` is a heartbeat scope key (`defaults`, `agent:<id>`); values are `every`.
    Heartbeat,
    /// `target` is a cron job id; values are `enabled` / `disabled`.
    Cron,
    /// The marker that an outage's plan was made (`target` = the provider).
    Outage,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Heartbeat => "heartbeat",
            Kind::Cron => "cron",
            Kind::Outage => "outage",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "heartbeat" => Kind::Heartbeat,
            "cron" => Kind::Cron,
            "outage" => Kind::Outage,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Planned,
    Applied,
    Restoring,
    Restored,
    Void,
    Operator,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Applied => "applied",
            Status::Restoring => "restoring",
            Status::Restored => "restored",
            Status::Void => "void",
            Status::Operator => "operator",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "planned" => Status::Planned,
            "applied" => Status::Applied,
            "restoring" => Status::Restoring,
            "restored" => Status::Restored,
            "void" => Status::Void,
            "operator" => Status::Operator,
            "failed" => Status::Failed,
            _ => return None,
        })
    }

    /// Still claw's to undo.
    pub fn outstanding(self) -> bool {
        matches!(
            self,
            Status::Planned | Status::Applied | Status::Restoring | Status::Failed
        )
    }
}

/// One recorded change (a row of `rl_changes`).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub provider: String,
    pub outage: String,
    pub kind: Kind,
    pub target: String,
    pub label: String,
    /// The value it replaced (None: unset).
    pub before: Option<String>,
    /// The heartbeat object existed before (an undo of an unset `every` removes the object
    /// claw created).
    pub parent_existed: bool,
    /// The heartbeat's normal interval (what the factors multiply).
    pub normal: String,
    /// What claw set last.
    pub current: String,
    /// What claw is setting now (recorded before the command runs).
    pub pending: Option<String>,
    pub status: Status,
}

/// A change to make on entering degraded (becomes a `planned` row).
#[derive(Debug, Clone, PartialEq)]
pub struct NewChange {
    pub kind: Kind,
    pub target: String,
    pub label: String,
    pub before: Option<String>,
    pub parent_existed: bool,
    pub normal: String,
    pub value: String,
}

impl NewChange {
    /// The `planned` row this change becomes (`id` 0 when not recorded: a dry run).
    pub fn planned(&self, id: i64, provider: &str, outage: &str) -> Row {
        Row {
            id,
            provider: provider.into(),
            outage: outage.into(),
            kind: self.kind,
            target: self.target.clone(),
            label: self.label.clone(),
            before: self.before.clone(),
            parent_existed: self.parent_existed,
            normal: self.normal.clone(),
            current: self.value.clone(),
            pending: None,
            status: Status::Planned,
        }
    }
}

/// What degraded mode may do (from settings).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub stretch_heartbeat: bool,
    pub factor: u32,
    pub disable_cron: bool,
    pub resume_after: Duration,
}

/// The changes for a provider entering degraded: its heartbeats stretched, its enabled cron
/// jobs disabled; a target another outage still holds (outstanding) is not changed twice.
pub fn plan(
    provider: &str,
    heartbeats: &[Heartbeat],
    jobs: &[CronJob],
    policy: &Policy,
    outstanding: &[Row],
) -> Vec<NewChange> {
    let held = |kind: Kind, target: &str| {
        outstanding
            .iter()
            .any(|r| r.kind == kind && r.target == target && r.status.outstanding())
    };
    let mut out = Vec::new();
    if policy.stretch_heartbeat {
        for h in heartbeats
            .iter()
            .filter(|h| h.provider.as_deref() == Some(provider))
        {
            let target = h.scope.key();
            if held(Kind::Heartbeat, &target) {
                continue;
            }
            // `0m` (heartbeat off) or an interval claw cannot read: left as it is.
            let Some(value) = schedule::stretch(&h.effective, policy.factor) else {
                continue;
            };
            out.push(NewChange {
                kind: Kind::Heartbeat,
                target,
                label: h.agent.clone(),
                before: h.every.clone(),
                parent_existed: h.block,
                normal: h.effective.clone(),
                value,
            });
        }
    }
    if policy.disable_cron {
        for j in jobs
            .iter()
            .filter(|j| j.enabled && !j.system && j.provider.as_deref() == Some(provider))
        {
            if held(Kind::Cron, &j.id) {
                continue;
            }
            out.push(NewChange {
                kind: Kind::Cron,
                target: j.id.clone(),
                label: j.name.clone(),
                before: Some("enabled".into()),
                parent_existed: true,
                normal: "enabled".into(),
                value: "disabled".into(),
            });
        }
    }
    out
}

/// Where a provider is on the way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Open: everything paused, the heartbeat at `factor` times.
    Open,
    /// Half-open, or closed for less than `resume_after`: the heartbeat at twice.
    Resuming,
    /// Closed for `resume_after` (or no breaker any more, or `--restore`): restore all.
    Resume,
}

pub fn phase(
    b: Option<&Breaker>,
    now: DateTime<Utc>,
    resume_after: Duration,
    restore_all: bool,
) -> Phase {
    match b {
        _ if restore_all => Phase::Resume,
        None => Phase::Resume,
        Some(b) => match b.state {
            State::Open => Phase::Open,
            State::HalfOpen => Phase::Resuming,
            State::Closed if now - b.since >= resume_after => Phase::Resume,
            State::Closed => Phase::Resuming,
        },
    }
}

/// The next step for a recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Set the heartbeat to `value` (x factor again, or x2 while resuming).
    Set { row: i64, value: String },
    /// Put back the value it replaced.
    Restore { row: i64 },
}

/// The steps for the outstanding changes (applied or failed), restores in the order the
/// changes were made.
pub fn decide(
    rows: &[Row],
    breakers: &BTreeMap<String, Breaker>,
    now: DateTime<Utc>,
    policy: &Policy,
    restore_all: bool,
) -> Vec<Step> {
    let mut rows: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.status, Status::Applied | Status::Failed) && r.kind != Kind::Outage)
        .collect();
    rows.sort_by_key(|r| r.id);
    let mut out = Vec::new();
    for r in rows {
        match phase(
            breakers.get(&r.provider),
            now,
            policy.resume_after,
            restore_all,
        ) {
            Phase::Resume => out.push(Step::Restore { row: r.id }),
            // A failed undo is retried only when it is time to restore.
            _ if r.status == Status::Failed => {}
            p if r.kind == Kind::Heartbeat => {
                let factor = if p == Phase::Open { policy.factor } else { 2 };
                if let Some(v) = schedule::stretch(&r.normal, factor) {
                    if v != r.current {
                        out.push(Step::Set {
                            row: r.id,
                            value: v,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A target's value as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live {
    /// The value (None: unset).
    Value(Option<String>),
    /// The agent or job is gone from OpenClaw.
    Gone,
}

/// How to settle a row a killed run left half-done, from what OpenClaw shows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    Status(Status),
    /// The pending value took effect.
    Current(String),
    /// The pending value never took effect.
    DropPending,
    /// Neither claw's value nor the one it replaced: the operator's (left alone).
    Operator,
}

pub fn reconcile(r: &Row, live: &Live) -> Option<Fix> {
    let v = match live {
        Live::Gone => return r.status.outstanding().then_some(Fix::Operator),
        Live::Value(v) => v.as_deref(),
    };
    let is_current = v == Some(r.current.as_str());
    let is_before = v == r.before.as_deref();
    match r.status {
        Status::Planned if is_current => Some(Fix::Status(Status::Applied)),
        Status::Planned if is_before => Some(Fix::Status(Status::Void)),
        Status::Planned => Some(Fix::Operator),
        Status::Restoring if is_before => Some(Fix::Status(Status::Restored)),
        Status::Restoring if is_current => Some(Fix::Status(Status::Applied)),
        Status::Restoring => Some(Fix::Operator),
        Status::Applied | Status::Failed => match &r.pending {
            Some(p) if v == Some(p.as_str()) => Some(Fix::Current(p.clone())),
            Some(_) if is_current => Some(Fix::DropPending),
            _ if is_current => None,
            // A failed undo that a person ran by hand meanwhile: done.
            _ if r.status == Status::Failed && is_before => Some(Fix::Status(Status::Restored)),
            _ => Some(Fix::Operator),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openclaw::schedule::HeartbeatScope;

    fn t(m: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + m * 60, 0).unwrap()
    }

    fn br(state: State, since: i64) -> Breaker {
        Breaker {
            state,
            since: t(since),
            ..Breaker::default()
        }
    }

    fn policy() -> Policy {
        Policy {
            stretch_heartbeat: true,
            factor: 4,
            disable_cron: true,
            resume_after: Duration::minutes(15),
        }
    }

    fn row(id: i64, kind: Kind, current: &str, status: Status) -> Row {
        Row {
            id,
            provider: "anthropic".into(),
            outage: "o".into(),
            kind,
            target: format!("t{id}"),
            label: "l".into(),
            before: if kind == Kind::Cron {
                Some("enabled".into())
            } else {
                None
            },
            parent_existed: false,
            normal: if kind == Kind::Cron {
                "enabled".into()
            } else {
                "30m".into()
            },
            current: current.into(),
            pending: None,
            status,
        }
    }

    #[test]
    fn levels_per_provider_and_global() {
        let mut after = BTreeMap::new();
        after.insert("a".to_string(), br(State::Closed, 0));
        after.insert(GLOBAL.to_string(), br(State::Closed, 0));
        assert_eq!(levels(&after, false)[GLOBAL], Level::Full);
        assert_eq!(levels(&after, true)[GLOBAL], Level::Minimal);
        after.insert("b".to_string(), br(State::HalfOpen, 0));
        let l = levels(&after, false);
        assert_eq!(
            (l["a"], l["b"], l[GLOBAL]),
            (Level::Full, Level::Degraded, Level::Degraded)
        );
        after.insert(GLOBAL.to_string(), br(State::Open, 0));
        assert_eq!(levels(&after, false)[GLOBAL], Level::Minimal);
    }

    #[test]
    fn plan_stretches_the_providers_heartbeats_and_disables_its_own_cron_jobs() {
        let hb = |agent: &str, p: &str, every: Option<&str>, eff: &str| Heartbeat {
            agent: agent.into(),
            scope: HeartbeatScope::Agent(agent.into()),
            provider: Some(p.into()),
            every: every.map(String::from),
            effective: eff.into(),
            block: true,
        };
        let hbs = vec![
            hb("a", "anthropic", Some("45m"), "45m"),
            hb("b", "other", None, "30m"),
            hb("c", "anthropic", None, "30m"),
            hb("off", "anthropic", Some("0m"), "0m"),
        ];
        let job = |id: &str, p: &str, enabled: bool, system: bool| CronJob {
            id: id.into(),
            name: format!("job-{id}"),
            enabled,
            provider: Some(p.into()),
            system,
        };
        let jobs = vec![
            job("1", "anthropic", true, false),
            job("2", "anthropic", false, false),
            job("3", "anthropic", true, true),
            job("4", "other", true, false),
        ];
        let p = plan("anthropic", &hbs, &jobs, &policy(), &[]);
        let got: Vec<_> = p
            .iter()
            .map(|c| {
                (
                    c.kind,
                    c.target.as_str(),
                    c.before.as_deref(),
                    c.value.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Kind::Heartbeat, "agent:a", Some("45m"), "3h"),
                (Kind::Heartbeat, "agent:c", None, "2h"),
                (Kind::Cron, "1", Some("enabled"), "disabled"),
            ]
        );
        // Opted out, or already held by an earlier outage: nothing.
        let off = Policy {
            stretch_heartbeat: false,
            disable_cron: false,
            ..policy()
        };
        assert!(plan("anthropic", &hbs, &jobs, &off, &[]).is_empty());
        let mut held = row(1, Kind::Cron, "disabled", Status::Applied);
        held.target = "1".into();
        assert_eq!(plan("anthropic", &hbs, &jobs, &policy(), &[held]).len(), 2);
    }

    #[test]
    fn the_way_back_is_x4_then_x2_then_restore_in_order() {
        let rows = vec![
            row(1, Kind::Heartbeat, "2h", Status::Applied),
            row(2, Kind::Cron, "disabled", Status::Applied),
        ];
        let mut b = BTreeMap::new();
        let p = policy();
        b.insert("anthropic".to_string(), br(State::Open, 0));
        assert!(decide(&rows, &b, t(5), &p, false).is_empty());
        b.insert("anthropic".to_string(), br(State::HalfOpen, 10));
        let half = vec![Step::Set {
            row: 1,
            value: "1h".into(),
        }];
        assert_eq!(decide(&rows, &b, t(11), &p, false), half);
        b.insert("anthropic".to_string(), br(State::Closed, 20));
        assert_eq!(decide(&rows, &b, t(34), &p, false), half);
        let all = vec![Step::Restore { row: 1 }, Step::Restore { row: 2 }];
        assert_eq!(decide(&rows, &b, t(35), &p, false), all);
        // Reopened after x2: back to x4.
        let mut r2 = rows.clone();
        r2[0].current = "1h".into();
        b.insert("anthropic".to_string(), br(State::Open, 40));
        assert_eq!(
            decide(&r2, &b, t(41), &p, false),
            vec![Step::Set {
                row: 1,
                value: "2h".into()
            }]
        );
        // --restore, or a provider with no breaker any more: restore now.
        assert_eq!(decide(&rows, &b, t(41), &p, true), all);
        assert_eq!(decide(&rows, &BTreeMap::new(), t(41), &p, false), all);
        // A failed undo waits for the time to restore.
        let failed = vec![row(3, Kind::Cron, "disabled", Status::Failed)];
        assert!(decide(&failed, &b, t(41), &p, false).is_empty());
        assert_eq!(
            decide(&failed, &b, t(41), &p, true),
            vec![Step::Restore { row: 3 }]
        );
    }

    #[test]
    fn a_killed_run_is_settled_from_what_openclaw_shows() {
        let v = |s: Option<&str>| Live::Value(s.map(String::from));
        let mut r = row(1, Kind::Heartbeat, "2h", Status::Planned);
        assert_eq!(
            reconcile(&r, &v(Some("2h"))),
            Some(Fix::Status(Status::Applied))
        );
        assert_eq!(reconcile(&r, &v(None)), Some(Fix::Status(Status::Void)));
        assert_eq!(reconcile(&r, &v(Some("10m"))), Some(Fix::Operator));
        r.status = Status::Restoring;
        assert_eq!(reconcile(&r, &v(None)), Some(Fix::Status(Status::Restored)));
        assert_eq!(
            reconcile(&r, &v(Some("2h"))),
            Some(Fix::Status(Status::Applied))
        );
        r.status = Status::Applied;
        assert_eq!(reconcile(&r, &v(Some("2h"))), None);
        assert_eq!(reconcile(&r, &v(Some("1h"))), Some(Fix::Operator));
        r.pending = Some("1h".into());
        assert_eq!(
            reconcile(&r, &v(Some("1h"))),
            Some(Fix::Current("1h".into()))
        );
        assert_eq!(reconcile(&r, &v(Some("2h"))), Some(Fix::DropPending));
        assert_eq!(reconcile(&r, &Live::Gone), Some(Fix::Operator));
        let mut f = row(2, Kind::Cron, "disabled", Status::Failed);
        assert_eq!(
            reconcile(&f, &v(Some("enabled"))),
            Some(Fix::Status(Status::Restored))
        );
        f.status = Status::Restored;
        assert_eq!(reconcile(&f, &v(Some("disabled"))), None);
    }
}
