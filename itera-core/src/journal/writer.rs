//! The journal's writer: every line is written to the file as it is appended (so a SIGKILL loses
//! nothing that `append` returned `Ok` for: the line is in the kernel), and made durable against
//! a power loss by group commit (issue #17 item 2, "journal at the speed of the disk"): call
//! lines ([`Event::Call`](crate::journal::event::Event::Call)) share one `sync_data` per batch,
//! made by a flusher thread once the oldest unsynced line is [`MAX_BATCH_AGE`] old, so a lone
//! call is durable within the bound even when nothing else is appended. Every other event is a
//! decision: it is written and synced — with every line before it — before `append` returns, so
//! "journaled before it counts" holds against a power loss for each (G15/G46: the
//! `sealed-opened` event, the verdict).
//!
//! Why the writes are not batched too: a batched call line is lost to a SIGKILL although the
//! call was made and paid for, and the existing kill test (`crash_safety_under_sigkill`, itera-core
//! tests/crash.rs) allows a kill to lose only the calls in flight. Measured on the 100k-row run,
//! the 140k one-line writes cost about 0.06 s of the run; the 140k `fsync`s that per-line
//! durability would take are what a batch saves (91 syncs instead).
//!
//! Crash semantics. A SIGKILL loses no line `append` returned `Ok` for (as before). A power loss
//! loses at most the call lines of the last [`MAX_BATCH_AGE`] (they never counted for a
//! decision; a resumed run makes them again), never a decision and never a call before one. A
//! failed write or sync is kept and returned (as [`StoreError::Io`] naming the journal) by every
//! later append, scan or read of the journal: a lost line would leave a gap in the chain.

use crate::journal::store::StoreError;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
#[cfg(test)]
use std::sync::atomic::AtomicU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The oldest an unsynced call line gets before the flusher syncs it: what a power loss can lose
/// (calls made again on resume; never a decision).
pub(crate) const MAX_BATCH_AGE: Duration = Duration::from_millis(50);

/// What the flusher has to do.
struct Pending {
    /// When the oldest line written and not yet synced was written (`None`: all synced).
    unsynced_since: Option<Instant>,
    /// The writer is being dropped: the flusher syncs what is left and ends.
    closing: bool,
}

/// The file, and the first write or sync that failed.
struct Disk {
    file: File,
    failed: Option<io::Error>,
    /// SHA-256 of every byte in the file, and their count, for the checkpoint the closing store
    /// writes (checkpoint.rs). `None` when the opening pass could not know it (a torn tail) or
    /// a write failed.
    digest: Option<(Sha256, u64)>,
}

struct Shared {
    path: PathBuf,
    /// Lock order: `pending`, then `disk`; never `pending` while holding `disk`.
    pending: Mutex<Pending>,
    /// Wakes the flusher: a first unsynced line, or closing.
    due: Condvar,
    disk: Mutex<Disk>,
    /// `disk.failed` is set: checked on every append without waiting for a sync in progress.
    failed: AtomicBool,
    #[cfg(test)]
    writes: AtomicU64,
    #[cfg(test)]
    syncs: AtomicU64,
}

/// Writes one journal file and group-commits its syncs (the directory store's; the in-memory
/// store has none).
pub(crate) struct JournalWriter {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
    /// The flusher thread could not be started: call lines are then synced as they come.
    no_thread: bool,
}

