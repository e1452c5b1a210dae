//! "No silent wrong verdict", through the real `itera` binary: each test is an attack that,
//! before its fix, let the CLI print (and exit with) a verdict it could not defend. Exit codes:
//! 2 bad input (the refusal names the file or key and the fix), 1 refused while running.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn o(dir: &Path) -> String {
    dir.join("out").to_str().unwrap().to_string()
}

// ---- 2. Misspelled major slice disables R3 (G42) ----

#[test]
fn misspelled_major_slice_exits_2_listing_the_slices() {
    let t = tempfile::tempdir().unwrap();
    let f = experiment(t.path(), 200, 5.0, |i| i % 10 != 9);
    let toml = std::fs::read_to_string(&f).unwrap().replace(
        "slice_loss_floor_pp = -2.0",
        "slice_loss_floor_pp = -2.0\nmajor_slices = [\"A\"]",
    );
    std::fs::write(&f, toml).unwrap();
    let r = itera(
        &["run", f.to_str().unwrap(), "--out", &o(t.path()), "-q"],
        t.path(),
    );
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("'A'") && err.contains("'a'") && err.contains("'b'"),
        "{}",
        text(&r)
    );
}

// ---- 8. Edited report files are believed ----

/// A finished kill (exit 11) in `t/out`.
fn killed(t: &Path) -> PathBuf {
    let f = experiment(t, 200, 5.0, |i| i % 4 == 0);
    let r = itera(&["run", f.to_str().unwrap(), "--out", &o(t), "-q"], t);
    assert_eq!(r.status.code(), Some(11), "{}", text(&r));
    f
}

#[test]
fn edited_decision_in_data_json_is_refused_by_run_verdict_report_and_status() {
    let t = tempfile::tempdir().unwrap();
    let f = killed(t.path());
    let data = t.path().join("out/data.json");
    let original = std::fs::read_to_string(&data).unwrap();
    std::fs::write(&data, original.replace("\"kill\"", "\"ship\"")).unwrap();
    for args in [
        vec!["run", f.to_str().unwrap(), "--out", &o(t.path()), "-q"],
        vec!["verdict", &o(t.path()), "-q"],
        vec!["report", &o(t.path())],
        vec!["status", &o(t.path())],
        vec!["verify", &o(t.path())],
    ] {
        let r = itera(&args, t.path());
        assert_eq!(r.status.code(), Some(2), "{args:?}: {}", text(&r));
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(
            err.contains("data.json"),
            "{args:?} names the file: {}",
            text(&r)
        );
    }
    std::fs::write(&data, original).unwrap();
    let r = itera(&["verdict", &o(t.path()), "-q"], t.path());
    assert_eq!(r.status.code(), Some(11), "restored: {}", text(&r));
}

#[test]
fn report_refuses_to_render_from_an_edited_verdict_json() {
    let t = tempfile::tempdir().unwrap();
    killed(t.path());
    let path = t.path().join("out/verdict.json");
    let conclusion = t.path().join("out/conclusion.md");
    let before = std::fs::read_to_string(&conclusion).unwrap();
    let original = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, original.replace("\"kill\"", "\"ship\"")).unwrap();
    let r = itera(&["report", &o(t.path())], t.path());
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("verdict.json"),
        "{}",
        text(&r)
    );
    assert_eq!(
        std::fs::read_to_string(&conclusion).unwrap(),
        before,
        "conclusion.md untouched"
    );
    let v = itera(&["verify", &o(t.path())], t.path());
    assert_eq!(v.status.code(), Some(2), "{}", text(&v));
}

#[test]
fn edited_conclusion_md_is_caught_and_report_restores_it_byte_identically() {
    let t = tempfile::tempdir().unwrap();
    killed(t.path());
    let conclusion = t.path().join("out/conclusion.md");
    let before = std::fs::read_to_string(&conclusion).unwrap();
    std::fs::write(&conclusion, before.replace("kill", "ship")).unwrap();
    let v = itera(&["verify", &o(t.path())], t.path());
    assert_eq!(v.status.code(), Some(2), "{}", text(&v));
    assert!(
        String::from_utf8_lossy(&v.stderr).contains("conclusion.md"),
        "{}",
        text(&v)
    );
    let r = itera(&["report", &o(t.path())], t.path());
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert_eq!(std::fs::read_to_string(&conclusion).unwrap(), before);
    let v = itera(&["verify", &o(t.path())], t.path());
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
}

