//! Agreement between judges: the direction-agreement count used by the cross-judge check
//! (METHOD.md §3, G29), Cohen's κ for two raters, and Krippendorff's α for any number of coders
//! with missing values at the nominal, ordinal, interval or ratio level.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::{StatsError, check_finite};

/// Direction agreement between two judges' signed differences (arm − baseline) on the same
/// rows. Each difference is classed as +, − or tie (|d| ≤ `tie_tolerance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectionAgreement {
    /// Rows compared.
    pub n: usize,
    /// Both judges see the same strict direction (both + or both −).
    pub same_direction: usize,
    /// Both judges see a tie.
    pub both_tied: usize,
    /// One judge sees a tie and the other a strict direction.
    pub one_tied: usize,
    /// The judges see opposite strict directions.
    pub opposite: usize,
}

impl DirectionAgreement {
    /// Rows counted as agreeing: `same_direction + both_tied`.
    pub fn agree(&self) -> usize {
        self.same_direction + self.both_tied
    }

    /// Rows counted as disagreeing: `opposite + one_tied` (a tie against a strict direction is
    /// a disagreement: the judges do not tell the same story).
    pub fn disagree(&self) -> usize {
        self.opposite + self.one_tied
    }

    /// `agree() / n`.
    pub fn rate(&self) -> f64 {
        self.agree() as f64 / self.n as f64
    }
}

/// Counts rows where two judges' signed differences point the same way (the cross-judge check
/// of METHOD.md §3: trusted at ≥ 4/5 agreement).
///
/// Ties are explicit: a difference with |d| ≤ `tie_tolerance` is a tie. Both tied → agreement
/// (`both_tied`); one tied, one strict → disagreement (`one_tied`); opposite strict signs →
/// disagreement (`opposite`). Use `tie_tolerance = 0.0` for exact zeros only.
///
/// Errors: empty, length mismatch, non-finite values, `tie_tolerance` negative or not finite.
///
/// ```
/// let j1 = [0.2, -0.1, 0.0, 0.3, 0.1];
/// let j2 = [0.1, -0.3, 0.0, -0.2, 0.0];
/// let r = itera_stats::agreement::direction_agreement(&j1, &j2, 0.0).unwrap();
/// assert_eq!((r.same_direction, r.both_tied, r.opposite, r.one_tied), (2, 1, 1, 1));
/// assert_eq!((r.agree(), r.disagree()), (3, 2));
/// ```
pub fn direction_agreement(
    judge1: &[f64],
    judge2: &[f64],
    tie_tolerance: f64,
) -> Result<DirectionAgreement, StatsError> {
    crate::proportions::check_pair_slices(judge1, judge2)?;
    if !(tie_tolerance.is_finite() && tie_tolerance >= 0.0) {
        return Err(StatsError::Invalid {
            what: "tie_tolerance",
            why: format!("{tie_tolerance}: pass a finite value >= 0"),
        });
    }
    let sign = |d: f64| -> i8 {
        if d.abs() <= tie_tolerance {
            0
        } else if d > 0.0 {
            1
        } else {
            -1
        }
    };
    let mut out = DirectionAgreement {
        n: judge1.len(),
        same_direction: 0,
        both_tied: 0,
        one_tied: 0,
        opposite: 0,
    };
    for (&x, &y) in judge1.iter().zip(judge2) {
        match (sign(x), sign(y)) {
            (0, 0) => out.both_tied += 1,
            (0, _) | (_, 0) => out.one_tied += 1,
            (s, t) if s == t => out.same_direction += 1,
            _ => out.opposite += 1,
        }
    }
    Ok(out)
}

/// Cohen's κ for two raters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Kappa {
    /// Items rated.
    pub n: usize,
    /// Observed agreement p_o.
    pub observed: f64,
    /// Agreement expected by chance from the marginals, p_e.
    pub expected: f64,
    /// κ = (p_o − p_e)/(1 − p_e); `None` when p_e = 1 (both raters used one and the same
    /// category throughout: κ is undefined).
    pub kappa: Option<f64>,
}

