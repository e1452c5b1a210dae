//! The one test pass (`Sealed -> Verdict`, G39): re-verify the registration, the data and the
//! test commitment (G7, G15); refuse a contaminated test set (G16) or a second verdict, from any
//! process (G46); check power from dev (G20); journal `sealed-opened`; score the baseline and the
//! locked versions on the sealed rows with the same trials, judge and failure policy as dev; apply
//! the registered rules (G40–G45); write `data.json` and journal the verdict.

use crate::data::dataset::{Dataset, RowSet};
use crate::data::row::{Row, RowId};
use crate::data::split::Part;
use crate::decide::rules::{self, ArmEvidence, Rules, SliceEvidence, Verdict};
use crate::experiment::{Error, Experiment, Rejected, Sealed};
use crate::frame::Frame;
use crate::hash;
use crate::iterate::iteration::Ledger;
use crate::journal::event::Event;
use crate::journal::store::Store;
use crate::report::audit::{AuditItem, Storage, self_audit};
use crate::report::conclusion::conclusion_markdown;
use crate::report::{
    Aggregate, ArmEffects, ArmInfo, EffectSize, ExperimentInfo, FailureModes, ModeInfo, ReportData,
    SeverityInfo, SliceInfo, Tokens, VerdictInfo,
};
use crate::run::arm::Arm;
use crate::run::cube::{ArmKey, ScoreCube};
use crate::run::effect::paired_effect;
use crate::run::exec::RunOptions;
use crate::run::judge::Judge;
use crate::run::runner::{self, PartJob, Roster};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use crate::report::{CONCLUSION_FILE, DATA_FILE, VERDICT_FILE};
const LOCK_FILE: &str = ".itera.lock";

/// Why the test pass is refused. Each message says what the honest path is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerdictError {
    /// A verdict was already reached (G15, G46).
    #[error(
        "this experiment already has its verdict (journaled {at}) (G46): the sealed test set is opened once; a follow-up is a fresh experiment with new rows"
    )]
    AlreadyConcluded {
        /// When.
        at: String,
    },
    /// Another process holds the experiment.
    #[error(
        "another process is running this experiment's test pass ({0}); wait for it — the test set is opened once (G15)"
    )]
    Busy(String),
    /// The data changed since the split (G7, G15).
    #[error(
        "the rows changed since the split (data hash {found}, journal {expected}) (G7): restore the data; the honest path after a change is a new experiment with fresh test rows"
    )]
    DataChanged {
        /// Journaled hash.
        expected: String,
        /// Hash now.
        found: String,
    },
    /// The sealed rows no longer match their commitment (G15).
    #[error(
        "the sealed test rows do not match the commitment recorded at the split (G15): the test set was altered; start a new experiment"
    )]
    CommitmentMismatch,
    /// The frame in the store is not this frame (G7).
    #[error(
        "the registered frame changed (G7): registration hash {registered}, this frame {given}; restore it or start a new experiment"
    )]
    FrameChanged {
        /// In the store.
        registered: String,
        /// This one.
        given: String,
    },
    /// Test rows were seen (G16).
    #[error("{} sealed test row(s) were revealed (G16), e.g. '{}': the test set is contaminated; move them to dev and reseal from unused rows in a new experiment", .0.len(), .0.first().map(|r| r.as_str()).unwrap_or(""))]
    Contaminated(Vec<RowId>),
    /// A locked version was not passed in.
    #[error(
        "the locked version {version} of arm '{arm}' (spec hash {spec_hash}) was not given (G39): pass exactly the baseline and the locked versions"
    )]
    LockedVersionMissing {
        /// Arm.
        arm: String,
        /// Version.
        version: u32,
        /// Its spec hash.
        spec_hash: String,
    },
    /// The judge differs from the one that scored dev (G8, G23).
    #[error(
        "the judge is not the one that scored dev (journal: {recorded}; now: {found}) (G8, G23): use the same judge and rubric"
    )]
    JudgeChanged {
        /// Recorded.
        recorded: String,
        /// Given.
        found: String,
    },
}

