//! Unit tests of the proportion intervals against statsmodels, published worked examples and
//! independent Python transcriptions of the formulas; input checks.

use super::paired::tango_bounds;
use super::*;
use crate::{Estimate, StatsError};

fn close(x: f64, y: f64, tol: f64) -> bool {
    (x - y).abs() <= tol
}

// from statsmodels.stats.proportion import proportion_confint
// proportion_confint(81, 263, method='wilson')   -> (0.2552885198782742, 0.36620957698280004)
// proportion_confint(81, 263, method='beta')     -> (0.25273674558527126, 0.3676219226013514)
// proportion_confint(81, 263, method='jeffreys') -> (0.2545219349910236, 0.36564749917408246)
// proportion_confint(0, 20, method='wilson')     -> (0.0, 0.1611251580528194)
// proportion_confint(0, 20, method='beta')       -> (0.0, 0.16843347098308534)
// proportion_confint(20, 20, method='beta')      -> (0.8315665290169146, 1.0)
// proportion_confint(0, 20, method='jeffreys')   -> (2.42e-05, 0.11663898290487543)
// proportion_confint(3, 7, alpha=0.1, method='beta')     -> (0.1287563928042427, 0.7746784159675523)
// proportion_confint(3, 7, alpha=0.1, method='jeffreys') -> (0.1746068190968694, 0.7191819409330789)
#[test]
fn one_proportion_matches_statsmodels() {
    let w = wilson(81, 263, 0.95).unwrap();
    assert!(close(w.ci.lower, 0.2552885198782742, 1e-9));
    assert!(close(w.ci.upper, 0.36620957698280004, 1e-9));
    let c = clopper_pearson(81, 263, 0.95).unwrap();
    assert!(close(c.ci.lower, 0.25273674558527126, 1e-8));
    assert!(close(c.ci.upper, 0.3676219226013514, 1e-8));
    let j = jeffreys(81, 263, 0.95).unwrap();
    assert!(close(j.ci.lower, 0.2545219349910236, 1e-8));
    assert!(close(j.ci.upper, 0.36564749917408246, 1e-8));
    let w0 = wilson(0, 20, 0.95).unwrap();
    assert_eq!(w0.ci.lower, 0.0);
    assert!(close(w0.ci.upper, 0.1611251580528194, 1e-9));
    let c0 = clopper_pearson(0, 20, 0.95).unwrap();
    assert_eq!(c0.ci.lower, 0.0);
    assert!(close(c0.ci.upper, 0.16843347098308534, 1e-8));
    let cn = clopper_pearson(20, 20, 0.95).unwrap();
    assert!(close(cn.ci.lower, 0.8315665290169146, 1e-8));
    assert_eq!(cn.ci.upper, 1.0);
    let j0 = jeffreys(0, 20, 0.95).unwrap();
    assert_eq!(j0.ci.lower, 0.0); // boundary modification (statsmodels: 2.4e-05)
    assert!(close(j0.ci.upper, 0.11663898290487543, 1e-8));
    let c90 = clopper_pearson(3, 7, 0.90).unwrap();
    assert!(close(c90.ci.lower, 0.1287563928042427, 1e-8));
    assert!(close(c90.ci.upper, 0.7746784159675523, 1e-8));
    let j90 = jeffreys(3, 7, 0.90).unwrap();
    assert!(close(j90.ci.lower, 0.1746068190968694, 1e-8));
    assert!(close(j90.ci.upper, 0.7191819409330789, 1e-8));
    // n = 1 edges do not panic
    for k in 0..=1 {
        assert!(clopper_pearson(k, 1, 0.95).is_ok());
        assert!(jeffreys(k, 1, 0.95).is_ok());
        assert!(wilson(k, 1, 0.95).is_ok());
    }
}

