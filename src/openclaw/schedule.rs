//! What runs on a schedule inside OpenClaw, and on which provider: the heartbeat (from
//! `openclaw.json`) and the gateway's cron jobs (from `openclaw cron list --all --json`).
//!
//! Heartbeat rules (OpenClaw 2026.7.1 and 2026.9.6, checked against both): when no agent has
//! its own `heartbeat` block, only the default agent beats, at `agents.defaults.heartbeat.every`
//! (unset: OpenClaw's runtime default, 30m); when any agent has one, only those agents beat,
//! each at its own `every` or the defaults'. Agents are `agents.list: [{id}]` up to 2026.7.x and
//! `agents.entries: {<id>: {}}` later. A heartbeat runs on `heartbeat.model`, else the agent's
//! model, else `agents.defaults.model` (a string `provider/model` or `{primary}`).
//!
//! Cron jobs: `{jobs: [{id, name, agentId?, enabled, payload: {kind, model?}, declarationKey?}]}`.
//! Jobs with a `declarationKey` (the heartbeat's own job on 2026.9.x, plugin jobs) are owned
//! by OpenClaw's config and re-declared on reload: never touched.

use serde_json::Value;

/// Where one heartbeat's interval lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeartbeatScope {
    /// `agents.defaults.heartbeat.every` (only the default agent beats).
    Defaults,
    /// The agent's own `heartbeat.every`.
    Agent(String),
}

impl HeartbeatScope {
    /// Stored form: `defaults` or `agent:<id>`.
    pub fn key(&self) -> String {
        match self {
            HeartbeatScope::Defaults => "defaults".into(),
            HeartbeatScope::Agent(id) => format!("agent:{id}"),
        }
    }

    pub fn from_key(s: &str) -> Option<HeartbeatScope> {
        if s == "defaults" {
            return Some(HeartbeatScope::Defaults);
        }
        s.strip_prefix("agent:")
            .map(|id| HeartbeatScope::Agent(id.to_string()))
    }
}

/// One agent's heartbeat as the config says it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    pub agent: String,
    pub scope: HeartbeatScope,
    /// The provider it runs on (None: no model configured anywhere).
    pub provider: Option<String>,
    /// The configured `every` at `scope` (None: unset there).
    pub every: Option<String>,
    /// The interval it runs at: `every`, else the defaults', else `runtime_default`.
    pub effective: String,
    /// The `heartbeat` object exists at `scope` (an unset `every` inside it, or no object).
    pub block: bool,
}

/// The agents as (id, object, dotted config path prefix) in either era.
fn agents(cfg: &Value) -> Vec<(String, &Value, String)> {
    let mut out = Vec::new();
    if let Some(list) = cfg.pointer("/agents/list").and_then(Value::as_array) {
        for (i, a) in list.iter().enumerate() {
            if let Some(id) = a.get("id").and_then(Value::as_str) {
                out.push((id.to_string(), a, format!("agents.list[{i}]")));
            }
        }
    }
    if let Some(map) = cfg.pointer("/agents/entries").and_then(Value::as_object) {
        for (id, a) in map {
            out.push((id.clone(), a, format!("agents.entries.{id}")));
        }
    }
    out
}

/// `provider/model` or `{primary: "provider/model"}` -> provider (only the first `/` splits).
pub fn provider_of_model(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("primary")?.as_str()?,
        _ => return None,
    };
    let (p, _) = s.split_once('/')?;
    (!p.is_empty()).then(|| p.to_string())
}

/// Every heartbeat that runs, per the rules above.
pub fn heartbeats(cfg: &Value, runtime_default: &str) -> Vec<Heartbeat> {
    let defaults = cfg.pointer("/agents/defaults");
    let d_hb = defaults.and_then(|d| d.get("heartbeat"));
    let d_every = d_hb
        .and_then(|h| h.get("every"))
        .and_then(Value::as_str)
        .map(String::from);
    let d_model = defaults.and_then(|d| d.get("model"));
    let d_hb_model = d_hb.and_then(|h| h.get("model"));
    let all = agents(cfg);
    let own: Vec<_> = all
        .iter()
        .filter(|(_, a, _)| a.get("heartbeat").is_some_and(Value::is_object))
        .collect();
    if own.is_empty() {
        let default = all
            .iter()
            .find(|(_, a, _)| a.get("default").and_then(Value::as_bool) == Some(true))
            .or(all.first());
        let (agent, a_model) = match default {
            Some((id, a, _)) => (id.clone(), a.get("model")),
            None => ("main".to_string(), None),
        };
        let provider = provider_of_model(d_hb_model)
            .or_else(|| provider_of_model(a_model))
            .or_else(|| provider_of_model(d_model));
        return vec![Heartbeat {
            agent,
            block: d_hb.is_some(),
            scope: HeartbeatScope::Defaults,
            provider,
            effective: d_every.clone().unwrap_or_else(|| runtime_default.into()),
            every: d_every,
        }];
    }
    own.into_iter()
        .map(|(id, a, _)| {
            let hb = a.get("heartbeat");
            let every = hb
                .and_then(|h| h.get("every"))
                .and_then(Value::as_str)
                .map(String::from);
            let provider = provider_of_model(hb.and_then(|h| h.get("model")))
                .or_else(|| provider_of_model(d_hb_model))
                .or_else(|| provider_of_model(a.get("model")))
                .or_else(|| provider_of_model(d_model));
            Heartbeat {
                agent: id.clone(),
                block: true,
                scope: HeartbeatScope::Agent(id.clone()),
                provider,
                effective: every
                    .clone()
                    .or_else(|| d_every.clone())
                    .unwrap_or_else(|| runtime_default.into()),
                every,
            }
        })
        .collect()
}

