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

/// Words buffered at a time by [`Words`] (64 ChaCha blocks).
const WORD_BUFFER: usize = 1024;

/// The 32-bit words of a ChaCha8 stream in the order `next_u32` / `next_u64` hand them out
/// (`next_u64` is two consecutive words, low first), generated in bulk into a reused buffer.
pub(super) struct Words {
    rng: ChaCha8Rng,
    /// The generator's bytes as `fill_bytes` writes them (little-endian words): word `i` is
    /// `bytes[4i..4i + 4]`, read in place (no second copy into a word array).
    buf: Box<[u8; 4 * WORD_BUFFER]>,
    pos: usize,
}

/// Word `i` of a buffer of little-endian words.
#[inline(always)]
fn word_at(buf: &[u8], i: usize) -> u32 {
    let b = &buf[4 * i..4 * i + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl Words {
    pub(super) fn new(rng: ChaCha8Rng) -> Words {
        Words {
            rng,
            buf: Box::new([0; 4 * WORD_BUFFER]),
            pos: WORD_BUFFER,
        }
    }

    fn refill(&mut self) {
        self.rng.fill_bytes(&mut self.buf[..]);
        self.pos = 0;
    }

    #[inline]
    fn next(&mut self) -> u32 {
        if self.pos == WORD_BUFFER {
            self.refill();
        }
        let w = word_at(&self.buf[..], self.pos);
        self.pos += 1;
        w
    }

    /// Lemire's unbiased integer in `0..n` from the next word(s), as [`index_below`].
    #[inline]
    fn below(&mut self, n: u32) -> usize {
        let mut m = u64::from(self.next()) * u64::from(n);
        if (m as u32) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u32) < threshold {
                m = u64::from(self.next()) * u64::from(n);
            }
        }
        (m >> 32) as usize
    }

    /// A candidate word already drawn, finished as [`two_indices_below`] does: a rejected one
    /// is replaced by a fresh [`Words::below`].
    #[inline]
    fn finish(&mut self, word: u32, n: u32) -> usize {
        let m = u64::from(word) * u64::from(n);
        if (m as u32) < n && (m as u32) < n.wrapping_neg() % n {
            self.below(n)
        } else {
            (m >> 32) as usize
        }
    }
}

/// One replicate of the direct paired bootstrap: exactly the draws and the summation order of
/// `Resampler::replicate` for `Direct` (four accumulators; each group of four indices comes
/// from two 64-bit draws), read from the word buffer. The common case — four candidates none of
/// which can be rejected (`m mod 2³² ≥ n`, rejection needs less) — runs on the buffer directly.
fn direct_replicate(diffs: &[f64], n32: u32, words: &mut Words) -> f64 {
    let n = diffs.len();
    let nn = u64::from(n32);
    let mut acc = [0.0_f64; 4];
    let mut quads = n / 4;
    while quads > 0 {
        if words.pos + 4 <= WORD_BUFFER {
            let avail = ((WORD_BUFFER - words.pos) / 4).min(quads);
            let start = words.pos;
            let mut done = 0;
            for q in words.buf[4 * start..4 * (start + 4 * avail)].chunks_exact(16) {
                let m0 = u64::from(word_at(q, 0)) * nn;
                let m1 = u64::from(word_at(q, 1)) * nn;
                let m2 = u64::from(word_at(q, 2)) * nn;
                let m3 = u64::from(word_at(q, 3)) * nn;
                if (m0 as u32) < n32 || (m1 as u32) < n32 || (m2 as u32) < n32 || (m3 as u32) < n32
                {
                    break;
                }
                acc[0] += diffs[(m0 >> 32) as usize];
                acc[1] += diffs[(m1 >> 32) as usize];
                acc[2] += diffs[(m2 >> 32) as usize];
                acc[3] += diffs[(m3 >> 32) as usize];
                done += 1;
            }
            words.pos += 4 * done;
            quads -= done;
            if done == avail {
                continue;
            }
        }
        // A quad across the buffer's end, or one with a candidate that may be rejected: word by
        // word, in `two_indices_below`'s order.
        let (w0, w1) = (words.next(), words.next());
        let i = words.finish(w0, n32);
        let j = words.finish(w1, n32);
        let (w2, w3) = (words.next(), words.next());
        let k = words.finish(w2, n32);
        let l = words.finish(w3, n32);
        acc[0] += diffs[i];
        acc[1] += diffs[j];
        acc[2] += diffs[k];
        acc[3] += diffs[l];
        quads -= 1;
    }
    for _ in 0..n % 4 {
        acc[0] += diffs[words.below(n32)];
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) / n as f64
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
        if let Resampler::Direct { diffs } = self
            && let Ok(n32) = u32::try_from(diffs.len())
        {
            // The hot path: the same words in the same order as `replicate`, read from a
            // buffer filled in bulk (`tests::direct_fast_path_is_bit_identical`).
            let mut words = Words::new(rng);
            for x in out.iter_mut() {
                *x = direct_replicate(diffs, n32, &mut words);
            }
            return Ok(());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(seed: u64, chunk: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(chunk);
        rng
    }

    /// The buffered word stream gives the indices `index_below` / `two_indices_below` give, in
    /// the same order — with n = 10⁹, where 2³² mod n rejects 6.9% of the candidates, so the
    /// rejection path runs thousands of times.
    #[test]
    fn words_draw_the_same_indices_as_the_rng_with_rejections() {
        let n = 1_000_000_000u32;
        let mut rng = stream(11, 3);
        let mut words = Words::new(stream(11, 3));
        for step in 0..50_000 {
            if step % 3 == 0 {
                assert_eq!(
                    index_below(&mut rng, n as usize),
                    words.below(n),
                    "step {step}"
                );
            } else {
                let (i, j) = two_indices_below(&mut rng, n);
                let (w0, w1) = (words.next(), words.next());
                let a = words.finish(w0, n);
                let b = words.finish(w1, n);
                assert_eq!((i, j), (a, b), "step {step}");
            }
        }
    }

    /// The fast direct path is bit-identical to drawing each replicate through the generator
    /// (odd row counts, several chunks, the buffer's end crossed mid-replicate).
    #[test]
    fn direct_fast_path_is_bit_identical() {
        for n in [2usize, 3, 7, 1_001, 20_003] {
            let diffs: Vec<f64> = (0..n)
                .map(|i| ((i * 37 % 101) as f64 - 50.0) / 7.0)
                .collect();
            let sampler = Resampler::Direct { diffs: &diffs };
            for chunk in [0u64, 5] {
                let mut rng = stream(42, chunk);
                let mut words = Words::new(stream(42, chunk));
                for r in 0..40 {
                    let slow = sampler
                        .replicate(&mut rng)
                        .expect("direct draws cannot fail");
                    let fast = direct_replicate(&diffs, n as u32, &mut words);
                    assert_eq!(
                        slow.to_bits(),
                        fast.to_bits(),
                        "n {n}, chunk {chunk}, rep {r}"
                    );
                }
            }
        }
    }
}
