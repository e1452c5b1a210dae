//! The verdict's rationale, generated from the rule trace (G40): the decision with the slices
//! it covers — excluded slices named with their R3 state ("regressed" only for a harmed slice,
//! "not shown safe: n rows, need ≈ N" for an unknown one) — then every arm's passed and failed
//! rules with their numbers, the overfit alarm (G44) and any severity disagreement (G43).

use crate::decide::rules::{Decision, Verdict};
use crate::decide::slices::{SliceStatus, excluded_words};
use std::fmt::Write as _;

/// The rationale, generated from the rule trace: every sentence cites a registered rule.
pub fn rationale(v: &Verdict) -> String {
    let mut out = String::new();
    let unknown_in = |names: &[String]| -> Vec<String> {
        v.unknown_slices
            .iter()
            .filter(|u| names.contains(&u.slice))
            .map(SliceStatus::words)
            .collect()
    };
    match (v.decision, &v.arm) {
        (Decision::Ship, Some(a)) => {
            let _ = write!(out, "Ship {a}: every registered rule passes.");
            let shipped_unknown = unknown_in(&v.slices);
            if !shipped_unknown.is_empty() {
                let _ = write!(
                    out,
                    " Shipped without being shown safe, under the registered no-significant-harm slice rule: {}.",
                    shipped_unknown.join("; ")
                );
            }
        }
        (Decision::ShipNarrowly, Some(a)) => {
            let excluded = excluded_words(&v.failing_slices, &v.unknown_slices);
            let _ = write!(
                out,
                "Ship {a} narrowly, to {}: R3 excludes {}.",
                v.slices.join(", "),
                excluded.join("; ")
            );
            let shipped_unknown = unknown_in(&v.slices);
            if !shipped_unknown.is_empty() {
                let _ = write!(
                    out,
                    " Shipped without being shown safe, under the registered no-significant-harm slice rule: {}.",
                    shipped_unknown.join("; ")
                );
            }
        }
        (Decision::Inconclusive, Some(a)) => {
            let _ = write!(
                out,
                "Inconclusive for {a}: {}.",
                v.inconclusive_reason.clone().unwrap_or_default()
            );
        }
        _ => {
            let _ = write!(out, "Kill: no candidate passes the registered rules.");
        }
    }
    if let Some(c) = &v.choice {
        let _ = write!(out, " {c}.");
    }
    for a in &v.arms {
        let failed: Vec<String> = a
            .rules
            .iter()
            .filter(|r| r.passed == Some(false))
            .map(|r| format!("{} ({})", r.rule, r.detail))
            .collect();
        let passed: Vec<&str> = a
            .rules
            .iter()
            .filter(|r| r.passed == Some(true))
            .map(|r| r.rule.as_str())
            .collect();
        let _ = write!(out, " {} v{} → {}:", a.arm, a.version, a.decision.as_str());
        if !passed.is_empty() {
            let _ = write!(out, " passes {};", passed.join(", "));
        }
        if failed.is_empty() {
            let _ = write!(out, " fails none.");
        } else {
            let _ = write!(out, " fails {}.", failed.join("; "));
        }
        if a.overfit_alarm {
            let _ = write!(
                out,
                " Overfit alarm: the dev and test effects differ by more than z₁₋α/₂ standard errors of their difference (G44)."
            );
        }
        if a.severity_disagreement {
            let _ = write!(out, " Weighted and unweighted rankings disagree (G43).");
        }
    }
    out
}
