//! File loaders: [`CsvDataset`] and [`JsonlDataset`] read rows from a CSV or JSON-lines file
//! through a [`Columns`] spec that names which column is the id, the input, the ground truth, the
//! slice, the cluster, the severity and the failure-mode tags, and which lines to keep
//! ([`Columns::filter`]). [`load_path`] picks the loader by extension.
//!
//! Both loaders stream the file (one record in memory at a time besides the kept rows) and turn
//! every bad input into a [`DataError`] that names the file, the line, the column and the fix:
//! unreadable or empty file, missing column, malformed line, empty or duplicate id, bad severity.
//! Failure-mode tags are only split here; whether they belong to the registered taxonomy is
//! checked by the split (G9).

use crate::data::dataset::{DataError, Dataset};
use crate::data::row::{DEFAULT_SLICE, Row, RowId};
use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

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
    fn named(&self) -> Vec<(&'static str, &str)> {
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

/// One file-backed dataset type per format: the same shape, only the reader differs.
macro_rules! file_dataset {
    ($(#[$doc:meta])* $name:ident, $reader:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            path: PathBuf,
            columns: Columns,
        }

        impl $name {
            #[doc = concat!("A ", $what, " dataset; nothing is read until [`", stringify!($name), "::read`] or [`Dataset::rows`].")]
            pub fn new(path: impl Into<PathBuf>, columns: Columns) -> $name {
                $name {
                    path: path.into(),
                    columns,
                }
            }

            /// The file.
            pub fn path(&self) -> &Path {
                &self.path
            }

            /// The column spec.
            pub fn columns(&self) -> &Columns {
                &self.columns
            }

            /// Reads and checks every row (file order).
            pub fn read(&self) -> Result<Vec<Row>, DataError> {
                $reader(&self.path, &self.columns)
            }
        }

        #[async_trait]
        impl Dataset for $name {
            fn describe(&self) -> String {
                format!(concat!($what, " {}"), self.path.display())
            }
            async fn rows(&self) -> Result<Vec<Row>, DataError> {
                self.read()
            }
        }
    };
}

file_dataset!(
    /// Rows read from a CSV file with a header line.
    ///
    /// Line numbers in errors and in each row's `origin` are 1-based physical lines, the header
    /// being line 1 (a quoted field spanning lines counts where its record starts). The file is read
    /// when [`Dataset::rows`] (or [`CsvDataset::read`]) is called, synchronously, one record at a time.
    ///
    /// ```
    /// use itera_core::data::load::{Columns, CsvDataset};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("rows.csv");
    /// std::fs::write(&path, "task,idx,input,target\nmath,0,1+1,2\nmath,1,2+2,4\n").unwrap();
    /// let ds = CsvDataset::new(&path, Columns::new(["task", "idx"], ["input"]).expected("target").slice("task"));
    /// let rows = ds.read().unwrap();
    /// assert_eq!(rows[1].id.as_str(), "math/1");
    /// assert_eq!(rows[1].input, serde_json::json!("2+2"));
    /// assert_eq!(rows[1].origin.as_deref(), Some("rows.csv line 3"));
    /// ```
    CsvDataset,
    read_csv,
    "CSV file"
);

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

/// The file formats a loader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header line (`.csv`).
    Csv,
    /// One JSON object per line (`.jsonl`, `.ndjson`).
    Jsonl,
}

impl Format {
    /// The format a path's extension names (case-insensitive).
    ///
    /// A `.json` file is refused: it is one JSON document, not JSON lines.
    ///
    /// ```
    /// use itera_core::data::load::Format;
    /// assert_eq!(Format::from_path("a/b.CSV".as_ref()).unwrap(), Format::Csv);
    /// assert_eq!(Format::from_path("rows.ndjson".as_ref()).unwrap(), Format::Jsonl);
    /// assert!(Format::from_path("rows.json".as_ref()).is_err());
    /// ```
    pub fn from_path(path: &Path) -> Result<Format, DataError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("jsonl") | Some("ndjson") => Ok(Format::Jsonl),
            Some(other) => Err(DataError::UnsupportedFormat {
                path: path.to_path_buf(),
                extension: if other == "json" {
                    "'.json' (one JSON document; itera reads JSON lines, one object per line: convert the file or, if it already is JSON lines, rename it to .jsonl)".to_string()
                } else {
                    format!("'.{other}'")
                },
            }),
            None => Err(DataError::UnsupportedFormat {
                path: path.to_path_buf(),
                extension: "(none)".to_string(),
            }),
        }
    }
}

