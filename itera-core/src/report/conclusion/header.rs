//! The opening sections of `conclusion.md` (METHOD.md §6): the summary (the decision, the test
//! effects against T and F, the overfit alarm of G44, the self-audit's pass/fail count), then
//! the question, the arms and the pre-registered metric and decision rule.

use super::{arm_effect, cell, decision_words, effect, pp, usd};
use crate::decide::rules::{Decision, Verdict};
use crate::report::ReportData;
use crate::report::audit::{AuditItem, AuditStatus};
use std::fmt::Write as _;

pub(super) fn summary(md: &mut String, r: &ReportData, v: &Verdict, audit: &[AuditItem]) {
    let x = &r.experiment;
    let base = r.baseline().map_or("the baseline", |b| b.id.as_str());
    let _ = writeln!(
        md,
        "# {}: {}\n",
        x.name,
        decision_words(v.decision).to_lowercase()
    );
    // With several arms the aggregate CI is the Bonferroni-level one the decision used.
    let level = match x.aggregate_ci_level {
        Some(l) => format!("{:.1}% (Bonferroni over the arms)", l * 100.0),
        None => format!("{:.0}%", x.ci_level * 100.0),
    };
    let mut s = String::new();
    match (&v.arm, v.decision) {
        (Some(a), d) => {
            let eff = arm_effect(r, v, a).map_or("no measurable effect".to_string(), |e| {
                format!(
                    "changes {} by {} ({level} {} CI {} to {}, {} test rows)",
                    x.metric,
                    pp(e.delta),
                    x.ci_method,
                    pp(e.ci_low),
                    pp(e.ci_high),
                    e.n
                )
            });
            let _ = write!(
                s,
                "**{}{}.** On the sealed test set, {a} {eff} against {base}; the pre-registered threshold is T = {}.",
                decision_words(d),
                match d {
                    Decision::Ship | Decision::ShipNarrowly => format!(" {a}"),
                    _ => String::new(),
                },
                pp(x.threshold_pp / 100.0)
            );
            match d {
                Decision::ShipNarrowly => {
                    let _ = write!(
                        s,
                        " The claim covers {} only; against the loss floor F = {}, R3 excludes {}.",
                        v.slices.join(", "),
                        pp(x.slice_loss_floor_pp / 100.0),
                        crate::decide::slices::excluded_words(&v.failing_slices, &v.unknown_slices)
                            .join("; "),
                    );
                }
                Decision::Inconclusive => {
                    let _ = write!(
                        s,
                        " We could not tell: the test set was underpowered for T."
                    );
                }
                _ => {}
            }
            let shipped_unknown: Vec<String> = v
                .unknown_slices
                .iter()
                .filter(|u| v.slices.contains(&u.slice))
                .map(crate::decide::slices::SliceStatus::words)
                .collect();
            if !shipped_unknown.is_empty() {
                let _ = write!(
                    s,
                    " Shipped without being shown safe, under the registered no-significant-harm slice rule: {}.",
                    shipped_unknown.join("; ")
                );
            }
        }
        (None, _) => {
            let _ = write!(
                s,
                "**Kill.** No candidate passes the pre-registered rules against {base} (T = {}).",
                pp(x.threshold_pp / 100.0)
            );
            let effects: Vec<String> = r
                .arms
                .iter()
                .filter(|a| !a.baseline)
                .filter_map(|a| arm_effect(r, v, &a.id).map(|e| format!("{} {}", a.id, effect(&e))))
                .collect();
            if !effects.is_empty() {
                let _ = write!(s, " Test effects: {}.", effects.join("; "));
            }
        }
    }
    if v.overfit_alarm {
        let _ = write!(s, " The overfit alarm fired (G44).");
    }
    if let Some(label) = &r.verdict.not_fresh_test_set {
        let _ = write!(s, " **Not a fresh test set (G15).** {label}.");
    }
    let failed = audit
        .iter()
        .filter(|a| a.status == AuditStatus::Fail)
        .count();
    let _ = write!(
        s,
        " Self-audit: {} of {} items pass, {failed} fail.",
        audit
            .iter()
            .filter(|a| a.status == AuditStatus::Pass)
            .count(),
        audit
            .iter()
            .filter(|a| a.status != AuditStatus::NotApplicable)
            .count()
    );
    let _ = writeln!(md, "{s}\n");
}

pub(super) fn question(md: &mut String, r: &ReportData) {
    let _ = writeln!(md, "## Question\n\n> {}\n", r.experiment.question);
    let _ = writeln!(md, "Hypothesis: {}\n", r.experiment.hypothesis);
}

pub(super) fn arms(md: &mut String, r: &ReportData) {
    let _ = writeln!(md, "## Arms\n");
    let _ = writeln!(
        md,
        "| Arm | Parent | Change | Version locked | Cost per 1k rows |\n|---|---|---|---|---|"
    );
    for a in &r.arms {
        let change = if a.baseline {
            "baseline (deployed)".to_string()
        } else {
            a.change.clone().unwrap_or_default()
        };
        let version = if a.killed {
            format!("v{} (killed by the gate)", a.version)
        } else {
            format!("v{}", a.version)
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            cell(&a.id),
            cell(a.parent.as_deref().unwrap_or("—")),
            cell(&change),
            version,
            a.cost_per_1k_usd.map_or("—".to_string(), usd)
        );
    }
    md.push('\n');
}

pub(super) fn metric(md: &mut String, r: &ReportData) {
    let x = &r.experiment;
    let _ = writeln!(md, "## Metric and rule (pre-registered)\n");
    let _ = writeln!(md, "- Metric: {} (scorer `{}`)", x.metric, x.scorer);
    let _ = writeln!(
        md,
        "- Threshold T = {}; per-slice loss floor F = {}",
        pp(x.threshold_pp / 100.0),
        pp(x.slice_loss_floor_pp / 100.0)
    );
    let _ = writeln!(md, "- Rule ({}): {}", x.rule, x.threshold_rule);
    let _ = writeln!(
        md,
        "- Confidence intervals: {}, {:.0}% level",
        x.ci_method,
        x.ci_level * 100.0
    );
    let _ = writeln!(
        md,
        "- Trials per arm: {}; dev rows: {}; sealed test rows: {}",
        x.trials_per_arm, x.dev_n, x.test_n
    );
    let _ = writeln!(
        md,
        "- Frame SHA-256 `{}`; data SHA-256 `{}`; seed {}\n",
        x.frame_hash, x.data_hash, x.seed
    );
}
