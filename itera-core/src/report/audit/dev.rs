//! The dev-measurement items of the self-audit (METHOD.md §6): the noise floor measured over
//! enough trials (G25), every claimed effect at least twice the noise, the cross-judge check for
//! an LLM judge that shares a family with an arm (G11, G29), and the blind judge (G30): computed
//! from the scored outputs an LLM judge saw.

use super::{AuditItem, AuditStatus, ITEMS, Journal, line, pp_abs};
use crate::journal::event::Event;

pub(super) fn noise_floor(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[4];
    let Some((e, noise)) = j.entries.iter().find_map(|e| match &e.event {
        Event::DevScored { noise, .. } => Some((e, noise)),
        _ => None,
    }) else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            "no dev-scored event: no noise floor",
        );
    };
    let ids = j.frame.arm_ids();
    let missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|a| !noise.iter().any(|n| n.arm == *a))
        .collect();
    let per_arm: Vec<String> = noise
        .iter()
        .map(|n| {
            format!(
                "{} v{} σ = {} over {} trial(s)",
                n.arm,
                n.version,
                pp_abs(n.aggregate_sd),
                n.per_trial.len()
            )
        })
        .collect();
    let mut ev = vec![format!("journal line {}: {}", line(e), per_arm.join(", "))];
    if !missing.is_empty() {
        ev.push(format!("no noise for {}", missing.join(", ")));
    }
    let trials = j.frame.trials;
    // G25: fewer than 3 trials is only measured noise if the declaration of determinism was
    // checked by the pilot's repeated call. Tested by tests_integrity.rs
    // `attack_single_trial_on_the_users_word_is_audited_as_noise_floor_measured`.
    let checked = j.entries.iter().find_map(|e| match &e.event {
        Event::PilotPassed { arms, .. } => Some((e, arms.iter().all(|a| a.determinism_checked))),
        _ => None,
    });
    let deterministic_ok = j.frame.deterministic && checked.is_some_and(|(_, all)| all);
    let ok = missing.is_empty() && (trials >= 3 || deterministic_ok);
    if trials < 3 && deterministic_ok {
        let at = checked.map_or(0, |(e, _)| line(e));
        ev.push(format!(
            "{trials} trial(s) per arm, declared deterministic, checked by a repeated pilot call (journal line {at}): σ = 0, so power is the binding constraint"
        ));
    } else if trials < 3 && j.frame.deterministic {
        ev.push(format!(
            "{trials} trial(s) per arm with arms declared deterministic but not checked: the journal's pilot records no repeated call, so σ = 0 rests on the declaration alone (G25)"
        ));
    } else if trials < 3 {
        ev.push(format!(
            "{trials} trial(s) per arm for non-deterministic arms (G25 needs 3)"
        ));
    }
    AuditItem::pass_if(item, ok, ev.join("; "))
}

pub(super) fn effect_vs_noise(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[5];
    let verdict = j.verdict();
    let claimed = verdict.and_then(|(_, d, arm)| {
        matches!(
            d,
            crate::decide::rules::Decision::Ship | crate::decide::rules::Decision::ShipNarrowly
        )
        .then_some(arm)
        .flatten()
    });
    let mut ev = Vec::new();
    let mut ok = true;
    let mut any = false;
    for arm in j.candidates() {
        if j.ledger.killed.contains(arm) {
            ev.push(format!("{arm}: killed by the gate"));
            continue;
        }
        let (Some((d, n, part, v)), Some(s)) = (j.effect(arm), j.sigma(arm)) else {
            ev.push(format!("{arm}: no paired scores or noise floor"));
            continue;
        };
        any = true;
        let signal = d.abs() >= 2.0 * s;
        let words = if signal {
            "≥ 2σ: signal"
        } else {
            "< 2σ: within noise, counted as no effect"
        };
        ev.push(format!(
            "{arm} v{v}: |Δ_{part}| = {} over {n} rows vs 2σ = {} ({words})",
            pp_abs(d),
            pp_abs(2.0 * s)
        ));
        if claimed == Some(arm) && !signal {
            ok = false;
            ev.push(format!(
                "the verdict claims an effect for {arm} that is within noise"
            ));
        }
    }
    let all_killed = j.candidates().iter().all(|a| j.ledger.killed.contains(*a));
    if all_killed {
        ev.push("no effect is claimed".into());
    }
    AuditItem::pass_if(item, ok && (any || all_killed), ev.join("; "))
}

