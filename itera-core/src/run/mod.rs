//! Phases 2 and 3, pilot and dev scoring: the [`Arm`](arm::Arm) and [`Judge`](judge::Judge)
//! traits a user implements, the built-in deterministic judges, the runner (bounded concurrency,
//! trials, retries, rate limits, the failure policy, journal-backed resume), the score cube and
//! paired effects, the noise floor and the cross-judge check.
//!
//! Guards here: G22 (pilot on one train row, every field populated), G23 (same inputs, judge and
//! versions for all arms), G24 (per-row score, tokens, cost, latency), G25 (trials ≥ 3, mean ± SD
//! only — no best-trial accessor), G26–G27 (noise floor from repeat trials), G28 (steady-state
//! cost), G29 (cross-judge), G30 (blind judge: the judge's view carries no arm identity), G31 (no
//! early stop). Uses [`crate::frame`], [`crate::data`] and [`crate::journal`].

pub mod adaptive;
pub mod arm;
pub mod batch;
pub(crate) mod batch_run;
pub(crate) mod crossjudge;
pub(crate) mod cube;
pub(crate) mod effect;
pub mod exec;
pub(crate) mod journaled;
pub mod judge;
pub mod judges;
pub mod lineup;
pub(crate) mod modes;
pub(crate) mod pilot;
pub(crate) mod runner;
pub(crate) mod settle;
pub(crate) mod watch;
