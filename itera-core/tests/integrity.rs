//! "No silent wrong verdict": each test is an attack that, before its fix, let itera write a
//! confident verdict it could not defend. Named after the attack; each asserts the typed refusal.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use async_trait::async_trait;
use common::*;
use itera_core::*;
use serde_json::Value;

/// An exact-match judge with a chosen id and rubric.
struct Named {
    id: &'static str,
    rubric: Option<&'static str>,
}

#[async_trait]
impl Judge for Named {
    fn id(&self) -> &str {
        self.id
    }
    fn rubric(&self) -> Option<&str> {
        self.rubric
    }
    async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
        Ok(Judgement::score(f64::from(Some(output) == view.expected)))
    }
}

fn judge(id: &'static str) -> Named {
    Named { id, rubric: None }
}

fn frame_with(scorer: &str, majors: &[&str]) -> Frame {
    Frame::builder("integrity", "Does a beat base?", "a is more accurate.")
        .baseline("base", "src/lib.rs:1")
        .arm("arm-alpha-7f3", "base", "better prompt")
        .arm("arm-beta-9c1", "base", "other model")
        .metric("accuracy", scorer)
        .threshold_pp(5.0)
        .slice_loss_floor_pp(-2.0)
        .major_slices(majors.iter().copied())
        .trials(1)
        .deterministic(true)
        .seed(11)
        .build()
        .unwrap()
}

fn arms() -> Vec<Box<dyn Arm>> {
    boxed(standard_arms().into())
}

// ---- 1. Wrong judge, confident verdict (G8, G11) ----

#[tokio::test]
async fn wrong_judge_confident_verdict_is_refused_at_pilot() {
    let exp = Experiment::new(frame_with("label-match", &[]))
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(300))
        .unwrap();
    let err = exp
        .pilot(
            Lineup::new(judge("exact"))
                .arms(arms())
                .options(fast_opts()),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err.error, Error::JudgeNotRegistered { .. }),
        "{msg}"
    );
    assert!(
        msg.contains("label-match") && msg.contains("exact"),
        "names both: {msg}"
    );
}

// In one process the judge is bound once, at the pilot (issue #16 item 2): handing dev scoring
// or the verdict another judge does not compile (`tests/ui/mismatch_*.rs`). A directory
// reopened later with the wrong judge is refused before it scores dev or opens the test set.
#[tokio::test]
async fn wrong_judge_confident_verdict_is_refused_at_score_dev_and_verdict() {
    let t = ExpDir::new();
    let walk = |j: Named| {
        let store = Store::dir(t.path()).unwrap();
        async move {
            Experiment::new(frame_with("label-match", &[]))
                .unwrap()
                .register(store)
                .unwrap()
                .split_rows(rows(300))
                .unwrap()
                .pilot(Lineup::new(j).arms(arms()).options(fast_opts()))
                .await
        }
    };
    // Scored and sealed with the registered judge, then the process ends.
    let sealed = walk(judge("label-match"))
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
        .gate(&[])
        .unwrap()
        .seal()
        .unwrap();
    drop(sealed);
    // Reopened with the wrong judge: refused before dev is scored again or the test set opens.
    let err = walk(judge("exact")).await.unwrap_err();
    assert!(
        matches!(err.error, Error::JudgeNotRegistered { .. }),
        "{err}"
    );
    drop(err);
    let journal = journal_lines(t.path()).join("\n");
    assert!(
        !journal.contains("\"sealed-opened\""),
        "test set stays sealed"
    );
}

#[tokio::test]
async fn wrong_rubric_is_refused_at_pilot() {
    let frame = {
        let mut f = frame_with("llm:judge", &[]);
        f.metric.rubric = Some("Score 1 when the category is right.".into());
        f
    };
    let exp = Experiment::new(frame)
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(300))
        .unwrap();
    let other = Named {
        id: "llm:judge",
        rubric: Some("Score 1 when the answer looks plausible."),
    };
    let err = exp
        .pilot(Lineup::new(other).arms(arms()).options(fast_opts()))
        .await
        .unwrap_err();
    assert!(
        matches!(err.error, Error::JudgeNotRegistered { .. }),
        "{err}"
    );
    let same = Named {
        id: "llm:judge",
        rubric: Some("Score 1 when the category is right."),
    };
    err.experiment
        .pilot(Lineup::new(same).arms(arms()).options(fast_opts()))
        .await
        .unwrap();
}