// from statsmodels.stats.proportion import confint_proportions_2indep
// confint_proportions_2indep(56, 70, 48, 80, method='newcomb') -> (0.05243147240236498, 0.33387265403690614)
// confint_proportions_2indep(0, 10, 10, 10, method='newcomb') -> (-1.0, -0.6075093504305241)
#[test]
fn newcombe_independent_matches_statsmodels() {
    let e = newcombe_diff(56, 70, 48, 80, 0.95).unwrap();
    assert!(close(e.point, 0.2, 1e-12));
    assert!(close(e.ci.lower, 0.05243147240236498, 1e-9));
    assert!(close(e.ci.upper, 0.33387265403690614, 1e-9));
    let e = newcombe_diff(0, 10, 10, 10, 0.95).unwrap();
    assert!(close(e.ci.lower, -1.0, 1e-9));
    assert!(close(e.ci.upper, -0.6075093504305241, 1e-9));
}

// Published: Fagerland, Lydersen & Laake (2014), reproduced by the R package
// contingencytables (tests/testthat/test-ch8.R):
//   Newcombe_square_and_add_CI_paired_2x2(matrix(c(59, 6, 16, 80), 2, byrow=TRUE))
//   -> "estimate = -0.0621 (95% CI -0.1186 to -0.0046)"
// More digits and further tables from an independent Python transcription of Newcombe
// (1998b) method 10 (not this Rust code):
//   def wilson(k,n,z):
//       p=k/n; den=1+z*z/n; c=(p+z*z/(2*n))/den; h=z*np.sqrt(p*(1-p)/n+z*z/(4*n*n))/den
//       return c-h,c+h
//   def newcombe_paired(a,b,c,d,conf=0.95):   # a=both, b=only A, c=only B, d=neither
//       z=st.norm.ppf(1-(1-conf)/2); n=a+b+c+d
//       p1=(a+b)/n; p2=(a+c)/n; l1,u1=wilson(a+b,n,z); l2,u2=wilson(a+c,n,z)
//       A=(a+b)*(c+d)*(a+c)*(b+d); B=a*d-b*c
//       if A==0: phi=0
//       else:
//           C = B-n/2 if B>n/2 else (0 if B>=0 else B); phi=C/np.sqrt(A)
//       D=p1-p2
//       L=D-np.sqrt((p1-l1)**2-2*phi*(p1-l1)*(u2-p2)+(u2-p2)**2)
//       U=D+np.sqrt((p2-l2)**2-2*phi*(p2-l2)*(u1-p1)+(u1-p1)**2)
//       return D,L,U
//   newcombe_paired(59,6,16,80)     -> (-0.062111801, -0.11862119563870992, -0.004625113933050047)
//   newcombe_paired(1,1,7,12)       -> (-0.285714286, -0.506920226686141, -0.02555912416485978)
//   newcombe_paired(10,0,0,5)       -> (0.0, -0.13494788338168995, 0.13494788338168995)
//   newcombe_paired(3,5,1,2,0.90)   -> (0.363636364, 0.017062036331105923, 0.609617230783163)
//   newcombe_paired(0,4,1,0)        -> (0.6, -0.24893074047494934, 0.9275517827351397)
#[test]
fn newcombe_paired_matches_published_and_formula() {
    let t = |both, only_a, only_b, neither| PairedCounts {
        both,
        only_a,
        only_b,
        neither,
    };
    let cases = [
        (
            t(59, 6, 16, 80),
            0.95,
            -0.11862119563870992,
            -0.004625113933050047,
        ),
        (
            t(1, 1, 7, 12),
            0.95,
            -0.506920226686141,
            -0.02555912416485978,
        ),
        (
            t(10, 0, 0, 5),
            0.95,
            -0.13494788338168995,
            0.13494788338168995,
        ),
        (t(3, 5, 1, 2), 0.90, 0.017062036331105923, 0.609617230783163),
        (
            t(0, 4, 1, 0),
            0.95,
            -0.24893074047494934,
            0.9275517827351397,
        ),
    ];
    for (table, level, lo, hi) in cases {
        let e = newcombe_paired_diff(table, level).unwrap();
        assert!(close(e.ci.lower, lo, 1e-9), "{table:?}: {e:?}");
        assert!(close(e.ci.upper, hi, 1e-9), "{table:?}: {e:?}");
    }
    // the published rounding
    let e = newcombe_paired_diff(t(59, 6, 16, 80), 0.95).unwrap();
    assert_eq!(format!("{:.4}", e.point), "-0.0621");
    assert_eq!(format!("{:.4}", e.ci.lower), "-0.1186");
    assert_eq!(format!("{:.4}", e.ci.upper), "-0.0046");
    // extreme tables do not panic and stay in [-1, 1]
    for table in [t(0, 0, 0, 1), t(0, 5, 0, 0), t(0, 0, 5, 0), t(5, 0, 0, 0)] {
        let e = newcombe_paired_diff(table, 0.95).unwrap();
        assert!(e.ci.lower >= -1.0 && e.ci.upper <= 1.0 && e.ci.contains(e.point));
    }
}

