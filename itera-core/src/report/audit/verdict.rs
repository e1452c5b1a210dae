//! The test-pass and verdict items of the self-audit (METHOD.md §6): the test set sealed and
//! opened once by the locked versions only (G39), per-slice scores (R3), failure-mode deltas,
//! severity disagreement surfaced (G43), the split stratified by failure mode, the label-noise
//! audit (G18) and the negative control.

use super::{
    AuditItem, AuditStatus, ITEMS, Journal, Storage, Tables, line, lines, mean, pp, pp_abs,
};
use crate::data::split::Part;
use crate::journal::event::Event;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn sealed_once(j: &Journal<'_>, storage: Storage) -> AuditItem {
    let item = ITEMS[0];
    let mut problems = Vec::new();
    let mut facts = Vec::new();
    let split = j.entries.iter().find_map(|e| match &e.event {
        Event::Split {
            test_commitment,
            test_n,
            ..
        } => Some((e, test_commitment.as_str(), *test_n)),
        _ => None,
    });
    match split {
        Some((e, c, n)) if c.len() == 64 => facts.push(format!(
            "journal line {}: {n} test rows sealed under commitment {}…",
            line(e),
            c.get(..12).unwrap_or(c)
        )),
        Some((e, _, _)) => problems.push(format!(
            "journal line {}: the split carries no SHA-256 test commitment",
            line(e)
        )),
        None => problems.push("no split in the journal".to_string()),
    }
    let opened = j.of("sealed-opened");
    match opened.len() {
        0 => problems.push("the sealed test set was never opened (no sealed-opened event)".into()),
        1 => facts.push(format!("opened once, at journal line {}", line(opened[0]))),
        n => problems.push(format!(
            "the sealed test set was opened {n} times (journal lines {})",
            lines(&opened)
        )),
    }
    for e in &opened {
        if let (
            Event::SealedOpened {
                test_commitment,
                test_n,
                ..
            },
            Some((_, c, n)),
        ) = (&e.event, split)
            && (test_commitment != c || *test_n != n)
        {
            problems.push(format!(
                "journal line {}: the commitment or size opened differs from the split's",
                line(e)
            ));
        }
    }
    let verdicts = j.of("verdict");
    if verdicts.len() > 1 {
        problems.push(format!(
            "{} verdicts (journal lines {})",
            verdicts.len(),
            lines(&verdicts)
        ));
    }
    let opened_at = opened.first().map_or(u64::MAX, |e| e.seq);
    let allowed: BTreeSet<(String, u32)> = opened
        .first()
        .map(|e| match &e.event {
            Event::SealedOpened { arms, .. } => {
                arms.iter().map(|k| (k.arm.clone(), k.version)).collect()
            }
            _ => BTreeSet::new(),
        })
        .unwrap_or_default();
    // One pass over the test calls, holding none of them (a 100k-row run has 40k: #17).
    let (mut test_calls, mut early, mut stray) = (0usize, None::<u64>, None::<u64>);
    for c in j.ix.calls().filter(|c| c.part == Part::Test) {
        test_calls += 1;
        if early.is_none() && c.seq < opened_at {
            early = Some(c.line());
        }
        if stray.is_none() && !allowed.iter().any(|(a, v)| a == c.arm && *v == c.version) {
            stray = Some(c.line());
        }
    }
    if let Some(early) = early {
        problems.push(format!(
            "journal line {early}: a test call before the test set was opened"
        ));
    }
    if let Some(stray) = stray
        && opened_at != u64::MAX
    {
        problems.push(format!(
            "journal line {stray}: a test call by a version that was not opened for test (G39)"
        ));
    }
    facts.push(format!("{test_calls} test call(s)"));
    facts.push(match storage {
        Storage::Directory => "the journal lives in a directory: a reopened experiment replays it \
                               and refuses a second opening, across processes"
            .to_string(),
        Storage::InMemory => "the journal lives in memory: the one-shot guarantee is per process \
                              (move semantics of the typestate), not across processes"
            .to_string(),
    });
    let ok = problems.is_empty();
    problems.extend(facts);
    AuditItem::pass_if(item, ok, problems.join("; "))
}

