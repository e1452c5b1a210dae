//! The closing sections of `conclusion.md`: what to test next — always a new experiment on fresh
//! rows (G46), sized from the chosen arm's power check when the verdict is inconclusive — and
//! the self-audit, each mark taken from the computed [`AuditItem`]s.

use super::{mark, pp};
use crate::decide::rules::{Decision, Verdict};
use crate::report::ReportData;
use crate::report::audit::AuditItem;
use std::fmt::Write as _;

/// Test rows a new experiment needs for its MDE to reach T, from the chosen arm's power check.
fn rows_needed(r: &ReportData, v: &Verdict) -> Option<usize> {
    let t = r.experiment.threshold_pp / 100.0;
    let a = v.arms.iter().find(|a| Some(&a.arm) == v.arm.as_ref())?;
    let p = a.power?;
    if !(t > 0.0 && p.mde > 0.0 && r.experiment.test_n > 0) {
        return None;
    }
    // MDE ∝ 1/√n: n' = n · (MDE / T)².
    let n = r.experiment.test_n as f64 * (p.mde / t).powi(2);
    n.is_finite().then(|| n.ceil() as usize)
}

pub(super) fn next(md: &mut String, r: &ReportData, v: &Verdict) {
    let _ = writeln!(md, "## What to test next\n");
    let arm = v.arm.as_deref().unwrap_or("the candidate");
    let text = match v.decision {
        Decision::Ship => format!(
            "Ship {arm}. The next question is a new experiment with {arm} as the baseline and fresh rows; this experiment is closed (G46)."
        ),
        Decision::ShipNarrowly => format!(
            "Ship {arm} to {} only. Next: a new experiment on the excluded slices ({}) with fresh rows, to learn whether {arm} can serve them without falling below the loss floor.",
            v.slices.join(", "),
            crate::decide::slices::excluded_words(&v.failing_slices, &v.unknown_slices).join("; ")
        ),
        Decision::Inconclusive => match rows_needed(r, v) {
            Some(n) => format!(
                "A new experiment with n ≥ {n} sealed test rows (this one had {}), so that its minimum detectable effect reaches T = {}; draw them fresh.",
                r.experiment.test_n,
                pp(r.experiment.threshold_pp / 100.0)
            ),
            None => format!(
                "A new experiment with a larger sealed test set than {} rows, sized by the planner for T = {}; draw the rows fresh.",
                r.experiment.test_n,
                pp(r.experiment.threshold_pp / 100.0)
            ),
        },
        Decision::Kill => {
            let gate = !v.killed.is_empty()
                && v.arms
                    .iter()
                    .filter(|a| v.killed.contains(&a.arm))
                    .all(|a| a.rules.iter().any(|c| c.rule == "gate"));
            if gate {
                "A new experiment with a candidate whose change is general by construction: the gate found hardcoded changes. This experiment is closed (G46).".to_string()
            } else {
                "A new experiment with a different candidate, or a narrower scope where the diagnosis showed wins, on fresh rows. This experiment is closed (G46).".to_string()
            }
        }
    };
    let _ = writeln!(md, "{text}\n");
}

pub(super) fn self_audit(md: &mut String, audit: &[AuditItem]) {
    let _ = writeln!(md, "## Self-audit\n");
    let _ = writeln!(
        md,
        "Computed from the journal: ✅ pass, ❌ fail, — not applicable.\n"
    );
    for a in audit {
        let _ = writeln!(
            md,
            "- {} **{}** — {}",
            mark(a.status),
            a.item,
            a.evidence.replace('\n', " ")
        );
    }
}