// Reference values: an independent Python transcription of the published formulas (not
// this Rust code), with Tango's restricted MLE of p21 found by numerical maximisation of the
// multinomial likelihood (scipy minimize_scalar) rather than by the closed form used here:
//   def am(n12,n21,N,conf=.95):   # Agresti & Min (2005): +1/2 to each cell
//       z=st.norm.ppf(1-(1-conf)/2); p12=(n12+.5)/(N+2); p21=(n21+.5)/(N+2); c=p12-p21
//       se=np.sqrt((p12+p21-c*c)/(N+2)); return max(-1,c-z*se),min(1,c+z*se)
//   def bp(...): same with p12=(n12+1)/(N+2), p21=(n21+1)/(N+2)   # Bonett & Price (2012)
//   def tango(n12,n21,N,conf=.95):   # Tango (1998)
//       p21mle(d) = argmax over x in (max(0,-d), (1-d)/2) of
//           n12*log(x+d) + n21*log(x) + (N-n12-n21)*log(1-2x-d)
//       Z(d) = (n12-n21-N*d)/sqrt(N*(2*p21mle(d)+d*(1-d)));  brentq for Z = +-z
// (n12, n21, N[, level]) -> (lower, upper):
//   am(6,16,161)   -> (-0.11824200957882668, -0.004457376924240808)   Cavo et al. 2012 table
//   am(1,7,21)     -> (-0.49322583309367124, -0.028513297341111354)   Bentur et al. 2009 table
//   am(0,0,50)     -> (-0.037691615087308734, 0.037691615087308734)
//   am(5,1,11,.90) -> (0.003783798580760722, 0.6116008168038547)
//   am(4,1,5)      -> (-0.17936476639588028, 1.0)
//   bp(6,16,161)   -> (-0.1194988110665119, -0.0032005754365555666)
//   bp(1,7,21)     -> (-0.5083593066664394, -0.013379823768343235)
//   bp(0,0,50)     -> (-0.053303993244218376, 0.053303993244218376)
//   tango(6,16,161)   -> (-0.1240234324583866, -0.005433395287914759)
//   tango(1,7,21)     -> (-0.5172322772712628, -0.026003032088674535)
//   tango(0,0,50)     -> (-0.07134760319169249, 0.071347599133369)  [exact: ±z²/(N+z²)]
//   tango(5,1,11,.90) -> (-0.002938374149127374, 0.6373945571384123)
//   tango(4,1,5)      -> (-0.24893072703185076, 0.9275517823305781)
//   tango(0,3,40)     -> (-0.19864233977724594, 0.019193221742879997)
// The numerical MLE (bounded optimiser) agrees with the closed form to ~2e-8, hence the Tango
// tolerance of 5e-8. Rounded
// to 4 decimals the Cavo intervals are AM (-0.1182 to -0.0045), BP (-0.1195 to -0.0032),
// Tango (-0.1240 to -0.0054).
#[test]
fn paired_adjusted_wald_and_tango_match_formula() {
    let t = |both, only_a, only_b, neither| PairedCounts {
        both,
        only_a,
        only_b,
        neither,
    };
    let am_cases = [
        (
            t(59, 6, 16, 80),
            0.95,
            -0.11824200957882668,
            -0.004457376924240808,
        ),
        (
            t(1, 1, 7, 12),
            0.95,
            -0.49322583309367124,
            -0.028513297341111354,
        ),
        (
            t(30, 0, 0, 20),
            0.95,
            -0.037691615087308734,
            0.037691615087308734,
        ),
        (
            t(3, 5, 1, 2),
            0.90,
            0.003783798580760722,
            0.6116008168038547,
        ),
        (t(0, 4, 1, 0), 0.95, -0.17936476639588028, 1.0),
    ];
    for (table, level, lo, hi) in am_cases {
        let e = agresti_min_paired_diff(table, level).unwrap();
        assert_eq!(e.method, "agresti-min");
        assert!(close(e.ci.lower, lo, 1e-12), "{table:?}: {e:?}");
        assert!(close(e.ci.upper, hi, 1e-12), "{table:?}: {e:?}");
    }
    let bp_cases = [
        (
            t(59, 6, 16, 80),
            -0.1194988110665119,
            -0.0032005754365555666,
        ),
        (t(1, 1, 7, 12), -0.5083593066664394, -0.013379823768343235),
        (t(30, 0, 0, 20), -0.053303993244218376, 0.053303993244218376),
    ];
    for (table, lo, hi) in bp_cases {
        let e = bonett_price_paired_diff(table, 0.95).unwrap();
        assert!(close(e.ci.lower, lo, 1e-12), "{table:?}: {e:?}");
        assert!(close(e.ci.upper, hi, 1e-12), "{table:?}: {e:?}");
    }
    let tango_cases = [
        (
            t(59, 6, 16, 80),
            0.95,
            -0.1240234324583866,
            -0.005433395287914759,
        ),
        (
            t(1, 1, 7, 12),
            0.95,
            -0.5172322772712628,
            -0.026003032088674535,
        ),
        (
            t(30, 0, 0, 20),
            0.95,
            -0.07134760319169249,
            0.071347599133369,
        ),
        (
            t(3, 5, 1, 2),
            0.90,
            -0.002938374149127374,
            0.6373945571384123,
        ),
        (
            t(0, 4, 1, 0),
            0.95,
            -0.24893072703185076,
            0.9275517823305781,
        ),
        (
            t(37, 0, 3, 0),
            0.95,
            -0.19864233977724594,
            0.019193221742879997,
        ),
    ];
    for (table, level, lo, hi) in tango_cases {
        let e = tango_paired_diff(table, level).unwrap();
        assert_eq!(e.method, "tango");
        assert!(close(e.ci.lower, lo, 5e-8), "{table:?}: {e:?}");
        assert!(close(e.ci.upper, hi, 5e-8), "{table:?}: {e:?}");
    }
    // no discordant pair: exactly ±z²/(n + z²)
    let z2 = z_two_sided(0.95).powi(2);
    let e = tango_paired_diff(t(30, 0, 0, 20), 0.95).unwrap();
    assert!(close(e.ci.upper, z2 / (50.0 + z2), 1e-13));
    assert!(close(e.ci.lower, -z2 / (50.0 + z2), 1e-13));
    // the rounded Cavo intervals
    let cavo = t(59, 6, 16, 80);
    let r = |e: Estimate| format!("{:.4} {:.4} {:.4}", e.point, e.ci.lower, e.ci.upper);
    assert_eq!(
        r(agresti_min_paired_diff(cavo, 0.95).unwrap()),
        "-0.0621 -0.1182 -0.0045"
    );
    assert_eq!(
        r(tango_paired_diff(cavo, 0.95).unwrap()),
        "-0.0621 -0.1240 -0.0054"
    );
    // extreme tables: no panic, within [-1, 1], hold the point, mirror exactly
    for table in [
        t(0, 0, 0, 1),
        t(0, 5, 0, 0),
        t(0, 0, 5, 0),
        t(5, 0, 0, 0),
        t(0, 1, 0, 0),
    ] {
        for level in [0.5, 0.95, 0.999_999] {
            for f in [
                agresti_min_paired_diff,
                bonett_price_paired_diff,
                tango_paired_diff,
            ] {
                let e = f(table, level).unwrap();
                assert!(e.ci.lower >= -1.0 && e.ci.upper <= 1.0 && e.ci.contains(e.point));
                let s = f(
                    t(table.both, table.only_b, table.only_a, table.neither),
                    level,
                )
                .unwrap();
                assert_eq!((e.ci.lower, e.ci.upper), (-s.ci.upper, -s.ci.lower));
            }
        }
    }
}

