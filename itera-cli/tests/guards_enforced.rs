//! Guards the CLI enforces on its own, before the library would (issue #13: each guard enforced,
//! with the test that would fail if the enforcement were removed). Each test is an attack named
//! after what it tries, checked by removing the enforcement it names and seeing it fail.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use common::*;

// Attack (G7): the experiment file's threshold is moved from 5pp to 2pp after dev was scored,
// and the same directory is run again. The CLI compares the file's frame with the registered one
// before anything else (itera-cli/src/pipeline.rs, check_frame) and names the file, the
// directory and the way out; the library's own refusal (Error::FrameMismatch) names neither file.
#[test]
fn drifted_threshold_rerun_in_the_same_directory_exits_2_naming_the_file() {
    let t = tempfile::tempdir().unwrap();
    let f = experiment(t.path(), 120, 5.0, |i| i % 3 != 0);
    run_to_dev(f.to_str().unwrap(), "out", t.path());
    let toml = std::fs::read_to_string(&f).unwrap();
    let drifted = toml.replace("min_effect_pp = 5", "min_effect_pp = 2");
    assert_ne!(drifted, toml, "the threshold was not moved");
    std::fs::write(&f, drifted).unwrap();
    let r = itera(
        &["run", f.to_str().unwrap(), "--out", "out", "-q"],
        t.path(),
    );
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("exp.toml")
            && err.contains("differs from the one registered")
            && err.contains("G7"),
        "{}",
        text(&r)
    );
    assert!(!t.path().join("out/data.json").exists());
}
