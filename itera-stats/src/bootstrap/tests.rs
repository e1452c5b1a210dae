//! Unit tests of the bootstrap folder: input checks, path choice, determinism across thread
//! counts, agreement with scipy's `bootstrap`, agreement of the two resampling paths, the
//! binomial sampler the multinomial path relies on, and the cluster bootstrap.

use rand::SeedableRng;
use rand::distr::Distribution;
use rand_chacha::ChaCha8Rng;
use statrs::distribution::Binomial;

use super::multinomial::distinct_counts;
use super::*;

fn opts(resamples: usize, seed: u64) -> BootstrapOptions {
    BootstrapOptions {
        resamples,
        seed,
        ..BootstrapOptions::default()
    }
}

// Fixed datasets shared with the scipy reference snippet below.
const CONT_A: [f64; 12] = [
    0.62, 0.71, 0.55, 0.90, 0.48, 0.77, 0.69, 0.83, 0.58, 0.74, 0.95, 0.66,
];
const CONT_B: [f64; 12] = [
    0.60, 0.64, 0.57, 0.70, 0.50, 0.69, 0.61, 0.80, 0.59, 0.62, 0.71, 0.65,
];
const BIN_A: [f64; 30] = [
    1., 1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1., 0., 1., 1., 1., 1., 0., 1., 1., 1., 1., 0.,
    1., 1., 1., 0., 1., 1.,
];
const BIN_B: [f64; 30] = [
    1., 0., 0., 1., 1., 0., 0., 1., 1., 0., 0., 1., 1., 0., 1., 0., 1., 1., 0., 1., 0., 1., 1., 1.,
    1., 0., 1., 0., 1., 1.,
];

#[test]
fn rejects_bad_input() {
    let o = opts(100, 0);
    assert!(matches!(
        paired_bootstrap_bca(&[], &[], &o),
        Err(StatsError::Empty { .. })
    ));
    assert!(matches!(
        paired_bootstrap_bca(&[1.0], &[0.0], &o),
        Err(StatsError::TooFew { .. })
    ));
    assert!(matches!(
        paired_bootstrap_percentile(&[1.0, 2.0], &[0.0], &o),
        Err(StatsError::LengthMismatch { .. })
    ));
    assert!(matches!(
        paired_bootstrap_percentile(&[1.0, f64::NAN], &[0.0, 0.0], &o),
        Err(StatsError::NotFinite { index: 1, .. })
    ));
    assert!(matches!(
        paired_bootstrap_percentile(&[1.0, 0.0], &[0.0, f64::INFINITY], &o),
        Err(StatsError::NotFinite { .. })
    ));
    assert!(matches!(
        paired_bootstrap_bca(&[1.0, 0.0], &[0.0, 0.0], &opts(0, 0)),
        Err(StatsError::Invalid { .. })
    ));
    assert!(matches!(
        paired_bootstrap_bca(&[1.0, 0.0], &[0.0, 0.0], &opts(usize::MAX, 0)),
        Err(StatsError::Invalid { .. })
    ));
    assert!(matches!(
        paired_bootstrap_bca(&[1e308, 0.0], &[-1e308, 0.0], &o),
        Err(StatsError::NotFinite { .. })
    ));
    // Absurd thread counts are capped, not an error.
    let many = BootstrapOptions {
        threads: usize::MAX,
        ..opts(2000, 0)
    };
    assert!(paired_bootstrap_bca(&[1.0, 0.0, 0.5], &[0.0, 0.0, 0.0], &many).is_ok());
    let bad_level = BootstrapOptions {
        level: 1.0,
        ..opts(10, 0)
    };
    assert!(matches!(
        paired_bootstrap_bca(&[1.0, 0.0], &[0.0, 0.0], &bad_level),
        Err(StatsError::BadLevel { .. })
    ));
    assert!(matches!(
        cluster_bootstrap(&[1.0, 0.0], &[0.0, 0.0], &[1, 1], &o),
        Err(StatsError::TooFew {
            what: "clusters",
            ..
        })
    ));
    assert!(matches!(
        cluster_bootstrap(&[1.0, 0.0], &[0.0, 0.0], &[1], &o),
        Err(StatsError::LengthMismatch { .. })
    ));
}

