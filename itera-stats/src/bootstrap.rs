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

use std::collections::HashMap;
use std::hash::Hash;

use rand::distr::Distribution;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ContinuousCDF, Normal};

use crate::{Estimate, StatsError, check_finite, check_level};

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

/// The per-replicate sampler. Built once per call; drawing a replicate never allocates.
enum Resampler<'a> {
    /// Draw `n` row indices.
    Direct { diffs: &'a [f64] },
    /// Sequential binomial counts over distinct values, most frequent first.
    Multinomial {
        values: Vec<f64>,
        /// `cond_p[j] = count_j / Σ_{i ≥ j} count_i`; the last one is exactly 1.
        cond_p: Vec<f64>,
        n: u64,
    },
    /// Draw cluster indices; the replicate is Σ sums / Σ counts over the drawn clusters.
    Cluster { sums: Vec<f64>, counts: Vec<f64> },
}

/// Unbiased integer in `0..n` (Lemire 2019, "Fast random integer generation in an interval",
/// ACM TOMACS 29(1)). `n ≥ 1`.
#[inline]
fn index_below<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    if let Ok(n32) = u32::try_from(n) {
        let mut m = u64::from(rng.next_u32()) * u64::from(n32);
        let mut low = m as u32;
        if low < n32 {
            let threshold = n32.wrapping_neg() % n32;
            while low < threshold {
                m = u64::from(rng.next_u32()) * u64::from(n32);
                low = m as u32;
            }
        }
        (m >> 32) as usize
    } else {
        let n64 = n as u64;
        let mut m = u128::from(rng.next_u64()) * u128::from(n64);
        let mut low = m as u64;
        if low < n64 {
            let threshold = n64.wrapping_neg() % n64;
            while low < threshold {
                m = u128::from(rng.next_u64()) * u128::from(n64);
                low = m as u64;
            }
        }
        (m >> 64) as usize
    }
}

/// Two unbiased integers in `0..n` from one 64-bit draw (its halves are two Lemire
/// candidates; a rejected half is redrawn with [`index_below`]). `n ≥ 1`.
#[inline]
fn two_indices_below<R: Rng + ?Sized>(rng: &mut R, n: u32) -> (usize, usize) {
    let x = rng.next_u64();
    let one = |half: u32, rng: &mut R| {
        let m = u64::from(half) * u64::from(n);
        if (m as u32) < n && (m as u32) < n.wrapping_neg() % n {
            index_below(rng, n as usize)
        } else {
            (m >> 32) as usize
        }
    };
    let i = one(x as u32, rng);
    let j = one((x >> 32) as u32, rng);
    (i, j)
}

