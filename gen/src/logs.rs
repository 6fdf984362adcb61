//! Gateway logs in OpenClaw's tslog JSON shape: one file per gateway-local day
//! (`openclaw-YYYY-MM-DD.log`, continued in `.1.log`, `.2.log` when a part reaches the
//! rotation size), filler traffic, and rate-limit bursts whose 429/529 responses are
//! counted into the truth per 10-minute UTC window.

use super::rng::Rng;
use super::time::{civil, days_from_civil, iso, iso_local, DAY_MS};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct Params {
    pub dir: PathBuf,
    pub days: u32,
    pub bytes_per_day: u64,
    pub rotate_at: u64,
    pub bursts_per_day: u32,
    /// Gateway local time offset from UTC, minutes.
    pub offset_min: i64,
    /// Lines at or after this time have the 2026.9.6 shape (top-level hostname, message,
    /// traceId, spanId); earlier ones the 2026.7.1 shape.
    pub new_shape_from_ms: i64,
    pub now_ms: i64,
}

pub struct Out {
    pub rate: BTreeMap<(i64, String), [u64; 2]>,
    pub lines: u64,
}

const WINDOW_MS: i64 = 600_000;

const PROVIDERS: &[(&str, &str, &str)] = &[
    ("anthropic", "anthropic-messages", "claude-sonnet-4-5"),
    ("anthropic", "anthropic-messages", "claude-haiku-4-5"),
    ("openai-codex", "openai-codex-responses", "gpt-5.4"),
    ("openrouter", "openai-completions", "deepseek/deepseek-v3.2"),
    ("acme-llm", "anthropic-messages", "acme-large"),
];

struct Parts {
    dir: PathBuf,
    stem: String,
    part: u32,
    bytes: u64,
    rotate_at: u64,
    w: BufWriter<File>,
}

fn open(dir: &Path, name: &str) -> Result<BufWriter<File>> {
    let p = dir.join(name);
    let f = File::create(&p).with_context(|| format!("{}: cannot create", p.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, f))
}

impl Parts {
    fn write(&mut self, line: &[u8]) -> Result<()> {
        if self.bytes >= self.rotate_at {
            self.w.flush()?;
            self.part += 1;
            self.w = open(&self.dir, &format!("{}.{}.log", self.stem, self.part))?;
            self.bytes = 0;
        }
        self.w.write_all(line)?;
        self.bytes += line.len() as u64;
        Ok(())
    }
}

struct Gen<'a> {
    rng: &'a mut Rng,
    p: &'a Params,
    buf: Vec<u8>,
    rate: BTreeMap<(i64, String), [u64; 2]>,
    lines: u64,
}

enum Body<'s> {
    Msg(&'s str),
    /// A meta object (JSON text) and the message that follows it.
    Meta(&'s str, &'s str),
}

fn esc(buf: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *buf, s);
}

