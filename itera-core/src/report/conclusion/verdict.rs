//! The verdict sections of `conclusion.md`: each arm's rule marks R1–R5 with per-slice effects,
//! the rationale from the rule trace (G40) and the overfit alarm (G44); then failure-mode
//! deltas, severity-weighted scores with any ranking disagreement (G43), and cost (G28).

use super::{arm_effect, cell, effect, pct, pp, rule_mark, signed, thousands, usd};
use crate::decide::rules::Verdict;
use crate::report::{EffectSize, ReportData};
use std::fmt::Write as _;

pub(super) fn verdict_section(md: &mut String, r: &ReportData, v: &Verdict, charts: bool) {
    let _ = writeln!(md, "## Verdict\n");
    let _ = writeln!(
        md,
        "| Arm | Δ vs baseline [CI] | R1 | R2 | R3 | R4 | R5 | Decision |\n|---|---|---|---|---|---|---|---|"
    );
    for a in &v.arms {
        let d = arm_effect(r, v, &a.arm).map_or("—".to_string(), |e| effect(&e));
        let decision = if a.rules.iter().any(|c| c.rule == "gate") {
            "kill (gate)".to_string()
        } else {
            a.decision.as_str().to_string()
        };
        let _ = writeln!(
            md,
            "| {} v{} | {d} | {} | {} | {} | {} | {} | {decision} |",
            cell(&a.arm),
            a.version,
            rule_mark(a, "R1"),
            rule_mark(a, "R2"),
            rule_mark(a, "R3"),
            rule_mark(a, "R4"),
            rule_mark(a, "R5"),
        );
    }
    let slices: Vec<(&String, &EffectSize, &str)> = v
        .arms
        .iter()
        .flat_map(|a| {
            r.effect_sizes
                .get(&a.arm)
                .into_iter()
                .flat_map(|e| e.per_slice.iter())
                .map(move |(s, e)| (s, e, a.arm.as_str()))
        })
        .collect();
    if !slices.is_empty() {
        let floor = r.experiment.slice_loss_floor_pp / 100.0;
        let _ = writeln!(
            md,
            "\n| Arm | Slice | Test rows | Δ [CI] | State vs F = {} (R3) |\n|---|---|---|---|---|",
            pp(floor)
        );
        for (s, e, arm) in slices {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                cell(arm),
                cell(s),
                e.n,
                effect(e),
                match crate::decide::slices::slice_state(Some(e), floor) {
                    crate::decide::slices::SliceState::Safe => "safe",
                    crate::decide::slices::SliceState::Harmed => "**regressed**",
                    crate::decide::slices::SliceState::Unknown => "**not shown safe**",
                }
            );
        }
    }
    super::chart(md, charts, "forest-plot");
    let _ = writeln!(md, "{}\n", v.rationale);
    if let Some(c) = &v.choice {
        let _ = writeln!(md, "Choice among passing arms: {c}.\n");
    }
    if v.overfit_alarm {
        let _ = writeln!(
            md,
            "**Overfit alarm (G44):** the dev and test effects differ by more than z₁₋α/₂ standard errors of their difference.\n"
        );
    }
}

pub(super) fn failure_modes(md: &mut String, r: &ReportData) {
    let _ = writeln!(md, "## Failure-mode deltas\n");
    let fm = &r.failure_modes;
    if fm.taxonomy.is_empty() {
        let _ = writeln!(md, "No failure-mode taxonomy was registered.\n");
        return;
    }
    let base = r.baseline().map(|b| b.id.clone()).unwrap_or_default();
    let cands: Vec<&str> = r.candidates().map(|a| a.id.as_str()).collect();
    let mut head = format!("| Category | Weight | {} (baseline) |", cell(&base));
    let mut rule = "|---|---|---|".to_string();
    for c in &cands {
        let _ = write!(head, " {} | Δ {} |", cell(c), cell(c));
        rule.push_str("---|---|");
    }
    let _ = writeln!(
        md,
        "Test rows failed per category, and each arm's signed difference from the baseline.\n"
    );
    let _ = writeln!(md, "{head}\n{rule}");
    let count = |arm: &str, mode: &str| {
        fm.test_counts
            .get(arm)
            .and_then(|m| m.get(mode))
            .copied()
            .unwrap_or(0)
    };
    for m in &fm.taxonomy {
        let b = count(&base, &m.id);
        let name = if fm.highest.as_deref() == Some(m.id.as_str()) {
            format!("**{}** (highest severity, R4)", cell(&m.id))
        } else {
            cell(&m.id)
        };
        let mut row = format!("| {name} | {} | {b} |", m.weight);
        for c in &cands {
            let n = count(c, &m.id);
            let _ = write!(row, " {n} | {} |", signed(n as i64 - b as i64));
        }
        let _ = writeln!(md, "{row}");
    }
    md.push('\n');
}

