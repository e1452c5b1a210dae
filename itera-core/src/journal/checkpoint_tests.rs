//! Tests of the verified-prefix checkpoint beside the journal (issue #17 item 2): a writable open
//! verifies line by line only what was appended after the checkpoint, the prefix is checked as
//! one digest, and any mismatch — an edited byte, an edited checkpoint, a journal cut or
//! regrown — falls back to the full pass, which refuses an edited journal exactly as before (G7).

use super::writer_tests::{call, decision};
use crate::journal::checkpoint::CHECKPOINT_FILE;
use crate::journal::store::{JOURNAL_FILE, LINES_READ, Store};
use std::path::Path;

fn lines_read() -> u64 {
    LINES_READ.with(|c| c.get())
}

/// Opens `dir` to write, and says how many journal lines the opening pass read.
fn open_reading(dir: &Path) -> (Store, u64) {
    let before = lines_read();
    let store = Store::dir(dir).unwrap();
    (store, lines_read() - before)
}

/// Appends lines `from..from + n` to `dir`'s journal (one in five a decision) and closes it.
fn append(dir: &Path, from: usize, n: usize) {
    let store = Store::dir(dir).unwrap();
    for i in from..from + n {
        let event = if i % 5 == 0 { decision() } else { call(i) };
        store.append(event).unwrap();
    }
}

/// A closed directory whose journal has `n` lines.
fn journal_of(n: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    append(tmp.path(), 0, n);
    tmp
}

