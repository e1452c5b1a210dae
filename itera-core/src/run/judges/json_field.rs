//! [`JsonField`]: reads the output as JSON (whole, or from a fenced block), takes the field at an
//! RFC 6901 pointer and compares it with the expected value after [`normalize`]. A deterministic
//! scorer (G11).

use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
use crate::run::judges::{JudgeConfigError, answer_text, expected_normalized, judged, normalize};
use async_trait::async_trait;
use serde_json::Value;

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
