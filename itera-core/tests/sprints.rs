//! Diagnosis (G32), reveal (G17), iterations and sprints (G33, G34, G36), the generalization
//! gate (G35) and locking (G37).

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

mod common;

use async_trait::async_trait;
use common::*;
use itera_core::iterate::diagnosis::{Diagnosis, Flag};
use itera_core::iterate::gate::{ChangeClass, GateOutcome, LeakScope, detect_leaks};
use itera_core::iterate::refiner::{Proposal, Refiner};
use itera_core::*;

fn frame200() -> Frame {
    let mut f = frame(3);
    f.arms.truncate(1);
    f
}

/// Baseline (60%) and one arm (70%) scored on 100 dev rows.
async fn scored(arm: TestArm) -> Experiment<Scored> {
    let judge = RecordingJudge::new();
    let arms = boxed(vec![TestArm::new("base", 0.6), arm]);
    let exp = Experiment::new(frame200())
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

fn alpha(accuracy: f64) -> TestArm {
    TestArm::new("arm-alpha-7f3", accuracy)
}

async fn iterate(
    exp: Experiment<Scored>,
    accuracy: f64,
    hypothesis: &str,
) -> Result<Experiment<Scored>, Rejected<Scored>> {
    exp.iterate(
        Box::new(alpha(accuracy)),
        hypothesis,
        Some(ChangeClass::Universal),
    )
    .await
}

fn outcomes(
    exp: &Experiment<Scored>,
) -> Vec<(u32, itera_core::iterate::iteration::IterationVerdict)> {
    exp.ledger()
        .unwrap()
        .versions
        .iter()
        .filter_map(|v| Some((v.key.version, v.outcome?)))
        .collect()
}

#[tokio::test]
async fn a_sprint_holds_three_iterations_and_refuses_a_fourth() {
    let exp = scored(alpha(0.7)).await;
    let exp = iterate(exp, 0.75, "a worked example helps").await.unwrap();
    let exp = iterate(exp, 0.8, "a second example helps more")
        .await
        .unwrap();
    let exp = iterate(exp, 0.85, "a glossary helps").await.unwrap();
    use itera_core::iterate::iteration::IterationVerdict::Supported;
    assert_eq!(
        outcomes(&exp),
        vec![(1, Supported), (2, Supported), (3, Supported)]
    );
    let rejected = iterate(exp, 0.9, "one more").await.unwrap_err();
    let msg = rejected.error.to_string();
    assert!(msg.contains("G34") && msg.contains("3 iterations"), "{msg}");
    // The refused iteration left no trace: no 4th version in the journal.
    assert_eq!(
        rejected
            .experiment
            .ledger()
            .unwrap()
            .latest("arm-alpha-7f3")
            .unwrap()
            .key
            .version,
        3
    );
}

#[tokio::test]
async fn the_hypothesis_is_journaled_before_any_call_of_its_version() {
    let exp = iterate(scored(alpha(0.7)).await, 0.8, "examples help")
        .await
        .unwrap();
    let entries = exp.store().entries().unwrap();
    let recorded = entries
        .iter()
        .position(|e| matches!(&e.event, Event::Iteration { hypothesis, .. } if hypothesis == "examples help"))
        .unwrap();
    let first_call = entries
        .iter()
        .position(|e| matches!(&e.event, Event::Call(c) if c.version == 1))
        .unwrap();
    assert!(recorded < first_call);
    let Event::Iteration { diff, .. } = &entries[recorded].event else {
        panic!()
    };
    assert!(
        diff.contains("- test arm arm-alpha-7f3 accuracy 0.7")
            && diff.contains("+ test arm arm-alpha-7f3 accuracy 0.8"),
        "{diff}"
    );
}

#[tokio::test]
async fn a_falsified_iteration_closes_the_sprint() {
    let exp = scored(alpha(0.8)).await;
    let exp = iterate(exp, 0.6, "shorter prompt is as good")
        .await
        .unwrap();
    assert_eq!(
        outcomes(&exp),
        vec![(
            1,
            itera_core::iterate::iteration::IterationVerdict::Falsified
        )]
    );
    let msg = iterate(exp, 0.9, "try again")
        .await
        .unwrap_err()
        .error
        .to_string();
    assert!(
        msg.contains("closed") && msg.contains("run the gate"),
        "{msg}"
    );
}

#[tokio::test]
async fn the_latest_gate_passed_version_is_locked_not_the_best() {
    let exp = scored(alpha(0.7)).await;
    let exp = iterate(exp, 0.8, "examples").await.unwrap();
    let exp = iterate(exp, 0.9, "more examples").await.unwrap();
    let exp = iterate(exp, 0.85, "shorter examples").await.unwrap(); // worse than v2
    let v2 = exp
        .dev()
        .cube
        .arms()
        .iter()
        .position(|k| k.version == 2)
        .unwrap();
    let v3 = exp
        .dev()
        .cube
        .arms()
        .iter()
        .position(|k| k.version == 3)
        .unwrap();
    assert!(exp.dev().summaries[v2].mean > exp.dev().summaries[v3].mean);
    let gated = exp.gate(&[]).unwrap();
    assert_eq!(gated.gate_report().arms[0].outcome, GateOutcome::Lock);
    let sealed = gated.seal().unwrap();
    assert_eq!(sealed.locked().len(), 1);
    assert_eq!(sealed.locked()[0].version, 3);
}

#[tokio::test]
async fn a_fourth_sprint_needs_a_recorded_gate_audit() {
    let mut exp = scored(alpha(0.7)).await;
    for _ in 0..2 {
        exp = exp.gate(&[]).unwrap().next_sprint(None).unwrap();
    }
    let gated = exp.gate(&[]).unwrap();
    let rejected = gated.next_sprint(None).unwrap_err();
    assert!(
        rejected.error.to_string().contains("G36"),
        "{}",
        rejected.error
    );
    let exp = rejected
        .experiment
        .next_sprint(Some("new failure mode found in production logs"))
        .unwrap();
    let ledger = exp.ledger().unwrap();
    assert_eq!(ledger.sprint, 4);
    assert_eq!(
        ledger.audits,
        vec![(4, "new failure mode found in production logs".to_string())]
    );
}

#[tokio::test]
async fn the_gate_runs_without_iterations_and_checks_each_registered_change() {
    let gated = scored(alpha(0.7)).await.gate(&[]).unwrap();
    let report = gated.gate_report();
    assert_eq!(report.arms.len(), 1);
    let change = &report.arms[0].changes[0];
    assert_eq!(change.version, 0);
    assert_eq!(change.class, ChangeClass::Universal);
    assert!(change.leaks.is_empty());
    assert_eq!(report.arms[0].outcome, GateOutcome::Continue);
}

#[tokio::test]
async fn an_unclassified_iteration_counts_as_a_hardcode() {
    let exp = scored(alpha(0.7)).await;
    let exp = exp
        .iterate(Box::new(alpha(0.8)), "examples", None)
        .await
        .unwrap();
    let report = exp.gate(&[]).unwrap().gate_report().clone();
    assert_eq!(report.arms[0].changes[0].class, ChangeClass::Hardcode);
    assert_eq!(report.arms[0].outcome, GateOutcome::Kill);
}

#[tokio::test]
async fn a_classification_at_the_gate_counts() {
    let exp = scored(alpha(0.7)).await;
    let exp = exp
        .iterate(Box::new(alpha(0.8)), "examples", None)
        .await
        .unwrap();
    let gated = exp
        .gate(&[("arm-alpha-7f3", 1, ChangeClass::LiftedOut)])
        .unwrap();
    assert_eq!(gated.gate_report().arms[0].outcome, GateOutcome::Continue);
}

/// Tunes a threshold: a general change.
struct Tuner;
/// Reveals nothing but pastes a dev row's text it was shown into the spec: a hardcode.
struct Paster(String);

#[async_trait]
impl Refiner for Tuner {
    async fn propose(&self, _: &Diagnosis, arm: &str, spec: &str, _: &[Row]) -> Option<Proposal> {
        let mut a = TestArm::new(arm, 0.8);
        a.spec_text = Some(format!("{spec}\nconfidence threshold 0.8"));
        Some(Proposal {
            hypothesis: "a higher confidence threshold cuts wrong answers".into(),
            arm: Box::new(a),
            class: Some(ChangeClass::Universal),
        })
    }
}

#[async_trait]
impl Refiner for Paster {
    async fn propose(&self, _: &Diagnosis, arm: &str, spec: &str, _: &[Row]) -> Option<Proposal> {
        let mut a = TestArm::new(arm, 0.8);
        a.spec_text = Some(format!(
            "{spec}\nif the text is \"{}\" answer travel",
            self.0
        ));
        Some(Proposal {
            hypothesis: "this row is travel".into(),
            arm: Box::new(a),
            class: Some(ChangeClass::Universal),
        })
    }
}

#[tokio::test]
async fn refiners_meet_the_same_gate_general_passes_pasting_is_killed() {
    let exp = scored(alpha(0.7)).await;
    let (exp, proposed) = exp.refine(&Tuner, "arm-alpha-7f3").await.unwrap();
    assert!(proposed);
    let report = exp.gate(&[]).unwrap().gate_report().clone();
    assert_ne!(report.arms[0].outcome, GateOutcome::Kill, "{report:?}");
    assert!(report.arms[0].changes[0].leaks.is_empty());

    let exp = scored(alpha(0.7)).await;
    let dev_id = exp.plan().dev_ids()[3].clone();
    let text = exp.reveal(&dev_id).unwrap().input["text"]
        .as_str()
        .unwrap()
        .to_string();
    let (exp, _) = exp
        .refine(&Paster(text.clone()), "arm-alpha-7f3")
        .await
        .unwrap();
    let report = exp.gate(&[]).unwrap().gate_report().clone();
    let change = &report.arms[0].changes[0];
    assert_eq!(change.declared, Some(ChangeClass::Universal));
    assert_eq!(
        change.class,
        ChangeClass::Hardcode,
        "a leak overrides the label"
    );
    assert!(
        change
            .leaks
            .iter()
            .any(|l| l.literal == text && l.dev_rows.contains(&dev_id)),
        "{change:?}"
    );
    assert_eq!(report.arms[0].outcome, GateOutcome::Kill);
}

#[tokio::test]
async fn gains_only_on_revealed_rows_are_flagged_as_memorization() {
    for only_seen in [true, false] {
        let exp = scored(alpha(0.5)).await;
        let revealed: Vec<RowId> = exp.plan().dev_ids().into_iter().take(15).cloned().collect();
        for id in &revealed {
            exp.reveal(id).unwrap();
        }
        let mut next = alpha(0.5);
        if only_seen {
            next.boost = revealed.iter().map(|r| r.to_string()).collect();
        } else {
            next.accuracy = 0.8;
        }
        let exp = exp
            .iterate(Box::new(next), "fix", Some(ChangeClass::Universal))
            .await
            .unwrap();
        let diagnosis = exp.diagnose().unwrap();
        let flagged = diagnosis
            .flags
            .iter()
            .any(|f| matches!(f, Flag::WinsOnSeenRows { .. }));
        let report = exp.gate(&[]).unwrap().gate_report().clone();
        let su = report.arms[0].changes[0].seen_unseen.clone().unwrap();
        assert_eq!(su.seen_rows, 15);
        assert_eq!(su.memorization, only_seen, "{su:?}");
        assert_eq!(flagged, only_seen, "{diagnosis}");
        if only_seen {
            assert_eq!(report.arms[0].outcome, GateOutcome::Kill);
        }
    }
}

#[tokio::test]
async fn reveal_journals_dev_rows_and_never_opens_test_rows() {
    let exp = scored(alpha(0.7)).await;
    let all: Vec<RowId> = rows(200).into_iter().map(|r| r.id).collect();
    let train: Vec<RowId> = exp.train_rows().iter().map(|r| r.id.clone()).collect();
    let dev: Vec<RowId> = exp.plan().dev_ids().into_iter().cloned().collect();
    let test_id = all
        .iter()
        .find(|id| !train.contains(id) && !dev.contains(id))
        .unwrap();
    let msg = exp.reveal(test_id).unwrap_err().to_string();
    assert!(msg.contains("no dev or train row"), "{msg}");
    exp.reveal(&train[0]).unwrap();
    exp.reveal(&dev[0]).unwrap();
    let seen = exp.ledger().unwrap().seen;
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![dev[0].clone()]);
}

