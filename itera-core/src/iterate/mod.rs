//! Phase 4, diagnose and iterate: per-row diagnosis with its automatic flags, explicit reveals of
//! dev rows, hypothesis-first iterations grouped in capped sprints, the generalization gate with
//! its leak detector and seen-vs-unseen test, and the [`Refiner`](refiner::Refiner) trait for
//! tools that propose changes.
//!
//! Guards here: G17 (dev is scores-only; reading a row is a journaled reveal), G32 (diff
//! patterns flagged), G33 (hypothesis first, outcome from the CI), G34 (sprint cap 3), G35 (the
//! generalization gate), G36 (a 4th sprint needs an audit), G37 (lock the latest gate-passed
//! version, never the best-scoring), G38 (did the changed path run). Uses the layers below it
//! ([`crate::run`] for scores).

pub mod diagnosis;
pub mod gate;
pub mod iteration;
pub mod leak;
pub mod refiner;
pub(crate) mod trace;
