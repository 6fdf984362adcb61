//! A progress line for long runs (a first cost-track over gigabytes of transcripts, a first
//! compaction-backup): files and bytes done, rate and ETA, redrawn in place on stderr at most
//! [`REDRAW`] apart. Shown only when stderr is a terminal and not `-q`: under cron, systemd or
//! a pipe there is nothing (mail and logs stay clean), and a run shorter than [`DELAY`] never
//! draws it at all.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Quiet time before the first draw: short runs show nothing.
pub const DELAY: Duration = Duration::from_millis(500);
/// The shortest time between two draws.
pub const REDRAW: Duration = Duration::from_millis(250);

/// Whether a progress line may be drawn: a terminal on stderr and no `-q`.
pub fn enabled(quiet: bool, stderr_is_tty: bool) -> bool {
    !quiet && stderr_is_tty
}

/// The line for `done` of `total` (files, bytes) after `elapsed`; a total of 0 is unknown
/// (no percentage, no ETA).
pub fn render(
    job: &str,
    (files, bytes): (u64, u64),
    (total_files, total_bytes): (u64, u64),
    elapsed: Duration,
) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { bytes as f64 / secs } else { 0.0 };
    let mut s = format!("{job}: {files}");
    if total_files > 0 {
        s.push_str(&format!("/{total_files}"));
    }
    s.push_str(&format!(" files, {}", size(bytes)));
    if total_bytes > 0 {
        let pct = (bytes as f64 * 100.0 / total_bytes as f64).min(100.0);
        s.push_str(&format!(" of {} ({pct:.0}%)", size(total_bytes)));
    }
    s.push_str(&format!(", {}/s", size(rate as u64)));
    if total_bytes > bytes && rate > 0.0 {
        let left = ((total_bytes - bytes) as f64 / rate).ceil() as u64;
        s.push_str(&format!(", ETA {}", clock(left)));
    }
    s
}

/// Bytes in binary units, one decimal from KiB on.
fn size(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `m:ss`, or `h:mm:ss` from an hour on.
fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A progress line being drawn (or not, when disabled).
pub struct Progress {
    job: &'static str,
    on: bool,
    start: Instant,
    last: Option<Instant>,
    total: (u64, u64),
    drawn: usize,
}

impl Progress {
    /// A progress line on stderr when it is a terminal and not `quiet`.
    pub fn stderr(job: &'static str, quiet: bool) -> Progress {
        let start = Instant::now();
        Progress {
            job,
            on: enabled(quiet, std::io::stderr().is_terminal()),
            // Test-only: draw from the first update, so a test on a small home sees the line.
            start: match crate::atomic::fault_point("progress-now") {
                true => start.checked_sub(DELAY).unwrap_or(start),
                false => start,
            },
            last: None,
            total: (0, 0),
            drawn: 0,
        }
    }

    /// Whether the line is drawn at all (else there is no need to know the totals).
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Sets the totals (files, bytes) once they are known.
    pub fn set_total(&mut self, files: u64, bytes: u64) {
        self.total = (files, bytes);
    }

    /// Reports what is done so far; draws when due.
    pub fn update(&mut self, files: u64, bytes: u64) {
        if !self.on {
            return;
        }
        let now = Instant::now();
        let due = match self.last {
            None => now.duration_since(self.start) >= DELAY,
            Some(t) => now.duration_since(t) >= REDRAW,
        };
        if !due {
            return;
        }
        self.last = Some(now);
        let line = render(self.job, (files, bytes), self.total, now - self.start);
        // Pad over a longer previous line; `\r` returns to its start.
        let pad = self.drawn.saturating_sub(line.len());
        let _ = write!(std::io::stderr(), "\r{line}{}", " ".repeat(pad));
        self.drawn = line.len();
    }

    /// Clears the line, so what follows (warnings, the summary) starts clean.
    pub fn finish(&mut self) {
        if self.drawn > 0 {
            let _ = write!(std::io::stderr(), "\r{}\r", " ".repeat(self.drawn));
            self.drawn = 0;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_rate_and_eta() {
        let s = render(
            "cost-track",
            (120, 50 << 20),
            (480, 200 << 20),
            Duration::from_secs(2),
        );
        assert_eq!(
            s,
            "cost-track: 120/480 files, 50.0 MiB of 200.0 MiB (25%), 25.0 MiB/s, ETA 0:06"
        );
        // Unknown totals: no percentage, no ETA.
        let s = render(
            "compaction-backup",
            (3, 1536),
            (0, 0),
            Duration::from_millis(500),
        );
        assert_eq!(s, "compaction-backup: 3 files, 1.5 KiB, 3.0 KiB/s");
        // Hours, and nothing read yet (no rate, no ETA).
        assert_eq!(clock(3725), "1:02:05");
        let s = render("x", (0, 0), (10, 100), Duration::ZERO);
        assert_eq!(s, "x: 0/10 files, 0 B of 100 B (0%), 0 B/s");
    }

    #[test]
    fn only_a_terminal_without_quiet_shows_it() {
        assert!(enabled(false, true));
        assert!(!enabled(true, true));
        assert!(!enabled(false, false));
        assert!(!enabled(true, false));
    }

    #[test]
    fn a_disabled_line_never_draws() {
        let mut p = Progress::stderr("t", true);
        p.start -= Duration::from_secs(5);
        p.update(1, 1);
        assert_eq!((p.drawn, p.last), (0, None));
    }
}
