//! The ground truth written beside a generated home: what a correct reader must find.
//! Recorded while generating, once per entry, never by reading the files back.

use super::transcript::ErrKind;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Marker key and version of the truth document.
pub const TRUTH_VERSION: u32 = 1;

#[derive(Debug, Default, Clone)]
pub struct Spend {
    pub micros: i64,
    /// The exact sum in 10^-30 USD (see [`exact`]).
    pub exact: i128,
    pub lines: u64,
    pub tokens: [u64; 4],
}

/// A subagent run and what a stuck-run detector must say about it.
#[derive(Debug, Clone)]
pub struct RunTruth {
    pub run_id: String,
    pub agent: String,
    pub child_session_key: String,
    /// `finished`, `running` or `stuck`.
    pub state: &'static str,
    pub reasons: Vec<&'static str>,
    pub last_activity_ms: i64,
    pub note: String,
}

#[derive(Debug, Default)]
pub struct Truth {
    /// (UTC day, agent, provider, model)
    pub cost: BTreeMap<(String, String, String, String), Spend>,
    /// (UTC day, agent, provider, model) -> [rate_limit, overloaded, other]
    pub errors: BTreeMap<(String, String, String, String), [u64; 3]>,
    /// (10-minute window start in epoch ms, provider) -> [429 responses, 529 responses]
    pub rate: BTreeMap<(i64, String), [u64; 2]>,
    pub runs: Vec<RunTruth>,
    /// (agent, profile, cooldownUntil ms, reason) active at "now".
    pub cooldowns: Vec<(String, String, i64, String)>,
    pub sessions: u64,
    pub log_lines: u64,
}

/// Integer micro-dollars, rounding half away from zero.
pub fn micros(usd: f64) -> i64 {
    (usd * 1e6).round() as i64
}

/// 10^-30 USD per unit of the exact truth.
const EXACT_SCALE: u32 = 30;

/// A decimal literal as written (`0.0075568500000000005`, `1.2e-7`) in 10^-30 USD, exactly
/// (the generator writes nothing finer).
pub fn exact(lit: &str) -> i128 {
    let (mant, exp) = match lit.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().expect("exponent")),
        None => (lit, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let v: i128 = format!("{int}{frac}").parse().expect("digits");
    let shift = EXACT_SCALE as i32 + exp - frac.len() as i32;
    if shift >= 0 {
        v * 10i128.pow(shift as u32)
    } else {
        let d = 10i128.pow((-shift) as u32);
        assert_eq!(v % d, 0, "{lit}: finer than 10^-30");
        v / d
    }
}

/// An exact amount as claw prints it: every digit, at least two decimals.
pub fn exact_text(v: i128) -> String {
    let one = 10i128.pow(EXACT_SCALE);
    let frac = format!("{:030}", v % one);
    let keep = frac.trim_end_matches('0').len().max(2);
    format!("{}.{}", v / one, &frac[..keep])
}

fn key(day: &str, agent: &str, provider: &str, model: &str) -> (String, String, String, String) {
    (
        day.to_string(),
        agent.to_string(),
        provider.to_string(),
        model.to_string(),
    )
}

impl Truth {
    /// `usd` is the float the line's writer computed, `exact` the same cost in 10^-30 USD.
    #[allow(clippy::too_many_arguments)]
    pub fn spend(
        &mut self,
        day: &str,
        agent: &str,
        provider: &str,
        model: &str,
        usd: f64,
        exact: i128,
        t: [u64; 4],
    ) {
        let s = self
            .cost
            .entry(key(day, agent, provider, model))
            .or_default();
        s.micros += micros(usd);
        s.exact += exact;
        s.lines += 1;
        for (a, x) in s.tokens.iter_mut().zip(t) {
            *a += x;
        }
    }

    pub fn error(&mut self, day: &str, agent: &str, provider: &str, model: &str, kind: ErrKind) {
        let e = self
            .errors
            .entry(key(day, agent, provider, model))
            .or_default();
        e[match kind {
            ErrKind::RateLimit => 0,
            ErrKind::Overloaded => 1,
            ErrKind::Other => 2,
        }] += 1;
    }

    pub fn merge_rate(&mut self, other: BTreeMap<(i64, String), [u64; 2]>) {
        for (k, v) in other {
            let e = self.rate.entry(k).or_default();
            e[0] += v[0];
            e[1] += v[1];
        }
    }

