//! Score intervals: the Wilson interval for one proportion and Newcombe's square-and-add
//! combinations of Wilson intervals for the difference of two independent proportions and of two
//! paired proportions.

use super::{PairedCounts, check_counts, z_two_sided};
use crate::{Estimate, StatsError, check_level};

/// Wilson score bounds for `k` of `n` at normal quantile `z` (inputs already checked).
fn wilson_bounds(k: u64, n: u64, z: f64) -> (f64, f64) {
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    // Exact at the edges (the formula gives 0 and 1 there up to rounding).
    let lower = if k == 0 {
        0.0
    } else {
        (center - half).clamp(0.0, p)
    };
    let upper = if k == n {
        1.0
    } else {
        (center + half).clamp(p, 1.0)
    };
    (lower, upper)
}

/// Wilson score interval for a binomial proportion `k / n` (Wilson 1927; recommended by
/// Brown, Cai & DasGupta 2001). Matches statsmodels `proportion_confint(k, n,
/// method="wilson")`.
///
/// Errors: `n = 0` ([`StatsError::Empty`]), `k > n` ([`StatsError::Invalid`]), `level` outside
/// (0, 1) ([`StatsError::BadLevel`]).
///
/// ```
/// let e = itera_stats::proportions::wilson(81, 263, 0.95).unwrap();
/// assert!((e.ci.lower - 0.25529).abs() < 1e-5 && (e.ci.upper - 0.36621).abs() < 1e-5);
/// ```
pub fn wilson(k: u64, n: u64, level: f64) -> Result<Estimate, StatsError> {
    check_counts(k, n)?;
    check_level("level", level)?;
    let (lower, upper) = wilson_bounds(k, n, z_two_sided(level));
    Ok(Estimate::new(
        k as f64 / n as f64,
        level,
        lower,
        upper,
        None,
        "wilson",
    ))
}

/// Newcombe's hybrid-score interval for the difference `k1/n1 − k2/n2` of two **independent**
/// proportions (Newcombe 1998a, *Stat Med* 17:873–890, method 10): the "square-and-add"
/// combination of the two Wilson intervals,
/// `L = D − √((p1−l1)² + (u2−p2)²)`, `U = D + √((u1−p1)² + (p2−l2)²)`.
/// Matches statsmodels `confint_proportions_2indep(..., method="newcomb")`.
///
/// Errors: either n is 0, a k exceeds its n, or `level` outside (0, 1).
///
/// ```
/// let e = itera_stats::proportions::newcombe_diff(56, 70, 48, 80, 0.95).unwrap();
/// assert!((e.ci.lower - 0.05243).abs() < 1e-5 && (e.ci.upper - 0.33387).abs() < 1e-5);
/// ```
pub fn newcombe_diff(
    k1: u64,
    n1: u64,
    k2: u64,
    n2: u64,
    level: f64,
) -> Result<Estimate, StatsError> {
    check_counts(k1, n1)?;
    check_counts(k2, n2)?;
    check_level("level", level)?;
    let z = z_two_sided(level);
    let p1 = k1 as f64 / n1 as f64;
    let p2 = k2 as f64 / n2 as f64;
    let (l1, u1) = wilson_bounds(k1, n1, z);
    let (l2, u2) = wilson_bounds(k2, n2, z);
    let d = p1 - p2;
    let lower = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let upper = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Ok(Estimate::new(
        d,
        level,
        lower.clamp(-1.0, d),
        upper.clamp(d, 1.0),
        None,
        "newcombe-hybrid-score",
    ))
}

/// Newcombe's interval for the difference of two **paired** proportions `p_A − p_B =
/// (only_a − only_b) / n` (Newcombe 1998b, *Stat Med* 17:2635–2650, method 10: square-and-add
/// of the Wilson intervals for p_A and p_B with the correlation correction φ̂).
///
/// φ̂ = C / √((both+only_a)(only_b+neither)(both+only_b)(only_a+neither)), where with
/// B = both·neither − only_a·only_b, C = B − n/2 if B > n/2, C = 0 if 0 ≤ B ≤ n/2, C = B if
/// B < 0; φ̂ = 0 when any margin is 0. Then
/// `L = D − √((p_A−l_A)² − 2φ̂(p_A−l_A)(u_B−p_B) + (u_B−p_B)²)` and
/// `U = D + √((p_B−l_B)² − 2φ̂(p_B−l_B)(u_A−p_A) + (u_A−p_A)²)`.
/// Fagerland, Lydersen & Laake (2014, *Stat Methods Med Res*) call it "Newcombe square-and-add"
/// and recommend it; the test reproduces their worked example (Cavo et al. 2012 table,
/// −0.0621 (−0.1186 to −0.0046)).
///
/// Errors: an all-zero table ([`StatsError::Empty`]), `level` outside (0, 1).
///
/// ```
/// use itera_stats::proportions::{PairedCounts, newcombe_paired_diff};
/// let t = PairedCounts { both: 59, only_a: 6, only_b: 16, neither: 80 };
/// let e = newcombe_paired_diff(t, 0.95).unwrap();
/// assert!((e.ci.lower + 0.1186).abs() < 1e-4 && (e.ci.upper + 0.0046).abs() < 1e-4);
/// ```
pub fn newcombe_paired_diff(table: PairedCounts, level: f64) -> Result<Estimate, StatsError> {
    let n = table.n();
    if n == 0 {
        return Err(StatsError::Empty {
            what: "paired table",
            min: 1,
        });
    }
    check_level("level", level)?;
    let z = z_two_sided(level);
    let nf = n as f64;
    let ka = table.both + table.only_a;
    let kb = table.both + table.only_b;
    let pa = ka as f64 / nf;
    let pb = kb as f64 / nf;
    let (la, ua) = wilson_bounds(ka, n, z);
    let (lb, ub) = wilson_bounds(kb, n, z);
    let margins = [
        ka as f64,
        (table.only_b + table.neither) as f64,
        kb as f64,
        (table.only_a + table.neither) as f64,
    ];
    let phi = if margins.contains(&0.0) {
        0.0
    } else {
        let b =
            table.both as f64 * table.neither as f64 - table.only_a as f64 * table.only_b as f64;
        let c = if b > nf / 2.0 {
            b - nf / 2.0
        } else if b >= 0.0 {
            0.0
        } else {
            b
        };
        // Product under the root in two factors to avoid overflow for huge tables.
        (c / ((margins[0] * margins[1]).sqrt() * (margins[2] * margins[3]).sqrt())).clamp(-1.0, 1.0)
    };
    let d = pa - pb;
    let (xa, ya) = (pa - la, ub - pb);
    let (xb, yb) = (pb - lb, ua - pa);
    let lower = d - (xa * xa - 2.0 * phi * xa * ya + ya * ya).max(0.0).sqrt();
    let upper = d + (xb * xb - 2.0 * phi * xb * yb + yb * yb).max(0.0).sqrt();
    Ok(Estimate::new(
        d,
        level,
        lower.clamp(-1.0, d),
        upper.clamp(d, 1.0),
        None,
        "newcombe-paired",
    ))
}
