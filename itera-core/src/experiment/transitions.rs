//! The phase transitions as methods bounded on one marker trait per step, so that calling a
//! phase too early (or again) fails to compile with a message that names the call that comes
//! first — "`score_dev` needs a piloted experiment: call `.pilot(..)` first" — instead of
//! rustc's guess at a similarly named method. Each marker trait is sealed and implemented for
//! exactly one state; the method converts the experiment to that state and runs the step
//! defined beside its state (`mod.rs`, `gate.rs`, `seal.rs`, `testpass.rs`). The messages are
//! pinned in `tests/ui/too_early_*.stderr` and `tests/ui/too_late_*.stderr`.

// A refused transition hands the experiment back inside its error (see `experiment/mod.rs`).
#![allow(clippy::result_large_err)]

use crate::data::dataset::Dataset;
use crate::data::row::Row;
use crate::data::split::SplitOverride;
use crate::experiment::testpass::Conclusion;
use crate::experiment::{
    Draft, Error, Experiment, Gated, Piloted, Registered, Rejected, Scored, Sealed, Split, State,
};
use crate::iterate::gate::ChangeClass;
use crate::journal::store::Store;
use crate::run::lineup::Lineup;

mod sealed {
    /// The one state a marker trait stands for, and the conversion to it (the identity).
    pub trait Is<T> {
        fn into_phase(self) -> T;
    }
}

macro_rules! phase_is {
    ($state:ty) => {
        impl sealed::Is<$state> for $state {
            fn into_phase(self) -> $state {
                self
            }
        }
    };
}
phase_is!(Draft);
phase_is!(Registered);
phase_is!(Split);
phase_is!(Piloted);
phase_is!(Scored);
phase_is!(Gated);
phase_is!(Sealed);

/// A state that can be registered: only [`Draft`]. A frame is registered once (G1, G7).
#[diagnostic::on_unimplemented(
    message = "`register` takes a new experiment (`Experiment::new(frame)?`), and this one is already registered (`{Self}`)",
    label = "a frame is registered once (G1, G7): keep using this experiment, or start a new one in a new directory",
    note = "the phases in order: Experiment::new(frame)? → .register(store)? → .split(..) → .pilot(lineup) → .score_dev() → .gate(..) → .seal()? → .verdict(..)"
)]
pub trait ReadyToRegister: State + sealed::Is<Draft> {}
impl ReadyToRegister for Draft {}

/// A state whose rows can be split: only [`Registered`]. No row is sampled before the frame is
/// registered (G1), and the split is made once.
#[diagnostic::on_unimplemented(
    message = "`split` needs a registered experiment, and this one is `{Self}`: call `.register(store)?` first",
    label = "no row is sampled before the frame is registered (G1), and rows are split once (G14, G15)",
    note = "the phases in order: Experiment::new(frame)? → .register(store)? → .split(..) → .pilot(lineup) → .score_dev() → .gate(..) → .seal()? → .verdict(..)"
)]
pub trait ReadyToSplit: State + sealed::Is<Registered> {}
impl ReadyToSplit for Registered {}

/// A state that can run the pilot: only [`Split`]. The pilot calls every arm on one train row
/// (G22), so the rows must be split first.
#[diagnostic::on_unimplemented(
    message = "`pilot` needs a split experiment, and this one is `{Self}`: call `.split(&dataset).await?` (or `.split_rows(rows)?`) first",
    label = "the pilot calls every arm on one train row (G22): the rows are split first",
    note = "the phases in order: Experiment::new(frame)? → .register(store)? → .split(..) → .pilot(lineup) → .score_dev() → .gate(..) → .seal()? → .verdict(..)"
)]
pub trait ReadyToPilot: State + sealed::Is<Split> {}
impl ReadyToPilot for Split {}

