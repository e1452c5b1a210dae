//! Paired hypothesis tests: McNemar's exact and mid-p tests for paired binary outcomes, the sign
//! test, and the Wilcoxon signed-rank test (exact, exact-conditional and normal approximation),
//! each returning a serde result with its statistic and two-sided p-value.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ContinuousCDF, Discrete, DiscreteCDF, Normal};
use statrs::function::factorial::ln_binomial;

use crate::StatsError;
use crate::proportions::{PairedCounts, check_pair_slices};

/// Result of McNemar's test on the discordant pairs of a paired binary comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McNemarResult {
    /// Discordant rows favouring `a` (a = 1, b = 0).
    pub only_a: u64,
    /// Discordant rows favouring `b` (a = 0, b = 1).
    pub only_b: u64,
    /// Exact two-sided p-value: 2·P(X ≤ min(only_a, only_b)), X ~ Bin(only_a + only_b, ½),
    /// capped at 1.
    pub p_exact: f64,
    /// Mid-p value: the exact p-value minus P(X = min(only_a, only_b)), capped at 1
    /// (Fagerland, Lydersen & Laake 2013, *BMC Med Res Methodol* 13:91).
    pub p_mid: f64,
}

/// Two-sided exact and mid-p binomial(½) p-values for `k` successes of `n` (n > 0).
fn binomial_half_two_sided(k: u64, n: u64) -> Result<(f64, f64), StatsError> {
    if n == 0 {
        return Ok((1.0, 1.0));
    }
    let m = k.min(n - k);
    if 2 * m == n {
        // Symmetric: the observed count is the mode, both p-values are exactly 1.
        return Ok((1.0, 1.0));
    }
    let (tail, point) = if n <= 10_000_000 {
        // Direct summation in log space: exact to rounding, unlike statrs' incomplete-beta CDF
        // (1e-4 off at n = 2·10⁶); above 10⁷ discordant pairs the statrs CDF is used.
        let ln_half_n = n as f64 * std::f64::consts::LN_2;
        let mut tail = 0.0;
        let mut point = 0.0;
        for i in 0..=m {
            point = (ln_binomial(n, i) - ln_half_n).exp();
            tail += point;
        }
        (tail, point)
    } else {
        let bin = Binomial::new(0.5, n).map_err(|e| StatsError::Invalid {
            what: "binomial",
            why: e.to_string(),
        })?;
        (bin.cdf(m), bin.pmf(m))
    };
    let exact = (2.0 * tail).min(1.0);
    let mid = (2.0 * (tail - 0.5 * point)).clamp(0.0, 1.0);
    Ok((exact, mid))
}

/// McNemar's test from the two discordant counts: the exact conditional (binomial) test and its
/// mid-p version (Fagerland et al. 2013 recommend the mid-p). With no discordant pairs both
/// p-values are 1.
///
/// ```
/// let r = itera_stats::binary::mcnemar(12, 3).unwrap();
/// assert!((r.p_exact - 0.035156).abs() < 1e-6);
/// assert!((r.p_mid - 0.021271).abs() < 1e-6);
/// ```
pub fn mcnemar(only_a: u64, only_b: u64) -> Result<McNemarResult, StatsError> {
    let n = only_a
        .checked_add(only_b)
        .ok_or_else(|| StatsError::Invalid {
            what: "discordant counts",
            why: "only_a + only_b overflows u64".to_string(),
        })?;
    let (p_exact, p_mid) = binomial_half_two_sided(only_a, n)?;
    Ok(McNemarResult {
        only_a,
        only_b,
        p_exact,
        p_mid,
    })
}

/// McNemar's test on two paired binary score vectors (every value exactly 0 or 1); see
/// [`mcnemar`].
///
/// Errors: empty, length mismatch, non-finite, or non-binary values.
///
/// ```
/// let r = itera_stats::binary::mcnemar_from_scores(&[1.0, 1.0, 0.0], &[0.0, 1.0, 0.0]).unwrap();
/// assert_eq!((r.only_a, r.only_b), (1, 0));
/// ```
pub fn mcnemar_from_scores(a: &[f64], b: &[f64]) -> Result<McNemarResult, StatsError> {
    let t = PairedCounts::from_scores(a, b)?;
    mcnemar(t.only_a, t.only_b)
}