/// Keeps the first `n` lines of `dir`'s journal.
fn cut_to(dir: &Path, n: usize) {
    let path = dir.join(JOURNAL_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: String = text.split_inclusive('\n').take(n).collect();
    std::fs::write(path, kept).unwrap();
}

#[test]
fn reopening_verifies_only_the_lines_appended_since_its_checkpoint() {
    let tmp = journal_of(40);
    let dir = tmp.path();
    assert!(
        dir.join(CHECKPOINT_FILE).exists(),
        "closing wrote no checkpoint"
    );
    let (store, read) = open_reading(dir);
    assert_eq!(
        read, 0,
        "the open re-verified the checkpointed prefix line by line"
    );
    assert_eq!(store.verified_lines(), 40);
    drop(store);

    // A run killed before it closed leaves the older checkpoint: the lines it appended after it
    // are verified one by one, and the chain goes on from them.
    let older = std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap();
    append(dir, 40, 7);
    std::fs::write(dir.join(CHECKPOINT_FILE), older).unwrap();
    let (store, read) = open_reading(dir);
    assert_eq!(read, 7, "lines read after the older checkpoint");
    assert_eq!(store.verified_lines(), 47);
    store.append(decision()).unwrap();
    drop(store);

    // `itera verify`'s read-only open still reads and verifies every line.
    let before = lines_read();
    let full = Store::read_only(dir).unwrap();
    assert_eq!(
        lines_read() - before,
        48,
        "the read-only open skipped lines"
    );
    assert_eq!(full.verified_lines(), 48);
}

#[test]
fn an_edited_byte_before_the_checkpoint_is_refused_on_open() {
    let tmp = journal_of(40);
    let dir = tmp.path();
    assert!(dir.join(CHECKPOINT_FILE).exists());
    // Row r12 of line 13 becomes r13: same length, every offset kept, checkpoint untouched.
    let path = dir.join(JOURNAL_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.matches(r#""r12""#).count(), 1);
    std::fs::write(&path, text.replacen(r#""r12""#, r#""r13""#, 1)).unwrap();
    let err = Store::dir(dir).unwrap_err().to_string();
    assert!(err.contains("line 13"), "{err}");
}

#[test]
fn a_checkpoint_that_does_not_match_is_not_trusted() {
    let check = |dir: &Path, lines: u64, what: &str| {
        let (store, read) = open_reading(dir);
        assert_eq!(
            read, lines,
            "{what}: the open did not read the journal whole"
        );
        assert_eq!(store.verified_lines(), lines, "{what}");
    };
    // Unreadable.
    let tmp = journal_of(40);
    std::fs::write(tmp.path().join(CHECKPOINT_FILE), "{").unwrap();
    check(tmp.path(), 40, "an unreadable checkpoint");

    // A field edited without its seal.
    let tmp = journal_of(40);
    let cp = tmp.path().join(CHECKPOINT_FILE);
    let text = std::fs::read_to_string(&cp).unwrap();
    assert!(text.contains(r#""lines":40"#), "{text}");
    std::fs::write(&cp, text.replace(r#""lines":40"#, r#""lines":39"#)).unwrap();
    check(tmp.path(), 40, "an edited checkpoint");

    // The journal cut below it.
    let tmp = journal_of(40);
    cut_to(tmp.path(), 25);
    check(tmp.path(), 25, "a journal cut below its checkpoint");

    // The journal cut, then grown past the checkpoint's offset with other lines.
    let tmp = journal_of(40);
    let cp = tmp.path().join(CHECKPOINT_FILE);
    let older = std::fs::read(&cp).unwrap();
    cut_to(tmp.path(), 25);
    append(tmp.path(), 100, 25);
    std::fs::write(&cp, older).unwrap();
    check(tmp.path(), 50, "a journal regrown past its checkpoint");
}

/// The `sealed-opened` marker names a line inside the checkpoint's prefix that the checkpoint
/// does not know as the test set's opening: the open cannot check the marker from the
/// checkpoint, so it reads the journal whole and checks it as before (G15, G46).
#[test]
fn a_marker_the_checkpoint_cannot_account_for_sends_the_open_to_the_full_pass() {
    use crate::journal::marker::{SEALED_OPENED_FILE, SealedMarker};
    let tmp = journal_of(40);
    let dir = tmp.path();
    let line = std::fs::read_to_string(dir.join(JOURNAL_FILE))
        .unwrap()
        .lines()
        .nth(10)
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .unwrap();
    let marker = |head: &str| SealedMarker {
        seq: 10,
        head: head.to_string(),
        at: "2026-12-02T00:00:00Z".into(),
        test_commitment: "c".into(),
    };
    let write = |m: SealedMarker| {
        std::fs::write(
            dir.join(SEALED_OPENED_FILE),
            serde_json::to_vec(&m).unwrap(),
        )
        .unwrap()
    };
    write(marker(line["hash"].as_str().unwrap()));
    let (store, read) = open_reading(dir);
    assert_eq!(read, 40, "the marker was not checked against the journal");
    drop(store);
    write(marker("0".repeat(64).as_str()));
    let err = Store::dir(dir).unwrap_err().to_string();
    assert!(err.contains("line 11"), "{err}");
}

/// A checkpoint is bound to the chain, not only to its own seal: its head must be the hash the
/// last line of its prefix carries and hashes to, at the line count it names. A checkpoint
/// sealed and digested right but naming another head, or another count, is not trusted.
#[test]
fn a_checkpoint_whose_head_is_not_the_chains_is_not_trusted() {
    use crate::journal::checkpoint;
    use crate::journal::opening::Known;
    let tmp = journal_of(40);
    let dir = tmp.path();
    let bytes = std::fs::read(dir.join(JOURNAL_FILE)).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let hash_of = |i: usize| {
        let line: serde_json::Value = serde_json::from_str(text.lines().nth(i).unwrap()).unwrap();
        line["hash"].as_str().unwrap().to_string()
    };
    let digest = crate::hash::sha256_hex(&bytes);
    let len = bytes.len() as u64;
    for (lines, head, what) in [
        (40, "0".repeat(64), "another head"),
        (40, hash_of(38), "the line before's head"),
        (39, hash_of(39), "one line fewer"),
    ] {
        checkpoint::write(dir, len, lines, &head, digest.clone(), &Known::default());
        let (store, read) = open_reading(dir);
        assert_eq!(read, 40, "{what}: the checkpoint was trusted");
        assert_eq!(store.verified_lines(), 40, "{what}");
        drop(store);
    }
    // The right head is trusted (the forged ones above were refused for their head alone).
    checkpoint::write(dir, len, 40, &hash_of(39), digest, &Known::default());
    let (_store, read) = open_reading(dir);
    assert_eq!(read, 0);
}

/// No edit of a single byte of the checkpoint is trusted, and none makes the open fail or panic:
/// each one reads the journal whole and opens it as the full pass does.
#[test]
fn every_single_byte_edit_of_the_checkpoint_sends_the_open_to_the_full_pass() {
    let tmp = journal_of(12);
    let dir = tmp.path();
    let cp = dir.join(CHECKPOINT_FILE);
    let good = std::fs::read(&cp).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        std::fs::write(&cp, &bad).unwrap();
        let (store, read) = open_reading(dir);
        assert_eq!(read, 12, "byte {i} edited: the checkpoint was trusted");
        assert_eq!(store.verified_lines(), 12);
        // Closing after a full pass writes a good checkpoint again: put the edited one back.
        drop(store);
    }
}

/// A torn last line after the checkpoint (a crash inside a write) is cut as before; the open
/// that cut it writes no checkpoint of bytes it hashed and then cut, and the older one still
/// holds for its prefix.
#[test]
fn a_torn_tail_after_the_checkpoint_is_cut_and_the_checkpoint_still_holds() {
    use std::io::Write;
    let tmp = journal_of(40);
    let dir = tmp.path();
    let older = std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap();
    append(dir, 40, 5);
    std::fs::write(dir.join(CHECKPOINT_FILE), &older).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(JOURNAL_FILE))
        .unwrap();
    f.write_all(br#"{"at":"2026-12-02T00:00:00Z","event":{"ki"#)
        .unwrap();
    drop(f);
    let (store, read) = open_reading(dir);
    assert_eq!(read, 5);
    assert_eq!(store.verified_lines(), 45);
    drop(store);
    assert_eq!(std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap(), older);
    let text = std::fs::read_to_string(dir.join(JOURNAL_FILE)).unwrap();
    assert!(
        text.ends_with('\n') && text.lines().count() == 45,
        "the torn line was not cut"
    );
    let (store, read) = open_reading(dir);
    assert_eq!((read, store.verified_lines()), (5, 45));
}
