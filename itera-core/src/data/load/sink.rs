//! The row collector both loaders share: [`Sink`] keeps the kept rows, refuses a duplicate id
//! (naming both lines), remembers what the filter columns held so a filter that matches nothing
//! says what it saw, and tells an empty file from a filter that kept nothing. Also the cell
//! helpers both formats use: failure-mode tag splitting, severity parsing (a finite number ≥ 0)
//! and the name of a JSON value's kind for messages.

use crate::data::dataset::DataError;
use crate::data::load::Columns;
use crate::data::row::{Row, RowId};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// How many distinct values per filter column are remembered for the no-match error.
const SEEN_CAP: usize = 12;

/// Where a reader hands its rows instead of keeping them ([`crate::Dataset::each_row`]).
pub(crate) type Visit<'v> = &'v mut dyn FnMut(Row) -> Result<(), DataError>;

/// Collects kept rows, checks id uniqueness, and remembers what the filter columns held. With a
/// visitor, hands each kept row to it instead: nothing is kept, and ids are not checked here (the
/// caller compares the rows with rows already checked).
pub(crate) struct Sink<'a> {
    path: &'a Path,
    file_name: String,
    visit: Option<Visit<'a>>,
    /// Rows kept, or handed to `visit`.
    kept: u64,
    rows: Vec<Row>,
    index: HashMap<RowId, usize>,
    pub(crate) scanned: u64,
    seen: BTreeMap<String, BTreeSet<String>>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(path: &'a Path, visit: Option<Visit<'a>>) -> Sink<'a> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Sink {
            path,
            file_name,
            visit,
            kept: 0,
            rows: Vec::new(),
            index: HashMap::new(),
            scanned: 0,
            seen: BTreeMap::new(),
        }
    }

    pub(crate) fn origin(&self, line: u64) -> String {
        format!("{} line {line}", self.file_name)
    }

    pub(crate) fn at(&self, line: u64, column: &str) -> String {
        format!("{} line {line}, column '{column}'", self.file_name)
    }

    pub(crate) fn malformed(&self, line: u64, message: impl Into<String>) -> DataError {
        DataError::Malformed {
            path: self.path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    /// Remembers a filter column's value while no row has matched yet (for the error message).
    pub(crate) fn saw(&mut self, column: &str, value: &str) {
        if self.kept > 0 {
            return;
        }
        let set = self.seen.entry(column.to_string()).or_default();
        if set.len() < SEEN_CAP {
            set.insert(value.to_string());
        }
    }

    pub(crate) fn push(&mut self, row: Row) -> Result<(), DataError> {
        self.kept += 1;
        if let Some(visit) = &mut self.visit {
            return visit(row);
        }
        if let Some(&i) = self.index.get(&row.id) {
            let first = self.rows.get(i).and_then(|r| r.origin.clone());
            return Err(DataError::DuplicateId {
                id: row.id.clone(),
                first: first.unwrap_or_else(|| "an earlier line".into()),
                second: row.origin.clone().unwrap_or_else(|| "a later line".into()),
            });
        }
        self.index.insert(row.id.clone(), self.rows.len());
        self.rows.push(row);
        Ok(())
    }

    pub(crate) fn finish(mut self, columns: &Columns) -> Result<Vec<Row>, DataError> {
        if self.kept > 0 {
            // Grown by doubling: up to half of it unused (100k rows: room for 131,072, #17).
            self.rows.shrink_to_fit();
            return Ok(self.rows);
        }
        if self.scanned == 0 || columns.filter.is_empty() {
            return Err(DataError::EmptyFile {
                path: self.path.to_path_buf(),
            });
        }
        let filter = columns
            .filter
            .iter()
            .map(|(c, v)| format!("{c} = \"{v}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let seen = self
            .seen
            .iter()
            .map(|(c, vals)| {
                let list = vals
                    .iter()
                    .map(|v| format!("\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ");
                let more = if vals.len() >= SEEN_CAP { ", ..." } else { "" };
                format!("{c}: {list}{more}")
            })
            .collect::<Vec<_>>()
            .join("; ");
        Err(DataError::NoMatchingRows {
            path: self.path.to_path_buf(),
            filter,
            scanned: self.scanned,
            seen,
        })
    }
}

/// Splits a failure-mode cell on `|` and `;`, trimming tags and dropping empty ones.
pub(crate) fn split_tags(cell: &str) -> Vec<String> {
    cell.split(['|', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses a severity: a finite number ≥ 0.
pub(crate) fn parse_severity(raw: &str, at: String, column: &str) -> Result<f64, DataError> {
    let trimmed = raw.trim();
    match trimmed.parse::<f64>() {
        Ok(v) if !v.is_finite() => Err(DataError::NotFinite {
            at,
            field: format!("severity (column '{column}')"),
            value: raw.to_string(),
        }),
        Ok(v) if v >= 0.0 => Ok(v),
        _ => Err(DataError::BadSeverity {
            at,
            value: raw.to_string(),
        }),
    }
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
