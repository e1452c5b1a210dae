//! What the store's opening pass reads, apart from the store itself: the journal's complete
//! lines verified one by one ([`scan_lines`]), the sealed-opened marker, and the hashes it keeps
//! from the `registered` and `verdict` events so later checks need no second read (#17).

use crate::journal::chain::Peek;
use crate::journal::event::{ChainError, Entry, Event, Verifier};
use crate::journal::marker::{SEALED_OPENED_FILE, SealedMarker};
use crate::journal::store::io_err;
use crate::journal::store_error::StoreError;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The `(frame, frame.md, registration.json)` hashes a `registered` event recorded.
pub(crate) type RecordedRegistration = (String, String, String);

/// The `(data.json, verdict.json, conclusion.md)` hashes a `verdict` event recorded (the last
/// two absent in journals from before they were recorded).
pub(crate) type ReportHashes = (String, Option<String>, Option<String>);

/// What the opening pass keeps of the journal's lines, and every append adds to, so later
/// checks need no second read (#17): the registration's hashes, the verdict's time and report
/// hashes, and the `sealed-opened` line. The checkpoint carries it for the lines it covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Known {
    /// The `registered` event's hashes.
    pub(crate) registered: Option<RecordedRegistration>,
    /// When the verdict was journaled.
    pub(crate) concluded: Option<String>,
    /// The report files' hashes the verdict journaled.
    pub(crate) report_hashes: Option<ReportHashes>,
    /// The `sealed-opened` line's sequence number and hash (what `sealed-opened.json` names).
    pub(crate) sealed: Option<(u64, String)>,
}

impl Known {
    /// Whether a line of this kind tells something [`Known::learn`] keeps.
    pub(crate) fn wants(kind: &str) -> bool {
        matches!(kind, "registered" | "verdict-reached" | "sealed-opened")
    }

    /// Keeps what `entry` tells.
    pub(crate) fn learn(&mut self, entry: &Entry) {
        if self.registered.is_none() {
            self.registered = recorded_registration(entry);
        }
        match &entry.event {
            Event::VerdictReached { .. } => {
                self.concluded = Some(entry.at.clone());
                self.report_hashes = report_hashes(&entry.event);
            }
            Event::SealedOpened { .. } => self.sealed = Some((entry.seq, entry.hash.clone())),
            _ => {}
        }
    }
}

/// The report hashes of a `verdict` event.
fn report_hashes(event: &Event) -> Option<ReportHashes> {
    match event {
        Event::VerdictReached {
            data_hash,
            verdict_hash,
            conclusion_hash,
            ..
        } => Some((
            data_hash.clone(),
            verdict_hash.clone(),
            conclusion_hash.clone(),
        )),
        _ => None,
    }
}

/// Reads `sealed-opened.json` if the test set was opened.
pub(crate) fn read_marker(root: &Path) -> Result<Option<SealedMarker>, StoreError> {
    let path = root.join(SEALED_OPENED_FILE);
    match fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::BadRegistration {
                    file: SEALED_OPENED_FILE.into(),
                    why: format!(
                        "unreadable ({e}): the test set was opened but its marker was edited"
                    ),
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Io { path, source: e }),
    }
}

/// The `(frame, frame.md, registration.json)` hashes of a `registered` event.
pub(crate) fn recorded_registration(entry: &Entry) -> Option<RecordedRegistration> {
    match &entry.event {
        Event::Registered {
            frame_hash,
            frame_md_hash,
            registration_hash,
            ..
        } => Some((
            frame_hash.clone(),
            frame_md_hash.clone(),
            registration_hash.clone(),
        )),
        _ => None,
    }
}

/// Verifies the complete lines of a journal as they are read, handing each entry to `visit`.
/// Returns the length in bytes of the complete lines; anything after the last newline (a torn
/// or still-being-written line) is neither decoded nor visited.
pub(crate) fn scan_lines(
    reader: impl Read,
    path: &Path,
    verifier: &mut Verifier,
    visit: impl FnMut(Entry),
) -> Result<u64, StoreError> {
    read_lines(
        reader,
        path,
        verifier,
        |v, text| v.push(text).map(Some),
        visit,
    )
}

/// [`scan_lines`], decoding (and visiting) only the lines `want` accepts from what can be read of
/// them without decoding ([`Peek`]); every other line is verified from its bytes ([`Verifier::push_if`]).
pub(crate) fn scan_lines_if(
    reader: impl Read,
    path: &Path,
    verifier: &mut Verifier,
    mut want: impl FnMut(&Peek<'_>) -> bool,
    visit: impl FnMut(Entry),
) -> Result<u64, StoreError> {
    read_lines(
        reader,
        path,
        verifier,
        |v, text| v.push_if(text, &mut want),
        visit,
    )
}

fn read_lines(
    reader: impl Read,
    path: &Path,
    verifier: &mut Verifier,
    mut step: impl FnMut(&mut Verifier, &str) -> Result<Option<Entry>, ChainError>,
    mut visit: impl FnMut(Entry),
) -> Result<u64, StoreError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut line = Vec::new();
    let mut complete = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(io_err(path))?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(complete);
        }
        line.pop();
        #[cfg(test)]
        crate::journal::store::LINES_READ.with(|c| c.set(c.get() + 1));
        let tampered = |source| StoreError::Tampered {
            path: path.to_path_buf(),
            source,
        };
        let text = std::str::from_utf8(&line).map_err(|_| {
            tampered(ChainError::Unparsable {
                line: verifier.count() as usize + 1,
                why: "not UTF-8".into(),
            })
        })?;
        if let Some(entry) = step(verifier, text).map_err(tampered)? {
            visit(entry);
        }
        complete += n as u64;
    }
}
