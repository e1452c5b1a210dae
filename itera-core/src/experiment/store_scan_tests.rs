//! Tests of the store's scans ("journal at the speed of the disk", issue #17): what is already
//! known from the verified opening pass is not read again.

use crate::experiment::Experiment;
// journal/ may not import a later phase (tests/layers.rs), so this test of the store lives here.
use crate::journal::store::{SCANS, Store};

fn scans() -> u64 {
    SCANS.with(|c| c.get())
}

/// `Store::registration` checks the registration files against the `registered` event the
/// verified opening pass found, without re-reading the whole journal (a resume of a 140k-line
/// experiment re-read 83 MB for it). The files are still checked (G7).
#[test]
fn registration_rescans_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let frame = crate::report::audit::fixture::frame();
    Experiment::new(frame)
        .unwrap()
        .register(Store::dir(dir.path()).unwrap())
        .unwrap();
    let store = Store::dir(dir.path()).unwrap();
    let before = scans();
    assert!(store.registration().unwrap().is_some());
    assert_eq!(scans() - before, 0, "registration() scanned the journal");
    // G7 still holds: an edited frame.md is refused.
    std::fs::write(dir.path().join("frame.md"), "edited").unwrap();
    let err = store.registration().unwrap_err().to_string();
    assert!(err.contains("frame.md was edited"), "{err}");
}

/// #17: a re-run of a concluded directory read the whole journal again (83 MB at 100k rows) to
/// find the verdict's file hashes, which the verified opening pass had already seen. The check
/// now uses what the opening pass found; an edited report file is still refused (G40).
#[test]
fn report_files_check_rescans_nothing() {
    use crate::journal::event::Event;
    use crate::journal::record::Decision;
    let dir = tempfile::tempdir().unwrap();
    let frame = crate::report::audit::fixture::frame();
    Experiment::new(frame)
        .unwrap()
        .register(Store::dir(dir.path()).unwrap())
        .unwrap();
    let store = Store::dir(dir.path()).unwrap();
    std::fs::write(dir.path().join("data.json"), b"{}").unwrap();
    store
        .append(Event::VerdictReached {
            decision: Decision::Ship,
            arm: None,
            slices: Vec::new(),
            rationale: "fixture".into(),
            data_hash: crate::hash::sha256_hex(b"{}"),
            verdict_hash: None,
            conclusion_hash: None,
        })
        .unwrap();
    drop(store);
    let store = Store::dir(dir.path()).unwrap();
    let before = scans();
    let ok = crate::report::check_report_files(&store).unwrap();
    assert_eq!(
        scans() - before,
        0,
        "check_report_files scanned the journal"
    );
    assert!(ok.iter().any(|l| l.contains("data.json")), "{ok:?}");
    std::fs::write(dir.path().join("data.json"), b"{\"edited\":1}").unwrap();
    let err = crate::report::check_report_files(&store)
        .unwrap_err()
        .to_string();
    assert!(err.contains("data.json"), "{err}");
}

/// A scan continued from a cursor (the verdict reads only what its test pass appended, #17)
/// reads just the lines appended since, verifies them against the chain's head at the cursor,
/// and refuses a journal cut or rewritten below the lines this store wrote (G7).
#[test]
fn a_scan_from_a_cursor_reads_only_what_was_appended_and_refuses_a_cut_journal() {
    use crate::data::row::RowId;
    use crate::journal::event::Event;
    use crate::journal::store::JournalCursor;
    let reveal = |i: usize| Event::Reveal {
        row: RowId(format!("row-{i}")),
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::dir(dir.path()).unwrap();
    (0..3).for_each(|i| drop(store.append(reveal(i)).unwrap()));
    let mut cursor = JournalCursor::start();
    let mut seen = Vec::new();
    store.scan_on(&mut cursor, |e| seen.push(e.seq)).unwrap();
    assert_eq!(seen, [0, 1, 2]);
    (3..5).for_each(|i| drop(store.append(reveal(i)).unwrap()));
    seen.clear();
    let before = scans();
    store.scan_on(&mut cursor, |e| seen.push(e.seq)).unwrap();
    assert_eq!(seen, [3, 4], "only the appended lines are read");
    assert_eq!(scans() - before, 1);

    // Two more lines; the journal as this store wrote it, and a forger's chain of 7 lines.
    (5..7).for_each(|i| drop(store.append(reveal(i)).unwrap()));
    let path = dir.path().join("journal.jsonl");
    let written = std::fs::read_to_string(&path).unwrap();
    let ours: Vec<&str> = written.lines().collect();
    let other = tempfile::tempdir().unwrap();
    let forger = Store::dir(other.path()).unwrap();
    (0..7).for_each(|i| drop(forger.append(reveal(i + 100)).unwrap()));
    let theirs = std::fs::read_to_string(other.path().join("journal.jsonl")).unwrap();
    let theirs: Vec<&str> = theirs.lines().collect();
    let attempt = |lines: Vec<&str>| {
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let mut c = cursor.clone();
        store.scan_on(&mut c, |_| {}).map(|()| c.lines())
    };
    // As written: the two new lines, read from the cursor.
    assert_eq!(attempt(ours.clone()).unwrap(), 7);
    // The last line cut: the store wrote 7, the journal holds 6.
    let err = attempt(ours[..6].to_vec()).unwrap_err().to_string();
    assert!(
        err.contains("ends at line 6, but this process wrote 7 lines"),
        "{err}"
    );
    // The lines after the cursor replaced by another chain's: they do not link to its head.
    let err = attempt([&ours[..5], &theirs[5..]].concat())
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 6"), "{err}");
}
