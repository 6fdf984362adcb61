//! `claw completions SHELL` and `claw man`: generated from the clap definitions, so they can
//! never drift from the real flags.

use crate::output::Outcome;
use anyhow::{Context, Result};
use clap::CommandFactory;

pub fn completions(shell: clap_complete::Shell) -> Result<Outcome> {
    let mut cmd = crate::cli::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "claw", &mut buf);
    let text = String::from_utf8(buf).context("completion script is not UTF-8")?;
    Ok(Outcome::ok(format!("{shell} completions")).with_text(text))
}

pub fn man() -> Result<Outcome> {
    let cmd = crate::cli::Cli::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .context("cannot render the man page")?;
    let text = String::from_utf8(buf).context("man page is not UTF-8")?;
    Ok(Outcome::ok("man page").with_text(text))
}
