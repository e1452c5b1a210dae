//! The iterate-and-gate phases of the typestate: on `Scored`, reveal a dev row (G17), diagnose
//! (G32), record and re-score an iteration (G33, G34); `Scored -> Gated` through the
//! generalization gate (G35); from `Gated`, open another sprint (G36) or seal, locking every
//! surviving arm at its latest gate-passed version (G37). Everything is journaled, and every
//! decision is re-derived from the journal through the [`Ledger`].

// A refused move hands the experiment back inside its error (see `experiment.rs`).
#![allow(clippy::result_large_err)]

use crate::data::row::{Row, RowId};
use crate::data::split::Part;
use crate::experiment::{DevResults, Error, Experiment, Gated, Rejected, Scored, Sealed};
use crate::hash;
use crate::iterate::diagnosis::{self, Diagnosis, DiagnosisInput, Flag};
use crate::iterate::gate::{self, ArmGate, ChangeClass, ChangeReview, GateReport};
use crate::iterate::iteration::{
    IterationVerdict, Ledger, SPRINT_CAP, SPRINTS_WITHOUT_AUDIT, VersionRecord, line_diff,
};
use crate::iterate::refiner::Refiner;
use crate::journal::event::Event;
use crate::journal::store::Store;
use crate::run::arm::Arm;
use crate::run::cube::{ArmKey, ArmSummary, ScoreCube};
use crate::run::effect::paired_effect;
use crate::run::exec::RunOptions;
use crate::run::judge::Judge;
use crate::run::runner::{self, PartJob, Roster};
use std::collections::BTreeSet;

/// A refused iteration, reveal, gate or sprint move. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SprintError {
    /// The fourth iteration of a sprint (G34).
    #[error(
        "sprint {sprint} already holds {SPRINT_CAP} iterations (G34): run the gate, then open a new sprint"
    )]
    SprintCap {
        /// The sprint.
        sprint: u32,
    },
    /// The sprint was closed by a falsified or saturated iteration, or by the gate (G34).
    #[error("sprint {sprint} is closed ({why}) (G34): run the gate, then open a new sprint")]
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
    #[error("arm '{arm}' was {how} by the gate (G35): it accepts no more iterations")]
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
    /// A sprint beyond the third needs a recorded gate audit (G36).
    #[error(
        "sprint {sprint} would exceed {SPRINTS_WITHOUT_AUDIT} sprints (G36): record a gate audit (why another sprint is not dev-set fitting); it turns the self-audit item red"
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
}

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
        Ok(Ledger::from_entries(&self.store().entries()?))
    }

    /// Reveals a dev row's raw input: journaled, and the row joins the seen set the gate checks
    /// (G17). Train rows are returned without a journal entry. Test rows are never revealed.
    pub fn reveal(&self, id: &RowId) -> Result<Row, Error> {
        if self.ledger()?.concluded {
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
        self.store().append(Event::Reveal { row: id.clone() })?;
        Ok(row.clone())
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
    /// version resumes it without new calls for what is journaled.
    pub async fn iterate(
        self,
        version: &dyn Arm,
        hypothesis: &str,
        class: Option<ChangeClass>,
        judge: &dyn Judge,
        opts: &RunOptions,
    ) -> Result<Experiment<Scored>, Rejected<Scored>> {
        match iterate_inner(&self, version, hypothesis, class, judge, opts).await {
            Ok(dev) => Ok(Experiment {
                frame: self.frame,
                state: Scored {
                    split: self.state.split,
                    dev,
                },
            }),
            Err(e) => Err(self.reject(e)),
        }
    }

    /// Asks a [`Refiner`] for the next version of `arm` and iterates with it. Returns the
    /// experiment and whether the refiner proposed anything.
    pub async fn refine(
        self,
        refiner: &dyn Refiner,
        arm: &str,
        judge: &dyn Judge,
        opts: &RunOptions,
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
                let exp = self
                    .iterate(p.arm.as_ref(), &p.hypothesis, p.class, judge, opts)
                    .await?;
                Ok((exp, true))
            }
        }
    }

    /// The generalization gate (G35), `Scored -> Gated`: every change of this sprint (with no
    /// iteration at all, each arm's registered change against the baseline) is classified —
    /// `classes` gives `(arm, version, class)` for changes not classified when recorded;
    /// unclassified iterations count as hardcodes — then checked by the leak detector and the
    /// seen-vs-unseen test. Each arm is continued, locked or killed; the report is journaled.
    pub fn gate(
        self,
        classes: &[(&str, u32, ChangeClass)],
    ) -> Result<Experiment<Gated>, Rejected<Scored>> {
        match gate_inner(&self, classes) {
            Ok(report) => Ok(Experiment {
                frame: self.frame,
                state: Gated {
                    scored: self.state,
                    report,
                },
            }),
            Err(e) => Err(self.reject(e)),
        }
    }
}

impl Experiment<Gated> {
    /// The gate's report.
    pub fn gate_report(&self) -> &GateReport {
        &self.state.report
    }

    /// The dev results.
    pub fn dev(&self) -> &DevResults {
        &self.state.scored.dev
    }

