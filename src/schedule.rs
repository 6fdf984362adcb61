//! When a scheduled job is due: intervals ("30m", aligned to the clock), 5-field cron
//! expressions (in `general.timezone`, `crate::zone`), "after <job>", or "off". Pure functions of the
//! last start and "now", so `claw tick` is tested with injected time.
//!
//! A job is due when a fire time passed since its last start; however many were missed, it
//! runs once (catch up once, never flood). How overdue it is = now - the first missed fire
//! time, which orders a tick's runs.

use crate::zone::Zone;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every N seconds, aligned to multiples of N since the Unix epoch (UTC).
    Every(i64),
    Cron(Box<Cron>),
    /// Right after the named job ran (in the same tick), when it ran since this one.
    After(String),
    Off,
}

impl Schedule {
    /// Parse `"30m"`, `"1h30m"`, `"90s"`, `"*/5 * * * *"`, `"@hourly"`, `"after cost-track"`,
    /// `"off"`.
    pub fn parse(s: &str) -> Result<Schedule, String> {
        let t = s.trim();
        if t == "off" || t == "never" {
            return Ok(Schedule::Off);
        }
        if let Some(job) = t.strip_prefix("after ") {
            let job = job.trim();
            if job.is_empty() {
                return Err(format!("{s:?}: 'after' needs a job name"));
            }
            return Ok(Schedule::After(job.to_string()));
        }
        if let Some(secs) = parse_interval(t) {
            if secs < 60 {
                return Err(format!(
                    "{s:?}: intervals under 1m are not possible (claw tick runs once a minute)"
                ));
            }
            return Ok(Schedule::Every(secs));
        }
        Cron::parse(t).map(|c| Schedule::Cron(Box::new(c)))
    }

    /// The first fire time after `last` (exclusive) and at or before `now`, i.e. whether it is
    /// due. A job that never ran is due at the latest fire time within the past 8 days, or now.
    /// `After` and `Off` are never due by time.
    pub fn due(
        &self,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        zone: Zone,
    ) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Off | Schedule::After(_) => None,
            Schedule::Every(n) => {
                let slot = |t: DateTime<Utc>| t.timestamp().div_euclid(*n) * n;
                let now_slot = slot(now);
                match last {
                    None => DateTime::from_timestamp(now_slot, 0),
                    Some(l) if slot(l) < now_slot => DateTime::from_timestamp(slot(l) + n, 0),
                    Some(_) => None,
                }
            }
            Schedule::Cron(c) => match last {
                Some(l) => c.first_after(l, now, zone),
                None => c.last_at_or_before(now, zone).or(Some(now)),
            },
        }
    }

    /// The next fire time after `now` (for `tick --dry-run`), looking up to 366 days ahead.
    pub fn next(&self, now: DateTime<Utc>, zone: Zone) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(n) => {
                DateTime::from_timestamp((now.timestamp().div_euclid(*n) + 1) * n, 0)
            }
            Schedule::Cron(c) => c.first_after(now, now + Duration::days(366), zone),
            _ => None,
        }
    }
}

/// `30m`, `1h30m`, `90s`, `2d`; `None` if it is not an interval.
fn parse_interval(s: &str) -> Option<i64> {
    let s = s.strip_prefix("@every ").unwrap_or(s).trim();
    if s.is_empty() || s.contains(' ') {
        return None;
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        total = total.checked_add(n.checked_mul(match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => return None,
        })?)?;
    }
    if !num.is_empty() || total == 0 {
        return None;
    }
    Some(total)
}

/// A 5-field cron expression (minute hour day-of-month month day-of-week), Vixie semantics:
/// when both day fields are restricted, either may match. The fields are parsed and matched
/// by `croner`; the zone and the minute walk (which decide daylight-saving behaviour) are ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// The expression as parsed (nicknames expanded), what two crons are compared by.
    text: String,
    parsed: croner::Cron,
}

/// Vixie's day OR (croner's default); `5/15` (5 to the end in steps of 15) as cron accepts it.
fn croner_parse(text: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .sloppy_ranges(true)
        .build()
        .parse(text)
}

impl Cron {
    pub fn parse(s: &str) -> Result<Cron, String> {
        let expanded = match s {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other => other,
        };
        let f: Vec<&str> = expanded.split_whitespace().collect();
        if f.len() != 5 {
            return Err(format!(
                "{s:?}: not an interval (\"30m\") or a 5-field cron expression"
            ));
        }
        let text = f.join(" ");
        let parsed = croner_parse(&text).map_err(|e| {
            // Name the field at fault, as the error line always has: croner does not.
            let field = (0..5).find(|&i| {
                let mut one = ["*"; 5];
                one[i] = f[i];
                croner_parse(&one.join(" ")).is_err()
            });
            match field {
                Some(i) => format!("{s:?}: field {}: {e}", i + 1),
                None => format!("{s:?}: {e}"),
            }
        })?;
        Ok(Cron { text, parsed })
    }

    fn matches(&self, t: NaiveDateTime) -> bool {
        self.parsed.is_time_matching(&t).unwrap_or(false)
    }

    /// The first matching minute in (after, until].
    fn first_after(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        zone: Zone,
    ) -> Option<DateTime<Utc>> {
        let start = after.timestamp().div_euclid(60) * 60 + 60;
        // Bounded: at most a year of minutes.
        let end = until.timestamp().min(start + 366 * 86400);
        let mut t = start;
        while t <= end {
            let u = DateTime::from_timestamp(t, 0)?;
            if self.matches(zone.wall(u)) {
                return Some(u);
            }
            t += 60;
        }
        None
    }