impl Gen<'_> {
    fn line(&mut self, out: &mut Parts, t: i64, level: &str, sub: &str, body: Body) -> Result<()> {
        let b = &mut self.buf;
        b.clear();
        let name = format!("{{\"subsystem\":\"{sub}\"}}");
        b.extend_from_slice(b"{\"0\":");
        esc(b, &name);
        b.extend_from_slice(b",\"1\":");
        let msg = match body {
            Body::Msg(m) => {
                esc(b, m);
                m
            }
            Body::Meta(meta, m) => {
                b.extend_from_slice(meta.as_bytes());
                b.extend_from_slice(b",\"2\":");
                esc(b, m);
                m
            }
        };
        let id = match level {
            "DEBUG" => 2,
            "INFO" => 3,
            "WARN" => 4,
            _ => 5,
        };
        b.extend_from_slice(b",\"_meta\":{\"runtime\":\"node\",\"runtimeVersion\":\"24.11.1\",\"hostname\":\"unknown\",\"name\":");
        esc(b, &name);
        let _ = write!(
            b,
            ",\"parentNames\":[\"openclaw\"],\"date\":\"{}\",\"logLevelId\":{id},\"logLevelName\":\"{level}\"}},\"time\":\"{}\"",
            iso(t),
            iso_local(t, self.p.offset_min)
        );
        if t >= self.p.new_shape_from_ms {
            b.extend_from_slice(b",\"hostname\":\"gw-01\",\"message\":");
            esc(b, msg);
            let (tr, sp) = (self.rng.next_u64(), self.rng.next_u64());
            let _ = write!(
                b,
                ",\"traceId\":\"{tr:016x}{:016x}\",\"spanId\":\"{sp:016x}\"",
                tr.rotate_left(17)
            );
        }
        b.extend_from_slice(b"}\n");
        self.lines += 1;
        out.write(&self.buf)
    }

    fn filler(&mut self, out: &mut Parts, t: i64) -> Result<()> {
        let (p, api, m) = *self.rng.pick(PROVIDERS);
        match self.rng.weighted(&[30, 14, 26, 12, 6, 8, 2, 1, 1]) {
            0 => {
                let s = format!(
                    "⇄ res ✓ chat.send {}ms conn={} id={}",
                    self.rng.range(2, 900),
                    self.rng.hex(8),
                    self.rng.hex(8)
                );
                self.line(out, t, "INFO", "gateway/ws", Body::Msg(&s))
            }
            1 => {
                let s = format!(
                    "embedded run start: runId={} sessionId={} provider={p} model={m} thinking=off messageChannel=webchat",
                    self.rng.uuid(),
                    self.rng.uuid()
                );
                self.line(out, t, "INFO", "agent/embedded", Body::Msg(&s))
            }
            2 => {
                // elapsedMs is sometimes 429: `grep -c 429` overcounts, as it does on real logs.
                let s = format!("[model-fetch] response provider={p} api={api} model={m} status=200 elapsedMs={}", self.rng.range(80, 30_000));
                self.line(out, t, "INFO", "provider-transport-fetch", Body::Msg(&s))
            }
            3 => {
                let s = format!(
                    "embedded run done: runId={} durationMs={} aborted=false",
                    self.rng.uuid(),
                    self.rng.range(500, 120_000)
                );
                self.line(out, t, "INFO", "agent/embedded", Body::Msg(&s))
            }
            4 => {
                let job = *self
                    .rng
                    .pick(&["nightly-report", "inbox-triage", "backup-check"]);
                let s = format!(
                    "cron: job finished jobId={job} status=ok durationMs={}",
                    self.rng.range(1000, 90_000)
                );
                self.line(out, t, "INFO", "cron", Body::Msg(&s))
            }
            5 => {
                let s = format!("[tools] exec completed in {}ms", self.rng.range(3, 20_000));
                self.line(out, t, "INFO", "agent/tools", Body::Msg(&s))
            }
            6 => {
                let s = format!(
                    "lane wait exceeded: lane=session:agent:main:main waitedMs={} queueAhead=1",
                    self.rng.range(2_000, 60_000)
                );
                self.line(out, t, "WARN", "diagnostic", Body::Msg(&s))
            }
            7 => {
                let s = format!(
                    "stuck session: sessionId={} sessionKey=agent:main:subagent:{} state=processing age={}s queueDepth=0",
                    self.rng.uuid(),
                    self.rng.uuid(),
                    self.rng.range(121, 4000)
                );
                self.line(out, t, "WARN", "diagnostic", Body::Msg(&s))
            }
            _ => self.line(
                out,
                t,
                "DEBUG",
                "gateway/heartbeat",
                Body::Msg("heartbeat: ok"),
            ),
        }
    }

    /// One provider failing for a while: every response is one counted event, the lines
    /// around it are not.
    fn burst(&mut self, out: &mut Parts, mut t: i64) -> Result<i64> {
        let (p, api, m) = *self.rng.pick(&PROVIDERS[..4]);
        let overloaded = p == "anthropic" && self.rng.chance(0.25);
        let (status, reason, etype) = if overloaded {
            (529, "overloaded", "overloaded_error")
        } else {
            (429, "rate_limit", "rate_limit_error")
        };
        let n = self.rng.range(1, 12);
        let run = self.rng.uuid();
        for i in 0..n {
            let s = format!("[model-fetch] response provider={p} api={api} model={m} status={status} elapsedMs={}", self.rng.range(40, 2500));
            self.line(out, t, "INFO", "provider-transport-fetch", Body::Msg(&s))?;
            let w = (t.div_euclid(WINDOW_MS) * WINDOW_MS, p.to_string());
            self.rate.entry(w).or_default()[usize::from(overloaded)] += 1;
            t += self.rng.range(5, 60) as i64;
            if t >= self.p.new_shape_from_ms {
                let s = format!(
                    "transient same-model retry {}/9 for {p}/{m} reason={reason}: delayMs={}",
                    i + 1,
                    1000 << i.min(5)
                );
                self.line(out, t, "WARN", "agent/embedded", Body::Msg(&s))?;
            } else {
                let meta = format!(
                    "{{\"failoverReason\":\"{reason}\",\"status\":{status},\"httpCode\":{status},\"providerErrorType\":\"{etype}\",\"provider\":\"{p}\",\"model\":\"{m}\"}}"
                );
                let s = format!("embedded run failover decision: runId={run} stage=assistant decision=retry reason={reason} provider={p}/{m}");
                self.line(out, t, "WARN", "agent/embedded", Body::Meta(&meta, &s))?;
            }
            t += (1000i64 << i.min(5)) + self.rng.range(0, 400) as i64;
        }
        let preview = format!("{status} {{\"type\":\"error\",\"error\":{{\"type\":\"{etype}\",\"message\":\"rate limited\"}}}}");
        let meta = serde_json::json!({"event": "embedded_run_agent_end", "isError": true, "failoverReason": reason,
            "provider": p, "model": m, "runId": run, "rawErrorPreview": preview})
        .to_string();
        self.line(
            out,
            t,
            "WARN",
            "agent/embedded",
            Body::Meta(&meta, "embedded run agent end"),
        )?;
        if self.rng.chance(0.5) {
            let s = format!("model fallback decision: decision=candidate_failed requested={p}/{m} candidate={p}/{m} reason={reason} next=openai-codex/gpt-5.4");
            self.line(out, t + 3, "WARN", "agent/embedded", Body::Msg(&s))?;
        } else {
            let s = format!(
                "lane task error: lane=session:agent:main:main durationMs={} error=\"FailoverError: ⚠️ API rate limit reached. Please try again later.\"",
                self.rng.range(2000, 90_000)
            );
            self.line(out, t + 3, "ERROR", "diagnostic", Body::Msg(&s))?;
        }
        Ok(t + 10)
    }
}

