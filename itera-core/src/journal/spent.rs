//! The spent-test ledger (G15): test rows an experiment opened are spent, and a later experiment
//! may not seal one of them into its own test set unless its registration declares the reuse
//! ([`Frame::reuse_test`](crate::Frame::reuse_test)).
//!
//! The ledger is an append-only JSON-lines file kept beside the experiment directories
//! ([`SPENT_LEDGER_FILE`] in the parent of the experiment's directory by default, overridable
//! with [`Store::with_spent_ledger`](crate::Store::with_spent_ledger)). One line per opened test
//! set: the content hashes of its rows, the experiment directory, the hash of the experiment's
//! first journal line (its identity: a resumed experiment is never refused by its own line), its
//! frame hash and the UTC time. A row's hash covers its input and expected answer only — not its
//! id, slice or tags — so renaming the rows does not make a spent test set fresh.
//!
//! Lines are appended under an exclusive lock on the ledger file (one `write` of the whole line,
//! then `fsync`), so concurrent processes never interleave a line. A missing ledger means nothing
//! was spent; an unreadable line is an error naming the file and the line, never skipped.

use crate::data::row::Row;
use crate::hash;
use crate::journal::store::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The ledger's default file name, in the parent directory of the experiment directories.
pub const SPENT_LEDGER_FILE: &str = ".itera-spent-tests.jsonl";

/// One ledger line: the test rows one experiment opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpentEntry {
    /// The experiment directory (or `"in memory"`).
    pub experiment: String,
    /// SHA-256 of the experiment's first journal line: who spent the rows.
    pub journal: String,
    /// The experiment's frame hash.
    pub frame_hash: String,
    /// When the test set was opened (RFC 3339, UTC).
    pub at: String,
    /// Content hashes of the opened test rows: SHA-256 of the canonical JSON of each row's
    /// input and expected answer.
    pub rows: Vec<String>,
}

/// What a split's test rows share with the ledger: the earliest other experiment that spent any
/// of them, and how many of the test rows are spent in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpentOverlap {
    /// Test rows of this split already spent by other experiments.
    pub rows: usize,
    /// The earliest such experiment's directory.
    pub experiment: String,
    /// When it opened its test set.
    pub at: String,
    /// Every other experiment whose spent rows overlap, in ledger order.
    pub experiments: Vec<String>,
}

/// A declared reuse of spent test rows, journaled with the split (G15).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReusedTest {
    /// The registration's reason (`reuse_test`).
    pub reason: String,
    /// What the ledger held of this split's test rows at the split (`None`: nothing yet).
    pub overlap: Option<SpentOverlap>,
}

impl ReusedTest {
    /// The label every view of the verdict carries: "not a fresh test set: …".
    pub fn label(&self) -> String {
        let spent = match &self.overlap {
            Some(o) => format!(
                "{} test row(s) were opened before by {} on {}",
                o.rows, o.experiment, o.at
            ),
            None => "no test row was in the spent-test ledger at the split".to_string(),
        };
        format!(
            "not a fresh test set: reuse declared (\"{}\"); {spent}",
            self.reason
        )
    }
}

/// The content hash of a row as the ledger records it: its input and expected answer.
pub(crate) fn row_hash(row: &Row) -> Result<String, StoreError> {
    hash::hash_value(&(&row.input, &row.expected)).map_err(|e| StoreError::Encode(e.to_string()))
}

/// The content hashes of rows.
pub(crate) fn row_hashes(rows: &[Row]) -> Result<BTreeSet<String>, StoreError> {
    rows.iter().map(row_hash).collect()
}

