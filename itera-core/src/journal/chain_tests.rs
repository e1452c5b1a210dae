//! Tests of the line codec: one canonical encoding per line written or verified ("Fast at 100k
//! rows"), the same bytes as the canonical JSON of the whole entry, and every edited byte caught
//! (G7).

use super::*;
use crate::data::row::RowId;
use crate::hash::ENCODINGS;
use crate::hash::canonical_json;

fn call_event(i: u32) -> Event {
    Event::Reveal {
        row: RowId(format!("row-{i}")),
    }
}

fn encodings() -> u64 {
    ENCODINGS.with(|c| c.get())
}

/// The sealed line is byte for byte the canonical JSON of the entry, and its hash the SHA-256 of
/// the canonical body without `hash`.
#[test]
fn sealed_line_is_the_canonical_entry() {
    let mut prev = GENESIS.to_string();
    for i in 0..5 {
        let (entry, line) = seal_entry(
            i,
            &prev,
            "2026-12-01T00:00:00Z".into(),
            call_event(i as u32),
        )
        .unwrap();
        assert_eq!(line, canonical_json(&entry).unwrap());
        let body = Body {
            seq: entry.seq,
            prev: &entry.prev,
            at: &entry.at,
            event: &entry.event,
        };
        assert_eq!(
            entry.hash,
            sha256_hex(canonical_json(&body).unwrap().as_bytes())
        );
        prev = entry.hash;
    }
}

/// Sealing a line encodes it once (it was twice).
#[test]
fn seal_encodes_each_line_once() {
    let before = encodings();
    seal_entry(0, GENESIS, "2026-12-01T00:00:00Z".into(), call_event(1)).unwrap();
    assert_eq!(encodings() - before, 1, "sealing");
}

/// Sealing a call line decodes nothing (issue #17: the read-back that refuses a NaN was 7% of a
/// 100k-row `itera run`, decoding every call line it had just encoded). A call's numbers are
/// checked as they are encoded instead; the refusal itself is `codec_tests.rs`'s.
#[test]
fn sealing_a_call_decodes_nothing() {
    let call = crate::journal::codec_tests::call(1.5, 1.0, Some(0.25));
    let decodes = || crate::journal::decode::LINE_DECODES.with(|c| c.get());
    let before = decodes();
    seal_entry(0, GENESIS, "2026-12-01T00:00:00Z".into(), call).unwrap();
    assert_eq!(decodes() - before, 0, "sealing a call decoded its line");
}

/// Verifying a line re-encodes nothing ("journal at the speed of the disk", issue #17 item 2):
/// the profile of `itera verify` on a 140k-line journal was dominated by rebuilding each line's
/// canonical JSON through a `serde_json::Value` tree (malloc/free, `write_canonical`). The line's
/// own bytes, without its `hash` field, are the canonical body the writer hashed, so the SHA-256
/// of those bytes is checked instead: any edited byte still fails (the test below, G7).
#[test]
fn verifying_a_line_reencodes_nothing() {
    let (_, line) = seal_entry(0, GENESIS, "2026-12-01T00:00:00Z".into(), call_event(1)).unwrap();
    let before = encodings();
    Verifier::new().push(&line).unwrap();
    assert_eq!(encodings() - before, 0, "verifying");
}

/// Every single-byte edit of a line is refused (unparsable, edited, or a broken link), never
/// accepted and never a panic (G7).
#[test]
fn verifier_refuses_every_single_byte_edit() {
    let (_, line) = seal_entry(0, GENESIS, "2026-12-01T00:00:00Z".into(), call_event(7)).unwrap();
    assert!(Verifier::new().push(&line).is_ok());
    let bytes = line.as_bytes();
    for i in 0..bytes.len() {
        for b in [b' ', b'0', b'7', b'"', b'a', b'}', b'\\'] {
            if bytes[i] == b {
                continue;
            }
            let mut edited = bytes.to_vec();
            edited[i] = b;
            let Ok(text) = std::str::from_utf8(&edited) else {
                continue;
            };
            assert!(
                Verifier::new().push(text).is_err(),
                "byte {i} set to {:?} was accepted: {text}",
                char::from(b)
            );
        }
    }
}

/// A real call record, as the runner journals it.
fn a_call() -> Event {
    use crate::journal::record::{CallOutcome, CallRecord};
    Event::Call(CallRecord {
        arm: "v2".into(),
        version: 0,
        spec_hash: "ab".repeat(32),
        row: RowId("row-1".into()),
        part: crate::data::split::Part::Test,
        trial: 0,
        attempts: 1,
        errors: Vec::new(),
        latency_ms: 1.5,
        queue_ms: None,
        server_ms: None,
        outcome: CallOutcome::Failed {
            error: "timeout".into(),
        },
    })
}

/// A line skipped without decoding (`push_if`, issue #17) is verified as strictly as a decoded
/// one: every single-byte edit gets exactly the error a full decode gives (G7), and an intact
/// line advances the chain the same way.
#[test]
fn a_skipped_line_fails_like_a_decoded_one() {
    for event in [a_call(), call_event(7)] {
        let (entry, line) = seal_entry(0, GENESIS, "2026-12-01T00:00:00Z".into(), event).unwrap();
        let mut skipping = Verifier::new();
        assert_eq!(skipping.push_if(&line, |_| false), Ok(None));
        assert_eq!(
            (skipping.head(), skipping.count()),
            (entry.hash.as_str(), 1)
        );
        let bytes = line.as_bytes();
        for i in 0..bytes.len() {
            for b in [b' ', b'0', b'7', b'"', b'a', b'}', b'\\'] {
                if bytes[i] == b {
                    continue;
                }
                let mut edited = bytes.to_vec();
                edited[i] = b;
                let Ok(text) = std::str::from_utf8(&edited) else {
                    continue;
                };
                let skipped = Verifier::new().push_if(text, |_| false);
                let decoded = Verifier::new().push(text);
                assert!(
                    skipped.is_err(),
                    "byte {i} set to {:?} was accepted",
                    char::from(b)
                );
                assert_eq!(skipped.unwrap_err(), decoded.unwrap_err(), "byte {i}");
            }
        }
    }
}

/// What a scan peeks at before decoding: a call's part, and nothing else of other events.
#[test]
fn a_peek_reads_the_kind_and_part_without_decoding() {
    let (_, call) = seal_entry(0, GENESIS, "2026-12-01T00:00:00Z".into(), a_call()).unwrap();
    let mut seen = None;
    Verifier::new()
        .push_if(&call, |p| {
            seen = Some((p.call, p.part.map(str::to_string), p.seq));
            false
        })
        .unwrap();
    assert_eq!(seen, Some((true, Some("test".to_string()), 0)));
    let (_, reveal) = seal_entry(0, GENESIS, "2026-12-01T00:00:00Z".into(), call_event(3)).unwrap();
    let got = Verifier::new().push_if(&reveal, |p| !p.call && p.part.is_none());
    assert!(matches!(got, Ok(Some(e)) if e.event == call_event(3)));
}
