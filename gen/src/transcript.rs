//! One session's transcript lines in OpenClaw's real format (pi-coding-agent, header v3),
//! written into a buffer so the caller can put the same bytes in a live file, an archive,
//! checkpoint copies or SQLite rows. Every spend line is recorded in the truth exactly once,
//! here, when it is made.

use super::rng::{IdGen, Rng};
use super::time::{date, iso};
use super::truth::Truth;
use std::io::Write;

/// How a model's lines carry usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `usage` with `cost` (built-in providers: OpenClaw prices them at write time).
    Cost,
    /// Canonical names, no `cost` (custom providers: priced from openclaw.json).
    NoCost,
    /// No `cost`; half the lines use Anthropic's names (`input_tokens`, ...).
    AnthropicAlias,
    /// No `cost`; most lines use OpenAI's names (`prompt_tokens`, `cached_tokens`, ...).
    OpenAiAlias,
}

/// A model the generated gateway talks to. Prices are USD per million tokens
/// (input, output, cacheRead, cacheWrite), the same figures openclaw.json carries.
#[derive(Debug)]
pub struct ModelDef {
    pub provider: &'static str,
    pub id: &'static str,
    pub api: &'static str,
    pub name: &'static str,
    pub price: [f64; 4],
    pub style: Style,
    /// Prompt caching: cacheRead grows with the context.
    pub caches: bool,
}

pub const MODELS: &[ModelDef] = &[
    ModelDef {
        provider: "anthropic",
        id: "claude-sonnet-4-5",
        api: "anthropic-messages",
        name: "Claude Sonnet 4.5",
        price: [3.0, 15.0, 0.3, 3.75],
        style: Style::Cost,
        caches: true,
    },
    ModelDef {
        provider: "anthropic",
        id: "claude-haiku-4-5",
        api: "anthropic-messages",
        name: "Claude Haiku 4.5",
        price: [1.0, 5.0, 0.1, 1.25],
        style: Style::Cost,
        caches: true,
    },
    ModelDef {
        provider: "openai-codex",
        id: "gpt-5.4",
        api: "openai-codex-responses",
        name: "GPT-5.4",
        price: [1.75, 14.0, 0.175, 0.0],
        style: Style::Cost,
        caches: true,
    },
    ModelDef {
        provider: "openrouter",
        id: "deepseek/deepseek-v3.2",
        api: "openai-completions",
        name: "DeepSeek V3.2",
        price: [0.28, 0.42, 0.028, 0.0],
        style: Style::OpenAiAlias,
        caches: true,
    },
    ModelDef {
        provider: "acme-llm",
        id: "acme-large",
        api: "anthropic-messages",
        name: "Acme Large",
        price: [2.0, 8.0, 0.2, 2.5],
        style: Style::AnthropicAlias,
        caches: true,
    },
    ModelDef {
        provider: "ollama",
        id: "qwen3.5:9b",
        api: "ollama",
        name: "Qwen 3.5 9B",
        price: [0.0, 0.0, 0.0, 0.0],
        style: Style::NoCost,
        caches: false,
    },
];
pub const SONNET: usize = 0;
pub const HAIKU: usize = 1;
pub const GPT: usize = 2;
pub const DEEPSEEK: usize = 3;
pub const ACME: usize = 4;
pub const QWEN: usize = 5;

/// How a session ends; scripted endings make the stuck-run cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Ordinary turns.
    Normal,
    /// The last turn hangs after a tool result (the model call never returned).
    MidTool,
    /// The last turn ends with a question and nothing follows.
    Question,
    /// The last turn is `n` failed attempts: 429 (or 529 when `overloaded`).
    ErrorLoop { n: u32, overloaded: bool },
}

/// What to generate.
pub struct Spec<'a> {
    pub agent: &'a str,
    pub sid: &'a str,
    pub start_ms: i64,
    pub turns: u32,
    pub model: usize,
    pub fallback: usize,
    /// Per-turn chance of failed attempts (429/529/fetch failed) before the answer.
    pub err_rate: f64,
    pub tool_max_bytes: usize,
    /// Per-step pause upper bound (ms): user think time is up to 4x this.
    pub pace_ms: u64,
    pub compaction_every: u32,
    /// Write `.checkpoint.<uuid>.jsonl` copies before compactions (2026.7.1 did not).
    pub checkpoint_copies: bool,
    pub tail: Tail,
    /// Never write a line at or after this time.
    pub limit_ms: i64,
}