impl Resampler<'_> {
    /// Draws one replicate of the statistic.
    #[inline]
    fn replicate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<f64, StatsError> {
        match self {
            Resampler::Direct { diffs } => {
                let n = diffs.len();
                // Four accumulators break the floating-point add dependency chain.
                let mut acc = [0.0_f64; 4];
                if let Ok(n32) = u32::try_from(n) {
                    // One 64-bit draw gives two 32-bit Lemire candidates.
                    for _ in 0..n / 4 {
                        let (i, j) = two_indices_below(rng, n32);
                        let (k, l) = two_indices_below(rng, n32);
                        acc[0] += diffs[i];
                        acc[1] += diffs[j];
                        acc[2] += diffs[k];
                        acc[3] += diffs[l];
                    }
                } else {
                    for _ in 0..n / 4 {
                        for a in &mut acc {
                            *a += diffs[index_below(rng, n)];
                        }
                    }
                }
                for _ in 0..n % 4 {
                    acc[0] += diffs[index_below(rng, n)];
                }
                Ok(((acc[0] + acc[1]) + (acc[2] + acc[3])) / n as f64)
            }
            Resampler::Multinomial { values, cond_p, n } => {
                let mut remaining = *n;
                let mut sum = 0.0;
                for (&v, &p) in values.iter().zip(cond_p) {
                    if remaining == 0 {
                        break;
                    }
                    let x = if p >= 1.0 {
                        remaining
                    } else {
                        let dist =
                            Binomial::new(p, remaining).map_err(|e| StatsError::Invalid {
                                what: "binomial draw",
                                why: e.to_string(),
                            })?;
                        Distribution::<u64>::sample(&dist, rng).min(remaining)
                    };
                    sum += x as f64 * v;
                    remaining -= x;
                }
                Ok(sum / *n as f64)
            }
            Resampler::Cluster { sums, counts } => {
                let c = sums.len();
                let (mut s, mut k) = (0.0, 0.0);
                for _ in 0..c {
                    let i = index_below(rng, c);
                    s += sums[i];
                    k += counts[i];
                }
                Ok(s / k)
            }
        }
    }

    /// Rough cost of one replicate in elementary draws, for the auto thread count.
    fn work(&self) -> f64 {
        match self {
            Resampler::Direct { diffs } => diffs.len() as f64,
            Resampler::Multinomial { values, .. } => {
                values.len() as f64 * MULTINOMIAL_ROWS_PER_VALUE as f64
            }
            Resampler::Cluster { sums, .. } => sums.len() as f64,
        }
    }

    fn path(&self) -> ResamplePath {
        match self {
            Resampler::Multinomial { .. } => ResamplePath::Multinomial,
            Resampler::Direct { .. } | Resampler::Cluster { .. } => ResamplePath::Direct,
        }
    }

    /// Fills chunk number `chunk` from its own stream.
    fn fill_chunk(&self, seed: u64, chunk: usize, out: &mut [f64]) -> Result<(), StatsError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(chunk as u64);
        for x in out.iter_mut() {
            *x = self.replicate(&mut rng)?;
        }
        Ok(())
    }

    /// Draws `b` replicates in chunk order, on `threads` threads (0 = auto).
    fn run(&self, b: usize, seed: u64, threads: usize) -> Result<Vec<f64>, StatsError> {
        let mut out = vec![0.0; b];
        let chunks = b.div_ceil(CHUNK_SIZE);
        let threads = if threads == 0 {
            if b as f64 * self.work() >= AUTO_THREAD_WORK {
                std::thread::available_parallelism().map_or(1, |t| t.get())
            } else {
                1
            }
        } else {
            threads
        }
        .clamp(1, chunks.clamp(1, MAX_THREADS));
        if threads == 1 {
            for (c, slice) in out.chunks_mut(CHUNK_SIZE).enumerate() {
                self.fill_chunk(seed, c, slice)?;
            }
            return Ok(out);
        }
        let per_thread = chunks.div_ceil(threads);
        std::thread::scope(|scope| {
            let mut handles = Vec::with_capacity(threads);
            for (g, group) in out.chunks_mut(per_thread * CHUNK_SIZE).enumerate() {
                let handle = std::thread::Builder::new()
                    .spawn_scoped(scope, move || -> Result<(), StatsError> {
                        for (i, slice) in group.chunks_mut(CHUNK_SIZE).enumerate() {
                            self.fill_chunk(seed, g * per_thread + i, slice)?;
                        }
                        Ok(())
                    })
                    .map_err(|e| StatsError::Invalid {
                        what: "threads",
                        why: format!("cannot start a bootstrap worker thread: {e}"),
                    })?;
                handles.push(handle);
            }
            for h in handles {
                h.join().map_err(|_| StatsError::Invalid {
                    what: "threads",
                    why: "a bootstrap worker thread panicked".to_string(),
                })??;
            }
            Ok::<(), StatsError>(())
        })?;
        Ok(out)
    }
}

/// Distinct values of `xs` (−0.0 folded into 0.0) with their counts, in order of first
/// appearance; `None` as soon as there are more than `limit`.
fn distinct_counts(xs: &[f64], limit: usize) -> Option<Vec<(f64, u64)>> {
    let mut vals: Vec<(f64, u64)> = Vec::new();
    let mut index: Option<HashMap<u64, usize>> = None;
    for &x in xs {
        let x = if x == 0.0 { 0.0 } else { x };
        let pos = match &index {
            None => vals.iter().position(|v| v.0 == x),
            Some(map) => map.get(&x.to_bits()).copied(),
        };
        match pos {
            Some(i) => vals[i].1 += 1,
            None => {
                if vals.len() >= limit {
                    return None;
                }
                vals.push((x, 1));
                match &mut index {
                    Some(map) => {
                        map.insert(x.to_bits(), vals.len() - 1);
                    }
                    None if vals.len() > LINEAR_SEARCH_DISTINCT => {
                        index = Some(
                            vals.iter()
                                .enumerate()
                                .map(|(i, v)| (v.0.to_bits(), i))
                                .collect(),
                        );
                    }
                    None => {}
                }
            }
        }
    }
    Some(vals)
}

