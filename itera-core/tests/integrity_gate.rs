//! Attacks on the generalization gate (G35) and on locking (G37), from the issue "No silent
//! wrong verdict": a minority hardcode, literals the leak detector missed, the gate reading the
//! sealed test set, and a silent revert.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use common::*;
use itera_core::iterate::gate::{ChangeClass, GateOutcome, LeakScope, detect_leaks};
use itera_core::*;
use std::collections::BTreeSet;

const ARM: &str = "arm-alpha-7f3";
/// The registered spec of [`alpha`] at accuracy 0.7.
const REGISTERED: &str = "test arm arm-alpha-7f3 accuracy 0.7 boosted 0";

fn one_arm_frame() -> Frame {
    let mut f = frame(3);
    f.arms.truncate(1);
    f
}

/// Baseline (60%) and one arm (70%) scored on the dev part of 200 rows.
async fn scored() -> Experiment<Scored> {
    let judge = RecordingJudge::new();
    let arms = boxed(vec![TestArm::new("base", 0.6), TestArm::new(ARM, 0.7)]);
    let exp = Experiment::new(one_arm_frame())
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(200))
        .unwrap()
        .pilot(Lineup::new(judge).arms(arms).options(fast_opts()))
        .await
        .unwrap();
    exp.score_dev().await.unwrap()
}

/// A version of the arm with the given accuracy and spec text.
fn version(accuracy: f64, spec: &str) -> TestArm {
    let mut a = TestArm::new(ARM, accuracy);
    a.spec_text = Some(spec.to_string());
    a
}

async fn iterate(
    exp: Experiment<Scored>,
    arm: TestArm,
    hypothesis: &str,
) -> Result<Experiment<Scored>, Rejected<Scored>> {
    exp.iterate(Box::new(arm), hypothesis, Some(ChangeClass::Universal))
        .await
}

/// Reveals the fourth dev row and returns its text.
fn reveal_one(exp: &Experiment<Scored>) -> (RowId, String) {
    let id = exp.plan().dev_ids()[3].clone();
    let text = exp.reveal(&id).unwrap().input["text"]
        .as_str()
        .unwrap()
        .to_string();
    (id, text)
}

// ---- 3. a minority hardcode ----

/// Three changes, the second pasting a revealed dev row: v1 universal, v2 hardcode, v3 universal.
async fn three_changes_one_hardcode() -> (Experiment<Scored>, String, String) {
    let exp = scored().await;
    let (_, text) = reveal_one(&exp);
    let v1 = format!("{REGISTERED}\nuse a worked example");
    let v2 = format!("{v1}\nif the text is \"{text}\" answer travel");
    let v3 = format!("{v2}\nuse a glossary");
    let exp = iterate(exp, version(0.75, &v1), "a worked example helps")
        .await
        .unwrap();
    let exp = iterate(exp, version(0.8, &v2), "this row is travel")
        .await
        .unwrap();
    let exp = iterate(exp, version(0.85, &v3), "a glossary helps")
        .await
        .unwrap();
    (exp, text, v3)
}