/// What the verdict produced: the decision with its trace, and the report model.
#[derive(Debug, Clone)]
pub struct Conclusion {
    /// The verdict.
    pub verdict: Verdict,
    /// `data.json`.
    pub report: ReportData,
    /// The self-audit, computed from the journal.
    pub audit: Vec<AuditItem>,
    /// `conclusion.md` as written.
    pub conclusion_md: String,
    /// The experiment directory, or `None` in memory.
    pub directory: Option<PathBuf>,
}

impl Experiment<Sealed> {
    /// The one test pass (G39–G46). `arms` holds the baseline and the locked versions (killed
    /// arms may be omitted); `dataset`, when given, is re-read and must hash to the rows that
    /// were split (G7). An in-memory experiment is one-shot by move semantics within the process;
    /// a directory refuses a second verdict from any process.
    pub async fn verdict(
        self,
        arms: &[Box<dyn Arm>],
        judge: &dyn Judge,
        opts: &RunOptions,
        dataset: Option<&dyn Dataset>,
    ) -> Result<Conclusion, Rejected<Sealed>> {
        let reread = match dataset {
            Some(ds) => match ds.rows().await {
                Ok(rows) => Some(rows),
                Err(e) => return Err(self.reject(e)),
            },
            None => None,
        };
        match conclude(&self, arms, judge, opts, reread).await {
            Ok(c) => Ok(c),
            Err(e) => Err(self.reject(e)),
        }
    }
}

fn store_of(exp: &Experiment<Sealed>) -> &Store {
    &exp.state.scored.split.registered.store
}

/// Holds the directory's lock for the duration of the pass.
struct PassLock(Option<std::fs::File>);

fn lock(store: &Store) -> Result<PassLock, Error> {
    let Some(dir) = store.location() else {
        return Ok(PassLock(None));
    };
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| crate::journal::store::StoreError::Io {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(PassLock(Some(file))),
        Err(_) => Err(VerdictError::Busy(path.display().to_string()).into()),
    }
}

impl Drop for PassLock {
    fn drop(&mut self) {
        if let Some(f) = &self.0 {
            let _ = f.unlock();
        }
    }
}