/// A state that can score dev: only [`Piloted`]. No arm is scored before it passed the pilot
/// (G22).
#[diagnostic::on_unimplemented(
    message = "`score_dev` needs a piloted experiment, and this one is `{Self}`: call `.pilot(lineup).await?` first",
    label = "every arm passes the pilot on one train row before dev is scored (G22)",
    note = "the phases in order: Experiment::new(frame)? → .register(store)? → .split(..) → .pilot(lineup) → .score_dev() → .gate(..) → .seal()? → .verdict(..)"
)]
pub trait ReadyToScore: State + sealed::Is<Piloted> {}
impl ReadyToScore for Piloted {}

/// A state the generalization gate can run on: only [`Scored`]. The gate reviews the changes
/// against what dev scoring measured (G35).
#[diagnostic::on_unimplemented(
    message = "`gate` needs a scored experiment, and this one is `{Self}`: call `.score_dev().await?` first (from `Gated`, `.next_sprint(..)` returns to `Scored`)",
    label = "the generalization gate reviews changes against dev scores (G35)",
    note = "the phases in order: Experiment::new(frame)? → .register(store)? → .split(..) → .pilot(lineup) → .score_dev() → .gate(..) → .seal()? → .verdict(..)"
)]
pub trait ReadyToGate: State + sealed::Is<Scored> {}
impl ReadyToGate for Scored {}

/// A state that can be sealed: only [`Gated`]. Arms are locked at their latest gate-passed
/// version (G35, G37), so the gate runs first.
#[diagnostic::on_unimplemented(
    message = "`seal` needs a gated experiment, and this one is `{Self}`: call `.gate(&classes)?` (or `.gate_unchanged()?`) first",
    label = "arms are locked at their latest gate-passed version (G35, G37): the gate runs before sealing",
    note = "the phases in order: Experiment::new(frame)? → .register(store)? → .split(..) → .pilot(lineup) → .score_dev() → .gate(..) → .seal()? → .verdict(..)"
)]
pub trait ReadyToSeal: State + sealed::Is<Gated> {}
impl ReadyToSeal for Gated {}

/// A state that can open the test set: only [`Sealed`]. Only locked arms and the baseline run
/// on test, once (G37, G39).
#[diagnostic::on_unimplemented(
    message = "`verdict` needs a sealed experiment, and this one is `{Self}`: call `.seal()?` first (after the gate)",
    label = "only locked arms and the baseline run on the test set, once (G37, G39)",
    note = "the phases in order: Experiment::new(frame)? → .register(store)? → .split(..) → .pilot(lineup) → .score_dev() → .gate(..) → .seal()? → .verdict(..)"
)]
pub trait ReadyForVerdict: State + sealed::Is<Sealed> {}
impl ReadyForVerdict for Sealed {}

/// Refuses a phase that calls arms outside a tokio runtime, instead of letting tokio's timer
/// panic ("there is no reactor running"). Test:
/// `tests/errors.rs::pilot_outside_a_tokio_runtime_says_so_instead_of_panicking`.
fn in_runtime(phase: &'static str) -> Result<(), Error> {
    tokio::runtime::Handle::try_current()
        .map(|_| ())
        .map_err(|_| Error::NoRuntime { phase })
}

impl<S: State> Experiment<S> {
    fn into_phase<T: State>(self) -> Experiment<T>
    where
        S: sealed::Is<T>,
    {
        Experiment {
            frame: self.frame,
            state: sealed::Is::<T>::into_phase(self.state),
        }
    }

    /// Registers the frame in a store (G1, G7): canonical JSON + SHA-256, `registration.json`,
    /// `frame.md` and a `registered` journal event. Call it first, before any row is sampled.
    /// A store already registered with the same frame resumes; with a different frame it is
    /// refused ([`Error::FrameMismatch`]); a store that already has
    /// its verdict is refused at once ([`Error::Concluded`]: read it
    /// with `ReportData::load`).
    pub fn register(self, store: Store) -> Result<Experiment<Registered>, Rejected<Draft>>
    where
        S: ReadyToRegister,
    {
        self.into_phase::<Draft>().register_draft(store)
    }

