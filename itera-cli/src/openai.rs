//! The `openai` arm: one version of a system under test that is a chat model behind an
//! OpenAI-compatible `/chat/completions` endpoint (OpenAI, vLLM, llama.cpp's server, Ollama, …).
//!
//! A version is defined by its model name, its two prompt templates, its sampling parameters, its
//! answer extraction and the `extra` request fields; [`OpenAiArm::spec`] prints exactly those, so
//! changing any of them makes a new version (G7). The endpoint's address is *not* part of the
//! version — moving the same model to another server keeps it — and the API key never appears in
//! the spec, in an error or anywhere else the arm writes.
//!
//! ## Templates
//!
//! `system` and `user` are plain text with `{name}` placeholders:
//!
//! - `{input}` is the row's input: the string itself for a string input, compact JSON otherwise;
//! - `{field}` is the value of key `field` of an object input (a string as is, any other value as
//!   compact JSON);
//! - `{{` and `}}` are literal braces (so a prompt can show a JSON example).
//!
//! A name is letters, digits and `_` (not starting with a digit). Anything else between braces, an
//! unclosed `{` or a stray `}` is a configuration error when the arm is built; a placeholder that
//! names a key the row does not have is a fatal error of that call ([`OpenAiArm::check_input`]
//! finds it before a run).
//!
//! ## Extraction
//!
//! Without `extract` the answer is the reply's text, trimmed. `extract = { regex = "…" }` keeps
//! capture group 1 of the first match; `extract = { json_field = "/category" }` parses the reply
//! as JSON (or the outermost `{…}` inside it) and reads that JSON pointer. An extraction that
//! finds nothing gives an **empty** answer: a real "no answer" that the judge scores, not an error.
//!
//! ## Errors
//!
//! HTTP 429, 5xx, time-outs and connection failures are [`ArmError::Retryable`] (with the
//! `Retry-After` header's seconds as `retry_after`); any other non-2xx status and a response that
//! is not a chat completion are [`ArmError::Fatal`].

use async_trait::async_trait;
use itera_core::hash::canonical_json;
use itera_core::{Arm, ArmError, ArmOutput, CallCtx, Reports, Usage};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::path::Path;
use std::sync::Once;
use std::time::Duration;

/// The default time-out of one HTTP call, in seconds.
pub const DEFAULT_TIMEOUT_S: f64 = 60.0;

/// Request fields the arm sets itself; `extra` may not set them.
const RESERVED_FIELDS: [&str; 5] = ["model", "messages", "temperature", "max_tokens", "stream"];

/// Installs rustls' `ring` crypto provider as the process default, once. Every HTTP client of this
/// crate is built after calling it (reqwest is built with `rustls-no-provider`, so that the
/// aws-lc C library is not compiled); calling it again, or after another crate installed a
/// provider, does nothing.
///
/// ```
/// itera_cli::openai::install_crypto_provider();
/// itera_cli::openai::install_crypto_provider(); // idempotent
/// ```
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed: that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// How the answer is taken out of the model's reply.
///
/// In TOML: `extract = { regex = "category: (\\w+)" }` or `extract = { json_field = "/category" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Extract {
    /// Capture group 1 of the first match of this regular expression (the regex must have one).
    Regex(String),
    /// A JSON pointer (RFC 6901, e.g. `/category`) into the reply parsed as JSON.
    JsonField(String),
}

