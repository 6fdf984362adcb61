//! Pricing decisions, pure: which price applies to a model call and what it costs, exactly
//! (see [`crate::money`]).
//!
//! Order (first that knows the model wins): the logged `usage.cost.total`; the agent's
//! `models.json`; the config's `models.providers.*.models[].cost`; an imported table
//! (`claw pricing import`, LiteLLM shape); the built-in snapshot below. Prices are USD per
//! MILLION tokens, so a call costs `sum(tokens x price) / 10^6`, computed exactly. A
//! long-context tier applies to the whole request once its prompt (input + cache read +
//! cache write) passes the threshold, as the providers bill.

use crate::money::Usd;
use serde_json::Value;
use std::collections::HashMap;

/// USD per million tokens, exact. A price a table gave that is no amount (negative, not
/// finite) is [`Usd::MAX`], so every call it prices is an absurd cost the caller reports.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rates {
    pub input: Usd,
    pub output: Usd,
    pub cache_read: Usd,
    pub cache_write: Usd,
}

/// A model's price, with an optional long-context tier.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    pub base: Rates,
    /// `(prompt tokens above which, rates for the whole request)`.
    pub tier: Option<(u64, Rates)>,
}

/// Token counts of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Tokens {
    pub fn prompt(&self) -> u64 {
        self.input + self.cache_read + self.cache_write
    }
}

/// A price from a table's float: the decimal it was written as (see [`Usd::from_f64`]);
/// an impossible one becomes [`Usd::MAX`] (every cost it makes is then absurd, and reported).
pub fn rate(x: f64) -> Usd {
    Usd::from_f64(x).unwrap_or(Usd::MAX)
}

impl Price {
    /// The exact cost of one call: `sum(tokens x USD per million) / 10^6`. `None` when it is
    /// no amount (a price of [`Usd::MAX`], a product past the range); the caller reports the
    /// line as absurd.
    pub fn cost(&self, t: &Tokens) -> Option<Usd> {
        let r = match self.tier {
            Some((threshold, r)) if t.prompt() > threshold => r,
            _ => self.base,
        };
        let mut sum = Usd::ZERO;
        for (n, p) in [
            (t.input, r.input),
            (t.output, r.output),
            (t.cache_read, r.cache_read),
            (t.cache_write, r.cache_write),
        ] {
            if n == 0 {
                continue;
            }
            sum = sum.checked_add(p.checked_mul_u64(n)?)?;
        }
        sum.checked_div_pow10(6)
    }
}

/// Where a line's cost came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Not known anywhere.
    Unpriced,
    /// `agents/<id>/agent/models.json`.
    ModelsJson,
    /// `models.providers` in openclaw.json.
    Config,
    /// `claw pricing import`, with the table's version.
    Imported(String),
    /// claw's built-in snapshot.
    Builtin,
}

impl Source {
    pub fn label(&self) -> String {
        match self {
            Source::Unpriced => "unpriced".into(),
            Source::ModelsJson => "models.json".into(),
            Source::Config => "config".into(),
            Source::Imported(v) => format!("imported:{v}"),
            Source::Builtin => format!("builtin:{BUILTIN_VERSION}"),
        }
    }
}

/// Version label of the built-in table.
pub const BUILTIN_VERSION: &str = "2026-11";

/// Normalize a model id for table lookups: lowercase, provider prefix dropped
/// (`anthropic/claude-x`, `openrouter/anthropic/claude-x`), a trailing date dropped
/// (`-20250514`, `@20250514`), and `.`/`-` version separators unified (`claude-sonnet-4.5`).
pub fn normalize_model(model: &str) -> String {
    let m = model.trim().to_ascii_lowercase();
    let m = m.rsplit('/').next().unwrap_or(&m).to_string();
    let m = m.split(':').next().unwrap_or(&m).to_string();
    let strip_date = |s: &str| -> String {
        for sep in ['-', '@'] {
            if let Some((head, tail)) = s.rsplit_once(sep) {
                if tail.len() == 8 && tail.bytes().all(|b| b.is_ascii_digit()) {
                    return head.to_string();
                }
                if tail == "latest" {
                    return head.to_string();
                }
            }
        }
        s.to_string()
    };
    let m = strip_date(&m);
    // claude-sonnet-4.5 == claude-sonnet-4-5; gpt-5.4 keeps its dot (OpenAI's own spelling).
    if m.starts_with("claude") {
        m.replace('.', "-")
    } else {
        m
    }
}

