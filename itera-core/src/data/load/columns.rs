//! The [`Columns`] spec: which columns of a file make up a [`Row`], and which lines to keep; its
//! builder methods, its own validation ([`Columns::validate`]) and the serde helper
//! [`one_or_many`] that lets a config name one column or several.

use crate::data::dataset::DataError;
#[cfg(doc)] // the doc links
use crate::data::row::{DEFAULT_SLICE, Row, RowId};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Which columns of a file make up a [`Row`], and which lines to keep.
///
/// Deserializable so an experiment file can carry it; `id` and `input` accept one column name or a
/// list. In a TOML experiment:
///
/// ```toml
/// [data.columns]
/// id = ["task", "idx"]        # composite id "task/idx"
/// input = "input"             # one column: the input is its value
/// expected = "target"
/// slice = "task"
/// filter = { variant = "cot" }
/// ```
///
/// Rules, the same for both formats:
/// - **id**: one or more columns, joined with [`RowId::composite`]; an empty part is an error, and
///   so is an id seen twice (the error names both lines).
/// - **input**: one column → the input is its value (a string for CSV, the JSON value for JSONL);
///   several → a JSON object `{column: value}`.
/// - **expected**: optional; an empty cell (or a JSONL `null`, `""` or absent key) means the row has
///   no ground truth (`None`), so a judge that needs one reports the row instead of scoring an
///   empty answer as correct.
/// - **slice**: optional; absent → every row is in [`DEFAULT_SLICE`]; an empty cell is an error.
/// - **cluster**: optional; an empty cell means no cluster.
/// - **severity**: optional, parsed as a number ≥ 0 (NaN and infinities are refused); an empty
///   cell is an error. Without the column every row has severity 1.
/// - **failure_modes**: optional; tags separated by `|` or `;` (JSONL also accepts an array of
///   strings); whitespace around tags is trimmed and an empty cell means no tags.
/// - **filter**: keep only the lines whose column equals the value exactly (all pairs must match),
///   so a long-format file with one line per (model, row) is read as it is.
///
/// ```
/// use itera_core::data::load::Columns;
/// let cols = Columns::new(["task", "idx"], ["input"])
///     .expected("target")
///     .slice("task")
///     .filter("variant", "cot");
/// assert_eq!(cols.id, vec!["task", "idx"]);
///
/// let from_config: Columns = serde_json::from_value(serde_json::json!({
///     "id": "question_id", "input": ["question", "options"], "slice": "category"
/// })).unwrap();
/// assert_eq!(from_config.id, vec!["question_id"]);
/// assert_eq!(from_config.input.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// The id column(s); several are joined with [`RowId::composite`].
    #[serde(deserialize_with = "one_or_many")]
    pub id: Vec<String>,
    /// The input column(s); several make a JSON object.
    #[serde(deserialize_with = "one_or_many")]
    pub input: Vec<String>,
    /// The ground-truth column.
    #[serde(default)]
    pub expected: Option<String>,
    /// The slice column; absent → [`DEFAULT_SLICE`].
    #[serde(default)]
    pub slice: Option<String>,
    /// The cluster column (rows that are not independent).
    #[serde(default)]
    pub cluster: Option<String>,
    /// The severity column (a number ≥ 0).
    #[serde(default)]
    pub severity: Option<String>,
    /// The failure-mode column (tags separated by `|` or `;`).
    #[serde(default)]
    pub failure_modes: Option<String>,
    /// Keep only lines whose column equals the value.
    #[serde(default)]
    pub filter: BTreeMap<String, String>,
}

/// Serde helper: a column list given as one string or as a list of strings (`id = "n"` or
/// `id = ["task", "idx"]`). Use it with `#[serde(deserialize_with = "itera_core::data::load::one_or_many")]`.
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl Columns {
    /// A spec with the given id and input columns and nothing else.
    ///
    /// ```
    /// let cols = itera_core::data::load::Columns::new(["id"], ["text"]);
    /// assert!(cols.expected.is_none() && cols.filter.is_empty());
    /// ```
    pub fn new<I, J>(id: I, input: J) -> Columns
    where
        I: IntoIterator,
        I::Item: Into<String>,
        J: IntoIterator,
        J::Item: Into<String>,
    {
        Columns {
            id: id.into_iter().map(Into::into).collect(),
            input: input.into_iter().map(Into::into).collect(),
            expected: None,
            slice: None,
            cluster: None,
            severity: None,
            failure_modes: None,
            filter: BTreeMap::new(),
        }
    }

    /// Sets the ground-truth column.
    pub fn expected(mut self, column: impl Into<String>) -> Columns {
        self.expected = Some(column.into());
        self
    }

    /// Sets the slice column.
    pub fn slice(mut self, column: impl Into<String>) -> Columns {
        self.slice = Some(column.into());
        self
    }

    /// Sets the cluster column.
    pub fn cluster(mut self, column: impl Into<String>) -> Columns {
        self.cluster = Some(column.into());
        self
    }

    /// Sets the severity column.
    pub fn severity(mut self, column: impl Into<String>) -> Columns {
        self.severity = Some(column.into());
        self
    }

    /// Sets the failure-mode column.
    pub fn failure_modes(mut self, column: impl Into<String>) -> Columns {
        self.failure_modes = Some(column.into());
        self
    }

    /// Adds a filter: keep only lines whose `column` equals `value`.
    pub fn filter(mut self, column: impl Into<String>, value: impl Into<String>) -> Columns {
        self.filter.insert(column.into(), value.into());
        self
    }

    /// Checks the spec itself: at least one id and one input column, no empty names, no column
    /// listed twice in `id` or in `input`.
    ///
    /// ```
    /// use itera_core::data::load::Columns;
    /// assert!(Columns::new(["id"], ["text"]).validate().is_ok());
    /// assert!(Columns::new(Vec::<String>::new(), ["text"]).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), DataError> {
        for (role, list) in [("id", &self.id), ("input", &self.input)] {
            if list.is_empty() {
                return Err(DataError::InvalidColumns(format!(
                    "no {role} column given; name at least one, e.g. {role} = [\"{role}\"]"
                )));
            }
            let mut seen = BTreeSet::new();
            for c in list {
                if !seen.insert(c) {
                    return Err(DataError::InvalidColumns(format!(
                        "{role} lists column '{c}' twice; list each column once"
                    )));
                }
            }
        }
        for (role, name) in self.named() {
            if name.trim().is_empty() {
                return Err(DataError::InvalidColumns(format!(
                    "the {role} column name is empty; give the column's header name"
                )));
            }
        }
        Ok(())
    }

    /// Every configured column with its role, in a fixed order.
    pub(crate) fn named(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        out.extend(self.id.iter().map(|c| ("id", c.as_str())));
        out.extend(self.input.iter().map(|c| ("input", c.as_str())));
        for (role, c) in [
            ("expected", &self.expected),
            ("slice", &self.slice),
            ("cluster", &self.cluster),
            ("severity", &self.severity),
            ("failure_modes", &self.failure_modes),
        ] {
            if let Some(c) = c {
                out.push((role, c.as_str()));
            }
        }
        out.extend(self.filter.keys().map(|c| ("filter", c.as_str())));
        out
    }
}
