//! The `anthropic` arm: one version of a system under test that is a Claude model behind
//! Anthropic's Messages API (`POST {base_url}/messages`, `x-api-key` read from an environment
//! variable, `anthropic-version` header).
//!
//! A version is its model, `anthropic-version`, sampling settings (`temperature`, `max_tokens`,
//! `stop_sequences`), templates, the shared prefix, where `cache_control` is placed, and the
//! answer extraction; [`AnthropicArm::spec`] prints exactly those (G7, G23). The address and the
//! key are never part of it, and the key is never written anywhere (G23).
//!
//! ## Prompt caching (G28)
//!
//! `cache_system = true` marks the system prompt with `cache_control: {type: "ephemeral"}`;
//! `prefix` (or `prefix_file`) is a long text shared by every row (instructions, few-shot
//! examples) sent as the first block of the user message, cached with `cache_prefix = true`.
//! Every call's usage is journaled with its cache-creation and cache-read input tokens, and the
//! frame's price bills them at `cache_write_per_mtok_usd` / `cache_read_per_mtok_usd`. A *cold*
//! call — one that wrote the cache and read nothing from it — is shown apart; the arm's reported
//! cost is the warm, steady-state one (test:
//! `anthropic_cache_tokens_are_priced_at_cache_rates_in_data_json`).
//!
//! ## Errors
//!
//! 429, 503 and 529 ("overloaded") are [`ArmError::Overloaded`], other 5xx [`ArmError::Retryable`],
//! both retried with `Retry-After`
//! honoured; any other status (400 `invalid_request_error`, 401, …) is [`ArmError::Fatal`] and
//! shows the provider's `error.message`. A reply cut at `max_tokens` (`stop_reason =
//! "max_tokens"`) is kept and scored, marked `truncated` in its journaled usage, and tagged with
//! the registered failure mode `truncated` when the taxonomy has one and the call failed.

mod batch;
mod wire;

pub use batch::{ANTHROPIC_MAX_BYTES, ANTHROPIC_MAX_REQUESTS};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use crate::builtin::http::{
    Auth, BatchSettings, Endpoint, EnvLookup, Execution, Extract, Extractor, Template, indent,
    process_env, template_source,
};
use crate::run::arm::{Arm, ArmError, ArmOutput, CallCtx, Reports};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The Messages API root used when `base_url` is not given.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com/v1";
/// The `anthropic-version` header sent when `anthropic_version` is not given.
pub const DEFAULT_VERSION: &str = "2023-06-01";

/// The configuration of an [`AnthropicArm`], as written in an experiment file's
/// `anthropic = { ... }` inside `[[arms]]` (equivalently an `[arms.anthropic]` table).
///
/// ```
/// use itera_core::builtin::anthropic::AnthropicArmConfig;
/// let cfg: AnthropicArmConfig = serde_json::from_value(serde_json::json!({
///     "model": "claude-haiku-4-5",
///     "api_key_env": "ANTHROPIC_API_KEY",
///     "system": "You categorize bank transactions.",
///     "cache_system": true,
///     "user": "Memo: {memo}\nCategory:",
///     "max_tokens": 16
/// })).unwrap();
/// assert_eq!(cfg.base_url, "https://api.anthropic.com/v1");
/// assert_eq!(cfg.temperature, 0.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnthropicArmConfig {
    /// The API root (default [`DEFAULT_BASE_URL`]); the arm POSTs to `{base_url}/messages`.
    /// `${NAME}` / `${NAME:-default}` are expanded from the environment. Not part of the version.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The model name, e.g. `claude-sonnet-4-5`.
    pub model: String,
    /// The `anthropic-version` header (default [`DEFAULT_VERSION`]).
    #[serde(default)]
    pub anthropic_version: Option<String>,
    /// The system prompt template (optional).
    #[serde(default)]
    pub system: Option<String>,
    /// A file holding the system template, relative to the experiment file.
    #[serde(default)]
    pub system_file: Option<String>,
    /// Mark the system prompt with `cache_control` (prompt caching).
    #[serde(default)]
    pub cache_system: bool,
    /// A long text shared by every row (not a template), sent as the first block of the user
    /// message — the place for instructions and few-shot examples worth caching.
    #[serde(default)]
    pub prefix: Option<String>,
    /// A file holding the shared prefix, relative to the experiment file.
    #[serde(default)]
    pub prefix_file: Option<String>,
    /// Mark the shared prefix with `cache_control`.
    #[serde(default)]
    pub cache_prefix: bool,
    /// The user message template.
    #[serde(default)]
    pub user: Option<String>,
    /// A file holding the user template, relative to the experiment file.
    #[serde(default)]
    pub user_file: Option<String>,
    /// Sampling temperature in [0, 1] (default 0).
    #[serde(default)]
    pub temperature: f64,
    /// The reply's token limit (required by the API; default 1024).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Sequences that end the reply.
    #[serde(default)]
    pub stop_sequences: Vec<String>,
    /// How the answer is extracted from the reply (default: the whole reply, trimmed).
    #[serde(default)]
    pub extract: Option<Extract>,
    /// The NAME of the environment variable holding the API key (sent as `x-api-key`; read once
    /// when the arm is built; never written anywhere).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The model family for the cross-judge rule (G29; default `"claude"`).
    #[serde(default)]
    pub family: Option<String>,
    /// The time-out of one HTTP call in seconds (default 60).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// `"direct"` (default: one request per call) or `"batch"`: a phase's pending calls go
    /// through the Message Batches API (`/messages/batches`), at the batch discount. Not part of
    /// the version.
    #[serde(default)]
    pub execution: Execution,
    /// With `execution = "batch"`: seconds between two polls of a batch (default 30).
    #[serde(default)]
    pub batch_poll_s: Option<f64>,
    /// With `execution = "batch"`: most requests per batch (default and ceiling 100,000).
    #[serde(default)]
    pub batch_max_requests: Option<usize>,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_string()
}

