//! G18, the label-noise audit for synthetic sources: rows generated from a known source of truth
//! can carry wrong labels, and a wrong label reads as a baseline failure. Before the test set is
//! sealed, a person checks a seeded sample of the rows the baseline fails on dev (all of them up
//! to 30) against the source of truth: [`Experiment::label_audit_sample`] shows them (journaled;
//! they join the seen set, G17), [`Experiment::record_label_audit`] records how many labels the
//! reviewer confirmed, and the self-audit reports that agreement with its Wilson 95% CI. Sealing
//! a synthetic-source experiment without it is refused ([`LabelAuditError::Missing`]).

use crate::data::row::{Row, RowId};
use crate::experiment::{Error, Experiment, Gated, Scored};
use crate::frame::Frame;
use crate::journal::event::{Entry, Event};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// The largest label-audit sample: the baseline's failing dev rows, at most this many.
pub const LABEL_AUDIT_MAX_ROWS: usize = 30;

/// A refused label-audit step (G18). Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelAuditError {
    /// Sealing a synthetic source whose labels were never checked.
    #[error(
        "the rows are synthetic (synthetic_source = true) and no label-noise audit is recorded (G18: the rows the baseline fails are checked against the source of truth before the test set is sealed): run `itera label-audit DIR` to see the sample, then `itera label-audit DIR --record agree=K,total=N` (library: Experiment::label_audit_sample, then Experiment::record_label_audit), and seal again"
    )]
    Missing,
    /// A count recorded before any sample was shown.
    #[error(
        "no label-audit sample was shown yet (G18): call Experiment::label_audit_sample (`itera label-audit DIR`) and review its rows first, then record the counts"
    )]
    NoSample,
    /// The reviewed count is not the shown sample.
    #[error(
        "the label audit reviewed {reviewed} row(s), but the sample shown has {shown} (G18): review every shown row and record total={shown}"
    )]
    NotTheSample {
        /// Rows the caller says were reviewed.
        reviewed: usize,
        /// Rows shown.
        shown: usize,
    },
    /// More agreements than reviewed rows.
    #[error(
        "the label audit says {agreed} label(s) agreed out of {reviewed} reviewed: agreed cannot exceed the rows reviewed; record agree=K,total={reviewed} with K <= {reviewed}"
    )]
    AgreedAboveReviewed {
        /// Agreed count given.
        agreed: usize,
        /// Reviewed count given.
        reviewed: usize,
    },
    /// The audit is recorded already; the journal is append-only.
    #[error(
        "a label audit is already recorded ({agreed}/{reviewed} agreed) and a recorded audit is never replaced (G1: the journal is append-only); if the review was wrong, say so in the report's notes or start a new experiment"
    )]
    AlreadyRecorded {
        /// The recorded agreed count.
        agreed: usize,
        /// The recorded reviewed count.
        reviewed: usize,
    },
}

/// The label audit recorded in a journal, if any: (agreed, reviewed).
pub(crate) fn recorded(entries: &[Entry]) -> Option<(usize, usize)> {
    entries.iter().find_map(|e| match &e.event {
        Event::LabelAudit {
            agreed, reviewed, ..
        } => Some((*agreed, *reviewed)),
        _ => None,
    })
}

/// The label-audit sample shown in a journal, if any.
fn shown(entries: &[Entry]) -> Option<Vec<RowId>> {
    entries.iter().find_map(|e| match &e.event {
        Event::LabelAuditShown { rows, .. } => Some(rows.clone()),
        _ => None,
    })
}

impl Experiment<Scored> {
    /// The label-audit sample (G18): the dev rows the registered baseline fails (mean score
    /// below 1 over its trials), a seeded sample (the frame's seed) of at most
    /// [`LABEL_AUDIT_MAX_ROWS`], each with its input, label and slice for a reviewer to check
    /// against the source of truth. Journaled on the first call (the rows join the seen set,
    /// G17); later calls return the same rows. Then record the result with
    /// [`record_label_audit`](Self::record_label_audit).
    pub fn label_audit_sample(&self) -> Result<Vec<Row>, Error> {
        sample(&self.frame, &self.state)
    }

