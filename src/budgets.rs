//! What a budget's period and scope are (`[[cost.budgets]]`): shared by budget-check, which
//! judges spend, and rate-limit-detect, whose `minimal` level counts a budget exceeded with
//! its action run this period.

use crate::settings::Budget;
use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

/// A budget period (`period`, parsed when the settings load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Daily,
    Weekly,
    Monthly,
}

impl Kind {
    /// The settings spelling, also the first word of a budget's scope.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Weekly => "weekly",
            Kind::Monthly => "monthly",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `[first day, first day of the next period)` containing `today`.
pub fn period_of(kind: Kind, today: NaiveDate, week_start: Weekday) -> (NaiveDate, NaiveDate) {
    match kind {
        Kind::Daily => (today, today + Days::new(1)),
        Kind::Weekly => {
            let back = (7 + today.weekday().num_days_from_monday()
                - week_start.num_days_from_monday())
                % 7;
            let start = today - Days::new(back as u64);
            (start, start + Days::new(7))
        }
        Kind::Monthly => {
            let start = today.with_day(1).expect("day 1 exists");
            (start, start + Months::new(1))
        }
    }
}

/// What a budget limits: spend or tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Micro-dollars (`limit_usd`).
    Usd,
    /// Tokens of the budget's kinds (`limit_tokens`).
    Tokens,
}

/// A kind of token a token budget counts (`tokens`, parsed when the settings load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Input,
    Output,
    CacheRead,
    CacheWrite,
}

impl TokenKind {
    /// Every kind, in the settings' order: what a token budget counts when `tokens` is not set.
    pub const ALL: [TokenKind; 4] = [
        TokenKind::Input,
        TokenKind::Output,
        TokenKind::CacheRead,
        TokenKind::CacheWrite,
    ];

    /// The settings spelling (also used in a budget's scope).
    pub fn name(self) -> &'static str {
        match self {
            TokenKind::Input => "input",
            TokenKind::Output => "output",
            TokenKind::CacheRead => "cache_read",
            TokenKind::CacheWrite => "cache_write",
        }
    }
}

pub fn unit(b: &Budget) -> Unit {
    if b.limit_tokens > 0 {
        Unit::Tokens
    } else {
        Unit::Usd
    }
}

/// The stable name of a budget: period, unit (tokens) and filters. USD budgets keep the
/// names they always had (alerts and metrics are keyed by it).
pub fn scope(b: &Budget) -> String {
    let mut s = b.period.name().to_string();
    if unit(b) == Unit::Tokens {
        s.push_str(" tokens");
        if !b.tokens.is_empty() && b.tokens.len() < TokenKind::ALL.len() {
            let names: Vec<&str> = b.tokens.iter().map(|t| t.name()).collect();
            s.push_str(&format!("({})", names.join("+")));
        }
    }
    let plain = s.clone();
    for (k, v) in [
        ("agent", &b.agent),
        ("provider", &b.provider),
        ("model", &b.model),
    ] {
        if !v.is_empty() {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    if s == plain {
        s.push_str(" all");
    }
    s
}
