//! The stuck-run classifier: pure, no I/O. One run's facts in (its `runs.json` record, its
//! session entry, its last transcript entries, its lock, gateway log hints), one [`Verdict`]
//! out: a [`Class`] and the evidence that decided it, in words an operator can check.

use chrono::{DateTime, Duration, Utc};

/// What a run is doing, as far as its files tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Progressing,
    Finished,
    Idle,
    WaitingInput,
    WaitingPermission,
    ErrorLoop,
    PastTimeout,
    Orphaned,
}

impl Class {
    pub const ALL: [Class; 8] = [
        Class::Progressing,
        Class::Finished,
        Class::Idle,
        Class::WaitingInput,
        Class::WaitingPermission,
        Class::ErrorLoop,
        Class::PastTimeout,
        Class::Orphaned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Progressing => "progressing",
            Class::Finished => "finished",
            Class::Idle => "idle",
            Class::WaitingInput => "waiting_input",
            Class::WaitingPermission => "waiting_permission",
            Class::ErrorLoop => "error_loop",
            Class::PastTimeout => "past_timeout",
            Class::Orphaned => "orphaned",
        }
    }

    /// Every class but progressing and finished needs someone's attention.
    pub fn is_stuck(self) -> bool {
        !matches!(self, Class::Progressing | Class::Finished)
    }
}

/// The `runs.json` record (times in epoch ms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFacts {
    pub run_id: String,
    pub created_at: Option<i64>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub outcome: Option<String>,
    /// 0 or absent: no timeout (OpenClaw's default).
    pub run_timeout_secs: Option<u64>,
    /// The session that spawned the run, when it is in no agent's session store any more:
    /// nobody is left to receive the run's result.
    pub requester_gone: Option<String>,
    /// The gateway's newest boot (epoch ms), when it started after this run did: the process
    /// that ran it is gone (2026.7.1 leaves such runs "running" after a restart).
    pub gateway_boot_after_start: Option<i64>,
}

/// The session behind a run, from `sessions.json` or `session_windows`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionFacts {
    /// `running`, `done`, `failed`, `killed`, `timeout`, or absent.
    pub status: Option<String>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub updated_at: Option<i64>,
}

/// One of the last transcript entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TailEntry {
    pub at: Option<DateTime<Utc>>,
    /// `message`, `compaction`, `custom`, ...
    pub kind: String,
    /// `user`, `assistant`, `toolResult`, ... for messages.
    pub role: Option<String>,
    pub stop_reason: Option<String>,
    pub error_message: Option<String>,
    /// The assistant's visible text (text blocks joined), truncated by the reader.
    pub text: String,
}

impl TailEntry {
    fn is_assistant(&self) -> bool {
        self.kind == "message" && self.role.as_deref() == Some("assistant")
    }
    fn is_error(&self) -> bool {
        self.stop_reason.as_deref() == Some("error")
            || (self.error_message.is_some() && self.stop_reason.as_deref() != Some("stop"))
    }
}

/// The transcript's `<sid>.jsonl.lock`.
#[derive(Debug, Clone, PartialEq)]
pub struct LockFacts {
    pub pid: i64,
    pub alive: bool,
}

/// Everything known about one run.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// None for a session found without a run record.
    pub run: Option<RunFacts>,
    /// None when neither the store nor `session_windows` has the session.
    pub session: Option<SessionFacts>,
    /// Whether a transcript (file or `transcript_events` rows) exists.
    pub transcript: bool,
    /// Last entries, oldest first.
    pub tail: Vec<TailEntry>,
    /// Transcript file mtime (epoch ms), when there is a file.
    pub transcript_mtime: Option<i64>,
    pub lock: Option<LockFacts>,
    /// `stuck session:` / `lane wait exceeded` log lines about this session (redacted).
    pub log_hints: Vec<String>,
}

