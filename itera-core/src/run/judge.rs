//! The [`Judge`] trait and what it sees ([`JudgeView`]) and returns ([`Judgement`]). The view holds
//! the row's input and expected value and nothing that identifies the arm: the judge is blind by
//! construction (G30).

use crate::journal::record::Usage;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a judge may see of a row: its input and ground truth. No arm id, no arm name (G30).
#[derive(Debug, Clone, Copy)]
pub struct JudgeView<'a> {
    /// The row's input.
    pub input: &'a Value,
    /// The row's ground truth, if any.
    pub expected: Option<&'a Value>,
}

/// A judge's score for one output.
///
/// ```
/// let j = itera_core::Judgement::score(1.0);
/// assert_eq!(j.score, 1.0);
/// assert!(j.failure_modes.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// Score in [0, 1].
    pub score: f64,
    /// Failure-mode categories the judge assigned (must be in the registered taxonomy, G9).
    #[serde(default)]
    pub failure_modes: Vec<String>,
    /// Hash of the rubric the score was given under (LLM judges, G8).
    #[serde(default)]
    pub rubric_hash: Option<String>,
    /// Tokens (and cost, when known) of the call behind this score: an LLM judge reports them
    /// so the journal and the experiment's cost include the judge's ([`Judgement::with_usage`]).
    #[serde(default)]
    pub usage: Usage,
    /// The raw reply of an LLM judge, journaled (bounded) beside the score
    /// ([`Judgement::with_raw`]).
    #[serde(default)]
    pub raw: Option<String>,
}

impl Judgement {
    /// A judgement with only a score.
    pub fn score(score: f64) -> Judgement {
        Judgement {
            score,
            failure_modes: Vec::new(),
            rubric_hash: None,
            usage: Usage::default(),
            raw: None,
        }
    }

    /// The same judgement with the call's token usage (and cost, when the judge knows it).
    pub fn with_usage(mut self, usage: Usage) -> Judgement {
        self.usage = usage;
        self
    }

    /// The same judgement with the judge's raw reply (journaled, cut to 2,000 characters).
    pub fn with_raw(mut self, raw: impl Into<String>) -> Judgement {
        self.raw = Some(raw.into());
        self
    }
}

/// Why a judge could not score an output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum JudgeError {
    /// A transient failure of an LLM judge: try again.
    #[error("retryable: {0}")]
    Retryable(String),
    /// The row cannot be scored by this judge (e.g. no expected value for an exact-match judge).
    #[error("{0}")]
    Unscorable(String),
}

/// Scores an arm's output for one row.
///
/// ```
/// use async_trait::async_trait;
/// use itera_core::{Judge, JudgeError, JudgeView, Judgement};
///
/// struct NonEmpty;
/// #[async_trait]
/// impl Judge for NonEmpty {
///     fn id(&self) -> &str { "non-empty" }
///     async fn score(&self, _view: JudgeView<'_>, output: &serde_json::Value) -> Result<Judgement, JudgeError> {
///         let empty = output.as_str().is_some_and(|s| s.trim().is_empty());
///         Ok(Judgement::score(if empty { 0.0 } else { 1.0 }))
///     }
/// }
/// let j: Box<dyn Judge> = Box::new(NonEmpty); // object-safe
/// assert_eq!(j.family(), None); // deterministic: no model family
/// ```
#[async_trait]
pub trait Judge: Send + Sync {
    /// Stable id, recorded with every score.
    fn id(&self) -> &str;
    /// True for a judge that asks a language model (G11, G29). Default `false`: a judge of your
    /// own that calls an LLM **must** return `true` and declare its [`Judge::family`], or the
    /// experiment is refused before any call; the built-in `LlmJudge` does both. An LLM judge
    /// gets the cross-judge check whenever a second judge of another family is given, and one of
    /// an arm's family is refused without it. A judge that declares a family counts as an LLM
    /// judge whatever this returns.
    fn is_llm(&self) -> bool {
        false
    }
    /// The model family of an LLM judge (for the cross-judge rule, G29); `None` for a
    /// deterministic scorer (G11). Required when [`Judge::is_llm`] is true.
    fn family(&self) -> Option<&str> {
        None
    }
    /// The locked rubric of an LLM judge (its hash is journaled, G8).
    fn rubric(&self) -> Option<&str> {
        None
    }
    /// Scores one output.
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError>;
}
