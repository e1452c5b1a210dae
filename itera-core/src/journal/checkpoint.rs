//! The verified-prefix checkpoint beside the journal (issue #17 item 2: "reopening verifies only
//! what was appended since"). When a writable store closes, it writes `journal.checkpoint.json`:
//! how many bytes and lines of the journal it had verified or written, the chain's head there,
//! the SHA-256 of those bytes, and what the opening pass keeps of them ([`Known`]: the
//! registration's hashes, the verdict's, the `sealed-opened` line) — with a seal, the SHA-256 of
//! all of that. The next writable open hashes the journal's first `offset` bytes in one stream;
//! when they are the bytes the checkpoint names, it verifies line by line only the lines after
//! them. A re-run of a concluded 140k-line directory no longer splits, peeks into and re-hashes
//! every line.
//!
//! What the checkpoint says is checked before it is used: the prefix against its digest, the
//! head against the chain (the prefix's last line must carry it, hash to it, and be the line the
//! count names), the rest against the seal. An edited byte anywhere in the prefix changes the
//! digest, and the open falls back to the full pass, which names the edited line exactly as
//! before (G7). So does a checkpoint that is unreadable, whose seal does not hold, that names
//! more bytes than the journal has (the journal was cut), or whose prefix holds the
//! `sealed-opened` marker's line without knowing it (G15, G46). Like the chain itself, the
//! checkpoint has no key: a tool that rewrites the journal and recomputes the checkpoint forges
//! both, as it can re-chain the journal; the checks behind the chain (the registration, the
//! commitments, the marker, the verdict's full index pass) are unchanged, and every read-only
//! open (`itera verify`, `itera status`) still verifies every line.
//!
//! A checkpoint is only a shortcut. It is written with a temp file and a rename, without a sync:
//! a torn or lost one fails its seal or its digest and costs one full pass. Writing it may fail
//! (a full disk); it is then left as it was, and an older checkpoint is still right about the
//! prefix it names.

use crate::hash;
use crate::journal::chain::line_is;
use crate::journal::event::{GENESIS, Verifier};
use crate::journal::opening::Known;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// The checkpoint's file name inside an experiment directory.
pub(crate) const CHECKPOINT_FILE: &str = "journal.checkpoint.json";

/// What the checkpoint file holds. Read strictly: a key it does not know is an edit.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    /// Bytes of complete journal lines it covers.
    offset: u64,
    /// Lines in them.
    lines: u64,
    /// The last one's hash (the chain's head at `offset`).
    head: String,
    /// SHA-256 of the journal's first `offset` bytes.
    prefix_sha256: String,
    /// What the opening pass keeps of those lines.
    known: Known,
    /// SHA-256 of the fields above ([`Checkpoint::seal_of`]).
    seal: String,
}

impl Checkpoint {
    fn seal_of(&self) -> String {
        let known = serde_json::to_string(&self.known).unwrap_or_default();
        hash::sha256_hex(
            format!(
                "{}\n{}\n{}\n{}\n{known}",
                self.offset, self.lines, self.head, self.prefix_sha256
            )
            .as_bytes(),
        )
    }
}

/// Where a writable open goes on from, when the checkpoint holds.
pub(crate) struct Resumed {
    /// The bytes already verified: the scan goes on from here.
    pub(crate) offset: u64,
    /// The chain at `offset` (head and line count).
    pub(crate) verifier: Verifier,
    /// What the opening pass keeps of the lines before `offset`.
    pub(crate) known: Known,
    /// SHA-256 over the journal's first `offset` bytes, to go on with.
    pub(crate) digest: Sha256,
}