#[test]
fn constant_differences_give_a_point_interval() {
    let a = [0.5; 40];
    let b = [0.25; 40];
    for f in [paired_bootstrap_percentile, paired_bootstrap_bca] {
        let e = f(&a, &b, &opts(500, 1)).expect("valid").estimate;
        assert_eq!((e.ci.lower, e.ci.upper, e.point), (0.25, 0.25, 0.25));
    }
}

#[test]
fn auto_path_choice() {
    let a: Vec<f64> = (0..100).map(|i| f64::from(i % 2)).collect();
    let b: Vec<f64> = (0..100).map(|i| f64::from((i / 3) % 2)).collect();
    let r = paired_bootstrap_percentile(&a, &b, &opts(10, 0)).expect("valid");
    assert_eq!(r.path, ResamplePath::Multinomial);
    let c: Vec<f64> = (0..100).map(|i| f64::from(i) / 7.0).collect();
    let r = paired_bootstrap_percentile(&c, &b, &opts(10, 0)).expect("valid");
    assert_eq!(r.path, ResamplePath::Direct);
    // n = 20 binary: too few rows per distinct value, direct.
    let r = paired_bootstrap_percentile(&a[..20], &b[..20], &opts(10, 0)).expect("valid");
    assert_eq!(r.path, ResamplePath::Direct);
}

#[test]
fn distinct_counts_switches_to_hash_map() {
    let xs: Vec<f64> = (0..1000).map(|i| f64::from(i % 37) - 0.0).collect();
    let v = distinct_counts(&xs, 100).expect("37 distinct");
    assert_eq!(v.len(), 37);
    assert_eq!(v.iter().map(|x| x.1).sum::<u64>(), 1000);
    assert!(distinct_counts(&xs, 36).is_none());
    let z = distinct_counts(&[0.0, -0.0, 0.0], 10).expect("one value");
    assert_eq!(z, vec![(0.0, 3)]);
}

#[test]
fn bit_identical_across_thread_counts() {
    let a: Vec<f64> = (0..300).map(|i| f64::from((i * 7919) % 11 < 7)).collect();
    let b: Vec<f64> = (0..300).map(|i| f64::from((i * 104729) % 13 < 7)).collect();
    let cont: Vec<f64> = (0..300).map(|i| (f64::from(i) * 0.618).fract()).collect();
    let clusters: Vec<u32> = (0..300).map(|i| i / 10).collect();
    for (x, y, path) in [
        (&a, &b, ResamplePath::Multinomial),
        (&a, &b, ResamplePath::Direct),
        (&cont, &b, ResamplePath::Direct),
    ] {
        {
            // 5 chunks and a partial one; 1, 2 and 3 threads.
            let base = BootstrapOptions {
                resamples: 5 * CHUNK_SIZE + 17,
                seed: 99,
                threads: 1,
                path,
                ..BootstrapOptions::default()
            };
            let one = paired_bootstrap_replicates(x, y, &base).expect("valid");
            for threads in [2, 3, 0] {
                let o = BootstrapOptions {
                    threads,
                    ..base.clone()
                };
                let many = paired_bootstrap_replicates(x, y, &o).expect("valid");
                assert!(
                    one.iter()
                        .zip(&many)
                        .all(|(p, q)| p.to_bits() == q.to_bits())
                );
                assert_eq!(
                    paired_bootstrap_bca(x, y, &base),
                    paired_bootstrap_bca(x, y, &o)
                );
            }
        }
    }
    let base = BootstrapOptions {
        resamples: 3 * CHUNK_SIZE + 1,
        seed: 5,
        threads: 1,
        ..BootstrapOptions::default()
    };
    let two = BootstrapOptions {
        threads: 2,
        ..base.clone()
    };
    assert_eq!(
        cluster_bootstrap_replicates(&cont, &b, &clusters, &base),
        cluster_bootstrap_replicates(&cont, &b, &clusters, &two)
    );
}