pub(super) fn per_slice(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[14];
    let Some(audit) = j.entries.iter().find_map(|e| match &e.event {
        Event::Split { audit, .. } => Some(audit),
        _ => None,
    }) else {
        return AuditItem::new(item, AuditStatus::Fail, "no split");
    };
    let present: Vec<_> = audit.slices.iter().filter(|s| s.source > 0).collect();
    if present.len() < 2 {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "one slice: the aggregate is the only slice",
        );
    }
    let counts: Vec<String> = present
        .iter()
        .map(|s| format!("{} {}", s.slice, s.test))
        .collect();
    let empty: Vec<&str> = present
        .iter()
        .filter(|s| s.test == 0)
        .map(|s| s.slice.as_str())
        .collect();
    let mut ev = vec![format!("test rows per slice: {}", counts.join(", "))];
    let verdict = j.verdict();
    match verdict {
        Some((e, _, _)) => ev.push(format!(
            "the verdict (line {}) reads per-slice effects (R3); data.json holds test_per_slice",
            line(e)
        )),
        None => ev.push("no verdict yet: no per-slice test scores".into()),
    }
    if !empty.is_empty() {
        ev.push(format!("no test rows, no score: {}", empty.join(", ")));
    }
    AuditItem::pass_if(item, verdict.is_some() && empty.is_empty(), ev.join("; "))
}

pub(super) fn failure_mode_deltas(j: &Journal<'_>, tables: Option<Tables<'_>>) -> AuditItem {
    let item = ITEMS[15];
    if j.frame.failure_modes.is_empty() {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "no failure-mode taxonomy registered",
        );
    }
    let versions = j.test_versions();
    let mut arms = vec![(j.frame.baseline.id.clone(), 0u32)];
    arms.extend(versions);
    let mut ev = Vec::new();
    let mut problems = Vec::new();
    let mut calls = 0usize;
    for (arm, version) in &arms {
        // The modes the judge assigned on test, from the journal.
        let mut rows: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for c in j.ix.calls() {
            if c.arm != arm || c.version != *version || c.part != Part::Test {
                continue;
            }
            calls += 1;
            for m in c.failure_modes {
                rows.entry(m.as_str()).or_default().insert(c.row);
            }
        }
        let judged = |m: &str| rows.get(m).map_or(0, BTreeSet::len);
        // The table of the same conclusion counts judged modes and failing rows tagged with a
        // mode in the data: it can hold more than the journal's judged modes, never fewer. The
        // audit quotes the table, so it cannot contradict it. Tested by tests_integrity.rs
        // `attack_audit_says_zero_failures_while_the_table_says_eight` and
        // `a_table_with_fewer_failures_than_the_judged_calls_fails_the_audit`.
        let table = tables.map(|t| t.failure_counts.get(arm.as_str()));
        let per: Vec<String> = j
            .frame
            .failure_modes
            .iter()
            .map(|m| {
                let n = judged(&m.id);
                match table {
                    Some(Some(t)) => {
                        let shown = t.get(&m.id).copied().unwrap_or(0);
                        if shown < n {
                            problems.push(format!(
                                "{arm} {}: the table shows {shown} but the judge assigned it on {n} test row(s)",
                                m.id
                            ));
                        }
                        format!("{} {shown}", m.id)
                    }
                    _ => format!("{} {n}", m.id),
                }
            })
            .collect();
        if let Some(None) = table {
            problems.push(format!(
                "the report's failure-mode table has no row for {arm}"
            ));
        }
        ev.push(format!("{arm} v{version}: {}", per.join(", ")));
    }
    if calls == 0 {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            "no test calls: no failure-mode counts",
        );
    }
    let h = j
        .frame
        .highest_severity_mode()
        .map_or(String::new(), |m| format!(" (highest severity: {})", m.id));
    let source = if tables.is_some() {
        "the report's table (judge-assigned modes and failing rows tagged in the data), checked against the journal's judged modes"
    } else {
        "judge-assigned modes in the journal (no report to compare)"
    };
    let ok = problems.is_empty();
    let mut text = format!(
        "test rows failed per category{h}, from {source}: {}",
        ev.join("; ")
    );
    if !ok {
        text = format!("{}; {text}", problems.join("; "));
    }
    AuditItem::pass_if(item, ok, text)
}

