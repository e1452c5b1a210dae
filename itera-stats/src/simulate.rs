//! Simulated paired binary experiments with a known true difference, for measuring the coverage
//! of intervals (the coverage example and the coverage tests share this one generator).
//!
//! The baseline scores 1 with probability `p_b`; within clusters of [`CLUSTER_SIZE`] rows a
//! shared draw is reused with probability √ICC, which gives the intra-cluster correlation `icc`.
//! The arm flips a baseline 0 to 1 with probability `r01` and a 1 to 0 with probability `r10`, so
//! the true difference is `(1 − p_b)·r01 − p_b·r10` exactly.

use rand::{Rng, RngExt};

/// Rows per cluster.
pub const CLUSTER_SIZE: usize = 10;

/// One simulated design.
///
/// ```
/// use itera_stats::simulate::PairedBinary;
/// use rand::SeedableRng;
/// let s = PairedBinary { p_b: 0.5, r01: 0.2, r10: 0.1, n: 50, icc: 0.0 };
/// assert!((s.true_diff() - 0.05).abs() < 1e-12);
/// let (mut a, mut b, mut g) = (vec![], vec![], vec![]);
/// s.draw(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1), &mut a, &mut b, &mut g);
/// assert_eq!((a.len(), b.len(), g.len()), (50, 50, 50));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedBinary {
    /// Baseline success probability.
    pub p_b: f64,
    /// P(arm = 1 | baseline = 0).
    pub r01: f64,
    /// P(arm = 0 | baseline = 1).
    pub r10: f64,
    /// Rows.
    pub n: usize,
    /// Intra-cluster correlation of the baseline's scores (0 = independent rows).
    pub icc: f64,
}

impl PairedBinary {
    /// The exact true difference, arm minus baseline.
    pub fn true_diff(&self) -> f64 {
        (1.0 - self.p_b) * self.r01 - self.p_b * self.r10
    }

    /// The arm's success probability.
    pub fn p_a(&self) -> f64 {
        self.p_b + self.true_diff()
    }

    /// Fills `a` (arm), `b` (baseline) and `clusters` with one simulated experiment.
    pub fn draw<R: Rng>(
        &self,
        rng: &mut R,
        a: &mut Vec<f64>,
        b: &mut Vec<f64>,
        clusters: &mut Vec<u64>,
    ) {
        a.clear();
        b.clear();
        clusters.clear();
        let lambda = self.icc.max(0.0).sqrt();
        let mut shared = false;
        for i in 0..self.n {
            if i % CLUSTER_SIZE == 0 {
                shared = rng.random::<f64>() < self.p_b;
            }
            let base = if rng.random::<f64>() < lambda {
                shared
            } else {
                rng.random::<f64>() < self.p_b
            };
            let u = rng.random::<f64>();
            let arm = if base { u >= self.r10 } else { u < self.r01 };
            b.push(f64::from(u8::from(base)));
            a.push(f64::from(u8::from(arm)));
            clusters.push((i / CLUSTER_SIZE) as u64);
        }
    }
}
