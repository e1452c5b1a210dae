//! The default confidence interval for a paired difference — the one the verdict (METHOD.md §5,
//! R1 and R3) uses — chosen from the shape of the data by a fixed, documented rule.

use crate::paired::{paired_t, paired_t_clustered};
use crate::proportions::{PairedCounts, all_binary, check_pair_slices, newcombe_paired_diff};
use crate::{Estimate, StatsError, check_level};

/// Below this many rows, paired **binary** scores get the Newcombe paired interval instead of
/// the t interval. CLT-based intervals under-cover for small n on binary evals (Bowyer et al.
/// 2025, "Don't use the CLT in LLM evals with fewer than a few hundred datapoints"); 50 is a
/// starting point that the coverage simulation is meant to tune.
pub const PAIRED_BINARY_SMALL_N: usize = 50;

/// The default interval for the paired difference mean(a − b), by this rule (first match):
///
/// 1. `clusters` given → clustered t ([`paired_t_clustered`], Miller 2024; C − 1 df), method
///    `"cluster-t"`.
/// 2. every score in `a` and `b` is exactly 0 or 1 and n < [`PAIRED_BINARY_SMALL_N`] → the
///    Newcombe (1998b) method-10 interval for paired proportions
///    ([`newcombe_paired_diff`]), method `"newcombe-paired"` (its `se` is `None`).
/// 3. otherwise → paired t ([`paired_t`]; n − 1 df), method `"paired-t"`.
///
/// Cluster labels are `u64` here (map your labels to integers, e.g. by index of first
/// appearance); [`paired_t_clustered`] itself takes any `Hash + Eq` label.
///
/// Errors: empty, length mismatch (of `a`, `b`, or `clusters`), non-finite, fewer than 2 rows
/// (all three branches, for one consistent contract), fewer than 2 clusters, `level` outside
/// (0, 1).
///
/// ```
/// use itera_stats::select::default_paired_interval;
/// let a = [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
/// let b = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
/// let e = default_paired_interval(&a, &b, None, 0.95).unwrap();
/// assert_eq!(e.method, "newcombe-paired");
/// assert!((e.point - 0.375).abs() < 1e-12);
/// let g = [1, 1, 2, 2, 3, 3, 4, 4];
/// assert_eq!(default_paired_interval(&a, &b, Some(&g), 0.95).unwrap().method, "cluster-t");
/// ```
pub fn default_paired_interval(
    a: &[f64],
    b: &[f64],
    clusters: Option<&[u64]>,
    level: f64,
) -> Result<Estimate, StatsError> {
    check_pair_slices(a, b)?;
    check_level("level", level)?;
    if a.len() < 2 {
        return Err(StatsError::TooFew {
            what: "paired rows",
            got: a.len(),
            min: 2,
        });
    }
    if let Some(g) = clusters {
        return Ok(paired_t_clustered(a, b, g, level)?.diff);
    }
    if a.len() < PAIRED_BINARY_SMALL_N && all_binary(a) && all_binary(b) {
        let table = PairedCounts::from_scores(a, b)?;
        return newcombe_paired_diff(table, level);
    }
    Ok(paired_t(a, b, level)?.diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_picks_the_documented_method() {
        let a = [0.9, 0.4, 0.7, 0.8];
        let b = [0.5, 0.5, 0.6, 0.7];
        assert_eq!(
            default_paired_interval(&a, &b, None, 0.95).unwrap().method,
            "paired-t"
        );
        let bin_a: Vec<f64> = (0..60).map(|i| f64::from(i % 2)).collect();
        let bin_b: Vec<f64> = (0..60).map(|i| f64::from(i % 3 == 0)).collect();
        assert_eq!(
            default_paired_interval(&bin_a, &bin_b, None, 0.95)
                .unwrap()
                .method,
            "paired-t"
        );
        assert_eq!(
            default_paired_interval(&bin_a[..49], &bin_b[..49], None, 0.95)
                .unwrap()
                .method,
            "newcombe-paired"
        );
        // same numbers as newcombe_paired_diff on the tabulated scores
        let e = default_paired_interval(&bin_a[..20], &bin_b[..20], None, 0.9).unwrap();
        let t = PairedCounts::from_scores(&bin_a[..20], &bin_b[..20]).unwrap();
        assert_eq!(e, newcombe_paired_diff(t, 0.9).unwrap());
    }

    #[test]
    fn bad_input() {
        assert!(matches!(
            default_paired_interval(&[], &[], None, 0.95),
            Err(StatsError::Empty { .. })
        ));
        assert!(matches!(
            default_paired_interval(&[1.0], &[0.0], None, 0.95),
            Err(StatsError::TooFew { .. })
        ));
        assert!(matches!(
            default_paired_interval(&[1.0, 0.0], &[0.0, 1.0], Some(&[1]), 0.95),
            Err(StatsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            default_paired_interval(&[1.0, 0.0], &[0.0, 1.0], Some(&[1, 1]), 0.95),
            Err(StatsError::TooFew { .. })
        ));
        assert!(matches!(
            default_paired_interval(&[1.0, 0.0], &[0.0, 1.0], None, 2.0),
            Err(StatsError::BadLevel { .. })
        ));
    }
}
