//! The wire format of Anthropic's Messages API (`POST /v1/messages`): the request body — system
//! prompt as text blocks (with `cache_control` when cached), one user message whose first block
//! is the optional shared prefix (cached when asked), `max_tokens`, `temperature`,
//! `stop_sequences` — and the response's text, `stop_reason` and usage (input, output,
//! cache-creation and cache-read input tokens).

use crate::run::arm::Usage;
use serde_json::{Value, json};

/// What one request carries besides the model and sampling settings.
pub(super) struct Prompt<'a> {
    pub(super) system: Option<&'a str>,
    pub(super) cache_system: bool,
    pub(super) prefix: Option<&'a str>,
    pub(super) cache_prefix: bool,
    pub(super) user: &'a str,
}

fn block(text: &str, cached: bool) -> Value {
    if cached {
        json!({"type": "text", "text": text, "cache_control": {"type": "ephemeral"}})
    } else {
        json!({"type": "text", "text": text})
    }
}

/// The JSON body of one Messages request.
pub(super) fn body(
    model: &str,
    max_tokens: u32,
    temperature: f64,
    stop_sequences: &[String],
    p: &Prompt<'_>,
) -> Value {
    let mut content = Vec::new();
    if let Some(prefix) = p.prefix {
        content.push(block(prefix, p.cache_prefix));
    }
    content.push(block(p.user, false));
    let mut b = json!({
        "model": model,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "messages": [{"role": "user", "content": content}],
    });
    if let Some(system) = p.system {
        b["system"] = Value::Array(vec![block(system, p.cache_system)]);
    }
    if !stop_sequences.is_empty() {
        b["stop_sequences"] = json!(stop_sequences);
    }
    b
}

/// The parts of a Messages response the arm uses.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Message {
    pub(super) text: String,
    pub(super) stop_reason: Option<String>,
    pub(super) truncated: bool,
    pub(super) usage: Usage,
}

/// Parses a Messages response. `usage.input_tokens` of the result counts every prompt token:
/// Anthropic's uncached `input_tokens` plus the cache-creation and cache-read ones (the
/// convention of [`Usage::input_tokens`]; the price bills the cached part at its own rates).
pub(super) fn parse(text: &str) -> Result<Message, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("type").and_then(Value::as_str) != Some("message") {
        return Err("no \"type\": \"message\"".into());
    }
    let blocks = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or("no content array")?;
    let text: String = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    let count = |k: &str| v.pointer(&format!("/usage/{k}")).and_then(Value::as_u64);
    let (uncached, read, write) = (
        count("input_tokens"),
        count("cache_read_input_tokens"),
        count("cache_creation_input_tokens"),
    );
    let stop_reason = v
        .get("stop_reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    let stop_reason_is_max_tokens = stop_reason.as_deref() == Some("max_tokens");
    Ok(Message {
        text,
        truncated: stop_reason_is_max_tokens,
        stop_reason,
        usage: Usage {
            input_tokens: uncached.map(|u| {
                u.saturating_add(read.unwrap_or(0))
                    .saturating_add(write.unwrap_or(0))
            }),
            output_tokens: count("output_tokens"),
            cache_read_tokens: read,
            cache_write_tokens: write,
            cost_usd: None,
            truncated: stop_reason_is_max_tokens,
        },
    })
}