/// The configuration of an [`OpenAiArm`], as written in an experiment file's `[arms.NAME]` table
/// (with `kind = "openai"` handled by the caller).
///
/// ```
/// use itera_cli::openai::{Extract, OpenAiArmConfig};
/// let cfg: OpenAiArmConfig = serde_json::from_value(serde_json::json!({
///     "base_url": "http://127.0.0.1:8089/v1",
///     "model": "smollm2-135m",
///     "user": "Category of: {memo}",
///     "extract": {"json_field": "/category"},
///     "extra": {"seed": 7}
/// })).unwrap();
/// assert_eq!(cfg.temperature, 0.0);
/// assert_eq!(cfg.extract, Some(Extract::JsonField("/category".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiArmConfig {
    /// The API root, e.g. `http://127.0.0.1:8089/v1`; the arm POSTs to `{base_url}/chat/completions`.
    /// `${NAME}` and `${NAME:-default}` are replaced by environment variables when the arm is built.
    /// Not part of the version: moving servers keeps it.
    pub base_url: String,
    /// The model name sent in the request.
    pub model: String,
    /// The system message template (optional).
    #[serde(default)]
    pub system: Option<String>,
    /// A file holding the system template, relative to the experiment file (instead of `system`).
    #[serde(default)]
    pub system_file: Option<String>,
    /// The user message template.
    #[serde(default)]
    pub user: Option<String>,
    /// A file holding the user template, relative to the experiment file (instead of `user`).
    #[serde(default)]
    pub user_file: Option<String>,
    /// Sampling temperature (default 0).
    #[serde(default)]
    pub temperature: f64,
    /// The completion's token limit, if any.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// How the answer is extracted from the reply (default: the whole reply, trimmed).
    #[serde(default)]
    pub extract: Option<Extract>,
    /// The NAME of the environment variable that holds the API key (read once, when the arm is
    /// built; sent as `Authorization: Bearer …`; never written anywhere).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Request fields passed through verbatim (`response_format`, `seed`, `stop`, `top_p`, …).
    /// They are part of the version. `model`, `messages`, `temperature`, `max_tokens` and `stream`
    /// have their own settings and are refused here.
    #[serde(default)]
    pub extra: Option<Map<String, Value>>,
    /// The model family (e.g. `"llama"`), for the cross-judge rule (G29).
    #[serde(default)]
    pub family: Option<String>,
    /// The time-out of one HTTP call in seconds (default [`DEFAULT_TIMEOUT_S`]).
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

/// A parsed prompt template (see the module docs for the syntax).
///
/// ```
/// use itera_cli::openai::Template;
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
pub(crate) struct Secret(String);

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

/// The shared HTTP side of the openai arm and the LLM judge: one endpoint, one model.
#[derive(Debug, Clone)]
pub(crate) struct ChatClient {
    url: String,
    model: String,
    temperature: f64,
    max_tokens: Option<u32>,
    extra: Map<String, Value>,
    key: Option<Secret>,
    http: reqwest::Client,
}

/// The parts of a chat completion the arm and judge use.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Completion {
    pub(crate) content: String,
    pub(crate) usage: Usage,
}

/// A failed chat call, already scrubbed of the key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChatError {
    Retryable {
        message: String,
        retry_after: Option<Duration>,
    },
    Fatal(String),
}

/// The client settings shared by the arm and judge configurations.
pub(crate) struct ClientSettings<'a> {
    pub(crate) base_url: &'a str,
    pub(crate) model: &'a str,
    pub(crate) temperature: f64,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) api_key_env: Option<&'a str>,
    pub(crate) extra: Option<&'a Map<String, Value>>,
    pub(crate) timeout_s: Option<f64>,
}

impl ChatClient {
    pub(crate) fn new(s: &ClientSettings<'_>, env: EnvLookup<'_>) -> Result<ChatClient, String> {
        let base = interpolate_env(s.base_url.trim(), env)?;
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "base_url must start with http:// or https:// (got {base:?})"
            ));
        }
        if s.model.trim().is_empty() {
            return Err("model must not be empty".into());
        }
        if !(s.temperature.is_finite() && (0.0..=2.0).contains(&s.temperature)) {
            return Err(format!(
                "temperature must be in [0, 2] (got {})",
                s.temperature
            ));
        }
        if s.max_tokens == Some(0) {
            return Err("max_tokens must be at least 1".into());
        }
        let extra = s.extra.cloned().unwrap_or_default();
        if let Some(k) = RESERVED_FIELDS.iter().find(|k| extra.contains_key(**k)) {
            return Err(format!(
                "extra must not set '{k}': it has its own setting (model, system/user, temperature, max_tokens; streaming is not supported)"
            ));
        }
        let timeout = s.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
            return Err(format!("timeout_s must be in (0, 3600] (got {timeout})"));
        }
        let key = read_key(s.api_key_env, env)?;
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(timeout))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(ChatClient {
            url: format!("{}/chat/completions", base.trim_end_matches('/')),
            model: s.model.to_string(),
            temperature: s.temperature,
            max_tokens: s.max_tokens,
            extra,
            key,
            http,
        })
    }

    /// The `extra` fields (part of the version).
    pub(crate) fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

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

    /// Removes the key from a message (defence in depth: no error carries it).
    fn scrub(&self, msg: String) -> String {
        match &self.key {
            Some(Secret(k)) if !k.is_empty() => msg.replace(k.as_str(), "***"),
            _ => msg,
        }
    }

    pub(crate) async fn complete(
        &self,
        system: Option<&str>,
        user: &str,
        seed: Option<u64>,
    ) -> Result<Completion, ChatError> {
        let body = self.body(system, user, seed);
        let mut req = self.http.post(&self.url).json(&body);
        if let Some(Secret(k)) = &self.key {
            req = req.bearer_auth(k);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "failed"
                };
                return Err(ChatError::Retryable {
                    message: self.scrub(format!(
                        "POST {} {kind}: {}",
                        self.url,
                        error_chain(&e.without_url())
                    )),
                    retry_after: None,
                });
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0)));
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => {
                return Err(ChatError::Retryable {
                    message: self.scrub(format!(
                        "POST {}: reading the response failed: {}",
                        self.url,
                        error_chain(&e.without_url())
                    )),
                    retry_after,
                });
            }
        };
        if !status.is_success() {
            let message = self.scrub(format!(
                "POST {} answered HTTP {}: {}",
                self.url,
                status.as_u16(),
                snippet(&text)
            ));
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                ChatError::Retryable {
                    message,
                    retry_after,
                }
            } else {
                ChatError::Fatal(message)
            });
        }
        parse_completion(&text).map_err(|why| {
            ChatError::Fatal(self.scrub(format!(
                "POST {}: the response is not a chat completion ({why}): {}",
                self.url,
                snippet(&text)
            )))
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn snippet(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() > 300 {
        let cut: String = t.chars().take(300).collect();
        format!("{cut}…")
    } else {
        t.to_string()
    }
}

fn parse_completion(text: &str) -> Result<Completion, String> {
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
        },
    })
}