/// The dotted path (as `openclaw config set` takes it) of the `heartbeat` object at `scope`;
/// None when the agent is no longer in the config.
pub fn heartbeat_path(cfg: &Value, scope: &HeartbeatScope) -> Option<String> {
    match scope {
        HeartbeatScope::Defaults => Some("agents.defaults.heartbeat".into()),
        HeartbeatScope::Agent(id) => agents(cfg)
            .into_iter()
            .find(|(a, _, _)| a == id)
            .map(|(_, _, p)| format!("{p}.heartbeat")),
    }
}

/// The `heartbeat` object at `scope` (None: absent).
pub fn heartbeat_object<'a>(cfg: &'a Value, scope: &HeartbeatScope) -> Option<&'a Value> {
    match scope {
        HeartbeatScope::Defaults => cfg.pointer("/agents/defaults/heartbeat"),
        HeartbeatScope::Agent(id) => agents(cfg)
            .into_iter()
            .find(|(a, _, _)| a == id)
            .and_then(|(_, a, _)| a.get("heartbeat")),
    }
}

/// The `every` at `scope` as a string (None: unset; a non-string value reads as its JSON).
pub fn every_at(cfg: &Value, scope: &HeartbeatScope) -> Option<String> {
    heartbeat_object(cfg, scope)
        .and_then(|h| h.get("every"))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
}

/// OpenClaw's duration strings (`90s`, `30m`, `1h`, `1h30m`, `2d`, `500ms`; a bare number is
/// minutes) -> milliseconds. None when it is not one.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<u64>() {
        return n.checked_mul(60_000);
    }
    let mut total: u64 = 0;
    let mut rest = s.as_str();
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult: f64 = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let v = n * mult;
        if !v.is_finite() || !(0.0..=1e15).contains(&v) {
            return None;
        }
        total = total.checked_add(v.round() as u64)?;
    }
    Some(total)
}

/// Milliseconds -> the shortest exact duration string in the largest unit that divides it.
pub fn format_duration_ms(ms: u64) -> String {
    for (unit, n) in [
        ("d", 86_400_000u64),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= n && ms.is_multiple_of(n) {
            return format!("{}{unit}", ms / n);
        }
    }
    format!("{ms}ms")
}

/// `every` multiplied by `factor` (None: not a duration, or 0 = heartbeat off).
pub fn stretch(every: &str, factor: u32) -> Option<String> {
    let ms = parse_duration_ms(every).filter(|m| *m > 0)?;
    Some(format_duration_ms(ms.checked_mul(u64::from(factor))?))
}

/// One gateway cron job, as far as claw cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronJob {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// The provider its agent turn runs on (None: unknown).
    pub provider: Option<String>,
    /// Owned by OpenClaw's config or a plugin (`declarationKey`), or not an agent turn.
    pub system: bool,
}

