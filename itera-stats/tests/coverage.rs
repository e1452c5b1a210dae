//! Coverage of the default paired interval and of the clustered t interval, by simulation
//! (METHOD §5 "Validity": 95 % intervals cover the true effect 94–96 % of the time). For binary
//! scores the default is Agresti–Min without clusters and the Rao–Scott Tango interval with
//! clusters (`select::default_paired_interval`).
//!
//! A reduced version of `examples/examples/coverage.rs` (same data model): 1,000 simulated
//! paired binary experiments per scenario. Ignored by default (CI runs ignored tests in
//! release): `cargo test --release -p itera-stats --test coverage -- --ignored`.
//!
//! **Band.** At 1,000 runs the binomial SE of a coverage of 0.95 is √(0.95·0.05/1000) = 0.0069,
//! so [0.923, 0.977] is ±3.9 SE: a method whose true coverage is 0.95 falls outside with
//! probability ≈ 1e-4 per check, ≈ 7e-4 over the 7 checks of the first test — a false failure is
//! rarer than 1 in 1,000. (The seeds are fixed, so each run gives the same result; the band says
//! how unlikely a false failure was for any seed.)
//!
//! **Data.** Baseline B ~ Bernoulli(p_B); the arm A flips 0 → 1 with probability r01 and
//! 1 → 0 with probability r10, so E[A − B] = (1 − p_B)·r01 − p_B·r10 exactly. Rows come in
//! clusters of 10; with intra-cluster correlation ρ each row's B is, with probability √ρ, its
//! cluster's shared draw, else its own (E[B] = p_B, Corr within a cluster = ρ).

use itera_stats::paired::paired_t_clustered;
use itera_stats::select::default_paired_interval;
use itera_stats::simulate::PairedBinary;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const RUNS: usize = 1000;
const LEVEL: f64 = 0.95;
const BAND: (f64, f64) = (0.923, 0.977);

#[derive(Debug, Clone, Copy)]
struct Scenario(PairedBinary);

const P_HALF: (f64, f64, f64) = (0.5, 0.2, 0.1); // p_A = 0.55, Δ = 0.05
const P_CEILING: (f64, f64, f64) = (0.93, 0.4, 0.01); // p_A = 0.9487, Δ = 0.0187

fn scenario((p_b, r01, r10): (f64, f64, f64), n: usize, icc: f64) -> Scenario {
    Scenario(PairedBinary {
        p_b,
        r01,
        r10,
        n,
        icc,
    })
}

impl Scenario {
    /// Coverage of the default interval (clusters declared iff ρ > 0) and of the clustered t.
    fn coverage(&self, seed: u64) -> (f64, f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut a, mut b, mut g) = (Vec::new(), Vec::new(), Vec::new());
        let truth = self.0.true_diff();
        let (mut default_hits, mut cluster_hits) = (0_usize, 0_usize);
        for _ in 0..RUNS {
            self.0.draw(&mut rng, &mut a, &mut b, &mut g);
            let clusters = (self.0.icc > 0.0).then_some(g.as_slice());
            if default_paired_interval(&a, &b, clusters, LEVEL).is_ok_and(|e| e.ci.contains(truth))
            {
                default_hits += 1;
            }
            if paired_t_clustered(&a, &b, &g, LEVEL).is_ok_and(|s| s.diff.ci.contains(truth)) {
                cluster_hits += 1;
            }
        }
        (
            default_hits as f64 / RUNS as f64,
            cluster_hits as f64 / RUNS as f64,
        )
    }
}

fn in_band(x: f64) -> bool {
    (BAND.0..=BAND.1).contains(&x)
}

/// The default interval at n ≥ 50 away from the ceiling (p ≈ 0.5, with and without clusters)
/// and at n = 200 near it; the clustered t with clusters (ρ = 0.3) at p ≈ 0.5.
/// Measured (seed 20251125 + i, 1,000 runs): see the assertion messages.
#[test]
#[ignore = "simulation; CI runs it in release"]
fn default_and_clustered_coverage_in_band() {
    let cases = [
        scenario(P_HALF, 50, 0.0),
        scenario(P_HALF, 200, 0.0),
        scenario(P_HALF, 50, 0.3),
        scenario(P_HALF, 200, 0.3),
        scenario(P_CEILING, 200, 0.0),
    ];
    let mut failures = Vec::new();
    for (i, s) in cases.iter().enumerate() {
        let (default_cov, cluster_cov) = s.coverage(20_251_125 + i as u64);
        eprintln!("{s:?}: default {default_cov:.3}, cluster-t {cluster_cov:.3}");
        if !in_band(default_cov) {
            failures.push(format!("default {default_cov:.3} in {s:?}"));
        }
        if s.0.icc > 0.0 && !in_band(cluster_cov) {
            failures.push(format!("cluster-t {cluster_cov:.3} in {s:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "coverage outside {BAND:?}: {failures:?}"
    );
}

/// Near the ceiling (p_B = 0.93, p_A = 0.9487: ~3.7 % discordant rows) at n = 50, and clustered
/// near the ceiling at n = 200, the default interval must not under-cover (lower end of the
/// band only: at n = 50 discreteness makes every valid interval conservative). Also n = 20, with
/// and without clusters, at both p (no under-coverage at small n). With 5 and 2 clusters
/// (n = 50, 20) the design effect is barely estimable; the default over-covers there.
#[test]
#[ignore = "simulation; CI runs it in release"]
fn default_coverage_near_ceiling_not_below_band() {
    let cases = [
        scenario(P_CEILING, 50, 0.0),
        scenario(P_CEILING, 50, 0.3),
        scenario(P_CEILING, 200, 0.3),
        scenario(P_HALF, 20, 0.0),
        scenario(P_HALF, 20, 0.3),
        scenario(P_CEILING, 20, 0.0),
        scenario(P_CEILING, 20, 0.3),
    ];
    let mut failures = Vec::new();
    for (i, s) in cases.iter().enumerate() {
        let (default_cov, _) = s.coverage(20_251_225 + i as u64);
        eprintln!("{s:?}: default {default_cov:.3}");
        if default_cov < BAND.0 {
            failures.push(format!("default {default_cov:.3} in {s:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "coverage below {}: {failures:?}",
        BAND.0
    );
}