// ---- 2. Misspelled major slice disables R3 (G19, G42) ----

#[test]
fn misspelled_major_slice_is_refused_at_split() {
    let err = Experiment::new(frame_with("exact", &["SMB"]))
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(300))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err.error,
            Error::Split(SplitError::UnknownMajorSlice { .. })
        ),
        "{msg}"
    );
    assert!(
        msg.contains("'SMB'") && msg.contains("smb") && msg.contains("enterprise"),
        "names the slice and the ones that exist: {msg}"
    );
    // Nothing was journaled: the split can be retried with the right frame elsewhere.
    let ok = Experiment::new(frame_with("exact", &["smb"]))
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(300));
    assert!(ok.is_ok());
}

// ---- 7. Re-scoring the test set after it was opened (G15, G39, G46) ----

/// `frame` on 300 rows walked with the shared test arms up to the sealed test set.
async fn sealed_on(store: Store, frame: Frame) -> Experiment<Sealed> {
    let j = RecordingJudge::new();
    Experiment::new(frame)
        .unwrap()
        .register(store)
        .unwrap()
        .split_rows(rows(300))
        .unwrap()
        .pilot(Lineup::new(j).arms(arms()).options(fast_opts()))
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
        .gate(&[])
        .unwrap()
        .seal()
        .unwrap()
}

/// The verdict of a sealed walk, its underpowered 300-row design accepted for `why`.
async fn verdict_of(sealed: Experiment<Sealed>, why: &str) -> Conclusion {
    sealed
        .with_options(accepting(why))
        .verdict(None)
        .await
        .unwrap()
}

/// A finished verdict in a directory, walked with the shared test arms.
async fn concluded(dir: &std::path::Path) -> Conclusion {
    let sealed = sealed_on(Store::dir(dir).unwrap(), frame_with("exact", &[])).await;
    verdict_of(
        sealed,
        "300-row fixture, underpowered; this test checks the journal and report files",
    )
    .await
}

fn journal_lines(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn journal_truncated_before_sealed_opened_is_refused() {
    let t = ExpDir::new();
    concluded(t.path()).await;
    let lines = journal_lines(t.path());
    let opened = lines
        .iter()
        .position(|l| l.contains("\"sealed-opened\""))
        .unwrap();
    // Cut the journal just before the test set was opened: the chain of what is left verifies.
    std::fs::write(
        t.path().join("journal.jsonl"),
        lines[..opened].join("\n") + "\n",
    )
    .unwrap();
    let err = Store::dir(t.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::TruncatedAfterOpening { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("sealed-opened.json"), "{err}");
}

#[tokio::test]
async fn journal_truncated_mid_test_pass_resumes_with_the_locked_versions_only() {
    let t = ExpDir::new();
    let first = concluded(t.path()).await;
    let lines = journal_lines(t.path());
    let opened = lines
        .iter()
        .position(|l| l.contains("\"sealed-opened\""))
        .unwrap();
    // A crash a few calls into the test pass: the marker's line is still there.
    std::fs::write(
        t.path().join("journal.jsonl"),
        lines[..opened + 5].join("\n") + "\n",
    )
    .unwrap();
    // Another version of a locked arm (an edited script) is refused, never scored: the process
    // that resumes is refused at its pilot, before any call (G23, G39). (Within one process the
    // lineup cannot change after the pilot: `tests/ui/mismatch_verdict_with_other_arms.rs`.)
    let mut edited = standard_arms();
    edited[1].spec_text = Some("the edited script".into());
    let err = Experiment::new(frame_with("exact", &[]))
        .unwrap()
        .register(Store::dir(t.path()).unwrap())
        .unwrap()
        .split_rows(rows(300))
        .unwrap()
        .pilot(
            Lineup::new(RecordingJudge::new())
                .arms(boxed(edited.into()))
                .options(fast_opts()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err.error, Error::Run(RunError::SpecChanged { .. })),
        "{err}"
    );
    drop(err);
    // The same versions finish the pass with the same verdict.
    let sealed = sealed_on(Store::dir(t.path()).unwrap(), frame_with("exact", &[])).await;
    let again = sealed
        .with_options(accepting(
            "300-row fixture, underpowered; this test checks the journal and report files",
        ))
        .verdict(None)
        .await
        .unwrap();
    assert_eq!(again.verdict.decision, first.verdict.decision);
}

// ---- 8. Edited report files are believed (G40) ----

#[tokio::test]
async fn edited_report_files_are_refused_and_conclusion_re_renders_byte_identically() {
    let t = ExpDir::new();
    concluded(t.path()).await;
    let store = Store::dir(t.path()).unwrap();
    assert_eq!(report::check_report_files(&store).unwrap().len(), 3);
    for file in ["data.json", "verdict.json", "conclusion.md"] {
        let path = t.path().join(file);
        let original = std::fs::read(&path).unwrap();
        let mut edited = original.clone();
        edited.extend_from_slice(b" ");
        std::fs::write(&path, &edited).unwrap();
        let err = report::check_report_files(&store).unwrap_err();
        assert!(
            matches!(&err, StoreError::ReportEdited { file: f, .. } if f == file),
            "{err}"
        );
        if file == "conclusion.md" {
            // A re-render from the journal restores it byte for byte.
            rewrite_conclusion(t.path()).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), original);
        } else {
            // Never rendered from an edited file.
            let err = rewrite_conclusion(t.path()).unwrap_err();
            assert!(err.to_string().contains(file), "{err}");
            std::fs::write(&path, &original).unwrap();
        }
        report::check_report_files(&store).unwrap();
    }
}

