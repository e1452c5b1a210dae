//! The CI outputs of the `itera` binary: `--junit FILE` (one test case per candidate arm: ship →
//! passed with the claim, kill → failure with the rationale, inconclusive → skipped with the rows
//! it would need) and `--summary-md FILE` (the Markdown for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY`), on small generated replay experiments, one per decision.
#![allow(clippy::unwrap_used)]

mod common;

use common::{experiment_named as experiment, itera, text};
use std::path::Path;
use std::process::Output;

/// `itera run exp.toml --out out --junit junit.xml --summary-md summary.md`; returns the output,
/// the JUnit text and the Markdown.
fn run_ci(dir: &Path, file: &Path) -> (Output, String, String) {
    let o = itera(
        &[
            "run",
            file.to_str().unwrap(),
            "--out",
            "out",
            "--quiet",
            "--junit",
            "junit.xml",
            "--summary-md",
            "summary.md",
        ],
        dir,
    );
    let junit = std::fs::read_to_string(dir.join("junit.xml"))
        .unwrap_or_else(|e| panic!("junit.xml written ({e}):\n{}", text(&o)));
    let md = std::fs::read_to_string(dir.join("summary.md"))
        .unwrap_or_else(|e| panic!("summary.md written ({e}):\n{}", text(&o)));
    (o, junit, md)
}

/// One parsed test case: name, classname, and its outcome ("passed", "failure", "skipped") with
/// the message or the system-out.
#[derive(Debug)]
struct Case {
    name: String,
    classname: String,
    outcome: &'static str,
    text: String,
}

/// The minimal structure a CI consumer needs: a `testsuites` root holding one `testsuite` whose
/// `tests`, `failures`, `skipped` counts match its cases; every case has `name` and `classname`.
fn parse_junit(xml: &str) -> (String, Vec<Case>) {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites", "{xml}");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1, "{xml}");
    let suite = suites[0];
    let mut cases = Vec::new();
    for c in suite.children().filter(|n| n.has_tag_name("testcase")) {
        let child = |tag: &str| c.children().find(|n| n.has_tag_name(tag));
        let (outcome, text) = if let Some(f) = child("failure") {
            ("failure", f.attribute("message").unwrap().to_string())
        } else if let Some(s) = child("skipped") {
            ("skipped", s.attribute("message").unwrap().to_string())
        } else {
            (
                "passed",
                child("system-out")
                    .and_then(|n| n.text())
                    .unwrap_or_default()
                    .to_string(),
            )
        };
        cases.push(Case {
            name: c.attribute("name").expect("testcase name").to_string(),
            classname: c
                .attribute("classname")
                .expect("testcase classname")
                .to_string(),
            outcome,
            text,
        });
    }
    let count = |o: &str| cases.iter().filter(|c| c.outcome == o).count().to_string();
    for (attr, want) in [
        ("tests", cases.len().to_string()),
        ("failures", count("failure")),
        ("skipped", count("skipped")),
        ("errors", "0".to_string()),
    ] {
        assert_eq!(suite.attribute(attr), Some(want.as_str()), "{attr}: {xml}");
        assert_eq!(root.attribute(attr), Some(want.as_str()), "{attr}: {xml}");
    }
    (suite.attribute("name").unwrap().to_string(), cases)
}

/// The Markdown with the temp directory replaced by `[DIR]`.
fn redact(md: &str, dir: &Path) -> String {
    md.replace(&dir.display().to_string(), "[DIR]")
}

#[test]
fn ship_is_a_passed_case_with_the_claim_and_a_summary() {
    let t = tempfile::tempdir().unwrap();
    let f = experiment(t.path(), "tiny", 200, 5.0, |i| i % 10 != 9);
    let (o, junit, md) = run_ci(t.path(), &f);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (suite, cases) = parse_junit(&junit);
    assert_eq!(suite, "tiny");
    assert_eq!(cases.len(), 1, "one case per candidate arm: {cases:?}");
    let c = &cases[0];
    assert_eq!(
        (c.name.as_str(), c.classname.as_str()),
        ("cand", "itera.tiny")
    );
    assert_eq!(c.outcome, "passed", "{junit}");
    assert!(c.text.contains("ship"), "{}", c.text);
    assert!(
        c.text.contains("\u{394}"),
        "the effect with its CI: {}",
        c.text
    );
    assert!(c.text.contains("slices: a, b"), "{}", c.text);
    insta::assert_snapshot!("summary_ship", redact(&md, t.path()));
    insta::assert_snapshot!("junit_ship", junit);
}