    fn last_at_or_before(&self, now: DateTime<Utc>, zone: Zone) -> Option<DateTime<Utc>> {
        let mut t = now.timestamp().div_euclid(60) * 60;
        let stop = t - 8 * 86400;
        while t > stop {
            let u = DateTime::from_timestamp(t, 0)?;
            if self.matches(zone.wall(u)) {
                return Some(u);
            }
            t -= 60;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    const UTC: Zone = Zone::Fixed(chrono::FixedOffset::east_opt(0).unwrap());

    #[test]
    fn intervals_parse_and_align_to_the_clock() {
        assert_eq!(Schedule::parse("30m"), Ok(Schedule::Every(1800)));
        assert_eq!(Schedule::parse("1h30m"), Ok(Schedule::Every(5400)));
        assert_eq!(Schedule::parse("@every 2h"), Ok(Schedule::Every(7200)));
        assert!(Schedule::parse("30s").is_err());
        let s = Schedule::parse("30m").unwrap();
        // Last ran 10:00:05; at 10:29:59 not due, at 10:30:00 due (slot 10:30).
        let last = Some(t("2026-01-01T10:00:05Z"));
        assert_eq!(s.due(last, t("2026-01-01T10:29:59Z"), UTC), None);
        assert_eq!(
            s.due(last, t("2026-01-01T10:30:00Z"), UTC),
            Some(t("2026-01-01T10:30:00Z"))
        );
        // After a day of downtime: due once, overdue since the first missed slot.
        assert_eq!(
            s.due(last, t("2026-01-02T09:10:00Z"), UTC),
            Some(t("2026-01-01T10:30:00Z"))
        );
        assert_eq!(
            s.due(None, t("2026-01-02T09:10:00Z"), UTC),
            Some(t("2026-01-02T09:00:00Z"))
        );
    }

    #[test]
    fn cron_fields_ranges_steps_names_and_day_or() {
        let c = Cron::parse("*/15 9-17 * * mon-fri").unwrap();
        assert!(c.matches(t("2026-01-05T09:45:00Z").naive_utc())); // Monday
        assert!(!c.matches(t("2026-01-04T09:45:00Z").naive_utc())); // Sunday
        assert!(!c.matches(t("2026-01-05T09:44:00Z").naive_utc()));
        let c = Cron::parse("0 0 1 * 0").unwrap(); // the 1st, or any Sunday
        assert!(c.matches(t("2026-01-04T00:00:00Z").naive_utc()));
        assert!(c.matches(t("2026-02-01T00:00:00Z").naive_utc()));
        assert!(!c.matches(t("2026-01-05T00:00:00Z").naive_utc()));
        let c = Cron::parse("5 4 * jan 7").unwrap();
        assert!(c.matches(t("2026-01-04T04:05:00Z").naive_utc()));
        assert!(!c.matches(t("2026-02-01T04:05:00Z").naive_utc()));
        assert!(Cron::parse("61 * * * *").is_err());
        assert!(Cron::parse("* * *").is_err());
        assert!(Cron::parse("*/0 * * * *").is_err());
        let e = Cron::parse("0 24 * * *").unwrap_err();
        assert!(e.starts_with("\"0 24 * * *\": field 2: "), "{e}");
        assert_eq!(Cron::parse("@hourly"), Cron::parse("0 * * * *"));
    }

    #[test]
    fn cron_due_catches_up_once_and_respects_the_zone() {
        let s = Schedule::parse("0 3 * * *").unwrap();
        let last = Some(t("2026-01-01T03:00:10Z"));
        assert_eq!(s.due(last, t("2026-01-02T02:59:00Z"), UTC), None);
        assert_eq!(
            s.due(last, t("2026-01-04T12:00:00Z"), UTC),
            Some(t("2026-01-02T03:00:00Z"))
        );
        // 03:00 at +02:00 is 01:00 UTC.
        let plus2 = Zone::parse("+02:00").unwrap();
        assert_eq!(
            s.due(last, t("2026-01-02T01:00:00Z"), plus2),
            Some(t("2026-01-02T01:00:00Z"))
        );
        // Never ran: due at its latest fire time.
        assert_eq!(
            s.due(None, t("2026-01-04T12:00:00Z"), UTC),
            Some(t("2026-01-04T03:00:00Z"))
        );
        assert_eq!(
            s.next(t("2026-01-04T12:00:00Z"), UTC),
            Some(t("2026-01-05T03:00:00Z"))
        );
    }

    #[test]
    fn cron_follows_berlin_across_both_daylight_saving_changes() {
        let s = Schedule::parse("0 3 * * *").unwrap();
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        // 03:00 CET = 02:00Z before the spring change, 03:00 CEST = 01:00Z after it.
        assert_eq!(
            s.next(t("2026-03-28T12:00:00Z"), berlin),
            Some(t("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            s.next(t("2026-03-27T12:00:00Z"), berlin),
            Some(t("2026-03-28T02:00:00Z"))
        );
        // And back after the autumn change.
        assert_eq!(
            s.next(t("2026-10-24T12:00:00Z"), berlin),
            Some(t("2026-10-25T02:00:00Z"))
        );
        // 02:30 does not exist on 2026-03-29: the next 02:30 is the day after.
        let s = Schedule::parse("30 2 * * *").unwrap();
        assert_eq!(
            s.next(t("2026-03-28T12:00:00Z"), berlin),
            Some(t("2026-03-30T00:30:00Z"))
        );
    }

    #[test]
    fn after_and_off() {
        assert_eq!(
            Schedule::parse("after cost-track"),
            Ok(Schedule::After("cost-track".into()))
        );
        assert_eq!(Schedule::parse("off"), Ok(Schedule::Off));
        assert_eq!(
            Schedule::Off.due(None, t("2026-01-01T00:00:00Z"), UTC),
            None
        );
    }
}
