//! The direct decoding of call lines gives exactly the entry that was written, like serde's
//! tagged decoding, and refuses what it refuses.

use super::*;
use crate::data::row::RowId;
use crate::data::split::Part;
use crate::journal::chain::seal_entry;
use crate::journal::event::GENESIS;

fn record(outcome: CallOutcome) -> CallRecord {
    CallRecord {
        arm: "v2".into(),
        version: 3,
        spec_hash: "cd".repeat(32),
        row: RowId("row/7 \"quoted\" é".into()),
        part: Part::Dev,
        trial: 2,
        attempts: 2,
        errors: vec!["timeout after 30 s".into()],
        latency_ms: 0.0012330000000000002,
        queue_ms: Some(4.25),
        server_ms: None,
        outcome,
    }
}

fn outcomes() -> Vec<CallOutcome> {
    vec![
        CallOutcome::Failed {
            error: "HTTP 500".into(),
        },
        CallOutcome::Scored {
            output: Value::String("travel".into()),
            raw: None,
            score: 1.0,
            failure_modes: Vec::new(),
            deferred_findings: Vec::new(),
            judge: "exact".into(),
            rubric_hash: None,
            usage: Usage::default(),
            cost_usd: None,
            judge_call: None,
            trace: Vec::new(),
        },
        CallOutcome::Scored {
            output: serde_json::json!({"label": null, "n": [1, 2.5, -3e-7], "nested": {"event": "call", "status": "failed"}}),
            raw: Some("```json\n{\"label\": null}\n```".into()),
            score: 0.3333333333333333,
            failure_modes: vec!["transfer_as_revenue".into()],
            deferred_findings: vec!["new mode".into()],
            judge: "llm".into(),
            rubric_hash: Some("ef".repeat(32)),
            usage: Usage {
                input_tokens: Some(120),
                output_tokens: Some(8),
                cache_read_tokens: Some(64),
                cost_usd: Some(0.000125),
                ..Usage::default()
            },
            cost_usd: Some(0.0003),
            judge_call: Some(JudgeCall::default()),
            trace: vec!["retrieve".into(), "rerank".into()],
        },
        CallOutcome::Scored {
            output: Value::Null,
            raw: None,
            score: 0.0,
            failure_modes: Vec::new(),
            deferred_findings: Vec::new(),
            judge: "exact".into(),
            rubric_hash: None,
            usage: Usage::default(),
            cost_usd: None,
            judge_call: None,
            trace: Vec::new(),
        },
    ]
}

/// Every shape of call record reads back as written, by the direct path and by serde's tagged
/// path alike; a non-call line goes through the tagged path unchanged.
#[test]
fn the_direct_decode_equals_the_tagged_one() {
    let mut events: Vec<Event> = outcomes()
        .into_iter()
        .map(|o| Event::Call(record(o)))
        .collect();
    events.push(Event::Reveal {
        row: RowId("r1".into()),
    });
    for event in events {
        let (entry, line) = seal_entry(5, GENESIS, "2026-12-02T08:00:00Z".into(), event).unwrap();
        assert_eq!(decode_line(&line).unwrap(), entry, "{line}");
        assert_eq!(
            serde_json::from_str::<Entry>(&line).unwrap(),
            entry,
            "{line}"
        );
    }
}

/// What serde's tagged decoding refuses, the direct path refuses too: a scored outcome without
/// its score, judge, usage or output, a failure without its error, an unknown status, an
/// unknown top-level field.
#[test]
fn the_direct_decode_refuses_what_the_tagged_one_refuses() {
    let (_, line) = seal_entry(
        0,
        GENESIS,
        "2026-12-02T08:00:00Z".into(),
        Event::Call(record(outcomes().remove(1))),
    )
    .unwrap();
    let broken = [
        line.replace(r#""score":1.0,"#, ""),
        line.replace(r#""judge":"exact","#, ""),
        line.replace(r#""output":"travel","#, ""),
        line.replace(r#""status":"scored""#, r#""status":"lost""#),
        line.replace(r#"{"at""#, r#"{"extra":1,"at""#),
        line.replace(r#""usage":{"#, r#""usage":null,"x":{"#),
    ];
    for b in &broken {
        assert_ne!(b, &line, "the edit applies");
        assert!(decode_line(b).is_err(), "accepted: {b}");
    }
    let (_, failed) = seal_entry(
        0,
        GENESIS,
        "2026-12-02T08:00:00Z".into(),
        Event::Call(record(outcomes().remove(0))),
    )
    .unwrap();
    let no_error = failed.replace(r#""error":"HTTP 500","#, "");
    assert_ne!(no_error, failed);
    assert!(decode_line(&no_error).is_err(), "accepted: {no_error}");
}