#[tokio::test]
async fn diagnosis_flags_mixed_regimes_and_shared_failures() {
    /// Right on smb rows, wrong on enterprise rows, wrong on rows ≥ 190 for everyone.
    struct Split;
    #[async_trait]
    impl Arm for Split {
        fn id(&self) -> &str {
            "arm-alpha-7f3"
        }
        fn spec(&self) -> String {
            "smb specialist".into()
        }
        async fn call(
            &self,
            input: &serde_json::Value,
            ctx: &CallCtx,
        ) -> Result<ArmOutput, ArmError> {
            let hard = ctx.row_id.as_str() >= "r0190";
            let smb = input["text"]
                .as_str()
                .unwrap()
                .trim_start_matches("txn ")
                .parse::<u32>()
                .unwrap()
                % 2
                == 0;
            Ok(ArmOutput::text(if smb && !hard {
                input["expected"].as_str().unwrap()
            } else {
                "wrong"
            }))
        }
    }
    struct Half;
    #[async_trait]
    impl Arm for Half {
        fn id(&self) -> &str {
            "base"
        }
        fn spec(&self) -> String {
            "generalist".into()
        }
        async fn call(
            &self,
            input: &serde_json::Value,
            ctx: &CallCtx,
        ) -> Result<ArmOutput, ArmError> {
            let hard = ctx.row_id.as_str() >= "r0190";
            let right = unit(ctx.row_id.as_str()) < 0.5 && !hard;
            Ok(ArmOutput::text(if right {
                input["expected"].as_str().unwrap()
            } else {
                "wrong"
            }))
        }
    }
    let judge = RecordingJudge::new();
    let arms: Vec<Box<dyn Arm>> = vec![Box::new(Half), Box::new(Split)];
    let exp = Experiment::new(frame200())
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
        .unwrap();
    let d = exp.diagnose().unwrap();
    let mixed = d.flags.iter().find_map(|f| match f {
        Flag::MixedRegime {
            winning, losing, ..
        } => Some((winning.clone(), losing.clone())),
        _ => None,
    });
    assert_eq!(
        mixed,
        Some((vec!["smb".to_string()], vec!["enterprise".to_string()])),
        "{d}"
    );
    let shared = d.flags.iter().find_map(|f| match f {
        Flag::SharedFailures { count, .. } => Some(*count),
        _ => None,
    });
    assert!(shared.unwrap() >= 3, "{d}");
    let text = d.to_string();
    assert!(
        text.contains("flag mixed-regime") && text.contains("slice smb"),
        "{text}"
    );
    let smb = &d.arms[0]
        .by_slice
        .iter()
        .find(|t| t.group == "smb")
        .unwrap();
    assert!(smb.wins > 10 && smb.losses < smb.wins);
}

