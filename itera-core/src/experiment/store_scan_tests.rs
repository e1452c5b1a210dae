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
