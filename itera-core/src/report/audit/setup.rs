//! The setup items of the self-audit (METHOD.md §6): the frame and metric registered before any
//! data with no drift since (G7), the pilot passed before the first dev call, and the split's
//! distribution audit with every empty slice justified by an override.

use super::{AuditItem, AuditStatus, ITEMS, Journal, Storage, line, lines};
use crate::data::split::Part;
use crate::hash;
use crate::journal::event::Event;
use std::collections::BTreeSet;

pub(super) fn registered_first(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[1];
    let regs = j.of("registered");
    let Some(reg) = regs.first() else {
        return AuditItem::new(item, AuditStatus::Fail, "no registration in the journal");
    };
    let mut problems = Vec::new();
    if regs.len() > 1 {
        problems.push(format!(
            "{} registrations (journal lines {})",
            regs.len(),
            lines(&regs)
        ));
    }
    // The first data line: the split, or a call if one came first.
    let split = j
        .entries
        .iter()
        .find(|e| matches!(e.event, Event::Split { .. }))
        .map(|e| (e.seq, e.event.kind()));
    let call = j.ix.calls().next().map(|c| (c.seq, "call"));
    let data = match (split, call) {
        (Some(s), Some(c)) => Some(s.min(c)),
        (s, c) => s.or(c),
    };
    let order = match data {
        Some((seq, kind)) if seq > reg.seq => format!(
            "journal line {}: registered before the data ({kind} at line {})",
            line(reg),
            seq + 1
        ),
        Some((seq, kind)) => {
            problems.push(format!(
                "journal line {}: {kind} comes before the registration (line {})",
                seq + 1,
                line(reg)
            ));
            String::new()
        }
        None => format!("journal line {}: registered; no data yet", line(reg)),
    };
    let drift = match (&reg.event, hash::hash_value(j.frame)) {
        (Event::Registered { frame_hash, .. }, Ok(h)) if *frame_hash == h => format!(
            "the frame hashes to the registered {}… (no drift, G7)",
            h.get(..12).unwrap_or(&h)
        ),
        (Event::Registered { frame_hash, .. }, Ok(h)) => {
            problems.push(format!(
                "the frame hashes to {h}, the journal registered {frame_hash} (drift, G7)"
            ));
            String::new()
        }
        (_, Err(e)) => {
            problems.push(format!("the frame cannot be hashed: {e}"));
            String::new()
        }
        _ => String::new(),
    };
    let ok = problems.is_empty();
    let mut ev = problems;
    ev.extend([order, drift].into_iter().filter(|s| !s.is_empty()));
    ev.push(format!(
        "the hash chain of all {} lines verified when the journal was read",
        j.ix.lines()
    ));
    AuditItem::pass_if(item, ok, ev.join("; "))
}

pub(super) fn pilot(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[2];
    let failed = j.of("pilot-failed").len();
    let passed = j.first("pilot-passed");
    let first_dev = j.first_call(Part::Dev);
    let Some(p) = passed else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            format!("no pilot-passed event; {failed} failed pilot(s)"),
        );
    };
    let mut problems = Vec::new();
    if let Some(d) = first_dev
        && d.seq < p.seq
    {
        problems.push(format!(
            "the first dev call (line {}) precedes the passed pilot (line {})",
            d.line(),
            line(p)
        ));
    }
    if let Event::PilotPassed { arms, row } = &p.event {
        let piloted: BTreeSet<&str> = arms.iter().map(|a| a.arm.as_str()).collect();
        let missing: Vec<&str> = j
            .frame
            .arm_ids()
            .into_iter()
            .filter(|a| !piloted.contains(a))
            .collect();
        if !missing.is_empty() {
            problems.push(format!("arms never piloted: {}", missing.join(", ")));
        }
        let ok = problems.is_empty();
        let first = first_dev.map_or("no dev call yet".to_string(), |d| {
            format!("the first dev call is at line {}", d.line())
        });
        problems.push(format!(
            "journal line {}: pilot passed on row {row} for {} arm(s); {first}; {failed} failed pilot(s) before it",
            line(p),
            arms.len()
        ));
        return AuditItem::pass_if(item, ok, problems.join("; "));
    }
    AuditItem::new(item, AuditStatus::Fail, "unreadable pilot event")
}

