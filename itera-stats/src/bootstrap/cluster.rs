//! The cluster bootstrap: per-cluster totals of the paired differences, its replicates, and
//! its percentile interval (whole clusters are resampled, so within-cluster correlation is
//! kept).

use std::collections::HashMap;
use std::hash::Hash;

use super::resampler::Resampler;
use super::{
    BootstrapEstimate, BootstrapOptions, check_options, mean, paired_diffs, percentile_interval,
};
use crate::StatsError;

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
///
/// [`paired_bootstrap_percentile`]: super::paired_bootstrap_percentile
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
