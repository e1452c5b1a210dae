//! R3's three states per major slice (G41), read from the slice's paired CI against the loss
//! floor F: **safe** (CI low ≥ F: the loss is shown to be within the floor), **harmed** (CI high
//! < 0: the arm is shown to be worse on the slice), **unknown** (neither: the slice has too few
//! rows to tell). Safe is checked first, so a slice shown to lose less than |F| counts as safe even
//! when its CI excludes 0 — F is the registered tolerable loss. A slice with fewer than two rows
//! (no CI) is unknown, never harmed: absence of evidence is not evidence of harm.
//!
//! For an unknown slice the verdict says how many rows would show it safe: the per-slice planner
//! [`itera_stats::power::slice_noninferiority_rows`] at the expected effect T and the dev-measured
//! per-row variance of the difference.

use crate::decide::rules::EffectSize;
use crate::frame::SliceRule;
use serde::{Deserialize, Serialize};

/// A major slice's state against the loss floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SliceState {
    /// CI lower bound ≥ F.
    Safe,
    /// CI upper bound < 0 (and not safe): the slice regressed.
    Harmed,
    /// Neither: not shown safe, not shown harmed.
    Unknown,
}

impl SliceState {
    /// `"safe"`, `"harmed"` or `"unknown"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SliceState::Safe => "safe",
            SliceState::Harmed => "harmed",
            SliceState::Unknown => "unknown",
        }
    }
}

/// The state of a slice with effect `effect` against the floor `floor` (≤ 0). Boundaries: CI
/// low exactly F is safe (R3 passes at the floor); CI high exactly 0 is not harmed.
///
/// ```
/// use itera_core::decide::slices::{slice_state, SliceState};
/// use itera_core::report::EffectSize;
/// let e = |lo, hi| EffectSize { delta: (lo + hi) / 2.0, ci_low: lo, ci_high: hi, n: 50 };
/// assert_eq!(slice_state(Some(&e(-0.02, 0.10)), -0.02), SliceState::Safe);
/// assert_eq!(slice_state(Some(&e(-0.20, -0.01)), -0.02), SliceState::Harmed);
/// assert_eq!(slice_state(Some(&e(-0.10, 0.12)), -0.02), SliceState::Unknown);
/// assert_eq!(slice_state(None, -0.02), SliceState::Unknown);
/// ```
pub fn slice_state(effect: Option<&EffectSize>, floor: f64) -> SliceState {
    match effect {
        // G41: the floor itself passes; removing `>=` fails
        // decide::slices::tests::ci_low_exactly_at_the_floor_is_safe.
        Some(e) if e.ci_low >= floor => SliceState::Safe,
        // Harm needs the whole CI below 0; `ci_high == 0` is unknown
        // (decide::slices::tests::ci_high_exactly_zero_is_unknown_not_harmed).
        // G41: removing the harmed state fails tests/verdict_rules.rs::a_harmed_slice_is_called_regressed.
        Some(e) if e.ci_high < 0.0 => SliceState::Harmed,
        _ => SliceState::Unknown,
    }
}

/// Whether the registered slice rule ships to a slice in this state.
pub fn included(rule: SliceRule, state: SliceState) -> bool {
    match (rule, state) {
        (_, SliceState::Safe) => true,
        (_, SliceState::Harmed) => false,
        (SliceRule::NonInferiority, SliceState::Unknown) => false,
        (SliceRule::NoSignificantHarm, SliceState::Unknown) => true,
    }
}

/// One major slice's state, with its rows and, when unknown, the rows the planner says would show
/// it safe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceStatus {
    /// Slice id.
    pub slice: String,
    /// Its state.
    pub state: SliceState,
    /// Test rows the slice's CI rests on (0 without a CI).
    pub n: usize,
    /// Rows needed to show non-inferiority at F if the arm gains T on the slice (unknown slices;
    /// `None` when dev gave no variance to plan with).
    pub need: Option<usize>,
}

impl SliceStatus {
    /// The slice in words: "regressed" only for a harmed slice, "not shown safe: n rows, need ≈
    /// N" for an unknown one.
    pub fn words(&self) -> String {
        match self.state {
            SliceState::Safe => format!("{} (safe)", self.slice),
            SliceState::Harmed => format!("{} (regressed: CI entirely below 0)", self.slice),
            SliceState::Unknown => match self.need {
                Some(n) => format!(
                    "{} (not shown safe: {} rows, need ≈ {n})",
                    self.slice, self.n
                ),
                None => format!("{} (not shown safe: {} rows)", self.slice, self.n),
            },
        }
    }
}

