//! Integrity of the run phases ("No silent wrong verdict", items 9, 11, 14, 16): each test is an
//! attack that, on main, led to a run or an audit that said something false.

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use async_trait::async_trait;
use common::*;
use itera_core::*;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An arm answering a fixed value, optionally different on every call, optionally declaring
/// empty output legal.
struct Odd {
    id: String,
    output: Value,
    drifts: bool,
    empty_ok: bool,
    calls: AtomicUsize,
}

impl Odd {
    fn new(id: &str, output: Value) -> Odd {
        Odd {
            id: id.into(),
            output,
            drifts: false,
            empty_ok: false,
            calls: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl Arm for Odd {
    fn id(&self) -> &str {
        &self.id
    }
    fn spec(&self) -> String {
        format!("odd arm {} {}", self.id, self.output)
    }
    fn allows_empty_output(&self) -> bool {
        self.empty_ok
    }
    async fn call(&self, input: &Value, _ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.drifts {
            // Right on the first call, something else on the next: not deterministic.
            let expected = input["expected"].as_str().unwrap_or("").to_string();
            return Ok(ArmOutput::text(if n.is_multiple_of(2) {
                expected
            } else {
                format!("{expected} (take {n})")
            }));
        }
        Ok(ArmOutput {
            output: self.output.clone(),
            ..ArmOutput::text("")
        })
    }
}

fn arms_with(third: Odd) -> Vec<Box<dyn Arm>> {
    vec![
        Box::new(TestArm::new("base", 0.6)),
        Box::new(TestArm::new("arm-alpha-7f3", 0.8)),
        Box::new(third),
    ]
}

async fn piloted(
    frame: Frame,
    store: Store,
    arms: Vec<Box<dyn Arm>>,
) -> Result<Experiment<Piloted>, Error> {
    let judge = RecordingJudge::new();
    let exp = Experiment::new(frame)?
        .register(store)
        .map_err(|r| r.error)?
        .split_rows(rows(90))
        .map_err(|r| r.error)?;
    exp.pilot(Lineup::new(judge).arms(arms).options(fast_opts()))
        .await
        .map_err(|r| r.error)
}

fn pilot_error(r: Result<Experiment<Piloted>, Error>) -> (String, String, String) {
    match r {
        Err(Error::Run(RunError::Pilot { arm, field, why })) => (arm, field, why),
        Err(e) => panic!("expected a pilot refusal, got {e}"),
        Ok(_) => panic!("expected a pilot refusal, the pilot passed"),
    }
}

// Item 11: the pilot accepted null or empty output.

#[tokio::test]
async fn attack_empty_string_output_passes_the_pilot() {
    let arms = arms_with(Odd::new("arm-beta-9c1", Value::String("  ".into())));
    let (arm, field, why) = pilot_error(piloted(frame(3), Store::in_memory(), arms).await);
    assert_eq!((arm.as_str(), field.as_str()), ("arm-beta-9c1", "output"));
    assert!(
        why.contains("empty") && why.contains("allows_empty_output"),
        "{why}"
    );
}

#[tokio::test]
async fn attack_null_output_passes_the_pilot() {
    let arms = arms_with(Odd::new("arm-beta-9c1", Value::Null));
    let (arm, _, why) = pilot_error(piloted(frame(3), Store::in_memory(), arms).await);
    assert_eq!(arm, "arm-beta-9c1");
    assert!(why.contains("null"), "{why}");
}

#[tokio::test]
async fn an_arm_that_declares_empty_output_legal_passes_the_pilot() {
    let mut odd = Odd::new("arm-beta-9c1", Value::String(String::new()));
    odd.empty_ok = true;
    let arms = arms_with(odd);
    piloted(frame(3), Store::in_memory(), arms).await.unwrap();
}

// Item 9: determinism on the user's word.

fn deterministic_frame() -> Frame {
    Frame::builder("runner", "Does a beat base?", "a is more accurate.")
        .baseline("base", "src/lib.rs:1")
        .arm("arm-alpha-7f3", "base", "better prompt")
        .arm("arm-beta-9c1", "base", "other model")
        .metric("accuracy", "exact")
        .threshold_pp(5.0)
        .slice_loss_floor_pp(-2.0)
        .trials(1)
        .deterministic(true)
        .seed(11)
        .build()
        .unwrap()
}

#[tokio::test]
async fn attack_declared_deterministic_arm_that_is_not() {
    let mut odd = Odd::new("arm-beta-9c1", Value::Null);
    odd.drifts = true;
    let arms = arms_with(odd);
    let store = Store::in_memory();
    let (arm, field, why) = pilot_error(piloted(deterministic_frame(), store.clone(), arms).await);
    assert_eq!(
        (arm.as_str(), field.as_str()),
        ("arm-beta-9c1", "deterministic")
    );
    assert!(
        why.contains("arm-beta-9c1 is not deterministic") && why.contains("trials ≥ 3"),
        "{why}"
    );
    let failed = store.entries().unwrap().iter().any(
        |e| matches!(&e.event, Event::PilotFailed { arm, field, .. } if arm == "arm-beta-9c1" && field == "deterministic"),
    );
    assert!(failed, "the refusal is journaled");
}

#[tokio::test]
async fn a_deterministic_arm_passes_the_repeated_pilot_call_and_the_journal_says_so() {
    let arms = boxed(standard_arms().into());
    let store = Store::in_memory();
    piloted(deterministic_frame(), store.clone(), arms)
        .await
        .unwrap();
    let checked = store.entries().unwrap().iter().any(|e| match &e.event {
        Event::PilotPassed { arms, .. } => arms.iter().all(|a| a.determinism_checked),
        _ => false,
    });
    assert!(
        checked,
        "every arm's determinism is checked by a repeated call"
    );
}

// Item 16: R4 saw only rows tagged in the data; no deterministic judge assigned a mode.

#[tokio::test]
async fn attack_failures_of_a_deterministic_judge_carry_no_failure_mode() {
    let f = Frame::builder("runner", "Does a beat base?", "a is more accurate.")
        .baseline("base", "src/lib.rs:1")
        .arm("arm-alpha-7f3", "base", "better prompt")
        .arm("arm-beta-9c1", "base", "other model")
        .metric("accuracy", "exact")
        .threshold_pp(5.0)
        .slice_loss_floor_pp(-2.0)
        .failure_mode_rule(
            "said_wrong",
            3.0,
            ModeRule::Regex {
                pattern: "^wrong$".into(),
            },
        )
        .failure_mode_rule(
            "off_label",
            1.0,
            ModeRule::NotInLabels {
                labels: vec!["travel".into(), "software".into(), "supplies".into()],
            },
        )
        .failure_mode_rule("silent", 0.5, ModeRule::EmptyOutput)
        .trials(3)
        .seed(11)
        .build()
        .unwrap();
    let arms = boxed(standard_arms().into());
    let judge = RecordingJudge::new();
    let store = Store::in_memory();
    let exp = Experiment::new(f)
        .unwrap()
        .register(store.clone())
        .map_err(|r| r.error)
        .unwrap()
        .split_rows(rows(90))
        .map_err(|r| r.error)
        .unwrap();
    let exp = exp
        .pilot(Lineup::new(judge).arms(arms).options(fast_opts()))
        .await
        .map_err(|r| r.error)
        .unwrap();
    exp.score_dev().await.map_err(|r| r.error).unwrap();
    let (mut failed, mut assigned, mut on_success) = (0, 0, 0);
    for e in store.entries().unwrap() {
        let Event::Call(c) = e.event else { continue };
        let CallOutcome::Scored {
            score,
            failure_modes,
            ..
        } = c.outcome
        else {
            continue;
        };
        if score < 0.5 {
            failed += 1;
            if failure_modes == ["said_wrong", "off_label"] {
                assigned += 1;
            }
        } else if !failure_modes.is_empty() {
            on_success += 1;
        }
    }
    assert!(failed > 0);
    assert_eq!(
        assigned, failed,
        "every failed call's output 'wrong' gets the modes its rules match"
    );
    assert_eq!(
        on_success, 0,
        "a rule never assigns a mode to a passed call"
    );
}