    /// Records the label audit (G18): of the `reviewed` rows of the shown sample (all of them),
    /// the reviewer confirmed `agreed` labels against the source of truth. Journaled once; the
    /// self-audit reports the agreement with its Wilson 95% CI, and a synthetic-source
    /// experiment may be sealed only after it. Refused before the sample was shown, with a
    /// `reviewed` other than the sample's size, with `agreed > reviewed`, or a second time.
    pub fn record_label_audit(&self, agreed: usize, reviewed: usize) -> Result<(), Error> {
        record(&self.state, agreed, reviewed)
    }
}

impl Experiment<Gated> {
    /// [`Experiment::<Scored>::label_audit_sample`](Experiment::label_audit_sample) after the
    /// gate: a seal refused for a missing label audit (G18) is fixed on the experiment it hands
    /// back.
    pub fn label_audit_sample(&self) -> Result<Vec<Row>, Error> {
        sample(&self.frame, &self.state.scored)
    }

    /// [`Experiment::<Scored>::record_label_audit`](Experiment::record_label_audit) after the
    /// gate; then [`seal`](Experiment::seal) again.
    pub fn record_label_audit(&self, agreed: usize, reviewed: usize) -> Result<(), Error> {
        record(&self.state.scored, agreed, reviewed)
    }
}

fn sample(frame: &Frame, state: &Scored) -> Result<Vec<Row>, Error> {
    let store = &state.split.registered.store;
    let entries = store.entries_except(&["call", "split"])?;
    let dev = &state.split.plan.dev;
    let pick = |ids: &[RowId]| -> Vec<Row> {
        ids.iter()
            .filter_map(|id| dev.iter().find(|r| &r.id == id).cloned())
            .collect()
    };
    if let Some(ids) = shown(&entries) {
        return Ok(pick(&ids));
    }
    let cube = &state.dev.cube;
    let baseline = cube
        .arms()
        .iter()
        .position(|k| k.arm == frame.baseline.id && k.version == 0)
        .unwrap_or(0);
    let mut failing: Vec<RowId> = cube
        .row_means(baseline)
        .iter()
        .zip(cube.rows())
        .filter(|(m, _)| m.is_some_and(|m| m < 1.0))
        .map(|(_, r)| r.clone())
        .collect();
    failing.sort();
    // Seeded partial Fisher–Yates: the same sample on every machine (G14).
    let mut rng = ChaCha20Rng::seed_from_u64(frame.seed ^ 0x6c61_6265_6c5f_6175);
    let k = failing.len().min(LABEL_AUDIT_MAX_ROWS);
    for i in 0..k {
        let j = i + (rng.next_u64() % (failing.len() - i) as u64) as usize;
        failing.swap(i, j);
    }
    failing.truncate(k);
    failing.sort();
    store.append(Event::LabelAuditShown {
        rows: failing.clone(),
    })?;
    Ok(pick(&failing))
}

fn record(state: &Scored, agreed: usize, reviewed: usize) -> Result<(), Error> {
    let store = &state.split.registered.store;
    let entries = store.entries_except(&["call", "split"])?;
    if let Some((agreed, reviewed)) = recorded(&entries) {
        return Err(LabelAuditError::AlreadyRecorded { agreed, reviewed }.into());
    }
    let shown = shown(&entries).ok_or(LabelAuditError::NoSample)?;
    if reviewed != shown.len() {
        return Err(LabelAuditError::NotTheSample {
            reviewed,
            shown: shown.len(),
        }
        .into());
    }
    if agreed > reviewed {
        return Err(LabelAuditError::AgreedAboveReviewed { agreed, reviewed }.into());
    }
    store.append(Event::LabelAudit { agreed, reviewed })?;
    Ok(())
}
