//! The journal's writer: group commit (issue #17 item 2, "journal at the speed of the disk").
//! A call line ([`Event::Call`](crate::journal::event::Event::Call)) is put in an in-memory batch
//! and `append` returns; a flusher thread writes the whole batch with one `write` and makes it
//! durable with one `sync_data` once the batch is [`MAX_BATCH_AGE`] old or [`MAX_BATCH_BYTES`]
//! long, so a lone call reaches the disk within the bound even when nothing else is appended.
//! Every other event is a decision: it is written together with the pending batch (one `write`)
//! and synced before `append` returns, so a decision is never durable without every call before
//! it, and "journaled before it counts" holds for each (G15/G46: the `sealed-opened` event, the
//! verdict). Lines are batched in chain order (under the store's lock that assigns their `seq`)
//! and batches reach the file in the order they were taken, so the file is always a prefix of
//! the chain.
//!
//! Crash semantics. A SIGKILL (or a panic with `panic = "abort"`) loses at most the calls of the
//! last [`MAX_BATCH_AGE`] (or [`MAX_BATCH_BYTES`]) not yet written: they never counted, and a
//! resumed run makes them again. A power loss loses the same at most: what was written was also
//! synced. A decision that returned `Ok` is never lost to either. A panic that unwinds drops the
//! store, which writes and syncs the batch. A failed background write or sync is kept and
//! returned (as [`StoreError::Io`] naming the journal) by the next append, scan or read of the
//! journal, and by every one after it: the lost lines would leave a gap in the chain.

use crate::journal::store::StoreError;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
#[cfg(test)]
use std::sync::atomic::AtomicU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The oldest a batch of call lines gets before it is written and synced: what a SIGKILL or a
/// power loss can lose (calls made again on resume; never a decision).
pub(crate) const MAX_BATCH_AGE: Duration = Duration::from_millis(50);
/// A batch this long is written and synced at once, whatever its age (so a SIGKILL or a power
/// loss also loses at most about this many bytes of call lines, plus what came in during the
/// write).
pub(crate) const MAX_BATCH_BYTES: usize = 1 << 20;

/// The lines appended and not yet written.
struct Batch {
    bytes: Vec<u8>,
    /// When the first line of `bytes` came (`None` iff `bytes` is empty).
    since: Option<Instant>,
    /// The writer is being dropped: the flusher writes what is left and ends.
    closing: bool,
}

/// The file, and the first write or sync that failed.
struct Disk {
    file: File,
    failed: Option<io::Error>,
}

struct Shared {
    path: PathBuf,
    /// Lock order: `batch`, then `disk` (a batch is taken and its write begun under `batch`, so
    /// batches reach the file in the order they were taken); never `batch` while holding `disk`.
    batch: Mutex<Batch>,
    /// Wakes the flusher: a first line in an empty batch, a full batch, or closing.
    due: Condvar,
    disk: Mutex<Disk>,
    /// `disk.failed` is set: checked on every append without waiting for a write in progress.
    failed: AtomicBool,
    #[cfg(test)]
    writes: AtomicU64,
    #[cfg(test)]
    syncs: AtomicU64,
}

/// Group-commits one journal file (the directory store's; the in-memory store has none).
pub(crate) struct JournalWriter {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
    /// The flusher thread could not be started: lines are then written as they come.
    no_thread: bool,
}

impl JournalWriter {
    /// A writer appending to `file` (opened for append; a read-only store's is never written).
    /// The flusher thread starts with the first call line.
    pub(crate) fn new(file: File, path: PathBuf) -> JournalWriter {
        JournalWriter {
            shared: Arc::new(Shared {
                path,
                batch: Mutex::new(Batch {
                    bytes: Vec::new(),
                    since: None,
                    closing: false,
                }),
                due: Condvar::new(),
                disk: Mutex::new(Disk { file, failed: None }),
                failed: AtomicBool::new(false),
                #[cfg(test)]
                writes: AtomicU64::new(0),
                #[cfg(test)]
                syncs: AtomicU64::new(0),
            }),
            flusher: None,
            no_thread: false,
        }
    }

    /// Batches a call line (`line` ends with its newline); it is written and synced within
    /// [`MAX_BATCH_AGE`]. Fails with an earlier background write's error.
    pub(crate) fn push_call(&mut self, line: &[u8]) -> Result<(), StoreError> {
        self.shared.check()?;
        self.start_flusher();
        let mut batch = self.shared.lock_batch();
        let first = batch.bytes.is_empty();
        if first {
            batch.since = Some(Instant::now());
        }
        batch.bytes.extend_from_slice(line);
        if self.flusher.is_none() {
            // No flusher: written now, as before group commit (durable at the next decision).
            return self.shared.write_out(batch, b"", false);
        }
        let full = batch.bytes.len() >= MAX_BATCH_BYTES;
        drop(batch);
        if first || full {
            self.shared.due.notify_one();
        }
        Ok(())
    }