#[test]
fn clustered_paired_binary() {
    // deff = 1 (no clustering signal) reduces to the unclustered intervals exactly
    let a = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
    let b = [0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
    let g = [0, 0, 1, 1, 2, 2, 3, 3];
    let (deff, c) = paired_design_effect(&a, &b, &g).unwrap();
    assert_eq!((deff, c), (1.0, 4));
    let table = PairedCounts::from_scores(&a, &b).unwrap();
    let tc = tango_paired_diff_clustered(&a, &b, &g, 0.95).unwrap();
    let tu = tango_paired_diff(table, 0.95).unwrap();
    assert_eq!((tc.ci.lower, tc.ci.upper), (tu.ci.lower, tu.ci.upper));
    let ac = agresti_min_paired_diff_clustered(&a, &b, &g, 0.95).unwrap();
    let au = agresti_min_paired_diff(table, 0.95).unwrap();
    assert_eq!((ac.ci.lower, ac.ci.upper), (au.ci.lower, au.ci.upper));
    // clustered discordance: deff = CR1 / iid variance, and the interval widens.
    // d = [1,1,1,1, 0,0,0,0, 1,0]: d̄ = 0.5; cluster sums of d − d̄: 2, −2, 0.5 − 0.5 = 0
    // CR1 = 3/2 · 8 / 100 = 0.12; iid = Σ(d − d̄)²/n² = 2.5/100 = 0.025; deff = 4.8.
    let a = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let b = [0.0; 10];
    let g = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2];
    let (deff, c) = paired_design_effect(&a, &b, &g).unwrap();
    assert_eq!(c, 3);
    assert!(close(deff, 4.8, 1e-12), "{deff}");
    let table = PairedCounts::from_scores(&a, &b).unwrap();
    let tc = tango_paired_diff_clustered(&a, &b, &g, 0.95).unwrap();
    let tu = tango_paired_diff(table, 0.95).unwrap();
    assert_eq!(tc.point, 0.5);
    assert!(tc.ci.lower < tu.ci.lower && tc.ci.upper > tu.ci.upper);
    // the Rao–Scott effective counts: 5/4.8 of 10/4.8 rows
    let z = z_two_sided(0.95);
    let (l, u) = tango_bounds(5.0 / 4.8, 0.0, 10.0 / 4.8, z);
    assert_eq!((tc.ci.lower, tc.ci.upper), (l, u));
    // errors
    assert!(matches!(
        tango_paired_diff_clustered(&a, &b, &[0; 10], 0.95),
        Err(StatsError::TooFew { .. })
    ));
    assert!(matches!(
        agresti_min_paired_diff_clustered(&a, &b, &g[..3], 0.95),
        Err(StatsError::LengthMismatch { .. })
    ));
    assert!(matches!(
        tango_paired_diff_clustered(&[0.5, 1.0], &[0.0, 1.0], &[0, 1], 0.95),
        Err(StatsError::Invalid { .. })
    ));
    assert!(matches!(
        tango_paired_diff_clustered(&a, &b, &g, 1.5),
        Err(StatsError::BadLevel { .. })
    ));
    assert!(matches!(
        paired_design_effect(&[f64::NAN, 1.0], &[0.0, 1.0], &[0, 1]),
        Err(StatsError::NotFinite { .. })
    ));
    let zero = t0();
    for f in [
        agresti_min_paired_diff,
        bonett_price_paired_diff,
        tango_paired_diff,
    ] {
        assert!(matches!(f(zero, 0.95), Err(StatsError::Empty { .. })));
        assert!(matches!(
            f(PairedCounts { both: 1, ..zero }, 0.0),
            Err(StatsError::BadLevel { .. })
        ));
    }
}

