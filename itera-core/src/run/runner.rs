//! The runner: the pilot on one train row (G22) and the scoring of a part — every (arm version ×
//! row × trial) called, judged and journaled before it counts, with the baseline scored first
//! (G24–G31). Reopening an experiment replays the journal and calls only what is missing, so a
//! finished run re-run makes zero calls. Also the noise floor (G26) and the cross-judge check
//! (G29).
//!
//! This file holds the run's errors, the [`Roster`] of arms, and the part scoring (journal
//! replay, then the missing calls); the gate before it — the manifest check and the pilot — is
//! in `pilot.rs`, re-exported here.

use crate::data::row::{Row, RowId};
use crate::data::split::Part;
use crate::frame::Frame;
use crate::hash;
use crate::journal::event::{ArmNoise, CallOutcome, Event};
use crate::journal::store::{Peek, Store, StoreError};
use crate::run::arm::Arm;
use crate::run::cube::{ArmKey, ScoreCube};
use crate::run::exec::{Limits, Progress, RunOptions};
use crate::run::judge::Judge;
use crate::run::watch::{Watch, with_heartbeat};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::Instant;

pub(crate) use crate::run::pilot::{manifest, pilot};

/// Why a run stopped. Each message names the arm, field or row and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The arms given do not match the registered ones.
    #[error(
        "arms do not match the registration: missing [{missing}], not registered [{unknown}]; pass exactly one implementation per registered arm id"
    )]
    ArmsMismatch {
        /// Registered ids with no implementation.
        missing: String,
        /// Implementations whose id is not registered (or given twice).
        unknown: String,
    },
    /// An arm's spec differs from the one recorded in the manifest (G23).
    #[error(
        "arm '{arm}' is not the version that was piloted/scored (spec hash {found}, journal has {recorded}) (G23): restore its spec, or record the change as an iteration"
    )]
    SpecChanged {
        /// The arm.
        arm: String,
        /// Recorded spec hash.
        recorded: String,
        /// Current spec hash.
        found: String,
    },
    /// The judge or its rubric differs from the manifest (G8, G23).
    #[error(
        "the judge changed since the run started (journal: {recorded}; now: {found}) (G8): every score must come from the same judge and rubric; restore it or start a new experiment"
    )]
    JudgeChanged {
        /// Recorded judge id and rubric hash.
        recorded: String,
        /// Current ones.
        found: String,
    },
    /// The pilot found a problem (G22).
    #[error(
        "pilot failed for arm '{arm}', field {field}: {why} (G22); fix the arm and run again — the full run needs a passed pilot"
    )]
    Pilot {
        /// The arm.
        arm: String,
        /// The field.
        field: String,
        /// What was wrong.
        why: String,
    },
    /// The split has no row to pilot on.
    #[error("no train or dev row to pilot on")]
    NoPilotRow,
    /// An LLM judge shares a family with an arm and no second judge was given (G29).
    #[error(
        "judge '{judge}' is of the same model family ('{family}') as arm '{arm}' (G29): add a second LLM judge of another family under [metric.second_judge] in the experiment TOML (library: RunOptions::second_judge), or use a deterministic scorer"
    )]
    CrossJudgeRequired {
        /// The judge.
        judge: String,
        /// The shared family.
        family: String,
        /// The arm.
        arm: String,
    },
    /// A judge says it is an LLM judge but declares no model family (G29).
    #[error(
        "judge '{judge}' is an LLM judge (Judge::is_llm) but declares no model family (G29): set its family (the `family` key of [metric.judge] in the experiment TOML; Judge::family for your own judge) so the cross-judge rule can apply"
    )]
    JudgeFamilyMissing {
        /// The judge.
        judge: String,
    },
    /// The second judge is not an LLM judge of another family than the primary (G29).
    #[error(
        "second judge '{second}' (family {second_family}) cannot check judge '{judge}' (family {family}) (G29): [metric.second_judge] must be an LLM judge of another model family"
    )]
    SecondJudgeFamily {
        /// The primary judge.
        judge: String,
        /// Its family.
        family: String,
        /// The second judge.
        second: String,
        /// Its family ("none" when it declares none).
        second_family: String,
    },
    /// Too few cross-judge rows requested (G29).
    #[error(
        "RunOptions::cross_judge_rows is {rows}: the cross-judge check needs at least 5 rows (G29); set it to 5 or more (default 20)"
    )]
    CrossJudgeRowsTooFew {
        /// Rows requested.
        rows: usize,
    },
    /// The second judge disagrees on direction too often (G29).
    #[error(
        "the cross-judge check failed (G29): of {rows} dev rows re-scored, the second judge prefers the same side on {agree}, the opposite side on {disagree}, sees a tie on {ties} and could not score {unscored}; the judge is trusted only at 80% agreement on at least 5 rows — the metric is too subjective: restart the experiment with a more objective metric or rubric"
    )]
    CrossJudgeDisagrees {
        /// Rows where both judges prefer the same side.
        agree: usize,
        /// Rows with opposite directions.
        disagree: usize,
        /// Rows the second judge calls a tie.
        ties: usize,
        /// Rows the second judge could not score.
        unscored: usize,
        /// Rows checked.
        rows: usize,
    },
    /// A part has no rows that count for an arm (every call failed and was excluded).
    #[error(
        "arm '{arm}' has no scored rows on {part}: every call failed (see the journal's errors); fix the arm and resume"
    )]
    NothingScored {
        /// The arm.
        arm: String,
        /// The part.
        part: Part,
    },
    /// A provider's batch API refused or failed a request after the retries (issue #18 item 2).
    #[error(
        "arm '{arm}': the provider's batch API failed: {why}; run again to resume — a batch already submitted is polled, never submitted twice (or set execution = \"direct\" on the arm)"
    )]
    Batch {
        /// The arm.
        arm: String,
        /// What the provider said.
        why: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A statistic could not be computed.
    #[error("statistics: {0}")]
    Stats(#[from] itera_stats::StatsError),
}

/// The arms of a run, in registration order (baseline first), with their spec hashes.
pub(crate) struct Roster<'a> {
    pub arms: Vec<&'a dyn Arm>,
    pub specs: Vec<String>,
    pub hashes: Vec<String>,
    /// Arm version of each entry (0 = as registered; iterations add versions).
    pub versions: Vec<u32>,
}

