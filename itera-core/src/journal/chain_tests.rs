//! Tests of the line codec: one canonical encoding per line written or verified ("Fast at 100k
//! rows"), the same bytes as the canonical JSON of the whole entry, and every edited byte caught
//! (G7).

use super::*;
use crate::data::row::RowId;
use crate::hash::ENCODINGS;

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