/// Result of the sign test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SignTestResult {
    /// Rows with a − b > 0.
    pub positive: usize,
    /// Rows with a − b < 0.
    pub negative: usize,
    /// Rows with a − b = 0 (dropped from the test).
    pub zeros: usize,
    /// Exact two-sided binomial(½) p-value on the non-zero rows (1 when there are none).
    pub p_value: f64,
}

/// Sign test of `a − b`: zero differences are dropped, the count of positive differences is
/// tested against Bin(n_nonzero, ½), two-sided. Matches
/// `scipy.stats.binomtest(positive, positive + negative, 0.5).pvalue`.
///
/// Errors: empty, length mismatch, non-finite.
///
/// ```
/// let a = [3.0, 2.0, 5.0, 1.0, 4.0, 4.0, 6.0, 2.0, 7.0, 3.0, 5.0, 1.0];
/// let b = [1.0, 1.0, 2.0, 0.0, 2.0, 4.0, 5.0, 1.0, 6.0, 4.0, 2.0, 2.0];
/// let r = itera_stats::binary::sign_test(&a, &b).unwrap();
/// assert_eq!((r.positive, r.negative, r.zeros), (9, 2, 1));
/// assert!((r.p_value - 0.0654296875).abs() < 1e-12);
/// ```
pub fn sign_test(a: &[f64], b: &[f64]) -> Result<SignTestResult, StatsError> {
    check_pair_slices(a, b)?;
    let (mut positive, mut negative, mut zeros) = (0usize, 0usize, 0usize);
    for (x, y) in a.iter().zip(b) {
        let d = x - y;
        if d > 0.0 {
            positive += 1;
        } else if d < 0.0 {
            negative += 1;
        } else {
            zeros += 1;
        }
    }
    let (p_value, _) = binomial_half_two_sided(positive as u64, (positive + negative) as u64)?;
    Ok(SignTestResult {
        positive,
        negative,
        zeros,
        p_value,
    })
}

/// How the Wilcoxon signed-rank p-value is computed. The names follow
/// `scipy.stats.wilcoxon(..., method=...)` (scipy 1.17, `zero_method="wilcox"`,
/// `correction=False`, `alternative="two-sided"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WilcoxonMethod {
    /// scipy's `method="auto"`: [`Approx`](Self::Approx) when there are more than 50 rows
    /// (zeros included); otherwise [`Exact`](Self::Exact) when there are no zero and no tied
    /// differences; otherwise [`Permutation`](Self::Permutation) when there are at most 13 rows;
    /// otherwise [`Approx`](Self::Approx).
    Auto,
    /// scipy's `method="exact"`: the null distribution of W⁺ without ties for the non-zero
    /// differences; with ties the (half-integer) statistic is rounded conservatively, as scipy
    /// does (gh-19872). At most 500 non-zero differences.
    Exact,
    /// The exact conditional distribution of W⁺ given the observed (tied) ranks, over all
    /// 2^n sign flips — what scipy's `method=PermutationMethod()` computes when it can
    /// enumerate every flip (n ≤ 13), here computed for any n ≤ 500 by dynamic programming.
    Permutation,
    /// scipy's `method="asymptotic"`: normal approximation with the tie correction, zeros
    /// dropped, no continuity correction.
    Approx,
}

/// Result of the Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WilcoxonResult {
    /// min(W⁺, W⁻), as scipy reports for the two-sided test.
    pub statistic: f64,
    /// Sum of the ranks of |a − b| over positive differences.
    pub w_plus: f64,
    /// Sum of the ranks over negative differences.
    pub w_minus: f64,
    /// Number of non-zero differences (the ranks).
    pub n_nonzero: usize,
    /// Number of zero differences (dropped: `zero_method="wilcox"`).
    pub zeros: usize,
    /// Whether any |a − b| are tied.
    pub has_ties: bool,
    /// Signed z = (W⁺ − E W⁺)/SD W⁺ (tie-corrected) when the normal approximation was used.
    pub z: Option<f64>,
    /// Two-sided p-value (1 when every difference is zero).
    pub p_value: f64,
    /// The method actually used (never `Auto`).
    pub method: WilcoxonMethod,
}

const WILCOXON_EXACT_MAX: usize = 500;

