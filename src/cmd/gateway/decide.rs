//! The restart decision, pure: from this probe, the failures before it, and the restarts of
//! the last hour, what a run does. Kept apart so every branch is tested without a gateway.

/// What the run does about liveness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The probe answered.
    Healthy,
    /// Failed, but fewer than `failures_before_restart` times in a row: wait for the next run.
    Wait { failures: u32, needed: u32 },
    /// Run the restart command now.
    Restart { failures: u32 },
    /// A restart was due but another claw run holds the restart lock (it is restarting the
    /// gateway now): not decided here, the caller finds it when it takes the lock.
    Busy { failures: u32, holder: String },
    /// The hourly budget is spent: no restart, one restart-loop alert.
    Hold { failures: u32, restarts: u32 },
    /// Restarting is off (setting, `--no-restart`, or no command): alert only.
    Report { failures: u32, why: &'static str },
}

/// What the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub probe_ok: bool,
    /// Consecutive failed probes before this one.
    pub prev_failures: u32,
    pub failures_before_restart: u32,
    /// Restarts recorded in the hour up to now.
    pub restarts_last_hour: u32,
    pub max_restarts_per_hour: u32,
    /// `auto_restart` and no `--no-restart`.
    pub may_restart: bool,
    pub has_command: bool,
}

pub fn decide(f: Facts) -> Action {
    if f.probe_ok {
        return Action::Healthy;
    }
    let failures = f.prev_failures.saturating_add(1);
    let needed = f.failures_before_restart.max(1);
    if failures < needed {
        return Action::Wait { failures, needed };
    }
    if !f.may_restart {
        return Action::Report {
            failures,
            why: "restarting is off",
        };
    }
    if !f.has_command {
        return Action::Report {
            failures,
            why: "[gateway] restart_command is empty",
        };
    }
    if f.restarts_last_hour >= f.max_restarts_per_hour {
        return Action::Hold {
            failures,
            restarts: f.restarts_last_hour,
        };
    }
    Action::Restart { failures }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            probe_ok: false,
            prev_failures: 0,
            failures_before_restart: 2,
            restarts_last_hour: 0,
            max_restarts_per_hour: 3,
            may_restart: true,
            has_command: true,
        }
    }

    #[test]
    fn every_branch() {
        assert_eq!(
            decide(Facts {
                probe_ok: true,
                prev_failures: 9,
                ..facts()
            }),
            Action::Healthy
        );
        assert_eq!(
            decide(facts()),
            Action::Wait {
                failures: 1,
                needed: 2
            }
        );
        assert_eq!(
            decide(Facts {
                prev_failures: 1,
                ..facts()
            }),
            Action::Restart { failures: 2 }
        );
        // A threshold of 0 means "restart at the first failure", not "never wait".
        assert_eq!(
            decide(Facts {
                failures_before_restart: 0,
                ..facts()
            }),
            Action::Restart { failures: 1 }
        );
        assert_eq!(
            decide(Facts {
                prev_failures: 5,
                restarts_last_hour: 3,
                ..facts()
            }),
            Action::Hold {
                failures: 6,
                restarts: 3
            }
        );
        // A budget of 0 never restarts.
        assert!(matches!(
            decide(Facts {
                prev_failures: 1,
                max_restarts_per_hour: 0,
                ..facts()
            }),
            Action::Hold { .. }
        ));
        assert!(matches!(
            decide(Facts {
                prev_failures: 1,
                may_restart: false,
                ..facts()
            }),
            Action::Report { .. }
        ));
        assert!(matches!(
            decide(Facts {
                prev_failures: 1,
                has_command: false,
                ..facts()
            }),
            Action::Report { .. }
        ));
    }
}
