//! `claw budget check`: spend against the budgets in settings.

use crate::app::Ctx;
use crate::cli::BudgetCmd;
use crate::exit::{fail, Code};
use crate::output::Outcome;
use anyhow::Result;
use chrono::Weekday;

pub fn parse_weekday(s: &str) -> Result<Weekday> {
    s.trim().to_ascii_lowercase().parse::<Weekday>().map_err(|_| {
        fail(
            Code::Config,
            format!("cost.week_start = {s:?}: expected a day name such as \"monday\""),
        )
    })
}

pub fn run(_ctx: &Ctx, _c: &BudgetCmd) -> Result<Outcome> {
    Err(fail(Code::Software, "budget check: not implemented yet"))
}
