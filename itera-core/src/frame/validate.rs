//! The registration rules: [`FrameError`], one variant per rule with the fix in its message, and
//! [`Frame::validate`], which checks them all before anything is registered — baseline with a
//! source (G2), 1–3 arms with one stated change each (G3), at most two secondary metrics (G5),
//! threshold and loss floor in range (G6), a 3–5 category taxonomy (G9), the severity spec
//! (G10), trials ≥ 3 unless deterministic (G25), α, power and split shares in range.

use crate::frame::{Effect, Frame};
use std::collections::BTreeSet;

/// The highest price a frame registers, in USD per million tokens (far above any real model), so
/// that tokens × price stays finite.
pub(crate) const MAX_PRICE_PER_MTOK_USD: f64 = 100_000.0;
/// The highest failure-mode weight.
pub(crate) const MAX_WEIGHT: f64 = 1_000_000.0;

/// What is wrong with a frame, and how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A required field is missing or blank.
    #[error("frame field '{0}' is missing or empty: fill it in before registering")]
    Missing(&'static str),
    /// The baseline has no source reference (G2).
    #[error(
        "baseline '{0}' has no source reference (G2): give the deployed code's location, e.g. src/prompt.rs:42"
    )]
    BaselineWithoutSource(String),
    /// Not 1–3 candidate arms (G3).
    #[error(
        "{0} candidate arms registered (G3): an experiment compares the baseline with 1 to 3 arms; split the rest into another experiment"
    )]
    ArmCount(usize),
    /// Two arms (or an arm and the baseline) share an id.
    #[error("arm id '{0}' is used twice: give every arm, and the baseline, its own id")]
    DuplicateArm(String),
    /// An arm's parent is neither the baseline nor an earlier arm (G3).
    #[error(
        "arm '{arm}' names parent '{parent}', which is neither the baseline nor an arm declared before it"
    )]
    UnknownParent {
        /// The arm.
        arm: String,
        /// The parent it names.
        parent: String,
    },
    /// An arm does not state its one change (G3).
    #[error(
        "arm '{0}' does not state its change (G3): describe the ONE thing it changes versus its parent"
    )]
    NoChange(String),
    /// More than two secondary metrics (G5).
    #[error("{0} secondary metrics (G5): keep one primary metric and at most two secondaries")]
    TooManySecondaries(usize),
    /// Threshold or loss floor out of range (G6).
    #[error("threshold: {0}")]
    BadThreshold(String),
    /// Taxonomy size outside 3–5 (G9).
    #[error("failure-mode taxonomy has {0} categories (G9): register 3 to 5, or none")]
    TaxonomySize(usize),
    /// A failure-mode category is malformed.
    #[error("failure mode '{id}': {why}")]
    BadFailureMode {
        /// The category.
        id: String,
        /// What is wrong.
        why: String,
    },
    /// The severity spec is malformed (G10).
    #[error("severity spec: {0}")]
    BadSeverity(String),
    /// Too few trials for non-deterministic arms (G25).
    #[error(
        "{0} trial(s) per arm (G25): non-deterministic arms need at least 3; set deterministic = true only if every arm returns the same output for the same input"
    )]
    TooFewTrials(u32),
    /// α or power outside (0, 1), or a bad split.
    #[error("{field} = {value}: {why}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range.
        why: &'static str,
    },
    /// A price names an arm the frame does not register.
    #[error(
        "a price is given for '{0}', which is not a registered arm: fix the arm id or remove the price"
    )]
    UnknownPriceArm(String),
    /// A major slice is listed twice or empty.
    #[error("major slice '{0}' is listed twice or is empty")]
    BadMajorSlice(String),
}

