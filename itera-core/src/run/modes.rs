//! Failure modes assigned by registered rules (R4, G9): a deterministic scorer says only "wrong",
//! so the frame's taxonomy may carry, per category, a [`ModeRule`] that maps a failed call's
//! output to the category — an empty output, an answer outside the label set, a regex match.
//! The runner adds these to the modes the judge assigned before the call is journaled, so the
//! failure-mode table and R4 read them from the journal like any other.

use crate::frame::{Frame, ModeRule};
use serde_json::Value;

/// A call the judge scored below this failed (the failure-mode table's line for tagged rows).
pub(crate) const FAILED_BELOW: f64 = 0.5;

fn text(output: &Value) -> String {
    match output {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn matches(rule: &ModeRule, output: &Value) -> bool {
    match rule {
        ModeRule::EmptyOutput => match output {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            Value::Array(xs) => xs.is_empty(),
            Value::Object(m) => m.is_empty(),
            _ => false,
        },
        ModeRule::NotInLabels { labels } => {
            let t = text(output);
            !labels.iter().any(|l| l == t.trim())
        }
        // The frame's validation compiled the pattern at registration; a pattern that no longer
        // compiles matches nothing rather than panicking.
        ModeRule::Regex { pattern } => {
            regex::Regex::new(pattern).is_ok_and(|re| re.is_match(&text(output)))
        }
    }
}

/// Adds, in taxonomy order, the categories whose rule matches a failed call's output to the
/// modes the judge assigned. A passed call (score ≥ 0.5) is left as the judge scored it.
/// Tested by tests/integrity_run.rs
/// `attack_failures_of_a_deterministic_judge_carry_no_failure_mode`.
pub(crate) fn with_rule_modes(
    frame: &Frame,
    output: &Value,
    score: f64,
    mut modes: Vec<String>,
) -> Vec<String> {
    if score >= FAILED_BELOW {
        return modes;
    }
    for fm in &frame.failure_modes {
        if let Some(rule) = &fm.rule
            && !modes.contains(&fm.id)
            && matches(rule, output)
        {
            modes.push(fm.id.clone());
        }
    }
    modes
}

/// The registered failure mode a reply cut at the token limit falls under, when the taxonomy has
/// one with this id.
pub(crate) const TRUNCATED: &str = "truncated";

/// Adds the registered mode `truncated` to a failed call whose output was cut at the token limit
/// (`Usage::truncated`, e.g. Anthropic's `stop_reason = "max_tokens"`), when the taxonomy has
/// it. Test: builtin::anthropic::tests::a_reply_cut_at_max_tokens_is_tagged_truncated.
pub(crate) fn with_truncation(
    frame: &Frame,
    truncated: bool,
    score: f64,
    mut modes: Vec<String>,
) -> Vec<String> {
    if truncated
        && score < FAILED_BELOW
        && !modes.iter().any(|m| m == TRUNCATED)
        && frame.failure_modes.iter().any(|m| m.id == TRUNCATED)
    {
        modes.push(TRUNCATED.to_string());
    }
    modes
}
