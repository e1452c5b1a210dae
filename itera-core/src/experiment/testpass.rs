//! The one test pass (`Sealed -> Verdict`, G39): re-verify the registration, the data and the
//! test commitment (G7, G15); refuse a contaminated test set (G16) or a second verdict, from any
//! process (G46); check power from dev (G20); journal `sealed-opened`; score the baseline and the
//! locked versions on the sealed rows with the same trials, judge and failure policy as dev; apply
//! the registered rules (G40–G45); write `data.json` and journal the verdict.
//!
//! This module owns the entry point, its refusals ([`VerdictError`]), the directory lock and the
//! pass itself, which writes `data.json`, `verdict.json` and `conclusion.md`; the evidence the
//! rules read is gathered in `evidence`, the `data.json` model is built in `report_data`.

use crate::data::dataset::{Dataset, RowSet};
use crate::data::row::{Row, RowId};
use crate::data::split::Part;
use crate::decide::rules::Verdict;
use crate::experiment::evidence::{decide, power_rows};
use crate::experiment::report_data::build_report;
use crate::experiment::{Error, Experiment, Rejected, Sealed};
use crate::frame::Frame;
use crate::hash;
use crate::iterate::iteration::Ledger;
use crate::journal::event::Event;
use crate::journal::store::Store;
use crate::report::ReportData;
use crate::report::audit::{AuditItem, Storage, Tables, self_audit};
use crate::report::conclusion::conclusion_markdown;
use crate::run::arm::Arm;
use crate::run::exec::RunOptions;
use crate::run::judge::Judge;
use crate::run::runner::{self, PartJob, Roster};
use std::collections::BTreeSet;
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
    let audit = self_audit(&entries, frame, storage, Some(Tables::of(&report)));
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
