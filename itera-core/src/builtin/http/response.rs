//! The response side of the OpenAI-compatible client: a chat completion's text and token usage
//! (`usage.prompt_tokens`, `completion_tokens`, cached tokens), a short snippet of a body for
//! error messages, and the answer extraction (whole reply, regex group 1, or a JSON pointer). An
//! extraction that finds nothing is an empty answer the judge scores, not an error.

use super::Extract;
use crate::run::arm::Usage;
use serde_json::Value;

/// The parts of a chat completion the arm and judge use.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Completion {
    pub(crate) content: String,
    pub(crate) usage: Usage,
    /// The processing time the server reported (`openai-processing-ms`), when it did.
    pub(crate) server_ms: Option<f64>,
}

pub(crate) fn snippet(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() > 300 {
        let cut: String = t.chars().take(300).collect();
        format!("{cut}…")
    } else {
        t.to_string()
    }
}

pub(super) fn parse_completion(text: &str) -> Result<Completion, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let message = v
        .pointer("/choices/0/message")
        .ok_or("no choices[0].message")?;
    let content = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let count = |p: &str| v.pointer(p).and_then(Value::as_u64);
    Ok(Completion {
        content,
        usage: Usage {
            input_tokens: count("/usage/prompt_tokens"),
            output_tokens: count("/usage/completion_tokens"),
            cache_read_tokens: count("/usage/prompt_tokens_details/cached_tokens"),
            cache_write_tokens: None,
            cost_usd: None,
            truncated: false,
        },
        server_ms: None,
    })
}

/// A compiled [`Extract`].
#[derive(Debug, Clone)]
pub(crate) enum Extractor {
    Whole,
    Regex(regex::Regex),
    JsonField(String),
}

impl Extractor {
    pub(crate) fn new(e: Option<&Extract>) -> Result<Extractor, String> {
        match e {
            None => Ok(Extractor::Whole),
            Some(Extract::Regex(r)) => {
                let re = regex::Regex::new(r)
                    .map_err(|e| format!("extract.regex does not compile: {e}"))?;
                if re.captures_len() < 2 {
                    return Err(format!(
                        "extract.regex {r:?} has no capture group: the answer is group 1, e.g. \"category: (\\\\w+)\""
                    ));
                }
                Ok(Extractor::Regex(re))
            }
            Some(Extract::JsonField(p)) => {
                if !(p.is_empty() || p.starts_with('/')) {
                    return Err(format!(
                        "extract.json_field must be a JSON pointer starting with '/' (e.g. \"/category\"), got {p:?}"
                    ));
                }
                Ok(Extractor::JsonField(p.clone()))
            }
        }
    }

    /// The answer in `reply`, or an empty string when there is none.
    pub(crate) fn apply(&self, reply: &str) -> String {
        match self {
            Extractor::Whole => reply.trim().to_string(),
            Extractor::Regex(re) => re
                .captures(reply)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().trim().to_string())
                .unwrap_or_default(),
            Extractor::JsonField(p) => parse_json_reply(reply)
                .and_then(|v| v.pointer(p).cloned())
                .map(|v| match v {
                    Value::String(s) => s.trim().to_string(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default(),
        }
    }
}

/// The reply as JSON: the whole text, or else its outermost `{…}` (models wrap JSON in prose or
/// code fences).
fn parse_json_reply(reply: &str) -> Option<Value> {
    let t = reply.trim();
    if let Ok(v) = serde_json::from_str(t) {
        return Some(v);
    }
    let (a, b) = (t.find('{')?, t.rfind('}')?);
    if a < b {
        serde_json::from_str(&t[a..=b]).ok()
    } else {
        None
    }
}