// ---- 8. The same sealed test set, reopened elsewhere (G15; issue #13, item 6) ----

/// `frame_with("exact", &[])` with another threshold: a drifted registration.
fn frame_at(threshold_pp: f64) -> Frame {
    Frame::builder("integrity", "Does a beat base?", "a is more accurate.")
        .baseline("base", "src/lib.rs:1")
        .arm("arm-alpha-7f3", "base", "better prompt")
        .arm("arm-beta-9c1", "base", "other model")
        .metric("accuracy", "exact")
        .threshold_pp(threshold_pp)
        .slice_loss_floor_pp(-2.0)
        .trials(1)
        .deterministic(true)
        .seed(11)
        .build()
        .unwrap()
}

#[tokio::test]
async fn same_rows_reopened_in_a_new_directory_are_refused_as_spent() {
    // Two experiment directories under one runs directory, as the CLI makes them.
    let runs = tempfile::tempdir().unwrap();
    let first = runs.path().join("first");
    concluded(&first).await;
    // The threshold drifts from 5pp to 2pp in a new directory, on the same rows.
    let second = Experiment::new(frame_at(2.0))
        .unwrap()
        .register(Store::dir(runs.path().join("second")).unwrap())
        .unwrap()
        .split_rows(rows(300));
    let err = match second {
        Ok(_) => panic!(
            "the test rows the first experiment opened were sealed again in a new directory: a fresh verdict on a spent test set (G15)"
        ),
        Err(r) => r.error.to_string(),
    };
    assert!(err.contains("first") && err.contains("G15"), "{err}");
    assert!(err.contains("reuse_test"), "{err}");
    // Nothing was journaled past the registration in the refused directory.
    let lines = journal_lines(&runs.path().join("second"));
    assert!(lines.iter().all(|l| !l.contains("\"split\"")), "{lines:?}");
}

/// The whole walk on `store` with the shared test arms.
async fn walk(store: Store, frame: Frame) -> Conclusion {
    let sealed = sealed_on(store, frame).await;
    verdict_of(
        sealed,
        "300-row fixture, underpowered; this test checks the spent-test ledger",
    )
    .await
}

fn fresh_item(c: &Conclusion) -> &report::AuditItem {
    c.audit
        .iter()
        .find(|a| a.item.starts_with("test set fresh"))
        .unwrap()
}

