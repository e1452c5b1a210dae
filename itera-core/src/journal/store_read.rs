//! Reading a store's journal back: every entry, the entries but some kinds, or a scan that
//! visits them in order — each re-verifying the whole chain (a directory's journal may have been
//! touched since it was opened) and decoding only the lines wanted ([`Peek`], issue #17).

use super::*;
use crate::journal::chain::Peek;

/// A journal's text to read, and the path its errors name.
type JournalText = (Box<dyn std::io::Read>, PathBuf);

/// Where a reader of the journal stopped: the bytes and lines it verified, and the chain's head
/// there. [`Store::scan_on`] continues from it, verifying only the lines appended since, each
/// linked to that head; the lines before it are not read again. For one process reading what it
/// has just appended (the verdict reads its test calls after the test pass, issue #17): the
/// store holds the directory's lock (G1), so no other itera process can have appended, and a
/// journal cut or rewritten below the cursor fails the link or the line count. An edit that
/// keeps every byte offset is seen by the next open and by `itera verify`, which read it all.
#[derive(Clone)]
pub(crate) struct JournalCursor {
    offset: u64,
    verifier: Verifier,
}

impl JournalCursor {
    /// Before the first line.
    pub(crate) fn start() -> JournalCursor {
        JournalCursor {
            offset: 0,
            verifier: Verifier::new(),
        }
    }

    /// Lines verified so far.
    pub(crate) fn lines(&self) -> u64 {
        self.verifier.count()
    }
}

