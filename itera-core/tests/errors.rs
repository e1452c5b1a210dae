//! The library's errors as a user meets them: `?` absorbs every refusal into
//! `itera_core::Error` with its message kept, and a finished directory is known at once — by
//! `Store::concluded` and by `register`, which refuses it and says to load the report (G46).

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use common::*;
use itera_core::prelude::*;

fn split_nothing() -> Result<(), Error> {
    let exp = Experiment::new(frame(3))?.register(Store::in_memory())?;
    exp.split_rows(vec![])?; // refused: a Rejected<Registered>, absorbed by `?`
    Ok(())
}

#[test]
fn question_mark_absorbs_a_rejected_transition() {
    let direct = Experiment::new(frame(3))
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(vec![])
        .unwrap_err()
        .to_string();
    let err = split_nothing().unwrap_err();
    assert_eq!(err.to_string(), direct, "the message is kept");
}

async fn concluded_dir(dir: &std::path::Path) {
    let arms = boxed(vec![
        TestArm::new("base", 0.5),
        TestArm::new("arm-alpha-7f3", 0.9),
        TestArm::new("arm-beta-9c1", 0.5),
    ]);
    let judge = RecordingJudge::new();
    let exp = Experiment::new(frame(3))
        .unwrap()
        .register(Store::dir(dir).unwrap())
        .unwrap()
        .split_rows(rows(300))
        .unwrap()
        .pilot(Lineup::new(judge).arms(arms).options(fast_opts()))
        .await
        .unwrap()
        .score_dev()
        .await
        .unwrap()
        .gate_unchanged()
        .unwrap()
        .seal()
        .unwrap();
    exp.with_options(accepting(
        "300-row fixture, underpowered; this test checks the concluded store",
    ))
    .verdict(None)
    .await
    .unwrap();
}

#[tokio::test]
async fn store_says_at_once_whether_it_is_concluded() {
    let dir = ExpDir::new();
    assert_eq!(Store::dir(dir.path()).unwrap().concluded(), None);
    concluded_dir(dir.path()).await;
    let at = Store::dir(dir.path()).unwrap().concluded();
    assert!(at.is_some_and(|t| t.contains('T')), "an RFC 3339 time");
}

#[tokio::test]
async fn register_on_a_concluded_directory_says_load_the_report() {
    let dir = ExpDir::new();
    concluded_dir(dir.path()).await;
    let err = Experiment::new(frame(3))
        .unwrap()
        .register(Store::dir(dir.path()).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("G46")
            && err.contains("ReportData::load")
            && err.contains("already has its verdict"),
        "{err}"
    );
    // And the report is there to load, with the same view a snapshot takes.
    let report = ReportData::load(dir.path()).unwrap();
    assert_eq!(report.stable().decision, report.verdict.decision);
}

/// data.json's bytes do not change with the decision's type: the enum serializes to the string
/// a string field wrote.
#[test]
fn decision_is_written_as_the_same_kebab_case_string() {
    for d in [
        Decision::Ship,
        Decision::ShipNarrowly,
        Decision::Kill,
        Decision::Inconclusive,
    ] {
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            serde_json::to_string(d.as_str()).unwrap()
        );
    }
}

/// Item 9 of issue #16: `pilot` (like `score_dev` and `verdict`) needs a tokio runtime; driven
/// by another executor it is refused with a message saying so, instead of panicking inside
/// tokio's timer.
#[test]
fn pilot_outside_a_tokio_runtime_says_so_instead_of_panicking() {
    let arms = boxed(vec![
        TestArm::new("base", 0.5),
        TestArm::new("arm-alpha-7f3", 0.9),
        TestArm::new("arm-beta-9c1", 0.5),
    ]);
    let judge = RecordingJudge::new();
    let exp = Experiment::new(frame(3))
        .unwrap()
        .register(Store::in_memory())
        .unwrap()
        .split_rows(rows(300))
        .unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        futures::executor::block_on(exp.pilot(Lineup::new(judge).arms(arms).options(fast_opts())))
            .map(|_| ())
            .map_err(|r| r.to_string())
    }));
    let err = outcome
        .expect("no panic outside a runtime")
        .expect_err("refused outside a runtime");
    assert!(
        err.contains("tokio runtime") && err.contains("#[tokio::main]"),
        "{err}"
    );
}

/// Item 5 of issue #16: METHOD.md does not ship with the crate, so a message citing a guard
/// says the rule in words beside the tag, and the crate's `guards` page says every guard.
#[test]
fn guard_tags_in_messages_come_with_the_rule_in_words() {
    use itera_core::SprintError;
    let words = [
        (
            SprintError::SprintCap { sprint: 1 }.to_string(),
            "the most a sprint holds (G34)",
        ),
        (
            SprintError::SprintClosed {
                sprint: 1,
                why: "falsified".into(),
            }
            .to_string(),
            "a closed sprint accepts no iteration (G34)",
        ),
        (
            SprintError::AuditRequired { sprint: 4 }.to_string(),
            "needs a recorded gate audit (G36)",
        ),
        (
            SprintError::Blocked {
                arm: "a".into(),
                version: 2,
                changes: "x".into(),
            }
            .to_string(),
            "a hardcoded change is never locked (G35)",
        ),
    ];
    for (message, rule) in words {
        assert!(message.contains(rule), "{message}");
    }
    let page = include_str!("../src/guards.md");
    for g in 1..=46 {
        assert!(
            page.contains(&format!("**G{g} ")),
            "G{g} missing from guards.md"
        );
    }
}
