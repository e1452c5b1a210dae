//! The crate's error type [`Error`] — everything that can stop a transition — and [`Rejected`],
//! a refused transition that hands the experiment back unchanged. `?` works end to end: every
//! error of the crate, and every `Rejected<S>` (keeping its message, dropping the experiment the
//! caller chose not to keep), converts into [`Error`].

use crate::data::dataset::DataError;
use crate::data::split::SplitError;
use crate::experiment::{Experiment, State};
use crate::frame::FrameError;
use crate::journal::store::StoreError;
use crate::run::runner::RunError;
use std::fmt;

/// Everything that can stop a transition. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The frame is invalid.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The rows are bad.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The split is refused.
    #[error(transparent)]
    Split(#[from] SplitError),
    /// The store is unusable (tampered, edited, unwritable).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An iteration, reveal, gate or sprint move was refused.
    #[error(transparent)]
    Sprint(#[from] crate::experiment::sprint::SprintError),
    /// The test pass was refused (G7, G15, G16, G46).
    #[error(transparent)]
    Verdict(#[from] crate::experiment::testpass::VerdictError),
    /// A label-audit step was refused, or sealing a synthetic source without one (G18).
    #[error(transparent)]
    LabelAudit(#[from] crate::experiment::label_audit::LabelAuditError),
    /// The run stopped (pilot, scoring, cross-judge).
    #[error(transparent)]
    Run(#[from] RunError),
    /// The judge is not the one the frame registers: its id differs from the registered
    /// `metric.scorer`, or its rubric from the registered rubric (G8, G11).
    #[error(
        "the judge is not the registered one, and the judge is locked at registration (G8): registered scorer {registered}, given judge {given}; pass the judge whose id (and rubric) the frame registers under metric.scorer, or register a new experiment with this judge"
    )]
    JudgeNotRegistered {
        /// The registered scorer id and rubric hash.
        registered: String,
        /// The given judge's id and rubric hash.
        given: String,
    },
    /// The store holds a different registered frame (G7).
    #[error(
        "{location} is registered with a different frame (hash {registered}, this frame {given}), and a registered frame never changes (G7): the metric, threshold, arms or rules changed after registration; start a new experiment in a new directory with fresh test rows"
    )]
    FrameMismatch {
        /// Where.
        location: String,
        /// The registered frame's hash.
        registered: String,
        /// This frame's hash.
        given: String,
    },
    /// The store already holds a verdict (G46): a finished experiment is read, not re-run.
    #[error(
        "{location} already has its verdict (journaled {at}) (G46: the sealed test set is opened once): read it with `itera_core::report::ReportData::load(dir)` (or `itera report DIR`) instead of registering again; a follow-up is a new experiment in a new directory with fresh test rows"
    )]
    Concluded {
        /// Where.
        location: String,
        /// When the verdict was journaled.
        at: String,
    },
    /// A phase that calls arms ran outside a tokio runtime.
    #[error(
        "`{phase}` must run inside a tokio runtime (call timeouts and retry backoff use tokio's timer): run it from `#[tokio::main]` or `#[tokio::test]`, or inside `tokio::runtime::Runtime::new()?.block_on(..)` (with timers enabled)"
    )]
    NoRuntime {
        /// The phase: `pilot`, `score_dev` or `verdict`.
        phase: &'static str,
    },
}

/// A refused transition: the error, and the experiment in the state it was in, so nothing is
/// lost.
///
/// ```
/// # use itera_core::*;
/// # let frame = Frame::builder("n", "q?", "h.").baseline("v1", "src/a.rs:1")
/// #     .arm("v2", "v1", "one change").metric("acc", "exact").threshold_pp(5.0)
/// #     .slice_loss_floor_pp(-2.0).build().unwrap();
/// let exp = Experiment::new(frame).unwrap().register(Store::in_memory()).unwrap();
/// let rejected = exp.split_rows(vec![]).unwrap_err();     // no rows
/// let exp = rejected.experiment;                         // still registered, try again
/// assert!(exp.split_rows(vec![Row::new("a", "x")]).is_err()); // one row cannot fill three parts
/// ```
pub struct Rejected<S: State> {
    /// Why.
    pub error: Error,
    /// The experiment, unchanged.
    pub experiment: Experiment<S>,
}

impl<S: State> fmt::Debug for Rejected<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<S: State> fmt::Display for Rejected<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<S: State> std::error::Error for Rejected<S> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// `?` on a refused transition inside a function returning [`Error`]: the error is kept (its
/// message unchanged), the experiment handed back is dropped — keep it by matching on the
/// `Rejected` instead when you want to retry. Pinned by
/// `question_mark_absorbs_a_rejected_transition` in `tests/errors.rs`.
impl<S: State> From<Rejected<S>> for Error {
    fn from(rejected: Rejected<S>) -> Error {
        rejected.error
    }
}
