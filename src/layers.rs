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

/// (`prefix` + path relative to `root`, text) of every source file under `root`.
fn read_tree(root: &Path, prefix: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    sources(root, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy();
            let text = fs::read_to_string(&p).expect("read source");
            (format!("{prefix}{rel}"), text)
        })
        .collect()
}

/// (path relative to `src/`, text) of every source file.
fn all() -> Vec<(String, String)> {
    read_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "")
}

/// (`gen/src/...`, text) of the test-data generator's sources. Only the function-length check
/// reads them: the generator writes OpenClaw's own SQLite databases on purpose, and it is no
/// part of claw's layers.
fn gen_sources() -> Vec<(String, String)> {
    read_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("gen/src"),
        "gen/src/",
    )
}

/// (`tests/it/...`, text) of the integration tests' sources. Only the function-length check
/// reads them: a test's steps are named helpers too, so a failure points at one of them.
fn test_sources() -> Vec<(String, String)> {
    read_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it"),
        "tests/it/",
    )
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

/// Files that reach the ledger's connection directly (`.conn`) instead of going through
/// `Ledger::read` / `Ledger::immediate` and their job's `store.rs`. Empty, and the field is
/// private: this keeps it so should it ever be widened to `pub(crate)` again.
const CONN_USERS: &[&str] = &[];

#[test]
fn the_ledger_connection_is_private() {
    let ledger = all()
        .into_iter()
        .find(|(rel, _)| rel == "ledger/mod.rs")
        .expect("ledger/mod.rs");
    assert!(
        mentions(&ledger.1, "conn: Connection")
            .iter()
            .all(|l| !l.contains("pub")),
        "Ledger's connection must stay private"
    );
}

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

/// Does this line start (or continue) an SQL statement inside a string literal? Matches the
/// statement keywords at the start of a literal or of a continued literal's line, so a word
/// such as `"DELETE"` in a list of HTTP methods is not SQL.
fn is_sql(line: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r#"(^|"|r#")\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|REPLACE|PRAGMA|BEGIN|COMMIT|ROLLBACK|WITH|VACUUM|ATTACH)\s"#,
        )
        .unwrap()
    })
    .is_match(line.trim_start())
}

/// Where SQL may live: the ledger layer, the per-job `store.rs` files (and a `store/` module),
/// and `openclaw/`, which owns OpenClaw's own databases.
fn may_hold_sql(rel: &str) -> bool {
    rel.starts_with("ledger/")
        || rel.starts_with("openclaw/")
        || rel.ends_with("/store.rs")
        || rel.contains("/store/")
        || rel == "layers.rs"
}

/// Files that still hold SQL outside the ledger layer. The list may only shrink.
const SQL_OUTSIDE: &[&str] = &[];

#[test]
fn sql_lives_only_in_the_ledger_layer() {
    let mut holders: Vec<String> = all()
        .into_iter()
        .filter(|(rel, _)| !may_hold_sql(rel))
        .filter(|(_, text)| {
            text.lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .any(is_sql)
        })
        .map(|(rel, _)| rel)
        .collect();
    holders.sort();
    let new: Vec<&String> = holders
        .iter()
        .filter(|h| !SQL_OUTSIDE.contains(&h.as_str()))
        .collect();
    assert!(
        new.is_empty(),
        "SQL outside src/ledger/, the jobs' store.rs and src/openclaw/: {new:?}"
    );
    let gone: Vec<&&str> = SQL_OUTSIDE
        .iter()
        .filter(|s| !holders.iter().any(|h| h == *s))
        .collect();
    assert!(
        gone.is_empty(),
        "no longer hold SQL: remove them from SQL_OUTSIDE: {gone:?}"
    );
}

/// `(file, fn, lines)` of every function body longer than `max` lines, found by indentation
/// (rustfmt puts a function's closing brace at its own indentation).
fn long_functions(rel: &str, text: &str, max: usize) -> Vec<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)").unwrap()
    });
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(c) = re.captures(l) else { continue };
        if l.trim_end().ends_with(';') {
            continue;
        }
        let close = format!("{}}}", &c[1]);
        let Some(end) = lines[i + 1..].iter().position(|x| x.trim_end() == close) else {
            continue;
        };
        if end + 2 > max {
            out.push(format!("{rel}::{}", &c[6]));
        }
    }
    out
}

/// Functions still over 120 lines. The list may only shrink.
const LONG_FUNCTIONS: &[&str] = &[];

/// Flat lookup tables allowed past the limit (at most two, by the architecture rule).
const LOOKUP_TABLES: &[&str] = &[];

/// The functions over 120 lines in `files`, sorted, lookup tables left out.
fn long_in(files: Vec<(String, String)>) -> Vec<String> {
    let mut long: Vec<String> = files
        .into_iter()
        .flat_map(|(rel, text)| long_functions(&rel, &text, 120))
        .filter(|f| !LOOKUP_TABLES.contains(&f.as_str()))
        .collect();
    long.sort();
    long
}

#[test]
fn no_function_is_over_120_lines() {
    assert!(LOOKUP_TABLES.len() <= 2, "at most two lookup tables");
    let gen = gen_sources();
    assert!(
        gen.iter().any(|(rel, _)| rel == "gen/src/lib.rs"),
        "found the generator's sources"
    );
    let tests = test_sources();
    assert!(
        tests.iter().any(|(rel, _)| rel == "tests/it/main.rs"),
        "found the integration tests' sources"
    );
    let long = long_in(all().into_iter().chain(gen).chain(tests).collect());
    let new: Vec<&String> = long
        .iter()
        .filter(|f| !LONG_FUNCTIONS.contains(&f.as_str()))
        .collect();
    assert!(new.is_empty(), "functions over 120 lines: {new:?}");
    let gone: Vec<&&str> = LONG_FUNCTIONS
        .iter()
        .filter(|f| !long.iter().any(|l| l == *f))
        .collect();
    assert!(
        gone.is_empty(),
        "now 120 lines or fewer: remove them from LONG_FUNCTIONS: {gone:?}"
    );
}

#[test]
fn the_source_checks_can_fail() {
    assert!(is_sql(r#"        "SELECT a FROM b WHERE c = ?1","#));
    assert!(is_sql("             DELETE FROM x"));
    assert!(!is_sql(r#"const M: &[&str] = &["GET", "DELETE"];"#));
    let body = format!(
        "fn big() {{\n{}}}\nfn small() {{\n}}\n",
        "    x();\n".repeat(130)
    );
    assert_eq!(long_functions("a.rs", &body, 120), vec!["a.rs::big"]);
    // The generator's files are read, named under `gen/src/`, and a long function there fails.
    let gen = gen_sources();
    assert!(gen
        .iter()
        .any(|(rel, text)| rel == "gen/src/lib.rs" && text.contains("fn write_agents(")));
    assert_eq!(
        long_in(vec![("gen/src/a.rs".into(), body.clone())]),
        vec!["gen/src/a.rs::big"]
    );
    // So are the integration tests', under `tests/it/`.
    assert!(test_sources()
        .iter()
        .any(|(rel, text)| rel == "tests/it/main.rs" && text.contains("mod common;")));
    assert_eq!(
        long_in(vec![("tests/it/a.rs".into(), body)]),
        vec!["tests/it/a.rs::big"]
    );
}
