//! Iterating on `Experiment<Scored>`: the accessors, revealing a dev row (G17), the diagnosis
//! of every arm's current version (G32), and recording and re-scoring one iteration — its
//! hypothesis journaled before any call, one change (G33), at most three per sprint (G34) —
//! directly or through a [`Refiner`].

// A refused move hands the experiment back inside its error (see `experiment/mod.rs`).
#![allow(clippy::result_large_err)]

use crate::data::row::{Row, RowId};
use crate::data::split::Part;
use crate::experiment::seal::dev_from_journal;
use crate::experiment::sprint::SprintError;
use crate::experiment::{DevResults, Error, Experiment, Rejected, Scored};
use crate::hash;
use crate::iterate::diagnosis::{self, Diagnosis, DiagnosisInput, Flag};
use crate::iterate::gate::ChangeClass;
use crate::iterate::iteration::{IterationVerdict, Ledger, SPRINT_CAP, VersionRecord, line_diff};
use crate::iterate::refiner::Refiner;
use crate::journal::event::{CallRecord, Event};
use crate::journal::store::{Peek, Store};
use crate::run::arm::Arm;
use crate::run::cube::{ArmKey, ScoreCube};
use crate::run::effect::paired_effect;
use crate::run::runner::{self, PartJob, Roster};
use std::collections::BTreeSet;

