//! The self-audit's power item (G20, G45): the test set powered for T and on every major slice,
//! read from the journal's `power-checked` event. It fails when the design was underpowered and
//! accepted explicitly (the reason is quoted), when an older journal went ahead underpowered
//! without acceptance, and when no check was journaled.

use super::{AuditItem, AuditStatus, ITEMS, Journal, line};
use crate::journal::event::Event;

pub(super) fn powered(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[21];
    let Some((e, arms, slices, accepted)) = j.entries.iter().rev().find_map(|e| match &e.event {
        Event::PowerChecked {
            arms,
            slices,
            accepted,
            ..
        } => Some((e, arms, slices, accepted)),
        _ => None,
    }) else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            "no power check in the journal (G20)",
        );
    };
    let mut ev: Vec<String> = arms
        .iter()
        .map(|(arm, _, mde, ok)| {
            format!(
                "{arm}: MDE {:.1}pp ({})",
                mde * 100.0,
                if *ok {
                    "powered for T"
                } else {
                    "underpowered for T"
                }
            )
        })
        .collect();
    let short: Vec<String> = slices
        .iter()
        .filter(|s| !s.powered)
        .map(|s| {
            format!(
                "{} on slice {}: {} test rows, needs ≈ {}{}",
                s.arm,
                s.slice,
                s.test_rows,
                s.rows_needed.map_or("?".into(), |n| n.to_string()),
                if s.pooled { " (pooled variance)" } else { "" }
            )
        })
        .collect();
    if slices.is_empty() {
        // Journals written before slices were planned carry no per-slice power.
    } else if short.is_empty() {
        ev.push(format!("all {} major slice plan(s) powered", slices.len()));
    } else {
        ev.extend(short.iter().cloned());
    }
    let ok = arms.iter().all(|a| a.3) && short.is_empty();
    let verdict = match (ok, accepted) {
        (true, _) => format!("journal line {}: powered", line(e)),
        (false, Some(r)) => format!(
            "journal line {}: underpowered, accepted explicitly: \"{r}\" — a verdict short of T is \"we could not tell\" (G45)",
            line(e)
        ),
        (false, None) => format!(
            "journal line {}: underpowered and went ahead without an explicit acceptance",
            line(e)
        ),
    };
    ev.insert(0, verdict);
    AuditItem::pass_if(item, ok, ev.join("; "))
}
