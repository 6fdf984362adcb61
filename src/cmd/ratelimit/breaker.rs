//! The circuit breaker: a pure state machine, one per provider and one global.
//!
//! ```text
//!  CLOSED --(threshold events in the window, or an auth cooldown active)--> OPEN
//!  OPEN   --(until reached: cooldown, Retry-After, cooldownUntil)-------> HALF-OPEN
//!  HALF-OPEN --probe ok--> CLOSED (recovery: how long since the first trip)
//!  HALF-OPEN --probe failed--> OPEN (trips + 1: the cooldown doubles, capped)
//! ```
//! Only events after the breaker last closed count toward a new trip, so the events that
//! caused an outage cannot reopen it once it recovered. No I/O here: the job feeds event
//! times and probe results in, and stores what comes out.

use chrono::{DateTime, Duration, Utc};

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        match s {
            "closed" => Some(State::Closed),
            "open" => Some(State::Open),
            "half-open" => Some(State::HalfOpen),
            _ => None,
        }
    }
}

/// Thresholds and timings (from settings).
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub threshold: u32,
    pub window: Duration,
    /// First OPEN period; doubles per repeated trip.
    pub cooldown: Duration,
    pub max_cooldown: Duration,
    /// The "no news is good news" probe: no event for this long.
    pub quiet: Duration,
}

/// One breaker.
#[derive(Debug, Clone, PartialEq)]
pub struct Breaker {
    pub state: State,
    /// When the current state began.
    pub since: DateTime<Utc>,
    /// OPEN: when it may go HALF-OPEN.
    pub until: Option<DateTime<Utc>>,
    /// The first trip of the current outage (recovery duration counts from here).
    pub opened_at: Option<DateTime<Utc>>,
    /// Trips in the current outage (0 when closed).
    pub trips: u32,
    /// Why the last transition happened.
    pub reason: String,
    /// Events in the window at the last evaluation.
    pub events: u32,
}

/// What the sources say about one scope right now.
#[derive(Debug, Clone, Default)]
pub struct Signals<'a> {
    /// Times of the scope's counted events (at least those in the window; any order).
    pub events: &'a [DateTime<Utc>],
    /// The latest active auth-state cooldown end.
    pub cooldown_until: Option<DateTime<Utc>>,
    /// The latest `event time + Retry-After` among recent events.
    pub retry_after_until: Option<DateTime<Utc>>,
}

/// One state change, for the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub at: DateTime<Utc>,
    pub reason: String,
    pub events: u32,
    pub trips: u32,
    pub until: Option<DateTime<Utc>>,
}

/// A finished outage.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    pub opened_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
    pub trips: u32,
}

impl Recovery {
    pub fn duration_secs(&self) -> i64 {
        (self.closed_at - self.opened_at).num_seconds()
    }
}

/// What a HALF-OPEN probe found.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeResult {
    Ok(String),
    Failed {
        why: String,
        retry_after_until: Option<DateTime<Utc>>,
    },
}

impl Config {
    /// The OPEN period after the `trips`-th trip of an outage: cooldown * 2^(trips-1), capped.
    pub fn cooldown_for(&self, trips: u32) -> Duration {
        let mut d = self.cooldown;
        for _ in 1..trips.min(32) {
            d = d + d;
            if d >= self.max_cooldown {
                return self.max_cooldown.max(self.cooldown);
            }
        }
        d.min(self.max_cooldown.max(self.cooldown))
    }
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            state: State::Closed,
            since: DateTime::<Utc>::UNIX_EPOCH,
            until: None,
            opened_at: None,
            trips: 0,
            reason: String::new(),
            events: 0,
        }
    }
}

impl Breaker {
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    fn count(&self, cfg: &Config, now: DateTime<Utc>, sig: &Signals) -> u32 {
        let from = now - cfg.window;
        let after_close = if self.state == State::Closed {
            Some(self.since)
        } else {
            None
        };
        sig.events
            .iter()
            .filter(|t| **t > from && **t <= now && after_close.is_none_or(|s| **t > s))
            .count() as u32
    }

    fn go(&mut self, to: State, now: DateTime<Utc>, reason: String) -> Transition {
        let from = self.state;
        self.state = to;
        self.since = now;
        self.reason = reason.clone();
        Transition {
            from,
            to,
            at: now,
            reason,
            events: self.events,
            trips: self.trips,
            until: self.until,
        }
    }

    fn trip(
        &mut self,
        cfg: &Config,
        now: DateTime<Utc>,
        sig: &Signals,
        extra_until: Option<DateTime<Utc>>,
        reason: String,
    ) -> Transition {
        self.trips += 1;
        self.opened_at.get_or_insert(now);
        let mut until = now + cfg.cooldown_for(self.trips);
        for u in [sig.cooldown_until, sig.retry_after_until, extra_until]
            .into_iter()
            .flatten()
        {
            until = until.max(u);
        }
        self.until = Some(until);
        self.go(State::Open, now, reason)
    }

