//! [`RegexJudge`]: searches the output for a pattern and, with an expected value, compares the
//! extracted answer after [`normalize`]; a pattern that does not compile is refused when the judge
//! is built. A deterministic scorer (G11).

use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use crate::run::judges::{JudgeConfigError, answer_text, expected_normalized, judged, normalize};
use async_trait::async_trait;
use regex::Regex;
use serde_json::Value;

/// Regex judge: searches the output for the pattern (first match, anywhere; anchor it with `^…$`
/// for a full match).
///
/// - With an expected value: the extracted answer — capture group 1 of the first match if the
///   pattern has a group, else the whole match — is compared with the expected value after
///   [`normalize`]; a group that did not take part in the match, or no match, scores 0.
/// - Without an expected value: a match scores 1, no match 0.
///
/// A pattern that does not compile is refused when the judge is built, never at scoring time.
///
/// ```
/// use itera_core::{Judge, JudgeView};
/// use itera_core::run::judges::RegexJudge;
/// use serde_json::json;
/// let judge = RegexJudge::new(r"answer is \(?([A-J])\)?").unwrap();
/// let expected = json!("C");
/// let view = JudgeView { input: &json!("?"), expected: Some(&expected) };
/// let score = |out| futures::executor::block_on(judge.score(view, &out)).unwrap().score;
/// assert_eq!(score(json!("Let me think... the answer is (C).")), 1.0);
/// assert_eq!(score(json!("the answer is (D)")), 0.0);
/// assert!(RegexJudge::new("(unclosed").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct RegexJudge {
    regex: Regex,
}

impl RegexJudge {
    /// Compiles the pattern (Rust `regex` syntax).
    pub fn new(pattern: &str) -> Result<RegexJudge, JudgeConfigError> {
        Regex::new(pattern)
            .map(|regex| RegexJudge { regex })
            .map_err(|e| JudgeConfigError::BadPattern {
                pattern: pattern.to_string(),
                message: e.to_string(),
            })
    }

    /// The pattern.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }
}

#[async_trait]
impl Judge for RegexJudge {
    fn id(&self) -> &str {
        "regex"
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        let expected = match view.expected {
            None | Some(Value::Null) => None,
            Some(_) => Some(expected_normalized(self.id(), &view)?),
        };
        let Some(out) = answer_text(output) else {
            return Ok(judged(false));
        };
        let Some(caps) = self.regex.captures(&out) else {
            return Ok(judged(false));
        };
        let Some(expected) = expected else {
            return Ok(judged(true));
        };
        let group = if self.regex.captures_len() > 1 { 1 } else { 0 };
        Ok(judged(
            caps.get(group)
                .is_some_and(|m| normalize(m.as_str()) == expected),
        ))
    }
}