#[test]
fn seed_matters_and_repeats() {
    let r1 = paired_bootstrap_replicates(&CONT_A, &CONT_B, &opts(200, 1)).expect("valid");
    let r1b = paired_bootstrap_replicates(&CONT_A, &CONT_B, &opts(200, 1)).expect("valid");
    let r2 = paired_bootstrap_replicates(&CONT_A, &CONT_B, &opts(200, 2)).expect("valid");
    assert_eq!(r1, r1b);
    assert_ne!(r1, r2);
}

/// Reference values, scipy 1.17.1, mean of 10 runs of 200,000 resamples each:
/// ```python
/// import numpy as np, scipy.stats as st
/// def stat(x, y, axis=-1): return np.mean(x - y, axis=axis)
/// for method in ["BCa", "percentile"]:
///     for s in range(10):
///         r = st.bootstrap((a, b), stat, paired=True, vectorized=True,
///                          n_resamples=200000, method=method, rng=np.random.default_rng(s))
/// ```
/// continuous (CONT_A, CONT_B): BCa (0.028333 ± 0, 0.122167 ± 0.00043), percentile
/// (0.024167 ± 0, 0.115000 ± 0), se 0.023371;
/// binary (BIN_A, BIN_B): BCa (0.033333, 0.333333), percentile (0.0, 0.333333), se 0.082809
/// (all ± 0 across the 10 runs).
///
/// Tolerance: the replicate means live on a lattice (step 0.01/12 ≈ 0.00083 for the
/// continuous data, 1/30 for the binary data) and scipy's 10 runs land on the same lattice
/// point for every endpoint but the continuous BCa upper one, whose run-to-run SD is 0.00043.
/// With 200,000 resamples our Monte-Carlo error is the same, so we allow one lattice step
/// plus interpolation (0.0012) where scipy's SD is 0, and 4 SD (0.0018) for the BCa upper
/// endpoint: a false failure needs a > 4-SD excursion (< 1e-4). On the binary data the
/// endpoints must match exactly (to 1e-9) — a wrong tie rule in z0 moves the BCa lower
/// endpoint by a whole lattice step.
#[test]
fn matches_scipy_bootstrap() {
    let o = opts(200_000, 2024);
    let bca = paired_bootstrap_bca(&CONT_A, &CONT_B, &o).expect("valid");
    let pct = paired_bootstrap_percentile(&CONT_A, &CONT_B, &o).expect("valid");
    assert!((bca.estimate.point - 0.066_666_666_666_666_67).abs() < 1e-12);
    assert!((bca.estimate.ci.lower - 0.028333).abs() < 0.0012, "{bca:?}");
    assert!((bca.estimate.ci.upper - 0.122167).abs() < 0.0018, "{bca:?}");
    assert!((pct.estimate.ci.lower - 0.024167).abs() < 0.0012, "{pct:?}");
    assert!((pct.estimate.ci.upper - 0.115000).abs() < 0.0012, "{pct:?}");
    // SE of the replicates: sd/√(2B) relative error ≈ 0.16 %; allow 1 %.
    let se = bca.estimate.se.expect("B ≥ 2");
    assert!((se / 0.023371 - 1.0).abs() < 0.01, "{se}");

    for path in [ResamplePath::Multinomial, ResamplePath::Direct] {
        let o = BootstrapOptions {
            path,
            ..opts(200_000, 7)
        };
        let bca = paired_bootstrap_bca(&BIN_A, &BIN_B, &o).expect("valid");
        let pct = paired_bootstrap_percentile(&BIN_A, &BIN_B, &o).expect("valid");
        assert_eq!(bca.path, path);
        assert!((bca.estimate.ci.lower - 1.0 / 30.0).abs() < 1e-9, "{bca:?}");
        assert!(
            (bca.estimate.ci.upper - 10.0 / 30.0).abs() < 1e-9,
            "{bca:?}"
        );
        assert!(pct.estimate.ci.lower.abs() < 1e-9, "{pct:?}");
        assert!(
            (pct.estimate.ci.upper - 10.0 / 30.0).abs() < 1e-9,
            "{pct:?}"
        );
        let se = bca.estimate.se.expect("B ≥ 2");
        assert!((se / 0.082809 - 1.0).abs() < 0.01, "{se}");
    }
}