impl JournalWriter {
    /// A writer appending to `file` (opened for append; a read-only store's is never written),
    /// whose bytes so far hash to `digest` (with their count), when that is known.
    /// The flusher thread starts with the first call line.
    pub(crate) fn new(file: File, path: PathBuf, digest: Option<(Sha256, u64)>) -> JournalWriter {
        JournalWriter {
            shared: Arc::new(Shared {
                path,
                pending: Mutex::new(Pending {
                    unsynced_since: None,
                    closing: false,
                }),
                due: Condvar::new(),
                disk: Mutex::new(Disk {
                    file,
                    failed: None,
                    digest,
                }),
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

    /// Writes a call line (`line` ends with its newline); it is synced within
    /// [`MAX_BATCH_AGE`]. Fails with this write's error or an earlier one's.
    pub(crate) fn push_call(&mut self, line: &[u8]) -> Result<(), StoreError> {
        self.start_flusher();
        let sync_now = self.flusher.is_none();
        self.shared.write(line, sync_now)?;
        if !sync_now {
            let mut pending = self.shared.lock_pending();
            if pending.unsynced_since.is_none() {
                pending.unsynced_since = Some(Instant::now());
                self.shared.due.notify_one();
            }
        }
        Ok(())
    }

    /// Writes the decision `line` and syncs it with every line before it before returning: once
    /// this is `Ok`, the decision counts and survives a power loss (G15, G46). Removing the sync
    /// fails `a_decision_is_synced_with_every_call_before_it` (journal/writer_tests.rs).
    pub(crate) fn commit_decision(&mut self, line: &[u8]) -> Result<(), StoreError> {
        // Taken first: a sync after this write covers every line written before it.
        self.shared.lock_pending().unsynced_since = None;
        self.shared.write(line, true)
    }

    /// Every line appended is already in the file; this only returns an earlier failure, so a
    /// reader in this process never reads a journal with a lost line as if it were whole.
    pub(crate) fn check_written(&self) -> Result<(), StoreError> {
        self.shared.check()
    }

    /// The bytes in the file and their SHA-256 (lower-case hex), when known.
    pub(crate) fn written(&self) -> Option<(u64, String)> {
        let disk = self.shared.lock_disk();
        let (digest, len) = disk.digest.as_ref()?;
        Some((*len, crate::hash::hex(&digest.clone().finalize())))
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
    /// Syncs what is unsynced (also while a panic unwinds): the flusher is told to close and
    /// joined. An error here cannot be returned; the lines it leaves unsynced are calls only
    /// (every decision was synced when it was appended), and they are in the file already.
    fn drop(&mut self) {
        self.shared.lock_pending().closing = true;
        self.shared.due.notify_all();
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
        let unsynced = self.shared.lock_pending().unsynced_since.take().is_some();
        if unsynced {
            let _ = self.shared.write(b"", true);
        }
    }
}

/// The flusher thread: syncs once the oldest unsynced line is old enough, or when closing.
fn flusher(shared: &Shared) {
    let mut pending = shared.lock_pending();
    loop {
        let Some(since) = pending.unsynced_since else {
            if pending.closing {
                return;
            }
            pending = shared.due.wait(pending).unwrap_or_else(|p| p.into_inner());
            continue;
        };
        let age = since.elapsed();
        if pending.closing || age >= MAX_BATCH_AGE {
            // Lines written after this point set `unsynced_since` again: a later sync.
            pending.unsynced_since = None;
            drop(pending);
            // An error is kept in `disk.failed` and returned by the next append.
            let _ = shared.write(b"", true);
            pending = shared.lock_pending();
        } else {
            pending = shared
                .due
                .wait_timeout(pending, MAX_BATCH_AGE - age)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Shared {
    // A panic while holding either lock leaves consistent state (lines are written with one
    // call), so a poisoned lock is used as it is.
    fn lock_pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kept error of an earlier write or sync, if any.
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

    /// Writes `bytes` with one call (none when empty) and syncs the file (when `sync`).
    fn write(&self, bytes: &[u8], sync: bool) -> Result<(), StoreError> {
        let mut disk = self.lock_disk();
        if let Some(e) = &disk.failed {
            return Err(self.earlier(e));
        }
        let mut done = Ok(());
        if !bytes.is_empty() {
            #[cfg(test)]
            self.writes.fetch_add(1, Ordering::Relaxed);
            done = disk.file.write_all(bytes);
            match (&done, &mut disk.digest) {
                (Ok(()), Some((digest, len))) => {
                    digest.update(bytes);
                    *len += bytes.len() as u64;
                }
                _ => disk.digest = None,
            }
        }
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
                    "writing the journal failed ({e}); nothing more can be appended: free the \
                     disk or fix the file, then open the directory again to resume (a call whose \
                     line was not written is made again; a decision that failed was never \
                     reported as made)"
                ),
            ),
        }
    }
}
