//! One writer per experiment directory. [`DirLock`] is an exclusive advisory lock
//! (`File::try_lock`, `flock(2)` on Linux) on `DIR/.itera.lock`, held for the life of every
//! [`Store`](crate::journal::store::Store) of the directory and of every writing CLI command: a
//! second process that tries to write gets [`StoreError::Busy`] at once, naming the holder's pid
//! and since when, instead of appending to the same journal and breaking its hash chain (G1).
//!
//! The kernel releases the lock when its holder exits, however it exits: a SIGKILLed holder never
//! wedges the directory. Its pid line stays in the file, so the next holder sees a lock file it
//! did not write and reports the take-over ([`DirLock::took_over`]). The lock file is opened
//! close-on-exec (Rust's default), so no child process (a `command` arm) inherits it. Within one
//! process the lock is shared: opening the same directory twice returns the same holder.

use crate::journal::store::StoreError;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// The lock file's name inside an experiment directory.
pub const LOCK_FILE: &str = ".itera.lock";

struct Held {
    file: File,
    took_over: Option<String>,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Clean release: empty the file first, so the next holder does not report a take-over.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Directories this process holds, so a second open in the same process shares the lock.
static HELD: Mutex<BTreeMap<PathBuf, Weak<Held>>> = Mutex::new(BTreeMap::new());

/// The exclusive lock on an experiment directory, released when the last clone is dropped.
#[derive(Clone)]
pub struct DirLock {
    held: Arc<Held>,
    dir: PathBuf,
}

impl std::fmt::Debug for DirLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DirLock({})", self.dir.display())
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl DirLock {
    /// Takes the lock on `dir` (created if missing), or fails at once with
    /// [`StoreError::Busy`] when another process holds it. Taking over from a holder that died
    /// is allowed and reported by [`DirLock::took_over`].
    pub fn acquire(dir: &Path) -> Result<DirLock, StoreError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let key = dir.canonicalize().map_err(io_err(dir))?;
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = held.get(&key).and_then(Weak::upgrade) {
            return Ok(DirLock {
                held: h,
                dir: dir.to_path_buf(),
            });
        }
        let path = key.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // G1: enforced here; `second_process_gets_busy` (itera-core/tests/lock.rs) and
                // `concurrent_runs_second_is_busy_first_completes` (itera-cli/tests/faults.rs)
                // fail without it.
                let (pid, since) = holder(&read_all(&mut file));
                return Err(StoreError::Busy {
                    dir: dir.to_path_buf(),
                    pid,
                    since,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
        // The lock is ours. A non-empty file is the line of a holder that died without
        // releasing it (a clean release empties it).
        let previous = read_all(&mut file);
        let took_over = (!previous.trim().is_empty()).then(|| {
            let (pid, since) = holder(&previous);
            format!(
                "took over a stale lock on {}: pid {pid} (no longer running) held it since {since}",
                dir.display()
            )
        });
        let line = format!(
            "pid {} since {}\n",
            std::process::id(),
            crate::time::now_rfc3339()
        );
        file.set_len(0).map_err(io_err(&path))?;
        file.seek(SeekFrom::Start(0)).map_err(io_err(&path))?;
        file.write_all(line.as_bytes()).map_err(io_err(&path))?;
        file.flush().map_err(io_err(&path))?;
        let h = Arc::new(Held { file, took_over });
        held.retain(|_, w| w.strong_count() > 0);
        held.insert(key, Arc::downgrade(&h));
        Ok(DirLock {
            held: h,
            dir: dir.to_path_buf(),
        })
    }

    /// When this lock was taken over from a holder that died without releasing it: what to tell
    /// the user (its pid and since when).
    pub fn took_over(&self) -> Option<&str> {
        self.held.took_over.as_deref()
    }
}

fn read_all(file: &mut File) -> String {
    let mut s = String::new();
    if file.seek(SeekFrom::Start(0)).is_ok() {
        let _ = Read::by_ref(file).take(4096).read_to_string(&mut s);
    }
    s
}

/// `(pid, since)` from a lock file's `pid N since T` line (`?` when unknown: the holder has not
/// written it yet).
fn holder(text: &str) -> (String, String) {
    let mut words = text.split_whitespace();
    let mut pid = "?".to_string();
    let mut since = "?".to_string();
    while let Some(w) = words.next() {
        match w {
            "pid" => pid = words.next().unwrap_or("?").to_string(),
            "since" => since = words.next().unwrap_or("?").to_string(),
            _ => {}
        }
    }
    (pid, since)
}
