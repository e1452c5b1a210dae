//! Batch execution settings shared by the `openai` and `anthropic` arms ([`Execution`],
//! [`BatchSettings`]) and the OpenAI Batch API client behind `execution = "batch"` on an
//! `openai` arm (issue #18 item 2).
//!
//! The OpenAI flow, per the Batch API reference: upload the requests as a JSONL file
//! (`POST {base}/files`, multipart, `purpose=batch`; each line
//! `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": {…}}`), create the
//! batch (`POST {base}/batches` with `input_file_id`, `endpoint: "/v1/chat/completions"`,
//! `completion_window: "24h"`), poll it (`GET {base}/batches/{id}`: `status` is `validating`,
//! `in_progress`, `finalizing`, `cancelling`, or terminal `completed`, `failed`, `expired`,
//! `cancelled`), then download its `output_file_id` (`GET {base}/files/{id}/content`), a JSONL
//! of `{"custom_id", "response": {"status_code", "body": <chat completion>}, "error"}`. Limits:
//! 50,000 requests and 200 MB per batch. The key is sent as `Authorization: Bearer` only.

use super::request::EnvLookup;
use super::response::{Completion, parse_completion};
use super::retry::{Auth, ChatClient, ChatError, Endpoint};
use crate::run::arm::{ArmError, ArmOutput};
use crate::run::batch::{BatchApi, BatchRequest, BatchResult, BatchStatus};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

/// How an arm's calls are executed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Execution {
    /// One request per call (default).
    #[default]
    Direct,
    /// Through the provider's batch API: a phase's pending calls go out as batches, priced with
    /// the batch discount; what a batch does not answer is called directly.
    Batch,
}

/// The batch settings of an arm with `execution = "batch"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchSettings {
    /// Seconds between two polls of an unfinished batch (`batch_poll_s`, default 30).
    pub poll: Duration,
    /// Most requests per batch (`batch_max_requests`, default and ceiling the provider's).
    pub max_requests: usize,
    /// Most bytes of request lines per batch (the provider's).
    pub max_bytes: usize,
}

/// OpenAI's limits per batch: 50,000 requests, 200 MB input file.
pub const OPENAI_MAX_REQUESTS: usize = 50_000;
/// OpenAI's input-file limit per batch, in bytes.
pub const OPENAI_MAX_BYTES: usize = 200 * 1000 * 1000;

impl BatchSettings {
    /// Checks `batch_poll_s` and `batch_max_requests` against the provider's ceilings.
    pub(crate) fn new(
        poll_s: Option<f64>,
        max_requests: Option<usize>,
        provider_max_requests: usize,
        provider_max_bytes: usize,
    ) -> Result<BatchSettings, String> {
        let poll_s = poll_s.unwrap_or(30.0);
        if !(poll_s.is_finite() && poll_s > 0.0 && poll_s <= 3600.0) {
            return Err(format!("batch_poll_s must be in (0, 3600] (got {poll_s})"));
        }
        let max_requests = max_requests.unwrap_or(provider_max_requests);
        if max_requests == 0 || max_requests > provider_max_requests {
            return Err(format!(
                "batch_max_requests must be in [1, {provider_max_requests}] (the provider's limit; got {max_requests})"
            ));
        }
        Ok(BatchSettings {
            poll: Duration::from_secs_f64(poll_s),
            max_requests,
            max_bytes: provider_max_bytes,
        })
    }
}

/// The `status` of an OpenAI batch that ends it.
fn openai_ended(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "expired" | "cancelled")
}

/// The OpenAI Batch API of one `openai` arm.
#[derive(Debug, Clone)]
pub(crate) struct OpenAiBatch {
    arm: String,
    client: ChatClient,
    files: Endpoint,
    batches: Endpoint,
    settings: BatchSettings,
}

fn fail(arm: &str, e: ChatError) -> ArmError {
    e.into_arm_error(arm)
}

fn json_field(arm: &str, what: &str, text: &str, pointer: &str) -> Result<String, ArmError> {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| {
            v.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| {
            ArmError::Fatal(format!(
                "arm '{arm}': {what}: the answer has no {pointer}: {}",
                super::snippet(text)
            ))
        })
}

impl OpenAiBatch {
    pub(crate) fn new(
        arm: &str,
        client: &ChatClient,
        base_url: &str,
        api_key_env: Option<&str>,
        timeout_s: Option<f64>,
        settings: BatchSettings,
        env: EnvLookup<'_>,
    ) -> Result<OpenAiBatch, String> {
        Ok(OpenAiBatch {
            arm: arm.to_string(),
            client: client.clone(),
            files: Endpoint::new(base_url, "files", api_key_env, timeout_s, env)?,
            batches: Endpoint::new(base_url, "batches", api_key_env, timeout_s, env)?,
            settings,
        })
    }

    /// The request line of one call: the chat body the direct call would send.
    pub(crate) fn line(
        &self,
        custom_id: &str,
        system: Option<&str>,
        user: &str,
        seed: u64,
    ) -> Value {
        json!({
            "custom_id": custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": self.client.body(system, user, Some(seed)),
        })
    }
}