/// `openclaw cron list --all --json` (or one job from `cron get`) -> jobs; a job without a
/// model runs on its agent's model, else the default model.
pub fn cron_jobs(list: &Value, cfg: &Value) -> Vec<CronJob> {
    let jobs: Vec<&Value> = match list.get("jobs").and_then(Value::as_array) {
        Some(a) => a.iter().collect(),
        None if list.get("id").is_some() => vec![list],
        None => Vec::new(),
    };
    let all = agents(cfg);
    let d_model = cfg.pointer("/agents/defaults/model");
    jobs.into_iter()
        .filter_map(|j| {
            let id = j.get("id")?.as_str()?.to_string();
            let payload = j.get("payload");
            let kind = payload
                .and_then(|p| p.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let agent = j
                .get("agentId")
                .or_else(|| j.get("effectiveAgentId"))
                .and_then(Value::as_str);
            let a_model = agent.and_then(|id| {
                all.iter()
                    .find(|(a, _, _)| a == id)
                    .and_then(|(_, a, _)| a.get("model"))
            });
            let provider = provider_of_model(payload.and_then(|p| p.get("model")))
                .or_else(|| provider_of_model(a_model))
                .or_else(|| provider_of_model(d_model));
            Some(CronJob {
                name: j
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&id)
                    .to_string(),
                enabled: j.get("enabled").and_then(Value::as_bool).unwrap_or(true),
                system: j.get("declarationKey").is_some() || kind != "agentTurn",
                provider,
                id,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_default_agent_beats_unless_an_agent_has_its_own_block() {
        let cfg = json!({"agents": {"defaults": {"model": "fake/m1"}}});
        let h = heartbeats(&cfg, "30m");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].scope, HeartbeatScope::Defaults);
        assert_eq!(h[0].provider.as_deref(), Some("fake"));
        assert_eq!(
            (h[0].every.as_deref(), h[0].effective.as_str()),
            (None, "30m")
        );
        // 2026.7.x list: the default agent's own model wins over the defaults' model.
        let cfg = json!({"agents": {"defaults": {"model": "fake/m1", "heartbeat": {"every": "20m"}},
            "list": [{"id": "ops"}, {"id": "boss", "default": true, "model": {"primary": "other/m2"}}]}});
        let h = heartbeats(&cfg, "30m");
        assert_eq!(h[0].agent, "boss");
        assert_eq!(h[0].provider.as_deref(), Some("other"));
        assert_eq!(h[0].effective, "20m");
        // An agent with its own block: only those beat, each at its own path.
        let cfg = json!({"agents": {"defaults": {"model": "fake/m1", "heartbeat": {"every": "20m"}},
            "list": [{"id": "a", "heartbeat": {}}, {"id": "b", "heartbeat": {"every": "1h", "model": "x/y"}}, {"id": "c"}]}});
        let h = heartbeats(&cfg, "30m");
        assert_eq!(h.len(), 2);
        assert_eq!(
            (
                h[0].agent.as_str(),
                h[0].effective.as_str(),
                h[0].every.as_deref()
            ),
            ("a", "20m", None)
        );
        assert_eq!(h[1].provider.as_deref(), Some("x"));
        assert_eq!(
            heartbeat_path(&cfg, &h[1].scope).as_deref(),
            Some("agents.list[1].heartbeat")
        );
        assert_eq!(every_at(&cfg, &h[1].scope).as_deref(), Some("1h"));
        // 2026.9.x entries.
        let cfg = json!({"agents": {"entries": {"main": {"heartbeat": {"every": "15m"}}}}});
        let h = heartbeats(&cfg, "30m");
        assert_eq!(
            heartbeat_path(&cfg, &h[0].scope).as_deref(),
            Some("agents.entries.main.heartbeat")
        );
        assert_eq!(h[0].provider, None);
        assert_eq!(
            HeartbeatScope::from_key(&h[0].scope.key()),
            Some(h[0].scope.clone())
        );
    }

    #[test]
    fn durations_stretch_exactly() {
        assert_eq!(stretch("30m", 4).as_deref(), Some("2h"));
        assert_eq!(stretch("30m", 2).as_deref(), Some("1h"));
        assert_eq!(stretch("45m", 4).as_deref(), Some("3h"));
        assert_eq!(stretch("1h30m", 2).as_deref(), Some("3h"));
        assert_eq!(stretch("90s", 4).as_deref(), Some("6m"));
        assert_eq!(stretch("7", 2).as_deref(), Some("14m"));
        assert_eq!(stretch("0m", 4), None);
        assert_eq!(stretch("soon", 4), None);
        assert_eq!(parse_duration_ms("2d"), Some(172_800_000));
        assert_eq!(format_duration_ms(1500), "1500ms");
    }

    #[test]
    fn cron_jobs_resolve_their_provider_and_skip_declared_ones() {
        let cfg = json!({"agents": {"defaults": {"model": "fake/m1"},
            "entries": {"ops": {"model": "other/m2"}}}});
        let list = json!({"jobs": [
            {"id": "1", "name": "own-model", "enabled": true, "payload": {"kind": "agentTurn", "model": "anthropic/claude"}},
            {"id": "2", "name": "ops-job", "agentId": "ops", "enabled": false, "payload": {"kind": "agentTurn"}},
            {"id": "3", "name": "plain", "payload": {"kind": "agentTurn"}},
            {"id": "4", "name": "heartbeat-main", "declarationKey": "heartbeat:main", "payload": {"kind": "heartbeat"}},
            {"id": "5", "name": "dreaming", "declarationKey": "memory-core:x", "payload": {"kind": "agentTurn"}},
        ]});
        let j = cron_jobs(&list, &cfg);
        let got: Vec<_> = j
            .iter()
            .map(|j| (j.id.as_str(), j.provider.as_deref(), j.enabled, j.system))
            .collect();
        assert_eq!(
            got,
            vec![
                ("1", Some("anthropic"), true, false),
                ("2", Some("other"), false, false),
                ("3", Some("fake"), true, false),
                ("4", Some("fake"), true, true),
                ("5", Some("fake"), true, true),
            ]
        );
    }
}