/// Limits that decide the class.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// No new entry for longer than this: idle.
    pub idle: Duration,
    /// This many last assistant messages all errors: error loop.
    pub error_loop: usize,
    /// A question or request must have been unanswered this long.
    pub waiting_after: Duration,
    /// A run without a session is orphaned only after this long (spawning takes a moment).
    pub orphan_grace: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            idle: Duration::minutes(9),
            error_loop: 3,
            waiting_after: Duration::seconds(60),
            orphan_grace: Duration::seconds(120),
        }
    }
}

/// A class and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub class: Class,
    pub evidence: Vec<String>,
    /// The newest sign of life (entry time, file mtime, session update, start).
    pub last_activity: Option<DateTime<Utc>>,
}

fn ms(t: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t)
}

fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds();
    if s < 0 {
        return format!("{}s in the future", -s);
    }
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

const PERMISSION: &[&str] = &[
    "permission",
    "approve",
    "approval",
    "authorize",
    "authorise",
    "allowed to",
    "allow me to",
    "may i ",
    "ok to proceed",
    "okay to proceed",
    "confirm before",
    "green light",
];

const ASKS: &[&str] = &[
    "let me know",
    "please confirm",
    "please advise",
    "please provide",
    "please clarify",
    "waiting for",
    "wait for your",
    "i'll wait",
    "i will wait",
    "awaiting",
    "should i ",
    "shall i ",
    "would you like",
    "do you want",
    "which option",
    "your input",
    "your decision",
    "before i proceed",
    "before proceeding",
];

/// Does this assistant text ask for permission?
pub fn asks_permission(text: &str) -> bool {
    let t = text.to_lowercase();
    PERMISSION.iter().any(|p| t.contains(p))
}

/// Does this assistant text ask the user something or say it waits?
pub fn asks_input(text: &str) -> bool {
    let t = text.to_lowercase();
    let last = t.trim_end();
    last.ends_with('?') || last.ends_with('？') || ASKS.iter().any(|p| t.contains(p))
}

/// Classify one run. Order matters: an ended run is finished whatever its transcript says; a
/// run whose session or writer is gone is orphaned before anything else is judged; its own
/// timeout comes next; then what its last entries say; then plain silence.
pub fn classify(f: &Facts, now: DateTime<Utc>, th: &Thresholds) -> Verdict {
    let (last_activity, skew) = activity(f, now);
    let session_end = session_end(f);
    let (class, mut evidence) = finished(f, session_end.as_deref())
        .or_else(|| orphaned(f, now, th, last_activity, session_end.as_deref()))
        .or_else(|| past_timeout(f, now))
        .or_else(|| from_tail(f, now, th, last_activity))
        .unwrap_or_else(|| silence(f, now, th, last_activity));
    evidence.extend(skew);
    Verdict {
        class,
        evidence,
        last_activity,
    }
}

/// A class and its evidence, from one of the checks `classify` runs in order.
type Found = (Class, Vec<String>);

/// The newest sign of life at or before `now`, and the signs after `now` as evidence. A time
/// after `now` is a skewed clock or a copied file, not activity: counting it would keep a hung
/// run "progressing" until the clock catches up. It is ignored and reported.
fn activity(f: &Facts, now: DateTime<Utc>) -> (Option<DateTime<Utc>>, Option<String>) {
    let last_entry = f.tail.iter().rev().find_map(|e| e.at);
    let signs = [
        ("last entry", last_entry),
        ("transcript mtime", f.transcript_mtime.and_then(ms)),
        (
            "session updatedAt",
            f.session.as_ref().and_then(|s| s.updated_at).and_then(ms),
        ),
        (
            "session startedAt",
            f.session.as_ref().and_then(|s| s.started_at).and_then(ms),
        ),
        (
            "run startedAt",
            f.run.as_ref().and_then(|r| r.started_at).and_then(ms),
        ),
        (
            "run createdAt",
            f.run.as_ref().and_then(|r| r.created_at).and_then(ms),
        ),
    ];
    let last_activity = signs
        .iter()
        .filter_map(|(_, t)| *t)
        .filter(|t| *t <= now)
        .max();
    let future: Vec<String> = signs
        .iter()
        .filter_map(|(what, t)| t.filter(|t| *t > now).map(|t| (what, t)))
        .map(|(what, t)| format!("{what} {}", ago(now, t)))
        .collect();
    let skew =
        (!future.is_empty()).then(|| format!("ignored times after now: {}", future.join(", ")));
    (last_activity, skew)
}