/// A dataset for a file, the loader picked by extension (see [`Format::from_path`]). Fails only on
/// an unknown extension; the file is read when the rows are asked for.
///
/// ```
/// use itera_core::data::load::{Columns, load_path};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("rows.jsonl");
/// std::fs::write(&path, "{\"id\": \"a\", \"text\": \"hi\"}\n").unwrap();
/// let ds = load_path(&path, Columns::new(["id"], ["text"])).unwrap();
/// let rows = futures::executor::block_on(ds.rows()).unwrap();
/// assert_eq!(rows.len(), 1);
/// assert!(load_path(dir.path().join("rows.xlsx"), Columns::new(["id"], ["text"])).is_err());
/// ```
pub fn load_path(path: impl AsRef<Path>, columns: Columns) -> Result<Box<dyn Dataset>, DataError> {
    let path = path.as_ref();
    Ok(match Format::from_path(path)? {
        Format::Csv => Box::new(CsvDataset::new(path, columns)),
        Format::Jsonl => Box::new(JsonlDataset::new(path, columns)),
    })
}

// ---------------------------------------------------------------------------------------------
// Shared machinery

/// How many distinct values per filter column are remembered for the no-match error.
const SEEN_CAP: usize = 12;

/// Collects kept rows, checks id uniqueness, and remembers what the filter columns held.
struct Sink<'a> {
    path: &'a Path,
    file_name: String,
    rows: Vec<Row>,
    index: HashMap<RowId, usize>,
    scanned: u64,
    seen: BTreeMap<String, BTreeSet<String>>,
}

impl<'a> Sink<'a> {
    fn new(path: &'a Path) -> Sink<'a> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Sink {
            path,
            file_name,
            rows: Vec::new(),
            index: HashMap::new(),
            scanned: 0,
            seen: BTreeMap::new(),
        }
    }

    fn origin(&self, line: u64) -> String {
        format!("{} line {line}", self.file_name)
    }

    fn at(&self, line: u64, column: &str) -> String {
        format!("{} line {line}, column '{column}'", self.file_name)
    }

