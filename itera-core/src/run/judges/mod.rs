//! The built-in deterministic judges ([`ExactMatch`], [`Normalized`], [`SetMembership`],
//! [`RegexJudge`], [`NumericTolerance`], [`JsonField`]), the text normalization they share
//! ([`normalize`]), and the factory [`builtin_judge`] that builds one from an id and options (as
//! an experiment file names them).
//!
//! Common rules, for every judge here:
//! - Scores are 0.0 or 1.0; [`Judge::family`] is `None` (a deterministic scorer, G11).
//! - An output may be any JSON value. A string is used as is; `null` is "no answer"; any other
//!   value is compared through its compact JSON text (`{"a":1}`, `42`, `true`) — except that
//!   [`NumericTolerance`] reads a JSON number directly and [`JsonField`] reads a JSON value
//!   directly.
//! - An output that is empty (or only whitespace, or `null`) is a real "no answer": it scores 0,
//!   it is not an error.
//! - A judge that needs ground truth and gets a row without one (no expected value, or `null`)
//!   returns [`JudgeError::Unscorable`] naming the judge and the fix; it never guesses.
//! - Expected values, like outputs, are compared through their text when they are not strings.
//!
//! This file holds the ids, the configuration error, [`normalize`], the ground-truth helpers every
//! judge uses, and [`builtin_judge`]; each judge lives in its own file (`exact.rs` for
//! [`ExactMatch`] and [`Normalized`], `set.rs`, `regex.rs`, `numeric.rs`, `json_field.rs`) and is
//! re-exported here, so `run::judges::X` paths hold.

use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use serde_json::Value;

mod exact;
mod json_field;
mod numeric;
mod regex;
mod set;

pub use self::exact::{ExactMatch, Normalized};
pub use self::json_field::JsonField;
pub use self::numeric::NumericTolerance;
pub use self::regex::RegexJudge;
pub use self::set::SetMembership;

/// The ids [`builtin_judge`] knows.
pub const BUILTIN_JUDGES: &[&str] = &[
    "exact",
    "normalized",
    "set",
    "regex",
    "numeric",
    "json-field",
];

/// Why a built-in judge could not be built from its id and options.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum JudgeConfigError {
    /// No built-in judge has this id.
    #[error("unknown judge '{id}'; the built-in judges are: {known}")]
    UnknownJudge {
        /// The id asked for.
        id: String,
        /// The ids that exist.
        known: String,
    },
    /// An option is missing, unknown, or has the wrong type or value.
    #[error("judge '{judge}': option '{option}': {message}")]
    BadOption {
        /// The judge id.
        judge: String,
        /// The option.
        option: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The regex pattern does not compile.
    #[error("judge 'regex': the pattern {pattern:?} is not a valid regular expression: {message}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// The regex engine's message.
        message: String,
    },
}

/// The text normalization of [`Normalized`], [`SetMembership`], [`RegexJudge`] and [`JsonField`]:
///
/// 1. Unicode lowercase ([`str::to_lowercase`]; not full case folding: `ß` stays `ß`);
/// 2. every ASCII punctuation character (``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``) is removed,
///    wherever it is — inside words too (`"U.S."` → `"us"`, `"don't"` → `"dont"`) — except a
///    `.` or `,` between two digits, which belongs to the number (`"3.5"` stays `"3.5"`, so it
///    never equals `"35"`); non-ASCII punctuation (`’`, `«`, `。`) is kept;
/// 3. every run of Unicode whitespace becomes one space, and leading/trailing whitespace is
///    dropped.
///
/// ```
/// use itera_core::run::judges::normalize;
/// assert_eq!(normalize("  The  Answer:\n(B). "), "the answer b");
/// assert_eq!(normalize("ÉTÉ"), "été");
/// assert_eq!(normalize("a - b"), "a b");
/// assert_eq!(normalize("3.5"), "3.5"); // not "35": punctuation inside a number is kept
/// assert_ne!(normalize("3.5"), normalize("35"));
/// ```
pub fn normalize(s: &str) -> String {
    let chars: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for (i, &ch) in chars.iter().enumerate() {
        // A decimal point or thousands separator between two digits is part of the number:
        // "3.5" must not normalize to "35".
        let inside_number = (ch == '.' || ch == ',')
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit());
        if ch.is_ascii_punctuation() && !inside_number {
            continue;
        }
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(ch);
    }
    out
}

/// A value as text: a string as is, `null` as `None`, anything else as compact JSON.
pub(crate) fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The output's text, or `None` when it is "no answer" (null, empty, whitespace only).
pub(crate) fn answer_text(output: &Value) -> Option<String> {
    text_of(output).filter(|s| !s.trim().is_empty())
}

fn missing_expected(judge: &str) -> JudgeError {
    JudgeError::Unscorable(format!(
        "judge '{judge}' needs an expected value, but the row has none: add an expected column to the data spec (or fill this row's value), or pick a judge that needs no ground truth"
    ))
}

/// The expected value, required.
pub(crate) fn expected_value<'a>(
    judge: &str,
    view: &JudgeView<'a>,
) -> Result<&'a Value, JudgeError> {
    match view.expected {
        None | Some(Value::Null) => Err(missing_expected(judge)),
        Some(v) => Ok(v),
    }
}

