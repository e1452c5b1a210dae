//! Row-resampling paired bootstraps of the mean difference `arm − baseline`: the replicates
//! themselves, the percentile interval and the BCa interval (with scipy's mid-rank bias
//! correction and the jackknife acceleration).

use statrs::distribution::{ContinuousCDF, Normal};

use super::multinomial::paired_resampler;
use super::{
    BootstrapEstimate, BootstrapOptions, check_options, mean, paired_diffs, percentile_interval,
    quantile_sorted, sample_sd, sort_replicates,
};
use crate::{Estimate, StatsError};

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
/// multinomial-count path runs (see the [module docs](super)); `path` in the result says which.
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
