//! `claw compaction-backup` and `claw sessions` driven through the binary, on homes built
//! from OpenClaw's formats (JSONL era and SQLite era). Time is injected with --now.

use crate::common::Sandbox;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const A: &str = "8555a0a4-0b79-459d-939c-e17cdbbf4fe2";
const B: &str = "11111111-2222-4333-8444-555555555555";
const C: &str = "99999999-aaaa-4bbb-8ccc-dddddddddddd";

fn sessions_dir(s: &Sandbox) -> PathBuf {
    let d = s.openclaw().join("agents/main/sessions");
    fs::create_dir_all(&d).unwrap();
    d
}

/// One transcript line in OpenClaw's format (assistant message with usage).
fn line(sid: &str, i: usize) -> String {
    format!(
        r#"{{"type":"message","id":"{i:08x}","parentId":null,"timestamp":"2026-11-20T08:00:00.000Z","message":{{"role":"assistant","content":[{{"type":"text","text":"reply {i} of {sid}"}}],"provider":"anthropic","model":"claude-sonnet-4-5","usage":{{"input":10,"output":{i},"cacheRead":0,"cacheWrite":0,"totalTokens":{t},"cost":{{"total":0.001}}}},"stopReason":"stop","timestamp":1772975036308}}}}"#,
        t = 10 + i
    )
}

fn header(sid: &str) -> String {
    format!(
        r#"{{"type":"session","version":3,"id":"{sid}","timestamp":"2026-11-20T08:00:00.000Z","cwd":"/tmp"}}"#
    )
}

fn lines(sid: &str, r: std::ops::Range<usize>) -> Vec<String> {
    r.map(|i| line(sid, i)).collect()
}

fn write_lines(p: &Path, ls: &[String]) {
    let mut t = ls.join("\n");
    t.push('\n');
    fs::write(p, t).unwrap();
}

fn append(p: &Path, ls: &[String]) {
    use std::io::Write;
    let mut f = fs::OpenOptions::new().append(true).open(p).unwrap();
    for l in ls {
        writeln!(f, "{l}").unwrap();
    }
}

fn store_json(s: &Sandbox, entries: &[(&str, &str, i64)]) {
    let mut m = serde_json::Map::new();
    for (key, sid, cc) in entries {
        m.insert(
            key.to_string(),
            serde_json::json!({"sessionId": sid, "updatedAt": 1772975036308i64, "compactionCount": cc,
                "sessionFile": sessions_dir(s).join(format!("{sid}.jsonl")),
                "skillsSnapshot": {"prompt": "x".repeat(200)}}),
        );
    }
    fs::write(
        sessions_dir(s).join("sessions.json"),
        serde_json::to_string_pretty(&m).unwrap(),
    )
    .unwrap();
}

fn backup(s: &Sandbox, now: &str) {
    s.run(&["--now", now, "compaction-backup"]).code(0).silent();
}

