//! The layering rule, checked on the source so it cannot regress: arrows point down.
//!
//! ```text
//! main.rs -> app.rs (dispatcher) -> cmd/<job> -> everything else (ctx, ledger, openclaw, notify, ...)
//! ```
//! Nothing below the dispatcher names it; nothing below `cmd/` names `cmd/`; a job never
//! reaches into another job (shared pieces move down instead).

use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("read src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// (path relative to `src/`, text) of every source file.
fn all() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            (rel, fs::read_to_string(&p).expect("read source"))
        })
        .collect()
}

/// Lines of code (comments dropped) that mention `needle`.
fn mentions<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| l.contains(needle))
        .collect()
}

/// The job a file under `cmd/` belongs to (`cmd/cost/budget.rs` -> `cost`).
fn job_of(rel: &str) -> Option<&str> {
    let rest = rel.strip_prefix("cmd/")?;
    let first = rest.split('/').next()?;
    Some(first.strip_suffix(".rs").unwrap_or(first))
}

#[test]
fn nothing_below_the_dispatcher_imports_it() {
    let files = all();
    assert!(files.len() > 20, "found the sources");
    let mut bad = Vec::new();
    for (rel, text) in &files {
        if rel == "app.rs" || rel == "main.rs" || rel == "lib.rs" || rel == "layers.rs" {
            continue;
        }
        for l in mentions(text, "crate::app")
            .into_iter()
            .chain(mentions(text, "app::"))
        {
            bad.push(format!("{rel}: {}", l.trim()));
        }
    }
    assert!(
        bad.is_empty(),
        "modules below app.rs import it:\n{}",
        bad.join("\n")
    );
}

#[test]
fn nothing_below_cmd_imports_a_job() {
    let mut bad = Vec::new();
    for (rel, text) in all() {
        if rel == "app.rs" || rel == "layers.rs" || rel.starts_with("cmd/") {
            continue;
        }
        for l in mentions(&text, "cmd::") {
            bad.push(format!("{rel}: {}", l.trim()));
        }
    }
    assert!(
        bad.is_empty(),
        "modules below cmd/ import a job:\n{}",
        bad.join("\n")
    );
}

/// Known crossings still to move down, each named exactly (any other crossing fails).
const KNOWN_CROSSINGS: &[&str] = &[];

#[test]
fn no_job_reaches_into_another() {
    let mut bad = Vec::new();
    for (rel, text) in all() {
        let Some(job) = job_of(&rel) else { continue };
        for l in mentions(&text, "crate::cmd::") {
            if KNOWN_CROSSINGS.contains(&format!("{rel}: {}", l.trim()).as_str()) {
                continue;
            }
            let other = l.split("crate::cmd::").nth(1).unwrap_or("");
            let other = other
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next();
            if other != Some(job) {
                bad.push(format!("{rel}: {}", l.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "jobs reach into other jobs:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_checks_can_fail() {
    assert_eq!(
        mentions("use crate::app::Ctx;\n// crate::app", "crate::app").len(),
        1
    );
    assert_eq!(job_of("cmd/cost/budget.rs"), Some("cost"));
    assert_eq!(job_of("cmd/tick.rs"), Some("tick"));
    assert_eq!(job_of("watch.rs"), None);
}

/// Files that still reach the ledger's connection directly (`.conn`) instead of going through
/// `Ledger` helpers and their job's `store.rs`. The list may only shrink: once it is empty
/// outside `ledger/`, the connection becomes private.
const CONN_USERS: &[&str] = &[
    "cmd/cbackup/mod.rs",
    "cmd/cbackup/retention.rs",
    "cmd/config/mod.rs",
    "cmd/cost/budget.rs",
    "cmd/cost/mod.rs",
    "cmd/cost/pricing.rs",
    "cmd/cost/report.rs",
    "cmd/cost/sqlite.rs",
    "cmd/ratelimit/actions.rs",
    "cmd/ratelimit/degrade/store.rs",
    "cmd/ratelimit/mod.rs",
    "cmd/stuck/mod.rs",
    "cmd/tick.rs",
    "cmd/tunnel/mod.rs",
    "cmd/tunnel/store.rs",
    "gateway/store.rs",
    "jobs.rs",
    "notify/mod.rs",
];

#[test]
fn the_ledger_connection_is_used_only_where_listed() {
    let mut users: Vec<String> = all()
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("ledger/") && rel != "layers.rs")
        .filter(|(_, text)| !mentions(text, ".conn").is_empty())
        .map(|(rel, _)| rel)
        .collect();
    users.sort();
    let new: Vec<&String> = users
        .iter()
        .filter(|u| !CONN_USERS.contains(&u.as_str()))
        .collect();
    assert!(
        new.is_empty(),
        "new direct uses of Ledger.conn (put the queries in the job's store.rs): {new:?}"
    );
    let gone: Vec<&&str> = CONN_USERS
        .iter()
        .filter(|c| !users.iter().any(|u| u == *c))
        .collect();
    assert!(
        gone.is_empty(),
        "no longer use Ledger.conn: remove them from CONN_USERS: {gone:?}"
    );
}

#[test]
fn only_http_rs_names_ureq() {
    let bad: Vec<String> = all()
        .into_iter()
        .filter(|(rel, _)| rel != "http.rs" && rel != "layers.rs")
        .flat_map(|(rel, text)| {
            mentions(&text, "ureq::")
                .into_iter()
                .map(|l| format!("{rel}: {}", l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        bad.is_empty(),
        "HTTP outside src/http.rs:\n{}",
        bad.join("\n")
    );
}