/// Wilcoxon signed-rank test of `a − b` (Wilcoxon 1945), two-sided, reproducing
/// `scipy.stats.wilcoxon(a, b, zero_method="wilcox", correction=False, method=...)` of scipy
/// 1.17: zero differences are dropped before ranking, |d| is ranked with average ranks for
/// ties; see [`WilcoxonMethod`] for how the p-value is computed. Differences are compared
/// exactly as `f64`: values that should tie but differ by rounding do not tie (as in scipy).
///
/// Errors: empty, length mismatch, non-finite; `Exact`/`Permutation` with more than 500
/// non-zero differences ([`StatsError::Invalid`]: use `Approx`).
///
/// ```
/// use itera_stats::binary::{wilcoxon_signed_rank, WilcoxonMethod};
/// let d = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30, -0.71, -0.2, 0.97];
/// let r = wilcoxon_signed_rank(&d, &[0.0; 12], WilcoxonMethod::Auto).unwrap();
/// assert_eq!(r.method, WilcoxonMethod::Exact);
/// assert_eq!(r.statistic, 4.0);
/// assert!((r.p_value - 0.00341796875).abs() < 1e-12);
/// ```
pub fn wilcoxon_signed_rank(
    a: &[f64],
    b: &[f64],
    method: WilcoxonMethod,
) -> Result<WilcoxonResult, StatsError> {
    check_pair_slices(a, b)?;
    let n_total = a.len();
    let mut nonzero: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(x, y)| x - y)
        .filter(|d| *d != 0.0)
        .collect();
    let zeros = n_total - nonzero.len();
    nonzero.sort_by(|x, y| x.abs().total_cmp(&y.abs()));
    let count = nonzero.len();

    // Doubled average ranks (integers) and the tie term Σ(t³ − t).
    let mut rank2 = vec![0u64; count];
    let mut tie_term = 0.0;
    let mut has_ties = false;
    let mut i = 0;
    while i < count {
        let mut j = i;
        while j + 1 < count && nonzero[j + 1].abs() == nonzero[i].abs() {
            j += 1;
        }
        let r2 = (i + j + 2) as u64;
        for r in rank2.iter_mut().take(j + 1).skip(i) {
            *r = r2;
        }
        let t = (j - i + 1) as f64;
        if t > 1.0 {
            has_ties = true;
            tie_term += t * t * t - t;
        }
        i = j + 1;
    }
    let w_plus2: u64 = nonzero
        .iter()
        .zip(&rank2)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| *r)
        .sum();
    let total2: u64 = rank2.iter().sum();
    let w_plus = w_plus2 as f64 / 2.0;
    let w_minus = (total2 - w_plus2) as f64 / 2.0;

    let resolved = match method {
        WilcoxonMethod::Auto => {
            if n_total > 50 {
                WilcoxonMethod::Approx
            } else if !has_ties && zeros == 0 {
                WilcoxonMethod::Exact
            } else if n_total <= 13 {
                WilcoxonMethod::Permutation
            } else {
                WilcoxonMethod::Approx
            }
        }
        m => m,
    };
    let mut result = WilcoxonResult {
        statistic: w_plus.min(w_minus),
        w_plus,
        w_minus,
        n_nonzero: count,
        zeros,
        has_ties,
        z: None,
        p_value: 1.0,
        method: resolved,
    };
    if count == 0 {
        return Ok(result);
    }
    if matches!(
        resolved,
        WilcoxonMethod::Exact | WilcoxonMethod::Permutation
    ) && count > WILCOXON_EXACT_MAX
    {
        return Err(StatsError::Invalid {
            what: "method",
            why: format!(
                "{count} non-zero differences: the exact distribution is computed up to \
                 {WILCOXON_EXACT_MAX}; use WilcoxonMethod::Approx or Auto"
            ),
        });
    }
    let c = count as f64;
    match resolved {
        WilcoxonMethod::Approx | WilcoxonMethod::Auto => {
            let mean = c * (c + 1.0) / 4.0;
            let var = (c * (c + 1.0) * (2.0 * c + 1.0) - tie_term / 2.0) / 24.0;
            let z = (w_plus - mean) / var.sqrt();
            result.z = Some(z);
            result.p_value = (2.0 * Normal::standard().cdf(-z.abs())).min(1.0);
        }
        WilcoxonMethod::Exact => {
            // P(W⁺ = w) for untied ranks 1..=count.
            let ranks: Vec<u64> = (1..=count as u64).collect();
            let pmf = sign_flip_pmf(&ranks);
            let lo = w_plus.ceil() as usize; // cdf at ceil
            let hi = w_plus.floor() as usize; // sf at floor
            let cdf: f64 = pmf.iter().take(lo + 1).sum();
            let sf: f64 = pmf.iter().skip(hi).sum();
            result.p_value = (2.0 * cdf.min(sf)).clamp(0.0, 1.0);
        }
        WilcoxonMethod::Permutation => {
            let pmf = sign_flip_pmf(&rank2);
            let w = w_plus2 as usize;
            let cdf: f64 = pmf.iter().take(w + 1).sum();
            let sf: f64 = pmf.iter().skip(w).sum();
            result.p_value = (2.0 * cdf.min(sf)).clamp(0.0, 1.0);
        }
    }
    Ok(result)
}