pub(super) fn severity_disagreement(j: &Journal<'_>, tables: Option<Tables<'_>>) -> AuditItem {
    let item = ITEMS[16];
    let Some(sev) = &j.frame.severity else {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "no severity field registered",
        );
    };
    let Some(e) = j.first("verdict") else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            format!("severity field {} registered but no verdict yet", sev.field),
        );
    };
    let Event::VerdictReached { rationale, .. } = &e.event else {
        return AuditItem::new(item, AuditStatus::Fail, "unreadable verdict");
    };
    let Some(scores) = tables.and_then(|t| t.severity) else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            format!(
                "severity field {} registered but the report holds no weighted and unweighted test scores to compare",
                sev.field
            ),
        );
    };
    // R5 / G43: recompute, per arm, whether the weighted and unweighted rankings against the
    // baseline disagree (the rule's definition), and require the rationale to say so exactly
    // when they do. Tested by tests_integrity.rs
    // `attack_rankings_disagree_and_the_rationale_is_silent`.
    let base = &j.frame.baseline.id;
    let (Some(wb), Some(ub)) = (
        scores.weighted_scores.get(base),
        scores.unweighted_scores.get(base),
    ) else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            format!("the report has no weighted and unweighted score for the baseline {base}"),
        );
    };
    let mut disagree = Vec::new();
    let mut compared = Vec::new();
    for (arm, wa) in &scores.weighted_scores {
        let Some(ua) = scores.unweighted_scores.get(arm) else {
            continue;
        };
        if arm == base {
            continue;
        }
        compared.push(arm.as_str());
        if (wa >= wb) != (ua - ub >= 0.0) {
            disagree.push(format!(
                "{arm} (weighted {} vs baseline, unweighted {})",
                pp(wa - wb),
                pp(ua - ub)
            ));
        }
    }
    let surfaced = rationale.contains("(G43)");
    let ok = surfaced != disagree.is_empty();
    let found = if disagree.is_empty() {
        format!(
            "weighted and unweighted rankings agree for {}",
            compared.join(", ")
        )
    } else {
        format!("rankings disagree for {}", disagree.join(", "))
    };
    let said = match (surfaced, ok) {
        (true, true) => "and the rationale says so",
        (false, true) => "and the rationale claims no disagreement",
        (false, false) => "but the rationale does not surface it",
        (true, false) => "but the rationale claims a disagreement",
    };
    AuditItem::pass_if(
        item,
        ok,
        format!(
            "journal line {}: {found} {said} (R5 on field {})",
            line(e),
            sev.field
        ),
    )
}

pub(super) fn stratified_by_mode(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[17];
    if j.frame.failure_modes.is_empty() {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "no failure-mode taxonomy registered",
        );
    }
    let Some((e, audit)) = j.entries.iter().find_map(|e| match &e.event {
        Event::Split { audit, .. } => Some((e, audit)),
        _ => None,
    }) else {
        return AuditItem::new(item, AuditStatus::Fail, "no split");
    };
    let mut ok = true;
    let mut ev = Vec::new();
    for m in j.frame.failure_modes.iter() {
        match audit.failure_modes.iter().find(|a| a.mode == m.id) {
            Some(a) if a.source == 0 => ev.push(format!("{}: absent from the source", m.id)),
            Some(a) => {
                if a.test == 0 {
                    ok = false;
                }
                ev.push(format!(
                    "{}: source {} → train {}, dev {}, test {}{}",
                    m.id,
                    a.source,
                    a.train,
                    a.dev,
                    a.test,
                    if a.test == 0 { " (none in test)" } else { "" }
                ));
            }
            None => ev.push(format!("{}: not in the split's audit", m.id)),
        }
    }
    AuditItem::pass_if(
        item,
        ok,
        format!("journal line {}: {}", line(e), ev.join("; ")),
    )
}

