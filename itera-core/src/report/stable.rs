//! A stable view of a verdict for snapshot tests ([`StableVerdict`]): the decision, the arm, the
//! slices and every test effect rounded to 0.01pp and every score to 4 decimals, in a fixed order,
//! so an `insta` snapshot changes when the verdict or a reported number changes — never because a
//! 17-digit float moved in its last place.

use crate::journal::record::Decision;
use crate::report::data::{EffectSize, ReportData};
use std::fmt;

/// A verdict as a snapshot should hold it: built from `data.json` ([`ReportData::stable`]) or
/// from a fresh [`Conclusion`](crate::experiment::testpass::Conclusion) (`Conclusion::stable`,
/// the same view), so a test of an in-memory run and a test of a finished directory agree.
/// `Display` renders it as a few lines of text for `insta::assert_snapshot!`.
///
/// Rounding: effects and their CIs in percentage points to 2 decimals (0.01pp), scores to 4
/// decimals, both half away from zero; `-0.00` is written `+0.00`. Slices and arms keep the
/// report's order (baseline first, slices sorted by id).
#[derive(Debug, Clone, PartialEq)]
pub struct StableVerdict {
    /// The decision (the same enum as [`Verdict::decision`](crate::decide::rules::Verdict)).
    pub decision: Decision,
    /// The arm shipped (or narrowly shipped), if any.
    pub arm: Option<String>,
    /// Slices the claim covers.
    pub slices: Vec<String>,
    /// Slices that failed the loss floor.
    pub failing_slices: Vec<String>,
    /// Arms killed.
    pub killed: Vec<String>,
    /// The overfit alarm (G44).
    pub overfit_alarm: bool,
    /// Why inconclusive, if it is.
    pub inconclusive_reason: Option<String>,
    /// Per candidate, `(scope, rounded effect)`: `"all"` first, then each slice.
    pub effects: Vec<(String, Vec<(String, String)>)>,
    /// Per arm, its test score rounded to 4 decimals, baseline first.
    pub test_scores: Vec<(String, String)>,
}

/// `x` (a fraction) in pp, rounded to 0.01pp, signed.
fn pp(x: f64) -> String {
    let v = (x * 10_000.0).round() / 100.0;
    let v = if v == 0.0 { 0.0 } else { v };
    format!("{v:+.2}")
}

fn effect(e: &EffectSize) -> String {
    format!(
        "{}pp [{}, {}] n={}",
        pp(e.delta),
        pp(e.ci_low),
        pp(e.ci_high),
        e.n
    )
}

fn list(xs: &[String]) -> String {
    if xs.is_empty() {
        "-".into()
    } else {
        xs.join(", ")
    }
}

impl StableVerdict {
    /// The view of a report.
    pub fn of(report: &ReportData) -> StableVerdict {
        let v = &report.verdict;
        let effects = report
            .candidates()
            .filter_map(|arm| {
                let e = report.effect_sizes.get(&arm.id)?;
                let mut rows = vec![("all".to_string(), effect(&e.aggregate))];
                rows.extend(e.per_slice.iter().map(|(s, x)| (s.clone(), effect(x))));
                Some((arm.id.clone(), rows))
            })
            .collect();
        let test_scores = report
            .arms
            .iter()
            .filter_map(|a| {
                let s = report.test_aggregate.get(&a.id)?;
                Some((
                    a.id.clone(),
                    format!("{:.4}", (s.mean * 10_000.0).round() / 10_000.0),
                ))
            })
            .collect();
        StableVerdict {
            decision: v.decision,
            arm: v.arm.clone(),
            slices: v.slices.clone(),
            failing_slices: v.failing_slices.clone(),
            killed: v.killed.clone(),
            overfit_alarm: v.overfit_alarm,
            inconclusive_reason: v.inconclusive_reason.clone(),
            effects,
            test_scores,
        }
    }
}

impl ReportData {
    /// The stable view of this report's verdict, for snapshot tests (see [`StableVerdict`]).
    ///
    /// ```no_run
    /// let report = itera_core::report::ReportData::load("experiments/2026-11-25-txn").unwrap();
    /// println!("{}", report.stable()); // insta::assert_snapshot!(report.stable())
    /// ```
    pub fn stable(&self) -> StableVerdict {
        StableVerdict::of(self)
    }
}

impl fmt::Display for StableVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "decision: {}", self.decision.as_str())?;
        writeln!(f, "arm: {}", self.arm.as_deref().unwrap_or("-"))?;
        writeln!(f, "slices: {}", list(&self.slices))?;
        writeln!(f, "failing slices: {}", list(&self.failing_slices))?;
        writeln!(f, "killed: {}", list(&self.killed))?;
        writeln!(f, "overfit alarm: {}", self.overfit_alarm)?;
        if let Some(r) = &self.inconclusive_reason {
            writeln!(f, "inconclusive: {r}")?;
        }
        writeln!(f, "test effects vs the baseline:")?;
        for (arm, rows) in &self.effects {
            for (scope, e) in rows {
                writeln!(f, "  {arm} {scope}: {e}")?;
            }
        }
        writeln!(f, "test scores:")?;
        for (arm, s) in &self.test_scores {
            writeln!(f, "  {arm}: {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::pp;

    /// 0.01pp rounding, and no `-0.00`: a snapshot must not flip on the sign of a zero.
    #[test]
    fn pp_rounds_to_a_hundredth_and_never_prints_negative_zero() {
        assert_eq!(pp(0.089_123_456_789_012_34), "+8.91");
        assert_eq!(pp(-0.000_000_1), "+0.00");
        assert_eq!(pp(-0.123_45), "-12.35");
    }
}