async fn conclude(
    exp: &Experiment<Sealed>,
    arms: &[Box<dyn Arm>],
    judge: &dyn Judge,
    opts: &RunOptions,
    reread: Option<Vec<Row>>,
) -> Result<Conclusion, Error> {
    let store = store_of(exp);
    let frame: &Frame = &exp.frame;
    let plan = &exp.state.scored.split.plan;
    let _lock = lock(store)?;
    // Re-verify everything the verdict rests on (G7, G15, G46).
    let registration = store.registration()?;
    let frame_hash = hash::hash_value(frame)
        .map_err(|e| crate::journal::store::StoreError::Encode(e.to_string()))?;
    if let Some(reg) = &registration
        && reg.frame_hash != frame_hash
    {
        return Err(VerdictError::FrameChanged {
            registered: reg.frame_hash.clone(),
            given: frame_hash,
        }
        .into());
    }
    let entries = store.entries()?;
    if let Some(e) = entries
        .iter()
        .find(|e| matches!(e.event, Event::VerdictReached { .. }))
    {
        return Err(VerdictError::AlreadyConcluded { at: e.at.clone() }.into());
    }
    if let Some(rows) = reread {
        let found = RowSet::new(rows)?.content_hash().to_string();
        if found != plan.data_hash {
            return Err(VerdictError::DataChanged {
                expected: plan.data_hash.clone(),
                found,
            }
            .into());
        }
    }
    let recorded_commitment = entries.iter().find_map(|e| match &e.event {
        Event::Split {
            test_commitment, ..
        } => Some(test_commitment.clone()),
        _ => None,
    });
    let commitment = hash::hash_seq(&plan.test)
        .map_err(|e| crate::journal::store::StoreError::Encode(e.to_string()))?;
    if recorded_commitment.as_deref() != Some(commitment.as_str())
        || commitment != plan.test_commitment
    {
        return Err(VerdictError::CommitmentMismatch.into());
    }
    let ledger = Ledger::from_entries(&entries);
    let test_ids: BTreeSet<&RowId> = plan.test.iter().map(|r| &r.id).collect();
    let contaminated: Vec<RowId> = ledger
        .seen
        .iter()
        .filter(|r| test_ids.contains(r))
        .cloned()
        .collect();
    if !contaminated.is_empty() {
        return Err(VerdictError::Contaminated(contaminated).into());
    }
    check_judge(&entries, judge)?;

    // The versions that run: the baseline (v0) and each locked arm (G39).
    let baseline_key = ledger
        .versions
        .first()
        .map(|v| v.key.clone())
        .ok_or_else(|| VerdictError::LockedVersionMissing {
            arm: frame.baseline.id.clone(),
            version: 0,
            spec_hash: String::new(),
        })?;
    let mut keys = vec![baseline_key];
    keys.extend(exp.state.locked.iter().cloned());
    let mut chosen: Vec<&dyn Arm> = Vec::new();
    for key in &keys {
        let arm = arms
            .iter()
            .find(|a| a.id() == key.arm && hash::sha256_hex(a.spec().as_bytes()) == key.spec_hash)
            .ok_or_else(|| VerdictError::LockedVersionMissing {
                arm: key.arm.clone(),
                version: key.version,
                spec_hash: key.spec_hash.clone(),
            })?;
        chosen.push(arm.as_ref());
    }
    let mut roster = Roster::single(chosen[0], keys[0].version);
    for (arm, key) in chosen.iter().zip(&keys).skip(1) {
        let one = Roster::single(*arm, key.version);
        roster.arms.extend(one.arms);
        roster.specs.extend(one.specs);
        roster.hashes.extend(one.hashes);
        roster.versions.extend(one.versions);
    }

    // Power from dev, before the test pass (G20).
    let dev = &exp.state.scored.dev;
    let power = power_rows(frame, dev, &keys, plan.test.len());
    if !entries
        .iter()
        .any(|e| matches!(e.event, Event::PowerChecked { .. }))
    {
        let t = frame
            .threshold
            .effect
            .as_fraction(dev.summaries.first().map_or(0.0, |s| s.mean));
        let arms_power = power
            .iter()
            .map(|(arm, se)| {
                let p = itera_stats::power::powered_for(t.max(1e-9), *se, frame.alpha, frame.power)
                    .ok();
                (
                    arm.clone(),
                    *se,
                    p.map_or(f64::NAN, |p| p.mde),
                    p.is_some_and(|p| p.powered),
                )
            })
            .map(|(a, se, mde, ok)| (a, se, if mde.is_finite() { mde } else { 0.0 }, ok))
            .collect();
        store.append(Event::PowerChecked {
            arms: arms_power,
            note: "an underpowered test set goes ahead: a verdict short of T without a conclusive CI is inconclusive (G45)".into(),
        })?;
    }
    if !entries
        .iter()
        .any(|e| matches!(e.event, Event::SealedOpened { .. }))
    {
        store.append(Event::SealedOpened {
            arms: keys.clone(),
            test_n: plan.test.len(),
            test_commitment: commitment.clone(),
        })?;
    }
    let job = PartJob {
        frame,
        rows: &plan.test,
        part: Part::Test,
        roster: &roster,
        judge,
        store,
        opts,
    };
    let test = runner::score_part(&job, "test").await?;

    let verdict = decide(exp, &keys, &test, &power);
    let report = build_report(exp, &keys, &test, &verdict, &ledger)?;
    let json = serde_json::to_vec_pretty(&report)
        .map_err(|e| crate::journal::store::StoreError::Encode(e.to_string()))?;
    store.write_file(DATA_FILE, &json)?;
    let trace = serde_json::to_vec_pretty(&verdict)
        .map_err(|e| crate::journal::store::StoreError::Encode(e.to_string()))?;
    store.write_file(VERDICT_FILE, &trace)?;
    store.append(Event::VerdictReached {
        decision: verdict.decision,
        arm: verdict.arm.clone(),
        slices: verdict.slices.clone(),
        rationale: verdict.rationale.clone(),
        data_hash: hash::sha256_hex(&json),
    })?;
    // The self-audit is computed from the journal as it now stands, never typed (METHOD §6).
    let entries = store.entries()?;
    let storage = if store.location().is_some() {
        Storage::Directory
    } else {
        Storage::InMemory
    };
    let audit = self_audit(&entries, frame, storage);
    let ledger = Ledger::from_entries(&entries);
    let markdown = conclusion_markdown(&report, &verdict, &audit, &ledger);
    store.write_file(CONCLUSION_FILE, markdown.as_bytes())?;
    Ok(Conclusion {
        verdict,
        report,
        audit,
        conclusion_md: markdown,
        directory: store.location(),
    })
}