// ---- 7. Re-scoring the test set after it was opened ----

/// The tiny experiment with the candidate as a command arm running `arm.sh` (answers "yes").
fn command_experiment(dir: &Path) -> PathBuf {
    let f = experiment(dir, 200, 5.0, |_| true);
    std::fs::write(
        dir.join("arm.sh"),
        "#!/bin/sh\nwhile IFS= read -r line; do\n  id=$(printf '%s' \"$line\" | sed 's/^{\"id\":\\([0-9]*\\).*/\\1/')\n  printf '{\"id\":%s,\"output\":\"yes\"}\\n' \"$id\"\ndone\n",
    )
    .unwrap();
    let toml = std::fs::read_to_string(&f).unwrap()
        .replace("seed = 11", "seed = 11\ndeterministic = true")
        .replace(
            "replay = { path = \"rec.csv\", id = \"id\", output = \"pred\", filter = { variant = \"cand\" } }",
            "command = { program = \"sh\", args = [\"arm.sh\"] }",
        );
    std::fs::write(&f, toml).unwrap();
    f
}

#[test]
fn edited_command_script_between_dev_and_verdict_exits_2() {
    let t = tempfile::tempdir().unwrap();
    let f = command_experiment(t.path());
    run_to_dev(f.to_str().unwrap(), &o(t.path()), t.path());
    // The script now answers "no" to everything: not the version dev scored.
    let script = std::fs::read_to_string(t.path().join("arm.sh")).unwrap();
    std::fs::write(t.path().join("arm.sh"), script.replace("\"yes\"", "\"no\"")).unwrap();
    let v = itera(&["verdict", &o(t.path()), "-q"], t.path());
    assert_eq!(v.status.code(), Some(2), "{}", text(&v));
    assert!(
        !t.path().join("out/data.json").exists(),
        "no verdict written"
    );
}

#[test]
fn journal_truncated_before_sealed_opened_then_rerun_exits_2() {
    let t = tempfile::tempdir().unwrap();
    let f = command_experiment(t.path());
    let r = itera(
        &["run", f.to_str().unwrap(), "--out", &o(t.path()), "-q"],
        t.path(),
    );
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    let journal = t.path().join("out/journal.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let opened = lines
        .iter()
        .position(|l| l.contains("\"sealed-opened\""))
        .unwrap();
    std::fs::write(&journal, lines[..opened].join("\n") + "\n").unwrap();
    for file in ["data.json", "verdict.json", "conclusion.md"] {
        std::fs::remove_file(t.path().join("out").join(file)).unwrap();
    }
    let script = std::fs::read_to_string(t.path().join("arm.sh")).unwrap();
    std::fs::write(t.path().join("arm.sh"), script.replace("\"yes\"", "\"no\"")).unwrap();
    let v = itera(&["verdict", &o(t.path()), "-q"], t.path());
    assert_eq!(v.status.code(), Some(2), "{}", text(&v));
    assert!(
        String::from_utf8_lossy(&v.stderr).contains("truncated"),
        "{}",
        text(&v)
    );
    assert!(
        !t.path().join("out/data.json").exists(),
        "no second verdict"
    );
}

// ---- 9. The same sealed test set, reopened elsewhere (G15; issue #13, item 6) ----

#[test]
fn spent_test_rows_in_a_new_directory_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let f = killed(t.path());
    // The threshold drifts from 5pp to 2pp; a new directory beside the first, the same rows.
    let toml = std::fs::read_to_string(&f)
        .unwrap()
        .replace("min_effect_pp = 5", "min_effect_pp = 2");
    let drifted = t.path().join("drifted.toml");
    std::fs::write(&drifted, toml).unwrap();
    let second = t.path().join("second");
    let r = itera(
        &[
            "run",
            drifted.to_str().unwrap(),
            "--out",
            second.to_str().unwrap(),
            "-q",
        ],
        t.path(),
    );
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("out") && err.contains("G15") && err.contains("reuse_test"),
        "names the earlier experiment and the fix: {}",
        text(&r)
    );
    assert!(!second.join("data.json").exists());
}

