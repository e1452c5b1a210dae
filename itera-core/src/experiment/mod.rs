//! The typestate [`Experiment<S>`]: the method's phases as types. Each transition consumes the
//! previous state, so a skipped step does not compile; a failed transition hands the old state
//! back inside [`Rejected`], so nothing is lost.
//!
//! ```text
//! Experiment::new(frame)?                   -> Experiment<Draft>   frame validated (G2, G3, G5, G6, G9, G10, G25)
//!   .register(store)?                       -> Experiment<Registered>  canonical frame hashed and journaled (G1, G7)
//!   .split(&dataset).await?                 -> Experiment<Split>   seeded stratified split, audit, test commitment
//!     (or .split_rows(rows)?)                                      (G14, G15, G19, G21)
//!   .pilot(lineup).await?                   -> Experiment<Piloted> arms, judge, options bound; one train row per arm (G22)
//!   .score_dev().await?                     -> Experiment<Scored>  trials, noise floor, cross-judge (G24–G31)
//!     (reveal, diagnose, iterate(version, ..) on Scored; G17, G32–G34)
//!   .gate(&classes)? / .gate_unchanged()?   -> Experiment<Gated>   the generalization gate (G35)
//!     (.next_sprint(audit)? goes back to Scored; G36)
//!   .seal()?                                -> Experiment<Sealed>  locked at the latest gate-passed version (G37)
//!   .verdict(data).await?                   -> Conclusion          the one test pass (G39–G46)
//! ```
//!
//! The arms, the judge and the run options are a [`Lineup`] given once, to `pilot`, and owned
//! by the experiment from then on: a later phase cannot be handed other arms or another judge
//! (`tests/ui/mismatch_*.rs`). [`options_mut`](Experiment::options_mut) changes how later calls
//! run (e.g. `accept_underpowered` before the verdict), never what is run.
//!
//! Each transition is bounded on a marker trait ([`ReadyToPilot`] and its siblings) that only
//! the right state implements, so calling a phase too early fails to compile with a message
//! naming the call that comes first (`tests/ui/too_early_*.rs`).

// A refused transition hands the experiment back inside its error (nothing is lost), so the Err
// side is as large as the state it returns; that is the point, not an accident.
#![allow(clippy::result_large_err)]

mod error;
mod evidence;
mod gate;
mod iterate;
mod label_audit;
mod report_data;
mod seal;
mod spent;
pub(crate) mod sprint;
// The store's scan counts, tested from here: registering a frame takes the experiment layer.
#[cfg(test)]
mod store_scan_tests;
// How often a run decodes its call records (issue #17).
#[cfg(test)]
mod decode_tests;
pub(crate) mod testpass;
mod transitions;

use crate::data::dataset::{Dataset, RowSet};
use crate::data::row::{Row, RowId};
use crate::data::split::Part;
use crate::data::split::{DistributionAudit, SplitError, SplitOverride, SplitPlan};
use crate::frame::{Frame, FrameError};
use crate::hash;
use crate::iterate::gate::GateReport;
use crate::journal::event::ArmNoise;
use crate::journal::event::Event;
use crate::journal::store::{FRAME_FILE, REGISTRATION_FILE, Registration, Store, StoreError};
use crate::run::crossjudge::{self, CrossJudgeReport};
use crate::run::cube::{ArmKey, ArmSummary, ScoreCube};
use crate::run::exec::RunOptions;
use crate::run::lineup::Lineup;
use crate::run::runner::{self, PartJob, Roster};
pub use error::{Error, Rejected};
pub use label_audit::{LABEL_AUDIT_MAX_ROWS, LabelAuditError};
pub use transitions::{
    ReadyForVerdict, ReadyToGate, ReadyToPilot, ReadyToRegister, ReadyToScore, ReadyToSeal,
    ReadyToSplit,
};

