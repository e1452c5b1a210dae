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
//! HTTP 429, 503 and 529 are [`ArmError::Overloaded`] (retried, and a signal to the adaptive
//! concurrency, [`crate::run::adaptive`]); other 5xx, time-outs and connection failures are
//! [`ArmError::Retryable`] (both with the `Retry-After` header's seconds as `retry_after`); any other non-2xx status and a response that
//! is not a chat completion are [`ArmError::Fatal`].

mod batch;
mod request;
mod response;
mod retry;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod adaptive_loopback;
#[cfg(test)]
pub(crate) mod mock;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub(crate) use batch::BatchSettings;
pub use batch::{Execution, OPENAI_MAX_BYTES, OPENAI_MAX_REQUESTS};
pub(crate) use request::value_text;
pub use request::{EnvLookup, Template, process_env};
pub(crate) use response::{Extractor, snippet};
pub(crate) use retry::{Auth, ChatClient, ChatError, ClientSettings, Endpoint};
pub use retry::{DEFAULT_TIMEOUT_S, install_crypto_provider};

use crate::hash::canonical_json;
use crate::run::arm::{Arm, ArmError, ArmOutput, CallCtx, Reports};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

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
/// use itera_core::builtin::http::{Extract, OpenAiArmConfig};
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
    /// `"direct"` (default: one request per call) or `"batch"`: a phase's pending calls go
    /// through the OpenAI Batch API (`/files` + `/batches`), at the batch discount. Not part of
    /// the version: the same model is asked the same thing.
    #[serde(default)]
    pub execution: Execution,
    /// With `execution = "batch"`: seconds between two polls of a batch (default 30).
    #[serde(default)]
    pub batch_poll_s: Option<f64>,
    /// With `execution = "batch"`: most requests per batch (default and ceiling 50,000).
    #[serde(default)]
    pub batch_max_requests: Option<usize>,
}

/// An [`Arm`] that asks a chat model behind an OpenAI-compatible endpoint.
///
/// ```no_run
/// use itera_core::builtin::http::{OpenAiArm, OpenAiArmConfig};
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
    batch: Option<batch::OpenAiBatch>,
}

pub(crate) fn template_source(
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
    /// use itera_core::builtin::http::{OpenAiArm, OpenAiArmConfig};
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
        let batch = match cfg.execution {
            Execution::Direct => None,
            Execution::Batch => Some(batch::OpenAiBatch::new(
                id,
                &client,
                &cfg.base_url,
                cfg.api_key_env.as_deref(),
                cfg.timeout_s,
                BatchSettings::new(
                    cfg.batch_poll_s,
                    cfg.batch_max_requests,
                    OPENAI_MAX_REQUESTS,
                    OPENAI_MAX_BYTES,
                )?,
                env,
            )?),
        };
        Ok(OpenAiArm {
            batch,
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
    /// use itera_core::builtin::http::{OpenAiArm, OpenAiArmConfig};
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

pub(crate) fn indent(text: &str) -> String {
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

    fn batch(&self) -> Option<&dyn crate::run::batch::BatchApi> {
        self.batch
            .as_ref()
            .map(|_| self as &dyn crate::run::batch::BatchApi)
    }

    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let (system, user) = self.render(input).map_err(ArmError::Fatal)?;
        let done = self
            .client
            .complete(system.as_deref(), &user, Some(ctx.seed))
            .await
            .map_err(|e| e.into_arm_error(&self.id))?;
        Ok(ArmOutput {
            output: Value::String(self.extract.apply(&done.content)),
            usage: done.usage,
            recorded_latency_ms: None,
            recorded_score: None,
            raw: Some(done.content),
            server_ms: done.server_ms,
            trace: Vec::new(),
        })
    }
}