/// "session ended (...)" when the session's status or end time says it ended.
fn session_end(f: &Facts) -> Option<String> {
    f.session.as_ref().and_then(|s| {
        let st = s.status.as_deref().unwrap_or("");
        if s.ended_at.is_some() || matches!(st, "done" | "failed" | "killed" | "timeout") {
            Some(format!(
                "session ended (status {}{})",
                if st.is_empty() { "-" } else { st },
                s.ended_at
                    .and_then(ms)
                    .map(|t| format!(", endedAt {}", t.to_rfc3339()))
                    .unwrap_or_default()
            ))
        } else {
            None
        }
    })
}

/// Finished: the run record says so (or, with no record, the session does).
fn finished(f: &Facts, session_end: Option<&str>) -> Option<Found> {
    match &f.run {
        Some(r) if r.ended_at.is_some() || r.outcome.is_some() => {
            let e = format!(
                "run ended{}{}",
                r.outcome
                    .as_deref()
                    .map(|o| format!(" with outcome {o}"))
                    .unwrap_or_default(),
                r.ended_at
                    .and_then(ms)
                    .map(|t| format!(" at {}", t.to_rfc3339()))
                    .unwrap_or_default()
            );
            Some((Class::Finished, vec![e]))
        }
        Some(_) => None,
        None => session_end.map(|e| (Class::Finished, vec![e.to_string()])),
    }
}

/// Orphaned: a run with no endedAt whose session is gone or ended, or whose writer died.
fn orphaned(
    f: &Facts,
    now: DateTime<Utc>,
    th: &Thresholds,
    last_activity: Option<DateTime<Utc>>,
    session_end: Option<&str>,
) -> Option<Found> {
    let mut ev = Vec::new();
    if let Some(r) = &f.run {
        let born = r.started_at.or(r.created_at).and_then(ms);
        let old_enough = born.is_none_or(|b| now - b > th.orphan_grace);
        if let Some(e) = session_end {
            ev.push(format!("run has no endedAt but its {e}"));
        } else if f.session.is_none() && !f.transcript && old_enough {
            ev.push(format!(
                "run has no endedAt but its session is gone (no store entry, no transcript){}",
                born.map(|b| format!("; started {} ago", ago(now, b)))
                    .unwrap_or_default()
            ));
        }
        if let Some(boot) = r.gateway_boot_after_start.and_then(ms) {
            // Nothing written since the restart: the run died with the old gateway.
            if last_activity.is_none_or(|t| t < boot) {
                ev.push(format!(
                    "run has no endedAt but the gateway restarted at {} after it started, and it wrote nothing since",
                    boot.to_rfc3339()
                ));
            }
        }
        if let Some(parent) = r.requester_gone.as_ref().filter(|_| old_enough) {
            ev.push(format!(
                "run has no endedAt but the session that spawned it ({parent}) is gone"
            ));
        }
    }
    if let Some(l) = &f.lock {
        if !l.alive {
            ev.push(format!(
                "transcript lock held by pid {} which is dead",
                l.pid
            ));
        }
    }
    (!ev.is_empty()).then_some((Class::Orphaned, ev))
}

/// Past its own timeout.
fn past_timeout(f: &Facts, now: DateTime<Utc>) -> Option<Found> {
    let r = f.run.as_ref()?;
    let t = r.run_timeout_secs.filter(|t| *t > 0)?;
    let start = r.started_at.or(r.created_at).and_then(ms)?;
    let limit = Duration::seconds(t.min(i64::MAX as u64 / 1000) as i64);
    (now - start > limit).then(|| {
        (
            Class::PastTimeout,
            vec![format!(
                "running {} with runTimeoutSeconds {t}",
                ago(now, start)
            )],
        )
    })
}

