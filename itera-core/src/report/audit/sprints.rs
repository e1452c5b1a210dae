//! The sprint items of the self-audit (METHOD.md §6): one change per iteration, hypotheses
//! journaled before their first call, the sprint cap, a gate between sprints, the sprint count
//! (a fourth sprint needs the recorded gate audit) and the latest gate-reviewed version locked.

use super::{AuditItem, AuditStatus, ITEMS, Journal, line};
use crate::iterate::gate::GateOutcome;
use crate::iterate::iteration::{SPRINT_CAP, SPRINTS_WITHOUT_AUDIT};
use crate::journal::event::{Entry, Event};
use std::collections::BTreeMap;

/// Changed lines and hunks (runs of changed lines) of a line diff.
fn diff_shape(diff: &str) -> (usize, usize) {
    let mut changed = 0;
    let mut hunks = 0;
    let mut in_hunk = false;
    for l in diff.lines() {
        let c = l.starts_with("+ ") || l.starts_with("- ") || l == "+" || l == "-";
        if c {
            changed += 1;
            if !in_hunk {
                hunks += 1;
            }
        }
        in_hunk = c;
    }
    (changed, hunks)
}

pub(super) fn one_change(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[8];
    let arms: Vec<String> = j
        .frame
        .arms
        .iter()
        .map(|a| format!("{} (\"{}\")", a.id, a.change))
        .collect();
    let mut ev = vec![format!(
        "the frame's {} arm(s) each name one change: {}",
        arms.len(),
        arms.join(", ")
    )];
    let mut ok = j.frame.arms.iter().all(|a| !a.change.trim().is_empty());
    let its: Vec<&Entry> = j.of("iteration");
    if its.is_empty() {
        ev.push("no iterations".into());
    }
    for e in its {
        let Event::Iteration {
            arm,
            version,
            diff,
            spec_hash,
            old_spec_hash,
            ..
        } = &e.event
        else {
            continue;
        };
        let (changed, hunks) = diff_shape(diff);
        if changed == 0 || spec_hash == old_spec_hash {
            ok = false;
            ev.push(format!(
                "journal line {}: {arm} v{version} changes nothing",
                line(e)
            ));
        } else if hunks > 1 {
            ev.push(format!(
                "journal line {}: {arm} v{version} touches {hunks} places ({changed} lines): check they are one change",
                line(e)
            ));
        } else {
            ev.push(format!(
                "journal line {}: {arm} v{version} one hunk, {changed} line(s)",
                line(e)
            ));
        }
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

pub(super) fn hypotheses_first(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[9];
    let its = j.of("iteration");
    if its.is_empty() {
        return AuditItem::new(item, AuditStatus::Pass, "no iterations");
    }
    let mut ok = true;
    let mut ev = Vec::new();
    for e in its {
        let Event::Iteration {
            arm,
            version,
            hypothesis,
            ..
        } = &e.event
        else {
            continue;
        };
        let first = j.ix.calls().find(|c| c.arm == arm && c.version == *version);
        if hypothesis.trim().is_empty() {
            ok = false;
            ev.push(format!(
                "journal line {}: {arm} v{version} has an empty hypothesis",
                line(e)
            ));
        }
        match first {
            Some(c) if c.seq < e.seq => {
                ok = false;
                ev.push(format!(
                    "{arm} v{version}: the first call (line {}) precedes its hypothesis (line {})",
                    c.line(),
                    line(e)
                ));
            }
            Some(c) => ev.push(format!(
                "{arm} v{version}: hypothesis at line {}, first call at line {}",
                line(e),
                c.line()
            )),
            None => ev.push(format!(
                "{arm} v{version}: hypothesis at line {}, not scored yet",
                line(e)
            )),
        }
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

/// Iterations per sprint, from the `iteration` events.
fn per_sprint(j: &Journal<'_>) -> BTreeMap<u32, usize> {
    let mut out = BTreeMap::new();
    for e in j.entries {
        if let Event::Iteration { sprint, .. } = &e.event {
            *out.entry(*sprint).or_insert(0) += 1;
        }
    }
    out
}

pub(super) fn sprint_cap(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[10];
    let counts = per_sprint(j);
    if counts.is_empty() {
        return AuditItem::new(item, AuditStatus::Pass, "no iterations");
    }
    let cap = SPRINT_CAP as usize;
    let ok = counts.values().all(|n| *n <= cap);
    let ev: Vec<String> = counts
        .iter()
        .map(|(s, n)| {
            format!(
                "sprint {s}: {n} iteration(s){}",
                if *n > cap { " (over the cap of 3)" } else { "" }
            )
        })
        .collect();
    AuditItem::pass_if(item, ok, ev.join("; "))
}

pub(super) fn gates_between_sprints(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[11];
    let mut ok = true;
    let mut ev = Vec::new();
    let mut gate_since: Option<u64> = None;
    let mut iteration_since_gate = false;
    for e in j.entries {
        match &e.event {
            Event::Gate(_) => {
                gate_since = Some(line(e));
                iteration_since_gate = false;
            }
            Event::Iteration { .. } => iteration_since_gate = true,
            Event::SprintOpened { .. } | Event::Sealed { .. } => {
                let what = match &e.event {
                    Event::SprintOpened { sprint, .. } => format!("sprint {sprint} opened"),
                    _ => "sealed".to_string(),
                };
                match gate_since {
                    Some(g) if !iteration_since_gate => {
                        ev.push(format!(
                            "{what} at line {} after the gate at line {g}",
                            line(e)
                        ));
                    }
                    _ => {
                        ok = false;
                        ev.push(format!(
                            "{what} at line {} without a gate since the last sprint",
                            line(e)
                        ));
                    }
                }
                gate_since = None;
            }
            _ => {}
        }
    }
    if ev.is_empty() {
        let gates = j.of("gate").len();
        ev.push(format!(
            "{gates} gate(s); no sprint opened and not sealed yet"
        ));
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

pub(super) fn sprint_count(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[12];
    let opened: Vec<(&Entry, u32, Option<&String>)> = j
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::SprintOpened { sprint, audit } => Some((e, *sprint, audit.as_ref())),
            _ => None,
        })
        .collect();
    let max = opened.iter().map(|o| o.1).max().unwrap_or(1).max(1);
    let mut ev = vec![format!("{max} sprint(s)")];
    for (e, s, audit) in &opened {
        if *s > SPRINTS_WITHOUT_AUDIT {
            ev.push(match audit {
                Some(a) => format!(
                    "sprint {s} opened at line {} with the recorded gate audit: \"{a}\"",
                    line(e)
                ),
                None => format!("sprint {s} opened at line {} without a gate audit", line(e)),
            });
        }
    }
    AuditItem::pass_if(item, max <= SPRINTS_WITHOUT_AUDIT, ev.join("; "))
}

pub(super) fn latest_locked(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[13];
    let Some((e, locked, killed)) = j.entries.iter().find_map(|e| match &e.event {
        Event::Sealed { locked, killed } => Some((e, locked, killed)),
        _ => None,
    }) else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            "no sealed event: no arm was locked",
        );
    };
    let mut ok = true;
    let mut ev = Vec::new();
    for arm in j.candidates() {
        let gate_killed = j.ledger.killed.contains(arm);
        let reviewed = j
            .ledger
            .gates
            .iter()
            .flat_map(|g| g.arms.iter())
            .filter(|a| a.arm == arm && a.outcome != GateOutcome::Kill)
            .map(|a| a.version)
            .max();
        let expected = reviewed.and_then(|r| {
            j.ledger
                .versions
                .iter()
                .filter(|v| v.key.arm == arm && v.key.version <= r)
                .max_by_key(|v| v.key.version)
        });
        let got = locked.iter().find(|k| k.arm == arm);
        match (gate_killed, expected, got) {
            (true, _, None) if killed.iter().any(|k| k == arm) => {
                ev.push(format!("{arm}: killed by the gate, not locked"));
            }
            (false, Some(x), Some(g)) if x.key == *g => {
                let latest = j.ledger.latest(arm).map_or(g.version, |v| v.key.version);
                ev.push(format!(
                    "{arm}: locked v{} = latest gate-reviewed version{}",
                    g.version,
                    if latest > g.version {
                        format!(" (v{latest} was never gated)")
                    } else {
                        String::new()
                    }
                ));
            }
            (_, x, g) => {
                ok = false;
                ev.push(format!(
                    "{arm}: locked {}, latest gate-reviewed {}",
                    g.map_or("nothing".into(), |g| format!("v{}", g.version)),
                    x.map_or("none".into(), |x| format!("v{}", x.key.version))
                ));
            }
        }
    }
    AuditItem::pass_if(
        item,
        ok,
        format!("journal line {}: {}", line(e), ev.join("; ")),
    )
}
