//! The journal as the report and the self-audit read it (issue #17, "Fast at 100k rows"): every
//! entry that is not a call, in full and in order, and each call as the few facts they read —
//! whose call it was (arm, version, spec hash), its row, part and trial, its attempts, its score
//! or its failure, its failure modes, its judge's cost, and the arm id its output names, if any
//! (the blind-judge check, G30). A decoded call entry takes about a kilobyte with its strings, a
//! fact 64 bytes and its row id: the verdict on a 140k-line journal held ~150 MB of call records
//! for its report and audit, and now holds the facts. Built in one streaming pass over a store,
//! or from a slice of entries.

use crate::data::split::Part;
use crate::journal::event::{CallOutcome, CallRecord, Entry, Event};
use crate::journal::store::{JournalCursor, Store, StoreError};
use crate::report::judge::JudgeCost;

/// The journal, indexed: decisions in full, calls as facts.
pub(crate) struct JournalIndex {
    decisions: Vec<Entry>,
    calls: Vec<Fact>,
    /// The arm ids and spec hashes the facts name, each once.
    names: Vec<String>,
    /// The failure-mode lists of the calls that have one.
    modes: Vec<Vec<String>>,
    /// The arm ids a scored output is checked for (G30).
    arm_ids: Vec<String>,
    /// The judge's own calls behind the scores: on train and dev, and on test.
    judge_cost: [JudgeCost; 2],
    lines: u64,
    last_hash: String,
    /// Where the read stopped in the store's journal ([`JournalIndex::read_on`]).
    cursor: Option<JournalCursor>,
}

/// One call line, as the report and the audit read it: 64 bytes and its row id's.
struct Fact {
    seq: u64,
    /// The judge's score (0 and not read for a failed call: see `scored`).
    score: f64,
    row: Box<str>,
    version: u32,
    trial: u32,
    attempts: u32,
    /// The failure modes the judge assigned, as an index into `modes` (most calls have none).
    modes: Option<u32>,
    arm: u16,
    spec: u16,
    /// The arm id (an index into `arm_ids`) the output names as a word, if any.
    names_arm: Option<u16>,
    part: Part,
    scored: bool,
}

/// A call, read from the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    /// The call's entry's sequence number (0-based).
    pub(crate) seq: u64,
    pub(crate) arm: &'a str,
    pub(crate) spec_hash: &'a str,
    pub(crate) version: u32,
    pub(crate) row: &'a str,
    pub(crate) part: Part,
    pub(crate) trial: u32,
    pub(crate) attempts: u32,
    /// The judge's score; `None` for a call that failed after its retries.
    pub(crate) score: Option<f64>,
    /// The failure modes the judge assigned (none for a failed call).
    pub(crate) failure_modes: &'a [String],
    /// The arm id the scored output names as a word, if any (G30).
    pub(crate) names_arm: Option<&'a str>,
}

impl Call<'_> {
    /// The call's 1-based journal line.
    pub(crate) fn line(&self) -> u64 {
        self.seq + 1
    }
}

impl JournalIndex {
    /// An empty index whose scored outputs are checked for `arm_ids`.
    fn new(arm_ids: &[&str]) -> JournalIndex {
        JournalIndex {
            decisions: Vec::new(),
            calls: Vec::new(),
            names: Vec::new(),
            modes: Vec::new(),
            arm_ids: arm_ids.iter().map(|s| s.to_string()).collect(),
            judge_cost: [JudgeCost::default(), JudgeCost::default()],
            lines: 0,
            last_hash: String::new(),
            cursor: None,
        }
    }

    /// The index of `entries`, checking scored outputs for `arm_ids` (the unit tests' journals).
    #[cfg(test)]
    pub(crate) fn of(entries: &[Entry], arm_ids: &[&str]) -> JournalIndex {
        let mut ix = JournalIndex::new(arm_ids);
        entries.iter().for_each(|e| ix.push(e.clone()));
        ix
    }

    /// The index of a store's journal, read (and verified) in one pass that holds one call
    /// record at a time.
    pub(crate) fn read(store: &Store, arm_ids: &[&str]) -> Result<JournalIndex, StoreError> {
        let mut ix = JournalIndex::new(arm_ids);
        // Sized once: grown by doubling, the facts of 140k calls took room for 262k.
        ix.calls.reserve_exact(store.verified_lines() as usize);
        let mut cursor = JournalCursor::start();
        store.scan_on(&mut cursor, |e| ix.push(e))?;
        ix.calls.shrink_to_fit();
        ix.cursor = Some(cursor);
        Ok(ix)
    }