impl Experiment<Scored> {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.state.split.registered.store
    }

    /// The split.
    pub fn plan(&self) -> &crate::data::split::SplitPlan {
        &self.state.split.plan
    }

    /// The dev results: every version scored so far.
    pub fn dev(&self) -> &DevResults {
        &self.state.dev
    }

    /// Train rows, shown in full.
    pub fn train_rows(&self) -> &[Row] {
        &self.state.split.plan.train
    }

    /// Versions, sprints, reveals and gates, replayed from the journal.
    pub fn ledger(&self) -> Result<Ledger, Error> {
        Ok(Ledger::read(self.store())?)
    }

    /// Reveals a dev row's raw input: journaled, and the row joins the seen set the gate checks
    /// (G17). Train rows are returned without a journal entry. Test rows are never revealed.
    /// Below 50 rows (k-fold mode, METHOD.md §3) only rows of the open folds
    /// ([`SplitPlan::open_folds`](crate::data::split::SplitPlan::open_folds)) are revealed.
    pub fn reveal(&self, id: &RowId) -> Result<Row, Error> {
        let ledger = self.ledger()?;
        if ledger.concluded {
            return Err(SprintError::Concluded.into());
        }
        let plan = &self.state.split.plan;
        if let Some(r) = plan.train.iter().find(|r| &r.id == id) {
            return Ok(r.clone());
        }
        let row = plan
            .dev
            .iter()
            .find(|r| &r.id == id)
            .ok_or_else(|| SprintError::NotRevealable(id.clone()))?;
        // k-fold mode: reveal from the open folds only; the closed ones judge generalization
        // (METHOD.md §3; tests/integrity_hole15.rs::
        // small_data_reveal_outside_the_open_fold_is_refused fails without this check).
        if let (Some(fold), Some(open)) = (plan.fold_of(id), plan.open_folds(ledger.sprint))
            && fold >= open
        {
            return Err(SprintError::ClosedFold {
                row: id.clone(),
                fold,
                sprint: ledger.sprint,
                open,
            }
            .into());
        }
        self.store().append(Event::Reveal { row: id.clone() })?;
        Ok(row.clone())
    }

    /// Reveals a dev row like [`reveal`](Self::reveal) (journaled, G17) together with every
    /// journaled dev call on it: each arm version's output, the model's raw reply where the arm
    /// kept one ([`ArmOutput::with_raw`](crate::run::arm::ArmOutput::with_raw)), the score and
    /// usage — so an empty or odd answer can be explained.
    pub fn reveal_with_calls(&self, id: &RowId) -> Result<(Row, Vec<CallRecord>), Error> {
        let row = self.reveal(id)?;
        let mut calls = Vec::new();
        let dev_calls = |p: &Peek<'_>| p.call && p.part == Some(Part::Dev.name());
        self.store().scan_if(dev_calls, |e| {
            if let Event::Call(c) = e.event
                && c.part == Part::Dev
                && &c.row == id
            {
                calls.push(c);
            }
        })?;
        Ok((row, calls))
    }

    /// The diagnosis of every arm's current version against the baseline (G32).
    pub fn diagnose(&self) -> Result<Diagnosis, Error> {
        let ledger = self.ledger()?;
        let current = current_indices(&self.state.dev.cube, &ledger);
        Ok(diagnose_with(
            &self.frame,
            &self.state.dev,
            &self.state.split.plan.dev,
            &ledger,
            &current,
        ))
    }

    /// Records a new version of a candidate arm — its hypothesis journaled BEFORE it is scored,
    /// its one change as a line diff of `spec()` (G33) — re-scores it on dev, and records the
    /// outcome from the CI of (new − previous) per-row differences: supported, neutral or
    /// falsified. A falsified iteration, or a neutral one after which the diagnosis shows nothing
    /// new, closes the sprint; a sprint holds at most 3 iterations (G34). Re-running the same
    /// version resumes it without new calls for what is journaled. A spec equal to an earlier
    /// version's is refused: going back is [`revert`](Self::revert), on purpose and journaled.
    /// It runs with the judge and options bound at the pilot; the version joins the lineup
    /// (kept even when refused, so nothing given is lost), where a revert and the verdict find it.
    pub async fn iterate(
        mut self,
        version: Box<dyn Arm>,
        hypothesis: &str,
        class: Option<ChangeClass>,
    ) -> Result<Experiment<Scored>, Rejected<Scored>> {
        let (arm, spec_hash) = (
            version.id().to_string(),
            hash::sha256_hex(version.spec().as_bytes()),
        );
        self.state.lineup.add_version(version);
        let result = match self.state.lineup.find(&arm, &spec_hash) {
            Some(version) => iterate_inner(&self, version, hypothesis, class).await,
            None => Err(SprintError::UnknownArm(arm).into()),
        };
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

    /// Reverts `arm` to its earlier version `to_version`, on purpose: a journaled iteration (its
    /// hypothesis "revert to v…: reason") whose spec is that version's and whose change the gate
    /// counts as deleted (G35); sealing then locks the revert if the gate passes it (G37). Its
    /// outcome against the current version comes from the scores already journaled for that
    /// spec — no call is made. Submitting an earlier spec through [`iterate`](Self::iterate) is
    /// refused: going back is never silent. Allowed in a sprint an iteration closed and on a
    /// locked arm; not beyond the sprint cap, after this sprint's gate, or on a killed arm.
    pub fn revert(
        self,
        arm: &str,
        to_version: u32,
        reason: &str,
    ) -> Result<Experiment<Scored>, Rejected<Scored>> {
        match revert_inner(&self, arm, to_version, reason) {
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

    /// Asks a [`Refiner`] for the next version of `arm` and iterates with it (with the lineup
    /// bound at the pilot). Returns the experiment and whether the refiner proposed anything.
    pub async fn refine(
        self,
        refiner: &dyn Refiner,
        arm: &str,
    ) -> Result<(Experiment<Scored>, bool), Rejected<Scored>> {
        let prepared = (|| {
            let diagnosis = self.diagnose()?;
            let ledger = self.ledger()?;
            let spec = ledger
                .latest(arm)
                .map(|v| v.spec.clone())
                .ok_or_else(|| SprintError::UnknownArm(arm.to_string()))?;
            Ok::<_, Error>((diagnosis, spec))
        })();
        let (diagnosis, spec) = match prepared {
            Ok(p) => p,
            Err(e) => return Err(self.reject(e)),
        };
        let proposal = refiner
            .propose(&diagnosis, arm, &spec, self.train_rows())
            .await;
        match proposal {
            None => Ok((self, false)),
            Some(p) => {
                let exp = self.iterate(p.arm, &p.hypothesis, p.class).await?;
                Ok((exp, true))
            }
        }
    }
}

/// Checks the rules of a revert and journals it as an iteration whose change is `Deleted` and
/// whose spec is the earlier version's, then records its outcome from the journaled scores of
/// that spec (no new calls). A revert is allowed in a sprint an iteration closed (falsified or
/// saturated) and on an arm the gate locked — going back to a version already measured fits
/// nothing new — but not beyond the sprint cap, not after this sprint's gate, and not on a
/// killed arm.
fn revert_inner(
    exp: &Experiment<Scored>,
    arm: &str,
    to_version: u32,
    reason: &str,
) -> Result<DevResults, Error> {
    if arm == exp.frame.baseline.id {
        return Err(SprintError::BaselineIteration(arm.to_string()).into());
    }
    if !exp.frame.arms.iter().any(|a| a.id == arm) {
        return Err(SprintError::UnknownArm(arm.to_string()).into());
    }
    let ledger = exp.ledger()?;
    if ledger.concluded {
        return Err(SprintError::Concluded.into());
    }
    // G35: a killed arm is not revived by a revert; removing this check fails tests/guards_enforced.rs::a_killed_arm_cannot_be_reverted_back_to_life
    if ledger.killed.contains(arm) {
        return Err(SprintError::ArmClosed {
            arm: arm.to_string(),
            how: "killed",
        }
        .into());
    }
    if ledger.sprint_iterations >= SPRINT_CAP {
        return Err(SprintError::SprintCap {
            sprint: ledger.sprint,
        }
        .into());
    }
    if ledger.gated {
        return Err(SprintError::SprintClosed {
            sprint: ledger.sprint,
            why: "the gate has run".to_string(),
        }
        .into());
    }
    if reason.trim().is_empty() {
        return Err(crate::frame::FrameError::Missing("reason").into());
    }
    let current = ledger
        .latest(arm)
        .ok_or_else(|| SprintError::UnknownArm(arm.to_string()))?;
    let target = ledger
        .versions
        .iter()
        .find(|v| v.key.arm == arm && v.key.version == to_version)
        .filter(|v| v.key.version < current.key.version)
        .ok_or_else(|| SprintError::NoSuchVersion {
            arm: arm.to_string(),
            version: to_version,
            current: current.key.version,
        })?;
    if target.key.spec_hash == current.key.spec_hash {
        return Err(SprintError::NothingChanged(arm.to_string()).into());
    }
    let version = current.key.version + 1;
    exp.store().append(Event::Iteration {
        arm: arm.to_string(),
        version,
        sprint: ledger.sprint,
        hypothesis: format!("revert to v{to_version}: {}", reason.trim()),
        class: Some(ChangeClass::Deleted),
        old_spec_hash: current.key.spec_hash.clone(),
        spec: target.spec.clone(),
        spec_hash: target.key.spec_hash.clone(),
        diff: line_diff(&current.spec, &target.spec),
    })?;
    // A revert declares no changed path: it goes back to code already measured.
    record_outcome(exp, arm, version, &[])
}

/// Cube indices of each candidate arm's latest version.
fn current_indices(cube: &ScoreCube, ledger: &Ledger) -> Vec<usize> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for v in ledger.versions.iter().skip(1) {
        if seen.insert(v.key.arm.clone())
            && let Some(i) = cube.arm_index(&v.key.arm)
        {
            out.push(i);
        }
    }
    out
}

fn diagnose_with(
    frame: &crate::frame::Frame,
    dev: &DevResults,
    rows: &[Row],
    ledger: &Ledger,
    current: &[usize],
) -> Diagnosis {
    let noise_sd: Vec<f64> = dev
        .noise
        .iter()
        .map(|n| {
            n.aggregate_sd
                .max(dev.noise.first().map_or(0.0, |b| b.aggregate_sd))
        })
        .collect();
    diagnosis::diagnose(&DiagnosisInput {
        cube: &dev.cube,
        rows,
        current: current.to_vec(),
        noise_sd,
        seen: &ledger.seen,
        level: frame.ci_level(),
    })
}

/// Rebuilds the dev results for every version in the ledger from the journal.
fn rebuild_dev(exp: &Experiment<Scored>, ledger: &Ledger) -> Result<DevResults, Error> {
    dev_from_journal(
        &exp.frame,
        &exp.state.split.plan.dev,
        exp.store(),
        ledger,
        exp.state.dev.cross_judge.clone(),
    )
}

fn flag_signature(d: &Diagnosis) -> BTreeSet<String> {
    d.flags
        .iter()
        .map(|f| match f {
            Flag::MixedRegime { arm, .. } => format!("mixed:{arm}"),
            Flag::SharedFailures { .. } => "shared".to_string(),
            Flag::SmallUniformWin { arm, .. } => format!("small:{arm}"),
            Flag::WinsOnSeenRows { arm, .. } => format!("seen:{arm}"),
        })
        .collect()
}

async fn iterate_inner(
    exp: &Experiment<Scored>,
    version: &dyn Arm,
    hypothesis: &str,
    class: Option<ChangeClass>,
) -> Result<DevResults, Error> {
    let (judge, opts) = (exp.state.lineup.judge(), &exp.state.lineup.options);
    crate::experiment::testpass::check_registered_judge(&exp.frame, judge)?;
    let store = exp.store();
    let arm = version.id().to_string();
    if arm == exp.frame.baseline.id {
        return Err(SprintError::BaselineIteration(arm).into());
    }
    if !exp.frame.arms.iter().any(|a| a.id == arm) {
        return Err(SprintError::UnknownArm(arm).into());
    }
    let spec = version.spec();
    let spec_hash = hash::sha256_hex(spec.as_bytes());
    let ledger = Ledger::read(store)?;
    let same_spec = |v: &&VersionRecord| v.key.arm == arm && v.key.spec_hash == spec_hash;
    let first = ledger
        .versions
        .iter()
        .find(same_spec)
        .map(|v| v.key.version);
    let latest = ledger.latest(&arm).cloned();
    let record = match (first, latest) {
        (Some(_), Some(v)) if v.key.spec_hash == spec_hash => match v {
            // The current version again: resume it (and do nothing if it has its outcome).
            v if v.outcome.is_some() => return rebuild_dev(exp, &ledger),
            v if v.key.version > 0 => v,
            _ => return Err(SprintError::NothingChanged(arm).into()),
        },
        // An earlier version's spec: going back is an explicit, journaled revert, never a silent
        // no-op (G33, G37; `tests/integrity_gate.rs::
        // submitting_an_earlier_spec_is_refused_not_silently_ignored`).
        (Some(version), _) => {
            return Err(SprintError::EqualsEarlierVersion { arm, version }.into());
        }
        _ => record_iteration(exp, &ledger, &arm, &spec, &spec_hash, hypothesis, class)?,
    };
    let roster = Roster::single(version, record.key.version);
    let job = PartJob {
        frame: &exp.frame,
        rows: &exp.state.split.plan.dev,
        part: Part::Dev,
        roster: &roster,
        judge,
        store,
        opts,
        recorded: true,
    };
    runner::score_part(&job, "iteration").await?;
    record_outcome(exp, &arm, record.key.version, &version.changed_paths())
}

/// Computes and journals an iteration's outcome from the CI of (new − previous) per-row
/// differences on dev (G33), and whether it closes the sprint (G34). A neutral (no-effect)
/// iteration also records whether its declared changed path ran on the rows the previous version
/// failed (G38).
fn record_outcome(
    exp: &Experiment<Scored>,
    arm: &str,
    version: u32,
    changed_paths: &[String],
) -> Result<DevResults, Error> {
    let store = exp.store();
    let arm = arm.to_string();
    let ledger = Ledger::read(store)?;
    let dev = rebuild_dev(exp, &ledger)?;
    let cube = &dev.cube;
    let new = cube
        .arms()
        .iter()
        .rposition(|k| k.version == version && k.arm == arm)
        .unwrap_or(0);
    let record = ledger
        .versions
        .iter()
        .find(|v| v.key.arm == arm && v.key.version == version)
        .ok_or_else(|| SprintError::UnknownArm(arm.clone()))?;
    let prev_version = ledger
        .previous(&arm, record.key.version)
        .map(|v| v.key.spec_hash.clone())
        .unwrap_or_default();
    let prev = cube
        .arms()
        .iter()
        .position(|k| k.spec_hash == prev_version && k.arm == arm)
        .unwrap_or(0);
    let effect = paired_effect(cube, new, prev, &|_| true, exp.frame.ci_level());
    let (outcome, delta, lower, upper) = match &effect {
        Some(e) if e.estimate.ci.lower > 0.0 => (
            IterationVerdict::Supported,
            e.estimate.point,
            e.estimate.ci.lower,
            e.estimate.ci.upper,
        ),
        Some(e) if e.estimate.ci.upper < 0.0 => (
            IterationVerdict::Falsified,
            e.estimate.point,
            e.estimate.ci.lower,
            e.estimate.ci.upper,
        ),
        Some(e) => (
            IterationVerdict::Neutral,
            e.estimate.point,
            e.estimate.ci.lower,
            e.estimate.ci.upper,
        ),
        None => (IterationVerdict::Neutral, 0.0, 0.0, 0.0),
    };
    // "Nothing new": the diagnosis after the change raises no flag it did not raise before.
    let mut before_idx = current_indices(cube, &ledger);
    if let Some(slot) = before_idx.iter_mut().find(|i| **i == new) {
        *slot = prev;
    }
    let rows = &exp.state.split.plan.dev;
    let before = flag_signature(&diagnose_with(&exp.frame, &dev, rows, &ledger, &before_idx));
    let after_idx = current_indices(cube, &ledger);
    let after = flag_signature(&diagnose_with(&exp.frame, &dev, rows, &ledger, &after_idx));
    let nothing_new = after.is_subset(&before);
    let (closes, reason) = match outcome {
        IterationVerdict::Falsified => (
            true,
            "falsified: the CI of new − previous lies below 0".to_string(),
        ),
        IterationVerdict::Neutral if nothing_new => (
            true,
            "neutral and the diagnosis shows nothing new: signal saturated".to_string(),
        ),
        IterationVerdict::Neutral => (false, "neutral, but the diagnosis changed".to_string()),
        IterationVerdict::Supported => (
            false,
            "supported: the CI of new − previous lies above 0".to_string(),
        ),
    };
    // G38: a no-effect iteration says whether the changed path ran on the failing rows, or that
    // it was not traced (tests/integrity_hole15.rs::
    // no_effect_iteration_records_whether_the_changed_path_ran_on_failing_rows fails without it).
    let path_check = if outcome == IterationVerdict::Neutral && record.reverts_to.is_none() {
        let (key, paths) = (&record.key, changed_paths);
        Some(crate::iterate::trace::of_iteration(
            store, cube, prev, key, paths,
        )?)
    } else {
        None
    };
    store.append(Event::IterationOutcome {
        arm: arm.clone(),
        version: record.key.version,
        outcome,
        delta,
        lower,
        upper,
        closes_sprint: closes,
        reason,
        path_check,
    })?;
    Ok(dev)
}

/// Checks the sprint rules and journals the iteration before any call (G33, G34).
fn record_iteration(
    exp: &Experiment<Scored>,
    ledger: &Ledger,
    arm: &str,
    spec: &str,
    spec_hash: &str,
    hypothesis: &str,
    class: Option<ChangeClass>,
) -> Result<VersionRecord, Error> {
    if ledger.concluded {
        return Err(SprintError::Concluded.into());
    }
    // G35: enforced here; removing this check fails tests/guards_enforced.rs::a_killed_arm_cannot_be_iterated_back_to_life
    if ledger.killed.contains(arm) {
        return Err(SprintError::ArmClosed {
            arm: arm.to_string(),
            how: "killed",
        }
        .into());
    }
    // G37: enforced here; removing this check fails tests/guards_enforced.rs::a_locked_arm_cannot_be_iterated_past_its_lock
    if ledger.locked.contains(arm) {
        return Err(SprintError::ArmClosed {
            arm: arm.to_string(),
            how: "locked",
        }
        .into());
    }
    if ledger.sprint_iterations >= SPRINT_CAP {
        return Err(SprintError::SprintCap {
            sprint: ledger.sprint,
        }
        .into());
    }
    if ledger.sprint_closed {
        let why = if ledger.gated {
            "the gate has run".to_string()
        } else {
            "an iteration was falsified or saturated".to_string()
        };
        return Err(SprintError::SprintClosed {
            sprint: ledger.sprint,
            why,
        }
        .into());
    }
    if hypothesis.trim().is_empty() {
        return Err(crate::frame::FrameError::Missing("hypothesis").into());
    }
    let current = ledger
        .latest(arm)
        .ok_or_else(|| SprintError::UnknownArm(arm.to_string()))?;
    let version = current.key.version + 1;
    exp.store().append(Event::Iteration {
        arm: arm.to_string(),
        version,
        sprint: ledger.sprint,
        hypothesis: hypothesis.trim().to_string(),
        class,
        old_spec_hash: current.key.spec_hash.clone(),
        spec: spec.to_string(),
        spec_hash: spec_hash.to_string(),
        diff: line_diff(&current.spec, spec),
    })?;
    Ok(VersionRecord {
        key: ArmKey {
            arm: arm.to_string(),
            version,
            spec_hash: spec_hash.to_string(),
        },
        spec: spec.to_string(),
        sprint: ledger.sprint,
        hypothesis: Some(hypothesis.to_string()),
        class,
        diff: None,
        outcome: None,
        reverts_to: None,
        path_check: None,
    })
}
