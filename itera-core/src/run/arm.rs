//! The [`Arm`] trait — one version of the system under test (a prompt, a model, a retriever, a
//! workflow) — and what a call gives back ([`ArmOutput`], [`Usage`]) or fails with ([`ArmError`]).

use crate::data::row::RowId;
pub use crate::journal::record::Usage;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// What the runner tells an arm about the call it is making.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCtx {
    /// The row being answered (a replay arm looks its recording up by it).
    pub row_id: RowId,
    /// The trial index, 0-based; two trials never share a response.
    pub trial: u32,
    /// A per-call seed derived from the experiment seed, row and trial, for arms that sample.
    /// Draw every bit of per-call randomness from it (a model's `seed` parameter, a seeded RNG):
    /// a resumed or re-run experiment then makes the same calls and reaches the same verdict.
    /// Randomness from the clock or `thread_rng` makes the verdict irreproducible.
    pub seed: u64,
}

/// Which usage fields an arm promises to report, so the pilot can refuse a call that forgot one
/// (G22). An HTTP arm reports tokens; a replay reports only what its recording has columns for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reports {
    /// The arm fills `input_tokens` and `output_tokens`.
    pub tokens: bool,
    /// The arm fills `cost_usd`.
    pub cost: bool,
    /// The arm reports a recorded latency (replays); otherwise the runner measures it.
    pub latency: bool,
}

/// One successful arm call: [`ArmOutput::text`] or [`ArmOutput::json`], then the builders for
/// what the arm knows about the call — [`with_usage`](ArmOutput::with_usage) (tokens),
/// [`with_cost`](ArmOutput::with_cost) (USD) and [`with_latency_ms`](ArmOutput::with_latency_ms)
/// (a latency measured elsewhere; otherwise the runner times the call). Declare what you fill in
/// [`Arm::reports`], so the pilot can refuse a call that forgot it (G22).
///
/// ```
/// use itera_core::prelude::*;
/// let out = ArmOutput::text("travel").with_usage(120, 4).with_cost(0.0003);
/// assert_eq!(out.output.as_str(), Some("travel"));
/// assert_eq!(out.usage.input_tokens, Some(120));
/// assert_eq!(out.usage.cost_usd, Some(0.0003));
/// let out = ArmOutput::json(json!({"label": "travel"})).with_latency_ms(35.0);
/// assert_eq!(out.recorded_latency_ms, Some(35.0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmOutput {
    /// The answer. An empty one (`null`, blank) is refused by the pilot unless the arm declares
    /// it legal ([`Arm::allows_empty_output`]); in the scored run it is scored by the judge.
    pub output: Value,
    /// Token usage and cost as reported.
    #[serde(default)]
    pub usage: Usage,
    /// Latency recorded elsewhere (a replay of a real run), in milliseconds.
    #[serde(default)]
    pub recorded_latency_ms: Option<f64>,
    /// A score recorded with the output (e.g. a judge's preference in a replay), for scorers that
    /// read it.
    #[serde(default)]
    pub recorded_score: Option<f64>,
    /// The model's reply as received, when the answer was extracted from it (journaled beside
    /// the output, bounded to [`RAW_REPLY_MAX_BYTES`], so an empty or odd answer can be explained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// The processing time the serving side reported for this call, in ms (e.g. the
    /// `openai-processing-ms` header), journaled apart from the latency the runner measures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ms: Option<f64>,
    /// Labels of the code paths this call took (e.g. `"cache-hit"`, `"fallback"`), journaled with
    /// the call so a no-effect iteration can say whether its changed path ran on the failing rows
    /// (G38). Empty when the arm reports none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<String>,
}

/// The longest raw reply journaled with a call; a longer one is cut at a character boundary and
/// marked.
pub const RAW_REPLY_MAX_BYTES: usize = 4096;

impl ArmOutput {
    /// An output holding a string and no usage.
    pub fn text(s: impl Into<String>) -> ArmOutput {
        ArmOutput {
            output: Value::String(s.into()),
            usage: Usage::default(),
            recorded_latency_ms: None,
            recorded_score: None,
            raw: None,
            server_ms: None,
            trace: Vec::new(),
        }
    }

    /// An output holding any JSON value and no usage.
    pub fn json(output: Value) -> ArmOutput {
        ArmOutput {
            output,
            ..ArmOutput::text("")
        }
    }

    /// Keeps the model's reply as received beside the extracted answer (journaled, bounded).
    #[must_use]
    pub fn with_raw(mut self, reply: impl Into<String>) -> ArmOutput {
        self.raw = Some(reply.into());
        self
    }

    /// Sets the processing time the serving side reported for this call, in ms (journaled apart
    /// from the send → reply latency the runner measures, which also holds network and queueing).
    #[must_use]
    pub fn with_server_ms(mut self, ms: f64) -> ArmOutput {
        self.server_ms = Some(ms);
        self
    }

