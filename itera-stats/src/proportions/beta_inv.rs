//! The regularized incomplete beta function `I_x(a, b)` and its inverse, for the Beta-quantile
//! intervals (Clopper–Pearson, Jeffreys). Written here because statrs' inverse (AS 64/109)
//! clamps its start to [1e-4, 0.9999] and runs an unbounded loop: it never returns for
//! `Beta(1, 10⁷)` and loses relative accuracy on bounds below ~1e-5.
//!
//! * `I_x(a, b)`: the continued fraction of DLMF 8.17.22 (modified Lentz), on the side of the
//!   mean where it converges fast (`I_x(a, b) = 1 − I_{1−x}(b, a)` on the other), with the
//!   prefactor `x^a (1−x)^b / B(a, b)` taken in logs and `ln B` from the Stirling series for
//!   large arguments, so that `ln Γ(b) − ln Γ(a + b)` does not cancel catastrophically when
//!   `b ≫ a` (e.g. `a = 1`, `b = 10⁷`).
//! * The inverse ([`beta_quantile_pair`]): Newton's method on `ln I` as a function of `ln x`
//!   (nearly linear in the tails, where `I ≈ C·x^a`), safeguarded by bisection of a bracket in
//!   `ln x`, with a fixed iteration limit. The quantile is always solved on the side of the mean
//!   where it is small (the other side by the reflection `x ↦ 1 − x`), so tiny bounds and bounds
//!   a tiny distance from 1 keep their relative accuracy (≤ 1e-9 against scipy in the tests).
//!   When both shapes exceed [`LARGE_SHAPE`], a Cornish–Fisher expansion instead.
//!
//! The t quantile ([`crate::paired`]) uses it too: `t² = ν(1 − x)/x` for the Beta(ν/2, ½)
//! quantile `x` at twice the upper tail.

use statrs::distribution::{ContinuousCDF, Normal};
use statrs::function::gamma::ln_gamma;

/// `ln √(2π)`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// From this argument on, `ln Γ` is taken from the Stirling series (error < 1e-14 there).
const STIRLING_MIN: f64 = 10.0;
/// Upper limit on continued-fraction terms. Far in the tails a handful suffice; near the mean
/// it needs a few times `√min(a, b)` terms, which this covers for every shape solved by the
/// fraction (`min(a, b) ≤` [`LARGE_SHAPE`]).
const MAX_CF_TERMS: u32 = 1_000_000;
/// Above this smaller shape parameter the quantile comes from the Cornish–Fisher expansion of
/// the Beta around the normal (error ~ σ/min(a, b), below 1e-9 σ here), where the fraction
/// would need too many terms and its logarithms too many digits.
const LARGE_SHAPE: f64 = 1e9;
/// Upper limit on solver iterations (bisection alone needs ~60 to resolve `ln x` on
/// [−708, 0] to 1e-15).
const MAX_SOLVER_STEPS: u32 = 200;

/// `ln Γ(z) − ((z − ½) ln z − z + ln √(2π))` for `z ≥ 10` (Stirling series, five terms).
fn stirling_correction(z: f64) -> f64 {
    let w = 1.0 / (z * z);
    (1.0 / 12.0 - w * (1.0 / 360.0 - w * (1.0 / 1260.0 - w * (1.0 / 1680.0 - w / 1188.0)))) / z
}

/// `ln B(a, b)` for `a, b > 0`, accurate when one or both arguments are large.
pub(super) fn ln_beta(a: f64, b: f64) -> f64 {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    if b < STIRLING_MIN {
        return ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    }
    // ln Γ(b) − ln Γ(a + b) = −a ln b − (a + b − ½) ln(1 + a/b) + a + corr(b) − corr(a + b)
    let tail = -a * b.ln() - (a + b - 0.5) * (a / b).ln_1p()
        + a
        + (stirling_correction(b) - stirling_correction(a + b));
    if a < STIRLING_MIN {
        ln_gamma(a) + tail
    } else {
        (a - 0.5) * a.ln() - a + LN_SQRT_2PI + stirling_correction(a) + tail
    }
}

/// The continued fraction of `I_x(a, b) · a B(a, b) / (x^a (1 − x)^b)` (DLMF 8.17.22, modified
/// Lentz); converges fast for `x < (a + 1)/(a + b + 2)`.
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAX_CF_TERMS {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() <= EPS {
            break;
        }
    }
    h
}