/// Both paths draw from the same distribution: on the same data, the mean and SD of the
/// replicates and the interval endpoints agree within Monte-Carlo error.
#[test]
fn multinomial_and_direct_paths_agree() {
    // Binary scores (differences −1, 0, +1) and means of K = 3 trials (a lattice of 13
    // values), n = 400.
    let n = 400;
    let bin_a: Vec<f64> = (0..n).map(|i| f64::from((i * 37 + 11) % 10 < 7)).collect();
    let bin_b: Vec<f64> = (0..n).map(|i| f64::from((i * 53 + 3) % 10 < 6)).collect();
    let lat_a: Vec<f64> = (0..n).map(|i| f64::from((i * 7) % 4) / 3.0).collect();
    let lat_b: Vec<f64> = (0..n).map(|i| f64::from((i * 11 + 1) % 4) / 3.0).collect();
    let b = 20_000;
    for (x, y) in [(&bin_a, &bin_b), (&lat_a, &lat_b)] {
        let run = |path, seed| {
            let o = BootstrapOptions {
                path,
                ..opts(b, seed)
            };
            (
                paired_bootstrap_replicates(x, y, &o).expect("valid"),
                paired_bootstrap_percentile(x, y, &o).expect("valid"),
            )
        };
        let (rm, pm) = run(ResamplePath::Multinomial, 1);
        let (rd, pd) = run(ResamplePath::Direct, 2);
        assert_eq!(pm.path, ResamplePath::Multinomial);
        assert_eq!(pd.path, ResamplePath::Direct);
        let diffs: Vec<f64> = x.iter().zip(y.iter()).map(|(p, q)| p - q).collect();
        let theta = mean(&diffs);
        // Exact bootstrap SD of the mean: population SD / √n.
        let m = diffs.len() as f64;
        let pop_sd = (diffs.iter().map(|d| (d - theta).powi(2)).sum::<f64>() / m).sqrt() / m.sqrt();
        for reps in [&rm, &rd] {
            // mean: SE = pop_sd/√B; allow 5 SE.
            assert!((mean(reps) - theta).abs() < 5.0 * pop_sd / (b as f64).sqrt());
            // SD: relative SE ≈ 1/√(2B) = 0.5 %; allow 3 %.
            let sd = sample_sd(reps).expect("B ≥ 2");
            assert!((sd / pop_sd - 1.0).abs() < 0.03, "{sd} vs {pop_sd}");
        }
        // Endpoints: MC SD of a 2.5 % quantile ≈ √(.025·.975/B)/φ(1.96)·pop_sd ≈ 0.02·pop_sd;
        // the lattice step is ≤ 1/n = 0.0025; allow 0.2·pop_sd plus one step.
        let tol = 0.2 * pop_sd + 1.0 / n as f64;
        assert!((pm.estimate.ci.lower - pd.estimate.ci.lower).abs() < tol);
        assert!((pm.estimate.ci.upper - pd.estimate.ci.upper).abs() < tol);
        // Kolmogorov–Smirnov distance between the two replicate samples: the 0.1 % critical
        // value for two samples of 20,000 is 1.95·√(2/B) ≈ 0.0195; lattice ties only make
        // the statistic smaller.
        let ks = ks_distance(&rm, &rd);
        assert!(ks < 0.0195, "KS {ks}");
    }
}

