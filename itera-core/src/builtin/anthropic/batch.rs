//! The Anthropic Message Batches API behind `execution = "batch"` on an `anthropic` arm (issue
//! #18 item 2), per the API reference: create (`POST {base}/messages/batches` with `requests`:
//! `[{"custom_id", "params": <Messages request body>}]`; custom ids `^[a-zA-Z0-9_-]{1,64}$`),
//! poll (`GET {base}/messages/batches/{id}`: `processing_status` is `in_progress`, `canceling`
//! or `ended`; `results_url` once ended), results (a JSONL of
//! `{"custom_id", "result": {"type": "succeeded", "message": {…}}}` or a `result.type` of
//! `errored`, `canceled`, `expired`). Limits: 100,000 requests and 256 MB per batch. The key is
//! sent as `x-api-key` only, with `anthropic-version`.

use super::{AnthropicArm, wire};
use crate::builtin::http::Auth;
use crate::run::arm::{ArmError, ArmOutput};
use crate::run::batch::{BatchApi, BatchRequest, BatchResult, BatchStatus};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::time::Duration;

/// Anthropic's limit of requests per batch.
pub const ANTHROPIC_MAX_REQUESTS: usize = 100_000;
/// Anthropic's limit of bytes per batch.
pub const ANTHROPIC_MAX_BYTES: usize = 256 * 1000 * 1000;

impl AnthropicArm {
    fn batch_parts(
        &self,
    ) -> Result<
        (
            &crate::builtin::http::Endpoint,
            &crate::builtin::http::BatchSettings,
        ),
        ArmError,
    > {
        self.batch.as_ref().map(|(e, s)| (e, s)).ok_or_else(|| {
            ArmError::Fatal(format!("arm '{}': execution is not \"batch\"", self.id))
        })
    }

    fn headers(&self) -> [(&'static str, &str); 1] {
        [("anthropic-version", self.version.as_str())]
    }

    fn field(&self, what: &str, text: &str, pointer: &str) -> Result<String, ArmError> {
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| {
                v.pointer(pointer)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .ok_or_else(|| {
                ArmError::Fatal(format!(
                    "arm '{}': {what}: the answer has no {pointer}: {}",
                    self.id,
                    crate::builtin::http::snippet(text)
                ))
            })
    }
}

#[async_trait]
impl BatchApi for AnthropicArm {
    fn provider(&self) -> &str {
        "anthropic"
    }
    fn max_requests(&self) -> usize {
        self.batch.as_ref().map_or(1, |(_, s)| s.max_requests)
    }
    fn max_bytes(&self) -> usize {
        self.batch.as_ref().map_or(1, |(_, s)| s.max_bytes)
    }
    fn poll_interval(&self) -> Duration {
        self.batch
            .as_ref()
            .map_or(Duration::from_secs(30), |(_, s)| s.poll)
    }
    fn request_line(&self, req: &BatchRequest<'_>) -> Result<Value, ArmError> {
        Ok(json!({"custom_id": req.custom_id, "params": self.body(req.input)?}))
    }
    async fn submit(&self, lines: &[Value]) -> Result<String, ArmError> {
        let (e, _) = self.batch_parts()?;
        let text = e
            .post(
                &json!({ "requests": lines }),
                Auth::Header("x-api-key"),
                &self.headers(),
            )
            .await
            .map_err(|e| e.into_arm_error(&self.id))?;
        self.field("creating the message batch", &text, "/id")
    }
    async fn poll(&self, batch_id: &str) -> Result<BatchStatus, ArmError> {
        let (e, _) = self.batch_parts()?;
        let text = e
            .get(batch_id, Auth::Header("x-api-key"), &self.headers())
            .await
            .map_err(|e| e.into_arm_error(&self.id))?;
        let status = self.field("polling the message batch", &text, "/processing_status")?;
        Ok(if status == "ended" {
            BatchStatus::Ended(status)
        } else {
            BatchStatus::InProgress
        })
    }
    async fn results(&self, batch_id: &str) -> Result<Vec<BatchResult>, ArmError> {
        let (e, _) = self.batch_parts()?;
        let text = e
            .get(batch_id, Auth::Header("x-api-key"), &self.headers())
            .await
            .map_err(|e| e.into_arm_error(&self.id))?;
        // The results are read where `results_url` says when it lies under the API root (the
        // key is never sent elsewhere), else at the documented `{id}/results`.
        let root = format!("{}/", e.url());
        let suffix = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("results_url")?.as_str().map(str::to_string))
            .and_then(|u| u.strip_prefix(&root).map(str::to_string))
            .unwrap_or_else(|| format!("{batch_id}/results"));
        let text = e
            .get(&suffix, Auth::Header("x-api-key"), &self.headers())
            .await
            .map_err(|e| e.into_arm_error(&self.id))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|line| {
                let id = line.get("custom_id")?.as_str()?.to_string();
                let kind = line.pointer("/result/type").and_then(Value::as_str);
                let result = match (kind, line.pointer("/result/message")) {
                    (Some("succeeded"), Some(m)) => wire::parse(&m.to_string())
                        .map(|msg| ArmOutput {
                            output: Value::String(self.extract.apply(&msg.text)),
                            usage: msg.usage,
                            recorded_latency_ms: None,
                            recorded_score: None,
                            raw: Some(msg.text),
                            server_ms: None,
                            trace: Vec::new(),
                        })
                        .map_err(|why| format!("not a Messages reply ({why})")),
                    _ => Err(format!(
                        "batch item {}: {}",
                        kind.unwrap_or("without a result"),
                        crate::builtin::http::snippet(
                            &line.pointer("/result/error").unwrap_or(&line).to_string()
                        )
                    )),
                };
                Some((id, result))
            })
            .collect())
    }
}