fn check_judge(entries: &[crate::journal::event::Entry], judge: &dyn Judge) -> Result<(), Error> {
    let rubric = judge.rubric().map(|r| hash::sha256_hex(r.as_bytes()));
    if let Some((j, r)) = entries.iter().find_map(|e| match &e.event {
        Event::Manifest {
            judge, rubric_hash, ..
        } => Some((judge.clone(), rubric_hash.clone())),
        _ => None,
    }) && (j != judge.id() || r != rubric)
    {
        return Err(VerdictError::JudgeChanged {
            recorded: format!("{j} rubric {r:?}"),
            found: format!("{} rubric {rubric:?}", judge.id()),
        }
        .into());
    }
    Ok(())
}

/// Per locked arm: the SE of the paired difference expected on test, from dev's per-row
/// difference variance (clustered by the dev design effect when clusters are declared).
fn power_rows(
    frame: &Frame,
    dev: &crate::experiment::DevResults,
    keys: &[ArmKey],
    n_test: usize,
) -> Vec<(String, f64)> {
    let _ = frame;
    let cube = &dev.cube;
    keys.iter()
        .skip(1)
        .map(|k| {
            let se = cube
                .arms()
                .iter()
                .position(|c| c.spec_hash == k.spec_hash && c.arm == k.arm)
                .and_then(|a| {
                    let p = cube.paired(a, 0);
                    let d = p.diffs();
                    if d.len() < 2 || n_test == 0 {
                        return None;
                    }
                    let m = d.iter().sum::<f64>() / d.len() as f64;
                    let var = d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() - 1) as f64;
                    let clusters: Vec<&str> = p
                        .rows
                        .iter()
                        .filter_map(|&r| cube.clusters()[r].as_deref())
                        .collect();
                    let deff = if clusters.len() == d.len() {
                        itera_stats::power::design_effect_from_dev(&d, &clusters)
                            .unwrap_or(1.0)
                            .max(1.0)
                    } else {
                        1.0
                    };
                    itera_stats::power::se_test_clustered(var, n_test, deff).ok()
                })
                .unwrap_or(f64::INFINITY);
            (k.arm.clone(), se)
        })
        .collect()
}

fn major(frame: &Frame, slice: &str) -> bool {
    frame.major_slices.is_empty() || frame.major_slices.iter().any(|s| s == slice)
}

fn size(e: &crate::run::effect::PairedEffect) -> EffectSize {
    EffectSize {
        delta: e.estimate.point,
        ci_low: e.estimate.ci.lower,
        ci_high: e.estimate.ci.upper,
        n: e.n,
    }
}

/// Failed test rows per failure-mode category for a cube arm: the judge assigned the category
/// on some trial, or the row is tagged with it and the arm's per-row mean is below 0.5.
fn mode_failures(
    frame: &Frame,
    rows: &[Row],
    cube: &ScoreCube,
    arm: usize,
) -> BTreeMap<String, usize> {
    let means = cube.row_means(arm);
    frame
        .failure_modes
        .iter()
        .map(|m| {
            let n = rows
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    cube.has_mode(arm, *i, &m.id)
                        || (r.failure_modes.contains(&m.id) && means[*i].is_some_and(|s| s < 0.5))
                })
                .count();
            (m.id.clone(), n)
        })
        .collect()
}

