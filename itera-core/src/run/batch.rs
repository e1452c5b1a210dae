//! Batch execution through a provider's batch API (issue #18 item 2): the [`BatchApi`] an arm
//! offers through [`Arm::batch`](crate::Arm::batch) — submit many requests at once, poll the
//! batch, read its results — for the runner to send all of a phase's pending calls of that arm
//! as one or more batches within the provider's limits. The built-in `openai` and `anthropic`
//! arms implement it (OpenAI Batch: JSONL file upload, `/v1/batches`, output file; Anthropic
//! Message Batches: `/v1/messages/batches`, results JSONL) when their configuration says
//! `execution = "batch"`.
//!
//! The runner journals each batch the moment the provider accepts it (`batch-submitted`, with
//! the (row, trial) of every request), so a resumed run polls it and never submits it twice;
//! each result is journaled as the same `call` record a direct call leaves, priced with the
//! price table's `batch_discount` (default: the API's published discount); items that failed or
//! came back without a result go through the arm's ordinary [`Arm::call`](crate::Arm::call).

use crate::run::arm::{ArmError, ArmOutput, CallCtx};
use async_trait::async_trait;
use serde_json::Value;
use std::time::Duration;

/// One request of a batch: its custom id (`r{i}`, unique within the batch and within every
/// provider's custom-id rules: Anthropic's `^[a-zA-Z0-9_-]{1,64}$`), the row's input and the
/// call's context.
#[derive(Debug, Clone)]
pub struct BatchRequest<'a> {
    /// The custom id the provider echoes back with the result.
    pub custom_id: String,
    /// The row's input.
    pub input: &'a Value,
    /// The call's context (row, trial, seed).
    pub ctx: CallCtx,
}

/// Where a submitted batch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStatus {
    /// Still being processed by the provider.
    InProgress,
    /// Finished (completed, ended, expired, cancelled or failed as a whole): its results, if
    /// any, can be read; the provider's final status word is kept for the journal.
    Ended(String),
}

/// The result of one request of a batch: the arm's output, or why it failed (the item is then
/// called again through the ordinary path).
pub type BatchResult = (String, Result<ArmOutput, String>);

/// A provider's batch API, as an arm offers it. Implemented by the built-in `openai` and
/// `anthropic` arms; implement it for your own arm to have its calls batched.
#[async_trait]
pub trait BatchApi: Send + Sync {
    /// The provider's name as journaled (`"openai"`, `"anthropic"`).
    fn provider(&self) -> &str;
    /// Most requests in one batch (OpenAI 50,000; Anthropic 100,000).
    fn max_requests(&self) -> usize;
    /// Most bytes of request lines in one batch (OpenAI 200 MB; Anthropic 256 MB).
    fn max_bytes(&self) -> usize;
    /// How long to wait between two polls of an unfinished batch.
    fn poll_interval(&self) -> Duration;
    /// The provider's published batch discount (0.5 on both: half the token price), used when
    /// the price table sets no `batch_discount`.
    fn discount(&self) -> f64 {
        0.5
    }
    /// The request line of one call (its size counts against [`BatchApi::max_bytes`]).
    fn request_line(&self, req: &BatchRequest<'_>) -> Result<Value, ArmError>;
    /// Submits the lines as one batch; the provider's batch id once it is accepted.
    async fn submit(&self, lines: &[Value]) -> Result<String, ArmError>;
    /// Where the batch stands.
    async fn poll(&self, batch_id: &str) -> Result<BatchStatus, ArmError>;
    /// The results of an ended batch, by custom id (a request without a result is absent).
    async fn results(&self, batch_id: &str) -> Result<Vec<BatchResult>, ArmError>;
}

/// The custom id of request `i` of a batch.
pub(crate) fn custom_id(i: usize) -> String {
    format!("r{i}")
}

/// The request index a custom id names, if it is one of ours.
pub(crate) fn custom_index(id: &str) -> Option<usize> {
    let digits = id.strip_prefix('r')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Splits request lines (their serialized sizes given) into batches of at most `max_requests`
/// requests and `max_bytes` bytes (a single line over `max_bytes` goes alone: the provider
/// refuses it and the item is retried directly).
pub(crate) fn chunks(
    sizes: &[usize],
    max_requests: usize,
    max_bytes: usize,
) -> Vec<(usize, usize)> {
    let max_requests = max_requests.max(1);
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0usize);
    for (i, &n) in sizes.iter().enumerate() {
        let count = i - start;
        // +1: the newline after each JSONL line.
        if count > 0 && (count >= max_requests || bytes.saturating_add(n + 1) > max_bytes) {
            out.push((start, i));
            start = i;
            bytes = 0;
        }
        bytes = bytes.saturating_add(n + 1);
    }
    if start < sizes.len() {
        out.push((start, sizes.len()));
    }
    out
}

/// Batches submitted, in progress and done in a phase, for [`Progress`](crate::run::exec::Progress).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Batches accepted by a provider (this run or a resumed one).
    pub submitted: usize,
    /// Of those, still being processed.
    pub in_progress: usize,
    /// Of those, ended and their results journaled.
    pub done: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip_and_refuse_foreign_ones() {
        for i in [0, 7, 49_999, 99_999] {
            let id = custom_id(i);
            assert!(id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()));
            assert_eq!(custom_index(&id), Some(i));
        }
        for bad in ["", "r", "x1", "r-1", "r1a", "r 1"] {
            assert_eq!(custom_index(bad), None, "{bad}");
        }
    }

    /// The size limits are parameters: a small one gives several batches.
    #[test]
    fn chunks_respect_the_request_and_byte_limits() {
        assert_eq!(chunks(&[10; 5], 2, 1000), vec![(0, 2), (2, 4), (4, 5)]);
        // 3 lines of 10 bytes + newline = 33 > 30: two per batch.
        assert_eq!(chunks(&[10; 5], 100, 30), vec![(0, 2), (2, 4), (4, 5)]);
        // A line larger than the limit goes alone.
        assert_eq!(chunks(&[5, 100, 5], 100, 20), vec![(0, 1), (1, 2), (2, 3)]);
        assert!(chunks(&[], 10, 10).is_empty());
    }
}
