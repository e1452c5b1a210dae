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

use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use async_trait::async_trait;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

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
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The output's text, or `None` when it is "no answer" (null, empty, whitespace only).
fn answer_text(output: &Value) -> Option<String> {
    text_of(output).filter(|s| !s.trim().is_empty())
}

fn missing_expected(judge: &str) -> JudgeError {
    JudgeError::Unscorable(format!(
        "judge '{judge}' needs an expected value, but the row has none: add an expected column to the data spec (or fill this row's value), or pick a judge that needs no ground truth"
    ))
}

/// The expected value, required.
fn expected_value<'a>(judge: &str, view: &JudgeView<'a>) -> Result<&'a Value, JudgeError> {
    match view.expected {
        None | Some(Value::Null) => Err(missing_expected(judge)),
        Some(v) => Ok(v),
    }
}

/// The expected value's text, required.
fn expected_text(judge: &str, view: &JudgeView<'_>) -> Result<String, JudgeError> {
    text_of(expected_value(judge, view)?).ok_or_else(|| missing_expected(judge))
}

/// The expected value's normalized text, required non-empty after normalization.
fn expected_normalized(judge: &str, view: &JudgeView<'_>) -> Result<String, JudgeError> {
    let raw = expected_text(judge, view)?;
    let norm = normalize(&raw);
    if norm.is_empty() {
        return Err(JudgeError::Unscorable(format!(
            "judge '{judge}': the expected value {raw:?} is empty after normalization (only punctuation or whitespace); fix the expected value or use the 'exact' judge"
        )));
    }
    Ok(norm)
}

fn judged(hit: bool) -> Judgement {
    Judgement::score(if hit { 1.0 } else { 0.0 })
}

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

/// JSON-field match: reads the output as JSON, takes the value at an RFC 6901 pointer
/// (`/answer`, `/items/0/label`; `""` is the whole document) and compares its text with the
/// expected value after [`normalize`].
///
/// The output may be a JSON value, or a string holding JSON — as the whole string, or inside a
/// fenced block (```` ```json … ``` ````, or ```` ``` … ``` ````, text around it allowed). An output
/// that is not JSON, a pointer that finds nothing, or a `null` field scores 0.
///
/// ```
/// use itera_core::{Judge, JudgeView};
/// use itera_core::run::judges::JsonField;
/// use serde_json::json;
/// let judge = JsonField::new("/category").unwrap();
/// let expected = json!("travel");
/// let view = JudgeView { input: &json!("Uber *trip"), expected: Some(&expected) };
/// let score = |out| futures::executor::block_on(judge.score(view, &out)).unwrap().score;
/// assert_eq!(score(json!({"category": "Travel"})), 1.0);
/// assert_eq!(score(json!("Sure:\n```json\n{\"category\": \"travel\"}\n```")), 1.0);
/// assert_eq!(score(json!("{\"category\": \"food\"}")), 0.0);
/// assert!(JsonField::new("category").is_err()); // a pointer starts with '/'
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonField {
    pointer: String,
}

impl JsonField {
    /// A judge reading the field at `pointer` (empty, or starting with `/`).
    pub fn new(pointer: &str) -> Result<JsonField, JudgeConfigError> {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(JudgeConfigError::BadOption {
                judge: "json-field".into(),
                option: "pointer".into(),
                message: format!(
                    "{pointer:?} is not a JSON pointer (RFC 6901): it must be empty or start with '/', e.g. \"/{pointer}\""
                ),
            });
        }
        Ok(JsonField {
            pointer: pointer.to_string(),
        })
    }

    /// The pointer.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// Parses a text as JSON: the whole text, else the first fenced block.
    ///
    /// ```
    /// use itera_core::run::judges::JsonField;
    /// assert_eq!(JsonField::parse_text(" {\"a\": 1} "), Some(serde_json::json!({"a": 1})));
    /// assert_eq!(JsonField::parse_text("```json\n[1]\n```"), Some(serde_json::json!([1])));
    /// assert_eq!(JsonField::parse_text("not json"), None);
    /// ```
    pub fn parse_text(text: &str) -> Option<Value> {
        let trimmed = text.trim();
        if let Ok(v) = serde_json::from_str(trimmed) {
            return Some(v);
        }
        let start = trimmed.find("```")? + 3;
        let rest = &trimmed[start..];
        // Skip the info string (e.g. "json") up to the end of the fence line.
        let body_start = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let body = &rest[body_start..];
        let end = body.find("```").unwrap_or(body.len());
        serde_json::from_str(body[..end].trim()).ok()
    }
}