/// Provider family for a provider id as OpenClaw names it.
pub fn provider_family(provider: &str) -> &'static str {
    let p = provider.to_ascii_lowercase();
    if p.starts_with("anthropic") || p.starts_with("claude") {
        "anthropic"
    } else if p.starts_with("openai") || p == "codex" || p.starts_with("azure") {
        "openai"
    } else if p.starts_with("google") || p.starts_with("gemini") || p.starts_with("vertex") {
        "google"
    } else if p.starts_with("xai") || p.starts_with("grok") {
        "xai"
    } else {
        "other"
    }
}

/// A price table keyed by normalized model id.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub prices: HashMap<String, Price>,
}

impl Table {
    pub fn get(&self, model: &str) -> Option<Price> {
        self.prices.get(&normalize_model(model)).copied()
    }
}

fn r(input: f64, output: f64, cache_read: f64, cache_write: f64) -> Rates {
    Rates {
        input: rate(input),
        output: rate(output),
        cache_read: rate(cache_read),
        cache_write: rate(cache_write),
    }
}

/// The built-in snapshot: list prices (USD per million tokens) of the common models.
/// A newer table comes from `claw pricing import`.
pub fn builtin() -> Table {
    type Row = (&'static str, Rates, Option<(u64, Rates)>);
    // The literals below read back exactly (see [`rate`]).
    let rows: &[Row] = &[
        // Anthropic (cache write = 5-minute writes).
        ("claude-opus-4", r(15.0, 75.0, 1.5, 18.75), None),
        ("claude-opus-4-1", r(15.0, 75.0, 1.5, 18.75), None),
        ("claude-opus-4-5", r(5.0, 25.0, 0.5, 6.25), None),
        (
            "claude-sonnet-4",
            r(3.0, 15.0, 0.3, 3.75),
            Some((200_000, r(6.0, 22.5, 0.6, 7.5))),
        ),
        (
            "claude-sonnet-4-5",
            r(3.0, 15.0, 0.3, 3.75),
            Some((200_000, r(6.0, 22.5, 0.6, 7.5))),
        ),
        ("claude-3-7-sonnet", r(3.0, 15.0, 0.3, 3.75), None),
        ("claude-haiku-4-5", r(1.0, 5.0, 0.1, 1.25), None),
        ("claude-3-5-haiku", r(0.8, 4.0, 0.08, 1.0), None),
        // OpenAI (no cache-write charge).
        ("gpt-5", r(1.25, 10.0, 0.125, 0.0), None),
        ("gpt-5.1", r(1.25, 10.0, 0.125, 0.0), None),
        ("gpt-5-codex", r(1.25, 10.0, 0.125, 0.0), None),
        ("gpt-5.1-codex", r(1.25, 10.0, 0.125, 0.0), None),
        ("gpt-5.2", r(1.75, 14.0, 0.175, 0.0), None),
        ("gpt-5.4", r(1.75, 14.0, 0.175, 0.0), None),
        ("gpt-5-mini", r(0.25, 2.0, 0.025, 0.0), None),
        ("gpt-5-nano", r(0.05, 0.4, 0.005, 0.0), None),
        ("gpt-4.1", r(2.0, 8.0, 0.5, 0.0), None),
        ("gpt-4.1-mini", r(0.4, 1.6, 0.1, 0.0), None),
        ("gpt-4.1-nano", r(0.1, 0.4, 0.025, 0.0), None),
        ("gpt-4o", r(2.5, 10.0, 1.25, 0.0), None),
        ("gpt-4o-mini", r(0.15, 0.6, 0.075, 0.0), None),
        ("o3", r(2.0, 8.0, 0.5, 0.0), None),
        ("o4-mini", r(1.1, 4.4, 0.275, 0.0), None),
        // Google.
        (
            "gemini-2.5-pro",
            r(1.25, 10.0, 0.125, 0.0),
            Some((200_000, r(2.5, 15.0, 0.25, 0.0))),
        ),
        ("gemini-2.5-flash", r(0.3, 2.5, 0.03, 0.0), None),
        ("gemini-2.5-flash-lite", r(0.1, 0.4, 0.01, 0.0), None),
        (
            "gemini-3-pro-preview",
            r(2.0, 12.0, 0.2, 0.0),
            Some((200_000, r(4.0, 18.0, 0.4, 0.0))),
        ),
        // xAI.
        (
            "grok-4",
            r(3.0, 15.0, 0.75, 0.0),
            Some((128_000, r(6.0, 30.0, 1.5, 0.0))),
        ),
        (
            "grok-4-fast",
            r(0.2, 0.5, 0.05, 0.0),
            Some((128_000, r(0.4, 1.0, 0.05, 0.0))),
        ),
        ("grok-code-fast-1", r(0.2, 1.5, 0.02, 0.0), None),
        ("grok-3", r(3.0, 15.0, 0.75, 0.0), None),
        ("grok-3-mini", r(0.3, 0.5, 0.075, 0.0), None),
    ];
    Table {
        prices: rows
            .iter()
            .map(|(m, base, tier)| {
                (
                    m.to_string(),
                    Price {
                        base: *base,
                        tier: *tier,
                    },
                )
            })
            .collect(),
    }
}

/// Prices from an OpenClaw `models.providers` object (config or `models.json`):
/// `{<provider>: {models: [{id, cost: {input, output, cacheRead, cacheWrite}}]}}`, keyed by
/// `(provider, model id)` exactly as OpenClaw names them.
pub fn from_providers(providers: &Value) -> HashMap<(String, String), Price> {
    let mut out = HashMap::new();
    let Some(map) = providers.as_object() else {
        return out;
    };
    for (pid, p) in map {
        let Some(models) = p.get("models").and_then(Value::as_array) else {
            continue;
        };
        for m in models {
            let (Some(id), Some(cost)) = (m.get("id").and_then(Value::as_str), m.get("cost"))
            else {
                continue;
            };
            let f = |k: &str| cost.get(k).and_then(Value::as_f64);
            // A cost object with no usable number is no price at all (not a free model).
            if f("input").is_none() && f("output").is_none() {
                continue;
            }
            let base = r(
                f("input").unwrap_or(0.0),
                f("output").unwrap_or(0.0),
                f("cacheRead").unwrap_or(0.0),
                f("cacheWrite").unwrap_or(0.0),
            );
            out.insert((pid.clone(), id.to_string()), Price { base, tier: None });
        }
    }
    out
}

/// Parse a LiteLLM `model_prices_and_context_window.json` (per-TOKEN USD costs) into a
/// table keyed by normalized model id. First-party providers win over resellers for the same
/// model name. Returns the table and how many entries were priced.
pub fn from_litellm(doc: &Value) -> Result<Table, String> {
    let map = doc.as_object().ok_or("not a JSON object of models")?;
    let mut t = Table::default();
    let mut rank: HashMap<String, u8> = HashMap::new();
    for (key, v) in map {
        if key == "sample_spec" {
            continue;
        }
        // Per token -> per million, exactly: the literal shifted by six places.
        let per_m = |k: &str| {
            v.get(k).and_then(Value::as_f64).map(|x| {
                rate(x)
                    .checked_mul(Usd::dollars(1_000_000))
                    .unwrap_or(Usd::MAX)
            })
        };
        let (Some(input), Some(output)) = (
            per_m("input_cost_per_token"),
            per_m("output_cost_per_token"),
        ) else {
            continue;
        };
        let base = Rates {
            input,
            output,
            cache_read: per_m("cache_read_input_token_cost").unwrap_or_default(),
            cache_write: per_m("cache_creation_input_token_cost").unwrap_or_default(),
        };
        let mut tier = None;
        if let Some(obj) = v.as_object() {
            for k in obj.keys() {
                let Some(rest) = k.strip_prefix("input_cost_per_token_above_") else {
                    continue;
                };
                let Some(n) = rest
                    .strip_suffix("k_tokens")
                    .and_then(|n| n.parse::<u64>().ok())
                else {
                    continue;
                };
                let sfx = format!("_above_{n}k_tokens");
                let tr = Rates {
                    input: per_m(k).unwrap_or(input),
                    output: per_m(&format!("output_cost_per_token{sfx}")).unwrap_or(output),
                    cache_read: per_m(&format!("cache_read_input_token_cost{sfx}"))
                        .unwrap_or(base.cache_read),
                    cache_write: per_m(&format!("cache_creation_input_token_cost{sfx}"))
                        .unwrap_or(base.cache_write),
                };
                tier = Some((n * 1000, tr));
            }
        }
        let provider = v
            .get("litellm_provider")
            .and_then(Value::as_str)
            .unwrap_or("");
        let r_ = match provider {
            "anthropic" | "openai" | "gemini" | "xai" => 3,
            "vertex_ai-language-models" | "text-completion-openai" => 2,
            _ => 1,
        };
        let name = normalize_model(key);
        if rank.get(&name).is_some_and(|old| *old >= r_) {
            continue;
        }
        rank.insert(name.clone(), r_);
        t.prices.insert(name, Price { base, tier });
    }
    if t.prices.is_empty() {
        return Err("no model with input_cost_per_token and output_cost_per_token".into());
    }
    Ok(t)
}

/// Every price a run knows, in lookup order.
#[derive(Debug, Clone, Default)]
pub struct Book {
    /// Per agent: `(provider, model) -> price` from that agent's models.json.
    pub models_json: HashMap<String, HashMap<(String, String), Price>>,
    pub config: HashMap<(String, String), Price>,
    pub imported: Option<(String, Table)>,
    pub builtin: Table,
}

impl Book {
    /// The price for a call of `provider/model` by `agent`, and where it came from.
    pub fn lookup(&self, agent: &str, provider: &str, model: &str) -> (Source, Option<Price>) {
        let key = (provider.to_string(), model.to_string());
        if let Some(p) = self.models_json.get(agent).and_then(|m| m.get(&key)) {
            return (Source::ModelsJson, Some(*p));
        }
        if let Some(p) = self.config.get(&key) {
            return (Source::Config, Some(*p));
        }
        if let Some((v, t)) = &self.imported {
            if let Some(p) = t.get(model) {
                return (Source::Imported(v.clone()), Some(p));
            }
        }
        // The built-in table only knows the big four; a lookalike name elsewhere
        // (a local "gpt-5" on ollama) is not priced as the real thing.
        if provider_family(provider) != "other" || provider.is_empty() {
            if let Some(p) = self.builtin.get(model) {
                return (Source::Builtin, Some(p));
            }
        }
        (Source::Unpriced, None)
    }
}

/// Which cost a report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CostMode {
    /// The logged cost when present and non-zero, else the computed one (marked estimated).
    Auto,
    /// Only what OpenClaw logged.
    Logged,
    /// Only claw's own computation from the price tables.
    Computed,
}