impl<'a> Roster<'a> {
    pub fn new(frame: &Frame, given: &'a [Box<dyn Arm>]) -> Result<Roster<'a>, RunError> {
        let ids = frame.arm_ids();
        let mut by_id: BTreeMap<&str, &'a dyn Arm> = BTreeMap::new();
        let mut unknown = Vec::new();
        for arm in given {
            let id = arm.id();
            if !ids.contains(&id) || by_id.insert(id, arm.as_ref()).is_some() {
                unknown.push(id.to_string());
            }
        }
        let missing: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !by_id.contains_key(id))
            .collect();
        if !missing.is_empty() || !unknown.is_empty() {
            return Err(RunError::ArmsMismatch {
                missing: missing.join(", "),
                unknown: unknown.join(", "),
            });
        }
        let arms: Vec<&dyn Arm> = ids.iter().filter_map(|id| by_id.get(id).copied()).collect();
        let specs: Vec<String> = arms.iter().map(|a| a.spec()).collect();
        let hashes = specs
            .iter()
            .map(|s| hash::sha256_hex(s.as_bytes()))
            .collect();
        let versions = vec![0; arms.len()];
        Ok(Roster {
            arms,
            specs,
            hashes,
            versions,
        })
    }

    /// One version of one arm (an iteration's re-score).
    pub fn single(arm: &'a dyn Arm, version: u32) -> Roster<'a> {
        let spec = arm.spec();
        let hash = hash::sha256_hex(spec.as_bytes());
        Roster {
            arms: vec![arm],
            specs: vec![spec],
            hashes: vec![hash],
            versions: vec![version],
        }
    }

    pub fn keys(&self) -> Vec<ArmKey> {
        self.arms
            .iter()
            .zip(&self.hashes)
            .zip(&self.versions)
            .map(|((a, h), v)| ArmKey {
                arm: a.id().to_string(),
                version: *v,
                spec_hash: h.clone(),
            })
            .collect()
    }
}

pub(crate) fn judge_tag(judge: &dyn Judge) -> (String, Option<String>) {
    (
        judge.id().to_string(),
        judge.rubric().map(|r| hash::sha256_hex(r.as_bytes())),
    )
}

/// A per-call seed from the experiment seed, the arm version, the row and the trial.
pub(crate) fn call_seed(seed: u64, spec_hash: &str, row: &RowId, trial: u32) -> u64 {
    let h = hash::sha256_hex(format!("{seed}|{spec_hash}|{row}|{trial}").as_bytes());
    u64::from_str_radix(&h[..16], 16).unwrap_or(seed)
}

/// Everything needed to score one part.
pub(crate) struct PartJob<'a> {
    pub frame: &'a Frame,
    pub rows: &'a [Row],
    pub part: Part,
    pub roster: &'a Roster<'a>,
    pub judge: &'a dyn Judge,
    pub store: &'a Store,
    pub opts: &'a RunOptions,
    /// Whether the journal may hold calls of this part, to be replayed first (a resume). `false`
    /// only where the caller has just read the journal and found none: the test pass right after
    /// it opened the test set (issue #17: its replay read a 140k-line journal for nothing).
    pub recorded: bool,
}