/// Cohen's (1960) κ for two raters' nominal labels (any `Hash + Eq` type). Matches
/// statsmodels `cohens_kappa(table).kappa` on the cross-tabulation (unweighted).
///
/// Errors: empty or length mismatch.
///
/// ```
/// let r1 = ["y", "y", "n", "n", "y", "n"];
/// let r2 = ["y", "n", "n", "n", "y", "n"];
/// let k = itera_stats::agreement::cohens_kappa(&r1, &r2).unwrap();
/// assert!((k.kappa.unwrap() - 2.0 / 3.0).abs() < 1e-12);
/// ```
pub fn cohens_kappa<K: Hash + Eq>(rater1: &[K], rater2: &[K]) -> Result<Kappa, StatsError> {
    if rater1.is_empty() {
        return Err(StatsError::Empty {
            what: "rater1",
            min: 1,
        });
    }
    if rater1.len() != rater2.len() {
        return Err(StatsError::LengthMismatch {
            left: "rater1",
            left_len: rater1.len(),
            right: "rater2",
            right_len: rater2.len(),
        });
    }
    let n = rater1.len();
    let mut m1: HashMap<&K, usize> = HashMap::new();
    let mut m2: HashMap<&K, usize> = HashMap::new();
    let mut agree = 0usize;
    for (x, y) in rater1.iter().zip(rater2) {
        *m1.entry(x).or_insert(0) += 1;
        *m2.entry(y).or_insert(0) += 1;
        if x == y {
            agree += 1;
        }
    }
    let nf = n as f64;
    let observed = agree as f64 / nf;
    // Sum the chance terms in a fixed order (HashMap order varies between runs).
    let mut terms: Vec<f64> = m1
        .iter()
        .filter_map(|(k, &c1)| m2.get(k).map(|&c2| (c1 as f64 / nf) * (c2 as f64 / nf)))
        .collect();
    terms.sort_by(f64::total_cmp);
    let expected: f64 = terms.iter().sum();
    let kappa = if (1.0 - expected).abs() < 1e-15 {
        None
    } else {
        Some((observed - expected) / (1.0 - expected))
    };
    Ok(Kappa {
        n,
        observed,
        expected,
        kappa,
    })
}

/// Measurement level for Krippendorff's α (the difference function δ²).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// δ² = 0 if equal, else 1.
    Nominal,
    /// δ²_ck = (Σ_{g=c..k} n_g − (n_c + n_k)/2)², from the value frequencies n_g.
    Ordinal,
    /// δ² = (c − k)².
    Interval,
    /// δ² = ((c − k)/(c + k))² (0 when c + k = 0).
    Ratio,
}

/// Krippendorff's α (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability") for a
/// reliability matrix: one row per coder, one column per unit, `None` for a missing value.
/// Units with fewer than two values are not pairable and are skipped. α = 1 − D_o/D_e from the
/// coincidence matrix. Matches the `krippendorff` Python package (0.9) and Krippendorff's own
/// 4-coder, 12-unit example (nominal 0.743, ordinal 0.815, interval 0.849).
///
/// Returns `Ok(None)` when α is undefined (no expected disagreement: every pairable value is
/// the same). Errors: fewer than 2 coders, rows of unequal length, non-finite values, fewer
/// than 2 pairable values.
///
/// ```
/// use itera_stats::agreement::{krippendorff_alpha, Level};
/// let data = vec![
///     vec![Some(1.0), Some(2.0), Some(3.0), Some(3.0)],
///     vec![Some(1.0), Some(2.0), Some(3.0), None],
/// ];
/// assert_eq!(krippendorff_alpha(&data, Level::Nominal).unwrap(), Some(1.0));
/// ```
pub fn krippendorff_alpha<R: AsRef<[Option<f64>]>>(
    coders: &[R],
    level: Level,
) -> Result<Option<f64>, StatsError> {
    if coders.len() < 2 {
        return Err(StatsError::TooFew {
            what: "coders",
            got: coders.len(),
            min: 2,
        });
    }
    let units = coders[0].as_ref().len();
    for row in coders {
        let row = row.as_ref();
        if row.len() != units {
            return Err(StatsError::LengthMismatch {
                left: "coder 0",
                left_len: units,
                right: "another coder",
                right_len: row.len(),
            });
        }
        let present: Vec<f64> = row.iter().flatten().copied().collect();
        check_finite("reliability data", &present)?;
    }
    // Distinct values, sorted.
    let mut values: Vec<f64> = coders
        .iter()
        .flat_map(|r| r.as_ref().iter().flatten().copied())
        .collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let v = values.len();
    let index = |x: f64| values.partition_point(|&y| y < x);
    // Coincidence matrix.
    let mut o = vec![vec![0.0f64; v]; v];
    let mut counts = vec![0usize; v];
    for u in 0..units {
        counts.iter_mut().for_each(|c| *c = 0);
        let mut m = 0usize;
        for row in coders {
            if let Some(x) = row.as_ref()[u] {
                counts[index(x)] += 1;
                m += 1;
            }
        }
        if m < 2 {
            continue;
        }
        let w = 1.0 / (m as f64 - 1.0);
        for c in 0..v {
            if counts[c] == 0 {
                continue;
            }
            for k in 0..v {
                let pairs = if c == k {
                    counts[c] * (counts[c] - 1)
                } else {
                    counts[c] * counts[k]
                };
                o[c][k] += pairs as f64 * w;
            }
        }
    }
    let n_c: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = n_c.iter().sum();
    if n < 2.0 {
        return Err(StatsError::TooFew {
            what: "pairable values",
            got: n.round() as usize,
            min: 2,
        });
    }
    let delta2 = |c: usize, k: usize| -> f64 {
        match level {
            Level::Nominal => {
                if c == k {
                    0.0
                } else {
                    1.0
                }
            }
            Level::Interval => (values[c] - values[k]).powi(2),
            Level::Ratio => {
                let s = values[c] + values[k];
                if s == 0.0 {
                    0.0
                } else {
                    ((values[c] - values[k]) / s).powi(2)
                }
            }
            Level::Ordinal => {
                let (lo, hi) = if c <= k { (c, k) } else { (k, c) };
                let between: f64 = n_c[lo..=hi].iter().sum();
                (between - (n_c[c] + n_c[k]) / 2.0).powi(2)
            }
        }
    };
    let (mut d_o, mut d_e) = (0.0, 0.0);
    for c in 0..v {
        for k in 0..v {
            let d = delta2(c, k);
            d_o += o[c][k] * d;
            d_e += n_c[c] * n_c[k] * d;
        }
    }
    if d_e <= 0.0 {
        return Ok(None);
    }
    Ok(Some(1.0 - (n - 1.0) * d_o / d_e))
}