/// The expected value's text, required.
pub(crate) fn expected_text(judge: &str, view: &JudgeView<'_>) -> Result<String, JudgeError> {
    text_of(expected_value(judge, view)?).ok_or_else(|| missing_expected(judge))
}

/// The expected value's normalized text, required non-empty after normalization.
pub(crate) fn expected_normalized(judge: &str, view: &JudgeView<'_>) -> Result<String, JudgeError> {
    let raw = expected_text(judge, view)?;
    let norm = normalize(&raw);
    if norm.is_empty() {
        return Err(JudgeError::Unscorable(format!(
            "judge '{judge}': the expected value {raw:?} is empty after normalization (only punctuation or whitespace); fix the expected value or use the 'exact' judge"
        )));
    }
    Ok(norm)
}

pub(crate) fn judged(hit: bool) -> Judgement {
    Judgement::score(if hit { 1.0 } else { 0.0 })
}

/// Reads the options object of a built-in judge, refusing unknown keys.
struct Options<'a> {
    judge: &'a str,
    map: serde_json::Map<String, Value>,
}

impl<'a> Options<'a> {
    fn new(
        judge: &'a str,
        options: &Value,
        allowed: &[&str],
    ) -> Result<Options<'a>, JudgeConfigError> {
        let map = match options {
            Value::Null => serde_json::Map::new(),
            Value::Object(map) => map.clone(),
            other => {
                return Err(JudgeConfigError::BadOption {
                    judge: judge.into(),
                    option: "(options)".into(),
                    message: format!("options must be a table of key = value, not {other}"),
                });
            }
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            let known = if allowed.is_empty() {
                "this judge takes no options".to_string()
            } else {
                format!("the options are: {}", allowed.join(", "))
            };
            return Err(JudgeConfigError::BadOption {
                judge: judge.into(),
                option: unknown.clone(),
                message: format!("unknown option; {known}"),
            });
        }
        Ok(Options { judge, map })
    }

    fn bad(&self, option: &str, message: String) -> JudgeConfigError {
        JudgeConfigError::BadOption {
            judge: self.judge.into(),
            option: option.into(),
            message,
        }
    }

    fn string(&self, option: &str, example: &str) -> Result<&str, JudgeConfigError> {
        match self.map.get(option) {
            Some(Value::String(s)) => Ok(s),
            None => Err(self.bad(option, format!("required, e.g. {option} = {example:?}"))),
            Some(other) => Err(self.bad(option, format!("must be a string, not {other}"))),
        }
    }

    fn number(&self, option: &str) -> Result<f64, JudgeConfigError> {
        match self.map.get(option) {
            None => Ok(0.0),
            Some(Value::Number(n)) => n
                .as_f64()
                .ok_or_else(|| self.bad(option, format!("{n} is not a usable number"))),
            Some(other) => Err(self.bad(option, format!("must be a number, not {other}"))),
        }
    }
}

/// Builds a built-in judge from its id and options (a JSON object, or `null` for none):
///
/// | id | judge | options |
/// |---|---|---|
/// | `exact` | [`ExactMatch`] | — |
/// | `normalized` | [`Normalized`] | — |
/// | `set` | [`SetMembership`] | — |
/// | `regex` | [`RegexJudge`] | `pattern` (required) |
/// | `numeric` | [`NumericTolerance`] | `abs`, `rel` (default 0) |
/// | `json-field` | [`JsonField`] | `pointer` (required) |
///
/// Unknown ids and unknown, missing or mistyped options are errors naming the fix.
///
/// ```
/// use itera_core::run::judges::builtin_judge;
/// use serde_json::json;
/// let judge = builtin_judge("numeric", &json!({"abs": 0.5})).unwrap();
/// assert_eq!(judge.id(), "numeric");
/// assert_eq!(judge.family(), None);
/// let err = builtin_judge("fuzzy", &json!(null)).err().unwrap();
/// assert!(err.to_string().contains("exact, normalized, set, regex, numeric, json-field"));
/// ```
pub fn builtin_judge(id: &str, options: &Value) -> Result<Box<dyn Judge>, JudgeConfigError> {
    Ok(match id {
        "exact" => {
            Options::new(id, options, &[])?;
            Box::new(ExactMatch)
        }
        "normalized" => {
            Options::new(id, options, &[])?;
            Box::new(Normalized)
        }
        "set" => {
            Options::new(id, options, &[])?;
            Box::new(SetMembership)
        }
        "regex" => {
            let o = Options::new(id, options, &["pattern"])?;
            Box::new(RegexJudge::new(
                o.string("pattern", r"answer is \(?([A-J])\)?")?,
            )?)
        }
        "numeric" => {
            let o = Options::new(id, options, &["abs", "rel"])?;
            Box::new(NumericTolerance::new(o.number("abs")?, o.number("rel")?)?)
        }
        "json-field" => {
            let o = Options::new(id, options, &["pointer"])?;
            Box::new(JsonField::new(o.string("pointer", "/answer")?)?)
        }
        other => {
            return Err(JudgeConfigError::UnknownJudge {
                id: other.to_string(),
                known: BUILTIN_JUDGES.join(", "),
            });
        }
    })
}

#[cfg(test)]
mod tests;