#[async_trait]
impl Judge for JsonField {
    fn id(&self) -> &str {
        "json-field"
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        let expected = expected_normalized(self.id(), &view)?;
        let doc = match output {
            Value::Null => None,
            Value::String(s) => Self::parse_text(s),
            other => Some(other.clone()),
        };
        let field = doc
            .as_ref()
            .and_then(|d| d.pointer(&self.pointer))
            .and_then(answer_text);
        Ok(judged(field.is_some_and(|f| normalize(&f) == expected)))
    }
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
mod tests {
    use super::*;
    use serde_json::json;

    fn run(judge: &dyn Judge, expected: Option<Value>, output: Value) -> Result<f64, JudgeError> {
        let input = json!("the input");
        let view = JudgeView {
            input: &input,
            expected: expected.as_ref(),
        };
        futures::executor::block_on(judge.score(view, &output)).map(|j| {
            assert!(j.failure_modes.is_empty() && j.rubric_hash.is_none());
            j.score
        })
    }

    fn score(judge: &dyn Judge, expected: Value, output: Value) -> f64 {
        run(judge, Some(expected), output).unwrap()
    }

    fn assert_unscorable(judge: &dyn Judge, expected: Option<Value>, needle: &str) {
        match run(judge, expected, json!("x")) {
            Err(JudgeError::Unscorable(msg)) => {
                assert!(msg.contains(needle), "{msg}");
                assert!(msg.contains(judge.id()), "{msg}");
            }
            other => panic!("{}: {other:?}", judge.id()),
        }
    }

    #[test]
    fn normalize_is_precise() {
        assert_eq!(normalize("Hello, World!"), "hello world");
        assert_eq!(normalize("  a\t\n b  "), "a b");
        assert_eq!(normalize("U.S.A."), "usa");
        assert_eq!(normalize("don't"), "dont");
        assert_eq!(normalize("(A)"), "a");
        assert_eq!(normalize("ÀÉÎ Straße"), "àéî straße");
        assert_eq!(normalize("«oui»"), "«oui»", "non-ASCII punctuation is kept");
        assert_eq!(
            normalize("a\u{3000}b"),
            "a b",
            "unicode whitespace collapses"
        );
        assert_eq!(normalize("?!"), "");
        assert_eq!(normalize(""), "");
    }

    proptest::proptest! {
        #[test]
        fn normalize_is_idempotent(s in "\\PC{0,40}") {
            let once = normalize(&s);
            proptest::prop_assert_eq!(normalize(&once), once.clone());
            proptest::prop_assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
        }

        #[test]
        fn first_number_reads_thousands_separated_integers(n in -10_000_000_000i64..10_000_000_000i64) {
            let digits = n.unsigned_abs().to_string();
            let mut grouped = String::new();
            for (i, ch) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(ch);
            }
            let sign = if n < 0 { "-" } else { "" };
            let text = format!("total: ${sign}{grouped}.00 due");
            proptest::prop_assert_eq!(NumericTolerance::first_number(&text), Some(n as f64));
        }
    }

    #[test]
    fn exact_match() {
        let j = ExactMatch;
        assert_eq!(j.id(), "exact");
        assert_eq!(j.family(), None);
        assert_eq!(score(&j, json!("True"), json!("True")), 1.0);
        assert_eq!(score(&j, json!("True"), json!("  True\n")), 1.0);
        assert_eq!(score(&j, json!(" True "), json!("True")), 1.0);
        assert_eq!(score(&j, json!("True"), json!("true")), 0.0);
        assert_eq!(score(&j, json!("True"), json!("True.")), 0.0);
        assert_eq!(score(&j, json!("a b"), json!("a  b")), 0.0);
        assert_eq!(score(&j, json!("日本"), json!("日本")), 1.0);
        // Non-string values compare through compact JSON text.
        assert_eq!(score(&j, json!("42"), json!(42)), 1.0);
        assert_eq!(score(&j, json!(42), json!("42")), 1.0);
        assert_eq!(score(&j, json!({"a": [1, 2]}), json!("{\"a\":[1,2]}")), 1.0);
        // Empty output is "no answer", never a match, even against an empty-looking expected.
        assert_eq!(score(&j, json!("x"), json!("")), 0.0);
        assert_eq!(score(&j, json!(" "), json!(" ")), 0.0);
        assert_eq!(score(&j, json!("null"), json!(null)), 0.0);
        assert_unscorable(&j, None, "needs an expected value");
        assert_unscorable(&j, Some(json!(null)), "needs an expected value");
    }