impl testpass::Conclusion {
    /// The stable view of this verdict for snapshot tests: numbers rounded to 0.01pp and 4
    /// decimals, in a fixed order — the same view as `ReportData::load(dir)?.stable()`.
    pub fn stable(&self) -> crate::report::StableVerdict {
        self.report.stable()
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A phase of the method. Sealed: only this crate defines phases.
pub trait State: sealed::Sealed {}

/// Phase 0, before registration: the frame is validated but nothing is recorded.
#[derive(Debug)]
pub struct Draft {
    _private: (),
}

/// The frame is registered: hashed, written and journaled. Sampling is now allowed (G1).
#[derive(Debug)]
pub struct Registered {
    pub(crate) store: Store,
    pub(crate) frame_hash: String,
    pub(crate) resumed: bool,
}

/// The rows are split; the test rows are sealed behind a commitment (G15).
#[derive(Debug)]
pub struct Split {
    pub(crate) registered: Registered,
    pub(crate) plan: SplitPlan,
}

/// Phase 2 done: every arm passed the pilot on one train row (G22).
#[derive(Debug)]
pub struct Piloted {
    pub(crate) split: Split,
    /// The arms, judge and options bound at the pilot.
    pub(crate) lineup: Lineup,
}

/// Phase 3 done: dev scored with trials, noise floor measured, cross-judge checked (G25–G31).
#[derive(Debug)]
pub struct Scored {
    pub(crate) split: Split,
    pub(crate) dev: DevResults,
    /// The arms (every version seen), judge and options bound at the pilot.
    pub(crate) lineup: Lineup,
}

/// What dev scoring produced: the score cube, per-arm summaries (baseline first), the noise
/// floor and the cross-judge report.
#[derive(Debug, Clone)]
pub struct DevResults {
    /// `[arm version, dev row, trial]` scores.
    pub cube: ScoreCube,
    /// Per-arm summaries, baseline first: mean ± SD across trials, usage, cost, latency.
    pub summaries: Vec<ArmSummary>,
    /// Noise floor per arm (G26).
    pub noise: Vec<ArmNoise>,
    /// The cross-judge check, when it applied (G29).
    pub cross_judge: Option<CrossJudgeReport>,
}

impl DevResults {
    /// σ for comparing `arm` with the baseline: the larger of the two arms' SDs of the
    /// aggregate across trials (G27; conservative).
    pub fn noise_sd(&self, arm: &str) -> Option<f64> {
        let base = self.noise.first()?.aggregate_sd;
        let a = self.noise.iter().rfind(|n| n.arm == arm)?.aggregate_sd;
        Some(a.max(base))
    }

    /// Mean dev difference of `arm` versus the baseline over rows both count, and whether it
    /// reaches 2× the noise floor (G27).
    pub fn effect_vs_noise(&self, arm: &str) -> Option<itera_stats::trials::NoiseCheck> {
        let a = self.cube.arm_index(arm)?;
        let diffs = self.cube.paired(a, 0).diffs();
        if diffs.is_empty() {
            return None;
        }
        let effect = diffs.iter().sum::<f64>() / diffs.len() as f64;
        itera_stats::trials::noise_check(effect, self.noise_sd(arm)?).ok()
    }
}

/// The generalization gate has run (G35). Reached from `Scored` only through the gate.
#[derive(Debug)]
pub struct Gated {
    pub(crate) scored: Scored,
    pub(crate) report: GateReport,
}

/// Arms are locked at their latest gate-passed versions (G37); only the verdict remains.
#[derive(Debug)]
pub struct Sealed {
    pub(crate) scored: Scored,
    pub(crate) locked: Vec<ArmKey>,
    pub(crate) killed: Vec<String>,
}

impl sealed::Sealed for Draft {}
impl sealed::Sealed for Registered {}
impl sealed::Sealed for Split {}
impl sealed::Sealed for Piloted {}
impl sealed::Sealed for Scored {}
impl sealed::Sealed for Gated {}
impl sealed::Sealed for Sealed {}
impl State for Draft {}
impl State for Registered {}
impl State for Split {}
impl State for Piloted {}
impl State for Scored {}
impl State for Gated {}
impl State for Sealed {}

/// An experiment in phase `S`.
#[derive(Debug)]
pub struct Experiment<S: State> {
    pub(crate) frame: Box<Frame>,
    pub(crate) state: S,
}

impl<S: State> Experiment<S> {
    /// The frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    pub(crate) fn reject(self, error: impl Into<Error>) -> Rejected<S> {
        Rejected {
            error: error.into(),
            experiment: self,
        }
    }
}

impl Experiment<Draft> {
    /// Validates the frame.
    pub fn new(frame: Frame) -> Result<Experiment<Draft>, FrameError> {
        frame.validate()?;
        Ok(Experiment {
            frame: Box::new(frame),
            state: Draft { _private: () },
        })
    }