fn t0() -> PairedCounts {
    PairedCounts {
        both: 0,
        only_a: 0,
        only_b: 0,
        neither: 0,
    }
}

#[test]
fn bad_input_is_rejected() {
    assert!(matches!(wilson(1, 0, 0.95), Err(StatsError::Empty { .. })));
    assert!(matches!(
        wilson(5, 4, 0.95),
        Err(StatsError::Invalid { .. })
    ));
    assert!(matches!(
        clopper_pearson(1, 4, 1.0),
        Err(StatsError::BadLevel { .. })
    ));
    assert!(matches!(
        jeffreys(1, 4, f64::NAN),
        Err(StatsError::BadLevel { .. })
    ));
    assert!(matches!(
        newcombe_diff(1, 4, 1, 0, 0.95),
        Err(StatsError::Empty { .. })
    ));
    let zero = PairedCounts {
        both: 0,
        only_a: 0,
        only_b: 0,
        neither: 0,
    };
    assert!(matches!(
        newcombe_paired_diff(zero, 0.95),
        Err(StatsError::Empty { .. })
    ));
    assert!(matches!(
        PairedCounts::from_scores(&[1.0, 0.5], &[1.0, 0.0]),
        Err(StatsError::Invalid { .. })
    ));
    assert!(matches!(
        PairedCounts::from_scores(&[1.0], &[1.0, 0.0]),
        Err(StatsError::LengthMismatch { .. })
    ));
    assert!(matches!(
        PairedCounts::from_scores(&[], &[]),
        Err(StatsError::Empty { .. })
    ));
    assert!(matches!(
        PairedCounts::from_scores(&[f64::NAN], &[1.0]),
        Err(StatsError::NotFinite { .. })
    ));
}