    /// Reports the code paths this call took, as labels (G38): journaled with the call, and read
    /// when an iteration that declares a changed path ([`Arm::changed_paths`]) has no effect —
    /// the outcome then says on how many failing rows that path ran.
    ///
    /// ```
    /// use itera_core::prelude::*;
    /// let out = ArmOutput::text("travel").with_trace(["retriever", "fallback"]);
    /// assert_eq!(out.trace, vec!["retriever".to_string(), "fallback".to_string()]);
    /// ```
    #[must_use]
    pub fn with_trace<I, S>(mut self, labels: I) -> ArmOutput
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trace = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the prompt (`input`) and completion (`output`) token counts the provider reported.
    #[must_use]
    pub fn with_usage(mut self, input_tokens: u64, output_tokens: u64) -> ArmOutput {
        self.usage.input_tokens = Some(input_tokens);
        self.usage.output_tokens = Some(output_tokens);
        self
    }

    /// Sets the call's cost in US dollars, when the arm knows it (otherwise the runner prices
    /// the tokens with the frame's price table).
    #[must_use]
    pub fn with_cost(mut self, usd: f64) -> ArmOutput {
        self.usage.cost_usd = Some(usd);
        self
    }

    /// Sets a latency measured elsewhere (a replay of a real run), in milliseconds; the runner
    /// uses it instead of timing the call.
    #[must_use]
    pub fn with_latency_ms(mut self, ms: f64) -> ArmOutput {
        self.recorded_latency_ms = Some(ms);
        self
    }
}

/// Why an arm call failed. The runner retries [`ArmError::Retryable`] with backoff (honouring
/// `retry_after`) and records the rest under the registered failure policy (G31).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ArmError {
    /// A transient failure (rate limit, 5xx, connection reset): try again.
    #[error("retryable: {message}")]
    Retryable {
        /// What happened.
        message: String,
        /// The server's hint of how long to wait.
        retry_after: Option<Duration>,
    },
    /// A failure that will not go away by retrying (bad request, missing recording).
    #[error("{0}")]
    Fatal(String),
    /// The endpoint refused the call for load (HTTP 429, 503, 529): retried like
    /// [`ArmError::Retryable`] (honouring `retry_after`), and with
    /// [`RunOptions::adaptive`](crate::RunOptions::adaptive) set it halves the arm's concurrency.
    #[error("overloaded: {message}")]
    Overloaded {
        /// What happened.
        message: String,
        /// The server's hint of how long to wait.
        retry_after: Option<Duration>,
    },
}

/// One version of the system under test. Implement it for your own pipeline; the runner calls it
/// for every (row × trial) with bounded concurrency.
///
/// `spec()` is the text that *defines* this version — prompt, model name, parameters — and is
/// hashed (so a changed spec is a new version), diffed between iterations and scanned by the
/// gate's leak detector (G35).
///
/// ```
/// use async_trait::async_trait;
/// use itera_core::{Arm, ArmError, ArmOutput, CallCtx};
///
/// struct Upper;
/// #[async_trait]
/// impl Arm for Upper {
///     fn id(&self) -> &str { "upper" }
///     fn spec(&self) -> String { "uppercase the input".into() }
///     async fn call(&self, input: &serde_json::Value, _ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
///         let s = input.as_str().ok_or_else(|| ArmError::Fatal("input is not text".into()))?;
///         Ok(ArmOutput::text(s.to_uppercase()))
///     }
/// }
/// let arms: Vec<Box<dyn Arm>> = vec![Box::new(Upper)]; // object-safe
/// assert_eq!(arms[0].id(), "upper");
/// ```
#[async_trait]
pub trait Arm: Send + Sync {
    /// The arm's id as registered in the frame.
    fn id(&self) -> &str;
    /// The text that defines this version.
    fn spec(&self) -> String;
    /// The model family behind this arm (e.g. `"gpt"`, `"llama"`), if it is an LLM: an LLM judge
    /// of the same family triggers the cross-judge check (G29).
    fn family(&self) -> Option<&str> {
        None
    }
    /// Which usage fields this arm reports (checked by the pilot).
    fn reports(&self) -> Reports {
        Reports::default()
    }
    /// Whether an empty answer (`null`, an empty or blank string, an empty array or object) is a
    /// legal output of this arm. By default it is not: the pilot refuses an arm whose pilot call
    /// returns nothing (G22), since a silent empty answer scored as "wrong" is a broken arm
    /// passing for a bad one. Return `true` for an arm whose correct answer may be empty.
    fn allows_empty_output(&self) -> bool {
        false
    }
    /// The provider batch API this arm sends its calls through, when it is configured for
    /// batch execution (issue #18 item 2; the built-in `openai` and `anthropic` arms with
    /// `execution = "batch"`). `None` (the default): every call goes through [`Arm::call`].
    fn batch(&self) -> Option<&dyn crate::run::batch::BatchApi> {
        None
    }
    /// The trace labels ([`ArmOutput::with_trace`]) of the code path this version changed, for
    /// an iteration (G38): when the iteration has no effect, its journaled outcome says on how
    /// many of the rows the previous version failed a call of this version took that path.
    /// Empty by default: the outcome then says "not traced", never that the path ran.
    fn changed_paths(&self) -> Vec<String> {
        Vec::new()
    }
    /// Answers one row.
    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError>;
}