/// Severity-weighted mean score (severity capped), or `None` without a severity spec.
fn weighted_score(frame: &Frame, rows: &[Row], cube: &ScoreCube, arm: usize) -> Option<f64> {
    let cap = frame.severity.as_ref()?.cap;
    let means = cube.row_means(arm);
    let (mut num, mut den) = (0.0, 0.0);
    for (r, m) in rows.iter().zip(means) {
        if let Some(m) = m {
            let w = r.severity.min(cap);
            num += w * m;
            den += w;
        }
    }
    (den > 0.0).then(|| num / den)
}

fn decide(
    exp: &Experiment<Sealed>,
    keys: &[ArmKey],
    test: &ScoreCube,
    power: &[(String, f64)],
) -> Verdict {
    let frame = &exp.frame;
    let plan = &exp.state.scored.split.plan;
    let dev = &exp.state.scored.dev;
    let level = frame.ci_level();
    let base_mean = test.summary(0).mean;
    let rules = Rules {
        threshold: frame.threshold.effect.as_fraction(base_mean),
        floor: frame.threshold.slice_loss_floor_pp / 100.0,
        rule: frame.threshold.rule,
        alpha: frame.alpha,
        power: frame.power,
    };
    let slices: BTreeSet<&str> = plan.test.iter().map(|r| r.slice.as_str()).collect();
    let highest = frame.highest_severity_mode().map(|m| m.id.clone());
    let base_modes = mode_failures(frame, &plan.test, test, 0);
    let base_weighted = weighted_score(frame, &plan.test, test, 0);
    let dev_noise = |k: &ArmKey| {
        dev.cube
            .arms()
            .iter()
            .position(|c| c.spec_hash == k.spec_hash && c.arm == k.arm)
            .and_then(|i| dev.noise.get(i))
            .map_or(0.0, |n| n.aggregate_sd)
    };
    let base_noise = dev.noise.first().map_or(0.0, |n| n.aggregate_sd);
    let mut evidence = Vec::new();
    for (i, key) in keys.iter().enumerate().skip(1) {
        let dev_idx = dev
            .cube
            .arms()
            .iter()
            .position(|c| c.spec_hash == key.spec_hash && c.arm == key.arm);
        let dev_effect = dev_idx.and_then(|a| paired_effect(&dev.cube, a, 0, &|_| true, level));
        let modes = mode_failures(frame, &plan.test, test, i);
        evidence.push(ArmEvidence {
            arm: key.arm.clone(),
            version: key.version,
            killed_by_gate: false,
            effect: paired_effect(test, i, 0, &|_| true, level)
                .as_ref()
                .map(size),
            slices: slices
                .iter()
                .map(|s| SliceEvidence {
                    slice: s.to_string(),
                    effect: paired_effect(test, i, 0, &|r| test.slices()[r] == *s, level)
                        .as_ref()
                        .map(size),
                    major: major(frame, s),
                })
                .collect(),
            noise_sd: dev_noise(key).max(base_noise),
            se_test_planned: power
                .iter()
                .find(|p| p.0 == key.arm)
                .map_or(f64::INFINITY, |p| p.1),
            highest_mode_failures: highest.as_ref().map(|h| {
                (
                    modes.get(h).copied().unwrap_or(0),
                    base_modes.get(h).copied().unwrap_or(0),
                )
            }),
            weighted: weighted_score(frame, &plan.test, test, i).zip(base_weighted),
            cost_per_1k_usd: test.summary(i).cost_per_1k_rows_usd,
            dev_delta: dev_effect.as_ref().map(|e| e.estimate.point),
            dev_se: dev_effect.as_ref().and_then(|e| e.estimate.se),
        });
    }
    for killed in &exp.state.killed {
        evidence.push(ArmEvidence {
            arm: killed.clone(),
            version: 0,
            killed_by_gate: true,
            effect: None,
            slices: Vec::new(),
            noise_sd: 0.0,
            se_test_planned: f64::INFINITY,
            highest_mode_failures: None,
            weighted: None,
            cost_per_1k_usd: None,
            dev_delta: None,
            dev_se: None,
        });
    }
    rules::decide(&rules, &evidence)
}

