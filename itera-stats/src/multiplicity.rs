//! Multiple-comparison adjustments of p-values: Holm's step-down family-wise error control and
//! Benjamini–Hochberg false-discovery-rate control. Both return adjusted p-values in the input
//! order, to be compared against the unadjusted α.

use crate::StatsError;

fn check_pvalues(p: &[f64]) -> Result<(), StatsError> {
    if p.is_empty() {
        return Err(StatsError::Empty {
            what: "p-values",
            min: 1,
        });
    }
    crate::check_finite("p-values", p)?;
    if let Some(i) = p.iter().position(|x| !(0.0..=1.0).contains(x)) {
        return Err(StatsError::Invalid {
            what: "p-values",
            why: format!("p[{i}] = {} is outside [0, 1]", p[i]),
        });
    }
    Ok(())
}

/// Indices that sort `p` ascending (stable, so ties keep their input order).
fn order(p: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    idx
}

/// Holm (1979) step-down adjusted p-values: with p₍₁₎ ≤ … ≤ p₍ₘ₎,
/// adj₍ᵢ₎ = maxⱼ≤ᵢ min(1, (m − j + 1)·p₍ⱼ₎). Matches statsmodels
/// `multipletests(p, method="holm")[1]`.
///
/// Errors: empty, non-finite, or a value outside [0, 1].
///
/// ```
/// let adj = itera_stats::multiplicity::holm(&[0.01, 0.04, 0.03, 0.005, 0.2]).unwrap();
/// let want = [0.04, 0.09, 0.09, 0.025, 0.2];
/// assert!(adj.iter().zip(want).all(|(x, y)| (x - y).abs() < 1e-12));
/// ```
pub fn holm(p: &[f64]) -> Result<Vec<f64>, StatsError> {
    check_pvalues(p)?;
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order(p).iter().enumerate() {
        let adj = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    Ok(out)
}

/// Benjamini–Hochberg (1995) step-up adjusted p-values ("q-values"): with p₍₁₎ ≤ … ≤ p₍ₘ₎,
/// adj₍ᵢ₎ = minⱼ≥ᵢ min(1, m·p₍ⱼ₎ / j). Matches statsmodels
/// `multipletests(p, method="fdr_bh")[1]`.
///
/// Errors: empty, non-finite, or a value outside [0, 1].
///
/// ```
/// let adj = itera_stats::multiplicity::benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, 0.2]).unwrap();
/// let want = [0.025, 0.05, 0.05, 0.025, 0.2];
/// assert!(adj.iter().zip(want).all(|(x, y)| (x - y).abs() < 1e-12));
/// ```
pub fn benjamini_hochberg(p: &[f64]) -> Result<Vec<f64>, StatsError> {
    check_pvalues(p)?;
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut running: f64 = 1.0;
    for (rank, &i) in order(p).iter().enumerate().rev() {
        let adj = (m as f64 * p[i] / (rank + 1) as f64).min(1.0);
        running = running.min(adj);
        out[i] = running;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(x: &[f64], y: &[f64]) -> bool {
        x.len() == y.len() && x.iter().zip(y).all(|(a, b)| (a - b).abs() < 1e-12)
    }

    // from statsmodels.stats.multitest import multipletests
    // p=[.01,.04,.03,.005,.2]
    // multipletests(p, method='holm')[1]   -> [0.04, 0.09, 0.09, 0.025, 0.2]
    // multipletests(p, method='fdr_bh')[1] -> [0.025, 0.05, 0.05, 0.025, 0.2]
    // p2=[0.5,0.01,0.9,0.02,0.03,0.04,1.0,0.0]
    // multipletests(p2, method='holm')[1]   -> [1.0, 0.07, 1.0, 0.12, 0.15, 0.16, 1.0, 0.0]
    // multipletests(p2, method='fdr_bh')[1] -> [0.6666666666666666, 0.04, 1.0, 0.05333333333333334,
    //                                           0.06, 0.064, 1.0, 0.0]
    #[test]
    fn matches_statsmodels() {
        let p = [0.01, 0.04, 0.03, 0.005, 0.2];
        assert!(close(&holm(&p).unwrap(), &[0.04, 0.09, 0.09, 0.025, 0.2]));
        assert!(close(
            &benjamini_hochberg(&p).unwrap(),
            &[0.025, 0.05, 0.05, 0.025, 0.2]
        ));
        let p2 = [0.5, 0.01, 0.9, 0.02, 0.03, 0.04, 1.0, 0.0];
        assert!(close(
            &holm(&p2).unwrap(),
            &[1.0, 0.07, 1.0, 0.12, 0.15, 0.16, 1.0, 0.0]
        ));
        assert!(close(
            &benjamini_hochberg(&p2).unwrap(),
            &[
                0.6666666666666666,
                0.04,
                1.0,
                0.05333333333333334,
                0.06,
                0.064,
                1.0,
                0.0
            ]
        ));
    }

    #[test]
    fn bad_input() {
        assert!(matches!(holm(&[]), Err(StatsError::Empty { .. })));
        assert!(matches!(
            holm(&[f64::NAN]),
            Err(StatsError::NotFinite { .. })
        ));
        assert!(matches!(
            benjamini_hochberg(&[0.1, 1.5]),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            benjamini_hochberg(&[-0.1]),
            Err(StatsError::Invalid { .. })
        ));
    }
}
