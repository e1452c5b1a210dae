//! Property-based invariants of the interval, test, power, multiplicity and agreement functions:
//! intervals hold their point estimate, widen with the level, flip sign when the arms are
//! swapped; adjusted p-values stay in [raw p, 1]; agreement is perfect for identical ratings;
//! nothing panics on any finite input.

use itera_stats::agreement::{Level, cohens_kappa, krippendorff_alpha};
use itera_stats::binary::{WilcoxonMethod, mcnemar, sign_test, wilcoxon_signed_rank};
use itera_stats::multiplicity::{benjamini_hochberg, holm};
use itera_stats::paired::{paired_t, paired_t_clustered};
use itera_stats::power::{PairedDesign, paired_mde, paired_sample_size};
use itera_stats::proportions::{
    PairedCounts, agresti_min_paired_diff, bonett_price_paired_diff, clopper_pearson, jeffreys,
    newcombe_diff, newcombe_paired_diff, tango_paired_diff, tango_paired_diff_clustered, wilson,
};
use itera_stats::select::default_paired_interval;
use itera_stats::{ConfidenceInterval, Estimate};
use proptest::prelude::*;

const EPS: f64 = 1e-9;

fn nested(inner: &ConfidenceInterval, outer: &ConfidenceInterval) -> bool {
    outer.lower <= inner.lower + EPS && inner.upper <= outer.upper + EPS
}

fn mirrored(x: &Estimate, y: &Estimate) -> bool {
    (x.point + y.point).abs() < EPS
        && (x.ci.lower + y.ci.upper).abs() < EPS
        && (x.ci.upper + y.ci.lower).abs() < EPS
}

fn counts() -> impl Strategy<Value = (u64, u64)> {
    (1u64..400).prop_flat_map(|n| (0..=n, Just(n)))
}

fn levels() -> impl Strategy<Value = (f64, f64)> {
    (0.5f64..0.98, 0.001f64..0.019).prop_map(|(l, d)| (l, l + d))
}

fn paired_scores() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (2usize..60).prop_flat_map(|n| {
        (
            prop::collection::vec(-10.0f64..10.0, n),
            prop::collection::vec(-10.0f64..10.0, n),
        )
    })
}

fn binary_scores() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (2usize..80).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::bool::ANY.prop_map(f64::from), n),
            prop::collection::vec(prop::bool::ANY.prop_map(f64::from), n),
        )
    })
}

