//! The HTTP side shared by the `openai` arm, the LLM judge and the `anthropic` arm: an
//! [`Endpoint`] validates the address and time-out, reads the key, sends one JSON POST and
//! classifies the failure — HTTP 429, 503 and 529 are load refusals (retryable, and a signal to
//! the adaptive concurrency), other 5xx, time-outs and connection failures retryable (with the
//! `Retry-After` seconds), anything else fatal showing the provider's `error.message` — so the
//! runner's retries and failure policy (G31) see the right kind. Every message is scrubbed of the
//! API key and carries the error's whole source chain. [`ChatClient`] is the OpenAI-compatible
//! chat client on top of it.

use super::request::{EnvLookup, RESERVED_FIELDS, Secret, interpolate_env, read_key};
use super::response::{Completion, parse_completion, snippet};
use crate::run::arm::ArmError;
use serde_json::{Map, Value};
use std::sync::Once;
use std::time::Duration;

/// The default time-out of one HTTP call, in seconds.
pub const DEFAULT_TIMEOUT_S: f64 = 60.0;

/// Installs rustls' `ring` crypto provider as the process default, once. Every HTTP client of this
/// crate is built after calling it (reqwest is built with `rustls-no-provider`, so that the
/// aws-lc C library is not compiled); calling it again, or after another crate installed a
/// provider, does nothing.
///
/// ```
/// itera_core::builtin::http::install_crypto_provider();
/// itera_core::builtin::http::install_crypto_provider(); // idempotent
/// ```
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed: that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// One HTTP endpoint with its key and time-out, shared by the `openai` arm, the LLM judge and the
/// `anthropic` arm: it POSTs a JSON body and classifies the failure (429/5xx/time-out/connection
/// retryable with `Retry-After`, the rest fatal), every message scrubbed of the key.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(super) url: String,
    /// The URL as the file spells it (`${VAR}` kept): what every message shows, so a secret
    /// expanded into `base_url` never reaches stderr or the journal (item 7; test:
    /// a_secret_in_base_url_stays_out_of_every_file_and_stream in itera-cli/tests/bad_input.rs).
    shown_url: String,
    key: Option<Secret>,
    http: reqwest::Client,
}

/// How the key is sent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth {
    /// `Authorization: Bearer KEY` (OpenAI-compatible servers).
    Bearer,
    /// The key as the value of this header (Anthropic's `x-api-key`).
    Header(&'static str),
}