/// A compiled [`Extract`].
#[derive(Debug, Clone)]
enum Extractor {
    Whole,
    Regex(regex::Regex),
    JsonField(String),
}

impl Extractor {
    fn new(e: Option<&Extract>) -> Result<Extractor, String> {
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
    fn apply(&self, reply: &str) -> String {
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

/// An [`Arm`] that asks a chat model behind an OpenAI-compatible endpoint.
///
/// ```no_run
/// use itera_cli::openai::{OpenAiArm, OpenAiArmConfig};
/// use itera_core::{Arm, CallCtx};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let cfg: OpenAiArmConfig = serde_json::from_value(serde_json::json!({
///     "base_url": "http://127.0.0.1:8089/v1",
///     "model": "smollm2",
///     "system": "You categorize bank transactions.",
///     "user": "Vendor: {vendor}\nMemo: {memo}\nCategory:",
///     "max_tokens": 16
/// }))?;
/// let arm = OpenAiArm::new("v1", &cfg, std::path::Path::new("."))?;
/// let ctx = CallCtx { row_id: "txn-0001".into(), trial: 0, seed: 7 };
/// let out = arm.call(&serde_json::json!({"vendor": "Delta Air", "memo": "DL 1234"}), &ctx).await?;
/// println!("{} ({:?} tokens in)", out.output, out.usage.input_tokens);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiArm {
    id: String,
    spec: String,
    family: Option<String>,
    system: Option<Template>,
    user: Template,
    extract: Extractor,
    client: ChatClient,
}

fn template_source(
    field: &str,
    inline: Option<&String>,
    file: Option<&String>,
    base_dir: &Path,
) -> Result<Option<String>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!("set either {field} or {field}_file, not both")),
        (Some(t), None) => Ok(Some(t.clone())),
        (None, Some(f)) => {
            let path = base_dir.join(f);
            std::fs::read_to_string(&path)
                .map(Some)
                .map_err(|e| format!("{field}_file: cannot read {}: {e}", path.display()))
        }
        (None, None) => Ok(None),
    }
}

impl OpenAiArm {
    /// Builds the arm: parses the templates (files relative to `base_dir`), compiles the
    /// extraction, reads the API key from `api_key_env` and prepares the HTTP client. Every
    /// problem is a message naming the arm and the setting.
    pub fn new(id: &str, cfg: &OpenAiArmConfig, base_dir: &Path) -> Result<OpenAiArm, String> {
        Self::new_with_env(id, cfg, base_dir, &process_env)
    }

    /// [`OpenAiArm::new`] reading `api_key_env` and `${NAME}` in `base_url` through `env`
    /// instead of the process environment (for tests and embedding).
    ///
    /// ```
    /// use itera_cli::openai::{OpenAiArm, OpenAiArmConfig};
    /// let cfg: OpenAiArmConfig = serde_json::from_value(serde_json::json!({
    ///     "base_url": "${LLM_URL}", "model": "m", "user": "{input}", "api_key_env": "LLM_KEY"
    /// })).unwrap();
    /// let env = |k: &str| match k {
    ///     "LLM_URL" => Some("http://127.0.0.1:8089/v1".to_string()),
    ///     "LLM_KEY" => Some("sk-test".to_string()),
    ///     _ => None,
    /// };
    /// let arm = OpenAiArm::new_with_env("v1", &cfg, std::path::Path::new("."), &env).unwrap();
    /// assert!(!itera_core::Arm::spec(&arm).contains("sk-test"));
    /// ```
    pub fn new_with_env(
        id: &str,
        cfg: &OpenAiArmConfig,
        base_dir: &Path,
        env: EnvLookup<'_>,
    ) -> Result<OpenAiArm, String> {
        Self::build(id, cfg, base_dir, env).map_err(|e| format!("arm '{id}' (openai): {e}"))
    }