/// Distribution of Σ sᵢ·wᵢ over independent fair signs sᵢ ∈ {0, 1}: index = the sum.
fn sign_flip_pmf(weights: &[u64]) -> Vec<f64> {
    let total: u64 = weights.iter().sum();
    let mut pmf = vec![0.0; total as usize + 1];
    pmf[0] = 1.0;
    let mut reach = 0usize;
    for &w in weights {
        let w = w as usize;
        for s in (0..=reach).rev() {
            let p = pmf[s] * 0.5;
            pmf[s] = p;
            pmf[s + w] += p;
        }
        reach += w;
    }
    pmf
}

#[cfg(test)]
mod tests {
    use super::*;

    // import scipy.stats as st
    // st.binomtest(3, 15, 0.5).pvalue -> 0.03515625
    // 2*(st.binom.cdf(3,15,.5) - 0.5*st.binom.pmf(3,15,.5)) -> 0.02127075195312501
    // st.binomtest(5, 10, .5).pvalue -> 1.0
    // st.binomtest(0, 7, .5).pvalue -> 0.015625; mid-p -> 0.0078125
    #[test]
    fn mcnemar_matches_reference() {
        let r = mcnemar(12, 3).unwrap();
        assert!((r.p_exact - 0.03515625).abs() < 1e-12);
        assert!((r.p_mid - 0.02127075195312501).abs() < 1e-12);
        let s = mcnemar(3, 12).unwrap();
        assert_eq!(r.p_exact, s.p_exact);
        let r = mcnemar(5, 5).unwrap();
        assert_eq!((r.p_exact, r.p_mid), (1.0, 1.0));
        let r = mcnemar(0, 7).unwrap();
        assert!((r.p_exact - 0.015625).abs() < 1e-12);
        assert!((r.p_mid - 0.0078125).abs() < 1e-12);
        let r = mcnemar(0, 0).unwrap();
        assert_eq!((r.p_exact, r.p_mid), (1.0, 1.0));
        assert!(mcnemar(u64::MAX, 1).is_err());
    }

    // d1 = [1.83,0.50,1.62,2.48,1.68,1.88,1.55,3.06,1.30,-0.71,-0.2,0.97]
    // st.wilcoxon(d1) -> statistic 4.0, pvalue 0.00341796875        (auto -> exact)
    // st.wilcoxon(d1, method='asymptotic') -> pvalue 0.006039559048656822
    // d2 = [1,2,-1,0,3,2,2,-2,1,0,4,1,-1,3,2,0,1,5,-3,2]            (ties + zeros, n = 20)
    // st.wilcoxon(d2) -> 30.5, 0.02777296959686304                  (auto -> asymptotic)
    // st.wilcoxon(d2, method='exact') -> 30.5, 0.030517578125
    // d3 = [1,2,-1,0,3,2,2,-2,1,4,0.5,1]                            (ties + zeros, n = 12)
    // st.wilcoxon(d3) -> 11.0, 0.0517578125                         (auto -> permutation)
    // st.wilcoxon(d3, method='exact') -> 11.0, 0.0537109375
    // st.wilcoxon(d3, method='asymptotic') -> 11.0, 0.04819348829319077
    // rng=np.random.default_rng(7); d4=np.round(rng.normal(0.3,1,60),3)  (n = 60, ties)
    // st.wilcoxon(d4) -> 795.0, 0.37702108493804265                 (auto -> asymptotic)
    // st.wilcoxon(d4, method='exact') -> 795.0, 0.3816810037786722
    const D1: [f64; 12] = [
        1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30, -0.71, -0.2, 0.97,
    ];
    const D2: [f64; 20] = [
        1., 2., -1., 0., 3., 2., 2., -2., 1., 0., 4., 1., -1., 3., 2., 0., 1., 5., -3., 2.,
    ];
    const D3: [f64; 12] = [1., 2., -1., 0., 3., 2., 2., -2., 1., 4., 0.5, 1.];
    const D4: [f64; 60] = [
        0.301, 0.599, 0.026, -0.591, -0.155, -0.692, 0.36, 1.64, -0.192, -0.32, 0.79, 0.657, 0.405,
        -0.63, 0.271, 0.995, -1.044, -0.158, -1.601, -0.99, -1.542, 0.065, -0.967, 0.571, 0.457,
        0.113, -2.217, -0.239, 0.251, 0.413, -1.23, -0.178, -0.679, -0.509, 1.361, -0.508, 0.267,
        1.184, -0.284, 0.188, 0.41, 0.364, -0.925, 0.376, 1.659, -1.247, 1.159, 0.419, -0.341, 2.3,
        1.062, -0.899, 0.375, 0.877, 0.111, 0.983, 0.233, 0.967, 1.739, -0.376,
    ];