impl Frame {
    /// Checks every registration rule; the first violation is returned.
    ///
    /// ```
    /// use itera_core::{Frame, FrameError};
    /// let mut f = Frame::builder("n", "q?", "h.")
    ///     .baseline("v1", "src/a.rs:1").arm("v2", "v1", "one change")
    ///     .metric("acc", "exact").threshold_pp(5.0).slice_loss_floor_pp(-2.0)
    ///     .build().unwrap();
    /// f.trials = 1;
    /// assert_eq!(f.validate(), Err(FrameError::TooFewTrials(1)));
    /// ```
    pub fn validate(&self) -> Result<(), FrameError> {
        for (field, value) in [
            ("name", &self.name),
            ("question", &self.question),
            ("hypothesis", &self.hypothesis),
            ("baseline.id", &self.baseline.id),
            ("metric.name", &self.metric.name),
            ("metric.scorer", &self.metric.scorer),
        ] {
            if value.trim().is_empty() {
                return Err(FrameError::Missing(field));
            }
        }
        if self
            .reuse_test
            .as_ref()
            .is_some_and(|r| r.trim().is_empty())
        {
            return Err(FrameError::Missing(
                "reuse_test (the reason the test rows may be reused)",
            ));
        }
        if self.baseline.source.trim().is_empty() {
            return Err(FrameError::BaselineWithoutSource(self.baseline.id.clone()));
        }
        if self.arms.is_empty() || self.arms.len() > 3 {
            return Err(FrameError::ArmCount(self.arms.len()));
        }
        let mut known: BTreeSet<&str> = BTreeSet::from([self.baseline.id.as_str()]);
        for arm in &self.arms {
            if arm.id.trim().is_empty() {
                return Err(FrameError::Missing("arms.id"));
            }
            if !known.contains(arm.parent.as_str()) {
                return Err(FrameError::UnknownParent {
                    arm: arm.id.clone(),
                    parent: arm.parent.clone(),
                });
            }
            if !known.insert(arm.id.as_str()) {
                return Err(FrameError::DuplicateArm(arm.id.clone()));
            }
            if arm.change.trim().is_empty() {
                return Err(FrameError::NoChange(arm.id.clone()));
            }
        }
        if self.metric.secondaries.len() > 2 {
            return Err(FrameError::TooManySecondaries(
                self.metric.secondaries.len(),
            ));
        }
        self.validate_threshold()?;
        self.validate_taxonomy()?;
        if let Some(sev) = &self.severity {
            if sev.field.trim().is_empty() {
                return Err(FrameError::BadSeverity("the field name is empty".into()));
            }
            if !(sev.cap.is_finite() && sev.cap > 0.0) {
                return Err(FrameError::BadSeverity(format!(
                    "cap {} must be a finite number > 0",
                    sev.cap
                )));
            }
        }
        // G25: enforced here; removing this check fails
        // tests/runner.rs::one_trial_needs_declared_determinism_and_then_has_zero_noise
        if self.trials == 0 || (self.trials < 3 && !self.deterministic) {
            return Err(FrameError::TooFewTrials(self.trials));
        }
        if !(self.max_failed_share.is_finite() && (0.0..1.0).contains(&self.max_failed_share)) {
            return Err(FrameError::OutOfRange {
                field: "max_failed_share",
                value: self.max_failed_share,
                why: "must lie in [0, 1): the share of an arm's calls that may fail after retries",
            });
        }
        for (field, value) in [("alpha", self.alpha), ("power", self.power)] {
            if !(value.is_finite() && value > 0.0 && value < 1.0) {
                return Err(FrameError::OutOfRange {
                    field,
                    value,
                    why: "must lie strictly between 0 and 1",
                });
            }
        }
        self.validate_split()?;
        let ids = self.arm_ids();
        for (arm, price) in &self.prices {
            if !ids.contains(&arm.as_str()) {
                return Err(FrameError::UnknownPriceArm(arm.clone()));
            }
            // A batch discount is a fraction of the price in [0, 1) (issue #18 item 2; test:
            // a_batch_discount_outside_0_1_is_refused).
            if let Some(d) = price.batch_discount
                && !(d.is_finite() && (0.0..1.0).contains(&d))
            {
                return Err(FrameError::OutOfRange {
                    field: "prices.batch_discount",
                    value: d,
                    why: "a batch discount is the fraction taken off the price, in [0, 1) (0.5 = half price)",
                });
            }
            let cache = [
                price.cache_read_per_mtok_usd,
                price.cache_write_per_mtok_usd,
            ];
            for v in [price.input_per_mtok_usd, price.output_per_mtok_usd]
                .into_iter()
                .chain(cache.into_iter().flatten())
            {
                // Bounded so that tokens × price stays finite in every cost the journal records
                // (item 5; test: frame::validate tests a_price_that_overflows_a_cost_is_refused).
                if !(v.is_finite() && (0.0..=MAX_PRICE_PER_MTOK_USD).contains(&v)) {
                    return Err(FrameError::OutOfRange {
                        field: "prices",
                        value: v,
                        why: "a price must be a number in [0, 100000] (USD per million tokens)",
                    });
                }
            }
        }
        let mut majors = BTreeSet::new();
        for s in &self.major_slices {
            if s.trim().is_empty() || !majors.insert(s) {
                return Err(FrameError::BadMajorSlice(s.clone()));
            }
        }
        Ok(())
    }

