//! Fast, clock-free time formatting for generated data (epoch milliseconds in, text out).

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's civil_from_days.
pub fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub const DAY_MS: i64 = 86_400_000;

/// `2026-11-20`
pub fn date(ms: i64) -> String {
    let (y, m, d) = civil(ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

fn parts(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let (y, mo, d) = civil(ms.div_euclid(DAY_MS));
    let r = ms.rem_euclid(DAY_MS);
    (
        y,
        mo,
        d,
        r / 3_600_000,
        r / 60_000 % 60,
        r / 1000 % 60,
        r % 1000,
    )
}

/// `2026-11-20T13:04:04.928Z`
pub fn iso(ms: i64) -> String {
    let (y, mo, d, h, mi, s, f) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}Z")
}

/// Local ISO time with a fixed offset: `2026-11-20T15:04:04.928+02:00`.
pub fn iso_local(ms: i64, offset_min: i64) -> String {
    let (y, mo, d, h, mi, s, f) = parts(ms + offset_min * 60_000);
    let sign = if offset_min < 0 { '-' } else { '+' };
    let o = offset_min.abs();
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{f:03}{sign}{:02}:{:02}",
        o / 60,
        o % 60
    )
}

/// The `<ts>` of archive names: ISO with `:` replaced by `-`.
pub fn archive_ts(ms: i64) -> String {
    iso(ms).replace(':', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_chrono() {
        for ms in [
            0i64,
            1_772_975_044_928,
            1_795_248_000_000,
            951_782_400_000 + 3_600_000,
        ] {
            let c = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            assert_eq!(iso(ms), c.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            assert_eq!(date(ms), c.format("%Y-%m-%d").to_string());
            let (y, m, d) = civil(ms.div_euclid(DAY_MS));
            assert_eq!(days_from_civil(y, m, d), ms.div_euclid(DAY_MS));
        }
        assert_eq!(
            iso_local(1_772_975_044_928, 120),
            "2026-03-08T15:04:04.928+02:00"
        );
        assert_eq!(archive_ts(1_772_975_044_928), "2026-03-08T13-04-04.928Z");
    }
}
