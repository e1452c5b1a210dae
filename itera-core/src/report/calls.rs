//! What happened to an arm's calls, counted from the journal (G31: failed calls are never
//! silent): per arm version and part, the calls made, those that still failed after their
//! retries (scored 0, or excluded under the `exclude` policy), and those that needed more than
//! one attempt — within a run or re-attempted by a resume. Each (row, trial) counts once, by its
//! latest journaled outcome. `data.json`, `conclusion.md`, the CLI summary and the test pass's
//! failed-share refusal read these counts.

use crate::data::split::Part;
use crate::frame::FailurePolicy;
use crate::journal::record::ArmKey;
use crate::report::index::{Call, JournalIndex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts of one arm version's calls in one part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCounts {
    /// (row, trial) calls journaled.
    pub calls: usize,
    /// Calls whose latest outcome is a failure after retries.
    pub failed: usize,
    /// Calls that took more than one attempt (retried, or re-attempted on resume).
    pub retried: usize,
    /// Failed calls left out of comparisons (the `exclude` policy); under `score-zero` they
    /// score 0 instead and this is 0.
    pub excluded: usize,
}

impl CallCounts {
    /// Whether the failed share exceeds `max_share` of the calls.
    pub fn too_many_failed(&self, max_share: f64) -> bool {
        self.failed as f64 > max_share * self.calls as f64
    }
}

/// Per part, for one arm in `data.json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmCalls {
    /// Dev (the arm's version that went to test).
    pub dev: CallCounts,
    /// Test.
    pub test: CallCounts,
}

/// The counts of `key`'s calls in `part`, from the journal's index.
pub(crate) fn count_calls(
    ix: &JournalIndex,
    key: &ArmKey,
    part: Part,
    policy: FailurePolicy,
) -> CallCounts {
    let mut tally = CallTally::new(key, part);
    ix.calls().for_each(|c| tally.add(&c));
    tally.counts(policy)
}

/// [`count_calls`] fed one call record at a time, so a scan of the journal can count without
/// holding its call records (issue #17: the test pass held the whole journal to count dev calls).
pub(crate) struct CallTally<'k> {
    key: &'k ArmKey,
    part: Part,
    /// (row, trial) → (latest outcome failed, ever needed more than one attempt)
    cells: BTreeMap<(String, u32), (bool, bool)>,
}

impl<'k> CallTally<'k> {
    pub(crate) fn new(key: &'k ArmKey, part: Part) -> CallTally<'k> {
        CallTally {
            key,
            part,
            cells: BTreeMap::new(),
        }
    }

    /// Counts `c` if it is a call of this tally's arm version in its part.
    pub(crate) fn add(&mut self, c: &Call<'_>) {
        self.count(
            c.arm,
            c.spec_hash,
            c.part,
            c.row,
            c.trial,
            c.attempts,
            c.score.is_none(),
        );
    }

    #[allow(clippy::too_many_arguments)] // the fields of one call record
    fn count(
        &mut self,
        arm: &str,
        spec_hash: &str,
        part: Part,
        row: &str,
        trial: u32,
        attempts: u32,
        failed: bool,
    ) {
        if part != self.part || arm != self.key.arm || spec_hash != self.key.spec_hash {
            return;
        }
        let cell = self
            .cells
            .entry((row.to_string(), trial))
            .or_insert((false, false));
        // A second record of the same call is a resume's re-attempt of a failure.
        let again = cell.0;
        *cell = (failed, cell.1 || again || attempts > 1);
    }

    /// The counts so far.
    pub(crate) fn counts(&self, policy: FailurePolicy) -> CallCounts {
        let failed = self.cells.values().filter(|c| c.0).count();
        CallCounts {
            calls: self.cells.len(),
            failed,
            retried: self.cells.values().filter(|c| c.1).count(),
            excluded: if policy == FailurePolicy::Exclude {
                failed
            } else {
                0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::row::RowId;
    use crate::journal::event::{CallOutcome, CallRecord, Entry, Event};
    use crate::journal::record::Usage;

    fn rec(arm: &str, part: Part, row: &str, trial: u32, attempts: u32, ok: bool) -> CallRecord {
        CallRecord {
            arm: arm.into(),
            version: 0,
            spec_hash: format!("{arm}-hash"),
            row: RowId(row.into()),
            part,
            trial,
            attempts,
            errors: Vec::new(),
            latency_ms: 1.0,
            queue_ms: None,
            server_ms: None,
            outcome: if ok {
                CallOutcome::Scored {
                    output: serde_json::json!({"status": "failed", "arm": "other"}),
                    raw: None,
                    score: 1.0,
                    failure_modes: Vec::new(),
                    deferred_findings: Vec::new(),
                    judge: "exact".into(),
                    rubric_hash: None,
                    usage: Usage::default(),
                    cost_usd: None,
                    judge_call: None,
                    trace: Vec::new(),
                }
            } else {
                CallOutcome::Failed {
                    error: "HTTP 500".into(),
                }
            },
        }
    }

    /// The index of a journal of `records`.
    fn index(records: &[CallRecord]) -> JournalIndex {
        let entries: Vec<Entry> = records
            .iter()
            .enumerate()
            .map(|(i, r)| Entry {
                seq: i as u64,
                prev: String::new(),
                at: String::new(),
                event: Event::Call(r.clone()),
                hash: String::new(),
            })
            .collect();
        JournalIndex::of(&entries, &[])
    }

    /// Counting a call line's text (the test pass's way, issue #17) gives the counts decoding it
    /// gives: failures, retries, a resume's re-attempt, other parts and arms left out — even
    /// when the output holds a `status` or `arm` of its own.
    #[test]
    fn counting_calls_from_the_index() {
        let records = [
            rec("v2", Part::Dev, "r1", 0, 1, true),
            rec("v2", Part::Dev, "r2", 0, 3, true),
            rec("v2", Part::Dev, "r3", 0, 1, false),
            rec("v2", Part::Dev, "r3", 0, 1, true), // the resume's re-attempt succeeded
            rec("v2", Part::Dev, "r4", 1, 2, false),
            rec("v2", Part::Test, "r5", 0, 1, false),
            rec("v1", Part::Dev, "r6", 0, 1, false),
        ];
        let key = ArmKey {
            arm: "v2".into(),
            version: 0,
            spec_hash: "v2-hash".into(),
        };
        // r1..r4: 4 cells; r4 failed (r3's failure was re-attempted); r2, r3 (again) and r4 retried.
        assert_eq!(
            count_calls(&index(&records), &key, Part::Dev, FailurePolicy::ScoreZero),
            CallCounts {
                calls: 4,
                failed: 1,
                retried: 3,
                excluded: 0
            }
        );
    }
}
