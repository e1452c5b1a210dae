//! Confidence intervals for binomial proportions and their differences: Wilson score,
//! Clopper–Pearson, Jeffreys (one proportion); Newcombe's hybrid-score interval for the
//! difference of two independent proportions (Newcombe 1998a, method 10); and for the difference
//! of two **paired** proportions: Newcombe (1998b, method 10, with the φ correlation correction),
//! the Agresti–Min (2005) and Bonett–Price (2012) adjusted Wald intervals, Tango's (1998)
//! asymptotic score interval, and clustered (Rao–Scott design-effect) versions of Agresti–Min and
//! Tango for rows that come in clusters.
//!
//! Every function returns an [`Estimate`] whose `point` is the observed proportion (or
//! difference) and whose bounds are clamped to the parameter space ([0, 1], or [−1, 1] for a
//! difference) and to hold the point. `se` is `None` except for the adjusted Wald intervals,
//! whose `se` is the standard error of their (pseudo-count adjusted) centre.
//!
//! Layout: [`wilson`] and the Newcombe square-and-add intervals built on it live in `score.rs`;
//! the Beta-quantile intervals (Clopper–Pearson, Jeffreys) in `exact.rs`, on the inverse
//! regularized incomplete beta of `beta_inv.rs`; the paired
//! adjusted-Wald and Tango intervals in `paired.rs`; their clustered (Rao–Scott) versions in
//! `clustered.rs`. This file keeps the paired 2×2 table and the input checks they share.
//!
//! [`Estimate`]: crate::Estimate

pub(crate) mod beta_inv;
mod clustered;
mod exact;
mod paired;
mod score;
#[cfg(test)]
mod tests;

pub use clustered::{
    agresti_min_paired_diff_clustered, paired_design_effect, tango_paired_diff_clustered,
};
pub use exact::{clopper_pearson, jeffreys};
pub use paired::{agresti_min_paired_diff, bonett_price_paired_diff, tango_paired_diff};
pub use score::{newcombe_diff, newcombe_paired_diff, wilson};

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::{StatsError, check_finite};

/// The upper `(1 − level)/2` quantile of the standard normal, e.g. 1.959964 for `level = 0.95`.
/// The caller has checked `level`.
pub(crate) fn z_two_sided(level: f64) -> f64 {
    Normal::standard().inverse_cdf(1.0 - (1.0 - level) / 2.0)
}

fn check_counts(k: u64, n: u64) -> Result<(), StatsError> {
    if n == 0 {
        return Err(StatsError::Empty {
            what: "trials n",
            min: 1,
        });
    }
    if k > n {
        return Err(StatsError::Invalid {
            what: "successes k",
            why: format!("k = {k} exceeds n = {n}; pass 0 <= k <= n"),
        });
    }
    Ok(())
}

/// The paired 2×2 table of two binary outcomes scored on the same rows: arm A vs arm B.
///
/// |            | B = 1  | B = 0     |
/// |------------|--------|-----------|
/// | **A = 1**  | `both` | `only_a`  |
/// | **A = 0**  | `only_b` | `neither` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedCounts {
    /// Rows where both A and B score 1.
    pub both: u64,
    /// Rows where A scores 1 and B scores 0 (discordant, favouring A).
    pub only_a: u64,
    /// Rows where A scores 0 and B scores 1 (discordant, favouring B).
    pub only_b: u64,
    /// Rows where both score 0.
    pub neither: u64,
}

impl PairedCounts {
    /// Total number of rows.
    pub fn n(&self) -> u64 {
        self.both + self.only_a + self.only_b + self.neither
    }

    /// Tabulates two paired binary score vectors. Every value must be exactly `0.0` or `1.0`.
    ///
    /// Errors: empty input, length mismatch, non-finite values, or any value other than 0 or 1
    /// ([`StatsError::Invalid`]).
    ///
    /// ```
    /// use itera_stats::proportions::PairedCounts;
    /// let t = PairedCounts::from_scores(&[1.0, 1.0, 0.0], &[1.0, 0.0, 1.0]).unwrap();
    /// assert_eq!((t.both, t.only_a, t.only_b, t.neither), (1, 1, 1, 0));
    /// ```
    pub fn from_scores(a: &[f64], b: &[f64]) -> Result<PairedCounts, StatsError> {
        check_pair_slices(a, b)?;
        let mut t = PairedCounts {
            both: 0,
            only_a: 0,
            only_b: 0,
            neither: 0,
        };
        for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
            match (binary_value(x), binary_value(y)) {
                (Some(true), Some(true)) => t.both += 1,
                (Some(true), Some(false)) => t.only_a += 1,
                (Some(false), Some(true)) => t.only_b += 1,
                (Some(false), Some(false)) => t.neither += 1,
                _ => {
                    return Err(StatsError::Invalid {
                        what: "binary scores",
                        why: format!("row {i} has ({x}, {y}); every score must be 0 or 1"),
                    });
                }
            }
        }
        Ok(t)
    }
}

/// `Some(true)` for 1.0, `Some(false)` for 0.0, `None` otherwise.
pub(crate) fn binary_value(x: f64) -> Option<bool> {
    if x == 1.0 {
        Some(true)
    } else if x == 0.0 {
        Some(false)
    } else {
        None
    }
}

/// Whether every value is exactly 0 or 1.
pub(crate) fn all_binary(xs: &[f64]) -> bool {
    xs.iter().all(|&x| binary_value(x).is_some())
}

/// Shared checks for two paired slices: non-empty, equal length, finite.
pub(crate) fn check_pair_slices(a: &[f64], b: &[f64]) -> Result<(), StatsError> {
    if a.is_empty() {
        return Err(StatsError::Empty { what: "a", min: 1 });
    }
    if a.len() != b.len() {
        return Err(StatsError::LengthMismatch {
            left: "a",
            left_len: a.len(),
            right: "b",
            right_len: b.len(),
        });
    }
    check_finite("a", a)?;
    check_finite("b", b)
}

fn check_table(table: PairedCounts) -> Result<f64, StatsError> {
    let n = table.n();
    if n == 0 {
        return Err(StatsError::Empty {
            what: "paired table",
            min: 1,
        });
    }
    Ok(n as f64)
}
