//! The generalization gate (G35): every change is classified (universal mechanism, lifted out,
//! deleted, hardcode — unclassified counts as hardcode); the leak detector finds literals a change
//! adds that occur in dev or test rows but in no train row and not in the baseline's spec; the
//! seen-vs-unseen test compares the gain on revealed dev rows with the gain on the rest. Outcome
//! per arm: continue, lock, or kill.

use crate::data::row::{Row, RowId};
pub use crate::journal::record::{
    ArmGate, ChangeClass, ChangeReview, GateOutcome, GateReport, Leak, SeenUnseen,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// Splits text into the literals the leak detector looks for: numbers, quoted strings, id-like
/// tokens (letters with digits, `_` or `-`), capitalized names, and word 3-grams.
pub(crate) fn literals(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // Quoted strings.
    for quote in ['"', '\'', '`'] {
        let mut parts = text.split(quote);
        parts.next();
        while let (Some(inside), Some(_)) = (parts.next(), Some(())) {
            let t = inside.trim();
            if t.len() >= 3 && t.len() <= 80 && !t.contains('\n') {
                out.insert(t.to_lowercase());
            }
        }
    }
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || ",;:()[]{}<>\"'`!?".contains(c))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '*'))
        .filter(|w| !w.is_empty())
        .collect();
    for w in &words {
        let has_digit = w.chars().any(|c| c.is_ascii_digit());
        let id_like = w.len() >= 3
            && w.chars().any(|c| c.is_alphabetic())
            && (has_digit || w.contains('_') || w.contains('-'));
        let number = has_digit && w.chars().filter(|c| c.is_ascii_digit()).count() >= 2;
        let name = w.len() >= 4
            && w.chars().next().is_some_and(|c| c.is_uppercase())
            && w.chars().skip(1).any(|c| c.is_lowercase());
        if id_like || number || name {
            out.insert(w.to_lowercase());
        }
    }
    let lower: Vec<String> = words
        .iter()
        .map(|w| w.to_lowercase())
        .filter(|w| w.chars().any(|c| c.is_alphanumeric()))
        .collect();
    for g in lower.windows(3) {
        out.insert(g.join(" "));
    }
    out
}

/// The text of a row the detector searches: input and expected value.
fn row_text(row: &Row) -> String {
    let mut t = match &row.input {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(e) = &row.expected {
        t.push('\n');
        match e {
            serde_json::Value::String(s) => t.push_str(s),
            other => t.push_str(&other.to_string()),
        }
    }
    t.to_lowercase()
}

/// Literals the new spec adds (not in the old spec) that occur in dev or test rows but in no
/// train row and not in the baseline spec. A leak makes the change a hardcode.
pub fn detect_leaks(
    old_spec: &str,
    new_spec: &str,
    baseline_spec: &str,
    train: &[Row],
    dev: &[Row],
    test: &[Row],
) -> Vec<Leak> {
    let old = literals(old_spec);
    let base = literals(baseline_spec);
    let (old_text, base_text) = (old_spec.to_lowercase(), baseline_spec.to_lowercase());
    // Not added: a literal the previous or baseline spec already has, as a literal or as words
    // in its text (e.g. the output labels a prompt lists, later quoted in a JSON schema).
    let added: Vec<String> = literals(new_spec)
        .into_iter()
        .filter(|l| !old.contains(l) && !base.contains(l))
        .filter(|l| !contains_word(&old_text, l) && !contains_word(&base_text, l))
        .collect();
    if added.is_empty() {
        return Vec::new();
    }
    let train_text: Vec<String> = train.iter().map(row_text).collect();
    let dev_text: Vec<String> = dev.iter().map(row_text).collect();
    let test_text: Vec<String> = test.iter().map(row_text).collect();
    let contains = contains_word;
    let mut leaks = Vec::new();
    for lit in added {
        if train_text.iter().any(|t| contains(t, &lit)) {
            continue;
        }
        let dev_rows: Vec<RowId> = dev
            .iter()
            .zip(&dev_text)
            .filter(|(_, t)| contains(t, &lit))
            .map(|(r, _)| r.id.clone())
            .collect();
        let test_rows = test_text.iter().filter(|t| contains(t, &lit)).count();
        if !dev_rows.is_empty() || test_rows > 0 {
            leaks.push(Leak {
                literal: lit,
                dev_rows: dev_rows.into_iter().take(20).collect(),
                test_rows,
            });
        }
    }
    leaks
}

/// Whether `needle` occurs in `hay` on word boundaries.
fn contains_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric())
    })
}

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

/// Decides an arm's outcome from its reviewed changes and whether its signal is saturated.
pub(crate) fn decide(changes: &[ChangeReview], saturated: bool) -> (GateOutcome, String) {
    let hard = changes
        .iter()
        .filter(|c| c.class == ChangeClass::Hardcode)
        .count();
    if !changes.is_empty() && 2 * hard >= changes.len() {
        return (
            GateOutcome::Kill,
            format!(
                "{hard} of {} change(s) are hardcodes (unclassified, declared, leaking or memorizing)",
                changes.len()
            ),
        );
    }
    if saturated {
        (
            GateOutcome::Lock,
            "changes are general but the last iteration was neutral or falsified: signal saturated"
                .into(),
        )
    } else {
        (
            GateOutcome::Continue,
            format!("{} change(s) reviewed, all general enough", changes.len()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_find_numbers_ids_names_quotes_and_trigrams() {
        let l = literals(
            r#"If vendor is "Acme Widgets" and amount 4312.50, use ACCT_991 for Zebulon."#,
        );
        for want in [
            "acme widgets",
            "4312.50",
            "acct_991",
            "zebulon",
            "if vendor is",
        ] {
            assert!(l.contains(want), "{want} not in {l:?}");
        }
    }

    #[test]
    fn labels_the_previous_spec_already_names_are_not_leaks() {
        let dev = vec![Row::new("d1", "Uber trip").expected("travel")];
        let old = "Answer with one of: travel, software, transfer.";
        let new = "Answer with one of: travel, software, transfer.\nschema: {\"enum\": [\"travel\", \"software\", \"transfer\"]}";
        assert!(detect_leaks(old, new, old, &[], &dev, &[]).is_empty());
        // A value the previous spec does not name still leaks.
        let pasted = format!("{old}\nIf the text is \"Uber trip\" answer travel.");
        assert!(!detect_leaks(old, &pasted, old, &[], &dev, &[]).is_empty());
    }

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
}
