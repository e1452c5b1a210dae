//! The leak detector of the generalization gate (G35 a): the literals a change adds to an arm's
//! spec — names in any case, acronyms, numbers of two digits or more, ids, quoted strings and
//! distinctive word n-grams — that occur in dev rows but in no train row, not in the baseline's
//! spec and not in the registration. Matching is case-insensitive and on word boundaries.
//!
//! Distinctive literals (numbers, ids, acronyms, quoted strings, names written capitalized
//! inside a sentence, word 3-grams) are searched in every dev row. Plain words and word 2-grams
//! are searched only where the one iterating could have read them — revealed dev rows (G17) and
//! dev expected values — since an ordinary word of an instruction occurs in some unseen row by
//! chance. The sealed test rows are never read: nothing computed before the verdict may depend
//! on them (G39); `tests/integrity_gate.rs::the_gate_never_reads_test_rows` fails if it does.

use crate::data::row::{Row, RowId};
use crate::journal::record::Leak;
use std::collections::{BTreeMap, BTreeSet};

/// What the leak detector compares a change against: train and dev only.
#[derive(Debug, Clone, Copy)]
pub struct LeakScope<'a> {
    /// The baseline's spec: literals it has are not leaks.
    pub baseline_spec: &'a str,
    /// The registration's text (the frame): literals it has were fixed before any row was seen.
    pub registration: &'a str,
    /// Train rows, shown freely: literals they have are not leaks.
    pub train: &'a [Row],
    /// Dev rows.
    pub dev: &'a [Row],
    /// Revealed dev rows (the seen set, G17).
    pub revealed: &'a BTreeSet<RowId>,
}

/// How far a literal is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    /// Plain words and 2-grams: revealed dev rows and dev expected values.
    Seen,
    /// Distinctive literals: every dev row.
    AllDev,
}

/// Words too common to be a leak on their own (they still count inside a 3-gram with another
/// word).
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "always", "am", "an", "and", "any",
    "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
    "but", "by", "can", "could", "did", "do", "does", "each", "else", "every", "few", "for",
    "from", "had", "has", "have", "he", "her", "here", "him", "his", "how", "if", "in", "into",
    "is", "it", "its", "just", "least", "less", "like", "many", "may", "me", "more", "most",
    "much", "must", "my", "never", "no", "nor", "not", "now", "of", "off", "on", "once", "one",
    "only", "or", "other", "our", "out", "over", "own", "same", "she", "should", "so", "some",
    "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "those", "three", "through", "to", "too", "two", "under", "until", "up", "us", "use", "very",
    "was", "way", "we", "were", "what", "when", "where", "whether", "which", "while", "who", "why",
    "will", "with", "without", "would", "yes", "you", "your",
];

fn stopword(w: &str) -> bool {
    STOPWORDS.binary_search(&w).is_ok()
}

/// The literals of a text and how far each is searched.
fn candidates(text: &str) -> BTreeMap<String, Reach> {
    let mut out: BTreeMap<String, Reach> = BTreeMap::new();
    let mut add = |lit: String, reach: Reach| {
        let e = out.entry(lit).or_insert(reach);
        *e = (*e).max(reach);
    };
    // Quoted strings.
    for quote in ['"', '\'', '`'] {
        for (i, inside) in text.split(quote).enumerate() {
            let t = inside.trim();
            if i % 2 == 1 && t.chars().count() >= 2 && t.len() <= 80 && !t.contains('\n') {
                add(t.to_lowercase(), Reach::AllDev);
            }
        }
    }
    for sentence in sentences(text) {
        let words: Vec<&str> = sentence
            .split(|c: char| c.is_whitespace() || ",()[]{}<>\"'`*=|".contains(c))
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty())
            .collect();
        for (i, w) in words.iter().enumerate() {
            if let Some(reach) = word_reach(w, i == 0) {
                add(w.to_lowercase(), reach);
            }
        }
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        for g in lower.windows(2) {
            if g.iter().any(|w| !stopword(w)) {
                add(g.join(" "), Reach::Seen);
            }
        }
        for g in lower.windows(3) {
            if g.iter().any(|w| !stopword(w)) {
                add(g.join(" "), Reach::AllDev);
            }
        }
    }
    out
}

