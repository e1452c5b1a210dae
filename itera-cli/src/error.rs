//! Exit codes and the CLI's error: every failure is one or two lines (the problem and the fix)
//! and an exit code a CI job can gate on.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ship |
//! | 10 | ship narrowly |
//! | 11 | kill |
//! | 12 | inconclusive |
//! | 1 | error while running (I/O, a failed pilot, a call that cannot be made, charts) |
//! | 2 | bad input or usage (experiment file, data, a tampered or edited directory, a refused move) |
//!
//! `itera_core::Error` maps as follows: `Frame`, `Data`, `Split` (also test rows another experiment already opened, G15), `FrameMismatch`, `Sprint` → 2;
//! `Store` → 1 for I/O, encoding and a directory another process holds ("busy"), 2 for a tampered journal or an edited registration (the
//! directory is bad input: nothing a retry fixes); `Verdict` → 2 (the test pass was refused:
//! concluded, contaminated, changed data or judge), except another process holding the lock and
//! an arm whose calls failed beyond the registered share (fix it and resume) → 1;
//! `LabelAudit` → 1 for sealing a synthetic source before its label audit (G18), 2 otherwise;
//! `Run` → 2 when the arms, judge or specs do not match the journal (fix the file), 1 otherwise
//! (pilot failures, cross-judge).

use itera_core::{Decision, Error, LabelAuditError, RunError, StoreError, VerdictError};

/// Exit code: ship.
pub const SHIP: i32 = 0;
/// Exit code: ship narrowly.
pub const SHIP_NARROWLY: i32 = 10;
/// Exit code: kill.
pub const KILL: i32 = 11;
/// Exit code: inconclusive.
pub const INCONCLUSIVE: i32 = 12;
/// Exit code: an error while running.
pub const RUN_ERROR: i32 = 1;
/// Exit code: bad input or usage.
pub const BAD_INPUT: i32 = 2;

/// The exit code of a decision.
pub fn decision_code(d: Decision) -> i32 {
    match d {
        Decision::Ship => SHIP,
        Decision::ShipNarrowly => SHIP_NARROWLY,
        Decision::Kill => KILL,
        Decision::Inconclusive => INCONCLUSIVE,
    }
}

/// The exit code of a decision as `data.json` spells it.
pub fn decision_str_code(d: &str) -> i32 {
    match d {
        "ship" => SHIP,
        "ship-narrowly" => SHIP_NARROWLY,
        "kill" => KILL,
        "inconclusive" => INCONCLUSIVE,
        _ => RUN_ERROR,
    }
}

/// A failure: the message (problem and fix) and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// 1 (running) or 2 (bad input).
    pub code: i32,
    /// What went wrong and what to do.
    pub message: String,
}

impl CliError {
    /// Bad input or usage (exit 2).
    pub fn bad(message: impl Into<String>) -> CliError {
        CliError {
            code: BAD_INPUT,
            message: message.into(),
        }
    }

    /// An error while running (exit 1).
    pub fn run(message: impl Into<String>) -> CliError {
        CliError {
            code: RUN_ERROR,
            message: message.into(),
        }
    }

    /// Prefixes the message (e.g. with the file or directory).
    pub fn context(mut self, prefix: impl std::fmt::Display) -> CliError {
        self.message = format!("{prefix}: {}", self.message);
        self
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<crate::config::ConfigError> for CliError {
    fn from(e: crate::config::ConfigError) -> Self {
        CliError::bad(e.to_string())
    }
}

/// The exit code of a store error.
pub fn store_code(e: &StoreError) -> i32 {
    match e {
        // Busy: another process holds the directory (G1) — a retry later succeeds.
        StoreError::Io { .. }
        | StoreError::Encode(_)
        | StoreError::Busy { .. }
        | StoreError::ReadOnly(_) => RUN_ERROR,
        _ => BAD_INPUT,
    }
}

/// The exit code of a core error (see the module table).
pub fn core_code(e: &Error) -> i32 {
    match e {
        Error::Store(s) => store_code(s),
        Error::Run(r) => match r {
            RunError::ArmsMismatch { .. }
            | RunError::SpecChanged { .. }
            | RunError::JudgeChanged { .. }
            | RunError::CrossJudgeRequired { .. }
            | RunError::JudgeFamilyMissing { .. }
            | RunError::SecondJudgeFamily { .. }
            | RunError::CrossJudgeRowsTooFew { .. } => BAD_INPUT,
            RunError::Store(s) => store_code(s),
            _ => RUN_ERROR,
        },
        Error::Verdict(
            VerdictError::Busy(_)
            | VerdictError::DevCallsFailed(_)
            | VerdictError::TestCallsFailed(_)
            // G20: refused at run time, retryable with --accept-underpowered (exit 1).
            | VerdictError::Underpowered(_),
        ) => RUN_ERROR,
        // G18: sealing a synthetic source before its label audit is refused at run time (exit
        // 1); the fix is `itera label-audit`, then resume.
        Error::LabelAudit(LabelAuditError::Missing) => RUN_ERROR,
        _ => BAD_INPUT,
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError {
            code: core_code(&e),
            message: e.to_string(),
        }
    }
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        CliError {
            code: store_code(&e),
            message: e.to_string(),
        }
    }
}

impl<S: itera_core::State> From<itera_core::Rejected<S>> for CliError {
    fn from(r: itera_core::Rejected<S>) -> Self {
        CliError::from(r.error)
    }
}
