//! The CSV loader: [`CsvDataset`] reads a file with a header line one record at a time, resolves
//! the [`Columns`] against the header, and reports every error at the record's physical line —
//! counted by [`LineCounter`] itself, since the `csv` crate's own line numbers are off after
//! `\r\n` endings and blank lines.

use crate::data::dataset::{DataError, Dataset};
use crate::data::load::Columns;
use crate::data::load::sink::{Sink, Visit, parse_severity, split_tags};
use crate::data::row::{DEFAULT_SLICE, Row, RowId};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

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

/// Reads and checks every row; with `visit`, hands each row to it instead of keeping it (and
/// returns no rows).
fn read_csv<'a>(
    path: &'a Path,
    columns: &Columns,
    visit: Option<Visit<'a>>,
) -> Result<Vec<Row>, DataError> {
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
    let mut sink = Sink::new(path, visit);
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
