//! The public surface keeps its promises (G15, G17): `Debug` on every state of an experiment
//! prints counts and hashes, never a sealed test row's input or expected value, and never an
//! unrevealed dev row's input. (The compile-fail half — no journal append, no forged event, no
//! test-row accessor — is in `tests/ui`, run by `compile_fail.rs`.)

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use common::*;
use itera_core::*;
use std::collections::BTreeSet;

/// Rows whose inputs and expected values are distinctive strings, so a leak is a plain `contains`.
fn marked_rows(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let expected = ["travel", "software", "supplies"][i % 3];
            Row::new(
                format!("r{i:04}"),
                serde_json::json!({"text": format!("zq-input-{i:04}-qz"), "expected": expected}),
            )
            .expected(expected)
            .slice(if i % 2 == 0 { "smb" } else { "enterprise" })
        })
        .collect()
}

fn hidden_inputs(rows: &[Row], train: &[Row]) -> Vec<String> {
    let shown: BTreeSet<&str> = train.iter().map(|r| r.id.as_str()).collect();
    rows.iter()
        .filter(|r| !shown.contains(r.id.as_str()))
        .map(|r| format!("zq-input-{}-qz", &r.id.as_str()[1..]))
        .collect()
}

fn assert_hides(what: &str, debug: &str, hidden: &[String]) {
    for h in hidden {
        assert!(
            !debug.contains(h),
            "{what}: Debug prints the hidden row input {h}"
        );
    }
}

#[tokio::test]
async fn debug_of_every_state_hides_test_and_unrevealed_dev_rows() {
    let rows = marked_rows(200);
    let mut f = frame(3);
    f.arms.truncate(1);
    let judge = RecordingJudge::new();
    let arms = boxed(vec![
        TestArm::new("base", 0.6),
        TestArm::new("arm-alpha-7f3", 0.7),
    ]);

    let exp = Experiment::new(f)
        .unwrap()
        .register(Store::in_memory())
        .unwrap();
    let exp = exp.split_rows(rows.clone()).unwrap();
    let hidden = hidden_inputs(&rows, exp.plan().train_rows());
    assert_eq!(hidden.len(), 200 - exp.plan().train_rows().len());
    let debug = format!("{exp:?}");
    assert_hides("Split", &debug, &hidden);
    assert!(
        debug.contains(&exp.plan().test_len().to_string()),
        "counts are shown: {debug}"
    );
    assert_hides("SplitPlan", &format!("{:?}", exp.plan()), &hidden);

    let exp = exp
        .pilot(Lineup::new(judge).arms(arms).options(fast_opts()))
        .await
        .unwrap();
    assert_hides("Piloted", &format!("{exp:?}"), &hidden);
    let exp = exp.score_dev().await.unwrap();
    assert_hides("Scored", &format!("{exp:?}"), &hidden);
    let exp = exp.gate(&[]).unwrap();
    assert_hides("Gated", &format!("{exp:?}"), &hidden);
    let exp = exp.seal().unwrap();
    assert_hides("Sealed", &format!("{exp:?}"), &hidden);
}
