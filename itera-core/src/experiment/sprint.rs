//! The iterate-and-gate phases of the typestate: on `Scored`, reveal a dev row (G17), diagnose
//! (G32), record and re-score an iteration (G33, G34); `Scored -> Gated` through the
//! generalization gate (G35); from `Gated`, open another sprint (G36) or seal, locking every
//! surviving arm at its latest gate-passed version (G37). Everything is journaled, and every
//! decision is re-derived from the journal through the [`Ledger`](crate::iterate::iteration::Ledger).
//!
//! This module owns [`SprintError`], the refusal every one of these moves shares; the moves
//! live in `iterate` (reveal, diagnose, iterate on `Scored`), `gate` (the gate and the next
//! sprint) and `seal` (locking, and the dev results rebuilt from the journal).

use crate::data::row::RowId;
use crate::iterate::iteration::{SPRINT_CAP, SPRINTS_WITHOUT_AUDIT};

pub(crate) use super::seal::dev_from_journal;

/// A refused iteration, reveal, gate or sprint move. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SprintError {
    /// The fourth iteration of a sprint (G34).
    #[error(
        "sprint {sprint} already holds {SPRINT_CAP} iterations, the most a sprint holds (G34): run the gate, then open a new sprint"
    )]
    SprintCap {
        /// The sprint.
        sprint: u32,
    },
    /// The sprint was closed by a falsified or saturated iteration, or by the gate (G34).
    #[error(
        "sprint {sprint} is closed ({why}), and a closed sprint accepts no iteration (G34): run the gate, then open a new sprint"
    )]
    SprintClosed {
        /// The sprint.
        sprint: u32,
        /// Why it closed.
        why: String,
    },
    /// The baseline cannot be iterated: it is the deployed behaviour (G2).
    #[error("'{0}' is the baseline, the deployed behaviour (G2): iterate a candidate arm")]
    BaselineIteration(String),
    /// No such candidate arm.
    #[error("no candidate arm '{0}' is registered")]
    UnknownArm(String),
    /// The arm was killed or locked by the gate.
    #[error(
        "arm '{arm}' was {how} by the generalization gate (G35), and an arm the gate closed accepts no more iterations: iterate another arm, or start a new experiment"
    )]
    ArmClosed {
        /// The arm.
        arm: String,
        /// "killed" or "locked".
        how: &'static str,
    },
    /// The new spec is the current spec: nothing changed.
    #[error(
        "the new version of '{0}' has the same spec as its current version: an iteration changes one thing (G33)"
    )]
    NothingChanged(String),
    /// A new version's spec equals an earlier version's: going back is a revert, made on purpose
    /// and journaled (G33, G37), never a silent no-op.
    #[error(
        "arm {arm}'s spec equals v{version}: call revert(\"{arm}\", {version}, reason) to go back on purpose, or change the spec"
    )]
    EqualsEarlierVersion {
        /// The arm.
        arm: String,
        /// The earlier version whose spec it equals.
        version: u32,
    },
    /// A revert names a version the arm does not have before its current one.
    #[error(
        "arm '{arm}' has no version v{version} before its current v{current} to revert to: name an earlier version of this arm"
    )]
    NoSuchVersion {
        /// The arm.
        arm: String,
        /// The version asked for.
        version: u32,
        /// The arm's current version.
        current: u32,
    },
    /// The gate blocked an arm: a hardcode remains among its changes (G35), so it cannot be
    /// locked.
    #[error(
        "arm '{arm}' v{version} is blocked by the generalization gate, because a hardcoded change is never locked (G35): {changes}; remove the hardcode in a new iteration (or revert) and re-run the gate (open the next sprint first)"
    )]
    Blocked {
        /// The arm.
        arm: String,
        /// The version the gate reviewed.
        version: u32,
        /// The gate's list of changes with their classes.
        changes: String,
    },
    /// Only an arm the gate blocked can be given up.
    #[error(
        "arm '{0}' is not blocked by the latest gate: only a blocked arm is given up (an arm with mostly hardcodes is killed by the gate itself)"
    )]
    NotBlocked(String),
    /// A sprint beyond the third needs a recorded gate audit (G36).
    #[error(
        "sprint {sprint} would exceed {SPRINTS_WITHOUT_AUDIT} sprints, and a sprint beyond that needs a recorded gate audit (G36): record a gate audit (why another sprint is not dev-set fitting); it turns the self-audit item red"
    )]
    AuditRequired {
        /// The sprint that would open.
        sprint: u32,
    },
    /// The experiment already has its verdict (G46).
    #[error(
        "this experiment already has its verdict (G46): nothing may follow it; a follow-up is a new experiment with fresh rows"
    )]
    Concluded,
    /// The row is not a dev or train row.
    #[error(
        "no dev or train row has id '{0}'; only dev rows are revealed (train rows are shown freely)"
    )]
    NotRevealable(RowId),
    /// Below 50 rows (k-fold mode, METHOD.md §3) a dev row may be revealed only from an open
    /// fold: the closed folds are where generalization is judged.
    #[error(
        "dev row '{row}' is in fold {fold}, which is closed in sprint {sprint}: below 50 rows dev is split into 5 folds (METHOD.md §3 k-fold mode); rows are revealed only from folds 0..{open} (one more opens per sprint, the last never) and the gate judges generalization on the closed ones. Reveal a row of an open fold (`itera status` lists dev ids; the plan's dev_folds gives each id's fold)"
    )]
    ClosedFold {
        /// The row asked for.
        row: RowId,
        /// Its fold.
        fold: u32,
        /// The current sprint.
        sprint: u32,
        /// Folds `0..open` are open.
        open: u32,
    },
}
