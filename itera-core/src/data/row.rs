//! One row of evaluation data ([`Row`]) and its identifier ([`RowId`]). Rows are plain data; the
//! checks that make a set of rows usable (unique ids, finite severities, ...) live in
//! [`crate::data::dataset::RowSet`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A row identifier, unique within a dataset. Composite ids (e.g. task + idx) are joined with
/// [`RowId::SEPARATOR`].
///
/// ```
/// use itera_core::RowId;
/// let id = RowId::composite(&["boolean_expressions", "7"]);
/// assert_eq!(id.as_str(), "boolean_expressions/7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RowId(pub String);

impl RowId {
    /// The separator between the parts of a composite id.
    pub const SEPARATOR: &'static str = "/";

    /// Builds an id from one or more parts.
    pub fn composite<S: AsRef<str>>(parts: &[S]) -> RowId {
        RowId(
            parts
                .iter()
                .map(|p| p.as_ref())
                .collect::<Vec<_>>()
                .join(Self::SEPARATOR),
        )
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for RowId {
    fn from(s: &str) -> Self {
        RowId(s.to_string())
    }
}

impl From<String> for RowId {
    fn from(s: String) -> Self {
        RowId(s)
    }
}

/// The slice a row belongs to when the data declares none.
pub const DEFAULT_SLICE: &str = "all";

/// One unit of evaluation: what the arm receives (`input`), the ground truth when there is one
/// (`expected`), and the labels the verdict is cut by (slice, cluster, severity, failure modes).
///
/// `input` and `expected` are JSON values so any serde type fits: a Rust service serializes its own
/// request type into `input`. An [`crate::Arm`] receives only the input (`&Value`), never the
/// row, so it deserializes with `serde_json::from_value::<MyRequest>(input.clone())` (or
/// `MyRequest::deserialize(input)`); [`Row::input_as`] is for code that holds the row — a
/// [`crate::Dataset`], a test, the train rows or a revealed dev row.
///
/// ```
/// use itera_core::Row;
/// let row = Row::new("r1", serde_json::json!({"text": "Uber *trip"}))
///     .expected("travel")
///     .slice("smb")
///     .severity(3.0);
/// assert_eq!(row.slice, "smb");
/// assert_eq!(row.expected.as_ref().and_then(|v| v.as_str()), Some("travel"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Unique id.
    pub id: RowId,
    /// What the arm receives.
    pub input: Value,
    /// Ground truth, if any.
    #[serde(default)]
    pub expected: Option<Value>,
    /// The slice (e.g. tenant tier); [`DEFAULT_SLICE`] when the data has none.
    #[serde(default = "default_slice")]
    pub slice: String,
    /// Rows sharing a cluster are not independent (same customer, same document).
    #[serde(default)]
    pub cluster: Option<String>,
    /// Per-row impact; 1.0 unless the data says otherwise.
    #[serde(default = "default_severity")]
    pub severity: f64,
    /// Failure-mode categories this row exercises (must belong to the registered taxonomy, G9).
    #[serde(default)]
    pub failure_modes: Vec<String>,
    /// Where the row came from (e.g. `data.csv line 17`), for error messages. Not part of the
    /// row's content: it is neither serialized nor hashed.
    #[serde(skip)]
    pub origin: Option<String>,
}

fn default_slice() -> String {
    DEFAULT_SLICE.to_string()
}

fn default_severity() -> f64 {
    1.0
}

impl Row {
    /// A row with the given id and input, no ground truth, the default slice and severity 1.
    pub fn new(id: impl Into<RowId>, input: impl Into<Value>) -> Row {
        Row {
            id: id.into(),
            input: input.into(),
            expected: None,
            slice: default_slice(),
            cluster: None,
            severity: 1.0,
            failure_modes: Vec::new(),
            origin: None,
        }
    }

    /// Sets the ground truth.
    pub fn expected(mut self, expected: impl Into<Value>) -> Row {
        self.expected = Some(expected.into());
        self
    }

    /// Sets the slice.
    pub fn slice(mut self, slice: impl Into<String>) -> Row {
        self.slice = slice.into();
        self
    }

    /// Sets the cluster.
    pub fn cluster(mut self, cluster: impl Into<String>) -> Row {
        self.cluster = Some(cluster.into());
        self
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: f64) -> Row {
        self.severity = severity;
        self
    }

    /// Adds a failure-mode tag.
    pub fn failure_mode(mut self, tag: impl Into<String>) -> Row {
        self.failure_modes.push(tag.into());
        self
    }

    /// Deserializes `input` into the caller's own type, for code that holds the row (a
    /// [`Dataset`](crate::Dataset), a test, [`Experiment::train_rows`](crate::Experiment::train_rows),
    /// a revealed dev row). Inside [`Arm::call`](crate::Arm::call) there is no row, only its
    /// input: use `serde_json::from_value::<T>(input.clone())` there.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Txn { text: String }
    /// let row = itera_core::Row::new("r1", serde_json::json!({"text": "ACME"}));
    /// let t: Txn = row.input_as().unwrap();
    /// assert_eq!(t.text, "ACME");
    /// ```
    pub fn input_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.input)
    }

    /// A short location for error messages: the origin if known, else the id.
    pub fn locate(&self) -> String {
        match &self.origin {
            Some(o) => format!("row '{}' ({o})", self.id),
            None => format!("row '{}'", self.id),
        }
    }
}
