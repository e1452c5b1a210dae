//! Compile-fail tests: the method's order is enforced by types. A skipped phase, a test-row
//! accessor or a hand-made state does not compile (G1, G15), and a phase called too early says
//! which call comes first (`too_early_*.rs`, `too_late_*.rs`: the marker traits of
//! `experiment/transitions.rs`), and a later phase handed other arms or another judge than the
//! ones piloted does not compile either (`mismatch_*.rs`: the lineup is bound once). The expected
//! compiler messages are pinned in `tests/ui/*.stderr` (regenerate with `TRYBUILD=overwrite`).

#[test]
fn skipped_phases_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