    /// Re-evaluate at `now`. Returns the transitions made (a CLOSED breaker may trip; an OPEN
    /// one may go HALF-OPEN). When the result leaves it HALF-OPEN the caller probes and calls
    /// [`Breaker::probed`].
    pub fn evaluate(&mut self, cfg: &Config, now: DateTime<Utc>, sig: &Signals) -> Vec<Transition> {
        let mut out = Vec::new();
        self.events = self.count(cfg, now, sig);
        let cooldown = sig.cooldown_until.filter(|u| *u > now);
        match self.state {
            State::Closed => {
                if self.events >= cfg.threshold.max(1) {
                    let why = format!(
                        "{} events in {} s (threshold {})",
                        self.events,
                        cfg.window.num_seconds(),
                        cfg.threshold
                    );
                    out.push(self.trip(cfg, now, sig, None, why));
                } else if let Some(u) = cooldown {
                    let why = format!("auth cooldown until {}", fmt(u));
                    out.push(self.trip(cfg, now, sig, None, why));
                }
            }
            State::Open => {
                // A later Retry-After or cooldown keeps it open longer; never shorter.
                let mut until = self.until.unwrap_or(now);
                for u in [cooldown, sig.retry_after_until].into_iter().flatten() {
                    until = until.max(u);
                }
                self.until = Some(until);
                if now >= until {
                    out.push(self.go(State::HalfOpen, now, "cooldown over: probing".into()));
                }
            }
            State::HalfOpen => {}
        }
        out
    }

    /// The probe used when none is configured: no event for `cfg.quiet`.
    pub fn quiet_probe(cfg: &Config, now: DateTime<Utc>, sig: &Signals) -> ProbeResult {
        let last = sig.events.iter().filter(|t| **t <= now).max();
        match last {
            Some(t) if *t > now - cfg.quiet => ProbeResult::Failed {
                why: format!(
                    "last event {} s ago (quiet period {} s)",
                    (now - *t).num_seconds(),
                    cfg.quiet.num_seconds()
                ),
                retry_after_until: None,
            },
            _ => ProbeResult::Ok(format!("no event for {} s", cfg.quiet.num_seconds())),
        }
    }

    /// Apply a HALF-OPEN probe's result: CLOSED (with the recovery) or OPEN again with the
    /// longer cooldown. No-op unless HALF-OPEN.
    pub fn probed(
        &mut self,
        cfg: &Config,
        now: DateTime<Utc>,
        sig: &Signals,
        result: &ProbeResult,
    ) -> (Option<Transition>, Option<Recovery>) {
        if self.state != State::HalfOpen {
            return (None, None);
        }
        match result {
            ProbeResult::Ok(why) => {
                let rec = self.opened_at.map(|o| Recovery {
                    opened_at: o,
                    closed_at: now,
                    trips: self.trips,
                });
                self.until = None;
                self.opened_at = None;
                let t = self.go(State::Closed, now, format!("probe ok: {why}"));
                self.trips = 0;
                (Some(t), rec)
            }
            ProbeResult::Failed {
                why,
                retry_after_until,
            } => {
                let t = self.trip(
                    cfg,
                    now,
                    sig,
                    *retry_after_until,
                    format!("probe failed: {why}"),
                );
                (Some(t), None)
            }
        }
    }
}