#[test]
fn declared_reuse_runs_and_every_output_says_not_a_fresh_test_set() {
    let t = tempfile::tempdir().unwrap();
    let f = killed(t.path());
    let toml = std::fs::read_to_string(&f).unwrap().replace(
        "seed = 11",
        "seed = 11\nreuse_test = \"the 2pp question, asked again on the same rows\"",
    );
    let reused = t.path().join("reused.toml");
    std::fs::write(&reused, toml).unwrap();
    let (second, md, xml) = (
        t.path().join("second"),
        t.path().join("summary.md"),
        t.path().join("junit.xml"),
    );
    let r = itera(
        &[
            "run",
            reused.to_str().unwrap(),
            "--out",
            second.to_str().unwrap(),
            "--summary-md",
            md.to_str().unwrap(),
            "--junit",
            xml.to_str().unwrap(),
            "-q",
        ],
        t.path(),
    );
    assert_eq!(r.status.code(), Some(11), "{}", text(&r));
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(stdout.contains("NOT A FRESH TEST SET"), "{}", text(&r));
    for file in [
        md,
        xml,
        second.join("data.json"),
        second.join("conclusion.md"),
    ] {
        let body = std::fs::read_to_string(&file).unwrap().to_lowercase();
        assert!(
            body.contains("not a fresh test set"),
            "{} carries the label",
            file.display()
        );
    }
    let conclusion = std::fs::read_to_string(second.join("conclusion.md")).unwrap();
    assert!(
        conclusion.contains("test set fresh"),
        "the audit item is listed"
    );
}

/// G15: the ledger a split was checked against is the one its test pass spends into. Split with
/// `--spent-ledger`, stopped after dev, then resumed without the flag: the test rows once went to
/// the default ledger beside the directory, so the custom ledger never learned they were spent.
#[test]
fn resume_without_the_spent_ledger_flag_spends_into_the_ledger_the_split_used() {
    let t = tempfile::tempdir().unwrap();
    let f = experiment(t.path(), 200, 5.0, |i| i % 4 == 0);
    let ledger = t.path().join("elsewhere/spent.jsonl");
    let file = f.to_str().unwrap();
    let first = itera(
        &[
            "run",
            file,
            "--out",
            &o(t.path()),
            "--spent-ledger",
            ledger.to_str().unwrap(),
            "--stop-after",
            "dev",
            "-q",
        ],
        t.path(),
    );
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    // Passing another ledger on resume is refused, naming the one the split used.
    let other = t.path().join("other.jsonl");
    let moved = itera(
        &[
            "run",
            file,
            "--out",
            &o(t.path()),
            "--spent-ledger",
            other.to_str().unwrap(),
            "-q",
        ],
        t.path(),
    );
    assert_eq!(moved.status.code(), Some(2), "{}", text(&moved));
    assert!(
        text(&moved).contains("elsewhere/spent.jsonl"),
        "{}",
        text(&moved)
    );
    let resumed = itera(&["run", file, "--out", &o(t.path()), "-q"], t.path());
    assert_eq!(resumed.status.code(), Some(11), "{}", text(&resumed));
    assert_eq!(
        std::fs::read_to_string(&ledger)
            .map(|s| s.lines().count())
            .ok(),
        Some(1),
        "the custom ledger holds the spent rows"
    );
    assert!(!t.path().join(".itera-spent-tests.jsonl").exists());
    assert!(!other.exists());
}

#[test]
fn spent_ledger_flag_moves_the_ledger() {
    let t = tempfile::tempdir().unwrap();
    let f = experiment(t.path(), 200, 5.0, |i| i % 4 == 0);
    let ledger = t.path().join("elsewhere/spent.jsonl");
    let r = itera(
        &[
            "run",
            f.to_str().unwrap(),
            "--out",
            &o(t.path()),
            "--spent-ledger",
            ledger.to_str().unwrap(),
            "-q",
        ],
        t.path(),
    );
    assert_eq!(r.status.code(), Some(11), "{}", text(&r));
    assert_eq!(std::fs::read_to_string(&ledger).unwrap().lines().count(), 1);
    assert!(!t.path().join(".itera-spent-tests.jsonl").exists());
}
