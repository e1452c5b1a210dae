//! The multinomial fast path ([`ResamplePath::Multinomial`]): collecting the distinct per-row
//! differences with their counts, building the sequential-binomial sampler over them, and the
//! per-call choice between that path and direct row draws.

use std::collections::HashMap;

use super::resampler::Resampler;
use super::{
    LINEAR_SEARCH_DISTINCT, MULTINOMIAL_MAX_DISTINCT, MULTINOMIAL_ROWS_PER_VALUE, ResamplePath,
};

/// Distinct values of `xs` (−0.0 folded into 0.0) with their counts, in order of first
/// appearance; `None` as soon as there are more than `limit`.
pub(super) fn distinct_counts(xs: &[f64], limit: usize) -> Option<Vec<(f64, u64)>> {
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

pub(super) fn paired_resampler(diffs: &[f64], path: ResamplePath) -> Resampler<'_> {
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
