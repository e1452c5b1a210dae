//! The generalization gate (G35): every change is classified (universal mechanism, lifted out,
//! deleted, hardcode — unclassified counts as hardcode); the leak detector (`leak.rs`) finds
//! literals a change adds that occur in dev rows but in no train row, not in the baseline's spec
//! and not in the registration; the seen-vs-unseen test compares the gain on revealed dev rows
//! with the gain on the rest. Outcome per arm: continue (every change general, signal not
//! saturated), lock (every change general, saturated), blocked (a hardcode remains among mostly
//! general changes: nothing is locked until it is removed or reverted), or kill (most changes
//! are hardcodes).

pub use super::leak::{LeakScope, detect_leaks, literals};
pub use crate::journal::record::{
    ArmGate, ChangeClass, ChangeReview, GateOutcome, GateReport, Leak, SeenUnseen,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Permutation test of "the gain on seen rows exceeds the gain on unseen rows" (one-sided),
/// seeded; `None` with fewer than two seen or two unseen rows.
pub(crate) fn seen_unseen(gains: &[(f64, bool)], seed: u64) -> Option<SeenUnseen> {
    let seen: Vec<f64> = gains.iter().filter(|g| g.1).map(|g| g.0).collect();
    let unseen: Vec<f64> = gains.iter().filter(|g| !g.1).map(|g| g.0).collect();
    if seen.len() < 2 || unseen.len() < 2 {
        return None;
    }
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let observed = mean(&seen) - mean(&unseen);
    let all: Vec<f64> = gains.iter().map(|g| g.0).collect();
    let k = seen.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pool = all.clone();
    const PERMUTATIONS: usize = 4000;
    let mut at_least = 0usize;
    let total: f64 = all.iter().sum();
    for _ in 0..PERMUTATIONS {
        // Partial Fisher–Yates: the first k elements are a uniform random subset.
        for i in 0..k {
            let j = i + (rng.next_u64() % (pool.len() - i) as u64) as usize;
            pool.swap(i, j);
        }
        let s: f64 = pool[..k].iter().sum();
        let diff = s / k as f64 - (total - s) / (all.len() - k) as f64;
        if diff >= observed - 1e-12 {
            at_least += 1;
        }
    }
    let p_value = (at_least + 1) as f64 / (PERMUTATIONS + 1) as f64;
    let (sg, ug) = (mean(&seen), mean(&unseen));
    // "No gain on unseen rows": the unseen mean is at most a third of the seen mean.
    let memorization = p_value < 0.05 && sg > 0.0 && ug <= sg / 3.0;
    Some(SeenUnseen {
        seen_rows: k,
        seen_gain: sg,
        unseen_gain: ug,
        p_value,
        memorization,
    })
}

/// One change as the gate's reason lists it: "v2 hardcode (leaks: 'stripe')".
fn describe(c: &ChangeReview) -> String {
    let class = match c.class {
        ChangeClass::Universal => "universal",
        ChangeClass::LiftedOut => "lifted-out",
        ChangeClass::Deleted => "deleted",
        ChangeClass::Hardcode => "hardcode",
    };
    let why = if let Some(to) = c.reverts_to {
        format!(" (revert to v{to})")
    } else if c.class != ChangeClass::Hardcode {
        String::new()
    } else if !c.leaks.is_empty() {
        let lits: Vec<String> = c.leaks.iter().map(|l| format!("'{}'", l.literal)).collect();
        format!(" (leaks: {})", lits.join(", "))
    } else if let Some(s) = c.seen_unseen.as_ref().filter(|s| s.memorization) {
        format!(
            " (memorizing: gain {:.3} on seen rows vs {:.3} on unseen, p = {:.4})",
            s.seen_gain, s.unseen_gain, s.p_value
        )
    } else if c.declared == Some(ChangeClass::Hardcode) {
        " (declared)".to_string()
    } else {
        " (unclassified)".to_string()
    };
    format!("v{} {class}{why}", c.version)
}

/// Decides an arm's outcome from its reviewed changes and whether its signal is saturated (G35):
/// continue or lock only when EVERY change is general (universal, lifted out or deleted); kill
/// when hardcodes are most (more than half) of the changes; otherwise blocked, so that no
/// version carrying a hardcode is ever locked (`tests/integrity_gate.rs::
/// a_minority_hardcode_blocks_the_gate_and_is_never_locked` fails without the blocked arm).
pub(crate) fn decide(changes: &[ChangeReview], saturated: bool) -> (GateOutcome, String) {
    let n = changes.len();
    let hard = changes
        .iter()
        .filter(|c| c.class == ChangeClass::Hardcode)
        .count();
    let listing = if changes.is_empty() {
        "no change since the last gate-passed version".to_string()
    } else {
        changes.iter().map(describe).collect::<Vec<_>>().join(", ")
    };
    if 2 * hard > n {
        return (
            GateOutcome::Kill,
            format!(
                "{hard} of {n} change(s) are hardcodes, most of them: kill the arm — {listing}"
            ),
        );
    }
    // G35: enforced here; removing this check fails
    // tests/integrity_gate.rs::a_minority_hardcode_blocks_the_gate_and_is_never_locked
    if hard > 0 {
        return (
            GateOutcome::Blocked,
            format!(
                "{hard} of {n} change(s) are hardcodes: blocked — remove the hardcode in a new iteration (or revert) and re-run the gate — {listing}"
            ),
        );
    }
    if saturated {
        (
            GateOutcome::Lock,
            format!(
                "every change is general but the last iteration was neutral or falsified: signal saturated, lock — {listing}"
            ),
        )
    } else {
        (
            GateOutcome::Continue,
            format!(
                "every change is general and the signal is not saturated: continue — {listing}"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_only_gains_are_flagged_and_uniform_gains_are_not() {
        let mut gains: Vec<(f64, bool)> = (0..40).map(|i| (0.0, i < 10)).collect();
        for g in gains.iter_mut().take(10) {
            g.0 = 1.0;
        }
        let s = seen_unseen(&gains, 1).unwrap();
        assert!(s.memorization && s.p_value < 0.01, "{s:?}");
        let uniform: Vec<(f64, bool)> = (0..40)
            .map(|i| (if i % 2 == 0 { 1.0 } else { 0.0 }, i < 10))
            .collect();
        let s = seen_unseen(&uniform, 1).unwrap();
        assert!(!s.memorization, "{s:?}");
    }

    fn change(version: u32, class: ChangeClass) -> ChangeReview {
        ChangeReview {
            version,
            declared: Some(class),
            class,
            leaks: Vec::new(),
            seen_unseen: None,
            reverts_to: None,
        }
    }

    /// G35's outcomes: continue (all general, not saturated), lock (all general, saturated),
    /// blocked (a hardcode among mostly general changes), kill (more than half hardcodes).
    #[test]
    fn outcomes_follow_g35_with_a_blocked_state() {
        use ChangeClass::*;
        let general = [
            change(1, Universal),
            change(2, LiftedOut),
            change(3, Deleted),
        ];
        assert_eq!(decide(&general, false).0, GateOutcome::Continue);
        assert_eq!(decide(&general, true).0, GateOutcome::Lock);
        let one_hard = [
            change(1, Universal),
            change(2, Hardcode),
            change(3, Universal),
        ];
        let (outcome, reason) = decide(&one_hard, false);
        assert_eq!(outcome, GateOutcome::Blocked);
        assert!(
            reason.ends_with("v1 universal, v2 hardcode (declared), v3 universal"),
            "{reason}"
        );
        // Saturation does not turn a blocked arm into a locked one.
        assert_eq!(decide(&one_hard, true).0, GateOutcome::Blocked);
        let half = [change(1, Universal), change(2, Hardcode)];
        assert_eq!(decide(&half, false).0, GateOutcome::Blocked);
        let most = [
            change(1, Hardcode),
            change(2, Hardcode),
            change(3, Universal),
        ];
        assert_eq!(decide(&most, false).0, GateOutcome::Kill);
    }
}