/// Splits text into sentences: at line breaks, `!`, `?`, `;`, and at `.` or `:` followed by
/// whitespace or the end — so "0.85", "e.g" and "ref:123" stay whole.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next_blank = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
        if matches!(c, '\n' | '!' | '?' | ';') || (matches!(c, '.' | ':') && next_blank) {
            out.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&text[start..]);
    out
}

/// Whether a single token is a literal, and how far it is searched.
fn word_reach(w: &str, sentence_start: bool) -> Option<Reach> {
    let digits = w.chars().filter(char::is_ascii_digit).count();
    let letters = w.chars().filter(|c| c.is_alphabetic()).count();
    let upper = w.chars().filter(|c| c.is_uppercase()).count();
    if digits >= 2 {
        return Some(Reach::AllDev); // a number, or an id with a number in it
    }
    if digits == 1 && letters >= 1 {
        return Some(Reach::AllDev); // a short id: "X7", "b2b"
    }
    if letters >= 2 && w.contains('_') {
        return Some(Reach::AllDev); // an identifier: "acct_gold"
    }
    if upper >= 2 && upper == letters && letters <= 6 {
        return Some(Reach::AllDev); // an acronym: "IBM", "JV"
    }
    let lower = w.to_lowercase();
    if letters < 2 || digits > 0 || stopword(&lower) {
        return None;
    }
    let capitalized = w.chars().next().is_some_and(char::is_uppercase);
    if capitalized && !sentence_start && letters >= 3 {
        return Some(Reach::AllDev); // a name inside a sentence: "paid Zebulon"
    }
    Some(Reach::Seen) // a plain word, or a name in lower case: "stripe"
}

/// The literals the leak detector looks for in a text, lower-cased: names in any case,
/// acronyms, numbers (≥ 2 digits), ids, quoted strings, and word 2- and 3-grams with at least one
/// uncommon word.
pub fn literals(text: &str) -> BTreeSet<String> {
    candidates(text).into_keys().collect()
}

/// The text of a row the detector searches: input and expected value, lower-cased.
fn row_text(row: &Row) -> String {
    let mut t = value_text(&row.input);
    if let Some(e) = &row.expected {
        t.push('\n');
        t.push_str(&value_text(e));
    }
    t
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.to_lowercase(),
        other => other.to_string().to_lowercase(),
    }
}

/// Literals the new spec adds (in neither the old spec nor the baseline's) that occur in dev
/// rows — distinctive ones in any dev row, plain words and 2-grams in revealed dev rows or dev
/// expected values — but in no train row and not in the registration. A leak makes the change
/// a hardcode (G35 a). Test rows are not an input: the gate never reads them.
pub fn detect_leaks(old_spec: &str, new_spec: &str, scope: &LeakScope<'_>) -> Vec<Leak> {
    let old = literals(old_spec);
    let base = literals(scope.baseline_spec);
    let (old_text, base_text) = (old_spec.to_lowercase(), scope.baseline_spec.to_lowercase());
    let registration = scope.registration.to_lowercase();
    // Not added: a literal the previous or baseline spec already has, as a literal or as words
    // in its text (e.g. the output labels a prompt lists, later quoted in a JSON schema).
    let added: Vec<(String, Reach)> = candidates(new_spec)
        .into_iter()
        .filter(|(l, _)| !old.contains(l) && !base.contains(l))
        .filter(|(l, _)| !contains_word(&old_text, l) && !contains_word(&base_text, l))
        .filter(|(l, _)| !contains_word(&registration, l))
        .collect();
    if added.is_empty() {
        return Vec::new();
    }
    let train_text: Vec<String> = scope.train.iter().map(row_text).collect();
    let dev_text: Vec<String> = scope.dev.iter().map(row_text).collect();
    let dev_expected: Vec<String> = scope
        .dev
        .iter()
        .map(|r| r.expected.as_ref().map(value_text).unwrap_or_default())
        .collect();
    let mut leaks = Vec::new();
    for (lit, reach) in added {
        if train_text.iter().any(|t| contains_word(t, &lit)) {
            continue;
        }
        let dev_rows: Vec<RowId> = scope
            .dev
            .iter()
            .enumerate()
            .filter(|(i, r)| match reach {
                Reach::AllDev => contains_word(&dev_text[*i], &lit),
                Reach::Seen => {
                    contains_word(&dev_expected[*i], &lit)
                        || (scope.revealed.contains(&r.id) && contains_word(&dev_text[*i], &lit))
                }
            })
            .map(|(_, r)| r.id.clone())
            .collect();
        if !dev_rows.is_empty() {
            leaks.push(Leak::new(lit, dev_rows.into_iter().take(20).collect()));
        }
    }
    leaks
}