#[cfg(test)]
mod tests {
    use super::*;

    // import numpy as np
    // from statsmodels.stats.inter_rater import cohens_kappa
    // r1=[0,1,2,1,0,2,2,1,0,1,1,2,0,0,1]; r2=[0,1,2,2,0,1,2,1,0,0,1,2,1,0,1]
    // tab=np.zeros((3,3))
    // for x,y in zip(r1,r2): tab[x,y]+=1
    // cohens_kappa(tab).kappa -> 0.5945945945945944
    #[test]
    fn kappa_matches_statsmodels() {
        let r1 = [0u8, 1, 2, 1, 0, 2, 2, 1, 0, 1, 1, 2, 0, 0, 1];
        let r2 = [0u8, 1, 2, 2, 0, 1, 2, 1, 0, 0, 1, 2, 1, 0, 1];
        let k = cohens_kappa(&r1, &r2).unwrap();
        assert!((k.kappa.unwrap() - 0.5945945945945944).abs() < 1e-12);
        let same = cohens_kappa(&[1, 1, 1], &[1, 1, 1]).unwrap();
        assert_eq!(same.kappa, None);
        assert!(matches!(
            cohens_kappa::<u8>(&[], &[]),
            Err(StatsError::Empty { .. })
        ));
        assert!(matches!(
            cohens_kappa(&[1], &[1, 2]),
            Err(StatsError::LengthMismatch { .. })
        ));
    }

    // Krippendorff (2011) example, 4 coders x 12 units; published alpha: nominal .743,
    // ordinal .815, interval .849, ratio .797. Digits from the krippendorff package 0.9:
    // import krippendorff; nan=np.nan
    // R=[[1,2,3,3,2,1,4,1,2,nan,nan,nan],[1,2,3,3,2,2,4,1,2,5,nan,3],
    //    [nan,3,3,3,2,3,4,2,2,5,1,nan],[1,2,3,3,2,4,4,1,2,5,1,nan]]
    // krippendorff.alpha(reliability_data=R, level_of_measurement=lv) ->
    //   nominal 0.743421052631579, ordinal 0.8153875037548814,
    //   interval 0.8491071428571428, ratio 0.7974027747116121
    // R2=[[1.5,2.0,nan,4.0,3.2,2.2],[1.0,2.5,3.0,4.0,nan,2.0],[1.5,nan,3.5,3.0,3.0,nan]]
    //   interval -> 0.851461038961039
    // R3=[[1,1,2,3,nan,3,1],[1,2,2,3,3,nan,2],[2,1,2,nan,3,3,1]]
    //   nominal 0.5277777777777778, ordinal 0.7638888888888888, interval 0.7638888888888888
    fn matrix(rows: &[&[f64]]) -> Vec<Vec<Option<f64>>> {
        rows.iter()
            .map(|r| r.iter().map(|&x| (!x.is_nan()).then_some(x)).collect())
            .collect()
    }