#[tokio::test]
async fn declared_reuse_of_spent_rows_is_labelled_not_fresh_everywhere_and_fails_the_audit() {
    let runs = tempfile::tempdir().unwrap();
    let first = concluded(&runs.path().join("first")).await;
    assert_eq!(fresh_item(&first).status, report::AuditStatus::Pass);
    assert_eq!(first.report.verdict.not_fresh_test_set, None);
    assert!(!first.conclusion_md.contains("Not a fresh test set"));

    let mut drifted = frame_at(2.0);
    drifted.reuse_test = Some("re-checking the 2pp question on the same held-out rows".into());
    let second = walk(Store::dir(runs.path().join("second")).unwrap(), drifted).await;
    let label = second.report.verdict.not_fresh_test_set.clone().unwrap();
    assert!(label.starts_with("not a fresh test set"), "{label}");
    assert!(
        label.contains("60 test row(s)") && label.contains("first"),
        "{label}"
    );
    assert!(
        second
            .conclusion_md
            .contains("**Not a fresh test set (G15).**")
    );
    let data = std::fs::read_to_string(runs.path().join("second/data.json")).unwrap();
    assert!(
        data.contains("not_fresh_test_set"),
        "data.json carries the label"
    );
    let item = fresh_item(&second);
    assert_eq!(item.status, report::AuditStatus::Fail, "{item:?}");
    assert!(
        item.evidence.contains("re-checking the 2pp question"),
        "{item:?}"
    );
}

#[tokio::test]
async fn resume_after_a_crash_between_ledger_line_and_sealed_opened_is_not_refused() {
    let t = ExpDir::new();
    concluded(t.path()).await;
    let ledger = t.path().parent().unwrap().join(".itera-spent-tests.jsonl");
    assert_eq!(std::fs::read_to_string(&ledger).unwrap().lines().count(), 1);
    // The process died after the ledger line and before `sealed-opened`: cut the journal there
    // (no marker was written yet either).
    let lines = journal_lines(t.path());
    let opened = lines
        .iter()
        .position(|l| l.contains("\"sealed-opened\""))
        .unwrap();
    std::fs::write(
        t.path().join("journal.jsonl"),
        lines[..opened].join("\n") + "\n",
    )
    .unwrap();
    std::fs::remove_file(t.path().join("sealed-opened.json")).unwrap();
    // Resuming the same experiment: its own ledger line neither refuses it nor is written twice.
    let c = concluded(t.path()).await;
    assert_eq!(fresh_item(&c).status, report::AuditStatus::Pass);
    assert_eq!(std::fs::read_to_string(&ledger).unwrap().lines().count(), 1);
}

// ---- 9. An underpowered design opens the test set anyway (G20, G45) ----

/// A sealed experiment on the shared fixture: 300 rows (60 test), binary scores, T = 5pp — the
/// dev per-row variance of the difference puts its MDE far above T (underpowered by design).
async fn sealed(dir: &std::path::Path) -> Experiment<Sealed> {
    sealed_on(Store::dir(dir).unwrap(), frame_with("exact", &[])).await
}

#[tokio::test]
async fn underpowered_design_is_refused_before_the_test_set_opens() {
    // Its own runs directory: the accepted retry opens the test set and spends its rows (G15).
    let t = ExpDir::new();
    let exp = sealed(t.path()).await;
    let refused = exp
        .verdict(None)
        .await
        .expect_err("an underpowered design is refused without explicit acceptance (G20)");
    let msg = refused.error.to_string();
    assert!(msg.contains("underpowered"), "{msg}");
    assert!(msg.contains("arm-alpha-7f3"), "names the arm: {msg}");
    assert!(msg.contains("accept"), "says how to accept: {msg}");
    // Nothing about the test set was opened: no sealed-opened event, no marker, no test call.
    let journal = journal_lines(t.path()).join("\n");
    assert!(
        !journal.contains("\"sealed-opened\""),
        "test set stays sealed"
    );
    assert!(!journal.contains("\"part\":\"test\""), "no test call");
    assert!(!t.path().join("sealed-opened.json").exists());
    assert!(matches!(
        refused.error,
        Error::Verdict(VerdictError::Underpowered(_))
    ));
    // The refusal leaves the experiment sealed and retryable with explicit acceptance, which is
    // journaled with the plan and fails the self-audit's power item.
    let accept = RunOptions {
        accept_underpowered: Some("a directional read on 60 test rows is all we need".into()),
        ..fast_opts()
    };
    let c = refused
        .experiment
        .with_options(accept)
        .verdict(None)
        .await
        .unwrap();
    let journal = journal_lines(t.path()).join("\n");
    assert!(journal.contains("a directional read on 60 test rows is all we need"));
    let item = c
        .audit
        .iter()
        .find(|i| i.item.contains("power"))
        .expect("a power item in the self-audit");
    assert_eq!(item.status, report::AuditStatus::Fail, "{item:?}");
    assert!(
        c.conclusion_md
            .contains("a directional read on 60 test rows is all we need")
    );
}