fn default_max_tokens() -> u32 {
    1024
}

/// An [`Arm`] that asks a Claude model through Anthropic's Messages API.
#[derive(Debug, Clone)]
pub struct AnthropicArm {
    id: String,
    spec: String,
    family: String,
    model: String,
    version: String,
    temperature: f64,
    max_tokens: u32,
    stop_sequences: Vec<String>,
    system: Option<Template>,
    cache_system: bool,
    prefix: Option<String>,
    cache_prefix: bool,
    user: Template,
    extract: Extractor,
    endpoint: Endpoint,
    /// The Message Batches endpoint and settings, with `execution = "batch"`.
    batch: Option<(Endpoint, BatchSettings)>,
}

impl AnthropicArm {
    /// Builds the arm: templates (files relative to `base_dir`), extraction, the key from
    /// `api_key_env`, the HTTP client. Every problem is a message naming the arm and the setting.
    pub fn new(
        id: &str,
        cfg: &AnthropicArmConfig,
        base_dir: &Path,
    ) -> Result<AnthropicArm, String> {
        Self::new_with_env(id, cfg, base_dir, &process_env)
    }

    /// [`AnthropicArm::new`] reading the environment through `env` (tests, embedding).
    pub fn new_with_env(
        id: &str,
        cfg: &AnthropicArmConfig,
        base_dir: &Path,
        env: EnvLookup<'_>,
    ) -> Result<AnthropicArm, String> {
        Self::build(id, cfg, base_dir, env).map_err(|e| format!("arm '{id}' (anthropic): {e}"))
    }

    fn build(
        id: &str,
        cfg: &AnthropicArmConfig,
        base_dir: &Path,
        env: EnvLookup<'_>,
    ) -> Result<AnthropicArm, String> {
        if cfg.model.trim().is_empty() {
            return Err("model must not be empty (e.g. model = \"claude-sonnet-4-5\")".into());
        }
        if !(cfg.temperature.is_finite() && (0.0..=1.0).contains(&cfg.temperature)) {
            return Err(format!(
                "temperature must be in [0, 1] for the Messages API (got {})",
                cfg.temperature
            ));
        }
        if cfg.max_tokens == 0 {
            return Err("max_tokens must be at least 1".into());
        }
        let system = template_source(
            "system",
            cfg.system.as_ref(),
            cfg.system_file.as_ref(),
            base_dir,
        )?
        .map(|s| Template::parse(&s).map_err(|e| format!("system {e}")))
        .transpose()?;
        if cfg.cache_system && system.is_none() {
            return Err("cache_system = true but there is no system prompt: set system (or system_file), or remove cache_system".into());
        }
        let prefix = template_source(
            "prefix",
            cfg.prefix.as_ref(),
            cfg.prefix_file.as_ref(),
            base_dir,
        )?;
        if cfg.cache_prefix && prefix.is_none() {
            return Err("cache_prefix = true but there is no prefix: set prefix (or prefix_file), or remove cache_prefix".into());
        }
        let user = template_source("user", cfg.user.as_ref(), cfg.user_file.as_ref(), base_dir)?
            .ok_or("the user template is missing: set user (or user_file)")?;
        let user = Template::parse(&user).map_err(|e| format!("user {e}"))?;
        let extract = Extractor::new(cfg.extract.as_ref())?;
        let family = match &cfg.family {
            Some(f) if f.trim().is_empty() => {
                return Err("family must not be empty when set".into());
            }
            Some(f) => f.clone(),
            None => "claude".to_string(),
        };
        let version = cfg
            .anthropic_version
            .clone()
            .unwrap_or_else(|| DEFAULT_VERSION.to_string());
        let endpoint = Endpoint::new(
            &cfg.base_url,
            "messages",
            cfg.api_key_env.as_deref(),
            cfg.timeout_s,
            env,
        )?;
        let batch = match cfg.execution {
            Execution::Direct => None,
            Execution::Batch => Some((
                Endpoint::new(
                    &cfg.base_url,
                    "messages/batches",
                    cfg.api_key_env.as_deref(),
                    cfg.timeout_s,
                    env,
                )?,
                BatchSettings::new(
                    cfg.batch_poll_s,
                    cfg.batch_max_requests,
                    ANTHROPIC_MAX_REQUESTS,
                    ANTHROPIC_MAX_BYTES,
                )?,
            )),
        };
        let mut arm = AnthropicArm {
            batch,
            id: id.to_string(),
            spec: String::new(),
            family,
            model: cfg.model.clone(),
            version,
            temperature: cfg.temperature,
            max_tokens: cfg.max_tokens,
            stop_sequences: cfg.stop_sequences.clone(),
            system,
            cache_system: cfg.cache_system,
            prefix,
            cache_prefix: cfg.cache_prefix,
            user,
            extract,
            endpoint,
        };
        arm.spec = arm.spec_text(cfg.extract.as_ref());
        Ok(arm)
    }

