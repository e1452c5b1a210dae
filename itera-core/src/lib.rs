//! # itera-core
//!
//! The experiment: a pre-registered question answered with a verdict a team can defend —
//! **ship**, **ship narrowly**, **kill** or **inconclusive**. This crate owns the data model
//! ([`Row`], [`Frame`]), the traits a user implements ([`Arm`], [`Judge`], [`Dataset`]), the
//! built-in deterministic judges, the CSV/JSONL loaders, the typestate [`Experiment`] that walks
//! the method's phases in order, the seeded stratified split with its distribution audit and test
//! commitment, and the tamper-evident journal ([`Store`]).
//!
//! Guards from `METHOD.md` are cited as G1…G46 where they are enforced.
//!
//! ```
//! use itera_core::{Experiment, Frame, Row, Store, VecDataset};
//!
//! let frame = Frame::builder("demo", "Does v2 beat v1?", "v2's examples fix refunds.")
//!     .baseline("v1", "src/prompt.rs:12")
//!     .arm("v2", "v1", "adds two refund examples")
//!     .metric("accuracy", "exact")
//!     .threshold_pp(5.0)
//!     .slice_loss_floor_pp(-2.0)
//!     .trials(3)
//!     .seed(7)
//!     .build()
//!     .unwrap();
//! let rows: Vec<Row> = (0..100)
//!     .map(|i| Row::new(format!("r{i}"), "txt").expected("a").slice(if i % 2 == 0 { "smb" } else { "ent" }))
//!     .collect();
//! let exp = Experiment::new(frame).unwrap().register(Store::in_memory()).unwrap();
//! let exp = exp.split_rows(rows).unwrap();
//! assert_eq!(exp.audit().total(), 100);
//! assert_eq!(exp.audit().count("test", "smb"), 10);
//! ```

pub mod arm;
pub mod audit;
pub mod conclusion;
pub mod crossjudge;
pub mod cube;
pub mod dataset;
pub mod diagnosis;
mod effect;
pub mod exec;
pub mod experiment;
pub mod frame;
pub mod gate;
pub mod hash;
pub mod iteration;
pub mod journal;
pub mod judge;
pub mod judges;
pub mod load;
mod phases;
pub mod refiner;
pub mod report;
pub mod row;
pub mod runner;
pub mod split;
pub mod store;
pub mod testpass;
pub mod time;
pub mod verdict;

pub use arm::{Arm, ArmError, ArmOutput, CallCtx, Reports, Usage};
pub use crossjudge::CrossJudgeReport;
pub use cube::{ArmKey, ArmSummary, Paired, ScoreCube};
pub use dataset::{DataError, Dataset, RowSet, VecDataset};
pub use exec::{Progress, ProgressFn, RunOptions};
pub use experiment::{
    DevResults, Draft, Error, Experiment, Gated, Piloted, Registered, Rejected, Scored, Sealed,
    Split, State,
};
pub use frame::{
    ArmPlan, Baseline, Effect, FailureMode, FailurePolicy, Frame, FrameBuilder, FrameError, Metric,
    Price, SeveritySpec, SplitRatios, Threshold, ThresholdRule,
};
pub use journal::{ArmNoise, CallOutcome, CallRecord, ChainError, Entry, Event, PilotArm};
pub use judge::{Judge, JudgeError, JudgeView, Judgement};
pub use phases::SprintError;
pub use row::{DEFAULT_SLICE, Row, RowId};
pub use runner::RunError;
pub use split::{
    DistributionAudit, ModeAudit, Part, SliceAudit, SplitError, SplitOverride, SplitPlan,
};
pub use store::{Registration, Store, StoreError};
pub use testpass::{Conclusion, VerdictError};
pub use verdict::{Decision, Verdict};
