//! Paired and cluster bootstrap of the mean difference `arm − baseline`.
//!
//! * [`paired_bootstrap_percentile`] and [`paired_bootstrap_bca`] resample rows with replacement
//!   and take the mean of the per-row differences (Efron & Tibshirani 1993, *An Introduction to
//!   the Bootstrap*, ch. 13 for the percentile interval and ch. 14 for BCa with the jackknife
//!   acceleration). The BCa interval matches
//!   `scipy.stats.bootstrap((arm, baseline), paired=True, method="BCa")`, including scipy's
//!   mid-rank bias correction `z0 = Φ⁻¹((#{θ* < θ̂} + #{θ* ≤ θ̂}) / 2B)`, which matters when the
//!   replicates sit on a lattice (binary scores).
//! * [`cluster_bootstrap`] resamples whole clusters with replacement and takes the mean of the
//!   pooled differences of the drawn clusters (Davison & Hinkley 1997, *Bootstrap Methods and
//!   their Application*, §3.8, strategy 1), with a percentile interval.
//!
//! **Determinism.** Every call is a pure function of its inputs and [`BootstrapOptions::seed`].
//! Replicates are generated in fixed chunks of [`CHUNK_SIZE`]; chunk `c` draws from its own
//! ChaCha8 stream (key from `seed`, stream number `c`), so the replicates are bit-identical
//! whether the chunks run on one thread or several.
//!
//! **Speed.** No allocation per resample. When the per-row differences take few distinct
//! values (binary scores give −1, 0, +1; means of K trials give a small lattice), the mean of a
//! resample depends only on how many times each distinct value was drawn — a multinomial count
//! vector — so one replicate is drawn as a sequence of binomial counts in O(distinct values)
//! instead of O(rows); the replicates have exactly the same distribution
//! ([`ResamplePath::Multinomial`]). Otherwise every row index is drawn ([`ResamplePath::Direct`]).
//!
//! ```
//! use itera_stats::bootstrap::{BootstrapOptions, paired_bootstrap_bca};
//! let arm = [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0];
//! let baseline = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
//! let opts = BootstrapOptions { resamples: 2_000, seed: 7, ..BootstrapOptions::default() };
//! let b = paired_bootstrap_bca(&arm, &baseline, &opts)?;
//! assert_eq!(b.estimate.method, "bca-bootstrap");
//! assert!((b.estimate.point - 0.25).abs() < 1e-12);
//! assert!(b.estimate.ci.lower <= b.estimate.ci.upper);
//! # Ok::<(), itera_stats::StatsError>(())
//! ```

mod cluster;
mod multinomial;
mod paired;
mod resampler;
#[cfg(test)]
mod tests;

pub use cluster::{cluster_bootstrap, cluster_bootstrap_replicates};
pub use paired::{paired_bootstrap_bca, paired_bootstrap_percentile, paired_bootstrap_replicates};

use serde::{Deserialize, Serialize};

use crate::{Estimate, StatsError, check_finite, check_level};
use resampler::Resampler;

/// Number of replicates drawn from one ChaCha8 stream. Chunk `c` (replicates
/// `c·CHUNK_SIZE .. (c+1)·CHUNK_SIZE`) uses stream `c` of the generator seeded with
/// [`BootstrapOptions::seed`], which is what makes the result independent of the thread count.
pub const CHUNK_SIZE: usize = 512;

/// The multinomial path is used automatically only when there are at most this many distinct
/// per-row differences …
const MULTINOMIAL_MAX_DISTINCT: usize = 4096;
/// … and at least this many rows per distinct value (one binomial draw costs about as much as
/// drawing this many row indices).
const MULTINOMIAL_ROWS_PER_VALUE: usize = 16;
/// Below this many elementary draws in total, `threads: 0` runs on one thread (spawning costs
/// more than it saves).
const AUTO_THREAD_WORK: f64 = 4.0e6;
/// More worker threads than this are never started (the result does not depend on it).
const MAX_THREADS: usize = 256;
/// Upper limit on [`BootstrapOptions::resamples`] (the replicates are kept in memory).
pub const MAX_RESAMPLES: usize = 100_000_000;
/// Distinct values are collected by linear search up to this many, then through a hash map.
const LINEAR_SEARCH_DISTINCT: usize = 16;

/// How one bootstrap replicate is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResamplePath {
    /// Choose per call: [`Multinomial`](Self::Multinomial) when the differences take at most
    /// 4,096 distinct values and there are at least 16 rows per distinct value, else
    /// [`Direct`](Self::Direct). Only valid as a request; results report the path that ran.
    #[default]
    Auto,
    /// Draw the multinomial count vector over the distinct differences by sequential binomial
    /// draws (BINV / BTPE of Kachitvichyanukul & Schmeiser 1988, as implemented by statrs):
    /// O(distinct values) per replicate, same distribution as [`Direct`](Self::Direct).
    Multinomial,
    /// Draw every row index (Lemire's unbiased bounded integers): O(rows) per replicate. The
    /// cluster bootstrap always reports this path (it draws cluster indices).
    Direct,
}

