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
