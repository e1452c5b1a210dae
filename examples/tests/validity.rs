//! The verdict-validity harness, reduced for CI (METHOD.md §5 "Validity, precisely"): simulated
//! experiments through the real pipeline (see `itera_examples::validity`), asserting every
//! target with a margin that makes a false failure rarer than 1 in 1,000.
//!
//! **Margins.** With R runs and a rate whose target boundary is p, the bound is
//! p ± z·√(p(1 − p)/R) with z = 3.9: one assertion fails falsely with probability
//! Φ(−3.9) = 4.8·10⁻⁵ when the true rate sits exactly on the target boundary, and the
//! 12 bounds asserted here together fail falsely with probability ≤ 12 × 4.8·10⁻⁵ = 5.8·10⁻⁴ <
//! 10⁻³ (Bonferroni). With R = 400: false ship ≤ 0.025 + 3.9·√(0.025·0.975/400) = 0.055; power in
//! [0.75 − 0.084, 0.85 + 0.070] = [0.666, 0.920]; slice protection ≥ 0.80 − 0.078 = 0.722;
//! aggregate coverage in [0.94 − 0.046, 0.96 + 0.038] = [0.894, 0.998] (slice coverage: R × slices
//! intervals, tighter). Seeded, so the outcome is deterministic.
//!
//! Each simulated experiment walks the whole pipeline and the journal is re-verified on every
//! phase; that takes ~15–20 ms per experiment in release and several times that in debug, so the
//! test is ignored in the debug workspace run. Run it with
//! `cargo test --release -p itera-examples --test validity -- --ignored` (about a minute).

#![allow(clippy::unwrap_used)] // tests state their expectations with unwrap

use itera_core::ThresholdRule;
use itera_examples::validity::{Measure, Measured, measure, scenarios};

const RUNS: usize = 400;
const Z: f64 = 3.9;
const SEED: u64 = 20_240_601;

fn margin(p: f64, trials: usize) -> f64 {
    Z * (p * (1.0 - p) / trials as f64).sqrt()
}

fn run(name: &str, rule: ThresholdRule) -> Measured {
    let all = scenarios().unwrap();
    let (i, s) = all
        .iter()
        .enumerate()
        .find(|(_, s)| s.name == name && (s.measure == Measure::Coverage || s.rule == rule))
        .unwrap();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    let m = measure(s, i as u64, RUNS, SEED, threads);
    assert_eq!(m.errors, 0, "{name}: {:?}", m.first_error);
    println!("{}", m.json());
    m
}

#[test]
#[ignore = "release-only: cargo test --release -p itera-examples --test validity -- --ignored"]
fn the_verdict_rules_meet_their_validity_targets() {
    let mut failures = Vec::new();
    let mut check = |what: String, ok: bool| {
        if !ok {
            failures.push(what);
        }
    };
    for rule in [ThresholdRule::Point, ThresholdRule::CiLower] {
        // False ship where only the CI guards (T below z·SE): ≤ α/2.
        let m = run("null-low-threshold", rule);
        let bound = 0.025 + margin(0.025, RUNS);
        check(
            format!("{rule:?} false ship {} > {bound:.4}", m.rate.rate),
            m.rate.rate <= bound,
        );
        // Power at the planner's 80 % effect: 75–85 %.
        let m = run("power", rule);
        let (lo, hi) = (0.75 - margin(0.75, RUNS), 0.85 + margin(0.85, RUNS));
        check(
            format!("{rule:?} power {} outside [{lo:.4}, {hi:.4}]", m.rate.rate),
            (lo..=hi).contains(&m.rate.rate),
        );
    }
    // Sub-threshold ship under ci-lower just below T: ≤ 2.5 %.
    let m = run("near-threshold", ThresholdRule::CiLower);
    let bound = 0.025 + margin(0.025, RUNS);
    check(
        format!("ci-lower sub-threshold ship {} > {bound:.4}", m.rate.rate),
        m.rate.rate <= bound,
    );
    // Slice protection under the default rule: ≥ 80 %.
    let m = run("slice-regression", ThresholdRule::Point);
    let bound = 0.80 - margin(0.80, RUNS);
    check(
        format!("slice protection {} < {bound:.4}", m.rate.rate),
        m.rate.rate >= bound,
    );
    // Coverage, aggregate and slices: 94–96 %.
    for name in ["coverage-clustered", "coverage-small-slices"] {
        let m = run(name, ThresholdRule::Point);
        let slices = m.slice_rate.unwrap();
        for (what, r) in [("aggregate", m.rate), ("slice", slices)] {
            let (lo, hi) = (0.94 - margin(0.94, r.trials), 0.96 + margin(0.96, r.trials));
            check(
                format!(
                    "{name} {what} coverage {} outside [{lo:.4}, {hi:.4}]",
                    r.rate
                ),
                (lo..=hi).contains(&r.rate),
            );
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
