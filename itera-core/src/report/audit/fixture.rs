//! A hand-built journal for the audit's and the conclusion's tests: a frame with a baseline, one
//! candidate arm and a three-category failure-mode taxonomy, and the events of one clean run
//! through registration, pilot, split, dev scoring, an iteration, the gate, the seal and the
//! verdict.

use crate::data::row::RowId;
use crate::data::split::{DistributionAudit, ModeAudit, Part, SliceAudit};
use crate::decide::rules::Decision;
use crate::frame::Frame;
use crate::iterate::gate::{ArmGate, GateOutcome, GateReport};
use crate::iterate::iteration::IterationVerdict;
use crate::journal::event::{ArmNoise, CallOutcome, CallRecord, Entry, Event, PilotArm};
use crate::journal::store::Store;
use crate::run::arm::Usage;
use crate::run::cube::ArmKey;
use std::collections::BTreeMap;

/// The frame: baseline v1, one arm v2, T = +5pp, F = −2pp, a three-category taxonomy.
pub(crate) fn frame() -> Frame {
    Frame::builder(
        "refund-examples",
        "Does adding two refund examples to the prompt raise extraction accuracy?",
        "The examples fix refund rows without hurting the rest.",
    )
    .baseline("v1", "src/prompt.rs:12")
    .arm("v2", "v1", "adds two refund examples")
    .metric("accuracy", "exact")
    .threshold_pp(5.0)
    .slice_loss_floor_pp(-2.0)
    .failure_mode("wrong_account", 3.0)
    .failure_mode("missing_field", 1.0)
    .failure_mode("format", 0.5)
    .trials(3)
    .seed(7)
    .build()
    .unwrap()
}

pub(crate) fn call(
    arm: &str,
    version: u32,
    row: &str,
    part: Part,
    trial: u32,
    score: f64,
    modes: &[&str],
) -> Event {
    Event::Call(CallRecord {
        arm: arm.into(),
        version,
        spec_hash: format!("{arm}-{version}"),
        row: RowId(row.into()),
        part,
        trial,
        attempts: 1,
        errors: Vec::new(),
        latency_ms: 100.0,
        queue_ms: None,
        server_ms: None,
        outcome: CallOutcome::Scored {
            output: serde_json::json!("out"),
            raw: None,
            score,
            failure_modes: modes.iter().map(|m| m.to_string()).collect(),
            deferred_findings: Vec::new(),
            judge: "exact".into(),
            rubric_hash: None,
            usage: Usage::default(),
            cost_usd: Some(0.001),
            judge_call: None,
            trace: Vec::new(),
        },
    })
}

fn calls(arm: &str, version: u32, part: Part, rows: &[&str], scores: &[f64]) -> Vec<Event> {
    let mut out = Vec::new();
    for (r, s) in rows.iter().zip(scores) {
        for t in 0..3 {
            let modes: &[&str] = if *s < 1.0 { &["wrong_account"] } else { &[] };
            out.push(call(arm, version, r, part, t, *s, modes));
        }
    }
    out
}

pub(crate) fn key(arm: &str, version: u32) -> ArmKey {
    ArmKey {
        arm: arm.into(),
        version,
        spec_hash: format!("{arm}-{version}"),
    }
}

pub(crate) fn gate(sprint: u32, version: u32, outcome: GateOutcome) -> Event {
    Event::Gate(GateReport {
        sprint,
        arms: vec![ArmGate {
            arm: "v2".into(),
            version,
            changes: Vec::new(),
            outcome,
            reason: "changes are general but the last iteration was neutral or falsified: signal saturated".into(),
        }],
    })
}

