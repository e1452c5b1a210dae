//! [`SetMembership`]: the output matches any of the accepted answers an expected value lists (a
//! JSON array, a string holding one, or `|`-separated alternatives), compared after
//! [`normalize`]. A deterministic scorer (G11).

use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use crate::run::judges::{answer_text, expected_value, judged, normalize, text_of};
use async_trait::async_trait;
use serde_json::Value;

/// Set membership: the output matches any of the accepted answers, compared after [`normalize`].
///
/// The expected value is a JSON array (each element is an answer: strings as is, other values
/// through their JSON text), or a string holding a JSON array (e.g. `["a", "b"]` in a CSV cell),
/// or a string with alternatives separated by `|`. Alternatives that normalize to nothing are
/// dropped; none left is [`JudgeError::Unscorable`].
///
/// ```
/// use itera_core::{Judge, JudgeView};
/// use itera_core::run::judges::SetMembership;
/// use serde_json::json;
/// let expected = json!("NYC|New York|new york city");
/// let view = JudgeView { input: &json!("?"), expected: Some(&expected) };
/// let score = |out| futures::executor::block_on(SetMembership.score(view, &out)).unwrap().score;
/// assert_eq!(score(json!("New York City")), 1.0);
/// assert_eq!(score(json!("Boston")), 0.0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetMembership;

impl SetMembership {
    /// The normalized accepted answers an expected value holds.
    ///
    /// ```
    /// use itera_core::run::judges::SetMembership;
    /// let set = SetMembership::alternatives(&serde_json::json!(["A.", "b", 3]));
    /// assert_eq!(set, vec!["a", "b", "3"]);
    /// assert_eq!(SetMembership::alternatives(&serde_json::json!("x | Y|")), vec!["x", "y"]);
    /// ```
    pub fn alternatives(expected: &Value) -> Vec<String> {
        let items: Vec<String> = match expected {
            Value::Array(items) => items.iter().filter_map(text_of).collect(),
            Value::String(s) => {
                match serde_json::from_str::<Vec<Value>>(s.trim())
                    .ok()
                    .filter(|_| s.trim_start().starts_with('['))
                {
                    Some(items) => items.iter().filter_map(text_of).collect(),
                    None => s.split('|').map(str::to_string).collect(),
                }
            }
            Value::Null => Vec::new(),
            other => vec![other.to_string()],
        };
        items
            .iter()
            .map(|s| normalize(s))
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[async_trait]
impl Judge for SetMembership {
    fn id(&self) -> &str {
        "set"
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        let expected = expected_value(self.id(), &view)?;
        let set = Self::alternatives(expected);
        if set.is_empty() {
            return Err(JudgeError::Unscorable(format!(
                "judge 'set': the expected value {expected} holds no accepted answer; give a JSON array of strings or alternatives separated by '|'"
            )));
        }
        Ok(judged(answer_text(output).is_some_and(|out| {
            let out = normalize(&out);
            set.contains(&out)
        })))
    }
}
