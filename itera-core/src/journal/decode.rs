//! Reading a journal line back into an [`Entry`], fast. Serde decodes the internally tagged
//! [`Event`] (and a call's [`CallOutcome`]) by first buffering the whole object into an untyped
//! tree, then decoding that: on a 140k-line journal this was the largest part of every scan
//! (issue #17). A call line — almost every line — is decoded straight into its [`CallRecord`]
//! instead, and a call's outcome through one flat record of its fields. Any other line, or any
//! call line the direct path cannot read, goes through serde's tagged decoding as before, so the
//! result and the errors are the same (`tests::the_direct_decode_equals_the_tagged_one`).

use crate::journal::event::{Entry, Event};
use crate::journal::record::{CallOutcome, CallRecord, JudgeCall, Usage};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Decodes one journal line (without its newline).
pub(crate) fn decode_line(line: &str) -> Result<Entry, serde_json::Error> {
    #[cfg(test)]
    LINE_DECODES.with(|c| c.set(c.get() + 1));
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw<'a> {
        seq: u64,
        prev: String,
        at: String,
        #[serde(borrow)]
        event: &'a RawValue,
        hash: String,
    }
    #[derive(Deserialize)]
    struct Tag<'a> {
        #[serde(borrow)]
        event: Cow<'a, str>,
    }
    if let Ok(raw) = serde_json::from_str::<Raw<'_>>(line)
        && let Ok(tag) = serde_json::from_str::<Tag<'_>>(raw.event.get())
        && tag.event == "call"
        && let Ok(rec) = serde_json::from_str::<CallRecord>(raw.event.get())
    {
        return Ok(Entry {
            seq: raw.seq,
            prev: raw.prev,
            at: raw.at,
            event: Event::Call(rec),
            hash: raw.hash,
        });
    }
    serde_json::from_str(line)
}

#[cfg(test)]
thread_local! {
    /// Lines decoded on this thread, by any reader or writer (the codec's tests count them).
    pub(crate) static LINE_DECODES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// `Some(value)` for a field that is present, even as `null` (absent stays `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A call's outcome as written: the `status` tag and the fields of either variant, read in one
/// pass (serde's tagged decoding buffers the object first).
impl<'de> Deserialize<'de> for CallOutcome {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            status: String,
            #[serde(default, deserialize_with = "present")]
            output: Option<Value>,
            #[serde(default)]
            raw: Option<String>,
            #[serde(default)]
            score: Option<f64>,
            #[serde(default)]
            failure_modes: Vec<String>,
            #[serde(default)]
            deferred_findings: Vec<String>,
            #[serde(default)]
            judge: Option<String>,
            #[serde(default)]
            rubric_hash: Option<String>,
            #[serde(default)]
            usage: Option<Usage>,
            #[serde(default)]
            cost_usd: Option<f64>,
            #[serde(default)]
            judge_call: Option<JudgeCall>,
            #[serde(default)]
            trace: Vec<String>,
            #[serde(default)]
            error: Option<String>,
        }
        let w = Wire::deserialize(d)?;
        let missing = |field: &'static str| D::Error::missing_field(field);
        match w.status.as_str() {
            "scored" => Ok(CallOutcome::Scored {
                output: w.output.ok_or_else(|| missing("output"))?,
                raw: w.raw,
                score: w.score.ok_or_else(|| missing("score"))?,
                failure_modes: w.failure_modes,
                deferred_findings: w.deferred_findings,
                judge: w.judge.ok_or_else(|| missing("judge"))?,
                rubric_hash: w.rubric_hash,
                usage: w.usage.ok_or_else(|| missing("usage"))?,
                cost_usd: w.cost_usd,
                judge_call: w.judge_call,
                trace: w.trace,
            }),
            "failed" => Ok(CallOutcome::Failed {
                error: w.error.ok_or_else(|| missing("error"))?,
            }),
            other => Err(D::Error::unknown_variant(other, &["scored", "failed"])),
        }
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