    fn validate_threshold(&self) -> Result<(), FrameError> {
        let t = &self.threshold;
        let (value, unit) = match t.effect {
            Effect::AbsolutePp(v) => (v, "pp"),
            Effect::RelativePct(v) => (v, "%"),
        };
        if !(value.is_finite() && value > 0.0 && value <= 100.0) {
            return Err(FrameError::BadThreshold(format!(
                "the effect {value}{unit} must be a finite number in (0, 100] (G6): the smallest gain that justifies shipping"
            )));
        }
        if !(t.slice_loss_floor_pp.is_finite()
            && t.slice_loss_floor_pp <= 0.0
            && t.slice_loss_floor_pp >= -100.0)
        {
            return Err(FrameError::BadThreshold(format!(
                "the slice loss floor {}pp must be a finite number in [-100, 0] (G6), e.g. -2.0",
                t.slice_loss_floor_pp
            )));
        }
        Ok(())
    }

    fn validate_taxonomy(&self) -> Result<(), FrameError> {
        let n = self.failure_modes.len();
        if n == 0 {
            return Ok(());
        }
        if !(3..=5).contains(&n) {
            return Err(FrameError::TaxonomySize(n));
        }
        let mut ids = BTreeSet::new();
        for fm in &self.failure_modes {
            if fm.id.trim().is_empty() {
                return Err(FrameError::Missing("failure_modes.id"));
            }
            if !ids.insert(fm.id.as_str()) {
                return Err(FrameError::BadFailureMode {
                    id: fm.id.clone(),
                    why: "listed twice".into(),
                });
            }
            if !(fm.weight.is_finite() && fm.weight > 0.0 && fm.weight <= MAX_WEIGHT) {
                return Err(FrameError::BadFailureMode {
                    id: fm.id.clone(),
                    why: format!("weight {} must be a number in (0, 1000000]", fm.weight),
                });
            }
            if let Some(crate::frame::ModeRule::Regex { pattern }) = &fm.rule
                && let Err(e) = regex::Regex::new(pattern)
            {
                return Err(FrameError::BadFailureMode {
                    id: fm.id.clone(),
                    why: format!("rule.pattern is not a valid regex ({e}): fix the pattern"),
                });
            }
        }
        Ok(())
    }

    fn validate_split(&self) -> Result<(), FrameError> {
        let s = self.split;
        for (field, value) in [
            ("split.train", s.train),
            ("split.dev", s.dev),
            ("split.test", s.test),
        ] {
            if !(value.is_finite() && (0.0..1.0).contains(&value)) {
                return Err(FrameError::OutOfRange {
                    field,
                    value,
                    why: "each share must lie in [0, 1)",
                });
            }
        }
        for (field, value) in [("split.dev", s.dev), ("split.test", s.test)] {
            if value <= 0.0 {
                return Err(FrameError::OutOfRange {
                    field,
                    value,
                    why: "dev and test need a share > 0",
                });
            }
        }
        let sum = s.train + s.dev + s.test;
        if (sum - 1.0).abs() > 1e-9 {
            return Err(FrameError::OutOfRange {
                field: "split (train + dev + test)",
                value: sum,
                why: "the shares must add up to 1",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::frame::{Frame, Price};

    fn frame() -> Frame {
        Frame::builder("n", "q?", "h.")
            .baseline("v1", "src")
            .arm("v2", "v1", "one change")
            .metric("accuracy", "exact")
            .threshold_pp(5.0)
            .trials(3)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Item 5: a finite but huge price made tokens × price infinite, and the cost was written to
    /// the journal as `null`. Prices and failure-mode weights are bounded.
    #[test]
    fn a_batch_discount_outside_0_1_is_refused() {
        // Issue #18 item 2: a discount of 1 or more would price batch calls at zero or below.
        for d in [1.0, 1.5, -0.1, f64::NAN] {
            let mut f = frame();
            f.prices.insert(
                "v2".into(),
                Price {
                    batch_discount: Some(d),
                    ..Price::new(1.0, 1.0)
                },
            );
            let e = f
                .validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("batch_discount"), "{d}: {e}");
        }
        let mut f = frame();
        f.prices.insert(
            "v2".into(),
            Price {
                batch_discount: Some(0.5),
                ..Price::new(1.0, 1.0)
            },
        );
        assert!(f.validate().is_ok());
    }

    #[test]
    fn a_price_that_overflows_a_cost_is_refused() {
        let mut f = frame();
        f.prices.insert("v2".into(), Price::new(1e300, 1.0));
        let e = f
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("[0, 100000]"), "{e}");
    }
}
