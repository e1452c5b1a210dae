//! The write-once `sealed-opened.json` marker (G15, G46): when the test set opens, the journal's
//! head at that moment is written beside the journal with create-new + fsync, never rewritten.
//! A journal cut back to before that head — to re-score the test set with an edited arm, as if
//! the pass had never started — still verifies as a chain, but no longer contains the head the
//! marker names, and the store refuses to open it.

use crate::journal::event::Entry;
use serde::{Deserialize, Serialize};

/// The marker's file name inside an experiment directory.
pub const SEALED_OPENED_FILE: &str = "sealed-opened.json";

/// What `sealed-opened.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealedMarker {
    /// The `sealed-opened` entry's sequence number.
    pub seq: u64,
    /// Its hash: the journal's head when the test set opened.
    pub head: String,
    /// When it was written.
    pub at: String,
    /// The test commitment that was opened.
    pub test_commitment: String,
}

impl SealedMarker {
    /// The marker for a journaled `sealed-opened` entry.
    pub(crate) fn of(entry: &Entry, test_commitment: &str) -> SealedMarker {
        SealedMarker {
            seq: entry.seq,
            head: entry.hash.clone(),
            at: entry.at.clone(),
            test_commitment: test_commitment.to_string(),
        }
    }
}
