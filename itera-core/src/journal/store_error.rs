//! Why a store refuses: every way an experiment directory can be unusable (missing, edited,
//! truncated after the test set opened, busy in another process, unwritable), each message naming
//! the file or line and the way out.

use crate::journal::event::ChainError;
use std::path::PathBuf;

/// Why a store cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The journal's hash chain is broken.
    #[error("{path}: {source}")]
    Tampered {
        /// The journal file.
        path: PathBuf,
        /// Which line and how.
        source: ChainError,
    },
    /// `registration.json` or `frame.md` was edited after registration (G7).
    #[error(
        "{file} was edited after registration, and a registered frame never changes (G7): its hash is {found}, the journal recorded {expected}; restore the file, or start a new experiment in a new directory with fresh test rows"
    )]
    FrameEdited {
        /// The edited file.
        file: String,
        /// The hash recorded in the journal.
        expected: String,
        /// The hash of the file now.
        found: String,
    },
    /// A registration file is missing or unreadable while the journal says the experiment is
    /// registered.
    #[error("{file}: {why}; restore it from a backup or start a new experiment")]
    BadRegistration {
        /// The file.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// A report file (`data.json`, `verdict.json`, `conclusion.md`) no longer matches the hash
    /// the verdict journaled (G40): its decision or numbers would be believed.
    #[error(
        "{file} was edited after the verdict (SHA-256 {found}, the verdict journaled {expected}), and the report a verdict wrote is never edited: the registered rules decide, not a hand (G40): {fix}"
    )]
    ReportEdited {
        /// The edited file.
        file: String,
        /// The hash the verdict journaled.
        expected: String,
        /// The hash of the file now (or "missing").
        found: String,
        /// How to restore it.
        fix: String,
    },
    /// The journal no longer holds the line at which the test set was opened (`sealed-opened.json`
    /// names it): it was cut back after opening, to re-score the test set (G15, G46).
    #[error(
        "{path} was truncated after the sealed test set was opened (sealed-opened.json names journal line {line}, written {at}, and the journal no longer holds it) (G15, G46): the test set is opened once; restore the full journal from a backup, or start a new experiment with fresh test rows"
    )]
    TruncatedAfterOpening {
        /// The journal.
        path: PathBuf,
        /// The 1-based line the marker names.
        line: u64,
        /// When the test set was opened.
        at: String,
    },
    /// The journal holds fewer complete lines than this process has written to it: it was cut
    /// or replaced while the store was open (G7).
    #[error(
        "{path} ends at line {found}, but this process wrote {written} lines to it: it was cut or replaced while the experiment ran (G7); restore the full journal from a backup, or start a new experiment"
    )]
    CutWhileOpen {
        /// The journal.
        path: PathBuf,
        /// The complete lines found.
        found: u64,
        /// The lines this store wrote (and verified when it opened).
        written: u64,
    },
    /// Serialization failed (a bug, or a non-finite number in an event).
    #[error("cannot encode a journal entry: {0}")]
    Encode(String),
    /// Another process holds the directory (one writer per directory, G1).
    #[error(
        "busy: pid {pid} has held {} since {since}; wait for it to finish (or stop it), then run again — two writers would break the journal's hash chain (G1)",
        dir.display()
    )]
    Busy {
        /// The experiment directory.
        dir: PathBuf,
        /// The holder's process id (`?` if it has not written it yet).
        pid: String,
        /// Since when it holds the directory (RFC 3339, `?` if unknown).
        since: String,
    },
    /// A write through a store opened with [`Store::read_only`](crate::journal::store::Store::read_only).
    #[error("{0}: opened read-only (status, verify); open it with Store::dir to write")]
    ReadOnly(PathBuf),
    /// A line of the spent-test ledger cannot be read (G15): it is never skipped, since a skipped
    /// line would make spent test rows look fresh.
    #[error(
        "{path}, line {line}: the spent-test ledger is unreadable ({why}) (G15): restore the line from a backup; deleting it would let its spent test rows be reused unlabelled"
    )]
    SpentLedger {
        /// The ledger file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        why: String,
    },
}