    fn build(
        id: &str,
        cfg: &OpenAiArmConfig,
        base_dir: &Path,
        env: EnvLookup<'_>,
    ) -> Result<OpenAiArm, String> {
        let system = template_source(
            "system",
            cfg.system.as_ref(),
            cfg.system_file.as_ref(),
            base_dir,
        )?
        .map(|s| Template::parse(&s).map_err(|e| format!("system {e}")))
        .transpose()?;
        let user = template_source("user", cfg.user.as_ref(), cfg.user_file.as_ref(), base_dir)?
            .ok_or("the user template is missing: set user (or user_file)")?;
        let user = Template::parse(&user).map_err(|e| format!("user {e}"))?;
        let extract = Extractor::new(cfg.extract.as_ref())?;
        if let Some(f) = &cfg.family
            && f.trim().is_empty()
        {
            return Err("family must not be empty when set".into());
        }
        let client = ChatClient::new(
            &ClientSettings {
                base_url: &cfg.base_url,
                model: &cfg.model,
                temperature: cfg.temperature,
                max_tokens: cfg.max_tokens,
                api_key_env: cfg.api_key_env.as_deref(),
                extra: cfg.extra.as_ref(),
                timeout_s: cfg.timeout_s,
            },
            env,
        )?;
        let spec = spec_text(cfg, system.as_ref(), &user, client.extra());
        Ok(OpenAiArm {
            id: id.to_string(),
            spec,
            family: cfg.family.clone(),
            system,
            user,
            extract,
            client,
        })
    }

    /// Checks that the templates can be rendered over this row input (every placeholder names a
    /// key of it), so a run can refuse a mismatched dataset before its first call.
    ///
    /// ```
    /// use itera_cli::openai::{OpenAiArm, OpenAiArmConfig};
    /// let cfg: OpenAiArmConfig = serde_json::from_value(serde_json::json!({
    ///     "base_url": "http://127.0.0.1:1/v1", "model": "m", "user": "Memo: {memo}"
    /// })).unwrap();
    /// let arm = OpenAiArm::new("v1", &cfg, std::path::Path::new(".")).unwrap();
    /// assert!(arm.check_input(&serde_json::json!({"memo": "x"})).is_ok());
    /// assert!(arm.check_input(&serde_json::json!("just text")).is_err());
    /// ```
    pub fn check_input(&self, input: &Value) -> Result<(), String> {
        self.render(input).map(|_| ())
    }

    fn render(&self, input: &Value) -> Result<(Option<String>, String), String> {
        let system = match &self.system {
            Some(t) => Some(
                t.render(input)
                    .map_err(|e| format!("arm '{}': system {e}", self.id))?,
            ),
            None => None,
        };
        let user = self
            .user
            .render(input)
            .map_err(|e| format!("arm '{}': user {e}", self.id))?;
        Ok((system, user))
    }
}