pub(super) fn severity(md: &mut String, r: &ReportData, v: &Verdict) {
    let Some(s) = &r.severity else {
        return;
    };
    let _ = writeln!(md, "## Severity\n");
    let _ = writeln!(
        md,
        "Severity field `{}`, capped at {}.\n\n| Arm | Weighted score | Unweighted score | Weighted Δ | Unweighted Δ |\n|---|---|---|---|---|",
        s.field, s.cap
    );
    let base = r.baseline().map(|b| b.id.as_str()).unwrap_or_default();
    let bw = s.weighted_scores.get(base).copied();
    let bu = s.unweighted_scores.get(base).copied();
    for a in &r.arms {
        let w = s.weighted_scores.get(&a.id).copied();
        let u = s.unweighted_scores.get(&a.id).copied();
        let d = |x: Option<f64>, b: Option<f64>| match (x, b) {
            (Some(x), Some(b)) if !a.baseline => pp(x - b),
            _ => "—".to_string(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&a.id),
            w.map_or("—".to_string(), pct),
            u.map_or("—".to_string(), pct),
            d(w, bw),
            d(u, bu)
        );
    }
    if v.severity_disagreements.is_empty() {
        let _ = writeln!(
            md,
            "\nWeighted and unweighted rankings agree for every arm.\n"
        );
    } else {
        let _ = writeln!(
            md,
            "\nWeighted and unweighted rankings disagree for {} (G43): the weighted winner ships only if its unweighted Δ also clears T.\n",
            v.severity_disagreements.join(", ")
        );
    }
}

/// Says which latency the table shows (#19): send → reply, so a one-slot server's queue is in
/// it; itera's own queue wait and the endpoint's reported processing time, when known, apart.
fn latency_note(md: &mut String, r: &ReportData) {
    let _ = writeln!(
        md,
        "\nMean latency is the time from sending a call to its reply: the network and any queueing inside the endpoint are in it (a server with fewer slots than calls in flight makes it longer than the service time); itera's own queue wait is not."
    );
    for a in r.arms.iter().filter(|a| !a.killed) {
        let mut parts = Vec::new();
        if let Some(q) = a.queue_ms_mean {
            parts.push(format!(
                "waited {q:.0} ms per call in itera's queue (rate limits, adaptive concurrency)"
            ));
        }
        if let Some(p) = a.server_ms_mean {
            parts.push(format!(
                "the endpoint reported {p:.0} ms of processing per call"
            ));
        }
        if !parts.is_empty() {
            let _ = writeln!(md, "- {}: {}.", cell(&a.id), parts.join("; "));
        }
    }
}

pub(super) fn cost(md: &mut String, r: &ReportData, charts: bool) {
    let _ = writeln!(md, "## Cost\n");
    let _ = writeln!(
        md,
        "Cost per 1k rows and latency are steady-state means over all test rows (G28); token counts are totals over the test pass.\n\n| Arm | Test score | Cost per 1k rows | Input tokens | Output tokens | Mean latency |\n|---|---|---|---|---|---|"
    );
    for a in &r.arms {
        let score = r
            .test_aggregate
            .get(&a.id)
            .map_or("—".to_string(), |g| pct(g.mean));
        let _ = writeln!(
            md,
            "| {} | {score} | {} | {} | {} | {} |",
            cell(&a.id),
            a.cost_per_1k_usd.map_or("—".to_string(), usd),
            thousands(a.tokens.input),
            thousands(a.tokens.output),
            if a.killed {
                "—".to_string()
            } else {
                format!("{:.0} ms", a.latency_ms_mean)
            }
        );
    }
    latency_note(md, r);
    // Cold calls — they wrote the prompt cache and read none of it — are shown apart from the
    // steady-state cost above (G28).
    for a in &r.arms {
        if let Some(c) = &a.cold {
            let _ = writeln!(
                md,
                "\nCold calls of {}: {} on test wrote the prompt cache without reading it ({} in total), shown apart: the cost per 1k rows above is the warm, steady-state one (G28).",
                cell(&a.id),
                c.calls,
                usd(c.cost_usd)
            );
        }
    }
    super::chart(md, charts, "cost-vs-accuracy");
    calls(md, r);
}

/// The calls that failed after their retries, were retried, or were excluded, per arm and part
/// (G31: never silent). Omitted when the report has no call counts.
fn calls(md: &mut String, r: &ReportData) {
    if r.calls.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "Calls per arm and part: failed after retries (scored 0, or excluded under the `exclude` policy) and retried (more than one attempt, or re-attempted on resume) (G31).\n\n| Arm | Part | Calls | Failed | Retried | Excluded |\n|---|---|---|---|---|---|"
    );
    for (arm, c) in &r.calls {
        for (part, n) in [("dev", c.dev), ("test", c.test)] {
            let _ = writeln!(
                md,
                "| {} | {part} | {} | {} | {} | {} |",
                cell(arm),
                n.calls,
                n.failed,
                n.retried,
                n.excluded
            );
        }
    }
    let _ = writeln!(md);
}