    /// `register` on a draft; the public method is in `transitions.rs`.
    fn register_draft(self, store: Store) -> Result<Experiment<Registered>, Rejected<Draft>> {
        let location = || {
            store
                .location()
                .map_or_else(|| "the store".to_string(), |p| p.display().to_string())
        };
        // G46: a finished experiment is refused here, before any work, not after a full replay
        // at `verdict` (test: `register_on_a_concluded_directory_says_load_the_report`).
        if let Some(at) = store.concluded() {
            let location = location();
            return Err(self.reject(Error::Concluded { location, at }));
        }
        let frame_hash = match hash::hash_value(&self.frame) {
            Ok(h) => h,
            Err(e) => return Err(self.reject(StoreError::Encode(e.to_string()))),
        };
        let existing = match store.registration() {
            Ok(r) => r,
            Err(e) => return Err(self.reject(e)),
        };
        let resumed = match existing {
            // G7: enforced here; removing this check fails tests/foundation.rs::directory_round_trip_resumes_and_refuses_a_different_frame
            Some(reg) if reg.frame_hash == frame_hash => true,
            Some(reg) => {
                let location = location();
                return Err(self.reject(Error::FrameMismatch {
                    location,
                    registered: reg.frame_hash,
                    given: frame_hash,
                }));
            }
            None => {
                if let Err(e) = write_registration(&store, &self.frame, &frame_hash) {
                    return Err(self.reject(e));
                }
                false
            }
        };
        Ok(Experiment {
            frame: self.frame,
            state: Registered {
                store,
                frame_hash,
                resumed,
            },
        })
    }
}

fn write_registration(store: &Store, frame: &Frame, frame_hash: &str) -> Result<(), StoreError> {
    let registered_at = crate::time::now_rfc3339();
    let reg = Registration {
        frame: frame.clone(),
        frame_hash: frame_hash.to_string(),
        registered_at: registered_at.clone(),
    };
    let json = serde_json::to_vec_pretty(&reg).map_err(|e| StoreError::Encode(e.to_string()))?;
    let md = frame.to_markdown(frame_hash, &registered_at);
    store.write_file(REGISTRATION_FILE, &json)?;
    store.write_file(FRAME_FILE, md.as_bytes())?;
    store.append(Event::Registered {
        name: frame.name.clone(),
        frame_hash: frame_hash.to_string(),
        frame_md_hash: hash::sha256_hex(md.as_bytes()),
        registration_hash: hash::sha256_hex(&json),
    })?;
    Ok(())
}

impl Experiment<Registered> {
    /// SHA-256 of the registered frame.
    pub fn frame_hash(&self) -> &str {
        &self.state.frame_hash
    }

