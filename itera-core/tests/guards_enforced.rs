//! Guards whose enforcement no other test reached (issue #13: "each guard enforced, with the test
//! that would fail if the enforcement were removed"). Each test is an attack named after what it
//! tries; each was checked by removing the enforcement it names and seeing it fail. The journal
//! attacks rewrite a directory's journal the way another tool could — every line re-chained, so
//! the hash chain alone does not catch them — to reach the checks that sit behind the chain.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use common::*;
use itera_core::iterate::gate::{ChangeClass, GateOutcome};
use itera_core::*;
use serde_json::Value;

const DEV_ROWS: usize = 90;

/// Rewrites a directory's journal: `edit` may change any line's event (it says whether it did),
/// and every line is re-chained (sequence kept, previous hash and own hash recomputed), so the
/// result is a journal that verifies. Panics when `edit` changed nothing.
fn rewrite_journal(dir: &std::path::Path, mut edit: impl FnMut(&mut Value) -> bool) {
    use sha2::{Digest, Sha256};
    let path = dir.join("journal.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut prev = Value::Null;
    let mut edited = false;
    let mut out = String::new();
    for line in text.lines() {
        let mut entry: Value = serde_json::from_str(line).unwrap();
        edited |= edit(&mut entry["event"]);
        let map = entry.as_object_mut().unwrap();
        map.remove("hash");
        if !prev.is_null() {
            map.insert("prev".into(), prev.clone());
        }
        let hash: String = Sha256::digest(canonical(&entry).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        entry["hash"] = Value::String(hash.clone());
        prev = Value::String(hash);
        out.push_str(&canonical(&entry));
        out.push('\n');
    }
    assert!(edited, "the edit matched no journal line");
    std::fs::write(&path, out).unwrap();
}

/// The shared frame (three trials, two arms), registered and split in `dir`.
fn split_in(dir: &std::path::Path) -> Experiment<Split> {
    Experiment::new(frame(3))
        .unwrap()
        .register(Store::dir(dir).unwrap())
        .unwrap()
        .split_rows(rows(DEV_ROWS))
        .unwrap()
}

/// The standard arms with the registered judge.
fn lineup() -> Lineup {
    Lineup::new(RecordingJudge::new())
        .arms(boxed(standard_arms().into()))
        .options(fast_opts())
}

/// Piloted and dev-scored in `dir` with the registered judge.
async fn scored_in(dir: &std::path::Path) -> Experiment<Scored> {
    split_in(dir)
        .pilot(lineup())
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
}

/// Gated with no iteration and sealed in `dir`.
async fn sealed_in(dir: &std::path::Path) -> Experiment<Sealed> {
    scored_in(dir).await.gate(&[]).unwrap().seal().unwrap()
}

async fn verdict_error(exp: Experiment<Sealed>) -> String {
    exp.with_options(accepting(
        "small fixture; this test checks a refusal before the test pass",
    ))
    .verdict(None)
    .await
    .map(|_| ())
    .unwrap_err()
    .error
    .to_string()
}

// ---- G15: the commitment to the sealed test rows ----

// Attack: between sealing and the verdict, the journal's split line is rewritten (and the chain
// recomputed) to commit to another test set. The verdict re-verifies the commitment recorded at
// the split against the rows it is about to open (experiment/testpass.rs, CommitmentMismatch).
#[tokio::test]
async fn split_line_rewritten_to_another_test_commitment_is_refused_at_the_verdict() {
    let dir = ExpDir::new();
    let exp = sealed_in(dir.path()).await;
    rewrite_journal(dir.path(), |event| {
        let split = event["event"] == "split";
        if split {
            event["test_commitment"] = Value::String("0".repeat(64));
        }
        split
    });
    let err = verdict_error(exp).await;
    assert!(
        err.contains("do not match the commitment") && err.contains("G15"),
        "{err}"
    );
    assert!(!dir.path().join("data.json").exists(), "no verdict written");
}

// ---- G8: the judge and rubric locked ----

// Attack: the journal's run manifest is rewritten (chain recomputed) to say dev was scored by
// another judge. The verdict compares the judge it is given with the one the manifest says scored
// dev (experiment/testpass.rs, check_judge), so test scores never mix with dev scores of another
// judge.
#[tokio::test]
async fn manifest_rewritten_to_another_judge_is_refused_at_the_verdict() {
    let dir = ExpDir::new();
    let exp = sealed_in(dir.path()).await;
    rewrite_journal(dir.path(), |event| {
        let manifest = event["event"] == "manifest";
        if manifest {
            event["judge"] = Value::String("another-judge".into());
        }
        manifest
    });
    let err = verdict_error(exp).await;
    assert!(
        err.contains("is not the one that scored dev") && err.contains("another-judge"),
        "{err}"
    );
    assert!(!dir.path().join("data.json").exists(), "no verdict written");
}

// Attack: the run manifest is rewritten (chain recomputed) to name another judge, then the run
// is resumed. The pilot checks the judge it is given against the manifest before any call
// (run/pilot.rs, manifest: JudgeChanged), so a resumed run never scores under two judges.
#[tokio::test]
async fn manifest_rewritten_to_another_judge_is_refused_on_resume() {
    let dir = ExpDir::new();
    drop(scored_in(dir.path()).await);
    rewrite_journal(dir.path(), |event| {
        let manifest = event["event"] == "manifest";
        if manifest {
            event["judge"] = Value::String("another-judge".into());
        }
        manifest
    });
    let err = split_in(dir.path())
        .pilot(lineup())
        .await
        .map(|_| ())
        .unwrap_err()
        .error
        .to_string();
    assert!(
        err.contains("judge changed since the run started") && err.contains("another-judge"),
        "{err}"
    );
}

// Attack: one journaled dev score is rewritten as given under another rubric (chain
// recomputed), then the run is resumed. G8: a score under another rubric hash is rejected when
// the cube is rebuilt from the journal (run/runner.rs, JudgeChanged), not averaged in.
#[tokio::test]
async fn a_dev_score_rewritten_under_another_rubric_is_rejected_on_resume() {
    let dir = ExpDir::new();
    drop(scored_in(dir.path()).await);
    let mut done = false;
    rewrite_journal(dir.path(), |event| {
        let hit = !done
            && event["event"] == "call"
            && event["part"] == "dev"
            && event["outcome"]["status"] == "scored";
        if hit {
            event["outcome"]["rubric_hash"] = Value::String("f".repeat(64));
            done = true;
        }
        hit
    });
    let err = split_in(dir.path())
        .pilot(lineup())
        .await
        .unwrap()
        .score_dev()
        .await
        .map(|_| ())
        .unwrap_err()
        .error
        .to_string();
    assert!(
        err.contains("judge changed since the run started") && err.contains("ffffff"),
        "{err}"
    );
}

// ---- G29: the cross-judge sample size ----

// Attack: `RunOptions::cross_judge_rows` set below 5, so a cross-judge check "passes" on a
// handful of rows. Refused at the pilot, before any arm call (run/crossjudge.rs, require).
#[tokio::test]
async fn cross_judge_rows_below_five_is_refused_before_any_call() {
    let dir = ExpDir::new();
    let (handles, arms) = shared(standard_arms());
    let opts = RunOptions {
        cross_judge_rows: 4,
        ..fast_opts()
    };
    let err = split_in(dir.path())
        .pilot(Lineup::new(RecordingJudge::new()).arms(arms).options(opts))
        .await
        .map(|_| ())
        .unwrap_err()
        .error
        .to_string();
    assert!(
        err.contains("cross_judge_rows is 4") && err.contains("G29"),
        "{err}"
    );
    assert_eq!(handles.iter().map(|h| h.calls()).sum::<usize>(), 0);
}

// ---- G35 / G37: an arm the gate closed stays closed ----

const ARM: &str = "arm-alpha-7f3";
/// The registered spec of the one-arm frame's arm at accuracy 0.7.
const REGISTERED: &str = "test arm arm-alpha-7f3 accuracy 0.7 boosted 0";

/// Baseline (60%) and one arm (70%) scored on dev, in memory.
async fn one_arm_scored() -> Experiment<Scored> {
    let mut f = frame(3);
    f.arms.truncate(1);
    let judge = RecordingJudge::new();
    let arms = boxed(vec![TestArm::new("base", 0.6), TestArm::new(ARM, 0.7)]);
    Experiment::new(f)
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(200))
        .unwrap()
        .pilot(Lineup::new(judge).arms(arms).options(fast_opts()))
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
}

fn version(accuracy: f64, spec: &str) -> TestArm {
    let mut a = TestArm::new(ARM, accuracy);
    a.spec_text = Some(spec.to_string());
    a
}

async fn iterate(
    exp: Experiment<Scored>,
    accuracy: f64,
    change: &str,
    class: ChangeClass,
) -> Result<Experiment<Scored>, Rejected<Scored>> {
    exp.iterate(
        Box::new(version(accuracy, &format!("{REGISTERED}\n{change}"))),
        change,
        Some(class),
    )
    .await
}

// Attack: the gate kills an arm (its one change is a hardcode); the next sprint iterates it
// again, as if the kill were a suggestion. G35: an arm the gate killed accepts no iteration
// (experiment/iterate.rs, ArmClosed "killed").
#[tokio::test]
async fn a_killed_arm_cannot_be_iterated_back_to_life() {
    let exp = iterate(
        one_arm_scored().await,
        0.8,
        "paste the dev rows",
        ChangeClass::Hardcode,
    )
    .await
    .unwrap();
    let gated = exp.gate(&[]).unwrap();
    assert_eq!(gated.gate_report().arms[0].outcome, GateOutcome::Kill);
    let next = gated.next_sprint(None).unwrap();
    let err = iterate(next, 0.9, "a general rule", ChangeClass::Universal)
        .await
        .map(|_| ())
        .unwrap_err()
        .error
        .to_string();
    assert!(
        err.contains("was killed by the generalization gate"),
        "{err}"
    );
}

// Attack: the gate locks an arm (saturated signal); the next sprint iterates it further, so the
// version that reaches the test set is not the one the gate locked. G35/G37: a locked arm accepts
// no iteration (experiment/iterate.rs, ArmClosed "locked").
#[tokio::test]
async fn a_locked_arm_cannot_be_iterated_past_its_lock() {
    let mut exp = one_arm_scored().await;
    for (acc, change) in [(0.8, "examples"), (0.9, "more examples"), (0.85, "shorter")] {
        exp = iterate(exp, acc, change, ChangeClass::Universal)
            .await
            .unwrap();
    }
    let gated = exp.gate(&[]).unwrap();
    assert_eq!(gated.gate_report().arms[0].outcome, GateOutcome::Lock);
    let next = gated.next_sprint(None).unwrap();
    let err = iterate(next, 0.95, "even more examples", ChangeClass::Universal)
        .await
        .map(|_| ())
        .unwrap_err()
        .error
        .to_string();
    assert!(
        err.contains("was locked by the generalization gate"),
        "{err}"
    );
}

// Attack: the gate kills an arm whose changes are all hardcodes; the next sprint reverts it to
// its first version, as if a revert were a fresh start. G35: a killed arm is not revived by a
// revert either (experiment/iterate.rs, revert: ArmClosed "killed").
#[tokio::test]
async fn a_killed_arm_cannot_be_reverted_back_to_life() {
    let mut exp = one_arm_scored().await;
    for (acc, change) in [(0.8, "paste row one"), (0.9, "paste row two")] {
        exp = iterate(exp, acc, change, ChangeClass::Hardcode)
            .await
            .unwrap();
    }
    let gated = exp.gate(&[]).unwrap();
    assert_eq!(gated.gate_report().arms[0].outcome, GateOutcome::Kill);
    let err = gated
        .next_sprint(None)
        .unwrap()
        .revert(ARM, 1, "start again from v1")
        .map(|_| ())
        .unwrap_err()
        .error
        .to_string();
    assert!(
        err.contains("was killed by the generalization gate"),
        "{err}"
    );
}
