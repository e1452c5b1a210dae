//! Tests of the journal's group commit (issue #17 item 2, "journal at the speed of the disk"):
//! call lines are made durable in batches with bounded latency, a decision is synced with every
//! call before it, and every line is in the file the moment `append` returns (a SIGKILL loses
//! none).

use crate::data::row::RowId;
use crate::data::split::Part;
use crate::journal::event::{CallOutcome, CallRecord, Event};
use crate::journal::record::Usage;
use crate::journal::store::{JOURNAL_FILE, Store};
use crate::journal::writer::{JournalWriter, MAX_BATCH_AGE};
use std::path::Path;
use std::time::Duration;

pub(super) fn call(i: usize) -> Event {
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
pub(super) fn decision() -> Event {
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

/// The journal was never synced (a power loss could lose any line, the `sealed-opened` event
/// too); a sync per line would be 140k syncs. Call lines are now synced a batch at a time: a
/// handful of syncs for 1,000 lines, at least one within the bound, and every line is in the
/// file as soon as it is appended.
#[test]
fn call_lines_are_synced_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::dir(dir.path()).unwrap();
    let started = std::time::Instant::now();
    for i in 0..1_000 {
        store.append(call(i)).unwrap();
    }
    assert_eq!(lines_on_disk(dir.path()), 1_000, "written as appended");
    std::thread::sleep(MAX_BATCH_AGE + Duration::from_millis(500));
    // One sync per batch age at most while appending (a slow machine takes longer), plus the
    // last batch's: a handful, not one per line.
    let ages = (started.elapsed().as_millis() / MAX_BATCH_AGE.as_millis()) as u64;
    let (_, syncs) = io_counts(&store);
    assert!(syncs >= 1, "1,000 call lines were never synced");
    assert!(
        syncs <= 5.max(ages + 2),
        "{syncs} syncs for 1,000 call lines appended in {:?}",
        started.elapsed()
    );
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

/// Latency is bounded with no further activity: the flusher syncs a lone call line.
#[test]
fn a_lone_call_is_synced_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::dir(dir.path()).unwrap();
    store.append(call(0)).unwrap();
    std::thread::sleep(MAX_BATCH_AGE + Duration::from_millis(500));
    assert_eq!(lines_on_disk(dir.path()), 1, "read from outside the store");
    let (_, syncs) = io_counts(&store);
    assert!(syncs >= 1, "the line was written but not synced");
}

/// A scan (and `read_file` of the journal) in this process sees every line appended, synced or
/// not.
#[test]
fn a_scan_sees_lines_not_yet_synced() {
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

/// Unwinding drops the store: call lines returned `Ok` before a panic are in the file, synced.
#[test]
fn calls_survive_a_panic_that_drops_the_store() {
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

/// A write that fails (here: a full disk, /dev/full) is not lost: the append returns it as
/// `StoreError::Io` naming the journal, and so does every later one (a lost line would leave a
/// gap in the chain).
#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_is_returned_now_and_by_every_later_append() {
    let full = std::fs::OpenOptions::new()
        .append(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    let mut writer = JournalWriter::new(full, "/dev/full".into(), None);
    let err = writer.push_call(b"{\"line\":1}\n").unwrap_err().to_string();
    assert!(err.contains("/dev/full"), "{err}");
    assert!(err.contains("space"), "{err}");
    let again = writer.commit_decision(b"{\"line\":2}\n").unwrap_err();
    assert!(again.to_string().contains("/dev/full"), "{again}");
    assert!(writer.check_written().is_err());
    assert!(writer.push_call(b"{\"line\":3}\n").is_err());
}
