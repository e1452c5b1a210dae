//! Issue #13 hole 15, the last of "no silent wrong verdict": the label-noise audit (G18) that
//! was always ❌, the no-effect iteration that never said whether its changed path ran (G38),
//! and the k-fold mode whose folds were assigned but never read (METHOD.md §3). Each test is
//! named after the attack and failed before its fix.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use async_trait::async_trait;
use common::*;
use itera_core::iterate::gate::ChangeClass;
use itera_core::iterate::iteration::{IterationVerdict, PathCheck};
use itera_core::report::AuditStatus;
use itera_core::*;
use serde_json::Value;

fn synthetic_frame() -> Frame {
    Frame::builder("hole15", "Does a beat base?", "a is more accurate.")
        .baseline("base", "src/lib.rs:1")
        .arm("arm-alpha-7f3", "base", "better prompt")
        .arm("arm-beta-9c1", "base", "other model")
        .metric("accuracy", "exact")
        .threshold_pp(5.0)
        .slice_loss_floor_pp(-2.0)
        .trials(3)
        .seed(11)
        .synthetic_source(true)
        .build()
        .unwrap()
}

async fn scored(frame: Frame, n: usize) -> Experiment<Scored> {
    let arms = boxed(standard_arms().into());
    let j = RecordingJudge::new();
    Experiment::new(frame)
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(n))
        .unwrap()
        .pilot(Lineup::new(j).arms(arms).options(fast_opts()))
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// G18: label-noise audit for synthetic sources.

/// Before the fix a synthetic-source experiment sealed its test set with no label check at all;
/// the self-audit then printed an unconditional ❌ that nothing could turn green.
#[tokio::test]
async fn synthetic_source_sealed_without_a_label_audit_is_refused() {
    let exp = scored(synthetic_frame(), 300).await;
    let Err(err) = exp.gate(&[]).unwrap().seal() else {
        panic!("seal must refuse");
    };
    let msg = err.error.to_string();
    assert!(msg.contains("G18"), "{msg}");
    assert!(
        msg.contains("label-audit") && msg.contains("record_label_audit"),
        "{msg}"
    );
}

/// The reviewer sees the baseline's failing dev rows (seeded, at most 30), records the
/// agreement, and the audit item shows it with its Wilson 95% CI. Reference: statsmodels
/// `proportion_confint(27, 30, alpha=0.05, method="wilson")` = (0.74379, 0.96540).
#[tokio::test]
async fn recorded_label_audit_unlocks_seal_and_the_audit_shows_agreement_with_wilson_ci() {
    let exp = scored(synthetic_frame(), 300).await;
    let sample = exp.label_audit_sample().unwrap();
    assert_eq!(sample.len(), 30, "a seeded sample of 30 baseline failures");
    // The same sample on a second call (seeded), and every shown row joins the seen set (G17).
    let again: Vec<_> = exp.label_audit_sample().unwrap();
    assert_eq!(
        sample.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        again.iter().map(|r| r.id.clone()).collect::<Vec<_>>()
    );
    let ledger = exp.ledger().unwrap();
    assert!(sample.iter().all(|r| ledger.seen.contains(&r.id)));
    // A count that does not match the sample is refused, naming the sample size.
    let wrong = exp.record_label_audit(27, 29).unwrap_err().to_string();
    assert!(wrong.contains("30"), "{wrong}");
    exp.record_label_audit(27, 30).unwrap();
    let sealed = exp.gate(&[]).unwrap().seal().unwrap();
    let c = sealed
        .with_options(accepting(
            "300-row fixture; this test checks the label-noise audit item",
        ))
        .verdict(None)
        .await
        .unwrap();
    let item = c
        .audit
        .iter()
        .find(|a| a.item == "label-noise audit")
        .unwrap();
    assert_eq!(item.status, AuditStatus::Pass, "{}", item.evidence);
    assert!(item.evidence.contains("27/30"), "{}", item.evidence);
    assert!(
        item.evidence.contains("[74.4%, 96.5%]"),
        "{}",
        item.evidence
    );
}

/// The seal refused for a missing audit hands the gated experiment back; the audit is done on it
/// and the seal goes through — no need to reopen the experiment.
#[tokio::test]
async fn a_seal_refused_for_g18_is_fixed_on_the_experiment_it_hands_back() {
    let exp = scored(synthetic_frame(), 300).await;
    let Err(rejected) = exp.gate(&[]).unwrap().seal() else {
        panic!("seal must refuse");
    };
    let gated = rejected.experiment;
    let n = gated.label_audit_sample().unwrap().len();
    gated.record_label_audit(n, n).unwrap();
    // Never replaced: a second record is refused.
    let again = gated.record_label_audit(0, n).unwrap_err().to_string();
    assert!(again.contains("never replaced"), "{again}");
    assert!(gated.seal().is_ok());
}

/// A label audit recorded with no sample shown is a number nobody checked: refused.
#[tokio::test]
async fn a_label_audit_recorded_before_its_sample_was_shown_is_refused() {
    let exp = scored(synthetic_frame(), 300).await;
    let msg = exp.record_label_audit(30, 30).unwrap_err().to_string();
    assert!(msg.contains("label_audit_sample"), "{msg}");
}

