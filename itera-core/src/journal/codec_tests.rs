//! The journal codec refuses a value it could not read back (issue "An experiment directory
//! survives anything", item 5). A NaN or infinite number serialises as `null`; written, the
//! next open reads the line back differently and reports tampering, and the experiment is lost.
//! `seal_entry` therefore checks the round trip before a line is written.

use crate::data::row::RowId;
use crate::data::split::Part;
use crate::journal::event::{CallOutcome, CallRecord, Event, GENESIS, Verifier, seal_entry};
use crate::journal::record::Usage;
use proptest::prelude::*;

pub(crate) fn call(latency_ms: f64, score: f64, cost_usd: Option<f64>) -> Event {
    Event::Call(CallRecord {
        arm: "a".into(),
        version: 0,
        spec_hash: "h".into(),
        row: RowId::from("r1"),
        part: Part::Dev,
        trial: 0,
        attempts: 1,
        errors: Vec::new(),
        latency_ms,
        queue_ms: None,
        server_ms: None,
        outcome: CallOutcome::Scored {
            output: serde_json::json!("yes"),
            raw: None,
            score,
            failure_modes: Vec::new(),
            deferred_findings: Vec::new(),
            judge: "exact".into(),
            rubric_hash: None,
            usage: Usage::default(),
            cost_usd,
            judge_call: None,
            trace: Vec::new(),
        },
    })
}

/// Seals `event` and, when the codec accepts it, reads the line back as the next open would.
fn round_trip(event: Event) -> Result<Event, String> {
    let (_, line) =
        seal_entry(0, GENESIS, "2026-01-01T00:00:00Z".into(), event).map_err(|e| e.to_string())?;
    Verifier::new()
        .push(&line)
        .map(|e| e.event)
        .map_err(|e| format!("written, then refused on read: {e}"))
}

#[test]
fn a_nan_or_infinite_number_is_refused_before_it_is_written() {
    for (what, event) in [
        ("NaN latency", call(f64::NAN, 1.0, None)),
        ("infinite latency", call(f64::INFINITY, 1.0, None)),
        ("NaN score", call(1.0, f64::NAN, None)),
        ("NaN cost", call(1.0, 1.0, Some(f64::NAN))),
        ("infinite cost", call(1.0, 1.0, Some(f64::NEG_INFINITY))),
    ] {
        let sealed = seal_entry(0, GENESIS, "2026-01-01T00:00:00Z".into(), event);
        let err = sealed.err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("NaN or infinite")),
            "{what}: the codec must refuse the event, got {err:?}"
        );
    }
}

proptest! {
    /// Every number the codec accepts reads back as written (G1: a written line is never
    /// reported as tampered), and every finite one is accepted.
    #[test]
    fn every_accepted_event_reads_back_equal(
        latency in proptest::num::f64::ANY,
        score in proptest::num::f64::ANY,
        cost in proptest::option::of(proptest::num::f64::ANY),
        mean in proptest::num::f64::ANY,
        sd in proptest::num::f64::ANY,
    ) {
        let call_finite =
            latency.is_finite() && score.is_finite() && cost.is_none_or(f64::is_finite);
        for (event, finite) in [
            (call(latency, score, cost), call_finite),
            (Event::BaselineScored { mean, sd, rows: 3 }, mean.is_finite() && sd.is_finite()),
        ] {
            match round_trip(event.clone()) {
                Ok(back) => prop_assert_eq!(back, event),
                Err(e) => {
                    prop_assert!(!e.contains("refused on read"), "{}", e);
                    prop_assert!(!finite, "a finite event was refused: {}", e);
                }
            }
        }
    }
}