    /// The Messages request body of one row (the same for a direct and a batched call).
    fn body(&self, input: &Value) -> Result<Value, ArmError> {
        let (system, user) = self.render(input).map_err(ArmError::Fatal)?;
        Ok(wire::body(
            &self.model,
            self.max_tokens,
            self.temperature,
            &self.stop_sequences,
            &wire::Prompt {
                system: system.as_deref(),
                cache_system: self.cache_system,
                prefix: self.prefix.as_deref(),
                cache_prefix: self.cache_prefix,
                user: &user,
            },
        ))
    }

    /// Checks that the templates render over this row input (every placeholder names a key).
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

    /// The canonical text of a version: what the model is asked and how, never where or with
    /// which key.
    fn spec_text(&self, extract: Option<&Extract>) -> String {
        let mut s = String::from("kind: anthropic messages\n");
        s.push_str(&format!("model: {}\n", self.model));
        s.push_str(&format!("anthropic-version: {}\n", self.version));
        s.push_str(&format!("temperature: {}\n", self.temperature));
        s.push_str(&format!("max_tokens: {}\n", self.max_tokens));
        s.push_str(&format!("stop_sequences: {:?}\n", self.stop_sequences));
        s.push_str(&format!(
            "cache_control: system {}, prefix {}\n",
            self.cache_system, self.cache_prefix
        ));
        match extract {
            None => s.push_str("extract: whole reply, trimmed\n"),
            Some(Extract::Regex(r)) => s.push_str(&format!("extract: regex {r:?}, group 1\n")),
            Some(Extract::JsonField(p)) => s.push_str(&format!("extract: json_field {p:?}\n")),
        }
        match &self.system {
            Some(t) => s.push_str(&format!("system:\n{}\n", indent(t.source()))),
            None => s.push_str("system: (none)\n"),
        }
        match &self.prefix {
            Some(p) => s.push_str(&format!("prefix:\n{}\n", indent(p))),
            None => s.push_str("prefix: (none)\n"),
        }
        s.push_str(&format!("user:\n{}\n", indent(self.user.source())));
        s
    }
}

#[async_trait]
impl Arm for AnthropicArm {
    fn id(&self) -> &str {
        &self.id
    }

    /// Model, version header, sampling settings, cache placement, extraction, system prompt,
    /// shared prefix and user template — not the base URL and never the key.
    fn spec(&self) -> String {
        self.spec.clone()
    }

    fn family(&self) -> Option<&str> {
        Some(&self.family)
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

    async fn call(&self, input: &Value, _ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let body = self.body(input)?;
        let text = self
            .endpoint
            .post(
                &body,
                Auth::Header("x-api-key"),
                &[("anthropic-version", self.version.as_str())],
            )
            .await
            .map_err(|e| e.into_arm_error(&self.id))?;
        let msg = wire::parse(&text).map_err(|why| {
            ArmError::Fatal(self.endpoint.scrub(format!(
                "arm '{}': POST {}: the response is not a Messages reply ({why}): {}",
                self.id,
                self.endpoint.shown_url(),
                crate::builtin::http::snippet(&text)
            )))
        })?;
        let _ = &msg.stop_reason;
        Ok(ArmOutput {
            output: Value::String(self.extract.apply(&msg.text)),
            usage: msg.usage,
            recorded_latency_ms: None,
            recorded_score: None,
            server_ms: None,
            raw: Some(msg.text),
            trace: Vec::new(),
        })
    }
}
