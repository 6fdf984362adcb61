//! `claw dev ...`: developer tools (hidden from `--help`). `gen-home` writes sample OpenClaw
//! homes for tests and benchmarks; the generator itself lives in `crate::gen`.

use crate::cli::{DevCmd, GenHomeArgs};
use crate::ctx::Ctx;
use crate::exit::{fail, Code};
use crate::output::Outcome;
use anyhow::Result;
use serde_json::json;

pub fn run(_ctx: &Ctx, c: &DevCmd) -> Result<Outcome> {
    match c {
        DevCmd::GenHome(a) => gen_home(a),
    }
}

fn gen_home(a: &GenHomeArgs) -> Result<Outcome> {
    let truth = match &a.truth {
        Some(t) => t.clone(),
        None => {
            let name = a.out.file_name().ok_or_else(|| {
                fail(
                    Code::Usage,
                    format!(
                        "{}: give --truth for a directory without a name",
                        a.out.display()
                    ),
                )
            })?;
            a.out
                .with_file_name(format!("{}.truth.json", name.to_string_lossy()))
        }
    };
    let opts = crate::gen::Opts {
        out: a.out.clone(),
        truth: truth.clone(),
        seed: a.seed,
        scale: a.scale,
        era: a.era,
    };
    let s = crate::gen::generate(&opts)?;
    let summary = format!(
        "wrote {} sessions, {} bytes in {}; truth in {}",
        s.sessions,
        s.bytes,
        a.out.display(),
        truth.display()
    );
    Ok(Outcome::ok(summary).with_detail(json!({
        "out": a.out, "truth": truth, "sessions": s.sessions, "bytes": s.bytes,
        "cost_total_micros": s.truth["cost"]["total_micros"],
    })))
}