// ---------------------------------------------------------------------------------------------
// k-fold mode (below 50 rows): reveal from one fold, judge generalization on the others.

/// Before the fix the folds were written to the journal and read by nothing: any dev row could
/// be revealed, so every fold was "seen" and none was left to judge generalization on.
#[tokio::test]
async fn small_data_reveal_outside_the_open_fold_is_refused() {
    let exp = scored(frame(3), 40).await;
    let folds = exp.plan().dev_folds().unwrap().to_vec();
    let ids: Vec<RowId> = exp.plan().dev_ids().into_iter().cloned().collect();
    let open = ids.iter().zip(&folds).find(|(_, f)| **f == 0).unwrap().0;
    let closed = ids.iter().zip(&folds).find(|(_, f)| **f != 0).unwrap().0;
    exp.reveal(open).unwrap();
    let msg = exp.reveal(closed).unwrap_err().to_string();
    assert!(msg.contains("fold") && msg.contains("§3"), "{msg}");
}

/// An iteration that improves exactly the open fold (the rows the user may read) and nothing
/// else memorizes it, even when no row was revealed one by one: the gate's seen-vs-unseen test
/// counts the whole open fold as seen and judges the gain on the other folds.
#[tokio::test]
async fn small_data_gate_judges_generalization_on_the_closed_folds() {
    let exp = scored(frame(3), 40).await;
    let folds = exp.plan().dev_folds().unwrap().to_vec();
    let ids: Vec<RowId> = exp.plan().dev_ids().into_iter().cloned().collect();
    let mut v1 = TestArm::new("arm-alpha-7f3", 0.8);
    v1.boost = ids
        .iter()
        .zip(&folds)
        .filter(|(_, f)| **f == 0)
        .map(|(id, _)| id.to_string())
        .collect();
    let exp = exp
        .iterate(
            Box::new(v1),
            "answers the open fold's rows",
            Some(ChangeClass::Universal),
        )
        .await
        .unwrap();
    let gated = exp.gate(&[]).unwrap();
    let alpha = gated
        .gate_report()
        .arms
        .iter()
        .find(|a| a.arm == "arm-alpha-7f3")
        .unwrap();
    let change = alpha.changes.iter().find(|c| c.version == 1).unwrap();
    let su = change.seen_unseen.as_ref().expect("seen-vs-unseen ran");
    assert!(su.memorization, "{su:?}");
    assert_eq!(change.class, ChangeClass::Hardcode);
}

// ---------------------------------------------------------------------------------------------
// G38: a no-effect iteration records whether the changed path ran on the failing rows.

/// An arm version whose answers equal the registered accuracy (no effect) and that traces the
/// path "cache-hit" on rows whose number is even.
struct Traced {
    inner: TestArm,
    spec: &'static str,
    changed: Vec<String>,
}

#[async_trait]
impl Arm for Traced {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn spec(&self) -> String {
        self.spec.to_string()
    }
    fn changed_paths(&self) -> Vec<String> {
        self.changed.clone()
    }
    async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let out = self.inner.call(input, ctx).await?;
        let n: usize = ctx.row_id.as_str()[1..].parse().unwrap();
        Ok(if n.is_multiple_of(2) {
            out.with_trace(["cache-hit"])
        } else {
            out.with_trace(["cache-miss"])
        })
    }
}

async fn no_effect_outcome(changed: &[&str]) -> Option<PathCheck> {
    let exp = scored(frame(3), 300).await;
    let v1 = Traced {
        inner: TestArm::new("arm-alpha-7f3", 0.8),
        spec: "alpha with a cache in front",
        changed: changed.iter().map(|s| s.to_string()).collect(),
    };
    let exp = exp
        .iterate(
            Box::new(v1),
            "a cache makes answers better",
            Some(ChangeClass::Universal),
        )
        .await
        .unwrap();
    let entries = exp.store().entries().unwrap();
    entries.iter().find_map(|e| match &e.event {
        Event::IterationOutcome {
            outcome,
            path_check,
            ..
        } => {
            assert_eq!(*outcome, IterationVerdict::Neutral);
            path_check.clone()
        }
        _ => None,
    })
}

/// Before the fix a neutral iteration recorded only its CI: nothing said whether the changed
/// code ran at all on the rows it was meant to fix.
#[tokio::test]
async fn no_effect_iteration_records_whether_the_changed_path_ran_on_failing_rows() {
    match no_effect_outcome(&["cache-hit"]).await {
        Some(PathCheck::Traced {
            paths,
            ran,
            failing,
        }) => {
            assert_eq!(paths, vec!["cache-hit".to_string()]);
            assert!(failing > 0 && ran > 0 && ran < failing, "{ran}/{failing}");
        }
        other => panic!("expected a traced path check, got {other:?}"),
    }
}

/// With no changed path declared, the outcome says "not traced" — never that it ran.
#[tokio::test]
async fn no_effect_iteration_without_a_declared_path_says_not_traced() {
    assert_eq!(no_effect_outcome(&[]).await, Some(PathCheck::NotDeclared));
}