/// Builds the part's cube from the journal: calls already made count, under the same judge (G8).
fn replay(job: &PartJob<'_>) -> Result<ScoreCube, RunError> {
    let frame = job.frame;
    let mut cube = ScoreCube::new(
        job.roster.keys(),
        job.rows
            .iter()
            .map(|r| (r.id.clone(), r.slice.clone(), r.cluster.clone()))
            .collect(),
        frame.trials as usize,
        frame.failure_modes.iter().map(|m| m.id.clone()).collect(),
        frame.failure_policy,
    );
    let row_index: BTreeMap<&RowId, usize> = job
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (&r.id, i))
        .collect();
    let arm_index: BTreeMap<(&str, &str), usize> = job
        .roster
        .arms
        .iter()
        .zip(&job.roster.hashes)
        .enumerate()
        .map(|(i, (a, h))| ((a.id(), h.as_str()), i))
        .collect();
    if !job.recorded {
        return Ok(cube);
    }
    let (judge_id, rubric) = judge_tag(job.judge);
    // Streamed: a long journal is not held in memory while the cube is built.
    let mut changed = None;
    // Only this part's call lines are decoded (issue #17: the test pass decoded every dev call).
    let part = job.part.name();
    let wanted = |p: &Peek<'_>| p.call && p.part == Some(part);
    job.store.scan_if(wanted, |entry| {
        let Event::Call(rec) = entry.event else {
            return;
        };
        if changed.is_some() || rec.part != job.part || rec.trial >= frame.trials {
            return;
        }
        let (Some(&a), Some(&r)) = (
            arm_index.get(&(rec.arm.as_str(), rec.spec_hash.as_str())),
            row_index.get(&rec.row),
        ) else {
            return;
        };
        if let CallOutcome::Scored {
            judge, rubric_hash, ..
        } = &rec.outcome
            && (judge != &judge_id || rubric_hash != &rubric)
        {
            changed = Some(RunError::JudgeChanged {
                recorded: format!("{judge} rubric {rubric_hash:?}"),
                found: format!("{judge_id} rubric {rubric:?}"),
            });
            return;
        }
        cube.record(a, r, &rec);
    })?;
    match changed {
        Some(e) => Err(e),
        None => Ok(cube),
    }
}

