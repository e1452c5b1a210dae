//! # itera-core
//!
//! The experiment: a pre-registered question answered with a verdict a team can defend —
//! **ship**, **ship narrowly**, **kill** or **inconclusive**. This crate owns the data model
//! ([`Row`], [`Frame`]), the traits a user implements ([`Arm`], [`Judge`], [`Dataset`]), the
//! built-in deterministic judges, the CSV/JSONL loaders, the typestate [`Experiment`] that walks
//! the method's phases in order, the seeded stratified split with its distribution audit and test
//! commitment, and the tamper-evident journal ([`Store`]). The built-in arms and judges that
//! replay recordings, run a command or call an OpenAI-compatible endpoint are in [`builtin`]
//! (the last two behind the cargo features `command` and `http`).
//!
//! The rules the crate enforces are tagged G1…G46 (and R1–R5 for the verdict rules) in its
//! messages and docs; [`guards`] says each in a sentence, and where it is enforced.
//!
//! ## The module map
//!
//! The tree follows the method's phases (METHOD.md §2). Each module uses only the modules listed
//! before it in this table (and the crate's hashing and clock helpers): the journal and the data
//! layer know nothing of later phases. `tests/layers.rs` reads every `crate::` path in the
//! sources and fails on an import against this order.
//!
//! | module | phase | owns | guards |
//! |---|---|---|---|
//! | [`frame`] | 0 frame | the pre-registered [`Frame`], its builder and validation | G2–G6, G9, G10, G25 |
//! | [`data`] | 1 source + split | [`Row`], [`Dataset`], CSV/JSONL loaders, the seeded stratified split, distribution audit, test commitment | G13–G15, G19, G21 |
//! | [`journal`] | all | the hash-chained [`Store`]: events, records, verification; appended only by phase methods | G1, G7, G15, G46 |
//! | [`run`] | 2 pilot, 3 score dev | [`Arm`], [`Judge`], built-in judges, the runner (trials, retries, limits, resume), score cube, noise floor, cross-judge | G22–G31 |
//! | [`builtin`] | 2–3 | ready-made arms and judges: replay, recorded score; `command` and `http` (OpenAI-compatible, LLM judge) behind features | G8, G23, G28, G30 |
//! | [`iterate`] | 4 diagnose + sprints | diagnosis flags, reveals, iterations, sprints, the generalization gate and leak detector, [`Refiner`](iterate::refiner::Refiner) | G17, G32–G38 |
//! | [`decide`] | 5 verdict rules | R1–R5 as a pure function, the multi-arm choice, overfit alarm, rationale | G40–G45 |
//! | [`report`] | 6 report | `data.json` ([`ReportData`](report::ReportData)), `conclusion.md`, the self-audit from the journal | G40, G44, §6 |
//! | [`experiment`] | 0 → 5 | the typestate [`Experiment`] that walks the phases in order, and the one test pass | G1, G15, G16, G20, G37, G39, G46 |
//!
//! ## Debug builds
//!
//! A debug build (your `cargo test`) compiles itera-core and its dependencies unoptimized, and an
//! experiment spends most of its time in them (the journal's SHA-256 and JSON). Cargo reads
//! profiles only from the top workspace, so add this to your workspace's root `Cargo.toml`:
//!
//! ```toml
//! [profile.dev.package."*"]
//! opt-level = 1
//! ```
//!
//! Your own crates stay unoptimized; a debug run then takes about 2× the release time instead
//! of about 7× (README "Performance", `benches/e2e/debug_ratio.sh`). Level 1, not 3: at 2–3
//! rustc no longer shares the dependencies' generic code with your unoptimized crates.
//!
//! ## The whole method, in memory
//!
//! Register → split → pilot → score dev → gate → seal → verdict, with a custom arm and judge
//! (a stand-in classifier right with a fixed probability per arm, seeded per row and trial) and
//! rows in memory. The arms, the judge and the run options are one [`Lineup`], given once to
//! `pilot` and owned by the experiment from then on: no later phase takes them again. Every
//! refusal converts into [`Error`] with `?`.
//!
//! ```
//! use itera_core::prelude::*;
//!
//! /// Right with probability `p`, the draw seeded by the call (row × trial) and the arm.
//! struct Classifier { id: &'static str, p: f64 }
//!
//! #[async_trait]
//! impl Arm for Classifier {
//!     fn id(&self) -> &str { self.id }
//!     fn spec(&self) -> String { format!("classifier p={}", self.p) }
//!     async fn call(&self, input: &Value, ctx: &CallCtx) -> Result<ArmOutput, ArmError> {
//!         let h = itera_core::hash::sha256_hex(format!("{}|{}", self.id, ctx.seed).as_bytes());
//!         let draw = u64::from_str_radix(&h[..12], 16).unwrap_or(0) as f64 / (1u64 << 48) as f64;
//!         let answer = if draw < self.p { input["answer"].as_str().unwrap_or("") } else { "wrong" };
//!         Ok(ArmOutput::text(answer).with_usage(120, 4).with_latency_ms(35.0))
//!     }
//! }
//!
//! /// Exact match against the row's expected value.
//! struct Exact;
//!
//! #[async_trait]
//! impl Judge for Exact {
//!     fn id(&self) -> &str { "exact" }
//!     async fn score(&self, view: JudgeView<'_>, output: &Value) -> Result<Judgement, JudgeError> {
//!         Ok(Judgement::score(if Some(output) == view.expected { 1.0 } else { 0.0 }))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let frame = Frame::builder("doc", "Does the candidate beat the baseline?", "A better prompt.")
//!     .baseline("base", "src/classify.rs:10")
//!     .arm("cand", "base", "a better prompt")
//!     .metric("accuracy", "exact")
//!     .threshold_pp(5.0)
//!     .slice_loss_floor_pp(-2.0)
//!     .trials(3)
//!     .seed(3)
//!     .build()?;
//! let rows: Vec<Row> = (0..2000)
//!     .map(|i| {
//!         let answer = ["travel", "software", "supplies"][i % 3];
//!         Row::new(format!("r{i:04}"), json!({ "answer": answer }))
//!             .expected(answer)
//!             .slice(if i % 2 == 0 { "smb" } else { "ent" })
//!     })
//!     .collect();
//! let lineup = Lineup::new(Exact)
//!     .arm(Classifier { id: "base", p: 0.6 })
//!     .arm(Classifier { id: "cand", p: 0.9 })
//!     .options(RunOptions::default());
//! let exp = Experiment::new(frame)?
//!     .register(Store::in_memory())?              // frame hashed and journaled (G1, G7)
//!     .split_rows(rows)?                           // seeded, stratified, test sealed (G14, G15)
//!     .pilot(lineup).await?                        // lineup bound; one train row per arm (G22)
//!     .score_dev().await?                          // trials, noise floor (G25–G31)
//!     .gate_unchanged()?                           // the generalization gate (G35)
//!     .seal()?;                                    // locked at the latest gate-passed version (G37)
//! let done = exp.verdict(None).await?;            // the one test pass (G39–G46)
//! assert_eq!(done.verdict.decision, Decision::Ship, "{}", done.verdict.rationale);
//! assert!(done.conclusion_md.contains("## Self-audit"));
//! # Ok(())
//! # }
//! ```
//!
//! ## The split on its own
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