/// G29 from the evidence: "not applicable" only for a deterministic judge (no model family);
/// for an LLM judge it fails when no check ran, and otherwise passes or fails on the journaled
/// directions (the counts for older journals), never on the journaled `passed` flag. Tests that
/// fail without it: `attack_llm_judge_of_another_family_audited_not_applicable` and
/// `attack_cross_judge_low_agreement_audited_as_pass` (audit/tests_crossjudge.rs).
pub(super) fn cross_judge(j: &Journal<'_>) -> AuditItem {
    use crate::run::crossjudge::{agreement, passes};
    let item = ITEMS[6];
    let Some((m, judge, family)) = j.entries.iter().find_map(|e| match &e.event {
        Event::Manifest {
            judge,
            judge_family,
            ..
        } => Some((e, judge, judge_family)),
        _ => None,
    }) else {
        return AuditItem::new(item, AuditStatus::Fail, "no run manifest: judge unknown");
    };
    let Some(family) = family else {
        return AuditItem::new(
            item,
            AuditStatus::NotApplicable,
            format!(
                "journal line {}: judge {judge} is a deterministic scorer (no model family): the cross-judge check does not apply (G11)",
                line(m)
            ),
        );
    };
    let Some((e, second, rows, agree, disagree, ties, unscored, available, directions)) =
        j.entries.iter().find_map(|e| match &e.event {
            Event::CrossJudge {
                second_judge,
                rows,
                agree,
                disagree,
                ties,
                unscored,
                available,
                directions,
                ..
            } => Some((
                e,
                second_judge,
                rows.len(),
                *agree,
                *disagree,
                *ties,
                *unscored,
                *available,
                directions,
            )),
            _ => None,
        })
    else {
        return AuditItem::new(
            item,
            AuditStatus::Fail,
            format!(
                "journal line {}: LLM judge {judge} (family {family}): the cross-judge check did not run — no second judge of another family was given ([metric.second_judge]) (G29)",
                line(m)
            ),
        );
    };
    let a = agreement(agree, disagree, directions);
    let passed = passes(agree, disagree);
    let pct = |x: f64| format!("{:.0}%", 100.0 * x);
    let stats = match (a.rate, a.wilson_95) {
        (Some(r), Some((lo, hi))) => format!(
            "agreement {} (Wilson 95% CI {}–{}), Cohen's κ {}",
            pct(r),
            pct(lo),
            pct(hi),
            a.kappa
                .map_or("undefined".to_string(), |k| format!("{k:.2}"))
        ),
        _ => "no row with a direction from both judges".to_string(),
    };
    let why = if passed {
        "judge trusted"
    } else if rows < crate::run::crossjudge::CROSS_JUDGE_MIN_ROWS {
        "too few rows where the judge sees a difference: the judge is not checked"
    } else {
        "below 80% on at least 5 rows: metric too subjective"
    };
    AuditItem::pass_if(
        item,
        passed,
        format!(
            "journal line {}: {second} re-scored {rows} dev rows (of {available} where {judge} sees a difference); same side on {agree}, opposite on {disagree}, tie on {ties}, unscored {unscored}; {stats} ({why})",
            line(e)
        ),
    )
}

pub(super) fn blind_judge(j: &Journal<'_>) -> AuditItem {
    let item = ITEMS[7];
    let construction = "Judge::score receives a JudgeView (the row's input and expected value) and the output, never an arm id (G30; tests/runner.rs `the_judge_never_sees_an_arm_id`)";
    let Some((m, judge, family)) = j.entries.iter().find_map(|e| match &e.event {
        Event::Manifest {
            judge,
            judge_family,
            ..
        } => Some((e, judge, judge_family)),
        _ => None,
    }) else {
        return AuditItem::new(item, AuditStatus::Fail, "no run manifest: judge unknown");
    };
    // G30: the view is blind by construction, but an output that names its arm un-blinds an LLM
    // judge through the only channel it has. Tested by tests_integrity.rs
    // `attack_an_output_names_its_arm_to_an_llm_judge`.
    // The index checked every scored output for the frame's arm ids as it read the journal.
    let mut leaks: Vec<String> = Vec::new();
    let mut scored = 0usize;
    for c in j.ix.calls().filter(|c| c.score.is_some()) {
        scored += 1;
        if let Some(id) = c.names_arm {
            leaks.push(format!(
                "journal line {} ({} names '{id}')",
                c.line(),
                c.arm
            ));
        }
    }
    match family {
        None => AuditItem::new(
            item,
            AuditStatus::Pass,
            format!(
                "journal line {}: judge {judge} is a deterministic scorer (no model family): it reads no identity from an output; {construction}",
                line(m)
            ),
        ),
        Some(f) if leaks.is_empty() => AuditItem::new(
            item,
            AuditStatus::Pass,
            format!(
                "LLM judge {judge} (family {f}): none of {scored} scored outputs names an arm id; {construction}"
            ),
        ),
        Some(f) => AuditItem::new(
            item,
            AuditStatus::Fail,
            format!(
                "LLM judge {judge} (family {f}) saw {} of {scored} output(s) naming an arm: {}; strip arm names from outputs",
                leaks.len(),
                leaks.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
        ),
    }
}