    /// Loads the dataset and splits it (see [`Experiment::split_rows_with`]). Refused when the
    /// dataset cannot be read or its rows cannot be split (see there).
    pub async fn split(
        self,
        dataset: &dyn Dataset,
    ) -> Result<Experiment<Split>, Rejected<Registered>>
    where
        S: ReadyToSplit,
    {
        self.into_phase::<Registered>()
            .split_with_inner(dataset, Vec::new())
            .await
    }

    /// Loads the dataset and splits it with recorded empty-slice overrides (G19; see
    /// [`Experiment::split_rows_with`]).
    pub async fn split_with(
        self,
        dataset: &dyn Dataset,
        overrides: Vec<SplitOverride>,
    ) -> Result<Experiment<Split>, Rejected<Registered>>
    where
        S: ReadyToSplit,
    {
        self.into_phase::<Registered>()
            .split_with_inner(dataset, overrides)
            .await
    }

    /// Splits rows already in memory (see [`Experiment::split_rows_with`]).
    pub fn split_rows(self, rows: Vec<Row>) -> Result<Experiment<Split>, Rejected<Registered>>
    where
        S: ReadyToSplit,
    {
        self.into_phase::<Registered>().split_rows_inner(
            rows,
            "rows in memory".to_string(),
            Vec::new(),
        )
    }

    /// Splits rows in memory with recorded empty-slice overrides: checks the rows (unique ids,
    /// known failure-mode tags, severity), splits them by seed, stratified by slice and failure
    /// mode (G14, G21), audits the distribution (G19), commits to the test rows (G15) and
    /// journals it all. Refused on duplicate ids, too few rows for three parts, an unknown
    /// major slice, or a slice empty in a split without an override; on a resumed experiment
    /// the rows must be the ones split before (G7).
    pub fn split_rows_with(
        self,
        rows: Vec<Row>,
        overrides: Vec<SplitOverride>,
    ) -> Result<Experiment<Split>, Rejected<Registered>>
    where
        S: ReadyToSplit,
    {
        self.into_phase::<Registered>().split_rows_inner(
            rows,
            "rows in memory".to_string(),
            overrides,
        )
    }

    /// Phase 2, the pilot (G22): binds the [`Lineup`] — the arms, the judge and the run options —
    /// to the experiment for every later phase, then runs the baseline and every arm on ONE
    /// train row (the first dev row
    /// in k-fold mode), judged. Refused — and journaled as `pilot-failed` — when a call fails, a
    /// score is missing or out of range, a usage field the arm declares is missing, or an
    /// output looks like a placeholder; refused before any call when the lineup's judge is not
    /// the registered one (G8) or its arms are not the registered ones, and when the cross-judge rule
    /// refuses the judges (G29: an LLM judge without a family, a second judge of the judge's
    /// family, or a judge of an arm's family without a second judge). A pilot already passed with
    /// the same arm versions is not re-run. A refused pilot drops the lineup: build it again to
    /// retry (`Rejected::experiment.pilot(lineup)`).
    ///
    /// Must run inside a tokio runtime (`#[tokio::main]` / `#[tokio::test]`): call timeouts and
    /// retry backoff use tokio's timer. Outside one it is refused with
    /// [`Error::NoRuntime`] instead of panicking.
    pub async fn pilot(self, lineup: Lineup) -> Result<Experiment<Piloted>, Rejected<Split>>
    where
        S: ReadyToPilot,
    {
        let exp = self.into_phase::<Split>();
        if let Err(e) = in_runtime("pilot") {
            return Err(exp.reject(e));
        }
        exp.pilot_split(lineup).await
    }