pub(super) fn distribution(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[3];
    let Some((e, audit, overrides)) = j.entries.iter().find_map(|e| match &e.event {
        Event::Split {
            audit, overrides, ..
        } => Some((e, audit, overrides)),
        _ => None,
    }) else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            "no split, so no distribution audit",
        );
    };
    if audit.total == 0 || audit.slices.is_empty() {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            format!("journal line {}: the split's audit is empty", line(e)),
        );
    }
    let mut empty = Vec::new();
    for s in audit.slices.iter().filter(|s| s.source > 0) {
        for (part, n) in [
            (Part::Train, s.train),
            (Part::Dev, s.dev),
            (Part::Test, s.test),
        ] {
            if n == 0 {
                let why = overrides
                    .iter()
                    .find(|o| o.slice == s.slice && o.part == part);
                empty.push((s.slice.clone(), part, why.map(|o| o.reason.clone())));
            }
        }
    }
    let unjustified: Vec<String> = empty
        .iter()
        .filter(|(_, _, why)| why.is_none())
        .map(|(s, p, _)| format!("{s} is empty in {p} without an override"))
        .collect();
    let mut ev = vec![format!(
        "journal line {}: {} rows, {} slice(s) × train/dev/test counted against the source's shares",
        line(e),
        audit.total,
        audit.slices.len()
    )];
    let mut ok = unjustified.is_empty();
    ev.extend(unjustified);
    let overridden: Vec<String> = empty
        .iter()
        .filter_map(|(s, p, why)| why.as_ref().map(|w| format!("{s} empty in {p} (\"{w}\")")))
        .collect();
    if !overridden.is_empty() {
        ev.push(format!("warning, overrides: {}", overridden.join("; ")));
    }
    if !audit.warnings.is_empty() {
        ev.push(format!("warnings: {}", audit.warnings.join("; ")));
    }
    if let Some(first_call) = j.first_call(Part::Dev)
        && first_call.seq < e.seq
    {
        ok = false;
        ev.push("dev scoring started before the audit".into());
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

/// G15: the test set is fresh — no row of it was opened by an earlier experiment. Fails when the
/// registration declares `reuse_test` (the split then went ahead on spent rows, or could have);
/// passes in a directory, whose split was checked against the spent-test ledger beside it; does
/// not apply in memory without a reuse (no ledger is checked unless one is set). Tested by
/// `declared_reuse_of_spent_rows_is_labelled_not_fresh_everywhere_and_fails_the_audit`
/// (tests/integrity.rs), which checks both marks.
pub(super) fn fresh_test_set(j: &Journal<'_>, storage: Storage) -> AuditItem {
    let item = ITEMS[20];
    let split = j.entries.iter().find_map(|e| match &e.event {
        Event::Split { reused_test, .. } => Some((e, reused_test)),
        _ => None,
    });
    let Some((e, reused)) = split else {
        return AuditItem::new(item, AuditStatus::Fail, "no split in the journal");
    };
    match (reused, &j.frame.reuse_test) {
        (Some(r), _) => AuditItem::new(
            item,
            AuditStatus::Fail,
            format!("journal line {}: {}", line(e), r.label()),
        ),
        (None, Some(reason)) => AuditItem::new(
            item,
            AuditStatus::Fail,
            format!("the registration declares reuse_test (\"{reason}\"): not a fresh test set"),
        ),
        (None, None) if storage == Storage::Directory => AuditItem::new(
            item,
            AuditStatus::Pass,
            format!(
                "journal line {}: no reuse declared; the split's test rows were checked against the spent-test ledger",
                line(e)
            ),
        ),
        (None, None) => AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "in memory: no reuse declared; a spent-test ledger is checked only when one is set (Store::with_spent_ledger)",
        ),
    }
}