fn multinomial_resampler(mut vals: Vec<(f64, u64)>, n: usize) -> Resampler<'static> {
    // Most frequent first: the remaining count hits zero sooner.
    vals.sort_by_key(|v| std::cmp::Reverse(v.1));
    let mut tail: u64 = vals.iter().map(|v| v.1).sum();
    let mut values = Vec::with_capacity(vals.len());
    let mut cond_p = Vec::with_capacity(vals.len());
    for (v, c) in vals {
        values.push(v);
        cond_p.push(if c >= tail {
            1.0
        } else {
            c as f64 / tail as f64
        });
        tail -= c;
    }
    Resampler::Multinomial {
        values,
        cond_p,
        n: n as u64,
    }
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

fn paired_resampler(diffs: &[f64], path: ResamplePath) -> Resampler<'_> {
    let n = diffs.len();
    match path {
        ResamplePath::Direct => Resampler::Direct { diffs },
        ResamplePath::Multinomial => match distinct_counts(diffs, usize::MAX) {
            Some(vals) => multinomial_resampler(vals, n),
            None => Resampler::Direct { diffs },
        },
        ResamplePath::Auto => {
            let limit = MULTINOMIAL_MAX_DISTINCT.min(n / MULTINOMIAL_ROWS_PER_VALUE);
            match distinct_counts(diffs, limit) {
                Some(vals) if !vals.is_empty() => multinomial_resampler(vals, n),
                _ => Resampler::Direct { diffs },
            }
        }
    }
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

/// The bootstrap replicates of the mean paired difference `mean(arm − baseline)`, in
/// generation order (chunk by chunk). Useful for custom intervals or plots; the interval
/// functions below are built on the same draws, so the same options give the same replicates.
///
/// Errors: empty input, unequal lengths, fewer than 2 rows, a non-finite value, zero resamples
/// or a level outside (0, 1).
///
/// ```
/// use itera_stats::bootstrap::{BootstrapOptions, paired_bootstrap_replicates};
/// let opts = BootstrapOptions { resamples: 100, seed: 1, ..BootstrapOptions::default() };
/// let r = paired_bootstrap_replicates(&[1.0, 0.0, 1.0], &[0.0, 0.0, 1.0], &opts)?;
/// assert_eq!(r.len(), 100);
/// assert!(r.iter().all(|x| (0.0..=1.0).contains(x)));
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn paired_bootstrap_replicates(
    arm: &[f64],
    baseline: &[f64],
    opts: &BootstrapOptions,
) -> Result<Vec<f64>, StatsError> {
    check_options(opts)?;
    let diffs = paired_diffs(arm, baseline)?;
    let sampler = paired_resampler(&diffs, opts.path);
    sampler.run(opts.resamples, opts.seed, opts.threads)
}

/// Paired bootstrap **percentile** interval for the mean difference `mean(arm − baseline)`
/// (Efron & Tibshirani 1993, §13.3): resample rows with replacement B times, take the mean
/// difference of each resample, and report the α/2 and 1 − α/2 quantiles of the replicates
/// (linear interpolation, as numpy / `scipy.stats.bootstrap(method="percentile")`).
///
/// `se` is the standard deviation of the replicates. With few distinct differences the
/// multinomial-count path runs (see the [module docs](self)); `path` in the result says which.
///
/// Errors: empty input, unequal lengths, fewer than 2 rows, a non-finite value, zero resamples
/// or a level outside (0, 1).
///
/// ```
/// use itera_stats::bootstrap::{BootstrapOptions, paired_bootstrap_percentile};
/// let arm = [0.9, 0.8, 0.7, 0.95, 0.6];
/// let baseline = [0.8, 0.8, 0.6, 0.9, 0.5];
/// let b = paired_bootstrap_percentile(&arm, &baseline, &BootstrapOptions::default())?;
/// assert_eq!(b.estimate.method, "percentile-bootstrap");
/// assert_eq!(b.resamples, 10_000);
/// assert!(b.estimate.ci.lower >= 0.0 && b.estimate.ci.upper <= 0.1 + 1e-12);
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn paired_bootstrap_percentile(
    arm: &[f64],
    baseline: &[f64],
    opts: &BootstrapOptions,
) -> Result<BootstrapEstimate, StatsError> {
    check_options(opts)?;
    let diffs = paired_diffs(arm, baseline)?;
    let sampler = paired_resampler(&diffs, opts.path);
    percentile_interval(&sampler, mean(&diffs), opts, "percentile-bootstrap")
}

