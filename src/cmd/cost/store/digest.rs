//! The digest's record: one row per (period, period start), claimed in the transaction that
//! records the message, so a digest goes out once.

use anyhow::Result;
use rusqlite::{params, Connection};

/// A digest about to go out.
pub struct Claim<'a> {
    pub period: &'a str,
    pub start: &'a str,
    pub end: &'a str,
    /// The sinks, comma-separated (`stdout` when there are none).
    pub delivered_to: &'a str,
    pub now: &'a str,
}

/// Claim the digest; false when it was claimed (sent) before.
pub fn claim(c: &Connection, d: &Claim<'_>) -> Result<bool> {
    Ok(c.execute(
        "INSERT INTO digests (period, period_start, period_end, delivered_to, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![d.period, d.start, d.end, d.delivered_to, d.now],
    )? == 1)
}