    /// Opens the next sprint (`Gated -> Scored`). Beyond the third sprint a gate audit — why
    /// another sprint is not dev-set fitting — must be recorded (G36); it turns the self-audit
    /// item red.
    pub fn next_sprint(self, audit: Option<&str>) -> Result<Experiment<Scored>, Rejected<Gated>> {
        let result = (|| {
            let store = &self.state.scored.split.registered.store;
            let ledger = Ledger::from_entries(&store.entries()?);
            if ledger.concluded {
                return Err(Error::from(SprintError::Concluded));
            }
            let next = ledger.sprint + 1;
            let audit = audit.map(str::trim).filter(|a| !a.is_empty());
            if next > SPRINTS_WITHOUT_AUDIT && audit.is_none() {
                return Err(Error::from(SprintError::AuditRequired { sprint: next }));
            }
            store.append(Event::SprintOpened {
                sprint: next,
                audit: audit.map(str::to_string),
            })?;
            Ok(())
        })();
        match result {
            Ok(()) => Ok(Experiment {
                frame: self.frame,
                state: self.state.scored,
            }),
            Err(e) => Err(self.reject(e)),
        }
    }

    /// Locks every surviving arm at its latest gate-passed version (G37) — never the best
    /// scoring one: there is no API that selects a version by score — and journals it.
    /// Killed arms do not reach the test set.
    pub fn seal(self) -> Result<Experiment<Sealed>, Rejected<Gated>> {
        let result = (|| {
            let store = &self.state.scored.split.registered.store;
            let entries = store.entries()?;
            if let Some((locked, killed)) = entries.iter().find_map(|e| match &e.event {
                Event::Sealed { locked, killed } => Some((locked.clone(), killed.clone())),
                _ => None,
            }) {
                return Ok((locked, killed));
            }
            let ledger = Ledger::from_entries(&entries);
            let mut locked = Vec::new();
            for arm in self.frame.arm_ids().into_iter().skip(1) {
                if ledger.killed.contains(arm) {
                    continue;
                }
                if let Some(v) = latest_gated(&ledger, arm) {
                    locked.push(v.key.clone());
                }
            }
            let killed: Vec<String> = ledger.killed.iter().cloned().collect();
            store.append(Event::Sealed {
                locked: locked.clone(),
                killed: killed.clone(),
            })?;
            Ok::<_, Error>((locked, killed))
        })();
        match result {
            Ok((locked, killed)) => Ok(Experiment {
                frame: self.frame,
                state: Sealed {
                    scored: self.state.scored,
                    locked,
                    killed,
                },
            }),
            Err(e) => Err(self.reject(e)),
        }
    }
}

impl Experiment<Sealed> {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.state.scored.split.registered.store
    }

    /// The locked arm versions, one per surviving arm (G37).
    pub fn locked(&self) -> &[ArmKey] {
        &self.state.locked
    }

    /// Arms the gate killed.
    pub fn killed(&self) -> &[String] {
        &self.state.killed
    }

    /// The dev results.
    pub fn dev(&self) -> &DevResults {
        &self.state.scored.dev
    }
}

/// The latest version of an arm that a gate reviewed (G37).
fn latest_gated<'a>(ledger: &'a Ledger, arm: &str) -> Option<&'a VersionRecord> {
    let reviewed: BTreeSet<u32> = ledger
        .gates
        .iter()
        .flat_map(|g| g.arms.iter())
        .filter(|a| a.arm == arm)
        .map(|a| a.version)
        .collect();
    ledger
        .versions
        .iter()
        .filter(|v| v.key.arm == arm && reviewed.iter().any(|r| *r >= v.key.version))
        .max_by_key(|v| v.key.version)
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

/// The dev results of every version the ledger knows, rebuilt from the journal (no calls).
pub(crate) fn dev_from_journal(
    frame: &crate::frame::Frame,
    rows: &[Row],
    store: &Store,
    ledger: &Ledger,
    cross_judge: Option<crate::run::crossjudge::CrossJudgeReport>,
) -> Result<DevResults, Error> {
    let entries = store.entries()?;
    let cube = ScoreCube::from_entries(frame, rows, ledger.keys(), &entries, Part::Dev);
    let summaries: Vec<ArmSummary> = (0..cube.arms().len()).map(|i| cube.summary(i)).collect();
    let noise = runner::noise(&cube)?;
    Ok(DevResults {
        cube,
        summaries,
        noise,
        cross_judge,
    })
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
    judge: &dyn Judge,
    opts: &RunOptions,
) -> Result<DevResults, Error> {
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
    let ledger = Ledger::from_entries(&store.entries()?);
    let existing = ledger
        .versions
        .iter()
        .find(|v| v.key.arm == arm && v.key.spec_hash == spec_hash)
        .cloned();
    let record = match existing {
        // Already recorded: resume it (and do nothing if it has its outcome).
        Some(v) if v.outcome.is_some() => return rebuild_dev(exp, &ledger),
        Some(v) if v.key.version > 0 => v,
        Some(_) => return Err(SprintError::NothingChanged(arm).into()),
        None => record_iteration(exp, &ledger, &arm, &spec, &spec_hash, hypothesis, class)?,
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
    };
    runner::score_part(&job, "iteration").await?;

    let ledger = Ledger::from_entries(&store.entries()?);
    let dev = rebuild_dev(exp, &ledger)?;
    let cube = &dev.cube;
    let new = cube
        .arms()
        .iter()
        .position(|k| k.spec_hash == spec_hash && k.arm == arm)
        .unwrap_or(0);
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
    store.append(Event::IterationOutcome {
        arm: arm.clone(),
        version: record.key.version,
        outcome,
        delta,
        lower,
        upper,
        closes_sprint: closes,
        reason,
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
    if ledger.killed.contains(arm) {
        return Err(SprintError::ArmClosed {
            arm: arm.to_string(),
            how: "killed",
        }
        .into());
    }
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
    })
}

