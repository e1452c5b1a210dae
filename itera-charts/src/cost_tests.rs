//! Tests of the cost-vs-accuracy chart's numbers: Wilson intervals, the Pareto frontier, labels.
use super::*;
use crate::interval::normal_quantile;

/// Issue #19: the live run's points were all labelled "$0.00/1k" (real: $0.0020–0.0041).
/// Two significant digits below a dollar, cents above.
#[test]
fn cost_labels_keep_two_significant_digits() {
    assert_eq!(cost_label(0.0020), "$0.0020");
    assert_eq!(cost_label(0.0041), "$0.0041");
    assert_eq!(cost_label(0.5), "$0.50");
    assert_eq!(cost_label(0.047), "$0.047");
    assert_eq!(cost_label(12.3), "$12.30");
    assert_eq!(cost_label(0.0), "$0.00");
}

#[test]
fn wilson_matches_reference() {
    // scipy/statsmodels: proportion_confint(81, 263, method="wilson") -> (0.25529, 0.36621)
    let (lo, hi) = wilson(81.0 / 263.0, 263, 0.95);
    assert!((lo - 0.25529).abs() < 1e-5, "{lo}");
    assert!((hi - 0.36621).abs() < 1e-5, "{hi}");
    assert!((normal_quantile(0.975) - 1.959964).abs() < 1e-6);
    assert!((normal_quantile(0.005) + 2.575829).abs() < 1e-6);
}

#[test]
fn pareto_frontier_and_domination() {
    // a: cheap, low; b: dearer, better; c: dearer than b and worse (dominated);
    // d: unknown cost (neither); e: same cost as a, worse (dominated).
    let pts = [
        (Some(0.4), 0.70),
        (Some(1.0), 0.78),
        (Some(1.2), 0.75),
        (None, 0.9),
        (Some(0.4), 0.6),
    ];
    let (f, d) = pareto(&pts);
    assert_eq!(f, vec![0, 1]);
    assert_eq!(d, vec![false, false, true, false, true]);
}