fn build_report(
    exp: &Experiment<Sealed>,
    keys: &[ArmKey],
    test: &ScoreCube,
    verdict: &Verdict,
    ledger: &Ledger,
) -> Result<ReportData, Error> {
    let frame = &exp.frame;
    let plan = &exp.state.scored.split.plan;
    let dev = &exp.state.scored.dev;
    let base_mean = test.summary(0).mean;
    let rule = match frame.threshold.rule {
        crate::frame::ThresholdRule::Point => "point",
        crate::frame::ThresholdRule::CiLower => "ci-lower",
    };
    let threshold_rule = match frame.threshold.rule {
        crate::frame::ThresholdRule::Point => {
            "ship when Δ ≥ T and the CI excludes 0 (R1), |Δ| ≥ 2σ (R2), every major slice's CI lower bound ≥ F (R3), no more highest-severity failures (R4), severity-weighted score not worse (R5)"
        }
        crate::frame::ThresholdRule::CiLower => {
            "ship when the CI lower bound ≥ T (R1), |Δ| ≥ 2σ (R2), every major slice's CI lower bound ≥ F (R3), no more highest-severity failures (R4), severity-weighted score not worse (R5)"
        }
    };
    let ci_method = paired_effect(
        test,
        1.min(test.arms().len() - 1),
        0,
        &|_| true,
        frame.ci_level(),
    )
    .map_or_else(|| "n/a".to_string(), |e| e.estimate.method);
    let dev_index = |k: &ArmKey| {
        dev.cube
            .arms()
            .iter()
            .position(|c| c.spec_hash == k.spec_hash && c.arm == k.arm)
    };
    let mut arms = Vec::new();
    let mut dev_aggregate = BTreeMap::new();
    let mut test_aggregate = BTreeMap::new();
    let mut variance_trials = BTreeMap::new();
    let mut noise_sd = BTreeMap::new();
    let mut test_per_slice = BTreeMap::new();
    let mut test_counts = BTreeMap::new();
    let slices: BTreeSet<&str> = plan
        .train
        .iter()
        .chain(&plan.dev)
        .chain(&plan.test)
        .map(|r| r.slice.as_str())
        .collect();
    for (i, key) in keys.iter().enumerate() {
        let s = test.summary(i);
        let plan_arm = frame.arms.iter().find(|a| a.id == key.arm);
        arms.push(ArmInfo {
            id: key.arm.clone(),
            name: key.arm.clone(),
            baseline: i == 0,
            parent: plan_arm.map(|a| a.parent.clone()),
            change: plan_arm.map(|a| a.change.clone()),
            version: key.version,
            cost_per_1k_usd: s.cost_per_1k_rows_usd,
            tokens: Tokens {
                input: s.input_tokens,
                output: s.output_tokens,
            },
            latency_ms_mean: s.latency_ms_mean,
            killed: false,
        });
        test_aggregate.insert(
            key.arm.clone(),
            Aggregate {
                mean: s.mean,
                sd: s.sd_across_trials,
                n: s.rows,
            },
        );
        if let Some(d) = dev_index(key) {
            let ds = &dev.summaries[d];
            dev_aggregate.insert(
                key.arm.clone(),
                Aggregate {
                    mean: ds.mean,
                    sd: ds.sd_across_trials,
                    n: ds.rows,
                },
            );
            if let Some(n) = dev.noise.get(d) {
                variance_trials.insert(key.arm.clone(), n.per_trial.clone());
                noise_sd.insert(key.arm.clone(), n.aggregate_sd);
            }
        }
        let means = test.row_means(i);
        let mut per_slice = BTreeMap::new();
        for sl in &slices {
            let xs: Vec<f64> = means
                .iter()
                .zip(test.slices())
                .filter(|(_, s)| s.as_str() == *sl)
                .filter_map(|(m, _)| *m)
                .collect();
            if !xs.is_empty() {
                per_slice.insert(sl.to_string(), xs.iter().sum::<f64>() / xs.len() as f64);
            }
        }
        test_per_slice.insert(key.arm.clone(), per_slice);
        test_counts.insert(key.arm.clone(), mode_failures(frame, &plan.test, test, i));
    }
    for killed in &exp.state.killed {
        let plan_arm = frame.arms.iter().find(|a| &a.id == killed);
        let version = ledger.latest(killed).map_or(0, |v| v.key.version);
        arms.push(ArmInfo {
            id: killed.clone(),
            name: killed.clone(),
            baseline: false,
            parent: plan_arm.map(|a| a.parent.clone()),
            change: plan_arm.map(|a| a.change.clone()),
            version,
            cost_per_1k_usd: None,
            tokens: Tokens::default(),
            latency_ms_mean: 0.0,
            killed: true,
        });
    }
    let effect_sizes = verdict
        .arms
        .iter()
        .filter(|a| !a.evidence.killed_by_gate)
        .filter_map(|a| {
            let aggregate = a.evidence.effect?;
            let per_slice = a
                .evidence
                .slices
                .iter()
                .filter_map(|s| Some((s.slice.clone(), s.effect?)))
                .collect();
            Some((
                a.arm.clone(),
                ArmEffects {
                    aggregate,
                    per_slice,
                },
            ))
        })
        .collect();
    let severity = frame.severity.as_ref().map(|sev| SeverityInfo {
        field: sev.field.clone(),
        cap: sev.cap,
        weighted_scores: keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| Some((k.arm.clone(), weighted_score(frame, &plan.test, test, i)?)))
            .collect(),
        unweighted_scores: keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.arm.clone(), test.summary(i).mean))
            .collect(),
    });
    let count = |rows: &[Row], s: &str| rows.iter().filter(|r| r.slice == s).count();
    Ok(ReportData {
        experiment: ExperimentInfo {
            name: frame.name.clone(),
            question: frame.question.clone(),
            hypothesis: frame.hypothesis.clone(),
            metric: frame.metric.name.clone(),
            scorer: frame.metric.scorer.clone(),
            threshold_pp: frame.threshold.effect.as_fraction(base_mean) * 100.0,
            slice_loss_floor_pp: frame.threshold.slice_loss_floor_pp,
            threshold_rule: threshold_rule.to_string(),
            rule: rule.to_string(),
            ci_method,
            ci_level: frame.ci_level(),
            test_n: plan.test.len(),
            dev_n: plan.dev.len(),
            trials_per_arm: frame.trials,
            seed: frame.seed,
            frame_hash: exp.state.scored.split.registered.frame_hash.clone(),
            data_hash: plan.data_hash.clone(),
        },
        arms,
        slices: slices
            .iter()
            .map(|s| SliceInfo {
                id: s.to_string(),
                name: s.to_string(),
                dev_n: count(&plan.dev, s),
                test_n: count(&plan.test, s),
                major: major(frame, s),
            })
            .collect(),
        failure_modes: FailureModes {
            taxonomy: frame
                .failure_modes
                .iter()
                .map(|m| ModeInfo {
                    id: m.id.clone(),
                    weight: m.weight,
                })
                .collect(),
            highest: frame.highest_severity_mode().map(|m| m.id.clone()),
            test_counts,
        },
        severity,
        variance_trials,
        dev_aggregate,
        test_aggregate,
        test_per_slice,
        effect_sizes,
        noise_sd,
        verdict: VerdictInfo {
            decision: verdict.decision.as_str().to_string(),
            arm: verdict.arm.clone(),
            slices: verdict.slices.clone(),
            failing_slices: verdict.failing_slices.clone(),
            killed: verdict.killed.clone(),
            inconclusive_reason: verdict.inconclusive_reason.clone(),
            rationale: verdict.rationale.clone(),
            overfit_alarm: verdict.overfit_alarm,
        },
        test_row_ids: plan.test.iter().map(|r| r.id.to_string()).collect(),
    })
}