proptest! {
    // Failing cases are printed, not persisted (no regressions file in tests/).
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn one_proportion_intervals((k, n) in counts(), (lo, hi) in levels()) {
        for f in [wilson, clopper_pearson, jeffreys] {
            let a = f(k, n, lo).unwrap();
            let b = f(k, n, hi).unwrap();
            prop_assert!(a.ci.contains(a.point), "{a:?}");
            prop_assert!(a.ci.lower >= 0.0 && a.ci.upper <= 1.0);
            prop_assert!(nested(&a.ci, &b.ci), "{a:?} {b:?}");
        }
    }

    #[test]
    fn newcombe_independent((k1, n1) in counts(), (k2, n2) in counts(), (lo, hi) in levels()) {
        let a = newcombe_diff(k1, n1, k2, n2, lo).unwrap();
        let b = newcombe_diff(k1, n1, k2, n2, hi).unwrap();
        prop_assert!(a.ci.contains(a.point));
        prop_assert!(a.ci.lower >= -1.0 && a.ci.upper <= 1.0);
        prop_assert!(nested(&a.ci, &b.ci));
        let swapped = newcombe_diff(k2, n2, k1, n1, lo).unwrap();
        prop_assert!(mirrored(&a, &swapped));
    }

    #[test]
    fn newcombe_paired(both in 0u64..60, only_a in 0u64..60, only_b in 0u64..60,
                       neither in 0u64..60, (lo, hi) in levels()) {
        prop_assume!(both + only_a + only_b + neither > 0);
        let t = PairedCounts { both, only_a, only_b, neither };
        let a = newcombe_paired_diff(t, lo).unwrap();
        let b = newcombe_paired_diff(t, hi).unwrap();
        prop_assert!(a.ci.contains(a.point));
        prop_assert!(a.ci.lower >= -1.0 && a.ci.upper <= 1.0);
        prop_assert!(nested(&a.ci, &b.ci), "{a:?} {b:?}");
        let s = PairedCounts { only_a: only_b, only_b: only_a, ..t };
        prop_assert!(mirrored(&a, &newcombe_paired_diff(s, lo).unwrap()));
    }

    #[test]
    fn adjusted_wald_and_tango_paired(both in 0u64..60, only_a in 0u64..60, only_b in 0u64..60,
                                      neither in 0u64..60, (lo, hi) in levels()) {
        prop_assume!(both + only_a + only_b + neither > 0);
        let t = PairedCounts { both, only_a, only_b, neither };
        let s = PairedCounts { only_a: only_b, only_b: only_a, ..t };
        for f in [agresti_min_paired_diff, bonett_price_paired_diff, tango_paired_diff] {
            let a = f(t, lo).unwrap();
            let b = f(t, hi).unwrap();
            prop_assert!(a.ci.contains(a.point), "{a:?}");
            prop_assert!(a.ci.lower >= -1.0 && a.ci.upper <= 1.0);
            prop_assert!(a.ci.lower < a.ci.upper, "{a:?}");
            prop_assert!(nested(&a.ci, &b.ci), "{a:?} {b:?}");
            prop_assert!(mirrored(&a, &f(s, lo).unwrap()));
        }
    }

    #[test]
    fn tango_clustered((a, b) in binary_scores(), level in 0.5f64..0.99) {
        let g: Vec<u32> = (0..a.len() as u32).map(|i| i % 3).collect();
        let x = tango_paired_diff_clustered(&a, &b, &g, level).unwrap();
        let y = tango_paired_diff_clustered(&b, &a, &g, level).unwrap();
        prop_assert!(x.ci.contains(x.point));
        prop_assert!(x.ci.lower >= -1.0 && x.ci.upper <= 1.0);
        prop_assert!(mirrored(&x, &y), "{x:?} {y:?}");
        // never narrower than the unclustered interval (design effect floored at 1)
        let u = tango_paired_diff(PairedCounts::from_scores(&a, &b).unwrap(), level).unwrap();
        prop_assert!(nested(&u.ci, &x.ci), "{u:?} {x:?}");
    }

    #[test]
    fn paired_t_invariants((a, b) in paired_scores(), (lo, hi) in levels()) {
        let x = paired_t(&a, &b, lo).unwrap();
        let y = paired_t(&a, &b, hi).unwrap();
        prop_assert!(x.diff.ci.contains(x.diff.point));
        prop_assert!(nested(&x.diff.ci, &y.diff.ci));
        let s = paired_t(&b, &a, lo).unwrap();
        prop_assert!(mirrored(&x.diff, &s.diff));
        if let Some(r) = x.correlation {
            prop_assert!((-1.0..=1.0).contains(&r));
        }
        let g: Vec<u32> = (0..a.len() as u32).map(|i| i % 3).collect();
        let c = paired_t_clustered(&a, &b, &g, lo).unwrap();
        let cs = paired_t_clustered(&b, &a, &g, lo).unwrap();
        prop_assert!(c.diff.ci.contains(c.diff.point));
        prop_assert!(mirrored(&c.diff, &cs.diff));
    }

    #[test]
    fn default_interval_swaps((a, b) in binary_scores(), level in 0.5f64..0.99) {
        let x = default_paired_interval(&a, &b, None, level).unwrap();
        let y = default_paired_interval(&b, &a, None, level).unwrap();
        prop_assert_eq!(&x.method, &y.method);
        prop_assert!(x.ci.contains(x.point));
        prop_assert!(mirrored(&x, &y), "{x:?} {y:?}");
    }

    #[test]
    fn adjusted_pvalues(p in prop::collection::vec(0.0f64..=1.0, 1..40)) {
        let h = holm(&p).unwrap();
        let bh = benjamini_hochberg(&p).unwrap();
        for i in 0..p.len() {
            prop_assert!(h[i] + EPS >= p[i] && h[i] <= 1.0);
            prop_assert!(bh[i] + EPS >= p[i] && bh[i] <= 1.0);
            prop_assert!(bh[i] <= h[i] + EPS);
        }
    }

    #[test]
    fn tests_are_symmetric_and_bounded((a, b) in paired_scores()) {
        let w1 = wilcoxon_signed_rank(&a, &b, WilcoxonMethod::Auto).unwrap();
        let w2 = wilcoxon_signed_rank(&b, &a, WilcoxonMethod::Auto).unwrap();
        prop_assert!((0.0..=1.0).contains(&w1.p_value));
        prop_assert!((w1.p_value - w2.p_value).abs() < 1e-12);
        for m in [WilcoxonMethod::Exact, WilcoxonMethod::Permutation, WilcoxonMethod::Approx] {
            let r = wilcoxon_signed_rank(&a, &b, m).unwrap();
            prop_assert!((0.0..=1.0).contains(&r.p_value));
        }
        let s = sign_test(&a, &b).unwrap();
        prop_assert!((0.0..=1.0).contains(&s.p_value));
    }

    #[test]
    fn mcnemar_mid_p_below_exact(x in 0u64..300, y in 0u64..300) {
        let r = mcnemar(x, y).unwrap();
        prop_assert!(r.p_mid <= r.p_exact + EPS);
        prop_assert!(r.p_exact <= 1.0 && r.p_mid >= 0.0);
        prop_assert_eq!(r.p_exact, mcnemar(y, x).unwrap().p_exact);
    }

    #[test]
    fn perfect_agreement(r in prop::collection::vec(0u8..5, 2..50)) {
        prop_assume!(r.iter().any(|&x| x != r[0]));
        let k = cohens_kappa(&r, &r).unwrap();
        prop_assert!((k.kappa.unwrap() - 1.0).abs() < EPS);
        let row: Vec<Option<f64>> = r.iter().map(|&x| Some(f64::from(x))).collect();
        for lv in [Level::Nominal, Level::Ordinal, Level::Interval] {
            let alpha = krippendorff_alpha(&[row.clone(), row.clone()], lv).unwrap().unwrap();
            prop_assert!((alpha - 1.0).abs() < EPS);
        }
    }

    #[test]
    fn kappa_symmetric(r1 in prop::collection::vec(0u8..4, 1..50), seed in any::<u64>()) {
        let r2: Vec<u8> = r1.iter().enumerate()
            .map(|(i, &x)| if (seed >> (i % 64)) & 1 == 1 { (x + 1) % 4 } else { x })
            .collect();
        let a = cohens_kappa(&r1, &r2).unwrap();
        let b = cohens_kappa(&r2, &r1).unwrap();
        prop_assert_eq!(a.kappa.is_some(), b.kappa.is_some());
        if let (Some(x), Some(y)) = (a.kappa, b.kappa) {
            prop_assert!((x - y).abs() < EPS && x <= 1.0 + EPS);
        }
    }

    #[test]
    fn power_inverse(omega in 0.001f64..1.0, n in 2usize..5000) {
        let d = PairedDesign { omega_sq: omega, sigma_a_sq: 0.1, sigma_b_sq: 0.05, trials_a: 3, trials_b: 1 };
        let mde = paired_mde(n, &d, 0.05, 0.8).unwrap();
        let back = paired_sample_size(mde, &d, 0.05, 0.8).unwrap();
        prop_assert!((back - n as f64).abs() < 1e-6 * n as f64);
        prop_assert!(paired_mde(n + 1, &d, 0.05, 0.8).unwrap() < mde);
    }

    #[test]
    fn no_panics_on_any_input(a in prop::collection::vec(any::<f64>(), 0..8),
                              b in prop::collection::vec(any::<f64>(), 0..8),
                              level in any::<f64>()) {
        let _ = paired_t(&a, &b, level);
        let _ = default_paired_interval(&a, &b, None, level);
        let g: Vec<u64> = (0..a.len() as u64).map(|i| i % 2).collect();
        let _ = default_paired_interval(&a, &b, Some(&g), level);
        let _ = tango_paired_diff_clustered(&a, &b, &g, level);
        let _ = wilcoxon_signed_rank(&a, &b, WilcoxonMethod::Auto);
        let _ = sign_test(&a, &b);
        let _ = holm(&a);
        let _ = benjamini_hochberg(&b);
        let _ = wilson(3, 10, level);
        let _ = clopper_pearson(3, 10, level);
        let _ = jeffreys(0, 10, level);
    }
}