pub mod builtin;
mod canonical;
pub mod data;
pub mod guards {
    #![doc = include_str!("guards.md")]
}
pub mod prelude {
    //! Everything a user needs, in one import: `use itera_core::prelude::*;`.
    //!
    //! It carries the traits a user implements ([`Arm`], [`Judge`], [`Dataset`]) with the
    //! [`async_trait`](macro@async_trait) attribute they need, `serde_json`'s [`Value`] and [`json!`] (an arm's
    //! input and output are JSON), the data model ([`Row`], [`Frame`]), the phases
    //! ([`Experiment`], [`Store`], [`RunOptions`]), the results ([`Conclusion`], [`Verdict`],
    //! [`Decision`], [`StableVerdict`]) and the crate's error type [`Error`], which every
    //! refusal converts into with `?`. A user's `Cargo.toml` needs `itera-core` and `tokio`
    //! (features `rt-multi-thread` and `macros`, for `#[tokio::main]` / `#[tokio::test]`) and
    //! nothing else: `examples/as-a-dependency` in the workspace is such a crate, and its test
    //! would stop compiling if this module dropped something a user needs.

    pub use crate::data::dataset::{DataError, Dataset, VecDataset};
    pub use crate::data::row::{Row, RowId};
    pub use crate::decide::rules::{Decision, Verdict};
    pub use crate::experiment::testpass::Conclusion;
    pub use crate::experiment::{Error, Experiment, Rejected};
    pub use crate::frame::{Frame, FrameError};
    pub use crate::iterate::gate::ChangeClass;
    pub use crate::journal::store::Store;
    pub use crate::report::{ReportData, StableVerdict};
    pub use crate::run::arm::{Arm, ArmError, ArmOutput, CallCtx, Reports, Usage};
    pub use crate::run::exec::RunOptions;
    pub use crate::run::judge::{Judge, JudgeError, JudgeView, Judgement};
    pub use crate::run::lineup::Lineup;
    pub use async_trait::async_trait;
    pub use serde_json::{Value, json};
}
pub mod decide;
pub mod experiment;
pub mod frame;
pub mod hash;
pub mod iterate;
pub mod journal;
pub mod report;
pub mod run;
pub mod time;

/// The README's Rust blocks, compiled as doctests (`cargo test -p itera-core --doc`), so the
/// library section cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub use data::dataset::{DataError, Dataset, RowSet, VecDataset};
pub use data::row::{DEFAULT_SLICE, Row, RowId};
pub use data::split::{
    DistributionAudit, ModeAudit, Part, SliceAudit, SplitError, SplitOverride, SplitPlan,
};
pub use decide::rules::{Decision, Verdict};
pub use experiment::sprint::SprintError;
pub use experiment::testpass::{Conclusion, FailedCalls, VerdictError};
pub use experiment::{
    DevResults, Draft, Error, Experiment, Gated, LABEL_AUDIT_MAX_ROWS, LabelAuditError, Piloted,
    Registered, Rejected, Scored, Sealed, Split, State,
};
pub use frame::{
    ArmPlan, Baseline, Effect, FailureMode, FailurePolicy, Frame, FrameBuilder, FrameError, Metric,
    ModeRule, Price, SeveritySpec, SliceRule, SplitRatios, Threshold, ThresholdRule,
};
pub use journal::event::{ArmNoise, CallOutcome, CallRecord, ChainError, Entry, Event, PilotArm};
pub use journal::store::{Registration, Store, StoreError};
pub use report::rewrite_conclusion;
pub use run::arm::{Arm, ArmError, ArmOutput, CallCtx, Reports, Usage};
pub use run::batch::{BatchApi, BatchCounts, BatchRequest, BatchResult, BatchStatus};
pub use run::crossjudge::CrossJudgeReport;
pub use run::cube::{ArmKey, ArmSummary, Paired, ScoreCube};
pub use run::exec::{Progress, ProgressFn, RunOptions, Waiting};
pub use run::judge::{Judge, JudgeError, JudgeView, Judgement};
pub use run::lineup::Lineup;
pub use run::runner::RunError;