/// The excluded slices in words, in `failing` order: "X (not shown safe: n rows, need ≈ N)" for
/// an unknown one, "X (regressed)" otherwise — "regressed" only for a harmed slice.
pub fn excluded_words(failing: &[String], unknown: &[SliceStatus]) -> Vec<String> {
    failing
        .iter()
        .map(|f| {
            unknown
                .iter()
                .find(|u| &u.slice == f)
                .map_or_else(|| format!("{f} (regressed)"), SliceStatus::words)
        })
        .collect()
}

/// Rows a slice needs to show CI low ≥ F with the registered power, if the arm gains `threshold`
/// on it and the per-row variance of the difference is `row_variance` (rounded up; at least 2).
pub fn rows_needed(
    threshold: f64,
    floor: f64,
    row_variance: Option<f64>,
    alpha: f64,
    power: f64,
) -> Option<usize> {
    let n = itera_stats::power::slice_noninferiority_rows(
        threshold,
        floor,
        row_variance?,
        alpha,
        power,
    )
    .ok()?;
    n.is_finite().then(|| (n.ceil() as usize).max(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(lo: f64, hi: f64) -> EffectSize {
        EffectSize {
            delta: (lo + hi) / 2.0,
            ci_low: lo,
            ci_high: hi,
            n: 40,
        }
    }

    #[test]
    fn ci_low_exactly_at_the_floor_is_safe() {
        assert_eq!(slice_state(Some(&e(-0.02, 0.05)), -0.02), SliceState::Safe);
        assert_eq!(
            slice_state(Some(&e(-0.020_000_1, 0.05)), -0.02),
            SliceState::Unknown
        );
    }

    #[test]
    fn ci_high_exactly_zero_is_unknown_not_harmed() {
        assert_eq!(slice_state(Some(&e(-0.2, 0.0)), -0.02), SliceState::Unknown);
        assert_eq!(
            slice_state(Some(&e(-0.2, -1e-9)), -0.02),
            SliceState::Harmed
        );
    }

    #[test]
    fn a_ci_within_the_floor_but_below_zero_is_safe_not_harmed() {
        // Shown to lose less than |F|: the registered tolerance wins.
        assert_eq!(
            slice_state(Some(&e(-0.015, -0.005)), -0.02),
            SliceState::Safe
        );
        // With F = 0 the safe boundary and the harm boundary meet: CI [0, x] is safe.
        assert_eq!(slice_state(Some(&e(0.0, 0.1)), 0.0), SliceState::Safe);
        assert_eq!(slice_state(Some(&e(-0.1, -0.0)), 0.0), SliceState::Unknown);
    }

    #[test]
    fn a_slice_without_a_ci_is_unknown() {
        assert_eq!(slice_state(None, -0.02), SliceState::Unknown);
    }

    #[test]
    fn the_rules_include_unknown_slices_only_under_no_significant_harm() {
        use SliceRule::*;
        use SliceState::*;
        assert!(included(NonInferiority, Safe) && included(NoSignificantHarm, Safe));
        assert!(!included(NonInferiority, Harmed) && !included(NoSignificantHarm, Harmed));
        assert!(!included(NonInferiority, Unknown) && included(NoSignificantHarm, Unknown));
    }

    #[test]
    fn rows_needed_matches_the_hand_computation() {
        // (z.975 + z.8)² · 0.25 / (0.05 + 0.02)² = 7.84887 · 0.25 / 0.0049 = 400.45 → 401
        // (scipy: (norm.ppf(.975) + norm.ppf(.8))**2 = 7.848879).
        assert_eq!(rows_needed(0.05, -0.02, Some(0.25), 0.05, 0.8), Some(401));
        assert_eq!(rows_needed(0.05, -0.02, None, 0.05, 0.8), None);
        assert_eq!(rows_needed(0.05, -0.02, Some(0.0), 0.05, 0.8), Some(2));
    }

    #[test]
    fn the_default_slice_rule_is_not_serialized_so_old_frames_hash_the_same() {
        let frame = crate::frame::Frame::builder("x", "q?", "h.")
            .baseline("b", "src")
            .arm("c", "b", "one change")
            .metric("acc", "exact")
            .threshold_pp(5.0)
            .build()
            .unwrap();
        let json = serde_json::to_value(&frame).unwrap();
        assert!(json.get("slice_rule").is_none(), "{json}");
        // A registration written before the field existed loads with the default.
        let back: crate::frame::Frame = serde_json::from_value(json).unwrap();
        assert_eq!(back.slice_rule, SliceRule::NonInferiority);
        let nsh = crate::frame::Frame {
            slice_rule: SliceRule::NoSignificantHarm,
            ..frame
        };
        let json = serde_json::to_value(&nsh).unwrap();
        assert_eq!(json["slice_rule"], "no-significant-harm");
    }
}