/// Settings shared by the bootstrap functions.
///
/// ```
/// use itera_stats::bootstrap::BootstrapOptions;
/// let o = BootstrapOptions { resamples: 999, seed: 42, ..BootstrapOptions::default() };
/// assert_eq!(o.level, 0.95);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapOptions {
    /// Number of bootstrap replicates B (default 10,000), 1 to [`MAX_RESAMPLES`].
    pub resamples: usize,
    /// Confidence level of the two-sided interval (default 0.95).
    pub level: f64,
    /// Master seed of the ChaCha8 generator (default 0).
    pub seed: u64,
    /// Worker threads; 0 (default) picks `std::thread::available_parallelism` for large jobs and
    /// 1 for small ones. The replicates do not depend on this.
    pub threads: usize,
    /// Which resampling path to use (default [`ResamplePath::Auto`]).
    pub path: ResamplePath,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            resamples: 10_000,
            level: 0.95,
            seed: 0,
            threads: 0,
            path: ResamplePath::Auto,
        }
    }
}

/// A bootstrap interval: the [`Estimate`] (point = observed mean difference, `se` = standard
/// deviation of the replicates, `method` = `"percentile-bootstrap"`, `"bca-bootstrap"` or
/// `"cluster-bootstrap"`) plus how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapEstimate {
    /// Point estimate, interval, standard error and method name.
    pub estimate: Estimate,
    /// Number of bootstrap replicates B.
    pub resamples: usize,
    /// The resampling path that ran (never [`ResamplePath::Auto`]).
    pub path: ResamplePath,
}

fn check_options(opts: &BootstrapOptions) -> Result<(), StatsError> {
    check_level("level", opts.level)?;
    if opts.resamples == 0 || opts.resamples > MAX_RESAMPLES {
        return Err(StatsError::Invalid {
            what: "resamples",
            why: format!(
                "{} bootstrap resamples: pass 1 to {MAX_RESAMPLES} (10,000 is usual)",
                opts.resamples
            ),
        });
    }
    Ok(())
}

/// Validates a pair of slices and returns the per-row differences `arm − baseline`.
fn paired_diffs(arm: &[f64], baseline: &[f64]) -> Result<Vec<f64>, StatsError> {
    if arm.len() != baseline.len() {
        return Err(StatsError::LengthMismatch {
            left: "arm",
            left_len: arm.len(),
            right: "baseline",
            right_len: baseline.len(),
        });
    }
    if arm.is_empty() {
        return Err(StatsError::Empty {
            what: "arm",
            min: 2,
        });
    }
    if arm.len() < 2 {
        return Err(StatsError::TooFew {
            what: "arm",
            got: arm.len(),
            min: 2,
        });
    }
    check_finite("arm", arm)?;
    check_finite("baseline", baseline)?;
    let diffs: Vec<f64> = arm.iter().zip(baseline).map(|(a, b)| a - b).collect();
    // Finite inputs can still overflow (1e308 − (−1e308)).
    check_finite("arm − baseline", &diffs)?;
    Ok(diffs)
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n − 1); `None` below two values.
fn sample_sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// Quantile of sorted values with linear interpolation (Hyndman & Fan type 7, numpy's default).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    let h = last as f64 * q.clamp(0.0, 1.0);
    let lo = (h.floor() as usize).min(last);
    let hi = (lo + 1).min(last);
    let frac = h - lo as f64;
    if frac == 0.0 || sorted[hi] == sorted[lo] {
        sorted[lo]
    } else {
        sorted[lo] + frac * (sorted[hi] - sorted[lo])
    }
}

fn sort_replicates(reps: &mut [f64]) {
    reps.sort_unstable_by(f64::total_cmp);
}

/// Runs the sampler and reads the percentile interval off the sorted replicates.
fn percentile_interval(
    sampler: &Resampler<'_>,
    point: f64,
    opts: &BootstrapOptions,
    method: &str,
) -> Result<BootstrapEstimate, StatsError> {
    let mut reps = sampler.run(opts.resamples, opts.seed, opts.threads)?;
    let se = sample_sd(&reps);
    sort_replicates(&mut reps);
    let alpha = 1.0 - opts.level;
    Ok(BootstrapEstimate {
        estimate: Estimate::new(
            point,
            opts.level,
            quantile_sorted(&reps, alpha / 2.0),
            quantile_sorted(&reps, 1.0 - alpha / 2.0),
            se,
            method,
        ),
        resamples: opts.resamples,
        path: sampler.path(),
    })
}