/// Where one line sits in the buffer, for SQLite rows and checkpoint copies.
pub struct LineMeta {
    pub end: usize,
    pub ts_ms: i64,
    pub id: Option<String>,
    pub parent: Option<String>,
}

pub struct Checkpoint {
    pub uuid: String,
    /// Number of lines the copy holds (a prefix of the transcript).
    pub lines: usize,
    pub ts_ms: i64,
    pub tokens_before: u64,
    pub tokens_after: u64,
    pub reason: &'static str,
}

/// A generated session.
pub struct Session {
    pub buf: Vec<u8>,
    pub lines: Vec<LineMeta>,
    pub checkpoints: Vec<Checkpoint>,
    pub compactions: u32,
    pub last_ms: i64,
    /// input, output, cacheRead, cacheWrite as the store counts them.
    pub tokens: [u64; 4],
    pub cost_usd: f64,
    pub model: usize,
}

impl Session {
    /// The bytes of the first `n` lines.
    pub fn prefix(&self, n: usize) -> &[u8] {
        if n == 0 {
            return &[];
        }
        &self.buf[..self.lines[n - 1].end]
    }
    pub fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.lines[i - 1].end };
        &self.buf[start..self.lines[i].end - 1]
    }
}

const WORDS: &[&str] = &[
    "the", "gateway", "session", "agent", "config", "deploy", "token", "cache", "retry", "build",
    "test", "error", "check", "file", "repo", "branch", "merge", "log", "queue", "worker", "model",
    "prompt", "cron", "backup", "disk", "memory", "latency", "request", "response", "timeout",
    "schema", "index", "table", "query", "result", "value", "update", "service", "restart",
    "health", "metric", "alert", "budget", "report", "summary", "draft", "review", "patch", "fix",
    "and", "then", "with", "from", "into", "after", "before", "while", "because", "so", "it", "is",
    "was", "will", "should", "could", "we", "you", "this", "that", "a", "an", "of", "to", "in",
    "on", "for", "not", "all", "some", "each", "next", "last", "first", "new", "old",
];

/// Text the generator slices from: words and punctuation only (never `"` or `\`), so any
/// slice is a valid JSON string body.
pub fn corpus(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 16);
    let mut sentence = 0;
    while s.len() < bytes {
        let w = *rng.pick(WORDS);
        if sentence == 0 {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
        } else {
            s.push_str(w);
        }
        sentence += 1;
        if sentence > 6 && rng.chance(0.15) {
            s.push_str(if rng.chance(0.8) { ". " } else { ": " });
            sentence = 0;
        } else if rng.chance(0.05) {
            s.push_str(", ");
        } else {
            s.push(' ');
        }
    }
    s
}

const USER_PROMPTS: &[&str] = &[
    "check the nightly backup and tell me if anything failed",
    "summarize yesterday's gateway logs",
    "why did the deploy take so long?",
    "open a PR that fixes the flaky retry test",
    "what did the cron job report this morning",
    "draft a reply to the support ticket about rate limits",
    "はくあ、今日の予定を教えて",
    "résumé the open issues — only the ones tagged “ops” 🚀",
    "run the test suite and paste the failures",
    "how much did we spend on models this week?",
];

const TOOLS: &[&str] = &[
    "read",
    "exec",
    "write",
    "web_fetch",
    "grep",
    "sessions_spawn",
];

pub struct Writer<'a, 't> {
    rng: &'a mut Rng,
    corpus: &'a str,
    truth: &'t mut Truth,
    spec: &'a Spec<'a>,
    ids: IdGen,
    parent: Option<String>,
    t: i64,
    s: Session,
    context: u64,
    last_user_id: String,
}

fn push_str(buf: &mut Vec<u8>, s: &str) {
    // serde_json never fails writing a &str into a Vec.
    let _ = serde_json::to_writer(&mut *buf, s);
}