/// A complete, clean journal for `frame`: registration, split, pilot, dev scores, one
/// iteration, a gate that locks, the seal, the test pass and a ship verdict.
pub(crate) fn events(frame: &Frame) -> Vec<Event> {
    let dev = ["d0", "d1", "d2", "d3"];
    let test = ["t0", "t1", "t2", "t3"];
    let commitment = crate::hash::sha256_hex(b"test rows");
    let slice = |s: &str| SliceAudit {
        slice: s.into(),
        source: 10,
        source_share: 0.5,
        train: 4,
        dev: 4,
        test: 2,
    };
    let mode = |m: &str, test: usize| ModeAudit {
        mode: m.into(),
        source: 5,
        train: 2,
        dev: 2,
        test,
    };
    let mut ev = vec![
        Event::Registered {
            name: frame.name.clone(),
            frame_hash: crate::hash::hash_value(frame).unwrap(),
            frame_md_hash: "md".into(),
            registration_hash: "reg".into(),
        },
        Event::Split {
            dataset: "rows.jsonl".into(),
            data_hash: "data".into(),
            seed: 7,
            train_ids: vec![RowId("r0".into())],
            dev_ids: dev.iter().map(|d| RowId((*d).into())).collect(),
            dev_folds: None,
            test_n: 4,
            test_commitment: commitment.clone(),
            audit: DistributionAudit {
                total: 20,
                parts: BTreeMap::from([(Part::Train, 8), (Part::Dev, 8), (Part::Test, 4)]),
                slices: vec![slice("smb"), slice("ent")],
                failure_modes: vec![
                    mode("wrong_account", 1),
                    mode("missing_field", 1),
                    mode("format", 1),
                ],
                kfold: None,
                warnings: Vec::new(),
            },
            overrides: Vec::new(),
            reused_test: None,
            ledger: None,
        },
        Event::Manifest {
            judge: "exact".into(),
            judge_family: None,
            rubric_hash: None,
            arms: vec![("v1".into(), "v1-0".into()), ("v2".into(), "v2-0".into())],
            specs: vec!["prompt".into(), "prompt\nexamples".into()],
            arm_families: vec![],
        },
        Event::PilotPassed {
            row: RowId("r0".into()),
            arms: vec![
                PilotArm {
                    arm: "v1".into(),
                    spec_hash: "v1-0".into(),
                    score: 1.0,
                    determinism_checked: false,
                },
                PilotArm {
                    arm: "v2".into(),
                    spec_hash: "v2-0".into(),
                    score: 1.0,
                    determinism_checked: false,
                },
            ],
        },
    ];
    ev.extend(calls("v1", 0, Part::Dev, &dev, &[1.0, 0.0, 1.0, 0.0]));
    ev.push(Event::BaselineScored {
        mean: 0.5,
        sd: 0.0,
        rows: 4,
    });
    ev.extend(calls("v2", 0, Part::Dev, &dev, &[1.0, 1.0, 1.0, 0.0]));
    let noise = |arm: &str| ArmNoise {
        arm: arm.into(),
        version: 0,
        within_row_variance: 0.0,
        aggregate_sd: 0.01,
        per_trial: vec![0.5, 0.5, 0.5],
    };
    ev.push(Event::DevScored {
        calls: 24,
        failed: 0,
        noise: vec![noise("v1"), noise("v2")],
    });
    ev.push(Event::Iteration {
        arm: "v2".into(),
        version: 1,
        sprint: 1,
        hypothesis: "A third example about partial refunds fixes d3.".into(),
        class: None,
        old_spec_hash: "v2-0".into(),
        spec: "prompt\nexamples\npartial".into(),
        spec_hash: "v2-1".into(),
        diff: "  prompt\n  examples\n+ partial".into(),
    });
    ev.extend(calls("v2", 1, Part::Dev, &dev, &[1.0, 1.0, 1.0, 1.0]));
    ev.push(Event::IterationOutcome {
        arm: "v2".into(),
        version: 1,
        outcome: IterationVerdict::Neutral,
        delta: 0.25,
        lower: -0.2,
        upper: 0.7,
        closes_sprint: true,
        reason: "neutral and the diagnosis shows nothing new: signal saturated".into(),
        path_check: None,
    });
    ev.push(gate(1, 1, GateOutcome::Lock));
    ev.push(Event::Sealed {
        locked: vec![key("v2", 1)],
        killed: Vec::new(),
    });
    ev.push(Event::PowerChecked {
        arms: vec![("v2".into(), 0.01, 0.028, true)],
        note: "powered".into(),
        slices: Vec::new(),
        accepted: None,
    });
    ev.push(Event::SealedOpened {
        arms: vec![key("v1", 0), key("v2", 1)],
        test_n: 4,
        test_commitment: commitment,
    });
    ev.extend(calls("v1", 0, Part::Test, &test, &[1.0, 0.0, 1.0, 0.0]));
    ev.extend(calls("v2", 1, Part::Test, &test, &[1.0, 1.0, 1.0, 0.0]));
    ev.push(Event::VerdictReached {
        decision: Decision::Ship,
        arm: Some("v2".into()),
        slices: vec!["smb".into(), "ent".into()],
        rationale: "Ship v2: every registered rule passes.".into(),
        data_hash: "data-json".into(),
        verdict_hash: None,
        conclusion_hash: None,
    });
    ev
}

/// Journals the events in a fresh in-memory store and returns the verified entries.
pub(crate) fn journal(events: Vec<Event>) -> Vec<Entry> {
    let store = Store::in_memory();
    for e in events {
        store.append(e).unwrap();
    }
    store.entries().unwrap()
}

/// The position of the first event of a kind.
pub(crate) fn at(events: &[Event], kind: &str) -> usize {
    events.iter().position(|e| e.kind() == kind).unwrap()
}
