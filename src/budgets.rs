//! What a budget's period and scope are (`[[cost.budgets]]`): shared by budget-check, which
//! judges spend, and rate-limit-detect, whose `minimal` level counts a budget exceeded with
//! its action run this period.

use crate::exit::{fail, Code};
use crate::settings::Budget;
use anyhow::Result;
use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

pub fn parse_weekday(s: &str) -> Result<Weekday> {
    s.trim()
        .to_ascii_lowercase()
        .parse::<Weekday>()
        .map_err(|_| {
            fail(
                Code::Config,
                format!("cost.week_start = {s:?}: expected a day name such as \"monday\""),
            )
        })
}

/// A budget period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Daily,
    Weekly,
    Monthly,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Kind> {
        match s {
            "daily" => Ok(Kind::Daily),
            "weekly" => Ok(Kind::Weekly),
            "monthly" => Ok(Kind::Monthly),
            _ => Err(fail(
                Code::Config,
                format!(
                    "cost.budgets period = {s:?}: expected \"daily\", \"weekly\" or \"monthly\""
                ),
            )),
        }
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

/// The stable name of a budget: period and filters.
pub fn scope(b: &Budget) -> String {
    let mut s = b.period.clone();
    for (k, v) in [
        ("agent", &b.agent),
        ("provider", &b.provider),
        ("model", &b.model),
    ] {
        if !v.is_empty() {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    if s == b.period {
        s.push_str(" all");
    }
    s
}