impl Endpoint {
    /// Validates `base_url` (after `${VAR}` expansion) and the time-out, reads the key from
    /// `api_key_env` and builds the client for `{base_url}/{path}`.
    pub(crate) fn new(
        base_url: &str,
        path: &str,
        api_key_env: Option<&str>,
        timeout_s: Option<f64>,
        env: EnvLookup<'_>,
    ) -> Result<Endpoint, String> {
        let base = interpolate_env(base_url.trim(), env)?;
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "base_url must start with http:// or https:// (got {:?}, before ${{VAR}} expansion)",
                base_url.trim()
            ));
        }
        let timeout = timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
            return Err(format!("timeout_s must be in (0, 3600] (got {timeout})"));
        }
        let key = read_key(api_key_env, env)?;
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(timeout))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Endpoint {
            url: format!("{}/{path}", base.trim_end_matches('/')),
            shown_url: format!("{}/{path}", base_url.trim().trim_end_matches('/')),
            key,
            http,
        })
    }

    /// The URL requests go to (`${VAR}` expanded): never shown in a message.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The URL as the file spells it (for messages).
    pub(crate) fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// Removes the key (and the expanded URL) from a message (defence in depth: no error
    /// carries it).
    pub(crate) fn scrub(&self, msg: String) -> String {
        let msg = if self.url != self.shown_url {
            msg.replace(self.url.as_str(), &self.shown_url)
        } else {
            msg
        };
        match &self.key {
            Some(Secret(k)) if !k.is_empty() => msg.replace(k.as_str(), "***"),
            _ => msg,
        }
    }

    /// POSTs `body` with the key sent as `auth` and the fixed `headers`; the text of a 2xx
    /// answer, or the classified failure. A non-2xx answer shows the provider's
    /// `error.message` when the body has one (else a snippet of the body).
    pub(crate) async fn post(
        &self,
        body: &Value,
        auth: Auth,
        headers: &[(&'static str, &str)],
    ) -> Result<String, ChatError> {
        self.post_timed(body, auth, headers)
            .await
            .map(|(text, _)| text)
    }

    /// [`post`](Self::post), with the processing time the server reports for a 2xx answer
    /// (`openai-processing-ms`, sent by OpenAI and llama-cpp-python): its own clock, which on a
    /// one-slot server includes the time the request waited there (#19).
    pub(crate) async fn post_timed(
        &self,
        body: &Value,
        auth: Auth,
        headers: &[(&'static str, &str)],
    ) -> Result<(String, Option<f64>), ChatError> {
        let req = self.http.post(&self.url).json(body);
        self.send_timed(req, "POST", "", auth, headers).await
    }

    /// GETs `{url}/{suffix}` (a provider batch's status or results), classified like
    /// [`Endpoint::post`].
    pub(crate) async fn get(
        &self,
        suffix: &str,
        auth: Auth,
        headers: &[(&'static str, &str)],
    ) -> Result<String, ChatError> {
        let req = self.http.get(format!("{}/{suffix}", self.url));
        self.send(req, "GET", suffix, auth, headers).await
    }

    /// POSTs a raw body of this content type (a multipart file upload), classified like
    /// [`Endpoint::post`].
    pub(crate) async fn post_bytes(
        &self,
        content_type: &str,
        bytes: Vec<u8>,
        auth: Auth,
        headers: &[(&'static str, &str)],
    ) -> Result<String, ChatError> {
        let req = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        self.send(req, "POST", "", auth, headers).await
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        verb: &str,
        suffix: &str,
        auth: Auth,
        headers: &[(&'static str, &str)],
    ) -> Result<String, ChatError> {
        self.send_timed(req, verb, suffix, auth, headers)
            .await
            .map(|(text, _)| text)
    }

    async fn send_timed(
        &self,
        mut req: reqwest::RequestBuilder,
        verb: &str,
        suffix: &str,
        auth: Auth,
        headers: &[(&'static str, &str)],
    ) -> Result<(String, Option<f64>), ChatError> {
        let shown = if suffix.is_empty() {
            self.shown_url.clone()
        } else {
            format!("{}/{suffix}", self.shown_url)
        };
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(Secret(k)) = &self.key {
            req = match auth {
                Auth::Bearer => req.bearer_auth(k),
                Auth::Header(name) => req.header(name, k.as_str()),
            };
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
                        "{verb} {shown} {kind}: {}",
                        error_chain(&e.without_url())
                    )),
                    retry_after: None,
                    overloaded: false,
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
        let server_ms = resp
            .headers()
            .get("openai-processing-ms")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|ms| ms.is_finite() && *ms >= 0.0);
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => {
                return Err(ChatError::Retryable {
                    message: self.scrub(format!(
                        "{verb} {shown}: reading the response failed: {}",
                        error_chain(&e.without_url())
                    )),
                    retry_after,
                    overloaded: false,
                });
            }
        };
        if !status.is_success() {
            let message = self.scrub(format!(
                "{verb} {shown} answered HTTP {}: {}",
                status.as_u16(),
                provider_message(&text)
            ));
            // 429 and every 5xx (Anthropic's 529 "overloaded" included) are retried, honouring
            // Retry-After (test: anthropic_529_is_retried_with_retry_after).
            let code = status.as_u16();
            return Err(if code == 429 || status.is_server_error() {
                ChatError::Retryable {
                    message,
                    retry_after,
                    overloaded: matches!(code, 429 | 503 | 529),
                }
            } else {
                ChatError::Fatal(message)
            });
        }
        Ok((text, server_ms))
    }
}

/// The provider's own error text: `error.message` (OpenAI and Anthropic both answer
/// `{"error": {"message": …}}`), with `error.type` when given; else a snippet of the body.
fn provider_message(text: &str) -> String {
    let v: Option<Value> = serde_json::from_str(text).ok();
    let msg = v
        .as_ref()
        .and_then(|v| v.pointer("/error/message"))
        .and_then(Value::as_str);
    match msg {
        Some(m) => {
            let kind = v
                .as_ref()
                .and_then(|v| v.pointer("/error/type"))
                .and_then(Value::as_str);
            match kind {
                Some(k) => snippet(&format!("{k}: {m}")),
                None => snippet(m),
            }
        }
        None => snippet(text),
    }
}

/// The shared HTTP side of the openai arm and the LLM judge: one endpoint, one model.
#[derive(Debug, Clone)]
pub(crate) struct ChatClient {
    pub(super) model: String,
    pub(super) temperature: f64,
    pub(super) max_tokens: Option<u32>,
    pub(super) extra: Map<String, Value>,
    pub(super) endpoint: Endpoint,
}

/// A failed chat call, already scrubbed of the key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChatError {
    Retryable {
        message: String,
        retry_after: Option<Duration>,
        /// Refused for load (HTTP 429, 503, 529): a signal to the adaptive concurrency.
        overloaded: bool,
    },
    Fatal(String),
}

impl ChatError {
    /// The arm's error, named after the arm: a load refusal is [`ArmError::Overloaded`] (halves
    /// the adaptive limit), another retryable failure [`ArmError::Retryable`].
    pub(crate) fn into_arm_error(self, arm: &str) -> ArmError {
        match self {
            ChatError::Retryable {
                message,
                retry_after,
                overloaded: true,
            } => ArmError::Overloaded {
                message: format!("arm '{arm}': {message}"),
                retry_after,
            },
            ChatError::Retryable {
                message,
                retry_after,
                overloaded: false,
            } => ArmError::Retryable {
                message: format!("arm '{arm}': {message}"),
                retry_after,
            },
            ChatError::Fatal(m) => ArmError::Fatal(format!("arm '{arm}': {m}")),
        }
    }
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
        let endpoint = Endpoint::new(
            s.base_url,
            "chat/completions",
            s.api_key_env,
            s.timeout_s,
            env,
        )?;
        Ok(ChatClient {
            model: s.model.to_string(),
            temperature: s.temperature,
            max_tokens: s.max_tokens,
            extra,
            endpoint,
        })
    }

    /// The `extra` fields (part of the version).
    pub(crate) fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    pub(crate) async fn complete(
        &self,
        system: Option<&str>,
        user: &str,
        seed: Option<u64>,
    ) -> Result<Completion, ChatError> {
        let body = self.body(system, user, seed);
        let (text, server_ms) = self.endpoint.post_timed(&body, Auth::Bearer, &[]).await?;
        let mut done = parse_completion(&text).map_err(|why| {
            ChatError::Fatal(self.endpoint.scrub(format!(
                "POST {}: the response is not a chat completion ({why}): {}",
                self.endpoint.shown_url(),
                snippet(&text)
            )))
        })?;
        done.server_ms = server_ms;
        Ok(done)
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