    /// Writes the pending batch and the decision `line` with one write and syncs them before it
    /// returns: once this is `Ok`, the decision counts and survives a power loss (G15, G46).
    /// Removing the sync fails `a_decision_is_synced_with_every_call_before_it`
    /// (journal/writer_tests.rs).
    pub(crate) fn commit_decision(&mut self, line: &[u8]) -> Result<(), StoreError> {
        self.shared.check()?;
        let batch = self.shared.lock_batch();
        self.shared.write_out(batch, line, true)
    }

    /// Writes the pending batch (and waits for a write in progress) so that a reader of the
    /// file in this process sees every line appended. Removing it from `Store::scan` fails
    /// `a_scan_sees_lines_still_in_the_batch` (journal/writer_tests.rs).
    pub(crate) fn write_pending(&self) -> Result<(), StoreError> {
        self.shared.check()?;
        let batch = self.shared.lock_batch();
        self.shared.write_out(batch, b"", true)
    }

    fn start_flusher(&mut self) {
        if self.flusher.is_some() || self.no_thread {
            return;
        }
        let shared = Arc::clone(&self.shared);
        match std::thread::Builder::new()
            .name("itera-journal".into())
            .spawn(move || flusher(&shared))
        {
            Ok(handle) => self.flusher = Some(handle),
            Err(_) => self.no_thread = true,
        }
    }

    /// (write syscalls, syncs) made so far.
    #[cfg(test)]
    pub(crate) fn io_counts(&self) -> (u64, u64) {
        (
            self.shared.writes.load(Ordering::Relaxed),
            self.shared.syncs.load(Ordering::Relaxed),
        )
    }
}

impl Drop for JournalWriter {
    /// Writes and syncs what is pending (also while a panic unwinds): the flusher is told to
    /// close and joined. An error here cannot be returned; the lines it loses are calls only
    /// (every decision was synced when it was appended), made again on resume.
    fn drop(&mut self) {
        self.shared.lock_batch().closing = true;
        self.shared.due.notify_all();
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
        // Without a flusher (or if it died) what is left is written here.
        let batch = self.shared.lock_batch();
        let _ = self.shared.write_out(batch, b"", true);
    }
}

/// The flusher thread: writes and syncs the batch when it is old or long enough, or closing.
fn flusher(shared: &Shared) {
    let mut batch = shared.lock_batch();
    loop {
        let Some(since) = batch.since else {
            if batch.closing {
                return;
            }
            batch = shared.due.wait(batch).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        let age = since.elapsed();
        if batch.closing || age >= MAX_BATCH_AGE || batch.bytes.len() >= MAX_BATCH_BYTES {
            // An error is kept in `disk.failed` and returned by the next append.
            let _ = shared.write_out(batch, b"", true);
            batch = shared.lock_batch();
        } else {
            batch = shared
                .due
                .wait_timeout(batch, MAX_BATCH_AGE - age)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Shared {
    // A panic while holding either lock leaves consistent state (a batch is whole lines; the
    // disk holds no partial state of its own), so a poisoned lock is used as it is.
    fn lock_batch(&self) -> MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kept error of an earlier write, if any.
    fn check(&self) -> Result<(), StoreError> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        let disk = self.lock_disk();
        match &disk.failed {
            Some(e) => Err(self.earlier(e)),
            None => Ok(()),
        }
    }

    /// Takes the batch (plus `extra`), releases the batch lock, writes it with one call and
    /// syncs it (when `sync`). Nothing to write: only waits for a write in progress.
    fn write_out(
        &self,
        mut batch: MutexGuard<'_, Batch>,
        extra: &[u8],
        sync: bool,
    ) -> Result<(), StoreError> {
        let mut disk = self.lock_disk();
        let mut bytes = std::mem::take(&mut batch.bytes);
        batch.since = None;
        drop(batch);
        if let Some(e) = &disk.failed {
            return Err(self.earlier(e));
        }
        bytes.extend_from_slice(extra);
        if bytes.is_empty() {
            return Ok(());
        }
        #[cfg(test)]
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut done = disk.file.write_all(&bytes);
        if done.is_ok() && sync {
            #[cfg(test)]
            self.syncs.fetch_add(1, Ordering::Relaxed);
            done = disk.file.sync_data();
        }
        match done {
            Ok(()) => Ok(()),
            Err(source) => {
                let err = self.earlier(&source);
                disk.failed = Some(source);
                self.failed.store(true, Ordering::Release);
                Err(err)
            }
        }
    }

    /// The kept error, as a [`StoreError::Io`] naming the journal and the way out.
    fn earlier(&self, e: &io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source: io::Error::new(
                e.kind(),
                format!(
                    "writing the journal failed ({e}); lines appended since the last one on disk \
                     are lost to this process and nothing more can be appended: free the disk or \
                     fix the file, then open the directory again to resume (lost calls are made \
                     again, lost decisions were never reported as made)"
                ),
            ),
        }
    }
}
