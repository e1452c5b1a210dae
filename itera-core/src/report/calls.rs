//! What happened to an arm's calls, counted from the journal (G31: failed calls are never
//! silent): per arm version and part, the calls made, those that still failed after their
//! retries (scored 0, or excluded under the `exclude` policy), and those that needed more than
//! one attempt — within a run or re-attempted by a resume. Each (row, trial) counts once, by its
//! latest journaled outcome. `data.json`, `conclusion.md`, the CLI summary and the test pass's
//! failed-share refusal read these counts.

use crate::data::split::Part;
use crate::frame::FailurePolicy;
use crate::journal::event::{CallOutcome, CallRecord, Entry, Event};
use crate::journal::record::ArmKey;
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

/// The counts of `key`'s calls in `part`, from the journal.
pub(crate) fn count_calls(
    entries: &[Entry],
    key: &ArmKey,
    part: Part,
    policy: FailurePolicy,
) -> CallCounts {
    let mut tally = CallTally::new(key, part);
    for e in entries {
        if let Event::Call(rec) = &e.event {
            tally.add(rec);
        }
    }
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

    /// Counts `rec` if it is a call of this tally's arm version in its part.
    pub(crate) fn add(&mut self, rec: &CallRecord) {
        if rec.part != self.part || rec.arm != self.key.arm || rec.spec_hash != self.key.spec_hash {
            return;
        }
        let failed = matches!(rec.outcome, CallOutcome::Failed { .. });
        let cell = self
            .cells
            .entry((rec.row.as_str().to_string(), rec.trial))
            .or_insert((false, false));
        // A second record of the same call is a resume's re-attempt of a failure.
        let again = cell.0;
        *cell = (failed, cell.1 || again || rec.attempts > 1);
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
