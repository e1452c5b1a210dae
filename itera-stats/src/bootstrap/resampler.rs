//! The replicate engine shared by every bootstrap in this folder: the [`Resampler`] (direct row
//! draws, multinomial counts, or cluster draws), Lemire's unbiased bounded integers, and the
//! chunked, seed-per-stream runner that makes the replicates independent of the thread count.

use rand::distr::Distribution;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::Binomial;

use super::{AUTO_THREAD_WORK, CHUNK_SIZE, MAX_THREADS, MULTINOMIAL_ROWS_PER_VALUE, ResamplePath};
use crate::StatsError;

/// The per-replicate sampler. Built once per call; drawing a replicate never allocates.
pub(super) enum Resampler<'a> {
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

    pub(super) fn path(&self) -> ResamplePath {
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
    pub(super) fn run(&self, b: usize, seed: u64, threads: usize) -> Result<Vec<f64>, StatsError> {
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