/// The checkpoint in `root`, when there is one whose seal holds and whose prefix is the first
/// bytes of `journal` (hashed here, in one stream). `marker_seq` is the `sealed-opened` marker's
/// line, if the test set was opened: a prefix holding it must know it as the `sealed-opened`
/// line. `None` means the full pass; `journal` is then at no particular position.
pub(crate) fn resume(root: &Path, journal: &mut File, marker_seq: Option<u64>) -> Option<Resumed> {
    let bytes = fs::read(root.join(CHECKPOINT_FILE)).ok()?;
    let cp: Checkpoint = serde_json::from_slice(&bytes).ok()?;
    if cp.seal != cp.seal_of() || journal.metadata().ok()?.len() < cp.offset {
        return None;
    }
    if let Some(seq) = marker_seq
        && seq < cp.lines
        && cp.known.sealed.as_ref().map(|s| s.0) != Some(seq)
    {
        return None;
    }
    journal.seek(SeekFrom::Start(0)).ok()?;
    let mut digest = Sha256::new();
    let mut prefix = (&*journal).take(cp.offset);
    let mut buf = vec![0u8; 1 << 18];
    let mut hashed = 0u64;
    loop {
        match prefix.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                digest.update(&buf[..n]);
                hashed += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    if hashed != cp.offset || hash::hex(&digest.clone().finalize()) != cp.prefix_sha256 {
        return None;
    }
    // The head is the chain's: the prefix's last line is line `lines - 1` and hashes to it.
    let chained = match cp.lines.checked_sub(1) {
        None => cp.offset == 0 && cp.head == GENESIS,
        Some(seq) => last_line(journal, cp.offset).is_some_and(|l| line_is(&l, seq, &cp.head)),
    };
    if !chained {
        return None;
    }
    Some(Resumed {
        offset: cp.offset,
        verifier: Verifier::at(cp.head, cp.lines),
        known: cp.known,
        digest,
    })
}

/// The line of `journal` that ends at byte `end` (its newline the byte before `end`), without it.
fn last_line(journal: &File, end: u64) -> Option<String> {
    let mut window = 4096u64;
    loop {
        let start = end.saturating_sub(window);
        let mut buf = vec![0u8; usize::try_from(end - start).ok()?];
        let mut file = journal;
        file.seek(SeekFrom::Start(start)).ok()?;
        file.read_exact(&mut buf).ok()?;
        let body = buf.strip_suffix(b"\n")?;
        match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => return String::from_utf8(body[i + 1..].to_vec()).ok(),
            None if start == 0 => return String::from_utf8(body.to_vec()).ok(),
            None => window = window.saturating_mul(4),
        }
    }
}

/// Writes the checkpoint for a journal whose first `offset` bytes (`lines` lines, ending at
/// `head`) hash to `prefix_sha256`. Best effort: see the module's note.
pub(crate) fn write(
    root: &Path,
    offset: u64,
    lines: u64,
    head: &str,
    prefix_sha256: String,
    known: &Known,
) {
    let mut cp = Checkpoint {
        offset,
        lines,
        head: head.to_string(),
        prefix_sha256,
        known: known.clone(),
        seal: String::new(),
    };
    cp.seal = cp.seal_of();
    let Ok(bytes) = serde_json::to_vec(&cp) else {
        return;
    };
    let tmp = root.join(format!("{CHECKPOINT_FILE}.tmp"));
    if fs::write(&tmp, bytes).is_ok() {
        let _ = fs::rename(&tmp, root.join(CHECKPOINT_FILE));
    }
}

/// A reader that hashes what it reads (the opening pass's bytes after the checkpoint), so the
/// closing store knows the digest of the whole journal without reading it again.
pub(crate) struct Hashing<R> {
    inner: R,
    digest: Option<Sha256>,
    read: u64,
}

impl<R: Read> Hashing<R> {
    /// Hashes into `digest`, when there is one (a read-only open has none: it writes nothing).
    pub(crate) fn new(inner: R, digest: Option<Sha256>) -> Hashing<R> {
        Hashing {
            inner,
            digest,
            read: 0,
        }
    }

    /// The digest, when the bytes read were exactly the `complete` lines the scan kept (a torn
    /// tail it cut was hashed too: no digest then, and no checkpoint at close).
    pub(crate) fn finish(self, complete: u64) -> Option<Sha256> {
        self.digest.filter(|_| self.read == complete)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(d) = &mut self.digest {
            d.update(&buf[..n]);
        }
        self.read += n as u64;
        Ok(n)
    }
}