/// `I_x(a, b)` and `x·f(x)` (f the Beta(a, b) density) at `x = exp(ln_x)`, `ln_x < 0`.
fn beta_reg_at_log(a: f64, b: f64, ln_beta_ab: f64, ln_x: f64) -> (f64, f64) {
    let x = ln_x.exp();
    let y = -ln_x.exp_m1();
    // ln(1 − x): through ln_1p while x is small (1 − x itself rounds to 1 below 1e-16).
    let ln_y = if x < 0.5 { (-x).ln_1p() } else { y.ln() };
    let front = (a * ln_x + b * ln_y - ln_beta_ab).exp();
    let x_density = front / y;
    let value = if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, y) / b
    };
    (value.clamp(0.0, 1.0), x_density)
}

/// `ln x` for the `x ≤ exp(ln_hi)` with `I_x(a, b) = p`, solved in `u = ln x` on
/// `[ln f64::MIN_POSITIVE, ln_hi]`, where `I` at `exp(ln_hi)` is at least `p`.
fn solve_below(a: f64, b: f64, p: f64, ln_hi: f64) -> f64 {
    let lnb = ln_beta(a, b);
    let ln_p = p.ln();
    let (mut lo, mut hi) = (f64::MIN_POSITIVE.ln(), ln_hi);
    // Start from the left tail's leading term, I ≈ x^a / (a B(a, b)).
    let guess = (ln_p + a.ln() + lnb) / a;
    let mut u = if guess > lo && guess < hi {
        guess
    } else {
        0.5 * (lo + hi)
    };
    for _ in 0..MAX_SOLVER_STEPS {
        let (value, x_density) = beta_reg_at_log(a, b, lnb, u);
        let h = if value > 0.0 {
            value.ln() - ln_p
        } else {
            f64::NEG_INFINITY
        };
        if h == 0.0 {
            return u;
        }
        if h < 0.0 {
            lo = u;
        } else {
            hi = u;
        }
        // Newton on ln I(ln x): d ln I / d ln x = x f(x) / I.
        let newton = u - h * value / x_density;
        let next = if newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        let tol = 1e-14 * next.abs().max(f64::MIN_POSITIVE);
        if (next - u).abs() <= tol || hi - lo <= tol {
            return next;
        }
        u = next;
    }
    u
}

/// The `p`-quantile of Beta(a, b): the `x` with `I_x(a, b) = p`, for `a, b > 0`. Returns 0 for
/// `p ≤ 0` and 1 for `p ≥ 1`. See [`beta_quantile_pair`].
pub(crate) fn beta_quantile(a: f64, b: f64, p: f64) -> f64 {
    beta_quantile_pair(a, b, p).0
}

/// The `p`-quantile `x` of Beta(a, b) together with `1 − x`, each with its own relative
/// accuracy: solved on the side of the mean where the answer (`x`, or `1 − x` by the
/// reflection `I_x(a, b) = 1 − I_{1−x}(b, a)`) is the smaller, in the logarithm of that side,
/// and the other side taken as `−expm1` of that logarithm. `(0, 1)` for `p ≤ 0` (or NaN) and
/// `(1, 0)` for `p ≥ 1`.
pub(crate) fn beta_quantile_pair(a: f64, b: f64, p: f64) -> (f64, f64) {
    if p.is_nan() || p <= 0.0 {
        return (0.0, 1.0);
    }
    if p >= 1.0 {
        return (1.0, 0.0);
    }
    if a.min(b) > LARGE_SHAPE {
        return cornish_fisher_quantile(a, b, p);
    }
    let ln_mean = (a / (a + b)).ln();
    let (at_mean, _) = beta_reg_at_log(a, b, ln_beta(a, b), ln_mean);
    if p <= at_mean {
        let u = solve_below(a, b, p, ln_mean);
        (u.exp(), -u.exp_m1())
    } else {
        let u = solve_below(b, a, 1.0 - p, (b / (a + b)).ln());
        (-u.exp_m1(), u.exp())
    }
}