    pub fn to_json(&self, generator: Value, idle_after_secs: i64, error_loop_min: u32) -> Value {
        let rows: Vec<Value> = self
            .cost
            .iter()
            .map(|((day, agent, provider, model), s)| {
                json!({"day": day, "agent": agent, "provider": provider, "model": model,
                       "micros": s.micros, "usd": exact_text(s.exact), "lines": s.lines, "input": s.tokens[0], "output": s.tokens[1],
                       "cache_read": s.tokens[2], "cache_write": s.tokens[3]})
            })
            .collect();
        let total: i64 = self.cost.values().map(|s| s.micros).sum();
        let total_exact: i128 = self.cost.values().map(|s| s.exact).sum();
        let lines: u64 = self.cost.values().map(|s| s.lines).sum();
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|((day, agent, provider, model), e)| {
                json!({"day": day, "agent": agent, "provider": provider, "model": model,
                       "rate_limit": e[0], "overloaded": e[1], "other": e[2]})
            })
            .collect();
        let windows: Vec<Value> = self
            .rate
            .iter()
            .map(|((w, provider), c)| {
                json!({"window_start": super::time::iso(*w), "provider": provider, "rate_limit": c[0], "overloaded": c[1]})
            })
            .collect();
        let mut runs = self.runs.clone();
        runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        let runs: Vec<Value> = runs
            .iter()
            .map(|r| {
                json!({"run_id": r.run_id, "agent": r.agent, "child_session_key": r.child_session_key,
                       "state": r.state, "reasons": r.reasons,
                       "last_activity": super::time::iso(r.last_activity_ms), "note": r.note})
            })
            .collect();
        let cooldowns: Vec<Value> = self
            .cooldowns
            .iter()
            .map(|(a, p, until, reason)| json!({"agent": a, "profile": p, "until": super::time::iso(*until), "reason": reason}))
            .collect();
        json!({
            "claw_truth_version": TRUTH_VERSION,
            "generator": generator,
            "cost": {
                "rules": [
                    "count each assistant message with usage once per (session id, entry id), whichever files hold it (live, .reset, .deleted[.zst], .checkpoint copies, session-sqlite-import-archive, SQLite transcript_events event_json or event_zstd)",
                    "skip provider \"openclaw\" / model \"gateway-injected\"",
                    "skip error entries whose usage is all zero (they are not spend and not counted in lines)",
                    "tokens: input = input | input_tokens | prompt_tokens - cacheRead; output = output | output_tokens | completion_tokens; cacheRead = cacheRead | cache_read_input_tokens | prompt_tokens_details.cached_tokens | cached_tokens; cacheWrite = cacheWrite | cache_creation_input_tokens | 0",
                    "usd = usage.cost.total when present, else (input*price.input + output*price.output + cacheRead*price.cacheRead + cacheWrite*price.cacheWrite) / 1e6 with the prices of models.providers.<provider>.models[id=<model>].cost in openclaw.json",
                    "micros = round_half_away_from_zero(usd * 1e6) per line; rows and total are sums of line micros",
                    "day = UTC date of the entry's top-level ISO timestamp (not message.timestamp)"
                ],
                "total_micros": total,
                "total_usd": exact_text(total_exact),
                "lines": lines,
                "rows": rows,
                "errors": errors
            },
            "rate_limits": {
                "rules": [
                    "one event per gateway log line '[model-fetch] response provider=<p> ... status=429' (rate_limit) or 'status=529' (overloaded), in either line shape (tslog numeric keys, or with top-level message)",
                    "other lines about the same failure (transient same-model retry, failover decision, embedded_run_agent_end, lane task error) are not extra events",
                    "window = the 10-minute UTC window holding the line's time"
                ],
                "window_minutes": 10,
                "windows": windows
            },
            "runs": {
                "rules": [
                    "only runs in subagents/runs.json without endedAt can be stuck; a run with endedAt is finished",
                    "last activity = top-level timestamp of the child session's last transcript entry, or startedAt when it has none",
                    format!("idle: now - last activity > {idle_after_secs} s"),
                    "timeout: runTimeoutSeconds > 0 and now - startedAt > runTimeoutSeconds",
                    "orphaned: requesterSessionKey is in no agent's session store (sessions.json or session_windows)",
                    format!("error_loop: the child's last {error_loop_min} assistant entries all have stopReason error"),
                    "waiting_for_input: the child's last entry is an assistant message with stopReason stop"
                ],
                "idle_after_seconds": idle_after_secs,
                "error_loop_min": error_loop_min,
                "list": runs
            },
            "cooldowns": cooldowns,
            "counts": {"sessions": self.sessions, "log_lines": self.log_lines}
        })
    }
}