#[test]
fn kill_is_a_failure_with_the_rationale() {
    let t = tempfile::tempdir().unwrap();
    // The candidate is right only on rows i % 4 == 0: −25pp.
    let f = experiment(t.path(), "tiny", 200, 5.0, |i| i % 4 == 0);
    let (o, junit, md) = run_ci(t.path(), &f);
    assert_eq!(o.status.code(), Some(11), "{}", text(&o));
    let (_, cases) = parse_junit(&junit);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].outcome, "failure", "{junit}");
    assert!(
        cases[0].text.contains("R1"),
        "the failing rule: {}",
        cases[0].text
    );
    insta::assert_snapshot!("summary_kill", redact(&md, t.path()));
    insta::assert_snapshot!("junit_kill", junit);
}

#[test]
fn inconclusive_is_skipped_with_the_rows_it_would_need() {
    let t = tempfile::tempdir().unwrap();
    // Wins and losses balance (Δ ≈ 0) with a wide CI on few test rows: underpowered for 5pp.
    let f = experiment(t.path(), "tiny", 120, 5.0, |i| i % 4 == 0 || i % 4 == 3);
    let (o, junit, md) = run_ci(t.path(), &f);
    assert_eq!(o.status.code(), Some(12), "{}", text(&o));
    let (_, cases) = parse_junit(&junit);
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].outcome, "skipped", "{junit}");
    assert!(
        cases[0].text.contains("test rows") && cases[0].text.contains("need"),
        "the rows it would need: {}",
        cases[0].text
    );
    insta::assert_snapshot!("summary_inconclusive", redact(&md, t.path()));
    insta::assert_snapshot!("junit_inconclusive", junit);
}

#[test]
fn ship_narrowly_summary_marks_the_excluded_slice() {
    let t = tempfile::tempdir().unwrap();
    // Slice a: +50pp; slice b: −10pp (tests/cli.rs ship_narrowly_exits_10).
    let f = experiment(t.path(), "tiny", 1000, 5.0, |i| {
        (i / 2) % 2 == 0 || (i % 2 == 0 && i % 5 != 0)
    });
    let (o, junit, md) = run_ci(t.path(), &f);
    assert_eq!(o.status.code(), Some(10), "{}", text(&o));
    let (_, cases) = parse_junit(&junit);
    assert_eq!(cases[0].outcome, "passed", "{junit}");
    assert!(cases[0].text.contains("slices: a"), "{}", cases[0].text);
    insta::assert_snapshot!("summary_ship_narrowly", redact(&md, t.path()));
}

#[test]
fn an_xml_hostile_experiment_name_is_escaped() {
    let t = tempfile::tempdir().unwrap();
    let name = r#"a<b>&"c'd"#;
    let f = experiment(t.path(), name, 200, 5.0, |i| i % 10 != 9);
    let (o, junit, _) = run_ci(t.path(), &f);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (suite, cases) = parse_junit(&junit);
    assert_eq!(suite, name);
    assert_eq!(cases[0].classname, format!("itera.{name}"));
}

#[test]
fn a_rerun_and_itera_report_write_the_same_summary() {
    let t = tempfile::tempdir().unwrap();
    let f = experiment(t.path(), "tiny", 200, 5.0, |i| i % 4 == 0);
    let (o, junit, md) = run_ci(t.path(), &f);
    assert_eq!(o.status.code(), Some(11), "{}", text(&o));
    // The re-run prints the recorded verdict and writes the same files.
    let (o2, junit2, md2) = run_ci(t.path(), &f);
    assert_eq!(o2.status.code(), Some(11), "{}", text(&o2));
    assert_eq!(
        (junit.as_str(), md.as_str()),
        (junit2.as_str(), md2.as_str())
    );
    let r = itera(&["report", "out", "--summary-md", "again.md"], t.path());
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert_eq!(
        std::fs::read_to_string(t.path().join("again.md")).unwrap(),
        md
    );
    // `itera verdict DIR --junit` on the finished directory writes the same JUnit.
    let v = itera(&["verdict", "out", "--junit", "v.xml", "--quiet"], t.path());
    assert_eq!(v.status.code(), Some(11), "{}", text(&v));
    assert_eq!(
        std::fs::read_to_string(t.path().join("v.xml")).unwrap(),
        junit
    );
}

#[test]
fn an_unwritable_junit_path_exits_1_and_names_the_file() {
    let t = tempfile::tempdir().unwrap();
    let f = experiment(t.path(), "tiny", 200, 5.0, |i| i % 10 != 9);
    let o = itera(
        &[
            "run",
            f.to_str().unwrap(),
            "--out",
            "out",
            "--quiet",
            "--junit",
            "no/such/dir/junit.xml",
        ],
        t.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no/such/dir/junit.xml"), "{err}");
    // The verdict stands and is recorded: the experiment directory is complete.
    assert!(t.path().join("out/data.json").is_file());
}
