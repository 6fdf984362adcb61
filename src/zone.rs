//! The one time-zone type (`[general] timezone`): cost days, budget periods and tick's cron
//! schedules all read the same value through [`Zone::parse`].
//!
//! Accepted: `local` (or empty): the system zone, found the way OpenClaw (node) finds it:
//! the `TZ` environment variable, else `/etc/localtime`; an IANA name from the zone database
//! compiled in (`Europe/Berlin`, `America/New_York`, `UTC`), so days follow daylight-saving
//! changes; or a fixed offset (`+02:00`, `-05:30`, `+0530`, `+2`, `Z`).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A time zone days and fire times are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The system's zone (`TZ`, else `/etc/localtime`), read when used.
    Local,
    /// A zone from the IANA database, with its daylight-saving rules.
    Named(Tz),
    Fixed(FixedOffset),
}

/// What `parse` accepts, for error lines.
pub const EXPECTED: &str =
    "expected \"local\", an IANA zone name like \"Europe/Berlin\", \"UTC\" or an offset like \"+02:00\"";

impl Zone {
    /// UTC (a fixed zero offset).
    pub fn utc() -> Zone {
        Zone::Fixed(FixedOffset::east_opt(0).expect("0 is a valid offset"))
    }

    /// Parse a `general.timezone` value; `Err` carries [`EXPECTED`].
    pub fn parse(s: &str) -> Result<Zone, String> {
        let t = s.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("local") {
            return Ok(Zone::Local);
        }
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(Zone::utc());
        }
        if let Some(o) = fixed(t) {
            return Ok(Zone::Fixed(o));
        }
        t.parse::<Tz>()
            .map(Zone::Named)
            .map_err(|_| format!("{s:?}: {EXPECTED}"))
    }

    /// The wall-clock time at `t` in this zone.
    pub fn wall(&self, t: DateTime<Utc>) -> NaiveDateTime {
        if let (Zone::Local, Some(z)) = (self, system()) {
            return t.with_timezone(&z).naive_local();
        }
        match self {
            Zone::Local => t.with_timezone(&chrono::Local).naive_local(),
            Zone::Named(z) => t.with_timezone(z).naive_local(),
            Zone::Fixed(o) => t.with_timezone(o).naive_local(),
        }
    }

    /// The calendar day `t` falls on in this zone.
    pub fn day_of(&self, t: DateTime<Utc>) -> NaiveDate {
        self.wall(t).date()
    }

    /// The instant `day` starts in this zone: its first wall-clock moment. Where a
    /// daylight-saving change skips midnight, the day starts when the clock resumes.
    pub fn start_of(&self, day: NaiveDate) -> DateTime<Utc> {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        if let (Zone::Local, Some(z)) = (self, system()) {
            return first_instant(&z, midnight);
        }
        match self {
            Zone::Local => first_instant(&chrono::Local, midnight),
            Zone::Named(z) => first_instant(z, midnight),
            Zone::Fixed(o) => first_instant(o, midnight),
        }
    }
}

/// The system zone by name, found like node (OpenClaw) finds it, so claw's days are
/// OpenClaw's days: `TZ` (an IANA name, `:Name`, or a path into a zoneinfo tree; set but
/// empty is UTC), else the zone `/etc/localtime` links to, else `/etc/timezone`. Resolved
/// against the compiled-in database, so it works where the host has no zoneinfo files (node
/// carries its own too). `None`: not a name (a POSIX rule like `CET-1CEST`, a copied
/// `/etc/localtime`); chrono's reader of `TZ` and `/etc/localtime` takes over.
fn system() -> Option<Tz> {
    static SYSTEM: std::sync::OnceLock<Option<Tz>> = std::sync::OnceLock::new();
    *SYSTEM.get_or_init(|| {
        resolve_system(
            std::env::var("TZ").ok().as_deref(),
            std::fs::read_link("/etc/localtime").ok().as_deref(),
            std::fs::read_to_string("/etc/timezone").ok().as_deref(),
        )
    })
}

/// [`system`]'s decision, from what it read.
fn resolve_system(
    tz_env: Option<&str>,
    localtime_link: Option<&std::path::Path>,
    etc_timezone: Option<&str>,
) -> Option<Tz> {
    let by_name = |s: &str| -> Option<Tz> {
        let s = s.trim().trim_start_matches(':');
        // A path into a zoneinfo tree names its zone after `zoneinfo/`.
        let name = match s.rfind("zoneinfo/") {
            Some(i) => &s[i + "zoneinfo/".len()..],
            None => s,
        };
        // `posix/Europe/Berlin` and `right/...` trees hold the same zones.
        let name = name.trim_start_matches("posix/");
        name.parse::<Tz>().ok()
    };
    if let Some(tz) = tz_env {
        if tz.trim().is_empty() {
            return Some(Tz::UTC);
        }
        return by_name(tz);
    }
    if let Some(z) = localtime_link.and_then(|l| by_name(&l.to_string_lossy())) {
        return Some(z);
    }
    etc_timezone.and_then(by_name)
}

impl std::str::FromStr for Zone {
    type Err = String;
    fn from_str(s: &str) -> Result<Zone, String> {
        Zone::parse(s)
    }
}

/// The earliest instant at or after the wall-clock time `naive` in `z` (a skipped time moves
/// forward minute by minute to where the clock resumes; no zone skips more than a day).
fn first_instant<Z: TimeZone>(z: &Z, naive: NaiveDateTime) -> DateTime<Utc> {
    let mut n = naive;
    for _ in 0..=24 * 60 {
        if let Some(t) = z.from_local_datetime(&n).earliest() {
            return t.with_timezone(&Utc);
        }
        n += chrono::Duration::minutes(1);
    }
    naive.and_utc()
}