// Large n with k near 0 or n: the bounds are tiny (or within a tiny distance of 1) and must keep
// their relative accuracy. Reference values, scipy 1.17.1 (boost's ibeta_inv):
//   from scipy.stats import beta
//   Clopper–Pearson: lower = beta.ppf(0.025, k, n-k+1), upper = beta.ppf(0.975, k+1, n-k)
//   Jeffreys:        lower = beta.ppf(0.025, k+.5, n-k+.5), upper = beta.ppf(0.975, k+.5, n-k+.5)
// printed with repr() for k = 0, 1, 2 (columns: cp lower, cp upper, jeffreys lower, jeffreys
// upper; the k = 0 lower bounds are 0 by definition / by the boundary modification). By the
// symmetry k ↔ n − k, 1 − upper(n − k) = lower(k) and 1 − lower(n − k) = upper(k); scipy's
// complements, e.g. beta.ppf(0.025, n-k, k+1) for 1 − cp upper, agree to the last digit or two.
// statsmodels proportion_confint(1, 10_000_000, method='beta')
//   -> (2.5317807952240303e-09, 5.571642116990815e-07), the same as the row below.
const LARGE_N: [(u64, [[f64; 4]; 3]); 3] = [
    (
        1_000,
        [
            [0.0, 0.003682083896865671, 0.0, 0.0025081643414222978],
            [
                2.531748749129404e-05,
                0.005558924279826672,
                0.00010791880468097968,
                0.004664458808791372,
            ],
            [
                0.00024230111687723185,
                0.007205838911457497,
                0.0004158313651531084,
                0.00640049976052972,
            ],
        ],
    ),
    (
        1_000_000,
        [
            [0.0, 3.688872650206488e-06, 0.0, 2.5119393107467838e-06],
            [
                2.5317807663794178e-08,
                5.571630655166939e-06,
                1.0789766246541867e-07,
                4.6741920467298275e-06,
            ],
            [
                2.4220937031600326e-07,
                7.2246687944522814e-06,
                4.15606032083811e-07,
                6.416235225085568e-06,
            ],
        ],
    ),
    (
        10_000_000,
        [
            [0.0, 3.6888787737224376e-07, 0.0, 2.5119427153660024e-07],
            [
                2.5317807952240303e-09,
                5.571642116990813e-07,
                1.0789764342729502e-08,
                4.674200826695119e-07,
            ],
            [
                2.422092877211626e-08,
                7.224685779926558e-07,
                4.156058292773595e-08,
                6.416249419820204e-07,
            ],
        ],
    ),
];