impl<'a, 't> Writer<'a, 't> {
    pub fn new(
        rng: &'a mut Rng,
        corpus: &'a str,
        truth: &'t mut Truth,
        spec: &'a Spec<'a>,
    ) -> Self {
        let salt = rng.next_u64() as u32;
        Writer {
            rng,
            corpus,
            truth,
            spec,
            ids: IdGen::new(salt),
            parent: None,
            t: spec.start_ms,
            s: Session {
                buf: Vec::with_capacity(16 * 1024),
                lines: Vec::new(),
                checkpoints: Vec::new(),
                compactions: 0,
                last_ms: spec.start_ms,
                tokens: [0; 4],
                cost_usd: 0.0,
                model: spec.model,
            },
            context: 0,
            last_user_id: String::new(),
        }
    }

    fn gap(&mut self, lo: u64, hi: u64) {
        let step = self.rng.range(lo, hi.max(lo)) as i64;
        self.t = (self.t + step).min(self.spec.limit_ms - 1).max(self.t);
    }

    fn text(&mut self, lo: usize, hi: usize) -> &'a str {
        let len = self.rng.range(lo as u64, hi as u64) as usize;
        let len = len.min(self.corpus.len() - 1);
        let start = self.rng.below((self.corpus.len() - len) as u64) as usize;
        &self.corpus[start..start + len]
    }

    /// Start a line with the common header; returns its id.
    fn open(&mut self, ty: &str) -> String {
        let id = self.ids.next_id();
        let b = &mut self.s.buf;
        let _ = write!(b, "{{\"type\":\"{ty}\",\"id\":\"{id}\",\"parentId\":");
        match &self.parent {
            Some(p) => {
                let _ = write!(b, "\"{p}\"");
            }
            None => b.extend_from_slice(b"null"),
        }
        let _ = write!(b, ",\"timestamp\":\"{}\"", iso(self.t));
        id
    }

    fn close(&mut self, id: Option<String>) {
        self.s.buf.push(b'\n');
        let parent = self.parent.clone();
        self.s.lines.push(LineMeta {
            end: self.s.buf.len(),
            ts_ms: self.t,
            id: id.clone(),
            parent,
        });
        self.s.last_ms = self.t;
        if id.is_some() {
            self.parent = id;
        }
    }

    fn header(&mut self) {
        let _ = write!(
            self.s.buf,
            "{{\"type\":\"session\",\"version\":3,\"id\":\"{}\",\"timestamp\":\"{}\",\"cwd\":\"/home/operator/.openclaw/workspace\"}}",
            self.spec.sid,
            iso(self.t)
        );
        self.close(None);
    }

    fn model_change(&mut self, m: usize) {
        let id = self.open("model_change");
        let d = &MODELS[m];
        let _ = write!(
            self.s.buf,
            ",\"provider\":\"{}\",\"modelId\":\"{}\"}}",
            d.provider, d.id
        );
        self.close(Some(id));
        self.s.model = m;
    }

    fn thinking(&mut self) {
        let id = self.open("thinking_level_change");
        let lvl = *self.rng.pick(&["off", "low", "medium"]);
        let _ = write!(self.s.buf, ",\"thinkingLevel\":\"{lvl}\"}}");
        self.close(Some(id));
    }

    /// `custom` lines put `id`/`parentId`/`timestamp` after `data`, as the real ones do.
    fn snapshot(&mut self) {
        let id = self.ids.next_id();
        let d = &MODELS[self.s.model];
        let b = &mut self.s.buf;
        let _ = write!(
            b,
            "{{\"type\":\"custom\",\"customType\":\"model-snapshot\",\"data\":{{\"timestamp\":{},\"provider\":\"{}\",\"modelApi\":\"{}\",\"modelId\":\"{}\"}},\"id\":\"{id}\",\"parentId\":",
            self.t, d.provider, d.api, d.id
        );
        match &self.parent {
            Some(p) => {
                let _ = write!(b, "\"{p}\"");
            }
            None => b.extend_from_slice(b"null"),
        }
        let _ = write!(b, ",\"timestamp\":\"{}\"}}", iso(self.t));
        self.close(Some(id));
    }

    fn user(&mut self) {
        let id = self.open("message");
        let prompt = *self.rng.pick(USER_PROMPTS);
        let extra = self.text(0, 400);
        let local = super::time::iso_local(self.t, 120);
        let text = format!("Sender (untrusted metadata):\n```json\n{{\n  \"label\": \"openclaw-control-ui\",\n  \"id\": \"openclaw-control-ui\"\n}}\n```\n\n[{} {} GMT+2] {prompt}. {extra}", &local[..10], &local[11..16]);
        self.s.buf.extend_from_slice(
            b",\"message\":{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":",
        );
        push_str(&mut self.s.buf, &text);
        let _ = write!(
            self.s.buf,
            "}}],\"timestamp\":{}}}}}",
            self.t - self.rng.range(2, 15) as i64
        );
        self.last_user_id = id.clone();
        self.close(Some(id));
        self.context += (text.len() / 4) as u64;
    }

    /// Token counts for a successful call, nudged so no line's micro-dollar amount sits
    /// within 0.001 of a rounding tie (any sane reader then agrees on every line).
    fn tokens(&mut self, m: usize, out_hint: u64) -> [u64; 4] {
        let d = &MODELS[m];
        let mut fresh = self.rng.range(20, 2500);
        let out = out_hint + self.rng.range(5, 60);
        let mut cr = if d.caches { self.context } else { 0 };
        let cw = if d.price[3] > 0.0 && self.rng.chance(0.3) {
            self.rng.range(100, 4000)
        } else {
            0
        };
        // Whole-micro prices (3, 15, ...) cannot move the fraction; the fractional ones
        // (cacheRead 0.3, input 1.75, ...) can, so nudge input and cacheRead in turn.
        for k in 0..64 {
            let f = (usd_of(&[fresh, out, cr, cw], d) * 1e6).fract();
            if (f - 0.5).abs() > 0.001 {
                break;
            }
            if k % 2 == 0 && d.caches {
                cr += 1;
            } else {
                fresh += 1;
            }
        }
        self.context += fresh + out + cw;
        [fresh, out, cr, cw]
    }

    /// Write `usage` for a counted line and record it in the truth.
    fn usage(&mut self, m: usize, t: [u64; 4], count: bool) {
        let d = &MODELS[m];
        let b = &mut self.s.buf;
        let total = t.iter().sum::<u64>();
        let style = match d.style {
            Style::AnthropicAlias if self.rng.chance(0.5) => Style::NoCost,
            Style::OpenAiAlias if self.rng.chance(0.3) => Style::NoCost,
            s => s,
        };
        let usd = match style {
            Style::Cost => {
                let p = [
                    t[0] as f64 * d.price[0] / 1e6,
                    t[1] as f64 * d.price[1] / 1e6,
                    t[2] as f64 * d.price[2] / 1e6,
                    t[3] as f64 * d.price[3] / 1e6,
                ];
                let tot = p[0] + p[1] + p[2] + p[3];
                let lit = js_num(tot);
                let _ = write!(
                    b,
                    "\"usage\":{{\"input\":{},\"output\":{},\"cacheRead\":{},\"cacheWrite\":{},\"totalTokens\":{total},\"cost\":{{\"input\":{},\"output\":{},\"cacheRead\":{},\"cacheWrite\":{},\"total\":{lit}}}}}",
                    t[0], t[1], t[2], t[3], js_num(p[0]), js_num(p[1]), js_num(p[2]), js_num(p[3])
                );
                (tot, super::truth::exact(&lit))
            }
            Style::NoCost => {
                let _ = write!(
                    b,
                    "\"usage\":{{\"input\":{},\"output\":{},\"cacheRead\":{},\"cacheWrite\":{},\"totalTokens\":{total}}}",
                    t[0], t[1], t[2], t[3]
                );
                (usd_of(&t, d), exact_of(&t, d))
            }
            Style::AnthropicAlias => {
                let _ = write!(
                    b,
                    "\"usage\":{{\"input_tokens\":{},\"output_tokens\":{},\"cache_read_input_tokens\":{},\"cache_creation_input_tokens\":{}}}",
                    t[0], t[1], t[2], t[3]
                );
                (usd_of(&t, d), exact_of(&t, d))
            }
            Style::OpenAiAlias => {
                // OpenAI's prompt_tokens include the cached ones.
                let prompt = t[0] + t[2];
                if self.rng.chance(0.5) {
                    let _ = write!(
                        b,
                        "\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{},\"total_tokens\":{},\"prompt_tokens_details\":{{\"cached_tokens\":{}}}}}",
                        t[1], prompt + t[1], t[2]
                    );
                } else {
                    let _ = write!(
                        b,
                        "\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{},\"total_tokens\":{},\"cached_tokens\":{}}}",
                        t[1], prompt + t[1], t[2]
                    );
                }
                (usd_of(&t, d), exact_of(&t, d))
            }
        };
        let (usd, exact) = usd;
        if count {
            for (a, x) in self.s.tokens.iter_mut().zip(t) {
                *a += x;
            }
            self.s.cost_usd += usd;
            self.truth.spend(
                &date(self.t),
                self.spec.agent,
                d.provider,
                d.id,
                usd,
                exact,
                t,
            );
        }
    }

    fn assistant_tail(&mut self, m: usize) {
        let d = &MODELS[m];
        let _ = write!(
            self.s.buf,
            ",\"api\":\"{}\",\"provider\":\"{}\",\"model\":\"{}\",",
            d.api, d.provider, d.id
        );
    }

    fn assistant_text(&mut self, stop: &'static str, question: bool) {
        let m = self.s.model;
        let id = self.open("message");
        let body = self.text(40, 1800);
        let text = if question {
            format!(
                "{body}. Should I go ahead and apply this to production, or wait for your review?"
            )
        } else {
            body.to_string()
        };
        self.s.buf.extend_from_slice(
            b",\"message\":{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":",
        );
        push_str(&mut self.s.buf, &text);
        let sig = self.rng.hex(48);
        let _ = write!(self.s.buf, ",\"textSignature\":\"msg_{sig}\"}}]");
        self.assistant_tail(m);
        let t = self.tokens(m, (text.len() / 4) as u64);
        self.usage(m, t, true);
        let started = self.t - self.rng.range(300, 9000) as i64;
        let _ = write!(
            self.s.buf,
            ",\"stopReason\":\"{stop}\",\"timestamp\":{started}}}}}"
        );
        self.close(Some(id));
    }

    fn assistant_tool(&mut self) -> (String, &'static str) {
        let m = self.s.model;
        let id = self.open("message");
        let call = format!("call_{}", self.rng.hex(24));
        let tool = *self.rng.pick(TOOLS);
        let arg = self.text(8, 40).trim().replace(' ', "-");
        let _ = write!(
            self.s.buf,
            ",\"message\":{{\"role\":\"assistant\",\"content\":[{{\"type\":\"toolCall\",\"id\":\"{call}\",\"name\":\"{tool}\",\"arguments\":{{\"path\":\"/home/operator/work/{arg}.md\"}}}}]"
        );
        self.assistant_tail(m);
        let hint = self.rng.range(15, 200);
        let t = self.tokens(m, hint);
        self.usage(m, t, true);
        let started = self.t - self.rng.range(300, 6000) as i64;
        let _ = write!(
            self.s.buf,
            ",\"stopReason\":\"toolUse\",\"timestamp\":{started}}}}}"
        );
        self.close(Some(id));
        (call, tool)
    }

    fn tool_result(&mut self, call: &str, tool: &str) {
        let id = self.open("message");
        let n = self.rng.range(0, self.spec.tool_max_bytes as u64) as usize;
        let body = self.text(n.min(80), n.max(80));
        let is_err = self.rng.chance(0.05);
        let _ = write!(
            self.s.buf,
            ",\"message\":{{\"role\":\"toolResult\",\"toolCallId\":\"{call}\",\"toolName\":\"{tool}\",\"content\":[{{\"type\":\"text\",\"text\":\""
        );
        self.s.buf.extend_from_slice(body.as_bytes());
        let _ = write!(
            self.s.buf,
            "\"}}],\"isError\":{is_err},\"timestamp\":{}}}}}",
            self.t
        );
        self.close(Some(id));
        self.context += (body.len() / 4) as u64;
    }

    /// A failed attempt with all-zero usage (not spend).
    fn assistant_error(&mut self, kind: ErrKind) {
        let m = self.s.model;
        let d = &MODELS[m];
        let id = self.open("message");
        self.s.buf.extend_from_slice(
            b",\"message\":{\"role\":\"assistant\",\"content\":[],\"stopReason\":\"error\"",
        );
        let _ = write!(
            self.s.buf,
            ",\"api\":\"{}\",\"provider\":\"{}\",\"model\":\"{}\",",
            d.api, d.provider, d.id
        );
        self.s.buf.extend_from_slice(b"\"usage\":{\"input\":0,\"output\":0,\"cacheRead\":0,\"cacheWrite\":0,\"totalTokens\":0,\"cost\":{\"input\":0,\"output\":0,\"cacheRead\":0,\"cacheWrite\":0,\"total\":0}}");
        let msg = match kind {
            ErrKind::RateLimit => format!("429 {{\"type\":\"error\",\"error\":{{\"type\":\"rate_limit_error\",\"message\":\"This request would exceed the rate limit for your organization of 400,000 input tokens per minute.\"}},\"request_id\":\"req_{}\"}}", self.rng.hex(24)),
            ErrKind::Overloaded => format!("529 {{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}},\"request_id\":\"req_{}\"}}", self.rng.hex(24)),
            ErrKind::Other => "fetch failed".to_string(),
        };
        let _ = write!(
            self.s.buf,
            ",\"timestamp\":{},\"errorMessage\":",
            self.t - 2
        );
        push_str(&mut self.s.buf, &msg);
        self.s.buf.extend_from_slice(b"}}");
        self.truth
            .error(&date(self.t), self.spec.agent, d.provider, d.id, kind);
        self.close(Some(id));
    }

    /// `provider:"openclaw", model:"gateway-injected"`: never spend, even when it carries
    /// usage copied from elsewhere.
    fn injected(&mut self) {
        let id = self.open("message");
        self.s.buf.extend_from_slice(
            b",\"message\":{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":",
        );
        push_str(&mut self.s.buf, "\u{26a0}\u{fe0f} Agent failed before reply: No API key found for provider \"anthropic\". Configure auth for this agent.\nLogs: openclaw logs --follow");
        self.s.buf.extend_from_slice(b"}]");
        let _ = write!(
            self.s.buf,
            ",\"timestamp\":{},\"stopReason\":\"stop\",",
            self.t
        );
        if self.rng.chance(0.4) {
            let t = [
                self.rng.range(100, 5000),
                self.rng.range(10, 500),
                self.rng.range(0, 20000),
                0,
            ];
            self.usage(SONNET, t, false);
        } else {
            self.s.buf.extend_from_slice(b"\"usage\":{\"input\":0,\"output\":0,\"cacheRead\":0,\"cacheWrite\":0,\"totalTokens\":0,\"cost\":{\"input\":0,\"output\":0,\"cacheRead\":0,\"cacheWrite\":0,\"total\":0}}");
        }
        self.s.buf.extend_from_slice(b",\"api\":\"openai-responses\",\"provider\":\"openclaw\",\"model\":\"gateway-injected\"}}");
        self.close(Some(id));
    }

    fn compaction(&mut self) {
        let before = self.context;
        let after = before / 5 + self.rng.range(500, 3000);
        let reason = *self.rng.pick(&[
            "auto-threshold",
            "auto-threshold",
            "manual",
            "overflow-retry",
        ]);
        if self.spec.checkpoint_copies && self.s.checkpoints.len() < 2 {
            let uuid = self.rng.uuid();
            self.s.checkpoints.push(Checkpoint {
                uuid,
                lines: self.s.lines.len(),
                ts_ms: self.t,
                tokens_before: before,
                tokens_after: after,
                reason,
            });
        }
        self.gap(2_000, 40_000);
        let id = self.open("compaction");
        let summary = self.text(200, 900);
        self.s.buf.extend_from_slice(b",\"summary\":\"## Goal\\n");
        self.s.buf.extend_from_slice(summary.as_bytes());
        let _ = write!(
            self.s.buf,
            "\",\"firstKeptEntryId\":\"{}\",\"tokensBefore\":{before},\"tokensAfter\":{after}}}",
            self.last_user_id
        );
        self.close(Some(id));
        self.context = after;
        self.s.compactions += 1;
    }

    fn errors(&mut self, n: u32, kind: ErrKind) {
        for i in 0..n {
            self.gap(800 * (1 << i.min(4)) as u64, 2_000 * (1 << i.min(4)) as u64);
            self.assistant_error(kind);
        }
    }

    fn err_kind(&mut self) -> ErrKind {
        if self.s.model == QWEN {
            return ErrKind::Other;
        }
        match self.rng.weighted(&[70, 22, 8]) {
            0 => ErrKind::RateLimit,
            1 => ErrKind::Overloaded,
            _ => ErrKind::Other,
        }
    }

    fn turn(&mut self, last: bool) {
        let pace = self.spec.pace_ms;
        self.gap(pace / 4, pace * 4);
        if self.rng.chance(0.08) {
            self.snapshot();
        }
        let tail = if last { self.spec.tail } else { Tail::Normal };
        self.user();
        if let Tail::ErrorLoop { n, overloaded } = tail {
            let k = if overloaded {
                ErrKind::Overloaded
            } else {
                ErrKind::RateLimit
            };
            self.errors(n, k);
            return;
        }
        if self.rng.chance(self.spec.err_rate) {
            let n = self.rng.range(1, 3) as u32;
            let k = self.err_kind();
            self.errors(n, k);
            if self.rng.chance(0.5) && self.spec.fallback != self.s.model {
                self.gap(50, 900);
                let fb = self.spec.fallback;
                self.model_change(fb);
            }
        }
        if self.rng.chance(0.02) {
            self.gap(10, 200);
            self.injected();
        }
        let steps = self.rng.weighted(&[30, 30, 25, 15]);
        for _ in 0..steps {
            self.gap(pace / 10, pace);
            let (call, tool) = self.assistant_tool();
            self.gap(30, pace / 2);
            self.tool_result(&call, tool);
        }
        if matches!(tail, Tail::MidTool) {
            self.gap(pace / 10, pace);
            let (call, tool) = self.assistant_tool();
            self.gap(30, pace / 2);
            self.tool_result(&call, tool);
            return;
        }
        self.gap(pace / 10, pace);
        let stop = match self.rng.weighted(&[96, 3, 1]) {
            0 => "stop",
            1 => "length",
            _ => "aborted",
        };
        self.assistant_text(
            if matches!(tail, Tail::Question) {
                "stop"
            } else {
                stop
            },
            matches!(tail, Tail::Question),
        );
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrKind {
    RateLimit,
    Overloaded,
    Other,
}

/// USD for tokens at the config price: sum of tokens x price per million.
pub fn usd_of(t: &[u64; 4], d: &ModelDef) -> f64 {
    (t[0] as f64 * d.price[0]
        + t[1] as f64 * d.price[1]
        + t[2] as f64 * d.price[2]
        + t[3] as f64 * d.price[3])
        / 1e6
}

/// The exact cost of a call priced from the config (what a reader computes from the
/// per-million prices as written in openclaw.json), in 10^-30 USD.
pub fn exact_of(t: &[u64; 4], d: &ModelDef) -> i128 {
    let sum: i128 = (0..4)
        .map(|i| t[i] as i128 * super::truth::exact(&js_num(d.price[i])))
        .sum();
    sum / 1_000_000
}

/// A number as JavaScript's `JSON.stringify` writes it (OpenClaw is JavaScript): the
/// shortest decimal that reads back as the same double, in exponent form below 10^-6
/// (`1.2e-7`, where Rust's `{}` would write `0.00000012`).
pub fn js_num(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-6 {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Generate one session.
pub fn generate(rng: &mut Rng, corpus: &str, truth: &mut Truth, spec: &Spec) -> Session {
    let mut w = Writer::new(rng, corpus, truth, spec);
    w.header();
    w.gap(5, 40);
    w.model_change(spec.model);
    if w.rng.chance(0.5) {
        w.thinking();
    }
    w.snapshot();
    if w.rng.chance(0.1) {
        w.injected();
    }
    let mut since = 0;
    for i in 0..spec.turns {
        w.turn(i + 1 == spec.turns);
        since += 1;
        if since >= spec.compaction_every && i + 1 < spec.turns {
            w.compaction();
            since = 0;
        }
    }
    w.s
}