    fn malformed(&self, line: u64, message: impl Into<String>) -> DataError {
        DataError::Malformed {
            path: self.path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    /// Remembers a filter column's value while no row has matched yet (for the error message).
    fn saw(&mut self, column: &str, value: &str) {
        if !self.rows.is_empty() {
            return;
        }
        let set = self.seen.entry(column.to_string()).or_default();
        if set.len() < SEEN_CAP {
            set.insert(value.to_string());
        }
    }

    fn push(&mut self, row: Row) -> Result<(), DataError> {
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

    fn finish(self, columns: &Columns) -> Result<Vec<Row>, DataError> {
        if !self.rows.is_empty() {
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
fn split_tags(cell: &str) -> Vec<String> {
    cell.split(['|', ';'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses a severity: a finite number ≥ 0.
fn parse_severity(raw: &str, at: String, column: &str) -> Result<f64, DataError> {
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

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Physical line numbers for CSV records.
///
/// `csv` reports a record's position as where the reader stood when the record was asked for:
/// just after the previous record's first terminator byte. With `\r\n` endings or blank lines
/// before a record its `line()` is therefore too small, so the loader counts lines itself, with
/// a second buffered handle on the file that walks forward to each record's byte offset and then
/// over the line breaks that precede the record's first byte. A line break is `\n`, `\r\n` or a
/// lone `\r`, as for the CSV parser.
struct LineCounter {
    reader: BufReader<File>,
    offset: u64,
    breaks: u64,
    prev_cr: bool,
}

impl LineCounter {
    fn new(file: File) -> LineCounter {
        LineCounter {
            reader: BufReader::with_capacity(64 * 1024, file),
            offset: 0,
            breaks: 0,
            prev_cr: false,
        }
    }

    /// The 1-based line of the first non-break byte at or after `byte` (offsets never go back).
    fn line_at(&mut self, byte: u64) -> std::io::Result<u64> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let mut used = 0;
            let mut found = false;
            for &b in buf {
                if self.offset + used as u64 >= byte && b != b'\r' && b != b'\n' {
                    found = true;
                    break;
                }
                used += 1;
                match b {
                    b'\r' => {
                        self.breaks += 1;
                        self.prev_cr = true;
                    }
                    b'\n' => {
                        if !self.prev_cr {
                            self.breaks += 1;
                        }
                        self.prev_cr = false;
                    }
                    _ => self.prev_cr = false,
                }
            }
            self.reader.consume(used);
            self.offset += used as u64;
            if found {
                break;
            }
        }
        Ok(self.breaks + 1)
    }
}

/// Column indices resolved against the header.
struct CsvIndex {
    id: Vec<(String, usize)>,
    input: Vec<(String, usize)>,
    expected: Option<usize>,
    slice: Option<(String, usize)>,
    cluster: Option<usize>,
    severity: Option<(String, usize)>,
    failure_modes: Option<usize>,
    filter: Vec<(String, usize, String)>,
}

/// A `csv` error as a [`DataError`]; `lines` turns its byte offset into the physical line.
fn csv_error(path: &Path, err: csv::Error, lines: &mut LineCounter) -> DataError {
    let line = err.position().map_or(0, |p| {
        if p.byte() == 0 {
            1
        } else {
            lines.line_at(p.byte()).unwrap_or(p.line())
        }
    });
    match err.into_kind() {
        csv::ErrorKind::Io(source) => DataError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::Utf8 { err, .. } => DataError::Malformed {
            path: path.to_path_buf(),
            line,
            message: format!(
                "field {} is not valid UTF-8; save the file as UTF-8",
                err.field() + 1
            ),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => DataError::Malformed {
            path: path.to_path_buf(),
            line,
            message: format!(
                "the record has {len} fields but the header has {expected_len}; quote fields that contain commas, quotes or line breaks"
            ),
        },
        other => DataError::Malformed {
            path: path.to_path_buf(),
            line,
            message: format!("bad CSV record ({other:?}); fix the line"),
        },
    }
}

fn resolve_csv(
    path: &Path,
    headers: &csv::StringRecord,
    columns: &Columns,
) -> Result<CsvIndex, DataError> {
    let names: Vec<&str> = headers.iter().collect();
    let find = |column: &str| -> Result<usize, DataError> {
        let mut hits = names
            .iter()
            .enumerate()
            .filter(|(_, n)| **n == column)
            .map(|(i, _)| i);
        match (hits.next(), hits.next()) {
            (Some(i), None) => Ok(i),
            (Some(_), Some(_)) => Err(DataError::Malformed {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "the header names column '{column}' more than once; rename one of them"
                ),
            }),
            _ => Err(DataError::MissingColumn {
                path: path.to_path_buf(),
                column: column.to_string(),
                available: names.join(", "),
            }),
        }
    };
    let named = |c: &String| find(c).map(|i| (c.clone(), i));
    Ok(CsvIndex {
        id: columns.id.iter().map(named).collect::<Result<_, _>>()?,
        input: columns.input.iter().map(named).collect::<Result<_, _>>()?,
        expected: columns.expected.as_deref().map(find).transpose()?,
        slice: columns.slice.as_ref().map(named).transpose()?,
        cluster: columns.cluster.as_deref().map(find).transpose()?,
        severity: columns.severity.as_ref().map(named).transpose()?,
        failure_modes: columns.failure_modes.as_deref().map(find).transpose()?,
        filter: columns
            .filter
            .iter()
            .map(|(c, v)| find(c).map(|i| (c.clone(), i, v.clone())))
            .collect::<Result<_, _>>()?,
    })
}

fn read_csv(path: &Path, columns: &Columns) -> Result<Vec<Row>, DataError> {
    columns.validate()?;
    let file = File::open(path).map_err(|source| DataError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    // A second, independent handle (a `try_clone` would share the file offset).
    let mut lines = LineCounter::new(File::open(path).map_err(|source| DataError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| csv_error(path, e, &mut lines))?
        .clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        // No header line at all (an empty file, or only blank lines).
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let idx = resolve_csv(path, &headers, columns)?;
    let mut sink = Sink::new(path);
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(path, e, &mut lines))?
    {
        sink.scanned += 1;
        let line = match record.position() {
            Some(p) => lines
                .line_at(p.byte())
                .map_err(|source| DataError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                })?,
            None => 0,
        };
        let cell = |i: usize| record.get(i).unwrap_or("");
        let mut keep = true;
        for (c, i, want) in &idx.filter {
            let got = cell(*i);
            if got != want {
                keep = false;
            }
            sink.saw(c, got);
        }
        if !keep {
            continue;
        }
        let mut parts = Vec::with_capacity(idx.id.len());
        for (c, i) in &idx.id {
            let part = cell(*i);
            if part.trim().is_empty() {
                return Err(DataError::EmptyId {
                    at: sink.at(line, c),
                });
            }
            parts.push(part);
        }
        let input = match idx.input.as_slice() {
            [(_, i)] => Value::String(cell(*i).to_string()),
            many => Value::Object(
                many.iter()
                    .map(|(c, i)| (c.clone(), Value::String(cell(*i).to_string())))
                    .collect::<Map<_, _>>(),
            ),
        };
        let mut row = Row::new(RowId::composite(&parts), input);
        row.expected = idx
            .expected
            .map(cell)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_string()));
        if let Some((c, i)) = &idx.slice {
            let s = cell(*i);
            if s.trim().is_empty() {
                return Err(sink.malformed(
                    line,
                    format!("the slice column '{c}' is empty; give every row a slice, or drop the slice column"),
                ));
            }
            row.slice = s.to_string();
        } else {
            row.slice = DEFAULT_SLICE.to_string();
        }
        row.cluster = idx
            .cluster
            .map(cell)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string);
        if let Some((c, i)) = &idx.severity {
            row.severity = parse_severity(cell(*i), sink.at(line, c), c)?;
        }
        if let Some(i) = idx.failure_modes {
            row.failure_modes = split_tags(cell(i));
        }
        row.origin = Some(sink.origin(line));
        sink.push(row)?;
    }
    sink.finish(columns)
}

// ---------------------------------------------------------------------------------------------
// JSONL

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

fn read_jsonl(path: &Path, columns: &Columns) -> Result<Vec<Row>, DataError> {
    columns.validate()?;
    let file = File::open(path).map_err(|source| DataError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::new(file);
    let mut sink = Sink::new(path);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Write;

    fn file(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        let mut f = File::create(&path).unwrap();
        f.write_all(content).unwrap();
        path
    }

    fn csv(content: &str, columns: Columns) -> Result<Vec<Row>, DataError> {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "data.csv", content.as_bytes());
        CsvDataset::new(path, columns).read()
    }

    fn jsonl(content: &str, columns: Columns) -> Result<Vec<Row>, DataError> {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "data.jsonl", content.as_bytes());
        JsonlDataset::new(path, columns).read()
    }

    fn simple() -> Columns {
        Columns::new(["id"], ["text"])
    }

    #[test]
    fn csv_reads_every_field() {
        let rows = csv(
            "id,text,gold,tier,customer,sev,modes\n\
             r1,hello,HI,smb,c1,2.5,tone|format\n\
             r2,\"multi\nline, quoted\",,ent,,0,\n\
             r3,bye,BYE,ent,c1,1, tone ; ;safety \n",
            simple()
                .expected("gold")
                .slice("tier")
                .cluster("customer")
                .severity("sev")
                .failure_modes("modes"),
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        let r1 = &rows[0];
        assert_eq!(r1.id.as_str(), "r1");
        assert_eq!(r1.input, json!("hello"));
        assert_eq!(r1.expected, Some(json!("HI")));
        assert_eq!(r1.slice, "smb");
        assert_eq!(r1.cluster.as_deref(), Some("c1"));
        assert_eq!(r1.severity, 2.5);
        assert_eq!(r1.failure_modes, vec!["tone", "format"]);
        assert_eq!(r1.origin.as_deref(), Some("data.csv line 2"));
        let r2 = &rows[1];
        assert_eq!(r2.input, json!("multi\nline, quoted"));
        assert_eq!(
            r2.expected, None,
            "an empty expected cell is no ground truth"
        );
        assert_eq!(r2.cluster, None);
        assert_eq!(r2.severity, 0.0);
        assert!(r2.failure_modes.is_empty());
        // r2 spans lines 3-4, so r3 starts on line 5.
        assert_eq!(rows[2].origin.as_deref(), Some("data.csv line 5"));
        assert_eq!(rows[2].failure_modes, vec!["tone", "safety"]);
    }

    #[test]
    fn csv_defaults_without_optional_columns() {
        let rows = csv("id,text\na,x\n", simple()).unwrap();
        assert_eq!(rows[0].slice, DEFAULT_SLICE);
        assert_eq!(rows[0].severity, 1.0);
        assert_eq!(rows[0].expected, None);
    }

    #[test]
    fn csv_line_numbers_are_physical_lines() {
        let columns = || simple().failure_modes("m");
        let origins = |content: &str| -> Vec<String> {
            csv(content, columns())
                .unwrap()
                .into_iter()
                .map(|r| r.origin.unwrap())
                .collect()
        };
        let want = vec!["data.csv line 2", "data.csv line 3"];
        assert_eq!(origins("id,text,m\na,x,\nb,y,\n"), want);
        assert_eq!(origins("id,text,m\r\na,x,\r\nb,y,\r\n"), want);
        assert_eq!(origins("id,text,m\ra,x,\rb,y,"), want);
        assert_eq!(origins("\u{feff}id,text,m\r\na,x,\r\nb,y,"), want);
        // Blank lines and quoted line breaks, with both endings.
        for nl in ["\n", "\r\n"] {
            let content = format!(
                "id,text,m{nl}{nl}a,\"x{nl}y{nl}z\",{nl}{nl}{nl}b,y,{nl}c,\"{nl}\",{nl}d,w,"
            );
            assert_eq!(
                origins(&content),
                vec![
                    "data.csv line 3",
                    "data.csv line 8",
                    "data.csv line 9",
                    "data.csv line 11"
                ],
                "{content:?}"
            );
        }
        // Errors use the same count.
        let err = csv("id,text\r\n\r\na,x\r\nb,y,z\r\n", simple()).unwrap_err();
        assert!(
            matches!(err, DataError::Malformed { line: 4, .. }),
            "{err:?}"
        );
        let err = csv("id,text\r\na,x\r\nb,y\r\na,z\r\n", simple()).unwrap_err();
        match err {
            DataError::DuplicateId { first, second, .. } => {
                assert_eq!(
                    (first.as_str(), second.as_str()),
                    ("data.csv line 2", "data.csv line 4")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn csv_strips_utf8_bom() {
        let rows = csv("\u{feff}id,text\na,x\n", simple()).unwrap();
        assert_eq!(rows[0].id.as_str(), "a");
    }

    #[test]
    fn composite_id() {
        let rows = csv(
            "task,idx,input\nmath,0,a\nmath,1,b\nlogic,0,c\n",
            Columns::new(["task", "idx"], ["input"]),
        )
        .unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["math/0", "math/1", "logic/0"]);
    }

    #[test]
    fn filter_keeps_matching_lines_only() {
        let data = "qid,model,pred\n1,a,X\n1,b,Y\n2,a,Z\n2,b,W\n";
        let rows = csv(data, Columns::new(["qid"], ["pred"]).filter("model", "b")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].input, json!("Y"));
        assert_eq!(rows[1].origin.as_deref(), Some("data.csv line 5"));
        // Two filters must both match.
        let rows = csv(
            data,
            Columns::new(["qid"], ["pred"])
                .filter("model", "b")
                .filter("pred", "W"),
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id.as_str(), "2");
    }

    #[test]
    fn filter_on_missing_column_is_missing_column() {
        let err = csv("id,text\na,x\n", simple().filter("model", "m")).unwrap_err();
        match &err {
            DataError::MissingColumn {
                column, available, ..
            } => {
                assert_eq!(column, "model");
                assert_eq!(available, "id, text");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("fix the column name"));
    }

    #[test]
    fn filter_matching_nothing_is_distinct_from_empty_file() {
        let err = csv(
            "id,text,model\na,x,m1\nb,y,m2\n",
            simple().filter("model", "m3"),
        )
        .unwrap_err();
        match &err {
            DataError::NoMatchingRows {
                scanned,
                filter,
                seen,
                ..
            } => {
                assert_eq!(*scanned, 2);
                assert_eq!(filter, "model = \"m3\"");
                assert_eq!(seen, "model: \"m1\", \"m2\"");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("none of its 2 rows matches"));
    }

    #[test]
    fn multi_column_input_is_an_object() {
        let rows = csv(
            "id,question,options,answer\nq1,2+2?,3|4,4\n",
            Columns::new(["id"], ["question", "options"]).expected("answer"),
        )
        .unwrap();
        assert_eq!(rows[0].input, json!({"question": "2+2?", "options": "3|4"}));
    }

    #[test]
    fn unreadable_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = CsvDataset::new(dir.path().join("nope.csv"), simple())
            .read()
            .unwrap_err();
        assert!(matches!(err, DataError::Unreadable { .. }), "{err:?}");
        assert!(err.to_string().contains("nope.csv"));
        let err = JsonlDataset::new(dir.path().join("nope.jsonl"), simple())
            .read()
            .unwrap_err();
        assert!(matches!(err, DataError::Unreadable { .. }), "{err:?}");
    }

    #[test]
    fn empty_file_without_header() {
        for content in ["", "\n\n"] {
            let err = csv(content, simple()).unwrap_err();
            assert!(matches!(err, DataError::EmptyFile { .. }), "{err:?}");
            assert!(err.to_string().contains("holds no rows"));
        }
        let err = jsonl("\n  \n", simple()).unwrap_err();
        assert!(matches!(err, DataError::EmptyFile { .. }), "{err:?}");
    }

    #[test]
    fn header_without_rows_is_empty_file() {
        let err = csv("id,text\n", simple()).unwrap_err();
        assert!(matches!(err, DataError::EmptyFile { .. }), "{err:?}");
    }

    #[test]
    fn missing_column_lists_available() {
        let err = csv("id,txt\na,x\n", simple()).unwrap_err();
        match &err {
            DataError::MissingColumn {
                column, available, ..
            } => {
                assert_eq!(column, "text");
                assert_eq!(available, "id, txt");
            }
            other => panic!("{other:?}"),
        }
        let err = jsonl("{\"id\": 1, \"txt\": \"x\"}\n", simple()).unwrap_err();
        match &err {
            DataError::MissingColumn {
                column, available, ..
            } => {
                assert_eq!(column, "text");
                assert!(available.starts_with("id, txt"), "{available}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_header_column_is_refused() {
        let err = csv("id,text,text\na,x,y\n", simple()).unwrap_err();
        assert!(
            matches!(err, DataError::Malformed { line: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn duplicate_id_names_both_lines() {
        let err = csv("id,text\na,x\nb,y\na,z\n", simple()).unwrap_err();
        match &err {
            DataError::DuplicateId { id, first, second } => {
                assert_eq!(id.as_str(), "a");
                assert_eq!(first, "data.csv line 2");
                assert_eq!(second, "data.csv line 4");
            }
            other => panic!("{other:?}"),
        }
        let err = jsonl(
            "{\"id\":1,\"text\":\"x\"}\n\n{\"id\":\"1\",\"text\":\"y\"}\n",
            simple(),
        )
        .unwrap_err();
        match &err {
            DataError::DuplicateId { first, second, .. } => {
                assert_eq!(first, "data.jsonl line 1");
                assert_eq!(second, "data.jsonl line 3");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_id() {
        let err = csv("id,text\n  ,x\n", simple()).unwrap_err();
        match &err {
            DataError::EmptyId { at } => assert_eq!(at, "data.csv line 2, column 'id'"),
            other => panic!("{other:?}"),
        }
        // An empty part of a composite id is refused too.
        let err = csv(
            "task,idx,text\nmath,,x\n",
            Columns::new(["task", "idx"], ["text"]),
        )
        .unwrap_err();
        match &err {
            DataError::EmptyId { at } => assert_eq!(at, "data.csv line 2, column 'idx'"),
            other => panic!("{other:?}"),
        }
        let err = jsonl("{\"id\":\"\",\"text\":\"x\"}\n", simple()).unwrap_err();
        assert!(matches!(err, DataError::EmptyId { .. }), "{err:?}");
    }

    #[test]
    fn non_numeric_severity() {
        for bad in ["high", "", "-1"] {
            let err = csv(
                &format!("id,text,sev\na,x,{bad}\n"),
                simple().severity("sev"),
            )
            .unwrap_err();
            match &err {
                DataError::BadSeverity { at, value } => {
                    assert_eq!(at, "data.csv line 2, column 'sev'");
                    assert_eq!(value, bad);
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let err = jsonl(
            "{\"id\":\"a\",\"text\":\"x\",\"sev\":true}\n",
            simple().severity("sev"),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::BadSeverity { .. }), "{err:?}");
        let err = jsonl(
            "{\"id\":\"a\",\"text\":\"x\",\"sev\":-2}\n",
            simple().severity("sev"),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::BadSeverity { .. }), "{err:?}");
    }

    #[test]
    fn not_finite_severity() {
        for bad in ["NaN", "inf", "-infinity", "1e400"] {
            let err = csv(
                &format!("id,text,sev\na,x,{bad}\n"),
                simple().severity("sev"),
            )
            .unwrap_err();
            match &err {
                DataError::NotFinite { at, field, value } => {
                    assert_eq!(at, "data.csv line 2, column 'sev'");
                    assert!(field.contains("severity"));
                    assert_eq!(value, bad);
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let err = jsonl(
            "{\"id\":\"a\",\"text\":\"x\",\"sev\":\"NaN\"}\n",
            simple().severity("sev"),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::NotFinite { .. }), "{err:?}");
    }

    #[test]
    fn malformed_csv_record() {
        let err = csv("id,text\na,x\nb,y,extra\n", simple()).unwrap_err();
        match &err {
            DataError::Malformed { line, message, .. } => {
                assert_eq!(*line, 3);
                assert!(
                    message.contains("3 fields but the header has 2"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_csv_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "data.csv", b"id,text\na,\xff\xfe\n");
        let err = CsvDataset::new(path, simple()).read().unwrap_err();
        assert!(
            matches!(err, DataError::Malformed { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn malformed_jsonl_lines() {
        let err = jsonl("{\"id\":\"a\",\"text\":\"x\"}\n{\"id\": \n", simple()).unwrap_err();
        match &err {
            DataError::Malformed { line, message, .. } => {
                assert_eq!(*line, 2);
                assert!(message.contains("invalid JSON"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let err = jsonl("[1, 2]\n", simple()).unwrap_err();
        match &err {
            DataError::Malformed { line, message, .. } => {
                assert_eq!(*line, 1);
                assert!(message.contains("an array, not a JSON object"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "data.jsonl", b"{\"id\":\"a\",\"text\":\"\xff\"}\n");
        let err = JsonlDataset::new(path, simple()).read().unwrap_err();
        assert!(
            matches!(err, DataError::Malformed { line: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn jsonl_key_missing_on_a_later_line() {
        let err = jsonl("{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\"}\n", simple()).unwrap_err();
        match &err {
            DataError::Malformed { line, message, .. } => {
                assert_eq!(*line, 2);
                assert!(message.contains("'text' (the input column)"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn jsonl_bad_id_value() {
        for bad in ["true", "null", "[1]", "{\"a\":1}"] {
            let err = jsonl(&format!("{{\"id\":{bad},\"text\":\"x\"}}\n"), simple()).unwrap_err();
            match &err {
                DataError::Malformed { line, message, .. } => {
                    assert_eq!(*line, 1);
                    assert!(
                        message.contains("ids must be strings or numbers"),
                        "{message}"
                    );
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn jsonl_numeric_ids_and_values() {
        let rows = jsonl(
            "{\"task\":\"math\",\"idx\":0,\"q\":{\"a\":1},\"gold\":42,\"tier\":3,\"modes\":[\"x\",\"y|z\"],\"sev\":\"2\"}\n\
             \r\n\
             {\"task\":\"math\",\"idx\":1,\"q\":\"plain\",\"gold\":null,\"tier\":\"ent\",\"modes\":\"\",\"sev\":0.5}\r\n",
            Columns::new(["task", "idx"], ["q"])
                .expected("gold")
                .slice("tier")
                .cluster("task")
                .severity("sev")
                .failure_modes("modes"),
        )
        .unwrap();
        assert_eq!(rows[0].id.as_str(), "math/0");
        assert_eq!(rows[0].input, json!({"a": 1}));
        assert_eq!(rows[0].expected, Some(json!(42)));
        assert_eq!(rows[0].slice, "3");
        assert_eq!(rows[0].cluster.as_deref(), Some("math"));
        assert_eq!(rows[0].failure_modes, vec!["x", "y", "z"]);
        assert_eq!(rows[0].severity, 2.0);
        assert_eq!(rows[1].id.as_str(), "math/1");
        assert_eq!(rows[1].expected, None);
        assert_eq!(rows[1].severity, 0.5);
        assert!(rows[1].failure_modes.is_empty());
        assert_eq!(rows[1].origin.as_deref(), Some("data.jsonl line 3"));
    }

    #[test]
    fn jsonl_multi_column_input_and_filter() {
        let rows = jsonl(
            "{\"id\":1,\"a\":\"x\",\"b\":[1],\"m\":\"p\"}\n{\"id\":2,\"a\":\"y\",\"b\":null,\"m\":7}\n",
            Columns::new(["id"], ["a", "b"]).filter("m", "7"),
        )
        .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].input, json!({"a": "y", "b": null}));
        let err = jsonl(
            "{\"id\":1,\"a\":\"x\",\"m\":\"p\"}\n",
            Columns::new(["id"], ["a"]).filter("m", "q"),
        )
        .unwrap_err();
        assert!(matches!(err, DataError::NoMatchingRows { .. }), "{err:?}");
    }

    #[test]
    fn empty_slice_cell_is_refused() {
        let err = csv("id,text,tier\na,x,\n", simple().slice("tier")).unwrap_err();
        assert!(
            matches!(err, DataError::Malformed { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn invalid_column_spec() {
        let err = csv("id,text\na,x\n", Columns::new(["id"], Vec::<String>::new())).unwrap_err();
        assert!(matches!(err, DataError::InvalidColumns(_)), "{err:?}");
        let err = csv("id,text\na,x\n", Columns::new(["id", "id"], ["text"])).unwrap_err();
        assert!(matches!(err, DataError::InvalidColumns(_)), "{err:?}");
        let err = csv("id,text\na,x\n", simple().slice(" ")).unwrap_err();
        assert!(matches!(err, DataError::InvalidColumns(_)), "{err:?}");
    }

    #[test]
    fn columns_deserialize_and_refuse_unknown_keys() {
        let c: Columns = serde_json::from_value(json!({
            "id": ["task", "idx"], "input": "input", "expected": "target",
            "filter": {"variant": "cot"}
        }))
        .unwrap();
        assert_eq!(
            c,
            Columns::new(["task", "idx"], ["input"])
                .expected("target")
                .filter("variant", "cot")
        );
        assert!(
            serde_json::from_value::<Columns>(json!({"id": "a", "input": "b", "slices": "c"}))
                .is_err()
        );
        assert!(serde_json::from_value::<Columns>(json!({"input": "b"})).is_err());
    }

    #[test]
    fn load_path_picks_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let c = file(&dir, "a.CSV", b"id,text\na,x\n");
        let j = file(&dir, "b.ndjson", b"{\"id\":\"a\",\"text\":\"x\"}\n");
        for p in [c, j] {
            let ds = load_path(&p, simple()).unwrap();
            let rows = futures::executor::block_on(ds.rows()).unwrap();
            assert_eq!(rows.len(), 1);
            assert!(ds.describe().contains(p.to_str().unwrap()));
        }
        for name in ["c.json", "d.txt", "noext"] {
            let err = load_path(dir.path().join(name), simple()).err().unwrap();
            assert!(
                matches!(err, DataError::UnsupportedFormat { .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains(".jsonl"), "{err}");
        }
    }
}