fn ks_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    sort_replicates(&mut a);
    sort_replicates(&mut b);
    let tol = 1e-9;
    let mut d: f64 = 0.0;
    for &x in a.iter().chain(b.iter()) {
        let fa = a.partition_point(|&v| v <= x + tol) as f64 / a.len() as f64;
        let fb = b.partition_point(|&v| v <= x + tol) as f64 / b.len() as f64;
        d = d.max((fa - fb).abs());
    }
    d
}

/// The binomial sampler the multinomial path relies on (statrs 0.19: BINV for n·p < 10,
/// BTPE otherwise): mean n·p and variance n·p·(1 − p) within 5 SE on 20,000 draws each.
#[test]
fn binomial_sampler_moments() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (n, p) in [(20_u64, 0.1), (1000, 0.3), (100_000, 0.5), (50, 0.97)] {
        let dist = Binomial::new(p, n).expect("valid");
        let draws: Vec<f64> = (0..20_000)
            .map(|_| Distribution::<u64>::sample(&dist, &mut rng) as f64)
            .collect();
        let m = mean(&draws);
        let v = sample_sd(&draws).expect("many").powi(2);
        let (mu, var) = (n as f64 * p, n as f64 * p * (1.0 - p));
        assert!(
            (m - mu).abs() < 5.0 * (var / 20_000.0).sqrt(),
            "{n} {p}: {m}"
        );
        // Var of the sample variance ≈ 2σ⁴/N for near-normal counts.
        assert!(
            (v - var).abs() < 5.0 * var * (2.0 / 20_000.0_f64).sqrt() + 0.05 * var,
            "{n} {p}: {v}"
        );
    }
}

#[test]
fn cluster_bootstrap_basics() {
    // 20 clusters of 5; every cluster has the same mean difference → the replicates equal it.
    let a: Vec<f64> = (0..100).map(|i| f64::from(i % 5 < 3)).collect();
    let b = vec![0.0; 100];
    let clusters: Vec<usize> = (0..100).map(|i| i / 5).collect();
    let e = cluster_bootstrap(&a, &b, &clusters, &opts(1000, 1)).expect("valid");
    assert!((e.estimate.point - 0.6).abs() < 1e-12);
    assert!((e.estimate.ci.lower - 0.6).abs() < 1e-12);
    assert!((e.estimate.ci.upper - 0.6).abs() < 1e-12);
    // Clusters that are internally identical: the cluster bootstrap is wider than the row
    // bootstrap (design effect 5 → √5 in width).
    let a: Vec<f64> = (0..100).map(|i| f64::from((i / 5) % 2 == 0)).collect();
    let c = cluster_bootstrap(&a, &b, &clusters, &opts(4000, 1)).expect("valid");
    let r = paired_bootstrap_percentile(&a, &b, &opts(4000, 1)).expect("valid");
    let ratio = c.estimate.ci.width() / r.estimate.ci.width();
    assert!((1.8..2.7).contains(&ratio), "{ratio}");
}

proptest::proptest! {
    #[test]
    fn intervals_are_ordered_and_within_range(
        pairs in proptest::collection::vec((-5.0_f64..5.0, -5.0_f64..5.0), 2..40),
        seed in 0_u64..1000,
    ) {
        let (a, b): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
        let o = opts(200, seed);
        let d: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
        let lo = d.iter().copied().fold(f64::INFINITY, f64::min) - 1e-9;
        let hi = d.iter().copied().fold(f64::NEG_INFINITY, f64::max) + 1e-9;
        for e in [
            paired_bootstrap_percentile(&a, &b, &o).expect("valid").estimate,
            paired_bootstrap_bca(&a, &b, &o).expect("valid").estimate,
        ] {
            proptest::prop_assert!(e.ci.lower <= e.ci.upper);
            proptest::prop_assert!(lo <= e.ci.lower && e.ci.upper <= hi);
            proptest::prop_assert!(lo <= e.point && e.point <= hi);
        }
    }
}