impl Store {
    /// Every entry, re-read and re-verified (a directory's journal may have been touched since it
    /// was opened). A long journal is better walked with [`Store::scan`], which does not hold it
    /// in memory.
    pub fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        // Sized to the lines known, not grown by doubling: an entry is ~700 bytes, and a
        // 140k-line journal's vector grew to 180 MB of capacity for 96 MB of entries (#17).
        let mut out = Vec::with_capacity(self.verified_lines() as usize);
        self.scan(|e| out.push(e))?;
        Ok(out)
    }

    /// Every entry but the call records, re-read and re-verified like [`Store::entries`]: the
    /// call lines are verified from their bytes (hash, link, sequence) without being decoded.
    /// For the phases that rebuild their state from the decisions (the iteration ledger, the
    /// gate, the seal, the verdict's checks): a 140k-line journal has a few hundred of them
    /// (issue #17: each phase decoded every call again; `seal_decodes_no_call_line`).
    pub(crate) fn entries_without_calls(&self) -> Result<Vec<Entry>, StoreError> {
        self.entries_except(&["call"])
    }

    /// Every entry but those whose event tag is in `kinds`, verified like
    /// [`Store::entries_without_calls`]. The iteration ledger reads neither the calls nor the
    /// split, whose line lists every train and dev row id (1.3 MB at 100k rows).
    pub(crate) fn entries_except(&self, kinds: &[&str]) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        self.scan_if(|p| !kinds.contains(&p.kind), |e| out.push(e))?;
        Ok(out)
    }

    /// [`Store::scan`], visiting only the entries `want` accepts from what can be read of them
    /// without decoding ([`Peek`]: call or not, part, sequence number); the others are verified
    /// without being decoded.
    pub(crate) fn scan_if(
        &self,
        want: impl FnMut(&Peek<'_>) -> bool,
        visit: impl FnMut(Entry),
    ) -> Result<(), StoreError> {
        self.read_journal(Some(want), visit)
    }

    /// Re-reads and re-verifies the journal like [`Store::entries`], handing each entry to
    /// `visit` in order instead of collecting them: memory stays flat in the journal's length.
    /// The whole chain is verified even when `visit` has seen what it needs. A line still being
    /// written (no newline yet) is not visited.
    ///
    /// ```
    /// use itera_core::{Event, Store};
    /// let store = Store::in_memory();
    /// let mut calls = 0;
    /// store.scan(|e| calls += usize::from(matches!(e.event, Event::Call(_)))).unwrap();
    /// assert_eq!(calls, 0);
    /// ```
    pub fn scan(&self, visit: impl FnMut(Entry)) -> Result<(), StoreError> {
        self.read_journal(None::<fn(&Peek<'_>) -> bool>, visit)
    }

    /// [`Store::scan`] from `cursor` on: every line appended since it stopped, verified and
    /// decoded in order, then the cursor moved past them. Fails when the journal ends before the
    /// lines this store has written (it was cut while it was open).
    pub(crate) fn scan_on(
        &self,
        cursor: &mut JournalCursor,
        mut visit: impl FnMut(Entry),
    ) -> Result<(), StoreError> {
        #[cfg(test)]
        SCANS.with(|c| c.set(c.get() + 1));
        let cached = match &self.lock().backend {
            Backend::Memory {
                cached: Some(entries),
                ..
            } => Some(entries[(cursor.lines() as usize).min(entries.len())..].to_vec()),
            _ => None,
        };
        if let Some(entries) = cached {
            for e in entries {
                #[cfg(test)]
                LINES_READ.with(|c| c.set(c.get() + 1));
                cursor.verifier.skip_to(&e);
                visit(e);
            }
        } else if let Some((reader, path)) = self.journal_text_from(cursor.offset)? {
            cursor.offset += scan_lines(reader, &path, &mut cursor.verifier, visit)?;
        }
        let written = self.verified_lines();
        if cursor.lines() < written {
            return Err(StoreError::CutWhileOpen {
                path: self
                    .location()
                    .map_or_else(|| PathBuf::from(JOURNAL_FILE), |r| r.join(JOURNAL_FILE)),
                found: cursor.lines(),
                written,
            });
        }
        Ok(())
    }

    fn read_journal(
        &self,
        want: Option<impl FnMut(&Peek<'_>) -> bool>,
        mut visit: impl FnMut(Entry),
    ) -> Result<(), StoreError> {
        // The in-memory store's decoded entries, taken under the lock and visited outside it.
        let cached = match &self.lock().backend {
            Backend::Memory {
                cached: Some(entries),
                ..
            } => Some(entries.clone()),
            _ => None,
        };
        if let Some(entries) = cached {
            #[cfg(test)]
            SCANS.with(|c| c.set(c.get() + 1));
            let mut want = want;
            for e in entries {
                #[cfg(test)]
                LINES_READ.with(|c| c.set(c.get() + 1));
                let peek = Peek::of(&e);
                if want.as_mut().is_none_or(|w| w(&peek)) {
                    visit(e);
                }
            }
            return Ok(());
        }
        let Some((reader, path)) = self.journal_text()? else {
            return Ok(());
        };
        let mut verifier = Verifier::new();
        match want {
            Some(want) => scan_lines_if(reader, &path, &mut verifier, want, visit)?,
            None => scan_lines(reader, &path, &mut verifier, visit)?,
        };
        Ok(())
    }

    /// The journal's text to read (the file, or the in-memory store's bytes) and the path its
    /// errors name; `None` when a directory has no journal yet. Counts one scan.
    fn journal_text(&self) -> Result<Option<JournalText>, StoreError> {
        #[cfg(test)]
        SCANS.with(|c| c.set(c.get() + 1));
        self.journal_text_from(0)
    }

    /// The journal's text from byte `offset` on (see [`Store::journal_text`]).
    fn journal_text_from(&self, offset: u64) -> Result<Option<JournalText>, StoreError> {
        use std::io::{Seek, SeekFrom};
        // A journal whose writer failed is not read as if it were whole (writer.rs).
        self.check_written()?;
        match &self.lock().backend {
            Backend::Dir { root, .. } => {
                let path = root.join(JOURNAL_FILE);
                match File::open(&path) {
                    Ok(mut file) => {
                        file.seek(SeekFrom::Start(offset)).map_err(io_err(&path))?;
                        Ok(Some((Box::new(file), path)))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(StoreError::Io { path, source: e }),
                }
            }
            Backend::Memory { files, .. } => {
                let bytes = files.get(JOURNAL_FILE).map_or(&[][..], Vec::as_slice);
                let from = (offset as usize).min(bytes.len());
                Ok(Some((
                    Box::new(std::io::Cursor::new(bytes[from..].to_vec())),
                    PathBuf::from(JOURNAL_FILE),
                )))
            }
        }
    }
}