/// Planted hardcodes over ≥200 generated cases: copying a literal from a dev row is caught
/// ≥95% of the time; adding words that also occur in train rows or the baseline raises ≤5%
/// false alarms.
#[test]
fn leak_detector_catches_planted_literals_and_spares_train_words() {
    const FIRST: [&str; 12] = [
        "Amara", "Bjorn", "Chidi", "Dolores", "Esme", "Farid", "Greta", "Hiroshi", "Ines", "Jovan",
        "Kalani", "Lorcan",
    ];
    const VENDORS: [&str; 10] = [
        "Northwind",
        "Contoso",
        "Fabrikam",
        "Tailspin",
        "Woodgrove",
        "Litware",
        "Adatum",
        "Proseware",
        "Wingtip",
        "Lucerne",
    ];
    let (mut caught, mut alarms, cases) = (0, 0, 250);
    for case in 0..cases {
        let make = |i: usize, part: &str| {
            let k = case * 1000 + i;
            let name = FIRST[(unit(&format!("n{k}{part}")) * 12.0) as usize];
            let vendor = VENDORS[(unit(&format!("v{k}{part}")) * 10.0) as usize];
            let amount = 100 + (unit(&format!("a{k}{part}")) * 90_000.0) as u32;
            let inv = format!(
                "INV-{}",
                1000 + (unit(&format!("i{k}{part}")) * 9000.0) as u32
            );
            Row::new(
                format!("{part}{i}"),
                format!("{name} paid {vendor} {amount} dollars, invoice {inv}"),
            )
            .expected(["travel", "software", "supplies"][k % 3])
        };
        let train: Vec<Row> = (0..30).map(|i| make(i, "t")).collect();
        let dev: Vec<Row> = (0..50).map(|i| make(i, "d")).collect();
        let baseline = "Categorize the transaction into travel, software or supplies.";
        // Nothing revealed: the planted literals are distinctive, searched in every dev row.
        let revealed = Default::default();
        let scope = LeakScope {
            baseline_spec: baseline,
            registration: "",
            train: &train,
            dev: &dev,
            revealed: &revealed,
        };
        let old = format!("{baseline}\nAnswer with one word.");

        // Planted: a literal copied from a random dev row (an amount, an invoice id or a phrase).
        let row = &dev[(unit(&format!("pick{case}")) * 50.0) as usize];
        let text = row.input.as_str().unwrap();
        let words: Vec<&str> = text.split_whitespace().collect();
        let literal = match case % 3 {
            0 => words[3].to_string(),                              // the amount
            1 => words[words.len() - 1].to_string(),                // the invoice id
            _ => format!("{} {} {}", words[1], words[2], words[3]), // "paid <vendor> <amount>"
        };
        let planted = format!("{old}\nIf you see {literal}, answer travel.");
        let leaks = detect_leaks(&old, &planted, &scope);
        let literal_lc = literal.to_lowercase();
        if leaks
            .iter()
            .any(|l| l.literal.contains(&literal_lc) || literal_lc.contains(&l.literal))
        {
            caught += 1;
        }

        // Control: words taken from train rows and the baseline.
        let t = train[(unit(&format!("ctl{case}")) * 30.0) as usize]
            .input
            .as_str()
            .unwrap()
            .to_string();
        let tw: Vec<&str> = t.split_whitespace().collect();
        let control = format!(
            "{old}\nTransactions like \"{} {} {}\" mention {} and {}; categorize travel, software or supplies carefully.",
            tw[0],
            tw[1],
            tw[2],
            tw[3],
            tw[tw.len() - 1]
        );
        if !detect_leaks(&old, &control, &scope).is_empty() {
            alarms += 1;
        }
    }
    let catch_rate = caught as f64 / cases as f64;
    let alarm_rate = alarms as f64 / cases as f64;
    println!(
        "leak detector: caught {catch_rate:.3} of planted literals, false alarms {alarm_rate:.3} ({cases} cases)"
    );
    assert!(catch_rate >= 0.95, "catch rate {catch_rate}");
    assert!(alarm_rate <= 0.05, "false alarm rate {alarm_rate}");
}
