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

/// `claw man`: the top page on stdout, listing the subcommands in place (it names no
/// sub-page, since none may be installed); `claw man --dir DIR`: claw.1 plus one page per
/// subcommand (claw-config.1, claw-config-heal.1, ...), every page another one refers to.
pub fn man(dir: Option<&std::path::Path>) -> Result<Outcome> {
    let cmd = crate::cli::Cli::command();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        clap_mangen::generate_to(cmd, dir)
            .with_context(|| format!("{}: cannot write the man pages", dir.display()))?;
        let n = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot list", dir.display()))?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".1"))
            .count();
        return Ok(Outcome::ok(format!(
            "{n} man pages written to {}",
            dir.display()
        )));
    }
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    let w: &mut dyn std::io::Write = &mut buf;
    let render = |w: &mut dyn std::io::Write| -> std::io::Result<()> {
        man.render_title(w)?;
        man.render_name_section(w)?;
        man.render_synopsis_section(w)?;
        man.render_description_section(w)?;
        man.render_options_section(w)?;
        writeln!(w, ".SH SUBCOMMANDS")?;
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            writeln!(w, ".TP\n\\fB{}\\fR", roff_escape(sub.get_name()))?;
            if let Some(about) = sub.get_about() {
                writeln!(w, "{}", roff_escape(&about.to_string()))?;
            }
        }
        man.render_extra_section(w)?;
        man.render_version_section(w)
    };
    render(w).context("cannot render the man page")?;
    let text = String::from_utf8(buf).context("man page is not UTF-8")?;
    Ok(Outcome::ok("man page").with_text(text))
}

/// Plain text as roff: backslashes and hyphens escaped, no line taken for a request.
fn roff_escape(s: &str) -> String {
    let t = s.replace('\\', "\\\\").replace('-', "\\-");
    t.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
