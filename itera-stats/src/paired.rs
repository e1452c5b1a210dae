//! Paired comparisons of two arms scored on the same rows: the mean difference `a − b`, its
//! standard error and t interval (plain, or clustered after Miller 2024), and the Pearson
//! correlation of the two arms' scores, gathered in a [`PairedSummary`].

use std::collections::HashMap;
use std::hash::Hash;

use crate::proportions::beta_inv::beta_quantile_pair;
use crate::proportions::check_pair_slices;
use crate::{Estimate, StatsError, check_finite, check_level};
use serde::{Deserialize, Serialize};

/// Summary of a paired comparison of arm `a` against baseline `b`.
///
/// `diff.point` is mean(a) − mean(b) = mean(a − b); `diff.ci` is a t interval;
/// `diff.se` the standard error used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedSummary {
    /// Number of rows scored by both arms.
    pub n: usize,
    /// Mean score of arm `a`.
    pub mean_a: f64,
    /// Mean score of baseline `b`.
    pub mean_b: f64,
    /// The mean paired difference `a − b` with its interval.
    pub diff: Estimate,
    /// Sample standard deviation (n − 1 denominator) of the per-row differences.
    pub sd_diff: f64,
    /// Degrees of freedom of the t interval (n − 1, or C − 1 when clustered).
    pub df: f64,
    /// Pearson correlation of the two arms' scores; `None` when either arm has zero variance.
    pub correlation: Option<f64>,
    /// Number of clusters when the interval is clustered, else `None`.
    pub clusters: Option<usize>,
}

