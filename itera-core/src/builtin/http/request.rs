//! The request side of the OpenAI-compatible client: prompt templates (`{name}` placeholders over
//! a row input), `${NAME}` interpolation in `base_url`, the API key read from the environment (a
//! [`Secret`] that never prints) and the JSON body of one `/chat/completions` request. Nothing
//! here identifies an arm to a judge (G30): templates see only the row and the output.

use super::retry::ChatClient;
use serde_json::Value;
use std::fmt;

/// Request fields the arm sets itself; `extra` may not set them.
pub(super) const RESERVED_FIELDS: [&str; 5] =
    ["model", "messages", "temperature", "max_tokens", "stream"];

/// A parsed prompt template (see the module docs for the syntax).
///
/// ```
/// use itera_core::builtin::http::Template;
/// let t = Template::parse("Memo: {memo} -> {{\"category\": ...}}").unwrap();
/// assert_eq!(t.placeholders(), vec!["memo"]);
/// let text = t.render(&serde_json::json!({"memo": "UBER TRIP"})).unwrap();
/// assert_eq!(text, "Memo: UBER TRIP -> {\"category\": ...}");
/// assert!(Template::parse("{not closed").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(String),
}

impl Template {
    /// Parses a template; a syntax error names the offending position.
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, n) in chars.by_ref() {
                        if n == '}' {
                            closed = true;
                            break;
                        }
                        name.push(n);
                    }
                    if !closed {
                        return Err(format!(
                            "template: '{{' at byte {i} is not closed (write '{{{{' for a literal brace)"
                        ));
                    }
                    if !valid_name(&name) {
                        return Err(format!(
                            "template: '{{{name}}}' at byte {i} is not a placeholder (names are letters, digits and '_'; write '{{{{' and '}}}}' for literal braces)"
                        ));
                    }
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Field(name));
                }
                '}' => {
                    return Err(format!(
                        "template: stray '}}' at byte {i} (write '}}}}' for a literal brace)"
                    ));
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The placeholder names, in order of first use.
    pub fn placeholders(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.parts {
            if let Part::Field(n) = p
                && !out.contains(&n.as_str())
            {
                out.push(n);
            }
        }
        out
    }

    /// Renders the template over a row input: `{input}` is the whole input, `{field}` a key of an
    /// object input. A missing key is an error naming it.
    pub fn render(&self, input: &Value) -> Result<String, String> {
        self.render_with(|name| {
            if name == "input" {
                return Some(value_text(input));
            }
            input.as_object()?.get(name).map(value_text)
        })
        .map_err(|name| match input {
            Value::Object(m) => {
                let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                format!(
                    "template placeholder '{{{name}}}' is not a key of the row input (keys: {})",
                    keys.join(", ")
                )
            }
            _ => format!(
                "template placeholder '{{{name}}}' needs an object input, but the row input is not an object (use '{{input}}')"
            ),
        })
    }

    /// Renders with a lookup; `Err(name)` for the first name the lookup does not know.
    pub(crate) fn render_with(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(n) => out.push_str(&lookup(n).ok_or_else(|| n.clone())?),
            }
        }
        Ok(out)
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value as prompt text: a string as is, anything else as compact JSON.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Looks an environment variable up (injectable, so tests need no process-wide `set_var`).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as an [`EnvLookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Replaces `${NAME}` / `${NAME:-default}` with environment variables.
pub(crate) fn interpolate_env(s: &str, env: EnvLookup<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("base_url: '${{' is not closed in {s:?}"))?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if !valid_name(name) {
            return Err(format!(
                "base_url: '${{{inner}}}' is not an environment variable reference"
            ));
        }
        match (env(name), default) {
            (Some(v), _) if !v.is_empty() => out.push_str(&v),
            (_, Some(d)) => out.push_str(d),
            _ => {
                return Err(format!(
                    "base_url refers to the environment variable {name}, which is not set"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An API key that never prints.
#[derive(Clone)]
pub(crate) struct Secret(pub(super) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Reads the key named by `api_key_env`, refusing an unset or empty variable (without printing it).
pub(crate) fn read_key(
    api_key_env: Option<&str>,
    env: EnvLookup<'_>,
) -> Result<Option<Secret>, String> {
    let Some(name) = api_key_env else {
        return Ok(None);
    };
    if !valid_name(name) {
        return Err(format!(
            "api_key_env must be the NAME of an environment variable (letters, digits, '_'), not {} characters of something else — never put the key itself in the file",
            name.chars().count()
        ));
    }
    match env(name) {
        Some(v) if !v.trim().is_empty() => Ok(Some(Secret(v.trim().to_string()))),
        _ => Err(format!(
            "api_key_env: the environment variable {name} is not set (or empty); export the API key in it"
        )),
    }
}

impl ChatClient {
    /// The request body for these messages; `seed` is added unless `extra` sets one.
    pub(crate) fn body(&self, system: Option<&str>, user: &str, seed: Option<u64>) -> Value {
        let mut body = self.extra.clone();
        let mut messages = Vec::new();
        if let Some(s) = system {
            messages.push(serde_json::json!({"role": "system", "content": s}));
        }
        messages.push(serde_json::json!({"role": "user", "content": user}));
        body.insert("model".into(), Value::String(self.model.clone()));
        body.insert("messages".into(), Value::Array(messages));
        body.insert("temperature".into(), serde_json::json!(self.temperature));
        if let Some(m) = self.max_tokens {
            body.insert("max_tokens".into(), Value::from(m));
        }
        if let Some(seed) = seed
            && !body.contains_key("seed")
        {
            // 31 bits: every server's seed type (i32, u32, i64) holds it.
            body.insert("seed".into(), Value::from(seed & 0x7fff_ffff));
        }
        Value::Object(body)
    }
}