/// Every snapshot id the store lists.
fn snapshot_ids(s: &Sandbox) -> Vec<(String, String)> {
    let r = s.run(&["--json", "sessions", "list"]);
    r.code(0);
    let mut out = Vec::new();
    for sess in r.json()["sessions"].as_array().unwrap() {
        for snap in sess["snapshots"].as_array().unwrap() {
            out.push((
                snap["id"].as_str().unwrap().to_string(),
                snap["path"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// Restore every snapshot into its own directory; return every line found.
fn all_restorable_lines(s: &Sandbox) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for (id, path) in snapshot_ids(s) {
        if path.ends_with("sessions.json") {
            continue;
        }
        let dir = s.root().join("restored").join(&id);
        s.run(&[
            "sessions",
            "restore",
            "x",
            "--snapshot",
            &id,
            "--to",
            dir.to_str().unwrap(),
        ])
        .code(0);
        for e in fs::read_dir(&dir).unwrap() {
            let text = fs::read_to_string(e.unwrap().path()).unwrap();
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "restored {id} ends mid-line"
            );
            all.extend(text.lines().map(str::to_string));
        }
    }
    all
}

fn chunk_files(s: &Sandbox) -> BTreeSet<(PathBuf, u64)> {
    let dir = s.state().join("backups/sessions/chunks");
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), e.metadata().unwrap().len()))
        .collect()
}

#[test]
fn every_line_survives_truncation_reset_delete_archive_and_pruning() {
    let s = Sandbox::new();
    let d = sessions_dir(&s);
    let mut ever: BTreeSet<String> = BTreeSet::new();
    let mut a = vec![header(A)];
    a.extend(lines(A, 0..10));
    let mut b = vec![header(B)];
    b.extend(lines(B, 100..104));
    write_lines(&d.join(format!("{A}.jsonl")), &a);
    write_lines(&d.join(format!("{B}.jsonl")), &b);
    fs::write(
        d.join(format!("{A}.jsonl.lock")),
        r#"{"pid":1,"createdAt":"x"}"#,
    )
    .unwrap();
    store_json(
        &s,
        &[
            ("agent:main:main", A, 0),
            (&format!("agent:main:subagent:{B}"), B, 0),
        ],
    );
    ever.extend(a.iter().cloned());
    ever.extend(b.iter().cloned());
    backup(&s, "2026-11-20T08:00:00Z");

    // The transcript grows.
    let more = lines(A, 10..15);
    append(&d.join(format!("{A}.jsonl")), &more);
    ever.extend(more);
    backup(&s, "2026-11-20T08:05:00Z");

    // Compaction with truncateAfterCompaction: the file is rewritten, shorter.
    let compacted = vec![
        header(A),
        r#"{"type":"compaction","id":"c0c0c0c0","parentId":null,"timestamp":"2026-11-20T08:09:00.000Z","summary":"s","firstKeptEntryId":"0000000d","tokensBefore":9000}"#.to_string(),
        line(A, 13),
        line(A, 14),
    ];
    let tmp = d.join(".tmp-rewrite");
    write_lines(&tmp, &compacted);
    fs::rename(&tmp, d.join(format!("{A}.jsonl"))).unwrap();
    store_json(
        &s,
        &[
            ("agent:main:main", A, 1),
            (&format!("agent:main:subagent:{B}"), B, 0),
        ],
    );
    ever.extend(compacted.iter().cloned());
    let after = lines(A, 15..17);
    append(&d.join(format!("{A}.jsonl")), &after);
    ever.extend(after);
    backup(&s, "2026-11-20T08:10:00Z");

    // /reset: the live file is archived and a new session starts.
    fs::rename(
        d.join(format!("{A}.jsonl")),
        d.join(format!("{A}.jsonl.reset.2026-11-20T08-12-00.000Z")),
    )
    .unwrap();
    let c = vec![header(C), line(C, 200)];
    write_lines(&d.join(format!("{C}.jsonl")), &c);
    ever.extend(c);
    store_json(
        &s,
        &[
            ("agent:main:main", C, 0),
            (&format!("agent:main:subagent:{B}"), B, 0),
        ],
    );
    backup(&s, "2026-11-20T08:15:00Z");

    // The subagent is archived as .deleted.
    fs::rename(
        d.join(format!("{B}.jsonl")),
        d.join(format!("{B}.jsonl.deleted.2026-11-20T08-16-00.000Z")),
    )
    .unwrap();
    store_json(&s, &[("agent:main:main", C, 0)]);
    backup(&s, "2026-11-20T08:20:00Z");

    // OpenClaw's maintenance prunes both archives.
    fs::remove_file(d.join(format!("{A}.jsonl.reset.2026-11-20T08-12-00.000Z"))).unwrap();
    fs::remove_file(d.join(format!("{B}.jsonl.deleted.2026-11-20T08-16-00.000Z"))).unwrap();
    backup(&s, "2026-12-30T08:25:00Z");

    // A tight policy still keeps the last copy of files that are gone from OpenClaw.
    s.write_settings("[compaction_backup]\nkeep_last = 1\nmax_age_days = 1\n");
    let plan = s.run(&[
        "--now",
        "2026-12-30T09:00:00Z",
        "--dry-run",
        "compaction-backup",
        "prune",
    ]);
    plan.code(0);
    assert!(
        plan.stdout.contains("gone from OpenClaw"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("remove"), "{}", plan.stdout);
    every_line_restorable_and_reset_cost_no_chunk(&s, &ever);
}

/// Every line ever written is restorable, no `.lock` file was stored, and the reset archive
/// (identical to the last live content) was recorded as a snapshot of the same session.
fn every_line_restorable_and_reset_cost_no_chunk(s: &Sandbox, ever: &BTreeSet<String>) {
    let got = all_restorable_lines(s);
    let missing: Vec<&String> = ever.iter().filter(|l| !got.contains(*l)).collect();
    assert!(missing.is_empty(), "lines lost: {missing:#?}");
    assert!(
        !got.iter().any(|l| l.contains("createdAt")),
        "a .lock file was stored"
    );

    // The reset archive held exactly the last live content: it cost no new chunk.
    let v = s.run(&["--json", "sessions", "list"]).json();
    let a_sess = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["session"] == A)
        .unwrap();
    let kinds: BTreeSet<&str> = a_sess["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["live", "reset"].into_iter().collect());
    assert_eq!(a_sess["key"], "agent:main:main");
}

#[test]
fn a_partial_last_line_is_never_captured() {
    let s = Sandbox::new();
    let d = sessions_dir(&s);
    let p = d.join(format!("{A}.jsonl"));
    let full = lines(A, 0..3);
    let mut text = full.join("\n");
    text.push('\n');
    let half = &line(A, 3)[..40];
    text.push_str(half);
    fs::write(&p, &text).unwrap();
    backup(&s, "2026-11-20T08:00:00Z");
    let out = s.root().join("r1");
    s.run(&["sessions", "restore", A, "--to", out.to_str().unwrap()])
        .code(0);
    let got = fs::read_to_string(out.join(format!("{A}.jsonl"))).unwrap();
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        full.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(got.ends_with('\n'));

    // The writer finishes the line: the next snapshot has it whole.
    let rest = &line(A, 3)[40..];
    fs::write(&p, format!("{text}{rest}\n")).unwrap();
    backup(&s, "2026-11-20T08:05:00Z");
    let out = s.root().join("r2");
    s.run(&["sessions", "restore", A, "--to", out.to_str().unwrap()])
        .code(0);
    let got = fs::read_to_string(out.join(format!("{A}.jsonl"))).unwrap();
    assert_eq!(got.lines().last().unwrap(), line(A, 3));
}

#[test]
fn a_crash_mid_snapshot_keeps_the_previous_one_and_the_next_run_completes() {
    let s = Sandbox::new();
    let d = sessions_dir(&s);
    let p = d.join(format!("{A}.jsonl"));
    let v1 = lines(A, 0..5);
    write_lines(&p, &v1);
    backup(&s, "2026-11-20T08:00:00Z");
    append(&p, &lines(A, 5..9));
    let r = s.run_env(
        &["--now", "2026-11-20T08:05:00Z", "compaction-backup"],
        &[("CLAW_FAULT", "cbackup-mid-snapshot")],
    );
    assert_ne!(r.code, 0, "the fault must stop the run: {}", r.stderr);
    assert!(r.stderr.contains("fault injected"), "{}", r.stderr);

    // The previous snapshot is whole and still the newest.
    let out = s.root().join("r1");
    s.run(&["sessions", "restore", A, "--to", out.to_str().unwrap()])
        .code(0);
    assert_eq!(
        fs::read_to_string(out.join(format!("{A}.jsonl")))
            .unwrap()
            .lines()
            .count(),
        5
    );
    s.run(&["compaction-backup", "verify"]).code(0);

    backup(&s, "2026-11-20T08:10:00Z");
    let out = s.root().join("r2");
    s.run(&["sessions", "restore", A, "--to", out.to_str().unwrap()])
        .code(0);
    assert_eq!(
        fs::read(out.join(format!("{A}.jsonl"))).unwrap(),
        fs::read(&p).unwrap()
    );
    s.run(&["compaction-backup", "verify"]).code(0).silent();
}

#[test]
fn verify_finds_a_flipped_byte() {
    let s = Sandbox::new();
    let d = sessions_dir(&s);
    write_lines(&d.join(format!("{A}.jsonl")), &lines(A, 0..50));
    backup(&s, "2026-11-20T08:00:00Z");
    s.run(&["compaction-backup", "verify"]).code(0).silent();
    let (victim, _) = chunk_files(&s)
        .into_iter()
        .find(|(p, _)| {
            let b = fs::read(p).unwrap();
            zstd::stream::decode_all(&b[..])
                .unwrap()
                .starts_with(b"{\"type\":\"message\"")
        })
        .unwrap();
    let mut bytes = fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs::write(&victim, bytes).unwrap();
    let r = s.run(&["compaction-backup", "verify"]);
    r.code(1);
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(r.stdout.contains(name), "{}", r.stdout);
    assert!(r.stdout.contains("damaged snapshot"), "{}", r.stdout);
}

#[test]
fn an_unchanged_rerun_writes_no_new_chunk_bytes() {
    let s = Sandbox::new();
    let d = sessions_dir(&s);
    let p = d.join(format!("{A}.jsonl"));
    write_lines(&p, &lines(A, 0..200));
    store_json(&s, &[("agent:main:main", A, 0)]);
    backup(&s, "2026-11-20T08:00:00Z");
    let before = chunk_files(&s);
    let manifests_before = snapshot_ids(&s);
    backup(&s, "2026-11-20T08:05:00Z");
    // Touched but not changed: re-read, still nothing new.
    let t = fs::File::options().append(true).open(&p).unwrap();
    t.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(t);
    backup(&s, "2026-11-20T08:10:00Z");
    assert_eq!(chunk_files(&s), before);
    assert_eq!(snapshot_ids(&s), manifests_before);

    // Growth stores only the tail: one new chunk, smaller than the first.
    append(&p, &lines(A, 200..203));
    backup(&s, "2026-11-20T08:15:00Z");
    let after = chunk_files(&s);
    let new: Vec<_> = after.difference(&before).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let first_total: u64 = before.iter().map(|(_, n)| n).sum();
    assert!(
        new[0].1 < first_total,
        "tail chunk {} vs first {}",
        new[0].1,
        first_total
    );
}

#[test]
fn session_option_backs_up_only_that_session() {
    let s = Sandbox::new();
    let d = sessions_dir(&s);
    write_lines(&d.join(format!("{A}.jsonl")), &lines(A, 0..3));
    write_lines(&d.join(format!("{B}.jsonl")), &lines(B, 0..3));
    store_json(
        &s,
        &[
            ("agent:main:main", A, 0),
            (&format!("agent:main:subagent:{B}"), B, 0),
        ],
    );
    s.run(&[
        "--now",
        "2026-11-20T08:00:00Z",
        "compaction-backup",
        "--session",
        "agent:main:main",
    ])
    .code(0)
    .silent();
    let paths: BTreeSet<String> = snapshot_ids(&s).into_iter().map(|(_, p)| p).collect();
    assert!(
        paths.iter().any(|p| p.ends_with(&format!("{A}.jsonl"))),
        "{paths:?}"
    );
    assert!(!paths.iter().any(|p| p.contains(B)), "{paths:?}");
    let r = s.run(&["compaction-backup", "--session", "agent:main:nope"]);
    r.code(66);
}

#[test]
fn symlinks_are_stored_as_links_and_never_followed() {
    let s = Sandbox::new();
    let d = sessions_dir(&s);
    let outside = s.root().join("outside-secret.jsonl");
    fs::write(&outside, "SECRET-CONTENT\n").unwrap();
    std::os::unix::fs::symlink(&outside, d.join(format!("{A}.jsonl"))).unwrap();
    backup(&s, "2026-11-20T08:00:00Z");
    for (p, _) in chunk_files(&s) {
        let b = zstd::stream::decode_all(&fs::read(p).unwrap()[..]).unwrap();
        assert!(
            !String::from_utf8_lossy(&b).contains("SECRET"),
            "link was followed"
        );
    }
    let out = s.root().join("r");
    s.run(&["sessions", "restore", A, "--to", out.to_str().unwrap()])
        .code(0);
    assert_eq!(
        fs::read_link(out.join(format!("{A}.jsonl"))).unwrap(),
        outside
    );
}

#[test]
fn restore_refuses_to_overwrite_a_live_file_without_force() {
    let s = Sandbox::new();
    let d = sessions_dir(&s);
    let p = d.join(format!("{A}.jsonl"));
    write_lines(&p, &lines(A, 0..4));
    backup(&s, "2026-11-20T08:00:00Z");
    write_lines(&p, &lines(A, 2..3));
    let r = s.run(&["sessions", "restore", A]);
    r.code(2);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(fs::read_to_string(&p).unwrap().lines().count(), 1);
    s.run(&["sessions", "restore", A, "--force"]).code(0);
    assert_eq!(fs::read_to_string(&p).unwrap().lines().count(), 4);
}

/// A fake `openclaw` that logs its argv and answers `hooks ... list --json` with the hook
/// `disabled` as given.
fn fake_hooks_openclaw(s: &Sandbox, disabled: bool) -> PathBuf {
    let bin = s.root().join("fake-openclaw");
    let log = s.root().join("openclaw.argv");
    fs::write(
        &bin,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$*\" in *list*) echo '{{\"hooks\":[{{\"name\":\"claw-compaction-backup\",\"eligible\":true,\"disabled\":{disabled}}}]}}' ;; esac\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn install_hook_writes_a_nonblocking_handler_and_enables_it_for_every_agent() {
    let s = Sandbox::new();
    let bin = fake_hooks_openclaw(&s, false);
    s.write_settings(&format!(
        "[general]\nopenclaw_bin = \"{}\"\n",
        bin.display()
    ));
    // Two agents (2026.9.6 refuses a plain `hooks enable` then): enabled per agent.
    fs::write(
        s.openclaw().join("openclaw.json"),
        r#"{"agents": {"ownership": "explicit", "entries": {"alpha": {}, "beta": {}}}}"#,
    )
    .unwrap();
    let r = s.run(&["compaction-backup", "install-hook"]);
    r.code(0);
    assert!(r.stdout.contains("for: alpha, beta"), "{}", r.stdout);
    let argv = fs::read_to_string(s.root().join("openclaw.argv")).unwrap();
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        [
            "hooks --agent alpha enable claw-compaction-backup",
            "hooks --agent beta enable claw-compaction-backup",
            "hooks --agent alpha list --json",
            "hooks --agent beta list --json",
        ]
    );
    let dir = s.openclaw().join("hooks/claw-compaction-backup");
    let md = fs::read_to_string(dir.join("HOOK.md")).unwrap();
    assert!(
        md.contains(r#"metadata: {"openclaw":{"events":["session:compact:before"]}}"#),
        "{md}"
    );
    let js = fs::read_to_string(dir.join("handler.js")).unwrap();
    // Never synchronous inside the gateway's event loop; detached; bounded wait.
    assert!(
        !js.contains("spawnSync") && !js.contains("execSync"),
        "{js}"
    );
    assert!(
        js.contains("detached: true") && js.contains("WAIT_MS"),
        "{js}"
    );
    assert!(
        js.contains("--session") && js.contains("compaction-backup"),
        "{js}"
    );
    // The scheduled jobs' state dir, fixed at install time.
    assert!(
        js.contains(&format!(
            "\"CLAW_STATE_DIR\":{}",
            serde_json::json!(s.state())
        )),
        "{js}"
    );
}

#[test]
fn install_hook_fails_when_openclaw_does_not_list_it_enabled() {
    let s = Sandbox::new();
    let bin = fake_hooks_openclaw(&s, true);
    s.write_settings(&format!(
        "[general]\nopenclaw_bin = \"{}\"\n",
        bin.display()
    ));
    let r = s.run(&["compaction-backup", "install-hook"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("not enabled"), "{}", r.stderr);
    let argv = fs::read_to_string(s.root().join("openclaw.argv")).unwrap();
    assert!(
        argv.starts_with("hooks enable claw-compaction-backup\n"),
        "{argv}"
    );
}

// ---------- SQLite era ----------

fn make_agent_db(path: &Path) -> rusqlite::Connection {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = rusqlite::Connection::open(path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.execute_batch(
        "CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
            created_at INTEGER, event_zstd BLOB, event_utf8_bytes INTEGER, navigation_json TEXT,
            PRIMARY KEY (session_id, seq));
         CREATE TABLE session_windows (session_id TEXT, session_key TEXT, status TEXT, model_provider TEXT,
            model TEXT, spawned_by TEXT, started_at INTEGER, ended_at INTEGER);",
    )
    .unwrap();
    c
}

fn add_events(c: &rusqlite::Connection, sid: &str, ls: &[String], from: i64) {
    for (i, l) in ls.iter().enumerate() {
        let seq = from + i as i64;
        if i % 2 == 1 {
            let z = zstd::stream::encode_all(l.as_bytes(), 3).unwrap();
            c.execute(
                "INSERT INTO transcript_events (session_id, seq, event_json, event_zstd, event_utf8_bytes) VALUES (?1, ?2, NULL, ?3, ?4)",
                rusqlite::params![sid, seq, z, l.len() as i64],
            )
            .unwrap();
        } else {
            c.execute(
                "INSERT INTO transcript_events (session_id, seq, event_json) VALUES (?1, ?2, ?3)",
                rusqlite::params![sid, seq, l],
            )
            .unwrap();
        }
    }
}

#[test]
fn sqlite_era_snapshots_with_the_online_backup_api_and_restores_jsonl() {
    let s = Sandbox::new();
    let db = s.openclaw().join("agents/main/agent/openclaw-agent.sqlite");
    let c = make_agent_db(&db);
    c.execute(
        "INSERT INTO session_windows (session_id, session_key, status, started_at) VALUES (?1, 'agent:main:main', 'running', 1)",
        [A],
    )
    .unwrap();
    let mut want = vec![header(A)];
    want.extend(lines(A, 0..6));
    add_events(&c, A, &want, 0);
    add_events(&c, B, &lines(B, 0..2), 0);
    // The writer keeps its connection (and uncheckpointed WAL) open during the backup.
    assert!(Path::new(&format!("{}-wal", db.display())).exists());
    let global = s.openclaw().join("state/openclaw.sqlite");
    make_agent_db(&global);
    backup(&s, "2026-11-20T08:00:00Z");

    let out = s.root().join("r1");
    s.run(&[
        "sessions",
        "restore",
        "agent:main:main",
        "--to",
        out.to_str().unwrap(),
    ])
    .code(0);
    let got = fs::read_to_string(out.join(format!("{A}.jsonl"))).unwrap();
    assert_eq!(got.lines().map(str::to_string).collect::<Vec<_>>(), want);

    // Unchanged database: no new snapshot. A change: a new one, and the old one still restores.
    let n0 = snapshot_ids(&s).len();
    backup(&s, "2026-11-20T08:05:00Z");
    assert_eq!(snapshot_ids(&s).len(), n0);
    let more = lines(A, 6..9);
    add_events(&c, A, &more, 7);
    backup(&s, "2026-11-20T08:10:00Z");
    assert_eq!(snapshot_ids(&s).len(), n0 + 1);
    let out = s.root().join("r2");
    s.run(&["sessions", "restore", A, "--to", out.to_str().unwrap()])
        .code(0);
    let got = fs::read_to_string(out.join(format!("{A}.jsonl"))).unwrap();
    assert_eq!(got.lines().count(), want.len() + more.len());
    // A SQLite-era session has no JSONL file to go back to: --to is required.
    s.run(&["sessions", "restore", A]).code(2);
    s.run(&["compaction-backup", "verify"]).code(0).silent();
    drop(c);
}
