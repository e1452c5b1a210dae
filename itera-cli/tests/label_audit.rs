//! Issue #13 hole 15 through the `itera` binary: a synthetic source is sealed only after its
//! label-noise audit (G18) — `itera label-audit DIR` shows the sample, `--record agree=K,total=N`
//! records it — and the exit codes say which step is missing (1 refused at run time, 2 bad
//! input).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

/// The shared replay fixture with `synthetic_source = true`.
fn synthetic(dir: &std::path::Path) -> std::path::PathBuf {
    let f = experiment_named(dir, "synthetic", 200, 10.0, |i| i % 3 != 0);
    let toml = std::fs::read_to_string(&f).unwrap().replacen(
        "seed = 11\n",
        "seed = 11\nsynthetic_source = true\n",
        1,
    );
    assert!(toml.contains("synthetic_source = true"));
    std::fs::write(&f, toml).unwrap();
    f
}

/// Before the fix `itera run` sealed and opened the test set of a synthetic source whose labels
/// nobody had checked. Now: exit 1 at the seal, naming `itera label-audit`; the audit, then the
/// resumed run reaches its verdict.
#[test]
fn synthetic_source_run_is_refused_until_the_label_audit_is_recorded() {
    let t = tempfile::tempdir().unwrap();
    let f = synthetic(t.path());
    let file = f.to_str().unwrap();
    let o = itera(&["run", file, "--out", "out", "-q"], t.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("G18") && err.contains("itera label-audit"),
        "{}",
        text(&o)
    );

    // The sample: the baseline's failing dev rows (at most 30), with input, label and slice.
    let o = itera(&["label-audit", "out"], t.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        shown.contains("label=") && shown.contains("slice="),
        "{shown}"
    );
    let total = shown.lines().filter(|l| l.contains("  slice=")).count();
    assert!(total > 0 && total <= 30, "{shown}");

    // Bad input: a malformed record, and a total that is not the sample (exit 2).
    let o = itera(&["label-audit", "out", "--record", "agree=lots"], t.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let wrong = format!("agree=1,total={}", total + 1);
    let o = itera(&["label-audit", "out", "--record", &wrong], t.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!("total={total}")),
        "{}",
        text(&o)
    );

    let ok = format!("agree={total},total={total}");
    let o = itera(&["label-audit", "out", "--record", &ok], t.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // The resumed run reaches a decision (0, 10, 11 or 12), and the audit item passes.
    let o = itera(&["run", file, "--out", "out", "-q"], t.path());
    assert!(
        matches!(o.status.code(), Some(0 | 10 | 11 | 12)),
        "{}",
        text(&o)
    );
    let conclusion = std::fs::read_to_string(t.path().join("out/conclusion.md")).unwrap();
    assert!(
        conclusion.contains(&format!("{total}/{total} labels")),
        "{conclusion}"
    );
}

/// #19 and G18: a re-run of a synthetic-source experiment whose label audit a reviewer already
/// did (the embedded example) had no way to carry the review, so its one command stopped at the
/// seal. `[run] label_audit = { agreed = K, reviewed = N }` records it when the seeded sample is
/// shown; a count that is not the sample's size is bad input (exit 2, naming the key), and a
/// second run with the same record resumes.
#[test]
fn a_label_audit_in_the_experiment_file_is_recorded_before_the_seal() {
    let t = tempfile::tempdir().unwrap();
    let f = synthetic(t.path());
    let file = f.to_str().unwrap();
    // The sample's size, from a first directory (dev rows only; the test set stays sealed).
    assert_eq!(
        itera(&["run", file, "--out", "probe", "-q"], t.path())
            .status
            .code(),
        Some(1)
    );
    let o = itera(&["label-audit", "probe"], t.path());
    let total = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("  slice="))
        .count();
    assert!(total > 0);

    let toml = std::fs::read_to_string(&f).unwrap();
    let with = |agreed: usize, reviewed: usize| {
        let body = format!("{toml}\n[run.label_audit]\nagreed = {agreed}\nreviewed = {reviewed}\n");
        std::fs::write(&f, body).unwrap();
    };
    with(total, total + 1);
    let o = itera(&["run", file, "--out", "wrong", "-q"], t.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("run.label_audit"),
        "{}",
        text(&o)
    );

    with(total - 1, total);
    let o = itera(&["run", file, "--out", "out", "-q"], t.path());
    assert!(
        matches!(o.status.code(), Some(0 | 10 | 11 | 12)),
        "{}",
        text(&o)
    );
    let conclusion = std::fs::read_to_string(t.path().join("out/conclusion.md")).unwrap();
    assert!(
        conclusion.contains(&format!("{}/{total} labels", total - 1)),
        "{conclusion}"
    );
    let o = itera(&["run", file, "--out", "out", "-q"], t.path());
    assert!(
        matches!(o.status.code(), Some(0 | 10 | 11 | 12)),
        "the second run resumes: {}",
        text(&o)
    );
}