pub fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-05-04T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(min)
    }

    fn cfg() -> Config {
        Config {
            threshold: 3,
            window: Duration::minutes(10),
            cooldown: Duration::minutes(15),
            max_cooldown: Duration::minutes(60),
            quiet: Duration::minutes(15),
        }
    }

    fn sig(ev: &[DateTime<Utc>]) -> Signals<'_> {
        Signals {
            events: ev,
            ..Default::default()
        }
    }

    #[test]
    fn threshold_in_sliding_window() {
        let c = cfg();
        let mut b = Breaker::default();
        // Three events spread over 11 minutes: never three within 10.
        let ev = [t(0), t(6), t(11)];
        assert!(b.evaluate(&c, t(11), &sig(&ev)).is_empty());
        assert_eq!(b.events, 2);
        let ev = [t(0), t(6), t(11), t(12)];
        let tr = b.evaluate(&c, t(12), &sig(&ev));
        assert_eq!(tr.len(), 1);
        assert_eq!((tr[0].from, tr[0].to), (State::Closed, State::Open));
        assert_eq!(b.until, Some(t(27)));
        assert_eq!(b.opened_at, Some(t(12)));
        assert_eq!(b.trips, 1);
        // Events in the future of `now` (clock skew) do not count.
        let mut b = Breaker::default();
        assert!(b.evaluate(&c, t(0), &sig(&[t(0), t(1), t(2)])).is_empty());
    }

    #[test]
    fn walks_closed_open_halfopen_closed() {
        let c = cfg();
        let mut b = Breaker::default();
        let ev = [t(0), t(1), t(2)];
        assert_eq!(b.evaluate(&c, t(2), &sig(&ev))[0].to, State::Open);
        // Still open before the cooldown ends, whatever happens.
        assert!(b.evaluate(&c, t(16), &sig(&ev)).is_empty());
        assert_eq!(b.state, State::Open);
        let tr = b.evaluate(&c, t(17), &sig(&ev));
        assert_eq!(tr[0].to, State::HalfOpen);
        let (tr, rec) = b.probed(&c, t(17), &sig(&ev), &ProbeResult::Ok("200".into()));
        assert_eq!(tr.unwrap().to, State::Closed);
        let rec = rec.unwrap();
        assert_eq!(rec.duration_secs(), 15 * 60);
        assert_eq!(rec.trips, 1);
        assert_eq!((b.trips, b.opened_at, b.until), (0, None, None));
        // The events that caused the outage do not reopen it.
        assert!(b.evaluate(&c, t(18), &sig(&ev)).is_empty());
        assert_eq!(b.events, 0);
    }

    #[test]
    fn failed_probes_double_the_cooldown_up_to_the_cap() {
        let c = cfg();
        let mut b = Breaker::default();
        let ev = [t(0), t(1), t(2)];
        b.evaluate(&c, t(2), &sig(&ev));
        let mut now = t(2);
        let mut periods = Vec::new();
        for _ in 0..4 {
            now = b.until.unwrap();
            assert_eq!(b.evaluate(&c, now, &sig(&ev))[0].to, State::HalfOpen);
            let fail = ProbeResult::Failed {
                why: "429".into(),
                retry_after_until: None,
            };
            let (tr, rec) = b.probed(&c, now, &sig(&ev), &fail);
            assert!(rec.is_none());
            let tr = tr.unwrap();
            assert_eq!((tr.from, tr.to), (State::HalfOpen, State::Open));
            periods.push((b.until.unwrap() - now).num_minutes());
        }
        assert_eq!(periods, vec![30, 60, 60, 60]);
        assert_eq!(b.trips, 5);
        assert_eq!(b.opened_at, Some(t(2)));
        let (_, rec) = {
            let now2 = b.until.unwrap();
            b.evaluate(&c, now2, &sig(&ev));
            b.probed(&c, now2, &sig(&ev), &ProbeResult::Ok("ok".into()))
        };
        assert_eq!(rec.unwrap().trips, 5);
        let _ = now;
    }

    #[test]
    fn retry_after_and_cooldowns_hold_it_open() {
        let c = cfg();
        let mut b = Breaker::default();
        // One event, but the auth profile is in cooldown: open until the later of both.
        let s = Signals {
            events: &[t(0)],
            cooldown_until: Some(t(40)),
            retry_after_until: None,
        };
        let tr = b.evaluate(&c, t(1), &s);
        assert_eq!(tr[0].to, State::Open);
        assert!(tr[0].reason.contains("auth cooldown"));
        assert_eq!(b.until, Some(t(40)));
        // A cooldown that already ended does nothing.
        let mut b2 = Breaker::default();
        let s2 = Signals {
            events: &[],
            cooldown_until: Some(t(0)),
            retry_after_until: None,
        };
        assert!(b2.evaluate(&c, t(1), &s2).is_empty());
        // Retry-After longer than the cooldown extends an open breaker.
        let s3 = Signals {
            events: &[t(0)],
            cooldown_until: None,
            retry_after_until: Some(t(50)),
        };
        b.evaluate(&c, t(39), &s3);
        assert_eq!(b.until, Some(t(50)));
        // A failed probe with Retry-After waits at least that long.
        b.evaluate(&c, t(50), &s3);
        assert_eq!(b.state, State::HalfOpen);
        let fail = ProbeResult::Failed {
            why: "429".into(),
            retry_after_until: Some(t(150)),
        };
        b.probed(&c, t(50), &s3, &fail);
        assert_eq!(b.until, Some(t(150)));
    }

    #[test]
    fn quiet_probe() {
        let c = cfg();
        assert!(matches!(
            Breaker::quiet_probe(&c, t(20), &sig(&[t(0), t(6)])),
            ProbeResult::Failed { .. }
        ));
        assert!(matches!(
            Breaker::quiet_probe(&c, t(22), &sig(&[t(0), t(6)])),
            ProbeResult::Ok(_)
        ));
        assert_eq!(c.cooldown_for(1), Duration::minutes(15));
        assert_eq!(c.cooldown_for(3), Duration::minutes(60));
        assert_eq!(c.cooldown_for(40), Duration::minutes(60));
    }
}