    /// Whether the store already held this registration (a resumed experiment).
    pub fn resumed(&self) -> bool {
        self.state.resumed
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// `split` / `split_with` on a registered experiment (public methods in `transitions.rs`).
    async fn split_with_inner(
        self,
        dataset: &dyn Dataset,
        overrides: Vec<SplitOverride>,
    ) -> Result<Experiment<Split>, Rejected<Registered>> {
        match dataset.rows().await {
            Ok(rows) => self.split_rows_inner(rows, dataset.describe(), overrides),
            Err(e) => Err(self.reject(e)),
        }
    }

    fn split_rows_inner(
        self,
        rows: Vec<Row>,
        dataset: String,
        overrides: Vec<SplitOverride>,
    ) -> Result<Experiment<Split>, Rejected<Registered>> {
        let plan = match RowSet::new(rows)
            .map_err(Error::from)
            .and_then(|set| Ok(SplitPlan::compute(set, &self.frame, overrides)?))
        {
            Ok(p) => p,
            Err(e) => return Err(self.reject(e)),
        };
        let reused = match spent::check_at_split(&self.state.store, &plan, &self.frame) {
            Ok(r) => r,
            Err(e) => return Err(self.reject(e)),
        };
        if let Err(e) = record_split(&self.state.store, &plan, &self.frame, dataset, reused) {
            return Err(self.reject(e));
        }
        Ok(Experiment {
            frame: self.frame,
            state: Split {
                registered: self.state,
                plan,
            },
        })
    }
}

/// Journals the split, or checks it against the one journaled before.
fn record_split(
    store: &Store,
    plan: &SplitPlan,
    frame: &Frame,
    dataset: String,
    reused_test: Option<crate::journal::spent::ReusedTest>,
) -> Result<(), Error> {
    let recorded = store
        .entries_without_calls()?
        .into_iter()
        .find_map(|e| match e.event {
            Event::Split {
                data_hash,
                test_commitment,
                ..
            } => Some((data_hash, test_commitment)),
            _ => None,
        });
    match recorded {
        Some((data_hash, commitment)) => {
            // G7: enforced here; removing this check fails tests/foundation.rs::directory_round_trip_resumes_and_refuses_a_different_frame
            if data_hash != plan.data_hash || commitment != plan.test_commitment {
                return Err(SplitError::DataChanged {
                    expected: data_hash,
                    found: plan.data_hash.clone(),
                }
                .into());
            }
            Ok(())
        }
        None => {
            store.append(Event::Split {
                dataset,
                data_hash: plan.data_hash.clone(),
                seed: frame.seed,
                train_ids: plan.train.iter().map(|r| r.id.clone()).collect(),
                dev_ids: plan.dev.iter().map(|r| r.id.clone()).collect(),
                dev_folds: plan.dev_folds.clone(),
                test_n: plan.test.len(),
                test_commitment: plan.test_commitment.clone(),
                audit: plan.audit.clone(),
                overrides: plan.overrides.clone(),
                reused_test,
                ledger: spent::ledger_to_journal(store),
            })?;
            Ok(())
        }
    }
}

impl Experiment<Split> {
    /// SHA-256 of the registered frame.
    pub fn frame_hash(&self) -> &str {
        &self.state.registered.frame_hash
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.state.registered.store
    }

    /// The split: train rows, dev ids, test count and commitment — never test rows.
    pub fn plan(&self) -> &SplitPlan {
        &self.state.plan
    }

    /// The distribution audit (G19).
    pub fn audit(&self) -> &DistributionAudit {
        self.state.plan.audit()
    }

    /// Train rows, shown in full.
    pub fn train_rows(&self) -> &[Row] {
        self.state.plan.train_rows()
    }

    /// Dev row ids (scores only, G17).
    pub fn dev_ids(&self) -> Vec<&RowId> {
        self.state.plan.dev_ids()
    }
}

impl Experiment<Split> {
    /// `pilot` on a split experiment (the public method is in `transitions.rs`).
    async fn pilot_split(self, lineup: Lineup) -> Result<Experiment<Piloted>, Rejected<Split>> {
        let (arms, judge, opts) = (&lineup.arms, lineup.judge(), &lineup.options);
        let result = async {
            // The lineup is checked against the registration once, here, before any call (G8,
            // G22, G23): `tests/integrity.rs::wrong_judge_confident_verdict_is_refused_at_pilot`
            // and `tests/runner.rs::arms_must_match_the_registration_and_not_change` fail
            // without it.
            testpass::check_registered_judge(&self.frame, judge)?;
            let roster = Roster::new(&self.frame, arms)?;
            check_recorded_versions(&self.frame, &lineup)?;
            let plan = &self.state.plan;
            let row = plan.train.first().or(plan.dev.first());
            runner::pilot(&self.frame, row, &roster, judge, self.store(), opts).await?;
            Ok::<_, Error>(())
        }
        .await;
        match result {
            Ok(()) => Ok(Experiment {
                frame: self.frame,
                state: Piloted {
                    split: self.state,
                    lineup,
                },
            }),
            Err(e) => Err(self.reject(e)),
        }
    }
}

impl Experiment<Piloted> {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.state.split.registered.store
    }