/// Write every day's log; returns the rate-limit windows and the line count.
pub fn write(rng: &mut Rng, p: &Params) -> Result<Out> {
    std::fs::create_dir_all(&p.dir)
        .with_context(|| format!("{}: cannot create", p.dir.display()))?;
    let mut g = Gen {
        rng,
        p,
        buf: Vec::with_capacity(2048),
        rate: BTreeMap::new(),
        lines: 0,
    };
    let off = p.offset_min * 60_000;
    let today = (p.now_ms + off).div_euclid(DAY_MS);
    for day in (today - p.days as i64 + 1)..=today {
        let (y, m, d) = civil(day);
        debug_assert_eq!(days_from_civil(y, m, d), day);
        let stem = format!("openclaw-{y:04}-{m:02}-{d:02}");
        let mut out = Parts {
            w: open(&p.dir, &format!("{stem}.log"))?,
            dir: p.dir.clone(),
            stem,
            part: 0,
            bytes: 0,
            rotate_at: p.rotate_at,
        };
        let start = day * DAY_MS - off;
        let end = (start + DAY_MS).min(p.now_ms);
        // About 560 bytes a line.
        let per_day = (p.bytes_per_day / 560).max(1) as i64;
        let step = (DAY_MS / per_day).max(1);
        let burst_p = p.bursts_per_day as f64 / per_day as f64;
        let mut t = start + g.rng.range(0, step as u64) as i64;
        while t < end {
            if g.rng.chance(burst_p) && t < end - WINDOW_MS {
                t = g.burst(&mut out, t)?;
            } else {
                g.filler(&mut out, t)?;
            }
            t += g.rng.range(1, 2 * step as u64) as i64;
        }
        out.w.flush()?;
    }
    Ok(Out {
        rate: g.rate,
        lines: g.lines,
    })
}
