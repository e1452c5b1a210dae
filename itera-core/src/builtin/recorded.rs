//! The `recorded` scorer: a score that was recorded with the output (an LLM judge's preference
//! in a published run, a human rating), read instead of computed.
//!
//! Judges are blind by construction: they see the row's input and expected value and the arm's
//! output, never the [`crate::ArmOutput`] around it. So a replay arm that declares a
//! `score` column answers `{"output": <recorded output>, "score": <recorded score>}`, and this
//! judge reads `/score` from that output (any other arm kind may answer the same shape). The
//! options rescale the recorded value linearly onto [0, 1]:
//!
//! ```toml
//! [metric]
//! scorer = "recorded"
//! options = { min = 1.0, max = 2.0 }   # AlpacaEval: 1 = reference better, 2 = model better
//! ```
//!
//! A missing (`null` or empty) recorded score cannot be scored: the judge reports it, and the
//! call is recorded as failed under the registered failure policy. A value outside
//! [`min`, `max`] is refused the same way.

use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use async_trait::async_trait;
use serde_json::Value;

/// The scorer id.
pub const RECORDED: &str = "recorded";

/// Reads the score embedded in the output as `{"output": ..., "score": x}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordedScore {
    min: f64,
    max: f64,
}

impl RecordedScore {
    /// A judge mapping `[min, max]` onto `[0, 1]`.
    pub fn new(min: f64, max: f64) -> Result<RecordedScore, String> {
        if !(min.is_finite() && max.is_finite() && max > min) {
            return Err(format!(
                "min = {min}, max = {max}: need finite numbers with max > min"
            ));
        }
        Ok(RecordedScore { min, max })
    }

    /// Builds the judge from `options` (`min`, `max`; default 0 and 1).
    pub fn from_options(options: &Value) -> Result<RecordedScore, String> {
        let map = match options {
            Value::Null => serde_json::Map::new(),
            Value::Object(m) => m.clone(),
            other => return Err(format!("options must be a table, not {other}")),
        };
        if let Some(k) = map.keys().find(|k| *k != "min" && *k != "max") {
            return Err(format!(
                "option '{k}' is unknown; the recorded scorer takes min and max"
            ));
        }
        let get = |k: &str, d: f64| -> Result<f64, String> {
            match map.get(k) {
                None => Ok(d),
                Some(v) => v
                    .as_f64()
                    .ok_or_else(|| format!("option '{k}' must be a number, not {v}")),
            }
        };
        RecordedScore::new(get("min", 0.0)?, get("max", 1.0)?)
    }
}

#[async_trait]
impl Judge for RecordedScore {
    fn id(&self) -> &str {
        RECORDED
    }

    async fn score(&self, _view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        let raw = match output.get("score") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let Some(x) = raw.filter(|x| x.is_finite()) else {
            return Err(JudgeError::Unscorable(
                "no recorded score in this output (expected {\"output\": ..., \"score\": <number>}); the recording has no score for this row".into(),
            ));
        };
        let tol = 1e-9 * (self.max - self.min);
        if x < self.min - tol || x > self.max + tol {
            return Err(JudgeError::Unscorable(format!(
                "recorded score {x} lies outside [{}, {}]: fix the recording or the scorer's min/max",
                self.min, self.max
            )));
        }
        Ok(Judgement::score(
            ((x - self.min) / (self.max - self.min)).clamp(0.0, 1.0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescales_and_refuses_missing() {
        let j = RecordedScore::from_options(&serde_json::json!({"min": 1.0, "max": 2.0}))
            .expect("valid options");
        let input = Value::Null;
        let view = JudgeView {
            input: &input,
            expected: None,
        };
        let s = futures::executor::block_on(
            j.score(view, &serde_json::json!({"output": "x", "score": 1.75})),
        )
        .expect("scored");
        assert!((s.score - 0.75).abs() < 1e-12);
        assert!(
            futures::executor::block_on(
                j.score(view, &serde_json::json!({"output": "x", "score": null}))
            )
            .is_err()
        );
        assert!(RecordedScore::from_options(&serde_json::json!({"mn": 1})).is_err());
    }
}
