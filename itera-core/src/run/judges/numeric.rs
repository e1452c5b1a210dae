//! [`NumericTolerance`]: the first number in the output against the expected number, within an
//! absolute or relative tolerance; also the number syntax it reads (signs, `,` thousands
//! separators, decimals, exponents). A deterministic scorer (G11).

use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use crate::run::judges::{JudgeConfigError, answer_text, expected_value, judged};
use async_trait::async_trait;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// A number: optional sign (`-`, `+` or `−`), digits with optional `,` thousands separators
/// (groups of exactly three), optional decimals, optional exponent.
const NUMBER: &str =
    r"[-+\x{2212}]?(?:\d{1,3}(?:,\d{3})+\b(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?";

static FIRST_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(NUMBER).expect("the number pattern is a valid constant"));
static WHOLE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!("^(?:{NUMBER})$")).expect("the number pattern is a valid constant")
});

fn parse_number(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|c| *c != ',' && *c != '+')
        .map(|c| if c == '\u{2212}' { '-' } else { c })
        .collect();
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Numeric tolerance: the first number in the output (`"$1,234.50"` → 1234.5, `"-3"` → -3;
/// commas are thousands separators in groups of three; a JSON-number output is read directly) is
/// compared with the expected value (a JSON number, or a string that is exactly one number in
/// the same syntax, surrounding whitespace allowed). It scores 1 when
/// `|output − expected| ≤ max(abs, rel·|expected|)`. An output with no number scores 0; an
/// expected value that is not a number is [`JudgeError::Unscorable`].
///
/// A sign must touch the digits: `"-$5"` reads as 5. `"2023-05-01"` reads as 2023.
///
/// ```
/// use itera_core::{Judge, JudgeView};
/// use itera_core::run::judges::NumericTolerance;
/// use serde_json::json;
/// let judge = NumericTolerance::new(0.01, 0.0).unwrap();
/// let expected = json!("1234.5");
/// let view = JudgeView { input: &json!("?"), expected: Some(&expected) };
/// let score = |out| futures::executor::block_on(judge.score(view, &out)).unwrap().score;
/// assert_eq!(score(json!("It costs $1,234.50 in total")), 1.0);
/// assert_eq!(score(json!(1234.505)), 1.0);
/// assert_eq!(score(json!("1,235")), 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumericTolerance {
    abs: f64,
    rel: f64,
}

impl NumericTolerance {
    /// A judge with absolute tolerance `abs` and relative tolerance `rel` (both finite, ≥ 0;
    /// `0, 0` asks for equality).
    pub fn new(abs: f64, rel: f64) -> Result<NumericTolerance, JudgeConfigError> {
        for (option, v) in [("abs", abs), ("rel", rel)] {
            if !v.is_finite() || v < 0.0 {
                return Err(JudgeConfigError::BadOption {
                    judge: "numeric".into(),
                    option: option.into(),
                    message: format!("{v} is not a finite number >= 0"),
                });
            }
        }
        Ok(NumericTolerance { abs, rel })
    }

    /// The absolute tolerance.
    pub fn abs(&self) -> f64 {
        self.abs
    }

    /// The relative tolerance.
    pub fn rel(&self) -> f64 {
        self.rel
    }

    /// The first number in a text, as this judge reads outputs.
    ///
    /// ```
    /// use itera_core::run::judges::NumericTolerance;
    /// assert_eq!(NumericTolerance::first_number("$1,234.50"), Some(1234.5));
    /// assert_eq!(NumericTolerance::first_number("x = -0.5e2"), Some(-50.0));
    /// assert_eq!(NumericTolerance::first_number("none"), None);
    /// ```
    pub fn first_number(text: &str) -> Option<f64> {
        FIRST_NUMBER
            .find(text)
            .and_then(|m| parse_number(m.as_str()))
    }
}

#[async_trait]
impl Judge for NumericTolerance {
    fn id(&self) -> &str {
        "numeric"
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        let expected_raw = expected_value(self.id(), &view)?;
        let expected = match expected_raw {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if WHOLE_NUMBER.is_match(s.trim()) => parse_number(s.trim()),
            _ => None,
        }
        .ok_or_else(|| {
            JudgeError::Unscorable(format!(
                "judge 'numeric': the expected value {expected_raw} is not a number; fix the expected column (e.g. \"1234.5\" or \"1,234.5\")"
            ))
        })?;
        let got = match output {
            Value::Number(n) => n.as_f64(),
            other => answer_text(other).and_then(|t| Self::first_number(&t)),
        };
        let tolerance = self.abs.max(self.rel * expected.abs());
        Ok(judged(
            got.is_some_and(|g| (g - expected).abs() <= tolerance),
        ))
    }
}
