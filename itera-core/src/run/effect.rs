//! Paired effects cut from a score cube: arm minus baseline over a chosen set of rows, with the
//! default interval of itera-stats (clustered when the rows declare clusters).

use crate::run::cube::ScoreCube;
use itera_stats::Estimate;
use std::collections::BTreeMap;

/// A paired effect over `n` rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PairedEffect {
    /// Rows both versions count on.
    pub n: usize,
    /// Mean difference with its interval (arm − baseline, as a fraction).
    pub estimate: Estimate,
}

/// The effect of cube arm `arm` over cube arm `base` on the rows `keep` accepts; `None` when
/// fewer than two rows count or the interval is undefined.
pub(crate) fn paired_effect(
    cube: &ScoreCube,
    arm: usize,
    base: usize,
    keep: &dyn Fn(usize) -> bool,
    level: f64,
) -> Option<PairedEffect> {
    let p = cube.paired(arm, base);
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut clusters = Vec::new();
    let mut ids: BTreeMap<&str, u64> = BTreeMap::new();
    let mut clustered = false;
    for ((&r, &x), &y) in p.rows.iter().zip(&p.arm).zip(&p.baseline) {
        if !keep(r) {
            continue;
        }
        a.push(x);
        b.push(y);
        let label = match &cube.clusters()[r] {
            Some(c) => {
                clustered = true;
                c.as_str()
            }
            None => cube.rows()[r].as_str(),
        };
        let next = ids.len() as u64;
        clusters.push(*ids.entry(label).or_insert(next));
    }
    if a.len() < 2 {
        return None;
    }
    // Clustered only when clusters are declared and there are at least two of them.
    let use_clusters = clustered && ids.len() >= 2;
    let estimate = itera_stats::select::default_paired_interval(
        &a,
        &b,
        use_clusters.then_some(clusters.as_slice()),
        level,
    )
    .ok()?;
    Some(PairedEffect {
        n: a.len(),
        estimate,
    })
}