    /// Phase 3, dev scoring (G24–G31): every (arm × dev row × trial) called with bounded
    /// concurrency, retries and rate limits, judged blind, and journaled before it counts; the
    /// baseline first, its dev score journaled before any arm is compared — with the lineup bound
    /// at the pilot. Calls already in the journal are not made again. Then the noise floor (G26) and, for an LLM judge with
    /// [`RunOptions::second_judge`](crate::RunOptions::second_judge), the cross-judge check (G29).
    /// Refused when failed calls exceed the registered failure policy (G31); the refused
    /// experiment keeps its lineup, so `err.experiment.score_dev()` resumes.
    ///
    /// Must run inside a tokio runtime (timeouts and backoff use tokio's timer).
    pub async fn score_dev(self) -> Result<Experiment<Scored>, Rejected<Piloted>>
    where
        S: ReadyToScore,
    {
        let exp = self.into_phase::<Piloted>();
        if let Err(e) = in_runtime("score_dev") {
            return Err(exp.reject(e));
        }
        exp.score_dev_piloted().await
    }

    /// The generalization gate (G35), `Scored -> Gated`: every change of this sprint (with no
    /// iteration at all, each arm's registered change against the baseline) is classified —
    /// `classes` gives `(arm, version, class)` for changes not classified when recorded;
    /// unclassified iterations count as hardcodes — then checked by the leak detector and the
    /// seen-vs-unseen test. The changes reviewed are those still in effect since the arm's last
    /// gate-passed version (a revert undoes the versions it goes back over). Each arm is
    /// continued or locked (every change general), blocked (a hardcode remains among mostly
    /// general changes: it must be removed or reverted before sealing) or killed (most changes
    /// are hardcodes); the report is journaled.
    pub fn gate(
        self,
        classes: &[(&str, u32, ChangeClass)],
    ) -> Result<Experiment<Gated>, Rejected<Scored>>
    where
        S: ReadyToGate,
    {
        self.into_phase::<Scored>().gate_scored(classes)
    }

    /// The gate with no classifications given: `gate(&[])`, named. Use it when no arm changed
    /// after registration (each arm's registered change is reviewed against the baseline), or
    /// when every iteration was classified as it was recorded. An iteration left unclassified
    /// counts as a hardcode (G35) — pass its class to [`Experiment::gate`] instead.
    pub fn gate_unchanged(self) -> Result<Experiment<Gated>, Rejected<Scored>>
    where
        S: ReadyToGate,
    {
        self.into_phase::<Scored>().gate_scored(&[])
    }

    /// Locks every surviving arm at its latest gate-passed version (G37) — never the best
    /// scoring one: there is no API that selects a version by score — and journals it.
    /// Killed arms do not reach the test set. Refused while the gate blocks an arm (a hardcode
    /// remains, G35): remove it in a new iteration (or revert) and re-run the gate, or give the
    /// arm up ([`give_up`](Experiment::give_up)).
    pub fn seal(self) -> Result<Experiment<Sealed>, Rejected<Gated>>
    where
        S: ReadyToSeal,
    {
        self.into_phase::<Gated>().seal_gated()
    }

    /// The one test pass (G39–G46), with the lineup bound at the pilot: the baseline and the
    /// locked versions, found in it by arm id and spec (a directory reopened later gives the
    /// versions an earlier process recorded with [`Lineup::recorded_versions`]; a locked version
    /// the lineup does not hold is refused, G39). `dataset`, when given, is re-read and must hash to the rows that
    /// were split (G7). An in-memory experiment is one-shot by move semantics within the process;
    /// a directory refuses a second verdict from any process (G15, G46). Refused when the frame,
    /// the data, the judge or an arm's version changed, or a test row was contaminated (G16).
    ///
    /// Must run inside a tokio runtime.
    pub async fn verdict(
        self,
        dataset: Option<&dyn Dataset>,
    ) -> Result<Conclusion, Rejected<Sealed>>
    where
        S: ReadyForVerdict,
    {
        let exp = self.into_phase::<Sealed>();
        if let Err(e) = in_runtime("verdict") {
            return Err(exp.reject(e));
        }
        exp.verdict_sealed(dataset).await
    }
}
