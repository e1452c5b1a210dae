//! Tests of the journal's group commit (issue #17 item 2, "journal at the speed of the disk"):
//! call lines reach the disk in batches with bounded latency, a decision is synced with every
//! call before it, and whatever reads the journal in this process sees the lines still batched.

use crate::data::row::RowId;
use crate::data::split::Part;
use crate::journal::event::{CallOutcome, CallRecord, Event};
use crate::journal::record::Usage;
use crate::journal::store::{JOURNAL_FILE, Store};
use crate::journal::writer::{JournalWriter, MAX_BATCH_AGE};
use std::path::Path;
use std::time::Duration;

fn call(i: usize) -> Event {
    Event::Call(CallRecord {
        arm: "a".into(),
        version: 0,
        spec_hash: "h".into(),
        row: RowId::from(format!("r{i}").as_str()),
        part: Part::Dev,
        trial: 0,
        attempts: 1,
        errors: Vec::new(),
        latency_ms: 1.0,
        queue_ms: None,
        server_ms: None,
        outcome: CallOutcome::Scored {
            output: serde_json::json!("yes"),
            raw: None,
            score: 1.0,
            failure_modes: Vec::new(),
            deferred_findings: Vec::new(),
            judge: "exact".into(),
            rubric_hash: None,
            usage: Usage::default(),
            cost_usd: None,
            judge_call: None,
            trace: Vec::new(),
        },
    })
}

/// A decision line (anything but a call).
fn decision() -> Event {
    Event::PilotFailed {
        arm: "a".into(),
        field: "output".into(),
        why: "test".into(),
    }
}

/// Complete lines of the journal file, read from outside the store.
fn lines_on_disk(dir: &Path) -> usize {
    std::fs::read(dir.join(JOURNAL_FILE))
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn io_counts(store: &Store) -> (u64, u64) {
    store.journal_io_counts().unwrap_or_default()
}

/// 140k calls were 140k write syscalls: the calls are now written a batch at a time.
#[test]
fn call_lines_reach_the_disk_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::dir(dir.path()).unwrap();
    let started = std::time::Instant::now();
    for i in 0..1_000 {
        store.append(call(i)).unwrap();
    }
    // One write per batch age at most while appending (a slow machine takes longer), plus the
    // scan's: a handful, not one per line.
    let ages = (started.elapsed().as_millis() / MAX_BATCH_AGE.as_millis()) as u64;
    store.scan(|_| {}).unwrap();
    let (writes, _) = io_counts(&store);
    assert!(
        writes <= 5.max(ages + 2),
        "{writes} write syscalls for 1,000 call lines appended in {:?}",
        started.elapsed()
    );
    assert_eq!(lines_on_disk(dir.path()), 1_000);
}

/// A decision is journaled before it counts (G15, G46): it is synced, and with it every call line
/// journaled before it, before `append` returns.
#[test]
fn a_decision_is_synced_with_every_call_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::dir(dir.path()).unwrap();
    for i in 0..10 {
        store.append(call(i)).unwrap();
    }
    let (writes_before, syncs_before) = io_counts(&store);
    store.append(decision()).unwrap();
    let (writes, syncs) = io_counts(&store);
    assert!(syncs > syncs_before, "no sync for the decision ({syncs})");
    assert_eq!(lines_on_disk(dir.path()), 11, "read from outside the store");
    assert!(
        writes - writes_before <= 1,
        "the batch and the decision are one write, not {}",
        writes - writes_before
    );
}

/// Latency is bounded with no further activity: the flusher writes a lone call line.
#[test]
fn buffered_calls_reach_the_file_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::dir(dir.path()).unwrap();
    store.append(call(0)).unwrap();
    std::thread::sleep(MAX_BATCH_AGE + Duration::from_millis(500));
    assert_eq!(lines_on_disk(dir.path()), 1, "read from outside the store");
    let (_, syncs) = io_counts(&store);
    assert!(syncs >= 1, "the batch was written but not synced");
}

/// A scan (and `read_file` of the journal) in this process sees every line appended, batched or not.
#[test]
fn a_scan_sees_lines_still_in_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::dir(dir.path()).unwrap();
    for i in 0..3 {
        store.append(call(i)).unwrap();
    }
    assert_eq!(store.entries().unwrap().len(), 3);
    store.append(call(3)).unwrap();
    let bytes = store.read_file(JOURNAL_FILE).unwrap().unwrap_or_default();
    assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 4);
}

/// Unwinding drops the store: call lines returned `Ok` before a panic are written and synced.
#[test]
fn buffered_calls_survive_a_panic_that_drops_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::dir(dir.path()).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        for i in 0..5 {
            store.append(call(i)).unwrap();
        }
        panic!("a runner bug");
    }));
    assert!(panicked.is_err());
    assert_eq!(lines_on_disk(dir.path()), 5);
}

/// A background write that fails (here: a full disk, /dev/full) is not lost: the next append
/// returns it as `StoreError::Io` naming the journal, and so does every later one (the lines of
/// the failed batch are gone from this process: writing more would break the chain).
#[test]
fn a_failed_background_write_is_returned_by_the_next_append() {
    let Ok(full) = std::fs::OpenOptions::new().append(true).open("/dev/full") else {
        return; // no /dev/full on this system
    };
    let mut writer = JournalWriter::new(full, "/dev/full".into());
    writer
        .push_call(b"{\"line\":1}\n")
        .expect("a call line is batched, not written");
    std::thread::sleep(MAX_BATCH_AGE + Duration::from_millis(500));
    let err = writer.push_call(b"{\"line\":2}\n").unwrap_err().to_string();
    assert!(err.contains("/dev/full"), "{err}");
    assert!(err.contains("space"), "{err}");
    let again = writer.commit_decision(b"{\"line\":3}\n").unwrap_err();
    assert!(again.to_string().contains("/dev/full"), "{again}");
    assert!(writer.write_pending().is_err());
}
