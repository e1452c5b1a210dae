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
//!
//! The parts: [`Columns`] (the spec, `columns.rs`), the row collector shared by both formats
//! (`sink.rs`), the CSV reader with its physical line counting (`csv.rs`) and the JSON-lines
//! reader (`jsonl.rs`). Every public item is re-exported here, so `data::load::X` paths hold.

use crate::data::dataset::{DataError, Dataset};
use std::path::Path;

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
                $reader(&self.path, &self.columns, None)
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
            async fn each_row(
                &self,
                visit: &mut (dyn FnMut(Row) -> Result<(), DataError> + Send),
            ) -> Result<(), DataError> {
                $reader(&self.path, &self.columns, Some(visit)).map(drop)
            }
        }
    };
}

// Declared after `file_dataset!`: `csv` and `jsonl` invoke it.
mod columns;
mod csv;
mod jsonl;
mod sink;

pub use self::columns::{Columns, one_or_many};
pub use self::csv::CsvDataset;
pub use self::jsonl::JsonlDataset;

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

#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