/// Paired bootstrap **BCa** (bias-corrected and accelerated) interval for the mean difference
/// `mean(arm − baseline)` (Efron 1987, JASA 82:171; Efron & Tibshirani 1993, §14.3).
///
/// * bias correction `z0 = Φ⁻¹(p)` with the mid-rank proportion
///   `p = (#{θ* < θ̂} + #{θ* ≤ θ̂}) / 2B`, as scipy ≥ 1.9 (ties within 1e-9 of the scale of the
///   data count as ties, so both resampling paths agree on lattices); `p` is clamped to
///   `[1/2B, 1 − 1/2B]`;
/// * acceleration from the jackknife of the mean, `a = Σ(dᵢ − d̄)³ / (6 (Σ(dᵢ − d̄)²)^{3/2})`
///   (0 when all differences are equal);
/// * interval = quantiles of the replicates at `Φ(z0 + (z0 + z_q)/(1 − a(z0 + z_q)))` for
///   `q = α/2, 1 − α/2`, with linear interpolation.
///
/// Checked against `scipy.stats.bootstrap((arm, baseline), paired=True, method="BCa")`.
/// Errors as [`paired_bootstrap_percentile`].
///
/// ```
/// use itera_stats::bootstrap::{BootstrapOptions, paired_bootstrap_bca};
/// let arm = [0.62, 0.71, 0.55, 0.90, 0.48, 0.77, 0.69, 0.83, 0.58, 0.74, 0.95, 0.66];
/// let baseline = [0.60, 0.64, 0.57, 0.70, 0.50, 0.69, 0.61, 0.80, 0.59, 0.62, 0.71, 0.65];
/// let opts = BootstrapOptions { resamples: 20_000, seed: 3, ..BootstrapOptions::default() };
/// let b = paired_bootstrap_bca(&arm, &baseline, &opts)?;
/// // scipy (200,000 resamples): (0.02833, 0.12217)
/// assert!((b.estimate.ci.lower - 0.02833).abs() < 0.004);
/// assert!((b.estimate.ci.upper - 0.12217).abs() < 0.006);
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn paired_bootstrap_bca(
    arm: &[f64],
    baseline: &[f64],
    opts: &BootstrapOptions,
) -> Result<BootstrapEstimate, StatsError> {
    check_options(opts)?;
    let diffs = paired_diffs(arm, baseline)?;
    let sampler = paired_resampler(&diffs, opts.path);
    let mut reps = sampler.run(opts.resamples, opts.seed, opts.threads)?;
    let se = sample_sd(&reps);
    sort_replicates(&mut reps);

    let theta = mean(&diffs);
    let scale = diffs
        .iter()
        .fold(0.0_f64, |m, d| m.max(d.abs()))
        .max(1e-300);
    let tol = 1e-9 * scale;
    let b = reps.len() as f64;
    let below = reps.partition_point(|&r| r < theta - tol) as f64;
    let at_or_below = reps.partition_point(|&r| r <= theta + tol) as f64;
    let p = ((below + at_or_below) / (2.0 * b)).clamp(0.5 / b, 1.0 - 0.5 / b);

    let (mut s2, mut s3) = (0.0, 0.0);
    for d in &diffs {
        let c = d - theta;
        s2 += c * c;
        s3 += c * c * c;
    }
    let accel = if s2 > 0.0 {
        s3 / (6.0 * s2.powf(1.5))
    } else {
        0.0
    };

    let normal = Normal::new(0.0, 1.0).map_err(|e| StatsError::Invalid {
        what: "normal distribution",
        why: e.to_string(),
    })?;
    let z0 = normal.inverse_cdf(p);
    let alpha = 1.0 - opts.level;
    let adjusted = |q: f64| {
        let zq = normal.inverse_cdf(q);
        let num = z0 + zq;
        let den = 1.0 - accel * num;
        if den <= 0.0 {
            // Acceleration beyond the usable range: the interval runs to the end.
            if q < 0.5 { 0.0 } else { 1.0 }
        } else {
            normal.cdf(z0 + num / den)
        }
    };
    let (lo_q, hi_q) = (adjusted(alpha / 2.0), adjusted(1.0 - alpha / 2.0));
    Ok(BootstrapEstimate {
        estimate: Estimate::new(
            theta,
            opts.level,
            quantile_sorted(&reps, lo_q),
            quantile_sorted(&reps, hi_q),
            se,
            "bca-bootstrap",
        ),
        resamples: opts.resamples,
        path: sampler.path(),
    })
}

