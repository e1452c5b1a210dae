//! Benchmarks of itera-stats (DESIGN "Speed"): the 10,000-resample paired bootstrap over
//! 100,000 rows — binary scores (multinomial-count path) and continuous scores (direct path) —
//! and the default interval for 14 slices of 100,000 rows.
//!
//! `cargo bench -p itera-benches --bench stats`

use divan::Bencher;
use itera_stats::bootstrap::{
    BootstrapOptions, ResamplePath, paired_bootstrap_bca, paired_bootstrap_percentile,
};
use itera_stats::select::default_paired_interval;

fn main() {
    divan::main();
}

const ROWS: usize = 100_000;
const RESAMPLES: usize = 10_000;
const SLICES: usize = 14;

/// The deterministic data of `benches/scipy_bootstrap.py` (Weyl sequences), so numbers can be
/// compared with scipy's.
fn data(binary: bool) -> (Vec<f64>, Vec<f64>) {
    let frac = |x: f64| x - x.floor();
    (0..ROWS)
        .map(|i| {
            let i = i as f64;
            let u = frac(i * 0.618_033_988_749_894_9);
            let v = frac(i * 0.414_213_562_373_095_03 + 0.5);
            if binary {
                (f64::from(u8::from(u < 0.72)), f64::from(u8::from(v < 0.70)))
            } else {
                (u, v)
            }
        })
        .unzip()
}

fn opts(threads: usize, path: ResamplePath) -> BootstrapOptions {
    BootstrapOptions {
        resamples: RESAMPLES,
        seed: 1,
        threads,
        path,
        ..BootstrapOptions::default()
    }
}

/// Binary scores: the differences take 3 values, so each replicate is 2 binomial draws.
#[divan::bench(args = [1, 2])]
fn bootstrap_bca_binary_100k(bencher: Bencher<'_, '_>, threads: usize) {
    let (a, b) = data(true);
    let o = opts(threads, ResamplePath::Auto);
    bencher.bench(|| paired_bootstrap_bca(divan::black_box(&a), &b, &o));
}

/// Binary scores forced through the general O(n) path, for comparison.
#[divan::bench(args = [1, 2], sample_count = 3, sample_size = 1)]
fn bootstrap_percentile_binary_100k_direct(bencher: Bencher<'_, '_>, threads: usize) {
    let (a, b) = data(true);
    let o = opts(threads, ResamplePath::Direct);
    bencher.bench(|| paired_bootstrap_percentile(divan::black_box(&a), &b, &o));
}

/// Continuous scores: 100,000 distinct differences, general path (10⁹ index draws).
#[divan::bench(args = [1, 2], sample_count = 3, sample_size = 1)]
fn bootstrap_bca_continuous_100k(bencher: Bencher<'_, '_>, threads: usize) {
    let (a, b) = data(false);
    let o = opts(threads, ResamplePath::Auto);
    bencher.bench(|| paired_bootstrap_bca(divan::black_box(&a), &b, &o));
}

/// The default interval for each of 14 slices of 100,000 binary rows (row i in slice i mod 14),
/// including gathering each slice's rows into reused buffers.
#[divan::bench(args = [true, false])]
fn default_interval_14_slices_100k(bencher: Bencher<'_, '_>, binary: bool) {
    let (a, b) = data(binary);
    let slice_of: Vec<usize> = (0..ROWS).map(|i| (i * 7 + i / 3) % SLICES).collect();
    let mut sa: Vec<Vec<f64>> = (0..SLICES)
        .map(|_| Vec::with_capacity(ROWS / SLICES + 1))
        .collect();
    let mut sb: Vec<Vec<f64>> = (0..SLICES)
        .map(|_| Vec::with_capacity(ROWS / SLICES + 1))
        .collect();
    bencher.bench_local(|| {
        for v in sa.iter_mut().chain(sb.iter_mut()) {
            v.clear();
        }
        for ((&x, &y), &s) in a.iter().zip(&b).zip(&slice_of) {
            sa[s].push(x);
            sb[s].push(y);
        }
        sa.iter()
            .zip(&sb)
            .map(|(x, y)| default_paired_interval(x, y, None, 0.95).map(|e| e.ci.lower))
            .collect::<Vec<_>>()
    });
}