    #[test]
    fn krippendorff_matches_package_and_paper() {
        let nan = f64::NAN;
        let r = matrix(&[
            &[1., 2., 3., 3., 2., 1., 4., 1., 2., nan, nan, nan],
            &[1., 2., 3., 3., 2., 2., 4., 1., 2., 5., nan, 3.],
            &[nan, 3., 3., 3., 2., 3., 4., 2., 2., 5., 1., nan],
            &[1., 2., 3., 3., 2., 4., 4., 1., 2., 5., 1., nan],
        ]);
        let a = |lv| krippendorff_alpha(&r, lv).unwrap().unwrap();
        assert!((a(Level::Nominal) - 0.743421052631579).abs() < 1e-12);
        assert!((a(Level::Ordinal) - 0.8153875037548814).abs() < 1e-12);
        assert!((a(Level::Interval) - 0.8491071428571428).abs() < 1e-12);
        assert!((a(Level::Ratio) - 0.7974027747116121).abs() < 1e-12);
        let r2 = matrix(&[
            &[1.5, 2.0, nan, 4.0, 3.2, 2.2],
            &[1.0, 2.5, 3.0, 4.0, nan, 2.0],
            &[1.5, nan, 3.5, 3.0, 3.0, nan],
        ]);
        let x = krippendorff_alpha(&r2, Level::Interval).unwrap().unwrap();
        assert!((x - 0.851461038961039).abs() < 1e-12);
        let r3 = matrix(&[
            &[1., 1., 2., 3., nan, 3., 1.],
            &[1., 2., 2., 3., 3., nan, 2.],
            &[2., 1., 2., nan, 3., 3., 1.],
        ]);
        let a3 = |lv| krippendorff_alpha(&r3, lv).unwrap().unwrap();
        assert!((a3(Level::Nominal) - 0.5277777777777778).abs() < 1e-12);
        assert!((a3(Level::Ordinal) - 0.7638888888888888).abs() < 1e-12);
        assert!((a3(Level::Interval) - 0.7638888888888888).abs() < 1e-12);
    }

    #[test]
    fn krippendorff_edges() {
        let same = vec![vec![Some(1.0), Some(1.0)], vec![Some(1.0), Some(1.0)]];
        assert_eq!(krippendorff_alpha(&same, Level::Interval).unwrap(), None);
        let one: Vec<Vec<Option<f64>>> = vec![vec![Some(1.0)]];
        assert!(matches!(
            krippendorff_alpha(&one, Level::Nominal),
            Err(StatsError::TooFew { what: "coders", .. })
        ));
        let unpaired = vec![vec![Some(1.0), None], vec![None, Some(2.0)]];
        assert!(matches!(
            krippendorff_alpha(&unpaired, Level::Nominal),
            Err(StatsError::TooFew { .. })
        ));
        let ragged = vec![vec![Some(1.0), None], vec![None]];
        assert!(matches!(
            krippendorff_alpha(&ragged, Level::Nominal),
            Err(StatsError::LengthMismatch { .. })
        ));
        let bad = vec![vec![Some(f64::NAN)], vec![Some(1.0)]];
        assert!(matches!(
            krippendorff_alpha(&bad, Level::Nominal),
            Err(StatsError::NotFinite { .. })
        ));
    }

    #[test]
    fn direction_agreement_ties() {
        let r = direction_agreement(&[0.01, -0.02, 0.5], &[0.0, 0.03, 0.4], 0.015).unwrap();
        assert_eq!(
            (r.both_tied, r.opposite, r.same_direction, r.one_tied),
            (1, 1, 1, 0)
        );
        assert!(matches!(
            direction_agreement(&[0.1], &[0.1], -1.0),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            direction_agreement(&[], &[], 0.0),
            Err(StatsError::Empty { .. })
        ));
    }
}