    /// The split.
    pub fn plan(&self) -> &SplitPlan {
        &self.state.split.plan
    }

    /// `score_dev` on a piloted experiment (the public method is in `transitions.rs`).
    async fn score_dev_piloted(self) -> Result<Experiment<Scored>, Rejected<Piloted>> {
        let lineup = &self.state.lineup;
        let (arms, judge, opts) = (&lineup.arms, lineup.judge(), &lineup.options);
        let result = async {
            // The pilot checked this lineup; checked again so that the check cannot drift from
            // the pilot's (G8, G23).
            testpass::check_registered_judge(&self.frame, judge)?;
            let roster = Roster::new(&self.frame, arms)?;
            let store = self.store();
            runner::manifest(store, &roster, judge)?;
            let rows = &self.state.split.plan.dev;
            let job = PartJob {
                frame: &self.frame,
                rows,
                part: Part::Dev,
                roster: &roster,
                judge,
                store,
                opts,
                recorded: true,
            };
            // What the journal already holds, read before scoring: on a fresh run it is a few
            // lines, and nothing scoring appends changes these answers.
            let (mut already, mut iterated) = (false, false);
            store.scan_if(
                |p| !p.call,
                |e| match e.event {
                    Event::DevScored { .. } => already = true,
                    Event::Iteration { .. } => iterated = true,
                    _ => {}
                },
            )?;
            let cube = runner::score_part(&job, "dev").await?;
            let noise = runner::noise(&cube)?;
            let summaries: Vec<ArmSummary> =
                (0..cube.arms().len()).map(|i| cube.summary(i)).collect();
            if !already {
                store.append(Event::DevScored {
                    calls: summaries.len() * rows.len() * self.frame.trials as usize,
                    failed: summaries.iter().map(|s| s.failed_calls).sum(),
                    noise: noise.clone(),
                })?;
            }
            let cross_judge =
                crossjudge::check(rows, &cube, &roster, judge, store, opts, &self.frame).await?;
            // A reopened experiment that iterated before: its state holds every journaled
            // version, not just the registered ones (rebuilt from the journal, no calls).
            if iterated {
                let ledger = crate::iterate::iteration::Ledger::read(store)?;
                return crate::experiment::sprint::dev_from_journal(
                    &self.frame,
                    rows,
                    store,
                    &ledger,
                    cross_judge,
                );
            }
            Ok::<_, Error>(DevResults {
                cube,
                summaries,
                noise,
                cross_judge,
            })
        }
        .await;
        match result {
            Ok(dev) => Ok(Experiment {
                frame: self.frame,
                state: Scored {
                    split: self.state.split,
                    dev,
                    lineup: self.state.lineup,
                },
            }),
            Err(e) => Err(self.reject(e)),
        }
    }
}

/// Refuses a recorded version of an arm that is not registered: it could never be locked, so it
/// is a mistake in the caller's lineup (a misspelled id), said at once rather than at the verdict.
fn check_recorded_versions(frame: &Frame, lineup: &Lineup) -> Result<(), Error> {
    let ids = frame.arm_ids();
    let unknown: Vec<String> = lineup
        .versions
        .iter()
        .map(|a| a.id())
        .filter(|id| !ids.contains(id))
        .map(str::to_string)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(runner::RunError::ArmsMismatch {
        missing: String::new(),
        unknown: unknown.join(", "),
    }
    .into())
}

macro_rules! options_mut {
    ($state:ty, $($path:ident).+) => {
        impl Experiment<$state> {
            /// How later calls run: the [`RunOptions`] of the [`Lineup`] bound at the pilot,
            /// to change e.g. the progress callback or `accept_underpowered` before the verdict.
            /// The arms and the judge cannot be changed: they were bound once (G8, G23).
            pub fn options_mut(&mut self) -> &mut RunOptions {
                &mut self.state.$($path).+.options
            }
        }
    };
}
options_mut!(Piloted, lineup);
options_mut!(Scored, lineup);
options_mut!(Gated, scored.lineup);
options_mut!(Sealed, scored.lineup);