/// Auto mode's choice for one line: `(cost, estimated)`; `None` when neither is known
/// (a logged zero for a call that used tokens counts as unknown, never as a silent $0).
pub fn auto_cost(logged: Option<Usd>, computed: Option<Usd>) -> Option<(Usd, bool)> {
    match (logged, computed) {
        (Some(l), _) if !l.is_zero() => Some((l, false)),
        (_, Some(c)) => Some((c, true)),
        // A logged zero with tokens behind it is not a price: report it as unpriced.
        (Some(_), None) | (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Usd {
        Usd::parse(s).unwrap()
    }

    #[test]
    fn computed_cost_is_exact_from_the_per_million_prices() {
        // The real gpt-5.4 line: 787 input, 267 output, 13952 cache read at 1.75/14/0.175.
        let p = builtin().get("gpt-5.4").unwrap();
        let t = Tokens {
            input: 787,
            output: 267,
            cache_read: 13952,
            cache_write: 0,
        };
        assert_eq!(p.cost(&t), Some(u("0.00755685")));
        // One token at $0.005 per million: 5e-9, not rounded to zero.
        let nano = builtin().get("gpt-5-nano").unwrap();
        let one = Tokens {
            cache_read: 1,
            ..Default::default()
        };
        assert_eq!(nano.cost(&one), Some(u("0.000000005")));
        let bad = Price {
            base: r(-1.0, 0.0, 0.0, 0.0),
            tier: None,
        };
        assert_eq!(
            bad.cost(&Tokens {
                input: 1,
                ..Default::default()
            }),
            None
        );
        assert_eq!(bad.cost(&Tokens::default()), Some(Usd::ZERO));
    }

    #[test]
    fn long_context_tier_applies_to_the_whole_request() {
        let p = builtin().get("claude-sonnet-4-5-20250929").unwrap();
        let small = Tokens {
            input: 200_000,
            output: 1000,
            ..Default::default()
        };
        assert_eq!(p.cost(&small), Some(u("0.615")));
        let big = Tokens {
            input: 150_000,
            cache_read: 50_001,
            output: 1000,
            ..Default::default()
        };
        // Past 200k prompt tokens every bucket is billed at the long-context rate:
        // 150000 x 6 + 50001 x 0.6 + 1000 x 22.5 = 952500.6 micro-dollars.
        assert_eq!(p.cost(&big), Some(u("0.9525006")));
    }

    #[test]
    fn lookup_order_and_normalization() {
        let mut b = Book {
            builtin: builtin(),
            ..Default::default()
        };
        let t = Tokens {
            input: 1_000_000,
            ..Default::default()
        };
        assert_eq!(
            b.lookup("main", "anthropic", "claude-sonnet-4.5").0,
            Source::Builtin
        );
        assert_eq!(b.lookup("main", "ollama", "gpt-5").0, Source::Unpriced);
        assert_eq!(
            b.lookup("main", "openrouter", "anthropic/claude-opus-4-5")
                .0,
            Source::Unpriced
        );
        b.config.insert(
            ("anthropic".into(), "claude-sonnet-4-5".into()),
            Price {
                base: r(1.0, 0.0, 0.0, 0.0),
                tier: None,
            },
        );
        let (s, p) = b.lookup("main", "anthropic", "claude-sonnet-4-5");
        assert_eq!((s, p.unwrap().cost(&t)), (Source::Config, Some(u("1"))));
        let mut mj = HashMap::new();
        mj.insert(
            ("anthropic".into(), "claude-sonnet-4-5".into()),
            Price {
                base: r(2.0, 0.0, 0.0, 0.0),
                tier: None,
            },
        );
        b.models_json.insert("main".into(), mj);
        assert_eq!(
            b.lookup("main", "anthropic", "claude-sonnet-4-5").0,
            Source::ModelsJson
        );
        assert_eq!(
            b.lookup("other", "anthropic", "claude-sonnet-4-5").0,
            Source::Config
        );
    }

    #[test]
    fn litellm_import_per_token_to_per_million_with_tiers() {
        let doc = serde_json::json!({
            "sample_spec": {"input_cost_per_token": 0},
            "claude-sonnet-4-5-20250929": {"litellm_provider": "anthropic", "input_cost_per_token": 3e-6, "output_cost_per_token": 1.5e-5,
                "cache_read_input_token_cost": 3e-7, "cache_creation_input_token_cost": 3.75e-6,
                "input_cost_per_token_above_200k_tokens": 6e-6, "output_cost_per_token_above_200k_tokens": 2.25e-5},
            "bedrock/anthropic.claude-sonnet-4-5": {"litellm_provider": "bedrock", "input_cost_per_token": 9e-6, "output_cost_per_token": 1e-5},
            "no-price": {"mode": "embedding"}
        });
        let t = from_litellm(&doc).unwrap();
        let p = t.get("claude-sonnet-4-5").unwrap();
        assert_eq!((p.base.input, p.base.cache_write), (u("3"), u("3.75")));
        let (th, tr) = p.tier.unwrap();
        assert_eq!(th, 200_000);
        assert_eq!((tr.output, tr.cache_read), (u("22.5"), u("0.3")));
        assert!(from_litellm(&serde_json::json!({"x": {}})).is_err());
    }

    #[test]
    fn auto_prefers_nonzero_logged() {
        let (five, seven) = (Some(u("5")), Some(u("7")));
        assert_eq!(auto_cost(five, seven), Some((u("5"), false)));
        assert_eq!(auto_cost(Some(Usd::ZERO), seven), Some((u("7"), true)));
        assert_eq!(auto_cost(None, seven), Some((u("7"), true)));
        assert_eq!(auto_cost(Some(Usd::ZERO), None), None);
        assert_eq!(auto_cost(None, None), None);
    }
}