/// A spent-test ledger file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentLedger {
    path: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl SpentLedger {
    /// The ledger at `path` (it need not exist yet).
    pub fn at(path: impl Into<PathBuf>) -> SpentLedger {
        SpentLedger { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every line, in order. A missing file is an empty ledger; an unreadable line is
    /// [`StoreError::SpentLedger`] naming the file and line.
    pub fn entries(&self) -> Result<Vec<SpentEntry>, StoreError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&self.path)(e)),
        };
        let mut out = Vec::new();
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| StoreError::SpentLedger {
                path: self.path.clone(),
                line: n + 1,
                why: e.to_string(),
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let entry = serde_json::from_str(&line).map_err(|e| StoreError::SpentLedger {
                path: self.path.clone(),
                line: n + 1,
                why: e.to_string(),
            })?;
            out.push(entry);
        }
        Ok(out)
    }

    /// Whether the experiment `journal` already has its line (a resumed test pass).
    pub(crate) fn has(&self, journal: &str) -> Result<bool, StoreError> {
        Ok(self.entries()?.iter().any(|e| e.journal == journal))
    }

    /// The overlap of `rows` (content hashes) with rows spent by experiments other than
    /// `journal`, or `None` when none is spent.
    pub(crate) fn overlap(
        &self,
        rows: &BTreeSet<String>,
        journal: &str,
    ) -> Result<Option<SpentOverlap>, StoreError> {
        let mut spent: BTreeSet<&str> = BTreeSet::new();
        let mut first: Option<(String, String)> = None;
        let mut experiments: Vec<String> = Vec::new();
        let entries = self.entries()?;
        for e in entries.iter().filter(|e| e.journal != journal) {
            let hit: Vec<&str> = e
                .rows
                .iter()
                .map(String::as_str)
                .filter(|r| rows.contains(*r))
                .collect();
            if hit.is_empty() {
                continue;
            }
            spent.extend(hit);
            first.get_or_insert_with(|| (e.experiment.clone(), e.at.clone()));
            if !experiments.contains(&e.experiment) {
                experiments.push(e.experiment.clone());
            }
        }
        Ok(first.map(|(experiment, at)| SpentOverlap {
            rows: spent.len(),
            experiment,
            at,
            experiments,
        }))
    }

    /// Appends one line under an exclusive lock on the file, in one write, then `fsync`s it.
    pub(crate) fn append(&self, entry: &SpentEntry) -> Result<(), StoreError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let mut line = serde_json::to_vec(entry).map_err(|e| StoreError::Encode(e.to_string()))?;
        line.push(b'\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        // Blocks until no other process is appending (flock(2)); released when `file` closes.
        file.lock().map_err(io_err(&self.path))?;
        file.write_all(&line).map_err(io_err(&self.path))?;
        file.sync_all().map_err(io_err(&self.path))?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(journal: &str, rows: &[&str]) -> SpentEntry {
        SpentEntry {
            experiment: format!("runs/{journal}"),
            journal: journal.into(),
            frame_hash: "f".into(),
            at: "2026-01-01T00:00:00Z".into(),
            rows: rows.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn missing_ledger_is_nothing_spent_and_own_lines_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = SpentLedger::at(dir.path().join("l.jsonl"));
        let rows: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        assert_eq!(ledger.overlap(&rows, "me").unwrap(), None);
        ledger.append(&entry("me", &["a", "b"])).unwrap();
        assert_eq!(ledger.overlap(&rows, "me").unwrap(), None);
        ledger.append(&entry("other", &["b", "c"])).unwrap();
        let o = ledger.overlap(&rows, "me").unwrap().unwrap();
        assert_eq!((o.rows, o.experiment.as_str()), (1, "runs/other"));
        assert!(ledger.has("me").unwrap() && !ledger.has("x").unwrap());
    }

    #[test]
    fn concurrent_appends_of_big_lines_never_interleave() {
        // Lines far above PIPE_BUF (4 KiB): only the file lock keeps them whole.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.jsonl");
        let rows: Vec<String> = (0..2000).map(|i| format!("{i:064}")).collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        std::thread::scope(|s| {
            for t in 0..8 {
                let (path, rows) = (&path, &rows);
                s.spawn(move || {
                    for k in 0..5 {
                        SpentLedger::at(path)
                            .append(&entry(&format!("j{t}-{k}"), rows))
                            .unwrap();
                    }
                });
            }
        });
        let entries = SpentLedger::at(&path).entries().unwrap();
        assert_eq!(entries.len(), 40);
        assert!(entries.iter().all(|e| e.rows.len() == 2000));
    }

    #[test]
    fn corrupt_ledger_line_is_an_error_naming_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.jsonl");
        let ledger = SpentLedger::at(&path);
        ledger.append(&entry("me", &["a"])).unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{not json\n");
        std::fs::write(&path, text).unwrap();
        let err = ledger.entries().unwrap_err().to_string();
        assert!(err.contains("l.jsonl") && err.contains("line 2"), "{err}");
    }
}