/// Whether `needle` occurs in `hay` on word boundaries.
pub(crate) fn contains_word(hay: &str, needle: &str) -> bool {
    !needle.is_empty()
        && hay.match_indices(needle).any(|(i, _)| {
            let before = hay[..i].chars().next_back();
            let after = hay[i + needle.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric())
                && !after.is_some_and(|c| c.is_alphanumeric())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn literals_find_numbers_ids_names_acronyms_quotes_and_ngrams() {
        let l = literals(
            r#"If vendor is "Acme Widgets" and amount 4312.50, use ACCT_991 for Zebulon or IBM, plan X7, vendor stripe."#,
        );
        assert!(!l.contains("50") && !l.contains("4312"), "{l:?}");
        for want in [
            "acme widgets",
            "4312.50",
            "acct_991",
            "zebulon",
            "ibm",
            "x7",
            "stripe",
            "vendor stripe",
            "if vendor is",
        ] {
            assert!(l.contains(want), "{want} not in {l:?}");
        }
        for common in ["the", "is", "if"] {
            assert!(!l.contains(common), "{common} in {l:?}");
        }
    }

    #[test]
    fn labels_the_previous_spec_already_names_are_not_leaks() {
        let dev = vec![Row::new("d1", "Uber trip").expected("travel")];
        let seen = BTreeSet::from([RowId::from("d1")]);
        let old = "Answer with one of: travel, software, transfer.";
        let scope = LeakScope {
            baseline_spec: old,
            registration: "",
            train: &[],
            dev: &dev,
            revealed: &seen,
        };
        let new = "Answer with one of: travel, software, transfer.\nschema: {\"enum\": [\"travel\", \"software\", \"transfer\"]}";
        assert!(detect_leaks(old, new, &scope).is_empty());
        // A value the previous spec does not name still leaks.
        let pasted = format!("{old}\nIf the text is \"Uber trip\" answer travel.");
        assert!(!detect_leaks(old, &pasted, &scope).is_empty());
    }

    #[test]
    fn words_of_the_registration_are_not_leaks() {
        let dev = vec![Row::new("d1", "chargeback on seats").expected("travel")];
        let seen = BTreeSet::from([RowId::from("d1")]);
        let scope = LeakScope {
            baseline_spec: "Categorize.",
            registration: "Do chargeback rules help?",
            train: &[],
            dev: &dev,
            revealed: &seen,
        };
        assert!(
            detect_leaks("Categorize.", "Categorize.\nMind each chargeback.", &scope).is_empty()
        );
    }

    /// A decimal in a spec is one literal: "accuracy 0.85" does not leak the "85" of a dev row.
    #[test]
    fn a_decimal_is_not_split_into_a_two_digit_number() {
        let dev = vec![Row::new("d1", "txn 85").expected("travel")];
        let seen = BTreeSet::new();
        let scope = LeakScope {
            baseline_spec: "accuracy 0.7",
            registration: "",
            train: &[],
            dev: &dev,
            revealed: &seen,
        };
        assert!(detect_leaks("accuracy 0.8", "accuracy 0.85", &scope).is_empty());
    }
}
