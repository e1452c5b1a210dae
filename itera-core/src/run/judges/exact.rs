//! The two string-equality judges: [`ExactMatch`] (equal after trimming, nothing else) and
//! [`Normalized`] (equal after [`normalize`]). Deterministic scorers (G11).

use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use crate::run::judges::{answer_text, expected_normalized, expected_text, judged, normalize};
use async_trait::async_trait;
use serde_json::Value;

/// Exact match: the output equals the expected value after trimming surrounding whitespace
/// (Unicode whitespace, both ends) — nothing else: case, inner whitespace and punctuation count.
///
/// ```
/// use itera_core::{Judge, JudgeView};
/// use itera_core::run::judges::ExactMatch;
/// use serde_json::json;
/// let expected = json!("Paris");
/// let view = JudgeView { input: &json!("capital of France?"), expected: Some(&expected) };
/// let score = |out| futures::executor::block_on(ExactMatch.score(view, &out)).unwrap().score;
/// assert_eq!(score(json!(" Paris\n")), 1.0);
/// assert_eq!(score(json!("paris")), 0.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExactMatch;

#[async_trait]
impl Judge for ExactMatch {
    fn id(&self) -> &str {
        "exact"
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        let expected = expected_text(self.id(), &view)?;
        Ok(judged(
            answer_text(output).is_some_and(|out| out.trim() == expected.trim()),
        ))
    }
}

/// Normalized match: the output equals the expected value after [`normalize`] (lowercase, ASCII
/// punctuation removed, whitespace collapsed and trimmed). An expected value that normalizes to
/// nothing is [`JudgeError::Unscorable`].
///
/// ```
/// use itera_core::{Judge, JudgeView};
/// use itera_core::run::judges::Normalized;
/// use serde_json::json;
/// let expected = json!("New York");
/// let view = JudgeView { input: &json!("?"), expected: Some(&expected) };
/// let score = |out| futures::executor::block_on(Normalized.score(view, &out)).unwrap().score;
/// assert_eq!(score(json!("new   york.")), 1.0);
/// assert_eq!(score(json!("York")), 0.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Normalized;

#[async_trait]
impl Judge for Normalized {
    fn id(&self) -> &str {
        "normalized"
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        let expected = expected_normalized(self.id(), &view)?;
        Ok(judged(
            answer_text(output).is_some_and(|out| normalize(&out) == expected),
        ))
    }
}