pub(super) fn label_noise(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[18];
    if !j.frame.synthetic_source {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "not required: the source is real (G18 applies to synthetic sources)",
        );
    }
    let failing = j
        .scores(&j.frame.baseline.id, 0, Part::Dev)
        .values()
        .filter(|xs| mean(xs) < 1.0)
        .count();
    // G18: passes only with a recorded label audit (tests/integrity_hole15.rs::
    // recorded_label_audit_unlocks_seal_and_the_audit_shows_agreement_with_wilson_ci).
    let shown = j.entries.iter().find_map(|e| match &e.event {
        Event::LabelAuditShown { rows, .. } => Some((line(e), rows.len())),
        _ => None,
    });
    let recorded = j.entries.iter().find_map(|e| match &e.event {
        Event::LabelAudit {
            agreed, reviewed, ..
        } => Some((line(e), *agreed, *reviewed)),
        _ => None,
    });
    match (recorded, shown) {
        (Some((at, _, 0)), _) => AuditItem::new(
            item,
            AuditStatus::Pass,
            format!(
                "journal line {at}: the baseline fails no dev row, so no label needed checking (0 rows reviewed)"
            ),
        ),
        (Some((at, agreed, reviewed)), shown) => {
            let ci = itera_stats::proportions::wilson(agreed as u64, reviewed as u64, 0.95)
                .map(|e| {
                    format!(
                        ", Wilson 95% CI [{:.1}%, {:.1}%]",
                        e.ci.lower * 100.0,
                        e.ci.upper * 100.0
                    )
                })
                .unwrap_or_default();
            AuditItem::new(
                item,
                AuditStatus::Pass,
                format!(
                    "journal line {at}: the reviewer confirmed {agreed}/{reviewed} labels ({:.1}%{ci}) of a seeded sample of the {failing} dev row(s) the baseline fails{}",
                    agreed as f64 / reviewed as f64 * 100.0,
                    shown.map_or(String::new(), |(l, _)| format!(" (shown at line {l})"))
                ),
            )
        }
        (None, shown) => AuditItem::new(
            item,
            AuditStatus::Fail,
            format!(
                "no label audit recorded: the rows the baseline fails must be checked against the source of truth (G18); {failing} baseline dev row(s) score below 1{}; run `itera label-audit DIR` (or Experiment::label_audit_sample) and record the result",
                shown.map_or(String::new(), |(l, n)| format!(
                    ", a sample of {n} was shown at journal line {l}"
                ))
            ),
        ),
    }
}

pub(super) fn negative_control(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[19];
    let controls: Vec<&str> = j
        .frame
        .arms
        .iter()
        .filter(|a| a.negative_control)
        .map(|a| a.id.as_str())
        .collect();
    if controls.is_empty() {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            "no negative control declared",
        );
    }
    let mut ok = true;
    let mut ev = Vec::new();
    for arm in controls {
        let (Some((d, n, part, v)), Some(s)) = (j.effect(arm), j.sigma(arm)) else {
            ok = false;
            ev.push(format!("{arm}: no paired scores or noise floor yet"));
            continue;
        };
        let diffs = j.diffs(
            arm,
            v,
            if part == "test" {
                Part::Test
            } else {
                Part::Dev
            },
        );
        let ci = itera_stats::paired::paired_t(&diffs, &vec![0.0; diffs.len()], j.frame.ci_level())
            .ok()
            .map(|p| (p.diff.ci.lower, p.diff.ci.upper));
        let moved = match ci {
            Some((lo, hi)) => lo > 0.0 || hi < 0.0,
            None => d.abs() >= 2.0 * s,
        };
        let ci_words = ci.map_or(String::new(), |(lo, hi)| {
            format!(" [{}, {}]", pp(lo), pp(hi))
        });
        ev.push(format!(
            "{arm} v{v} (control): Δ_{part} = {}{ci_words} over {n} rows, 2σ = {}: {}",
            pp(d),
            pp_abs(2.0 * s),
            if moved {
                "the control moved, so the model swap alone changes the score"
            } else {
                "no change, as expected"
            }
        ));
        ok &= !moved;
    }
    if let Some((e, decision, arm)) = j.verdict() {
        ev.push(format!(
            "verdict at line {}: {}{}",
            line(e),
            decision.as_str(),
            arm.map_or(String::new(), |a| format!(" {a}"))
        ));
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}