    #[test]
    fn normalized_match() {
        let j = Normalized;
        assert_eq!(score(&j, json!("New York"), json!("new york")), 1.0);
        assert_eq!(score(&j, json!("New York"), json!("  NEW\tYORK!! ")), 1.0);
        assert_eq!(score(&j, json!("(B)"), json!("b")), 1.0);
        assert_eq!(score(&j, json!("Éclair"), json!("éclair.")), 1.0);
        assert_eq!(score(&j, json!("New York"), json!("York")), 0.0);
        assert_eq!(score(&j, json!("New York"), json!("newyork")), 0.0);
        assert_eq!(score(&j, json!("x"), json!("")), 0.0);
        assert_eq!(score(&j, json!("x"), json!("...")), 0.0);
        assert_eq!(score(&j, json!(true), json!("TRUE")), 1.0);
        assert_unscorable(&j, None, "needs an expected value");
        assert_unscorable(&j, Some(json!("?!")), "empty after normalization");
    }

    #[test]
    fn set_membership() {
        let j = SetMembership;
        assert_eq!(
            score(&j, json!(["Paris", "paris, france"]), json!("PARIS")),
            1.0
        );
        assert_eq!(
            score(&j, json!(["Paris", "paris, france"]), json!("Paris France")),
            1.0
        );
        assert_eq!(score(&j, json!(["Paris"]), json!("Lyon")), 0.0);
        assert_eq!(score(&j, json!("yes|y|true"), json!("Y")), 1.0);
        assert_eq!(score(&j, json!("yes|y|true"), json!("no")), 0.0);
        assert_eq!(score(&j, json!("[\"a b\", \"c\"]"), json!("A  B")), 1.0);
        assert_eq!(score(&j, json!("[not json|x"), json!("x")), 1.0);
        assert_eq!(score(&j, json!([1, 2]), json!(2)), 1.0);
        assert_eq!(score(&j, json!("single"), json!("single")), 1.0);
        assert_eq!(score(&j, json!("a|b"), json!("")), 0.0);
        assert_eq!(
            score(&j, json!("a|b"), json!("a|b")),
            0.0,
            "the output is one answer"
        );
        assert_unscorable(&j, None, "needs an expected value");
        assert_unscorable(&j, Some(json!([])), "holds no accepted answer");
        assert_unscorable(&j, Some(json!("| |")), "holds no accepted answer");
    }

    #[test]
    fn regex_with_group_and_expected() {
        let j = RegexJudge::new(r"(?i)answer is \(?([A-J])\)?").unwrap();
        assert_eq!(j.pattern(), r"(?i)answer is \(?([A-J])\)?");
        assert_eq!(score(&j, json!("c"), json!("So the answer is (C).")), 1.0);
        assert_eq!(score(&j, json!("C"), json!("The answer is D")), 0.0);
        assert_eq!(score(&j, json!("C"), json!("I don't know")), 0.0);
        // First match wins.
        assert_eq!(
            score(&j, json!("A"), json!("answer is A, no, answer is B")),
            1.0
        );
        assert_eq!(
            score(&j, json!("B"), json!("answer is A, no, answer is B")),
            0.0
        );
        assert_eq!(score(&j, json!("C"), json!("")), 0.0);
        // A group that does not take part in the match scores 0.
        let j = RegexJudge::new(r"yes|(no)").unwrap();
        assert_eq!(score(&j, json!("no"), json!("yes")), 0.0);
        assert_eq!(score(&j, json!("no"), json!("no")), 1.0);
    }

    #[test]
    fn regex_without_group_compares_whole_match() {
        let j = RegexJudge::new(r"\b[A-J]\b").unwrap();
        assert_eq!(score(&j, json!("B"), json!("it is B")), 1.0);
        assert_eq!(score(&j, json!("B"), json!("it is C")), 0.0);
    }