/// The canonical text of a version: everything that changes what the model is asked, and nothing
/// that only says where it runs (base URL, key, time-out).
fn spec_text(
    cfg: &OpenAiArmConfig,
    system: Option<&Template>,
    user: &Template,
    extra: &Map<String, Value>,
) -> String {
    let mut s = String::from("kind: openai chat completion\n");
    s.push_str(&format!("model: {}\n", cfg.model));
    s.push_str(&format!("temperature: {}\n", cfg.temperature));
    match cfg.max_tokens {
        Some(m) => s.push_str(&format!("max_tokens: {m}\n")),
        None => s.push_str("max_tokens: (server default)\n"),
    }
    match &cfg.extract {
        None => s.push_str("extract: whole reply, trimmed\n"),
        Some(Extract::Regex(r)) => s.push_str(&format!("extract: regex {r:?}, group 1\n")),
        Some(Extract::JsonField(p)) => s.push_str(&format!("extract: json_field {p:?}\n")),
    }
    let extra = canonical_json(&Value::Object(extra.clone())).unwrap_or_else(|_| "{}".into());
    s.push_str(&format!("extra: {extra}\n"));
    match system {
        Some(t) => s.push_str(&format!("system:\n{}\n", indent(t.source()))),
        None => s.push_str("system: (none)\n"),
    }
    s.push_str(&format!("user:\n{}\n", indent(user.source())));
    s
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[async_trait]
impl Arm for OpenAiArm {
    fn id(&self) -> &str {
        &self.id
    }

    /// Model, temperature, max_tokens, extraction, `extra` and both templates — not the base URL
    /// (moving servers keeps the version) and never the key.
    fn spec(&self) -> String {
        self.spec.clone()
    }

    fn family(&self) -> Option<&str> {
        self.family.as_deref()
    }

    fn reports(&self) -> Reports {
        Reports {
            tokens: true,
            cost: false,
            latency: false,
        }
    }

    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let (system, user) = self.render(input).map_err(ArmError::Fatal)?;
        let done = self
            .client
            .complete(system.as_deref(), &user, Some(ctx.seed))
            .await
            .map_err(|e| match e {
                ChatError::Retryable {
                    message,
                    retry_after,
                } => ArmError::Retryable {
                    message: format!("arm '{}': {message}", self.id),
                    retry_after,
                },
                ChatError::Fatal(m) => ArmError::Fatal(format!("arm '{}': {m}", self.id)),
            })?;
        Ok(ArmOutput {
            output: Value::String(self.extract.apply(&done.content)),
            usage: done.usage,
            recorded_latency_ms: None,
            recorded_score: None,
        })
    }
}

#[cfg(test)]
pub(crate) mod mock {
    //! A tiny OpenAI-compatible server on 127.0.0.1 for the tests: each connection reads one
    //! HTTP/1.1 request and answers with the next canned response (the last one repeats).

    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// One canned response.
    #[derive(Debug, Clone)]
    pub(crate) struct Canned {
        pub(crate) status: u16,
        pub(crate) headers: Vec<(String, String)>,
        pub(crate) body: String,
    }

    impl Canned {
        /// A 200 chat completion with this content and usage.
        pub(crate) fn reply(content: &str, prompt: u64, completion: u64) -> Canned {
            Canned {
                status: 200,
                headers: Vec::new(),
                body: serde_json::json!({
                    "id": "cmpl-1", "object": "chat.completion", "model": "mock",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                              "total_tokens": prompt + completion}
                })
                .to_string(),
            }
        }

        pub(crate) fn status(status: u16, body: &str) -> Canned {
            Canned {
                status,
                headers: Vec::new(),
                body: body.to_string(),
            }
        }