/// Scores a part: replays the journal, then calls what is missing — the baseline first — and
/// journals every call before it counts.
pub(crate) async fn score_part(
    job: &PartJob<'_>,
    phase: &'static str,
) -> Result<ScoreCube, RunError> {
    let mut cube = replay(job)?;
    let trials = job.frame.trials as usize;
    let limits = Limits::new(job.opts);
    let judge_slots = tokio::sync::Semaphore::new(job.opts.judge_concurrency.max(1));
    let watch = Watch::default();
    // Arms executed through a provider's batch API go first (issue #18 item 2); what their
    // batches did not settle is called below like any other call.
    crate::run::batch_run::batch_phase(job, phase, &mut cube, &watch).await?;
    let total = cube.arms().len() * job.rows.len() * trials;
    // What is called: every cell not in the journal, and — on a resume — every call that failed
    // after its retries (never a scored one: no second draw of a success, G25). Enforced here;
    // `failed_test_calls_withhold_the_decision_and_resume_retries_them`
    // (itera-cli/tests/faults.rs) fails without it.
    // One byte per cell, in (arm, row, trial) order: the cells are not listed as index triples
    // (24 bytes each: 24 MB held for the whole pass at 1M calls, #17 "memory flat in N").
    let rows = job.rows.len();
    let cell = move |i: usize| (i / (rows * trials), (i / trials) % rows, i % trials);
    let todo: Vec<bool> = (0..total)
        .map(|i| {
            let (a, r, t) = cell(i);
            !cube.is_settled(a, r, t)
        })
        .collect();
    let to_call = todo.iter().filter(|&&x| x).count();
    let mut progress = Progress {
        phase,
        done: total - to_call,
        total,
        errors: 0,
        failed_calls: 0,
        cost_usd: 0.0,
        elapsed: std::time::Duration::ZERO,
        waiting: None,
        batches: None,
    };
    let started = Instant::now();
    // The baseline's dev score is journaled as soon as its last call lands, before anything is
    // compared. Its calls are started first, but arms' calls start while its last ones are in
    // flight: one stream, so the boundary costs no idle wave.
    let is_baseline = job.part == Part::Dev
        && job.roster.versions.first() == Some(&0)
        && job.roster.arms.first().map(|a| a.id()) == Some(job.frame.baseline.id.as_str());
    let mut baseline_recorded = !is_baseline;
    if !baseline_recorded {
        job.store.scan_if(
            |p| !p.call,
            |e| {
                baseline_recorded |= matches!(e.event, Event::BaselineScored { .. });
            },
        )?;
    }
    let mut baseline_missing = todo.iter().take(rows * trials).filter(|&&x| x).count();
    let keys = (0..total).filter(move |&i| todo[i]).map(cell);
    let mut calls = futures::stream::iter(keys)
        .map(|(a, r, t)| {
            crate::run::settle::one_call(job, a, r, t as u32, &limits, &judge_slots, &watch)
        })
        .buffer_unordered(job.opts.arm_concurrency.max(1));
    loop {
        if !baseline_recorded && baseline_missing == 0 {
            let s = cube.summary(0);
            job.store.append(Event::BaselineScored {
                mean: s.mean,
                sd: s.sd_across_trials,
                rows: s.rows,
            })?;
            baseline_recorded = true;
        }
        // While no call finishes, the heartbeat names the call waiting longest (#14 item 8).
        let next = with_heartbeat(calls.next(), job.opts, &watch, || Progress {
            elapsed: started.elapsed(),
            ..progress.clone()
        })
        .await;
        let Some(done) = next else {
            break;
        };
        let (a, r, rec) = done?;
        if a == 0 {
            baseline_missing = baseline_missing.saturating_sub(1);
        }
        progress.done += 1;
        progress.errors += rec.errors.len();
        if let CallOutcome::Scored {
            cost_usd: Some(c), ..
        } = &rec.outcome
        {
            progress.cost_usd += c;
        }
        if matches!(rec.outcome, CallOutcome::Failed { .. }) {
            progress.failed_calls += 1;
        }
        cube.record(a, r, &rec);
        if let Some(cb) = &job.opts.progress {
            progress.elapsed = started.elapsed();
            cb(&progress);
        }
    }
    drop(calls);
    for (i, key) in cube.arms().iter().enumerate() {
        if cube.summary(i).rows == 0 {
            return Err(RunError::NothingScored {
                arm: key.arm.clone(),
                part: job.part,
            });
        }
    }
    Ok(cube)
}

/// The noise floor of every arm version in a cube (G26): σ = SD of the aggregate across trials.
/// With one trial (arms declared deterministic) σ is 0 by declaration.
pub(crate) fn noise(cube: &ScoreCube) -> Result<Vec<ArmNoise>, RunError> {
    let k = cube.trials();
    cube.arms()
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let per_trial = cube.per_trial_aggregates(i);
            if k < 2 {
                return Ok(ArmNoise {
                    arm: key.arm.clone(),
                    version: key.version,
                    within_row_variance: 0.0,
                    aggregate_sd: 0.0,
                    per_trial,
                });
            }
            let nf = itera_stats::trials::noise_floor(&cube.row_trial_matrix(i), k)?;
            Ok(ArmNoise {
                arm: key.arm.clone(),
                version: key.version,
                within_row_variance: nf.within_row_variance,
                aggregate_sd: nf.aggregate_sd,
                per_trial: nf.per_trial_aggregates,
            })
        })
        .collect()
}