    /// Adds the lines `store` appended since this index was read from it, verified from where
    /// the read stopped ([`Store::scan_on`]): the verdict indexes the journal before the test
    /// pass and reads only the test calls after it (issue #17). Only for an index made by
    /// [`JournalIndex::read`]: one made from entries (the tests' `of`) has no place in a store.
    pub(crate) fn read_on(&mut self, store: &Store) -> Result<(), StoreError> {
        let mut cursor = self.cursor.take().unwrap_or_else(JournalCursor::start);
        let added = store.verified_lines().saturating_sub(cursor.lines());
        self.calls.reserve_exact(added as usize);
        store.scan_on(&mut cursor, |e| self.push(e))?;
        self.cursor = Some(cursor);
        Ok(())
    }

    /// Adds the next entry: a decision kept whole, a call as its facts.
    pub(crate) fn push(&mut self, e: Entry) {
        self.lines = e.seq + 1;
        self.last_hash.clone_from(&e.hash);
        match e.event {
            Event::Call(c) => self.push_call(e.seq, c),
            _ => self.decisions.push(e),
        }
    }

    fn push_call(&mut self, seq: u64, c: CallRecord) {
        let (scored, score, failure_modes, names_arm) = match c.outcome {
            CallOutcome::Scored {
                output,
                score,
                failure_modes,
                judge_call,
                ..
            } => {
                if let Some(j) = &judge_call {
                    let at = usize::from(c.part == Part::Test);
                    self.judge_cost[at].add(j);
                }
                let text = match output {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                let named = self.arm_ids.iter().position(|id| names(&text, id));
                (true, score, failure_modes, named.map(|i| i as u16))
            }
            CallOutcome::Failed { .. } => (false, 0.0, Vec::new(), None),
        };
        let modes = (!failure_modes.is_empty()).then(|| {
            self.modes.push(failure_modes);
            (self.modes.len() - 1) as u32
        });
        let fact = Fact {
            seq,
            score,
            row: c.row.0.into_boxed_str(),
            version: c.version,
            trial: c.trial,
            attempts: c.attempts,
            modes,
            arm: self.name(c.arm),
            spec: self.name(c.spec_hash),
            names_arm,
            part: c.part,
            scored,
        };
        self.calls.push(fact);
    }

    /// The index of `s` in `names`, added if new (a journal names a handful of arms and specs).
    fn name(&mut self, s: String) -> u16 {
        match self.names.iter().position(|n| *n == s) {
            Some(i) => i as u16,
            None => {
                self.names.push(s);
                (self.names.len() - 1) as u16
            }
        }
    }

    /// Every entry that is not a call, in journal order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.decisions
    }

    /// Every call, in journal order.
    pub(crate) fn calls(&self) -> impl Iterator<Item = Call<'_>> {
        self.calls.iter().map(|f| Call {
            seq: f.seq,
            arm: &self.names[usize::from(f.arm)],
            spec_hash: &self.names[usize::from(f.spec)],
            version: f.version,
            row: &f.row,
            part: f.part,
            trial: f.trial,
            attempts: f.attempts,
            score: f.scored.then_some(f.score),
            failure_modes: f.modes.map_or(&[][..], |i| &self.modes[i as usize][..]),
            names_arm: f.names_arm.map(|i| self.arm_ids[usize::from(i)].as_str()),
        })
    }

    /// The journal's lines, calls included.
    pub(crate) fn lines(&self) -> u64 {
        self.lines
    }

    /// The hash of the last entry (empty for an empty journal).
    pub(crate) fn last_hash(&self) -> &str {
        &self.last_hash
    }

    /// The judge's own calls behind the scores on `part` (train and dev together).
    pub(crate) fn judge_cost(&self, part: Part) -> &JudgeCost {
        &self.judge_cost[usize::from(part == Part::Test)]
    }
}

/// `text` names `id` as a word (not inside a longer word).
pub(crate) fn names(text: &str, id: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    text.match_indices(id).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + id.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    /// A call's facts fit in 64 bytes (#17: the index of a 140k-call journal is held through the
    /// report and the self-audit).
    #[test]
    fn a_fact_is_64_bytes() {
        assert!(
            std::mem::size_of::<super::Fact>() <= 64,
            "{} bytes",
            std::mem::size_of::<super::Fact>()
        );
    }
}
