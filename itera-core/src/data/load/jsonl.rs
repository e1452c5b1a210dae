//! The JSON-lines loader: [`JsonlDataset`] reads one JSON object per line (blank lines skipped),
//! takes the [`Columns`] as keys, and keeps input and expected values as JSON values.

use crate::data::dataset::{DataError, Dataset};
use crate::data::load::Columns;
use crate::data::load::sink::{Sink, Visit, json_kind, parse_severity, split_tags};
use crate::data::row::{Row, RowId};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

file_dataset!(
    /// Rows read from a JSON-lines file: one JSON object per line; blank lines are skipped.
    ///
    /// Column names are the objects' keys. Every configured key must be present on the first row
    /// (else [`DataError::MissingColumn`] listing that row's keys); afterwards the id, input, slice,
    /// severity and filter keys are required on every line, while a missing `expected`, `cluster` or
    /// `failure_modes` key reads as "none". Id values may be strings or numbers (`7` → `"7"`); input
    /// and expected values are kept as JSON values.
    ///
    /// ```
    /// use itera_core::data::load::{Columns, JsonlDataset};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("rows.jsonl");
    /// std::fs::write(&path, "{\"n\": 1, \"q\": {\"a\": 2}, \"gold\": 3}\n{\"n\": 2, \"q\": {\"a\": 5}, \"gold\": 6}\n").unwrap();
    /// let rows = JsonlDataset::new(&path, Columns::new(["n"], ["q"]).expected("gold")).read().unwrap();
    /// assert_eq!(rows[0].id.as_str(), "1");
    /// assert_eq!(rows[0].input, serde_json::json!({"a": 2}));
    /// assert_eq!(rows[1].expected, Some(serde_json::json!(6)));
    /// ```
    JsonlDataset,
    read_jsonl,
    "JSONL file"
);

/// A scalar JSON value as text (for ids, slices, clusters and filters); `None` for null, arrays
/// and objects.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads and checks every row; with `visit`, hands each row to it instead of keeping it (and
/// returns no rows).
fn read_jsonl<'a>(
    path: &'a Path,
    columns: &Columns,
    visit: Option<Visit<'a>>,
) -> Result<Vec<Row>, DataError> {
    columns.validate()?;
    let file = File::open(path).map_err(|source| DataError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::new(file);
    let mut sink = Sink::new(path, visit);
    let mut buf = String::new();
    let mut line: u64 = 0;
    loop {
        buf.clear();
        line += 1;
        match reader.read_line(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(
                    sink.malformed(line, "the line is not valid UTF-8; save the file as UTF-8")
                );
            }
            Err(source) => {
                return Err(DataError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
        let text = buf.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(text).map_err(|e| {
            sink.malformed(
                line,
                format!("invalid JSON ({e}); each line must hold one complete JSON object"),
            )
        })?;
        let Value::Object(obj) = value else {
            return Err(sink.malformed(
                line,
                format!(
                    "the line holds {}, not a JSON object; each line must be an object whose keys are the columns",
                    json_kind(&value)
                ),
            ));
        };
        let first = sink.scanned == 0;
        sink.scanned += 1;
        if first {
            for (_, c) in columns.named() {
                if !obj.contains_key(c) {
                    return Err(DataError::MissingColumn {
                        path: path.to_path_buf(),
                        column: c.to_string(),
                        available: format!(
                            "{} (the keys of line {line})",
                            obj.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
            }
        }
        let required = |c: &str, role: &str| -> Result<&Value, DataError> {
            obj.get(c).ok_or_else(|| DataError::Malformed {
                path: path.to_path_buf(),
                line,
                message: format!("key '{c}' (the {role} column) is missing; every line needs it"),
            })
        };
        let mut keep = true;
        let mut seen_now = Vec::new();
        for (c, want) in &columns.filter {
            let got = scalar_text(required(c, "filter")?).unwrap_or_default();
            if &got != want {
                keep = false;
            }
            seen_now.push((c, got));
        }
        for (c, got) in seen_now {
            sink.saw(c, &got);
        }
        if !keep {
            continue;
        }
        let mut parts = Vec::with_capacity(columns.id.len());
        for c in &columns.id {
            let v = required(c, "id")?;
            let part = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(sink.malformed(
                        line,
                        format!(
                            "id column '{c}' holds {}; ids must be strings or numbers",
                            json_kind(other)
                        ),
                    ));
                }
            };
            if part.trim().is_empty() {
                return Err(DataError::EmptyId {
                    at: sink.at(line, c),
                });
            }
            parts.push(part);
        }
        let input = match columns.input.as_slice() {
            [c] => required(c, "input")?.clone(),
            many => {
                let mut map = Map::new();
                for c in many {
                    map.insert(c.clone(), required(c, "input")?.clone());
                }
                Value::Object(map)
            }
        };
        let mut row = Row::new(RowId::composite(&parts), input);
        row.expected = match columns.expected.as_deref().and_then(|c| obj.get(c)) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(v) => Some(v.clone()),
        };
        if let Some(c) = &columns.slice {
            match scalar_text(required(c, "slice")?) {
                Some(s) if !s.trim().is_empty() => row.slice = s,
                _ => {
                    return Err(sink.malformed(
                        line,
                        format!("the slice column '{c}' is empty or not a string/number; give every row a slice, or drop the slice column"),
                    ));
                }
            }
        }
        if let Some(c) = &columns.cluster {
            row.cluster = match obj.get(c) {
                None | Some(Value::Null) => None,
                Some(v) => match scalar_text(v) {
                    Some(s) if s.trim().is_empty() => None,
                    Some(s) => Some(s),
                    None => {
                        return Err(sink.malformed(
                            line,
                            format!(
                                "the cluster column '{c}' holds {}; use a string or number",
                                json_kind(v)
                            ),
                        ));
                    }
                },
            };
        }
        if let Some(c) = &columns.severity {
            row.severity = match required(c, "severity")? {
                Value::Number(n) => match n.as_f64() {
                    Some(v) => parse_severity(&v.to_string(), sink.at(line, c), c)?,
                    None => {
                        return Err(DataError::BadSeverity {
                            at: sink.at(line, c),
                            value: n.to_string(),
                        });
                    }
                },
                Value::String(s) => parse_severity(s, sink.at(line, c), c)?,
                other => {
                    return Err(DataError::BadSeverity {
                        at: sink.at(line, c),
                        value: other.to_string(),
                    });
                }
            };
        }
        if let Some(c) = &columns.failure_modes {
            row.failure_modes = match obj.get(c) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(s)) => split_tags(s),
                Some(Value::Array(items)) => {
                    let mut tags = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::String(s) => tags.extend(split_tags(s)),
                            other => {
                                return Err(sink.malformed(
                                    line,
                                    format!("the failure-mode column '{c}' holds {} in its array; tags must be strings", json_kind(other)),
                                ));
                            }
                        }
                    }
                    tags
                }
                Some(other) => {
                    return Err(sink.malformed(
                        line,
                        format!("the failure-mode column '{c}' holds {}; use a string like \"a|b\" or an array of strings", json_kind(other)),
                    ));
                }
            };
        }
        row.origin = Some(sink.origin(line));
        sink.push(row)?;
    }
    sink.finish(columns)
}