fn gate_inner(
    exp: &Experiment<Scored>,
    classes: &[(&str, u32, ChangeClass)],
) -> Result<GateReport, Error> {
    let store = exp.store();
    let ledger = Ledger::from_entries(&store.entries()?);
    if ledger.gated
        && let Some(last) = ledger.gates.last()
    {
        // The gate for this sprint already ran (a resumed experiment): the same report.
        return Ok(last.clone());
    }
    if ledger.concluded {
        return Err(SprintError::Concluded.into());
    }
    let plan = &exp.state.split.plan;
    let cube = &exp.state.dev.cube;
    let baseline_spec = ledger
        .versions
        .first()
        .map(|v| v.spec.clone())
        .unwrap_or_default();
    let seed = exp.frame.seed;
    let mut arms = Vec::new();
    for plan_arm in &exp.frame.arms {
        let arm = plan_arm.id.as_str();
        let Some(latest) = ledger.latest(arm) else {
            continue;
        };
        if ledger.killed.contains(arm) {
            continue;
        }
        let this_sprint: Vec<&VersionRecord> = ledger
            .versions
            .iter()
            .filter(|v| v.key.arm == arm && v.sprint == ledger.sprint && v.key.version > 0)
            .collect();
        let registered_only = this_sprint.is_empty() && ledger.gates.is_empty();
        let reviewed: Vec<&VersionRecord> = if registered_only {
            vec![latest]
        } else {
            this_sprint
        };
        let mut changes = Vec::new();
        for v in &reviewed {
            let prev_spec = if v.key.version == 0 {
                baseline_spec.clone()
            } else {
                ledger
                    .previous(arm, v.key.version)
                    .map(|p| p.spec.clone())
                    .unwrap_or_default()
            };
            let leaks = gate::detect_leaks(
                &prev_spec,
                &v.spec,
                &baseline_spec,
                &plan.train,
                &plan.dev,
                &plan.test,
            );
            let seen_unseen = if v.key.version == 0 {
                None
            } else {
                let new = cube
                    .arms()
                    .iter()
                    .position(|k| k.spec_hash == v.key.spec_hash);
                let prev_hash = ledger
                    .previous(arm, v.key.version)
                    .map(|p| p.key.spec_hash.clone());
                let prev =
                    prev_hash.and_then(|h| cube.arms().iter().position(|k| k.spec_hash == h));
                match (new, prev) {
                    (Some(n), Some(p)) => {
                        let pair = cube.paired(n, p);
                        let gains: Vec<(f64, bool)> = pair
                            .rows
                            .iter()
                            .zip(pair.diffs())
                            .map(|(&r, d)| (d, ledger.seen.contains(&cube.rows()[r])))
                            .collect();
                        gate::seen_unseen(&gains, seed ^ u64::from(v.key.version))
                    }
                    _ => None,
                }
            };
            let declared = classes
                .iter()
                .find(|(a, ver, _)| *a == arm && *ver == v.key.version)
                .map(|c| c.2)
                .or(v.class);
            // A registered arm was fixed before any row was sampled (G1, G12): it cannot encode
            // dev rows by iteration, so unless declared otherwise it is a universal change and
            // only the leak detector applies to it. An unclassified iteration is a hardcode.
            let default = if v.key.version == 0 {
                ChangeClass::Universal
            } else {
                ChangeClass::Hardcode
            };
            let memorizing = seen_unseen.as_ref().is_some_and(|s| s.memorization);
            let class = if !leaks.is_empty() || memorizing {
                ChangeClass::Hardcode
            } else {
                declared.unwrap_or(default)
            };
            changes.push(ChangeReview {
                version: v.key.version,
                declared,
                class,
                leaks,
                seen_unseen,
            });
        }
        let saturated = ledger.locked.contains(arm)
            || matches!(
                latest.outcome,
                Some(IterationVerdict::Neutral | IterationVerdict::Falsified)
            );
        let (outcome, reason) = gate::decide(&changes, saturated);
        arms.push(ArmGate {
            arm: arm.to_string(),
            version: latest.key.version,
            changes,
            outcome,
            reason,
        });
    }
    let report = GateReport {
        sprint: ledger.sprint,
        arms,
    };
    store.append(Event::Gate(report.clone()))?;
    Ok(report)
}