/// What the last entries say: an error loop, or a question left unanswered.
fn from_tail(
    f: &Facts,
    now: DateTime<Utc>,
    th: &Thresholds,
    last_activity: Option<DateTime<Utc>>,
) -> Option<Found> {
    let assistants: Vec<&TailEntry> = f.tail.iter().filter(|e| e.is_assistant()).collect();
    let k = th.error_loop.max(1);
    if assistants.len() >= k
        && assistants[assistants.len() - k..]
            .iter()
            .all(|e| e.is_error())
    {
        let last = assistants[assistants.len() - 1];
        let e = format!(
            "last {k} assistant messages are errors{}",
            last.error_message
                .as_deref()
                .map(|m| format!(": {}", crate::redact::excerpt(m, 160)))
                .unwrap_or_default()
        );
        return Some((Class::ErrorLoop, vec![e]));
    }
    let last = f.tail.last()?;
    let waited = last_activity.is_some_and(|t| now - t >= th.waiting_after);
    let ended_turn = !matches!(
        last.stop_reason.as_deref(),
        Some("toolUse") | Some("error") | Some("aborted")
    );
    if !(last.is_assistant() && ended_turn && waited && !last.text.trim().is_empty()) {
        return None;
    }
    let quote = crate::redact::excerpt_tail(last.text.trim(), 160);
    let since = last_activity.map(|t| ago(now, t)).unwrap_or_default();
    if asks_permission(&last.text) {
        return Some((
            Class::WaitingPermission,
            vec![format!(
                "last assistant message asks for permission, unanswered for {since}: \"{quote}\""
            )],
        ));
    }
    asks_input(&last.text).then(|| {
        (
            Class::WaitingInput,
            vec![format!(
                "last assistant message waits for input, unanswered for {since}: \"{quote}\""
            )],
        )
    })
}