    #[test]
    fn regex_without_expected_scores_a_match() {
        let j = RegexJudge::new(r"^\d{4}-\d{2}-\d{2}$").unwrap();
        assert_eq!(run(&j, None, json!("2024-01-31")).unwrap(), 1.0);
        assert_eq!(run(&j, None, json!("Jan 31")).unwrap(), 0.0);
        assert_eq!(run(&j, None, json!("")).unwrap(), 0.0);
        let j = RegexJudge::new(r"(\p{Han}+)").unwrap();
        assert_eq!(run(&j, None, json!("答案是东京")).unwrap(), 1.0);
        assert_eq!(score(&j, json!("东京"), json!("东京!")), 1.0);
    }

    #[test]
    fn bad_regex_is_a_construction_error() {
        for bad in ["(unclosed", "[a-", "a{2,1}", r"\p{Nope}"] {
            match RegexJudge::new(bad) {
                Err(JudgeConfigError::BadPattern { pattern, message }) => {
                    assert_eq!(pattern, bad);
                    assert!(!message.is_empty());
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn first_number_parsing() {
        let f = NumericTolerance::first_number;
        assert_eq!(f("$1,234.50"), Some(1234.5));
        assert_eq!(f("-1,234"), Some(-1234.0));
        assert_eq!(f("The answer is -7."), Some(-7.0));
        assert_eq!(f("\u{2212}3"), Some(-3.0));
        assert_eq!(f("+4"), Some(4.0));
        assert_eq!(f("1234567"), Some(1234567.0));
        assert_eq!(f("12,34"), Some(12.0), "not a thousands group");
        assert_eq!(f("1,234,5678"), Some(1234.0));
        assert_eq!(f("about .5 of it"), Some(0.5));
        assert_eq!(f("3e2 apples"), Some(300.0));
        assert_eq!(f("3 eggs"), Some(3.0));
        assert_eq!(f("2023-05-01"), Some(2023.0));
        assert_eq!(f("1e999"), None, "not finite");
        assert_eq!(f("no digits"), None);
        assert_eq!(f(""), None);
    }

    #[test]
    fn numeric_tolerance() {
        let exact = NumericTolerance::new(0.0, 0.0).unwrap();
        assert_eq!(
            score(&exact, json!("72"), json!("The total is 72 dollars")),
            1.0
        );
        assert_eq!(score(&exact, json!(72), json!("#### 72")), 1.0);
        assert_eq!(score(&exact, json!("1,234.5"), json!("$1,234.50")), 1.0);
        assert_eq!(score(&exact, json!(" -3 "), json!("-3")), 1.0);
        assert_eq!(score(&exact, json!("72"), json!(72.0)), 1.0);
        assert_eq!(score(&exact, json!("72"), json!("73")), 0.0);
        assert_eq!(score(&exact, json!("72"), json!("seventy-two")), 0.0);
        assert_eq!(score(&exact, json!("72"), json!("")), 0.0);
        assert_eq!(score(&exact, json!("72"), json!(null)), 0.0);
        assert_eq!(score(&exact, json!("72"), json!({"answer": 72})), 1.0);

        let abs = NumericTolerance::new(0.5, 0.0).unwrap();
        assert_eq!(score(&abs, json!(10), json!("10.5")), 1.0);
        assert_eq!(score(&abs, json!(10), json!("9.5")), 1.0);
        assert_eq!(score(&abs, json!(10), json!("10.51")), 0.0);

        let rel = NumericTolerance::new(0.0, 0.01).unwrap();
        assert_eq!(score(&rel, json!(1000), json!("1,010")), 1.0);
        assert_eq!(score(&rel, json!(1000), json!("1,011")), 0.0);
        assert_eq!(score(&rel, json!(-1000), json!("-990")), 1.0);
        // max(abs, rel·|expected|): near zero the absolute tolerance takes over.
        let both = NumericTolerance::new(0.1, 0.01).unwrap();
        assert_eq!(score(&both, json!(0), json!("0.05")), 1.0);
        assert_eq!((both.abs(), both.rel()), (0.1, 0.01));
    }

    #[test]
    fn numeric_errors() {
        let j = NumericTolerance::new(0.0, 0.0).unwrap();
        assert_unscorable(&j, None, "needs an expected value");
        assert_unscorable(&j, Some(json!("about 5")), "is not a number");
        assert_unscorable(&j, Some(json!("")), "is not a number");
        assert_unscorable(&j, Some(json!(true)), "is not a number");
        for (abs, rel) in [(-1.0, 0.0), (0.0, f64::NAN), (f64::INFINITY, 0.0)] {
            assert!(matches!(
                NumericTolerance::new(abs, rel),
                Err(JudgeConfigError::BadOption { .. })
            ));
        }
    }

    #[test]
    fn json_field() {
        let j = JsonField::new("/answer").unwrap();
        assert_eq!(j.pointer(), "/answer");
        assert_eq!(score(&j, json!("Paris"), json!({"answer": "paris"})), 1.0);
        assert_eq!(
            score(&j, json!("Paris"), json!("{\"answer\": \"Paris.\"}")),
            1.0
        );
        assert_eq!(
            score(
                &j,
                json!("Paris"),
                json!("Here it is:\n```json\n{\"answer\": \"Paris\"}\n```\nDone.")
            ),
            1.0
        );
        assert_eq!(
            score(
                &j,
                json!("Paris"),
                json!("```\n{\"answer\": \"Paris\"}\n```")
            ),
            1.0
        );
        assert_eq!(score(&j, json!("42"), json!({"answer": 42})), 1.0);
        assert_eq!(score(&j, json!("Paris"), json!({"answer": "Lyon"})), 0.0);
        assert_eq!(score(&j, json!("Paris"), json!({"other": "Paris"})), 0.0);
        assert_eq!(score(&j, json!("Paris"), json!({"answer": null})), 0.0);
        assert_eq!(
            score(&j, json!("Paris"), json!("{\"answer\": \"Paris\"")),
            0.0
        );
        assert_eq!(score(&j, json!("Paris"), json!("Paris")), 0.0);
        assert_eq!(score(&j, json!("Paris"), json!("")), 0.0);
        assert_eq!(
            score(&j, json!("Paris"), json!("```json\n{broken\n```")),
            0.0
        );
        assert_unscorable(&j, None, "needs an expected value");

        let nested = JsonField::new("/items/1/label~1x").unwrap();
        assert_eq!(
            score(
                &nested,
                json!("B"),
                json!({"items": [{"label/x": "a"}, {"label/x": "b"}]})
            ),
            1.0
        );
        let whole = JsonField::new("").unwrap();
        assert_eq!(score(&whole, json!("yes"), json!("\"YES\"")), 1.0);
        assert!(matches!(
            JsonField::new("answer"),
            Err(JudgeConfigError::BadOption { .. })
        ));
    }

    #[test]
    fn factory_builds_each_builtin() {
        let cases = [
            ("exact", json!(null)),
            ("normalized", json!({})),
            ("set", json!(null)),
            ("regex", json!({"pattern": "(a)"})),
            ("numeric", json!({"abs": 1, "rel": 0.5})),
            ("numeric", json!(null)),
            ("json-field", json!({"pointer": "/a"})),
        ];
        for (id, options) in cases {
            let judge = builtin_judge(id, &options).unwrap();
            assert_eq!(judge.id(), id);
            assert_eq!(judge.family(), None);
        }
        assert_eq!(BUILTIN_JUDGES.len(), 6);
        let numeric = builtin_judge("numeric", &json!({"abs": 1})).unwrap();
        assert_eq!(score(numeric.as_ref(), json!(10), json!("11")), 1.0);
    }

    #[test]
    fn factory_errors() {
        let err = builtin_judge("fuzzy", &json!(null)).err().unwrap();
        assert!(matches!(err, JudgeConfigError::UnknownJudge { .. }));
        assert_eq!(
            err.to_string(),
            "unknown judge 'fuzzy'; the built-in judges are: exact, normalized, set, regex, numeric, json-field"
        );
        let bad = |id: &str, options: Value| builtin_judge(id, &options).err().unwrap().to_string();
        assert!(bad("regex", json!({})).contains("option 'pattern': required"));
        assert!(bad("regex", json!({"pattern": 3})).contains("must be a string"));
        assert!(bad("regex", json!({"pattern": "("})).contains("not a valid regular expression"));
        assert!(
            bad("regex", json!({"patern": "a"}))
                .contains("option 'patern': unknown option; the options are: pattern")
        );
        assert!(bad("exact", json!({"x": 1})).contains("this judge takes no options"));
        assert!(bad("numeric", json!({"abs": "0.1"})).contains("must be a number"));
        assert!(bad("numeric", json!({"rel": -1})).contains("option 'rel'"));
        assert!(bad("json-field", json!({})).contains("option 'pointer': required"));
        assert!(bad("json-field", json!({"pointer": "a"})).contains("\"/a\""));
        assert!(bad("set", json!([1])).contains("options must be a table"));
    }
}
