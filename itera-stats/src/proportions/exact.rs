//! Beta-quantile intervals for one proportion: Clopper–Pearson ("exact") and Jeffreys. Both
//! bounds are computed as lower-tail quantiles (`upper = 1 − Q(α/2)` of the reflected Beta), so
//! bounds near 0 and near 1 keep their relative accuracy; the quantile is
//! [`beta_quantile`](super::beta_inv::beta_quantile).

use super::beta_inv::beta_quantile;
use super::check_counts;
use crate::{Estimate, StatsError, check_level};

/// Clopper–Pearson "exact" interval for `k / n` (Clopper & Pearson 1934), from Beta quantiles:
/// lower = Beta(k, n−k+1) quantile at α/2 (0 when k = 0), upper = Beta(k+1, n−k) quantile at
/// 1−α/2 (1 when k = n). Matches statsmodels `proportion_confint(k, n, method="beta")`.
///
/// Errors as for [`wilson`]. The edges k = 0 and k = n are handled without calling the Beta
/// quantile (which is undefined there).
///
/// ```
/// let e = itera_stats::proportions::clopper_pearson(81, 263, 0.95).unwrap();
/// assert!((e.ci.lower - 0.25274).abs() < 1e-5 && (e.ci.upper - 0.36762).abs() < 1e-5);
/// let edge = itera_stats::proportions::clopper_pearson(0, 20, 0.95).unwrap();
/// assert_eq!(edge.ci.lower, 0.0);
/// ```
///
/// [`wilson`]: super::wilson
pub fn clopper_pearson(k: u64, n: u64, level: f64) -> Result<Estimate, StatsError> {
    check_counts(k, n)?;
    check_level("level", level)?;
    let alpha = 1.0 - level;
    let (kf, nf) = (k as f64, n as f64);
    let p = kf / nf;
    let lower = if k == 0 {
        0.0
    } else {
        beta_quantile(kf, nf - kf + 1.0, alpha / 2.0).min(p)
    };
    let upper = if k == n {
        1.0
    } else {
        // Beta(k+1, n−k) quantile at 1 − α/2 = 1 − Beta(n−k, k+1) quantile at α/2.
        (1.0 - beta_quantile(nf - kf, kf + 1.0, alpha / 2.0)).max(p)
    };
    Ok(Estimate::new(
        p,
        level,
        lower,
        upper,
        None,
        "clopper-pearson",
    ))
}

/// Jeffreys interval for `k / n`: the equal-tailed interval of the Beta(k + ½, n − k + ½)
/// posterior (Brown, Cai & DasGupta 2001, §4.1.2), **with their boundary modification**: the
/// lower bound is 0 when k = 0 and the upper bound is 1 when k = n (so the interval always holds
/// the observed proportion). Away from the edges it matches statsmodels
/// `proportion_confint(k, n, method="jeffreys")`; at the edges statsmodels omits the modification.
///
/// Errors as for [`wilson`].
///
/// ```
/// let e = itera_stats::proportions::jeffreys(81, 263, 0.95).unwrap();
/// assert!((e.ci.lower - 0.254522).abs() < 1e-5);
/// ```
///
/// [`wilson`]: super::wilson
pub fn jeffreys(k: u64, n: u64, level: f64) -> Result<Estimate, StatsError> {
    check_counts(k, n)?;
    check_level("level", level)?;
    let alpha = 1.0 - level;
    let (kf, nf) = (k as f64, n as f64);
    let p = kf / nf;
    let lower = if k == 0 {
        0.0
    } else {
        beta_quantile(kf + 0.5, nf - kf + 0.5, alpha / 2.0).min(p)
    };
    let upper = if k == n {
        1.0
    } else {
        (1.0 - beta_quantile(nf - kf + 0.5, kf + 0.5, alpha / 2.0)).max(p)
    };
    Ok(Estimate::new(p, level, lower, upper, None, "jeffreys"))
}