/// Silence: idle past the threshold, else progressing.
fn silence(
    f: &Facts,
    now: DateTime<Utc>,
    th: &Thresholds,
    last_activity: Option<DateTime<Utc>>,
) -> Found {
    let Some(t) = last_activity else {
        return (Class::Progressing, vec![]);
    };
    if now - t > th.idle {
        let mut ev = vec![format!(
            "no new entry for {} (threshold {}m)",
            ago(now, t),
            th.idle.num_minutes()
        )];
        ev.extend(f.log_hints.iter().cloned());
        return (Class::Idle, ev);
    }
    (
        Class::Progressing,
        vec![format!("last activity {} ago", ago(now, t))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-08-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }
    fn at(mins_ago: i64) -> DateTime<Utc> {
        now() - Duration::minutes(mins_ago)
    }
    fn ms_ago(mins: i64) -> i64 {
        at(mins).timestamp_millis()
    }
    fn running(mins_ago: i64) -> Facts {
        Facts {
            run: Some(RunFacts {
                run_id: "r1".into(),
                created_at: Some(ms_ago(mins_ago)),
                started_at: Some(ms_ago(mins_ago)),
                ..Default::default()
            }),
            session: Some(SessionFacts {
                status: Some("running".into()),
                ..Default::default()
            }),
            transcript: true,
            ..Default::default()
        }
    }
    fn assistant(mins_ago: i64, text: &str, stop: &str) -> TailEntry {
        TailEntry {
            at: Some(at(mins_ago)),
            kind: "message".into(),
            role: Some("assistant".into()),
            stop_reason: Some(stop.into()),
            error_message: (stop == "error").then(|| "429 rate_limit_error".to_string()),
            text: text.into(),
        }
    }
    fn user(mins_ago: i64) -> TailEntry {
        TailEntry {
            at: Some(at(mins_ago)),
            kind: "message".into(),
            role: Some("user".into()),
            ..Default::default()
        }
    }
    fn class(f: &Facts) -> Class {
        classify(f, now(), &Thresholds::default()).class
    }

    #[test]
    fn progressing_while_entries_are_recent() {
        let mut f = running(30);
        f.tail = vec![user(3), assistant(1, "Reading the files now.", "toolUse")];
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::Progressing);
        assert_eq!(v.last_activity, Some(at(1)));
    }

    #[test]
    fn finished_by_run_record_whatever_the_transcript() {
        let mut f = running(30);
        f.run.as_mut().unwrap().ended_at = Some(ms_ago(20));
        f.run.as_mut().unwrap().outcome = Some("ok".into());
        f.tail = vec![assistant(25, "Shall I continue?", "stop")];
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::Finished);
        assert!(v.evidence[0].contains("outcome ok"), "{:?}", v.evidence);
        // A session without a run record is finished when the session ended.
        let f = Facts {
            session: Some(SessionFacts {
                status: Some("done".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(class(&f), Class::Finished);
    }

    #[test]
    fn a_time_after_now_is_not_activity_and_is_reported() {
        // A transcript touched "in the future" (a skewed clock, a copied home) must not keep
        // a silent run progressing.
        let mut f = running(60);
        f.tail = vec![assistant(20, "Working on it.", "toolUse")];
        f.transcript_mtime = Some(ms_ago(-600));
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::Idle);
        assert_eq!(v.last_activity, Some(at(20)));
        assert!(
            v.evidence
                .iter()
                .any(|e| e
                    .contains("ignored times after now: transcript mtime 36000s in the future")),
            "{:?}",
            v.evidence
        );
        f.transcript_mtime = Some(ms_ago(1));
        assert_eq!(class(&f), Class::Progressing);
    }

    #[test]
    fn idle_after_the_threshold_and_not_before() {
        let mut f = running(60);
        f.tail = vec![user(12), assistant(10, "Working on it.", "toolUse")];
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::Idle);
        assert!(v.evidence[0].contains("10m00s"), "{:?}", v.evidence);
        f.tail = vec![assistant(8, "Working on it.", "toolUse")];
        assert_eq!(class(&f), Class::Progressing);
        // Per-run threshold.
        let th = Thresholds {
            idle: Duration::minutes(5),
            ..Default::default()
        };
        assert_eq!(classify(&f, now(), &th).class, Class::Idle);
        // Without any entry, the file mtime or start time counts.
        let mut f = running(20);
        f.transcript_mtime = Some(ms_ago(2));
        assert_eq!(class(&f), Class::Progressing);
        f.transcript_mtime = None;
        assert_eq!(class(&f), Class::Idle);
    }

    #[test]
    fn waiting_for_input_and_permission() {
        let mut f = running(30);
        f.tail = vec![assistant(
            2,
            "I found two configs. Which one should I use?",
            "stop",
        )];
        assert_eq!(class(&f), Class::WaitingInput);
        f.tail = vec![assistant(
            2,
            "Done with step 1. I'll wait for your go.",
            "stop",
        )];
        assert_eq!(class(&f), Class::WaitingInput);
        f.tail = vec![assistant(
            2,
            "This deletes the cache. Do I have your permission to proceed?",
            "stop",
        )];
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::WaitingPermission);
        assert!(v.evidence[0].contains("permission"), "{:?}", v.evidence);
        // Just written: not waiting yet.
        f.tail = vec![TailEntry {
            at: Some(now() - Duration::seconds(10)),
            ..assistant(0, "Should I go on?", "stop")
        }];
        assert_eq!(class(&f), Class::Progressing);
        // A question in a tool-calling turn is not a wait; a statement is not a question.
        f.tail = vec![assistant(2, "Should I go on?", "toolUse")];
        assert_eq!(class(&f), Class::Progressing);
        f.tail = vec![assistant(2, "All done, summary written.", "stop")];
        assert_eq!(class(&f), Class::Progressing);
        // Answered by the user since: not waiting.
        f.tail = vec![assistant(3, "Should I go on?", "stop"), user(2)];
        assert_eq!(class(&f), Class::Progressing);
    }

    #[test]
    fn error_loop_needs_k_errors_in_a_row() {
        let mut f = running(30);
        f.tail = vec![
            assistant(4, "", "error"),
            user(3),
            assistant(3, "", "error"),
            assistant(2, "", "error"),
        ];
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::ErrorLoop);
        assert!(v.evidence[0].contains("429"), "{:?}", v.evidence);
        f.tail[2] = assistant(3, "ok", "stop");
        assert_eq!(class(&f), Class::Progressing);
        f.tail = vec![assistant(3, "", "error"), assistant(2, "", "error")];
        assert_eq!(class(&f), Class::Progressing);
    }

    #[test]
    fn past_its_own_timeout() {
        let mut f = running(20);
        f.tail = vec![assistant(0, "still going", "toolUse")];
        f.run.as_mut().unwrap().run_timeout_secs = Some(600);
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::PastTimeout);
        assert!(v.evidence[0].contains("600"), "{:?}", v.evidence);
        f.run.as_mut().unwrap().run_timeout_secs = Some(0);
        assert_eq!(class(&f), Class::Progressing);
        f.run.as_mut().unwrap().run_timeout_secs = Some(1500);
        assert_eq!(class(&f), Class::Progressing);
    }

    #[test]
    fn orphaned_when_the_gateway_restarted_and_the_run_wrote_nothing_since() {
        // 2026.7.1 after a restart: the run still says running, its last entry is older
        // than the gateway's boot.
        let mut f = running(30);
        f.tail = vec![assistant(4, "x", "toolUse")];
        assert_eq!(class(&f), Class::Progressing);
        f.run.as_mut().unwrap().gateway_boot_after_start = Some(ms_ago(2));
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::Orphaned);
        assert!(
            v.evidence[0].contains("gateway restarted"),
            "{:?}",
            v.evidence
        );
        // It wrote after the restart: alive in the new gateway.
        f.tail = vec![assistant(1, "x", "toolUse")];
        assert_eq!(class(&f), Class::Progressing);
    }

    #[test]
    fn orphaned_when_the_requester_is_gone() {
        let mut f = running(30);
        f.tail = vec![assistant(0, "x", "toolUse")];
        assert_eq!(class(&f), Class::Progressing);
        f.run.as_mut().unwrap().requester_gone = Some("agent:main:subagent:parent".into());
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::Orphaned);
        assert!(
            v.evidence[0].contains("agent:main:subagent:parent"),
            "{:?}",
            v.evidence
        );
    }

    #[test]
    fn orphaned_by_gone_or_ended_session_or_dead_lock() {
        let mut f = running(30);
        f.session = None;
        f.transcript = false;
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::Orphaned);
        assert!(v.evidence[0].contains("gone"), "{:?}", v.evidence);
        // Not within the spawn grace.
        let mut young = running(1);
        young.session = None;
        young.transcript = false;
        assert_eq!(class(&young), Class::Progressing);
        // Session ended, run record still open.
        let mut f = running(30);
        f.session.as_mut().unwrap().status = Some("killed".into());
        f.tail = vec![assistant(0, "x", "toolUse")];
        assert_eq!(class(&f), Class::Orphaned);
        // Writer's process is dead.
        let mut f = running(30);
        f.tail = vec![assistant(0, "x", "toolUse")];
        f.lock = Some(LockFacts {
            pid: 4242,
            alive: false,
        });
        let v = classify(&f, now(), &Thresholds::default());
        assert_eq!(v.class, Class::Orphaned);
        assert!(v.evidence[0].contains("4242"), "{:?}", v.evidence);
        f.lock = Some(LockFacts {
            pid: 4242,
            alive: true,
        });
        assert_eq!(class(&f), Class::Progressing);
    }

    #[test]
    fn phrase_detectors() {
        assert!(asks_input("Would you like me to continue"));
        assert!(asks_input("続けますか？"));
        assert!(!asks_input("I wrote the report to out.md."));
        assert!(asks_permission("Please approve the deploy."));
        assert!(!asks_permission("Deployed."));
        assert_eq!(Class::ALL.iter().filter(|c| c.is_stuck()).count(), 6);
    }
}
