//! What to do about a stuck run: pure. The class's policy from settings, the actions already
//! taken on this run (from the ledger) and, optionally, a triage suggestion, in; at most one
//! next step out. The ladder is: steer; still stuck `extend` later, extend once by `extend`;
//! still stuck when the extension ends, kill. Each step happens once per run, across scans.

use chrono::{DateTime, Duration, Utc};

/// A class's policy from `[stuck.actions]` (parsed when the settings load).
pub use crate::settings::Policy;

/// One action on a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Steer,
    Extend,
    Kill,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Steer => "steer",
            Step::Extend => "extend",
            Step::Kill => "kill",
        }
    }
    pub fn parse(s: &str) -> Option<Step> {
        match s {
            "steer" => Some(Step::Steer),
            "extend" => Some(Step::Extend),
            "kill" => Some(Step::Kill),
            _ => None,
        }
    }
}

/// An action already taken (or attempted) on this run.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub step: Step,
    pub at: DateTime<Utc>,
    /// For an extension: until when.
    pub until: Option<DateTime<Utc>>,
}

/// A triage model's suggestion.
#[derive(Debug, Clone, PartialEq)]
pub enum Suggestion {
    Kill,
    Steer(String),
    Wait,
}

/// The decision for this scan.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Take this step now (for a steer: with this message).
    Act(Step, Option<String>),
    /// Nothing now, and why.
    Hold(String),
}

/// Inputs besides the history.
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    pub policy: Policy,
    pub now: DateTime<Utc>,
    pub extend: Duration,
    pub max_actions: u32,
    /// The class's steer message from settings.
    pub steer_text: &'a str,
    /// Whether a triage suggestion may change the step.
    pub follow: bool,
    /// A protected session (a main session without `include_main`).
    pub protected: bool,
}

/// The next step for a stuck run.
pub fn decide(r: &Rules, done: &[Done], suggestion: Option<&Suggestion>) -> Decision {
    let hold = |m: &str| Decision::Hold(m.to_string());
    if r.protected {
        return hold("main session: never acted on (stuck.include_main = false)");
    }
    if r.policy == Policy::Report {
        return hold("report only");
    }
    let has = |s: Step| done.iter().find(|d| d.step == s);
    if has(Step::Kill).is_some() {
        return hold("already killed");
    }
    if done.len() as u32 >= r.max_actions {
        return hold("action cap for this run reached");
    }
    let followed = suggestion.filter(|_| r.follow);
    let steer_text = match followed {
        Some(Suggestion::Steer(t)) if !t.trim().is_empty() => t.clone(),
        _ => r.steer_text.to_string(),
    };
    if matches!(followed, Some(Suggestion::Wait)) {
        return hold("triage suggests waiting");
    }
    let may_kill = matches!(r.policy, Policy::Kill | Policy::Ladder);
    if may_kill && matches!(followed, Some(Suggestion::Kill)) {
        return Decision::Act(Step::Kill, None);
    }
    match r.policy {
        Policy::Report => hold("report only"),
        Policy::Kill => Decision::Act(Step::Kill, None),
        Policy::Steer => match has(Step::Steer) {
            None => Decision::Act(Step::Steer, Some(steer_text)),
            Some(_) => hold("steered already"),
        },
        Policy::Ladder => match (has(Step::Steer), has(Step::Extend)) {
            (None, _) => Decision::Act(Step::Steer, Some(steer_text)),
            // The steer gets a reaction window first; still stuck after it: one extension.
            (Some(st), None) if r.now >= st.at + r.extend => Decision::Act(Step::Extend, None),
            (Some(st), None) => Decision::Hold(format!(
                "steered at {}; judged again at {}",
                st.at.to_rfc3339(),
                (st.at + r.extend).to_rfc3339()
            )),
            (Some(_), Some(e)) => {
                let until = e.until.unwrap_or(e.at + r.extend);
                if r.now >= until {
                    Decision::Act(Step::Kill, None)
                } else {
                    Decision::Hold(format!("extended until {}", until.to_rfc3339()))
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-08-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(min)
    }
    fn rules(policy: Policy, now: i64) -> Rules<'static> {
        Rules {
            policy,
            now: t(now),
            extend: Duration::minutes(5),
            max_actions: 3,
            steer_text: "proceed",
            follow: false,
            protected: false,
        }
    }
    fn done(step: Step, at: i64) -> Done {
        Done {
            step,
            at: t(at),
            until: (step == Step::Extend).then(|| t(at + 5)),
        }
    }

    #[test]
    fn ladder_steers_extends_once_then_kills_once() {
        let mut hist = vec![];
        let d = decide(&rules(Policy::Ladder, 0), &hist, None);
        assert_eq!(d, Decision::Act(Step::Steer, Some("proceed".into())));
        hist.push(done(Step::Steer, 0));
        assert!(matches!(
            decide(&rules(Policy::Ladder, 1), &hist, None),
            Decision::Hold(m) if m.contains("judged again")
        ));
        assert_eq!(
            decide(&rules(Policy::Ladder, 5), &hist, None),
            Decision::Act(Step::Extend, None)
        );
        hist.push(done(Step::Extend, 5));
        assert!(matches!(
            decide(&rules(Policy::Ladder, 7), &hist, None),
            Decision::Hold(m) if m.contains("extended until")
        ));
        assert_eq!(
            decide(&rules(Policy::Ladder, 10), &hist, None),
            Decision::Act(Step::Kill, None)
        );
        hist.push(done(Step::Kill, 10));
        assert_eq!(
            decide(&rules(Policy::Ladder, 9), &hist, None),
            Decision::Hold("already killed".into())
        );
    }

    #[test]
    fn report_steer_kill_cap_and_protection() {
        assert_eq!(
            decide(&rules(Policy::Report, 0), &[], None),
            Decision::Hold("report only".into())
        );
        let steered = [done(Step::Steer, 0)];
        assert_eq!(
            decide(&rules(Policy::Steer, 2), &steered, None),
            Decision::Hold("steered already".into())
        );
        assert_eq!(
            decide(&rules(Policy::Kill, 0), &[], None),
            Decision::Act(Step::Kill, None)
        );
        let mut r = rules(Policy::Ladder, 9);
        r.max_actions = 1;
        assert!(matches!(decide(&r, &steered, None), Decision::Hold(m) if m.contains("cap")));
        let mut r = rules(Policy::Kill, 0);
        r.protected = true;
        assert!(matches!(decide(&r, &[], None), Decision::Hold(m) if m.contains("main")));
    }

    #[test]
    fn triage_suggestions_only_when_followed_and_allowed() {
        let kill = Suggestion::Kill;
        let steer = Suggestion::Steer("Pick option B and continue.".into());
        // Not followed: ignored.
        assert_eq!(
            decide(&rules(Policy::Ladder, 0), &[], Some(&kill)),
            Decision::Act(Step::Steer, Some("proceed".into()))
        );
        let mut r = rules(Policy::Ladder, 0);
        r.follow = true;
        assert_eq!(
            decide(&r, &[], Some(&kill)),
            Decision::Act(Step::Kill, None)
        );
        assert_eq!(
            decide(&r, &[], Some(&steer)),
            Decision::Act(Step::Steer, Some("Pick option B and continue.".into()))
        );
        assert!(matches!(
            decide(&r, &[], Some(&Suggestion::Wait)),
            Decision::Hold(_)
        ));
        // A steer-only policy never kills, whatever the model says.
        let mut r = rules(Policy::Steer, 0);
        r.follow = true;
        assert_eq!(
            decide(&r, &[], Some(&kill)),
            Decision::Act(Step::Steer, Some("proceed".into()))
        );
    }
}