/// Two-sided Student t critical value for `level` with `df` degrees of freedom (caller checked
/// `level` and `df > 0`), from the upper tail `q = (1 − level)/2` taken directly (never through
/// `1 − q`, which loses the tail's digits at extreme levels):
/// * df 1: `cot(πq)` (the Cauchy quantile); df 2: `(1 − 2q)/√(2q(1 − q))` (closed forms);
/// * other df below 1000: `t = √(ν(1 − x)/x)` with `x` the Beta(ν/2, ½) quantile at `2q`
///   (Abramowitz & Stegun 26.7.1 with 26.5.27), from the crate's bracketed inverse incomplete
///   beta. statrs' inverse CDF was 8× too small at df 1, level 1 − 1e-9 (7.7e7 for 6.4e8);
/// * from 1000 df on, the Cornish–Fisher expansion of the t quantile in the normal quantile to
///   order ν⁻⁴ (Abramowitz & Stegun 26.7.5), exact to ~1e-12 there.
pub(crate) fn t_two_sided(level: f64, df: f64) -> Result<f64, StatsError> {
    if df.is_nan() || df <= 0.0 {
        return Err(StatsError::Invalid {
            what: "degrees of freedom",
            why: format!("{df}: must be positive"),
        });
    }
    let q = (1.0 - level) / 2.0;
    if df == 1.0 {
        return Ok(1.0 / (std::f64::consts::PI * q).tan());
    }
    if df == 2.0 {
        return Ok((1.0 - 2.0 * q) / (2.0 * q * (1.0 - q)).sqrt());
    }
    if df >= 1000.0 {
        let z = crate::proportions::z_two_sided(level);
        let z2 = z * z;
        let g1 = (z2 + 1.0) * z / 4.0;
        let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
        let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
        let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
        return Ok(z + g1 / df + g2 / df.powi(2) + g3 / df.powi(3) + g4 / df.powi(4));
    }
    let (x, one_minus_x) = beta_quantile_pair(df / 2.0, 0.5, 2.0 * q);
    Ok((df * one_minus_x / x).sqrt())
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn check_two_rows(a: &[f64], b: &[f64]) -> Result<(), StatsError> {
    check_pair_slices(a, b)?;
    if a.len() < 2 {
        return Err(StatsError::TooFew {
            what: "paired rows",
            got: a.len(),
            min: 2,
        });
    }
    Ok(())
}

/// Pearson correlation of `a` and `b`. Returns `Ok(None)` when either has zero variance (the
/// correlation is undefined there), never NaN.
///
/// Errors: empty, length mismatch, non-finite values, fewer than 2 rows.
///
/// ```
/// let r = itera_stats::paired::pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 7.0]).unwrap();
/// assert!(r.unwrap() > 0.9);
/// assert_eq!(itera_stats::paired::pearson(&[1.0, 1.0], &[2.0, 3.0]).unwrap(), None);
/// ```
pub fn pearson(a: &[f64], b: &[f64]) -> Result<Option<f64>, StatsError> {
    check_two_rows(a, b)?;
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa <= 0.0 || sbb <= 0.0 {
        return Ok(None);
    }
    let r = sab / (saa.sqrt() * sbb.sqrt());
    Ok(r.is_finite().then_some(r.clamp(-1.0, 1.0)))
}

/// `value` if finite, else [`StatsError::NotFinite`] naming the statistic (index 0): a
/// statistic that overflowed although every input was finite.
fn finite(what: &'static str, value: f64) -> Result<f64, StatsError> {
    check_finite(what, &[value]).map(|()| value)
}

fn summary(
    a: &[f64],
    b: &[f64],
    se: f64,
    df: f64,
    level: f64,
    method: &str,
    clusters: Option<usize>,
) -> Result<PairedSummary, StatsError> {
    let n = a.len();
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    // Finite inputs can still overflow (1e308 − (−1e308), or a sum of squares): refuse, as the
    // clustered SE and the bootstrap do, rather than return an inf/NaN interval.
    check_finite("a − b", &d)?;
    let dbar = finite("mean of a − b", mean(&d))?;
    let sd = (d.iter().map(|x| (x - dbar).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
    let sd = finite("standard deviation of a − b", sd)?;
    let se = finite("standard error of the mean of a − b", se)?;
    let half = t_two_sided(level, df)? * se;
    let lower = finite("lower bound", dbar - half)?;
    let upper = finite("upper bound", dbar + half)?;
    Ok(PairedSummary {
        n,
        mean_a: finite("mean of a", mean(a))?,
        mean_b: finite("mean of b", mean(b))?,
        diff: Estimate::new(dbar, level, lower, upper, Some(se), method),
        sd_diff: sd,
        df,
        correlation: pearson(a, b)?,
        clusters,
    })
}

/// Paired t interval for the mean difference `mean(a − b)`: SE = sd(a − b)/√n, t quantile with
/// n − 1 degrees of freedom (Student 1908). Matches `scipy.stats.ttest_rel(a, b)
/// .confidence_interval(level)`. Method name `"paired-t"`.
///
/// Errors: empty, length mismatch, non-finite values, fewer than 2 rows, `level` outside (0, 1),
/// and [`StatsError::NotFinite`] when finite inputs overflow (a difference, a mean, the
/// variance or a bound is ±∞/NaN), as the clustered and bootstrap versions refuse them.
/// With zero variance of the differences the interval collapses to the point.
///
/// ```
/// let a = [0.8, 0.6, 0.9, 0.7, 0.5, 0.95, 0.4, 0.85];
/// let b = [0.7, 0.65, 0.8, 0.5, 0.55, 0.9, 0.3, 0.6];
/// let s = itera_stats::paired::paired_t(&a, &b, 0.95).unwrap();
/// assert!((s.diff.point - 0.0875).abs() < 1e-12);
/// assert!((s.diff.ci.upper - 0.176173).abs() < 1e-6);
/// ```
pub fn paired_t(a: &[f64], b: &[f64], level: f64) -> Result<PairedSummary, StatsError> {
    check_two_rows(a, b)?;
    check_level("level", level)?;
    let n = a.len() as f64;
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let dbar = mean(&d);
    let var = d.iter().map(|x| (x - dbar).powi(2)).sum::<f64>() / (n - 1.0);
    summary(a, b, (var / n).sqrt(), n - 1.0, level, "paired-t", None)
}

/// Clustered standard error of the mean of `d` and the number of clusters:
/// SE² = C/(C−1) · Σ_c (Σ_{i∈c} (d_i − d̄))² / n² (Miller 2024, "Adding Error Bars to Evals",
/// §2.2; the CR1 sandwich estimator). This equals statsmodels
/// `OLS(d, ones).fit(cov_type="cluster", cov_kwds={"groups": g}).bse` exactly: statsmodels'
/// small-sample factor is C/(C−1)·(n−1)/(n−k) with k = 1, i.e. C/(C−1).
///
/// Cluster labels can be any `Hash + Eq` type (`u32`, `usize`, `&str`, `String`, …); rows
/// with equal labels form a cluster, wherever they are in the slice.
///
/// Errors: empty, length mismatch, non-finite values, fewer than 2 clusters.
///
/// ```
/// let d = [0.1, -0.05, 0.1, 0.2, -0.05, 0.05, 0.1, 0.25];
/// let (se, c) = itera_stats::paired::cluster_se(&d, &[0, 0, 1, 1, 1, 2, 3, 3]).unwrap();
/// assert_eq!(c, 4);
/// assert!((se - 0.031560952932).abs() < 1e-10);
/// ```
pub fn cluster_se<K: Hash + Eq>(d: &[f64], clusters: &[K]) -> Result<(f64, usize), StatsError> {
    if d.is_empty() {
        return Err(StatsError::Empty {
            what: "differences",
            min: 2,
        });
    }
    if d.len() != clusters.len() {
        return Err(StatsError::LengthMismatch {
            left: "differences",
            left_len: d.len(),
            right: "clusters",
            right_len: clusters.len(),
        });
    }
    crate::check_finite("differences", d)?;
    let dbar = mean(d);
    let mut sums: HashMap<&K, f64> = HashMap::new();
    for (x, k) in d.iter().zip(clusters) {
        *sums.entry(k).or_insert(0.0) += x - dbar;
    }
    let c = sums.len();
    if c < 2 {
        return Err(StatsError::TooFew {
            what: "clusters",
            got: c,
            min: 2,
        });
    }
    let n = d.len() as f64;
    let cf = c as f64;
    // Sum in a fixed order (HashMap iteration order varies between runs).
    let mut squares: Vec<f64> = sums.values().map(|s| s * s).collect();
    squares.sort_by(f64::total_cmp);
    let ss: f64 = squares.iter().sum();
    Ok(((cf / (cf - 1.0) * ss).sqrt() / n, c))
}

/// Paired difference with a **clustered** t interval: SE from [`cluster_se`] (Miller 2024,
/// Eq. 4, as UK AISI's Inspect implements it) and a t quantile with C − 1 degrees of freedom
/// (C clusters). Matches statsmodels `OLS(a − b, ones).fit(cov_type="cluster",
/// cov_kwds={"groups": g}, use_t=True).conf_int()` (statsmodels also uses C − 1 df).
/// Method name `"cluster-t"`.
///
/// Errors: as [`paired_t`], plus a length mismatch of `clusters` and fewer than 2 clusters.
///
/// ```
/// let a = [0.8, 0.6, 0.9, 0.7, 0.5, 0.95, 0.4, 0.85];
/// let b = [0.7, 0.65, 0.8, 0.5, 0.55, 0.9, 0.3, 0.6];
/// let g = ["x", "x", "y", "y", "y", "z", "w", "w"];
/// let s = itera_stats::paired::paired_t_clustered(&a, &b, &g, 0.95).unwrap();
/// assert_eq!(s.clusters, Some(4));
/// assert!((s.diff.ci.lower + 0.012941038).abs() < 1e-6);
/// ```
pub fn paired_t_clustered<K: Hash + Eq>(
    a: &[f64],
    b: &[f64],
    clusters: &[K],
    level: f64,
) -> Result<PairedSummary, StatsError> {
    check_two_rows(a, b)?;
    check_level("level", level)?;
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let (se, c) = cluster_se(&d, clusters)?;
    summary(a, b, se, c as f64 - 1.0, level, "cluster-t", Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [f64; 8] = [0.8, 0.6, 0.9, 0.7, 0.5, 0.95, 0.4, 0.85];
    const B: [f64; 8] = [0.7, 0.65, 0.8, 0.5, 0.55, 0.9, 0.3, 0.6];

    // import numpy as np, scipy.stats as st
    // a=np.array([0.8,0.6,0.9,0.7,0.5,0.95,0.4,0.85]); b=np.array([0.7,0.65,0.8,0.5,0.55,0.9,0.3,0.6])
    // r=st.ttest_rel(a,b); r.confidence_interval(0.95) -> (-0.0011734094347294194, 0.17617340943472942)
    // r.confidence_interval(0.90) -> (0.01645330230912473, 0.15854669769087523)
    // d=a-b; d.mean() -> 0.0875; d.std(ddof=1)/np.sqrt(8) -> 0.0375
    // st.pearsonr(a,b).statistic -> 0.8485483171719466
    #[test]
    fn paired_t_matches_scipy() {
        let s = paired_t(&A, &B, 0.95).unwrap();
        assert_eq!(s.n, 8);
        assert!((s.diff.point - 0.0875).abs() < 1e-12);
        assert!((s.diff.se.unwrap() - 0.0375).abs() < 1e-12);
        assert!((s.diff.ci.lower + 0.0011734094347294194).abs() < 1e-9);
        assert!((s.diff.ci.upper - 0.17617340943472942).abs() < 1e-9);
        assert!((s.correlation.unwrap() - 0.8485483171719466).abs() < 1e-12);
        assert_eq!(s.df, 7.0);
        let s90 = paired_t(&A, &B, 0.90).unwrap();
        assert!((s90.diff.ci.lower - 0.01645330230912473).abs() < 1e-9);
        assert!((s90.diff.ci.upper - 0.15854669769087523).abs() < 1e-9);
    }

    // import statsmodels.api as sm
    // g=np.array([0,0,1,1,1,2,3,3])
    // m=sm.OLS(a-b, np.ones(8)).fit(cov_type='cluster', cov_kwds={'groups': g}, use_t=True)
    // m.bse -> [0.031560952932]; m.conf_int(0.05) -> [[-0.012941038051, 0.187941038051]]
    // m.df_resid_inference -> 3   (C - 1)
    // manual: np.sqrt(C/(C-1)*sum(((d[g==c]-d.mean()).sum())**2 for c in range(4))/n**2) -> 0.031560952932381495
    #[test]
    fn clustered_matches_statsmodels() {
        let g = [0u32, 0, 1, 1, 1, 2, 3, 3];
        let s = paired_t_clustered(&A, &B, &g, 0.95).unwrap();
        assert_eq!(s.clusters, Some(4));
        assert_eq!(s.df, 3.0);
        assert!((s.diff.se.unwrap() - 0.031560952932381495).abs() < 1e-12);
        assert!((s.diff.ci.lower + 0.012941038051).abs() < 1e-9);
        assert!((s.diff.ci.upper - 0.187941038051).abs() < 1e-9);
        assert_eq!(s.diff.method, "cluster-t");
        // one row per cluster reduces to the paired t interval
        let own: Vec<usize> = (0..8).collect();
        let c = paired_t_clustered(&A, &B, &own, 0.95).unwrap();
        let p = paired_t(&A, &B, 0.95).unwrap();
        assert!((c.diff.ci.lower - p.diff.ci.lower).abs() < 1e-12);
        assert!((c.diff.ci.upper - p.diff.ci.upper).abs() < 1e-12);
    }

    // import scipy.stats as st
    // [st.t.ppf(0.975, df) for df in (3, 30, 999, 1000, 99999, 1999999)] ->
    //   3.1824463052837078, 2.0422724563012378, 1.9623414611334493 (df 999),
    //   1.9623390808264083, 1.9599877077718442, 1.9599651706769676
    // st.t.ppf(0.995, 5000) -> 2.5768129665562802
    #[test]
    fn t_quantile_matches_scipy() {
        let cases = [
            (0.95, 3.0, 3.1824463052837078),
            (0.95, 30.0, 2.0422724563012378),
            (0.95, 999.0, 1.9623414611334493),
            (0.95, 1000.0, 1.9623390808264083),
            (0.95, 99999.0, 1.9599877077718442),
            (0.95, 1999999.0, 1.9599651706769676),
            (0.99, 5000.0, 2.5768129665562802),
        ];
        for (level, df, want) in cases {
            let got = t_two_sided(level, df).unwrap();
            assert!((got - want).abs() < 1e-9, "df {df}: {got} vs {want}");
        }
    }

    // Extreme levels at small df. Reference: scipy 1.17.1, with the tail taken exactly as the
    // Rust code takes it:
    //   from scipy.stats import t
    //   for lv in (0.95, 0.99, 1-1e-6, 1-1e-9):
    //       q = (1 - lv) / 2; print([t.isf(q, df) for df in (1, 2, 3, 5, 30)])
    // Closed forms: df 1 → cot(πq) (Cauchy), df 2 → (1 − 2q)/√(2q(1 − q)).
    #[test]
    fn t_quantile_small_df_extreme_levels() {
        let cases = [
            (
                0.95,
                [
                    12.706204736174694,
                    4.302652729749462,
                    3.1824463052837078,
                    2.5705818356363146,
                    2.0422724563012378,
                ],
            ),
            (
                0.99,
                [
                    63.656741162871526,
                    9.924843200918287,
                    5.840909309733355,
                    4.032142983555228,
                    2.7499956535672254,
                ],
            ),
            (
                1.0 - 1e-6,
                [
                    636619.7723487513,
                    999.9992499854659,
                    130.1545895571102,
                    28.478473462819565,
                    6.119075620373899,
                ],
            ),
            (
                1.0 - 1e-9,
                [
                    636619790.3724186,
                    31622.777025143325,
                    1301.637179562648,
                    113.6550517195027,
                    8.72151123570124,
                ],
            ),
        ];
        for (level, row) in cases {
            for (df, want) in [1.0, 2.0, 3.0, 5.0, 30.0].into_iter().zip(row) {
                let got = t_two_sided(level, df).unwrap();
                assert!(
                    ((got - want) / want).abs() < 1e-9,
                    "level {level} df {df}: {got} vs {want}"
                );
            }
        }
    }

    /// Finite inputs whose differences or variance overflow are refused with the error the
    /// clustered and bootstrap versions give (`NotFinite`), not returned as an inf/NaN interval.
    #[test]
    fn overflow_is_refused_not_returned() {
        // a − b overflows: 1e308 − (−1e308) = inf
        let (a, b) = ([1e308, 0.0, 1.0], [-1e308, 0.0, 0.0]);
        assert!(matches!(
            paired_t(&a, &b, 0.95),
            Err(StatsError::NotFinite { .. })
        ));
        assert!(matches!(
            paired_t_clustered(&a, &b, &[0, 1, 2], 0.95),
            Err(StatsError::NotFinite { .. })
        ));
        // the differences are finite but their variance overflows: (2e308)² = inf
        let (a, b) = ([1e308, -1e308, 0.0], [0.0, 0.0, 0.0]);
        assert!(matches!(
            paired_t(&a, &b, 0.95),
            Err(StatsError::NotFinite { .. })
        ));
        assert!(matches!(
            paired_t_clustered(&a, &b, &[0, 1, 2], 0.95),
            Err(StatsError::NotFinite { .. })
        ));
        // and the sums behind the means: 3 × 1e308 = inf
        let a = [1e308, 1e308, 1e308];
        assert!(matches!(
            paired_t(&a, &[0.0; 3], 0.95),
            Err(StatsError::NotFinite { .. })
        ));
    }

    #[test]
    fn degenerate_and_bad_input() {
        let s = paired_t(&[1.0, 1.0, 1.0], &[0.0, 0.0, 0.0], 0.95).unwrap();
        assert_eq!(s.diff.ci.lower, 1.0);
        assert_eq!(s.diff.ci.upper, 1.0);
        assert_eq!(s.correlation, None);
        assert!(matches!(
            paired_t(&[], &[], 0.95),
            Err(StatsError::Empty { .. })
        ));
        assert!(matches!(
            paired_t(&[1.0], &[1.0], 0.95),
            Err(StatsError::TooFew { .. })
        ));
        assert!(matches!(
            paired_t(&[1.0, 2.0], &[1.0], 0.95),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            paired_t(&[1.0, f64::INFINITY], &[1.0, 2.0], 0.95),
            Err(StatsError::NotFinite { .. })
        ));
        assert!(matches!(
            paired_t(&A, &B, 0.0),
            Err(StatsError::BadLevel { .. })
        ));
        assert!(matches!(
            paired_t_clustered(&A, &B, &[1; 8], 0.95),
            Err(StatsError::TooFew {
                what: "clusters",
                ..
            })
        ));
        assert!(matches!(
            paired_t_clustered(&A, &B, &[1, 2], 0.95),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            cluster_se::<u8>(&[], &[]),
            Err(StatsError::Empty { .. })
        ));
    }
}