fn rel_close(got: f64, want: f64, tol: f64) -> bool {
    if want == 0.0 {
        got == 0.0
    } else {
        ((got - want) / want).abs() <= tol
    }
}

#[test]
fn beta_intervals_keep_relative_accuracy_at_large_n() {
    for (n, rows) in LARGE_N {
        for (k, [cp_lo, cp_hi, j_lo, j_hi]) in (0_u64..).zip(rows) {
            let cp = clopper_pearson(k, n, 0.95).unwrap();
            let j = jeffreys(k, n, 0.95).unwrap();
            for (what, got, want) in [
                ("cp lower", cp.ci.lower, cp_lo),
                ("cp upper", cp.ci.upper, cp_hi),
                ("jeffreys lower", j.ci.lower, j_lo),
                ("jeffreys upper", j.ci.upper, j_hi),
            ] {
                assert!(
                    rel_close(got, want, 1e-6),
                    "k={k} n={n} {what}: {got:e} vs {want:e}"
                );
            }
            // the mirror image k' = n − k, compared through 1 − bound
            let cp = clopper_pearson(n - k, n, 0.95).unwrap();
            let j = jeffreys(n - k, n, 0.95).unwrap();
            for (what, got, want) in [
                ("cp upper", 1.0 - cp.ci.upper, cp_lo),
                ("cp lower", 1.0 - cp.ci.lower, cp_hi),
                ("jeffreys upper", 1.0 - j.ci.upper, j_lo),
                ("jeffreys lower", 1.0 - j.ci.lower, j_hi),
            ] {
                assert!(
                    rel_close(got, want, 1e-6),
                    "k={} n={n} 1 - {what}: {got:e} vs {want:e}",
                    n - k
                );
            }
        }
    }
}

// python3 -c "from scipy.stats import beta; print(beta.ppf(0.025, 2.5, 5e6-2+0.5))"
//   -> 8.312117036227847e-08 (statsmodels proportion_confint(2, 5_000_000, method='jeffreys')
//   gives the same lower bound)
#[test]
fn jeffreys_small_lower_bound_is_accurate() {
    let j = jeffreys(2, 5_000_000, 0.95).unwrap();
    assert!(
        rel_close(j.ci.lower, 8.312117036227847e-08, 1e-6),
        "{:e}",
        j.ci.lower
    );
}

// statsmodels: proportion_confint(1, 10_000_000, method='beta')
//   -> (2.5317807952240303e-09, 5.571642116990815e-07)
// (statrs' inverse regularized beta never returned here.)
#[test]
fn clopper_pearson_one_in_ten_million_returns() {
    let cp = clopper_pearson(1, 10_000_000, 0.95).unwrap();
    assert!(
        rel_close(cp.ci.lower, 2.5317807952240303e-09, 1e-6),
        "{cp:?}"
    );
    assert!(
        rel_close(cp.ci.upper, 5.571642116990815e-07, 1e-6),
        "{cp:?}"
    );
}