        pub(crate) fn header(mut self, k: &str, v: &str) -> Canned {
            self.headers.push((k.into(), v.into()));
            self
        }
    }

    /// A request as received: headers (lower-cased names) and the JSON body.
    #[derive(Debug, Clone)]
    pub(crate) struct Received {
        pub(crate) path: String,
        pub(crate) headers: Vec<(String, String)>,
        pub(crate) body: serde_json::Value,
    }

    impl Received {
        pub(crate) fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
    }

    /// Starts the server; returns its base URL (`http://127.0.0.1:PORT/v1`) and the log of
    /// requests.
    pub(crate) async fn serve(responses: Vec<Canned>) -> (String, Arc<Mutex<Vec<Received>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = Arc::clone(&log);
        tokio::spawn(async move {
            let mut n = 0usize;
            // Bounded: a test makes a handful of calls.
            while n < 64 {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let canned = responses[n.min(responses.len() - 1)].clone();
                n += 1;
                let log = Arc::clone(&log2);
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    log.lock().expect("log").push(req);
                    let mut head = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                        canned.status,
                        canned.body.len()
                    );
                    for (k, v) in &canned.headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(canned.body.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        (format!("http://{addr}/v1"), log)
    }

    async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Received> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let header_end = loop {
            let n = sock.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let mut lines = head.split("\r\n");
        let path = lines
            .next()?
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < header_end + len {
            let n = sock.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = serde_json::from_slice(&buf[header_end..]).unwrap_or(serde_json::Value::Null);
        Some(Received {
            path,
            headers,
            body,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::mock::{Canned, serve};
    use super::*;
    use serde_json::json;

    fn cfg(base_url: &str, user: &str) -> OpenAiArmConfig {
        serde_json::from_value(json!({"base_url": base_url, "model": "smol", "user": user}))
            .unwrap()
    }

    fn ctx() -> CallCtx {
        CallCtx {
            row_id: "r1".into(),
            trial: 0,
            seed: 0x1_2345_6789,
        }
    }

    fn arm(c: &OpenAiArmConfig) -> OpenAiArm {
        OpenAiArm::new("v1", c, Path::new(".")).unwrap()
    }

    #[test]
    fn templates_parse_escape_and_refuse_bad_syntax() {
        let t = Template::parse("a {x} {{lit}} {input} {x}").unwrap();
        assert_eq!(t.placeholders(), vec!["x", "input"]);
        assert_eq!(t.render(&json!({"x": 5})).unwrap(), "a 5 {lit} {\"x\":5} 5");
        for bad in ["{", "a {b", "}", "{ x }", "{1x}", "{a.b}", "{}"] {
            assert!(Template::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let e = Template::parse("{x").unwrap_err();
        assert!(e.contains("not closed"), "{e}");
        // string input: {input} is the text, a field is an error naming it
        let t = Template::parse("Q: {input}").unwrap();
        assert_eq!(t.render(&json!("hi")).unwrap(), "Q: hi");
        let t = Template::parse("{memo}").unwrap();
        let err = t.render(&json!("hi")).unwrap_err();
        assert!(err.contains("{memo}"), "{err}");
        let err = t.render(&json!({"vendor": "x"})).unwrap_err();
        assert!(err.contains("vendor"), "{err}");
    }

    #[test]
    fn construction_errors_name_the_setting() {
        let mut c = cfg("http://127.0.0.1:1/v1", "{bad");
        let e = OpenAiArm::new("v1", &c, Path::new(".")).unwrap_err();
        assert!(e.contains("arm 'v1'") && e.contains("user template"), "{e}");
        c.user = Some("{input}".into());
        c.system = Some("}".into());
        assert!(
            OpenAiArm::new("v1", &c, Path::new("."))
                .unwrap_err()
                .contains("system")
        );
        c.system = None;
        c.extract = Some(Extract::Regex("no group".into()));
        assert!(
            OpenAiArm::new("v1", &c, Path::new("."))
                .unwrap_err()
                .contains("capture group")
        );
        c.extract = Some(Extract::JsonField("category".into()));
        assert!(
            OpenAiArm::new("v1", &c, Path::new("."))
                .unwrap_err()
                .contains("pointer")
        );
        c.extract = None;
        c.extra = Some(json!({"model": "other"}).as_object().unwrap().clone());
        assert!(
            OpenAiArm::new("v1", &c, Path::new("."))
                .unwrap_err()
                .contains("'model'")
        );
        c.extra = None;
        c.base_url = "127.0.0.1:8089".into();
        assert!(
            OpenAiArm::new("v1", &c, Path::new("."))
                .unwrap_err()
                .contains("http://")
        );
        c.base_url = "http://x/v1".into();
        c.api_key_env = Some("ITERA_TEST_SURELY_UNSET_KEY".into());
        let e = OpenAiArm::new("v1", &c, Path::new(".")).unwrap_err();
        assert!(e.contains("ITERA_TEST_SURELY_UNSET_KEY"), "{e}");
        c.api_key_env = Some("sk-literal-key-in-file".into());
        let e = OpenAiArm::new("v1", &c, Path::new(".")).unwrap_err();
        assert!(!e.contains("sk-literal"), "{e}");
        // unknown fields are refused by serde
        let r: Result<OpenAiArmConfig, _> = serde_json::from_value(
            json!({"base_url": "http://x", "model": "m", "user": "u", "temprature": 1}),
        );
        assert!(r.is_err());
        // neither user nor user_file
        let mut c = cfg("http://x/v1", "u");
        c.user = None;
        assert!(
            OpenAiArm::new("v1", &c, Path::new("."))
                .unwrap_err()
                .contains("user template is missing")
        );
    }

    #[test]
    fn templates_from_files_and_env_in_base_url() {
        let dir = std::env::temp_dir().join(format!("itera-openai-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("user.txt"), "Memo: {memo}").unwrap();
        let mut c = cfg("${ITERA_TEST_UNSET_URL_VAR:-http://127.0.0.1:9/v1}", "x");
        c.user = None;
        c.user_file = Some("user.txt".into());
        let a = OpenAiArm::new("v1", &c, &dir).unwrap();
        assert!(a.spec().contains("Memo: {memo}"));
        assert_eq!(a.client.url, "http://127.0.0.1:9/v1/chat/completions");
        c.base_url = "${ITERA_TEST_UNSET_URL_VAR}".into();
        assert!(
            OpenAiArm::new("v1", &c, &dir)
                .unwrap_err()
                .contains("not set")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn spec_defines_the_version_without_url_or_key() {
        let var = "ITERA_TEST_OPENAI_SPEC_KEY";
        let env = key_env(var, "sk-spec-secret-123");
        let mut c = cfg("http://127.0.0.1:1/v1", "Memo: {memo}");
        c.api_key_env = Some(var.into());
        c.system = Some("Be brief.".into());
        c.extra = Some(json!({"seed": 3, "response_format": {"type": "json_object"}}))
            .and_then(|v| v.as_object().cloned());
        c.extract = Some(Extract::JsonField("/category".into()));
        let a = arm_env(&c, &env);
        let spec = a.spec();
        assert!(!spec.contains("sk-spec-secret-123"));
        assert!(!spec.contains("127.0.0.1"));
        for part in [
            "model: smol",
            "Be brief.",
            "Memo: {memo}",
            "\"/category\"",
            r#"{"response_format":{"type":"json_object"},"seed":3}"#,
        ] {
            assert!(spec.contains(part), "{part} missing from\n{spec}");
        }
        let mut moved = c.clone();
        moved.base_url = "https://elsewhere.example/v1".into();
        assert_eq!(
            arm_env(&moved, &env).spec(),
            spec,
            "moving servers keeps the version"
        );
        let mut changed = c.clone();
        changed.temperature = 0.7;
        assert_ne!(arm_env(&changed, &env).spec(), spec);
        assert!(!format!("{a:?}").contains("sk-spec-secret-123"));
    }

    /// An environment holding one API key (no process-wide `set_var`: unsafe code is forbidden).
    fn key_env(k: &'static str, v: &'static str) -> impl Fn(&str) -> Option<String> {
        move |name: &str| (name == k).then(|| v.to_string())
    }

    fn arm_env(c: &OpenAiArmConfig, env: &dyn Fn(&str) -> Option<String>) -> OpenAiArm {
        OpenAiArm::new_with_env("v1", c, Path::new("."), env).unwrap()
    }

    #[tokio::test]
    async fn call_sends_key_extra_seed_and_extracts_json_field() {
        let var = "ITERA_TEST_OPENAI_CALL_KEY";
        let env = key_env(var, "sk-call-secret-456");
        let (url, log) = serve(vec![Canned::reply(
            "Sure! {\"category\": \" travel \"}",
            42,
            7,
        )])
        .await;
        let mut c = cfg(&url, "Vendor: {vendor}");
        c.system = Some("sys {vendor}".into());
        c.api_key_env = Some(var.into());
        c.max_tokens = Some(32);
        c.extract = Some(Extract::JsonField("/category".into()));
        c.extra = json!({"response_format": {"type": "json_object"}, "stop": ["\n"]})
            .as_object()
            .cloned();
        let out = arm_env(&c, &env)
            .call(&json!({"vendor": "Delta"}), &ctx())
            .await
            .unwrap();
        assert_eq!(out.output, json!("travel"));
        assert_eq!(out.usage.input_tokens, Some(42));
        assert_eq!(out.usage.output_tokens, Some(7));
        let req = log.lock().unwrap()[0].clone();
        assert_eq!(req.path, "/v1/chat/completions");
        assert_eq!(
            req.header("authorization"),
            Some("Bearer sk-call-secret-456")
        );
        let b = &req.body;
        assert_eq!(b["model"], "smol");
        assert_eq!(b["temperature"], 0.0);
        assert_eq!(b["max_tokens"], 32);
        assert_eq!(b["response_format"], json!({"type": "json_object"}));
        assert_eq!(b["stop"], json!(["\n"]));
        assert_eq!(b["seed"], json!(0x2345_6789u64)); // 31 low bits of the call's seed
        assert_eq!(
            b["messages"],
            json!([{"role": "system", "content": "sys Delta"},
                   {"role": "user", "content": "Vendor: Delta"}])
        );
    }

    #[tokio::test]
    async fn extra_seed_wins_and_no_key_means_no_header() {
        let (url, log) = serve(vec![Canned::reply("category: Software.", 1, 1)]).await;
        let mut c = cfg(&url, "{input}");
        c.extra = json!({"seed": 11}).as_object().cloned();
        c.extract = Some(Extract::Regex(r"category:\s*(\w+)".into()));
        let out = arm(&c).call(&json!("AWS"), &ctx()).await.unwrap();
        assert_eq!(out.output, json!("Software"));
        let req = log.lock().unwrap()[0].clone();
        assert_eq!(req.body["seed"], 11);
        assert_eq!(req.header("authorization"), None);
    }

    #[tokio::test]
    async fn extraction_that_finds_nothing_is_an_empty_answer() {
        let (url, _) = serve(vec![Canned::reply("I cannot tell.", 3, 4)]).await;
        let mut c = cfg(&url, "{input}");
        c.extract = Some(Extract::Regex(r"category:\s*(\w+)".into()));
        let out = arm(&c).call(&json!("x"), &ctx()).await.unwrap();
        assert_eq!(out.output, json!(""));
        assert_eq!(out.usage.output_tokens, Some(4));
        c.extract = Some(Extract::JsonField("/category".into()));
        let out = arm(&c).call(&json!("x"), &ctx()).await.unwrap();
        assert_eq!(out.output, json!(""));
        // whole reply, trimmed
        c.extract = None;
        let out = arm(&c).call(&json!("x"), &ctx()).await.unwrap();
        assert_eq!(out.output, json!("I cannot tell."));
    }

    #[tokio::test]
    async fn rate_limit_is_retryable_with_retry_after_then_success() {
        let var = "ITERA_TEST_OPENAI_429_KEY";
        let env = key_env(var, "sk-429-secret-789");
        let (url, _) = serve(vec![
            Canned::status(429, r#"{"error": "slow down, sk-429-secret-789"}"#)
                .header("Retry-After", "2"),
            Canned::reply("ok", 1, 1),
        ])
        .await;
        let mut c = cfg(&url, "{input}");
        c.api_key_env = Some(var.into());
        let a = arm_env(&c, &env);
        match a.call(&json!("x"), &ctx()).await {
            Err(ArmError::Retryable {
                message,
                retry_after,
            }) => {
                assert_eq!(retry_after, Some(Duration::from_secs(2)));
                assert!(message.contains("429"), "{message}");
                assert!(!message.contains("sk-429-secret-789"), "{message}");
            }
            other => panic!("expected retryable, got {other:?}"),
        }
        assert_eq!(
            a.call(&json!("x"), &ctx()).await.unwrap().output,
            json!("ok")
        );
    }

    #[tokio::test]
    async fn server_error_is_retryable_and_client_error_fatal() {
        let var = "ITERA_TEST_OPENAI_ERR_KEY";
        let env = key_env(var, "sk-err-secret-000");
        let (url, _) = serve(vec![
            Canned::status(500, "boom"),
            Canned::status(400, r#"{"error": {"message": "bad request"}}"#),
            Canned::status(200, "not json"),
        ])
        .await;
        let mut c = cfg(&url, "{input}");
        c.api_key_env = Some(var.into());
        let a = arm_env(&c, &env);
        let e = a.call(&json!("x"), &ctx()).await.unwrap_err();
        assert!(
            matches!(&e, ArmError::Retryable { retry_after: None, message } if message.contains("500")),
            "{e:?}"
        );
        let e = a.call(&json!("x"), &ctx()).await.unwrap_err();
        assert!(
            matches!(&e, ArmError::Fatal(m) if m.contains("400") && m.contains("bad request")),
            "{e:?}"
        );
        let e = a.call(&json!("x"), &ctx()).await.unwrap_err();
        assert!(
            matches!(&e, ArmError::Fatal(m) if m.contains("not a chat completion")),
            "{e:?}"
        );
        // a missing template key is fatal and needs no server
        let mut c2 = c.clone();
        c2.user = Some("{memo}".into());
        let e = arm_env(&c2, &env)
            .call(&json!({"v": 1}), &ctx())
            .await
            .unwrap_err();
        assert!(matches!(&e, ArmError::Fatal(m) if m.contains("{memo}")));
        // a closed port is a connection error: retryable, no key in it
        let mut c3 = c.clone();
        c3.base_url = "http://127.0.0.1:1/v1".into();
        let e = arm_env(&c3, &env)
            .call(&json!("x"), &ctx())
            .await
            .unwrap_err();
        assert!(matches!(&e, ArmError::Retryable { .. }), "{e:?}");
        for s in [e.to_string(), format!("{e:?}")] {
            assert!(!s.contains("sk-err-secret-000"), "{s}");
        }
    }

    #[test]
    fn config_round_trips_through_serde() {
        let c: OpenAiArmConfig = serde_json::from_value(json!({
            "base_url": "http://h/v1", "model": "m", "user": "{input}",
            "extract": {"regex": "(\\w+)"}, "extra": {"top_p": 0.5}, "family": "llama",
            "timeout_s": 5.0, "max_tokens": 8, "temperature": 0.2
        }))
        .unwrap();
        let back: OpenAiArmConfig =
            serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let a = arm(&c);
        assert_eq!(a.family(), Some("llama"));
        assert!(a.reports().tokens);
    }
}
