//! Sealing, `Gated -> Sealed`: every surviving arm locked at its latest gate-reviewed version
//! (G37), never the best-scoring one; the accessors of `Experiment<Sealed>`; and the dev results
//! rebuilt from the journal, shared with the iteration and the test pass.

// A refused move hands the experiment back inside its error (see `experiment/mod.rs`).
#![allow(clippy::result_large_err)]

use crate::data::row::Row;
use crate::data::split::Part;
use crate::experiment::sprint::SprintError;
use crate::experiment::{DevResults, Error, Experiment, Gated, Rejected, Sealed};
use crate::iterate::iteration::{Ledger, VersionRecord};
use crate::journal::event::Event;
use crate::journal::store::Store;
use crate::run::cube::{ArmKey, ArmSummary, ScoreCube};
use crate::run::runner;

impl Experiment<Gated> {
    /// `seal` on a gated experiment (the public method is in `transitions.rs`).
    pub(super) fn seal_gated(self) -> Result<Experiment<Sealed>, Rejected<Gated>> {
        let result = (|| {
            let store = &self.state.scored.split.registered.store;
            let entries = store.entries_except(&["call", "split"])?;
            if let Some((locked, killed)) = entries.iter().find_map(|e| match &e.event {
                Event::Sealed { locked, killed } => Some((locked.clone(), killed.clone())),
                _ => None,
            }) {
                return Ok((locked, killed));
            }
            // G18: a synthetic source is sealed only after its label audit is recorded
            // (tests/integrity_hole15.rs::
            // synthetic_source_sealed_without_a_label_audit_is_refused fails without this check).
            if self.frame.synthetic_source
                && crate::experiment::label_audit::recorded(&entries).is_none()
            {
                return Err(crate::experiment::LabelAuditError::Missing.into());
            }
            let ledger = Ledger::from_entries(&entries);
            // A blocked arm carries a hardcode: none of its versions is locked until a later gate
            // passes it (G35; `tests/integrity_gate.rs::
            // a_minority_hardcode_blocks_the_gate_and_is_never_locked`).
            for arm in self.frame.arm_ids().into_iter().skip(1) {
                if ledger.blocked.contains(arm) && !ledger.killed.contains(arm) {
                    let gate = ledger
                        .gates
                        .iter()
                        .rev()
                        .flat_map(|g| g.arms.iter())
                        .find(|a| a.arm == arm);
                    return Err(SprintError::Blocked {
                        arm: arm.to_string(),
                        version: gate.map_or(0, |g| g.version),
                        changes: gate.map_or(String::new(), |g| {
                            g.reason
                                .rsplit(" — ")
                                .next()
                                .unwrap_or_default()
                                .to_string()
                        }),
                    }
                    .into());
                }
            }
            let mut locked = Vec::new();
            for arm in self.frame.arm_ids().into_iter().skip(1) {
                if ledger.killed.contains(arm) {
                    continue;
                }
                if let Some(v) = latest_passed(&ledger, arm) {
                    locked.push(v.key.clone());
                }
            }
            let killed: Vec<String> = ledger.killed.iter().cloned().collect();
            store.append(Event::Sealed {
                locked: locked.clone(),
                killed: killed.clone(),
            })?;
            Ok::<_, Error>((locked, killed))
        })();
        match result {
            Ok((locked, killed)) => Ok(Experiment {
                frame: self.frame,
                state: Sealed {
                    scored: self.state.scored,
                    locked,
                    killed,
                },
            }),
            Err(e) => Err(self.reject(e)),
        }
    }
}

impl Experiment<Sealed> {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.state.scored.split.registered.store
    }

    /// The locked arm versions, one per surviving arm (G37).
    pub fn locked(&self) -> &[ArmKey] {
        &self.state.locked
    }

    /// Arms the gate killed.
    pub fn killed(&self) -> &[String] {
        &self.state.killed
    }

    /// The dev results.
    pub fn dev(&self) -> &DevResults {
        &self.state.scored.dev
    }
}

/// The latest version of an arm that a gate passed — continued or locked, never blocked (G35,
/// G37); after an explicit revert, the revert (whose spec is the earlier version's).
fn latest_passed<'a>(ledger: &'a Ledger, arm: &str) -> Option<&'a VersionRecord> {
    let passed = *ledger.passed.get(arm)?;
    ledger
        .versions
        .iter()
        .filter(|v| v.key.arm == arm && v.key.version <= passed)
        // G37: enforced here; locking another than the latest fails
        // tests/sprints.rs::the_latest_gate_passed_version_is_locked_not_the_best. (The `<= passed`
        // filter above is a backstop no test reaches: a gate reviews every version before sealing.)
        .max_by_key(|v| v.key.version)
}

/// The dev results of every version the ledger knows, rebuilt from the journal (no calls).
pub(crate) fn dev_from_journal(
    frame: &crate::frame::Frame,
    rows: &[Row],
    store: &Store,
    ledger: &Ledger,
    cross_judge: Option<crate::run::crossjudge::CrossJudgeReport>,
) -> Result<DevResults, Error> {
    // The dev calls only: nothing else goes into the cube.
    let mut entries = Vec::new();
    store.scan_if(
        |p| p.call && p.part == Some(Part::Dev.name()),
        |e| entries.push(e),
    )?;
    let cube = ScoreCube::from_entries(frame, rows, ledger.keys(), &entries, Part::Dev);
    let summaries: Vec<ArmSummary> = (0..cube.arms().len()).map(|i| cube.summary(i)).collect();
    let noise = runner::noise(&cube)?;
    Ok(DevResults {
        cube,
        summaries,
        noise,
        cross_judge,
    })
}