/// `+02:00`, `-05:30`, `+0530`, `+2`: a sign, hours 0-14 and minutes 0-59.
fn fixed(t: &str) -> Option<FixedOffset> {
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some(hm) => hm,
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(h) || !all_digits(m) {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_accepted_form_parses_and_nonsense_is_refused() {
        assert_eq!(Zone::parse("local"), Ok(Zone::Local));
        assert_eq!(Zone::parse(" LOCAL "), Ok(Zone::Local));
        assert_eq!(Zone::parse(""), Ok(Zone::Local));
        for u in ["UTC", "utc", "Z"] {
            assert_eq!(Zone::parse(u), Ok(Zone::utc()), "{u}");
        }
        let plus2 = Zone::Fixed(FixedOffset::east_opt(7200).unwrap());
        for p in ["+02:00", "+2", "+0200", "+02"] {
            assert_eq!(Zone::parse(p), Ok(plus2), "{p}");
        }
        assert_eq!(
            Zone::parse("-05:30"),
            Ok(Zone::Fixed(FixedOffset::west_opt(5 * 3600 + 1800).unwrap()))
        );
        assert_eq!(
            Zone::parse("Europe/Berlin"),
            Ok(Zone::Named(chrono_tz::Europe::Berlin))
        );
        for bad in [
            "+15:00",
            "+02:60",
            "Mars/Olympus",
            "2",
            "+a",
            "+02:0x",
            "CEST+",
        ] {
            let e = Zone::parse(bad).unwrap_err();
            assert!(e.contains("IANA zone name"), "{bad}: {e}");
        }
    }

    #[test]
    fn berlin_days_follow_both_daylight_saving_changes() {
        let z = Zone::parse("Europe/Berlin").unwrap();
        // Spring forward, 2026-03-29: 02:00 CET becomes 03:00 CEST; the day has 23 hours.
        assert_eq!(z.start_of(d("2026-03-29")), t("2026-03-28T23:00:00Z"));
        assert_eq!(z.start_of(d("2026-03-30")), t("2026-03-29T22:00:00Z"));
        assert_eq!(z.day_of(t("2026-03-28T22:59:59Z")), d("2026-03-28"));
        assert_eq!(z.day_of(t("2026-03-28T23:00:00Z")), d("2026-03-29"));
        assert_eq!(z.day_of(t("2026-03-29T21:59:59Z")), d("2026-03-29"));
        assert_eq!(z.day_of(t("2026-03-29T22:00:00Z")), d("2026-03-30"));
        // Fall back, 2026-10-25: 03:00 CEST becomes 02:00 CET; the day has 25 hours.
        assert_eq!(z.start_of(d("2026-10-25")), t("2026-10-24T22:00:00Z"));
        assert_eq!(z.start_of(d("2026-10-26")), t("2026-10-25T23:00:00Z"));
        assert_eq!(z.day_of(t("2026-10-25T22:59:59Z")), d("2026-10-25"));
        assert_eq!(z.day_of(t("2026-10-25T23:00:00Z")), d("2026-10-26"));
        // A fixed offset does not move.
        let f = Zone::parse("+01:00").unwrap();
        assert_eq!(f.start_of(d("2026-10-26")), t("2026-10-25T23:00:00Z"));
        assert_eq!(f.start_of(d("2026-07-01")), t("2026-06-30T23:00:00Z"));
    }

    #[test]
    fn local_is_found_like_node_finds_it() {
        use chrono_tz::Europe::Berlin;
        use std::path::Path;
        let link = Path::new("/usr/share/zoneinfo/America/New_York");
        // TZ wins, in every spelling node accepts.
        assert_eq!(
            resolve_system(Some("Europe/Berlin"), Some(link), None),
            Some(Berlin)
        );
        assert_eq!(
            resolve_system(Some(":Europe/Berlin"), None, None),
            Some(Berlin)
        );
        assert_eq!(
            resolve_system(Some("/usr/share/zoneinfo/Europe/Berlin"), None, None),
            Some(Berlin)
        );
        assert_eq!(resolve_system(Some(""), Some(link), None), Some(Tz::UTC));
        // A POSIX rule is not a name: chrono's own reader handles it.
        assert_eq!(
            resolve_system(Some("CET-1CEST,M3.5.0,M10.5.0/3"), Some(link), None),
            None
        );
        // No TZ: the /etc/localtime link, then /etc/timezone.
        assert_eq!(
            resolve_system(None, Some(link), Some("Europe/Berlin\n")),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(
            resolve_system(
                None,
                Some(Path::new("../usr/share/zoneinfo/posix/Europe/Berlin")),
                None
            ),
            Some(Berlin)
        );
        assert_eq!(
            resolve_system(None, None, Some("Europe/Berlin\n")),
            Some(Berlin)
        );
        assert_eq!(resolve_system(None, None, None), None);
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_the_clock_resumes() {
        // America/Santiago skipped 2026-09-06 00:00 (clocks went from 00:00 to 01:00).
        let z = Zone::parse("America/Santiago").unwrap();
        let start = z.start_of(d("2026-09-06"));
        assert_eq!(z.day_of(start), d("2026-09-06"));
        assert_eq!(z.wall(start).time().to_string(), "01:00:00");
        assert_eq!(
            z.day_of(start - chrono::Duration::seconds(1)),
            d("2026-09-05")
        );
    }
}