/// Builds the per-cluster sums and counts, clusters in order of first appearance.
fn cluster_totals<C: Eq + Hash>(
    diffs: &[f64],
    clusters: &[C],
) -> Result<(Vec<f64>, Vec<f64>), StatsError> {
    if clusters.len() != diffs.len() {
        return Err(StatsError::LengthMismatch {
            left: "arm",
            left_len: diffs.len(),
            right: "clusters",
            right_len: clusters.len(),
        });
    }
    let mut index: HashMap<&C, usize> = HashMap::new();
    let (mut sums, mut counts) = (Vec::new(), Vec::new());
    for (d, c) in diffs.iter().zip(clusters) {
        let next = sums.len();
        let i = *index.entry(c).or_insert(next);
        if i == next {
            sums.push(0.0);
            counts.push(0.0);
        }
        sums[i] += d;
        counts[i] += 1.0;
    }
    if sums.len() < 2 {
        return Err(StatsError::TooFew {
            what: "clusters",
            got: sums.len(),
            min: 2,
        });
    }
    Ok((sums, counts))
}

/// The replicates of [`cluster_bootstrap`], in generation order.
///
/// ```
/// use itera_stats::bootstrap::{BootstrapOptions, cluster_bootstrap_replicates};
/// let opts = BootstrapOptions { resamples: 50, ..BootstrapOptions::default() };
/// let r = cluster_bootstrap_replicates(&[1.0, 0.0, 1.0, 1.0], &[0.0; 4], &[1, 1, 2, 2], &opts)?;
/// assert!(r.iter().all(|&x| x == 0.5 || x == 0.75 || x == 1.0));
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn cluster_bootstrap_replicates<C: Eq + Hash>(
    arm: &[f64],
    baseline: &[f64],
    clusters: &[C],
    opts: &BootstrapOptions,
) -> Result<Vec<f64>, StatsError> {
    check_options(opts)?;
    let diffs = paired_diffs(arm, baseline)?;
    let (sums, counts) = cluster_totals(&diffs, clusters)?;
    Resampler::Cluster { sums, counts }.run(opts.resamples, opts.seed, opts.threads)
}

/// **Cluster bootstrap** percentile interval for the mean paired difference when rows come in
/// clusters (several rows from one document, user or template): draw C clusters with
/// replacement out of the C observed, pool their rows, take the mean difference of the pooled
/// rows; the interval is the α/2 and 1 − α/2 quantiles of the replicates (Davison & Hinkley
/// 1997, §3.8; Field & Welsh 2007, JRSS-B 69:369, on why resampling clusters, not rows, keeps
/// the within-cluster correlation). The point estimate is the mean over all rows.
///
/// `clusters[i]` is the cluster label of row `i` (any hashable type). Needs at least 2
/// clusters; with few clusters (< ~20) the interval is too narrow — prefer the cluster-robust
/// t interval there. Errors as [`paired_bootstrap_percentile`], plus a length mismatch of
/// `clusters` and fewer than 2 clusters.
///
/// ```
/// use itera_stats::bootstrap::{BootstrapOptions, cluster_bootstrap};
/// let arm = [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0];
/// let baseline = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0];
/// let clusters = ["a", "a", "b", "b", "c", "c", "d", "d"];
/// let b = cluster_bootstrap(&arm, &baseline, &clusters, &BootstrapOptions::default())?;
/// assert_eq!(b.estimate.method, "cluster-bootstrap");
/// assert!(b.estimate.ci.lower >= 0.0 && b.estimate.ci.upper <= 1.0);
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn cluster_bootstrap<C: Eq + Hash>(
    arm: &[f64],
    baseline: &[f64],
    clusters: &[C],
    opts: &BootstrapOptions,
) -> Result<BootstrapEstimate, StatsError> {
    check_options(opts)?;
    let diffs = paired_diffs(arm, baseline)?;
    let (sums, counts) = cluster_totals(&diffs, clusters)?;
    let sampler = Resampler::Cluster { sums, counts };
    percentile_interval(&sampler, mean(&diffs), opts, "cluster-bootstrap")
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

#[cfg(test)]
mod tests {
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
        1., 1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1., 0., 1., 1., 1., 1., 0., 1., 1., 1., 1.,
        0., 1., 1., 1., 0., 1., 1.,
    ];
    const BIN_B: [f64; 30] = [
        1., 0., 0., 1., 1., 0., 0., 1., 1., 0., 0., 1., 1., 0., 1., 0., 1., 1., 0., 1., 0., 1., 1.,
        1., 1., 0., 1., 0., 1., 1.,
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
            let pop_sd =
                (diffs.iter().map(|d| (d - theta).powi(2)).sum::<f64>() / m).sqrt() / m.sqrt();
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
}
