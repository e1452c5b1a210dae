//! What one call leaves in the journal beside its score: the arm's raw reply (bounded, and not
//! when it only repeats the answer) and an LLM judge's own call record (raw reply, usage, cost,
//! latency) — so an odd answer or an odd score can be explained from the journal alone.

use crate::run::judge::Judge;

/// The journal record of one judge call: its usage and cost as the judge reports them (the
/// built-in LLM judge prices its tokens from `[metric.llm] price`), its raw reply bounded
/// (issue #13 hole 10).
pub(crate) fn judge_call(
    judge: &dyn Judge,
    raw: Option<String>,
    usage: crate::journal::record::Usage,
    attempts: u32,
    latency_ms: f64,
) -> crate::journal::record::JudgeCall {
    crate::journal::record::JudgeCall {
        judge: judge.id().to_string(),
        raw: crate::journal::record::JudgeCall::bounded(raw),
        cost_usd: usage.cost_usd,
        usage,
        latency_ms,
        attempts,
    }
}

/// The raw reply to journal beside an output: `None` when it adds nothing (the output is that
/// text, trimmed), else cut to [`RAW_REPLY_MAX_BYTES`](crate::run::arm::RAW_REPLY_MAX_BYTES) at a
/// character boundary (#19: 13 empty answers of a live arm could not be explained; test:
/// `reveal_shows_the_raw_reply_beside_the_extracted_answer` in itera-cli/tests/cli.rs).
pub(crate) fn journaled_raw(raw: Option<String>, output: &serde_json::Value) -> Option<String> {
    let raw = raw?;
    if output.as_str() == Some(raw.trim()) {
        return None;
    }
    let max = crate::run::arm::RAW_REPLY_MAX_BYTES;
    if raw.len() <= max {
        return Some(raw);
    }
    let cut = (0..=max)
        .rev()
        .find(|&i| raw.is_char_boundary(i))
        .unwrap_or(0);
    Some(format!("{}…[{} more bytes]", &raw[..cut], raw.len() - cut))
}

#[cfg(test)]
mod tests {
    use super::journaled_raw;
    use serde_json::json;

    /// The raw reply is bounded at a character boundary and marked; one that adds nothing to
    /// the output (the output is that text, trimmed) is not journaled twice.
    #[test]
    fn raw_replies_are_bounded_and_not_duplicated() {
        assert_eq!(journaled_raw(Some(" yes\n".into()), &json!("yes")), None);
        assert_eq!(journaled_raw(None, &json!("yes")), None);
        let long = "é".repeat(3000); // 6000 bytes, 2 per character
        let kept = journaled_raw(Some(long), &json!("")).unwrap_or_default();
        let (head, tail) = kept.split_once('…').unwrap_or_default();
        assert_eq!(head.len(), crate::run::arm::RAW_REPLY_MAX_BYTES);
        assert_eq!(tail, "[1904 more bytes]");
    }
}