/// Beta(a, b) quantile for large `a` and `b`: mean + σ·(z + γ(z² − 1)/6), with σ² the
/// variance and γ the skewness of the Beta and `z = Φ⁻¹(p)` (Cornish & Fisher 1938; Johnson,
/// Kotz & Balakrishnan 1995, §25.4). Computed on the side of the smaller mean, so the result
/// near 1 is `1 − (small quantity)` without cancellation. Returns `(x, 1 − x)`.
fn cornish_fisher_quantile(a: f64, b: f64, p: f64) -> (f64, f64) {
    let z = Normal::standard().inverse_cdf(p);
    let (small, large, z) = if a <= b { (a, b, z) } else { (b, a, -z) };
    let total = small + large;
    let mean = small / total;
    let sd = (small / total * (large / total) / (total + 1.0)).sqrt();
    let skew =
        2.0 * (large - small) * (total + 1.0).sqrt() / ((total + 2.0) * (small * large).sqrt());
    let q = (mean + sd * (z + skew * (z * z - 1.0) / 6.0)).clamp(0.0, 1.0);
    if a <= b { (q, 1.0 - q) } else { (1.0 - q, q) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(got: f64, want: f64) -> f64 {
        ((got - want) / want).abs()
    }

    // from scipy.special import betaln
    // betaln(1, 1e7) -> -16.11809565095832; betaln(2.5, 5e6-1.5) -> -38.277687930522966
    // betaln(0.5, 0.5) -> 1.1447298858494; betaln(5e6, 5e6) -> -6931478.252561569
    // betaln(12.5, 30.25) -> -25.99668406637252
    #[test]
    fn ln_beta_matches_scipy() {
        for (a, b, want) in [
            (1.0, 1e7, -16.11809565095832),
            (2.5, 5e6 - 1.5, -38.277687930522966),
            (0.5, 0.5, 1.1447298858494),
            (5e6, 5e6, -6931478.252561569),
            (12.5, 30.25, -25.99668406637252),
        ] {
            let got = ln_beta(a, b);
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{a} {b}: {got}"
            );
            assert_eq!(got.to_bits(), ln_beta(b, a).to_bits());
        }
    }

    // from scipy.stats import beta
    // beta.ppf(0.3, 0.5, 0.5) -> 0.2061073738537634
    // beta.ppf(0.025, 5e6, 5e6) -> 0.4996901025058617
    // beta.ppf(0.975, 5e6, 5e6) -> 0.5003098974941382
    // beta.ppf(1e-12, 3, 7) -> 2.283433912144988e-05
    // beta.ppf(0.025, 1, 1.8e19) -> 1.4065448880161043e-21
    // beta.ppf(0.5, 1, 1) -> 0.5
    #[test]
    fn quantile_matches_scipy_across_shapes() {
        for (p, a, b, want) in [
            (0.3, 0.5, 0.5, 0.2061073738537634),
            (0.025, 5e6, 5e6, 0.4996901025058617),
            (0.975, 5e6, 5e6, 0.5003098974941382),
            (1e-12, 3.0, 7.0, 2.283433912144988e-05),
            (0.5, 1.0, 1.0, 0.5),
        ] {
            let got = beta_quantile(a, b, p);
            assert!(
                rel(got, want) < 1e-9,
                "Beta({a}, {b}) at {p}: {got} vs {want}"
            );
        }
        assert_eq!(beta_quantile(2.0, 3.0, 0.0), 0.0);
        assert_eq!(beta_quantile(2.0, 3.0, 1.0), 1.0);
    }

    // Shapes around and above LARGE_SHAPE (Cornish–Fisher side), scipy 1.17.1:
    // beta.ppf(0.025, 9e8, 9e8) -> 0.49997690160293656        (continued fraction)
    // beta.ppf(0.025, 1.1e9, 3e9) -> 0.26827912086101435
    // beta.ppf(0.025, 1e12, 5e11) -> 0.6666659122759668
    // beta.ppf(0.025, 2e9, 1.8e19) -> 1.1110624158171718e-10
    // For Beta(5e17, 5e17) scipy gives 0.49999999940467577, which is off: the distribution is
    // symmetric with σ = √(0.25/(10¹⁸ + 1)) = 5e-10 and excess kurtosis −6/(10¹⁸ + 3), so the
    // 2.5 % quantile is 0.5 − 1.959963984540054·5e-10 to ~1e-18 relative; the reference is that.
    #[test]
    fn huge_shapes() {
        for (p, a, b, want) in [
            (0.025, 9e8, 9e8, 0.49997690160293656),
            (0.025, 1.1e9, 3e9, 0.26827912086101435),
            (0.025, 1e12, 5e11, 0.6666659122759668),
            (0.025, 2e9, 1.8e19, 1.1110624158171718e-10),
            (0.025, 5e17, 5e17, 0.5 - 1.959963984540054 * 5e-10),
        ] {
            let got = beta_quantile(a, b, p);
            let mean = a / (a + b);
            // relative to the distance from the mean (the only informative part)
            assert!(
                ((got - want) / (want - mean)).abs() < 1e-6,
                "Beta({a}, {b}) at {p}: {got} vs {want}"
            );
        }
        // Far tail of a huge shape: the fraction converges in a few terms.
        let tiny = beta_quantile(1.0, 1.8e19, 0.025);
        assert!(rel(tiny, 1.4065448880161043e-21) < 1e-9, "{tiny}");
    }
}