#[tokio::test]
async fn a_minority_hardcode_blocks_the_gate_and_is_never_locked() {
    let (exp, text, _) = three_changes_one_hardcode().await;
    let gated = exp.gate(&[]).unwrap();
    let arm = gated.gate_report().arms[0].clone();
    assert_eq!(format!("{:?}", arm.outcome), "Blocked", "{}", arm.reason);
    assert!(
        arm.reason.contains("v1 universal, v2 hardcode (leaks: ")
            && arm.reason.contains(&format!("'{}'", text.to_lowercase()))
            && arm.reason.contains("), v3 universal"),
        "{}",
        arm.reason
    );
    let rejected = gated.seal().unwrap_err();
    let msg = rejected.error.to_string();
    assert!(
        msg.contains(ARM)
            && msg
                .contains("remove the hardcode in a new iteration (or revert) and re-run the gate"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_blocked_hardcode_cannot_slip_through_a_later_sprint() {
    let (exp, _, v3) = three_changes_one_hardcode().await;
    let exp = exp.gate(&[]).unwrap().next_sprint(None).unwrap();
    // A fourth, general change that keeps the pasted row.
    let v4 = format!("{v3}\nthink step by step");
    let exp = iterate(exp, version(0.9, &v4), "reasoning helps")
        .await
        .unwrap();
    let gated = exp.gate(&[]).unwrap();
    let arm = &gated.gate_report().arms[0];
    assert_eq!(format!("{:?}", arm.outcome), "Blocked", "{}", arm.reason);
    assert!(gated.seal().is_err());
}

// ---- 4. leak detector bypasses ----

fn row(id: &str, text: &str) -> Row {
    Row::new(id, text).expected("travel")
}

/// The leak detector with `d1` revealed.
fn leaks(old: &str, new: &str, train: &[Row], dev: &[Row]) -> Vec<String> {
    let revealed = BTreeSet::from([RowId::from("d1")]);
    let scope = LeakScope {
        baseline_spec: old,
        registration: "",
        train,
        dev,
        revealed: &revealed,
    };
    detect_leaks(old, new, &scope)
        .into_iter()
        .map(|l| l.literal)
        .collect()
}

#[test]
fn a_lower_case_name_from_a_dev_row_leaks() {
    let train = vec![row("t1", "paid paypal 120 for hosting")];
    let dev = vec![row("d1", "paid stripe 88 for seats")];
    let old = "Categorize the payment.";
    let new = format!("{old}\nIf the vendor is stripe, answer software.");
    let leaks = leaks(old, &new, &train, &dev);
    assert!(leaks.iter().any(|l| l == "stripe"), "{leaks:?}");
}

#[test]
fn an_acronym_from_a_dev_row_leaks() {
    let train = vec![row("t1", "paid Oracle 120 for hosting")];
    let dev = vec![row("d1", "paid IBM 5 for seats")];
    let old = "Categorize the payment.";
    let new = format!("{old}\nIBM is always software.");
    let leaks = leaks(old, &new, &train, &dev);
    assert!(leaks.iter().any(|l| l == "ibm"), "{leaks:?}");
}

#[test]
fn a_short_id_from_a_dev_row_leaks() {
    let train = vec![row("t1", "paid Oracle 120 for hosting, plan B1")];
    let dev = vec![row("d1", "paid Oracle 5 for seats, plan X7")];
    let old = "Categorize the payment.";
    let new = format!("{old}\nPlan X7 is travel.");
    let leaks = leaks(old, &new, &train, &dev);
    assert!(leaks.iter().any(|l| l == "x7"), "{leaks:?}");
}

/// 100 planted hardcodes of six shapes copied from revealed dev rows, and 100 general edits
/// (common instruction words, words of train rows, words of the baseline spec), drawn by a
/// seeded generator: the detector catches ≥ 95% of the first and raises ≤ 5% false alarms on
/// the second.
#[test]
fn leak_detector_measured_on_100_planted_hardcodes_and_100_general_edits() {
    use leakgen::*;
    let mut g = Gen::new(35);
    let (mut caught, mut alarms) = (0usize, 0usize);
    let mut missed = Vec::new();
    let mut false_alarms = Vec::new();
    for case in 0..100 {
        let world = g.world();
        let old = format!("{BASELINE}\nAnswer with one word.");
        let (shape, literal) = g.plant(&world, case);
        let planted = format!("{old}\n{}", g.hardcode_sentence(&literal));
        let leaks = detect(&old, &planted, &world);
        let lit = literal.to_lowercase();
        if leaks
            .iter()
            .any(|l| l.contains(&lit) || lit.contains(l.as_str()))
        {
            caught += 1;
        } else {
            missed.push(format!("{shape}: {literal}"));
        }
        let general = format!("{old}\n{}", g.general_edit(&world, case));
        let leaks = detect(&old, &general, &world);
        if !leaks.is_empty() {
            alarms += 1;
            false_alarms.push(format!("{general:?} -> {leaks:?}"));
        }
    }
    println!(
        "leak detector: caught {caught}/100 planted hardcodes, {alarms}/100 false alarms on general edits"
    );
    println!("missed: {missed:?}");
    println!("false alarms: {false_alarms:?}");
    assert!(caught >= 95, "caught {caught}/100: {missed:?}");
    assert!(alarms <= 5, "{alarms}/100 false alarms: {false_alarms:?}");
}

/// The synthetic worlds of the leak-detector measurement.
#[path = "integrity_gate/leakgen.rs"]
mod leakgen;

// ---- 5. the gate never reads the sealed test set ----

#[tokio::test]
async fn the_gate_never_reads_test_rows() {
    let exp = scored().await;
    let all: Vec<RowId> = rows(200).into_iter().map(|r| r.id).collect();
    let train: Vec<RowId> = exp.train_rows().iter().map(|r| r.id.clone()).collect();
    let dev: Vec<RowId> = exp.plan().dev_ids().into_iter().cloned().collect();
    // A test row with a number of at least two digits; its text "txn <i>" occurs in no other row.
    let test_id = all
        .iter()
        .find(|id| !train.contains(id) && !dev.contains(id) && id.as_str() >= "r0010")
        .unwrap();
    let i: u32 = test_id.as_str().trim_start_matches('r').parse().unwrap();
    let spec = format!("{REGISTERED}\nif you see txn {i} answer travel");
    let exp = iterate(exp, version(0.75, &spec), "this test row is travel")
        .await
        .unwrap();
    let gated = exp.gate(&[]).unwrap();
    let change = &gated.gate_report().arms[0].changes[0];
    assert!(
        change.leaks.is_empty(),
        "the gate reported a literal found only in test rows: {:?}",
        change.leaks
    );
    let gate_line = serde_json::to_string(&gated.gate_report()).unwrap();
    assert!(
        !gate_line.contains("test_rows"),
        "the gate event carries something about test rows: {gate_line}"
    );
}

// ---- 13. a silent revert ----

#[tokio::test]
async fn submitting_an_earlier_spec_is_refused_not_silently_ignored() {
    let exp = scored().await;
    let v1 = format!("{REGISTERED}\nuse a worked example");
    let v2 = format!("{v1}\nanswer in one word");
    let exp = iterate(exp, version(0.8, &v1), "a worked example helps")
        .await
        .unwrap();
    let exp = iterate(exp, version(0.8, &v2), "shorter answers help")
        .await
        .unwrap();
    let rejected = iterate(exp, version(0.8, &v1), "back to v1")
        .await
        .unwrap_err();
    let msg = rejected.error.to_string();
    assert!(
        msg.contains(&format!("arm {ARM}'s spec equals v1")) && msg.contains("revert("),
        "{msg}"
    );
    // Nothing was journaled for the refused submission.
    let ledger = rejected.experiment.ledger().unwrap();
    assert_eq!(ledger.latest(ARM).unwrap().key.version, 2);
}

#[tokio::test]
async fn a_revert_is_a_deleted_change_and_is_locked() {
    let exp = scored().await;
    let v1 = format!("{REGISTERED}\nuse a worked example");
    let v2 = format!("{v1}\nanswer in one word");
    let exp = iterate(exp, version(0.8, &v1), "a worked example helps")
        .await
        .unwrap();
    let exp = iterate(exp, version(0.6, &v2), "shorter answers help")
        .await
        .unwrap(); // falsified: closes the sprint
    let v1_hash = exp.ledger().unwrap().latest(ARM).unwrap().key.clone();
    assert_eq!(v1_hash.version, 2);
    let exp = exp.revert(ARM, 1, "v2 was falsified").unwrap();
    let ledger = exp.ledger().unwrap();
    let v3 = ledger.latest(ARM).unwrap();
    let v1r = ledger.versions.iter().find(|v| v.key.version == 1).unwrap();
    assert_eq!(v3.key.version, 3);
    assert_eq!(v3.reverts_to, Some(1));
    assert_eq!(v3.class, Some(ChangeClass::Deleted));
    assert_eq!(
        (&v3.spec, &v3.key.spec_hash),
        (&v1r.spec, &v1r.key.spec_hash)
    );
    assert!(v3.hypothesis.as_deref().unwrap().contains("revert to v1"));
    // Scored from the journaled calls of v1's spec: its outcome against v2 is recorded.
    assert!(v3.outcome.is_some());
    let gated = exp.gate(&[]).unwrap();
    let arm = &gated.gate_report().arms[0];
    let revert = arm.changes.iter().find(|c| c.version == 3).unwrap();
    assert_eq!(revert.class, ChangeClass::Deleted);
    assert_eq!(revert.reverts_to, Some(1));
    // v2 was undone by the revert: the gate reviews v1 and the revert.
    assert_eq!(
        arm.changes.iter().map(|c| c.version).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(
        matches!(arm.outcome, GateOutcome::Continue | GateOutcome::Lock),
        "{}",
        arm.reason
    );
    assert!(
        arm.reason.contains("v3 deleted (revert to v1)"),
        "{}",
        arm.reason
    );
    let sealed = gated.seal().unwrap();
    assert_eq!(sealed.locked()[0].version, 3);
    assert_eq!(sealed.locked()[0].spec_hash, v1r.key.spec_hash);
}

#[tokio::test]
async fn a_revert_needs_an_earlier_version_and_a_reason() {
    let exp = scored().await;
    let v1 = format!("{REGISTERED}\nuse a worked example");
    let exp = iterate(exp, version(0.8, &v1), "a worked example helps")
        .await
        .unwrap();
    let r = exp.revert(ARM, 1, "why not").unwrap_err();
    assert!(
        r.error.to_string().contains("no version v1 before"),
        "{}",
        r.error
    );
    let r = r.experiment.revert(ARM, 0, " ").unwrap_err();
    assert!(r.error.to_string().contains("reason"), "{}", r.error);
    let r = r.experiment.revert("base", 0, "x").unwrap_err();
    assert!(r.error.to_string().contains("baseline"), "{}", r.error);
    // Nothing journaled by the refusals.
    assert_eq!(
        r.experiment
            .ledger()
            .unwrap()
            .latest(ARM)
            .unwrap()
            .key
            .version,
        1
    );
}

#[tokio::test]
async fn a_blocked_arm_passes_after_reverting_the_hardcode() {
    let (exp, _, _) = three_changes_one_hardcode().await;
    let exp = exp.gate(&[]).unwrap().next_sprint(None).unwrap();
    let exp = exp.revert(ARM, 1, "v2 pasted a dev row").unwrap();
    let gated = exp.gate(&[]).unwrap();
    let arm = &gated.gate_report().arms[0];
    assert!(
        matches!(arm.outcome, GateOutcome::Continue | GateOutcome::Lock),
        "{}",
        arm.reason
    );
    let sealed = gated.seal().unwrap();
    assert_eq!(sealed.locked()[0].version, 4);
}

#[tokio::test]
async fn a_blocked_arm_passes_after_removing_the_hardcode_in_a_new_iteration() {
    let (exp, _, _) = three_changes_one_hardcode().await;
    let exp = exp.gate(&[]).unwrap().next_sprint(None).unwrap();
    let v4 = format!("{REGISTERED}\nuse a worked example\nuse a glossary");
    let exp = exp
        .iterate(
            Box::new(version(0.9, &v4)),
            "drop the pasted row",
            Some(ChangeClass::Deleted),
        )
        .await
        .unwrap();
    let gated = exp.gate(&[]).unwrap();
    let arm = &gated.gate_report().arms[0];
    assert!(
        matches!(arm.outcome, GateOutcome::Continue | GateOutcome::Lock),
        "{}",
        arm.reason
    );
    assert_eq!(gated.seal().unwrap().locked()[0].version, 4);
}

#[tokio::test]
async fn a_blocked_arm_can_be_given_up_and_is_then_killed() {
    let (exp, _, _) = three_changes_one_hardcode().await;
    let gated = exp.gate(&[]).unwrap();
    let gated = gated.give_up(ARM, "no time to redo it").unwrap();
    assert_eq!(gated.gate_report().arms[0].outcome, GateOutcome::Kill);
    let sealed = gated.seal().unwrap();
    assert!(sealed.locked().is_empty());
    assert_eq!(sealed.killed(), &[ARM.to_string()]);
}

/// Hardcodes kill the arm only when they are most of its changes: two of three kill, one of two
/// blocks.
#[tokio::test]
async fn only_a_majority_of_hardcodes_kills_the_arm() {
    for (changes, declared_hard, want) in [
        (3, 2, GateOutcome::Kill),
        (2, 1, GateOutcome::Blocked),
        (1, 1, GateOutcome::Kill),
    ] {
        let mut exp = scored().await;
        let mut spec = REGISTERED.to_string();
        for v in 1..=changes {
            spec = format!("{spec}\nchange {v}");
            let class = if v <= declared_hard {
                ChangeClass::Hardcode
            } else {
                ChangeClass::Universal
            };
            exp = exp
                .iterate(
                    Box::new(version(0.7 + 0.05 * f64::from(v), &spec)),
                    "a change",
                    Some(class),
                )
                .await
                .unwrap();
        }
        let gated = exp.gate(&[]).unwrap();
        let arm = &gated.gate_report().arms[0];
        assert_eq!(arm.outcome, want, "{changes} changes: {}", arm.reason);
        assert!(
            arm.reason.contains("v1 hardcode (declared)"),
            "{}",
            arm.reason
        );
    }
}