/// A `multipart/form-data` body with the field `purpose=batch` and the JSONL as `file`.
fn multipart(jsonl: &[u8]) -> (String, Vec<u8>) {
    let boundary = "itera-batch-7f3a9c1e5b2d4068";
    let mut body = Vec::with_capacity(jsonl.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"itera-batch.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(jsonl);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The JSONL of request lines.
pub(crate) fn jsonl(lines: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

impl OpenAiBatch {
    pub(crate) async fn submit(&self, lines: &[Value]) -> Result<String, ArmError> {
        let (content_type, body) = multipart(&jsonl(lines));
        let text = self
            .files
            .post_bytes(&content_type, body, Auth::Bearer, &[])
            .await
            .map_err(|e| fail(&self.arm, e))?;
        let file_id = json_field(&self.arm, "uploading the batch file", &text, "/id")?;
        let text = self
            .batches
            .post(
                &json!({"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                        "completion_window": "24h"}),
                Auth::Bearer,
                &[],
            )
            .await
            .map_err(|e| fail(&self.arm, e))?;
        json_field(&self.arm, "creating the batch", &text, "/id")
    }
    pub(crate) async fn poll(&self, batch_id: &str) -> Result<BatchStatus, ArmError> {
        let text = self
            .batches
            .get(batch_id, Auth::Bearer, &[])
            .await
            .map_err(|e| fail(&self.arm, e))?;
        let status = json_field(&self.arm, "polling the batch", &text, "/status")?;
        Ok(if openai_ended(&status) {
            BatchStatus::Ended(status)
        } else {
            BatchStatus::InProgress
        })
    }
    pub(crate) async fn results(
        &self,
        batch_id: &str,
    ) -> Result<Vec<(String, Result<Completion, String>)>, ArmError> {
        let text = self
            .batches
            .get(batch_id, Auth::Bearer, &[])
            .await
            .map_err(|e| fail(&self.arm, e))?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // A failed or expired batch may have no output file: every item is then called directly.
        let Some(file) = v.get("output_file_id").and_then(Value::as_str) else {
            return Ok(Vec::new());
        };
        let text = self
            .files
            .get(&format!("{file}/content"), Auth::Bearer, &[])
            .await
            .map_err(|e| fail(&self.arm, e))?;
        Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|line| {
                let id = line.get("custom_id")?.as_str()?.to_string();
                let code = line
                    .pointer("/response/status_code")
                    .and_then(Value::as_u64);
                let result = match (code, line.pointer("/response/body")) {
                    (Some(200), Some(body)) => parse_completion(&body.to_string())
                        .map_err(|why| format!("not a chat completion ({why})")),
                    _ => Err(format!(
                        "batch item failed: {}",
                        super::snippet(&line.get("error").unwrap_or(&line).to_string())
                    )),
                };
                Some((id, result))
            })
            .collect())
    }
}

/// The `openai` arm's batch API: its own templates and extraction around the OpenAI Batch client.
#[async_trait]
impl BatchApi for super::OpenAiArm {
    fn provider(&self) -> &str {
        "openai"
    }
    fn max_requests(&self) -> usize {
        self.batch.as_ref().map_or(1, |b| b.settings.max_requests)
    }
    fn max_bytes(&self) -> usize {
        self.batch.as_ref().map_or(1, |b| b.settings.max_bytes)
    }
    fn poll_interval(&self) -> Duration {
        self.batch
            .as_ref()
            .map_or(Duration::from_secs(30), |b| b.settings.poll)
    }
    fn request_line(&self, req: &BatchRequest<'_>) -> Result<Value, ArmError> {
        let (system, user) = self.render(req.input).map_err(ArmError::Fatal)?;
        let b = self.batch_client()?;
        Ok(b.line(&req.custom_id, system.as_deref(), &user, req.ctx.seed))
    }
    async fn submit(&self, lines: &[Value]) -> Result<String, ArmError> {
        self.batch_client()?.submit(lines).await
    }
    async fn poll(&self, batch_id: &str) -> Result<BatchStatus, ArmError> {
        self.batch_client()?.poll(batch_id).await
    }
    async fn results(&self, batch_id: &str) -> Result<Vec<BatchResult>, ArmError> {
        let raw = self.batch_client()?.results(batch_id).await?;
        Ok(raw
            .into_iter()
            .map(|(id, r)| {
                let out = r.map(|c| ArmOutput {
                    output: Value::String(self.extract.apply(&c.content)),
                    usage: c.usage,
                    recorded_latency_ms: None,
                    recorded_score: None,
                    raw: Some(c.content),
                    server_ms: None,
                    trace: Vec::new(),
                });
                (id, out)
            })
            .collect())
    }
}

impl super::OpenAiArm {
    fn batch_client(&self) -> Result<&OpenAiBatch, ArmError> {
        self.batch.as_ref().ok_or_else(|| {
            ArmError::Fatal(format!("arm '{}': execution is not \"batch\"", self.id))
        })
    }
}