    fn w(d: &[f64], m: WilcoxonMethod) -> WilcoxonResult {
        wilcoxon_signed_rank(d, &vec![0.0; d.len()], m).unwrap()
    }

    #[test]
    fn wilcoxon_matches_scipy() {
        use WilcoxonMethod::*;
        let cases: [(&[f64], WilcoxonMethod, WilcoxonMethod, f64, f64); 10] = [
            (&D1, Auto, Exact, 4.0, 0.00341796875),
            (&D1, Approx, Approx, 4.0, 0.006039559048656822),
            (&D2, Auto, Approx, 30.5, 0.02777296959686304),
            (&D2, Exact, Exact, 30.5, 0.030517578125),
            (&D3, Auto, Permutation, 11.0, 0.0517578125),
            (&D3, Exact, Exact, 11.0, 0.0537109375),
            (&D3, Approx, Approx, 11.0, 0.04819348829319077),
            (&D4, Auto, Approx, 795.0, 0.37702108493804265),
            (&D4, Exact, Exact, 795.0, 0.3816810037786722),
            (&D1, Permutation, Permutation, 4.0, 0.00341796875),
        ];
        for (d, m, used, stat, p) in cases {
            let r = w(d, m);
            assert_eq!(r.method, used, "{m:?}");
            assert_eq!(r.statistic, stat, "{m:?}");
            assert!((r.p_value - p).abs() < 1e-10, "{m:?}: {} vs {p}", r.p_value);
        }
        let r = w(&D2, Auto);
        assert_eq!((r.zeros, r.n_nonzero, r.has_ties), (3, 17, true));
        assert!(r.z.is_some());
        // all zero differences: p = 1, no NaN
        let r = w(&[0.0; 5], Auto);
        assert_eq!((r.p_value, r.statistic, r.n_nonzero), (1.0, 0.0, 0));
    }

    // st.binomtest(9, 11, 0.5).pvalue -> 0.0654296875
    #[test]
    fn sign_test_and_errors() {
        let r = sign_test(&[1.0, 2.0, 3.0], &[1.0, 1.0, 4.0]).unwrap();
        assert_eq!((r.positive, r.negative, r.zeros), (1, 1, 1));
        assert_eq!(r.p_value, 1.0);
        assert!(matches!(sign_test(&[], &[]), Err(StatsError::Empty { .. })));
        assert!(matches!(
            wilcoxon_signed_rank(&[1.0], &[1.0, 2.0], WilcoxonMethod::Auto),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            wilcoxon_signed_rank(&[f64::NAN], &[1.0], WilcoxonMethod::Auto),
            Err(StatsError::NotFinite { .. })
        ));
        let big: Vec<f64> = (1..=600).map(f64::from).collect();
        assert!(matches!(
            wilcoxon_signed_rank(&big, &vec![0.0; 600], WilcoxonMethod::Exact),
            Err(StatsError::Invalid { .. })
        ));
        assert!(wilcoxon_signed_rank(&big, &vec![0.0; 600], WilcoxonMethod::Auto).is_ok());
        assert!(matches!(
            mcnemar_from_scores(&[0.5], &[1.0]),
            Err(StatsError::Invalid { .. })
        ));
    }
}
